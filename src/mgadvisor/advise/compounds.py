"""Which compound: ranked with reasons, from goals, complaints and conditions (the seeds' mapping).

Scoring (weights are knowledge parameters `rank_*`): a compound that suits a chosen goal scores
most; one that suits an application suggested by a complaint or condition scores less; good
absorption adds; a strong laxative effect subtracts unless relieving constipation is the goal.
Equal scores: the less laxative compound first (the more laxative when a laxative effect is
wanted), then the better absorbed, then by code.
Hydrate variants are not ranked separately: they are the same compound. With a bowel alarm sign
(`assess.bowel`) a laxative goal waits for the doctor: it is not ranked for. Every reason carries
the evidence level of its sources (`kb.evidence`), in its `evidence` parameter and its text.
"""

from __future__ import annotations

import functools
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from mgadvisor.advice import CompoundChoice, Finding
from mgadvisor.assess.bowel import alarm_signs
from mgadvisor.engine import Context, rule
from mgadvisor.intake import Intake
from mgadvisor.kb.base import KnowledgeBase
from mgadvisor.kb.evidence import evidence_of
from mgadvisor.kb.models import Absorption, Compound, Level, UseLink

TOP = 3
RANK_CACHE_SIZE = 1024  # rankings kept per knowledge base (least recently used dropped)
_Reason = tuple[str, str, dict[str, Any], list[str]]  # code, severity, params, sources


def _suggested_applications(
    kb: KnowledgeBase, complaints: tuple[str, ...], conditions: tuple[str, ...]
) -> dict[str, list[str]]:
    """Application code -> the complaints/conditions that suggest it."""
    suggested: dict[str, list[str]] = defaultdict(list)
    for code in complaints:
        for app in kb.symptoms[code].suggests:
            suggested[app].append(code)
    for code in conditions:
        for app in kb.conditions[code].suggests:
            suggested[app].append(code)
    return suggested


@dataclass(frozen=True, slots=True)
class _Rankable:
    """What ranking needs of one compound that depends on the knowledge base alone."""

    compound: Compound
    uses: dict[str, UseLink]  # application -> link with its sources
    absorption_weight: float
    absorption: _Reason
    laxative: Level


def _rankable(kb: KnowledgeBase) -> list[_Rankable]:
    """Compounds that are ranked (no hydrate variants); built once per knowledge base."""
    cached = kb._cache.get("rankable_compounds")
    if isinstance(cached, list):
        return cached
    weights = {
        Absorption.GOOD: kb.param("rank_absorption_good"),
        Absorption.MODERATE: kb.param("rank_absorption_moderate"),
    }
    table = [
        _Rankable(
            compound=compound,
            uses={link.application: link for link in compound.uses},
            absorption_weight=weights.get(compound.absorption.level, 0.0),
            absorption=(
                f"compound.absorption_{compound.absorption.level.value}",
                "info",
                evidence_params(kb, compound.absorption.sources),
                compound.absorption.sources,
            ),
            laxative=compound.laxative.level,
        )
        for compound in kb.compounds.values()
        if not compound.variant_of
    ]
    kb._cache["rankable_compounds"] = table
    return table


@rule("compound.rank", gives=("ranked",), needs=("lab_flags",))
def ranked(c: Context) -> list[CompoundChoice]:
    """The three best-fitting compounds, each with the reasons and the sources of its links."""
    weights = (c.param("rank_goal"), c.param("rank_complaint"), c.param("rank_laxative_penalty"))
    high = {code for code, flag in c.value("lab_flags").items() if flag == "high"}
    choices = rank(c.kb, c.intake, weights, high)
    c.cite(*(choice.sources for choice in choices))  # the links each reason rests on
    return choices


