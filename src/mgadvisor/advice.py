"""The advice: what the engine returns (codes, numbers, sources, trace; no prose).

Renderers turn each :class:`Finding` into Dutch or English through the knowledge base's message
templates. The JSON contract (`docs/schema/advice.schema.json`) is this model plus a `text` on
every finding, filled in by :mod:`mgadvisor.render.contract`.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

Indicator = Literal["info", "warning", "critical"]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Finding(_Model):
    """One conclusion: a message code, its parameters and the references it rests on."""

    code: str
    severity: Indicator = "info"
    params: dict[str, Any] = Field(default_factory=dict)
    sources: list[str] = Field(default_factory=list)
    points: int | None = None  # for risk factors: points added to the deficiency score


class TraceStep(_Model):
    """Which rule fired, on which facts, with what result, from which source."""

    rule: str
    facts: dict[str, Any]
    result: str
    sources: list[str] = Field(default_factory=list)


class Risk(_Model):
    level: Literal["low", "moderate", "high"]
    score: int
    factors: list[Finding]


class Referral(_Model):
    needed: bool
    reasons: list[Finding]


class CompoundChoice(_Model):
    code: str
    rank: int
    score: float
    reasons: list[Finding]
    sources: list[str]


class IntakeMoment(_Model):
    time: str  # HH:MM
    moment: str  # morning | midday | evening | bedtime
    elemental_mg: float
    compound: str
    meal: str  # empty_stomach_preferred | with_meal | any


class ProductUse(_Model):
    compound: str
    amount_mg: float
    basis: Literal["compound", "elemental"]
    elemental_mg_per_unit: float
    units_per_day: int
    elemental_mg_per_day: float
    exceeds_upper_level: bool


class Dose(_Model):
    status: Literal["advised", "medical_supervision", "withheld"]
    elemental_mg_per_day: float
    reference_intake_mg: float | None
    upper_level_mg: float | None
    exceeds_upper_level: bool
    authority: str
    basis: list[Finding]  # how the number was reached
    intakes: list[IntakeMoment]
    product: ProductUse | None = None


class ScheduleItem(_Model):
    time: str
    kind: Literal["magnesium", "medication"]
    label: str  # compound code or medication name
    elemental_mg: float | None = None
    note: Finding | None = None


class InteractionHit(_Model):
    medication: str  # what the user entered
    name: str | None = None  # generic name the entry resolved to
    time: str | None = None  # when this dose is taken (one hit per dose entered)
    atc: str
    interaction: str  # interaction code in the knowledge base
    effect: str
    severity: Literal["info", "caution", "avoid", "referral"]
    min_gap_hours: float | None
    medicine_first_h: float | None
    magnesium_first_h: float | None
    sources: list[str]


class MedicationMatch(_Model):
    input: str
    atc: str | None
    name: str | None
    resolved: bool
    match: Literal["atc", "exact", "fuzzy", "none"]
    suggestions: list[str] = Field(default_factory=list)
    time: str | None = None


class FoodContribution(_Model):
    food: str
    name_nl: str
    name_en: str
    grams_per_day: float
    magnesium_mg_per_day: float
    calcium_mg_per_day: float
    source: str
    tags: list[str] = Field(default_factory=list)


class DietResult(_Model):
    method: Literal["ffq", "diary", "both", "water"]
    days: int
    magnesium_mg_per_day: float
    calcium_mg_per_day: float
    water_magnesium_mg_per_day: float
    reference_intake_mg: float | None
    pct_of_reference: float | None
    calcium_magnesium_ratio: float | None
    ratio_target: float
    top: list[FoodContribution]
    foods: list[FoodContribution]
    unresolved: list[str]
    notes: list[Finding]
    sources: list[str]


class Calculations(_Model):
    egfr: float | None = None
    egfr_source: Literal["given", "ckd_epi_2021"] | None = None
    ckd_stage: str | None = None
    mds: int | None = None
    mds_components: dict[str, int] = Field(default_factory=dict)
    serum_magnesium_mmol_l: float | None = None
    rbc_magnesium_mmol_l: float | None = None
    urine_magnesium_mmol_24h: float | None = None
    creatinine_umol_l: float | None = None
    loading_test_retention_pct: float | None = None
    age: float
    sex: str


class Advice(_Model):
    kb_version: str
    kb_hash: str
    engine_version: str
    as_of: str
    authority: str
    risk: Risk
    referral: Referral
    compounds: list[CompoundChoice]
    dose: Dose
    schedule: list[ScheduleItem]
    interactions: list[InteractionHit]
    medications: list[MedicationMatch]
    labs: list[Finding]
    warnings: list[Finding]
    synergy: list[Finding]
    follow_up: list[Finding]
    calculations: Calculations
    trace: list[TraceStep]
    diet: DietResult | None = None
    food_advice: list[Finding] = Field(default_factory=list)

    def all_findings(self) -> list[Finding]:
        """Every finding in the advice, for rendering and for checking sources."""
        found = [*self.risk.factors, *self.referral.reasons, *self.labs, *self.warnings]
        found += [*self.synergy, *self.follow_up, *self.dose.basis]
        for choice in self.compounds:
            found += choice.reasons
        found += [item.note for item in self.schedule if item.note is not None]
        found += self.food_advice
        if self.diet is not None:
            found += self.diet.notes
        return found
