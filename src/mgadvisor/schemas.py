"""JSON Schemas of the public contracts, generated from the models: `python -m mgadvisor.schemas`.

Writes docs/schema/intake.schema.json and docs/schema/advice.schema.json; a test fails when the
committed files differ from what the models generate, so the documentation cannot drift.
"""

from __future__ import annotations

import json
import sys
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


def main(folder: str = "docs/schema") -> None:
    target = Path(folder)
    target.mkdir(parents=True, exist_ok=True)
    for name, text in generate().items():
        (target / name).write_text(text, encoding="utf-8")
        print(f"wrote {target / name}")


if __name__ == "__main__":
    main(*sys.argv[1:])
