"""CSRF tokens for the forms: a double-submit cookie whose value the server has signed.

A token is `nonce.signature`, the signature an HMAC-SHA256 of the nonce with the server's secret
(`MGADVISOR_SECRET`). A form post passes when the form's token (or an `X-CSRF-Token` header)
equals the cookie *and* carries a valid signature: a pair an attacker made up fails, because
only the server can sign.

The token is *not* tied to the login session: any signed pair the server handed out (to anyone,
e.g. from GET /login) passes together with any session cookie. What keeps an attacker from
using such a pair is that they cannot put it into the victim's browser: over HTTPS the cookie is
`Secure` and named `__Host-mg_csrf`, which a browser accepts only from this very host (not from
a sibling domain nor over plain http), and all cookies are `SameSite=Strict`, so a cross-site
form post carries neither the CSRF cookie nor the session cookie. Over plain http (development
on loopback) a cookie can be planted by whoever controls the network or a sibling host; that
setup is not meant for a practice.

Example:
    >>> token = new_token(b"k" * 32)
    >>> valid(token, b"k" * 32), valid(token, b"x" * 32), valid("nonce.élan", b"k" * 32)
    (True, False, False)
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets

COOKIE = "mg_csrf"
SECURE_COOKIE = "__Host-mg_csrf"  # the prefix makes the browser refuse it without Secure, Path=/
FIELD = "csrf_token"
HEADER = "x-csrf-token"
MAX_TOKEN_LENGTH = 200


def cookie_name(scheme: str) -> str:
    """The cookie's name: with the `__Host-` prefix over HTTPS (which a browser requires)."""
    return SECURE_COOKIE if scheme == "https" else COOKIE


def set_cookie_header(token: str, scheme: str) -> bytes:
    secure = "; Secure" if scheme == "https" else ""
    name = cookie_name(scheme)
    return f"{name}={token}; HttpOnly; Path=/; SameSite=strict{secure}".encode()


def new_token(key: bytes) -> str:
    nonce = secrets.token_urlsafe(18)
    return f"{nonce}.{_signature(nonce, key)}"


def valid(token: str, key: bytes) -> bool:
    """Whether `token` was made by this server (any text, also non-ASCII, gives a bool)."""
    if not token or len(token) > MAX_TOKEN_LENGTH or not token.isascii():
        return False
    nonce, _, signature = token.partition(".")
    return hmac.compare_digest(signature.encode(), _signature(nonce, key).encode())


def matches(cookie: str, sent: str, key: bytes) -> bool:
    """The double-submit check: the same token in the cookie and the form, signed by us."""
    return valid(cookie, key) and hmac.compare_digest(cookie.encode(), sent.encode())


def _signature(nonce: str, key: bytes) -> str:
    digest = hmac.new(key, nonce.encode(), hashlib.sha256).digest()[:18]
    return base64.urlsafe_b64encode(digest).decode().rstrip("=")
