"""The advice: what the engine returns (codes, numbers, sources, trace; no prose).

Renderers turn each :class:`Finding` into Dutch or English through the knowledge base's message
templates. The JSON contract (`docs/schema/advice.schema.json`) is this model plus a `text` on
every finding, filled in by :mod:`mgadvisor.render.contract`.
"""

from __future__ import annotations

import dataclasses
import operator
import typing
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

from pydantic import ConfigDict

Indicator = Literal["info", "warning", "critical"]
Frequency = Literal["daily", "twice_daily", "three_times_daily", "weekly", "monthly", "as_needed"]

# Plain dataclasses with slots: cheap to build inside the engine. Pydantic reads them where the
# JSON Schema of the document is generated (`render/contract.py`), with unknown keys forbidden.
_FORBID = ConfigDict(extra="forbid")


@dataclass(slots=True)
class Finding:
    """One conclusion: a message code, its parameters and the references it rests on."""

    __pydantic_config__ = _FORBID
    code: str
    severity: Indicator = "info"
    params: dict[str, Any] = field(default_factory=dict)
    sources: list[str] = field(default_factory=list)
    points: int | None = None  # for risk factors: points added to the deficiency score


@dataclass(slots=True)
class TraceStep:
    """Which rule fired, on which facts, with what result, from which source."""

    __pydantic_config__ = _FORBID
    rule: str
    facts: dict[str, Any]
    result: str
    sources: list[str] = field(default_factory=list)


@dataclass(slots=True)
class Risk:
    __pydantic_config__ = _FORBID
    level: Literal["low", "moderate", "high"]
    score: int
    factors: list[Finding]
    # Set by a measured magnesium value: `confirmed_low` (a low value confirms the deficiency;
    # the level is at least high) or `excluded_high` (a high value excludes a deficiency).
    status: Literal["confirmed_low", "excluded_high"] | None = None


Urgency = Literal["emergency", "same_day", "routine"]


@dataclass(slots=True)
class Referral:
    """Whether a doctor must see the client, why, and how soon: `emergency` (112 / emergency
    department now), `same_day` (GP or specialist today), `routine`; None without a referral."""

    __pydantic_config__ = _FORBID
    needed: bool
    reasons: list[Finding]
    urgency: Urgency | None = None


@dataclass(slots=True)
class CompoundChoice:
    __pydantic_config__ = _FORBID
    code: str
    rank: int
    score: float
    reasons: list[Finding]
    sources: list[str]


@dataclass(slots=True)
class IntakeMoment:
    __pydantic_config__ = _FORBID
    time: str  # HH:MM
    moment: str  # morning | midday | evening | bedtime
    elemental_mg: float
    compound: str
    meal: str  # empty_stomach_preferred | with_meal | any


@dataclass(slots=True, kw_only=True)
class ProductUse:
    """A product the client takes: its magnesium per unit and per day. `units_per_day` is what
    the client takes (as entered; for the product the dose is given in, the advised units when
    none were entered); `advised_units_per_day` the units that give the advised dose (only on
    that product)."""

    __pydantic_config__ = _FORBID
    name: str | None = None
    compound: str | None  # None: a product with elemental magnesium only (e.g. a multivitamin)
    amount_mg: float
    basis: Literal["compound", "elemental"]
    elemental_mg_per_unit: float
    units_per_day: int
    elemental_mg_per_day: float
    exceeds_upper_level: bool
    advised_units_per_day: int | None = None


@dataclass(slots=True)
class Dose:
    __pydantic_config__ = _FORBID
    status: Literal["advised", "medical_supervision", "on_hold", "withheld"]
    elemental_mg_per_day: float
    reference_intake_mg: float | None
    upper_level_mg: float | None
    exceeds_upper_level: bool
    authority: str
    basis: list[Finding]  # how the number was reached
    intakes: list[IntakeMoment]
    product: ProductUse | None = None  # the client's product the dose is given in
    products: list[ProductUse] = field(default_factory=list)  # every product the client takes
    products_elemental_mg_per_day: float | None = None  # all of them together, as taken now
    # What to do with the magnesium products the client takes now; None without products.
    current_products_action: Literal["continue", "adjust", "stop"] | None = None


@dataclass(slots=True)
class ScheduleItem:
    __pydantic_config__ = _FORBID
    time: str | None  # HH:MM; None: a medicine whose time was not given, or taken as needed
    kind: Literal["magnesium", "medication"]
    label: str  # compound code, or the medicine as entered
    elemental_mg: float | None = None
    note: Finding | None = None  # what to do on that row (as needed, on the weekly day)
    atc: str | None = None  # the medicine's ATC code (its name is chosen per language)
    frequency: Frequency = "daily"  # how often the row applies (a weekly medicine: that day)


@dataclass(slots=True, kw_only=True)
class InteractionHit:
    __pydantic_config__ = _FORBID
    medication: str  # what the user entered
    name: str | None = None  # generic name the entry resolved to (any language; see render)
    time: str | None = None  # when the (first) dose is taken
    times: list[str] = field(default_factory=list)  # every dose time entered (one row a medicine)
    frequency: Frequency = "daily"  # how often this medicine is taken
    atc: str
    interaction: str  # interaction code in the knowledge base
    effect: str
    severity: Literal["info", "caution", "avoid", "referral"]
    min_gap_hours: float | None
    medicine_first_h: float | None
    magnesium_first_h: float | None
    sources: list[str]


