"""The shape of the code: layers in one direction, a language-neutral core, no clinical facts
in Python, and a rule registry whose every rule is small, documented and traced."""

from __future__ import annotations

import ast
import inspect
import re
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest
import yaml

from mgadvisor.advise import advise_intake
from mgadvisor.engine import REGISTRY, Registry
from mgadvisor.intake import parse_intake
from mgadvisor.kb import KnowledgeBase, load_knowledge
from mgadvisor.render.contract import advice_dict

SRC = Path(__file__).resolve().parents[1] / "src" / "mgadvisor"
CASES = sorted((Path(__file__).parent / "cases").glob("*.yaml"))

# Lower layers never import higher ones: knowledge → kb → contracts → engine → assess → advise
# → render → pipeline → adapters.
LAYERS: dict[str, int] = {
    "errors": 0,
    "i18n": 0,
    "units": 0,
    "chemistry": 0,
    "kb": 0,
    "intake": 1,
    "advice": 1,
    "foods": 1,
    "foods.catalog": 1,
    "engine": 2,
    "assess": 3,
    "advise": 4,
    "render": 5,
    "pipeline": 6,
    "foods.store": 6,
    "foods.importers": 6,
    "schemas": 6,
    "records": 6,  # practice records (issue 13): uses the core, the core never uses it
    "interop": 6,  # FHIR in/out, CDS Hooks (issue 14): an adapter beside cli and web
    "cli": 7,
    "web": 7,
    "_help": 7,  # the root --help, pre-rendered (part of the command line)
    "__main__": 8,
    "__init__": 8,
    "_version": 0,
}
CORE = ("engine", "assess", "advise", "advice")


def _module_name(path: Path) -> str:
    parts = path.relative_to(SRC).with_suffix("").parts
    return ".".join(p for p in parts if p != "__init__") or "__init__"


def _layer(module: str) -> int:
    """The layer of a module inside mgadvisor (longest matching prefix)."""
    best = ""
    for prefix in LAYERS:
        if (module == prefix or module.startswith(prefix + ".")) and len(prefix) > len(best):
            best = prefix
    if not best:
        raise AssertionError(f"module {module!r} has no layer in tests/test_architecture.py")
    return LAYERS[best]


def _sources() -> Iterator[tuple[str, ast.Module]]:
    for path in sorted(SRC.rglob("*.py")):
        yield _module_name(path), ast.parse(path.read_text(encoding="utf-8"))


def _imports(tree: ast.Module) -> Iterator[tuple[int, str]]:
    """Every mgadvisor module imported anywhere in the file (function-level imports too)."""
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.startswith("mgadvisor."):
                    yield node.lineno, alias.name.removeprefix("mgadvisor.")
        elif isinstance(node, ast.ImportFrom) and node.module:
            if node.module == "mgadvisor":
                for alias in node.names:
                    yield node.lineno, alias.name
            elif node.module.startswith("mgadvisor."):
                yield node.lineno, node.module.removeprefix("mgadvisor.")


def test_layers_import_only_downwards() -> None:
    upward = []
    for module, tree in _sources():
        if module == "__init__":
            continue  # the public API re-exports from every layer
        own = _layer(module)
        for line, imported in _imports(tree):
            if imported in {"__version__"}:
                continue
            if _layer(imported) > own:
                upward.append(f"{module}:{line} imports {imported}")
    assert not upward, "upward imports:\n" + "\n".join(upward)


def test_the_layer_check_can_fail() -> None:
    tree = ast.parse("from mgadvisor.render.contract import advice_dict")
    assert any(_layer(m) > _layer("assess.labs") for _, m in _imports(tree))


def test_the_core_never_sees_a_language() -> None:
    found = []
    for module, tree in _sources():
        if not module.startswith(CORE):
            continue
        for node in ast.walk(tree):
            names = []
            if isinstance(node, ast.arg):
                names.append(node.arg)
            elif isinstance(node, ast.Name):
                names.append(node.id)
            elif isinstance(node, ast.Attribute):
                names.append(node.attr)
            if any(n in ("lang", "Translator") for n in names):
                found.append(f"{module}:{getattr(node, 'lineno', '?')}")
    assert not found, f"language below render/: {found}"


# -- no clinical facts in Python ----------------------------------------------------------


def _strings(tree: ast.Module) -> Iterator[tuple[int, str]]:
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            yield node.lineno, node.value


def test_no_citation_key_in_python(kb: KnowledgeBase) -> None:
    keys = set(kb.references)
    found = [
        f"{module}:{line} {text!r}"
        for module, tree in _sources()
        for line, text in _strings(tree)
        if text in keys
    ]
    assert not found, "citation keys belong in the knowledge base:\n" + "\n".join(found)


def _kb_codes(kb: KnowledgeBase) -> set[str]:
    tables: list[Any] = [
        kb.conditions,
        kb.symptoms,
        kb.applications,
        kb.compounds,
        kb.interactions,
        kb.depleting,
        kb.risk_factors,
        kb.synergy,
    ]
    return {code for table in tables for code in table} | set(kb.messages)


# Literal code lists that are not clinical rules, with the reason.
NOT_CLINICAL = {"cli.tour": "the entries `mgadvisor tour` shows as examples"}


