"""`mgadvisor fhir intake|advise` and `mgadvisor advise --format fhir` as a user runs them: the
intake on stdout, what was not used on stderr (translated), exit 2 for a file that is not FHIR."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from fhir.resources.R4B import get_fhir_model_class

from test_fhir_out import assert_valid, schema_errors

ROOT = Path(__file__).resolve().parents[1]
DONE_WHEN = ROOT / "examples" / "fhir" / "patient-72-omeprazole-furosemide.json"


def cli(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    """The entry point in a real process (exit codes and stderr as a user sees them)."""
    return subprocess.run(
        [sys.executable, "-m", "mgadvisor", *args],
        capture_output=True,
        text=True,
        check=False,
        input=stdin,
        env={"PATH": "/usr/bin:/bin", "LANG": "C.UTF-8"},
    )


def test_the_done_when_bundle_through_fhir_intake_and_advise_format_fhir() -> None:
    intake = cli("fhir", "intake", str(DONE_WHEN), "--as-of", "2026-12-01")
    assert intake.returncode == 0, intake.stderr
    assert intake.stderr == ""
    data = json.loads(intake.stdout)
    assert data["person"] == {"age": 72, "sex": "female"}
    assert data["labs"][0]["value"] == 0.62
    advice = cli(
        "--lang",
        "en",
        "advise",
        "-",
        "--format",
        "fhir",
        "--as-of",
        "2026-12-01",
        stdin=intake.stdout,
    )
    assert advice.returncode == 0, advice.stderr
    bundle = json.loads(advice.stdout)
    assert_valid(bundle)
    kinds = [e["resource"]["resourceType"] for e in bundle["entry"]]
    assert kinds[0] == "Patient" and "MedicationRequest" in kinds and "CarePlan" in kinds


def test_fhir_advise_refers_to_the_patient_and_the_resources_used() -> None:
    done = cli("--lang", "nl", "fhir", "advise", str(DONE_WHEN), "--as-of", "2026-12-01")
    assert done.returncode == 0, done.stderr
    bundle = json.loads(done.stdout)
    assert_valid(bundle)
    source = json.loads(DONE_WHEN.read_text(encoding="utf-8"))
    urls = {e["fullUrl"]: e["resource"]["resourceType"] for e in source["entry"]}
    risk = next(
        e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] == "RiskAssessment"
    )
    assert urls[risk["subject"]["reference"]] == "Patient"
    assert sorted(urls[b["reference"]] for b in risk["basis"]) == [
        "MedicationRequest",
        "MedicationStatement",
        "Observation",
    ]
    assert risk["code"]["text"] == "Risico op magnesiumtekort"


def test_the_output_file_and_the_unmapped_report_in_dutch(tmp_path: Path) -> None:
    source = json.loads(DONE_WHEN.read_text(encoding="utf-8"))
    source["entry"][1]["resource"]["status"] = "preliminary"
    source["entry"].append(
        {
            "resource": {
                "resourceType": "AllergyIntolerance",
                "id": "al1",
                "patient": {"reference": "Patient/example-72"},
            }
        }
    )
    bundle = tmp_path / "bundle.json"
    bundle.write_text(json.dumps(source), encoding="utf-8")
    out = tmp_path / "intake.json"
    done = cli(
        "--lang", "nl", "fhir", "intake", str(bundle), "-o", str(out), "--as-of", "2026-12-01"
    )
    assert done.returncode == 0  # unmapped parts never stop the command
    assert done.stdout == ""
    lines = done.stderr.splitlines()
    assert lines == [
        "Niet gebruikt: AllergyIntolerance al1 (AllergyIntolerance): mgadvisor leest dit soort "
        "resource niet",
        "Niet gebruikt: Observation serum-mg (Observation.status, 2601-3): de uitslag is niet "
        "definitief [preliminary]",
    ]
    assert "labs" not in json.loads(out.read_text(encoding="utf-8"))


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        ("{not json", "expected FHIR JSON (a Bundle, a list of resources or a CDS Hooks prefetch"),
        ("", "expected FHIR JSON"),
        ("[1, 2]", "resources[0]: expected a FHIR Bundle, a list of FHIR resources or a CDS"),
        (
            '{"resourceType": "Bundle", "entry": [{"resource": 5}]}',
            "resources.entry[0].resource: expected a FHIR resource",
        ),
        ('{"resourceType": "Bundle", "entry": []}', "Patient: expected a Patient resource"),
        ('{"resourceType": "Patient", "gender": "female"}', "Patient.birthDate: expected"),
    ],
)
def test_a_file_that_is_not_usable_fhir_is_one_line_and_exit_2(
    tmp_path: Path, content: str, expected: str
) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text(content, encoding="utf-8")
    done = cli("--lang", "en", "fhir", "intake", str(bad))
    assert done.returncode == 2
    assert done.stdout == ""
    assert len(done.stderr.strip().splitlines()) == 1
    assert expected in done.stderr
    assert "Traceback" not in done.stderr


def test_a_missing_file_is_exit_2() -> None:
    done = cli("--lang", "en", "fhir", "intake", "/nonexistent/bundle.json")
    assert done.returncode == 2
    assert "file not found" in done.stderr


def test_a_prefetch_map_on_standard_input() -> None:
    prefetch: dict[str, Any] = {
        "patient": {
            "resourceType": "Patient",
            "id": "1",
            "gender": "male",
            "birthDate": "2016-05-01",
        },
        "conditions": None,
    }
    done = cli("fhir", "intake", "-", "--as-of", "2026-12-01", stdin=json.dumps(prefetch))
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == {"person": {"age": 10, "sex": "male"}}


def test_the_example_bundle_is_valid_fhir() -> None:
    data = json.loads(DONE_WHEN.read_text(encoding="utf-8"))
    get_fhir_model_class("Bundle").model_validate(data)
    assert not schema_errors(data)
    for entry in data["entry"]:
        assert not schema_errors(entry["resource"])
