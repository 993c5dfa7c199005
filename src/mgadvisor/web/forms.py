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
LABS: tuple[str, ...] = (
    "serum_magnesium",
    "creatinine",
    "egfr",
    "rbc_magnesium",
    "urine_magnesium_24h",
)
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


def to_intake(state: FormState) -> Mapped:
    v = state.get
    person: dict[str, Any] = {
        "age": _num(v("person.age")) if v("person.age") else None,
        "sex": v("person.sex") or None,
    }
    if v("person.weight_kg"):
        person["weight_kg"] = _num(v("person.weight_kg"))
    for flag in ("pregnant", "lactating"):
        if v(f"person.{flag}"):
            person[flag] = True
    data: dict[str, Any] = {"person": {k: val for k, val in person.items() if val is not None}}
    for key in MULTI:
        if state.lists.get(key):
            data[key] = state.lists[key]
    meds, rows = [], []
    for i in range(MED_ROWS):
        name = v(f"med.{i}.name")
        if name:
            med: dict[str, Any] = {"name": name}
            if v(f"med.{i}.time"):
                med["time"] = v(f"med.{i}.time")
            meds.append(med)
            rows.append(i)
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
    labs, order = [], []
    for analyte in LABS:
        if v(f"lab.{analyte}.value"):
            labs.append(
                {
                    "analyte": analyte,
                    "value": _num(v(f"lab.{analyte}.value")),
                    "unit": v(f"lab.{analyte}.unit"),
                }
            )
            order.append(analyte)
    if labs:
        data["labs"] = labs
    if v("product.compound") or v("product.amount_mg"):
        product: dict[str, Any] = {
            "compound": v("product.compound"),
            "amount_mg": _num(v("product.amount_mg")) if v("product.amount_mg") else None,
            "basis": v("product.basis") or "compound",
        }
        if v("product.units_per_day"):
            product["units_per_day"] = _num(v("product.units_per_day"))
        data["product"] = {k: val for k, val in product.items() if val is not None}
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
    if ffq or water:
        data["diet"] = {**({"ffq": ffq} if ffq else {}), **({"water": water} if water else {})}
    prefs: dict[str, Any] = {}
    if v("preferences.authority"):
        prefs["authority"] = v("preferences.authority")
    if v("preferences.follow_study_dose"):
        prefs["follow_study_dose"] = True
    if prefs:
        data["preferences"] = prefs
    return Mapped(data, rows, order)


def field_for(path: str, mapped: Mapped) -> str:
    """The form field an intake error path belongs to (e.g. labs[1].unit -> lab.creatinine.unit)."""
    if m := re.match(r"medications\[(\d+)\](?:\.(\w+))?", path):
        row = mapped.med_rows[int(m.group(1))] if int(m.group(1)) < len(mapped.med_rows) else 0
        return f"med.{row}.{m.group(2) or 'name'}"
    if m := re.match(r"labs\[(\d+)\](?:\.(\w+))?", path):
        analyte = mapped.labs[int(m.group(1))] if int(m.group(1)) < len(mapped.labs) else LABS[0]
        part = m.group(2) if m.group(2) in ("unit", "value") else "value"
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
