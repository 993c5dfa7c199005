"""`mgadvisor audit`: check the NEN 7513 audit log's hash chain, export it as FHIR AuditEvent
NDJSON, and write a checkpoint (docs/records.md, "Audit log").

Exit codes of `audit verify`: 0 intact, 1 broken (the first bad record and why), 2 a database
that cannot be used or a bad option. Reading, exporting and verifying the log are logged too.
"""

# No `from __future__ import annotations`, as in the other command modules (see cli/app.py).
import getpass
import json
import os
import socket
import uuid
from collections.abc import Callable
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Annotated, Any, TextIO

import typer

from mgadvisor.cli.app import T, app, lang_of
from mgadvisor.cli.db_commands import _run
from mgadvisor.errors import UserInputError, invalid_value
from mgadvisor.i18n import N_, Translator

audit_app = typer.Typer(
    help=T("The audit log (NEN 7513): verify its hash chain, export it, write a checkpoint."),
    no_args_is_help=True,
)
app.add_typer(audit_app, name="audit")

ANCHOR_HINT = N_(
    "Keep this line outside the database; 'mgadvisor audit verify --anchor {anchor}' checks it."
)


def _actor() -> Any:
    """The person at this terminal: no user of the app, so the system, at this access point."""
    from mgadvisor.records.audit import Actor

    try:
        who = getpass.getuser()
    except (KeyError, OSError):
        who = "?"
    return Actor(None, None, f"cli:{who}@{socket.gethostname()}"[:100], protocol="system")


def _in_transaction(work: Callable[[Any], Any], read_only: bool = False) -> Callable[[Any], Any]:
    """`work(session)` in one transaction; `read_only`: on SQLite a DEFERRED one, so a long
    verification or export does not hold the write lock the app's writers wait for."""

    def run(engine: Any) -> Any:
        from mgadvisor.records.database import READ_ONLY, session_scope

        bound = engine.execution_options(**{READ_ONLY: True}) if read_only else engine
        with session_scope(bound) as session:
            return work(session)

    return run


def _records_error(action: Callable[[], Any]) -> Any:
    """Run `action`; an InvalidRecord (e.g. a bad MGADVISOR_AUDIT_KEY) becomes one line."""
    from mgadvisor.records.errors import InvalidRecord

    try:
        return action()
    except InvalidRecord as exc:
        raise invalid_value(exc.field, exc.expected, exc.given) from None


def _anchor(text: str) -> tuple[int, str]:
    seq, _, value = text.partition(":")
    if not seq.isdigit() or len(value) != 64 or set(value) - set("0123456789abcdef"):
        raise UserInputError(
            "{option}: expected {expected}, got '{given}'",
            option="--anchor",
            expected="SEQ:HASH",
            given=text,
        )
    return int(seq), value


@audit_app.command("verify", help=T("Check the audit log's hash chain (exit 1 when broken)."))
def audit_verify(
    ctx: typer.Context,
    anchor: Annotated[
        list[str] | None,
        typer.Option(
            "--anchor", help=T("A checkpoint kept elsewhere, as SEQ:HASH (may be repeated).")
        ),
    ] = None,
) -> None:
    from mgadvisor.records.audit import record, verify

    t = Translator(lang_of(ctx))
    anchors = dict(_anchor(text) for text in anchor or [])
    _, result = _records_error(
        lambda: _run(_in_transaction(lambda session: verify(session, anchors), read_only=True))
    )
    details = {"ok": result.ok, "count": result.count, "first_bad_seq": result.first_bad_seq}
    _run(
        _in_transaction(
            lambda s: record(
                s,
                _actor(),
                "audit.verify",
                "E",
                nature="log",
                object_type="audit_log",
                details=details,
            )
        )
    )
    if result.ok:
        typer.echo(
            t(
                "audit log intact: {count} records (last {seq}: {hash})",
                count=result.count,
                seq=result.last_seq,
                hash=result.last_hash,
            )
        )
        return
    from mgadvisor.records.audit_view import broken_reason

    reason = broken_reason(t, result.reason, result.first_bad_seq)
    typer.echo(
        t(
            "audit log broken: {reason}; {count} records before it are intact",
            reason=reason,
            count=result.count,
        ),
        err=True,
    )
    raise typer.Exit(1)


def _day(option: str, text: str | None) -> datetime | None:
    if text is None:
        return None
    try:
        return datetime.combine(date.fromisoformat(text), time(0), tzinfo=UTC)
    except ValueError:
        raise UserInputError(
            "{option}: expected {expected}, got '{given}'",
            option=option,
            expected="YYYY-MM-DD",
            given=text,
        ) from None


def _client(text: str | None) -> uuid.UUID | None:
    if text is None:
        return None
    try:
        return uuid.UUID(text)
    except ValueError:
        raise UserInputError(
            "{option}: expected {expected}, got '{given}'",
            option="--client",
            expected="UUID",
            given=text,
        ) from None


def _write_ndjson(out: TextIO, filters: dict[str, Any]) -> Callable[[Any], int]:
    def work(session: Any) -> int:
        from mgadvisor.records.audit import query, to_fhir_audit_event

        count = 0
        for event in query(session, **filters):
            out.write(json.dumps(to_fhir_audit_event(event), ensure_ascii=False) + "\n")
            count += 1
        return count

    return work


@audit_app.command("export", help=T("Export the audit log as FHIR AuditEvent NDJSON."))
def audit_export(
    ctx: typer.Context,
    output: Annotated[Path, typer.Option("--output", "-o", help=T("The NDJSON file to write."))],
    since: Annotated[
        str | None, typer.Option("--since", help=T("First day (YYYY-MM-DD, UTC)."))
    ] = None,
    until: Annotated[
        str | None, typer.Option("--until", help=T("Last day (YYYY-MM-DD, UTC), included."))
    ] = None,
    client: Annotated[
        str | None, typer.Option("--client", help=T("Only the records about this client id."))
    ] = None,
) -> None:
    from mgadvisor.records.audit import log_access

    t = Translator(lang_of(ctx))
    last = _day("--until", until)
    filters: dict[str, Any] = {
        "since": _day("--since", since),
        "until": None if last is None else last + timedelta(days=1),
        "client_id": _client(client),
    }
    fd = os.open(output, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)  # ids of health data
    with open(fd, "w", encoding="utf-8", newline="\n") as out:
        # Logged first, in its own short transaction: the export's stream then blocks no writer.
        _records_error(
            lambda: _run(
                _in_transaction(lambda s: log_access(s, _actor(), "audit.export", **filters))
            )
        )
        _, count = _run(_in_transaction(_write_ndjson(out, filters), read_only=True))
    typer.echo(t("{count} audit records written to {path}", count=count, path=str(output)))


@audit_app.command("checkpoint", help=T("Record the audit log's current end (seq and hash)."))
def audit_checkpoint(ctx: typer.Context) -> None:
    from mgadvisor.records.audit import checkpoint

    t = Translator(lang_of(ctx))

    def work(session: Any) -> tuple[int, str] | None:
        mark = checkpoint(session)
        return None if mark is None else (mark.seq, mark.hash)

    _, found = _records_error(lambda: _run(_in_transaction(work)))
    if found is None:
        typer.echo(t("the audit log is empty: no checkpoint written"))
        return
    anchor = "{}:{}".format(*found)
    typer.echo(t("checkpoint at record {seq}: {anchor}", seq=found[0], anchor=anchor))
    typer.echo(t(ANCHOR_HINT, anchor=anchor), err=True)
