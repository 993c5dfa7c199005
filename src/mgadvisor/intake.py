"""The intake: what a practitioner knows about a client (public contract, YAML or JSON).

Only `person` is required. Codes (complaints, goals, conditions, lab analytes, authority) are
checked against the knowledge base; every problem is reported with its field path, what was
expected and what was given, e.g. ``complaints[1]: expected a complaint code, got 'cramp'``.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import Annotated, Any, ClassVar, Literal

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

from mgadvisor.errors import IntakeError, suggest
from mgadvisor.i18n import N_
from mgadvisor.kb.base import KnowledgeBase

Clock = Annotated[str, StringConstraints(pattern=r"^([01]\d|2[0-3]):[0-5]\d$")]
Atc = Annotated[str, StringConstraints(pattern=r"^[A-Z]\d{2}([A-Z]([A-Z](\d{2})?)?)?$")]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Person(_Model):
    age: float = Field(ge=0, le=120)
    sex: Literal["female", "male"]
    pregnant: bool = False
    # Week of pregnancy (1-42); implies `pregnant`.
    pregnancy_week: int | None = Field(default=None, ge=1, le=42)
    lactating: bool = False
    weight_kg: float | None = Field(default=None, gt=0, le=400)
    height_cm: float | None = Field(default=None, ge=40, le=250)  # children's eGFR (Schwartz)

    @model_validator(mode="before")
    @classmethod
    def _week_means_pregnant(cls, data: Any) -> Any:
        if isinstance(data, dict) and data.get("pregnancy_week") is not None:
            if data.get("pregnant") is False:
                raise ValueError("pregnancy_week given with pregnant: false")
            if data.get("sex") != "male":  # a male with a week: the week is the error
                data = {**data, "pregnant": True}
        return data

    @field_validator("pregnant", "pregnancy_week", "lactating")
    @classmethod
    def _life_stage_fits(cls, value: Any, info: ValidationInfo) -> Any:
        if not value:
            return value
        if info.data.get("sex") == "male":
            raise ValueError("only for a female client")
        age = info.data.get("age")
        if age is not None and not 10 <= age <= 60:
            raise ValueError("only between ages 10 and 60")
        return value


class Medication(_Model):
    """A medicine the client takes: a name (strength and form may follow: "Thyrax 0,1 mg") or an
    ATC code, how often, and when: `time` for one dose, `times` for each dose of the day."""

    name: str | None = Field(default=None, min_length=1, max_length=120)
    atc: Atc | None = None
    frequency: Literal[
        "daily", "twice_daily", "three_times_daily", "weekly", "monthly", "as_needed"
    ] = "daily"
    time: Clock | None = None
    times: list[Clock] | None = Field(default=None, min_length=1, max_length=3)
    months: float | None = Field(default=None, ge=0, le=1200)  # how long it has been used

    # Doses a day per frequency: the most times a medicine can be given for it.
    DOSES: ClassVar[dict[str, int]] = {
        "daily": 1,
        "twice_daily": 2,
        "three_times_daily": 3,
        "weekly": 1,
        "monthly": 1,
        "as_needed": 0,
    }

    @model_validator(mode="after")
    def _named(self) -> Medication:
        if not self.name and not self.atc:
            raise ValueError("a medication needs a name or an atc code")
        return self

    @model_validator(mode="after")
    def _times_fit(self) -> Medication:
        if self.time is not None and self.times is not None:
            raise ValueError("give 'time' (one dose) or 'times' (each dose), not both")
        given = self.dose_times
        if len(set(given)) != len(given):
            raise ValueError(f"'times' lists the same time twice: {', '.join(given)}")
        allowed = self.DOSES[self.frequency]
        if self.frequency == "as_needed" and given:
            raise ValueError(
                "a medicine taken as needed has no fixed time: leave out 'time' and 'times'"
            )
        if len(given) > allowed:
            raise ValueError(
                f"frequency '{self.frequency}' allows at most {allowed} time(s) a day, "
                f"got {len(given)}; for more doses a day choose twice_daily or three_times_daily"
            )
        if given and len(given) < allowed:
            raise ValueError(
                f"frequency '{self.frequency}' means {allowed} doses a day: give a time for "
                f'each in \'times\' (e.g. ["08:00", "20:00"]) or leave the times out'
            )
        return self

    @property
    def dose_times(self) -> list[str]:
        """The times of day given, from `time` or `times` (empty when none was given)."""
        if self.times is not None:
            return list(self.times)
        return [self.time] if self.time is not None else []


class Lifestyle(_Model):
    sport_hours_per_week: float = Field(default=0, ge=0, le=100)
    alcohol_units_per_week: float = Field(default=0, ge=0, le=300)
    stress: Literal["low", "moderate", "high"] | None = None


class Lab(_Model):
    analyte: str
    value: float = Field(ge=0, le=100000)
    unit: str
    reference_range: tuple[float, float] | None = None

    @field_validator("reference_range")
    @classmethod
    def _range_ordered(cls, value: tuple[float, float] | None) -> tuple[float, float] | None:
        if value is not None and not 0 <= value[0] < value[1]:
            raise ValueError("[low, high] with 0 <= low < high")
        return value


class LoadingTest(_Model):
    """An IV magnesium loading test: retention from the load and two 24-h urine collections."""

    infused_mmol: float = Field(gt=0, le=200)
    baseline_urine_mmol_24h: float = Field(ge=0, le=200)
    post_load_urine_mmol_24h: float = Field(ge=0, le=400)


class Product(_Model):
    """A product the client already takes that holds magnesium: a magnesium supplement, a
    multivitamin, a calcium-magnesium tablet, an antacid or a laxative. Without a compound the
    amount must be elemental magnesium (as on a multivitamin label)."""

    name: str | None = Field(default=None, min_length=1, max_length=120)
    compound: str | None = Field(default=None, min_length=1, max_length=120)
    amount_mg: float = Field(gt=0, le=10000)  # per unit (capsule, tablet, sachet)
    basis: Literal["compound", "elemental"] = "compound"
    units_per_day: int | None = Field(default=None, ge=1, le=12)

    @model_validator(mode="before")
    @classmethod
    def _elemental_without_compound(cls, data: Any) -> Any:
        if isinstance(data, dict) and not data.get("compound"):
            if data.get("basis", "elemental") != "elemental":
                raise ValueError("without a compound the amount must be elemental magnesium")
            data = {**data, "basis": "elemental"}
        return data


class FfqAnswer(_Model):
    frequency: str  # a frequency code of the questionnaire (e.g. daily_1, weekly_2_4)
    portions: float = Field(default=1, gt=0, le=20)  # portions per occasion


class DiaryEntry(_Model):
    food: str = Field(min_length=1, max_length=120)  # food code or a Dutch/English name
    grams: float | None = Field(default=None, gt=0, le=5000)
    portion: str | None = None  # a household-portion code (see portions.csv)
    amount: float = Field(default=1, gt=0, le=50)  # number of portions

    @model_validator(mode="after")
    def _quantity(self) -> DiaryEntry:
        if self.grams is None and self.portion is None:
            raise ValueError("a diary entry needs grams or a portion")
        return self


class DiaryDay(_Model):
    date: str | None = None
    entries: list[DiaryEntry] = Field(min_length=1, max_length=200)


class Water(_Model):
    liters_per_day: float = Field(ge=0, le=10)
    magnesium_mg_per_l: float = Field(ge=0, le=200)  # from the water company or the bottle label
    calcium_mg_per_l: float | None = Field(default=None, ge=0, le=1000)


class Diet(_Model):
    ffq: dict[str, FfqAnswer] = Field(default_factory=dict)
    diary: list[DiaryDay] = Field(default_factory=list, max_length=14)
    water: Water | None = None


class Preferences(_Model):
    authority: str | None = None
    lang: Literal["nl", "en"] | None = None
    # Follow a goal's study dose even above the upper level (then flagged, with a warning).
    # Off by default: the advice keeps to the safer upper level and reports the study dose.
    follow_study_dose: bool = False


class Intake(_Model):
    """One client's intake, built and checked against the knowledge base by `parse_intake`."""

    person: Person
    complaints: list[str] = Field(default_factory=list, max_length=50)
    goals: list[str] = Field(default_factory=list, max_length=30)
    conditions: list[str] = Field(default_factory=list, max_length=50)
    medications: list[Medication] = Field(default_factory=list, max_length=50)
    lifestyle: Lifestyle = Field(default_factory=Lifestyle)
    labs: list[Lab] = Field(default_factory=list, max_length=30)
    loading_test: LoadingTest | None = None
    product: Product | None = None  # one product (kept for older intakes); see `products`
    products: list[Product] = Field(default_factory=list, max_length=10)
    diet: Diet | None = None
    preferences: Preferences = Field(default_factory=Preferences)

    @property
    def all_products(self) -> list[Product]:
        """Every product the client takes: `product` (older intakes) first, then `products`."""
        return [self.product, *self.products] if self.product is not None else self.products


