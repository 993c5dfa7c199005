"""Open-source hygiene: the licence, the list of third-party files, the pre-commit hooks."""

from __future__ import annotations

import tomllib
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
LICENCES = ROOT / "docs" / "licences.md"


def test_the_licence_file_is_the_licence_pyproject_names() -> None:
    text = (ROOT / "LICENSE").read_text(encoding="utf-8")
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    assert project["license"] == "MIT"
    assert text.startswith("MIT License")
    assert "mgadvisor contributors" in text
    assert "mgadvisor contributors" in {a["name"] for a in project["authors"]}


def _listed() -> str:
    return LICENCES.read_text(encoding="utf-8")


def test_every_bundled_static_file_and_fixture_has_its_licence_listed() -> None:
    listed = _listed()
    static = ROOT / "src" / "mgadvisor" / "web" / "static"
    fixtures = ROOT / "tests" / "fixtures"
    files = [p for p in static.iterdir() if p.is_file()]
    files += [p for p in fixtures.rglob("*") if p.is_file() and p.name != "README.md"]
    missing = []
    for path in files:
        # A folder of synthetic fixtures may be listed as one glob (`tests/fixtures/nevo/*.csv`).
        glob = f"{path.parent.relative_to(ROOT).as_posix()}/*{path.suffix}"
        if path.name not in listed and glob not in listed:
            missing.append(path.relative_to(ROOT).as_posix())
    assert not missing, f"add to docs/licences.md: {missing}"


def test_every_data_source_of_the_knowledge_base_has_its_terms_listed() -> None:
    from mgadvisor.kb import load_knowledge

    kb = load_knowledge()
    sources = {food.source for food in kb.foods.values()}
    sources |= {portion.source for portion in kb.portions.values()}
    sources |= {row.source for row in kb.medicines}
    listed = _listed()
    assert not [key for key in sorted(sources) if key not in listed]


def test_pre_commit_runs_what_make_lint_and_typecheck_run() -> None:
    config = yaml.safe_load((ROOT / ".pre-commit-config.yaml").read_text(encoding="utf-8"))
    (repo,) = config["repos"]
    assert repo["repo"] == "local"  # no download at commit time
    entries = {hook["entry"] for hook in repo["hooks"]}
    assert all(hook["language"] == "system" for hook in repo["hooks"])
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    for entry in entries:
        assert entry.replace(".venv/bin/", "$(BIN)/") in makefile, entry
    assert {e.split()[0].rsplit("/", 1)[1] for e in entries} == {"ruff", "mypy"}


def test_warnings_fail_the_tests() -> None:
    options = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["tool"]
    assert options["pytest"]["ini_options"]["filterwarnings"] == ["error"]


def _marked_slow(path: Path, name: str) -> bool:
    import ast

    tree = ast.parse(path.read_text(encoding="utf-8"))
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef) and node.name == name:
            return any(ast.unparse(d) == "pytest.mark.slow" for d in node.decorator_list)
    raise AssertionError(f"{name} not found in {path.name}")


def test_the_ten_second_load_test_is_marked_slow() -> None:
    # The load with slow clients runs about 10 s by design (3 s of load, then slow clients past
    # the header timeout); `pytest -m "not slow"` leaves it out of a quick run.
    gate = ROOT / "tests" / "test_web_gate.py"
    assert _marked_slow(gate, "test_load_with_slow_clients_health_keeps_answering")
