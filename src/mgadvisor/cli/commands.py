"""The commands: each parses its arguments, asks the core, and hands the result to a renderer."""

# No `from __future__ import annotations`: typer would compile and evaluate every parameter
# annotation again at each start (see cli/app.py).
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer

from mgadvisor.cli.app import T, app, kb_app, lang_of
from mgadvisor.i18n import N_, Translator


class Format(StrEnum):
    TEXT = "text"
    JSON = "json"


def _echo_json(data: Any) -> None:
    import json

    typer.echo(json.dumps(data, ensure_ascii=False, indent=2))


def _kb(path: Path | None = None) -> Any:
    from mgadvisor.kb import load_knowledge

    return load_knowledge(path)


MAX_SALT_MG = 1_000_000.0  # a kilogram of salt: more than any question about a dose

FormatOption = Annotated[Format, typer.Option("--format", "-f", help=T("Output format."))]


@kb_app.command("check")
def kb_check(
    ctx: typer.Context,
    path: Annotated[
        Path | None,
        typer.Option("--path", help=T("Folder with knowledge files (default: the bundled one).")),
    ] = None,
) -> None:
    """Validate the knowledge base; list every problem (exit 1) or print the counts."""
    from mgadvisor.errors import KnowledgeError
    from mgadvisor.render.console import console, counts_table

    t = Translator(lang_of(ctx))
    try:
        kb = _kb(path)
    except KnowledgeError as exc:
        typer.echo(
            t("The knowledge base has {count} problem(s):", count=len(exc.problems)), err=True
        )
        for problem in exc.problems:
            typer.echo(f"  - {problem}", err=True)
        raise typer.Exit(1) from None
    from mgadvisor.kb.views import info
    from mgadvisor.render.labels import ORIGIN_LABELS

    out = console()
    out.print(counts_table(kb.counts(), t))
    origins = info(kb)["references_by_origin"]
    shown = ", ".join(f"{t(ORIGIN_LABELS[k])}: {v}" for k, v in origins.items())
    out.print(t("References by origin") + f": {shown}")
    out.print(
        t(
            "Knowledge base {version} is valid (hash {hash}).",
            version=kb.version,
            hash=kb.content_hash[:12],
        )
    )


@kb_app.command("info")
def kb_info(ctx: typer.Context, fmt: FormatOption = Format.TEXT) -> None:
    """Version, content hash, counts, and references by study type."""
    from rich.table import Table

    from mgadvisor.kb.views import info
    from mgadvisor.render.console import console, counts_table
    from mgadvisor.render.labels import ORIGIN_LABELS, STUDY_TYPE_LABELS

    t = Translator(lang_of(ctx))
    data = info(_kb())
    if fmt is Format.JSON:
        _echo_json(data)
        return
    out = console()
    out.print(t("Knowledge base version") + f": {data['version']}")
    out.print(t("Content hash") + f": {data['content_hash']}")
    out.print(counts_table(data["counts"], t))
    table = Table(title=t("References by study type"))
    table.add_column(t("Study type"))
    table.add_column(t("Count"), justify="right")
    for study_type, count in data["references_by_study_type"].items():
        table.add_row(t(STUDY_TYPE_LABELS[study_type]), str(count))
    out.print(table)
    origins = ", ".join(
        f"{t(ORIGIN_LABELS[k])}: {v}" for k, v in data["references_by_origin"].items()
    )
    out.print(t("References by origin") + f": {origins}")


@kb_app.command("show")
def kb_show(
    ctx: typer.Context, code: Annotated[str, typer.Argument(help=T("Code or citation key."))]
) -> None:
    """Show one entry with all its texts, numbers and APA references."""
    from mgadvisor.errors import UnknownNameError, suggest
    from mgadvisor.kb.search import all_codes, find_entry
    from mgadvisor.render.console import console, entry_panel

    lang = lang_of(ctx)
    kb = _kb()
    found = find_entry(kb, code)
    if found is None:
        raise UnknownNameError("code", code, suggest(code, all_codes(kb)))
    kind, entry = found
    console().print(entry_panel(kb, kind, entry, Translator(lang), lang))


