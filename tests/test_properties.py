"""Property-based tests: any valid intake gets an advice that keeps the safety promises."""

from __future__ import annotations

import re
from datetime import date
from typing import Any

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from mgadvisor.advise import advise_intake
from mgadvisor.errors import IntakeError
from mgadvisor.i18n import Translator
from mgadvisor.intake import lab_limits, parse_intake
from mgadvisor.kb import load_knowledge
from mgadvisor.render.contract import advice_dict
from mgadvisor.render.findings import finding_text

KB = load_knowledge()
PLACEHOLDER = re.compile(r"\{[a-z_]+\}")  # a template field left unfilled
MEDICINE_NAMES = sorted({m.name for m in KB.medicines})
CLOCK = st.builds(
    lambda h, m: f"{h:02d}:{m:02d}", st.integers(0, 23), st.sampled_from([0, 15, 30, 45])
)


def lab_strategy() -> st.SearchStrategy[dict[str, Any]]:
    """Any value a lab can report: within the intake's limits for the analyte, in any unit."""
    choices = []
    for code, analyte in KB.labs.items():
        for unit in analyte.units:
            low, high = lab_limits(code, unit, analyte.canonical_unit) or (0.01, 30.0)
            choices.append(
                st.fixed_dictionaries(
                    {
                        "analyte": st.just(code),
                        "value": st.floats(low, high, allow_nan=False),
                        "unit": st.just(unit),
                    }
                )
            )
    return st.one_of(*choices)


@st.composite
def person(draw: st.DrawFn) -> dict[str, Any]:
    sex = draw(st.sampled_from(["female", "male"]))
    age = draw(st.floats(0, 120, allow_nan=False))
    out: dict[str, Any] = {"age": age, "sex": sex}
    if sex == "female" and 10 <= age <= 60:
        out["pregnant"] = draw(st.booleans())
        out["lactating"] = draw(st.booleans()) if not out["pregnant"] else False
    return out


INTAKES = st.fixed_dictionaries(
    {"person": person()},
    optional={
        "complaints": st.lists(st.sampled_from(sorted(KB.symptoms)), max_size=5, unique=True),
        "goals": st.lists(st.sampled_from(sorted(KB.applications)), max_size=3, unique=True),
        "conditions": st.lists(st.sampled_from(sorted(KB.conditions)), max_size=3, unique=True),
        "medications": st.lists(
            st.fixed_dictionaries(
                {
                    "name": st.one_of(
                        st.sampled_from(MEDICINE_NAMES), st.text(min_size=1, max_size=20)
                    )
                },
                optional={"time": CLOCK, "months": st.floats(0, 240, allow_nan=False)},
            ),
            max_size=4,
        ),
        "lifestyle": st.fixed_dictionaries(
            {},
            optional={
                "sport_hours_per_week": st.floats(0, 30, allow_nan=False),
                "alcohol_units_per_week": st.floats(0, 60, allow_nan=False),
                "stress": st.sampled_from(["low", "moderate", "high"]),
            },
        ),
        "labs": st.lists(lab_strategy(), max_size=4, unique_by=lambda lab: lab["analyte"]),
        "product": st.fixed_dictionaries(
            {
                "compound": st.sampled_from(sorted(KB.compounds)),
                "amount_mg": st.floats(10, 3000, allow_nan=False),
            },
            optional={
                "units_per_day": st.integers(1, 6),
                "basis": st.sampled_from(["compound", "elemental"]),
            },
        ),
        "preferences": st.fixed_dictionaries(
            {},
            optional={
                "authority": st.sampled_from([a.code for a in KB.reference_values.authorities]),
                "follow_study_dose": st.booleans(),
            },
        ),
    },
)

SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@SETTINGS
@given(INTAKES)
def test_any_valid_intake_gets_a_safe_cited_advice(data: dict[str, Any]) -> None:
    advice = advise_intake(parse_intake(data, KB), KB, date(2026, 11, 22))
    dose = advice.dose
    # Above the upper level: always flagged, always with a warning.
    if dose.upper_level_mg is not None and dose.elemental_mg_per_day > dose.upper_level_mg:
        assert dose.exceeds_upper_level
        assert any(w.code == "warning.exceeds_upper_level" for w in advice.warnings)
    if dose.product and dose.upper_level_mg is not None:
        assert dose.product.exceeds_upper_level == (
            dose.product.elemental_mg_per_day > dose.upper_level_mg
        )
    if dose.status == "withheld":  # no supplement plan at all
        assert dose.elemental_mg_per_day == 0 and not dose.intakes and not dose.basis
        assert not advice.compounds and not advice.synergy
        assert all(item.kind == "medication" for item in advice.schedule)
        assert all(f.code != "followup.reevaluate" for f in advice.follow_up)
    assert advice.referral.needed == bool(advice.referral.reasons)
    # Every finding cites a source that resolves, and reads in both languages.
    for finding in advice.all_findings():
        assert finding.sources and set(finding.sources) <= set(KB.references)
        for lang in ("nl", "en"):
            text = finding_text(KB, finding, Translator(lang))
            assert text != finding.code and not PLACEHOLDER.search(text), text
    # Every medicine is answered for: resolved or reported, never dropped.
    assert len(advice.medications) == len(data.get("medications", []))


@settings(max_examples=40, deadline=None)
@given(INTAKES, st.sampled_from(["nl", "en"]))
def test_the_json_document_always_validates(data: dict[str, Any], lang: str) -> None:
    advice = advise_intake(parse_intake(data, KB), KB, date(2026, 11, 22))
    document = advice_dict(advice, KB, lang)
    assert document["lang"] == lang and document["references"]


# Values no person field accepts: text that is no sex (filtered below), negative or not-finite
# numbers, lists, None (for the required fields; weight is optional and filtered below).
BAD_VALUES = st.one_of(
    st.text(max_size=5),
    st.floats(max_value=-1e-9),
    st.sampled_from([float("nan"), float("inf")]),
    st.integers(-(10**6), -1),
    st.lists(st.integers(), max_size=2),
    st.none(),
)
VALID_ANYWAY = {"sex": ("female", "male"), "weight_kg": (None,)}


@SETTINGS
@given(st.sampled_from(["age", "sex", "pregnant", "weight_kg"]), BAD_VALUES)
def test_invalid_person_fields_are_reported_with_their_path(field: str, value: Any) -> None:
    assume(value not in VALID_ANYWAY.get(field, ()))
    data: dict[str, Any] = {"person": {"age": 40, "sex": "female", field: value}}
    with pytest.raises(IntakeError) as caught:
        parse_intake(data, KB)
    assert caught.value.path == f"person.{field}"
    assert caught.value.expected and caught.value.given


@SETTINGS
@given(st.dictionaries(st.text(min_size=1, max_size=8), st.integers(), min_size=1, max_size=3))
def test_unknown_top_level_keys_are_refused(extra: dict[str, int]) -> None:
    from mgadvisor.intake import Intake

    data: dict[str, Any] = {"person": {"age": 40, "sex": "male"}, **extra}
    unknown = set(extra) - set(Intake.model_fields)
    if not unknown:
        return
    try:
        parse_intake(data, KB)
    except IntakeError as err:
        assert {e.path for e in err.errors} & unknown
    else:
        raise AssertionError("unknown keys were accepted")


@given(
    st.lists(st.integers(0, 96), min_size=1, max_size=40, unique=True).map(
        lambda quarters: sorted(q / 4 for q in quarters)
    ),
    st.integers(0, 96).map(lambda q: q / 4),
)
def test_nearest_allowed_time_is_the_closest_and_the_earlier_on_a_tie(
    times: list[float], wanted: float
) -> None:
    from mgadvisor.advise.schedule import _nearest

    assert _nearest(times, wanted) == min(times, key=lambda g: (abs(g - wanted), g))
