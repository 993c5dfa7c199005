"""`mgadvisor batch` on many varied intakes: advices per second and peak memory.

The input is a JSONL file in a temporary folder: the example intake and the clinical cases in
turn, each line's age moved up by less than a year (and the weight, where given, by up to
2 kg), so that no two lines of the 100,000 are the same and no life stage changes.

Each run is a new process tree, started by a small Python wrapper that waits for it:

* advices/s is the number of lines over the wall time from start to exit, so interpreter
  start-up and loading the knowledge base are included (well under a second in 20);
* peak RSS is the wrapper's `RUSAGE_CHILDREN` `ru_maxrss` (what `/usr/bin/time -v` reports):
  on Linux the peak of the LARGEST single process in the tree, not the sum, so with --jobs 2
  it is the largest of the parent and its workers.

The smaller run (10,000 lines) goes first and doubles as warm-up; its peak RSS next to the
large run's shows whether memory grows with the number of lines.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson
from harness import AS_OF, raw_intakes, value_row

BATCH = [sys.executable, "-m", "mgadvisor", "batch"]
RATE_GOAL = "≥ 5,000/s per job"
RSS_GOAL = "flat in the number of lines"

_WRAPPER = """
import resource, subprocess, sys, time
start = time.perf_counter()
done = subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
seconds = time.perf_counter() - start
print(done.returncode, seconds, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)
sys.stdout.flush()
sys.stderr.buffer.write(done.stderr[-4000:])
"""


@dataclass
class Run:
    lines: int
    lines_out: int
    seconds: float
    peak_mb: float
    error: str | None  # why the command failed, or None

    @property
    def rate(self) -> float:
        return self.lines / self.seconds


def available() -> bool:
    return subprocess.run([*BATCH, "--help"], capture_output=True, check=False).returncode == 0


def varied(raw: dict[str, Any], k: int) -> dict[str, Any]:
    """`raw` with the age up by k/2000 years (k < 2000), the weight moved by up to ±2 kg."""
    person = {**raw["person"], "age": raw["person"]["age"] + (k % 2000) / 2000}
    if person.get("weight_kg") is not None:
        person["weight_kg"] = person["weight_kg"] + (k % 9 - 4) * 0.5
    return {**raw, "person": person}


def write_intakes(path: Path, count: int) -> None:
    raws = raw_intakes()
    with path.open("wb") as out:
        for i in range(count):
            out.write(orjson.dumps(varied(raws[i % len(raws)], i // len(raws))) + b"\n")


def _count_lines(path: Path) -> int:
    if not path.exists():
        return 0
    with path.open("rb") as stream:
        return sum(block.count(b"\n") for block in iter(lambda: stream.read(1 << 20), b""))


def _error(code: int, stderr: str) -> str | None:
    """None for a clean exit, else the exit code with the first and last lines of stderr."""
    if code == 0:
        return None
    said = stderr.strip().splitlines() or ["no message"]
    message = said[0] if len(said) == 1 else f"{said[0]} … {said[-1]}"
    return f"failed, exit {code}: {message.replace('|', '/')[:200]}"


def run_batch(source: Path, lines: int, jobs: int) -> Run:
    target = source.with_name(f"{source.stem}-out.jsonl")
    command = [*BATCH, str(source), "-o", str(target)]
    command += ["--jobs", str(jobs), "--as-of", AS_OF.isoformat()]
    done = subprocess.run(
        [sys.executable, "-c", _WRAPPER, *command],
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, "LANG": "C.UTF-8"},
    )
    code, seconds, peak_kb = done.stdout.split()
    lines_out = _count_lines(target)
    target.unlink(missing_ok=True)
    return Run(
        lines, lines_out, float(seconds), int(peak_kb) / 1024, _error(int(code), done.stderr)
    )


def _rows(jobs: int, small: Run, large: Run) -> list[str]:
    what = f"`mgadvisor batch --jobs {jobs}`"
    largest = ", largest single process" if jobs > 1 else ""
    error = large.error or small.error
    rate = f"{large.rate:,.0f} ({large.rate / jobs:,.0f} per job)"
    rss = f"{small.peak_mb:.0f} → {large.peak_mb:.0f}"
    if large.lines_out != large.lines:  # the run counts, but not every line came out as one
        rate += f" (but {large.lines_out:,} lines out for {large.lines:,} in)"
    return [
        value_row(f"{what}, {large.lines:,} varied intakes: advices/s", error or rate, RATE_GOAL),
        value_row(
            f"{what}: peak RSS (MB{largest}), {small.lines:,} → {large.lines:,} lines",
            error or rss,
            RSS_GOAL,
        ),
    ]


def measure(lines: int = 100_000, small: int = 10_000) -> list[str]:
    if not available():
        return [
            value_row(
                "`mgadvisor batch`: advices/s", "not available (no batch command)", RATE_GOAL
            ),
            value_row("`mgadvisor batch`: peak RSS (MB)", "not available", RSS_GOAL),
        ]
    rows: list[str] = []
    with tempfile.TemporaryDirectory() as tmp:
        large_in, small_in = Path(tmp) / "large.jsonl", Path(tmp) / "small.jsonl"
        write_intakes(large_in, lines)
        write_intakes(small_in, small)
        for jobs in (1, 2):
            first = run_batch(small_in, small, jobs)
            rows += _rows(jobs, first, run_batch(large_in, lines, jobs))
    return rows


if __name__ == "__main__":
    for line in measure(lines=2_000, small=500):
        print(line)
