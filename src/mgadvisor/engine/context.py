"""What a rule sees: the intake, earlier rules' values, and the knowledge through a tracer.

Every read of a parameter, statement or fact through the context is recorded for the rule that
is running. A finding the rule makes cites the sources of everything the rule read so far (plus
the statements it names in ``cites=``); the trace step of the rule lists the facts it read.
So no rule types a citation key: the sources are those of the knowledge it used.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from typing import TYPE_CHECKING, Any

from mgadvisor.advice import Finding, Indicator, TraceStep
from mgadvisor.engine.registry import SECTIONS

if TYPE_CHECKING:
    from mgadvisor.engine.registry import Rule
    from mgadvisor.foods.catalog import FoodCatalog
    from mgadvisor.intake import Intake
    from mgadvisor.kb.base import KnowledgeBase
    from mgadvisor.kb.models import Fact

_SCALARS = (int, float, str, bool, type(None))
_SCALAR_TYPES = frozenset(_SCALARS)
_OBJECT = "<object>"  # how the trace shows a value that is not a number, text or flag


def _keys(thing: Any) -> Iterable[str]:
    """The citation keys of a knowledge object (anything with `sources`) or a list of keys."""
    sources = getattr(thing, "sources", thing)
    return sources if isinstance(sources, list | tuple) else ()


class Context:
    """The state of one advice while its rules run."""

    __slots__ = (
        "_cited",
        "_facts",
        "_made",
        "as_of",
        "foods",
        "intake",
        "kb",
        "sections",
        "trace",
        "values",
    )

    def __init__(
        self, intake: Intake, kb: KnowledgeBase, as_of: date, foods: FoodCatalog | None
    ) -> None:
        self.intake = intake
        self.kb = kb
        self.as_of = as_of
        self.foods = foods
        self.values: dict[str, Any] = {}
        self.sections: dict[str, list[Finding]] = {name: [] for name in SECTIONS}
        self.trace: list[TraceStep] = []
        self._facts: dict[str, Any] = {}
        self._cited: dict[str, None] = {}
        self._made: list[Finding] = []

    # -- reading -------------------------------------------------------------------------

    def value(self, name: str) -> Any:
        """A value an earlier rule gave (declare it in the rule's ``needs``)."""
        found = self.values[name]
        self._facts[name] = found if type(found) in _SCALAR_TYPES else _OBJECT
        return found

    def param(self, code: str, *, cite: bool = True) -> float:
        """A clinical parameter's value (threshold, weight, time), cited unless `cite` is False
        (a rounding step or a display default: read, traced, but no basis of the claim)."""
        entry = self.kb.parameters[code]
        self._facts[code] = entry.value
        if cite:
            for key in entry.sources:
                self._cited[key] = None
        return entry.value

    def fact(self, code: str) -> Fact:
        """A general statement of the knowledge base (facts.yaml), cited."""
        entry = self.kb.facts[code]
        self._facts[f"fact.{code}"] = True
        for key in entry.sources:
            self._cited[key] = None
        return entry

    def cite(self, *things: Any) -> None:
        """Cite knowledge objects the rule rests on (statements, links, ranges, notes)."""
        for thing in things:
            for key in _keys(thing):
                self._cited[key] = None

    def scope(self) -> _Scope:
        """Reads inside the block are cited only by findings made inside it (a rule with
        findings that rest on different facts)::

            with c.scope():
                weeks = c.param("reevaluate_after_weeks")
                again = c.finding("followup.reevaluate", weeks=weeks)
        """
        return _Scope(self)

    # -- producing -----------------------------------------------------------------------

    def finding(
        self,
        code: str,
        *,
        severity: Indicator = "info",
        points: int | None = None,
        cites: Iterable[Any] = (),
        **params: Any,
    ) -> Finding:
        """A finding citing what the rule read so far, plus the statements in `cites`."""
        sources = dict(self._cited)
        for thing in cites:
            for key in _keys(thing):
                sources[key] = None
        return Finding(code, severity, params, list(sources), points)

    def emit(self, finding: Finding | None, section: str) -> None:
        """Add a finding to a section from a rule that also gives a value."""
        if finding is not None:
            self.sections[section].append(finding)
            self._made.append(finding)

    def run(self, rule: Rule) -> None:
        """Run one rule, store what it gives and leave a trace step if it produced anything."""
        facts: dict[str, Any] = {}
        cited: dict[str, None] = {}
        made: list[Finding] = []
        self._facts, self._cited, self._made = facts, cited, made
        out = rule.fn(self)
        name = rule.value
        if name is not None:
            self.values[name] = out
            if made:
                result = _summary(out) + "; " + ", ".join([f.code for f in made])
            elif out is None or out is False or (type(out) is list and not out):
                return
            else:
                result = _summary(out)
        elif out is None:
            return
        elif type(out) is Finding:
            made = [out]
            self._route(rule, made)
            result = out.code
        elif out:
            made = out if type(out) is list else list(out)
            self._route(rule, made)
            result = ", ".join([f.code for f in made])
        else:
            return
        if self._cited is not cited:  # a scope replaced it: keep both for the trace
            cited.update(self._cited)
        for finding in made:
            for key in finding.sources:
                cited[key] = None
        self.trace.append(TraceStep(rule.code, facts, result, list(cited)))

    def _route(self, rule: Rule, findings: list[Finding]) -> None:
        sections = rule.sections
        if len(sections) == 1:
            self.sections[sections[0]] += findings
            return
        for finding in findings:
            prefix = finding.code.split(".", 1)[0]
            target = next((s for s in sections if SECTIONS[s] == prefix), None)
            if target is None:
                raise ValueError(f"rule {rule.code} made {finding.code} outside {sections}")
            self.sections[target].append(finding)


def _summary(value: Any) -> str:
    kind = type(value)
    if kind is float:
        return f"{value:g}"
    if kind in _SCALAR_TYPES:
        return str(value)
    if isinstance(value, list | tuple | dict):
        return f"{len(value)} items"
    return type(value).__name__


class _Scope:
    """Restores the rule's citations on leaving the block (a class: cheaper than a generator)."""

    __slots__ = ("_context", "_saved")

    def __init__(self, context: Context) -> None:
        self._context = context
        self._saved: dict[str, None] = {}

    def __enter__(self) -> None:
        self._saved = dict(self._context._cited)

    def __exit__(self, *exc: object) -> None:
        self._context._cited = self._saved
