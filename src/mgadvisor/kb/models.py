"""The knowledge-base schema: one pydantic model per kind of entry.

Every model forbids unknown keys, so a typo in a data file is an error, not a silently ignored
field. Every clinical statement is a :class:`Statement`: Dutch and English text plus at least one
citation key. Cross-references (citation keys, application codes, compound codes) are checked by
the loader after all files are parsed, because they span files.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator

Code = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]*(\.[a-z0-9_]+)*$")]
CitationKey = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]*$")]
AtcCode = Annotated[
    str, StringConstraints(pattern=r"^[A-Z]([0-9]{2}([A-Z]([A-Z]([0-9]{2})?)?)?)?$")
]
NonEmpty = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1)]
Sources = Annotated[list[CitationKey], Field(min_length=1)]


class Model(BaseModel):
    """Base for every knowledge model: immutable, strict about unknown keys."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class Text(Model):
    """A user-facing text in both languages."""

    nl: NonEmpty
    en: NonEmpty

    def get(self, lang: str) -> str:
        return self.nl if lang == "nl" else self.en


class Statement(Text):
    """A bilingual statement that rests on at least one reference."""

    sources: Sources


# --- Bibliography ---------------------------------------------------------------------------


class StudyType(StrEnum):
    META_ANALYSIS = "meta_analysis"
    SYSTEMATIC_REVIEW = "systematic_review"
    RCT = "rct"
    COHORT_OBSERVATIONAL = "cohort_observational"
    CASE_SERIES = "case_series"
    ANIMAL = "animal"
    IN_VITRO = "in_vitro"
    NARRATIVE_REVIEW = "narrative_review"
    GUIDELINE_AUTHORITY = "guideline_authority"
    TEXTBOOK = "textbook"
    OTHER = "other"


class CitedIn(StrEnum):
    ARTICLE = "article"  # the article's reference list
    ARTICLE_TEXT = "article_text"  # cited in the article's text but missing from its list
    WEBINAR = "webinar"
    AUTHORITY = "authority"  # added by mgadvisor from an authoritative source
    SEED = "seed"  # one of the seed documents itself, cited for its own uncited statements
    CONVENTION = "convention"  # mgadvisor's own documented choice where no source sets a value


class CslName(Model):
    family: str | None = None
    given: str | None = None
    literal: str | None = None
    non_dropping_particle: str | None = Field(default=None, alias="non-dropping-particle")


class CslDate(Model):
    date_parts: list[list[int]] = Field(alias="date-parts")


