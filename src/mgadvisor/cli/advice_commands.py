"""Commands around the advice: advise, interactions, egfr, convert."""

# No `from __future__ import annotations`: typer would compile and evaluate every parameter
# annotation again at each start (see cli/app.py).
import contextlib
import sys
from collections.abc import Iterator
from datetime import date
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer

from mgadvisor.cli.app import T, app, lang_of
from mgadvisor.cli.commands import Format, _echo_json, _kb
from mgadvisor.i18n import N_, Translator

MAX_LAB_VALUE = 100_000.0  # the intake's bound on a lab value, in any unit


class ReportFormat(StrEnum):
    TEXT = "text"
    JSON = "json"
    MARKDOWN = "markdown"


class AdviseFormat(StrEnum):
    TEXT = "text"
    JSON = "json"
    MARKDOWN = "markdown"
    FHIR = "fhir"  # a FHIR R4B Bundle (issue 14)


@contextlib.contextmanager
def reading(path: str) -> Iterator[None]:
    """The ways a file cannot be read, as one user error naming the file (CLI exit 2)."""
    from mgadvisor.errors import UserInputError

    try:
        yield
    except FileNotFoundError:
        raise UserInputError(N_("file not found: {path}"), path=path) from None
    except (IsADirectoryError, UnicodeDecodeError, PermissionError) as exc:
        raise UserInputError(
            N_("cannot read {path}: {reason}"), path=path, reason=type(exc).__name__
        ) from None


def _read(path: str) -> str:
    if path == "-":
        return sys.stdin.read()
    with reading(path):
        return Path(path).read_text(encoding="utf-8")


def terminal_safe(data: Any) -> Any:
    """Intake data with the control characters of every text written out (``\\x1b``), so no
    name from a file (a medicine, a product, a food) can recolour, clear or retitle the
    terminal the report is printed on."""
    from mgadvisor.errors import printable

    if isinstance(data, str):
        return printable(data)
    if isinstance(data, dict):
        return {terminal_safe(k): terminal_safe(v) for k, v in data.items()}
    if isinstance(data, list):
        return [terminal_safe(v) for v in data]
    return data


def read_intake(path: str) -> Any:
    """The intake in `path` (``-``: standard input) as plain data, safe for a terminal."""
    from mgadvisor.intake import read_intake_data

    return terminal_safe(read_intake_data(_read(path), path))


def _as_of(value: str | None) -> date:
    from mgadvisor.errors import UserInputError

    if value is None:
        return date.today()  # the adapter reads the clock; the engine never does
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise UserInputError(
            N_("--as-of: expected a date as YYYY-MM-DD, got {given}"), given=value
        ) from None


# The date an advice is given for (`advise` and `diet`): the engine never reads the clock itself.
AsOf = Annotated[
    str | None,
    typer.Option("--as-of", help=T("Date of the advice (YYYY-MM-DD), default today.")),
]


def run_advice(ctx: typer.Context, kb: Any, intake: Any, as_of: str | None) -> Any:
    """The advice and its document (`pipeline.AdviceRun`): --lang, else the intake's language,
    else LANG; the user's imported food tables count too."""
    from mgadvisor.pipeline import advise_and_render

    explicit = ctx.find_root().params.get("lang")
    return advise_and_render(
        intake, kb, as_of=_as_of(as_of), lang=explicit, default_lang=lang_of(ctx)
    )


@app.command("advise")
def advise_cmd(
    ctx: typer.Context,
    file: Annotated[
        str,
        typer.Argument(metavar="FILE|-", help=T("Intake as YAML or JSON; - reads standard input.")),
    ],
    fmt: Annotated[
        AdviseFormat, typer.Option("--format", "-f", help=T("Output format."))
    ] = AdviseFormat.TEXT,
    explain: Annotated[
        bool,
        typer.Option(
            "--explain", help=T("Show which rule fired, on which facts, from which source.")
        ),
    ] = False,
    as_of: AsOf = None,
) -> None:
    """Advice for one client's intake: compound, dose, schedule, interactions, referral."""
    from mgadvisor.intake import parse_intake
    from mgadvisor.render.report import sections, to_console, to_markdown

    kb = _kb()
    intake = parse_intake(read_intake(file), kb)
    result = run_advice(ctx, kb, intake, as_of)
    if fmt is AdviseFormat.JSON:
        _echo_json(result.document)
        return
    if fmt is AdviseFormat.FHIR:
        from mgadvisor.interop.fhir_out import advice_bundle

        _echo_json(advice_bundle(result.document, intake, patient_ref=None, kb=kb))
        return
    parts = sections(result.document, Translator(result.lang), explain=explain)
    if fmt is AdviseFormat.MARKDOWN:
        typer.echo(to_markdown(parts))
        return
    from mgadvisor.render.console import console

    console().print(to_console(parts))


