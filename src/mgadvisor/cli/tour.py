"""`mgadvisor tour`: what the knowledge base holds, shown by example."""

from __future__ import annotations

from rich.rule import Rule

from mgadvisor.i18n import Translator
from mgadvisor.kb import load_knowledge
from mgadvisor.kb.views import application_row, compound_table, elemental, info, interaction_row
from mgadvisor.render.apa import apa
from mgadvisor.render.console import compounds_table, console, counts_table
from mgadvisor.render.labels import EVIDENCE_LABELS

# Examples the tour shows; each must exist in the knowledge base (a test checks).
TOUR_COMPOUND = ("magnesiumcitraat", 500.0)
TOUR_APPLICATIONS = ("sleep", "migraine_prevention", "hearing")
TOUR_INTERACTION = "ciprofloxacin"


def run_tour(lang: str) -> None:
    from mgadvisor.kb.evidence import Evidence

    t = Translator(lang)
    kb = load_knowledge()
    out = console()
    data = info(kb)
    out.print(Rule(t("mgadvisor knowledge base {version}", version=data["version"])))
    out.print(counts_table(data["counts"], t))

    out.print(Rule(t("Compounds: elemental magnesium computed from the formula")))
    out.print(compounds_table(compound_table(kb, lang)[:8], t, show_code=False))
    name, mass = TOUR_COMPOUND
    calc = elemental(kb, name, mass, lang)
    out.print(
        t(
            "{salt} mg {name} ({formula}, {pct} % Mg) = {mg} mg elemental magnesium = {mmol} mmol",
            salt=t.num(mass),
            name=calc["name"].lower(),
            formula=calc["formula"],
            pct=t.num(calc["elemental_mg_percent"], 2, fixed=True),
            mg=t.num(calc["elemental_mg"]),
            mmol=t.num(calc["elemental_mmol"], 2),
        )
    )

    out.print(Rule(t("Applications with their evidence level")))
    cited: list[str] = []
    for code in TOUR_APPLICATIONS:
        row = application_row(kb, code, lang)
        grade = EVIDENCE_LABELS[Evidence[row["evidence"].upper()]]
        out.print(f"• {row['name']}: {row['summary']} [{', '.join(row['sources'])}]")
        out.print("  " + t("Evidence") + f": {t(grade)}")
        cited += row["sources"]

    out.print(Rule(t("An interaction rule")))
    inter = interaction_row(kb.interactions[TOUR_INTERACTION], lang)
    out.print(
        f"• {inter['name']} (ATC {', '.join(inter['atc'])}): "
        + t(
            "take it at least {before} h before or {after} h after magnesium",
            before=t.num(inter["medicine_first_h"]),
            after=t.num(inter["magnesium_first_h"]),
        )
        + f" [{', '.join(inter['sources'])}]"
    )
    cited += inter["sources"]

    out.print(Rule(t("References")))
    for key, text in apa(kb, cited).items():
        out.print(f"[{key}] {text}")
    out.print(t("More: mgadvisor kb search WORDS · kb show CODE · compounds · elemental · refs"))
