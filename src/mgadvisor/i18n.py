"""User-interface strings through Babel catalogs (``locale/<lang>/LC_MESSAGES/messages.po``).

Message ids are English; the ``en`` catalog may leave a msgstr empty (the id is used), the ``nl``
catalog must translate every id (a test extracts the ids with Babel and checks). Clinical text
never lives here: it comes from the knowledge base.

At run time the compiled catalogs (``messages.mo``, written by ``make catalogs``, which runs
``python -m mgadvisor.i18n``) are read: a
binary table read in microseconds, where parsing the ``.po`` text with Babel cost every
``mgadvisor`` command some 20 ms at start. A test checks that each ``.mo`` holds exactly what its
``.po`` says, so a translation edited without ``make catalogs`` fails the suite.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

LANGS: tuple[str, ...] = ("nl", "en")
DEFAULT_LANG = "nl"
LOCALE_DIR = Path(__file__).resolve().parent / "locale"
_ENV_VARS = ("MGADVISOR_LANG", "LANGUAGE", "LC_ALL", "LC_MESSAGES", "LANG")


def N_(msgid: str) -> str:
    """Mark a message id for extraction without translating it yet (gettext's convention)."""
    return msgid


def detect_lang(explicit: str | None = None, env: Mapping[str, str] | None = None) -> str:
    """The language to use: an explicit choice, else the environment, else Dutch.

    Example:
        >>> detect_lang(env={"LANG": "en_GB.UTF-8"})
        'en'
    """
    if explicit:
        return explicit if explicit in LANGS else DEFAULT_LANG
    env = os.environ if env is None else env
    for var in _ENV_VARS:
        value = env.get(var, "")
        for part in value.split(":"):
            code = part[:2].lower()
            if code in LANGS:
                return code
    return DEFAULT_LANG


def catalog_path(lang: str, suffix: str = ".mo") -> Path:
    """The catalog file of `lang`: the compiled ``.mo`` (read at run time) or its ``.po`` source."""
    return LOCALE_DIR / lang / "LC_MESSAGES" / f"messages{suffix}"


@functools.lru_cache(maxsize=len(LANGS))
def _catalog(lang: str) -> dict[str, str]:
    """Message id -> translation, for every translated message of `lang` (header left out)."""
    return read_mo(catalog_path(lang).read_bytes())


def read_mo(data: bytes) -> dict[str, str]:
    """The messages of a GNU ``.mo`` file (UTF-8, no plural forms or contexts: we use neither).

    Example:
        >>> from io import BytesIO
        >>> from babel.messages import Catalog
        >>> from babel.messages.mofile import write_mo
        >>> catalog = Catalog(locale="nl")
        >>> _ = catalog.add("Compounds", "Verbindingen")
        >>> _ = catalog.add("Untranslated", "")
        >>> buffer = BytesIO()
        >>> write_mo(buffer, catalog)
        >>> read_mo(buffer.getvalue())
        {'Compounds': 'Verbindingen'}
    """
    import struct

    magic = struct.unpack("<I", data[:4])[0]
    order = {0x950412DE: "<", 0xDE120495: ">"}.get(magic)
    if order is None:
        raise ValueError("not a GNU .mo file")
    count, ids_at, strs_at = struct.unpack(order + "3I", data[8:20])
    messages: dict[str, str] = {}
    for i in range(count):
        id_len, id_at = struct.unpack(order + "2I", data[ids_at + 8 * i : ids_at + 8 * i + 8])
        str_len, str_at = struct.unpack(order + "2I", data[strs_at + 8 * i : strs_at + 8 * i + 8])
        msgid = data[id_at : id_at + id_len].decode("utf-8")
        if msgid:  # the empty id is the catalog's header
            messages[msgid] = data[str_at : str_at + str_len].decode("utf-8")
    return messages


class Translator:
    """Callable that turns an English message id into the chosen language.

    Example:
        >>> Translator("en")("Compounds")
        'Compounds'
    """

    def __init__(self, lang: str) -> None:
        self.lang = lang if lang in LANGS else DEFAULT_LANG

    def __call__(self, msgid: str, **params: object) -> str:
        text = _catalog(self.lang).get(msgid) or msgid
        return text.format(**params) if params else text

    def num(self, value: float, digits: int = 1, fixed: bool = False) -> str:
        """A number in the language's notation: 80,8 in Dutch, 80.8 in English.

        Args:
            digits: decimals at most (exactly, when `fixed`).

        Example:
            >>> Translator("nl").num(1234.56, 1)
            '1234,6'
        """
        return _format_number(self.lang, round(value, digits), digits, fixed)


@functools.lru_cache(maxsize=8192)
def _format_number(lang: str, value: float, digits: int, fixed: bool) -> str:
    """Babel's formatting with the parsed pattern and locale cached (parsing dominated the cost)."""
    return str(_number_pattern(digits, fixed).apply(value, _locale(lang)))


@functools.lru_cache(maxsize=32)
def _number_pattern(digits: int, fixed: bool) -> Any:
    from babel.numbers import parse_pattern

    return parse_pattern("0" + ("." + ("0" if fixed else "#") * digits if digits else ""))


@functools.lru_cache(maxsize=len(LANGS))
def _locale(lang: str) -> Any:
    from babel import Locale

    return Locale.parse(lang)


def po_messages(lang: str) -> dict[str, str]:
    """What the ``.po`` source of `lang` translates (fuzzy entries are not translations yet)."""
    from babel.messages.pofile import read_po

    with catalog_path(lang, ".po").open("rb") as handle:
        catalog = read_po(handle, locale=lang)
    return {
        str(msg.id): str(msg.string) for msg in catalog if msg.id and msg.string and not msg.fuzzy
    }


def compile_catalogs() -> None:
    """Write ``messages.mo`` next to each ``messages.po`` (``make catalogs``)."""
    from io import BytesIO

    from babel.messages.mofile import write_mo
    from babel.messages.pofile import read_po

    for lang in LANGS:
        with catalog_path(lang, ".po").open("rb") as handle:
            catalog = read_po(handle, locale=lang)
        buffer = BytesIO()
        write_mo(buffer, catalog)
        catalog_path(lang).write_bytes(buffer.getvalue())
        print(f"{catalog_path(lang)}: {len(read_mo(buffer.getvalue()))} messages")


if __name__ == "__main__":
    compile_catalogs()
