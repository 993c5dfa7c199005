"""Terminal rendering of knowledge-base views with Rich, in Dutch or English."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from pydantic import BaseModel
from rich.console import Console, Group
from rich.panel import Panel
from rich.table import Table
from rich.text import Text as RichText

from mgadvisor.i18n import Translator
from mgadvisor.kb.base import KnowledgeBase
from mgadvisor.kb.evidence import Evidence, application_evidence, evidence_of
from mgadvisor.kb.models import Application, Compound, Reference, Statement, StudyDose, Text
from mgadvisor.kb.search import Hit
from mgadvisor.kb.views import compound_row
from mgadvisor.render.apa import apa
from mgadvisor.render.labels import (
    BASIS_LABELS,
    COMPOUND_KIND_LABELS,
    COUNT_LABELS,
    EVIDENCE_LABELS,
    FIELD_LABELS,
    KIND_LABELS,
    LEVEL_LABELS,
    ORIGIN_LABELS,
    STUDY_TYPE_LABELS,
)


def console(width: int | None = None) -> Console:
    # markup=False: citation keys like "[abbasi2012]" are text, not Rich style tags.
    return Console(width=width, highlight=False, soft_wrap=False, markup=False)


def cite(keys: Iterable[str]) -> str:
    return "[" + ", ".join(keys) + "]"


def compounds_table(rows: list[dict[str, Any]], t: Translator, show_code: bool = True) -> Table:
    table = Table(title=t("Magnesium compounds"), show_lines=False)
    if show_code:
        table.add_column(t("Code"), no_wrap=True)
    table.add_column(t("Name"))
    table.add_column(t("Formula"), overflow="fold")
    table.add_column(t("Mg %"), justify="right", no_wrap=True)
    table.add_column(t("mmol Mg/100 mg"), justify="right")
    table.add_column(t("Kind"), no_wrap=True)
    table.add_column(t("Uses"), ratio=1)
    for r in rows:
        cells = [
            r["name"],
            r["formula"],
            t.num(r["elemental_mg_percent"], 2, fixed=True),
            t.num(r["mmol_mg_per_100mg_salt"], 3, fixed=True),
            t(COMPOUND_KIND_LABELS[r["kind"]]),
            ", ".join(r["use_names"]),
        ]
        table.add_row(*([r["code"], *cells] if show_code else cells))
    return table


def references_block(kb: KnowledgeBase, keys: Iterable[str], t: Translator) -> RichText:
    formatted = apa(kb, list(dict.fromkeys(keys)))
    text = RichText(t("References") + "\n", style="bold")
    for key, ref in formatted.items():
        text.append(f"[{key}] ", style="dim")
        text.append(ref + "\n")
    return text


def _statement_lines(
    kb: KnowledgeBase, label: str, value: Any, t: Translator, lang: str
) -> list[str]:
    """Readable lines for one field of an entry, each statement with its citation keys."""
    if isinstance(value, Statement):
        extra = ""
        level = getattr(value, "level", None)
        if level is not None:
            extra = f" ({t(LEVEL_LABELS[level.value])})"
        grade = evidence_of(kb, value.sources)
        mark = (
            f" — {t(EVIDENCE_LABELS[grade])}"
            if grade <= Evidence.PRECLINICAL and value.sources
            else ""
        )
        amount = ""
        if isinstance(value, StudyDose):
            top = f"–{value.amount_mg_max:g}" if value.amount_mg_max else ""
            amount = f"{value.amount_mg:g}{top} mg ({t(BASIS_LABELS[value.basis.value])}): "
        return [f"{label}{extra}: {amount}{value.get(lang)} {cite(value.sources)}{mark}"]
    if isinstance(value, Text):
        return [f"{label}: {value.get(lang)}"]
    if isinstance(value, list) and value and isinstance(value[0], Statement):
        lines = [f"{label}:"]
        for item in value:
            lines += [
                "  • " + line.split(": ", 1)[1]
                for line in _statement_lines(kb, label, item, t, lang)
            ]
        return lines
    return []


def entry_panel(kb: KnowledgeBase, kind: str, entry: BaseModel, t: Translator, lang: str) -> Panel:
    """A panel showing every text of one entry, its numbers, and its APA references."""
    from mgadvisor.kb.loader import citations

    title = getattr(entry, "name", None)
    heading = title.get(lang) if isinstance(title, Text) else getattr(entry, "title", "")
    if kind == "facts" and isinstance(entry, Statement):
        heading = str(getattr(entry, "topic", ""))
    code = getattr(entry, "code", getattr(entry, "id", ""))
    lines: list[str] = [t("Code") + f": {code}   ({t(KIND_LABELS.get(kind, kind))})"]

    if isinstance(entry, Compound):
        row = compound_row(kb, entry, lang)
        numbers = (
            f"{t.num(row['molar_mass_g_mol'], 2, fixed=True)} g/mol",
            f"{t.num(row['elemental_mg_percent'], 2, fixed=True)} % Mg",
            f"{t.num(row['mmol_mg_per_100mg_salt'], 3, fixed=True)} mmol Mg / 100 mg",
        )
        lines.append(t("Formula") + f": {row['formula']}  ·  " + "  ·  ".join(numbers))
        chelate = ", " + t("amino-acid chelate") if entry.chelate else ""
        lines.append(t("Kind") + f": {t(COMPOUND_KIND_LABELS[entry.kind])}{chelate}")
        if entry.atc:
            lines.append(f"ATC: {', '.join(entry.atc)}")
        if entry.uses:
            uses = ", ".join(kb.applications[u.application].name.get(lang) for u in entry.uses)
            lines.append(t("Uses") + f": {uses}")
    if isinstance(entry, Application):
        grade = application_evidence(kb, entry)
        lines.append(t("Evidence") + f": {t(EVIDENCE_LABELS[grade])}")
        if entry.medical_only:
            lines.append(t("Only under medical supervision: refer to a doctor."))
        if entry.compounds:
            names = ", ".join(kb.compounds[c.compound].name.get(lang) for c in entry.compounds)
            lines.append(t("Suitable compounds") + f": {names}")
    if isinstance(entry, Reference):
        lines.append(apa(kb, [entry.id])[entry.id])
        lines.append(t("Study type") + f": {t(STUDY_TYPE_LABELS[entry.study_type.value])}")
        origins = ", ".join(t(ORIGIN_LABELS[c.value]) for c in entry.cited_in)
        lines.append(t("Cited in") + f": {origins}")

    if isinstance(entry, Statement) and kind == "facts":
        lines.append(f"{entry.get(lang)} {cite(entry.sources)}")
    for field_name in type(entry).model_fields:
        label = FIELD_LABELS.get(field_name)
        if label and not (isinstance(entry, Compound) and field_name in ("kind",)):
            lines += _statement_lines(kb, t(label), getattr(entry, field_name), t, lang)
    keys = [key for _, key in citations(entry)]
    body: list[Any] = [RichText("\n".join(lines))]
    if keys:
        body.append(RichText(""))
        body.append(references_block(kb, keys, t))
    return Panel(Group(*body), title=str(heading), title_align="left")


def hits_table(hits: list[Hit], t: Translator, lang: str) -> Table:
    table = Table(title=t("Search results"))
    table.add_column(t("Kind"))
    table.add_column(t("Code"))
    table.add_column(t("Name"))
    table.add_column(t("Context"))
    for hit in hits:
        table.add_row(
            t(KIND_LABELS.get(hit.kind, hit.kind)), hit.code, hit.name.get(lang), hit.snippet
        )
    return table


def counts_table(counts: dict[str, int], t: Translator) -> Table:
    table = Table(title=t("Knowledge base contents"))
    table.add_column(t("Kind"))
    table.add_column(t("Count"), justify="right")
    for kind, count in counts.items():
        table.add_row(t(COUNT_LABELS[kind]), str(count))
    return table
