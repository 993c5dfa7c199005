"""The intake: what a practitioner knows about a client (public contract, YAML or JSON).

Only `person` is required. Codes (complaints, goals, conditions, lab analytes, authority) are
checked against the knowledge base; every problem is reported with its field path, what was
expected and what was given, e.g. ``complaints[1]: expected a complaint code, got 'cramp'``.
"""

from __future__ import annotations

import contextlib
import functools
import json
import re
from collections.abc import Callable, Iterable, Mapping
from typing import Annotated, Any, ClassVar, Literal, get_args

import yaml
from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    Strict,
    StringConstraints,
    TypeAdapter,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic_core import PydanticCustomError

from mgadvisor.errors import IntakeError, UserInputError, quote, suggest
from mgadvisor.i18n import N_
from mgadvisor.kb.base import KnowledgeBase

# -- bounds --------------------------------------------------------------------------------
# Every number has a bound, every text, list and mapping a length (all in the JSON Schema), so
# no intake can crash the engine or cost more than a few milliseconds to check. Numbers are
# numbers: `true` is not an age and "50" is not a weight; switches are `true` or `false`.

Clock = Annotated[str, StringConstraints(pattern=r"^([01]\d|2[0-3]):[0-5]\d$")]
Atc = Annotated[str, StringConstraints(pattern=r"^[A-Z]\d{2}([A-Z]([A-Z](\d{2})?)?)?$")]
Code = Annotated[str, StringConstraints(min_length=1, max_length=64)]  # a knowledge-base code
Unit = Annotated[str, StringConstraints(min_length=1, max_length=24)]
Name = Annotated[str, StringConstraints(min_length=1, max_length=120)]
Number = Annotated[float, Strict()]  # an int or a float, never a bool or text
Switch = Annotated[bool, Strict()]


def _whole_number(value: Any) -> Any:
    """A whole number may arrive as 2 or 2.0 (forms send floats), never as true or "2"."""
    if isinstance(value, bool | str):
        raise PydanticCustomError("int_type", "Input should be a valid integer")
    return value


NotBool = BeforeValidator(_whole_number)  # after the bounds, so they show in the schema
LabNumber = Annotated[float, Strict(), Field(ge=0, le=100_000)]


def _rule(template: str, **params: object) -> PydanticCustomError:
    """A broken rule of the intake as a translatable message: `template` is its msgid."""
    return PydanticCustomError("intake_rule", template, {"template": template, **params})


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)


class Person(_Model):
    age: Number = Field(ge=0, le=120)
    sex: Literal["female", "male"]
    pregnant: Switch = False
    # Week of pregnancy (1-42); implies `pregnant`.
    pregnancy_week: Annotated[int, Field(ge=1, le=42), NotBool] | None = None
    lactating: Switch = False
    weight_kg: Number | None = Field(default=None, ge=0.3, le=400)  # from a preterm baby up
    height_cm: Number | None = Field(default=None, ge=40, le=250)  # children's eGFR (Schwartz)

    @model_validator(mode="before")
    @classmethod
    def _week_means_pregnant(cls, data: Any) -> Any:
        if isinstance(data, dict) and data.get("pregnancy_week") is not None:
            if data.get("pregnant") is False:
                raise _rule("pregnancy_week given with pregnant: false")
            if data.get("sex") != "male":  # a male with a week: the week is the error
                data = {**data, "pregnant": True}
        return data

    @field_validator("pregnant", "pregnancy_week", "lactating")
    @classmethod
    def _life_stage_fits(cls, value: Any, info: ValidationInfo) -> Any:
        if not value:
            return value
        if info.data.get("sex") == "male":
            raise _rule("only for a female client")
        age = info.data.get("age")
        if age is not None and not 10 <= age <= 60:
            raise _rule("only between ages 10 and 60")
        return value


