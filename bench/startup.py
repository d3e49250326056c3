"""Start-up time: from launching `citewise serve` to the first page served, and a cold
`citewise ask` (extractive, generative) from a fresh process.

    .venv/bin/python -m bench.startup [--runs 3] [--model NAME ...] [--ask MODE ...]
                                      [--no-serve] [--before SRC]

Ingests the default sources (data/sources) into a temporary index once per model, then
starts `citewise serve --port P` as a user would (a fresh process each run), polls
http://127.0.0.1:P/ every 50 ms and records when the page first answers 200, and when
the process printed "citewise is running". Answers are extractive
(CITEWISE_ANSWER_MODE=extractive): with generative answers `serve` also loads the language
model before serving (`bench/generative.py` times generative answers). The server is then
stopped (SIGTERM to the process it started).

`--ask extractive generative`: `citewise ask QUESTION --mode M` in a fresh process, `--runs`
times each: seconds to its first line of output (for a generative answer, the draft's
heading, printed with the first token), to the end, and its peak RSS. Before the first
generative run the prompt-prefix cache (`<CITEWISE_MODEL_CACHE_DIR>/prompt-cache`,
`app.llm.prefix_cache`) is emptied, so run 1 reads the prefix and later runs restore it.
`--before SRC`: the same runs of an earlier source tree (`git archive <commit> | tar -x -C
SRC`), each beside this tree's, at the same load. Writes bench/out/startup.json.
"""

from __future__ import annotations

import argparse
import os
import shutil
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


def serve_once(env: dict[str, str], timeout: float = 120.0,
               before: Path | None = None) -> dict:
    port = free_port()
    argv, extra, cwd = command(before, "serve", "--port", str(port))
    start = time.perf_counter()
    proc = subprocess.Popen(argv, env={**env, **extra}, cwd=cwd,
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


QUESTION = "What causes paraneoplastic muscle weakness?"


def command(before: Path | None, *args: str) -> tuple[list[str], dict[str, str], Path]:
    """(argv, extra environment, cwd) of `citewise ARGS`, from `before` if given."""
    if before is None:
        return [str(CITEWISE), *args], {}, ROOT
    return ([sys.executable, "-c", "from app.cli import cli; cli()", *args],
            {"PYTHONPATH": str(before)}, before)


def ask_once(env: dict[str, str], mode: str, before: Path | None = None) -> dict:
    argv, extra, cwd = command(before, "ask", QUESTION, "--mode", mode)
    start = time.perf_counter()
    proc = subprocess.Popen(argv, env={**env, **extra}, cwd=cwd, stdout=subprocess.PIPE,
                            stderr=subprocess.DEVNULL, text=True)
    first = None
    assert proc.stdout is not None
    for line in proc.stdout:
        if first is None and line.strip():
            first = time.perf_counter() - start
    _, status, usage = os.wait4(proc.pid, 0)
    if os.waitstatus_to_exitcode(status) != 0:
        raise RuntimeError(f"citewise ask --mode {mode} failed")
    return {"first_output_s": first, "total_s": time.perf_counter() - start,
            "peak_rss_mb": usage.ru_maxrss // 1024}


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--model", nargs="+", default=["all-MiniLM-L6-v2"])
    parser.add_argument("--name", default="startup")
    parser.add_argument("--ask", nargs="*", default=[], choices=["extractive", "generative"])
    parser.add_argument("--serve", action=argparse.BooleanOptionalAction, default=True)
    parser.add_argument("--before", type=Path, default=None)
    args = parser.parse_args(argv)

    rows: list[dict] = []
    asks: list[dict] = []
    codes = [("before", args.before), ("now", None)] if args.before else [("now", None)]
    for model in args.model:
        work = Path(tempfile.mkdtemp(prefix="citewise-bench-startup-"))
        env = {**os.environ, "CITEWISE_INDEX_DIR": str(work / "index"),
               "CITEWISE_SOURCES_DIR": str(ROOT / "data" / "sources"),
               "CITEWISE_FEEDBACK_DIR": str(work / "feedback"),
               "CITEWISE_EMBEDDING_MODEL": model, "CITEWISE_ANSWER_MODE": "extractive",
               "CITEWISE_MODEL_CACHE_DIR": os.environ.get(  # absolute: --before runs elsewhere
                   "CITEWISE_MODEL_CACHE_DIR", str(ROOT / "data" / "models"))}
        subprocess.run([str(CITEWISE), "ingest", "--json"], env=env, cwd=ROOT, check=True,
                       capture_output=True)
        for mode in args.ask:
            cache = Path(env["CITEWISE_MODEL_CACHE_DIR"])
            if mode == "generative":
                shutil.rmtree(cache / "prompt-cache", ignore_errors=True)
            for run in range(1, args.runs + 1):
                for code, tree in codes:
                    asks.append({"model": model, "mode": mode, "code": code, "run": run,
                                 "load": load_now(), **ask_once(env, mode, tree)})
                    print(table(["model", "mode", "code", "run", "first output s", "total s",
                                 "peak RSS MB", "load 1/5/15"],
                                [[r["model"], r["mode"], r["code"], r["run"],
                                  r["first_output_s"] or "-", r["total_s"], r["peak_rss_mb"],
                                  " ".join(map(str, r["load"]))] for r in asks]))
        for run in range(1, args.runs + 1 if args.serve else 1):
            for code, tree in codes:
                row = {"model": model, "code": code, "run": run, "load": load_now(),
                       **serve_once(env, before=tree)}
                rows.append(row)
                print(table(["model", "code", "run", "served page s", "'running' printed s",
                             "load 1/5/15"],
                            [[r["model"], r["code"], r["run"], r["served_s"],
                              r["running_line_s"] or "-", " ".join(map(str, r["load"]))]
                             for r in rows]))
    path = write_json(args.name, {"rows": rows, "asks": asks})
    print(f"wrote {path}")
    return {"rows": rows}


if __name__ == "__main__":
    main()
