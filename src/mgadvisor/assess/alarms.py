"""Alarms: combinations of findings that need a doctor soon (knowledge/alarms.yaml).

Each alarm is data: groups of criteria (a complaint, a condition, a goal, a medicine, a lab
flag, a week of pregnancy) that must all hold; it gives a referral whose message says how soon
(emergency, same day, routine). An emergency or same-day referral withholds the supplement plan
(`dose.withheld`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from mgadvisor.advice import Finding, Indicator, LabResult, MedicationMatch
from mgadvisor.assess.labs import LabReading
from mgadvisor.engine import Context, rule
from mgadvisor.intake import bound_sign
from mgadvisor.kb.base import KnowledgeBase
from mgadvisor.kb.models import Alarm


class _Facts:
    """What the criteria are checked against, gathered once per advice."""

    __slots__ = (
        "age",
        "bounds",
        "codes",
        "flags",
        "lactating",
        "medicines",
        "pregnant",
        "qt",
        "tokens",
        "values",
        "week",
    )

    def __init__(self, c: Context) -> None:
        intake = c.intake
        self.codes = {
            "complaint": set(intake.complaints),
            "condition": set(intake.conditions),
            "goal": set(intake.goals),
        }
        self.flags: dict[str, str] = c.value("lab_flags")
        # the criteria that are a plain "kind:code" look-up, as one set (see `_Group`)
        self.tokens = {f"{kind}:{code}" for kind, codes in self.codes.items() for code in codes}
        self.tokens.update(f"{flag}:{analyte}" for analyte, flag in self.flags.items())
        results: list[LabResult] = c.value("lab_results")
        # compared unrounded: the 3 decimals of `value_canonical` can move a value across a
        # limit (0.99 mg/dL phosphate is 0.3196 mmol/L, shown 0.32); shown as rounded
        readings: dict[str, LabReading] = c.value("lab_readings")
        self.values = {
            row.analyte: readings[row.analyte].value
            if row.analyte in readings
            else row.value_canonical
            for row in results
        }
        # analyte → the lab value of each value given only as a bound ("<2.6") that lies
        # outside its range on its open side ("<2.6" potassium is low already, ">0.7" serum
        # magnesium is not high): only such a bound may reach an urgent limit beyond it
        self.bounds = {
            lab.analyte: lab
            for lab in intake.labs
            if lab.comparator and _outside_on_its_side(lab.comparator, readings.get(lab.analyte))
        }
        self.tokens.update(f"value:{analyte}" for analyte in self.values)  # see `_index`
        review = c.value("medications")
        matches: list[MedicationMatch] = review.matches
        self.medicines = [(m.atc, m.input) for m in matches if m.atc]
        self.qt = [m.input for m, entry in review.entries if entry.check_electrolytes]
        self.lactating = intake.person.lactating
        self.week = intake.person.pregnancy_week
        self.pregnant = intake.person.pregnant
        self.age = intake.person.age

    def holds(self, criterion: tuple[str, str, str], params: dict[str, Any]) -> bool:
        """Whether one criterion (kind, code, number) holds; what matched goes into the
        finding's parameters."""
        kind, rest, number = criterion
        if kind in self.codes:
            hit = rest in self.codes[kind]
            if hit and kind == "complaint":
                params.setdefault("signs", []).append(rest)
            return hit
        if kind in ("low", "high"):
            hit = self.flags.get(rest) == kind
            if hit:
                params.setdefault("analytes", []).append(rest)
            return hit
        if kind in _VALUE_KINDS:
            found = self.values.get(rest)
            limit = float(number)
            hit = found is not None and _VALUE_KINDS[kind](found, limit)
            if hit and found is not None:
                # shown to 4 decimals at most: the text shows 2, or enough to tell it from
                # the limit (render.findings)
                params.update(analyte=rest, value=round(found, 4), limit=limit)
            return hit
        if kind == "qt_medicine":
            if self.qt:
                params["medication"] = self.qt[0]
            return bool(self.qt)
        if kind == "atc":
            names = [given for atc, given in self.medicines if atc.startswith(rest)]
            if names:
                params["medication"] = names[0]
            return bool(names)
        if kind == "pregnancy_week_from":
            return self.week is not None and self.week >= int(rest)
        if kind == "age_from":
            return self.age >= float(rest)
        if kind == "pregnant":
            return self.pregnant
        if kind == "lactating":
            return self.lactating
        return False


