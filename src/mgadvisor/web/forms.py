"""The intake form: form fields <-> intake data, and intake errors -> the field they belong to.

The form keeps exactly what the user typed (as text), so a page re-rendered after an error shows
every value again, with the message next to its field.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from mgadvisor.errors import IntakeError, quote
from mgadvisor.i18n import N_
from mgadvisor.render.bounds import BOUND_SIGNS, bound_sign

MED_ROWS = 20  # medicine rows the form reads at most ("add medicine" adds one at a time)
PRODUCT_ROWS = 3
LABS: tuple[str, ...] = (
    "serum_magnesium",
    "ionized_magnesium",
    "creatinine",
    "egfr",
    "serum_potassium",
    "serum_calcium",
    "albumin",
    "phosphate",
    "rbc_magnesium",
    "urine_magnesium_24h",
)
FREQUENCIES = ("daily", "twice_daily", "three_times_daily", "weekly", "monthly", "as_needed")
MULTI = ("complaints", "goals", "conditions")


@dataclass
class FormState:
    values: dict[str, str] = field(default_factory=dict)
    lists: dict[str, list[str]] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)
    echo: dict[str, str] = field(default_factory=dict)  # what the form read: understood()

    def get(self, name: str, default: str = "") -> str:
        return self.values.get(name, default)

    def checked(self, name: str, value: str) -> bool:
        return value in self.lists.get(name, [])


def state_from(form: Mapping[str, Any]) -> FormState:
    """What the user sent, as text (multi-value fields as lists)."""
    state = FormState()
    getlist = getattr(form, "getlist", None)
    for key in form:
        if key in MULTI and getlist is not None:
            state.lists[key] = [str(v) for v in getlist(key)]
        else:
            state.values[key] = str(form[key]).strip()
    return state


# A number as people type it: "2,5", "64.5", " 72 ", "-1"; no thousands separators, no exponent.
_NUMBER = re.compile(r"[+-]?(\d+([.,]\d*)?|[.,]\d+)")


def _num(text: str) -> Any:
    """A number if the text is one (decimal comma or point: "2,5" is 2.5, "64,5" is 64.5),
    else the text for the validator, which names the field."""
    cleaned = text.strip().replace(" ", "")
    if not _NUMBER.fullmatch(cleaned):
        return text
    return float(cleaned.replace(",", "."))


# A clock time as people type it: "8", "8:00", "08.00", "0800", "8u30", "20h". Normalised to
# HH:MM; anything else goes to the validator as typed (and is named there).
_CLOCK = re.compile(r"(\d{1,2})(?:[:.hu](\d{2})?)?|(\d{1,2})(\d{2})")


def clock(text: str) -> str:
    """A typed time as HH:MM ("8" -> "08:00", "0800" -> "08:00", "20.30" -> "20:30"), or the
    text unchanged when it is not a time of day.

    Example:
        >>> [clock(t) for t in ("8", "8:00", "08.00", "0800", "8u30", "25:00")]
        ['08:00', '08:00', '08:00', '08:00', '08:30', '25:00']
    """
    m = _CLOCK.fullmatch(text.strip().lower())
    if m is None:
        return text
    hours = int(m.group(1) or m.group(3))
    minutes = int(m.group(2) or m.group(4) or 0)
    if hours > 23 or minutes > 59:
        return text
    return f"{hours:02d}:{minutes:02d}"


@dataclass
class Mapped:
    data: dict[str, Any]
    med_rows: list[int]  # medications[i] came from form row med_rows[i]
    labs: list[str]  # labs[i] is this analyte
    product_rows: list[int] = field(default_factory=list)  # products[i] came from this row
    typed: dict[str, str] = field(default_factory=dict)  # the form's text, as the user typed it


def _person(v: Any) -> dict[str, Any]:
    person: dict[str, Any] = {
        "age": _num(v("person.age")) if v("person.age") else None,
        "sex": v("person.sex") or None,
    }
    for key in ("weight_kg", "height_cm", "pregnancy_week"):
        if v(f"person.{key}"):
            person[key] = _num(v(f"person.{key}"))
    for flag in ("pregnant", "lactating"):
        if v(f"person.{flag}"):
            person[flag] = True
    return {k: val for k, val in person.items() if val is not None}


def _times(text: str) -> list[str]:
    """The times of a medicine row: "8:00, 20:00", "8 en 20", "08.00 / 20.00" -> HH:MM each."""
    parts = re.split(r"[\s,;/+&]+|\ben\b|\band\b", text, flags=re.IGNORECASE)
    return [clock(part) for part in parts if part and part.strip()]


def med_rows(state: FormState) -> list[int]:
    """The medicine rows to show: every row that has something in it, then one empty row."""
    used = [
        i
        for i in range(MED_ROWS)
        if any(state.get(f"med.{i}.{key}") for key in ("name", "time", "frequency"))
    ]
    last = max(used, default=-1)
    return list(range(min(last + 2, MED_ROWS)))


def _medications(v: Any) -> tuple[list[dict[str, Any]], list[int]]:
    meds, rows = [], []
    for i in range(MED_ROWS):
        name = v(f"med.{i}.name")
        if not name:
            continue
        med: dict[str, Any] = {"name": name}
        times = _times(v(f"med.{i}.time"))
        if len(times) == 1:
            med["time"] = times[0]
        elif times:
            med["times"] = times
        if v(f"med.{i}.frequency"):
            med["frequency"] = v(f"med.{i}.frequency")
        meds.append(med)
        rows.append(i)
    return meds, rows


def _range(text: str) -> Any:
    """'0,70-1,00' or '0.70 – 1.00' -> [0.7, 1.0]; anything else goes to the validator as is."""
    parts = [p for p in re.split(r"\s*[-–—]\s*|\s+", text.strip()) if p]
    return [_num(p) for p in parts] if len(parts) == 2 else text


# A lab value as the lab gives a bound: "<0,5", "< 0.5", "≥90" (intake.Lab.comparator).
_BOUND = re.compile(r"\s*(<=|>=|[<>≤≥])\s*(.*)", re.S)
_SIGNS = {"≤": "<=", "≥": ">="}


def _bound(text: str) -> tuple[str | None, str]:
    """("<", "0,5") for "<0,5"; (None, text) for a value without a comparator."""
    found = _BOUND.fullmatch(text)
    if found is None:
        return None, text
    return _SIGNS.get(found[1], found[1]), found[2]


def _labs(v: Any) -> tuple[list[dict[str, Any]], list[str]]:
    labs, order = [], []
    for analyte in LABS:
        if not v(f"lab.{analyte}.value"):
            continue
        comparator, value = _bound(v(f"lab.{analyte}.value"))
        lab: dict[str, Any] = {
            "analyte": analyte,
            "value": _num(value),
            "unit": v(f"lab.{analyte}.unit"),
        }
        if comparator:
            lab["comparator"] = comparator
        if v(f"lab.{analyte}.range"):
            lab["reference_range"] = _range(v(f"lab.{analyte}.range"))
        labs.append(lab)
        order.append(analyte)
    return labs, order


def _products(v: Any) -> tuple[list[dict[str, Any]], list[int]]:
    products, rows = [], []
    for i in range(PRODUCT_ROWS):
        keys = ("name", "compound", "amount_mg", "units_per_day")
        if not any(v(f"prod.{i}.{k}") for k in keys):
            continue
        product: dict[str, Any] = {
            "name": v(f"prod.{i}.name") or None,
            "compound": v(f"prod.{i}.compound") or None,
            "amount_mg": _num(v(f"prod.{i}.amount_mg")) if v(f"prod.{i}.amount_mg") else None,
            "basis": v(f"prod.{i}.basis")
            or ("compound" if v(f"prod.{i}.compound") else "elemental"),
            "units_per_day": _num(v(f"prod.{i}.units_per_day"))
            if v(f"prod.{i}.units_per_day")
            else None,
        }
        products.append({k: val for k, val in product.items() if val is not None})
        rows.append(i)
    return products, rows


def _diet(state: FormState) -> dict[str, Any] | None:
    v = state.get
    ffq = {
        key.removeprefix("ffq."): {"frequency": val}
        for key, val in state.values.items()
        if key.startswith("ffq.") and val
    }
    water = {
        k: _num(v(f"water.{k}"))
        for k in ("liters_per_day", "magnesium_mg_per_l")
        if v(f"water.{k}")
    }
    if not (ffq or water):
        return None
    return {**({"ffq": ffq} if ffq else {}), **({"water": water} if water else {})}


def to_intake(state: FormState) -> Mapped:
    """The intake data of the form, and where each list item came from (for error messages)."""
    v = state.get
    data: dict[str, Any] = {"person": _person(v)}
    for key in MULTI:
        if state.lists.get(key):
            data[key] = state.lists[key]
    meds, med_rows = _medications(v)
    if meds:
        data["medications"] = meds
    lifestyle = {
        k: _num(v(f"lifestyle.{k}"))
        for k in ("sport_hours_per_week", "alcohol_units_per_week")
        if v(f"lifestyle.{k}")
    }
    if v("lifestyle.stress"):
        lifestyle["stress"] = v("lifestyle.stress")
    if lifestyle:
        data["lifestyle"] = lifestyle
    labs, order = _labs(v)
    if labs:
        data["labs"] = labs
    products, product_rows = _products(v)
    if products:
        data["products"] = products
    diet = _diet(state)
    if diet:
        data["diet"] = diet
    prefs: dict[str, Any] = {}
    if v("preferences.authority"):
        prefs["authority"] = v("preferences.authority")
    if v("preferences.follow_study_dose"):
        prefs["follow_study_dose"] = True
    if prefs:
        data["preferences"] = prefs
    return Mapped(data, med_rows, order, product_rows, dict(state.values))


def field_for(path: str, mapped: Mapped) -> str:
    """The form field an intake error path belongs to (e.g. labs[1].unit -> lab.creatinine.unit)."""
    if m := re.match(r"medications\[(\d+)\](?:\.(\w+))?", path):
        row = mapped.med_rows[int(m.group(1))] if int(m.group(1)) < len(mapped.med_rows) else 0
        part = {"times": "time"}.get(m.group(2) or "name", m.group(2) or "name")
        return f"med.{row}.{part if part in ('name', 'time', 'frequency') else 'name'}"
    if m := re.match(r"products\[(\d+)\](?:\.(\w+))?", path):
        i = int(m.group(1))
        row = mapped.product_rows[i] if i < len(mapped.product_rows) else 0
        return f"prod.{row}.{m.group(2) or 'amount_mg'}"
    if m := re.match(r"labs\[(\d+)\](?:\.(\w+))?", path):
        analyte = mapped.labs[int(m.group(1))] if int(m.group(1)) < len(mapped.labs) else LABS[0]
        part = m.group(2) if m.group(2) in ("unit", "value") else "value"
        part = "range" if m.group(2) == "reference_range" else part
        return f"lab.{analyte}.{part}"
    if m := re.match(r"(complaints|goals|conditions)\[\d+\]", path):
        return m.group(1)
    if m := re.match(r"diet\.ffq\.(\w+)", path):
        return f"ffq.{m.group(1)}"
    if path.startswith("diet.water."):
        return path.removeprefix("diet.")
    if path == "person":
        return "person.sex"
    return path


def _typed_field(name: str) -> bool:
    """A field the user types text into (a number, a range, a time), whose message repeats
    what was typed: "200", not the 200.0 the form made of it."""
    return name in ECHO_NUMBERS or bool(re.fullmatch(r"lab\.\w+\.range|med\.\d+\.time", name))


def errors_by_field(exc: IntakeError, mapped: Mapped, render: Any) -> dict[str, str]:
    """{form field: its message}; `render(err)` writes the message (`page_message`). For a field
    the user typed into, the message quotes the text as typed (age 200: "You entered '200'")."""
    out: dict[str, str] = {}
    for found in exc.errors:
        name = field_for(found.path, mapped)
        typed = mapped.typed.get(name, "")
        if typed and _typed_field(name) and found.given[:1] not in ("'", '"'):
            found = replace(found, given=quote(typed), errors=[])  # noqa: PLW2901
        out.setdefault(name, render(found))
    return out


# -- What the page says about an invalid field ------------------------------------------------
# The API and the CLI name the field path ("labs[0].reference_range: expected ..."); the page
# puts a sentence next to the field itself, in the page's language: no path, no raw data, and
# no message that speaks of the intake file's keys ('times', pregnant: false, atc).

_RANGE = N_("Enter the range as low–high, e.g. 0.70–1.00 (the lower value first).")
_CHOOSE = N_("Choose one of the options in the list.")
PAGE_SENTENCES = {
    "pregnancy_week given with pregnant: false": N_(
        "A week of pregnancy goes with 'Pregnant': tick it, or leave the week empty."
    ),
    "only for a female client": N_("Only for a woman."),
    "only between ages 10 and 60": N_("Only for an age from 10 to 60."),
    "a medication needs a name or an atc code": N_("Enter the name of the medicine."),
    "'times' lists the same time twice: {times}": N_("The same time is given twice: {times}."),
    "a medicine taken as needed has no fixed time: leave out 'time' and 'times'": N_(
        "A medicine taken when needed has no fixed time: leave the time empty."
    ),
    "frequency '{frequency}' allows at most {allowed} time(s) a day, got {count}; "
    "for more doses a day choose twice_daily or three_times_daily": N_(
        "{count} times given: under 'How often' choose a frequency with {count} doses a day."
    ),
    "frequency '{frequency}' means {allowed} doses a day: give a time for each in "
    "'times' (e.g. {example}) or leave the times out": N_(
        "This frequency means {allowed} doses a day: give a time for each (e.g. 8:00, 20:00), "
        "or leave the time empty."
    ),
    "[low, high] with 0 <= low < high": _RANGE,
    "a list of two numbers [low, high]": _RANGE,
    "without a compound the amount must be elemental magnesium": N_(
        "Without a compound the mg are elemental magnesium: fill in the compound, or choose "
        "'elemental magnesium'."
    ),
    "one of {expected}": _CHOOSE,
    "one of {units}": _CHOOSE,
    "a time as HH:MM, e.g. 07:30": N_(
        "Expected a time such as 8:00 or 20:30 (HH:MM), several separated by a comma."
    ),
}


_DECIMAL = re.compile(r"-?\d+\.\d+")


def local_numbers(params: Mapping[str, str], t: Any) -> dict[str, str]:
    """A message's parameters with each decimal number in the page's notation, as the form
    takes it: "0.05" is "0,05" on a Dutch page (the file and the API keep the point).

    Example:
        >>> from mgadvisor.i18n import Translator
        >>> local_numbers({"low": "0.05", "high": "10", "unit": "mmol/L"}, Translator("nl"))
        {'low': '0,05', 'high': '10', 'unit': 'mmol/L'}
    """
    return {
        key: t.num(float(value), len(value.split(".")[1]))
        if isinstance(value, str) and _DECIMAL.fullmatch(value)
        else value
        for key, value in params.items()
    }


def page_message(err: IntakeError, t: Any) -> str:
    """An intake problem as one sentence for the page (next to its field), in `t`'s language.

    Example: ``Expected a number of at least 1. You entered 'abc'.`` The value is quoted only
    when it is text the user typed (never a mapping or a number the form made;
    `errors_by_field` puts the typed text in for a number). The error summary puts the
    field's label in front (`summary_line`).
    """
    params = local_numbers(err.expected_params, t)
    sentence = PAGE_SENTENCES.get(err.expected)
    if sentence is not None:
        text = str(t(sentence, **params))
    else:
        text = str(t("Expected {expected}.", expected=t(err.expected, **params)))
    if err.given[:1] in ("'", '"') and len(err.given) <= 42:
        text += " " + t("You entered {given}.", given=err.given)
    if err.hint:
        text += " " + t("Did you mean '{suggestion}'?", suggestion=err.hint)
    return text


# -- The field a message is about, by its label (the error summary) ---------------------------
# The same words as the form's labels (intake.html), so a link in the summary says which field
# it leads to. A field repeated in rows (a medicine's time, a lab's unit) also names its row.

FIELD_LABELS = {
    "person.age": N_("Age (years)"),
    "person.sex": N_("Sex"),
    "person.pregnant": N_("Pregnant"),
    "person.lactating": N_("Breastfeeding"),
    "person.pregnancy_week": N_("Week of pregnancy"),
    "person.weight_kg": N_("Weight (kg)"),
    "person.height_cm": N_("Height (cm)"),
    "complaints": N_("Complaints"),
    "goals": N_("Goals"),
    "conditions": N_("Conditions"),
    "lifestyle.sport_hours_per_week": N_("Sport (hours a week)"),
    "lifestyle.alcohol_units_per_week": N_("Alcohol (glasses a week)"),
    "lifestyle.stress": N_("Stress"),
    "water.liters_per_day": N_("Drinking water (litres a day)"),
    "water.magnesium_mg_per_l": N_("Magnesium in the water (mg/L)"),
    "preferences.authority": N_("Reference values"),
    "preferences.follow_study_dose": N_(
        "Follow the study dose even above the upper level (needs a doctor)"
    ),
    "as_of": N_("Date of the advice"),
}
# The new-visit form (practice_visits.py) asks the same field as the visit's date.
VISIT_LABELS = {"as_of": N_("Visit date")}
ROW_LABELS = {
    "med.time": N_("Time(s) taken"),
    "med.frequency": N_("How often"),
    "lab.unit": N_("Unit"),
    "lab.range": N_("Lab's range"),
    "prod.compound": N_("Compound"),
    "prod.amount_mg": N_("mg per unit"),
    "prod.basis": N_("The mg on the label are"),
    "prod.units_per_day": N_("Units a day"),
}


def field_label(name: str, t: Any, kb: Any, labels: Mapping[str, str] | None = None) -> str:
    """A form field's label in `t`'s language: "person.age" -> "Leeftijd (jaren)",
    "med.1.time" -> "Geneesmiddel 2 – Tijd(en) van innemen"; the field's name if unknown.
    `labels`: a form's own labels first (`VISIT_LABELS`)."""
    own = (labels or {}).get(name) or FIELD_LABELS.get(name)
    if own:
        return str(t(own))
    kind, _, rest = name.partition(".")
    row, _, part = rest.partition(".")
    if kind in ("med", "prod") and row.isdigit():
        n = int(row) + 1
        group = str(t("Medicine {n}", n=n) if kind == "med" else t("Product {n}", n=n))
        label = ROW_LABELS.get(f"{kind}.{part}")
        return group + " – " + t(label) if label else group
    if kind == "lab" and row in kb.labs:
        analyte = str(kb.labs[row].name.get(t.lang))
        label = ROW_LABELS.get(f"lab.{part}")
        return analyte + " – " + t(label) if label else analyte
    if kind == "ffq":
        for item in kb.ffq.items:
            if item.code == rest:
                return str(item.question.get(t.lang))
    return name