class Reference(Model):
    """One CSL-JSON item plus mgadvisor's own fields (`study_type`, `cited_in`, `remark`)."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    id: CitationKey
    type: Literal[
        "article-journal",
        "book",
        "chapter",
        "report",
        "thesis",
        "webpage",
        "legislation",
        "dataset",
        "paper-conference",
        "document",
    ]
    author: list[CslName] = Field(default_factory=list)
    editor: list[CslName] = Field(default_factory=list)
    issued: CslDate
    title: NonEmpty
    container_title: str | None = Field(default=None, alias="container-title")
    container_title_short: str | None = Field(default=None, alias="container-title-short")
    volume: str | None = None
    issue: str | None = None
    page: str | None = None
    number: str | None = None
    edition: str | None = None
    publisher: str | None = None
    publisher_place: str | None = Field(default=None, alias="publisher-place")
    genre: str | None = None
    DOI: str | None = None
    URL: str | None = None
    PMID: str | None = None
    accessed: CslDate | None = None
    language: str | None = None
    study_type: StudyType
    cited_in: Annotated[list[CitedIn], Field(min_length=1)]
    remark: Text | None = None

    @field_validator("DOI")
    @classmethod
    def _doi_is_bare(cls, v: str | None) -> str | None:
        if v is not None and (v.startswith("http") or not v.startswith("10.")):
            raise ValueError(f"a bare DOI starting with '10.' (not a URL), got {v!r}")
        return v


# --- Compounds ------------------------------------------------------------------------------


class Level(StrEnum):
    LOW = "low"
    MODERATE = "moderate"
    HIGH = "high"


class Absorption(StrEnum):
    POOR = "poor"
    MODERATE = "moderate"
    GOOD = "good"


class LeveledStatement(Statement):
    level: Level


class AbsorptionStatement(Statement):
    level: Absorption


class Moment(StrEnum):
    MORNING = "morning"
    MIDDAY = "midday"
    EVENING = "evening"
    BEDTIME = "bedtime"


class MealRelation(StrEnum):
    EMPTY_STOMACH_PREFERRED = "empty_stomach_preferred"
    WITH_MEAL = "with_meal"
    ANY = "any"


class Timing(Statement):
    moments: Annotated[list[Moment], Field(min_length=1)]
    meal: MealRelation
    units_per_day: tuple[int, int] | None = None
    # Moments the compound does not suit (a form for the start of the day: not the evening);
    # the schedule keeps its intakes out of them, even when a goal prefers them.
    not_at: list[Moment] = Field(default_factory=list)


class UseLink(Model):
    """Links a compound to an application code, with the sources for that link."""

    application: Code
    sources: Sources


class Compound(Model):
    code: Code
    name: Text
    chemical_name: Text
    formula: NonEmpty  # anhydrous formula, molmass syntax
    water_of_hydration: int = Field(ge=0, le=20)
    formula_sources: Sources
    variant_of: Code | None = None
    synonyms: list[NonEmpty] = Field(default_factory=list)
    kind: Literal["organic", "inorganic"]
    chelate: bool = False
    atc: list[AtcCode] = Field(default_factory=list)
    absorption: AbsorptionStatement
    solubility: Statement | None = None
    laxative: LeveledStatement
    # Conditions with which this compound is not advised (e.g. glycerophosphate adds phosphate).
    avoid_with: list[Code] = Field(default_factory=list)
    # Lab analytes that, flagged high, rule this compound out as the conditions above do.
    avoid_with_high_lab: list[Code] = Field(default_factory=list)
    uses: list[UseLink] = Field(default_factory=list)
    timing: Timing | None = None
    notes: list[Statement] = Field(default_factory=list)


# --- Applications, symptoms, conditions, risk factors ---------------------------------------


class DoseBasis(StrEnum):
    ELEMENTAL = "elemental"  # mg of elemental magnesium
    COMPOUND = "compound"  # mg of the salt
    UNSPECIFIED = "unspecified"  # the source does not say


class StudyDose(Statement):
    amount_mg: float = Field(gt=0)
    amount_mg_max: float | None = Field(default=None, gt=0)
    basis: DoseBasis
    compound: Code | None = None
    duration_weeks: float | None = Field(default=None, gt=0)


class LaxativeDose(Statement):
    """A laxative's dose as its sources give it: amount per unit and units per day."""

    compound: Code
    amount_mg: float = Field(gt=0)  # per unit (tablet, sachet)
    basis: DoseBasis
    units_per_day: tuple[int, int]  # from, to
    age_from: float = Field(ge=0)  # the age the dose is given for, in years


class CompoundLink(Model):
    """An application's suitable compound, with the sources for that suitability."""

    compound: Code
    sources: Sources


class Application(Model):
    code: Code
    name: Text
    summary: Statement
    claims: list[Statement] = Field(default_factory=list)
    compounds: list[CompoundLink] = Field(default_factory=list)
    study_doses: list[StudyDose] = Field(default_factory=list)
    medical_only: bool = False
    moments: list[Moment] = Field(default_factory=list)
    synonyms: list[NonEmpty] = Field(default_factory=list)
    laxative_wanted: bool = False  # a laxative compound serves this goal (constipation)
    # Doses of magnesium laxatives as the sources give them (a medicine, not a supplement dose).
    laxative_doses: list[LaxativeDose] = Field(default_factory=list)


class EvidenceCaveat(Statement):
    """What the best evidence says against expecting much of magnesium for a complaint in a
    group (e.g. a Cochrane review for cramps in older adults): told beside the advice."""

    code: Code  # the warning message (messages.yaml)
    from_age: float = Field(default=0, ge=0, le=120)  # whole years, inclusive
    not_pregnant: bool = False  # the evidence excluded pregnancy: not told in pregnancy


