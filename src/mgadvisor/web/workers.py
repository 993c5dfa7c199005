"""Advice computations off the event loop, a bounded number at a time.

The event loop answers every connection; a computation that ran on it (a large intake costs
far more than the usual millisecond) would keep `/api/v1/health` and every other client waiting.
So the routes hand the engine's work to a small thread pool: at most `workers` run at once,
at most `workers * QUEUE_PER_WORKER` wait, and a request that would wait longer than `wait`
seconds gets a clear 503 (`ServerBusy`) instead of hanging.

Threads, not processes: the knowledge base is shared read-only, the caches fill once, and the
result needs no copying. The interpreter lock still interleaves the threads with the event loop
every few milliseconds (`sys.getswitchinterval()`), which keeps the loop answering.

A small job runs on the event loop itself (`run(..., inline=True)`, decided by the caller from
the size of the request: `pool.small(request)`): the hand-over to a thread and back costs more than
the job (measured: 0.3-0.7 ms for the hop against 0.3 ms for the advice of a typical intake),
and a job that small holds the loop no longer than rendering a page does.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

from starlette.requests import Request

T = TypeVar("T")
QUEUE_PER_WORKER = 8
# Requests with a body up to this size are computed on the event loop (the default of
# MGADVISOR_ENGINE_INLINE_BYTES). Every intake of the clinical cases is under 1 KB and takes
# under 1 ms; what makes an intake slow (food diaries of hundreds of entries, dozens of
# medicines) makes its body large.
INLINE_MAX_BYTES = 4096


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
        """Whether the request declares a body of at most `inline_bytes` bytes (none declared:
        not small; the body's size is limited elsewhere, this only chooses where work runs)."""
        return self.small_length(request.headers.get("content-length"))

    def small_length(self, length: str | None) -> bool:
        """`small` for a Content-Length header's value (None: the request declared none)."""
        return length is not None and length.isdigit() and int(length) <= self.inline_bytes

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
