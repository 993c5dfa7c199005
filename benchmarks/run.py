"""Measure what the issues set speed goals for; print a Markdown table for docs/benchmarks.md.

Goals: loading and validating the whole knowledge base < 150 ms (median);
`mgadvisor --help` starts in < 300 ms (median, a fresh process each time); one advice < 1 ms;
web: page weight < 150 KB, PDF < 1.5 s, throughput >= 0.5 of a bare FastAPI endpoint
(`web_http.py`, over real HTTP with wrk).
Run with `make bench`. Numbers depend on the machine: record the machine with them.
"""

from __future__ import annotations

import os
import platform
import statistics
import subprocess
import sys
import time
from collections.abc import Callable


def timed(fn: Callable[[], object], repeat: int) -> list[float]:
    samples = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - start) * 1000)
    return samples


def load_cold() -> object:
    from mgadvisor.chemistry import composition
    from mgadvisor.kb.loader import KNOWLEDGE_DIR, _Loader

    composition.cache_clear()  # no help from earlier rounds: parse every formula again
    return _Loader(KNOWLEDGE_DIR).load()


def help_process() -> object:
    env = {**os.environ, "LANG": "C.UTF-8"}
    return subprocess.run(
        [sys.executable, "-m", "mgadvisor", "--help"], capture_output=True, check=True, env=env
    )


def search_once() -> object:
    from mgadvisor.kb import load_knowledge
    from mgadvisor.kb.search import search_index

    return search_index(load_knowledge()).search("slapeloosheid magnesium")


def advice_once() -> object:
    """One full advice (assess + advise) for the bundled example, knowledge base loaded."""
    from datetime import date
    from pathlib import Path

    from mgadvisor.advise import advise_intake
    from mgadvisor.intake import load_intake_text
    from mgadvisor.kb import load_knowledge

    kb = load_knowledge()
    example = Path(__file__).resolve().parents[1] / "examples" / "intake-example.yaml"
    if "example" not in _INTAKE:  # parse once: the benchmark times the engine, not YAML
        _INTAKE["example"] = load_intake_text(example.read_text(encoding="utf-8"), kb)
    return advise_intake(_INTAKE["example"], kb, date(2026, 11, 22))  # type: ignore[arg-type]


def advice_json_once() -> object:
    from mgadvisor.kb import load_knowledge
    from mgadvisor.render.contract import advice_dict

    return advice_dict(advice_once(), load_knowledge(), "nl")  # type: ignore[arg-type]


_INTAKE: dict[str, object] = {}


def web_benchmarks() -> list[str]:
    """The web app in-process (TestClient: its thread hand-off is part of these times)."""
    import json
    from pathlib import Path

    from fastapi.testclient import TestClient

    from mgadvisor.kb.loader import safe_yaml
    from mgadvisor.web.app import create_app

    example = Path(__file__).resolve().parents[1] / "examples" / "intake-example.yaml"
    intake = safe_yaml(example.read_text(encoding="utf-8"))
    client = TestClient(create_app())
    client.get("/")
    token = str(client.cookies.get("mg_csrf"))
    form = {
        "csrf_token": token,
        "person.age": "72",
        "person.sex": "female",
        "goals": ["sleep"],
        "med.0.name": "Thyrax",
        "med.0.time": "07:00",
        "lab.egfr.value": "55",
        "lab.egfr.unit": "mL/min/1.73m2",
    }
    api = timed(lambda: client.post("/api/v1/advice?as_of=2026-11-22", json=intake), 200)
    page = timed(lambda: client.post("/advice", data=form), 100)
    pdf = timed(
        lambda: client.post(
            "/handout.pdf", data={"csrf_token": token, "intake_json": json.dumps(intake)}
        ),
        10,
    )
    weight = len(client.get("/").content) + sum(
        len(client.get(f"/static/{name}").content)
        for name in ("style.css", "htmx.min.js", "app.js")
    )
    return [
        row("POST /api/v1/advice (example intake, in-process)", api, "-"),
        row("POST /advice page (form, in-process)", page, "-"),
        row("Client handout PDF (WeasyPrint)", pdf, "< 1500 ms"),
        f"| Intake page weight incl. CSS and JS (KB) | | {weight / 1024:.0f} | | | < 150 KB |",
    ]


def row(name: str, samples: list[float], goal: str) -> str:
    ordered = sorted(samples)
    p99 = ordered[min(len(ordered) - 1, round(0.99 * (len(ordered) - 1)))]
    return (
        f"| {name} | {len(samples)} | {statistics.median(samples):.1f} | "
        f"{p99:.1f} | {min(samples):.1f} | {goal} |"
    )


def main() -> None:
    load_cold()  # imports and first-time pydantic work out of the way
    search_once()
    print(
        f"Machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}"
    )
    print()
    print("| What | Runs | Median ms | p99 ms | Min ms | Goal |")
    print("|---|---:|---:|---:|---:|---|")
    print(row("Load + validate + cross-check the knowledge base", timed(load_cold, 40), "< 150 ms"))
    print(row("`mgadvisor --help` (new process)", timed(help_process, 15), "< 300 ms"))
    print(row("Full-text search (index built)", timed(search_once, 200), "-"))
    advice_once()
    advice_json_once()
    print(row("One advice: assess + advise (example intake)", timed(advice_once, 500), "< 1 ms"))
    print(
        row(
            "One advice rendered to the JSON document (nl, validated)",
            timed(advice_json_once, 200),
            "-",
        )
    )
    for line in web_benchmarks():
        print(line)
    from web_http import measure  # benchmarks/ is on sys.path when this file runs

    for line in measure():
        print(line)


if __name__ == "__main__":
    main()
