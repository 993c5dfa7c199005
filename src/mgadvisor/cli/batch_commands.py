"""`mgadvisor batch`: advice for many intakes, one JSON line in, one JSON line out.

The input is streamed in chunks of lines; with ``--jobs N`` the chunks go to N worker
processes, at most 2×N chunks in flight, and the results are written back in input order. Memory
therefore stays flat whatever the size of the file: only the chunks in flight are held, never
the whole input or all results. Every line goes through :func:`mgadvisor.pipeline.advice_document`,
the one use case of every adapter; a line that fails becomes an error record on its own line.
"""

# No `from __future__ import annotations`, as in the other command modules: typer reads the
# command's signature at every start (see cli/app.py).
import contextlib
import sys
from collections import Counter, deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date
from typing import TYPE_CHECKING, Annotated, Any, BinaryIO

import typer

from mgadvisor.cli.advice_commands import AsOf, _as_of, reading
from mgadvisor.cli.app import T, app, lang_of
from mgadvisor.cli.commands import _kb
from mgadvisor.i18n import LANGS, N_, Translator

if TYPE_CHECKING:
    from concurrent.futures import Future

    from mgadvisor.kb.base import KnowledgeBase

CHUNK_LINES = 200  # lines per unit of work: large enough to hide the cost of a process hop
CHUNK_BYTES = 4 * 1024 * 1024  # ... and never more input than this in one chunk
MAX_LINE_BYTES = 1024 * 1024  # a longer line is an error record, read past without keeping it
MAX_PROBLEMS = 20  # problems listed in one error record; the rest are counted
MAX_MESSAGE = 500  # characters of one message in an error record
SHOWN_ERROR_LINES = 10  # line numbers of errors named in the summary


@dataclass(frozen=True)
class Settings:
    """What every line of a run shares (sent to each worker with each chunk)."""

    as_of: date
    lang: str | None  # the explicit choice (--lang); None: each intake's preference, else default
    default_lang: str  # the language when neither --lang nor the intake chooses
    messages_lang: str  # error records and the summary


@dataclass
class Chunk:
    """Consecutive input lines: (line number, bytes, or None for a line that is too long)."""

    items: list[tuple[int, bytes | None]]
    nbytes: int  # input bytes read for these lines, blank lines included (for the progress bar)


@dataclass
class ChunkResult:
    """The output lines of a chunk, in order, and what the summary needs to know about them."""

    lines: list[bytes] = field(default_factory=list)
    error_lines: list[int] = field(default_factory=list)
    levels: dict[str, int] = field(default_factory=dict)
    referrals: int = 0


@dataclass
class Totals:
    """The run so far: counts only, so it stays small whatever the number of lines."""

    intakes: int = 0
    errors: int = 0
    first_errors: list[int] = field(default_factory=list)
    levels: Counter[str] = field(default_factory=Counter)
    referrals: int = 0

    def add(self, result: ChunkResult) -> None:
        self.intakes += len(result.lines)
        self.errors += len(result.error_lines)
        room = SHOWN_ERROR_LINES - len(self.first_errors)
        self.first_errors.extend(result.error_lines[: max(room, 0)])
        self.levels.update(result.levels)
        self.referrals += result.referrals


class LineTooLongError(Exception):
    """A line longer than MAX_LINE_BYTES (it was not kept in memory)."""


# -- reading ---------------------------------------------------------------------------------


def read_lines(handle: BinaryIO) -> Iterator[tuple[int, bytes | None, int]]:
    """(line number, line or None when too long, bytes read) for every line, blank ones too."""
    number = 0
    while raw := handle.readline(MAX_LINE_BYTES + 1):
        number += 1
        used = len(raw)
        if len(raw) > MAX_LINE_BYTES and not raw.endswith(b"\n"):
            while (rest := handle.readline(MAX_LINE_BYTES)) and not rest.endswith(b"\n"):
                used += len(rest)
            yield number, None, used + len(rest)
            continue
        if number == 1 and raw.startswith(b"\xef\xbb\xbf"):  # a byte-order mark
            raw = raw[3:]
        yield number, raw, used


