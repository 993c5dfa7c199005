"""`mgadvisor cds feedback`: how EHR users answered the CDS Hooks cards (issue 14).

Reads the records database (`cds_feedback`, see docs/integration.md "CDS Hooks"): per service
and card type, how often a card was accepted or overridden, and with which reasons. Counts
only: no patient, no card text.
"""

# No `from __future__ import annotations`, as in the other command modules (see cli/app.py).
from typing import Any

import typer

from mgadvisor.cli.app import T, app, lang_of
from mgadvisor.i18n import N_, Translator

cds_app = typer.Typer(help=T("CDS Hooks: the EHRs' feedback on the cards."), no_args_is_help=True)
app.add_typer(cds_app, name="cds")


@cds_app.command("feedback")
def cds_feedback(
    ctx: typer.Context,
    service: str = typer.Option(
        None, "--service", help=T("Only this service (mg-depletion or mg-interactions).")
    ),
    fmt: str = typer.Option("text", "--format", help=T("text or json")),
) -> None:
    """Feedback on the CDS Hooks cards: accepted and overridden per card type, with reasons."""
    import json

    from mgadvisor.cli.db_commands import _run
    from mgadvisor.errors import UserInputError
    from mgadvisor.interop.cds_feedback import counts

    if fmt not in ("text", "json"):
        raise UserInputError(N_("--format: expected text or json, got '{given}'"), given=fmt[:40])
    t = Translator(lang_of(ctx))
    _, rows = _run(lambda engine: counts(engine, service))
    if fmt == "json":
        typer.echo(json.dumps(rows, indent=2))
        return
    if not rows:
        typer.echo(t("No feedback yet."))
        return
    typer.echo(
        "\t".join([t("service"), t("card type"), t("accepted"), t("overridden"), t("reasons")])
    )
    for row in rows:
        typer.echo("\t".join([row["service"], row["card_type"], *_numbers(row)]))


def _numbers(row: dict[str, Any]) -> list[str]:
    reasons = ", ".join(f"{code} {n}" for code, n in row["override_reasons"].items())
    return [str(row["accepted"]), str(row["overridden"]), reasons or "-"]
