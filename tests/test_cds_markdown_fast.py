"""The fast paths of `one_line` and `md_text` give what the plain, character-by-character
definitions give, for any text (issue 14 §3: these ran ~85 regular expressions per call).

The reference functions below are the definitions the cards were reviewed against: every C or
Z character a space, white space runs collapsed; then, word by word, a URL or address in a code
span and every other word escaped.
"""

from __future__ import annotations

import re
import unicodedata

from hypothesis import given, settings
from hypothesis import strategies as st

from mgadvisor.interop.cds_cards import md_text, one_line

_ESCAPED = "\\`*_[]<>#|~&"


def reference_one_line(text: str) -> str:
    flat = "".join(" " if unicodedata.category(ch)[0] in "CZ" else ch for ch in str(text))
    return " ".join(flat.split())


def reference_md_text(text: str) -> str:
    words = []
    for word in reference_one_line(text).split(" "):
        if word and re.search(r"://|www\.|@", word, re.IGNORECASE):
            fence = "`" * (max((len(r) for r in re.findall("`+", word)), default=0) + 1)
            words.append(f"{fence} {word} {fence}")
            continue
        escaped = "".join("\\" + ch if ch in _ESCAPED else ch for ch in word)
        words.append(re.sub(r"(?<=\w)\.(?=[^\W\d_]{2})", r"\\.", escaped))
    out = " ".join(words)
    if out[:1] in ("-", "+"):
        out = "\\" + out
    return re.sub(r"^(\d+)([.)])", r"\1\\\2", out)


# Text as an EHR could send it: Markdown's own characters, URLs, addresses, digits, dots,
# white space of every kind, controls, bidi and zero-width characters, and any character.
_PIECES = st.sampled_from(
    [
        *_ESCAPED,
        ".",
        "-",
        "+",
        "1.",
        "2)",
        " ",
        "  ",
        "\t",
        "\n",
        "\r\n",
        "\u00a0",
        "\u2028",
        "\u202e",
        "\u200b",
        "\x00",
        "evil.com",
        "https://x.example/a_b",
        "www.",
        "a@b.nl",
        "``",
        "Mg 0.62 mmol/L",
        "e.g.",
        "omeprazol",
    ]
)
TEXTS = st.lists(st.one_of(_PIECES, st.text(max_size=4)), max_size=12).map("".join)


@settings(max_examples=600, deadline=None)
@given(TEXTS)
def test_one_line_is_the_plain_definition(text: str) -> None:
    assert one_line(text) == reference_one_line(text)


@settings(max_examples=600, deadline=None)
@given(TEXTS)
def test_md_text_is_the_plain_definition(text: str) -> None:
    assert md_text(text) == reference_md_text(text)


def test_the_fast_paths_are_taken_and_agree_on_the_usual_text() -> None:
    usual = "Magnesium 0.62 mmol/L (low) on omeprazol 20 mg and furosemide: see e.g. kdigo2024"
    assert usual.isprintable()
    assert md_text(usual) == reference_md_text(usual) == usual
    linked = "see https://evil.example/x_y or mail a@b.nl - *now*"
    assert md_text(linked) == reference_md_text(linked)
    assert "` https://evil.example/x_y `" in md_text(linked)