def read_chunks(handle: BinaryIO, lines: int = CHUNK_LINES) -> Iterator[Chunk]:
    """The non-blank lines in chunks of at most `lines` lines and about CHUNK_BYTES bytes."""
    items: list[tuple[int, bytes | None]] = []
    nbytes = 0
    for number, raw, used in read_lines(handle):
        nbytes += used
        if raw is not None and not raw.strip():
            continue
        items.append((number, raw))
        if len(items) >= lines or nbytes >= CHUNK_BYTES:
            yield Chunk(items, nbytes)
            items, nbytes = [], 0
    if items or nbytes:
        yield Chunk(items, nbytes)


# -- one line, one chunk (run in the worker processes) ---------------------------------------


def warm_up() -> None:
    """Load the knowledge base once per process, then keep the collector off its objects."""
    import gc

    from mgadvisor.kb import load_knowledge

    load_knowledge()
    gc.collect()
    gc.freeze()  # as the web server does: full collections no longer walk the knowledge base


def start_worker() -> None:
    """A worker leaves Ctrl+C to the main process (which stops the pool), then warms up."""
    import os
    import signal

    signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        warm_up()
    except Exception:  # a broken knowledge base: the main process loads it again to report it
        os._exit(1)  # quietly: no traceback from the worker; the pool reports it as broken


def advise_chunk(items: list[tuple[int, bytes | None]], settings: Settings) -> ChunkResult:
    """Advice documents or error records for a chunk of lines, as compact JSON, in order."""
    from mgadvisor.kb import load_knowledge

    kb = load_knowledge()  # cached per process
    t = Translator(settings.messages_lang)
    result = ChunkResult()
    for number, raw in items:
        line, document = advise_line(number, raw, kb, settings, t)
        result.lines.append(line)
        if document is None:
            result.error_lines.append(number)
            continue
        risk = document.get("risk")
        level = risk.get("level") if isinstance(risk, dict) else None
        result.levels[str(level)] = result.levels.get(str(level), 0) + 1
        referral = document.get("referral")
        result.referrals += bool(isinstance(referral, dict) and referral.get("needed"))
    return result


def advise_line(
    number: int, raw: bytes | None, kb: "KnowledgeBase", settings: Settings, t: Translator
) -> tuple[bytes, dict[str, Any] | None]:
    """(JSON line, document) for a good line, (JSON line of the error record, None) otherwise."""
    import orjson

    from mgadvisor.intake import parse_intake
    from mgadvisor.pipeline import advice_document

    try:
        if raw is None:
            raise LineTooLongError
        intake = parse_intake(orjson.loads(raw.decode("utf-8")), kb)
        document = advice_document(
            intake, kb, as_of=settings.as_of, lang=settings.lang, default_lang=settings.default_lang
        )
        return orjson.dumps(document), document
    except Exception as exc:  # any failure is this line's error record; the run goes on
        try:
            record = error_record(number, exc, t)
        except Exception:  # an exception that cannot even be described (a broken __str__)
            record = {"line": number, "error": {"summary": t("internal error"), "problems": []}}
        return orjson.dumps(record), None


def error_record(number: int, exc: Exception, t: Translator) -> dict[str, Any]:
    """`{"line": N, "error": {"summary": ..., "problems": [{"loc": ..., "msg": ...}]}}`.

    At most MAX_PROBLEMS problems are listed (``more_problems`` counts the rest) and every text
    is cut at MAX_MESSAGE characters, so one bad line cannot make a huge record.
    """
    summary, problems = describe(exc, t)
    error: dict[str, Any] = {
        "summary": _clip(summary),
        "problems": [
            {"loc": _clip(loc), "msg": _clip(msg)} for loc, msg in problems[:MAX_PROBLEMS]
        ],
    }
    if len(problems) > MAX_PROBLEMS:
        error["more_problems"] = len(problems) - MAX_PROBLEMS
    return {"line": number, "error": error}


