"""The page link route (`app/web/files.py`): the original file of an indexed document, by
its id only, never a path from the request; traversal probes get 404; the page's login."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from pydantic import SecretStr

from app.answer.types import Citation
from app.config import Settings
from app.service import Citewise
from app.web.files import NOT_FOUND, files_router, source_link
from tests.fakes import HashingEmbedder
from tests.pdf_samples import make_pdf


def _corpus(tmp_path: Path) -> tuple[Citewise, Path]:
    folder = tmp_path / "sources"
    (folder / "guides").mkdir(parents=True)
    (folder / "lems.pdf").write_bytes(make_pdf())
    (folder / "guides" / "thymoma notes.txt").write_text(
        "Thymoma\n\nA thymoma is a tumour of the thymus gland.\n")
    (folder / "page.html").write_text(
        "<html><body><h1 id='top'>Myasthenia</h1><p>Myasthenia gravis weakens muscles."
        "</p><script>window.bad = 1</script></body></html>")
    outside = tmp_path / "outside.txt"
    outside.write_text("Outside\n\nA secret passage about calcium channels.\n")
    (tmp_path / ".env").write_text("CITEWISE_AUTH_PASSWORD=hunter2\n")
    settings = Settings(sources_dir=folder, index_dir=tmp_path / "index", _env_file=None)
    service = Citewise(settings, HashingEmbedder())
    service.ingest()
    service.ingest([outside])  # an outside file, ingested by path: indexed, never served
    assert {d.doc_id for d in service.documents()} >= {"lems.pdf", str(outside)}
    return service, folder


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> tuple[Citewise, Path]:
    """One indexed folder for the tests that only read it."""
    return _corpus(tmp_path_factory.mktemp("files"))


def _client(service: Citewise):
    from fastapi import FastAPI
    from fastapi.testclient import TestClient

    app = FastAPI()
    app.include_router(files_router(service))
    return TestClient(app)


def test_a_document_is_served_by_its_id(corpus) -> None:
    service, folder = corpus
    client = _client(service)
    r = client.get("/source/lems.pdf")
    assert r.status_code == 200 and r.content == (folder / "lems.pdf").read_bytes()
    assert r.headers["content-type"] == "application/pdf"
    assert r.headers["x-content-type-options"] == "nosniff"
    r = client.get("/source/guides/thymoma%20notes.txt")
    assert r.status_code == 200 and "tumour of the thymus" in r.text
    assert r.headers["content-type"].startswith("text/plain")
    r = client.get("/source/page.html")  # shown, but its script cannot run
    assert r.status_code == 200 and "sandbox" in r.headers["content-security-policy"]


@pytest.mark.parametrize("probe", [
    "/source/../.env", "/source/%2e%2e/.env", "/source/%2E%2E%2F.env",
    "/source/..%2f..%2f..%2fetc%2fpasswd", "/source/%252e%252e%252f.env",
    "/source/guides/../../.env", "/source/guides/..%2F..%2F.env", "/source/./lems.pdf/..",
    "/source//etc/passwd", "/source/%2Fetc%2Fpasswd", "/source/etc/passwd",
    "/source/..\\..\\.env", "/source/C:%5CWindows%5Cwin.ini", "/source/lems.pdf%00.txt",
    "/source/LEMS.PDF", "/source/nothing.pdf", "/source/guides", "/source/",
    "/source/index/manifest.sqlite", "/source/../index/manifest.sqlite",
])
def test_traversal_probes_and_unknown_ids_get_404(corpus, probe: str) -> None:
    service, _ = corpus
    r = _client(service).get(probe)
    assert r.status_code == 404, (probe, r.status_code)
    assert "hunter2" not in r.text and "root:" not in r.text


def test_absolute_ids_and_files_outside_the_sources_are_not_served(tmp_path: Path) -> None:
    service, folder = _corpus(tmp_path)
    outside = str(tmp_path / "outside.txt")
    client = _client(service)
    for probe in ("/source/" + outside, "/source/" + outside.lstrip("/"),
                  "/source/%2F" + outside.lstrip("/").replace("/", "%2F")):
        r = client.get(probe)
        assert r.status_code == 404 and r.text == NOT_FOUND, probe
    # An indexed file replaced by a link out of the folder (before any re-ingest): the
    # manifest still names it, the file it resolves to is outside, so it is not served.
    notes = folder / "guides" / "thymoma notes.txt"
    assert client.get("/source/guides/thymoma%20notes.txt").status_code == 200
    notes.unlink()
    os.symlink(tmp_path / ".env", notes)
    r = client.get("/source/guides/thymoma%20notes.txt")
    assert r.status_code == 404 and "hunter2" not in r.text
    # A document whose file was replaced since: the manifest's path is still checked.
    (folder / "lems.pdf").unlink()
    assert client.get("/source/lems.pdf").status_code == 404


def test_links_point_at_the_page_or_heading() -> None:
    def cite(doc_id: str, page: int | None = None, anchor: str | None = None) -> Citation:
        return Citation(1, "c", doc_id, "T", (), "p", 0, "p", 0, 1, page=page, page_end=page,
                        anchor=anchor)

    assert source_link(cite("lems.pdf", 4)) == "/source/lems.pdf#page=4"
    assert source_link(cite("a b/c.html", anchor="x y")) == "/source/a%20b/c.html#x%20y"
    assert source_link(cite("notes.txt")) == "/source/notes.txt"
    assert source_link(cite("/abs/outside.txt")) is None


def test_the_route_asks_for_the_pages_login(corpus) -> None:
    import gradio as gr
    from fastapi import FastAPI
    from fastapi.testclient import TestClient

    service, _ = corpus
    app = FastAPI()
    app.include_router(files_router(service))
    with gr.Blocks() as demo:
        gr.Markdown("page")
    gr.mount_gradio_app(app, demo, path="/", auth=("nurse", "s3cret"))
    client = TestClient(app)
    r = client.get("/source/lems.pdf")
    assert r.status_code == 401 and "Log in" in r.text
    client.cookies.set("access-token-unsecure-forged", "forged")
    assert client.get("/source/lems.pdf").status_code == 401
    client.cookies.clear()
    r = client.post("/login", data={"username": "nurse", "password": "wrong"})
    assert r.status_code >= 400
    assert client.get("/source/lems.pdf").status_code == 401
    r = client.post("/login", data={"username": "nurse", "password": "s3cret"})
    assert r.status_code == 200
    r = client.get("/source/lems.pdf")
    assert r.status_code == 200 and r.content.startswith(b"%PDF")
    assert client.get("/source/../.env").status_code == 404  # logged in or not


def test_citewise_serve_has_the_route_behind_its_login(tmp_path: Path) -> None:
    """The server `citewise serve` runs (app/api/server.py) includes the route before the
    page, and the route takes the page's own login (CITEWISE_AUTH_*)."""
    from fastapi.testclient import TestClient

    from app.api.server import build_server

    service, _ = _corpus(tmp_path)
    service.settings = service.settings.model_copy(
        update={"auth_username": "nurse", "auth_password": SecretStr("s3cret")})
    app, _demo, _api = build_server(service)
    client = TestClient(app)
    assert client.get("/source/lems.pdf").status_code == 401
    assert client.post("/login", data={"username": "nurse", "password": "s3cret"}
                       ).status_code == 200
    r = client.get("/source/lems.pdf")
    assert r.status_code == 200 and r.content.startswith(b"%PDF")
    assert client.get("/source/%2e%2e/.env").status_code == 404
