"""Dump the advice documents of every case (nl and en) to a folder, or compare with such a dump.

A change for speed must leave every document the same, byte for byte (trace included):

    .venv/bin/python benchmarks/same_documents.py dump /tmp/docs-before
    ... change the code ...
    .venv/bin/python benchmarks/same_documents.py compare /tmp/docs-before

Dumped: the example intake and every case of `tests/cases/*.yaml`, in nl and en, plus a sample
of the varied intakes `mgadvisor batch` is benchmarked with (`batch_bench.varied`, every 97th
of the first 100,000 lines), all with the benchmarks' date of advice. Each document is written
with `orjson.dumps` (key order as produced, no sorting), one file per intake and language.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
from batch_bench import varied
from harness import AS_OF, ROOT, raw_intakes

LANGS = ("nl", "en")
VARIED_LINES = 100_000
VARIED_STEP = 97


def named_intakes() -> Iterator[tuple[str, dict[str, Any]]]:
    """Every intake to compare, with a file name for it."""
    from mgadvisor.kb.loader import safe_yaml

    example = ROOT / "examples" / "intake-example.yaml"
    yield "example", safe_yaml(example.read_text(encoding="utf-8"))
    for case in sorted((ROOT / "tests" / "cases").glob("*.yaml")):
        yield case.stem, safe_yaml(case.read_text(encoding="utf-8"))["intake"]
    raws = raw_intakes()
    for i in range(0, VARIED_LINES, VARIED_STEP):
        yield f"varied-{i:06d}", varied(raws[i % len(raws)], i // len(raws))


def documents() -> Iterator[tuple[str, bytes]]:
    from mgadvisor.foods.catalog import FoodCatalog
    from mgadvisor.intake import parse_intake
    from mgadvisor.kb import load_knowledge
    from mgadvisor.pipeline import advice_document

    kb = load_knowledge()
    foods = FoodCatalog.bundled(kb)  # not the user's imported tables of this machine
    for name, raw in named_intakes():
        intake = parse_intake(raw, kb)
        for lang in LANGS:
            doc = advice_document(intake, kb, as_of=AS_OF, lang=lang, foods=foods)
            yield f"{name}.{lang}.json", orjson.dumps(doc, option=orjson.OPT_INDENT_2)


def dump(folder: Path) -> int:
    folder.mkdir(parents=True, exist_ok=True)
    count = 0
    for name, data in documents():
        (folder / name).write_bytes(data)
        count += 1
    print(f"{count} documents written to {folder}")
    return 0


def compare(folder: Path) -> int:
    differ, count = [], 0
    seen = set()
    for name, data in documents():
        count += 1
        seen.add(name)
        path = folder / name
        if not path.exists() or path.read_bytes() != data:
            differ.append(name)
    missing = sorted(p.name for p in folder.glob("*.json") if p.name not in seen)
    for name in differ[:20]:
        print(f"DIFFERS: {name}")
    for name in missing[:20]:
        print(f"NOT PRODUCED: {name}")
    if differ or missing:
        print(f"{len(differ)} of {count} documents differ, {len(missing)} not produced")
        return 1
    print(f"all {count} documents the same, byte for byte")
    return 0


if __name__ == "__main__":
    if len(sys.argv) != 3 or sys.argv[1] not in ("dump", "compare"):
        sys.exit("usage: same_documents.py dump|compare FOLDER")
    action, target = sys.argv[1], Path(sys.argv[2])
    sys.exit(dump(target) if action == "dump" else compare(target))
