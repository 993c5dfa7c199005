"""Medicines: resolve what the client takes to ATC codes, then find interactions and depleters.

Names resolve case- and accent-insensitively against the name index (Dutch and English generic
and brand names); a small typo is accepted and reported as a fuzzy match; anything else is
returned unresolved with suggestions, never dropped.
"""

from __future__ import annotations

from dataclasses import dataclass

from mgadvisor.advice import InteractionHit, MedicationMatch
from mgadvisor.intake import Medication
from mgadvisor.kb.base import KnowledgeBase
from mgadvisor.kb.models import Depleting, Interaction, MedicineName
from mgadvisor.kb.names import normalize

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


def generic_name(kb: KnowledgeBase, atc: str, lang: str) -> str | None:
    """A generic name for an ATC code, in the language if the index has one."""
    by_atc = kb._cache.get("generics_by_atc")
    if not isinstance(by_atc, dict):
        by_atc = {}
        for row in kb.medicines:
            if row.kind == "generic":
                by_atc.setdefault(row.atc, []).append(row)
        kb._cache["generics_by_atc"] = by_atc
    rows: list[MedicineName] = by_atc.get(atc, [])
    for wanted in (lang, "any", "en", "nl"):
        for row in rows:
            if row.lang == wanted:
                return row.name
    return None


def resolve(kb: KnowledgeBase, med: Medication, lang: str = "en") -> MedicationMatch:
    if med.atc:
        return MedicationMatch(
            input=med.name or med.atc,
            atc=med.atc,
            name=generic_name(kb, med.atc, lang) or med.name,
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
            name=generic_name(kb, atc, lang) or written,
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
            name=generic_name(kb, atc, lang) or written,
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


@dataclass(frozen=True)
class MedicationReview:
    matches: list[MedicationMatch]
    interactions: list[InteractionHit]
    depleting: list[tuple[MedicationMatch, Depleting]]


def review(kb: KnowledgeBase, meds: list[Medication], lang: str = "en") -> MedicationReview:
    matches = [resolve(kb, med, lang) for med in meds]
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
