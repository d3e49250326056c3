"""The prompt-prefix cache (`app.llm.prefix_cache`, `LocalLlama.prime`) against a fake of
llama.cpp's slot endpoints on a loopback port: the first process reads the prefix and
saves the slot, the next restores it and reads nothing, and a change of the prefix, the
context or the model file is a new cache file. (The real llama.cpp figures are in
docs/benchmarks.md, "Cold start".)"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from app.llm import prefix_cache
from app.llm.backends import LocalLlama, OpenAIChat

PREFIX = [{"role": "system", "content": "Answer from the sources."},
          {"role": "user", "content": "Warm up."}]


class FakeSlots:
    """POST /slots/0?action=save|restore writing and reading files in `folder`, and
    /v1/chat/completions counting the prompts it reads."""

    def __init__(self, folder: Path):
        self.folder, self.prompts, self.calls = folder, 0, []
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args) -> None:
                pass

            def do_POST(self) -> None:  # noqa: N802
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                fake.calls.append(self.path)
                if self.path.startswith("/slots/0?action=save"):
                    (fake.folder / body["filename"]).write_bytes(b"kv")
                    out: dict = {"n_saved": 3}
                elif self.path.startswith("/slots/0?action=restore"):
                    ok = (fake.folder / body["filename"]).is_file()
                    self.send_response(200 if ok else 400)
                    self.end_headers()
                    self.wfile.write(json.dumps({"n_restored": 3 if ok else 0}).encode())
                    return
                else:  # a chat completion, streamed
                    fake.prompts += 1
                    self.send_response(200)
                    self.send_header("Content-Type", "text/event-stream")
                    self.end_headers()
                    delta = {"choices": [{"delta": {"content": "ok"}}]}
                    self.wfile.write(f"data: {json.dumps(delta)}\n\ndata: [DONE]\n\n".encode())
                    return
                self.send_response(200)
                self.end_headers()
                self.wfile.write(json.dumps(out).encode())

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.listening_address = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


@pytest.fixture
def slots(tmp_path: Path) -> Iterator[FakeSlots]:
    fake = FakeSlots(tmp_path / "cache")
    fake.folder.mkdir()
    yield fake
    fake.server.shutdown()


def _model(tmp_path: Path, slots: FakeSlots) -> LocalLlama:
    """A LocalLlama whose llama.cpp server is the fake (as `_load` would have made it)."""
    model = tmp_path / "m.gguf"
    if not model.exists():
        model.write_bytes(b"GGUF")
    llama = LocalLlama(model, 4096, 2, prompt_cache_dir=slots.folder)
    llama._server = slots
    llama._client = OpenAIChat(slots.listening_address + "/v1")
    return llama


def test_the_first_process_reads_and_saves_the_prefix_the_next_restores_it(
        tmp_path: Path, slots: FakeSlots) -> None:
    assert _model(tmp_path, slots).prime(PREFIX) is False
    assert slots.prompts == 1 and [p.name for p in slots.folder.iterdir()] == [
        prefix_cache.slot_file(slots.folder, tmp_path / "m.gguf", 4096, PREFIX).name]
    again = _model(tmp_path, slots)  # another process, in effect
    assert again.prime(PREFIX) is True and slots.prompts == 1
    assert again.prime(PREFIX) is False and slots.prompts == 1  # once per process


def test_another_prefix_context_or_model_file_is_another_cache_file(tmp_path: Path) -> None:
    model = tmp_path / "m.gguf"
    model.write_bytes(b"GGUF")
    name = prefix_cache.slot_file(tmp_path, model, 4096, PREFIX)
    other = [{"role": "system", "content": "Other rules."}, PREFIX[1]]
    assert prefix_cache.slot_file(tmp_path, model, 4096, other) != name
    assert prefix_cache.slot_file(tmp_path, model, 2048, PREFIX) != name
    model.write_bytes(b"GGUF, another build")
    assert prefix_cache.slot_file(tmp_path, model, 4096, PREFIX) != name


def test_a_cache_that_cannot_be_restored_is_read_again(tmp_path: Path,
                                                        slots: FakeSlots) -> None:
    llama = _model(tmp_path, slots)
    file = prefix_cache.slot_file(slots.folder, llama.model_path, 4096, PREFIX)
    assert not prefix_cache.restore(slots.listening_address, file)  # none saved yet
    assert llama.prime(PREFIX) is False and file.is_file() and slots.prompts == 1


JUDGE = [{"role": "system", "content": "Check sentences found for a question."},
         {"role": "user", "content": "Warm up?"}]


def test_two_prefixes_each_have_a_file_and_the_slot_moves_to_ram_between_them(
        tmp_path: Path, slots: FakeSlots) -> None:
    assert _model(tmp_path, slots).prime(PREFIX, JUDGE) is False
    assert slots.prompts == 3  # both prefixes read, and the one-token push between them
    assert len(list(slots.folder.iterdir())) == 2
    again = _model(tmp_path, slots)  # another process
    assert again.prime(PREFIX, JUDGE) is True
    assert slots.prompts == 4  # only the push: neither prefix is read again
    assert [c.split("?")[0] for c in slots.calls[-3:]] == [
        "/slots/0", "/v1/chat/completions", "/slots/0"]