# -- parsing -------------------------------------------------------------------------------


def load_intake_text(text: str, kb: KnowledgeBase, source: str = "intake") -> Intake:
    """Parse YAML or JSON text into a checked :class:`Intake`.

    Raises:
        IntakeError: the first problem; `.errors` holds all of them.
    """
    return parse_intake(read_intake_data(text, source), kb)


def read_intake_data(text: str, source: str = "intake") -> Any:
    """YAML or JSON text as plain data (not yet checked).

    Raises:
        IntakeError: the text is not YAML or JSON, with the line of the problem.
    """

    try:
        from mgadvisor.kb.loader import safe_yaml

        data = safe_yaml(text) if text.strip() else None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{source}:{mark.line + 1}" if mark else source
        raise IntakeError(where, N_("valid YAML or JSON"), N_("a syntax error")) from None
    return data


def parse_intake(data: Any, kb: KnowledgeBase) -> Intake:
    """Validate a mapping (from YAML, JSON or a form) into a checked :class:`Intake`."""
    if not isinstance(data, Mapping):
        raise IntakeError("intake", N_("a mapping with at least 'person'"), _given(data))
    try:
        intake = Intake.model_validate(data)
    except ValidationError as exc:
        errors = [field_problem(err) for err in exc.errors()]
        raise _combined(errors) from None
    errors = list(_check_codes(intake, kb))
    if errors:
        raise _combined(errors)
    return intake


