"""The `mgadvisor` command: the root Typer app, language choice and error translation.

Heavy modules (pydantic models, the knowledge base, citeproc, rich tables) are imported inside
the commands, so `mgadvisor --help` stays fast. For the same reason the command modules do without
`from __future__ import annotations`: typer reads every command's signature at start (for the
root `--help` too), and string annotations cost a compile and two evaluations each.
"""

import sys
from typing import Annotated

import typer
from typer.exceptions import Abort, TyperException

from mgadvisor.errors import IntakeError
from mgadvisor.i18n import LANGS, Translator, detect_lang

# Help texts follow the environment's language (LANG / MGADVISOR_LANG); --lang steers output.
T = Translator(detect_lang())

app = typer.Typer(
    name="mgadvisor",
    help=T("Evidence-based, cited magnesium advice for practitioners (Dutch and English)."),
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)
kb_app = typer.Typer(help=T("Inspect and check the knowledge base."), no_args_is_help=True)
app.add_typer(kb_app, name="kb")


def _version(value: bool) -> None:
    if value:
        from mgadvisor import __version__

        typer.echo(f"mgadvisor {__version__}")
        raise typer.Exit()


def lang_of(ctx: typer.Context) -> str:
    root = ctx.find_root()
    value = root.obj.get("lang") if isinstance(root.obj, dict) else None
    return value or detect_lang()


@app.callback()
def root(
    ctx: typer.Context,
    lang: Annotated[
        str | None,
        typer.Option("--lang", help=T("Output language: nl or en (default: from LANG, else nl).")),
    ] = None,
    version: Annotated[
        bool,
        typer.Option("--version", callback=_version, is_eager=True, help=T("Show the version.")),
    ] = False,
) -> None:
    if lang is not None and lang not in LANGS:
        from mgadvisor.errors import UserInputError

        raise UserInputError(
            "--lang must be one of {choices}, got '{given}'", choices="nl, en", given=lang
        )
    ctx.obj = {"lang": lang or detect_lang()}


def main() -> None:
    """Console entry point: runs the app and turns errors into one line plus an exit code."""
    from mgadvisor.errors import KnowledgeError, UnknownNameError, UserInputError

    lang = _lang_from_argv(sys.argv[1:])
    t = Translator(lang)
    try:
        result = app(prog_name="mgadvisor", standalone_mode=False)
    except UnknownNameError as exc:
        _fail(
            t,
            t("unknown {kind} '{name}'.", kind=t(exc.kind), name=exc.name)
            + (
                " " + t("Did you mean '{suggestion}'?", suggestion=exc.suggestions[0])
                if exc.suggestions
                else ""
            ),
        )
    except IntakeError as exc:
        _fail(t, exc.line(t))
    except UserInputError as exc:
        _fail(t, t(exc.msgid, **exc.params))
    except KnowledgeError as exc:
        typer.echo(t("Error: {message}", message=str(exc)), err=True)
        sys.exit(1)
    except UnicodeDecodeError as exc:  # a file that is not UTF-8 text (e.g. a binary given)
        _fail(
            t,
            t(
                "the file is not UTF-8 text (byte {position}); expected a CSV, YAML or JSON file",
                position=exc.start,
            ),
        )
    except OSError as exc:  # a path that cannot be read or written (missing folder, no rights)
        _fail(
            t,
            t("cannot use {path}: {reason}", path=exc.filename or "?", reason=exc.strerror or exc),
        )
    except TyperException as exc:  # usage errors: unknown option, missing argument, bad value
        _fail(t, _usage_message(exc, t))
    except Abort:
        sys.exit(130)
    if isinstance(result, int) and result:
        sys.exit(result)


def _usage_message(exc: TyperException, t: Translator) -> str:
    possibilities = getattr(exc, "possibilities", None)
    option = getattr(exc, "option_name", None)
    if option and possibilities is not None:
        hint = (
            " " + t("Did you mean {suggestion}?", suggestion=possibilities[0])
            if possibilities
            else ""
        )
        return t("no such option: {option}", option=option) + hint
    ctx = getattr(exc, "ctx", None)
    command = getattr(ctx, "command_path", None) or "mgadvisor"
    message = exc.format_message() if hasattr(exc, "format_message") else str(exc)
    return f"{message} " + t("See '{command} --help'.", command=command)


def _fail(t: Translator, message: str) -> None:
    typer.echo(t("Error: {message}", message=message), err=True)
    sys.exit(2)


def _lang_from_argv(argv: list[str]) -> str:
    for i, arg in enumerate(argv):
        if arg == "--lang" and i + 1 < len(argv):
            return detect_lang(argv[i + 1])
        if arg.startswith("--lang="):
            return detect_lang(arg.split("=", 1)[1])
    return detect_lang()
