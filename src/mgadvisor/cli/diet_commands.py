"""Commands for food and diet: diet, foods search, foods import nevo|usda, foods sources."""

# No `from __future__ import annotations`: typer would compile and evaluate every parameter
# annotation again at each start (see cli/app.py).
from pathlib import Path
from typing import Annotated

import typer

from mgadvisor.cli.advice_commands import (
    AsOf,
    ReportFormat,
    read_intake,
    run_advice,
)
from mgadvisor.cli.app import T, app, lang_of
from mgadvisor.cli.commands import Format, _echo_json, _kb
from mgadvisor.i18n import N_, Translator

foods_app = typer.Typer(
    help=T("Food composition: search, import official tables, list sources."), no_args_is_help=True
)
import_app = typer.Typer(
    help=T("Import an official food composition download."), no_args_is_help=True
)
foods_app.add_typer(import_app, name="import")
app.add_typer(foods_app, name="foods")

DIET_KEYS = ("ffq", "diary", "water")
ASSUMED_PERSON = {"age": 40, "sex": "female"}  # for a diet file without a person (said aloud)


@app.command("diet")
def diet_cmd(
    ctx: typer.Context,
    file: Annotated[
        str,
        typer.Argument(
            metavar="FILE|-",
            help=T(
                "An intake with a diet section, or only ffq/diary/water (with optional person)."
            ),
        ),
    ],
    fmt: Annotated[
        ReportFormat, typer.Option("--format", "-f", help=T("Output format."))
    ] = ReportFormat.TEXT,
    svg: Annotated[
        Path | None, typer.Option("--svg", help=T("Folder to write the two SVG charts to."))
    ] = None,
    as_of: AsOf = None,
) -> None:
    """Magnesium and calcium from food: mg/day, % of the reference, Ca:Mg ratio, top sources."""
    from mgadvisor.errors import IntakeError
    from mgadvisor.intake import parse_intake
    from mgadvisor.render.charts import contributors_chart, intake_chart
    from mgadvisor.render.report import diet_section, to_console, to_markdown

    kb = _kb()
    data = read_intake(file)
    if isinstance(data, dict) and "diet" not in data and any(k in data for k in DIET_KEYS):
        if "person" not in data:  # no person: say which reference the percentages use
            typer.echo(
                Translator(lang_of(ctx))(N_("No person given: the percentages use a woman of 40."))
            )
        data = {"person": data.pop("person", ASSUMED_PERSON), "diet": data}
    intake = parse_intake(data, kb)
    if intake.diet is None:
        raise IntakeError("diet", N_("a diet section (ffq, diary or water)"), N_("nothing"))
    result = run_advice(ctx, kb, intake, as_of)
    advice, document, t = result.advice, result.document, Translator(result.lang)
    assert advice.diet is not None
    if svg is not None:
        svg.mkdir(parents=True, exist_ok=True)
        (svg / "diet-intake.svg").write_text(
            intake_chart(advice.diet, t, advice.dose.elemental_mg_per_day), encoding="utf-8"
        )
        (svg / "diet-top-sources.svg").write_text(
            contributors_chart(advice.diet, t), encoding="utf-8"
        )
    if fmt is ReportFormat.JSON:
        _echo_json(
            {
                "diet": document["diet"],
                "food_advice": document["food_advice"],
                "supplement_mg_per_day": advice.dose.elemental_mg_per_day,
            }
        )
        return
    section = diet_section(document["diet"], document["food_advice"], t)
    if fmt is ReportFormat.MARKDOWN:
        typer.echo(to_markdown([section]))
        return
    from mgadvisor.render.console import console

    console().print(to_console([section]))