def intake_to_json(intake: Intake) -> str:
    return json.dumps(intake.model_dump(mode="json", exclude_defaults=True), ensure_ascii=False)


def _combined(errors: list[IntakeError]) -> IntakeError:
    first = errors[0]
    return IntakeError(
        first.path, first.expected, first.given, errors, first.expected_params, first.hint
    )


def _path(loc: Iterable[int | str]) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "intake"


def _given(value: Any) -> str:
    if value is None:
        return N_("nothing")
    text = (
        repr(value)
        if isinstance(value, str)
        else json.dumps(value, ensure_ascii=False, default=str)
    )
    return text if len(text) <= 60 else text[:57] + "..."


_EXPECTED = {
    "missing": N_("a value (this field is required)"),
    "float_parsing": N_("a number"),
    "float_type": N_("a number"),
    "int_parsing": N_("a whole number"),
    "int_type": N_("a whole number"),
    "int_from_float": N_("a whole number"),
    "bool_parsing": N_("true or false"),
    "bool_type": N_("true or false"),
    "string_type": N_("text"),
    "list_type": N_("a list"),
    "dict_type": N_("a mapping"),
    "model_type": N_("a mapping"),
    "model_attributes_type": N_("a mapping"),
    "tuple_type": N_("a list of two numbers [low, high]"),
    "too_short": N_("at least {min_length} item(s)"),
    "too_long": N_("at most {max_length} item(s)"),
    "string_too_short": N_("at least {min_length} character(s)"),
    "string_too_long": N_("at most {max_length} characters"),
    "greater_than_equal": N_("a number of at least {ge}"),
    "greater_than": N_("a number above {gt}"),
    "less_than_equal": N_("a number of at most {le}"),
    "less_than": N_("a number below {lt}"),
    "literal_error": N_("one of {expected}"),
    "finite_number": N_("a finite number"),
    "date_parsing": N_("a date as YYYY-MM-DD"),
    "date_from_datetime_parsing": N_("a date as YYYY-MM-DD"),
    "date_type": N_("a date as YYYY-MM-DD"),
    "json_invalid": N_("valid JSON"),
}


