"""mgadvisor: evidence-based, cited, bilingual magnesium advice for practitioners.

The public API is what this module exports (``__all__``): load the knowledge base, check an
intake, and get the advice, either as the engine's model (:func:`advise`) or as the JSON-ready
document of the public contract (:func:`advice_document`, ``docs/schema/advice.schema.json``).
Errors are one hierarchy under :class:`MgAdvisorError`.

Example:
    >>> from datetime import date
    >>> from mgadvisor import advice_document, load_knowledge, parse_intake
    >>> kb = load_knowledge()
    >>> intake = parse_intake({"person": {"age": 40, "sex": "female"}}, kb)
    >>> doc = advice_document(intake, kb, as_of=date(2026, 1, 1), lang="en")
    >>> doc["lang"], doc["as_of"]
    ('en', '2026-01-01')
    >>> doc["risk"]["level"] in {"low", "moderate", "high"}
    True
    >>> doc["dose"]["status"] in {"advised", "medical_supervision", "on_hold", "withheld"}
    True

Importing this package stays cheap (the command line imports it at start): the names are
resolved on first use (PEP 562), so pydantic and the knowledge base load only when needed.
"""

from __future__ import annotations

import importlib
import sys
import types
from typing import TYPE_CHECKING, Any

from mgadvisor._version import __version__

if TYPE_CHECKING:
    from mgadvisor.advice import Advice, Finding
    from mgadvisor.advise import advise_intake as advise
    from mgadvisor.errors import IntakeError, KnowledgeError, MgAdvisorError, UserInputError
    from mgadvisor.intake import Intake, load_intake_text, parse_intake
    from mgadvisor.kb import load_knowledge
    from mgadvisor.kb.base import KnowledgeBase
    from mgadvisor.pipeline import advice_document

__all__ = [
    "Advice",
    "Finding",
    "Intake",
    "IntakeError",
    "KnowledgeBase",
    "KnowledgeError",
    "MgAdvisorError",
    "UserInputError",
    "__version__",
    "advice_document",
    "advise",
    "load_intake_text",
    "load_knowledge",
    "parse_intake",
]

# Public name -> "module:attribute" it is imported from on first use.
_EXPORTS: dict[str, str] = {
    "advise": "mgadvisor.advise:advise_intake",
    "advice_document": "mgadvisor.pipeline:advice_document",
    "load_knowledge": "mgadvisor.kb:load_knowledge",
    "parse_intake": "mgadvisor.intake:parse_intake",
    "load_intake_text": "mgadvisor.intake:load_intake_text",
    "Intake": "mgadvisor.intake:Intake",
    "Advice": "mgadvisor.advice:Advice",
    "Finding": "mgadvisor.advice:Finding",
    "KnowledgeBase": "mgadvisor.kb.base:KnowledgeBase",
    "MgAdvisorError": "mgadvisor.errors:MgAdvisorError",
    "IntakeError": "mgadvisor.errors:IntakeError",
    "KnowledgeError": "mgadvisor.errors:KnowledgeError",
    "UserInputError": "mgadvisor.errors:UserInputError",
}


# Hidden from type checkers: they read the imports above, and a module __getattr__ would make
# them accept any attribute of mgadvisor, typos included.
if not TYPE_CHECKING:

    def __getattr__(name: str) -> Any:
        target = _EXPORTS.get(name)
        if target is None:
            raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
        module, _, attribute = target.partition(":")
        value = getattr(importlib.import_module(module), attribute)
        globals()[name] = value  # later look-ups skip this function
        return value


def __dir__() -> list[str]:
    return sorted({*__all__, *(name for name in globals() if name.startswith("__"))})


class _Package(types.ModuleType):
    """This package's module type: a subpackage never takes the name of a public function.

    ``advise`` is both the public function and the subpackage ``mgadvisor.advise``; importing
    the subpackage would bind it as an attribute of this package (the import system's setattr)
    and hide the function from ``from mgadvisor import advise``. Its binding is dropped here; the
    subpackage stays importable by its full name (``from mgadvisor.advise import ...``).
    """

    def __setattr__(self, name: str, value: Any) -> None:
        if name in _EXPORTS and isinstance(value, types.ModuleType):
            return
        super().__setattr__(name, value)


sys.modules[__name__].__class__ = _Package
