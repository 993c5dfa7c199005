"""`mgadvisor batch`: JSON Lines in, one advice document (or error record) per line out."""

from __future__ import annotations

import io
import os
import re
import subprocess
import sys
from collections import Counter
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import orjson
import pytest
import yaml
from typer.testing import CliRunner

from mgadvisor.cli import app
from mgadvisor.cli.batch_commands import (
    MAX_PROBLEMS,
    Chunk,
    ChunkResult,
    Settings,
    read_chunks,
    run_parallel,
)
from mgadvisor.intake import parse_intake
from mgadvisor.kb import KnowledgeBase
from mgadvisor.pipeline import advice_document

ROOT = Path(__file__).resolve().parents[1]
AS_OF = "2026-11-22"
runner = CliRunner()


def case_intakes() -> list[dict[str, Any]]:
    """Every intake of tests/cases plus the example: 52 different clients."""
    found = [
        yaml.safe_load(path.read_text(encoding="utf-8"))["intake"]
        for path in sorted((ROOT / "tests" / "cases").glob("*.yaml"))
    ]
    example = ROOT / "examples" / "intake-example.yaml"
    return [*found, yaml.safe_load(example.read_text(encoding="utf-8"))]


INTAKES = case_intakes()


def jsonl(items: list[Any], count: int) -> bytes:
    """`count` lines cycling through `items` (each dumped as JSON unless already bytes)."""
    lines = [items[i % len(items)] for i in range(count)]
    return b"".join((x if isinstance(x, bytes) else orjson.dumps(x)) + b"\n" for x in lines)


def expected(kb: KnowledgeBase, intake: dict[str, Any], lang: str | None = None) -> Any:
    document = advice_document(
        parse_intake(intake, kb), kb, as_of=date.fromisoformat(AS_OF), lang=lang
    )
    return orjson.loads(orjson.dumps(document))


