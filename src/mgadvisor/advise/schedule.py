"""When: a day schedule that keeps every medicine's gap at once.

Every daily medicine at time t with spacing (a = medicine first, b = magnesium first) allows a
magnesium intake at x only if, going round the clock, x is at least a hours after t and at
least b hours before the next dose of t: (x - t) mod 24 ∈ [a, 24 - b]. Intakes start at their
preferred moment (sleep: evening) and move to the nearest time that satisfies all medicines.

Only medicines taken every day move the daily intakes. A weekly or monthly medicine keeps
magnesium apart on the day it is taken (its row says what to do that day); a medicine taken as
needed gets its gap in words on its row. Every medicine entered has a row: at each dose time,
or without a time when none was given.

A medicine that is not recognised but has dose times is kept apart as the strictest known
interaction asks (`strictest_gap`), until it is identified; without times a note says that
nothing could be kept apart.
"""

from __future__ import annotations

import functools
from bisect import bisect_left
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from mgadvisor.advice import Finding, IntakeMoment, InteractionHit, ProductUse, ScheduleItem
from mgadvisor.assess.medication import MedicationReview, strictest_gap
from mgadvisor.engine import Context, rule
from mgadvisor.intake import Intake, Medication
from mgadvisor.kb.base import KnowledgeBase
from mgadvisor.kb.models import Compound

STEP_H = 0.25  # search grid: quarter hours
ORDER = ("morning", "midday", "evening", "bedtime")
PERIODIC = Medication.PERIODIC  # not every day: magnesium is kept apart on that day only


@dataclass(frozen=True, slots=True)
class Constraint:
    medication: str
    time_h: float
    medicine_first_h: float
    magnesium_first_h: float
    sources: list[str]
    frequency: str = "daily"

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


def moment_at(at: float) -> str:
    """The moment of the day a (moved) time falls in, so the label fits the clock."""
    if at < 11:
        return "morning"
    if at < 15:
        return "midday"
    if at < 21.5:
        return "evening"
    return "bedtime"


def moments_for(preferred: list[str], count: int, avoid: Sequence[str] = ()) -> list[str]:
    """`count` moments of the day: the preferred ones first, then morning, evening, midday and
    bedtime; moments in `avoid` only when the others do not suffice."""
    chosen = [m for m in dict.fromkeys(preferred) if m not in avoid][:count]
    fill = [m for m in ("morning", "evening", "midday", "bedtime") if m not in avoid]
    for moment in [*fill, *avoid]:
        if len(chosen) >= count:
            break
        if moment not in chosen and not ("bedtime" in chosen and moment == "evening"):
            chosen.append(moment)
    return sorted(chosen, key=ORDER.index)


def day_moments(c: Context, compound: Compound, count: int) -> list[str]:
    """The moments of the intakes; a compound that does not suit a moment (its timing's
    `not_at`, e.g. a form for the start of the day in the evening) is kept out of it, with a
    note that says so."""
    preferred = preferred_moments(c.kb, c.intake, compound)
    avoid = list(compound.timing.not_at) if compound.timing else []
    moments = moments_for(preferred, count, avoid)
    skipped = [m for m in moments_for(preferred, count) if m not in moments]
    if skipped and compound.timing is not None:
        note = c.finding(
            "schedule.compound_not_at",
            cites=[compound.timing],
            compound=compound.code,
        )
        c.emit(note, "schedule_notes")
    return moments


def assumed_times(frequency: str) -> list[str]:
    """The parameters giving the dose times assumed for a medicine without times: the default
    medicine time, or the morning/midday/evening times for two or three doses a day."""
    moments = {"twice_daily": ORDER[:3:2], "three_times_daily": ORDER[:3]}
    if frequency in moments:
        return [f"time_{m}" for m in moments[frequency]]
    return ["time_medicine_default"]


def constraints(c: Context, hits: list[InteractionHit]) -> list[Constraint]:
    """One constraint per dose of each medicine with a spacing rule; a dose without a time is
    assumed at the default time(s) for its frequency, and the schedule says so. A medicine
    taken as needed has no fixed dose, so no constraint (its row gives the gap in words)."""
    out = []
    for hit in hits:
        if hit.medicine_first_h is None or hit.magnesium_first_h is None:
            continue
        if hit.frequency == "as_needed":
            continue
        given = [hours(hit.time)] if hit.time else []
        for name in assumed_times(hit.frequency) if hit.time is None else []:
            assumed = c.kb.parameters[name]
            given.append(assumed.value)
            note = c.finding(
                "schedule.medicine_time_assumed",
                cites=[assumed],
                medication=hit.medication,
                atc=hit.atc,
                time=clock(assumed.value),
            )
            c.emit(note, "schedule_notes")
        for at in given:
            out.append(
                Constraint(
                    hit.medication,
                    at,
                    hit.medicine_first_h,
                    hit.magnesium_first_h,
                    hit.sources,
                    hit.frequency,
                )
            )
    return out


