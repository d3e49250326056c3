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
             settings.feedback_dir]
    return sorted({os.path.abspath(p) for p in paths})


def is_loopback(host: str) -> bool:
    return host in {"127.0.0.1", "localhost", "::1"} or host.startswith("127.")


def launch_options(settings: Settings) -> dict[str, Any]:
    """Keyword arguments for `gr.Blocks.launch` (the theme and CSS are added by `app.web.app`)."""
    from starlette.middleware import Middleware

    return {
        "server_name": settings.host,
        "server_port": settings.port,
        "share": False,
        "auth": auth_pair(settings),
        "auth_message": AUTH_MESSAGE,
        "allowed_paths": [],
        "blocked_paths": blocked_paths(settings),
        "max_file_size": int(settings.max_upload_mb * 1_000_000),
        "ssr_mode": False,
        "pwa": False,
        "mcp_server": False,
        "enable_monitoring": False,
        "show_error": False,
        "inbrowser": False,
        "app_kwargs": {"middleware": [Middleware(Guard)], "docs_url": None,
                       "redoc_url": None, "openapi_url": None},
    }
