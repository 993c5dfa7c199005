"""One error hierarchy for mgadvisor; adapters translate it at their edge.

MgAdvisorError
 ├── KnowledgeError      broken knowledge data (a list of Problems: file, entry, field)
 └── UserInputError      something a user typed or sent; CLI exit 2, API 422
      ├── IntakeError    an intake field (path, expected, given)
      └── UnknownNameError  a compound, medicine or code we cannot resolve (with suggestions)
"""

from __future__ import annotations

import difflib
import itertools
import json
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

# How much of a user's value an error message quotes, and how long any one parameter of a
# message may be: a 1 MB name must not become a 1 MB error line (or response).
QUOTE_LIMIT = 60
PARAM_LIMIT = 300

# Characters that steer a terminal or reorder text rather than show it: C0 and C1 control
# characters (ESC starts the sequences that recolour, clear or retitle a terminal; 0x9b is the
# one-byte CSI) and the Unicode bidirectional overrides ("Trojan Source").
_UNSAFE = re.compile(r"[\x00-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


def printable(text: str) -> str:
    r"""`text` with every control character written out, so a terminal shows it, never runs it.

    Example:
        >>> printable("Thyrax\x1b[31m")
        'Thyrax\\x1b[31m'
    """
    return _UNSAFE.sub(_escape, text)


def _escape(match: re.Match[str]) -> str:
    code = ord(match[0])
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def quote(value: Any, limit: int = QUOTE_LIMIT) -> str:
    """A user's value as an error message shows it: escaped, at most `limit` characters.

    Text is quoted (``'cramp'``), anything else written as JSON; only the first few items of a
    long list or mapping are looked at, so quoting costs the same for any size of input.

    Example:
        >>> quote("cramp")
        "'cramp'"
        >>> quote(list(range(100)), limit=20)
        '[0, 1, 2, 3, 4, 5...'
    """
    if isinstance(value, str):
        text = repr(value[: limit + 1])
    else:
        text = json.dumps(_head(value, 3), ensure_ascii=False, default=str)
    text = printable(text)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _head(value: Any, depth: int) -> Any:
    """The start of a nested value: enough to quote it, never all of a huge one."""
    if isinstance(value, str):
        return value[: QUOTE_LIMIT + 1]
    if isinstance(value, Mapping):
        items = itertools.islice(value.items(), 8 if depth else 0)
        return {str(k)[:QUOTE_LIMIT]: _head(v, depth - 1) for k, v in items}
    if isinstance(value, list | tuple):
        return [] if depth == 0 else [_head(v, depth - 1) for v in value[:8]]
    return value


def _clip(value: object) -> object:
    if isinstance(value, str) and len(value) > PARAM_LIMIT:
        return value[: PARAM_LIMIT - 3] + "..."
    return value


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

    translated: tuple[str, ...] = ()  # params whose values are message ids themselves

    def __init__(self, msgid: str, **params: object) -> None:
        self.msgid = msgid
        self.params = {key: _clip(value) for key, value in params.items()}
        params = self.params
        super().__init__(msgid.format(**params) if params else msgid)

    def render(self, t: Callable[..., str]) -> str:
        """The message in the language of `t`, the params named in `translated` included."""
        params = {
            key: t(value) if key in self.translated and isinstance(value, str) else value
            for key, value in self.params.items()
        }
        return t(self.msgid, **params)


def invalid_value(field: str, expected: str, given: object) -> UserInputError:
    """'FIELD: expected EXPECTED, got GIVEN' where EXPECTED is an English message id (as the
    records layer's InvalidRecord carries it), translated with the message."""
    error = UserInputError(
        "{field}: expected {expected}, got {given}", field=field, expected=expected, given=given
    )
    error.translated = ("expected",)
    return error


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
