"""The hours an interaction's advice text names agree with its spacing numbers.

The spacing of an interaction is stored twice: as numbers (`spacing`, which the schedule uses)
and in the advice text the reader sees. This check keeps them in step: every spacing number is
named in the Dutch and English text, and every hour figure the text names outside a source's
range ("2 à 3 uur", "2 to 3 hours") is one of the spacing numbers.
"""

from __future__ import annotations

import re

from mgadvisor.errors import Problem
from mgadvisor.kb.base import KnowledgeBase

_NUMBER = r"(\d+(?:[.,]\d+)?)"
_UNIT = {"nl": r"uur\b", "en": r"hours?\b"}
_RANGE_WORD = {"nl": r"(?:à|tot|-|–)", "en": r"(?:to|-|–)"}


def hours_named(text: str, lang: str) -> set[str]:
    """The hour figures a text names, leaving out ranges (`2 à 3 uur` names no figure).

    >>> sorted(hours_named("minstens 4 uur vóór, of 3 uur na; de bijsluiter: 2 à 3 uur", "nl"))
    ['3', '4']
    """
    unit, joint = _UNIT[lang], _RANGE_WORD[lang]
    outside = re.sub(rf"{_NUMBER}\s*{joint}\s*{_NUMBER}\s*{unit}", " ", text)
    return {n.replace(",", ".") for n in re.findall(rf"{_NUMBER}\s*{unit}", outside)}


def spacing_problems(kb: KnowledgeBase) -> list[Problem]:
    """Interactions whose advice text names other hours than their spacing numbers."""
    problems: list[Problem] = []
    for code, item in kb.interactions.items():
        if item.spacing is None or item.advice is None:
            continue
        numbers = (item.spacing.medicine_first_h, item.spacing.magnesium_first_h)
        stored = {f"{h:g}" for h in numbers if h}
        for lang in ("nl", "en"):
            named = hours_named(getattr(item.advice, lang), lang)
            field = f"advice.{lang}"
            for hours in sorted(stored - named):
                problems.append(
                    Problem(
                        "interactions.yaml",
                        code,
                        field,
                        f"spacing has {hours} h; the text does not name it",
                    )
                )
            for hours in sorted(named - stored):
                problems.append(
                    Problem(
                        "interactions.yaml",
                        code,
                        field,
                        f"the text names {hours} h; the "
                        f"spacing has {', '.join(sorted(stored)) or 'none'}",
                    )
                )
    return problems