def cli(*args: str, stdin: bytes | None = None) -> subprocess.CompletedProcess[bytes]:
    """The installed command as a user runs it, in an environment whose language is Dutch."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LC_", "LANG", "MGADVISOR"))}
    return subprocess.run(
        [sys.executable, "-m", "mgadvisor", *args],
        input=stdin,
        capture_output=True,
        check=False,
        env={**env, "LANG": "C.UTF-8"},
    )


def invoke(*args: str, stdin: bytes) -> tuple[int, list[Any], str]:
    """In-process run from stdin to stdout: (exit code, output records, stderr)."""
    result = runner.invoke(app, list(args), input=stdin, env={"MGADVISOR_LANG": "nl"})
    lines = result.stdout_bytes.splitlines()
    return result.exit_code, [orjson.loads(line) for line in lines], result.stderr


@pytest.mark.slow
def test_order_is_kept_and_jobs_2_equals_jobs_1(tmp_path: Path, kb: KnowledgeBase) -> None:
    source = tmp_path / "intakes.jsonl"
    source.write_bytes(jsonl(INTAKES, 64))
    outputs = {}
    for jobs in ("1", "2"):
        target = tmp_path / f"advices-{jobs}.jsonl"
        proc = cli("batch", str(source), "-o", str(target), "--jobs", jobs, "--as-of", AS_OF)
        assert proc.returncode == 0, proc.stderr
        outputs[jobs] = target.read_bytes()
    assert outputs["2"] == outputs["1"]
    documents = [orjson.loads(line) for line in outputs["1"].splitlines()]
    assert len(documents) == 64
    wanted = {i: expected(kb, intake) for i, intake in enumerate(INTAKES)}
    for number, document in enumerate(documents):
        assert document == wanted[number % len(INTAKES)], f"line {number + 1}"


def test_workers_keep_the_order_over_many_chunks_with_bounded_work_in_flight(
    kb: KnowledgeBase,
) -> None:
    settings = Settings(date.fromisoformat(AS_OF), "en", "nl", "en")
    read = written = most_in_flight = 0
    results: list[bytes] = []

    def chunks() -> Iterator[Chunk]:
        nonlocal read, most_in_flight
        for chunk in read_chunks(io.BytesIO(jsonl(INTAKES, 70)), lines=3):
            read += 1
            most_in_flight = max(most_in_flight, read - written)
            yield chunk

    def sink(chunk: Chunk, result: ChunkResult) -> None:
        nonlocal written
        written += 1
        results.extend(result.lines)

    run_parallel(chunks(), settings, 2, sink)
    assert read == written == 24
    assert most_in_flight <= 2 * 2 + 1  # the pool's 2×jobs chunks, and the one just read
    wanted = [expected(kb, INTAKES[i % len(INTAKES)], "en") for i in range(70)]
    assert [orjson.loads(line) for line in results] == wanted


def test_bad_lines_become_error_records_and_the_run_goes_on() -> None:
    bad_age = {"person": {"age": -1, "sex": "female"}}
    stdin = jsonl(INTAKES[:2], 2) + b"\n" + b"{not json\n" + orjson.dumps(bad_age) + b"\n"
    stdin += b"[1, 2]\n" + jsonl(INTAKES[2:4], 2)
    code, records, err = invoke(
        "--lang", "en", "batch", "-", "-o", "-", "--as-of", AS_OF, stdin=stdin
    )
    assert code == 1
    assert len(records) == 7  # the blank line 3 gives no record but counts for the numbers
    assert [r.get("line") for r in records] == [None, None, 4, 5, 6, None, None]
    assert all(r["as_of"] == AS_OF for r in records if "line" not in r)
    json_error, intake_error, list_error = (r["error"] for r in records[2:5])
    assert "not valid JSON" in json_error["summary"]
    assert intake_error["summary"] == "invalid intake"
    assert intake_error["problems"][0]["loc"] == "person.age"
    assert intake_error["problems"][0]["msg"].startswith("person.age: expected a number")
    assert list_error["problems"][0]["loc"] == "intake"
    assert "Errors on line(s): 4, 5, 6" in err


def test_error_records_are_translated_and_bounded() -> None:
    many = {"person": {"age": 40, "sex": "male"}, "complaints": [f"x{i}" for i in range(30)]}
    code, records, err = invoke(
        "--lang", "nl", "batch", "-", "-o", "-", "--as-of", AS_OF, stdin=orjson.dumps(many)
    )
    error = records[0]["error"]
    assert code == 1 and error["summary"] == "ongeldige intake"
    assert len(error["problems"]) == MAX_PROBLEMS and error["more_problems"] == 30 - MAX_PROBLEMS
    assert error["problems"][0]["loc"] == "complaints[0]"
    assert "verwacht" in error["problems"][0]["msg"]
    assert "1 intake(s): 0 advies/adviezen geschreven, 1 fout(en)." in err


def test_an_unexpected_failure_is_one_lines_error(monkeypatch: pytest.MonkeyPatch) -> None:
    import mgadvisor.pipeline

    real = mgadvisor.pipeline.advice_document

    def flaky(intake: Any, *args: Any, **kwargs: Any) -> Any:
        if intake.person.age == 34:
            raise RuntimeError("boom " + "x" * 5000)
        return real(intake, *args, **kwargs)

    monkeypatch.setattr(mgadvisor.pipeline, "advice_document", flaky)
    young = {"person": {"age": 34, "sex": "female"}}
    stdin = jsonl([INTAKES[0], young, INTAKES[0]], 3) + b"x" * (1024 * 1024 + 10) + b"\n"
    code, records, _ = invoke(
        "--lang", "en", "batch", "-", "-o", "-", "--as-of", AS_OF, stdin=stdin
    )
    assert code == 1 and "risk" in records[0] and "risk" in records[2]
    assert records[1]["line"] == 2 and records[1]["error"]["summary"] == "internal error"
    assert len(records[1]["error"]["problems"][0]["msg"]) <= 500
    assert records[3] == {
        "line": 4,
        "error": {"summary": "line longer than 1048576 bytes", "problems": []},
    }


def test_summary_counts_follow_the_documents(tmp_path: Path) -> None:
    source = tmp_path / "intakes.jsonl"
    source.write_bytes(jsonl(INTAKES, 60))
    target = tmp_path / "out.jsonl"
    code, _, err = invoke(
        "--lang", "en", "batch", str(source), "-o", str(target), "--as-of", AS_OF, stdin=b""
    )
    assert code == 0
    documents = [orjson.loads(line) for line in target.read_bytes().splitlines()]
    levels = Counter(d["risk"]["level"] for d in documents)
    referrals = sum(d["referral"]["needed"] for d in documents)
    assert "60 intake(s): 60 advice(s) written, 0 error(s)." in err
    summary = re.search(r"Risk low (\d+), moderate (\d+), high (\d+); referral needed: (\d+)", err)
    assert summary is not None
    assert [int(n) for n in summary.groups()] == [
        levels["low"],
        levels["moderate"],
        levels["high"],
        referrals,
    ]
    assert "Errors" not in err


def test_language_explicit_then_the_intakes_preference_then_the_environment() -> None:
    english = {**INTAKES[-1], "preferences": {"lang": "en"}}
    stdin = jsonl([INTAKES[-1], english], 2)
    _, records, _ = invoke("batch", "-", "-o", "-", "--as-of", AS_OF, stdin=stdin)
    assert [r["lang"] for r in records] == ["nl", "en"]
    assert "arts" in records[0]["referral"]["reasons"][0]["text"]
    assert "doctor" in records[1]["referral"]["reasons"][0]["text"]
    for args in (["batch", "--lang", "en"], ["--lang", "en", "batch"]):
        _, records, err = invoke(*args, "-", "-o", "-", "--as-of", AS_OF, stdin=stdin)
        assert [r["lang"] for r in records] == ["en", "en"] and "advice(s) written" in err
    _, records, _ = invoke("batch", "--lang", "nl", "-", "-o", "-", "--as-of", AS_OF, stdin=stdin)
    assert [r["lang"] for r in records] == ["nl", "nl"]


@pytest.mark.slow
def test_unreadable_input_is_one_line_and_exit_2(tmp_path: Path) -> None:
    target = tmp_path / "out.jsonl"
    for source in (tmp_path / "missing.jsonl", tmp_path):
        proc = cli("--lang", "en", "batch", str(source), "-o", str(target))
        lines = proc.stderr.decode().strip().splitlines()
        assert proc.returncode == 2 and len(lines) == 1 and lines[0].startswith("Error: ")
        assert not target.exists()
    proc = cli("--lang", "en", "batch", "-", "-o", "-", "--jobs", "0")
    assert proc.returncode == 2 and len(proc.stderr.decode().strip().splitlines()) == 1


def test_help_names_the_exit_codes() -> None:
    result = runner.invoke(app, ["batch", "--help"])
    assert result.exit_code == 0
    assert "Exit code 0" in result.output and "--jobs" in result.output


def test_the_example_file_gives_one_advice_per_line() -> None:
    example = ROOT / "examples" / "intakes.jsonl"
    code, records, _ = invoke("batch", str(example), "-o", "-", "--as-of", AS_OF, stdin=b"")
    assert code == 0 and len(records) == len(example.read_bytes().splitlines())
    assert all("risk" in r and r["as_of"] == AS_OF for r in records)
    assert sorted({r["lang"] for r in records}) == ["en", "nl"]