def describe(exc: Exception, t: Translator) -> tuple[str, list[tuple[str, str]]]:
    """A translated summary of what went wrong with a line, and its problems (loc, msg)."""
    import orjson

    from mgadvisor.errors import IntakeError, UserInputError

    if isinstance(exc, IntakeError):
        return t("invalid intake"), [(e.path, e.line(t, count_others=False)) for e in exc.errors]
    if isinstance(exc, LineTooLongError):
        return t("line longer than {size} bytes", size=MAX_LINE_BYTES), []
    if isinstance(exc, UnicodeDecodeError):
        return t("the line is not UTF-8 text (byte {position})", position=exc.start + 1), []
    if isinstance(exc, orjson.JSONDecodeError):
        problem = IntakeError("intake", N_("valid JSON"), N_("a syntax error"))
        return t("the line is not valid JSON (column {column})", column=exc.colno), [
            (problem.path, problem.line(t))
        ]
    if isinstance(exc, UserInputError):
        return t(exc.msgid, **exc.params), []
    return t("internal error"), [("", f"{type(exc).__name__}: {exc}")]


def _clip(text: str) -> str:
    return text if len(text) <= MAX_MESSAGE else text[: MAX_MESSAGE - 1] + "…"


# -- running ---------------------------------------------------------------------------------

Sink = Callable[[Chunk, ChunkResult], None]


def run(chunks: Iterator[Chunk], settings: Settings, jobs: int, sink: Sink) -> None:
    """Every chunk advised, and handed to `sink` in input order."""
    if jobs == 1:
        run_serial(chunks, settings, sink)
    else:
        run_parallel(chunks, settings, jobs, sink)


def run_serial(chunks: Iterator[Chunk], settings: Settings, sink: Sink) -> None:
    """Every chunk in this process, one after the other."""
    warm_up()
    for chunk in chunks:
        sink(chunk, advise_chunk(chunk.items, settings))


def run_parallel(chunks: Iterator[Chunk], settings: Settings, jobs: int, sink: Sink) -> None:
    """The chunks over `jobs` worker processes, results in input order, 2×jobs chunks in flight.

    Chunks are read only when there is room, so a file of any size takes the same memory. The
    workers are started with 'spawn' (works on every platform and in a threaded parent).
    """
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    pool = ProcessPoolExecutor(
        max_workers=jobs, mp_context=multiprocessing.get_context("spawn"), initializer=start_worker
    )
    pending: deque[tuple[Chunk, Future[ChunkResult]]] = deque()
    try:
        for chunk in chunks:
            if len(pending) >= 2 * jobs:
                done, future = pending.popleft()
                sink(done, future.result())
            # only the chunk's byte count stays here (for the progress bar); its lines go out
            pending.append(
                (Chunk([], chunk.nbytes), pool.submit(advise_chunk, chunk.items, settings))
            )
        while pending:
            done, future = pending.popleft()
            sink(done, future.result())
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


@contextlib.contextmanager
def progress(handle: BinaryIO, t: Translator) -> Iterator[Sink]:
    """A Rich progress bar on a terminal's stderr: by bytes of a file, else (a pipe) by lines."""
    if not sys.stderr.isatty():
        yield lambda chunk, result: None
        return
    from rich.console import Console
    from rich.progress import BarColumn, Progress, TaskProgressColumn, TextColumn, TimeElapsedColumn

    total = _file_size(handle)
    columns = (TextColumn("{task.description}"), BarColumn(), TaskProgressColumn())
    done = TextColumn("{task.fields[done]}")
    with Progress(*columns, done, TimeElapsedColumn(), console=Console(stderr=True)) as bar:
        task = bar.add_task(t("Advising"), total=total, done="")
        lines = 0

        def advance(chunk: Chunk, result: ChunkResult) -> None:
            nonlocal lines
            lines += len(result.lines)
            step = chunk.nbytes if total is not None else len(result.lines)
            bar.update(task, advance=step, done=t("{count} line(s)", count=lines))

        yield advance


def _file_size(handle: BinaryIO) -> int | None:
    import os
    import stat

    try:
        info = os.fstat(handle.fileno())
    except (OSError, ValueError):  # not a real file (a test's stdin)
        return None
    return info.st_size if stat.S_ISREG(info.st_mode) else None


# -- the command -----------------------------------------------------------------------------


