"""The intake form: form fields <-> intake data, and intake errors -> the field they belong to.

The form keeps exactly what the user typed (as text), so a page re-rendered after an error shows
every value again, with the message next to its field.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from mgadvisor.errors import IntakeError

MED_ROWS = 5
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


def _num(text: str) -> Any:
    """A number if the text is one (decimal comma allowed), else the text for the validator."""
    cleaned = text.replace(",", ".")
    try:
        return float(cleaned)
    except ValueError:
        return text


@dataclass
class Mapped:
    data: dict[str, Any]
    med_rows: list[int]  # medications[i] came from form row med_rows[i]
    labs: list[str]  # labs[i] is this analyte
    product_rows: list[int] = field(default_factory=list)  # products[i] came from this row


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
    return [part for part in re.split(r"[\s,;]+", text) if part]


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


def _labs(v: Any) -> tuple[list[dict[str, Any]], list[str]]:
    labs, order = [], []
    for analyte in LABS:
        if not v(f"lab.{analyte}.value"):
            continue
        lab: dict[str, Any] = {
            "analyte": analyte,
            "value": _num(v(f"lab.{analyte}.value")),
            "unit": v(f"lab.{analyte}.unit"),
        }
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
    return Mapped(data, med_rows, order, product_rows)


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


def errors_by_field(exc: IntakeError, mapped: Mapped, render: Any) -> dict[str, str]:
    out: dict[str, str] = {}
    for err in exc.errors:
        out.setdefault(field_for(err.path, mapped), render(err))
    return out
