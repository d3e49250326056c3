"""Start-up time: from launching `citewise serve` to the first page served.

    .venv/bin/python -m bench.startup [--runs 3] [--model NAME ...]

Ingests the default sources (data/sources) into a temporary index once per model, then
starts `citewise serve --port P` as a user would (a fresh process each run), polls
http://127.0.0.1:P/ every 50 ms and records when the page first answers 200, and when
the process printed "citewise is running". Answers are extractive
(CITEWISE_ANSWER_MODE=extractive): with generative answers `serve` also loads the language
model before serving (`bench/generative.py` times generative answers). The server is then
stopped (SIGTERM to the process it started). Writes bench/out/startup.json.
"""

from __future__ import annotations

import argparse
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

from bench.common import ROOT, load_now, table, write_json

CITEWISE = Path(sys.executable).parent / "citewise"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def serve_once(env: dict[str, str], timeout: float = 120.0) -> dict:
    port = free_port()
    start = time.perf_counter()
    proc = subprocess.Popen([str(CITEWISE), "serve", "--port", str(port)], env=env, cwd=ROOT,
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    running: list[float] = []

    def watch() -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            if "citewise is running" in line and not running:
                running.append(time.perf_counter() - start)

    threading.Thread(target=watch, daemon=True).start()
    served = None
    try:
        while time.perf_counter() - start < timeout and proc.poll() is None:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=2) as resp:
                    if resp.status == 200 and resp.read(100):
                        served = time.perf_counter() - start
                        break
            except OSError:
                time.sleep(0.05)
        deadline = time.perf_counter() + 5  # the line is printed just after launch()
        while served is not None and not running and time.perf_counter() < deadline:
            time.sleep(0.05)
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    if served is None:
        raise RuntimeError(f"citewise serve did not serve a page within {timeout:.0f} s")
    return {"served_s": served, "running_line_s": running[0] if running else None}


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--model", nargs="+", default=["all-MiniLM-L6-v2"])
    parser.add_argument("--name", default="startup")
    args = parser.parse_args(argv)

    rows = []
    for model in args.model:
        work = Path(tempfile.mkdtemp(prefix="citewise-bench-startup-"))
        env = {**os.environ, "CITEWISE_INDEX_DIR": str(work / "index"),
               "CITEWISE_SOURCES_DIR": str(ROOT / "data" / "sources"),
               "CITEWISE_FEEDBACK_DIR": str(work / "feedback"),
               "CITEWISE_EMBEDDING_MODEL": model, "CITEWISE_ANSWER_MODE": "extractive"}
        subprocess.run([str(CITEWISE), "ingest", "--json"], env=env, cwd=ROOT, check=True,
                       capture_output=True)
        for run in range(1, args.runs + 1):
            row = {"model": model, "run": run, "load": load_now(), **serve_once(env)}
            rows.append(row)
            print(table(["model", "run", "served page s", "'running' printed s", "load 1/5/15"],
                        [[r["model"], r["run"], r["served_s"], r["running_line_s"] or "-",
                          " ".join(map(str, r["load"]))] for r in rows]))
    path = write_json(args.name, {"rows": rows})
    print(f"wrote {path}")
    return {"rows": rows}


if __name__ == "__main__":
    main()