def _plain(value: Any) -> str:
    """0.0 -> '0', 2.5 -> '2.5': limits read as people write them."""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def field_problem(err: Mapping[str, Any]) -> IntakeError:
    """One pydantic error (of the intake, or of an HTTP request's parameters) in our words:
    the field path, what was expected and what was given, each translatable."""
    loc = tuple(err["loc"])
    kind = str(err["type"])
    ctx = {k: _plain(v) for k, v in (err.get("ctx") or {}).items()}
    given = _given(err.get("input"))
    if kind == "extra_forbidden":
        parent = _model_at(loc[:-1])
        allowed = sorted(parent.model_fields) if parent else []
        hint = suggest(str(loc[-1]), allowed)
        return IntakeError(
            _path(loc),
            N_("one of the keys {allowed}"),
            repr(loc[-1]),
            [],
            {"allowed": ", ".join(allowed)},
            hint[0] if hint else "",
        )
    if kind == "string_pattern_mismatch":
        field = str(loc[-1]) if loc else ""
        if field == "time" or (len(loc) > 1 and loc[-2] == "times"):
            return IntakeError(_path(loc), N_("a time as HH:MM, e.g. 07:30"), given)
        if field == "atc":
            return IntakeError(_path(loc), N_("an ATC code such as J01MA02"), given)
        return IntakeError(_path(loc), N_("text of the form {pattern}"), given, [], ctx)
    if kind == "value_error":
        message = str(err.get("msg", "")).removeprefix("Value error, ")
        return IntakeError(_path(loc), N_("{rule}"), given, [], {"rule": message})
    if kind in _EXPECTED:
        return IntakeError(_path(loc), _EXPECTED[kind], given, [], ctx)
    return IntakeError(_path(loc), N_("{rule}"), given, [], {"rule": str(err.get("msg", kind))})


def _model_at(loc: tuple[int | str, ...]) -> type[BaseModel] | None:
    from mgadvisor.kb.loader import _model_in

    current: type[BaseModel] | None = Intake
    for part in loc:
        if current is None or isinstance(part, int):
            continue
        field = current.model_fields.get(str(part))
        current = _model_in(field.annotation) if field else None
    return current


