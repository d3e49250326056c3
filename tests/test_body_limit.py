"""Issue 19, defect 6: every request body is capped, not only uploads. A served app (a
real Gradio server on a free loopback port) answers an oversized POST with 413, declared
or chunked, and goes on serving."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from app.web.server import MAX_BODY_BYTES, UPLOAD_FILES
from tests.fakes import HashingEmbedder
from tests.ui_server import Served, http_get, running_ui


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    with running_ui(tmp_path_factory.mktemp("body-limit"), embedder=HashingEmbedder(),
                    max_upload_mb=2) as ui:
        yield ui


def _client():
    import httpx

    return httpx.Client(timeout=60, trust_env=False)


def test_an_oversized_json_post_is_refused_at_once(served: Served) -> None:
    body = b'{"data": ["' + b"x" * (3 * MAX_BODY_BYTES) + b'"], "fn_index": 0}'
    with _client() as client:
        response = client.post(served.url + "/gradio_api/queue/join", content=body,
                               headers={"content-type": "application/json"})
    assert response.status_code == 413  # old code: 422, after reading all of it
    assert "at most 1 MB" in response.text
    assert http_get(served.url + "/")[0] == 200  # still serving


def test_a_chunked_body_is_counted_as_it_comes(served: Served) -> None:
    sent = 0

    def chunks() -> Iterator[bytes]:
        nonlocal sent
        yield b'{"data": ["'
        for _ in range(200):  # up to 200 MB, but the server stops reading long before
            sent += 1
            yield b"x" * 1_000_000
        yield b'"]}'

    import httpx

    with _client() as client:
        try:
            response = client.post(served.url + "/gradio_api/queue/join", content=chunks(),
                                   headers={"content-type": "application/json"})
            status = response.status_code
        except httpx.TransportError:  # the server closed while more was being sent
            status = 413
    assert status == 413
    assert sent < 200
    assert http_get(served.url + "/")[0] == 200


def test_ordinary_requests_and_uploads_within_the_limits_pass(served: Served,
                                                              tmp_path: Path) -> None:
    with _client() as client:
        small = client.post(served.url + "/gradio_api/call/documents", json={"data": []})
        assert small.status_code == 200 and "event_id" in small.json(), small.text
        files = [("files", (f"f{i}.txt", b"y" * 1_500_000, "text/plain")) for i in range(3)]
        upload = client.post(served.url + "/gradio_api/upload", files=files)
        assert upload.status_code == 200, upload.text  # 4.5 MB: over 1 MB, but an upload
        too_many = [("files", (f"f{i}.txt", b"y" * 1_500_000, "text/plain"))
                    for i in range(2 * UPLOAD_FILES)]
        assert client.post(served.url + "/gradio_api/upload",
                           files=too_many).status_code == 413
        one_too_large = [("files", ("big.txt", b"y" * 2_500_000, "text/plain"))]
        assert client.post(served.url + "/gradio_api/upload",
                           files=one_too_large).status_code == 413  # Gradio's own check
