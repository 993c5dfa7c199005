"""Which compound: ranked with reasons, from goals, complaints and conditions (the seeds' mapping).

Scoring (weights are knowledge parameters `rank_*`): a compound that suits a chosen goal scores
most; one that suits an application suggested by a complaint or condition scores less; good
absorption adds; a strong laxative effect subtracts unless relieving constipation is the goal.
Hydrate variants are not ranked separately: they are the same compound.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from typing import Any

from mgadvisor.advice import CompoundChoice, Finding
from mgadvisor.engine import Context, rule
from mgadvisor.intake import Intake
from mgadvisor.kb.base import KnowledgeBase
from mgadvisor.kb.models import Absorption, Compound, Level, UseLink

TOP = 3
_Reason = tuple[str, str, dict[str, Any], list[str]]  # code, severity, params, sources


def _suggested_applications(kb: KnowledgeBase, intake: Intake) -> dict[str, list[str]]:
    """Application code -> the complaints/conditions that suggest it."""
    suggested: dict[str, list[str]] = defaultdict(list)
    for code in intake.complaints:
        for app in kb.symptoms[code].suggests:
            suggested[app].append(code)
    for code in intake.conditions:
        for app in kb.conditions[code].suggests:
            suggested[app].append(code)
    return suggested


def excluded(intake: Intake, compound: Compound) -> bool:
    """Compounds a condition rules out (e.g. glycerophosphate with hyperphosphataemia)."""
    return any(code in intake.conditions for code in compound.avoid_with)


@dataclass(frozen=True)
class _Rankable:
    """What ranking needs of one compound that depends on the knowledge base alone."""

    compound: Compound
    uses: dict[str, UseLink]  # application -> link with its sources
    absorption_weight: float
    absorption: _Reason
    laxative: Level


def _rankable(kb: KnowledgeBase) -> list[_Rankable]:
    """Compounds that are ranked (no hydrate variants); built once per knowledge base."""
    cached = kb._cache.get("rankable_compounds")
    if isinstance(cached, list):
        return cached
    weights = {
        Absorption.GOOD: kb.param("rank_absorption_good"),
        Absorption.MODERATE: kb.param("rank_absorption_moderate"),
    }
    table = [
        _Rankable(
            compound=compound,
            uses={link.application: link for link in compound.uses},
            absorption_weight=weights.get(compound.absorption.level, 0.0),
            absorption=(
                f"compound.absorption_{compound.absorption.level.value}",
                "info",
                {},
                compound.absorption.sources,
            ),
            laxative=compound.laxative.level,
        )
        for compound in kb.compounds.values()
        if not compound.variant_of
    ]
    kb._cache["rankable_compounds"] = table
    return table


@rule("compound.rank", gives=("ranked",))
def ranked(c: Context) -> list[CompoundChoice]:
    """The three best-fitting compounds, each with the reasons and the sources of its links."""
    weights = (c.param("rank_goal"), c.param("rank_complaint"), c.param("rank_laxative_penalty"))
    choices = rank(c.kb, c.intake, weights)
    c.cite(*(choice.sources for choice in choices))  # the links each reason rests on
    return choices


def rank(
    kb: KnowledgeBase, intake: Intake, weights: tuple[float, float, float]
) -> list[CompoundChoice]:
    """Compounds scored for the person, best first (top 3)."""
    goals = [g for g in intake.goals if not kb.applications[g].medical_only]
    suggested = _suggested_applications(kb, intake)
    wants_laxative = any(kb.applications[g].laxative_wanted for g in goals)
    sensitive = any(kb.conditions[code].laxative_sensitive for code in intake.conditions)
    w_goal, w_complaint, w_laxative = weights

    by_complaint = {
        app: why
        for app, why in suggested.items()
        if app not in goals and not kb.applications[app].medical_only
    }

    # Reasons are kept as plain tuples while scoring; Findings are built for the top 3 only.
    choices: list[tuple[float, Compound, list[_Reason]]] = []
    for entry in _rankable(kb):
        compound, links = entry.compound, entry.uses
        if excluded(intake, compound):
            continue
        score = entry.absorption_weight
        reasons: list[_Reason] = []
        for goal in goals:
            if goal in links:
                score += w_goal
                reasons.append(("compound.fits_goal", "info", {"goal": goal}, links[goal].sources))
        for app, why in by_complaint.items():
            if app in links:
                score += w_complaint
                params = {"application": app, "because": why}
                reasons.append(("compound.fits_complaint", "info", params, links[app].sources))
        reasons.append(entry.absorption)
        laxative = compound.laxative.sources
        if entry.laxative is Level.HIGH:
            if wants_laxative:
                score += w_laxative
                reasons.append(("compound.laxative_wanted", "info", {}, laxative))
            else:
                score -= w_laxative * (2 if sensitive else 1)
                reasons.append(("compound.laxative_unwanted", "warning", {}, laxative))
        elif entry.laxative is Level.MODERATE and sensitive:
            score -= w_laxative
            reasons.append(("compound.laxative_sensitive_bowel", "warning", {}, laxative))
        choices.append((score, compound, reasons))

    choices.sort(key=lambda item: (-item[0], item[1].code))
    out = []
    for position, (score, compound, reasons) in enumerate(choices[:TOP], start=1):
        findings = [
            Finding(code, severity, params, list(sources))  # type: ignore[arg-type]
            for code, severity, params, sources in reasons
        ]
        sources_all = list(dict.fromkeys(key for f in findings for key in f.sources))
        out.append(CompoundChoice(compound.code, position, score, findings, sources_all))
    return out
