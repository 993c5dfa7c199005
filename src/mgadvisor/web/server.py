"""The HTTP server (`mgadvisor serve`): uvicorn with limits on slow clients and connection floods.

uvicorn has a keep-alive timeout but none for a request's headers, and no cap on connections
(its `limit_concurrency` counts idle connections too and answers a bare text 503). So:

- **Header timeout**: a connection must deliver a request's headers within
  `header_timeout` seconds of its first byte (or of opening); else it is closed. Slowloris
  clients and idle sockets no longer hold a file descriptor for ever.
- **Body timeout and size**: the Guard (guard.py) reads at most 256 KB within `body_timeout`.
- **Connection cap**: past `max_connections` open connections a new one is served only a 503
  (the app's own, with its headers, in the client's language; `/api/v1/health` still answers)
  and must send its request within a second; past twice the cap, within a quarter of a second.
  A flood of idle sockets so holds at most a quarter second's worth of descriptors beyond
  twice the cap, while a health check (which sends its request at once) is still answered.
- No `server: uvicorn` banner; proxy headers (`X-Forwarded-Proto`, `X-Forwarded-For`) are
  believed only from `FORWARDED_ALLOW_IPS` (uvicorn's variable; default 127.0.0.1).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import resource
import sys
from collections.abc import Callable
from typing import Any

import h11
import uvicorn
from uvicorn.protocols.http.h11_impl import H11Protocol

from mgadvisor.web.guard import BUSY_SCOPE_KEY
from mgadvisor.web.settings import WebSettings

log = logging.getLogger("mgadvisor.web")

OVER_CAP_HEADER_TIMEOUT = 1.0
FLOOD_HEADER_TIMEOUT = 0.25  # past twice the cap
SPARE_FILE_DESCRIPTORS = 64
SWITCH_INTERVAL = 0.001  # seconds  # for the listening socket, the knowledge files, the logs


def config(settings: WebSettings, host: str, port: int, app: Any = None) -> uvicorn.Config:
    """uvicorn's configuration for `settings` (`app`: default `create_app(settings)`)."""
    if app is None:
        from mgadvisor.web.app import create_app

        app = create_app(settings)
    if hasattr(app, "state"):  # the first run's set-up link names the server (first_run.py)
        app.state.base_url = base_url(host, port)
    return uvicorn.Config(
        app,
        host=host,
        port=port,
        http=protocol(settings),  # uvicorn takes a protocol class as well as a name
        ws="none",  # the app has no WebSocket route: an upgrade is a plain request
        lifespan="on",
        server_header=False,
        timeout_keep_alive=max(1, round(settings.keepalive_timeout)),
        timeout_graceful_shutdown=5,
        h11_max_incomplete_event_size=16 * 1024,  # the request line and headers together
        log_level="warning",
        access_log=False,  # paths only, but nothing of a client's is needed in a log
    )


def base_url(host: str, port: int) -> str:
    """The address to open in a browser for a server listening on `host`:`port` (on every
    address, 0.0.0.0 or ::, it is this computer's own).

    Example:
        >>> base_url("0.0.0.0", 8000), base_url("::1", 8080)
        ('http://127.0.0.1:8000', 'http://[::1]:8080')
    """
    name = {"": "127.0.0.1", "0.0.0.0": "127.0.0.1", "::": "::1"}.get(host.strip(), host.strip())
    if ":" in name and not name.startswith("["):  # an IPv6 address
        name = f"[{name}]"
    return f"http://{name}:{port}"


def serve(host: str, port: int, ready: Callable[[], None] = lambda: None) -> None:
    """Run the app until Ctrl+C, with the settings of the environment (see settings.py);
    `ready()` once they are read and found valid.

    Raises:
        UserInputError: a setting in the environment is not valid (named, with its value).
    """
    settings = WebSettings.from_env(serve_host=host)
    ready()
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s: %(message)s")
    _raise_file_limit()
    # The engine's threads hand the interpreter lock to the event loop every millisecond
    # instead of every 5: health checks during a large advice wait less (docs/security.md).
    sys.setswitchinterval(SWITCH_INTERVAL)
    uvicorn.Server(config(settings, host, port)).run()


def protocol(settings: WebSettings) -> type[H11Protocol]:
    """uvicorn's h11 protocol with the header timeout and the connection cap of `settings`."""
    soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
    hard_cap = settings.max_connections * 2
    if soft != resource.RLIM_INFINITY:
        hard_cap = min(hard_cap, soft - SPARE_FILE_DESCRIPTORS)
    hard_cap = max(hard_cap, settings.max_connections + 1)

    class GuardedH11Protocol(H11Protocol):
        _header_timer: asyncio.TimerHandle | None = None
        _header_timeout = settings.header_timeout

        def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
            super().connection_made(transport)
            open_now = len(self.connections)
            if open_now > settings.max_connections:
                self.app = _marked_busy(self.app)
                patience = FLOOD_HEADER_TIMEOUT if open_now > hard_cap else OVER_CAP_HEADER_TIMEOUT
                self._header_timeout = min(patience, settings.header_timeout)
            self._watch_headers()

        def data_received(self, data: bytes) -> None:
            super().data_received(data)
            self._watch_headers()

        def connection_lost(self, exc: Exception | None) -> None:
            self._stop_header_timer()
            super().connection_lost(exc)

        def _watch_headers(self) -> None:
            """A timer runs while the connection owes us a request's headers."""
            waiting = self.conn.their_state is h11.IDLE and self.timeout_keep_alive_task is None
            if waiting and self._header_timer is None and not self.transport.is_closing():
                self._header_timer = self.loop.call_later(self._header_timeout, self._too_slow)
            elif not waiting:
                self._stop_header_timer()

        def _stop_header_timer(self) -> None:
            if self._header_timer is not None:
                self._header_timer.cancel()
                self._header_timer = None

        def _too_slow(self) -> None:
            self._header_timer = None
            if self.conn.their_state is h11.IDLE and not self.transport.is_closing():
                self.transport.close()

    return GuardedH11Protocol


def _marked_busy(app: Any) -> Any:
    """The app, with every request of this connection marked as over the cap (the Guard
    answers it with a 503)."""

    async def busy(scope: dict[str, Any], receive: Any, send: Any) -> None:
        scope[BUSY_SCOPE_KEY] = True
        await app(scope, receive, send)

    return busy


def _raise_file_limit() -> None:
    """Open-file limit: the soft limit up to the hard one (often 1,024 → 1,048,576), so the
    connection cap, not the operating system, decides when to refuse."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft != resource.RLIM_INFINITY and (hard == resource.RLIM_INFINITY or soft < hard):
        with contextlib.suppress(ValueError, OSError):  # a container may refuse
            resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