Intakes = Annotated[
    str,
    typer.Argument(
        metavar="INTAKES.jsonl|-",
        help=T("Intakes as JSON Lines (one JSON object per line); - reads standard input."),
    ),
]
Output = Annotated[
    str,
    typer.Option(
        "--output",
        "-o",
        metavar="FILE|-",
        help=T("Where to write one advice (or error record) per line; - is standard output."),
    ),
]
Jobs = Annotated[int, typer.Option("--jobs", "-j", min=1, help=T("Worker processes (default 1)."))]
Lang = Annotated[
    str | None,
    typer.Option(
        "--lang", help=T("Language of every advice: nl or en (default: each intake's preference).")
    ),
]


@app.command("batch")
def batch_cmd(
    ctx: typer.Context,
    file: Intakes,
    output: Output,
    jobs: Jobs = 1,
    lang: Lang = None,
    as_of: AsOf = None,
) -> None:
    """Advice for many intakes: JSON Lines in, one advice document per line out, in order.

    A line that is not a valid intake gets an error record {"line": N, "error": ...} instead,
    and the run goes on; a summary goes to stderr. Exit code 0 when every line gave an advice,
    1 when some lines are error records, 2 on a usage error (such as an unreadable file).
    """
    from concurrent.futures.process import BrokenProcessPool

    settings = _settings(ctx, lang, as_of)
    t = Translator(settings.messages_lang)
    totals = Totals()
    with contextlib.ExitStack() as stack:
        source = _open_input(file, stack)
        sink = _open_output(output, file, stack)
        advance = stack.enter_context(progress(source, t))

        def write(chunk: Chunk, result: ChunkResult) -> None:
            sink.writelines(line + b"\n" for line in result.lines)
            totals.add(result)
            advance(chunk, result)

        try:
            run(read_chunks(source), settings, jobs, write)
        except BrokenProcessPool:  # a worker failed to start or was killed: say why, stop
            _kb()  # a broken knowledge base (workers load it at start) raises with its problems
            message = t(
                "a worker process stopped; the output ends after {count} line(s)",
                count=totals.intakes,
            )
            typer.echo(t("Error: {message}", message=message), err=True)
            raise typer.Exit(1) from None
        finally:
            sink.flush()
    _summary(totals, t)
    if totals.errors:
        raise typer.Exit(1)


def _settings(ctx: typer.Context, lang: str | None, as_of: str | None) -> Settings:
    from mgadvisor.errors import UserInputError

    if lang is not None and lang not in LANGS:
        raise UserInputError(
            N_("--lang must be one of {choices}, got '{given}'"), choices="nl, en", given=lang
        )
    explicit = lang or ctx.find_root().params.get("lang")
    default = lang_of(ctx)  # the global --lang if given, else the environment's language
    return Settings(_as_of(as_of), explicit, default, explicit or default)


def _open_input(path: str, stack: contextlib.ExitStack) -> BinaryIO:
    if path == "-":
        return sys.stdin.buffer
    with reading(path):
        return stack.enter_context(open(path, "rb"))  # closed by the stack


def _open_output(path: str, source: str, stack: contextlib.ExitStack) -> BinaryIO:
    import os

    from mgadvisor.errors import UserInputError

    if path == "-":
        return sys.stdout.buffer
    if source != "-" and os.path.exists(path) and os.path.samefile(source, path):
        raise UserInputError(N_("the output {path} is the input file; choose another"), path=path)
    return stack.enter_context(open(path, "wb"))  # closed by the stack


def _summary(totals: Totals, t: Translator) -> None:
    advices = totals.intakes - totals.errors
    lines = [
        t(
            "{total} intake(s): {advices} advice(s) written, {errors} error(s).",
            total=totals.intakes,
            advices=advices,
            errors=totals.errors,
        )
    ]
    if totals.errors:
        shown = ", ".join(str(n) for n in totals.first_errors)
        more = totals.errors - len(totals.first_errors)
        lines.append(
            t("Errors on line(s): {lines}", lines=shown)
            + (" " + t("(and {count} more)", count=more) if more else "")
        )
    if advices:
        lines.append(
            t(
                "Risk low {low}, moderate {moderate}, high {high}; referral needed: {referrals}.",
                low=totals.levels["low"],
                moderate=totals.levels["moderate"],
                high=totals.levels["high"],
                referrals=totals.referrals,
            )
        )
    for line in lines:
        typer.echo(line, err=True)