def _outside_on_its_side(comparator: str, reading: LabReading | None) -> bool:
    """The bound (read in the canonical unit) is beyond the range on the side it leaves open:
    "<2.6" potassium under 3.5, ">2.1" magnesium over 1.0."""
    if reading is None:
        return False
    if comparator in ("<", "<="):
        return reading.low is not None and reading.value < reading.low
    return reading.high is not None and reading.value > reading.high


# Kinds that compare a lab value (canonical unit) with the criterion's number: strictly below
# or above it, or at it and below ("at_most": a source's "2.5 or lower").
_VALUE_KINDS: dict[str, Callable[[float, float], bool]] = {
    "below": lambda value, limit: value < limit,
    "above": lambda value, limit: value > limit,
    "at_most": lambda value, limit: value <= limit,
}

# A value given as a bound can lie anywhere on its open side: "<2.6" may be 2.0. Which kinds a
# bound's side can reach past the limit ("<2.6" and at_most 2.5), with the message that says so.
_MAY_PASS = {
    "below": ("<", "<=", "referral.lab_bound_may_be_below"),
    "at_most": ("<", "<=", "referral.lab_bound_may_be_below"),
    "above": (">", ">=", "referral.lab_bound_may_be_above"),
}

# Kinds whose criterion holds exactly when "kind:code" is among the intake's tokens.
_TOKEN_KINDS = frozenset({"complaint", "condition", "goal", "low", "high"})

# One group of an alarm: its criteria split into (kind, code, number), and, when every one of
# them is a token look-up, the set of their tokens (None otherwise).
_Group = tuple[list[tuple[str, str, str]], frozenset[str] | None]


def _compiled(kb: KnowledgeBase) -> list[tuple[Alarm, list[_Group]]]:
    """Each alarm with its criteria split once into (kind, code, number)."""
    cached = kb._cache.get("alarms_compiled")
    if cached is None:
        cached = []
        for alarm in kb.alarms.values():
            groups: list[_Group] = []
            for group in alarm.when:
                parts = []
                for criterion in group:
                    kind, _, rest = criterion.partition(":")
                    code, _, number = rest.partition(":")
                    parts.append((kind, code, number))
                plain = all(kind in _TOKEN_KINDS and not number for kind, _, number in parts)
                groups.append((parts, frozenset(group) if plain else None))
            cached.append((alarm, groups))
        kb._cache["alarms_compiled"] = cached
    return cached


# A criterion of these kinds can hold only when this token is among the intake's (`_Facts`).
_INDEX_TOKEN = {kind: "value:{code}" for kind in _VALUE_KINDS} | {
    kind: kind + ":{code}" for kind in _TOKEN_KINDS
}


def _index(kb: KnowledgeBase) -> tuple[dict[str, list[int]], list[int]]:
    """(token → positions of the alarms that can fire only with it, positions of the alarms
    that can fire without any token), so an advice checks only the alarms its tokens allow.

    An alarm fires only when each of its groups has a criterion that holds; so a group whose
    every criterion needs a token (a complaint, a flag, a lab value) rules the alarm out when
    none of those tokens is there. One such group per alarm is its key."""
    cached = kb._cache.get("alarms_index")
    if cached is None:
        by_token: dict[str, list[int]] = {}
        always: list[int] = []
        for position, (_, groups) in enumerate(_compiled(kb)):
            keys = [
                {_INDEX_TOKEN[kind].format(code=code) for kind, code, _ in parts}
                for parts, _ in groups
                if all(kind in _INDEX_TOKEN for kind, _, _ in parts)
            ]
            if not keys:
                always.append(position)
                continue
            for token in min(keys, key=len):
                by_token.setdefault(token, []).append(position)
        cached = kb._cache["alarms_index"] = (by_token, always)
    return cached