class Medication(_Model):
    """A medicine the client takes: a name (strength and form may follow: "Thyrax 0,1 mg") or an
    ATC code, how often, and when: `time` for one dose, `times` for each dose of the day."""

    name: Name | None = None
    atc: Atc | None = None
    frequency: Literal[
        "daily", "twice_daily", "three_times_daily", "weekly", "monthly", "as_needed"
    ] = "daily"
    time: Clock | None = None
    times: list[Clock] | None = Field(default=None, min_length=1, max_length=3)
    months: Number | None = Field(default=None, ge=0, le=1200)  # how long it has been used

    # Doses a day per frequency: the most times a medicine can be given for it.
    DOSES: ClassVar[dict[str, int]] = {
        "daily": 1,
        "twice_daily": 2,
        "three_times_daily": 3,
        "weekly": 1,
        "monthly": 1,
        "as_needed": 0,
    }
    PERIODIC: ClassVar[tuple[str, ...]] = ("weekly", "monthly")  # not every day

    @property
    def every_day(self) -> bool:
        """Taken every day (once or more), not weekly, monthly or as needed."""
        return self.frequency not in self.PERIODIC and self.frequency != "as_needed"

    @model_validator(mode="before")
    @classmethod
    def _how_often_from_times(cls, data: Any) -> Any:
        """Times without a frequency say how often: two times a day is twice daily, three is
        three times daily (then a frequency in the name must agree with them to be read)."""
        if isinstance(data, dict) and data.get("frequency") is None:
            times = data.get("times")
            count = len(times) if isinstance(times, list) else 0
            by_count = {n: f for f, n in cls.DOSES.items() if f.endswith("daily") and n > 1}
            if count in by_count:
                return {**data, "frequency": by_count[count]}
        return data

    @model_validator(mode="after")
    def _named(self) -> Medication:
        if not self.name and not self.atc:
            raise _rule("a medication needs a name or an atc code")
        return self

    @model_validator(mode="after")
    def _times_fit(self) -> Medication:
        if self.time is not None and self.times is not None:
            raise _rule("give 'time' (one dose) or 'times' (each dose), not both")
        given = self.dose_times
        if len(set(given)) != len(given):
            raise _rule("'times' lists the same time twice: {times}", times=", ".join(given))
        allowed = self.DOSES[self.frequency]
        if self.frequency == "as_needed" and given:
            raise _rule(
                "a medicine taken as needed has no fixed time: leave out 'time' and 'times'"
            )
        if len(given) > allowed:
            raise _rule(
                "frequency '{frequency}' allows at most {allowed} time(s) a day, got {count}; "
                "for more doses a day choose twice_daily or three_times_daily",
                frequency=self.frequency,
                allowed=allowed,
                count=len(given),
            )
        if given and len(given) < allowed:
            raise _rule(
                "frequency '{frequency}' means {allowed} doses a day: give a time for each in "
                "'times' (e.g. {example}) or leave the times out",
                frequency=self.frequency,
                allowed=allowed,
                example='["08:00", "20:00"]',
            )
        return self

    @property
    def dose_times(self) -> list[str]:
        """The times of day given, from `time` or `times` (empty when none was given)."""
        if self.times is not None:
            return list(self.times)
        return [self.time] if self.time is not None else []


class Lifestyle(_Model):
    sport_hours_per_week: Number = Field(default=0, ge=0, le=100)
    alcohol_units_per_week: Number = Field(default=0, ge=0, le=300)
    stress: Literal["low", "moderate", "high"] | None = None


# A lab value given as a bound ("<0.5": the lab reports only that it is below 0.5) keeps its
# comparator; the rules read a bound just beyond it (BOUND_STEP in the unit given), so every
# rule on "below 0.5" fires as for any value under 0.5. "<=" is read as "<" and ">=" as ">":
# a lab writes "<=0.5" when it cannot say how far below, so a low-side limit at the bound
# counts as passed (safety first; an alarm the bound may pass: assess.alarms.may_fire).
# Every output shows the bound as given ("<0.5"), never the number read.
Comparator = Literal["<", "<=", ">", ">="]
OPEN_BOUNDS = {"<": -1, "<=": -1, ">": 1, ">=": 1}
BOUND_SIGNS = {"<": "<", ">": ">", "<=": "≤", ">=": "≥"}  # as a reader writes them


