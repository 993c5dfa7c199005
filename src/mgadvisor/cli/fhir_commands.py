"""`mgadvisor fhir`: FHIR R4B in and out (issue 14).

`fhir intake` reads a Bundle (or a resource list, or a CDS Hooks prefetch map) into the intake
that `mgadvisor advise` reads; `fhir advise` gives the advice for it as a FHIR Bundle that
refers to the patient and the resources it rests on. What could not be used is listed on
standard error, one line each; it never stops the command.
"""

# No `from __future__ import annotations`, as in the other command modules (see cli/app.py).
import json
from pathlib import Path
from typing import Annotated, Any

import typer

from mgadvisor.cli.advice_commands import AsOf, _as_of, _read, run_advice, terminal_safe
from mgadvisor.cli.app import T, app, lang_of
from mgadvisor.cli.commands import _echo_json, _kb
from mgadvisor.errors import UserInputError, printable, quote
from mgadvisor.i18n import N_, Translator

fhir_app = typer.Typer(
    help=T("FHIR R4B: read a Bundle into an intake, give the advice as a Bundle."),
    no_args_is_help=True,
)
app.add_typer(fhir_app, name="fhir")

BundleFile = Annotated[
    str,
    typer.Argument(
        metavar="BUNDLE.json|-",
        help=T("A FHIR Bundle, a list of resources or a CDS Hooks prefetch map (JSON)."),
    ),
]


def _fhir_json(path: str) -> Any:
    """The FHIR JSON in `path`, or one user error naming what was expected."""
    text = _read(path)
    try:
        return json.loads(text)
    except (json.JSONDecodeError, RecursionError):
        raise UserInputError(
            N_(
                "{path}: expected FHIR JSON (a Bundle, a list of resources or a CDS Hooks "
                "prefetch map), got {given}"
            ),
            path=path,
            given=quote(text.strip()[:40]) if text.strip() else N_("nothing"),
        ) from None


def _read_fhir(ctx: typer.Context, path: str, as_of: str | None) -> Any:
    """The intake read from the file, with the report of what was not used on stderr."""
    from mgadvisor.interop.fhir_in import intake_from_fhir
    from mgadvisor.interop.fhir_report import NOTES, unmapped_line

    data = _fhir_json(path)
    result = intake_from_fhir(data, as_of=_as_of(as_of), kb=_kb())
    t = Translator(lang_of(ctx))
    for item in result.unmapped:
        label = N_("Note: {item}") if item.reason in NOTES else N_("Not used: {item}")
        typer.echo(printable(t(label, item=unmapped_line(item, t))), err=True)
    return result


@fhir_app.command("intake")
def intake_cmd(
    ctx: typer.Context,
    file: BundleFile,
    as_of: Annotated[
        str | None,
        typer.Option("--as-of", help=T("Date the age is counted on (YYYY-MM-DD), default today.")),
    ] = None,
    output: Annotated[
        Path | None,
        typer.Option("--output", "-o", help=T("Write the intake to this file (JSON).")),
    ] = None,
) -> None:
    """FHIR data → the intake JSON that `mgadvisor advise` reads (unused parts on stderr)."""
    result = _read_fhir(ctx, file, as_of)
    if output is not None:
        text = json.dumps(result.intake, ensure_ascii=False, indent=2)
        output.write_text(text + "\n", encoding="utf-8")
        return
    _echo_json(terminal_safe(result.intake))


@fhir_app.command("advise")
def advise_cmd(ctx: typer.Context, file: BundleFile, as_of: AsOf = None) -> None:
    """FHIR data → the advice as a FHIR Bundle that refers to the patient and its sources."""
    from mgadvisor.intake import parse_intake
    from mgadvisor.interop.fhir_out import advice_bundle

    result = _read_fhir(ctx, file, as_of)
    kb = _kb()
    intake = parse_intake(result.intake, kb)
    advice = run_advice(ctx, kb, intake, as_of)
    bundle = advice_bundle(
        advice.document, intake, patient_ref=result.patient_ref, sources=result.sources, kb=kb
    )
    _echo_json(bundle)