@dataclass(slots=True)
class MedicationMatch:
    __pydantic_config__ = _FORBID
    input: str
    atc: str | None
    name: str | None
    resolved: bool
    match: Literal["atc", "exact", "fuzzy", "none"]
    suggestions: list[str] = field(default_factory=list)
    time: str | None = None


@dataclass(slots=True)
class FoodContribution:
    __pydantic_config__ = _FORBID
    food: str
    name_nl: str
    name_en: str
    grams_per_day: float
    magnesium_mg_per_day: float
    calcium_mg_per_day: float
    source: str
    tags: list[str] = field(default_factory=list)


@dataclass(slots=True)
class DietResult:
    __pydantic_config__ = _FORBID
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


@dataclass(slots=True, kw_only=True)
class LabResult:
    """One lab value as entered and as read: canonical value, the range used and the flag."""

    __pydantic_config__ = _FORBID
    analyte: str
    value: float
    unit: str
    value_canonical: float
    unit_canonical: str
    range_low: float | None
    range_high: float | None
    range_source: Literal["lab", "default", "none"]
    flag: Literal["low", "normal", "high"] | None  # None: no range to compare with
    derived: bool = False  # computed from other values (albumin-corrected calcium)
    # a bound as the lab gave it ("<0.5": "<", `value` 0.5); `value_canonical` and `flag` are
    # of the value the rules read (just beyond an open bound)
    comparator: Literal["<", "<=", ">", ">="] | None = None


@dataclass(slots=True, kw_only=True)
class Calculations:
    __pydantic_config__ = _FORBID
    egfr: float | None = None
    egfr_source: Literal["given", "ckd_epi_2021", "schwartz_bedside"] | None = None
    ckd_stage: str | None = None
    mds: int | None = None
    mds_components: dict[str, int] = field(default_factory=dict)
    serum_magnesium_mmol_l: float | None = None
    rbc_magnesium_mmol_l: float | None = None
    urine_magnesium_mmol_24h: float | None = None
    creatinine_umol_l: float | None = None
    corrected_calcium_mmol_l: float | None = None  # albumin-corrected (Payne)
    loading_test_retention_pct: float | None = None
    age: float
    sex: str


@dataclass(slots=True)
class Advice:
    """One client's advice: risk, referral, compound, dose and schedule, medicines, labs,
    warnings, synergy and follow-up, each finding with its sources, plus the trace of every rule
    that produced something. Language-neutral: render it with `render.contract.advice_dict`."""

    __pydantic_config__ = _FORBID
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
    food_advice: list[Finding] = field(default_factory=list)
    # What to do first, before anything else in the advice (urgent referral, stop a product).
    actions: list[Finding] = field(default_factory=list)
    lab_results: list[LabResult] = field(default_factory=list)  # one row per lab entered
    follow_up_weeks: int | None = None  # when to evaluate again; None without a plan

    def all_findings(self) -> list[Finding]:
        """Every finding in the advice, for rendering and for checking sources."""
        found = [*self.actions, *self.risk.factors, *self.referral.reasons, *self.labs]
        found += self.warnings
        found += [*self.synergy, *self.follow_up, *self.dose.basis]
        for choice in self.compounds:
            found += choice.reasons
        found += [item.note for item in self.schedule if item.note is not None]
        found += self.food_advice
        if self.diet is not None:
            found += self.diet.notes
        return found


_NESTED = 1  # the field holds one of these dataclasses (or None)
_NESTED_LIST = 2  # the field holds a list of them
# Per dataclass: its field names, a getter of all their values at once, and the nesting of each
# field (None when no field nests a dataclass).
_Layout = tuple[tuple[str, ...], Callable[[Any], Any], tuple[int, ...] | None]
_LAYOUTS: dict[type[Any], _Layout] = {}


def _layout(cls: type[Any]) -> _Layout:
    """Each field's name and whether it nests dataclasses, read once from the type hints."""
    hints = typing.get_type_hints(cls)
    names, nesting = [], []
    for f in dataclasses.fields(cls):
        kind = hints[f.name]
        args = typing.get_args(kind)
        if dataclasses.is_dataclass(kind) or any(dataclasses.is_dataclass(a) for a in args):
            nested = _NESTED_LIST if typing.get_origin(kind) is list else _NESTED
        else:
            nested = 0
        names.append(f.name)
        nesting.append(nested)
    getter: Callable[[Any], Any] = operator.attrgetter(*names)
    if len(names) == 1:  # attrgetter of one name gives the value, not a tuple
        one = getter

        def getter(obj: Any) -> tuple[Any]:
            return (one(obj),)

    return tuple(names), getter, tuple(nesting) if any(nesting) else None


def plain(obj: Any) -> dict[str, Any]:
    """One of these dataclasses as a dict (nested ones too); cheaper than `dataclasses.asdict`,
    which deep-copies every value."""
    cached = _LAYOUTS.get(type(obj))
    if cached is None:
        cached = _LAYOUTS[type(obj)] = _layout(type(obj))
    names, getter, nesting = cached
    if nesting is None:
        return dict(zip(names, getter(obj), strict=True))
    out: dict[str, Any] = {}
    for name, nested, value in zip(names, nesting, getter(obj), strict=True):
        if nested == _NESTED_LIST:
            out[name] = [plain(item) for item in value]
        elif nested and value is not None:
            out[name] = plain(value)
        else:
            out[name] = value
    return out