class Symptom(Model):
    code: Code
    name: Text
    description: Statement
    risk_points: int = Field(ge=0, le=3)
    red_flag: bool = False  # belongs with a doctor whatever else is found
    # An alarm sign with constipation (bowel cancer and other organic causes): a routine GP
    # appointment, and the laxative use of magnesium waits; from `alarm_from_age` only, if set.
    bowel_alarm: bool = False
    alarm_from_age: float | None = Field(default=None, ge=0, le=120)
    suggests: list[Code] = Field(default_factory=list)  # application codes
    synonyms: list[NonEmpty] = Field(default_factory=list)
    # The risk factor (message code) that already counts this complaint's risk when present:
    # the complaint then adds no points of its own (the same risk is counted once).
    risk_counted_as: Code | None = None
    evidence_caveat: EvidenceCaveat | None = None


class Safety(StrEnum):
    NONE = "none"
    CAUTION = "caution"
    MEDICAL_SUPERVISION = "medical_supervision"
    CONTRAINDICATED = "contraindicated"


class Condition(Model):
    code: Code
    name: Text
    description: Statement
    risk_points: int = Field(ge=0, le=3)
    risk_note: Statement | None = None
    safety: Safety = Safety.NONE
    safety_note: Statement | None = None
    suggests: list[Code] = Field(default_factory=list)  # application codes
    synonyms: list[NonEmpty] = Field(default_factory=list)
    # Complaint or condition codes that, with this condition suspected, need a doctor now.
    warning_signs: list[Code] = Field(default_factory=list)
    laxative_sensitive: bool = False  # a laxative compound is a bad fit for this bowel
    monitor_kidney: bool = False  # follow-up includes kidney function
    # The risk factor (message code) that already counts this condition's risk when present
    # (e.g. a measured reduced eGFR for kidney disease): counted once, not twice.
    risk_counted_as: Code | None = None


class RiskFactor(Model):
    """A deficiency risk that is not a diagnosis: age group, sport, stress, alcohol, diet."""

    code: Code
    name: Text
    statement: Statement
    points: int = Field(ge=0, le=3)
    params: dict[str, float | int | str] = Field(default_factory=dict)


# --- Medicines ------------------------------------------------------------------------------


class Severity(StrEnum):
    INFO = "info"
    CAUTION = "caution"
    AVOID = "avoid"
    REFERRAL = "referral"


class Spacing(Model):
    """Minimum hours between the medicine and magnesium, in each order.

    `medicine_first_h`: the medicine at least this many hours *before* magnesium.
    `magnesium_first_h`: magnesium at least this many hours *before* the medicine.
    Example: ciprofloxacin >= 2 h before or 6 h after magnesium -> 2 and 6.
    """

    medicine_first_h: float = Field(ge=0, le=24)
    magnesium_first_h: float = Field(ge=0, le=24)

    @property
    def min_gap_hours(self) -> float:
        return min(self.medicine_first_h, self.magnesium_first_h)


class Interaction(Model):
    code: Code
    name: Text
    atc: Annotated[list[AtcCode], Field(min_length=1)]  # codes or prefixes
    effect: Literal[
        "absorption_of_medicine_reduced",
        "absorption_of_magnesium_reduced",
        "toxicity_increased",
        "effect_increased",
        "not_recommended",
    ]
    mechanism: Statement
    severity: Severity
    spacing: Spacing | None = None
    advice: Statement | None = None
    route: Literal["oral", "parenteral"] = "oral"
    # Not a timing rule: told (as a caution) only when kidney function is reduced.
    kidney_only: bool = False
    # Low magnesium and potassium raise this medicine's risk (QT prolongation, torsades de
    # pointes): the advice asks to have both checked.
    check_electrolytes: bool = False
    # Conditions (codes of conditions.yaml) this medicine is almost only used for, e.g.
    # pyridostigmine: myasthenia gravis. The advice then treats the condition as likely.
    points_to: list[Code] = Field(default_factory=list)
    # The medicine is (partly) magnesium itself (a magnesium laxative or antacid): it counts
    # toward the upper level and belongs under the intake's products with its amount.
    contains_magnesium: bool = False

    @property
    def timing(self) -> bool:
        """Whether the entry asks something of the oral magnesium intake itself: a gap, no
        magnesium at all, or the doctor first. Other entries are notes, never schedule rows."""
        if self.route != "oral" or self.kidney_only or self.contains_magnesium:
            return False
        return self.spacing is not None or self.severity in (Severity.AVOID, Severity.REFERRAL)