def _check_codes(intake: Intake, kb: KnowledgeBase) -> Iterable[IntakeError]:
    """Codes must exist in the knowledge base; a near miss gets a suggestion."""
    groups: list[tuple[str, list[str], Mapping[str, Any], str]] = [
        ("complaints", intake.complaints, kb.symptoms, N_("a complaint code")),
        ("goals", intake.goals, kb.applications, N_("a goal (application) code")),
        ("conditions", intake.conditions, kb.conditions, N_("a condition code")),
    ]
    for field, codes, valid, what in groups:
        for i, code in enumerate(codes):
            if code not in valid:
                yield _unknown(f"{field}[{i}]", what, code, valid)
    for i, lab in enumerate(intake.labs):
        analyte = kb.labs.get(lab.analyte)
        if analyte is None:
            yield _unknown(f"labs[{i}].analyte", N_("a lab analyte code"), lab.analyte, kb.labs)
            continue
        units = {u.replace("µ", "u").replace(" ", "").lower(): u for u in analyte.units}
        if lab.unit.replace("µ", "u").replace(" ", "").lower() not in units:
            yield IntakeError(
                f"labs[{i}].unit",
                N_("one of {units}"),
                repr(lab.unit),
                [],
                {"units": ", ".join(analyte.units)},
            )
    if intake.diet is not None:
        yield from _check_diet(intake.diet, kb)
    authorities = {a.code: a for a in kb.reference_values.authorities}
    if intake.preferences.authority and intake.preferences.authority not in authorities:
        yield _unknown(
            "preferences.authority",
            N_("an authority code"),
            intake.preferences.authority,
            authorities,
        )
    yield from _check_products(intake, kb)


def _check_products(intake: Intake, kb: KnowledgeBase) -> Iterable[IntakeError]:
    from mgadvisor.errors import UnknownNameError
    from mgadvisor.kb.names import resolve_compound

    given = [("product", intake.product)] if intake.product is not None else []
    given += [(f"products[{i}]", product) for i, product in enumerate(intake.products)]
    for path, product in given:
        if product is None or product.compound is None:
            continue
        try:
            resolve_compound(kb, product.compound)
        except UnknownNameError as exc:
            hint = exc.suggestions[0] if exc.suggestions else ""
            yield IntakeError(
                f"{path}.compound",
                N_("a magnesium compound name"),
                repr(product.compound),
                [],
                {},
                hint,
            )


def _check_diet(diet: Diet, kb: KnowledgeBase) -> Iterable[IntakeError]:
    items = {item.code: item for item in kb.ffq.items}
    frequencies = {f.code: f for f in kb.ffq.frequencies}
    for code, answer in diet.ffq.items():
        if code not in items:
            yield _unknown(
                f"diet.ffq.{code}",
                N_("a question code of the food-frequency questionnaire"),
                code,
                items,
            )
        if answer.frequency not in frequencies:
            yield _unknown(
                f"diet.ffq.{code}.frequency", N_("a frequency code"), answer.frequency, frequencies
            )
    for d, day in enumerate(diet.diary):
        for e, entry in enumerate(day.entries):
            if entry.portion is not None and entry.portion not in kb.portions:
                yield _unknown(
                    f"diet.diary[{d}].entries[{e}].portion",
                    N_("a household-portion code"),
                    entry.portion,
                    kb.portions,
                )


def _unknown(path: str, what: str, code: str, valid: Mapping[str, Any]) -> IntakeError:
    return IntakeError(path, what, repr(code), [], {}, closest_code(code, valid))


def closest_code(text: str, valid: Mapping[str, Any]) -> str:
    """The code someone probably meant: by code, by name or synonym (nl/en), or a near miss."""
    from mgadvisor.kb.names import normalize

    aliases: dict[str, str] = {}
    for code, entry in valid.items():
        names = [code, code.replace("_", " ")]
        name = getattr(entry, "name", None)
        if name is not None and hasattr(name, "nl"):
            names += [name.nl, name.en]
        names += list(getattr(entry, "synonyms", []) or [])
        for alias in names:
            aliases.setdefault(normalize(alias), code)
    key = normalize(text)
    if key in aliases:
        return aliases[key]
    if len(key) >= 4:  # a word that starts a name or synonym: "slaap" -> "slaapproblemen"
        starts = {
            code for alias, code in aliases.items() if any(w.startswith(key) for w in alias.split())
        }
        if len(starts) == 1:
            return starts.pop()
    import difflib

    hint = difflib.get_close_matches(key, list(aliases), n=1, cutoff=0.75)
    return aliases[hint[0]] if hint else ""