def rank(
    kb: KnowledgeBase,
    intake: Intake,
    weights: tuple[float, float, float],
    high_labs: set[str] | frozenset[str] = frozenset(),
) -> list[CompoundChoice]:
    """Compounds scored for the person, best first (top 3); `high_labs`: analytes flagged high.

    Ranking reads nothing of the intake but its goal, complaint and condition codes and whether
    a bowel alarm sign stands, so it is memoized on exactly those (with the weights and the
    high lab flags), per knowledge base, least recently used dropped past RANK_CACHE_SIZE.
    Each call gets new objects: nothing of an advice is shared.
    """
    memo: Callable[..., list[CompoundChoice]] | None = kb._cache.get("rank_memo")
    if memo is None:
        memo = functools.lru_cache(maxsize=RANK_CACHE_SIZE)(functools.partial(_rank, kb))
        kb._cache["rank_memo"] = memo
    alarm = bool(alarm_signs(kb, intake))
    key = (
        tuple(intake.goals),
        tuple(intake.complaints),
        tuple(intake.conditions),
        weights,
        alarm,
        frozenset(high_labs),
    )
    return [_fresh(choice) for choice in memo(*key)]


def _fresh(choice: CompoundChoice) -> CompoundChoice:
    """A copy of a memoized choice that shares no mutable part with it."""
    reasons = []
    for f in choice.reasons:
        params = f.params.copy()
        for key, value in params.items():
            if type(value) is list:
                params[key] = value.copy()
        reasons.append(Finding(f.code, f.severity, params, f.sources.copy(), f.points))
    return CompoundChoice(choice.code, choice.rank, choice.score, reasons, choice.sources.copy())


def _rank(
    kb: KnowledgeBase,
    goal_codes: tuple[str, ...],
    complaints: tuple[str, ...],
    conditions: tuple[str, ...],
    weights: tuple[float, float, float],
    alarm: bool,
    high_labs: frozenset[str],
) -> list[CompoundChoice]:
    goals = [
        g
        for g in goal_codes
        if not kb.applications[g].medical_only
        and not (alarm and kb.applications[g].laxative_wanted)
    ]
    suggested = _suggested_applications(kb, complaints, conditions)
    wants_laxative = any(kb.applications[g].laxative_wanted for g in goals)
    sensitive = any(kb.conditions[code].laxative_sensitive for code in conditions)
    w_goal, w_complaint, w_laxative = weights

    by_complaint = {
        app: why
        for app, why in suggested.items()
        if app not in goals and not kb.applications[app].medical_only
    }

    # Score first, touching only the compounds linked to the person's goals and complaints;
    # build the reasons for the top 3 only.
    table = {entry.compound.code: entry for entry in _rankable(kb)}
    score = dict(_base_scores(kb, wants_laxative, sensitive, w_laxative))
    users = _users(kb)
    for goal in set(goals):
        for code in users.get(goal, ()):
            score[code] += w_goal
    for app in by_complaint:
        for code in users.get(app, ()):
            score[code] += w_complaint
    for code, avoid, labs in _avoiding(kb):
        if any(condition in conditions for condition in avoid) or high_labs & set(labs):
            del score[code]
    gentle = _gentleness(kb)
    # relieving constipation (a goal, or a complaint that suggests it; not with a bowel alarm
    # sign or a bowel that needs a gentle form): of equal scores, the more laxative first
    relieving = wants_laxative or (
        not alarm and any(kb.applications[app].laxative_wanted for app in by_complaint)
    )
    way = -1 if relieving and not sensitive else 1
    top = sorted(
        [(-points, way * gentle[code][0], gentle[code][1], code) for code, points in score.items()]
    )[:TOP]
    out = []
    for position, (negative, _, _, code) in enumerate(top, start=1):
        points = -negative
        findings = _reasons(kb, table[code], goals, by_complaint, (wants_laxative, sensitive))
        sources_all = list(dict.fromkeys(key for f in findings for key in f.sources))
        out.append(CompoundChoice(code, position, points, findings, sources_all))
    return out


def _base_scores(
    kb: KnowledgeBase, wants_laxative: bool, sensitive: bool, w_laxative: float
) -> dict[str, float]:
    """Absorption plus the laxative effect's weight, per compound (cached per knowledge base)."""
    key = f"rank_base_{wants_laxative}_{sensitive}_{w_laxative}"
    cached = kb._cache.get(key)
    if isinstance(cached, dict):
        return cached
    base = {}
    for entry in _rankable(kb):
        points = entry.absorption_weight
        if entry.laxative is Level.HIGH:
            points += w_laxative if wants_laxative else -w_laxative * (2 if sensitive else 1)
        elif entry.laxative is Level.MODERATE and sensitive:
            points -= w_laxative
        base[entry.compound.code] = points
    kb._cache[key] = base
    return base


