"""The web server's settings, read from the environment (secrets never from a file or a flag).

| Variable | Default | Meaning |
|---|---|---|
| `MGADVISOR_ALLOWED_HOSTS` | `127.0.0.1,localhost,::1` | host names the app answers to (`*`: any) |
| `MGADVISOR_SECRET` | one per process | signs the forms' CSRF tokens (16+ characters) |
| `MGADVISOR_MAX_CONNECTIONS` | 200 | open connections; more get 503 and are closed |
| `MGADVISOR_HEADER_TIMEOUT` | 10 | seconds for a client to send a request's headers |
| `MGADVISOR_BODY_TIMEOUT` | 20 | seconds for a client to send a request's body |
| `MGADVISOR_KEEPALIVE_TIMEOUT` | 5 | seconds an idle keep-alive connection stays open |
| `MGADVISOR_ENGINE_WORKERS` | 2 | advice computations at the same time (threads) |
| `MGADVISOR_ENGINE_WAIT` | 10 | seconds a request waits for a free worker before 503 |

The test client's host name `testserver` is always allowed: no name server resolves it, so a
browser can never be led to send it (which is what the host check is about: DNS rebinding).
"""

from __future__ import annotations

import logging
import os
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field

from mgadvisor.errors import UserInputError
from mgadvisor.i18n import N_

log = logging.getLogger("mgadvisor.web")

LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "::1")
TEST_CLIENT_HOST = "testserver"
MIN_SECRET_LENGTH = 16

_process_secret: bytes | None = None


def process_secret() -> bytes:
    """A random secret made once per process, for when MGADVISOR_SECRET is not set."""
    global _process_secret  # noqa: PLW0603 - one per process, on purpose
    if _process_secret is None:
        _process_secret = secrets.token_bytes(32)
        log.warning(
            "MGADVISOR_SECRET is not set: generated a secret for this process. Forms left open "
            "in a browser stop working when the server restarts; set MGADVISOR_SECRET to keep them."
        )
    return _process_secret


@dataclass(frozen=True)
class WebSettings:
    """What the app and the server need to know; `from_env()` reads it from the environment."""

    allowed_hosts: frozenset[str] = frozenset(LOOPBACK_HOSTS)
    secret: bytes = field(default=b"", repr=False)  # empty: the per-process secret
    max_connections: int = 200
    header_timeout: float = 10.0
    body_timeout: float = 20.0
    keepalive_timeout: float = 5.0
    engine_workers: int = 2
    engine_wait: float = 10.0
    engine_inline_bytes: int = 4096  # requests with a body up to this size skip the thread pool

    @property
    def signing_key(self) -> bytes:
        return self.secret or process_secret()

    def allows_host(self, host: str) -> bool:
        """Whether a Host header (with or without its port) names this server."""
        if "*" in self.allowed_hosts:
            return True
        name = host_name(host)
        return name in self.allowed_hosts or name == TEST_CLIENT_HOST

    @classmethod
    def from_env(
        cls, env: Mapping[str, str] | None = None, serve_host: str | None = None
    ) -> WebSettings:
        """The settings in `env` (default: the process environment).

        `serve_host` is the address `mgadvisor serve` listens on: a specific address is allowed
        as a host too, so `--host 192.168.1.20` works without more settings.

        Raises:
            UserInputError: a value that is not a positive number, or a secret too short.
        """
        env = os.environ if env is None else env
        hosts = {
            host_name(h.strip()) for h in env.get("MGADVISOR_ALLOWED_HOSTS", "").split(",")
        } - {""}
        if not hosts:
            hosts = set(LOOPBACK_HOSTS)
            if serve_host and serve_host not in ("0.0.0.0", "::", ""):
                hosts.add(host_name(serve_host))
        secret = env.get("MGADVISOR_SECRET", "")
        if secret and len(secret) < MIN_SECRET_LENGTH:
            raise UserInputError(
                N_("MGADVISOR_SECRET: expected at least {count} characters, got {given}"),
                count=MIN_SECRET_LENGTH,
                given=len(secret),
            )
        return cls(
            allowed_hosts=frozenset(hosts),
            secret=secret.encode(),
            max_connections=int(_number(env, "MGADVISOR_MAX_CONNECTIONS", cls.max_connections)),
            header_timeout=_number(env, "MGADVISOR_HEADER_TIMEOUT", cls.header_timeout),
            body_timeout=_number(env, "MGADVISOR_BODY_TIMEOUT", cls.body_timeout),
            keepalive_timeout=_number(env, "MGADVISOR_KEEPALIVE_TIMEOUT", cls.keepalive_timeout),
            engine_workers=int(_number(env, "MGADVISOR_ENGINE_WORKERS", cls.engine_workers)),
            engine_wait=_number(env, "MGADVISOR_ENGINE_WAIT", cls.engine_wait),
            engine_inline_bytes=_inline_bytes(env, cls.engine_inline_bytes),
        )


def host_name(host: str) -> str:
    """The name in a Host header, lower case, without the port: `[::1]:8000` → `::1`."""
    host = host.strip().lower()
    if host.startswith("["):  # an IPv6 literal
        return host[1:].split("]", 1)[0]
    if host.count(":") == 1:
        return host.split(":", 1)[0]
    return host


def _inline_bytes(env: Mapping[str, str], default: int) -> int:
    """MGADVISOR_ENGINE_INLINE_BYTES: 0 sends every computation to the thread pool."""
    if env.get("MGADVISOR_ENGINE_INLINE_BYTES", "").strip() == "0":
        return 0
    return int(_number(env, "MGADVISOR_ENGINE_INLINE_BYTES", default))


def _number(env: Mapping[str, str], name: str, default: float) -> float:
    text = env.get(name, "").strip()
    if not text:
        return default
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not 0 < value < 1e6:
        raise UserInputError(
            N_("{name}: expected a positive number, got {given}"), name=name, given=text[:40]
        )
    return value