class Depleting(Model):
    code: Code
    name: Text
    atc: Annotated[list[AtcCode], Field(min_length=1)]
    statement: Statement
    risk_points: int = Field(ge=0, le=3)
    specialist: bool = False  # given and followed by a specialist team: the dose is theirs
    mds_component: Literal["diuretic", "ppi"] | None = None


class MedicineName(Model):
    """One row of medicines.csv: a generic or brand name that resolves to an ATC code."""

    name: NonEmpty
    atc: AtcCode
    kind: Literal["generic", "brand"]
    lang: Literal["nl", "en", "any"]
    source: CitationKey  # the register or index the name and its code come from


# --- Reference values -----------------------------------------------------------------------


class LifeStage(StrEnum):
    ANY = "any"
    PREGNANCY = "pregnancy"
    LACTATION = "lactation"


class IntakeBand(Model):
    age_from: float = Field(ge=0)  # years, inclusive
    age_to: float | None = Field(default=None, gt=0)  # years, exclusive; None = no upper bound
    sex: Literal["any", "male", "female"] = "any"
    life_stage: LifeStage = LifeStage.ANY
    mg: float | None = Field(gt=0)  # None = not set by this authority


class Authority(Model):
    code: Code
    name: Text
    kind: Text  # e.g. "adequate intake (AI)"
    intake_sources: Sources
    intakes: Annotated[list[IntakeBand], Field(min_length=1)]
    upper_level_note: Statement
    upper_levels: Annotated[list[IntakeBand], Field(min_length=1)]
    default: bool = False


class SeedStatement(Statement):
    code: Code
    mg: float | None = None
    mg_max: float | None = None


class ReferenceValues(Model):
    authorities: Annotated[list[Authority], Field(min_length=1)]
    seed_statements: list[SeedStatement] = Field(default_factory=list)


# --- Foods, facts, synergy, safety ----------------------------------------------------------


FoodTag = Literal["phytate_rich", "oxalate_rich", "refined", "whole_grain", "fortified"]


class Food(Model):
    """One row of foods.csv (mg per 100 g edible portion)."""

    code: Code
    name_nl: NonEmpty
    name_en: NonEmpty
    group: Code
    mg_per_100g: float = Field(ge=0, le=1000)
    ca_per_100g: float | None = Field(default=None, ge=0, le=3000)
    source: CitationKey
    source_food_id: str = ""
    tags: list[FoodTag] = Field(default_factory=list)  # in CSV: separated by ';'
    # Where the calcium value comes from when not from `source`: a Dutch value for a food whose
    # US value does not fit the Dutch product (bread: 125-161 mg in the US table, 37 measured).
    ca_source: CitationKey | None = None

    @field_validator("ca_source", mode="before")
    @classmethod
    def _blank(cls, value: object) -> object:
        return None if value == "" else value

    @field_validator("tags", mode="before")
    @classmethod
    def _split(cls, value: object) -> object:
        if isinstance(value, str):
            return [part.strip() for part in value.split(";") if part.strip()]
        return value


class Portion(Model):
    """One row of portions.csv: a household measure in grams, for a food or a whole group."""

    code: Code
    name_nl: NonEmpty
    name_en: NonEmpty
    grams: float = Field(gt=0, le=2000)
    food: Code | None = None
    group: Code | None = None
    source: CitationKey


class FfqFrequency(Model):
    """An answer to "how often": its code, label and how many times a day it means."""

    code: Code
    label: Text
    per_day: float = Field(ge=0, le=10)


class FfqFood(Model):
    food: Code
    share: float = Field(gt=0, le=1)  # share of the item's grams this food stands for


class FfqItem(Model):
    """One question of the magnesium food-frequency questionnaire."""

    code: Code
    question: Text
    portion: Text  # the portion the question asks about, e.g. "1 slice (35 g)"
    portion_grams: float = Field(gt=0, le=2000)
    portion_sources: Sources
    foods: Annotated[list[FfqFood], Field(min_length=1)]


class Ffq(Model):
    title: Text
    frequencies: Annotated[list[FfqFrequency], Field(min_length=2)]
    items: Annotated[list[FfqItem], Field(min_length=1)]


