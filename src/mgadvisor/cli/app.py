"""The `mgadvisor` command: the root Typer app, language choice and error translation.

Heavy modules (pydantic models, the knowledge base, citeproc, rich tables) are imported inside
the commands, so `mgadvisor --help` stays fast. For the same reason the command modules do without
`from __future__ import annotations`: typer reads every command's signature at start (for the
root `--help` too), and string annotations cost a compile and two evaluations each.
"""

import re
import sys
from typing import Annotated

import typer
from typer.exceptions import Abort, TyperException

from mgadvisor.errors import IntakeError
from mgadvisor.i18n import LANGS, N_, Translator, detect_lang

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
        _fail(t, exc.render(t))
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
        if type(exc).__name__ == "NoArgsIsHelpError":  # a command group alone: its help
            typer.echo(exc.message, err=True)
            sys.exit(2)
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
    text = _usage_text(message, t)
    end = "" if text.endswith((".", "?", "!")) else "."  # two sentences, not one run together
    return text + end + " " + t("See '{command} --help'.", command=command)


# Click's usage messages (English only) and what they say, as patterns over its text; each
# becomes a translated line, so a Dutch error line is Dutch from start to end.
_USAGE = {
    "missing": re.compile(r"Missing (?:argument|option|parameter) (?P<name>.+?)\.(?: .*)?"),
    "command": re.compile(
        r"No such command (?P<name>.+?)\.(?: Did you mean (?P<hint>.+?)\?)?", re.DOTALL
    ),
    "invalid": re.compile(r"Invalid value(?: for (?P<name>.+?))?: (?P<why>.*)", re.DOTALL),
    "extra": re.compile(r"Got unexpected extra arguments? \((?P<args>.*)\)", re.DOTALL),
    "needs": re.compile(r"Option (?P<name>.+?) requires an argument\."),
}
# What pydantic (typer's parameter check) says was expected, as the intake's msgids.
_EXPECTED = (
    (re.compile(r"greater than or equal to (?P<ge>[^ ,]+)"), N_("a number of at least {ge}")),
    (re.compile(r"less than or equal to (?P<le>[^ ,]+)"), N_("a number of at most {le}")),
    (re.compile(r"greater than (?P<gt>[^ ,]+)"), N_("a number above {gt}")),
    (re.compile(r"less than (?P<lt>[^ ,]+)"), N_("a number below {lt}")),
    (re.compile(r"valid integer"), N_("a whole number")),
    (re.compile(r"valid number"), N_("a number")),
    (re.compile(r"valid boolean"), N_("true or false")),
    (re.compile(r"is not one of (?P<expected>.+?)\.?$"), N_("one of {expected}")),
)


def _usage_text(message: str, t: Translator) -> str:
    """Click's English usage message, translated (unknown ones get a general sentence)."""
    found = {kind: p.fullmatch(message.strip()) for kind, p in _USAGE.items()}
    if m := found["missing"]:
        return t("missing argument or option {name}", name=m["name"])
    if m := found["command"]:
        text = t("unknown command {name}.", name=m["name"])
        if m["hint"]:
            text += " " + t("Did you mean {suggestion}?", suggestion=m["hint"])
        return text
    if m := found["invalid"]:
        return t(
            "{option}: expected {expected}",
            option=m["name"] or "?",
            expected=_expected(m["why"], t),
        )
    if m := found["extra"]:
        return t("unexpected extra argument(s): {args}", args=m["args"])
    if m := found["needs"]:
        return t("option {option} needs a value", option=m["name"])
    return t("the command line is not valid")


def _expected(why: str, t: Translator) -> str:
    for pattern, msgid in _EXPECTED:
        if hit := pattern.search(why):
            params = {k: v.rstrip(".") for k, v in hit.groupdict().items()}
            return t(msgid, **params)
    return t("a valid value")


def _fail(t: Translator, message: str) -> None:
    from mgadvisor.errors import printable

    # One line, and nothing in it (a name from an intake or a food table) can steer a terminal.
    typer.echo(printable(t("Error: {message}", message=message)), err=True)
    sys.exit(2)


def _lang_from_argv(argv: list[str]) -> str:
    for i, arg in enumerate(argv):
        if arg == "--lang" and i + 1 < len(argv):
            return detect_lang(argv[i + 1])
        if arg.startswith("--lang="):
            return detect_lang(arg.split("=", 1)[1])
    return detect_lang()
