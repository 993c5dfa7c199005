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


def _already_covered(entry: Synergy, atcs: list[str], high: set[str]) -> bool:
    """The person already takes it (a medicine under its ATC codes), or a lab value it would
    raise is already high."""
    taken = any(atc.startswith(prefix) for atc in atcs for prefix in entry.not_with_atc)
    return taken or bool(high.intersection(entry.not_with_high_lab))


def _fits_person(c: Context, entry: Synergy) -> bool:
    """Only from the entry's age; in pregnancy and lactation only an entry whose sourced flag
    says it is safe."""
    person = c.intake.person
    if person.age < entry.age_from:
        return False
    if not (person.pregnant or person.lactating):
        return True
    if entry.pregnancy is None:
        return False
    c.cite(entry.pregnancy)
    return entry.pregnancy.safe


@rule("synergy.suggest", gives=("synergy",), needs=("withheld", "medications", "lab_flags"))
def synergy(c: Context) -> list[Finding]:
    """Nutrients that work with magnesium for the person's applications and conditions: none
    when withheld or for a young child, each only from its age, and in pregnancy and lactation
    only those known to be safe; not what the person already takes or what would raise a lab
    value that is already high."""
    if c.value("withheld"):
        return []
    atcs = [m.atc for m in c.value("medications").matches if m.atc]
    high = {code for code, flag in c.value("lab_flags").items() if flag == "high"}
    with c.scope():
        if c.intake.person.age < c.param("young_child_below_age"):
            return []
    apps = relevant_applications(c.kb, c.intake)
    conditions = set(c.intake.conditions)
    found = []
    for code, entry, applications in _synergies(c.kb):
        shared = sorted(apps & applications) if apps else []
        for_condition = sorted(conditions.intersection(entry.conditions))
        if not (shared or entry.always or for_condition) or _already_covered(entry, atcs, high):
            continue
        with c.scope():
            if _fits_person(c, entry):
                found.append(
                    c.finding(
                        f"synergy.{code}",
                        cites=[entry.statement],
                        applications=shared,
                        conditions=for_condition,
                    )
                )
    return found


@rule("synergy.care_prompt", gives=("follow_up",))
def care_prompt(c: Context) -> list[Finding]:
    """A prompt that goes with a condition's suggestion (addiction care with alcohol use
    disorder), shown whatever happens to the supplement plan."""
    conditions = set(c.intake.conditions)
    found = []
    for _, entry, _ in _synergies(c.kb):
        prompt = entry.care_prompt
        matched = sorted(conditions.intersection(entry.conditions))
        if prompt is not None and matched:
            found.append(c.finding(prompt.message, cites=[prompt], conditions=matched))
    return found
