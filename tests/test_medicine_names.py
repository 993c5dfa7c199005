"""Medicine names as people write them, the frequency and times of a medicine, and the day
schedule's rows (issue 10 §5). Clinical outcomes are in tests/cases/54_*.yaml … 69_*.yaml."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from mgadvisor.advise import advise_intake
from mgadvisor.assess.medication import interaction_for, resolve, review
from mgadvisor.errors import IntakeError
from mgadvisor.i18n import Translator
from mgadvisor.intake import Medication, parse_intake
from mgadvisor.kb import KnowledgeBase
from mgadvisor.kb.names import medicine_keys
from mgadvisor.render.contract import advice_dict
from mgadvisor.render.report import schedule_when

# -- names with a strength, form or frequency --------------------------------------------


@pytest.mark.parametrize(
    ("written", "atc"),
    [
        ("Thyrax 0,1 mg", "H03AA01"),
        ("Thyrax Duotab 0,025 mg tablet", "H03AA01"),
        ("omeprazol 20 mg", "A02BC01"),
        ("Omeprazol MSR capsule 40mg", "A02BC01"),
        ("Ciproxin 500mg", "J01MA02"),
        ("Lasix tablet", "C03CA01"),
        ("Movicolon sachet", "A06AD65"),
        ("metformine 500 mg 2x daags", "A10BA02"),
        ("Glucophage 850", "A10BA02"),
        ("Pantozol Control 20 mg", "A02BC02"),
        ("Doxy Disp 100 mg", "J01AA02"),
        ("Mestinon 60 mg dragee", "N07AA02"),
        ("Calci-Chew D3 500 mg/400 IE kauwtablet", "A12AX"),
        ("sertraline 50 mg 1 x per dag", "N06AB06"),
        ("Fosamax 70 mg 1 x per week", "M05BA04"),
    ],
)
def test_a_name_with_strength_form_or_frequency_resolves(
    kb: KnowledgeBase, written: str, atc: str
) -> None:
    match = resolve(kb, Medication(name=written))
    assert (match.atc, match.match) == (atc, "exact")
    assert match.input == written  # shown as entered


def test_a_brand_holding_a_form_word_is_looked_up_as_written_first(kb: KnowledgeBase) -> None:
    keys = medicine_keys(kb, "Doxy Disp 100 mg")
    assert keys[0] == "doxy disp 100 mg" and "doxy disp" in keys


def test_only_numbers_and_extra_words_is_no_name(kb: KnowledgeBase) -> None:
    match = resolve(kb, Medication(name="500 mg tablet"))
    assert not match.resolved


# -- near misses ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("written", "atc"),
    [("Nexum", "A02BC05"), ("Sertralin", "N06AB06"), ("tetracylcine", "J01AA07")],
)
def test_a_close_typo_with_the_same_start_is_read_and_reported(
    kb: KnowledgeBase, written: str, atc: str
) -> None:
    match = resolve(kb, Medication(name=written))
    assert (match.atc, match.match) == (atc, "fuzzy")


@pytest.mark.parametrize("written", ["Quetiapinum", "Xyzomab", "Etrycycline", "Ertraline"])
def test_a_near_miss_with_another_start_never_becomes_that_medicine(
    kb: KnowledgeBase, written: str
) -> None:
    match = resolve(kb, Medication(name=written))
    assert not match.resolved and match.atc is None
    assert all(s[:2].casefold() == written[:2].casefold() for s in match.suggestions)


def test_sertraline_is_sertraline_not_tetracycline(kb: KnowledgeBase) -> None:
    match = resolve(kb, Medication(name="sertraline"))
    assert match.atc == "N06AB06" and "tetracycline" not in match.suggestions


# -- frequency and times -------------------------------------------------------------------


def _intake(kb: KnowledgeBase, **med: Any) -> Any:
    return parse_intake({"person": {"age": 50, "sex": "female"}, "medications": [med]}, kb)


@pytest.mark.parametrize(
    ("med", "says"),
    [
        ({"name": "x", "time": "08:00", "times": ["08:00"]}, "not both"),
        ({"name": "x", "frequency": "weekly", "times": ["08:00", "20:00"]}, "at most 1"),
        ({"name": "x", "frequency": "monthly", "times": ["08:00", "09:00"]}, "at most 1"),
        ({"name": "x", "frequency": "daily", "times": ["08:00", "20:00"]}, "at most 1"),
        ({"name": "x", "frequency": "twice_daily", "times": ["08", "20:00"]}, "HH:MM"),
        (
            {"name": "x", "frequency": "twice_daily", "times": ["08:00", "14:00", "20:00"]},
            "at most 2",
        ),
        ({"name": "x", "frequency": "twice_daily", "times": ["08:00", "08:00"]}, "same time"),
        ({"name": "x", "frequency": "twice_daily", "time": "08:00"}, "2 doses"),
        ({"name": "x", "frequency": "as_needed", "time": "08:00"}, "no fixed time"),
        ({"name": "x", "frequency": "hourly"}, "one of"),
    ],
)
def test_contradictory_times_are_a_field_error(
    kb: KnowledgeBase, med: dict[str, Any], says: str
) -> None:
    with pytest.raises(IntakeError) as caught:
        _intake(kb, **med)
    assert caught.value.path.startswith("medications[0]")
    assert says in str(caught.value)


def test_times_without_a_frequency_say_how_often(kb: KnowledgeBase) -> None:
    # two or three times of day and no frequency: twice or three times daily, not an error
    for times, frequency in (
        (["08:00", "20:00"], "twice_daily"),
        (["07:00", "13:00", "19:00"], "three_times_daily"),
    ):
        intake = _intake(kb, name="Ciproxin", times=times)
        assert intake.medications[0].frequency == frequency
    assert _intake(kb, name="Ciproxin", time="08:00").medications[0].frequency == "daily"


def test_times_per_frequency_are_accepted(kb: KnowledgeBase) -> None:
    intake = _intake(kb, name="Ciproxin", frequency="twice_daily", times=["08:00", "20:00"])
    assert intake.medications[0].dose_times == ["08:00", "20:00"]
    assert _intake(kb, name="Fosamax", frequency="weekly", time="07:00").medications[0].time


def test_one_interaction_per_dose_time(kb: KnowledgeBase) -> None:
    med = Medication(name="Ciproxin", frequency="twice_daily", times=["08:00", "20:00"])
    hits = review(kb, [med]).interactions
    assert [(h.time, h.frequency) for h in hits] == [
        ("08:00", "twice_daily"),
        ("20:00", "twice_daily"),
    ]


# -- which entries are interactions ------------------------------------------------------


@pytest.mark.parametrize(
    "atc", ["C08CA01", "C08CA05", "C08DA01", "C08DB01", "C03DA01", "N06AB04", "N07AA02"]
)
def test_no_timing_interaction_for_these(kb: KnowledgeBase, atc: str) -> None:
    entry = interaction_for(kb, atc)
    assert entry is None or not entry.timing


def test_penicillins_have_no_interaction_penicillamine_has(kb: KnowledgeBase) -> None:
    assert interaction_for(kb, "J01CA04") is None
    entry = interaction_for(kb, "M01CC01")
    assert entry is not None and entry.timing and "soe_article_magnesium" in entry.mechanism.sources


def test_conditions_a_medicine_points_to_exist(kb: KnowledgeBase) -> None:
    for entry in kb.interactions.values():
        for code in entry.points_to:
            assert code in kb.conditions, (entry.code, code)
        assert not (entry.kidney_only and entry.spacing), entry.code


# -- the day schedule ----------------------------------------------------------------------


def _advice(kb: KnowledgeBase, meds: list[dict[str, Any]], **extra: Any) -> Any:
    data = {"person": {"age": 60, "sex": "female"}, "medications": meds, **extra}
    return advise_intake(parse_intake(data, kb), kb, date(2026, 11, 22))


def test_every_medicine_has_a_row_and_twice_daily_is_one_row_per_dose(kb: KnowledgeBase) -> None:
    advice = _advice(
        kb,
        [
            {"name": "ciprofloxacin", "time": "08:00"},
            {"name": "ciprofloxacin", "time": "20:00"},
            {"name": "sotalol", "frequency": "twice_daily", "times": ["08:00", "20:00"]},
            {"name": "sertraline"},
        ],
    )
    rows = [(i.label, i.time) for i in advice.schedule if i.kind == "medication"]
    assert rows.count(("ciprofloxacin", "08:00")) == 1
    assert rows.count(("ciprofloxacin", "20:00")) == 1
    assert ("sotalol", "08:00") in rows and ("sotalol", "20:00") in rows
    assert ("sertraline", None) in rows
    assert advice.schedule[-1].time is None  # rows without a time come last


def test_weekly_medicine_does_not_move_the_daily_intake(kb: KnowledgeBase) -> None:
    weekly = _advice(kb, [{"name": "Fosamax", "frequency": "weekly", "time": "07:00"}])
    daily = _advice(kb, [{"name": "Fosamax", "time": "07:00"}])
    assert [i.time for i in weekly.dose.intakes] == ["08:00"]
    assert [i.time for i in daily.dose.intakes] != ["08:00"]
    row = next(i for i in weekly.schedule if i.label == "Fosamax")
    assert row.frequency == "weekly" and row.note and row.note.code == "schedule.on_medicine_day"


def test_schedule_rows_in_words(kb: KnowledgeBase) -> None:
    advice = _advice(
        kb,
        [
            {"name": "Ciproxin", "frequency": "as_needed"},
            {"name": "Fosamax", "frequency": "weekly", "time": "07:00"},
            {"name": "metformine"},
        ],
    )
    for lang, words in (
        ("nl", {"zo nodig", "07:00 (eens per week)", "tijd niet opgegeven"}),
        ("en", {"when needed", "07:00 (once a week)", "time not given"}),
    ):
        data = advice_dict(advice, kb, lang)
        shown = {schedule_when(item, Translator(lang)) for item in data["schedule"]}
        assert words <= shown, shown
        notes = [i["note"]["text"] for i in data["schedule"] if i["note"]]
        assert len(notes) == 2 and all("{" not in n for n in notes)