def summary_line(
    name: str, message: str, t: Any, kb: Any, labels: Mapping[str, str] | None = None
) -> str:
    """An item of the error summary: the field's label, then its message ("Leeftijd (jaren):
    verwacht een getal van hoogstens 120. U vulde '200' in.")."""
    if message[1:2].islower():  # "Verwacht ..." -> "verwacht ...", not "HH:MM" or "A week"
        message = message[:1].lower() + message[1:]
    return f"{field_label(name, t, kb, labels)}: {message}"


# -- What the form understood ------------------------------------------------------------------

ECHO_NUMBERS = (
    "person.age",
    "person.weight_kg",
    "person.height_cm",
    "person.pregnancy_week",
    "lifestyle.sport_hours_per_week",
    "lifestyle.alcohol_units_per_week",
    "water.liters_per_day",
    "water.magnesium_mg_per_l",
    *(f"lab.{code}.value" for code in LABS),
    *(f"prod.{i}.{key}" for i in range(PRODUCT_ROWS) for key in ("amount_mg", "units_per_day")),
)


def understood(state: FormState, num: Any) -> dict[str, str]:
    """What the form read from each number, range and time field the user typed in, written
    the page's way (`num(value)`: "64,5" in Dutch): {field: text}, so a mistyped "2,5" that
    became 25 (or a time read as another) can be seen at once."""
    out: dict[str, str] = {}
    for name in ECHO_NUMBERS:
        value = _num(state.get(name)) if state.get(name) else None
        if isinstance(value, float):
            out[name] = num(value)
    for code in LABS:
        span = _range(state.get(f"lab.{code}.range")) if state.get(f"lab.{code}.range") else None
        if isinstance(span, list) and all(isinstance(v, float) for v in span):
            out[f"lab.{code}.range"] = f"{num(span[0], fixed=True)}–{num(span[1], fixed=True)}"
    for i in range(MED_ROWS):
        times = _times(state.get(f"med.{i}.time"))
        if times and all(re.fullmatch(r"([01]\d|2[0-3]):[0-5]\d", time) for time in times):
            out[f"med.{i}.time"] = ", ".join(times)
    return out