def bound_sign(comparator: str | None) -> str:
    """The sign a reader knows: "<=" as "≤"; "" for no comparator.

    Example:
        >>> bound_sign("<="), bound_sign(None)
        ('≤', '')
    """
    return BOUND_SIGNS.get(comparator or "", comparator or "")


BOUND_STEP = 0.001  # above the engine's rounding of a value (3 decimals), far below any precision


class Lab(_Model):
    """A lab value. Beyond the bounds here, each analyte has limits of its own (in its
    canonical unit, converted to the unit given): see ``LAB_LIMITS`` and docs/intake.md.
    With `comparator`, `value` is the bound the lab gave ("<0.5": comparator "<", value 0.5)."""

    analyte: Code
    value: LabNumber
    unit: Unit
    reference_range: tuple[LabNumber, LabNumber] | None = None
    comparator: Comparator | None = None

    @property
    def read_value(self) -> float:
        """The value the rules read: `value`, or just beyond a bound ("<0.5", "<=0.5": 0.499).

        Example:
            >>> Lab(analyte="egfr", value=30, unit="mL/min/1.73m2", comparator="<").read_value
            29.999
        """
        step = OPEN_BOUNDS.get(self.comparator or "", 0) * BOUND_STEP
        moved = float(f"{self.value + step:.6g}")
        return moved if step and moved >= 0 else self.value

    @field_validator("reference_range")
    @classmethod
    def _range_ordered(cls, value: tuple[float, float] | None) -> tuple[float, float] | None:
        if value is not None and not 0 <= value[0] < value[1]:
            raise _rule("[low, high] with 0 <= low < high")
        return value


# What a measurement of a living person can be, per analyte, in its canonical unit: wide limits
# for checking input (a value beyond them is a typo or a wrong unit), not clinical ranges.
# Creatinine 0 would divide by zero in every eGFR equation; 5 µmol/L is below any newborn's.
LAB_LIMITS: dict[str, tuple[float, float]] = {
    "serum_magnesium": (0.05, 10),  # mmol/L
    "ionized_magnesium": (0.02, 5),  # mmol/L
    "rbc_magnesium": (0.1, 10),  # mmol/L
    "urine_magnesium_24h": (0, 100),  # mmol/24h
    "magnesium_loading_test": (0, 100),  # % retained
    "creatinine": (5, 5000),  # µmol/L
    "egfr": (0, 300),  # mL/min/1.73 m²
    "serum_calcium": (0.5, 6),  # mmol/L
    "serum_calcium_corrected": (0.5, 6),  # mmol/L
    "serum_potassium": (1, 12),  # mmol/L
    "albumin": (5, 80),  # g/L
    "phosphate": (0.1, 10),  # mmol/L
}


class LoadingTest(_Model):
    """An IV magnesium loading test: retention from the load and two 24-h urine collections."""

    infused_mmol: Number = Field(ge=1, le=200)  # protocols infuse 0.1-0.2 mmol/kg, or 30 mmol
    baseline_urine_mmol_24h: Number = Field(ge=0, le=200)
    post_load_urine_mmol_24h: Number = Field(ge=0, le=400)


class Product(_Model):
    """A product the client already takes that holds magnesium: a magnesium supplement, a
    multivitamin, a calcium-magnesium tablet, an antacid or a laxative. Without a compound the
    amount must be elemental magnesium (as on a multivitamin label)."""

    name: Name | None = None
    compound: Name | None = None
    amount_mg: Number = Field(ge=0.1, le=10000)  # per unit (capsule, tablet, sachet)
    basis: Literal["compound", "elemental"] = "compound"
    units_per_day: Annotated[int, Field(ge=1, le=12), NotBool] | None = None

    @model_validator(mode="before")
    @classmethod
    def _elemental_without_compound(cls, data: Any) -> Any:
        if isinstance(data, dict) and not data.get("compound"):
            if data.get("basis", "elemental") != "elemental":
                raise _rule("without a compound the amount must be elemental magnesium")
            data = {**data, "basis": "elemental"}
        return data


