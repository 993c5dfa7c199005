"""`python -m mgadvisor` and the `mgadvisor` command: the root help without Typer, else the CLI."""

import sys


def main() -> None:
    from mgadvisor._help import quick_help

    if quick_help(sys.argv[1:]):
        return
    from mgadvisor.cli import main as cli_main

    cli_main()


if __name__ == "__main__":
    main()
