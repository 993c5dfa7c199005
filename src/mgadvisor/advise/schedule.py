"""When: a day schedule that keeps every medicine's gap at once.

Every daily medicine at time t with spacing (a = medicine first, b = magnesium first) allows a
magnesium intake at x only if, going round the clock, x is at least a hours after t and at
least b hours before the next dose of t: (x - t) mod 24 ∈ [a, 24 - b]. Intakes start at their
preferred moment (sleep: evening) and move to the nearest time that satisfies all medicines.
"""

from __future__ import annotations

from bisect import bisect_left
from dataclasses import dataclass

from mgadvisor.advice import Finding, IntakeMoment, InteractionHit, MedicationMatch, ScheduleItem
from mgadvisor.intake import Intake
from mgadvisor.kb.base import KnowledgeBase
from mgadvisor.kb.models import Compound

STEP_H = 0.25  # search grid: quarter hours
MIN_APART_H = 2.0  # two magnesium intakes at least this far apart
ORDER = ("morning", "midday", "evening", "bedtime")


@dataclass(frozen=True)
class Constraint:
    medication: str
    time_h: float
    medicine_first_h: float
    magnesium_first_h: float
    sources: list[str]

    def allows(self, x: float) -> bool:
        delta = (x - self.time_h) % 24
        return self.medicine_first_h <= delta <= 24 - self.magnesium_first_h


def clock(hours: float) -> str:
    minutes = round(hours * 60) % (24 * 60)
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


def hours(text: str) -> float:
    hh, mm = text.split(":")
    return int(hh) + int(mm) / 60


def preferred_moments(kb: KnowledgeBase, intake: Intake, compound: Compound) -> list[str]:
    for goal in intake.goals:
        moments = kb.applications[goal].moments
        if moments:
            return [m.value for m in moments]
    if compound.timing is not None:
        return [m.value for m in compound.timing.moments]
    return ["morning"]


def moments_for(preferred: list[str], count: int) -> list[str]:
    chosen = list(dict.fromkeys(preferred))[:count]
    for moment in ("morning", "evening", "midday", "bedtime"):
        if len(chosen) >= count:
            break
        if moment not in chosen and not ("bedtime" in chosen and moment == "evening"):
            chosen.append(moment)
    return sorted(chosen, key=ORDER.index)


def constraints(
    kb: KnowledgeBase, hits: list[InteractionHit], matches: list[MedicationMatch]
) -> tuple[list[Constraint], list[Finding]]:
    default = kb.parameters["time_medicine_default"]
    notes: list[Finding] = []
    out = []
    for hit in hits:
        if hit.medicine_first_h is None or hit.magnesium_first_h is None:
            continue
        given = hit.time  # each dose of a medicine taken twice a day is its own constraint
        if given is None:
            notes.append(
                Finding(
                    code="schedule.medicine_time_assumed",
                    params={"medication": hit.name or hit.medication, "time": clock(default.value)},
                    sources=list(default.sources),
                )
            )
        at = hours(given) if given else default.value
        label = hit.name or hit.medication
        out.append(Constraint(label, at, hit.medicine_first_h, hit.magnesium_first_h, hit.sources))
    return out, notes


def _nearest(ascending: list[float], x: float) -> float:
    """The value closest to `x` in a non-empty ascending list; the earlier one on a tie."""
    i = bisect_left(ascending, x)
    neighbours = ascending[max(i - 1, 0) : i + 1]
    return min(neighbours, key=lambda g: (abs(g - x), g))


def place(
    kb: KnowledgeBase, wanted: list[float], rules: list[Constraint]
) -> tuple[list[float | None], list[Finding]]:
    """Move each wanted time to the nearest allowed quarter hour, keeping intakes apart."""
    earliest, latest = kb.param("schedule_earliest"), kb.param("schedule_latest")
    grid = [earliest + i * STEP_H for i in range(int((latest - earliest) / STEP_H) + 1)]
    free = grid  # the quarter hours that keep every medicine's gap (Constraint.allows, inlined)
    for rule in rules:
        low, high = rule.medicine_first_h, 24 - rule.magnesium_first_h
        free = [g for g in free if low <= (g - rule.time_h) % 24 <= high]
    placed: list[float | None] = []
    notes: list[Finding] = []
    for x in wanted:
        taken = [p for p in placed if p is not None]
        options = [g for g in free if all(abs(g - p) >= MIN_APART_H for p in taken)]
        if not options:
            placed.append(None)
            continue
        best = _nearest(options, x)
        if best != x:
            blocking = [r for r in rules if not r.allows(x)]
            for rule in blocking:
                notes.append(
                    Finding(
                        code="schedule.moved_for_gap",
                        params={
                            "medication": rule.medication,
                            "from": clock(x),
                            "to": clock(best),
                            "medicine_first_h": rule.medicine_first_h,
                            "magnesium_first_h": rule.magnesium_first_h,
                        },
                        sources=rule.sources,
                    )
                )
        placed.append(best)
    return placed, notes


def plan(
    kb: KnowledgeBase,
    intake: Intake,
    compound: Compound,
    dose_mg: float,
    count: int,
    hits: list[InteractionHit],
    matches: list[MedicationMatch],
) -> tuple[list[IntakeMoment], list[ScheduleItem], list[Finding]]:
    rules, notes = constraints(kb, hits, matches)
    moments = moments_for(preferred_moments(kb, intake, compound), count)
    wanted = [kb.param(f"time_{m}") for m in moments]
    placed, moved = place(kb, wanted, rules)
    notes += moved
    meal = compound.timing.meal.value if compound.timing else "any"
    per_intake = round(dose_mg / count, 1) if count else 0.0
    intakes: list[IntakeMoment] = []
    schedule: list[ScheduleItem] = []
    for moment, at in zip(moments, placed, strict=True):
        if at is None:
            notes.append(
                Finding(
                    code="schedule.no_valid_time",
                    severity="critical",
                    params={"moment": moment, "medications": [r.medication for r in rules]},
                    sources=list(dict.fromkeys(k for r in rules for k in r.sources)),
                )
            )
            continue
        intakes.append(
            IntakeMoment(
                time=clock(at),
                moment=moment,
                elemental_mg=per_intake,
                compound=compound.code,
                meal=meal,
            )
        )
        schedule.append(
            ScheduleItem(
                time=clock(at), kind="magnesium", label=compound.code, elemental_mg=per_intake
            )
        )
    seen: set[tuple[str, float]] = set()
    for rule in rules:  # every dose of every medicine appears in the day schedule
        if (rule.medication, rule.time_h) not in seen:
            seen.add((rule.medication, rule.time_h))

            schedule.append(
                ScheduleItem(time=clock(rule.time_h), kind="medication", label=rule.medication)
            )
    schedule.sort(key=lambda item: (hours(item.time), item.kind))
    return intakes, schedule, notes
