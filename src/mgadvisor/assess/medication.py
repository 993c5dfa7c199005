"""Medicines: resolve what the client takes to ATC codes, then find interactions and depleters.

Names resolve case- and accent-insensitively against the name index (Dutch and English generic
and brand names); a small typo is accepted and reported as a fuzzy match; anything else is
returned unresolved with suggestions, never dropped.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from mgadvisor.advice import Finding, Indicator, InteractionHit, MedicationMatch
from mgadvisor.engine import Context, rule
from mgadvisor.intake import Medication
from mgadvisor.kb.base import KnowledgeBase
from mgadvisor.kb.models import Depleting, Interaction
from mgadvisor.kb.names import generic_name, normalize

FUZZY_ACCEPT = 88  # rapidfuzz score from which a near miss counts as the same name
FUZZY_SUGGEST = 70


def _index(kb: KnowledgeBase) -> dict[str, tuple[str, str]]:
    """Normalised name -> (ATC, name as written)."""
    cached = kb._cache.get("medicine_index")
    if isinstance(cached, dict):
        return cached
    index = {normalize(row.name): (row.atc, row.name) for row in kb.medicines}
    kb._cache["medicine_index"] = index
    return index


# The engine names medicines by their international (English) generic name; renderers choose
# the name in the reader's language from the ATC code (`kb.names.generic_name`).
NEUTRAL = "en"


def resolve(kb: KnowledgeBase, med: Medication) -> MedicationMatch:
    if med.atc:
        return MedicationMatch(
            input=med.name or med.atc,
            atc=med.atc,
            name=generic_name(kb, med.atc, NEUTRAL) or med.name,
            resolved=True,
            match="atc",
            time=med.time,
        )
    name = med.name or ""
    index = _index(kb)
    key = normalize(name)
    if key in index:
        atc, written = index[key]
        return MedicationMatch(
            input=name,
            atc=atc,
            name=generic_name(kb, atc, NEUTRAL) or written,
            resolved=True,
            match="exact",
            time=med.time,
        )
    from rapidfuzz import fuzz, process

    best = process.extract(key, list(index), scorer=fuzz.ratio, limit=3, score_cutoff=FUZZY_SUGGEST)
    if best and best[0][1] >= FUZZY_ACCEPT:
        atc, written = index[best[0][0]]
        return MedicationMatch(
            input=name,
            atc=atc,
            name=generic_name(kb, atc, NEUTRAL) or written,
            resolved=True,
            match="fuzzy",
            suggestions=[index[best[0][0]][1]],
            time=med.time,
        )
    return MedicationMatch(
        input=name,
        atc=None,
        name=None,
        resolved=False,
        match="none",
        suggestions=[index[alias][1] for alias, *_ in best],
        time=med.time,
    )


def _prefix_index(kb: KnowledgeBase, kind: str) -> dict[str, str]:
    """ATC code or prefix -> entry code, built once per knowledge base."""
    key = f"atc_index_{kind}"
    index = kb._cache.get(key)
    if not isinstance(index, dict):
        index = {}
        for entry in getattr(kb, kind).values():
            for prefix in entry.atc:
                index.setdefault(prefix, entry.code)
        kb._cache[key] = index
    return index


def _most_specific(kb: KnowledgeBase, kind: str, atc: str) -> str | None:
    """The entry under the longest prefix of `atc` (J01MA02 beats J01MA)."""
    index = _prefix_index(kb, kind)
    for length in range(len(atc), 0, -1):
        code = index.get(atc[:length])
        if code is not None:
            return code
    return None


def interaction_for(kb: KnowledgeBase, atc: str) -> Interaction | None:
    """The most specific interaction whose ATC code or prefix covers `atc`."""
    code = _most_specific(kb, "interactions", atc)
    return kb.interactions[code] if code else None


def depleting_for(kb: KnowledgeBase, atc: str) -> Depleting | None:
    code = _most_specific(kb, "depleting", atc)
    return kb.depleting[code] if code else None


@dataclass(frozen=True, slots=True)
class MedicationReview:
    matches: list[MedicationMatch]
    interactions: list[InteractionHit]
    depleting: list[tuple[MedicationMatch, Depleting]]


def review(kb: KnowledgeBase, meds: list[Medication]) -> MedicationReview:
    """Each medicine resolved, with its interaction (one per dose entered) and depletion."""
    matches = [resolve(kb, med) for med in meds]
    hits: list[InteractionHit] = []
    depleting: list[tuple[MedicationMatch, Depleting]] = []
    for match in matches:
        if not match.atc:
            continue
        inter = interaction_for(kb, match.atc)
        if inter is not None:
            spacing = inter.spacing
            sources = list(
                dict.fromkeys(
                    inter.mechanism.sources + (inter.advice.sources if inter.advice else [])
                )
            )
            hits.append(
                InteractionHit(
                    medication=match.input,
                    name=match.name,
                    time=match.time,
                    atc=match.atc,
                    interaction=inter.code,
                    effect=inter.effect,
                    severity=inter.severity.value,
                    min_gap_hours=spacing.min_gap_hours if spacing else None,
                    medicine_first_h=spacing.medicine_first_h if spacing else None,
                    magnesium_first_h=spacing.magnesium_first_h if spacing else None,
                    sources=sources,
                )
            )
        dep = depleting_for(kb, match.atc)
        if dep is not None:
            depleting.append((match, dep))
    return MedicationReview(matches, hits, depleting)


@rule("medicines.review", gives=("medications",))
def medications(c: Context) -> MedicationReview:
    """What the client takes, resolved to ATC codes, with interactions and depleters."""
    return review(c.kb, c.intake.medications)


@rule("referral.medicine", gives=("referral",), needs=("medications",))
def medicine_referral(c: Context) -> list[Finding]:
    """Digoxin-like interactions go to the doctor; 'not with magnesium at all' (raltegravir)
    means no magnesium until the prescriber has decided, however far apart."""
    found: dict[tuple[str, str], Finding] = {}
    severity: Indicator
    for hit in c.value("medications").interactions:
        if hit.severity == "referral":
            code, severity = "referral.medicine", "warning"
        elif hit.severity == "avoid":
            code, severity = "referral.interaction_avoid", "critical"
        else:
            continue
        # One reason per medicine, however many doses a day were entered.
        found[(code, hit.interaction)] = c.finding(
            code,
            severity=severity,
            cites=_interaction_basis(c, hit),
            medication=hit.medication,
            atc=hit.atc,
            interaction=hit.interaction,
        )
    return list(found.values())


def _interaction_basis(c: Context, hit: InteractionHit) -> list[Any]:
    entry = c.kb.interactions[hit.interaction]
    return [entry.mechanism, entry.advice] if entry.advice else [entry.mechanism]


def _months(c: Context, entered: str) -> float | None:
    return next((m.months for m in c.intake.medications if (m.name or m.atc) == entered), None)


@rule("referral.ppi_symptoms", gives=("referral",), needs=("medications",))
def ppi_with_symptoms(c: Context) -> list[Finding]:
    """Long-term proton-pump inhibitor with deficiency symptoms: a doctor should check serum Mg."""
    symptomatic = [code for code in c.intake.complaints if c.kb.symptoms[code].risk_points > 0]
    ppis = [(m, d) for m, d in c.value("medications").depleting if d.mds_component == "ppi"]
    if not symptomatic or not ppis:
        return []
    early = c.param("ppi_early_months")
    found = []
    for match, dep in ppis:
        months = _months(c, match.input)
        if months is None or months >= early:
            found.append(
                c.finding(
                    "referral.ppi_symptoms",
                    severity="warning",
                    cites=[dep.statement],
                    medication=match.input,
                    atc=match.atc,
                    months=months,
                    symptoms=symptomatic,
                )
            )
    return found


@rule("risk.medicine", gives=("risk_factors",), needs=("medications",))
def medicine_risk(c: Context) -> list[Finding]:
    """A medicine that lowers magnesium adds its group's points, once per group."""
    seen: set[str] = set()
    found = []
    for match, dep in c.value("medications").depleting:
        if dep.code in seen or dep.risk_points == 0:
            continue
        seen.add(dep.code)
        found.append(
            c.finding(
                "risk.medicine",
                points=dep.risk_points,
                cites=[dep.statement],
                medication=match.input,
                atc=match.atc,
                group=dep.code,
            )
        )
    return found