class FfqAnswer(_Model):
    frequency: Code  # a frequency code of the questionnaire (e.g. daily_1, weekly_2_4)
    portions: Number = Field(default=1, ge=0.01, le=20)  # portions per occasion


class DiaryEntry(_Model):
    food: Name  # food code or a Dutch/English name
    grams: Number | None = Field(default=None, ge=0.01, le=5000)
    portion: Code | None = None  # a household-portion code (see portions.csv)
    amount: Number = Field(default=1, ge=0.01, le=50)  # number of portions

    @model_validator(mode="after")
    def _quantity(self) -> DiaryEntry:
        if self.grams is None and self.portion is None:
            raise _rule("a diary entry needs grams or a portion")
        return self


class DiaryDay(_Model):
    date: Annotated[str, StringConstraints(max_length=40)] | None = None
    entries: list[DiaryEntry] = Field(min_length=1, max_length=200)


class Water(_Model):
    liters_per_day: Number = Field(ge=0, le=10)
    magnesium_mg_per_l: Number = Field(ge=0, le=200)  # from the water company or the bottle label
    calcium_mg_per_l: Number | None = Field(default=None, ge=0, le=1000)


class Diet(_Model):
    ffq: dict[Code, FfqAnswer] = Field(default_factory=dict, max_length=100)
    diary: list[DiaryDay] = Field(default_factory=list, max_length=14)
    water: Water | None = None


class Preferences(_Model):
    authority: Code | None = None
    lang: Literal["nl", "en"] | None = None
    # Follow a goal's study dose even above the upper level (then flagged, with a warning).
    # Off by default: the advice keeps to the safer upper level and reports the study dose.
    follow_study_dose: Switch = False


class Intake(_Model):
    """One client's intake, built and checked against the knowledge base by `parse_intake`."""

    person: Person
    complaints: list[Code] = Field(default_factory=list, max_length=50)
    goals: list[Code] = Field(default_factory=list, max_length=30)
    conditions: list[Code] = Field(default_factory=list, max_length=50)
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

    from mgadvisor.kb.loader import YAML_MAX_ALIASES, YAML_MAX_DEPTH, YamlLimitError, safe_yaml

    try:
        data = safe_yaml(text) if text.strip() else None
    except YamlLimitError as exc:
        raise IntakeError(
            f"{source}:{exc.line}",
            N_("YAML with at most {aliases} aliases (*name) and {depth} levels of nesting"),
            N_("more"),
            [],
            {"aliases": str(YAML_MAX_ALIASES), "depth": str(YAML_MAX_DEPTH)},
        ) from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{source}:{mark.line + 1}" if mark else source
        raise IntakeError(where, N_("valid YAML or JSON"), N_("a syntax error")) from None
    return data


LIGHT_ITEMS = 20  # list entries (complaints, medicines, labs, ...) a light intake has at most
HINTED_PROBLEMS = 20  # unknown codes of one intake that get a "did you mean" (the API lists 20)


def light(data: Any, kb: KnowledgeBase) -> bool:
    """Whether a raw intake (before validation) is sure to be quick to check and advise, about a
    millisecond: no food diary or questionnaire, at most LIGHT_ITEMS entries in its lists
    together, and every complaint, goal and condition a known code. The web app computes such
    an intake on its event loop; any other goes to the engine's thread pool (web/workers.py).
    Size alone is no bound: a 4 KB food diary, or 4 KB of unknown codes each matched against
    every name for a suggestion, cost some 100 ms.

    >>> from mgadvisor.kb import load_knowledge
    >>> kb = load_knowledge()
    >>> light({"person": {"age": 40, "sex": "male"}, "goals": ["sleep"]}, kb)
    True
    >>> light({"person": {"age": 40}, "goals": ["slaap"]}, kb)  # unknown: a suggestion to find
    False
    >>> light({"person": {"age": 40}, "diet": {"diary": [{"entries": []}]}}, kb)
    False
    """
    if type(data) is not dict or data.get("diet"):
        return False
    items = 0
    for value in data.values():
        if type(value) is list:
            items += len(value)
        elif type(value) is dict:
            items += sum(len(inner) for inner in value.values() if type(inner) is list)
    if items > LIGHT_ITEMS:
        return False
    return known_codes(kb, data.get("complaints"), data.get("goals"), data.get("conditions"))