class Fact(Statement):
    """A general statement of the seeds (physiology, absorption, measurement, ...)."""

    code: Code
    topic: Code
    codes: list[Code] = Field(default_factory=list)  # entries the fact names (e.g. food groups)
    # Words or phrases as people write them (a label's "2x daags"), matched after normalising.
    words: list[NonEmpty] = Field(default_factory=list)


class SafetyFlag(Statement):
    """Whether something is known to be safe in a life stage, and why (sourced)."""

    safe: bool


class CarePrompt(Model):
    """A follow-up prompt that goes with a suggestion (e.g. addiction care with thiamine)."""

    message: Code  # a follow-up message code in messages.yaml
    sources: Sources


class Synergy(Model):
    code: Code
    name: Text
    statement: Statement
    applications: list[Code] = Field(default_factory=list)
    always: bool = False  # suggested whatever the goals
    # Conditions (conditions.yaml) for which this nutrient is suggested whatever the goals.
    conditions: list[Code] = Field(default_factory=list)
    # Suggested only from this age (years): the ages its sources studied.
    age_from: float = Field(default=0, ge=0, le=120)
    # Not suggested to someone who already takes a medicine under these ATC codes (calcium).
    not_with_atc: list[AtcCode] = Field(default_factory=list)
    # Not suggested when one of these lab analytes is flagged high (calcium, vitamin D).
    not_with_high_lab: list[Code] = Field(default_factory=list)
    # Pregnancy and lactation: suggested only when `safe` is true; none = not known, not suggested.
    pregnancy: SafetyFlag | None = None
    # With one of `conditions`: a follow-up prompt (a messages.yaml code) and its sources.
    care_prompt: CarePrompt | None = None


class Conflict(Model):
    """A seed statement that an authority contradicts; the advice shows the safer one."""

    code: Code
    topic: Text
    seed: Statement
    authority: Statement
    safer: Literal["seed", "authority"]


class SideEffect(Model):
    code: Code
    name: Text
    statement: Statement
    compounds: list[Code] = Field(default_factory=list)


class SafetyData(Model):
    conflicts: list[Conflict] = Field(default_factory=list)
    side_effects: list[SideEffect] = Field(default_factory=list)


# --- Labs, clinical parameters, message templates -----------------------------------------


class LabRange(Statement):
    """A reference interval in the analyte's canonical unit; either bound may be open."""

    low: float | None = None
    high: float | None = None
    # The default applies from this age only (e.g. children have higher phosphate); younger:
    # no default, only the lab's own range.
    adults_from_age: float | None = None


class LabAnalyte(Model):
    code: Code
    name: Text
    canonical_unit: NonEmpty
    units: Annotated[list[NonEmpty], Field(min_length=1)]  # accepted input units
    loinc: list[NonEmpty] = Field(default_factory=list)
    default_range: LabRange | None = None
    notes: list[Statement] = Field(default_factory=list)
    # Finding codes for a value below / above its range (messages.yaml); none: no finding.
    low_message: Code | None = None
    high_message: Code | None = None
    # Another analyte that, when present (entered or derived), is read instead of this one
    # (total calcium → albumin-corrected calcium).
    read_as: Code | None = None


class Alarm(Model):
    """A combination of findings that needs a doctor, and how soon (its referral message's
    urgency). It fires when every group in `when` has at least one criterion that holds.

    Criteria (strings, checked against the codes of the knowledge base):
    ``complaint:<code>``, ``condition:<code>``, ``goal:<code>``, ``atc:<prefix>`` (a medicine
    taken), ``low:<analyte>`` / ``high:<analyte>`` (the lab value's flag against the lab's own
    or the default range), ``below:<analyte>:<value>`` (canonical unit),
    ``above:<analyte>:<value>``, ``pregnancy_week_from:<week>``, ``pregnant``, ``lactating``,
    ``qt_medicine`` (a medicine whose entry asks for electrolyte checks), ``age_from:<years>``.
    """

    code: Code
    referral: Code  # the referral message it gives (messages.yaml)
    when: Annotated[list[Annotated[list[NonEmpty], Field(min_length=1)]], Field(min_length=1)]
    statement: Statement  # why this combination is urgent, with its sources