def test_no_clinical_code_list_in_python(kb: KnowledgeBase) -> None:
    """A literal list, tuple or set naming two or more knowledge codes is a clinical list."""
    codes = _kb_codes(kb)
    found = []
    for module, tree in _sources():
        if module in NOT_CLINICAL:
            continue
        for node in ast.walk(tree):
            if isinstance(node, ast.List | ast.Tuple | ast.Set):
                named = [
                    e.value
                    for e in node.elts
                    if isinstance(e, ast.Constant) and isinstance(e.value, str) and e.value in codes
                ]
                if len(named) >= 2:
                    found.append(f"{module}:{node.lineno} {named}")
    assert not found, "code lists belong in the knowledge base:\n" + "\n".join(found)


ACCESSORS = {
    "param": "parameters",
    "fact": "facts",
    "finding": "messages",
}
TABLES = {
    "parameters",
    "facts",
    "messages",
    "conditions",
    "symptoms",
    "applications",
    "compounds",
    "risk_factors",
    "synergy",
    "labs",
    "interactions",
    "depleting",
}


def _named_codes(tree: ast.Module) -> Iterator[tuple[int, str, str]]:
    """(line, table, code) for every knowledge code Python names literally."""
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr in ACCESSORS
            and node.args
            and isinstance(node.args[0], ast.Constant)
            and isinstance(node.args[0].value, str)
        ):
            yield node.lineno, ACCESSORS[node.func.attr], node.args[0].value
        if (
            isinstance(node, ast.Subscript)
            and isinstance(node.value, ast.Attribute)
            and node.value.attr in TABLES
            and isinstance(node.slice, ast.Constant)
            and isinstance(node.slice.value, str)
        ):
            yield node.lineno, node.value.attr, node.slice.value


def test_every_code_python_names_exists(kb: KnowledgeBase) -> None:
    missing = []
    named = 0
    for module, tree in _sources():
        for line, table, code in _named_codes(tree):
            named += 1
            entries = getattr(kb, table)
            if code not in entries:
                missing.append(f"{module}:{line} {table}[{code!r}]")
    assert named > 50  # the scan sees the rules' reads
    assert not missing, "codes not in the knowledge base:\n" + "\n".join(missing)


# -- the registry --------------------------------------------------------------------------


def test_every_rule_is_small_documented_and_declared() -> None:
    assert len(REGISTRY) >= 60
    for entry in REGISTRY:
        lines, _ = inspect.getsourcelines(entry.fn)
        assert len(lines) <= 60, f"{entry.code} is {len(lines)} lines"
        assert entry.doc, f"{entry.code} has no docstring"
        assert entry.gives, f"{entry.code} gives nothing"
        source = inspect.getsource(entry.fn)
        for name in re.findall(r'c\.value\("([a-z_]+)"\)', source):
            assert name in entry.needs, f"{entry.code} reads {name!r} without declaring it"


def test_the_registry_refuses_a_missing_input_and_a_cycle() -> None:
    registry = Registry()
    registry.rule("a", gives=("x",), needs=("y",))(lambda c: 1)
    with pytest.raises(ValueError, match="no rule gives"):
        registry.ordered()
    registry.rule("b", gives=("y",), needs=("x",))(lambda c: 1)
    with pytest.raises(ValueError, match="cycle"):
        registry.ordered()


def test_a_value_is_given_once() -> None:
    registry = Registry()
    registry.rule("a", gives=("x",))(lambda c: 1)
    registry.rule("b", gives=("x",))(lambda c: 2)
    with pytest.raises(ValueError, match="given by"):
        registry.ordered()


# -- advice from every case: traced and language-neutral ------------------------------------


def _case_advices(kb: KnowledgeBase) -> Iterator[tuple[str, Any]]:
    for path in CASES:
        spec = yaml.safe_load(path.read_text(encoding="utf-8"))
        yield path.name, advise_intake(parse_intake(spec["intake"], kb), kb, date(2026, 11, 22))


def test_each_finding_cites_what_its_rule_read(kb: KnowledgeBase) -> None:
    for name, advice in _case_advices(kb):
        traced = {key for step in advice.trace for key in step.sources}
        codes = {entry.code for entry in REGISTRY}
        assert {step.rule for step in advice.trace} <= codes
        for finding in advice.all_findings():
            assert finding.sources, f"{name}: {finding.code} has no source"
            assert set(finding.sources) <= traced, f"{name}: {finding.code} untraced"


LANGUAGE_FIELDS = {"text", "name", "mechanism", "advice", "rule", "apa", "lang", "authority_name"}


def _neutral(data: Any) -> Any:
    if isinstance(data, dict):
        return {k: _neutral(v) for k, v in data.items() if k not in LANGUAGE_FIELDS}
    if isinstance(data, list):
        return [_neutral(v) for v in data]
    return data


def test_the_same_intake_gives_the_same_advice_in_nl_and_en() -> None:
    kb = load_knowledge()
    for name, advice in _case_advices(kb):
        nl, en = advice_dict(advice, kb, "nl"), advice_dict(advice, kb, "en")
        assert _neutral(nl) == _neutral(en), name
        assert nl["lang"] == "nl" and en["lang"] == "en"