# -- Save and reopen: an intake file -> the form again (the inverse of to_intake) -------------

PERSON_FIELDS = ("age", "sex", "weight_kg", "height_cm", "pregnancy_week")
MED_KEYS = ("name", "atc", "time", "times", "frequency")
PRODUCT_KEYS = ("name", "compound", "amount_mg", "basis", "units_per_day")


def _text(value: Any) -> str:
    """A value as the form shows it: 72 rather than 72.0."""
    if isinstance(value, bool):
        return "1" if value else ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return "" if value is None else str(value)


def _left(out: list[str], path: str, item: Mapping[str, Any], keys: tuple[str, ...]) -> None:
    out.extend(f"{path}.{key}" for key in item if key not in keys)


def state_from_intake(data: Mapping[str, Any]) -> tuple[FormState, list[str]]:
    """The form state showing an intake (a saved file, or the intake of an advice), and the
    paths of what the form has no field for (they are reported, not silently dropped)."""
    state, left = FormState(), list[str]()
    values = state.values
    person = data.get("person") or {}
    if isinstance(person, Mapping):
        for key in PERSON_FIELDS:
            if person.get(key) is not None:
                values[f"person.{key}"] = _text(person[key])
        for flag in ("pregnant", "lactating"):
            if person.get(flag):
                values[f"person.{flag}"] = "1"
        _left(left, "person", person, (*PERSON_FIELDS, "pregnant", "lactating"))
    for key in MULTI:
        if isinstance(data.get(key), list):
            state.lists[key] = [str(code) for code in data[key]]
    _medications_to_form(data.get("medications"), values, left)
    _labs_to_form(data.get("labs"), values, left)
    lifestyle = data.get("lifestyle") or {}
    if isinstance(lifestyle, Mapping):
        for key in ("sport_hours_per_week", "alcohol_units_per_week", "stress"):
            if lifestyle.get(key) is not None:
                values[f"lifestyle.{key}"] = _text(lifestyle[key])
        _left(
            left,
            "lifestyle",
            lifestyle,
            ("sport_hours_per_week", "alcohol_units_per_week", "stress"),
        )
    products = data.get("products") or ([data["product"]] if data.get("product") else [])
    _products_to_form(products, values, left)
    _diet_to_form(data.get("diet"), values, left)
    prefs = data.get("preferences") or {}
    if isinstance(prefs, Mapping):
        if prefs.get("authority"):
            values["preferences.authority"] = str(prefs["authority"])
        if prefs.get("follow_study_dose"):
            values["preferences.follow_study_dose"] = "1"
        _left(left, "preferences", prefs, ("authority", "follow_study_dose"))
    known = {"person", *MULTI, "medications", "labs", "lifestyle", "products", "product"}
    left += [key for key in data if key not in {*known, "diet", "preferences"}]
    return state, left


