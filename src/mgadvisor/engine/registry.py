"""The rule registry: every clinical rule with its code, what it reads and what it produces.

Rules are registered by the :func:`rule` decorator when their topic module is imported. The
registry orders them once (a stable topological sort: a rule runs after every rule that gives
a name it needs, otherwise in registration order), and refuses a name nobody gives, a value
given twice, or a cycle.

Names are either *values* (one rule gives each, e.g. ``egfr``) or *sections* (lists of
findings that many rules add to, e.g. ``referral``). A rule gives at most one value; its
findings go to its one section, or, when it gives several, to the section of the finding
code's prefix (``referral.serum_low`` → ``referral``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from mgadvisor.engine.context import Context

# Finding sections of an advice, and the finding-code prefix that routes to each.
SECTIONS: dict[str, str] = {
    "actions": "action",
    "risk_factors": "risk",
    "referral": "referral",
    "dose_referral": "referral",
    "labs": "lab",
    "warnings": "warning",
    "dose_basis": "dose",
    "schedule_notes": "schedule",
    "synergy": "synergy",
    "follow_up": "followup",
    "food_advice": "diet",
}

# Values the engine provides before any rule runs.
INPUTS = frozenset({"intake", "as_of", "foods"})


@dataclass(frozen=True, slots=True)
class Rule:
    """One declared rule."""

    code: str
    fn: Callable[[Context], Any]
    needs: tuple[str, ...]
    gives: tuple[str, ...]
    topic: str
    doc: str
    value: str | None  # the value it gives, if any (else it only adds findings)
    sections: tuple[str, ...]  # the finding sections it adds to


class Registry:
    """Rules by code, and their run order."""

    def __init__(self) -> None:
        self._rules: dict[str, Rule] = {}
        self._order: list[Rule] | None = None

    def rule(
        self, code: str, *, gives: tuple[str, ...], needs: tuple[str, ...] = ()
    ) -> Callable[[Callable[[Context], Any]], Callable[[Context], Any]]:
        """Register the decorated function as the rule `code`."""

        def register(fn: Callable[[Context], Any]) -> Callable[[Context], Any]:
            if code in self._rules:
                raise ValueError(f"rule {code!r} is registered twice")
            topic = fn.__module__.rsplit(".", 1)[-1]
            doc = " ".join((fn.__doc__ or "").split())
            values = [name for name in gives if name not in SECTIONS]
            if len(values) > 1:
                raise ValueError(f"rule {code!r} gives more than one value: {values}")
            sections = tuple(name for name in gives if name in SECTIONS)
            value = values[0] if values else None
            entry = Rule(code, fn, tuple(needs), tuple(gives), topic, doc, value, sections)
            self._rules[code] = entry
            self._order = None
            return fn

        return register

    def __iter__(self) -> Any:
        return iter(self.ordered())

    def __len__(self) -> int:
        return len(self._rules)

    def __getitem__(self, code: str) -> Rule:
        return self._rules[code]

    def ordered(self) -> list[Rule]:
        """The rules in an order where each runs after every rule giving what it needs."""
        if self._order is None:
            self._order = _topological(list(self._rules.values()))
        return self._order


def _givers(rules: list[Rule]) -> dict[str, list[int]]:
    givers: dict[str, list[int]] = {}
    for index, entry in enumerate(rules):
        for name in entry.gives:
            givers.setdefault(name, []).append(index)
    for name, who in givers.items():
        if name not in SECTIONS and len(who) > 1:
            raise ValueError(f"value {name!r} is given by {[rules[i].code for i in who]}")
        if name in INPUTS:
            raise ValueError(f"{name!r} is an input; no rule may give it")
    return givers


def _topological(rules: list[Rule]) -> list[Rule]:
    """Kahn's algorithm, always taking the earliest registered rule that is ready."""
    givers = _givers(rules)
    after: list[set[int]] = []
    for entry in rules:
        deps: set[int] = set()
        for name in entry.needs:
            if name in INPUTS:
                continue
            if name not in givers:
                raise ValueError(f"rule {entry.code!r} needs {name!r}, which no rule gives")
            deps.update(givers[name])
        deps.discard(rules.index(entry))
        after.append(deps)
    done: set[int] = set()
    order: list[Rule] = []
    while len(order) < len(rules):
        ready = next((i for i in range(len(rules)) if i not in done and after[i] <= done), None)
        if ready is None:
            stuck = [rules[i].code for i in range(len(rules)) if i not in done]
            raise ValueError(f"rules depend on each other in a cycle: {stuck}")
        done.add(ready)
        order.append(rules[ready])
    return order


REGISTRY = Registry()
rule = REGISTRY.rule
