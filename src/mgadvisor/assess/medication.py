"""Medicines: resolve what the client takes to ATC codes, then find interactions and depleters.

Names resolve case- and accent-insensitively against the name index (Dutch and English generic
and brand names), also with a strength, form or frequency after the name ("Thyrax 0,1 mg").
A near miss that shares the name's first letters is accepted only when very close, and then
reported as such; anything else is returned unresolved with suggestions (never a medicine of
another name), never dropped.

How often: a medicine without a frequency of its own takes it from words in its name ("2x daags",
"wekelijks"; the knowledge base's facts of topic `medicine_frequency`), when its times fit; given
fields win, and a note says where the name disagrees (`MedicationReview.readings`).
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

from mgadvisor.advice import Finding, Indicator, InteractionHit, MedicationMatch
from mgadvisor.engine import Context, rule
from mgadvisor.intake import Medication
from mgadvisor.kb.base import KnowledgeBase
from mgadvisor.kb.models import Depleting, Interaction
from mgadvisor.kb.names import generic_name, medicine_keys, normalize

FUZZY_ACCEPT = 88  # rapidfuzz ratio from which a near miss counts as the same name (and is said)
FUZZY_SUGGEST = 75  # ratio from which a name is offered as a suggestion only
SAME_START = 2  # a near miss must begin with the same letters as what was typed


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


def _near_misses(index: dict[str, tuple[str, str]], key: str) -> list[tuple[str, float]]:
    """Names that begin like `key` and are close to it, best first (alias, ratio)."""
    from rapidfuzz import fuzz, process

    start = key[:SAME_START]
    candidates = [alias for alias in index if alias[:SAME_START] == start]
    found = process.extract(key, candidates, scorer=fuzz.ratio, limit=3, score_cutoff=FUZZY_SUGGEST)
    return [(alias, score) for alias, score, _ in found]


NAME_CACHE_SIZE = 4096  # resolved names kept per knowledge base (least recently used dropped)

# What a name resolves to, whatever the dose time: ATC, name, how it matched, suggestions.
_Named = tuple[str | None, str | None, str, tuple[str, ...]]


def resolve(kb: KnowledgeBase, med: Medication) -> MedicationMatch:
    """What `med` names: by ATC code, by name (as written, or without strength and form), or
    as a reported near miss; otherwise unresolved with suggestions."""
    first = med.dose_times[0] if med.dose_times else None
    if med.atc:
        return MedicationMatch(
            input=med.name or med.atc,
            atc=med.atc,
            name=generic_name(kb, med.atc, NEUTRAL) or med.name,
            resolved=True,
            match="atc",
            time=first,
        )
    name = med.name or ""
    memo: Callable[[str], _Named] | None = kb._cache.get("medicine_name_memo")
    if memo is None:  # names recur from client to client; the answer depends on the kb alone
        memo = functools.lru_cache(maxsize=NAME_CACHE_SIZE)(functools.partial(_resolve_name, kb))
        kb._cache["medicine_name_memo"] = memo
    atc, generic, match, suggestions = memo(name)
    return MedicationMatch(
        input=name,
        atc=atc,
        name=generic,
        resolved=atc is not None,
        match=match,  # type: ignore[arg-type]
        suggestions=list(suggestions),
        time=first,
    )


def _resolve_name(kb: KnowledgeBase, name: str) -> _Named:
    index = _index(kb)
    keys = medicine_keys(kb, name)
    for key in keys:
        if key in index:
            atc, written = index[key]
            return atc, generic_name(kb, atc, NEUTRAL) or written, "exact", ()
    best = _near_misses(index, keys[-1]) if keys else []
    if best and best[0][1] >= FUZZY_ACCEPT:
        atc, written = index[best[0][0]]
        return atc, generic_name(kb, atc, NEUTRAL) or written, "fuzzy", (written,)
    return None, None, "none", tuple(dict.fromkeys(index[alias][1] for alias, _ in best))


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
    found: dict[str, str | None] | None = kb._cache.get(f"atc_found_{kind}")
    if found is None:
        found = kb._cache[f"atc_found_{kind}"] = {}
    if atc in found:
        return found[atc]
    index = _prefix_index(kb, kind)
    code = None
    for length in range(len(atc), 0, -1):
        code = index.get(atc[:length])
        if code is not None:
            break
    if len(found) < NAME_CACHE_SIZE:  # ATC codes are few; a bound all the same
        found[atc] = code
    return code


def interaction_for(kb: KnowledgeBase, atc: str) -> Interaction | None:
    """The most specific interaction whose ATC code or prefix covers `atc`."""
    code = _most_specific(kb, "interactions", atc)
    return kb.interactions[code] if code else None


def depleting_for(kb: KnowledgeBase, atc: str) -> Depleting | None:
    code = _most_specific(kb, "depleting", atc)
    return kb.depleting[code] if code else None


FREQUENCY_TOPIC = "medicine_frequency"  # facts whose `words` say how often (codes: the frequency)

# A phrase of a frequency fact: its normalised words, the frequency it means, the fact's code.
_Phrase = tuple[tuple[str, ...], str, str]


def _frequency_phrases(kb: KnowledgeBase) -> list[_Phrase]:
    cached = kb._cache.get("medicine_frequency_phrases")
    if isinstance(cached, list):
        return cached
    phrases = [
        (tuple(normalize(word).split()), fact.codes[0], fact.code)
        for fact in kb.facts.values()
        if fact.topic == FREQUENCY_TOPIC and fact.codes
        for word in fact.words
        if normalize(word)
    ]
    kb._cache["medicine_frequency_phrases"] = phrases
    return phrases


MARKER_TOPIC = "medicine_frequency_marker"  # words giving a number of times (fact `words`)
SCHEME_FACT = "medicine_frequency_scheme"  # "1-0-1": doses a day from a dose scheme
# a dose scheme: three or four counts joined by dashes (units per moment of the day)
_SCHEME = re.compile(r"(?<![\w.,/-])([0-9½])-([0-9½])-([0-9½])(?:-([0-9½]))?(?![\w.,/-])")


def _markers(kb: KnowledgeBase) -> tuple[list[tuple[tuple[str, ...], str]], set[str]]:
    """The marker phrases (normalised words, fact code) and their one-word forms."""
    cached = kb._cache.get("medicine_frequency_markers")
    if isinstance(cached, tuple):
        return cached
    phrases = [
        (tuple(normalize(word).split()), fact.code)
        for fact in kb.facts.values()
        if fact.topic == MARKER_TOPIC
        for word in fact.words
        if normalize(word)
    ]
    single = {words[0] for words, _ in phrases if len(words) == 1}
    kb._cache["medicine_frequency_markers"] = (phrases, single)
    return phrases, single


def _fused(token: str, single: set[str]) -> bool:
    """A number joined to a marker word ("4dd", "3x", "4dd1")."""
    head = token.lstrip("0123456789")
    word = head.rstrip("0123456789")
    return head != token and word in single


def _scheme(kb: KnowledgeBase, name: str) -> tuple[str | None, str] | None:
    """The frequency of a dose scheme in `name` ("1-0-1": twice daily) and its words; None as
    frequency when the plan knows no frequency with that many doses a day."""
    found = _SCHEME.search(name)
    if found is None or SCHEME_FACT not in kb.facts:
        return None
    doses = sum(1 for count in found.groups() if count is not None and count != "0")
    every_day = [
        f for f, n in Medication.DOSES.items() if n == doses and f not in Medication.PERIODIC
    ]
    return (every_day[0] if every_day and doses else None), found.group(0)


@dataclass(frozen=True, slots=True)
class NameFrequency:
    """How often a medicine's name says it is taken: `frequency` (None when the name has words
    of more than one frequency, or words of a number of times that are not understood), the
    words found, and the facts that read them."""

    frequency: str | None
    words: tuple[str, ...]
    facts: tuple[str, ...]


NAME_FREQUENCY_CACHE = 4096  # names read per knowledge base (the cache empties when full)


def name_frequency(kb: KnowledgeBase, name: str) -> NameFrequency | None:
    """The frequency the words in `name` give, None when there are none (memoized per
    knowledge base: the same name reads the same; see `_name_frequency`).

    Example:
        >>> from mgadvisor.kb import load_knowledge
        >>> name_frequency(load_knowledge(), "Ciproxin 500 mg 2x daags").frequency
        'twice_daily'
    """
    memo: dict[str, NameFrequency | None] | None = kb._cache.get("name_frequency")
    if memo is None or len(memo) >= NAME_FREQUENCY_CACHE:
        memo = kb._cache["name_frequency"] = {}
    if name not in memo:
        memo[name] = _name_frequency(kb, name)
    return memo[name]


def _name_frequency(kb: KnowledgeBase, name: str) -> NameFrequency | None:
    """The frequency the words in `name` give, None when there are none. A phrase inside a
    longer one found ("daily" in "twice daily") does not count on its own. Words of a number of
    times outside a known phrase ("4 dd", "qid", the "3x" of "3x per week") and a dose scheme
    with more doses than the plan knows leave the frequency unknown (None).

    Example:
        >>> from mgadvisor.kb import load_knowledge
        >>> name_frequency(load_knowledge(), "Ciproxin 500 mg 2x daags").frequency
        'twice_daily'
    """
    tokens = normalize(name).split()
    spans = [
        (i, i + len(words), frequency, fact)
        for words, frequency, fact in _frequency_phrases(kb)
        for i in range(len(tokens) - len(words) + 1)
        if tuple(tokens[i : i + len(words)]) == words
    ]
    kept = [
        s
        for s in spans
        if not any(o[0] <= s[0] and s[1] <= o[1] and o[1] - o[0] > s[1] - s[0] for o in spans)
    ]
    inside = {i for s in kept for i in range(s[0], s[1])}
    phrases, single = _markers(kb)
    loose = sorted(
        {
            (i, i + len(words), fact)
            for words, fact in phrases
            for i in range(len(tokens) - len(words) + 1)
            if tuple(tokens[i : i + len(words)]) == words
            and not inside & set(range(i, i + len(words)))
        }
        | {
            (i, i + 1, next(f for w, f in phrases if len(w) == 1))
            for i, token in enumerate(tokens)
            if i not in inside and _fused(token, single)
        }
    )
    # a number just before a loose marker belongs to it ("4 dd")
    unclear = [
        (s - 1 if s > 0 and tokens[s - 1].isdigit() and s - 1 not in inside else s, e, fact)
        for s, e, fact in loose
    ]
    scheme = _scheme(kb, name)
    if not kept and not unclear and scheme is None:
        return None
    kept.sort()
    frequencies = {s[2] for s in kept}
    words = [" ".join(tokens[s[0] : s[1]]) for s in kept]
    facts = [s[3] for s in kept]
    if scheme is not None:
        frequencies.add(scheme[0] or "")
        words.append(scheme[1])
        facts.append(SCHEME_FACT)
    words += [" ".join(tokens[s:e]) for s, e, _ in unclear]
    facts += [fact for _, _, fact in unclear]
    one = len(frequencies) == 1 and not unclear and "" not in frequencies
    return NameFrequency(
        next(iter(frequencies)) if one else None,
        tuple(dict.fromkeys(words)),
        tuple(dict.fromkeys(facts)),
    )


@dataclass(frozen=True, slots=True)
class FrequencyReading:
    """What a medicine's name said about how often, and what was done with it: `read` (the
    frequency was taken from the name), `differs` (the intake's own frequency or times win),
    `unclear` (words of more than one frequency, or not understood: the frequency entered
    stays), `unknown` (the same, and no frequency was entered: nothing is assumed, and a
    medicine that must be kept apart from magnesium puts the plan on hold)."""

    outcome: Literal["read", "differs", "unclear", "unknown"]
    said: NameFrequency
    frequency: str  # the frequency the advice uses


def as_read(kb: KnowledgeBase, med: Medication) -> tuple[Medication, FrequencyReading | None]:
    """The medicine with the frequency its name gives when the intake gives none of its own and
    its times (if any) fit that frequency; otherwise as entered, with what the name said."""
    said = name_frequency(kb, med.name) if med.name else None
    if said is None:
        return med, None
    entered = "frequency" in med.model_fields_set
    if said.frequency is None:
        return med, FrequencyReading("unclear" if entered else "unknown", said, med.frequency)
    if said.frequency == med.frequency:
        return med, None
    given = med.dose_times
    allowed = Medication.DOSES[said.frequency]
    fits = len(given) == allowed or not given
    if entered or not fits:
        return med, FrequencyReading("differs", said, med.frequency)
    read = med.model_copy(update={"frequency": said.frequency})
    return read, FrequencyReading("read", said, said.frequency)


@dataclass(frozen=True, slots=True)
class MedicationReview:
    """Each medicine resolved (in the order entered), the interactions that ask something of
    the magnesium intake (one per dose time), every interaction entry a medicine falls under
    (also the notes: QT, a likely condition, kidney-only), and the medicines lowering magnesium.
    `meds`: the medicines as read (a frequency from the name), in the order entered, with what
    each name said about how often (`readings`)."""

    matches: list[MedicationMatch]
    interactions: list[InteractionHit]
    depleting: list[tuple[MedicationMatch, Depleting]]
    entries: list[tuple[MedicationMatch, Interaction]]
    meds: list[Medication] = field(default_factory=list)
    readings: list[FrequencyReading | None] = field(default_factory=list)


def _hit(
    match: MedicationMatch, inter: Interaction, time: str | None, med: Medication
) -> InteractionHit:
    spacing = inter.spacing
    sources = list(
        dict.fromkeys(inter.mechanism.sources + (inter.advice.sources if inter.advice else []))
    )
    return InteractionHit(
        medication=match.input,
        name=match.name,
        time=time,
        frequency=med.frequency,
        atc=match.atc or "",
        interaction=inter.code,
        effect=inter.effect,
        severity=inter.severity.value,
        min_gap_hours=spacing.min_gap_hours if spacing else None,
        medicine_first_h=spacing.medicine_first_h if spacing else None,
        magnesium_first_h=spacing.magnesium_first_h if spacing else None,
        sources=sources,
    )


def review(kb: KnowledgeBase, entered: list[Medication]) -> MedicationReview:
    """Each medicine resolved, with its interaction (one per dose time entered) and depletion;
    how often each is taken as read (`as_read`)."""
    read = [as_read(kb, med) for med in entered]
    meds = [med for med, _ in read]
    matches = [resolve(kb, med) for med in meds]
    hits: list[InteractionHit] = []
    entries: list[tuple[MedicationMatch, Interaction]] = []
    depleting: list[tuple[MedicationMatch, Depleting]] = []
    for med, match in zip(meds, matches, strict=True):
        if not match.atc:
            continue
        inter = interaction_for(kb, match.atc)
        if inter is not None:
            entries.append((match, inter))
            if inter.timing:
                times: list[str | None] = [*med.dose_times] or [None]
                hits += [_hit(match, inter, time, med) for time in times]
        dep = depleting_for(kb, match.atc)
        if dep is not None:
            depleting.append((match, dep))
    return MedicationReview(matches, hits, depleting, entries, meds, [r for _, r in read])


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


@rule(
    "referral.ppi_symptoms",
    gives=("referral",),
    needs=("medications", "lab_readings"),
)
def ppi_with_symptoms(c: Context) -> list[Finding]:
    """Long-term proton-pump inhibitor with deficiency symptoms: a doctor should check serum Mg;
    when serum magnesium is already known, the prescriber should review the PPI instead."""
    symptomatic = [code for code in c.intake.complaints if c.kb.symptoms[code].risk_points > 0]
    ppis = [(m, d) for m, d in c.value("medications").depleting if d.mds_component == "ppi"]
    if not symptomatic or not ppis:
        return []
    early = c.param("ppi_early_months")
    measured = "serum_magnesium" in c.value("lab_readings")
    code = "referral.ppi_review" if measured else "referral.ppi_symptoms"
    found = []
    for match, dep in ppis:
        months = _months(c, match.input)
        if months is None or months >= early:
            found.append(
                c.finding(
                    code,
                    severity="warning",
                    cites=[dep.statement],
                    medication=match.input,
                    atc=match.atc,
                    months=months,
                    symptoms=symptomatic,
                )
            )
    return found


@rule("referral.medicine_condition", gives=("referral",), needs=("medications",))
def medicine_condition(c: Context) -> list[Finding]:
    """A medicine almost only used for a condition with which magnesium is not safe on its own
    (pyridostigmine: myasthenia gravis): the condition is likely, so the doctor decides first."""
    found = []
    for match, entry in c.value("medications").entries:
        likely = [code for code in entry.points_to if code not in c.intake.conditions]
        if not likely or len(likely) < len(entry.points_to):
            continue  # none named, or the condition is already in the intake (its own referral)
        notes = [c.kb.conditions[code].safety_note for code in likely]
        with c.scope():
            c.cite(entry.mechanism, *(note for note in notes if note is not None))
            found.append(
                c.finding(
                    "referral.medicine_condition",
                    severity="critical",
                    medication=match.input,
                    atc=match.atc,
                    condition=likely[0],
                )
            )
    return found


def _entry_notes(
    c: Context, code: str, severity: Indicator, entries: list[tuple[MedicationMatch, Interaction]]
) -> list[Finding]:
    """One finding per medicine whose interaction entry is a note (not a timing rule), citing
    the entry's mechanism and advice."""
    return [
        c.finding(
            code,
            severity=severity,
            cites=[entry.mechanism, entry.advice] if entry.advice else [entry.mechanism],
            medication=match.input,
            atc=match.atc,
        )
        for match, entry in entries
    ]


@rule("followup.qt_electrolytes", gives=("follow_up",), needs=("medications",))
def qt_electrolytes(c: Context) -> list[Finding]:
    """A QT-prolonging medicine: low magnesium and potassium raise the risk of torsades de
    pointes, so both should be checked."""
    qt = [(m, e) for m, e in c.value("medications").entries if e.check_electrolytes]
    return _entry_notes(c, "followup.qt_electrolytes", "warning", qt)


@rule(
    "warning.magnesium_sparing_kidney",
    gives=("warnings",),
    needs=("medications", "kidney_reduced"),
)
def magnesium_sparing_kidney(c: Context) -> list[Finding]:
    """A medicine that holds on to magnesium (potassium-sparing diuretic) matters only with
    reduced kidney function: then magnesium can build up. Never a timing rule."""
    sparing = [(m, e) for m, e in c.value("medications").entries if e.kidney_only]
    if not sparing or not c.value("kidney_reduced"):
        return []
    c.param("egfr_supervision_below")
    return _entry_notes(c, "warning.magnesium_sparing_kidney", "warning", sparing)


@rule(
    "warning.magnesium_medicine",
    gives=("magnesium_medicines_daily", "warnings"),
    needs=("medications",),
)
def magnesium_medicine(c: Context) -> list[str]:
    """A medicine that is magnesium itself (a magnesium laxative or antacid): its magnesium
    counts toward the upper level, so it belongs under the products with its amount. Taken
    every day, the plan waits until it is entered (gives those medicines); taken as needed,
    weekly or monthly, it counts on the days it is taken."""
    review: MedicationReview = c.value("medications")
    own = [(m, e) for m, e in review.entries if e.contains_magnesium]
    if not own:
        return []
    daily = {  # the others count on the days they are taken (as needed, weekly, monthly)
        id(match) for med, match in zip(review.meds, review.matches, strict=True) if med.every_day
    }
    regular = [(m, e) for m, e in own if id(m) in daily]
    occasional = [(m, e) for m, e in own if id(m) not in daily]
    notes = _entry_notes(c, "warning.magnesium_medicine", "critical", regular)
    notes += _entry_notes(c, "warning.magnesium_medicine_as_needed", "warning", occasional)
    for note in notes:
        c.emit(note, "warnings")
    return [m.input for m, _ in regular]


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


@dataclass(frozen=True, slots=True)
class StrictestGap:
    """The longest gaps any known interaction asks (hours: medicine first, magnesium first) and
    the entries that ask them."""

    medicine_first_h: float
    magnesium_first_h: float
    entries: tuple[Interaction, ...]


def strictest_gap(kb: KnowledgeBase) -> StrictestGap | None:
    """The gap a medicine that is not recognised is kept at: in each direction the longest one
    of the knowledge base's spacing rules (fact `practice_unidentified_medicine_gap`)."""
    cached = kb._cache.get("strictest_gap")
    if isinstance(cached, StrictestGap):
        return cached
    spaced = [e for e in kb.interactions.values() if e.timing and e.spacing is not None]
    if not spaced:
        return None
    before = max(e.spacing.medicine_first_h for e in spaced if e.spacing)
    after = max(e.spacing.magnesium_first_h for e in spaced if e.spacing)
    both = [
        e
        for e in spaced
        if e.spacing
        and (e.spacing.medicine_first_h, e.spacing.magnesium_first_h) == (before, after)
    ]
    first = next(e for e in spaced if e.spacing and e.spacing.medicine_first_h == before)
    then = next(e for e in spaced if e.spacing and e.spacing.magnesium_first_h == after)
    # the entry that asks both gaps; else the first asking each
    gap = StrictestGap(
        before, after, tuple(both[:1]) or ((first,) if first is then else (first, then))
    )
    kb._cache["strictest_gap"] = gap
    return gap


@rule("warning.medication_frequency", gives=("warnings",), needs=("medications",))
def medication_frequency(c: Context) -> list[Finding]:
    """How often a medicine is taken, read from words in its name ("2x daags") when the intake
    gives no frequency; where the intake's own frequency or times disagree with the name, or the
    name has words of two frequencies, the intake's values count and a note says so."""
    review: MedicationReview = c.value("medications")
    found = []
    for match, reading in zip(review.matches, review.readings, strict=True):
        if reading is None:
            continue
        said = reading.said
        params: dict[str, Any] = {
            "medication": match.input,
            "atc": match.atc,
            "frequency": reading.frequency,
            "words": ", ".join(f"'{w}'" for w in said.words),
        }
        if said.frequency is not None:
            params["name_frequency"] = said.frequency
        with c.scope():
            for code in said.facts:
                c.fact(code)
            found.append(
                c.finding(
                    f"warning.medication_frequency_{reading.outcome}",
                    severity="info" if reading.outcome == "read" else "warning",
                    **params,
                )
            )
    return found
