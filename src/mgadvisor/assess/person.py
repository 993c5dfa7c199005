"""The person: which authority's reference values apply, and what the person's need is.

Rules here give values other rules read: the authority, the reference intake and upper level
for the person's age, sex and life stage, and whether the person counts as an athlete or a
heavy drinker.
"""

from __future__ import annotations

from bisect import bisect_right
from typing import Any

from mgadvisor.engine import Context, rule
from mgadvisor.intake import Intake
from mgadvisor.kb.base import KnowledgeBase
from mgadvisor.kb.models import Authority, IntakeBand, LifeStage


def band_for(bands: list[IntakeBand], intake: Intake) -> IntakeBand | None:
    """The most specific band covering the person (life stage, then sex, beats 'any')."""
    person = intake.person
    stage = (
        LifeStage.PREGNANCY
        if person.pregnant
        else LifeStage.LACTATION
        if person.lactating
        else LifeStage.ANY
    )
    fits = [
        b
        for b in bands
        if b.age_from <= person.age
        and (b.age_to is None or person.age < b.age_to)
        and b.sex in ("any", person.sex)
        and b.life_stage in (LifeStage.ANY, stage)
    ]
    if not fits:
        return None
    return max(fits, key=lambda b: (b.life_stage is not LifeStage.ANY, b.sex != "any"))


def _band(kb: KnowledgeBase, chosen: Authority, upper: bool, intake: Intake) -> IntakeBand | None:
    """`band_for`, remembered per authority and person (the bands never change once loaded).

    The age enters only through comparisons with the bands' age limits, so the key holds the
    age's place among those limits, not the age itself: ages 40.1 and 40.7 share one entry."""
    person = intake.person
    bands = chosen.upper_levels if upper else chosen.intakes
    cache: dict[tuple[object, ...], Any] = kb._cache.setdefault("bands", {})
    limits = cache.get((chosen.code, upper))
    if limits is None:
        ages = {b.age_from for b in bands} | {b.age_to for b in bands if b.age_to is not None}
        limits = cache[(chosen.code, upper)] = sorted(ages)
    place = bisect_right(limits, person.age)
    key = (chosen.code, upper, place, person.sex, person.pregnant, person.lactating)
    if key not in cache:
        if len(cache) >= 4096:
            cache.clear()
            cache[(chosen.code, upper)] = limits
        cache[key] = band_for(bands, intake)
    return cache[key]  # type: ignore[no-any-return]


@rule("person.authority", gives=("authority",))
def authority(c: Context) -> Authority:
    """The authority chosen in the intake, else the knowledge base's default (Gezondheidsraad)."""
    wanted = c.intake.preferences.authority
    for entry in c.kb.reference_values.authorities:
        if (wanted and entry.code == wanted) or (not wanted and entry.default):
            return entry
    raise LookupError(f"no authority {wanted!r}")  # the intake check prevents this


def _band_mg(c: Context, upper: bool) -> float | None:
    """The person's band of the chosen authority (intakes or upper levels), cited."""
    chosen: Authority = c.value("authority")
    band = _band(c.kb, chosen, upper, c.intake)
    if band is None:
        return None
    c.cite(chosen.upper_level_note if upper else chosen.intake_sources)
    return band.mg


@rule("person.reference_intake", gives=("reference_intake",), needs=("authority",))
def reference_intake(c: Context) -> float | None:
    """The authority's reference intake for the person's age, sex and life stage."""
    return _band_mg(c, upper=False)


@rule("person.child", gives=("child",))
def child(c: Context) -> bool:
    """Under the adult age the values and equations for children and adolescents apply (upper
    level, kidney function), and no adult study dose."""
    return c.intake.person.age < c.param("adult_from_age", cite=False)


@rule("person.upper_level", gives=("upper_level", "dose_basis"), needs=("authority", "child"))
def upper_level(c: Context) -> float | None:
    """The authority's upper level for supplemental magnesium for the person; for a child the
    lowest of all authorities for that age, and below the age it was derived for, the
    per-kilogram level times the child's weight when that is lower (never where no authority
    sets a level for the age: an infant's upper level stays unknown)."""
    chosen: float | None = _band_mg(c, upper=True)
    person = c.intake.person
    if not c.value("child"):
        return chosen
    lowest, lowest_authority = chosen, None
    for entry in c.kb.reference_values.authorities:
        band = _band(c.kb, entry, True, c.intake)
        if band is not None and band.mg is not None and (lowest is None or band.mg < lowest):
            lowest, lowest_authority = band.mg, entry
    if lowest_authority is not None:
        with c.scope():
            c.cite(lowest_authority.upper_level_note)
            params: dict[str, Any] = {"age": int(person.age), "upper_level": lowest}
            c.emit(c.finding("dose.child_upper_level", **params), "dose_basis")
    if lowest is None:  # no upper level set for the age (an infant): none made from weight
        return None
    if person.weight_kg is not None and person.age < c.param("child_upper_level_per_kg_below_age"):
        per_kg = c.param("child_upper_level_mg_per_kg")
        by_weight = round(per_kg * person.weight_kg)
        if by_weight < lowest:
            lowest = float(by_weight)
            by_kg: dict[str, Any] = {
                "weight": person.weight_kg,
                "per_kg": per_kg,
                "upper_level": lowest,
            }
            c.emit(c.finding("dose.child_weight_upper_level", **by_kg), "dose_basis")
    return lowest


@rule("person.athlete", gives=("athlete",))
def athlete(c: Context) -> bool:
    """Someone who exercises at least the parameter's hours a week counts as an athlete."""
    return c.intake.lifestyle.sport_hours_per_week >= c.param("athlete_min_sport_hours_per_week")


@rule("person.heavy_drinker", gives=("heavy_drinker",))
def heavy_drinker(c: Context) -> bool:
    """Fan 2021's definition: more than 1 drink a day (women) or 2 (men), from units per week."""
    entry = c.kb.risk_factors["alcohol"]
    c.cite(entry.statement)
    key = (
        "women_drinks_per_day_over"
        if c.intake.person.sex == "female"
        else "men_drinks_per_day_over"
    )
    return c.intake.lifestyle.alcohol_units_per_week / 7 > float(entry.params[key])