@kb_app.command("search")
def kb_search(
    ctx: typer.Context,
    text: Annotated[list[str], typer.Argument(help=T("Words to look for (Dutch or English)."))],
    limit: Annotated[int, typer.Option(help=T("Maximum number of results."), min=1, max=100)] = 10,
    fmt: FormatOption = Format.TEXT,
) -> None:
    """Full-text search over the Dutch and English texts, best matches first."""
    from mgadvisor.kb.search import search_index
    from mgadvisor.render.console import console, hits_table

    lang = lang_of(ctx)
    t = Translator(lang)
    hits = search_index(_kb()).search(" ".join(text), limit=limit)
    if fmt is Format.JSON:
        _echo_json(
            [
                {"kind": h.kind, "code": h.code, "name": h.name.get(lang), "snippet": h.snippet}
                for h in hits
            ]
        )
        return
    if not hits:
        typer.echo(t("Nothing found for '{text}'.", text=" ".join(text)))
        raise typer.Exit(1)
    console().print(hits_table(hits, t, lang))


@app.command("compounds")
def compounds(ctx: typer.Context, fmt: FormatOption = Format.TEXT) -> None:
    """Table of magnesium compounds: formula, elemental %, kind and uses."""
    from mgadvisor.kb.views import compound_table
    from mgadvisor.render.console import compounds_table, console

    lang = lang_of(ctx)
    rows = compound_table(_kb(), lang)
    if fmt is Format.JSON:
        _echo_json(rows)
        return
    console().print(compounds_table(rows, Translator(lang)))


@app.command(
    "elemental",
    context_settings={"ignore_unknown_options": True},  # so "-5" reaches our own check
)
def elemental_cmd(
    ctx: typer.Context,
    compound: Annotated[str, typer.Argument(help=T("Compound name, Dutch or English."))],
    mg: Annotated[str, typer.Argument(metavar="MG", help=T("Mass of the salt in mg."))],
    fmt: FormatOption = Format.TEXT,
) -> None:
    """Elemental magnesium in a mass of a compound, e.g. "magnesium citrate" 500."""
    from mgadvisor.errors import UserInputError, printable, quote
    from mgadvisor.kb.views import elemental

    lang = lang_of(ctx)
    t = Translator(lang)
    try:
        mass = float(mg.replace(",", "."))
    except ValueError:
        raise UserInputError(
            "MG: expected a positive mass in mg, got {given}", given=printable(mg)
        ) from None
    if mass > MAX_SALT_MG:  # 1e308 mg would pass the engine's check and overflow the output
        raise UserInputError(
            N_("MG: expected a mass of at most {high} mg, got {given}"),
            high=f"{MAX_SALT_MG:.0f}",
            given=quote(mg),
        )
    data = elemental(_kb(), printable(compound), mass, lang)
    if fmt is Format.JSON:
        _echo_json(data)
        return
    typer.echo(
        t(
            "{salt} mg {name} ({formula}, {pct} % Mg) = {mg} mg elemental magnesium = {mmol} mmol",
            salt=t.num(data["salt_mg"]),
            name=data["name"].lower(),
            formula=data["formula"],
            pct=t.num(data["elemental_mg_percent"], 2, fixed=True),
            mg=t.num(data["elemental_mg"]),
            mmol=t.num(data["elemental_mmol"], 2),
        )
    )


@app.command("refs")
def refs(
    ctx: typer.Context,
    key: Annotated[
        str | None, typer.Argument(help=T("Citation key; all references when left out."))
    ] = None,
    fmt: FormatOption = Format.TEXT,
) -> None:
    """References in APA style."""
    from mgadvisor.errors import UnknownNameError, suggest
    from mgadvisor.render.apa import apa

    kb = _kb()
    if key is not None and key not in kb.references:
        raise UnknownNameError("citation key", key, suggest(key, kb.references))
    formatted = apa(kb, [key] if key else None)
    if fmt is Format.JSON:
        _echo_json(
            [
                {"key": k, "apa": v, "study_type": kb.references[k].study_type.value}
                for k, v in formatted.items()
            ]
        )
        return
    for k, text in formatted.items():
        typer.echo(f"[{k}] {text}")


@app.command("tour")
def tour(ctx: typer.Context) -> None:
    """A one-minute tour of the knowledge base (what `make run` shows)."""
    from mgadvisor.cli.tour import run_tour

    run_tour(lang_of(ctx))
