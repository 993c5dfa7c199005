"""A small pytest plugin: every tests/cases/*.yaml file is a clinical case run through the engine.

Failures read `file → expectation → message`, so a clinician can see what went wrong without
reading Python. Besides the case's own expectations, invariants that must hold for every advice
are checked (sources resolve and render, gaps hold, limits flagged).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest
import yaml

from mgadvisor.advice import Advice, plain
from mgadvisor.advise import advise_intake
from mgadvisor.advise.schedule import hours
from mgadvisor.errors import IntakeError
from mgadvisor.i18n import Translator
from mgadvisor.intake import parse_intake
from mgadvisor.kb import KnowledgeBase, load_knowledge
from mgadvisor.render.findings import finding_text

CASES_DIR = Path(__file__).parent / "cases"


class CaseMismatchError(Exception):
    def __init__(self, expectation: str, message: str) -> None:
        super().__init__(f"{expectation}: {message}")
        self.expectation = expectation
        self.message = message


# The independent red team's cases (written from the sources only) live in their own folder;
# intakes that must be refused (`error_field`) in theirs, so that tools reading every case as a
# valid intake (benchmarks, the nl = en test) need not skip them.
CASE_DIRS = (CASES_DIR, CASES_DIR / "redteam", CASES_DIR / "invalid")


def pytest_collect_file(parent: pytest.Collector, file_path: Path) -> pytest.Collector | None:
    if file_path.suffix == ".yaml" and file_path.parent in CASE_DIRS:
        return CaseFile.from_parent(parent, path=file_path)
    return None


class CaseFile(pytest.File):
    def collect(self) -> Iterator[pytest.Item]:
        data = yaml.safe_load(self.path.read_text(encoding="utf-8"))
        yield CaseItem.from_parent(self, name=str(data.get("name", self.path.stem)), spec=data)


class CaseItem(pytest.Item):
    def __init__(self, *, spec: dict[str, Any], **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.spec = spec

    def runtest(self) -> None:
        kb = load_knowledge()
        for key in ("name", "why", "intake", "expect"):
            if key not in self.spec:
                raise CaseMismatchError("format", f"the case needs '{key}'")
        unknown = [k for k in self.spec.get("sources", []) if k not in kb.references]
        if unknown:
            raise CaseMismatchError("sources", f"unknown citation keys {unknown}")
        as_of = self.spec.get("as_of", date(2026, 11, 22))
        as_of = as_of if isinstance(as_of, date) else date.fromisoformat(str(as_of))
        expect = self.spec["expect"] or {}
        if "error_field" in expect:
            check_rejected(kb, self.spec["intake"], str(expect["error_field"]))
            return
        intake = parse_intake(self.spec["intake"], kb)
        advice = advise_intake(intake, kb, as_of)
        check_invariants(kb, advice)
        check_expectations(kb, advice, expect)

    def repr_failure(self, excinfo: pytest.ExceptionInfo[BaseException], style: Any = None) -> str:
        if isinstance(excinfo.value, CaseMismatchError):
            return f"{self.path.name} → {excinfo.value.expectation} → {excinfo.value.message}"
        return f"{self.path.name} → {excinfo.value!r}"

    def reportinfo(self) -> tuple[Path, int, str]:
        return self.path, 0, f"case: {self.name}"


# -- what must always hold -----------------------------------------------------------------


def check_invariants(kb: KnowledgeBase, advice: Advice) -> None:
    for finding in advice.all_findings():
        if not finding.sources:
            raise CaseMismatchError("invariant.sources", f"{finding.code} has no source")
        missing = [k for k in finding.sources if k not in kb.references]
        if missing:
            raise CaseMismatchError("invariant.sources", f"{finding.code} cites unknown {missing}")
        for lang in ("nl", "en"):
            text = finding_text(kb, finding, Translator(lang))
            if text == finding.code or re.search(r"\{[a-z_]+\}", text):
                raise CaseMismatchError(
                    "invariant.render", f"{finding.code} does not render in {lang}: {text!r}"
                )
    dose = advice.dose
    above = dose.upper_level_mg is not None and dose.elemental_mg_per_day > dose.upper_level_mg
    warned = any(w.code == "warning.exceeds_upper_level" for w in advice.warnings)
    if above and not (dose.exceeds_upper_level and warned):
        raise CaseMismatchError(
            "invariant.upper_level", "dose above the upper level without flag and warning"
        )
    if dose.status == "withheld" and (dose.elemental_mg_per_day or dose.intakes):
        raise CaseMismatchError(
            "invariant.withheld", "a withheld dose must be zero with no intakes"
        )
    if dose.status == "withheld":
        # No supplement plan at all: no compound, no dose steps, no magnesium in the day
        # schedule, no synergy, no "look again after N weeks".
        planned = [
            *(c.code for c in advice.compounds),
            *(f.code for f in dose.basis),
            *(i.label for i in advice.schedule if i.kind == "magnesium"),
            *(f.code for f in advice.synergy),
            *(f.code for f in advice.follow_up if f.code == "followup.reevaluate"),
        ]
        if planned:
            raise CaseMismatchError("invariant.withheld", f"a withheld dose still plans {planned}")
    if dose.status == "on_hold":  # waits for a product's amount or a pharmacist: no plan yet
        planned = [
            *(c.code for c in advice.compounds),
            *(i.time for i in dose.intakes),
            *(i.label for i in advice.schedule if i.kind == "magnesium"),
            *(f.code for f in advice.follow_up if f.code == "followup.reevaluate"),
        ]
        if planned:
            raise CaseMismatchError("invariant.on_hold", f"a plan on hold still plans {planned}")
    seen: set[tuple[str, str]] = set()
    for finding in advice.all_findings():
        if finding.code.startswith("compound."):
            continue  # each compound's own reasons: the same reason for several compounds
        key = (finding.code, repr(sorted(finding.params.items())))
        if key in seen:
            raise CaseMismatchError("invariant.repeat", f"{finding.code} is said twice")
        seen.add(key)
    if advice.referral.needed != bool(advice.referral.reasons):
        raise CaseMismatchError("invariant.referral", "referral.needed must match its reasons")
    check_reason_evidence(kb, advice)
    for hit in advice.interactions:
        if hit.medicine_first_h is None or hit.magnesium_first_h is None:
            continue
        if hit.frequency in ("weekly", "monthly", "as_needed"):
            continue  # kept apart on its day only, or a rule in words (schedule row note)
        at = hit.time or "08:00"
        for intake in dose.intakes:
            delta = (hours(intake.time) - hours(at)) % 24
            if not hit.medicine_first_h <= delta <= 24 - hit.magnesium_first_h:
                raise CaseMismatchError(
                    "invariant.gap",
                    f"magnesium at {intake.time} breaks the gap with {hit.medication} at {at}",
                )


# -- the case's own expectations -----------------------------------------------------------


def _codes(findings: list[Any]) -> set[str]:
    return {f.code for f in findings}


def _in_range(name: str, value: Any, expected: Any) -> None:
    if (
        isinstance(expected, list)
        and len(expected) == 2
        and all(isinstance(x, int | float) for x in expected)
    ):
        if value is None or not expected[0] <= value <= expected[1]:
            raise CaseMismatchError(
                name, f"expected between {expected[0]} and {expected[1]}, got {value}"
            )
    elif isinstance(expected, list) and not isinstance(value, list):
        if value not in expected:  # a list of acceptable values
            raise CaseMismatchError(name, f"expected one of {expected!r}, got {value!r}")
    elif value != expected:
        raise CaseMismatchError(name, f"expected {expected!r}, got {value!r}")


def _subset(name: str, wanted: list[str], present: set[str]) -> None:
    missing = [w for w in wanted if w not in present]
    if missing:
        raise CaseMismatchError(name, f"missing {missing}; present: {sorted(present)}")


def _disjoint(name: str, unwanted: list[str], present: set[str]) -> None:
    found = [w for w in unwanted if w in present]
    if found:
        raise CaseMismatchError(name, f"must not contain {found}")


def check_expectations(kb: KnowledgeBase, advice: Advice, expect: dict[str, Any]) -> None:
    dose = advice.dose
    top = [c.code for c in advice.compounds]
    checks: dict[str, Any] = {
        "risk_level": lambda v: _risk_level(advice, v),
        "risk_score_min": lambda v: (
            advice.risk.score >= v or _fail("risk_score_min", f"score {advice.risk.score} < {v}")
        ),
        "risk_score_max": lambda v: (
            advice.risk.score <= v or _fail("risk_score_max", f"score {advice.risk.score} > {v}")
        ),
        "referral": lambda v: _in_range("referral", advice.referral.needed, v),
        "referral_codes": lambda v: _subset("referral_codes", v, _codes(advice.referral.reasons)),
        "no_referral_codes": lambda v: _disjoint(
            "no_referral_codes", v, _codes(advice.referral.reasons)
        ),
        "dose_status": lambda v: _in_range("dose_status", dose.status, v),
        "dose_mg_min": lambda v: (
            dose.elemental_mg_per_day >= v
            or _fail("dose_mg_min", f"{dose.elemental_mg_per_day} < {v}")
        ),
        "dose_mg_max": lambda v: (
            dose.elemental_mg_per_day <= v
            or _fail("dose_mg_max", f"{dose.elemental_mg_per_day} > {v}")
        ),
        "exceeds_upper_level": lambda v: _in_range(
            "exceeds_upper_level", dose.exceeds_upper_level, v
        ),
        "intakes": lambda v: _in_range("intakes", len(dose.intakes), v),
        "top_compound": lambda v: _in_range("top_compound", top[0] if top else None, v),
        "top_compounds_include": lambda v: _subset("top_compounds_include", v, set(top)),
        "top_compounds_exclude": lambda v: _disjoint("top_compounds_exclude", v, set(top)),
        "no_interactions": lambda v: _in_range("no_interactions", not advice.interactions, v),
        "magnesium_not_between": lambda v: _not_between(advice, v),
        "magnesium_moments_include": lambda v: _subset(
            "magnesium_moments_include", v, {i.moment for i in dose.intakes}
        ),
        "warnings_include": lambda v: _subset("warnings_include", v, _codes(advice.warnings)),
        "warnings_exclude": lambda v: _disjoint("warnings_exclude", v, _codes(advice.warnings)),
        "labs_include": lambda v: _subset("labs_include", v, _codes(advice.labs)),
        "labs_exclude": lambda v: _disjoint("labs_exclude", v, _codes(advice.labs)),
        "synergy_include": lambda v: _subset("synergy_include", v, _codes(advice.synergy)),
        "synergy_exclude": lambda v: _disjoint("synergy_exclude", v, _codes(advice.synergy)),
        "synergy_none": lambda v: _in_range("synergy_none", not advice.synergy, v),
        "follow_up_exclude": lambda v: _disjoint("follow_up_exclude", v, _codes(advice.follow_up)),
        "dose_basis_exclude": lambda v: _disjoint("dose_basis_exclude", v, _codes(dose.basis)),
        "diet_calcium_magnesium_ratio": lambda v: _in_range(
            "diet_calcium_magnesium_ratio",
            advice.diet.calcium_magnesium_ratio if advice.diet else None,
            v,
        ),
        "sources_include": lambda v: _subset(
            "sources_include",
            v,
            {k for f in advice.all_findings() for k in f.sources}
            | set(advice.diet.sources if advice.diet else []),
        ),
        "sources_exclude": lambda v: _disjoint(
            "sources_exclude", v, {k for f in advice.all_findings() for k in f.sources}
        ),
        "reason_evidence": lambda v: _reason_evidence(advice, v),
        "follow_up_include": lambda v: _subset("follow_up_include", v, _codes(advice.follow_up)),
        "actions_include": lambda v: _subset("actions_include", v, _codes(advice.actions)),
        "dose_basis_include": lambda v: _subset("dose_basis_include", v, _codes(dose.basis)),
        "risk_factors_include": lambda v: _subset(
            "risk_factors_include", v, _codes(advice.risk.factors)
        ),
        "risk_factors_exclude": lambda v: _disjoint(
            "risk_factors_exclude", v, _codes(advice.risk.factors)
        ),
        "product_units_per_day": lambda v: _in_range(
            "product_units_per_day", dose.product and dose.product.units_per_day, v
        ),
        "product_elemental_mg_per_day": lambda v: _in_range(
            "product_elemental_mg_per_day", dose.product and dose.product.elemental_mg_per_day, v
        ),
        "product_exceeds_upper_level": lambda v: _in_range(
            "product_exceeds_upper_level", dose.product and dose.product.exceeds_upper_level, v
        ),
        "reference_intake_mg": lambda v: _in_range(
            "reference_intake_mg", dose.reference_intake_mg, v
        ),
        "upper_level_mg": lambda v: _in_range("upper_level_mg", dose.upper_level_mg, v),
    }
    for key, value in expect.items():
        if key in checks:
            checks[key](value)
        elif key == "interactions":
            hits = {h.interaction: h for h in advice.interactions}
            for code, gaps in value.items():
                if code not in hits:
                    raise CaseMismatchError(
                        "interactions", f"{code} not found; present: {sorted(hits)}"
                    )
                for field, wanted in (gaps or {}).items():
                    _in_range(f"interactions.{code}.{field}", getattr(hits[code], field), wanted)
        elif key == "medications_unresolved":
            state = {m.input: m.resolved for m in advice.medications}
            for name in value:
                if state.get(name) is not False:
                    raise CaseMismatchError(
                        "medications_unresolved", f"{name} resolved: {state.get(name)}"
                    )
        elif key == "medications_resolved":
            atcs = {m.input: m.atc for m in advice.medications}
            for name, atc in value.items():
                _in_range(f"medications_resolved.{name}", atcs.get(name), atc)
        elif key in MEDICINE_CHECKS:
            MEDICINE_CHECKS[key](kb, advice, value)
        elif key in SAFETY_CHECKS:
            SAFETY_CHECKS[key](advice, value)
        elif key == "calculations":
            calc = plain(advice.calculations)
            for field, wanted in value.items():
                _in_range(f"calculations.{field}", calc.get(field), wanted)
        else:
            raise CaseMismatchError("format", f"unknown expectation '{key}'")


def _fail(name: str, message: str) -> bool:
    raise CaseMismatchError(name, message)


def _risk_level(advice: Advice, wanted: str | list[str]) -> None:
    allowed = wanted if isinstance(wanted, list) else [wanted]
    if advice.risk.level not in allowed:
        raise CaseMismatchError(
            "risk_level", f"expected {allowed}, got {advice.risk.level} (score {advice.risk.score})"
        )


def _not_between(advice: Advice, window: list[str]) -> None:
    start, end = hours(window[0]), hours(window[1])
    for intake in advice.dose.intakes:
        at = hours(intake.time)
        inside = start <= at < end if start <= end else at >= start or at < end
        if inside:
            raise CaseMismatchError(
                "magnesium_not_between", f"magnesium at {intake.time} is inside {window}"
            )


# -- medicines and the day schedule (issue 10 §5) -------------------------------------------


def _medicine_names(kb: KnowledgeBase, given: str, atc: str | None) -> set[str]:
    """How a medicine may be named in a case: as entered, or by a generic name of its ATC."""
    from mgadvisor.kb.names import generic_name

    names = {given.casefold()}
    for lang in ("en", "nl"):
        generic = generic_name(kb, atc, lang) if atc else None
        if generic:
            names.add(generic.casefold())
    return names


def _no_interaction_for(kb: KnowledgeBase, advice: Advice, wanted: list[str]) -> None:
    """No interaction (timing row, avoid or referral) for these medicines."""
    for hit in advice.interactions:
        found = _medicine_names(kb, hit.medication, hit.atc) & {w.casefold() for w in wanted}
        if found:
            raise CaseMismatchError(
                "no_interaction_for", f"{sorted(found)} has interaction {hit.interaction}"
            )


def _schedule_medicines_include(kb: KnowledgeBase, advice: Advice, wanted: list[str]) -> None:
    """Each medicine has a row in the day schedule (with or without a time)."""
    present: set[str] = set()
    for item in advice.schedule:
        if item.kind == "medication":
            present |= _medicine_names(kb, item.label, item.atc)
    _subset("schedule_medicines_include", [w.casefold() for w in wanted], present)


def _schedule_rows(kb: KnowledgeBase, advice: Advice, wanted: dict[str, Any]) -> None:
    """medicine -> its rows' times, in order (null: no time), each row once."""
    for name, times in wanted.items():
        rows = [
            item.time
            for item in advice.schedule
            if item.kind == "medication"
            and name.casefold() in _medicine_names(kb, item.label, item.atc)
        ]
        _in_range(f"schedule_rows.{name}", rows, list(times))