def known_codes(kb: KnowledgeBase, complaints: Any, goals: Any, conditions: Any) -> bool:
    """Whether every complaint, goal and condition given is a code of the knowledge base
    (None: none given)."""
    for given, table in (
        (complaints, kb.symptoms),
        (goals, kb.applications),
        (conditions, kb.conditions),
    ):
        if given is None:
            continue
        if type(given) is not list or not all(type(c) is str and c in table for c in given):
            return False
    return True


def parse_intake(data: Any, kb: KnowledgeBase) -> Intake:
    """Validate a mapping (from YAML, JSON or a form) into a checked :class:`Intake`."""
    if not isinstance(data, Mapping):
        raise IntakeError("intake", N_("a mapping with at least 'person'"), _given(data))
    try:
        intake = Intake.model_validate(data)
    except ValidationError as exc:
        errors = [field_problem(err) for err in exc.errors()]
        # every problem in one round: a wrong age does not hide a lab value in a wrong unit
        raise _combined(errors + _checks_of_valid_parts(data, kb)) from None
    errors = list(_check_codes(intake, kb))
    if errors:
        raise _combined(errors)
    return intake


_LISTS = ("complaints", "goals", "conditions", "medications", "labs", "products")
_INDEXED = re.compile(r"(complaints|goals|conditions|medications|labs|products)\[(\d+)\]")


@functools.cache
def _part_adapter(name: str) -> TypeAdapter[Any]:
    """A validator of one top-level field of the intake (of one item, for a list)."""
    annotation: Any = Intake.model_fields[name].annotation
    return TypeAdapter(get_args(annotation)[0] if name in _LISTS else annotation)


def _checks_of_valid_parts(data: Mapping[str, Any], kb: KnowledgeBase) -> list[IntakeError]:
    """The knowledge-base checks (codes, units, lab limits, ...) of the parts of an intake that
    are valid on their own, while another part is not: each field and each list item is
    validated alone, the valid ones checked, and their paths given back as in `data`."""
    parts: dict[str, Any] = {}
    places: dict[str, list[int]] = {}
    for name, value in data.items():
        info = Intake.model_fields.get(str(name))
        if info is None or name == "person":  # no check of the knowledge base reads person
            continue
        if name not in _LISTS:
            with contextlib.suppress(ValidationError):
                parts[name] = _part_adapter(name).validate_python(value)
            continue
        longest = min(m.max_length for m in info.metadata if hasattr(m, "max_length"))
        if not isinstance(value, list) or len(value) > longest:
            continue
        kept, where = [], []
        for i, item in enumerate(value):
            with contextlib.suppress(ValidationError):
                kept.append(_part_adapter(name).validate_python(item))
                where.append(i)
        parts[name], places[name] = kept, where
    partial = Intake.model_construct(**parts)
    return [_renumbered(err, places) for err in _check_codes(partial, kb)]


def _renumbered(err: IntakeError, places: Mapping[str, list[int]]) -> IntakeError:
    """`err` of a list item of the valid parts, with the item's index in the intake given."""
    m = _INDEXED.match(err.path)
    if m is None:
        return err
    items = places[m.group(1)]
    params = dict(err.expected_params)
    if m.group(1) == "labs" and params.get("first", "").isdigit():  # "also given as labs[0]"
        params["first"] = str(items[int(params["first"])])
    path = f"{m.group(1)}[{items[int(m.group(2))]}]{err.path[m.end() :]}"
    return IntakeError(path, err.expected, err.given, [], params, err.hint)


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
        if isinstance(part, int):
            out += f"[{part}]"
            continue
        key = part if len(part) <= 40 else part[:37] + "..."  # as typed (adapters escape it)
        out += f".{key}" if out else key
    return out or "intake"


