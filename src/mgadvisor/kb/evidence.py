"""Evidence levels derived from the study types of a statement's sources.

The level of a claim is set by the strongest kind of study among its sources; a claim that rests
only on animal or cell studies therefore reads as preclinical, never as established in people.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from enum import IntEnum

from mgadvisor.kb.base import KnowledgeBase
from mgadvisor.kb.models import Application, StudyType


class Evidence(IntEnum):
    """Ordered: a higher value is stronger evidence in humans."""

    EXPERT_OPINION = 0  # narrative reviews, textbooks, guidelines, the seeds themselves
    PRECLINICAL = 1  # animal or in-vitro studies only
    LIMITED = 2  # observational studies or case series in humans
    MODERATE = 3  # a randomised controlled trial, or a systematic review without pooling
    STRONG = 4  # a meta-analysis

    @property
    def code(self) -> str:
        return self.name.lower()


LEVEL_OF: dict[StudyType, Evidence] = {
    StudyType.META_ANALYSIS: Evidence.STRONG,
    # A systematic review without a pooled analysis may summarise observational studies only,
    # so it does not reach the level of a meta-analysis.
    StudyType.SYSTEMATIC_REVIEW: Evidence.MODERATE,
    StudyType.RCT: Evidence.MODERATE,
    StudyType.COHORT_OBSERVATIONAL: Evidence.LIMITED,
    StudyType.CASE_SERIES: Evidence.LIMITED,
    StudyType.ANIMAL: Evidence.PRECLINICAL,
    StudyType.IN_VITRO: Evidence.PRECLINICAL,
    StudyType.NARRATIVE_REVIEW: Evidence.EXPERT_OPINION,
    StudyType.GUIDELINE_AUTHORITY: Evidence.EXPERT_OPINION,
    StudyType.TEXTBOOK: Evidence.EXPERT_OPINION,
    StudyType.OTHER: Evidence.EXPERT_OPINION,
}


def evidence_of(kb: KnowledgeBase, sources: Iterable[str]) -> Evidence:
    """The strongest level among `sources` (citation keys)."""
    levels = [LEVEL_OF[kb.references[key].study_type] for key in sources]
    return max(levels, default=Evidence.EXPERT_OPINION)


def application_sources(app: Application) -> list[str]:
    """Every citation key behind an application's claims and study doses, in order, unique."""
    keys = [*app.summary.sources]
    for claim in app.claims:
        keys.extend(claim.sources)
    for dose in app.study_doses:
        keys.extend(dose.sources)
    return list(dict.fromkeys(keys))


def application_evidence(kb: KnowledgeBase, app: Application) -> Evidence:
    return evidence_of(kb, application_sources(app))


def study_type_counts(kb: KnowledgeBase, sources: Iterable[str]) -> Counter[StudyType]:
    return Counter(kb.references[key].study_type for key in sources)
