"""When: a day schedule that keeps every medicine's gap at once.

Every daily medicine at time t with spacing (a = medicine first, b = magnesium first) allows a
magnesium intake at x only if, going round the clock, x is at least a hours after t and at
least b hours before the next dose of t: (x - t) mod 24 ∈ [a, 24 - b]. Intakes start at their
preferred moment (sleep: evening) and move to the nearest time that satisfies all medicines.
"""

from __future__ import annotations

import functools
from bisect import bisect_left
from dataclasses import dataclass

from mgadvisor.advice import IntakeMoment, InteractionHit, ScheduleItem
from mgadvisor.engine import Context, rule
from mgadvisor.intake import Intake
from mgadvisor.kb.base import KnowledgeBase
from mgadvisor.kb.models import Compound

STEP_H = 0.25  # search grid: quarter hours
ORDER = ("morning", "midday", "evening", "bedtime")


@dataclass(frozen=True, slots=True)
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


def constraints(c: Context, hits: list[InteractionHit]) -> list[Constraint]:
    """One constraint per dose of each medicine with a spacing rule; a dose without a time is
    assumed at the default medicine time, and the schedule says so."""
    out = []
    for hit in hits:
        if hit.medicine_first_h is None or hit.magnesium_first_h is None:
            continue
        given = hit.time  # each dose of a medicine taken twice a day is its own constraint
        if given is None:
            default = c.kb.parameters["time_medicine_default"]
            note = c.finding(
                "schedule.medicine_time_assumed",
                cites=[default],
                medication=hit.medication,
                atc=hit.atc,
                time=clock(default.value),
            )
            c.emit(note, "schedule_notes")
        at = hours(given) if given else c.param("time_medicine_default", cite=False)
        out.append(
            Constraint(hit.medication, at, hit.medicine_first_h, hit.magnesium_first_h, hit.sources)
        )
    return out


def _nearest(ascending: list[float], x: float) -> float:
    """The value closest to `x` in a non-empty ascending list; the earlier one on a tie."""
    i = bisect_left(ascending, x)
    neighbours = ascending[max(i - 1, 0) : i + 1]
    return min(neighbours, key=lambda g: (abs(g - x), g))


def free_times(earliest: float, latest: float, rules: list[Constraint]) -> list[float]:
    """The quarter hours of the day that keep every medicine's gap (Constraint.allows, inlined)."""
    gaps = tuple((r.time_h, r.medicine_first_h, r.magnesium_first_h) for r in rules)
    return _free(earliest, latest, gaps)


@functools.lru_cache(maxsize=1024)
def _free(
    earliest: float, latest: float, gaps: tuple[tuple[float, float, float], ...]
) -> list[float]:
    # Cached: the same medicine times recur from client to client; callers never mutate it.
    free = [earliest + i * STEP_H for i in range(int((latest - earliest) / STEP_H) + 1)]
    for time_h, low, magnesium_first in gaps:
        high = 24 - magnesium_first
        free = [g for g in free if low <= (g - time_h) % 24 <= high]
    return free


def place(c: Context, wanted: list[float], rules: list[Constraint]) -> list[float | None]:
    """Move each wanted time to the nearest allowed quarter hour, keeping intakes apart."""
    free = free_times(
        c.param("schedule_earliest", cite=False), c.param("schedule_latest", cite=False), rules
    )
    apart = c.param("magnesium_intakes_apart_h", cite=False)
    placed: list[float | None] = []
    for x in wanted:
        options = free
        for p in placed:
            if p is not None:
                options = [g for g in options if abs(g - p) >= apart]
        if not options:
            placed.append(None)
            continue
        best = _nearest(options, x)
        if best != x:
            for entry in rules:
                if not entry.allows(x):
                    note = c.finding(
                        "schedule.moved_for_gap",
                        cites=[entry.sources],
                        medication=entry.medication,
                        medicine_first_h=entry.medicine_first_h,
                        magnesium_first_h=entry.magnesium_first_h,
                        **{"from": clock(x), "to": clock(best)},  # type: ignore[arg-type]
                    )
                    c.emit(note, "schedule_notes")
        placed.append(best)
    return placed


@dataclass(slots=True)
class Plan:
    """The magnesium intakes of a day, and the day schedule with every medicine's doses."""

    intakes: list[IntakeMoment]
    schedule: list[ScheduleItem]


@rule(
    "schedule.plan",
    gives=("plan", "warnings", "schedule_notes"),
    needs=("main_compound", "dose_target", "dose_count", "medications"),
)
def plan(c: Context) -> Plan:
    """Intakes at their preferred moments, each moved to the nearest time that keeps every
    medicine's gap; a moment with no such time is dropped with a critical warning."""
    compound: Compound = c.value("main_compound")
    count: int = c.value("dose_count")
    hits: list[InteractionHit] = c.value("medications").interactions
    rules = constraints(c, hits)
    moments = moments_for(preferred_moments(c.kb, c.intake, compound), count)
    placed = place(c, [c.param(f"time_{m}", cite=False) for m in moments], rules)
    meal = compound.timing.meal.value if compound.timing else "any"
    per_intake = round(c.value("dose_target") / count, 1) if count else 0.0
    intakes: list[IntakeMoment] = []
    schedule: list[ScheduleItem] = []
    for moment, at in zip(moments, placed, strict=True):
        if at is None:
            note = c.finding(
                "schedule.no_valid_time",
                severity="critical",
                cites=[r.sources for r in rules],
                moment=moment,
                medications=[r.medication for r in rules],
            )
            c.emit(note, "warnings")
            continue
        intakes.append(IntakeMoment(clock(at), moment, per_intake, compound.code, meal))
        schedule.append(ScheduleItem(clock(at), "magnesium", compound.code, per_intake))
    schedule += _medicine_items(hits, rules)
    schedule.sort(key=lambda item: (hours(item.time), item.kind))
    return Plan(intakes, schedule)


def _medicine_items(hits: list[InteractionHit], rules: list[Constraint]) -> list[ScheduleItem]:
    """Every dose of every medicine with a spacing rule appears in the day schedule, once."""
    atc = {hit.medication: hit.atc for hit in hits}
    seen: set[tuple[str, float]] = set()
    items = []
    for entry in rules:
        if (entry.medication, entry.time_h) not in seen:
            seen.add((entry.medication, entry.time_h))
            label = entry.medication
            items.append(ScheduleItem(clock(entry.time_h), "medication", label, atc=atc.get(label)))
    return items
