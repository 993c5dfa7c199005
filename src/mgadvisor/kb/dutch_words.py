"""Match a Dutch compound or inflected word through the words the search index holds.

Dutch writes compounds as one word ("kuitkrampen", "belastingstest"); the knowledge texts may
hold the same idea as another compound, a singular, or its parts. For a query word that starts
no indexed word, `Vocabulary.match_expression` builds an FTS5 expression from indexed words:

- words that contain it ("belastingstest" → "magnesiumbelastingstest");
- words it starts with, up to a Dutch ending ("kuitkrampen" → "kuitkramp");
- else its two parts, with a linking "s", "e" or "en" dropped ("hoofdpijnklachten" → "hoofdpijn"
  and "klachten…").
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable

_ENDING = 3  # at most this many letters of ending ("-en", "-jes") after a known word
_SHORTEST = 4  # parts and stems shorter than this match too much
_LINKS = ("en", "s", "e", "")
_MOST = 30  # words one query word may stand for


def fold(word: str) -> str:
    """Lower case without diacritics, as the index's tokenizer stores words.

    >>> fold("Cliënt")
    'client'
    """
    decomposed = unicodedata.normalize("NFKD", word.lower())
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def _quoted(words: Iterable[str]) -> str:
    return " OR ".join(f'"{w}"' for w in words)


class Vocabulary:
    """The words of a search index, for matching compound and inflected query words."""

    def __init__(self, words: Iterable[str]) -> None:
        self._words = sorted(set(words))
        self._set = set(self._words)

    def _starts(self, prefix: str) -> bool:
        return any(w.startswith(prefix) for w in self._words)

    def match_expression(self, word: str) -> str:
        """An FTS5 expression for one query word (a prefix match where the index has one).

        >>> v = Vocabulary(["kuitkramp", "kramp", "krampen", "nacht", "magnesiumbelastingstest"])
        >>> v.match_expression("kramp")
        '"kramp"*'
        >>> v.match_expression("kuitkrampen")
        '("kuitkramp")'
        >>> v.match_expression("belastingstest")
        '("magnesiumbelastingstest")'
        >>> v.match_expression("nachtkrampen")
        '("nacht" AND "krampen"*)'
        """
        word = fold(word)
        if len(word) < _SHORTEST or self._starts(word):
            return f'"{word}"*'
        inside = [w for w in self._words if word in w]
        stems = [
            w
            for w in self._words
            if len(w) >= _SHORTEST and word.startswith(w) and len(word) - len(w) <= _ENDING
        ]
        if found := (inside + stems)[:_MOST]:
            return f"({_quoted(found)})"
        if parts := self._split(word):
            head, tail = parts
            return f'("{head}" AND "{tail}"*)'
        return f'"{word}"*'

    def _split(self, word: str) -> tuple[str, str] | None:
        """The longest known first part and a rest that starts an indexed word."""
        for cut in range(len(word) - _SHORTEST, _SHORTEST - 1, -1):
            head, rest = word[:cut], word[cut:]
            if head not in self._set:
                continue
            for link in _LINKS:
                tail = rest.removeprefix(link) if link and rest.startswith(link) else rest
                if len(tail) >= _SHORTEST and self._starts(tail):
                    return head, tail
        return None
