"""Advice computations off the event loop, a bounded number at a time.

The event loop answers every connection; a computation that ran on it (a large intake costs
far more than the usual millisecond) would keep `/api/v1/health` and every other client waiting.
So the routes hand the engine's work to a small thread pool: at most `workers` run at once,
at most `workers * QUEUE_PER_WORKER` wait, and a request that would wait longer than `wait`
seconds gets a clear 503 (`ServerBusy`) instead of hanging.

Threads, not processes: the knowledge base is shared read-only, the caches fill once, and the
result needs no copying. The interpreter lock still interleaves the threads with the event loop
every few milliseconds (`sys.getswitchinterval()`), which keeps the loop answering.

A small, light job runs on the event loop itself (`run(..., inline=True)`): the hand-over to a
thread and back costs more than the job (measured: 0.3-0.7 ms for the hop against 0.3 ms for the
advice of a typical intake), and such a job holds the loop no longer than rendering a page does.
The caller decides, on two bounds that must both hold:

* the body the Guard actually read is small (`pool.small(request)`; never the Content-Length
  header, which a chunked request may carry with any value), and
* the intake is light (`mgadvisor.intake.light`, `pages._light_form`): no food diary or
  questionnaire and few list entries. Size alone is no bound: 4 KB of diary entries, or of
  unknown codes that each get a fuzzy-matched suggestion, cost some 100 ms.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

from starlette.requests import Request

T = TypeVar("T")
QUEUE_PER_WORKER = 8
# Requests with a body up to this size (and a light intake) are computed on the event loop (the
# default of MGADVISOR_ENGINE_INLINE_BYTES). Every intake of the clinical cases is under 1 KB.
INLINE_MAX_BYTES = 4096
BODY_BYTES_SCOPE_KEY = "mgadvisor.body_bytes"  # the Guard's count of the body bytes it read


class ServerBusy(Exception):  # noqa: N818 - a state, not a failure of the request itself
    """Every engine worker is taken and the queue is full or too slow: answer 503."""


class EnginePool:
    """A bounded thread pool for the engine; `await pool.run(fn, *args)`."""

    def __init__(self, workers: int, wait: float, inline_bytes: int = INLINE_MAX_BYTES) -> None:
        self.workers = max(1, workers)
        self.wait = wait
        self.inline_bytes = inline_bytes
        self.max_pending = self.workers * (1 + QUEUE_PER_WORKER)
        self.pending = 0  # running and waiting; changed on the event loop only
        self._executor: ThreadPoolExecutor | None = None

    @property
    def executor(self) -> ThreadPoolExecutor:
        if self._executor is None:  # made on first use: an app made for a test starts no thread
            self._executor = ThreadPoolExecutor(self.workers, thread_name_prefix="mgadvisor-engine")
        return self._executor

    def small(self, request: Request) -> bool:
        """Whether the request's body, as the Guard read it, has at most `inline_bytes` bytes
        (a body the Guard did not read: not small). The bytes read, never a Content-Length
        header: a request may declare 10 bytes and send 200 KB chunked."""
        return self.small_scope(request.scope)

    def small_scope(self, scope: Mapping[str, Any]) -> bool:
        """`small` for an ASGI scope."""
        read = scope.get(BODY_BYTES_SCOPE_KEY)
        return type(read) is int and read <= self.inline_bytes

    async def run(self, fn: Callable[..., T], *args: Any, inline: bool = False) -> T:
        """`fn(*args)` in a worker thread, or on the event loop when `inline` (a small job);
        its exceptions come through unchanged.

        Raises:
            ServerBusy: the queue is full, or no worker took the job within `wait` seconds.
        """
        if inline:
            return fn(*args)
        if self.pending >= self.max_pending:
            raise ServerBusy
        self.pending += 1
        try:
            future = self.executor.submit(fn, *args)
            try:
                return await asyncio.wait_for(asyncio.wrap_future(future), self.wait)
            except TimeoutError:
                future.cancel()  # not started yet: it never runs; running: it finishes unseen
                raise ServerBusy from None
        finally:
            self.pending -= 1


def engine_pool(request: Request) -> EnginePool:
    pool: EnginePool = request.app.state.engine
    return pool