def _schedule_frequency(kb: KnowledgeBase, advice: Advice, wanted: dict[str, str]) -> None:
    """medicine -> the frequency on its schedule rows."""
    for name, frequency in wanted.items():
        found = {
            item.frequency
            for item in advice.schedule
            if item.kind == "medication"
            and name.casefold() in _medicine_names(kb, item.label, item.atc)
        }
        _in_range(f"schedule_frequency.{name}", found, {frequency})


def _schedule_notes_include(kb: KnowledgeBase, advice: Advice, wanted: list[str]) -> None:
    """Codes of the notes on schedule rows (what to do when needed, on a weekly day)."""
    present = {item.note.code for item in advice.schedule if item.note is not None}
    _subset("schedule_notes_include", wanted, present)


def _suggestions_exclude(kb: KnowledgeBase, advice: Advice, wanted: dict[str, list[str]]) -> None:
    """input -> names that must not be offered as its suggestion (nor resolved to)."""
    for name, unwanted in wanted.items():
        match = next((m for m in advice.medications if m.input == name), None)
        if match is None:
            raise CaseMismatchError("medications_suggestions_exclude", f"{name} not entered")
        offered = {s.casefold() for s in match.suggestions} | {(match.name or "").casefold()}
        _disjoint(
            f"medications_suggestions_exclude.{name}", [u.casefold() for u in unwanted], offered
        )


