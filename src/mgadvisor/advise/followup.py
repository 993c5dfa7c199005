"""What helps (synergy) and when to look again (follow-up)."""

from __future__ import annotations

from mgadvisor.advice import Finding
from mgadvisor.intake import Intake
from mgadvisor.kb.base import KnowledgeBase

ALWAYS = ("calcium_magnesium_ratio",)


def relevant_applications(kb: KnowledgeBase, intake: Intake) -> set[str]:
    apps = set(intake.goals)
    for code in intake.complaints:
        apps.update(kb.symptoms[code].suggests)
    for code in intake.conditions:
        apps.update(kb.conditions[code].suggests)
    if intake.lifestyle.stress in ("moderate", "high"):
        apps.add("stress")
    return apps


def synergy(kb: KnowledgeBase, intake: Intake) -> list[Finding]:
    apps = relevant_applications(kb, intake)
    found = []
    for code, entry in kb.synergy.items():
        shared = sorted(apps & set(entry.applications))
        if shared or code in ALWAYS:
            found.append(
                Finding(
                    code=f"synergy.{code}",
                    params={"applications": shared},
                    sources=list(entry.statement.sources),
                )
            )
    return found


def follow_up(
    kb: KnowledgeBase, intake: Intake, egfr: float | None, ppi: bool, dosed: bool
) -> list[Finding]:
    found = []
    if dosed:
        weeks = kb.parameters["reevaluate_after_weeks"]
        found.append(
            Finding(
                code="followup.reevaluate",
                params={"weeks": weeks.value},
                sources=list(weeks.sources),
            )
        )
        found.append(
            Finding(
                code="followup.diarrhoea_lower_dose", sources=["soe_article_magnesium", "iom1997"]
            )
        )
    found.append(
        Finding(code="followup.measure_status", sources=["costello2017", "jahnendechent2012"])
    )
    kidney_known_low = egfr is not None and egfr < kb.param("egfr_supervision_below")
    if kidney_known_low or "ckd" in intake.conditions:
        months = kb.parameters["kidney_monitor_months"]
        found.append(
            Finding(
                code="followup.kidney_monitor",
                params={"months": months.value},
                sources=list(months.sources),
            )
        )
    if ppi:
        found.append(Finding(code="followup.ppi_check", sources=["fda2011_ppi"]))
    return found
