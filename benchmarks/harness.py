"""What the benchmarks share: the intakes, the date of the advice, quick mode, the table rows.

Quick mode (`BENCH_QUICK=1`, or `make bench-quick`) shrinks every count so that the whole run
takes a minute or two: it checks that the harness works end to end; its numbers are not ones
to record.
"""

from __future__ import annotations

import os
import statistics
from datetime import date
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
AS_OF = date(2026, 11, 22)
QUICK = os.environ.get("BENCH_QUICK", "") not in ("", "0")


def scaled(full: int, quick: int) -> int:
    """`full`, or `quick` when BENCH_QUICK is set."""
    return quick if QUICK else full


def raw_intakes() -> list[dict[str, Any]]:
    """The example intake and the intakes of the clinical cases, as plain data (not checked)."""
    from mgadvisor.kb.loader import safe_yaml

    def read(path: Path) -> Any:
        return safe_yaml(path.read_text(encoding="utf-8"))

    intakes = [read(ROOT / "examples" / "intake-example.yaml")]
    intakes += [read(case)["intake"] for case in sorted((ROOT / "tests" / "cases").glob("*.yaml"))]
    return intakes


def p99(samples: list[float]) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, round(0.99 * (len(ordered) - 1)))]


def row(name: str, samples: list[float], goal: str = "-", digits: int = 1) -> str:
    """A table row with the count, median, p99 and minimum of `samples` (milliseconds)."""
    median, top, low = statistics.median(samples), p99(samples), min(samples)
    return (
        f"| {name} | {len(samples)} | {median:.{digits}f} | {top:.{digits}f} | "
        f"{low:.{digits}f} | {goal} |"
    )


def value_row(name: str, value: str, goal: str = "-") -> str:
    """A table row with one figure (in the median column) that is not a time."""
    return f"| {name} | | {value} | | | {goal} |"