def _given(value: Any) -> str:
    return N_("nothing") if value is None else quote(value)


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
    "dict_type_keys": N_("text"),
    "string_sub_type": N_("text"),
    "int_type_keys": N_("text"),
    "bytes_type": N_("text"),
    "float_from_str": N_("a number"),
    "model_attributes_type_keys": N_("a mapping"),
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
            quote(str(loc[-1])),
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
    if kind == "intake_rule":  # one of our rules: its template is the msgid
        template = ctx.pop("template")
        return IntakeError(_path(loc), template, given, [], ctx)
    if kind in _EXPECTED:
        return IntakeError(_path(loc), _EXPECTED[kind], given, [], ctx)
    # Anything else pydantic may say is English only: a plain translatable fallback.
    return IntakeError(_path(loc), N_("a valid value"), given)


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
    """Codes must exist in the knowledge base; a near miss gets a suggestion (the first
    HINTED_PROBLEMS unknown codes: a suggestion is a fuzzy match against every name)."""
    _unknown = _Hints().unknown
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
                quote(lab.unit),
                [],
                {"units": ", ".join(analyte.units)},
            )
            continue
        yield from _check_lab_limits(f"labs[{i}]", lab, analyte.canonical_unit)
    if intake.diet is not None:
        yield from _check_diet(intake.diet, kb, _unknown)
    authorities = {a.code: a for a in kb.reference_values.authorities}
    if intake.preferences.authority and intake.preferences.authority not in authorities:
        yield _unknown(
            "preferences.authority",
            N_("an authority code"),
            intake.preferences.authority,
            authorities,
        )
    yield from _check_products(intake, kb)
    yield from _check_consistency(intake, kb)


def lab_limits(analyte: str, unit: str, canonical_unit: str) -> tuple[float, float] | None:
    """The limits of :data:`LAB_LIMITS` for `analyte` in `unit` (3 significant digits), or None.

    Example:
        >>> lab_limits("creatinine", "mg/dL", "umol/L")
        (0.0566, 56.6)
    """
    from mgadvisor.units import QUANTITY_OF_ANALYTE, convert

    limits = LAB_LIMITS.get(analyte)
    if limits is None:
        return None
    quantity = QUANTITY_OF_ANALYTE.get(analyte)
    low, high = (convert(v, canonical_unit, unit, quantity) for v in limits)
    return float(f"{low:.3g}"), float(f"{high:.3g}")


def _check_lab_limits(path: str, lab: Lab, canonical_unit: str) -> Iterable[IntakeError]:
    limits = lab_limits(lab.analyte, lab.unit, canonical_unit)
    if limits is None:
        return
    low, high = limits
    params = {"low": _plain(low), "high": _plain(high), "unit": lab.unit}
    if not low <= lab.value <= high:
        expected = N_("a value from {low} to {high} {unit} (a wrong unit or a typo?)")
        yield IntakeError(f"{path}.value", expected, _plain(lab.value), [], params)
    if lab.reference_range is not None and lab.reference_range[1] > high:
        yield IntakeError(
            f"{path}.reference_range",
            N_("a range within 0 to {high} {unit}"),
            "[" + ", ".join(_plain(v) for v in lab.reference_range) + "]",
            [],
            params,
        )


