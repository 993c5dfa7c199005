"""What helps (synergy): nutrients that work with magnesium, for this person."""

from __future__ import annotations

from mgadvisor.advice import Finding
from mgadvisor.engine import Context, rule
from mgadvisor.intake import Intake
from mgadvisor.kb.base import KnowledgeBase
from mgadvisor.kb.models import Synergy


def relevant_applications(kb: KnowledgeBase, intake: Intake) -> set[str]:
    """The goals, plus the applications the complaints and conditions suggest."""
    apps = set(intake.goals)
    for code in intake.complaints:
        apps.update(kb.symptoms[code].suggests)
    for code in intake.conditions:
        apps.update(kb.conditions[code].suggests)
    if intake.lifestyle.stress in ("moderate", "high"):
        apps.add("stress")
    return apps


def _synergies(kb: KnowledgeBase) -> list[tuple[str, Synergy, frozenset[str]]]:
    """Each synergy entry with its applications as a set (built once per knowledge base)."""
    cached = kb._cache.get("synergies")
    if not isinstance(cached, list):
        cached = [(code, e, frozenset(e.applications)) for code, e in kb.synergy.items()]
        kb._cache["synergies"] = cached
    return cached


@rule("synergy.suggest", gives=("synergy",), needs=("withheld",))
def synergy(c: Context) -> list[Finding]:
    """Nutrients that work with magnesium for the person's applications (none when withheld)."""
    if c.value("withheld"):
        return []
    apps = relevant_applications(c.kb, c.intake)
    found = []
    for code, entry, applications in _synergies(c.kb):
        shared = sorted(apps & applications) if apps else []
        if shared or entry.always:
            found.append(c.finding(f"synergy.{code}", cites=[entry.statement], applications=shared))
    return found
