"""Encryption of secrets at rest (the users' TOTP secrets), with a key from the environment.

``MGADVISOR_RECORDS_KEY`` holds one or more keys, comma-separated, each 32 bytes in (URL-safe
or standard) base64: the first encrypts, all decrypt (key rotation: put the new key first,
run ``rotate`` over the stored values, then drop the old key). Values are Fernet tokens
(AES-128-CBC with HMAC-SHA256, authenticated) from :class:`cryptography.fernet.MultiFernet`.

Zero set-up: when the variable is not set and the records live in the default SQLite file, a
key file ``records.key`` (mode 0600) is made next to it on first use, and the log says so.
Any other database without the variable is refused with one line (:class:`KeyMissing`).
"""

from __future__ import annotations

import base64
import binascii
import logging
import os
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from sqlalchemy.engine import URL

from mgadvisor.i18n import N_
from mgadvisor.records.errors import InvalidRecord, RecordsError

ENV_KEY = "MGADVISOR_RECORDS_KEY"
KEY_FILE = "records.key"
KEY_BYTES = 32
WRONG_KEY = N_("the key the secret was stored with")

log = logging.getLogger("mgadvisor.records")


class KeyMissing(RecordsError):  # noqa: N818 - reads as the situation it names
    """No key to encrypt the records' secrets with (a database other than the default file)."""

    msgid = N_(
        "{name} is not set: give a key (32 bytes in base64) for this database, e.g. {command}"
    )

    def __init__(self) -> None:
        self.params = {
            "name": ENV_KEY,
            "command": "python -c 'import os,base64;print(base64.urlsafe_b64encode(os.urandom(32))"
            ".decode())'",
        }
        super().__init__(self.msgid.format(**self.params))


def _decode_key(text: str) -> bytes:
    """A key given as base64 (URL-safe or standard): its Fernet form. Raises InvalidRecord."""
    text = text.strip()
    try:
        raw = base64.b64decode(text.replace("-", "+").replace("_", "/") + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError):
        raw = b""
    if len(raw) != KEY_BYTES:
        raise InvalidRecord(ENV_KEY, N_("32 bytes in base64"), f"{len(raw)} bytes")
    return base64.urlsafe_b64encode(raw)


def _key_file(path: Path) -> bytes:
    """The key in `path`, made (random, mode 0600) when the file does not exist."""
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        key = base64.urlsafe_b64encode(os.urandom(KEY_BYTES))
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as handle:
            handle.write(key + b"\n")
        log.warning("made a new key for the records' secrets: %s (keep it with backups)", path)
    return _decode_key(path.read_text(encoding="ascii"))


def load_cipher(url: URL, default_url: URL | None = None) -> MultiFernet:
    """The cipher for the database at `url`.

    Args:
        url: the records database.
        default_url: the default SQLite file (`database.database_url("")` by default); only for
            it a key file is made when the environment gives no key.

    Raises:
        InvalidRecord: the variable holds something that is not a 32-byte base64 key.
        KeyMissing: no variable, and not the default SQLite file.
    """
    text = os.environ.get(ENV_KEY, "").strip()
    if text:
        return MultiFernet([Fernet(_decode_key(part)) for part in text.split(",") if part.strip()])
    if default_url is None:
        from mgadvisor.records.database import SQLITE_FILE, data_dir

        default_path = data_dir() / SQLITE_FILE
    else:
        default_path = Path(default_url.database or "")
    if url.get_backend_name() == "sqlite" and Path(url.database or "") == default_path:
        return MultiFernet([Fernet(_key_file(default_path.parent / KEY_FILE))])
    raise KeyMissing


def encrypt(cipher: MultiFernet, value: str) -> str:
    """`value` encrypted (a Fernet token, ASCII)."""
    return cipher.encrypt(value.encode()).decode("ascii")


def decrypt(cipher: MultiFernet, token: str) -> str:
    """The value of `token`. Raises InvalidRecord when no key decrypts it (a wrong key)."""
    try:
        return cipher.decrypt(token.encode("ascii")).decode()
    except (InvalidToken, UnicodeError):
        raise InvalidRecord(
            ENV_KEY, N_("the key the secret was stored with"), "another key"
        ) from None


def rotate(cipher: MultiFernet, token: str) -> str:
    """`token` re-encrypted under the first key. Raises InvalidRecord when no key decrypts it."""
    try:
        return cipher.rotate(token.encode("ascii")).decode("ascii")
    except (InvalidToken, UnicodeError):
        raise InvalidRecord(
            ENV_KEY, N_("the key the secret was stored with"), "another key"
        ) from None