_LAXATIVE_ORDER = {Level.LOW: 0, Level.MODERATE: 1, Level.HIGH: 2}


def _gentleness(kb: KnowledgeBase) -> dict[str, tuple[int, float]]:
    """How compounds with the same score are ordered: the less laxative first (the more
    laxative first when relieving constipation is wanted), then the better absorbed (cached per
    knowledge base). A tie used to fall to the alphabet, which put citrate ("can be laxative")
    before malate for a bowel that needs a gentle form."""
    cached = kb._cache.get("rank_gentleness")
    if isinstance(cached, dict):
        return cached
    order = {
        e.compound.code: (_LAXATIVE_ORDER[e.laxative], -e.absorption_weight) for e in _rankable(kb)
    }
    kb._cache["rank_gentleness"] = order
    return order


def _users(kb: KnowledgeBase) -> dict[str, list[str]]:
    """Application -> the ranked compounds linked to it."""
    cached = kb._cache.get("rank_users")
    if isinstance(cached, dict):
        return cached
    users: dict[str, list[str]] = defaultdict(list)
    for entry in _rankable(kb):
        for app in entry.uses:
            users[app].append(entry.compound.code)
    kb._cache["rank_users"] = dict(users)
    return kb._cache["rank_users"]  # type: ignore[no-any-return]


def _avoiding(kb: KnowledgeBase) -> list[tuple[str, list[str], list[str]]]:
    """Ranked compounds with the conditions, and the high lab values, they are not advised with."""
    return [
        (e.compound.code, e.compound.avoid_with, e.compound.avoid_with_high_lab)
        for e in _rankable(kb)
        if e.compound.avoid_with or e.compound.avoid_with_high_lab
    ]


def evidence_params(kb: KnowledgeBase, sources: list[str]) -> dict[str, Any]:
    """The evidence level of `sources` as a code, and in words for the message text."""
    level = evidence_of(kb, sources).code
    words = kb.messages[f"evidence.{level}"]
    return {"evidence": level, "evidence_text_nl": words.nl, "evidence_text_en": words.en}


def _because(kb: KnowledgeBase, application: str, complaints: list[str]) -> list[str]:
    """The complaints that lead to an application, without those that bear its very name
    ("Past bij sombere stemming (vanwege sombere stemming)" says nothing twice)."""
    own = kb.applications[application].name
    same = {own.nl.casefold(), own.en.casefold()}
    return [
        code
        for code in complaints
        if code not in kb.symptoms or kb.symptoms[code].name.nl.casefold() not in same
    ]


def _reasons(
    kb: KnowledgeBase,
    entry: _Rankable,
    goals: list[str],
    by_complaint: dict[str, list[str]],
    bowel: tuple[bool, bool],
) -> list[Finding]:
    """Why a compound ranks where it does: each reason cites the link it rests on and says how
    strong that link's evidence is."""
    wants_laxative, sensitive = bowel
    links = entry.uses

    def reason(code: str, severity: Any, params: dict[str, Any], sources: list[str]) -> Finding:
        return Finding(code, severity, {**params, **evidence_params(kb, sources)}, list(sources))

    reasons = [
        reason("compound.fits_goal", "info", {"goal": goal}, list(links[goal].sources))
        for goal in goals
        if goal in links
    ]
    for app, why in by_complaint.items():
        if app not in links:
            continue
        because = _because(kb, app, why)
        code = "compound.fits_complaint" if because else "compound.fits_complaint_itself"
        params = {"application": app, "because": because} if because else {"application": app}
        reasons.append(reason(code, "info", params, list(links[app].sources)))
    code, severity, params, sources = entry.absorption
    reasons.append(Finding(code, severity, dict(params), list(sources)))  # type: ignore[arg-type]
    laxative = list(entry.compound.laxative.sources)
    if entry.laxative is Level.HIGH:
        if wants_laxative:
            reasons.append(reason("compound.laxative_wanted", "info", {}, laxative))
        else:
            reasons.append(reason("compound.laxative_unwanted", "warning", {}, laxative))
    elif entry.laxative is Level.MODERATE and sensitive:
        reasons.append(reason("compound.laxative_sensitive_bowel", "warning", {}, laxative))
    return reasons
