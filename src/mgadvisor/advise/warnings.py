"""Warnings that go with any dose: side effects, interactions and medicines to look at again.

Warnings about the dose against the upper level live in `dose.py`, about the client's product in
`product.py`, about the schedule in `schedule.py`.
"""

from __future__ import annotations

from mgadvisor.advice import Finding, Indicator
from mgadvisor.engine import Context, rule
from mgadvisor.kb.models import Compound, Level


@rule("warning.osmotic_diarrhoea", gives=("warnings",), needs=("main_compound", "dose_target"))
def osmotic_diarrhoea(c: Context) -> Finding | None:
    """A compound with a moderate or strong laxative effect can cause diarrhoea."""
    compound: Compound = c.value("main_compound")
    if compound.laxative.level not in (Level.MODERATE, Level.HIGH) or c.value("dose_target") <= 0:
        return None
    effects = [e.statement for e in c.kb.safety.side_effects if e.code == "osmotic_diarrhoea"]
    return c.finding(
        "warning.osmotic_diarrhoea", cites=effects or [compound.laxative], compound=compound.code
    )


@rule("warning.diarrhoea_not_a_test", gives=("warnings",), needs=("dose_target",))
def diarrhoea_not_a_test(c: Context) -> Finding | None:
    """Diarrhoea is a side effect to avoid, not a test of saturation (seed versus authority)."""
    if c.value("dose_target") <= 0:
        return None
    for conflict in c.kb.safety.conflicts:
        if conflict.code == "saturation_test":
            c.cite(conflict.seed, conflict.authority)
    return c.finding("warning.diarrhoea_not_a_test")


@rule("warning.interaction", gives=("warnings",), needs=("medications",))
def interactions(c: Context) -> list[Finding]:
    """'Avoid together' interactions are critical; parenteral-only ones are told for context."""
    found = []
    told: set[tuple[str, str, str]] = set()  # a hit per dose time: one warning per rule
    severity: Indicator
    for hit in c.value("medications").interactions:
        key = (hit.severity, hit.medication, hit.interaction)
        if key in told:
            continue
        told.add(key)
        if hit.severity == "avoid":
            code, severity = "warning.interaction_avoid", "critical"
        elif hit.severity == "info":
            code, severity = "warning.interaction_parenteral", "info"
        else:
            continue
        found.append(
            c.finding(
                code,
                severity=severity,
                cites=[hit.sources],
                medication=hit.medication,
                atc=hit.atc,
            )
        )
    return found


@rule("warning.medication_names", gives=("warnings",), needs=("medications",))
def medication_names(c: Context) -> list[Finding]:
    """A name that was not recognised, or recognised only as a near miss, is said so."""
    found = []
    for match in c.value("medications").matches:
        if match.resolved and match.match != "fuzzy":
            continue
        c.fact("practice_medicine_names_atc")
        if not match.resolved:
            found.append(
                c.finding(
                    "warning.medication_unresolved",
                    severity="warning",
                    medication=match.input,
                    suggestions=match.suggestions,
                )
            )
        else:
            found.append(
                c.finding(
                    "warning.medication_fuzzy",
                    medication=match.input,
                    resolved_as=match.name or "",
                    atc=match.atc,
                )
            )
    return found


@rule("warning.medication_twice", gives=("warnings",), needs=("medications",))
def medication_twice(c: Context) -> list[Finding]:
    """Two entries that are the same active substance (a brand and its generic name): one
    warning to check whether it is really taken twice (the risk counts it once)."""
    inputs: dict[str, list[str]] = {}
    for match in c.value("medications").matches:
        if match.resolved and match.atc is not None:
            inputs.setdefault(match.atc, []).append(match.input)
    found = []
    for atc, entered in inputs.items():
        if len(entered) < 2:
            continue
        c.fact("practice_medicine_names_atc")
        found.append(
            c.finding(
                "warning.medication_twice",
                severity="warning",
                medications=entered,
                atc=atc,
            )
        )
    return found


@rule("warning.depleting_medicine", gives=("warnings",), needs=("medications",))
def depleting_medicine(c: Context) -> list[Finding]:
    """Each medicine that lowers magnesium is named with its group."""
    return [
        c.finding(
            "warning.depleting_medicine",
            cites=[dep.statement],
            medication=match.input,
            atc=match.atc,
            group=dep.code,
        )
        for match, dep in c.value("medications").depleting
    ]


@rule("warning.evidence_caveat", gives=("warnings",), needs=("dose_target",))
def evidence_caveats(c: Context) -> list[Finding]:
    """A complaint whose knowledge entry has an evidence caveat for the client's group (e.g.
    cramps in older adults): the advice says how little the best evidence expects."""
    if c.value("dose_target") <= 0:
        return []
    person = c.intake.person
    found = []
    for code in c.intake.complaints:
        caveat = c.kb.symptoms[code].evidence_caveat
        if caveat is None or int(person.age) < caveat.from_age:
            continue
        if caveat.not_pregnant and person.pregnant:
            continue
        found.append(c.finding(caveat.code, cites=[caveat], symptom=code))
    return found
