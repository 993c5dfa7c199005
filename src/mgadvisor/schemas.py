"""JSON Schemas of the public contracts, generated from the models: `python -m mgadvisor.schemas`.

Writes docs/schema/intake.schema.json and docs/schema/advice.schema.json; a test fails when the
committed files differ from what the models generate, so the documentation cannot drift.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from mgadvisor.intake import Intake
from mgadvisor.render.contract import AdviceDocument

SCHEMAS: dict[str, tuple[type[Any], str]] = {
    "intake.schema.json": (Intake, "validation"),
    "advice.schema.json": (AdviceDocument, "serialization"),
}


def generate() -> dict[str, str]:
    out = {}
    for name, (model, mode) in SCHEMAS.items():
        schema = model.model_json_schema(mode=mode)
        schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
        schema["$id"] = f"https://mgadvisor.example/schema/{name}"
        out[name] = json.dumps(schema, indent=2, ensure_ascii=False, sort_keys=True) + "\n"
    return out


def codes_markdown() -> str:
    """docs/codes.md: every code an intake may use, with its Dutch and English name."""
    from mgadvisor.kb import load_knowledge

    kb = load_knowledge()
    parts = [
        "# Codes for the intake",
        "",
        "Generated from the knowledge base by `make schema`; do not edit by hand.",
        "",
    ]
    groups: list[tuple[str, str, Mapping[str, Any]]] = [
        ("complaints", "Complaints (`complaints`)", kb.symptoms),
        ("goals", "Goals (`goals`)", kb.applications),
        ("conditions", "Conditions (`conditions`)", kb.conditions),
        (
            "compounds",
            "Compounds (`product.compound`, names in Dutch or English also work)",
            kb.compounds,
        ),
    ]
    for _, title, table in groups:
        parts += [f"## {title}", "", "| Code | Nederlands | English |", "|---|---|---|"]
        parts += [f"| `{code}` | {e.name.nl} | {e.name.en} |" for code, e in table.items()]
        parts.append("")
    parts += ["## Lab analytes (`labs[].analyte`)", "", "| Code | Units | Name |", "|---|---|---|"]
    parts += [f"| `{c}` | {', '.join(a.units)} | {a.name.en} |" for c, a in kb.labs.items()]
    parts += ["", "## Authorities (`preferences.authority`)", ""]
    parts += [
        f"- `{a.code}`: {a.name.en}" + (" (default)" if a.default else "")
        for a in kb.reference_values.authorities
    ]
    return "\n".join(parts) + "\n"


def main(folder: str = "docs/schema") -> None:
    target = Path(folder)
    target.mkdir(parents=True, exist_ok=True)
    for name, text in generate().items():
        (target / name).write_text(text, encoding="utf-8")
        print(f"wrote {target / name}")
    codes = target.parent / "codes.md"
    codes.write_text(codes_markdown(), encoding="utf-8")
    print(f"wrote {codes}")


if __name__ == "__main__":
    main(*sys.argv[1:])
