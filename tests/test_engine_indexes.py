"""Look-up indexes of the engine give the same result as checking everything.

The referral alarms are checked only when one of an alarm's key tokens is among the intake's
(`assess/alarms.py: _index`). Here random facts, drawn from the codes the alarms name, are run
through the index and through a plain check of every alarm: the same alarms must fire.
"""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from mgadvisor.assess.alarms import _candidates, _compiled, _Facts, fires
from mgadvisor.kb import load_knowledge

KB = load_knowledge()
CRITERIA = sorted(
    {criterion for _, groups in _compiled(KB) for parts, _ in groups for criterion in parts}
)


def _vocabulary(kind: str) -> list[str]:
    return sorted({code for k, code, _ in CRITERIA if k == kind}) or ["none"]


def _facts(draw: Any) -> _Facts:
    facts = _Facts.__new__(_Facts)
    facts.codes = {
        kind: set(draw(st.lists(st.sampled_from(_vocabulary(kind)), max_size=3)))
        for kind in ("complaint", "condition", "goal")
    }
    analytes = sorted({code for k, code, _ in CRITERIA if k in ("low", "high", "below", "above")})
    facts.flags = draw(
        st.dictionaries(st.sampled_from(analytes), st.sampled_from(["low", "high"]), max_size=3)
    )
    facts.values = draw(
        st.dictionaries(st.sampled_from(analytes), st.floats(0, 10, allow_nan=False), max_size=3)
    )
    atcs = _vocabulary("atc")
    facts.medicines = [(atc + "01", "medicine") for atc in draw(st.lists(st.sampled_from(atcs)))]
    facts.qt = draw(st.lists(st.just("qt medicine"), max_size=1))
    facts.week = draw(st.none() | st.integers(1, 42))
    facts.pregnant = facts.week is not None or draw(st.booleans())
    facts.lactating = draw(st.booleans())
    facts.age = draw(st.floats(0, 110))
    facts.tokens = {f"{kind}:{code}" for kind, codes in facts.codes.items() for code in codes}
    facts.tokens.update(f"{flag}:{analyte}" for analyte, flag in facts.flags.items())
    facts.tokens.update(f"value:{analyte}" for analyte in facts.values)
    return facts


@settings(max_examples=400, deadline=None)
@given(st.data())
def test_the_alarm_index_fires_the_same_alarms_as_checking_them_all(data: st.DataObject) -> None:
    facts = data.draw(st.composite(_facts)())
    everything = [
        (alarm.code, fires(groups, facts))
        for alarm, groups in _compiled(KB)
        if fires(groups, facts) is not None
    ]
    indexed = [
        (alarm.code, fires(groups, facts))
        for alarm, groups in _candidates(KB, facts)
        if fires(groups, facts) is not None
    ]
    assert indexed == everything


def test_the_alarm_index_leaves_out_alarms_for_an_intake_without_any_token() -> None:
    facts = _Facts.__new__(_Facts)
    facts.tokens = set()
    assert len(_candidates(KB, facts)) < len(_compiled(KB))  # the index does skip alarms
