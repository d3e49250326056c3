"""Load and faults: streaming API clients beside web chats, on one `citewise serve`.

    .venv/bin/python -m bench.api_load [--clients 20] [--web 3] [--seconds 60]
        [--mode extractive] [--disconnect-every 5] [--name api_load]

Ingests the default sources (data/sources, the packaged embedder) into a temporary index,
starts `citewise serve` as a user would (a fresh process, an API key set), asks one
untimed question (in generative mode it waits for the model to load), then for
`--seconds` runs `--clients` threads that each ask, one after another, streaming
questions through `POST /v1/chat/completions` (httpx, SSE), and `--web` threads that ask
through the page's `/chat` endpoint (gradio_client), all at once. Every
`--disconnect-every`-th request of each API client goes away after its first chunk (the
question was admitted, its answer not yet read): it counts as a disconnect, not an error.

An error is any request that got no 200, an error event, no `[DONE]`, or an answer
without content or citations field (an API turn), or a web turn that raised or showed no
cited answer. Latency: API first content chunk and whole stream, web turn; p50/p95 over the
requests that completed. After the run, `/v1/status` must show every slot free (nothing
answering or waiting) within 30 s: the slots of the clients that went away came back.
Writes bench/out/api_load.json.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from bench.common import ROOT, load_now, machine, percentile, table, write_json

CITEWISE = Path(sys.executable).parent / "citewise"
KEY = "sk-bench-api-load"
QUESTIONS = ("What causes paraneoplastic muscle weakness?",
             "How common is LEMS in small cell lung cancer?",
             "Which drug improved the neuromyopathy in the sicca syndrome case?",
             "What antibodies are found in Lambert-Eaton myasthenic syndrome?",
             "How is paraneoplastic muscle weakness treated?",
             "What is cancer cachexia?")


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Tally:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.api_first: list[float] = []
        self.api_total: list[float] = []
        self.web_total: list[float] = []
        self.api_ok = self.web_ok = self.disconnects = 0
        self.errors: list[str] = []

    def error(self, what: str) -> None:
        with self.lock:
            self.errors.append(what[:300])


def api_client(url: str, n: int, stop: threading.Event, every: int, mode: str,
               tally: Tally) -> None:
    import httpx

    model = {"extractive": "citewise-extractive", "generative": "citewise-generative"}.get(
        mode, "citewise")
    headers = {"Authorization": f"Bearer {KEY}"}
    with httpx.Client(base_url=url, headers=headers, trust_env=False, timeout=300) as c:
        i = 0
        while not stop.is_set():
            i += 1
            body = {"model": model, "stream": True, "messages": [
                {"role": "user", "content": QUESTIONS[(n + i) % len(QUESTIONS)]}]}
            leave = every > 0 and i % every == 0
            t0 = time.perf_counter()
            first = None
            try:
                with c.stream("POST", "/v1/chat/completions", json=body) as response:
                    if response.status_code != 200:
                        tally.error(f"api {response.status_code}: {response.read()[:200]!r}")
                        continue
                    content, done, final = "", False, None
                    for line in response.iter_lines():
                        if leave:  # the first chunk came: go away mid-stream
                            break
                        if not line.startswith("data: "):
                            continue
                        data = line[6:]
                        if data == "[DONE]":
                            done = True
                            break
                        chunk = json.loads(data)
                        if "error" in chunk:
                            tally.error(f"api error event: {chunk['error']['message']}")
                            break
                        delta = chunk["choices"][0]["delta"]
                        if delta.get("content"):
                            first = first or time.perf_counter() - t0
                            content += delta["content"]
                        if chunk["choices"][0]["finish_reason"] == "stop":
                            final = delta.get("citewise")
                if leave:
                    with tally.lock:
                        tally.disconnects += 1
                    continue
                total = time.perf_counter() - t0
                if not done or not content or final is None or "citations" not in final:
                    tally.error(f"api incomplete stream (done={done}, content={bool(content)})")
                    continue
                with tally.lock:
                    tally.api_ok += 1
                    tally.api_total.append(total)
                    tally.api_first.append(first or total)
            except Exception as exc:  # noqa: BLE001  counted, the run goes on
                tally.error(f"api {type(exc).__name__}: {exc}")


def web_client(url: str, n: int, stop: threading.Event, mode: str, tally: Tally) -> None:
    from gradio_client import Client

    client = Client(url, verbose=False, download_files=False)
    i = 0
    while not stop.is_set():
        i += 1
        t0 = time.perf_counter()
        try:
            transcript, *_ = client.predict(QUESTIONS[(n + i) % len(QUESTIONS)], 5, [],
                                            mode, api_name="/chat")
        except Exception as exc:  # noqa: BLE001
            tally.error(f"web {type(exc).__name__}: {exc}")
            continue
        if 'class="cw-cite"' not in transcript and "don't cover" not in transcript:
            tally.error("web turn without a cited answer")
            continue
        with tally.lock:
            tally.web_ok += 1
            tally.web_total.append(time.perf_counter() - t0)


def status(url: str) -> dict:
    import httpx

    with httpx.Client(trust_env=False, timeout=60) as c:
        return c.get(url + "/v1/status", headers={"Authorization": f"Bearer {KEY}"}).json()


def warm_up(url: str, mode: str) -> float:
    """One untimed question first (in generative mode it waits for the model to load)."""
    import httpx

    model = {"extractive": "citewise-extractive", "generative": "citewise-generative"}.get(
        mode, "citewise")
    t0 = time.perf_counter()
    with httpx.Client(trust_env=False, timeout=900) as c:
        response = c.post(url + "/v1/chat/completions",
                          headers={"Authorization": f"Bearer {KEY}"},
                          json={"model": model, "messages": [
                              {"role": "user", "content": QUESTIONS[0]}]})
        response.raise_for_status()
    return time.perf_counter() - t0


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=20)
    parser.add_argument("--web", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--mode", default="extractive",
                        choices=["extractive", "generative", "auto"])
    parser.add_argument("--disconnect-every", type=int, default=5)
    parser.add_argument("--name", default="api_load", help="bench/out/NAME.json")
    args = parser.parse_args(argv)

    work = Path(tempfile.mkdtemp(prefix="citewise-bench-api-"))
    port = free_port()
    env = {**os.environ, "CITEWISE_INDEX_DIR": str(work / "index"),
           "CITEWISE_SOURCES_DIR": str(ROOT / "data" / "sources"),
           "CITEWISE_FEEDBACK_DIR": str(work / "feedback"), "CITEWISE_PORT": str(port),
           "CITEWISE_ANSWER_MODE": args.mode, "CITEWISE_API_KEYS": KEY}
    subprocess.run([str(CITEWISE), "ingest", "--json"], env=env, cwd=work, check=True,
                   capture_output=True)
    proc = subprocess.Popen([str(CITEWISE), "serve"], env=env, cwd=work,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    url = f"http://127.0.0.1:{port}"
    tally = Tally()
    try:
        assert proc.stdout is not None
        for line in proc.stdout:
            if "citewise is running" in line:
                break
        else:
            raise RuntimeError("citewise serve exited before serving")
        threading.Thread(target=lambda: [None for _ in proc.stdout or ()],
                         daemon=True).start()
        concurrency = status(url)["concurrency"]
        warm_s = warm_up(url, args.mode)
        stop = threading.Event()
        threads = [threading.Thread(target=api_client, args=(url, n, stop,
                                                             args.disconnect_every,
                                                             args.mode, tally))
                   for n in range(args.clients)]
        threads += [threading.Thread(target=web_client, args=(url, n, stop, args.mode, tally))
                    for n in range(args.web)]
        load_before = load_now()
        t0 = time.perf_counter()
        for t in threads:
            t.start()
        time.sleep(args.seconds)
        stop.set()
        for t in threads:
            t.join(timeout=300)
        ran = time.perf_counter() - t0
        freed_in = None
        f0 = time.perf_counter()
        while time.perf_counter() - f0 < 30:
            s = status(url)
            if s["answering"] == 0 and s["waiting"] == 0:
                freed_in = time.perf_counter() - f0
                break
            time.sleep(0.1)
        load_after = load_now()
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
        shutil.rmtree(work, ignore_errors=True)

    def pct(values: list[float], p: float) -> float | None:
        return round(percentile(values, p), 2) if values else None

    result = {
        "machine": machine(), "mode": args.mode, "clients": args.clients, "web": args.web,
        "seconds": round(ran, 1), "api_concurrency": concurrency,
        "warm_up_s": round(warm_s, 1),
        "disconnect_every": args.disconnect_every, "load_before": load_before,
        "load_after": load_after, "api_completed": tally.api_ok, "web_completed": tally.web_ok,
        "disconnects": tally.disconnects, "errors": len(tally.errors),
        "error_samples": tally.errors[:10],
        "api_first_content_s": {"p50": pct(tally.api_first, 50), "p95": pct(tally.api_first, 95)},
        "api_stream_s": {"p50": pct(tally.api_total, 50), "p95": pct(tally.api_total, 95)},
        "web_turn_s": {"p50": pct(tally.web_total, 50), "p95": pct(tally.web_total, 95)},
        "slots_free_after_s": None if freed_in is None else round(freed_in, 2),
    }
    print(table(["what", "completed", "p50 s", "p95 s"], [
        ["API first content", tally.api_ok, result["api_first_content_s"]["p50"],
         result["api_first_content_s"]["p95"]],
        ["API whole stream", tally.api_ok, result["api_stream_s"]["p50"],
         result["api_stream_s"]["p95"]],
        ["web turn", tally.web_ok, result["web_turn_s"]["p50"], result["web_turn_s"]["p95"]],
    ]))
    print(f"mode {args.mode}, {args.clients} API clients + {args.web} web chats for "
          f"{ran:.0f} s, API concurrency {concurrency}; disconnects {tally.disconnects}; "
          f"errors {len(tally.errors)}; slots all free "
          + (f"{freed_in:.2f} s after the run" if freed_in is not None else "NOT within 30 s")
          + f"; load {load_before} -> {load_after}")
    for e in tally.errors[:10]:
        print("  error:", e)
    path = write_json(args.name, result)
    print(f"wrote {path}")
    return result


if __name__ == "__main__":
    main()