MEDICINE_CHECKS: dict[str, Any] = {
    "no_interaction_for": _no_interaction_for,
    "schedule_medicines_include": _schedule_medicines_include,
    "schedule_rows": _schedule_rows,
    "schedule_frequency": _schedule_frequency,
    "schedule_notes_include": _schedule_notes_include,
    "medications_suggestions_exclude": _suggestions_exclude,
}


# -- issue 10: urgency, products, labs, follow-up, children --------------------------------

RISK_ORDER = ("low", "moderate", "high")


def check_rejected(kb: KnowledgeBase, data: Any, field: str) -> None:
    """The intake must be refused with a clear error at (or under) the field."""
    try:
        parse_intake(data, kb)
    except IntakeError as err:
        paths = [e.path for e in (err.errors or [err])]
        if not any(p == field or p.startswith((field + ".", field + "[")) for p in paths):
            raise CaseMismatchError("error_field", f"refused at {paths}, not at {field}") from None
        return
    raise CaseMismatchError("error_field", f"the intake was accepted; expected an error at {field}")


def _lab_flags(advice: Advice, wanted: dict[str, str]) -> None:
    """The engine's reading of each analyte: total calcium is read albumin-corrected when the
    corrected value is there (entered or derived)."""
    kb = load_knowledge()
    flags = {row.analyte: row.flag for row in advice.lab_results}
    for analyte in list(flags):
        better = kb.labs[analyte].read_as
        if better in flags:
            flags[analyte] = flags[better]
    for analyte, flag in wanted.items():
        _in_range(f"lab_flags.{analyte}", flags.get(analyte), flag)


