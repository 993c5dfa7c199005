"""Deliberately broken knowledge files: each must fail with words that help fix it.

Each case in tests/kb_broken/ names a file of a copy of the bundled knowledge base, a change
(append entries, append text, replace text, delete), and the words the error must contain.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml

from mgadvisor.errors import KnowledgeError
from mgadvisor.kb import KNOWLEDGE_DIR
from mgadvisor.kb.loader import _Loader

CASES = sorted((Path(__file__).parent / "kb_broken").glob("*.yaml"))


def apply_case(case: dict[str, Any], folder: Path) -> None:
    target = folder / case["file"]
    if case.get("delete"):
        target.unlink()
    elif "replace_text" in case:
        target.write_text(case["replace_text"], encoding="utf-8")
    elif "append_text" in case:
        with target.open("a", encoding="utf-8") as handle:
            handle.write(case["append_text"])
    elif target.suffix == ".json":
        items = json.loads(target.read_text(encoding="utf-8"))
        target.write_text(json.dumps(items + case["append"]), encoding="utf-8")
    else:
        items = yaml.safe_load(target.read_text(encoding="utf-8"))
        target.write_text(
            yaml.safe_dump(items + case["append"], allow_unicode=True), encoding="utf-8"
        )


def test_every_case_is_documented() -> None:
    assert len(CASES) >= 12
    for path in CASES:
        assert path.read_text(encoding="utf-8").startswith("#"), f"{path.name} needs a comment line"


@pytest.mark.parametrize("case_path", CASES, ids=[p.stem for p in CASES])
def test_broken_knowledge_is_reported(case_path: Path, tmp_path: Path) -> None:
    case = yaml.safe_load(case_path.read_text(encoding="utf-8"))
    folder = tmp_path / "knowledge"
    shutil.copytree(KNOWLEDGE_DIR, folder)
    apply_case(case, folder)
    with pytest.raises(KnowledgeError) as caught:
        _Loader(folder).load()
    message = str(caught.value)
    for words in case["expect"]:
        assert words in message, f"{case_path.name}: {words!r} not in:\n{message}"


def test_the_bundled_knowledge_base_has_no_problems(tmp_path: Path) -> None:
    # The same copy, unchanged, must load: so every failure above comes from its change.
    folder = tmp_path / "knowledge"
    shutil.copytree(KNOWLEDGE_DIR, folder)
    kb = _Loader(folder).load()
    assert kb.counts()["compounds"] > 0
