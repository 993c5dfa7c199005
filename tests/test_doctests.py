"""The examples in the docstrings run: every module of the package that has one (`>>>`) is here.

Found by reading the sources, so a new example is tested without registering it; a module whose
docstrings have examples but that doctest cannot parse fails too.
"""

from __future__ import annotations

import doctest
import importlib
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "src" / "mgadvisor"

# Modules of the engine under rewrite whose example is wrong; drop the entry once it is fixed there
# (the strict xfail then fails to remind you).
KNOWN_WRONG: dict[str, str] = {}


def modules_with_examples() -> list[str]:
    names = []
    for path in sorted(PACKAGE.rglob("*.py")):
        if ">>>" in path.read_text(encoding="utf-8"):
            parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
            names.append(".".join(parts[:-1] if parts[-1] == "__init__" else parts))
    return names


MODULES = modules_with_examples()


def test_the_public_modules_have_examples() -> None:
    assert {"mgadvisor", "mgadvisor.pipeline", "mgadvisor.i18n", "mgadvisor.chemistry"} <= set(
        MODULES
    )


@pytest.mark.parametrize(
    "name",
    [
        pytest.param(name, marks=pytest.mark.xfail(strict=True, reason=KNOWN_WRONG[name]))
        if name in KNOWN_WRONG
        else name
        for name in MODULES
    ],
)
def test_docstring_examples(name: str) -> None:
    module = importlib.import_module(name)
    finder = doctest.DocTestFinder()
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS)
    report: list[str] = []
    tests = [test for test in finder.find(module) if test.examples]
    assert tests, f"{name}: '>>>' in the source, but no example doctest can find"
    for test in tests:
        runner.run(test, out=report.append)
    result = runner.summarize(verbose=False)
    assert result.failed == 0, "".join(report)
