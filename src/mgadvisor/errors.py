"""One error hierarchy for mgadvisor; adapters translate it at their edge.

MgAdvisorError
 ├── KnowledgeError      broken knowledge data (a list of Problems: file, entry, field)
 └── UserInputError      something a user typed or sent; CLI exit 2, API 422
      ├── IntakeError    an intake field (path, expected, given)
      └── UnknownNameError  a compound, medicine or code we cannot resolve (with suggestions)
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field


def suggest(value: str, choices: Iterable[str], n: int = 1) -> list[str]:
    """Closest valid values for a mistyped one (difflib ratio >= 0.6), best first."""
    return difflib.get_close_matches(value, list(choices), n=n, cutoff=0.6)


class MgAdvisorError(Exception):
    """Base of every error mgadvisor raises on purpose."""


@dataclass(frozen=True)
class Problem:
    """One thing wrong in the knowledge data, precise enough to fix without searching."""

    file: str
    entry: str
    field: str
    message: str
    suggestion: str | None = None

    def __str__(self) -> str:
        where = f"{self.file}: entry '{self.entry}'"
        if self.field:
            where += f", field '{self.field}'"
        tail = f" Did you mean '{self.suggestion}'?" if self.suggestion else ""
        return f"{where}: {self.message}.{tail}"


class KnowledgeError(MgAdvisorError):
    """The knowledge data is invalid; carries every problem found, not just the first."""

    def __init__(self, problems: Sequence[Problem]) -> None:
        self.problems = list(problems)
        count = len(self.problems)
        head = f"{count} problem{'s' if count != 1 else ''} in the knowledge base"
        super().__init__(head + ":\n" + "\n".join(f"  - {p}" for p in self.problems))


class UserInputError(MgAdvisorError):
    """Bad input from a user: reported in one line, never as a traceback.

    `msgid` is an English message template; adapters translate it with the same `params`.
    """

    def __init__(self, msgid: str, **params: object) -> None:
        self.msgid = msgid
        self.params = params
        super().__init__(msgid.format(**params) if params else msgid)


@dataclass
class IntakeError(UserInputError):
    """An invalid intake field: where it is, what was expected and what was given.

    `expected` is an English message id with `expected_params`; `hint` is the closest valid
    value, if any. `errors` holds every problem found (this one first).
    """

    path: str
    expected: str
    given: str
    errors: list[IntakeError] = field(default_factory=list)
    expected_params: dict[str, str] = field(default_factory=dict)
    hint: str = ""

    def __post_init__(self) -> None:
        super().__init__(
            "{path}: expected {expected}, got {given}",
            path=self.path,
            expected=self.expected_text(),
            given=self.given,
        )
        if not self.errors:
            self.errors = [self]

    def expected_text(self, translate: Callable[..., str] | None = None) -> str:
        if translate is None:
            return (
                self.expected.format(**self.expected_params)
                if self.expected_params
                else self.expected
            )
        return translate(self.expected, **self.expected_params)

    def __str__(self) -> str:
        hint = f" Did you mean '{self.hint}'?" if self.hint else ""
        return f"{self.path}: expected {self.expected_text()}, got {self.given}.{hint}"

    def line(self, t: Callable[..., str], count_others: bool = True) -> str:
        """This problem in one translated line; with `count_others`, how many more there are.

        `t` is a Translator: user values pass through it unchanged, while the fixed words
        ("nothing", "a syntax error") are translated.
        """
        text = t(
            "{path}: expected {expected}, got {given}",
            path=self.path,
            expected=self.expected_text(t),
            given=t(self.given),
        )
        if self.hint:
            text += ". " + t("Did you mean '{suggestion}'?", suggestion=self.hint)
        others = len(self.errors) - 1
        if count_others and others > 0:
            text += " " + t("(and {count} more problem(s))", count=others)
        return text


class UnknownNameError(UserInputError):
    """A name that resolves to nothing; offers the closest known names."""

    def __init__(self, kind: str, name: str, suggestions: Sequence[str] = ()) -> None:
        self.kind = kind
        self.name = name
        self.suggestions = list(suggestions)
        super().__init__("unknown {kind} '{name}'.", kind=kind, name=name)

    def __str__(self) -> str:
        hint = f" Did you mean '{self.suggestions[0]}'?" if self.suggestions else ""
        return f"unknown {self.kind} '{self.name}'.{hint}"