def _check_consistency(intake: Intake, kb: KnowledgeBase) -> Iterable[IntakeError]:
    """Contradictions the fields cannot show alone: a lab value twice, a lab's range in another
    unit than its value, one product given both ways."""
    from mgadvisor.units import convert

    seen: dict[str, int] = {}
    for i, lab in enumerate(intake.labs):
        if lab.analyte in seen:
            yield IntakeError(
                f"labs[{i}].analyte",
                N_("each lab value once (also given as labs[{first}])"),
                quote(lab.analyte),
                [],
                {"first": str(seen[lab.analyte])},
            )
        seen.setdefault(lab.analyte, i)
        analyte = kb.labs.get(lab.analyte)
        default = analyte.default_range if analyte else None
        if analyte is None or default is None or lab.reference_range is None:
            continue
        if default.low is None or default.high is None:
            continue
        try:
            middle = convert(
                (default.low + default.high) / 2, analyte.canonical_unit, lab.unit, None
            )
        except UserInputError:  # an unknown unit is reported by the unit check
            continue
        given = sum(lab.reference_range) / 2
        if middle > 0 and not 0.5 <= given / middle <= 2:
            yield IntakeError(
                f"labs[{i}].reference_range",
                N_("a range in {unit}, the unit of the value (this one looks like another unit)"),
                "[" + ", ".join(_plain(v) for v in lab.reference_range) + "]",
                [],
                {"unit": lab.unit},
            )
    if intake.product is not None and intake.products:
        yield IntakeError(
            "product",
            N_("either product or products, not both (list every product under products)"),
            N_("both"),
        )


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
                quote(product.compound),
                [],
                {},
                hint,
            )


def _check_diet(
    diet: Diet,
    kb: KnowledgeBase,
    _unknown: Callable[[str, str, str, Mapping[str, Any]], IntakeError],
) -> Iterable[IntakeError]:
    items: dict[str, Any] = kb._cache.get("ffq_items_by_code") or {}
    frequencies: dict[str, Any] = kb._cache.get("ffq_frequencies_by_code") or {}
    if not items:  # once per knowledge base (and the same objects, so their names are cached)
        items = kb._cache["ffq_items_by_code"] = {item.code: item for item in kb.ffq.items}
        frequencies = kb._cache["ffq_frequencies_by_code"] = {f.code: f for f in kb.ffq.frequencies}
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


class _Hints:
    """`unknown(...)`: the error for an unknown code, with a suggestion for the first
    HINTED_PROBLEMS of one intake only."""

    __slots__ = ("left",)

    def __init__(self) -> None:
        self.left = HINTED_PROBLEMS

    def unknown(self, path: str, what: str, code: str, valid: Mapping[str, Any]) -> IntakeError:
        hint = ""
        if self.left > 0:
            self.left -= 1
            hint = closest_code(code, valid)
        return IntakeError(path, what, quote(code), [], {}, hint)


# Alias tables of the code tables seen, by id (holding the table, so the id stays its own).
_ALIASES: dict[int, tuple[Mapping[str, Any], dict[str, str], list[tuple[list[str], str]]]] = {}
_ALIASES_MAX = 64


def _aliases(valid: Mapping[str, Any]) -> tuple[dict[str, str], list[tuple[list[str], str]]]:
    """(normalised alias → code, [(words of an alias, code)]) of a table of codes."""
    from mgadvisor.kb.names import normalize

    cached = _ALIASES.get(id(valid))
    if cached is not None and cached[0] is valid:
        return cached[1], cached[2]
    aliases: dict[str, str] = {}
    for code, entry in valid.items():
        names = [code, code.replace("_", " ")]
        name = getattr(entry, "name", None)
        if name is not None and hasattr(name, "nl"):
            names += [name.nl, name.en]
        names += list(getattr(entry, "synonyms", []) or [])
        for alias in names:
            aliases.setdefault(normalize(alias), code)
    words = [(alias.split(), code) for alias, code in aliases.items()]
    if len(_ALIASES) >= _ALIASES_MAX:
        _ALIASES.clear()
    _ALIASES[id(valid)] = (valid, aliases, words)
    return aliases, words


def closest_code(text: str, valid: Mapping[str, Any]) -> str:
    """The code someone probably meant: by code, by name or synonym (nl/en), or a near miss."""
    from mgadvisor.kb.names import normalize

    aliases, words = _aliases(valid)
    key = normalize(text)
    if key in aliases:
        return aliases[key]
    if len(key) >= 4:  # a word that starts a name or synonym: "slaap" -> "slaapproblemen"
        starts = {code for split, code in words if any(w.startswith(key) for w in split)}
        if len(starts) == 1:
            return starts.pop()
    import difflib

    hint = difflib.get_close_matches(key, list(aliases), n=1, cutoff=0.75)
    return aliases[hint[0]] if hint else ""
