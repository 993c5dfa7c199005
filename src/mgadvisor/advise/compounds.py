"""Which compound: ranked with reasons, from goals, complaints and conditions (the seeds' mapping).

Scoring (weights are knowledge parameters `rank_*`): a compound that suits a chosen goal scores
most; one that suits an application suggested by a complaint or condition scores less; good
absorption adds; a strong laxative effect subtracts unless relieving constipation is the goal.
Hydrate variants are not ranked separately: they are the same compound.
"""

from __future__ import annotations

from collections import defaultdict

from mgadvisor.advice import CompoundChoice, Finding
from mgadvisor.intake import Intake
from mgadvisor.kb.base import KnowledgeBase
from mgadvisor.kb.models import Absorption, Compound, Level

LAXATIVE_GOAL = "constipation_relief"
LAXATIVE_SENSITIVE = ("bowel_disease", "chronic_diarrhoea", "malabsorption")
TOP = 3


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


def excluded(kb: KnowledgeBase, intake: Intake, compound: Compound) -> bool:
    """Compounds a condition rules out (e.g. glycerophosphate with hyperphosphataemia)."""
    return (
        compound.code == "magnesium_glycerophosphate" and "hyperphosphataemia" in intake.conditions
    )


def rank(kb: KnowledgeBase, intake: Intake) -> list[CompoundChoice]:
    goals = [g for g in intake.goals if not kb.applications[g].medical_only]
    suggested = _suggested_applications(kb, intake)
    wants_laxative = LAXATIVE_GOAL in goals
    sensitive = any(c in intake.conditions for c in LAXATIVE_SENSITIVE)
    w_goal, w_complaint = kb.param("rank_goal"), kb.param("rank_complaint")
    w_good, w_moderate = kb.param("rank_absorption_good"), kb.param("rank_absorption_moderate")
    w_laxative = kb.param("rank_laxative_penalty")

    choices: list[tuple[float, Compound, list[Finding]]] = []
    for compound in kb.compounds.values():
        if compound.variant_of or excluded(kb, intake, compound):
            continue
        score, reasons = 0.0, []
        links = {link.application: link for link in compound.uses}
        for goal in goals:
            if goal in links:
                score += w_goal
                reasons.append(
                    Finding(
                        code="compound.fits_goal",
                        params={"goal": goal},
                        sources=list(links[goal].sources),
                    )
                )
        for app, why in suggested.items():
            if app in links and app not in goals and not kb.applications[app].medical_only:
                score += w_complaint
                reasons.append(
                    Finding(
                        code="compound.fits_complaint",
                        params={"application": app, "because": why},
                        sources=list(links[app].sources),
                    )
                )
        if compound.absorption.level is Absorption.GOOD:
            score += w_good
        elif compound.absorption.level is Absorption.MODERATE:
            score += w_moderate
        reasons.append(
            Finding(
                code=f"compound.absorption_{compound.absorption.level.value}",
                sources=list(compound.absorption.sources),
            )
        )
        if compound.laxative.level is Level.HIGH:
            if wants_laxative:
                score += w_laxative
                reasons.append(
                    Finding(
                        code="compound.laxative_wanted", sources=list(compound.laxative.sources)
                    )
                )
            else:
                score -= w_laxative * (2 if sensitive else 1)
                reasons.append(
                    Finding(
                        code="compound.laxative_unwanted",
                        severity="warning",
                        sources=list(compound.laxative.sources),
                    )
                )
        elif compound.laxative.level is Level.MODERATE and sensitive:
            score -= w_laxative
            reasons.append(
                Finding(
                    code="compound.laxative_sensitive_bowel",
                    severity="warning",
                    sources=list(compound.laxative.sources),
                )
            )
        choices.append((score, compound, reasons))

    choices.sort(key=lambda item: (-item[0], item[1].code))
    out = []
    for position, (score, compound, reasons) in enumerate(choices[:TOP], start=1):
        sources = list(dict.fromkeys(key for r in reasons for key in r.sources))
        out.append(
            CompoundChoice(
                code=compound.code, rank=position, score=score, reasons=reasons, sources=sources
            )
        )
    return out
