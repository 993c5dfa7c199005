"""Client PDFs, rendered in a small pool of worker processes that is replaced as it ages.

WeasyPrint keeps memory after every document it renders (about 290 KB per handout here; bare
WeasyPrint does the same), so a server that renders in its own process grows without bound
(issue 11, item 5). Here the server process never imports WeasyPrint:

    handout_pdf (pages.py) ──await──▶ PdfPool.render(html, base_url) ──▶ bytes
                                        │ more than workers + queue renders at once: PdfBusy
                                        │ slower than the timeout, or a worker died: PdfFailed
                                        ▼
                      ProcessPoolExecutor of `workers` processes, forked from a forkserver that
                      has WeasyPrint imported (so a new worker starts in milliseconds); after
                      workers × renders_per_worker renders it is retired (its last renders
                      finish, then its processes exit, and their memory with them) and the next
                      render starts a fresh one.

Recycling is done per pool rather than with `max_tasks_per_child`: on Python 3.11 a
ProcessPoolExecutor with `max_tasks_per_child` hangs when renders wait in its queue while a
worker retires (seen here with 40 queued tasks), and a hang is what this module must not add.

Settings, from the environment (read when the app is created; a bad value stops the start with
a message that names it):

    MGADVISOR_PDF_WORKERS             processes that render at the same time (default 1)
    MGADVISOR_PDF_RENDERS_PER_WORKER  renders before the pool is replaced (default 25 per worker)
    MGADVISOR_PDF_QUEUE               renders that may wait for a free worker (default 4)
    MGADVISOR_PDF_TIMEOUT             seconds one render may take (default 30)
"""

from __future__ import annotations

import asyncio
import multiprocessing
import multiprocessing.context
import os
import threading
import time
from collections.abc import Mapping
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = [
    "PdfBusy",
    "PdfFailed",
    "PdfPool",
    "PdfSettings",
    "PdfUnavailable",
    "pdf_busy_message",
    "pool_for",
    "settings_from_env",
    "shared_pool",
]


class PdfUnavailable(Exception):  # noqa: N818 - a state of the server, answered with 503
    """No PDF now; try again in a few seconds."""


class PdfBusy(PdfUnavailable):
    """Every worker is rendering and the queue is full: answer 503, try again shortly."""


class PdfFailed(PdfUnavailable):
    """A render took longer than the timeout, or its worker died; the pool was restarted."""


@dataclass(frozen=True, slots=True)
class PdfSettings:
    workers: int = 1
    renders_per_worker: int = 25
    queue: int = 4
    timeout: float = 30.0


# name → (field, lowest, highest): a value outside these bounds is a configuration mistake.
_ENV: dict[str, tuple[str, float, float]] = {
    "MGADVISOR_PDF_WORKERS": ("workers", 1, 16),
    "MGADVISOR_PDF_RENDERS_PER_WORKER": ("renders_per_worker", 1, 10_000),
    "MGADVISOR_PDF_QUEUE": ("queue", 0, 1_000),
    "MGADVISOR_PDF_TIMEOUT": ("timeout", 1, 600),
}


def settings_from_env(environ: Mapping[str, str] | None = None) -> PdfSettings:
    """The pool's settings from MGADVISOR_PDF_* variables, defaults for those not set.

    Raises:
        ValueError: a variable that is not a number within its bounds (the message names the
            variable, what it expects and what it was given).
    """
    env = os.environ if environ is None else environ
    values: dict[str, float] = {}
    for name, (field, low, high) in _ENV.items():
        given = env.get(name)
        if given is None or not given.strip():
            continue
        whole = field != "timeout"
        try:
            value = int(given) if whole else float(given)
        except ValueError:
            value = None
        if value is None or not low <= value <= high:
            kind = "a whole number" if whole else "a number of seconds"
            raise ValueError(
                f"{name}: expected {kind} from {low:g} to {high:g}, given {given[:40]!r}"
            )
        values[field] = value
    return PdfSettings(**values)  # type: ignore[arg-type]


def _render(html: str, base_url: str) -> tuple[int, bytes]:
    """In a worker process: the PDF of `html`, and the worker's process id."""
    from weasyprint import HTML

    return os.getpid(), HTML(string=html, base_url=base_url).write_pdf()


def _watch(server: int) -> None:
    """In a worker, at its start: exit as soon as the server process is gone.

    A worker waits on its pool's queue, whose pipe it holds both ends of, so it would outlive a
    server that ended without shutting the pool down: killed, crashed, or stopped by uvicorn,
    which on SIGTERM ends the process by re-raising the signal (no exit handlers run). With the
    workers gone, the forkserver exits too (they hold its last open pipe).
    """

    def watch() -> None:
        while _alive(server):
            time.sleep(1)
        os._exit(0)

    threading.Thread(target=watch, name="mgadvisor-pdf-watch", daemon=True).start()


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:  # dead but not yet reaped by its parent (a zombie) counts as gone
        state = Path(f"/proc/{pid}/stat").read_text(encoding="ascii").rsplit(")", 1)[1].split()
    except FileNotFoundError:
        return not Path("/proc/self").exists()  # no /proc: os.kill() decided
    except OSError:
        return True
    return state[0] != "Z"


