"""Dump the advice documents of every case (nl and en) to a folder, or compare with such a dump.

A change for speed must leave every document the same, byte for byte (trace included):

    .venv/bin/python benchmarks/same_documents.py dump /tmp/docs-before
    ... change the code ...
    .venv/bin/python benchmarks/same_documents.py compare /tmp/docs-before

Dumped: the example intake and every case of `tests/cases/*.yaml`, in nl and en, plus a sample
of the varied intakes `mgadvisor batch` is benchmarked with (`batch_bench.varied`, every 97th
of the first 100,000 lines), all with the benchmarks' date of advice. Each document is written
with `orjson.dumps` (key order as produced, no sorting), one file per intake and language.
Also dumped: the advice page (POST /advice) for the forms of the web benchmark
(`web_http.page_forms`, in nl and en) and the API's answer for every intake above, so that a
change to the web layer is checked the same way.
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


def pages() -> Iterator[tuple[str, bytes]]:
    from fastapi.testclient import TestClient
    from web_http import TOKEN, page_forms

    from mgadvisor.web.app import create_app

    with TestClient(create_app()) as client:
        for lang in LANGS:
            for k, form in enumerate(page_forms()):
                body = form + f"&as_of={AS_OF.isoformat()}"
                answer = client.post(
                    f"/advice?lang={lang}",
                    content=body,
                    headers={
                        "Content-Type": "application/x-www-form-urlencoded",
                        "Cookie": f"mg_csrf={TOKEN}",
                    },
                )
                yield f"page-{k:02d}.{lang}.html", answer.content
        for name, raw in named_intakes():
            if name.startswith("varied-"):
                continue
            answer = client.post(f"/api/v1/advice?as_of={AS_OF.isoformat()}", json=raw)
            yield f"api-{name}.json", answer.content


def everything() -> Iterator[tuple[str, bytes]]:
    yield from documents()
    yield from pages()


def dump(folder: Path) -> int:
    folder.mkdir(parents=True, exist_ok=True)
    count = 0
    for name, data in everything():
        (folder / name).write_bytes(data)
        count += 1
    print(f"{count} documents written to {folder}")
    return 0


def compare(folder: Path) -> int:
    differ, count = [], 0
    seen = set()
    for name, data in everything():
        count += 1
        seen.add(name)
        path = folder / name
        if not path.exists() or path.read_bytes() != data:
            differ.append(name)
    missing = sorted(p.name for p in folder.iterdir() if p.name not in seen)
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
