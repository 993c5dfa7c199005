"""What the benchmarks share: the intakes, the date of the advice, quick mode, the table rows.

Quick mode (`BENCH_QUICK=1`, or `make bench-quick`) shrinks every count so that the whole run
takes a minute or two: it checks that the harness works end to end; its numbers are not ones
to record.
"""

from __future__ import annotations

import os
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
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


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def uvicorn_process(
    target: str, *, factory: bool = False, env: dict[str, str] | None = None, stop_s: float = 10
) -> Iterator[tuple[int, subprocess.Popen[bytes]]]:
    """(port, process) of uvicorn serving `target` on a free loopback port, once it accepts
    connections; stopped on exit."""
    port = free_port()
    command = [sys.executable, "-m", "uvicorn", target, "--host", "127.0.0.1", "--port", str(port)]
    command += ["--log-level", "warning", *(["--factory"] if factory else [])]
    process = subprocess.Popen(command, env=env, cwd=ROOT)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"{target} did not start") from None
                time.sleep(0.1)
        yield port, process
    finally:
        process.terminate()
        process.wait(timeout=stop_s)
