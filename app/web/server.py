"""How the web UI is served, safe by default: `launch_options()` and a guard middleware.

- Binds to `Settings.host` (127.0.0.1 unless told otherwise), `share` off, no analytics,
  no server-side rendering (no Node process), no MCP server, no API docs page.
- Optional login from `auth_username` / `auth_password`; both or neither.
- Queue size and concurrency limit from the settings (see `app.web.app`).
- Files: Gradio serves only what it created (uploads, exports) and what is listed in
  `allowed_paths`, which stays empty; the working folder (code, `.env`), the index, the
  sources and the feedback folders are also blocked outright.
- `Guard` refuses `file=<URL>` requests (Gradio would fetch the URL itself: a request
  beyond 127.0.0.1) and `..` in file requests, and sends a Content-Security-Policy that lets
  the page load and connect to its own origin only: a link or image pointing elsewhere
  cannot load even if some text were ever rendered as markup.
- `BodyLimit` caps every request body: `MAX_BODY_BYTES` (1 MB) for every route but the
  upload route, which may carry `UPLOAD_FILES` files of `CITEWISE_MAX_UPLOAD_MB` each
  (Gradio checks each file against that limit too). A declared Content-Length above the
  cap is refused with 413 before anything is read; a chunked body is counted as it comes
  and refused once it passes the cap. Without it a 200 MB JSON POST to the queue was read
  whole (the server grew from 660 MB to 1.1 GB) before Gradio refused it.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any
from urllib.parse import unquote

from app.config import Settings
from ingest.errors import ConfigError

CSP = ("default-src 'self'; script-src 'self' 'unsafe-inline' 'unsafe-eval'; "
       "style-src 'self' 'unsafe-inline'; img-src 'self' data: blob:; font-src 'self' data:; "
       "media-src 'self' data: blob:; connect-src 'self'; worker-src 'self' blob:; "
       "frame-src 'self'; object-src 'none'; base-uri 'self'; form-action 'self'; "
       "frame-ancestors 'self'")
HEADERS = [(b"content-security-policy", CSP.encode()),
           (b"x-content-type-options", b"nosniff"),
           (b"referrer-policy", b"no-referrer"),
           (b"x-frame-options", b"SAMEORIGIN")]
AUTH_MESSAGE = "citewise: log in with the name and password set in CITEWISE_AUTH_*."
# A question, the documents to search and the answer settings are a few kB; a long chat's
# state stays on the server (gr.State). 1 MB leaves room without letting a body pile up.
MAX_BODY_BYTES = 1_000_000
UPLOAD_FILES = 10  # files of CITEWISE_MAX_UPLOAD_MB each that one upload request may carry


def refused(raw_path: str) -> bool:
    """True for a file request that names a URL or climbs out with `..`, however encoded."""
    path = raw_path
    for _ in range(3):  # %252e%252e -> %2e%2e -> ..
        decoded = unquote(path)
        if decoded == path:
            break
        path = decoded
    if "file=" not in path and "/file/" not in path:
        return False
    target = path.split("file=", 1)[-1] if "file=" in path else path.split("/file/", 1)[-1]
    target = target.replace("\\", "/").strip()
    return ("://" in target or target.startswith("//")
            or ".." in target.split("/") or target.lower().startswith(("http:", "https:")))


class Guard:
    """ASGI middleware: refuses what `refused()` names, adds `HEADERS` to every response."""

    def __init__(self, app: Any):
        self.app = app

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        raw = scope.get("raw_path") or scope.get("path", "").encode()
        raw_path = raw.decode("latin-1") if isinstance(raw, bytes) else str(raw)
        if refused(raw_path) or refused(scope.get("path", "")):
            await send({"type": "http.response.start", "status": 403,
                        "headers": [(b"content-type", b"text/plain"), *HEADERS]})
            await send({"type": "http.response.body", "body": b"File not allowed."})
            return

        async def send_with_headers(message: dict) -> None:
            if message["type"] == "http.response.start":
                names = {k.lower() for k, _ in message.get("headers", [])}
                extra = [(k, v) for k, v in HEADERS if k not in names]
                message = {**message, "headers": [*message.get("headers", []), *extra]}
            await send(message)

        await self.app(scope, receive, send_with_headers)


class _TooLarge(Exception):
    pass


class BodyLimit:
    """ASGI middleware: refuses a request body over `max_bytes` (`upload_bytes` on a path
    ending in /upload) with 413, by its Content-Length or, for a chunked body, by counting
    the bytes as the app reads them."""

    def __init__(self, app: Any, max_bytes: int = MAX_BODY_BYTES,
                 upload_bytes: int | None = None):
        self.app = app
        self.max_bytes = max_bytes
        self.upload_bytes = upload_bytes if upload_bytes is not None else max_bytes

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        upload = scope.get("path", "").rstrip("/").endswith("/upload")
        limit = self.upload_bytes if upload else self.max_bytes
        declared = dict(scope.get("headers") or []).get(b"content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > limit):
            await self.refuse(send, limit, upload)
            return
        received = 0
        over = False
        started = False

        async def counted() -> dict:
            nonlocal received, over
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    over = True
                    raise _TooLarge
            return message

        async def guarded_send(message: dict) -> None:
            nonlocal started
            if over:  # the app's answer to a body it could not finish reading
                return
            started = True
            await send(message)

        try:
            await self.app(scope, counted, guarded_send)
        except Exception:
            if not over:
                raise
        if over and not started:
            await self.refuse(send, limit, upload)

    async def refuse(self, send: Any, limit: int, upload: bool) -> None:
        """Send the 413 (a subclass may answer in its own shape: the API's JSON)."""
        await _refuse(send, limit, upload)


async def _refuse(send: Any, limit: int, upload: bool) -> None:
    what = (f"an upload (up to {UPLOAD_FILES} files of CITEWISE_MAX_UPLOAD_MB each)"
            if upload else "a request")
    body = f"Request too large: {what} may be at most {limit / 1e6:g} MB.".encode()
    await send({"type": "http.response.start", "status": 413,
                "headers": [(b"content-type", b"text/plain; charset=utf-8"),
                            (b"content-length", str(len(body)).encode()),
                            (b"connection", b"close"), *HEADERS]})
    await send({"type": "http.response.body", "body": body})


def auth_pair(settings: Settings) -> tuple[str, str] | None:
    user = settings.auth_username or ""
    password = settings.auth_password.get_secret_value() if settings.auth_password else ""
    if bool(user) != bool(password):
        raise ConfigError("Set both CITEWISE_AUTH_USERNAME and CITEWISE_AUTH_PASSWORD to "
                          "require a login, or neither.")
    return (user, password) if user else None


def blocked_paths(settings: Settings) -> list[str]:
    """Folders and files the server must never send, even by mistake."""
    paths = [Path.cwd(), Path(".env"), settings.index_dir, settings.sources_dir,
             settings.feedback_dir, settings.history_file]
    return sorted({os.path.abspath(p) for p in paths})


def is_loopback(host: str) -> bool:
    return host in {"127.0.0.1", "localhost", "::1"} or host.startswith("127.")


def launch_options(settings: Settings) -> dict[str, Any]:
    """The page's serving options, as `gr.Blocks.launch` names them; `app.api.server`
    passes them to `gr.mount_gradio_app` (with the CSS), beside `/v1`."""
    from starlette.middleware import Middleware

    max_file = int(settings.max_upload_mb * 1_000_000)
    upload_bytes = UPLOAD_FILES * max_file + MAX_BODY_BYTES  # and the multipart framing
    return {
        "server_name": settings.host,
        "server_port": settings.port,
        "share": False,
        "auth": auth_pair(settings),
        "auth_message": AUTH_MESSAGE,
        "allowed_paths": [],
        "blocked_paths": blocked_paths(settings),
        "max_file_size": max_file,
        "ssr_mode": False,
        "pwa": False,
        "mcp_server": False,
        "enable_monitoring": False,
        "show_error": False,
        "inbrowser": False,
        "app_kwargs": {"middleware": [Middleware(BodyLimit, upload_bytes=upload_bytes),
                                      Middleware(Guard)], "docs_url": None,
                       "redoc_url": None, "openapi_url": None},
    }
