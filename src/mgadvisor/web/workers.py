"""Advice computations off the event loop, a bounded number at a time.

The event loop answers every connection; a computation that ran on it (a large intake costs
far more than the usual millisecond) would keep `/api/v1/health` and every other client waiting.
So the routes hand the engine's work to a small thread pool: at most `workers` run at once,
at most `workers * QUEUE_PER_WORKER` wait, and a request that would wait longer than `wait`
seconds gets a clear 503 (`ServerBusy`) instead of hanging.

Threads, not processes: the knowledge base is shared read-only, the caches fill once, and the
result needs no copying. The interpreter lock still interleaves the threads with the event loop
every few milliseconds (`sys.getswitchinterval()`), which keeps the loop answering.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

from starlette.requests import Request

T = TypeVar("T")
QUEUE_PER_WORKER = 8


class ServerBusy(Exception):  # noqa: N818 - a state, not a failure of the request itself
    """Every engine worker is taken and the queue is full or too slow: answer 503."""


class EnginePool:
    """A bounded thread pool for the engine; `await pool.run(fn, *args)`."""

    def __init__(self, workers: int, wait: float) -> None:
        self.workers = max(1, workers)
        self.wait = wait
        self.max_pending = self.workers * (1 + QUEUE_PER_WORKER)
        self.pending = 0  # running and waiting; changed on the event loop only
        self._executor: ThreadPoolExecutor | None = None

    @property
    def executor(self) -> ThreadPoolExecutor:
        if self._executor is None:  # made on first use: an app made for a test starts no thread
            self._executor = ThreadPoolExecutor(self.workers, thread_name_prefix="mgadvisor-engine")
        return self._executor

    async def run(self, fn: Callable[..., T], *args: Any) -> T:
        """`fn(*args)` in a worker thread; its exceptions come through unchanged.

        Raises:
            ServerBusy: the queue is full, or no worker took the job within `wait` seconds.
        """
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
