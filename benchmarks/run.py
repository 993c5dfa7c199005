"""Measure what the issues set speed goals for; print a Markdown table for docs/benchmarks.md.

Goals (medians unless said otherwise):

* loading and validating the whole knowledge base < 150 ms;
* `mgadvisor --help` ≤ 80 ms (a fresh process each time);
* one advice and its JSON document (`pipeline.advice_document` + `orjson.dumps`, the example
  and the clinical cases in turn): median ≤ 0.15 ms, p99 ≤ 0.5 ms, and ≤ 5x the floor of
  validating the intake and dumping the finished document (`advice_bench.py`);
* `mgadvisor batch` on 100,000 varied intakes: ≥ 5,000 advices/s per job (--jobs 1 and 2), peak
  memory flat in the number of lines (`batch_bench.py`; "not available" until the command is);
* web (`web_http.py`, over real HTTP with uvicorn and wrk): POST /api/v1/advice throughput
  ≥ 0.5 of a bare `async def` endpoint answering a fixed document of the same size; the advice
  page's server time (Server-Timing) median ≤ 1 ms, p99 ≤ 2 ms; page weight < 150 KB; the
  client PDF < 1.5 s;
* CDS Hooks `patient-view` with a typical prefetch: server time p99 ≤ 5 ms (`cds_bench.py`);
* records with 10,000 clients and 50,000 visits, on SQLite and PostgreSQL (`records_bench.py`):
  client list p99 ≤ 50 ms and client page p99 ≤ 100 ms server time, one audit write ≤ 1 ms.

Run with `make bench` (the full counts: several minutes) or `make bench-quick` (BENCH_QUICK=1:
small counts, a minute or two, to check the harness; not numbers to record). Numbers depend on
the machine and on whatever else it runs: record the machine with them.
"""

from __future__ import annotations

import os
import platform
import subprocess
import sys
import time
import traceback
from collections.abc import Callable

import advice_bench
import batch_bench
import cds_bench
import records_bench
import web_http
from harness import QUICK, ROOT, row, scaled, value_row


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
    """One `mgadvisor --help` in a fresh interpreter, with the bytecode cache an installed program
    has (PYTHONDONTWRITEBYTECODE, if set here, would make every run compile changed sources)."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    env["LANG"] = "C.UTF-8"
    return subprocess.run(
        [sys.executable, "-m", "mgadvisor", "--help"], capture_output=True, check=True, env=env
    )


def search_once() -> object:
    from mgadvisor.kb import load_knowledge
    from mgadvisor.kb.search import search_index

    return search_index(load_knowledge()).search("slapeloosheid magnesium")


def web_benchmarks() -> list[str]:
    """The web app in-process (TestClient: its thread hand-off is part of these times)."""
    import json

    from fastapi.testclient import TestClient

    from mgadvisor.kb.loader import safe_yaml
    from mgadvisor.web.app import create_app

    example = ROOT / "examples" / "intake-example.yaml"
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
    handout = {"csrf_token": token, "intake_json": json.dumps(intake)}
    api = timed(
        lambda: client.post("/api/v1/advice?as_of=2026-11-22", json=intake), scaled(200, 20)
    )
    page = timed(lambda: client.post("/advice", data=form), scaled(100, 10))
    pdf = timed(lambda: client.post("/handout.pdf", data=handout), scaled(10, 2))
    weight = len(client.get("/").content) + sum(
        len(client.get(f"/static/{name}").content)
        for name in ("style.css", "htmx.min.js", "app.js")
    )
    return [
        row("POST /api/v1/advice (example intake, in-process)", api),
        row("POST /advice page (form, in-process)", page),
        row("Client handout PDF (WeasyPrint)", pdf, "< 1500 ms"),
        value_row("Intake page weight incl. CSS and JS (KB)", f"{weight / 1024:.0f}", "< 150 KB"),
    ]


def process_rows() -> list[str]:
    """Knowledge base, CLI start-up and search: what every command pays for."""
    load_cold()  # imports and first-time pydantic work out of the way
    search_once()
    return [
        row(
            "Load + validate + cross-check the knowledge base",
            timed(load_cold, scaled(40, 5)),
            "< 150 ms",
        ),
        row(
            "`mgadvisor --help` (new process)", timed(help_process, scaled(20, 3)), "median ≤ 80 ms"
        ),
        row("Full-text search (index built)", timed(search_once, scaled(200, 20))),
    ]


def sections() -> list[tuple[str, Callable[[], list[str]]]]:
    return [
        ("Knowledge base, start-up, search", process_rows),
        (
            "One advice, in-process",
            lambda: advice_bench.measure(rounds=scaled(200, 5), warmup=scaled(5, 1)),
        ),
        ("Web app, in-process", web_benchmarks),
        (
            "CDS Hooks (issue 14)",
            lambda: cds_bench.measure(rounds=scaled(1000, 50), warmup=scaled(50, 5)),
        ),
        (
            "Records (issue 13)",
            lambda: records_bench.measure(clients=scaled(10_000, 500), rounds=scaled(300, 20)),
        ),
        (
            "`mgadvisor batch`",
            lambda: batch_bench.measure(lines=scaled(100_000, 2_000), small=scaled(10_000, 500)),
        ),
        (
            "Web app over HTTP",
            lambda: web_http.measure(
                rounds=scaled(5, 1), seconds=scaled(2, 1), sequential=scaled(1000, 100)
            ),
        ),
    ]


def rows_of(name: str, section: Callable[[], list[str]]) -> list[str]:
    """The section's rows; if it fails, one row saying so (the traceback goes to stderr)."""
    try:
        return section()
    except Exception as exc:
        traceback.print_exc()
        message = f"{type(exc).__name__}: {exc}".replace("|", "/").replace("\n", " ")[:200]
        return [value_row(f"{name}: FAILED", message)]


def main() -> None:
    machine = f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}"
    print(f"Machine: {machine}" + (" (BENCH_QUICK: small counts, not to record)" if QUICK else ""))
    print()
    print("| What | Runs | Median ms | p99 ms | Min ms | Goal |")
    print("|---|---:|---:|---:|---:|---|")
    for name, section in sections():
        for line in rows_of(name, section):
            print(line, flush=True)


if __name__ == "__main__":
    main()
