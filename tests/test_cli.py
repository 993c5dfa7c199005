"""The command line as a user meets it: output in both languages, one-line errors, exit codes."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from mgadvisor.cli import app
from mgadvisor.kb import KNOWLEDGE_DIR, KnowledgeBase
from mgadvisor.kb.views import compound_composition

runner = CliRunner()


def run(*args: str) -> tuple[int, str]:
    result = runner.invoke(app, list(args))
    return result.exit_code, result.output


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    """The installed entry point in a real process (exit codes and stderr as a user sees them)."""
    return subprocess.run(
        [sys.executable, "-m", "mgadvisor", *args],
        capture_output=True,
        text=True,
        check=False,
        env={"PATH": "/usr/bin:/bin", "LANG": "C.UTF-8"},
    )


def test_version() -> None:
    from mgadvisor import __version__

    code, out = run("--version")
    assert code == 0 and out.strip() == f"mgadvisor {__version__}"


def test_elemental_citrate_in_english(kb: KnowledgeBase) -> None:
    code, out = run("--lang", "en", "elemental", "magnesium citrate", "500", "--format", "json")
    assert code == 0
    data = json.loads(out)
    expected = 500 * compound_composition(kb.compounds["magnesium_citrate"]).mg_fraction
    assert data["compound"] == "magnesium_citrate"
    assert data["elemental_mg"] == pytest.approx(expected, abs=0.05)
    assert data["elemental_mg"] == pytest.approx(80.8, abs=0.1)  # 16.16 % of 500 mg
    assert data["elemental_mmol"] == pytest.approx(80.82 / 24.305, abs=0.006)


@pytest.mark.parametrize("name", ["magnesiumcitraat", "Mg-citraat", "MAGNESIUM CITRATE", "citrate"])
def test_elemental_accepts_dutch_and_english_spellings(name: str) -> None:
    code, out = run("elemental", name, "500", "--format", "json")
    assert code == 0, out
    assert json.loads(out)["compound"] == "magnesium_citrate"


@pytest.mark.parametrize(
    "name", ["Mg-bisglycinaat", "magnesiumbisglycinaat", "magnesium glycinate"]
)
def test_elemental_bisglycinate_spellings(name: str) -> None:
    code, out = run("elemental", name, "100", "--format", "json")
    assert code == 0, out
    assert json.loads(out)["compound"] == "magnesium_bisglycinate"


def test_elemental_text_output_in_dutch() -> None:
    code, out = run("--lang", "nl", "elemental", "magnesiumoxide", "400")
    assert code == 0
    assert "elementair magnesium" in out and "241,2 mg" in out  # decimal comma in Dutch


def test_unknown_compound_is_one_line_with_a_suggestion() -> None:
    proc = cli("--lang", "en", "elemental", "magnesium citrat", "500")
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    assert lines[0].startswith("Error: unknown compound 'magnesium citrat'.")
    assert "Did you mean 'magnesium citrate'" in lines[0]
    assert "Traceback" not in proc.stderr


def test_negative_mass_is_rejected_in_dutch() -> None:
    proc = cli("--lang", "nl", "elemental", "citraat", "-5")
    assert proc.returncode == 2
    assert proc.stderr.startswith("Fout: ")
    assert "-5" in proc.stderr and len(proc.stderr.strip().splitlines()) == 1


def test_non_numeric_mass_is_rejected() -> None:
    proc = cli("--lang", "en", "elemental", "citrate", "lots")
    assert proc.returncode == 2 and "got lots" in proc.stderr


def test_unknown_option_is_one_line_exit_2() -> None:
    proc = cli("--lang", "en", "compounds", "--formt", "json")
    assert proc.returncode == 2
    assert len(proc.stderr.strip().splitlines()) == 1
    assert "--format" in proc.stderr


def test_bad_language_is_refused() -> None:
    proc = cli("--lang", "fr", "compounds")
    assert proc.returncode == 2 and "fr" in proc.stderr


def test_kb_check_reports_counts(kb: KnowledgeBase) -> None:
    code, out = run("--lang", "en", "kb", "check")
    assert code == 0
    assert "is valid" in out
    assert str(len(kb.references)) in out


def test_kb_check_lists_every_problem_and_exits_1(tmp_path: Path) -> None:
    import shutil

    folder = tmp_path / "kb"
    shutil.copytree(KNOWLEDGE_DIR, folder)
    (folder / "synergy.yaml").unlink()
    facts = folder / "facts.yaml"
    facts.write_text(
        facts.read_text(encoding="utf-8")
        + "\n- {code: x.y, topic: t, nl: a, en: b, sources: [nobody1999]}\n",
        encoding="utf-8",
    )
    proc = cli("--lang", "en", "kb", "check", "--path", str(folder))
    assert proc.returncode == 1
    assert "synergy.yaml" in proc.stderr and "nobody1999" in proc.stderr
    assert "2 problem(s)" in proc.stderr


def test_kb_info_json(kb: KnowledgeBase) -> None:
    code, out = run("kb", "info", "--format", "json")
    assert code == 0
    data = json.loads(out)
    assert data["version"] == kb.version and data["content_hash"] == kb.content_hash
    assert sum(data["references_by_study_type"].values()) == len(kb.references)


def test_kb_show_compound_has_computed_percentage_and_references() -> None:
    code, out = run("--lang", "en", "kb", "show", "magnesium_oxide")
    assert code == 0
    assert "60.30 % Mg" in out
    assert "References" in out and "Blancquaert" in out


def test_kb_show_unknown_code_suggests() -> None:
    proc = cli("--lang", "en", "kb", "show", "magnesium_oxyde")
    assert proc.returncode == 2 and "magnesium_oxide" in proc.stderr


def test_kb_show_in_dutch_uses_dutch_texts(kb: KnowledgeBase) -> None:
    code, out = run("--lang", "nl", "kb", "show", "sleep")
    assert code == 0
    assert kb.applications["sleep"].name.nl in out
    assert "Bewijs" in out


def test_kb_search_finds_sleep_in_both_languages() -> None:
    for lang, word in (("nl", "slapeloosheid"), ("en", "insomnia")):
        code, out = run("--lang", lang, "kb", "search", word, "--format", "json")
        assert code == 0
        codes = [hit["code"] for hit in json.loads(out)][:5]
        assert "sleep" in codes, (word, codes)


def test_kb_search_nothing_found_exits_1() -> None:
    code, out = run("--lang", "en", "kb", "search", "xyzzyqq")
    assert code == 1 and "Nothing found" in out


def test_compounds_json_lists_every_compound(kb: KnowledgeBase) -> None:
    code, out = run("compounds", "--format", "json")
    assert code == 0
    rows = json.loads(out)
    assert {r["code"] for r in rows} == set(kb.compounds)
    oxide = next(r for r in rows if r["code"] == "magnesium_oxide")
    assert oxide["elemental_mg_percent"] == pytest.approx(60.3, abs=0.01)


def test_refs_one_key_in_apa() -> None:
    code, out = run("refs", "jee2002")
    assert code == 0
    assert out.startswith("[jee2002] Jee, S. H.") and "(2002)" in out


def test_refs_unknown_key() -> None:
    proc = cli("--lang", "en", "refs", "jee2020")
    assert proc.returncode == 2 and "jee2002" in proc.stderr


def test_tour_runs_in_both_languages() -> None:
    for lang, word in (("nl", "Verbindingen"), ("en", "Compounds")):
        code, out = run("--lang", lang, "tour")
        assert code == 0, out
        assert word in out and "[" in out


def test_lang_follows_environment() -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "mgadvisor", "elemental", "citrate", "x"],
        capture_output=True,
        text=True,
        check=False,
        env={"PATH": "/usr/bin:/bin", "LANG": "en_GB.UTF-8"},
    )
    assert proc.stderr.startswith("Error: ")
