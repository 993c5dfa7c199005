"""`mgadvisor advise`, `interactions`, `egfr`, `convert` as a user runs them."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from mgadvisor.cli import app

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "intake-example.yaml"
runner = CliRunner()


def run(*args: str, stdin: str | None = None) -> tuple[int, str]:
    result = runner.invoke(app, list(args), input=stdin)
    return result.exit_code, result.output


def cli(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "mgadvisor", *args],
        input=stdin,
        capture_output=True,
        text=True,
        check=False,
        env={"PATH": "/usr/bin:/bin", "LANG": "C.UTF-8"},
    )


def test_advise_text_in_dutch_and_english() -> None:
    code, nl = run("--lang", "nl", "advise", str(EXAMPLE), "--as-of", "2026-11-22")
    assert code == 0
    assert "Magnesiumadvies" in nl and "Verwijs naar een arts" in nl and "Dagschema" in nl
    assert "Literatuur" in nl and "Abbasi, B." in nl
    code, en = run("--lang", "en", "advise", str(EXAMPLE), "--as-of", "2026-11-22")
    assert code == 0
    assert "Magnesium advice" in en and "Refer to a doctor" in en and "Day schedule" in en


def test_advise_json_follows_the_contract() -> None:
    from mgadvisor.render.contract import AdviceDocument

    code, out = run("advise", str(EXAMPLE), "--format", "json", "--as-of", "2026-11-22")
    assert code == 0
    data = json.loads(out)
    AdviceDocument.model_validate(data)
    keys = {r["key"] for r in data["references"]}
    for group in ("warnings", "labs", "synergy", "follow_up"):
        for item in data[group]:
            assert item["text"] and item["sources"] and set(item["sources"]) <= keys
    for hit in data["interactions"]:
        assert hit["rule"] and hit["min_gap_hours"] is not None and hit["sources"]


def test_advise_markdown_and_explain() -> None:
    code, out = run(
        "--lang",
        "en",
        "advise",
        str(EXAMPLE),
        "--format",
        "markdown",
        "--explain",
        "--as-of",
        "2026-11-22",
    )
    assert code == 0
    assert out.startswith("# Magnesium advice")
    assert "## Why: the rules that fired" in out and "kidney.magnesium_depletion_score" in out
    assert "| Time | What | Amount | Note |" in out


def test_advise_reads_standard_input_json() -> None:
    intake = {"person": {"age": 30, "sex": "male"}, "goals": ["sleep"]}
    code, out = run(
        "advise", "-", "--format", "json", "--as-of", "2026-11-22", stdin=json.dumps(intake)
    )
    assert code == 0 and json.loads(out)["compounds"][0]["code"] == "magnesium_bisglycinate"


def test_bad_intake_is_one_line_with_the_field_path(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("person: {age: 40, sex: male}\ncomplaints: [fatigue, cramp]\n", encoding="utf-8")
    proc = cli("--lang", "en", "advise", str(bad))
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in proc.stderr
    assert lines[0].startswith("Error: complaints[1]: expected a complaint code, got 'cramp'")


def test_bad_intake_in_dutch(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("person: {age: -1, sex: male}\n", encoding="utf-8")
    proc = cli("--lang", "nl", "advise", str(bad))
    assert proc.returncode == 2
    assert proc.stderr.startswith(
        "Fout: person.age: verwacht een getal van minstens 0, maar kreeg -1"
    )


@pytest.mark.parametrize(("content", "words"), [("person: [unclosed", "YAML"), ("", "person")])
def test_malformed_files(tmp_path: Path, content: str, words: str) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text(content, encoding="utf-8")
    proc = cli("--lang", "en", "advise", str(bad))
    assert (
        proc.returncode == 2 and words in proc.stderr and len(proc.stderr.strip().splitlines()) == 1
    )


def test_missing_file() -> None:
    proc = cli("--lang", "en", "advise", "/nonexistent/intake.yaml")
    assert proc.returncode == 2 and "file not found" in proc.stderr


def test_interactions_command() -> None:
    code, out = run(
        "--lang", "en", "interactions", "Ciproxin", "Nexium", "Xyzomab", "--format", "json"
    )
    assert code == 0
    rows = {r["input"]: r for r in json.loads(out)}
    assert rows["Ciproxin"]["interaction"]["medicine_first_h"] == 2
    assert rows["Ciproxin"]["interaction"]["magnesium_first_h"] == 6
    assert rows["Nexium"]["depletes_magnesium"] == "ppi"
    assert not rows["Xyzomab"]["resolved"]
    code, text = run("--lang", "nl", "interactions", "Ciproxin")
    assert "minstens 2 uur vóór of 6 uur na magnesium" in text
    # a magnesium-lowering medicine is never "no known interaction" beside "can lower magnesium"
    code, text = run("--lang", "en", "interactions", "omeprazole")
    assert "can lower magnesium" in text and "no known interaction" not in text


def test_egfr_command() -> None:
    code, out = run(
        "egfr",
        "--creatinine",
        "110",
        "--unit",
        "umol/L",
        "--age",
        "72",
        "--sex",
        "female",
        "--format",
        "json",
    )
    assert code == 0
    data = json.loads(out)
    # By hand: 110/88.4 = 1.244 mg/dL; 142 × (1.244/0.7)^-1.2 × 0.9938^72 × 1.012 = 46.1
    assert data["egfr"] == pytest.approx(46.1, abs=0.2) and data["ckd_stage"] == "G3a"


def test_convert_command() -> None:
    code, out = run("--lang", "en", "convert", "0.75", "mmol/L", "mg/dL")
    assert code == 0 and out.strip() == "0.75 mmol/L = 1.823 mg/dL"
    proc = cli("--lang", "en", "convert", "1", "mmol/L", "mg/24h")
    assert proc.returncode == 2 and "cannot convert" in proc.stderr


def test_a_binary_file_is_one_line_not_a_traceback(tmp_path: Path) -> None:
    binary = tmp_path / "food.csv"
    binary.write_bytes(b"\x7fELF\x02\x01\x01\x00" + bytes(range(128, 256)))
    proc = cli("--lang", "en", "foods", "import", "nevo", str(binary))
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1 and "not UTF-8 text" in proc.stderr


def test_an_unwritable_chart_folder_is_one_line(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x", encoding="utf-8")
    week = Path(__file__).resolve().parents[1] / "examples" / "diet-week.yaml"
    proc = cli("--lang", "nl", "diet", str(week), "--svg", str(blocker / "charts"))
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert proc.stderr.startswith("Fout: ") and len(proc.stderr.strip().splitlines()) == 1