def _context() -> multiprocessing.context.BaseContext:
    """Forkserver: a clean, single-threaded parent to fork workers from (never the server's own
    threads and sockets), with WeasyPrint imported once there."""
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(["mgadvisor.web.pdf_pool", "weasyprint"])
    return context


class PdfPool:
    """A bounded, self-renewing pool of PDF renderers; see the module docstring.

    Example:
        pool = PdfPool(PdfSettings(workers=1, renders_per_worker=25))
        pdf = await pool.render("<h1>Advice</h1>", "file:///static/")
    """

    def __init__(self, settings: PdfSettings | None = None) -> None:
        self.settings = settings or PdfSettings()
        self._lock = threading.Lock()
        self._executor: ProcessPoolExecutor | None = None
        self._submitted = 0  # renders given to the current executor
        self._in_flight = 0
        self.renders = 0  # finished renders, over the pool's life
        self.pools_started = 0
        self.last_worker: int | None = None  # process id of the worker of the last render

    @property
    def in_flight(self) -> int:
        return self._in_flight

    async def render(self, html: str, base_url: str) -> bytes:
        """The PDF of `html` (stylesheets and images resolved against `base_url`).

        Raises:
            PdfBusy: workers + queue renders are already under way (nothing was started).
            PdfFailed: the render took longer than the timeout or its worker died.
        """
        limit = self.settings.workers + self.settings.queue
        with self._lock:
            if self._in_flight >= limit:
                raise PdfBusy(f"{self._in_flight} PDFs are being made (at most {limit})")
            self._in_flight += 1
        try:
            executor, future = self._submit(html, base_url)
            try:
                pid, pdf = await asyncio.wait_for(
                    asyncio.wrap_future(future), self.settings.timeout
                )
            except TimeoutError:
                self._kill(executor)
                raise PdfFailed(f"no PDF within {self.settings.timeout:g} s") from None
            except BrokenProcessPool as exc:
                self._kill(executor)
                raise PdfFailed("a PDF worker stopped") from exc
            self.renders += 1
            self.last_worker = pid
            return pdf
        finally:
            with self._lock:
                self._in_flight -= 1

    def _submit(
        self, html: str, base_url: str
    ) -> tuple[ProcessPoolExecutor, Future[tuple[int, bytes]]]:
        """Hand one render to the current executor; start one if there is none, and retire it
        once it has had its share of renders (the ones it holds still finish)."""
        with self._lock:
            if self._executor is None:
                self._executor = ProcessPoolExecutor(
                    self.settings.workers,
                    mp_context=_context(),
                    initializer=_watch,
                    initargs=(os.getpid(),),
                )
                self._submitted = 0
                self.pools_started += 1
            executor = self._executor
            future = executor.submit(_render, html, base_url)
            self._submitted += 1
            if self._submitted >= self.settings.workers * self.settings.renders_per_worker:
                self._executor = None
                executor.shutdown(wait=False)
        return executor, future

    def _kill(self, executor: ProcessPoolExecutor) -> None:
        """Stop a pool whose worker hangs or died: its other renders fail (PdfFailed), the next
        render starts a new pool."""
        with self._lock:
            if self._executor is executor:
                self._executor = None
        for process in list(getattr(executor, "_processes", {}).values()):
            process.kill()
        executor.shutdown(wait=False, cancel_futures=True)

    def close(self) -> None:
        """Stop the workers (renders under way are cancelled)."""
        with self._lock:
            executor, self._executor = self._executor, None
        if executor is not None:
            executor.shutdown(wait=True, cancel_futures=True)


_shared: PdfPool | None = None


def shared_pool() -> PdfPool:
    """The process's one pool, with the settings from the environment (no process starts
    before the first PDF)."""
    global _shared  # noqa: PLW0603 - one pool per server process, created on first use
    if _shared is None:
        _shared = PdfPool(settings_from_env())
    return _shared


def pool_for(state: Any) -> PdfPool:
    """The app's pool (`app.state.pdf_pool`: a test's, or a deployment's own), else the
    process's shared one."""
    pool = getattr(state, "pdf_pool", None)
    return pool if isinstance(pool, PdfPool) else shared_pool()


def pdf_busy_message(exc: PdfUnavailable) -> str:
    """The msgid that tells the user why there is no PDF now (a 503 page)."""
    from mgadvisor.i18n import N_

    if isinstance(exc, PdfBusy):
        return N_("Too many PDFs are being made at once: try again in a few seconds.")
    return N_("The PDF could not be made in time: try again in a few seconds.")