@app.command("interactions")
def interactions_cmd(
    ctx: typer.Context,
    names: Annotated[
        list[str],
        typer.Argument(help=T("Medicine names (Dutch or English, generic or brand) or ATC codes.")),
    ],
    fmt: Annotated[Format, typer.Option("--format", "-f", help=T("Output format."))] = Format.TEXT,
) -> None:
    """Interactions of medicines with magnesium, with the gap each needs."""
    from mgadvisor.errors import printable
    from mgadvisor.render.medicines import medicine_rows

    lang = lang_of(ctx)
    t = Translator(lang)
    kb = _kb()
    rows = medicine_rows(kb, [printable(name) for name in names], lang)
    if fmt is Format.JSON:
        _echo_json(rows)
        return
    for row in rows:
        if not row["resolved"]:
            hint = (
                " " + t("Did you mean {suggestion}?", suggestion=", ".join(row["suggestions"]))
                if row["suggestions"]
                else ""
            )
            typer.echo(f"{row['input']}: " + t("not recognised") + hint)
            continue
        head = f"{row['input']} → {row['name']} ({row['atc']})"
        if row["interaction"]:
            i = row["interaction"]
            typer.echo(f"{head}: {i['rule']} [{', '.join(i['sources'])}]")
            typer.echo(f"    {i['mechanism']}")
        elif row["note"]:
            typer.echo(f"{head}: {row['note']}")
        elif row["depletes_magnesium"]:
            typer.echo(f"{head}: " + t("no timing rule with magnesium"))
        else:
            typer.echo(f"{head}: " + t("no known interaction with magnesium"))
        if row["depletes_magnesium"]:
            typer.echo(
                "    "
                + t(
                    "can lower magnesium ({group})",
                    group=kb.depleting[row["depletes_magnesium"]].name.get(lang),
                )
            )


@app.command("egfr")
def egfr_cmd(
    ctx: typer.Context,
    creatinine: Annotated[float, typer.Option(help=T("Serum creatinine."), min=0.01, max=5000)],
    age: Annotated[float, typer.Option(help=T("Age in years (18 or older)."), min=0, max=120)],
    sex: Annotated[str, typer.Option(help=T("female or male."))],
    unit: Annotated[str, typer.Option(help=T("umol/L or mg/dL."))] = "umol/L",
    fmt: Annotated[Format, typer.Option("--format", "-f", help=T("Output format."))] = Format.TEXT,
) -> None:
    """eGFR by the CKD-EPI 2021 equation, with the KDIGO category."""
    from mgadvisor.assess.kidney import ckd_epi_2021, kdigo_stage
    from mgadvisor.errors import UserInputError
    from mgadvisor.units import convert

    t = Translator(lang_of(ctx))
    if sex not in ("female", "male"):
        raise UserInputError(N_("--sex: expected female or male, got {given}"), given=sex)
    adult = _kb().parameters["adult_from_age"].value
    if age < adult:
        raise UserInputError(
            N_(
                "--age: expected {adult} or older (CKD-EPI 2021 is for adults), got {given}. For "
                "a child, give creatinine and height in an intake (mgadvisor advise): it uses the "
                "bedside Schwartz equation."
            ),
            adult=f"{adult:g}",
            given=f"{age:g}",
        )
    mg_dl = convert(creatinine, unit, "mg/dL", "creatinine")
    value = ckd_epi_2021(mg_dl, age, sex)
    sources = list(_kb().facts["measurement_egfr_ckd_epi"].sources)
    data = {
        "egfr": round(value, 1),
        "unit": "mL/min/1.73m2",
        "ckd_stage": kdigo_stage(value),
        "creatinine_mg_dl": round(mg_dl, 3),
        "equation": "CKD-EPI 2021",
        "sources": sources,
    }
    if fmt is Format.JSON:
        _echo_json(data)
        return
    typer.echo(
        t(
            "eGFR {egfr} mL/min/1.73 m² (CKD-EPI 2021), KDIGO {stage}",
            egfr=t.num(value, 0),
            stage=data["ckd_stage"],
        )
        + f" [{', '.join(sources)}]"
    )


@app.command("convert", context_settings={"ignore_unknown_options": True})
def convert_cmd(
    ctx: typer.Context,
    value: Annotated[str, typer.Argument(help=T("The value."))],
    from_unit: Annotated[
        str, typer.Argument(metavar="FROM", help=T("Unit of the value, e.g. mmol/L."))
    ],
    to_unit: Annotated[str, typer.Argument(metavar="TO", help=T("Unit wanted, e.g. mg/dL."))],
    fmt: Annotated[Format, typer.Option("--format", "-f", help=T("Output format."))] = Format.TEXT,
) -> None:
    """Convert lab units: magnesium (mmol/L, mg/dL, mEq/L; mmol/24h, mg/24h), creatinine."""
    from mgadvisor.errors import UserInputError, quote
    from mgadvisor.units import convert

    t = Translator(lang_of(ctx))
    try:
        number = float(value.replace(",", "."))
    except ValueError:
        raise UserInputError(
            N_("VALUE: expected a number, got {given}"), given=quote(value)
        ) from None
    if not 0 <= number <= MAX_LAB_VALUE:  # also inf and nan
        raise UserInputError(
            N_("VALUE: expected a number from 0 to {high}, got {given}"),
            high=f"{MAX_LAB_VALUE:.0f}",
            given=quote(value),
        )
    result = convert(number, from_unit, to_unit)
    if fmt is Format.JSON:
        _echo_json({"value": number, "from": from_unit, "to": to_unit, "result": round(result, 4)})
        return
    typer.echo(f"{t.num(number, 3)} {from_unit} = {t.num(result, 3)} {to_unit}")


@app.command("serve")
def serve_cmd(
    ctx: typer.Context,
    host: Annotated[str, typer.Option(help=T("Address to listen on."))] = "127.0.0.1",
    port: Annotated[int, typer.Option(help=T("Port to listen on."), min=1, max=65535)] = 8000,
) -> None:
    """Start the web app (intake, advice, handout PDF, knowledge base, tools, HTTP API)."""
    from mgadvisor.web.server import base_url, serve

    t = Translator(lang_of(ctx))
    message = t(
        "mgadvisor runs at {url} (API documentation: {url}/docs). Stop with Ctrl+C.",
        url=base_url(host, port),
    )
    # limits and hosts from the environment (docs/web.md); said once they are found valid
    serve(host, port, ready=lambda: typer.echo(message))
