"""One server for the web page and the API: a FastAPI app with `/v1` (`app.api.routes`)
and the Gradio page mounted at `/` (`gr.mount_gradio_app`), run by uvicorn.

Everything `app.web.server.launch_options` guarantees holds here too: the host from the
settings (127.0.0.1 by default), the login, `BodyLimit` and `Guard` (CSP, blocked file
paths) on the page's routes, no analytics, no server-side rendering, no MCP server, no
API docs page, the queue limits of `build_app`. `/v1` has its own body limit (JSON 413),
bearer keys (`app.api.auth`) and answer slots.

`serve(service)` starts it in a thread and returns a `Running` handle (`url`, `close()`,
`block_thread()`), as `citewise serve` and the UI tests use it.
"""

from __future__ import annotations

import logging
import socket
import threading
import time
from dataclasses import dataclass
from typing import Any

from app.service import Citewise

log = logging.getLogger(__name__)
START_TIMEOUT_S = 30
STOP_TIMEOUT_S = 5


def build_server(service: Citewise) -> tuple[Any, Any, Any]:
    """(the FastAPI app, the Gradio Blocks, the /v1 app)."""
    import gradio as gr
    from fastapi import FastAPI
    from starlette.middleware import Middleware

    from app.api.routes import build_api
    from app.web.app import build_app
    from app.web.files import files_router
    from app.web.server import Guard, launch_options
    from app.web.style import CSS

    settings = service.settings
    options = launch_options(settings)
    demo = build_app(service)
    app = FastAPI(docs_url=None, redoc_url=None, openapi_url=None,
                  middleware=[Middleware(Guard)])
    api = build_api(service)
    app.mount("/v1", api)
    # Routers of the web room beside the page, before its mount: Gradio, mounted at "/",
    # answers every other path.
    app.include_router(files_router(service))  # /source/<doc id>: the cited files
    gr.mount_gradio_app(
        app, demo, path="/", server_name=settings.host, server_port=settings.port,
        app_kwargs=options["app_kwargs"], auth=options["auth"],
        auth_message=options["auth_message"], allowed_paths=options["allowed_paths"],
        blocked_paths=options["blocked_paths"], show_error=options["show_error"],
        max_file_size=options["max_file_size"], ssr_mode=options["ssr_mode"],
        enable_monitoring=options["enable_monitoring"], pwa=options["pwa"],
        mcp_server=options["mcp_server"], css=CSS)
    demo.share = False
    return app, demo, api


@dataclass
class Running:
    """A started server: `close()` stops it; `block_thread()` waits until Ctrl-C."""

    url: str
    app: Any
    demo: Any
    api: Any
    server: Any  # uvicorn.Server
    thread: threading.Thread

    def close(self) -> None:
        gradio_app = _gradio_app(self.app)
        if gradio_app is not None:
            gradio_app.stop_event.set()  # ends the page's open event streams
        self.demo._queue.close()
        self.demo.is_running = False
        self.server.should_exit = True
        self.thread.join(timeout=STOP_TIMEOUT_S + 2)
        self.api.state.slots.close()

    def block_thread(self) -> None:
        try:
            while self.thread.is_alive():
                time.sleep(0.1)
        except KeyboardInterrupt:
            print("Stopping citewise...", flush=True)
            self.close()


def _gradio_app(app: Any) -> Any:
    for route in reversed(app.routes):
        if getattr(route, "path", None) == "" and hasattr(route, "app"):
            return route.app
    return None


def serve(service: Citewise) -> Running:
    """Start the server on `Settings.host:port` in a thread; `OSError` if the port is taken."""
    import uvicorn

    settings = service.settings
    _check_port(settings.host, settings.port)
    app, demo, api = build_server(service)

    class Server(uvicorn.Server):
        def install_signal_handlers(self) -> None:  # the main thread handles Ctrl-C
            pass

    config = uvicorn.Config(app, host=settings.host, port=settings.port, log_level="warning",
                            access_log=False, timeout_graceful_shutdown=STOP_TIMEOUT_S,
                            lifespan="on")
    server = Server(config)
    thread = threading.Thread(target=server.run, daemon=True, name="citewise-server")
    thread.start()
    deadline = time.monotonic() + START_TIMEOUT_S
    while not server.started:
        if not thread.is_alive():
            raise OSError(f"the server stopped while starting on {settings.host}:"
                          f"{settings.port} (see the log above)")
        if time.monotonic() > deadline:
            server.should_exit = True
            raise OSError(f"the server did not start within {START_TIMEOUT_S} s")
        time.sleep(0.01)
    shown = "127.0.0.1" if settings.host in {"0.0.0.0", "::"} else settings.host
    return Running(f"http://{shown}:{settings.port}", app, demo, api, server, thread)


def _check_port(host: str, port: int) -> None:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind((host, port))
