"""`mgadvisor --help` from a pre-rendered text, without importing Typer and Click.

Typer, Click and reading every command's signature cost some 60 ms at each start, most of the
root help's time. The root help is plain text that changes only with the commands, so it is
rendered ahead of time (``make help-text``, ``cli/help.nl.txt`` and ``cli/help.en.txt``) and
printed as is when the command line is exactly ``--help`` and the terminal is at least 80
columns wide (Click then renders at its maximum width, so the text does not depend on the
terminal). Anything else goes through Typer. A test keeps the files equal to Typer's output.
"""

from __future__ import annotations

import os
import sys

HELP_DIR = os.path.join(os.path.dirname(__file__), "cli")
MIN_COLUMNS = 80  # Click's maximum help width: from here on the text is the same


def help_file(lang: str) -> str:
    return os.path.join(HELP_DIR, f"help.{lang}.txt")


def _columns() -> int:
    """The terminal's width as Click sees it (shutil.get_terminal_size, without importing it)."""
    try:
        columns = int(os.environ.get("COLUMNS", "0"))
    except ValueError:
        columns = 0
    if columns <= 0:
        try:
            columns = os.get_terminal_size(sys.__stdout__.fileno()).columns  # type: ignore[union-attr]
        except (AttributeError, ValueError, OSError):
            columns = 0
    return columns or 80


def quick_help(argv: list[str]) -> bool:
    """Print the pre-rendered root help when that is what was asked; True if it was printed."""
    if argv != ["--help"] or _columns() < MIN_COLUMNS:
        return False
    from mgadvisor.i18n import detect_lang

    try:
        with open(help_file(detect_lang()), encoding="utf-8") as stream:
            text = stream.read()
    except OSError:
        return False
    sys.stdout.write(text)
    sys.stdout.flush()
    return True


def main() -> None:
    """Write the help files from Typer's own output (``make help-text``)."""
    import subprocess

    from mgadvisor.i18n import LANGS

    for lang in LANGS:
        text = subprocess.run(
            [sys.executable, "-c", "from mgadvisor.cli import main; main()", "--help"],
            capture_output=True,
            text=True,
            check=True,
            env={**os.environ, "MGADVISOR_LANG": lang, "COLUMNS": str(MIN_COLUMNS)},
        ).stdout
        with open(help_file(lang), "w", encoding="utf-8") as stream:
            stream.write(text)
        print(f"{help_file(lang)}: {len(text)} characters")


if __name__ == "__main__":
    main()
