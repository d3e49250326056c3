"""Shared fixtures: no network, a fake embedder, a temporary corpus and index, and a real
Chroma server (`chroma run`) for the tests of server mode."""

from __future__ import annotations

import ipaddress
import os
import shutil
import socket
import subprocess
import sys
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

# Tests answer extractively unless they ask for generative answers (and pass a generator):
# the packaged language model is installed, and `auto` would load it in every test.
os.environ["CITEWISE_ANSWER_MODE"] = "extractive"

from app.environment import quiet_environment  # noqa: E402

quiet_environment()  # the test suite is an entry point, as the CLI is

from app.config import Settings  # noqa: E402
from app.service import Citewise  # noqa: E402
from tests.fakes import HashingEmbedder  # noqa: E402
from tests.helpers import free_port, wait_for  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_SOURCES = ROOT / "data" / "sources"
QUESTION = "What causes paraneoplastic muscle weakness?"


def _is_local(address: object) -> bool:
    if isinstance(address, tuple):
        if address[0] is None:  # getaddrinfo(None, port): the local host
            return True
        host = str(address[0])
        if host in {"localhost", ""}:
            return True
        try:
            return ipaddress.ip_address(host).is_loopback
        except ValueError:
            return False
    return True  # AF_UNIX paths


@pytest.fixture(autouse=True)
def no_network(monkeypatch: pytest.MonkeyPatch) -> None:
    """Fail any socket connection outside 127.0.0.1, so a hidden download fails loudly."""
    real_connect = socket.socket.connect
    real_connect_ex = socket.socket.connect_ex

    def guard(address: object) -> None:
        if not _is_local(address):
            raise RuntimeError(f"test tried to reach the network: {address!r}")

    def connect(self: socket.socket, address: object) -> None:
        guard(address)
        return real_connect(self, address)

    def connect_ex(self: socket.socket, address: object) -> int:
        guard(address)
        return real_connect_ex(self, address)

    real_getaddrinfo = socket.getaddrinfo

    def getaddrinfo(host: object, *args: object, **kwargs: object) -> object:
        # A hub download fails at the name lookup, before any connect: catch it here too.
        guard((host, 0))
        return real_getaddrinfo(host, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(socket.socket, "connect", connect)
    monkeypatch.setattr(socket.socket, "connect_ex", connect_ex)
    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)


@pytest.fixture
def sources(tmp_path: Path) -> Path:
    """A writable copy of the default corpus."""
    folder = tmp_path / "sources"
    shutil.copytree(DEFAULT_SOURCES, folder)
    return folder


@pytest.fixture
def settings(tmp_path: Path, sources: Path) -> Settings:
    return Settings(sources_dir=sources, index_dir=tmp_path / "index", _env_file=None)


@pytest.fixture
def embedder() -> HashingEmbedder:
    return HashingEmbedder()


@pytest.fixture
def service(settings: Settings, embedder: HashingEmbedder) -> Citewise:
    return Citewise(settings, embedder)


@pytest.fixture(scope="session")
def chroma_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A real Chroma server on a free loopback port; yields its URL."""
    port = free_port()
    folder = tmp_path_factory.mktemp("chroma-server")
    log = (folder / "server.log").open("wb")
    env = {**os.environ, "ANONYMIZED_TELEMETRY": "False"}
    server = subprocess.Popen(
        [str(Path(sys.executable).parent / "chroma"), "run", "--path", str(folder / "data"),
         "--host", "127.0.0.1", "--port", str(port)],
        stdout=log, stderr=subprocess.STDOUT, env=env)
    url = f"http://127.0.0.1:{port}"

    def up() -> bool:
        if server.poll() is not None:
            pytest.fail(f"chroma run exited with {server.returncode}: see {folder}/server.log")
        try:
            with urllib.request.urlopen(f"{url}/api/v2/heartbeat", timeout=1) as response:
                return response.status == 200
        except OSError:
            return False

    try:
        wait_for(up, 60, "the Chroma server's heartbeat", interval=0.1)
        yield url
    finally:
        server.terminate()
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()
        log.close()
