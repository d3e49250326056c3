"""The original source files, for the source card's link: `/source/<document id>`, opened
at the cited page (`#page=N`, PDFs) or heading (`#id`, HTML).

Only a document of the index is served, found by its id in the manifest: the path from
the request is compared with the ids the manifest holds, never joined to a folder, and
the file sent is the manifest's record of that document, and only when it lies inside the
sources folder (`CITEWISE_SOURCES_DIR`). Anything else (`../`, encoded or not, absolute
paths, unknown ids, a document ingested from outside the folder) is a 404 that names no
path. With a login set (`CITEWISE_AUTH_*`), the route asks for the page's own login: the
Gradio session cookie, checked by the mounted Gradio app (`logged_in`).

A source is sent so that it cannot act on the page: `nosniff`, its own type (PDF, plain
text for text and Markdown, HTML under a `sandbox` Content-Security-Policy that runs no
script and loads nothing), a download for any other format.

    app.include_router(files_router(service))   # before Gradio's mount at "/"
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

if TYPE_CHECKING:
    from app.answer.types import Citation
    from app.service import Citewise

PREFIX = "/source/"
NOT_FOUND = "No such source document."
LOGIN_NEEDED = "Log in first: open the page and sign in, then follow the link again."
_TYPES = {".pdf": "application/pdf", ".txt": "text/plain; charset=utf-8",
          ".md": "text/plain; charset=utf-8", ".markdown": "text/plain; charset=utf-8",
          ".html": "text/html; charset=utf-8", ".htm": "text/html; charset=utf-8"}
_PDF_CSP = "default-src 'none'; object-src 'self'; frame-ancestors 'self'"
_HTML_CSP = ("sandbox; default-src 'none'; style-src 'unsafe-inline'; img-src data:; "
             "frame-ancestors 'self'")


def source_link(citation: Citation) -> str | None:
    """The link to a citation's original file at its page or heading; None for a document
    that cannot be served (one ingested by absolute path from outside the sources)."""
    if citation.doc_id.startswith("/") or not citation.doc_id:
        return None
    url = PREFIX + quote(citation.doc_id, safe="/")
    if citation.page is not None:
        return f"{url}#page={citation.page}"
    if citation.anchor:
        return f"{url}#{quote(citation.anchor, safe='')}"
    return url


def resolve(service: Citewise, doc_id: str) -> Path | None:
    """The file of document `doc_id` if the index holds it and it lies inside the sources
    folder; None otherwise. The request's text is only ever compared with the ids."""
    record = next((d for d in service.documents() if d.doc_id == doc_id), None)
    if record is None:
        return None
    sources = Path(service.settings.sources_dir).resolve()
    try:
        path = Path(record.path).resolve(strict=True)
    except (OSError, RuntimeError):
        return None
    if not path.is_relative_to(sources) or not path.is_file():
        return None
    return path


def logged_in(request: Any) -> bool:
    """True when the page needs no login, or the request carries the page's session: the
    check Gradio's own routes make (`get_current_user` in gradio/routes.py), against the
    Gradio app mounted beside this route."""
    gradio_app = _mounted_gradio(request.app)
    if gradio_app is None:  # no page mounted: nothing to log in to (a test's own app)
        return True
    if gradio_app.auth is None and gradio_app.auth_dependency is None:
        return True
    if gradio_app.auth_dependency is not None:
        return gradio_app.auth_dependency(request) is not None
    cookie = gradio_app.cookie_id
    token = (request.cookies.get(f"access-token-{cookie}")
             or request.cookies.get(f"access-token-unsecure-{cookie}"))
    return gradio_app.tokens.get(token) is not None


def files_router(service: Citewise) -> Any:
    """The FastAPI router serving `/source/<document id>`."""
    from fastapi import APIRouter, Request
    from fastapi.responses import FileResponse, PlainTextResponse

    router = APIRouter()

    def source_file(doc_id: str, request: Request):
        if not logged_in(request):
            return PlainTextResponse(LOGIN_NEEDED, status_code=401)
        path = resolve(service, doc_id)
        if path is None:
            return PlainTextResponse(NOT_FOUND, status_code=404)
        suffix = path.suffix.lower()
        media = _TYPES.get(suffix, "application/octet-stream")
        headers = {"x-content-type-options": "nosniff", "cache-control": "no-store"}
        if suffix == ".pdf":
            headers["content-security-policy"] = _PDF_CSP
        elif media.startswith("text/html"):
            headers["content-security-policy"] = _HTML_CSP
        disposition = "inline" if suffix in _TYPES else "attachment"
        return FileResponse(path, media_type=media, headers=headers,
                            content_disposition_type=disposition, filename=path.name)

    # The annotations are strings here (`from __future__ import annotations`) naming names
    # imported in this function: FastAPI needs the types themselves to see the request.
    source_file.__annotations__ = {"doc_id": str, "request": Request}
    router.add_api_route(PREFIX + "{doc_id:path}", source_file, methods=["GET"],
                         include_in_schema=False)
    return router


def _mounted_gradio(app: Any) -> Any:
    """The Gradio app mounted on `app` (it holds the login's session tokens), if any."""
    for route in getattr(app, "routes", []):
        inner = getattr(route, "app", None)
        if inner is not None and hasattr(inner, "tokens") and hasattr(inner, "cookie_id"):
            return inner
    return None