def frequency_unknown(c: Context, review: MedicationReview) -> set[str]:
    """The medicines to keep apart from magnesium (a spacing rule, or not recognised) whose
    name says how often in words that are not understood and whose intake gives no frequency:
    no time of day can be known to keep their gap, so the plan waits (a critical note each)."""
    spaced = {h.medication for h in review.interactions if h.medicine_first_h is not None}
    waiting: set[str] = set()
    for match, reading in zip(review.matches, review.readings, strict=True):
        if reading is None or reading.outcome != "unknown":
            continue
        if match.input not in spaced and match.resolved:
            continue
        with c.scope():
            for code in reading.said.facts:
                c.fact(code)
            note = c.finding(
                "schedule.frequency_unknown_on_hold",
                severity="critical",
                medication=match.input,
                words=", ".join(f"'{w}'" for w in reading.said.words),
            )
            c.emit(note, "warnings")
        waiting.add(match.input)
    return waiting


def unidentified(
    c: Context, review: MedicationReview, waiting: set[str] | None = None
) -> list[Constraint]:
    """A medicine that is not recognised, taken at known times, is kept apart from magnesium
    as the strictest known interaction asks, and a note says the plan assumed so until it is
    identified; without times (or taken as needed) a note says nothing could be kept apart."""
    out = []
    gap = strictest_gap(c.kb)
    for med, match in zip(review.meds, review.matches, strict=True):
        if match.resolved or match.input in (waiting or set()):
            continue
        given = [] if med.frequency == "as_needed" else med.dose_times
        with c.scope():
            convention = c.fact("practice_unidentified_medicine_gap")
            if not given or gap is None:
                note = c.finding(
                    "schedule.unidentified_no_time", severity="warning", medication=match.input
                )
                c.emit(note, "schedule_notes")
                continue
            entry = gap.entries[0]
            basis = [s for e in gap.entries for s in (e.mechanism, e.advice) if s is not None]
            c.cite(*basis)
            sources = list(
                dict.fromkeys([*convention.sources, *(k for s in basis for k in s.sources)])
            )
            note = c.finding(
                "schedule.unidentified_kept_apart",
                severity="warning",
                medication=match.input,
                times=", ".join(given),
                medicine_first_h=gap.medicine_first_h,
                magnesium_first_h=gap.magnesium_first_h,
                interaction=entry.code,
            )
            c.emit(note, "schedule_notes")
        out += [
            Constraint(
                match.input,
                hours(at),
                gap.medicine_first_h,
                gap.magnesium_first_h,
                sources,
                med.frequency,
            )
            for at in given
        ]
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
    needs=("main_compound", "dose_target", "dose_count", "medications", "product"),
)
def plan(c: Context) -> Plan:
    """Intakes at their preferred moments, each moved to the nearest time that keeps every daily
    medicine's gap; a moment with no such time is dropped with a critical warning. Weekly and
    monthly medicines say on their row what to do on their day; every medicine has a row."""
    compound: Compound = c.value("main_compound")
    count: int = c.value("dose_count")
    review: MedicationReview = c.value("medications")
    hits = review.interactions
    waiting = frequency_unknown(c, review)
    rules = constraints(c, [h for h in hits if h.medication not in waiting]) + unidentified(
        c, review, waiting
    )
    daily = [r for r in rules if r.frequency not in PERIODIC]
    moments = day_moments(c, compound, count)
    placed = place(c, [c.param(f"time_{m}", cite=False) for m in moments], daily)
    if waiting:  # how often a medicine to keep apart is taken is not known: no time is safe
        placed = [None] * len(moments)
    some = any(at is not None for at in placed)
    meal = compound.timing.meal.value if compound.timing else "any"
    per_intake = round(c.value("dose_target") / count, 1) if count else 0.0
    intakes: list[IntakeMoment] = []
    schedule: list[ScheduleItem] = []
    for moment, at in zip(moments, placed, strict=True):
        if at is None and waiting:
            continue
        if at is None:
            note = c.finding(
                "schedule.moment_no_time" if some else "schedule.no_valid_time",
                severity="warning" if some else "critical",
                cites=[r.sources for r in daily],
                moment=moment,
                medications=list(dict.fromkeys(r.medication for r in daily)),  # once each
            )
            c.emit(note, "warnings")
            continue
        intakes.append(IntakeMoment(clock(at), moment_at(at), per_intake, compound.code, meal))
    if intakes and len(intakes) < len(moments):
        # a moment found no time: the day's dose goes to the moments that did
        share = round(c.value("dose_target") / len(intakes), 1)
        for intake in intakes:
            intake.elemental_mg = share
    product: ProductUse | None = c.value("product")
    if product is not None and product.advised_units_per_day and intakes:
        intakes = in_whole_units(intakes, product.advised_units_per_day, c.value("dose_target"))
    for intake in intakes:
        schedule.append(ScheduleItem(intake.time, "magnesium", compound.code, intake.elemental_mg))
    notes = day_notes(c, [hours(i.time) for i in intakes], daily, rules)
    schedule += medicine_rows(c, hits, rules, notes)
    schedule.sort(key=lambda item: (item.time is None, hours(item.time or "00:00"), item.kind))
    return Plan(intakes, schedule)


