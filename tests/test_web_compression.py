"""app.Compression sends what Starlette's GZipMiddleware sends, with and without gzip accepted.

Without gzip in Accept-Encoding it skips Starlette's IdentityResponder for a leaner one
(`_Identity`); every kind of response is sent through both and must come out the same.
"""

from __future__ import annotations

import asyncio
import copy
import itertools
from typing import Any

import pytest
from starlette.middleware.gzip import DEFAULT_EXCLUDED_CONTENT_TYPES, GZipMiddleware

from mgadvisor.web.app import Compression

SETTINGS: dict[str, Any] = {
    "minimum_size": 1000,
    "compresslevel": 6,
    "exclude_content_types": (*DEFAULT_EXCLUDED_CONTENT_TYPES, "application/pdf"),
}
HEADERS: list[list[tuple[bytes, bytes]]] = [
    [(b"content-type", b"application/json")],
    [(b"content-type", b"text/html; charset=utf-8"), (b"vary", b"Cookie")],
    [(b"content-type", b"application/pdf")],
    [(b"content-type", b"IMAGE/PNG ; q=1")],
    [(b"content-type", b"application/grpc+proto")],
    [(b"content-type", b"application/json"), (b"content-encoding", b"br")],
    [(b"vary", b"a"), (b"content-type", b"text/plain"), (b"vary", b"b")],
    [],
]
BODIES: list[list[dict[str, Any]]] = [
    [{"type": "http.response.body", "body": b"x" * 10}],
    [{"type": "http.response.body", "body": b"x" * 999}],
    [{"type": "http.response.body", "body": b"x" * 1000}],
    [{"type": "http.response.body"}],
    [
        {"type": "http.response.body", "body": b"x" * 10, "more_body": True},
        {"type": "http.response.body", "body": b"y" * 5000, "more_body": True},
        {"type": "http.response.body", "more_body": False},
    ],
    [{"type": "http.response.pathsend", "path": "/x"}],
    [
        {"type": "http.response.body", "body": b"x" * 2000},
        {"type": "http.response.trailers", "headers": [], "more_trailers": False},
    ],
]


def sent(middleware: type[Any], accept: bytes | None, messages: list[dict[str, Any]]) -> Any:
    async def app(scope: Any, receive: Any, send: Any) -> None:
        for message in copy.deepcopy(messages):
            await send(message)

    out: list[Any] = []

    async def send(message: Any) -> None:
        out.append(copy.deepcopy(message))

    headers = [(b"accept-encoding", accept)] if accept is not None else []
    scope = {"type": "http", "method": "GET", "path": "/", "headers": headers}
    asyncio.run(middleware(app, **SETTINGS)(scope, None, send))
    return out


@pytest.mark.parametrize("accept", [None, b"br", b"identity", b"GZIP", b"gzip", b"gzip, br"])
@pytest.mark.parametrize("status", [200, 206, 304])
def test_every_response_goes_out_as_through_starlettes_middleware(
    accept: bytes | None, status: int
) -> None:
    for headers, bodies in itertools.product(HEADERS, BODIES):
        start = {"type": "http.response.start", "status": status, "headers": headers}
        messages: list[dict[str, Any]] = [start, *bodies]
        assert sent(Compression, accept, messages) == sent(GZipMiddleware, accept, messages), (
            headers,
            bodies,
        )
