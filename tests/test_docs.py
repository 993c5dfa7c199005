"""Every CLI command has help text and an entry in docs/cli.md; the README keeps its promises."""

from __future__ import annotations

from pathlib import Path

from typer.main import get_command

from mgadvisor.cli import app

ROOT = Path(__file__).resolve().parents[1]


def commands() -> dict[str, str]:
    """Every leaf command by its full path ("foods import nevo"), with its help text."""
    found: dict[str, str] = {}

    def walk(prefix: str, command: object) -> None:
        sub = getattr(command, "commands", None)
        if sub:
            for name, child in sub.items():
                walk(f"{prefix} {name}".strip(), child)
        else:
            found[prefix] = getattr(command, "help", None) or ""

    walk("", get_command(app))
    return found


def test_every_command_has_help_and_docs() -> None:
    docs = (ROOT / "docs" / "cli.md").read_text(encoding="utf-8")
    found = commands()
    assert len(found) >= 12
    for name, help_text in found.items():
        assert help_text.strip(), f"{name} has no help"
        assert f"`{name}`" in docs, f"{name} is missing from docs/cli.md"


def test_readme_starts_with_the_two_commands() -> None:
    head = (ROOT / "README.md").read_text(encoding="utf-8").split("\n## ")[0]
    assert "make run" in head and "make test" in head