def _synergy_exclude(advice: Advice, unwanted: list[str]) -> None:
    _disjoint("synergy_exclude", unwanted, _codes(advice.synergy))


def _synergy_none(advice: Advice, wanted: bool) -> None:
    _in_range("synergy_none", not advice.synergy, wanted)


def _intakes_min(advice: Advice, wanted: int) -> None:
    if len(advice.dose.intakes) < wanted:
        raise CaseMismatchError("intakes_min", f"{len(advice.dose.intakes)} < {wanted}")


def _dose_product_units(advice: Advice, wanted: Any) -> None:
    product = advice.dose.product
    _in_range("dose_product_units", product and product.advised_units_per_day, wanted)


def _risk_level_min(advice: Advice, wanted: str) -> None:
    if RISK_ORDER.index(advice.risk.level) < RISK_ORDER.index(wanted):
        raise CaseMismatchError("risk_level_min", f"{advice.risk.level} is below {wanted}")


SAFETY_CHECKS: dict[str, Any] = {
    "urgency": lambda advice, v: _in_range("urgency", advice.referral.urgency, v),
    "current_products_action": lambda advice, v: _in_range(
        "current_products_action", advice.dose.current_products_action, v
    ),
    "follow_up_weeks": lambda advice, v: _in_range("follow_up_weeks", advice.follow_up_weeks, v),
    "upper_level_mg": lambda advice, v: _in_range("upper_level_mg", advice.dose.upper_level_mg, v),
    "lab_flags": _lab_flags,
    "synergy_exclude": _synergy_exclude,
    "synergy_none": _synergy_none,
    "intakes_min": _intakes_min,
    "dose_product_units": _dose_product_units,
    "risk_level_min": _risk_level_min,
    "labs_exclude": lambda advice, v: _disjoint("labs_exclude", v, _codes(advice.labs)),
    "schedule_magnesium_compound": lambda advice, v: _in_range(
        "schedule_magnesium_compound",
        {i.label for i in advice.schedule if i.kind == "magnesium"},
        {v},
    ),
}


