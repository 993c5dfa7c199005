"""Medicines checked against magnesium, as rows for the CLI, the API and the tools page."""

from __future__ import annotations

import re
from typing import Any

from mgadvisor.advice import Finding, InteractionHit, plain
from mgadvisor.assess.medication import review
from mgadvisor.i18n import Translator
from mgadvisor.intake import Medication
from mgadvisor.kb.base import KnowledgeBase
from mgadvisor.kb.models import Interaction
from mgadvisor.render.findings import finding_text, medicine_name

ATC = re.compile(r"[A-Z]\d{2}[A-Z0-9]*")


def rule_text(kb: KnowledgeBase, hit: InteractionHit, t: Translator) -> str:
    """The spacing rule in words, or that no safe gap is known."""
    code = "interaction.rule" if hit.medicine_first_h is not None else "interaction.no_spacing"
    params = {
        "medication": medicine_name(kb, hit.atc, t.lang) or hit.name or hit.medication,
        "medicine_first_h": hit.medicine_first_h,
        "magnesium_first_h": hit.magnesium_first_h,
    }
    return finding_text(kb, Finding(code=code, params=params), t)


def medicine_rows(kb: KnowledgeBase, names: list[str], lang: str) -> list[dict[str, Any]]:
    """Each name (or ATC code): how it resolved, its interaction and whether it lowers magnesium."""
    t = Translator(lang)
    meds = [
        Medication(atc=n) if ATC.fullmatch(n) else Medication(name=n.strip()[:120] or "?")
        for n in names
    ]
    result = review(kb, meds)
    rows = []
    for match in result.matches:
        hit = next((h for h in result.interactions if h.medication == match.input), None)
        dep = next((d for m, d in result.depleting if m.input == match.input), None)
        entry = next((e for m, e in result.entries if m.input == match.input), None)
        row: dict[str, Any] = {
            **plain(match),
            "name": medicine_name(kb, match.atc, lang) or match.name,
            "interaction": None,
            "depletes_magnesium": dep.code if dep else None,
            # An entry that is no timing rule (QT, a likely condition, kidney-only, infusion):
            # what it says, so "no known interaction" is never shown for it.
            "note": _note(entry, lang),
        }
        if hit is not None:
            row["interaction"] = {
                **plain(hit),
                "name": medicine_name(kb, hit.atc, lang) or hit.name,
                "rule": rule_text(kb, hit, t),
                "mechanism": kb.interactions[hit.interaction].mechanism.get(lang),
            }
        rows.append(row)
    return rows


def _note(entry: Interaction | None, lang: str) -> str | None:
    if entry is None or entry.timing:
        return None
    advice = f" {entry.advice.get(lang)}" if entry.advice else ""
    return f"{entry.mechanism.get(lang)}{advice}"
