"""mgadvisor's own conventions are cited as such, and docs/conventions.md lists each of them."""

from __future__ import annotations

import re
from pathlib import Path

from mgadvisor.kb import load_knowledge

DOC = Path(__file__).resolve().parents[1] / "docs" / "conventions.md"


def test_every_convention_cites_itself_and_nothing_else_does() -> None:
    kb = load_knowledge()
    for code, entry in kb.parameters.items():
        says = "mgadvisor convention" in entry.get("en")
        assert says == ("mgadvisor_conventions" in entry.sources), code


def test_the_conventions_page_lists_each_convention_with_its_value() -> None:
    kb = load_knowledge()
    listed = dict(re.findall(r"^\| `([a-z0-9_]+)` \| ([0-9.]+)", DOC.read_text("utf-8"), re.M))
    cited = {
        code: f"{entry.value:g}"
        for code, entry in kb.parameters.items()
        if "mgadvisor_conventions" in entry.sources
    }
    assert listed == cited