def _medications_to_form(meds: Any, values: dict[str, str], left: list[str]) -> None:
    for i, med in enumerate(meds if isinstance(meds, list) else []):
        if i >= MED_ROWS or not isinstance(med, Mapping):
            left.append(f"medications[{i}]")
            continue
        values[f"med.{i}.name"] = _text(med.get("name") or med.get("atc"))
        times = med.get("times") or ([med["time"]] if med.get("time") else [])
        if times:
            values[f"med.{i}.time"] = ", ".join(str(time) for time in times)
        if med.get("frequency"):
            values[f"med.{i}.frequency"] = str(med["frequency"])
        _left(left, f"medications[{i}]", med, MED_KEYS)


def _labs_to_form(labs: Any, values: dict[str, str], left: list[str]) -> None:
    for i, lab in enumerate(labs if isinstance(labs, list) else []):
        analyte = lab.get("analyte") if isinstance(lab, Mapping) else None
        if analyte not in LABS or f"lab.{analyte}.value" in values:
            left.append(f"labs[{i}]")
            continue
        comparator = lab.get("comparator")  # a bound ("<0.5") stays one in the field
        sign = bound_sign(comparator) if comparator in BOUND_SIGNS else ""
        if comparator is not None and not sign:
            left.append(f"labs[{i}].comparator")
        values[f"lab.{analyte}.value"] = f"{sign}{_text(lab.get('value'))}"
        values[f"lab.{analyte}.unit"] = _text(lab.get("unit"))
        span = lab.get("reference_range")
        if isinstance(span, list) and len(span) == 2:
            values[f"lab.{analyte}.range"] = f"{_text(span[0])}-{_text(span[1])}"
        _left(
            left, f"labs[{i}]", lab, ("analyte", "value", "unit", "reference_range", "comparator")
        )


