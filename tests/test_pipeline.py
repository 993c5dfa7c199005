"""One pipeline: the CLI, the API and the pages give the same advice for the same intake, and
choose its language, date and food tables the same way."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import date
from pathlib import Path
from typing import Any

import pytest
import yaml
from fastapi.testclient import TestClient

from mgadvisor.intake import parse_intake
from mgadvisor.kb import load_knowledge
from mgadvisor.pipeline import advice_document, choose_lang
from mgadvisor.web.app import create_app

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "examples" / "intake-example.yaml"
NEVO = ROOT / "tests" / "fixtures" / "nevo" / "NEVO2025_test.csv"
AS_OF = "2026-11-22"


def example(**changes: Any) -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load(EXAMPLE.read_text(encoding="utf-8"))
    data.update(changes)
    return data


def cli(*args: str, stdin: str | None = None, data_dir: Path | None = None) -> Any:
    env = {"PATH": "/usr/bin:/bin", "LANG": "C.UTF-8", "HOME": os.environ.get("HOME", "/tmp")}
    if data_dir is not None:
        env["MGADVISOR_DATA_DIR"] = str(data_dir)
    proc = subprocess.run(
        [sys.executable, "-m", "mgadvisor", *args],
        input=stdin,
        capture_output=True,
        text=True,
        check=False,
        env=env,
    )
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


@pytest.fixture(scope="module")
def api() -> TestClient:
    return TestClient(create_app())


def _without_volatile(document: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in document.items() if k != "intake_json"}


def test_cli_api_and_library_give_the_same_document(api: TestClient) -> None:
    kb = load_knowledge()
    library = advice_document(
        parse_intake(example(), kb), kb, as_of=date.fromisoformat(AS_OF), lang="en"
    )
    from_cli = cli("--lang", "en", "advise", str(EXAMPLE), "--format", "json", "--as-of", AS_OF)
    from_api = api.post(f"/api/v1/advice?lang=en&as_of={AS_OF}", json=example()).json()
    assert from_cli == library
    assert from_api == library


def test_the_intakes_language_is_used_unless_one_is_chosen(api: TestClient) -> None:
    english = example(preferences={"lang": "en"})
    assert api.post(f"/api/v1/advice?as_of={AS_OF}", json=english).json()["lang"] == "en"
    assert api.post(f"/api/v1/advice?lang=nl&as_of={AS_OF}", json=english).json()["lang"] == "nl"
    assert api.post(f"/api/v1/advice?as_of={AS_OF}", json=example()).json()["lang"] == "nl"
    from_cli = cli("advise", "-", "--format", "json", "--as-of", AS_OF, stdin=json.dumps(english))
    assert from_cli["lang"] == "en"
    assert choose_lang(None, None, default="en") == "en"


def test_the_handout_speaks_the_intakes_language_when_none_was_chosen() -> None:
    client = TestClient(create_app())
    client.get("/", headers={"accept-language": "nl"})
    token = client.cookies.get("mg_csrf")
    intake = json.dumps(example(preferences={"lang": "en"}))
    page = client.post(
        "/handout",
        data={"csrf_token": token, "intake_json": intake, "as_of": AS_OF},
        headers={"accept-language": "nl"},
    )
    assert page.status_code == 200 and '<html lang="en">' in page.text
    chosen = client.post(
        "/handout?lang=nl",
        data={"csrf_token": token, "intake_json": intake, "as_of": AS_OF},
    )
    assert '<html lang="nl">' in chosen.text


def test_the_date_of_the_advice_is_passed_through(api: TestClient) -> None:
    assert api.post("/api/v1/advice?as_of=2001-02-03", json=example()).json()["as_of"] == (
        "2001-02-03"
    )
    assert cli("advise", str(EXAMPLE), "--format", "json", "--as-of", "2001-02-03")["as_of"] == (
        "2001-02-03"
    )


def test_imported_food_tables_count_in_the_cli_and_the_api(tmp_path: Path) -> None:
    env = {"PATH": "/usr/bin:/bin", "LANG": "C.UTF-8", "MGADVISOR_DATA_DIR": str(tmp_path)}
    subprocess.run(
        [sys.executable, "-m", "mgadvisor", "foods", "import", "nevo", str(NEVO)],
        check=True,
        capture_output=True,
        env={**env, "HOME": os.environ.get("HOME", "/tmp")},
    )
    intake = {
        "person": {"age": 40, "sex": "female"},
        "diet": {"diary": [{"entries": [{"food": "Testnoten ongezouten", "grams": 100}]}]},
    }
    from_cli = cli(
        "advise",
        "-",
        "--format",
        "json",
        "--as-of",
        AS_OF,
        stdin=json.dumps(intake),
        data_dir=tmp_path,
    )
    food = cli("foods", "search", "Testnoten", "--format", "json", data_dir=tmp_path)[0]
    assert food["code"].startswith("nevo_")
    assert from_cli["diet"]["unresolved"] == []
    assert from_cli["diet"]["magnesium_mg_per_day"] == pytest.approx(food["mg_per_100g"], abs=0.1)
    old = os.environ.get("MGADVISOR_DATA_DIR")
    os.environ["MGADVISOR_DATA_DIR"] = str(tmp_path)
    try:
        from_api = TestClient(create_app()).post(f"/api/v1/advice?as_of={AS_OF}", json=intake)
    finally:
        if old is None:
            del os.environ["MGADVISOR_DATA_DIR"]
        else:
            os.environ["MGADVISOR_DATA_DIR"] = old
    assert _without_volatile(from_api.json()) == _without_volatile(from_cli)


def test_the_intake_form_takes_the_date_of_the_advice() -> None:
    client = TestClient(create_app())
    client.get("/?lang=en")
    fields = {"csrf_token": client.cookies.get("mg_csrf"), "person.age": "40", "person.sex": "male"}
    page = client.post("/advice?lang=en", data={**fields, "as_of": "2001-02-03"})
    assert page.status_code == 200 and "2001-02-03" in page.text
    assert 'name="as_of" value="2001-02-03"' in page.text  # carried to the handout and PDF
    bad = client.post("/advice?lang=en", data={**fields, "as_of": "3 Feb"})
    assert bad.status_code == 422 and "YYYY-MM-DD" in bad.text and 'value="3 Feb"' in bad.text
    live = client.post("/partials/advice?lang=en", data={**fields, "as_of": "3 Feb"})
    assert live.status_code == 200 and "YYYY-MM-DD" in live.text
