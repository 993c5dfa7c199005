"""Static files under names that carry a hash of their content, cached by browsers for a year.

A page links `static_url("style.css")`, which gives `/static/style.3f9a0c12d4.css`: when the file
changes, so does its name, so a browser may keep what it fetched for as long as it likes
(`Cache-Control: public, max-age=31536000, immutable`) and never asks again. The plain name
(`/static/style.css`, used by an old page or a bookmark) and an outdated hash still work, with
`no-cache` (the browser checks the ETag on each use).

The files ship with the package and do not change while the app runs: each hash is computed once,
on first use.
"""

from __future__ import annotations

import hashlib
import re
from pathlib import Path
from typing import Any

from starlette.responses import Response
from starlette.staticfiles import StaticFiles
from starlette.types import Scope

FOREVER = "public, max-age=31536000, immutable"
REVALIDATE = "no-cache"
_HASHED = re.compile(r"^(?P<stem>.+)\.(?P<hash>[0-9a-f]{10})(?P<suffix>\.[A-Za-z0-9]+)$")


class HashedStatic(StaticFiles):
    """StaticFiles that serve `name.HASH.ext` as `name.ext`, with the caching described above."""

    def __init__(self, directory: Path, prefix: str) -> None:
        super().__init__(directory=str(directory))
        self.root = Path(directory)
        self.prefix = prefix.rstrip("/")
        self._hashes: dict[str, str] = {}

    def digest(self, name: str) -> str:
        """The first ten hex digits of the SHA-256 of the file `name` (relative to the folder)."""
        known = self._hashes.get(name)
        if known is None:
            root = self.root.resolve()
            target = (root / name).resolve()
            if not target.is_relative_to(root) or not target.is_file():
                raise FileNotFoundError(name)  # only files of the folder get a hash
            data = target.read_bytes()
            known = self._hashes[name] = hashlib.sha256(data).hexdigest()[:10]
        return known

    def url(self, name: str) -> str:
        """The address of `name` with its hash, e.g. `/static/style.3f9a0c12d4.css`."""
        stem, dot, suffix = name.rpartition(".")
        if not dot or "/" in suffix:
            return f"{self.prefix}/{name}"
        return f"{self.prefix}/{stem}.{self.digest(name)}.{suffix}"

    async def get_response(self, path: str, scope: Scope) -> Response:
        match = _HASHED.match(path)
        current = False
        if match:
            real = match["stem"] + match["suffix"]
            try:
                current = self.digest(real) == match["hash"]
            except OSError:  # no such file: the hashed name may be a real file name after all
                real = path
            path = real
        response = await super().get_response(path, scope)
        if response.status_code in (200, 304):
            response.headers["cache-control"] = FOREVER if current else REVALIDATE
        return response


def static_urls(*mounts: HashedStatic) -> Any:
    """A template global `static_url(name)`: the hashed address of a file of the first mount
    whose prefix the name starts with ("swagger/swagger-ui.css"), else of the last mount."""

    def static_url(name: str) -> str:
        for mount in mounts[:-1]:
            folder = mount.prefix.rsplit("/", 1)[-1] + "/"
            if name.startswith(folder):
                return mount.url(name[len(folder) :])
        return mounts[-1].url(name)

    return static_url