def _products_to_form(products: Any, values: dict[str, str], left: list[str]) -> None:
    for i, product in enumerate(products if isinstance(products, list) else []):
        if i >= PRODUCT_ROWS or not isinstance(product, Mapping):
            left.append(f"products[{i}]")
            continue
        for key in PRODUCT_KEYS:
            if product.get(key) is not None:
                values[f"prod.{i}.{key}"] = _text(product[key])
        _left(left, f"products[{i}]", product, PRODUCT_KEYS)


def _diet_to_form(diet: Any, values: dict[str, str], left: list[str]) -> None:
    if not isinstance(diet, Mapping):
        return
    ffq = diet.get("ffq") or {}
    for code, answer in ffq.items() if isinstance(ffq, Mapping) else []:
        frequency = answer.get("frequency") if isinstance(answer, Mapping) else answer
        values[f"ffq.{code}"] = _text(frequency)
    water = diet.get("water") or {}
    for key, value in water.items() if isinstance(water, Mapping) else []:
        values[f"water.{key}"] = _text(value)
    left += [f"diet.{key}" for key in diet if key not in ("ffq", "water")]


def intake_file(data: Mapping[str, Any], kind: str) -> str:
    """An intake as the text of a YAML or JSON file, which `mgadvisor advise FILE` reads."""
    import json

    if kind == "json":
        return json.dumps(data, ensure_ascii=False, indent=2) + "\n"
    import yaml

    head = "# mgadvisor intake (docs/intake.md): mgadvisor advise THIS-FILE\n"
    return head + str(yaml.safe_dump(dict(data), allow_unicode=True, sort_keys=False))


# -- What the practitioner adds to a document (names, next appointment, note) -----------------

EXTRA_LENGTH = {"client_name": 80, "practitioner_name": 80, "gp_name": 80, "note": 1000}


def extras_from(form: Mapping[str, Any]) -> tuple[dict[str, str], str | None]:
    """The document fields as typed (cut to their length), and the follow-up date's problem
    (None when it is empty or a valid YYYY-MM-DD date)."""
    from datetime import date

    typed = {key: str(form.get(key) or "").strip()[:size] for key, size in EXTRA_LENGTH.items()}
    typed["follow_up"] = str(form.get("follow_up") or "").strip()[:40]
    problem = None
    if typed["follow_up"]:
        try:
            date.fromisoformat(typed["follow_up"])
        except ValueError:
            problem = typed["follow_up"]
    return typed, problem


def hidden_json(form: Any, name: str = "intake_json") -> Any:
    """The JSON of a hidden form field (an advice's intake), or None when the field is missing
    or holds no JSON, a deeply nested text included (json raises RecursionError for that, not
    ValueError: it made a 500 of a crafted form)."""
    text = form.get(name)
    if text is None:
        return None
    try:
        return json.loads(str(text))
    except (ValueError, RecursionError):
        return None
