"""The committed JSON Schemas are exactly what the models generate, and the examples fit them."""

from __future__ import annotations

from pathlib import Path

import yaml

from mgadvisor.intake import Intake
from mgadvisor.schemas import codes_markdown, generate

ROOT = Path(__file__).resolve().parents[1]


def test_committed_schemas_are_current() -> None:
    for name, text in generate().items():
        committed = (ROOT / "docs" / "schema" / name).read_text(encoding="utf-8")
        assert committed == text, f"docs/schema/{name} is stale: run `python -m mgadvisor.schemas`"


def test_bundled_example_is_a_valid_intake() -> None:
    data = yaml.safe_load((ROOT / "examples" / "intake-example.yaml").read_text(encoding="utf-8"))
    Intake.model_validate(data)


def test_committed_code_list_is_current() -> None:
    committed = (ROOT / "docs" / "codes.md").read_text(encoding="utf-8")
    assert committed == codes_markdown(), "docs/codes.md is stale: run `make schema`"