# -- evidence levels of compound reasons (issue 10 §6) ---------------------------------------

PRECLINICAL_WORDS = {"nl": "preklinisch", "en": "preclinical"}


def check_reason_evidence(kb: KnowledgeBase, advice: Advice) -> None:
    """Every compound reason carries an evidence level; a preclinical one says so in its text."""
    for choice in advice.compounds:
        for reason in choice.reasons:
            level = reason.params.get("evidence")
            if level is None:
                raise CaseMismatchError(
                    "invariant.evidence", f"{choice.code}: {reason.code} has no evidence level"
                )
            if level != "preclinical":
                continue
            for lang, word in PRECLINICAL_WORDS.items():
                if word not in finding_text(kb, reason, Translator(lang)).lower():
                    raise CaseMismatchError(
                        "invariant.evidence",
                        f"{choice.code}: {reason.code} rests on preclinical sources "
                        f"but does not say '{word}'",
                    )


def _reason_evidence(advice: Advice, wanted: dict[str, dict[str, str]]) -> None:
    """compound -> {reason code: evidence level} for compounds in the top 3."""
    choices = {c.code: c for c in advice.compounds}
    for compound, reasons in wanted.items():
        if compound not in choices:
            raise CaseMismatchError("reason_evidence", f"{compound} is not in the top 3")
        levels = {r.code: r.params.get("evidence") for r in choices[compound].reasons}
        for code, level in reasons.items():
            _in_range(f"reason_evidence.{compound}.{code}", levels.get(code), level)
