"""Medicines the schedule did not understand (red team round 3, items 1, 2, 11, 12): how often
a medicine is taken, read from words in its name, and a medicine that is not recognised but has
dose times, kept apart as the strictest known interaction asks. Clinical outcomes:
tests/cases/redteam/r130_*.yaml … r139_*.yaml, r180_*.yaml … r182_*.yaml."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from mgadvisor.advise import advise_intake
from mgadvisor.advise.schedule import hours
from mgadvisor.assess.medication import as_read, name_frequency, resolve, strictest_gap
from mgadvisor.i18n import Translator
from mgadvisor.intake import Medication, parse_intake
from mgadvisor.kb import KnowledgeBase
from mgadvisor.render.findings import finding_text

AS_OF = date(2026, 12, 1)


@pytest.mark.parametrize(
    ("name", "frequency"),
    [
        ("Ciproxin 500 mg 2x daags", "twice_daily"),
        ("Ciproxin 500 mg 2 x daags", "twice_daily"),
        ("metformine 500 mg 2 dd 1", "twice_daily"),
        ("Amoxicilline 500 mg 3 maal daags", "three_times_daily"),
        ("gabapentin 300 mg three times a day", "three_times_daily"),
        ("Alendroninezuur 70 mg wekelijks", "weekly"),
        ("alendronic acid 70 mg once weekly", "weekly"),
        ("Fosamax 70 mg 1x per week", "weekly"),
        ("Ibandroninezuur 150 mg 1 x per maand", "monthly"),
        ("paracetamol 500 mg zo nodig", "as_needed"),
        ("Omeprazol 20 mg 1x daags", "daily"),
    ],
)
def test_the_name_says_how_often(kb: KnowledgeBase, name: str, frequency: str) -> None:
    said = name_frequency(kb, name)
    assert said is not None and said.frequency == frequency


def test_a_phrase_inside_a_longer_one_does_not_count_alone(kb: KnowledgeBase) -> None:
    said = name_frequency(kb, "Ciproxin 500 mg twice daily")  # "daily" is inside it
    assert said is not None and said.frequency == "twice_daily"
    assert said.words == ("twice daily",)


def test_words_of_two_frequencies_read_nothing(kb: KnowledgeBase) -> None:
    said = name_frequency(kb, "Ciproxin 2x daags 1x per week")
    assert said is not None and said.frequency is None
    assert said.words == ("2x daags", "1x per week")


@pytest.mark.parametrize("name", ["Thyrax 0,1 mg", "Daktarin", "Doxy Disp 100 mg", "Calci-Chew D3"])
def test_no_frequency_words_no_reading(kb: KnowledgeBase, name: str) -> None:
    assert name_frequency(kb, name) is None


def test_the_name_with_frequency_words_still_resolves(kb: KnowledgeBase) -> None:
    for name in ("metformine 500 mg tweemaal daags", "Ciproxin 500 mg 2 dd 1", "Ciproxin bid"):
        assert resolve(kb, Medication(name=name)).resolved, name


def _med(**fields: Any) -> Medication:
    return Medication.model_validate(fields)


def test_what_was_entered_wins(kb: KnowledgeBase) -> None:
    med, reading = as_read(kb, _med(name="Ciproxin 2x daags", frequency="daily", time="08:00"))
    assert med.frequency == "daily" and reading is not None and reading.outcome == "differs"
    # a time that does not fit the name's frequency: the time wins
    med, reading = as_read(kb, _med(name="Ciproxin 2x daags", time="08:00"))
    assert med.frequency == "daily" and reading is not None and reading.outcome == "differs"
    # as_needed has no time: a time given wins over 'zo nodig'
    med, reading = as_read(kb, _med(name="paracetamol zo nodig", time="08:00"))
    assert med.frequency == "daily" and reading is not None and reading.outcome == "differs"


def test_read_when_nothing_was_entered_or_the_time_fits(kb: KnowledgeBase) -> None:
    med, reading = as_read(kb, _med(name="Ciproxin 2x daags"))
    assert med.frequency == "twice_daily" and reading is not None and reading.outcome == "read"
    med, reading = as_read(kb, _med(name="Fosamax 70 mg wekelijks", time="07:00"))
    assert med.frequency == "weekly" and med.dose_times == ["07:00"]
    med, reading = as_read(kb, _med(name="Omeprazol 20 mg 1x daags"))  # the default already
    assert med.frequency == "daily" and reading is None


def test_the_strictest_gap_is_the_longest_of_the_knowledge_base(kb: KnowledgeBase) -> None:
    gap = strictest_gap(kb)
    assert gap is not None
    spaced = [e.spacing for e in kb.interactions.values() if e.timing and e.spacing]
    assert all(s.medicine_first_h <= gap.medicine_first_h for s in spaced)
    assert all(s.magnesium_first_h <= gap.magnesium_first_h for s in spaced)
    asked = {
        (e.spacing.medicine_first_h, e.spacing.magnesium_first_h) for e in gap.entries if e.spacing
    }
    assert max(a for a, _ in asked) == gap.medicine_first_h
    assert max(b for _, b in asked) == gap.magnesium_first_h


def _advise(kb: KnowledgeBase, med: dict[str, Any]) -> Any:
    intake = {"person": {"age": 50, "sex": "female"}, "goals": ["sleep"], "medications": [med]}
    return advise_intake(parse_intake(intake, kb), kb, AS_OF)


@pytest.mark.parametrize(
    "times",
    [["06:00"], ["08:00"], ["13:00"], ["22:00"], ["23:45"], ["07:00", "19:00"], ["10:00", "22:00"]],
)
def test_magnesium_keeps_the_strictest_gap_from_an_unknown_medicine(
    kb: KnowledgeBase, times: list[str]
) -> None:
    gap = strictest_gap(kb)
    assert gap is not None
    med: dict[str, Any] = {"name": "Xyzomedine 10 mg"}
    if len(times) == 1:
        med["time"] = times[0]
    else:
        med |= {"times": times, "frequency": "twice_daily"}
    advice = _advise(kb, med)
    codes = {w.code for w in advice.warnings}
    assert "schedule.unidentified_kept_apart" in codes
    assert advice.dose.intakes or advice.dose.status == "on_hold"
    for intake in advice.dose.intakes:
        for at in times:
            delta = (hours(intake.time) - hours(at)) % 24
            assert gap.medicine_first_h <= delta <= 24 - gap.magnesium_first_h, (intake.time, at)


def test_an_unknown_medicine_as_needed_has_nothing_to_keep_apart(kb: KnowledgeBase) -> None:
    advice = _advise(kb, {"name": "Xyzomedine 10 mg", "frequency": "as_needed"})
    codes = {w.code for w in advice.warnings}
    assert "schedule.unidentified_no_time" in codes
    assert "schedule.unidentified_kept_apart" not in codes


def test_the_notes_read_in_both_languages(kb: KnowledgeBase) -> None:
    advice = _advise(kb, {"name": "Ciproxin 500 mg 2x daags"})
    note = next(w for w in advice.warnings if w.code == "warning.medication_frequency_read")
    assert "tweemaal per dag" in finding_text(kb, note, Translator("nl"))
    assert "twice a day" in finding_text(kb, note, Translator("en"))
    advice = _advise(kb, {"name": "Xyzomedine 10 mg", "time": "08:00"})
    kept = next(w for w in advice.warnings if w.code == "schedule.unidentified_kept_apart")
    text = finding_text(kb, kept, Translator("en"))
    gap = strictest_gap(kb)
    assert gap is not None
    after, before = f"{gap.medicine_first_h:g}", f"{gap.magnesium_first_h:g}"
    assert f"{after} hours after and {before} hours before" in text and "08:00" in text