class Parameter(Statement):
    """A number a rule uses (a threshold, a score weight), with the source it comes from."""

    code: Code
    value: float
    unit: str = ""


class Message(Text):
    """A finding's sentence in both languages; `{name}` placeholders are filled from its params."""

    code: Code
    # A referral with this code means no dose at all until a doctor has decided.
    withholds_dose: bool = False
    # How soon a referral with this code must be seen: emergency (112 / emergency department
    # now), same_day (GP or specialist today) or routine. Only on referral codes; an emergency
    # or same-day referral also withholds the supplement plan.
    urgency: Literal["emergency", "same_day", "routine"] | None = None
    # A referral with this code means magnesium harms now: the client stops every product
    # with magnesium (not only no new plan), and the advice says so first.
    stops_products: bool = False
    # The reason in plain words for the client's handout (B1), where the sentence above is
    # written for clinicians; the warning signs the handout names under "if it gets worse".
    client: Text | None = None
    client_signs: Text | None = None
    # Who decides on a referral with this code, when not the GP: the specialist team that
    # gives the medicine it names (the handout sends the client there, not to the GP).
    seen_by: Literal["specialist"] | None = None
    # Speaks to whoever fills in the intake ("enter it under the products"): not shown where
    # no intake form is filled in (a CDS card in the EHR).
    form_only: bool = False


class Meta(Model):
    version: Annotated[str, StringConstraints(pattern=r"^\d+\.\d+\.\d+$")]
    title: Text


# --- FHIR mapping (fhir_map.yaml) -----------------------------------------------------------


class FhirObservationCode(Model):
    """A LOINC code beyond those of labs.yaml: a lab analyte or a person field it fills."""

    loinc: Annotated[str, StringConstraints(pattern=r"^\d{1,7}-\d$")]
    display: NonEmpty
    analyte: Code | None = None  # a labs.yaml code
    person: Literal["weight_kg", "height_cm", "pregnancy_week", "pregnant", "lactating"] | None = (
        None
    )
    sources: Sources


class FhirUnit(Model):
    """A UCUM unit (as in Quantity.code, or its common printed form) and the intake's unit."""

    ucum: NonEmpty
    unit: NonEmpty
    sources: Sources


class FhirConditionCode(Model):
    """A SNOMED CT concept: an intake condition, or a person's state (pregnant, lactating)."""

    snomed: Annotated[str, StringConstraints(pattern=r"^\d{6,18}$")]
    display: NonEmpty
    condition: Code | None = None  # a conditions.yaml code
    person: Literal["pregnant", "not_pregnant", "lactating"] | None = None
    sources: Sources


class FhirMedicationCode(Model):
    """An RxNorm concept (RxCUI) and the ATC code it stands for."""

    rxnorm: Annotated[str, StringConstraints(pattern=r"^\d{1,10}$")]
    display: NonEmpty
    atc: AtcCode
    sources: Sources


class FhirSupplementCode(Model):
    """The ATC group a magnesium supplement is coded with in FHIR out (a MedicationRequest
    proposal), beside the compound's own ATC codes."""

    atc: AtcCode
    display: NonEmpty
    sources: Sources


class FhirDates(Model):
    """How old (or new) a FHIR record may be for the intake: a result dated after the advice
    date is not used; a pregnancy record older than `pregnancy_max_months` does not set
    pregnant; a lab result older than `old_result_months` is used but reported with its date."""

    old_result_months: int = Field(default=12, ge=1, le=240)
    pregnancy_max_months: int = Field(default=10, ge=9, le=12)
    sources: list[CitationKey] = Field(default_factory=list)


class FhirMap(Model):
    """How coded FHIR data (LOINC, UCUM, SNOMED CT, RxNorm) maps onto an intake, and the code
    of the supplement in FHIR out."""

    supplement: FhirSupplementCode | None = None
    dates: FhirDates = Field(default_factory=FhirDates)
    observations: list[FhirObservationCode] = Field(default_factory=list)
    units: list[FhirUnit] = Field(default_factory=list)
    conditions: list[FhirConditionCode] = Field(default_factory=list)
    medications: list[FhirMedicationCode] = Field(default_factory=list)