def _candidates(kb: KnowledgeBase, facts: _Facts) -> list[tuple[Alarm, list[_Group]]]:
    """The alarms that can fire for these facts, in the knowledge base's order."""
    by_token, always = _index(kb)
    positions = set(always)
    for token in facts.tokens:
        found = by_token.get(token)
        if found is not None:
            positions.update(found)
    compiled = _compiled(kb)
    return [compiled[i] for i in sorted(positions)]


def fires(groups: list[_Group], facts: _Facts) -> dict[str, Any] | None:
    """The finding's parameters when every group of the alarm has a criterion that holds."""
    tokens = facts.tokens
    for _, plain in groups:  # most alarms fail on a group of look-ups: one set test each
        if plain is not None and plain.isdisjoint(tokens):
            return None
    params: dict[str, Any] = {}
    for group, _ in groups:
        # every criterion is checked, so the finding names all that matched
        if not [criterion for criterion in group if facts.holds(criterion, params)]:
            return None
    return params


def may_fire(groups: list[_Group], facts: _Facts) -> dict[str, Any] | None:
    """When the alarm does not fire but would for a value a lab gave only as a bound ("<2.6"
    with "potassium 2.5 or lower"): the bound, the limit it may pass and the message saying so.
    Every group must hold or hold for some value the bound allows."""
    if not facts.bounds:
        return None
    maybe: dict[str, Any] | None = None
    for group, _ in groups:
        if any(facts.holds(criterion, {}) for criterion in group):
            continue
        for kind, analyte, number in group:
            side = _MAY_PASS.get(kind)
            lab = facts.bounds.get(analyte)
            if side is not None and lab is not None and lab.comparator in side[:2]:
                # the sign and the number as the lab gave them ("<1.0 mg/dL")
                maybe = maybe or {
                    "code": side[2],
                    "analyte": analyte,
                    "sign": bound_sign(lab.comparator),
                    "bound": lab.value,
                    "unit": lab.unit,
                    "limit": float(number),
                }
                break
        else:
            return None
    return maybe


@rule(
    "referral.alarms",
    gives=("referral",),
    needs=("lab_flags", "lab_results", "lab_readings", "medications"),
)
def alarms(c: Context) -> list[Finding]:
    """Each alarm of the knowledge base whose criteria all hold: a referral, as urgent as its
    message says, citing why the combination is urgent. An urgent alarm that a lab value given
    only as a bound may meet ("<2.6": perhaps 2.5 or lower) withholds the plan the same way,
    asking for the number (safety first: a lab sends a bound when it cannot say more)."""
    facts = _Facts(c)
    found: list[Finding] = []
    given: set[str] = set()
    unclear: list[tuple[Alarm, dict[str, Any]]] = []
    for alarm, groups in _candidates(c.kb, facts):
        if alarm.referral in given:
            continue  # two ways to the same referral: say it once
        params = fires(groups, facts)
        if params is None:
            maybe = may_fire(groups, facts)
            if maybe is not None and c.kb.messages[alarm.referral].urgency != "routine":
                unclear.append((alarm, maybe))
            continue
        given.add(alarm.referral)
        urgent = c.kb.messages[alarm.referral].urgency != "routine"
        severity: Indicator = "critical" if urgent else "warning"
        found.append(
            c.finding(alarm.referral, severity=severity, cites=[alarm.statement], **params)
        )
    said: set[tuple[str, str]] = set()
    for alarm, maybe in unclear:
        code = maybe.pop("code")
        if alarm.referral in given or (code, maybe["analyte"]) in said:
            continue
        said.add((code, maybe["analyte"]))
        if c.kb.messages[alarm.referral].stops_products:
            code += "_stop"
        found.append(c.finding(code, severity="critical", cites=[alarm.statement], **maybe))
    return found
