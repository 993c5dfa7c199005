"""One advice and its JSON document, in-process, against the floor of any JSON API for it.

* Advice: `pipeline.advice_document(intake, kb, as_of=..., lang="nl")` then `orjson.dumps` of
  the document, for the example intake and every clinical case in turn (parsed once, outside
  the timing: this times the engine and the renderer, not YAML or validation).
* Floor: what no implementation can skip for the same answer: `Intake.model_validate` of the
  raw intake and `orjson.dumps` of that intake's finished document (computed beforehand).

Both are timed call by call with `time.perf_counter_ns`, interleaved per intake so that load
elsewhere on the machine hits both alike, after warm-up rounds; the garbage collector stays on,
as it is in the CLI and the web app.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from typing import Any

import orjson
from harness import AS_OF, raw_intakes, row, value_row

ADVICE_GOAL = "median ≤ 0.15 ms, p99 ≤ 0.5 ms"
RATIO_GOAL = "≤ 5x"


def _ms(fn: Callable[[int], object], k: int) -> float:
    start = time.perf_counter_ns()
    fn(k)
    return (time.perf_counter_ns() - start) / 1e6


def _workloads() -> tuple[int, Callable[[int], object], Callable[[int], object]]:
    """The number of intakes, and the advice and floor work for intake `k`."""
    from mgadvisor.intake import Intake, parse_intake
    from mgadvisor.kb import load_knowledge
    from mgadvisor.pipeline import advice_document

    kb = load_knowledge()
    raws = raw_intakes()
    intakes = [parse_intake(raw, kb) for raw in raws]

    def document(k: int) -> dict[str, Any]:
        return advice_document(intakes[k], kb, as_of=AS_OF, lang="nl")

    documents = [document(k) for k in range(len(raws))]

    def advice(k: int) -> bytes:
        return orjson.dumps(document(k))

    def floor(k: int) -> bytes:
        Intake.model_validate(raws[k])
        return orjson.dumps(documents[k])

    return len(raws), advice, floor


def measure(rounds: int, warmup: int = 5) -> list[str]:
    count, advice, floor = _workloads()
    advice_ms: list[float] = []
    floor_ms: list[float] = []
    for done in range(warmup + rounds):
        for k in range(count):
            took_advice, took_floor = _ms(advice, k), _ms(floor, k)
            if done >= warmup:
                advice_ms.append(took_advice)
                floor_ms.append(took_floor)
    ratio = statistics.median(advice_ms) / statistics.median(floor_ms)
    return [
        row(
            f"One advice + its JSON document (`advice_document` + `orjson.dumps`, "
            f"{count} intakes in turn, {rounds} rounds)",
            advice_ms,
            ADVICE_GOAL,
            digits=3,
        ),
        row(
            "Floor: `Intake.model_validate` + `orjson.dumps` of the finished document "
            "(same intakes, same rounds)",
            floor_ms,
            digits=3,
        ),
        value_row("One advice / floor (ratio of the medians)", f"{ratio:.1f}x", RATIO_GOAL),
    ]


if __name__ == "__main__":
    for line in measure(rounds=20):
        print(line)