@foods_app.command("search")
def foods_search(
    ctx: typer.Context,
    text: Annotated[list[str], typer.Argument(help=T("Food name, Dutch or English."))],
    limit: Annotated[int, typer.Option(help=T("Maximum number of results."), min=1, max=100)] = 10,
    fmt: Annotated[Format, typer.Option("--format", "-f", help=T("Output format."))] = Format.TEXT,
) -> None:
    """Find foods by Dutch or English name (fuzzy), with magnesium and calcium per 100 g."""
    from rich.table import Table

    from mgadvisor.errors import printable
    from mgadvisor.render.console import console

    lang = lang_of(ctx)
    t = Translator(lang)
    from mgadvisor.pipeline import user_foods

    hits = user_foods(_kb()).search(" ".join(text), limit=limit)
    if fmt is Format.JSON:
        _echo_json(
            [
                {
                    "code": f.code,
                    "name_nl": f.name_nl,
                    "name_en": f.name_en,
                    "mg_per_100g": f.mg_per_100g,
                    "ca_per_100g": f.ca_per_100g,
                    "source": f.source,
                    "score": round(s),
                }
                for f, s in hits
            ]
        )
        return
    if not hits:
        typer.echo(t("Nothing found for '{text}'.", text=printable(" ".join(text))))
        raise typer.Exit(1)
    table = Table(title=t("Foods"))
    for header in (t("Code"), t("Name"), "Mg mg/100 g", "Ca mg/100 g", t("Source")):
        table.add_column(header)
    for food, _ in hits:
        table.add_row(
            food.code,
            food.name(lang),
            t.num(food.mg_per_100g, 1),
            t.num(food.ca_per_100g, 1) if food.ca_per_100g is not None else "-",
            food.source,
        )
    console().print(table)


def _import(kind: str, path: Path, lang: str) -> None:
    from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn

    from mgadvisor.foods import importers
    from mgadvisor.foods.store import FoodStore, SourceInfo, now

    t = Translator(lang)
    store = FoodStore()
    reader = importers.nevo if kind == "nevo" else importers.usda
    with Progress(
        TextColumn("{task.description}"), BarColumn(), DownloadColumn(), transient=True
    ) as bar:
        task = bar.add_task(t("Importing {file}", file=path.name), total=None)

        def advance(done: int) -> None:
            bar.update(task, completed=done)

        table = reader(path, advance)
        bar.update(task, total=table.size)
        info = SourceInfo(f"{kind}:{table.version}", kind, table.version, str(path), now(), 0)
        count = store.replace(info, table.rows)
    typer.echo(
        t(
            "Imported {count} foods from {file} ({version}) into {db}.",
            count=count,
            file=path.name,
            version=table.version,
            db=str(store.path),
        )
    )


@import_app.command("nevo")
def import_nevo(
    ctx: typer.Context, file: Annotated[Path, typer.Argument(help=T("The NEVO-online CSV file."))]
) -> None:
    """Import the NEVO-online CSV (RIVM): used unmodified, its version recorded."""
    _import("nevo", file, lang_of(ctx))


@import_app.command("usda")
def import_usda(
    ctx: typer.Context,
    folder: Annotated[Path, typer.Argument(help=T("Folder with food.csv and food_nutrient.csv."))],
) -> None:
    """Import a USDA FoodData Central CSV download (magnesium 1090, calcium 1087)."""
    _import("usda", folder, lang_of(ctx))


@foods_app.command("sources")
def foods_sources(
    ctx: typer.Context,
    fmt: Annotated[Format, typer.Option("--format", "-f", help=T("Output format."))] = Format.TEXT,
) -> None:
    """Food tables in use: the bundled table and every imported one."""
    from mgadvisor.foods.store import FoodStore

    t = Translator(lang_of(ctx))
    kb = _kb()
    store = FoodStore()
    sources = store.sources()
    if fmt is Format.JSON:
        _echo_json(
            {
                "bundled": len(kb.foods),
                "database": str(store.path),
                "imported": [s.__dict__ for s in sources],
            }
        )
        return
    typer.echo(
        t(
            "Bundled: {count} foods (seed table and USDA SR Legacy), knowledge base {version}",
            count=len(kb.foods),
            version=kb.version,
        )
    )
    for s in sources:
        typer.echo(
            t(
                "Imported: {id}, {rows} foods, from {file} on {date}",
                id=s.id,
                rows=s.rows,
                file=s.file,
                date=s.imported_at,
            )
        )
    if not sources:
        typer.echo(t("No imported tables yet: mgadvisor foods import nevo FILE | usda DIR"))