def in_whole_units(intakes: list[IntakeMoment], units: int, dose: float) -> list[IntakeMoment]:
    """The client's own product in whole units per intake: fewer units than intakes keeps the
    last intakes (the preferred moment comes last); a remainder goes to the last intakes, so
    3 tablets over 2 intakes are 1 + 2, never 1.5 + 1.5."""
    kept = intakes[-units:] if units < len(intakes) else intakes
    base, extra = divmod(units, len(kept))
    for i, intake in enumerate(kept):
        count = base + (1 if i >= len(kept) - extra else 0)
        intake.elemental_mg = round(dose * count / units, 1)
    return kept


def day_notes(
    c: Context, intakes: list[float], daily: list[Constraint], rules: list[Constraint]
) -> dict[str, Finding]:
    """For each weekly or monthly medicine whose gap a daily intake breaks: on that day, the
    intake moves to the nearest time keeping every gap, or is skipped."""
    notes: dict[str, Finding] = {}
    earliest = c.param("schedule_earliest", cite=False)
    latest = c.param("schedule_latest", cite=False)
    apart = c.param("magnesium_intakes_apart_h", cite=False)
    for rule_ in (r for r in rules if r.frequency in PERIODIC):
        for i, x in enumerate(intakes):
            if rule_.allows(x):
                continue
            others = intakes[:i] + intakes[i + 1 :]
            free = [
                g
                for g in free_times(earliest, latest, [*daily, rule_])
                if all(abs(g - o) >= apart for o in others)
            ]
            params: dict[str, Any] = {"medication": rule_.medication, "from": clock(x)}
            if free:
                code, params["to"] = "schedule.on_medicine_day", clock(_nearest(free, x))
            else:
                code = "schedule.on_medicine_day_skip"
            with c.scope():  # a row's note is not emitted: cite so the trace shows it
                c.cite(rule_.sources)
                notes[rule_.medication] = c.finding(code, **params)
    return notes


def medicine_rows(
    c: Context, hits: list[InteractionHit], rules: list[Constraint], notes: dict[str, Finding]
) -> list[ScheduleItem]:
    """Every medicine entered, once per dose: at its time(s), at the assumed time(s) of a
    spacing rule, or without a time (time not given; taken as needed, with its gap in words)."""
    timed: dict[str, list[float]] = {}
    for r in rules:
        timed.setdefault(r.medication, []).append(r.time_h)
    spaced = {h.medication: h for h in hits if h.medicine_first_h is not None}
    review = c.value("medications")
    rows: dict[tuple[str, str | None], ScheduleItem] = {}
    for med, match in zip(review.meds, review.matches, strict=True):
        label, atc = match.input, match.atc
        times: list[str | None] = list(med.dose_times)
        if med.frequency == "as_needed":
            times = [None]
        elif not times:
            times = [clock(h) for h in timed.get(label, [])] or [None]
        note = notes.get(label) or _as_needed_note(c, med, spaced.get(label))
        for at in times:
            rows.setdefault(
                (label, at),
                ScheduleItem(at, "medication", label, atc=atc, note=note, frequency=med.frequency),
            )
    return list(rows.values())


def _as_needed_note(c: Context, med: Medication, hit: InteractionHit | None) -> Finding | None:
    if med.frequency != "as_needed" or hit is None:
        return None
    with c.scope():  # a row's note is not emitted: cite so the trace shows it
        c.cite(hit.sources)
        return c.finding(
            "schedule.as_needed",
            medication=hit.medication,
            atc=hit.atc,
            medicine_first_h=hit.medicine_first_h,
            magnesium_first_h=hit.magnesium_first_h,
        )
