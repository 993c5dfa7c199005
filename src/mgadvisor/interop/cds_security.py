"""Whom the CDS Hooks service trusts: the EHR's signed JWT on every call (CDS Hooks 2.0.1,
"Trusting CDS Clients").

    Authorization: Bearer <JWT>
      header  alg (asymmetric only), kid, typ JWT, jku (optional)
      payload iss (allowlisted), aud (= the service's URL), exp, iat, jti (never twice)

Which clients: `MGADVISOR_CDS_CLIENTS` names a JSON file
``{"<iss>": {"keys": [<public JWK>, ...]}}`` or ``{"<iss>": {"jku": "https://..."}}`` (a key set
fetched over https, only from that URL, cached, with a timeout), each with an optional
``"fhir_servers": ["https://ehr.example/fhir", ...]``: the URL prefixes the issuer may name as
`fhirServer` (none: the service fetches nothing for it). `MGADVISOR_CDS_PROFILE=
development` also trusts the public CDS Hooks sandbox (its ES384 key is vendored in
`cds_sandbox_jwks.json`; its private key is public too, so never in production) with the SMART
sandbox's FHIR servers.

Replays: a `jti` is accepted once per issuer, in this process (a fast first check) and, with a
records database, across every instance (table `cds_token_uses`; a second insert is a replay).
`Verifier.verify` does both; `Verifier.check` does all but the database's, which the caller
then makes with `SharedReplays.use` inside its own transaction (the CDS service: with the
call's audit record, one commit) before it acts on the call.

Errors: :class:`CdsAuthError` carries a msgid and its parameters (translated by the web adapter);
it never quotes the token.
"""

from __future__ import annotations

import functools
import hashlib
import heapq
import json
import os
import threading
import time
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, cast

import jwt

from mgadvisor.i18n import N_

ENV_CLIENTS = "MGADVISOR_CDS_CLIENTS"
ENV_PROFILE = "MGADVISOR_CDS_PROFILE"
SANDBOX_ISS = "https://sandbox.cds-hooks.org"
SANDBOX_JWKS = Path(__file__).resolve().parent / "cds_sandbox_jwks.json"
SANDBOX_FHIR_SERVERS = ("https://launch.smarthealthit.org/v/",)  # the sandbox's R2/R3/R4 servers
# The spec asks for asymmetric algorithms (ES384 and RS384 recommended); never `none` or HMAC.
ALGORITHMS = ("ES256", "ES384", "ES512", "RS256", "RS384", "RS512", "PS256", "PS384", "PS512")
LEEWAY_S = 10  # clock difference tolerated between the EHR and this server
# A used jti is forgotten this long after its token can no longer pass the expiry check, so a
# request whose check passed a moment before another thread's clean-up still finds its jti.
FORGET_MARGIN_S = 60
MAX_LIFETIME_S = 3600  # a token valid longer is refused: the replay cache must outlive it
JKU_TIMEOUT_S = 3.0
JKU_CACHE_S = 3600.0
REPLAY_CACHE_MAX = 100_000


class CdsAuthError(Exception):
    """A call the service does not trust: `msgid` (English, translated at the edge) + params."""

    def __init__(self, msgid: str, **params: Any) -> None:
        super().__init__(msgid)
        self.msgid = msgid
        self.params = params


@dataclass(frozen=True, slots=True)
class Client:
    """One trusted EHR: its issuer and either its public keys or the one URL of its key set."""

    iss: str
    keys: tuple[Mapping[str, Any], ...] = ()
    jku: str | None = None
    fhir_servers: tuple[str, ...] = ()  # URL prefixes it may name as fhirServer


def fhir_server_allowed(client: Client | None, url: str) -> bool:
    """Whether `url` is one of the client's FHIR server prefixes (at a path boundary: the
    prefix ``https://ehr.example/fhir`` allows ``.../fhir`` and ``.../fhir/r4``, not
    ``https://ehr.example/fhirx`` nor ``https://ehr.example.evil``)."""
    if client is None or any(c in url for c in "@\\#?") or "/../" in url + "/":
        return False
    for prefix in client.fhir_servers:
        if prefix.endswith("/") and url.startswith(prefix):
            return True
        if url == prefix or url.startswith(prefix + "/"):
            return True
    return False


@dataclass(frozen=True, slots=True)
class Claims:
    """What a verified token says (no patient data: who called, for which URL, until when)."""

    iss: str
    jti: str
    exp: int
    aud: str
    tenant: str | None = None


def load_clients(env: Mapping[str, str] | None = None) -> dict[str, Client]:
    """The trusted clients of the environment: the file in MGADVISOR_CDS_CLIENTS, plus the
    sandbox with MGADVISOR_CDS_PROFILE=development.

    Raises:
        CdsAuthError: the file is missing, not JSON, or not of the documented shape.
    """
    env = os.environ if env is None else env
    clients: dict[str, Client] = {}
    profile = env.get(ENV_PROFILE, "").strip()
    if profile not in ("", "production", "development"):
        raise CdsAuthError(
            N_("{name}: expected 'development' or 'production', got '{given}'"),
            name=ENV_PROFILE,
            given=profile[:40],
        )
    if profile == "development":
        sandbox = json.loads(SANDBOX_JWKS.read_text(encoding="utf-8"))
        clients[SANDBOX_ISS] = Client(
            SANDBOX_ISS, keys=tuple(sandbox["keys"]), fhir_servers=SANDBOX_FHIR_SERVERS
        )
    path = env.get(ENV_CLIENTS, "").strip()
    if path:
        clients.update(_clients_file(Path(path)))
    return clients


def _clients_file(path: Path) -> dict[str, Client]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        raise CdsAuthError(
            N_("{name}: expected a readable JSON file, got '{given}'"),
            name=ENV_CLIENTS,
            given=str(path),
        ) from None
    if not isinstance(data, dict):
        raise CdsAuthError(N_("{name}: expected an object of issuers"), name=ENV_CLIENTS)
    clients = {}
    for iss, spec in data.items():
        keys = spec.get("keys") if isinstance(spec, dict) else None
        jku = spec.get("jku") if isinstance(spec, dict) else None
        servers = _fhir_servers(str(iss), spec)
        if isinstance(keys, list) and keys and all(isinstance(k, dict) for k in keys):
            clients[iss] = Client(iss, keys=tuple(keys), fhir_servers=servers)
        elif isinstance(jku, str) and jku.startswith("https://"):
            clients[iss] = Client(iss, jku=jku, fhir_servers=servers)
        else:
            raise CdsAuthError(
                N_('{name}: issuer \'{iss}\' needs "keys" (a list of JWKs) or "jku" (https)'),
                name=ENV_CLIENTS,
                iss=str(iss)[:200],
            )
    return clients


def _fhir_servers(iss: str, spec: Any) -> tuple[str, ...]:
    """The issuer's "fhir_servers": a list of http(s) URL prefixes (absent: none)."""
    servers = spec.get("fhir_servers", []) if isinstance(spec, dict) else []
    if not isinstance(servers, list) or not all(
        isinstance(u, str) and u.startswith(("https://", "http://")) for u in servers
    ):
        raise CdsAuthError(
            N_("{name}: issuer '{iss}' \"fhir_servers\": expected a list of URLs"),
            name=ENV_CLIENTS,
            iss=iss[:200],
        )
    return tuple(servers)


class ReplayCache:
    """The `jti`s seen, each kept until its token expires (thread-safe, bounded).

    The expired ones leave oldest first (a heap by expiry), a few on each use: never the whole
    cache at once (a rebuild of up to REPLAY_CACHE_MAX entries, on the event loop, once the
    cache was full). A token is dropped only a margin after it expired (FORGET_MARGIN_S):
    `Verifier.check` refuses an expired token before it asks here, so forgetting it lets no
    replay through, even when another request's clean-up runs between the two."""

    def __init__(self, limit: int = REPLAY_CACHE_MAX) -> None:
        self._seen: dict[tuple[str, str], float] = {}
        self._expiry: list[tuple[float, tuple[str, str]]] = []  # heap of (exp, key)
        self._lock = threading.Lock()
        self._limit = limit

    def first_use(self, iss: str, jti: str, exp: float, now: float) -> bool:
        """True the first time (iss, jti) is seen; False for a replay (or a full cache)."""
        with self._lock:
            expiry, seen = self._expiry, self._seen
            while expiry and expiry[0][0] + LEEWAY_S + FORGET_MARGIN_S < now:
                _, old = heapq.heappop(expiry)
                seen.pop(old, None)
            if len(seen) >= self._limit:
                return False  # refuse rather than forget a jti that may come again
            key = (iss, jti)
            if key in seen:
                return False
            seen[key] = exp
            heapq.heappush(expiry, (exp, key))
            return True


REPLAYED = N_("token already used (jti seen before)")


class SharedReplays:
    """The `jti`s seen by every instance: rows of `cds_token_uses` in the records database,
    each kept until its token expires; a second insert of the same (iss, jti) is a replay."""

    CLEAN_EVERY = 100  # expired rows are deleted on every 100th first use

    def __init__(self, engine: Any) -> None:
        self.engine = engine
        self._uses = 0
        self._lock = threading.Lock()

    def first_use(self, iss: str, jti: str, exp: float, now: float) -> bool:
        """True the first time (iss, jti) is stored in the database (its own transaction);
        False for a replay."""
        try:
            with self.engine.begin() as connection:
                self.use(connection, iss, jti, exp, now)
        except CdsAuthError:
            return False
        return True

    def use(self, session: Any, iss: str, jti: str, exp: float, now: float) -> None:
        """Store the use of (iss, jti) in the caller's transaction (a Session's or a
        Connection's, on `self.engine`), at once: a unique-key insert, so that a replay fails
        here, also one made by another instance at the same moment (the database serialises the
        two inserts). The use counts only when that transaction commits; the caller must not
        act on the call before.

        Raises:
            CdsAuthError: the pair was stored before (a replay); roll the transaction back.
        """
        from sqlalchemy import Connection
        from sqlalchemy.exc import IntegrityError

        insert_use, delete_expired = _statements()
        # Core on the transaction's connection: an ORM insert through the Session (its bulk
        # path and events) cost ~0.15 ms more, on the path of every hook call
        connection = session if isinstance(session, Connection) else session.connection()
        row = {
            "iss": _key_text(iss, 300),
            "jti": _key_text(jti, 200),
            "expires_at": datetime.fromtimestamp(exp + LEEWAY_S, UTC),
        }
        try:
            connection.execute(insert_use, row)
        except IntegrityError:
            raise CdsAuthError(REPLAYED) from None
        with self._lock:
            self._uses += 1
            clean = self._uses % self.CLEAN_EVERY == 1
        if clean:  # in the same transaction: no commit of its own
            cutoff = datetime.fromtimestamp(now - FORGET_MARGIN_S, UTC)  # see ReplayCache
            connection.execute(delete_expired, {"cutoff": cutoff})


@functools.cache
def _statements() -> tuple[Any, Any]:
    """The INSERT of a use and the DELETE of the expired ones (built once; sqlalchemy and the
    models are imported only by an app with a records database)."""
    from sqlalchemy import Table, bindparam, delete, insert

    from mgadvisor.records.models import CdsTokenUse

    table = cast(Table, CdsTokenUse.__table__)
    expired = delete(table).where(table.c.expires_at < bindparam("cutoff"))
    return insert(table), expired


def _key_text(value: str, limit: int) -> str:
    """`value` as stored in a key column: itself when it fits, else its SHA-256."""
    if len(value) <= limit:
        return value
    return "sha256:" + hashlib.sha256(value.encode("utf-8")).hexdigest()


@dataclass
class KeySets:
    """Key sets fetched from allowlisted `jku` URLs, cached for JKU_CACHE_S."""

    cache: dict[str, tuple[float, tuple[Mapping[str, Any], ...]]] = field(default_factory=dict)

    def keys(self, url: str, now: float) -> tuple[Mapping[str, Any], ...]:
        cached = self.cache.get(url)
        if cached is not None and now - cached[0] < JKU_CACHE_S:
            return cached[1]
        if not url.startswith("https://"):  # also checked when the file is read
            raise CdsAuthError(N_("the key set URL must use https"))
        try:
            with urllib.request.urlopen(url, timeout=JKU_TIMEOUT_S) as answer:
                found = json.loads(answer.read(1_000_000))["keys"]
        except (OSError, ValueError, KeyError, TypeError):
            raise CdsAuthError(N_("the client's key set could not be read")) from None
        keys = tuple(k for k in found if isinstance(k, dict))
        self.cache[url] = (now, keys)
        return keys


KEY_OBJECTS_MAX = 256  # parsed public keys kept (per JWK); then the cache starts again


class Verifier:
    """Checks a client's bearer token against the allowlist; one per app."""

    def __init__(self, clients: Mapping[str, Client], shared: SharedReplays | None = None) -> None:
        self.clients = dict(clients)
        self.replays = ReplayCache()
        self.shared = shared  # the replay cache of every instance (the records database)
        self.key_sets = KeySets()
        # Whether a check may fetch a key set over the network (run it off the event loop)
        self.fetches = any(c.jku for c in self.clients.values())
        # The public key object of each JWK (by its content): parsing one costs more than the
        # rest of the check but the signature's; which JWK a token may use is chosen anew each
        # time (`_key`: the client's keys, a key set within its JKU_CACHE_S)
        self._key_objects: dict[str, Any] = {}

    def verify(self, authorization: str | None, audience: str, now: float | None = None) -> Claims:
        """The claims of a valid, trusted, fresh, first-used token for `audience`.

        Raises:
            CdsAuthError: no token, a token of an unknown issuer or key, a symmetric or unknown
                algorithm, a bad signature, another audience, expired, or seen before.
        """
        now = time.time() if now is None else now
        claims = self.check(authorization, audience, now)
        if self.shared is not None and not self.shared.first_use(
            claims.iss, claims.jti, claims.exp, now
        ):
            raise CdsAuthError(REPLAYED)
        return claims

    def check(self, authorization: str | None, audience: str, now: float | None = None) -> Claims:
        """As :meth:`verify`, but a token seen before only in this process is refused: the
        caller must store the use with `self.shared.use(session, ...)` (when `self.shared` is
        not None) in a transaction that commits before it acts on the call.

        Raises:
            CdsAuthError: as :meth:`verify` (seen before: in this process).
        """
        now = time.time() if now is None else now
        token = _bearer(authorization)
        header, unverified = _peek(token)
        alg = header.get("alg")
        if alg not in ALGORITHMS:
            raise CdsAuthError(
                N_("token algorithm: expected one of {allowed}, got '{given}'"),
                allowed=", ".join(ALGORITHMS),
                given=str(alg)[:20],
            )
        iss = unverified.get("iss")
        client = self.clients.get(iss) if isinstance(iss, str) else None
        if client is None:
            raise CdsAuthError(N_("token issuer is not a trusted CDS client"))
        key = self._key(client, header, now)
        claims = _decode(token, key, alg, audience, now)
        exp, iat = int(claims["exp"]), int(claims["iat"])
        if exp - iat > MAX_LIFETIME_S:
            raise CdsAuthError(
                N_("token lifetime: expected at most {seconds} seconds"), seconds=MAX_LIFETIME_S
            )
        jti = str(claims["jti"])
        if not self.replays.first_use(client.iss, jti, exp, now):
            raise CdsAuthError(REPLAYED)
        tenant = claims.get("tenant")
        return Claims(client.iss, jti, exp, audience, tenant if isinstance(tenant, str) else None)

    def fhir_servers_of(self, iss: str) -> Client | None:
        """The trusted client `iss` (for :func:`fhir_server_allowed`), if there is one."""
        return self.clients.get(iss)

    def _key(self, client: Client, header: Mapping[str, Any], now: float) -> Any:
        """The client's public key named by the header's `kid` (the only key if none is named)."""
        if client.jku is not None:
            jku = header.get("jku")
            if jku is not None and jku != client.jku:
                raise CdsAuthError(N_("token jku is not the client's allowlisted key set URL"))
            keys = self.key_sets.keys(client.jku, now)
        else:
            keys = client.keys
        kid = header.get("kid")
        chosen = [k for k in keys if k.get("kid") == kid] if kid else list(keys)[:1]
        if len(chosen) != 1 or (not kid and len(keys) > 1):
            raise CdsAuthError(N_("token kid does not name a key of the client"))
        jwk = dict(chosen[0])
        try:
            content = json.dumps(jwk, sort_keys=True)
        except (TypeError, ValueError):
            raise CdsAuthError(N_("the client's key is not a usable public key")) from None
        key = self._key_objects.get(content)
        if key is None:
            try:
                key = jwt.PyJWK(jwk).key
            except (jwt.PyJWKError, jwt.InvalidKeyError):
                raise CdsAuthError(N_("the client's key is not a usable public key")) from None
            if len(self._key_objects) >= KEY_OBJECTS_MAX:
                self._key_objects = {}
            self._key_objects[content] = key
        return key


def _bearer(authorization: str | None) -> str:
    scheme, _, token = (authorization or "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise CdsAuthError(N_("Authorization: expected 'Bearer <JWT>'"))
    return token.strip()


def _peek(token: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """Header and payload before the signature is checked: only to choose the key (one
    parse of the token; PyJWT checks the header's form, as when the signature is checked)."""
    try:
        unverified = jwt.decode_complete(token, options={"verify_signature": False})
    except jwt.PyJWTError:
        raise CdsAuthError(N_("Authorization: the token is not a JWT")) from None
    return unverified["header"], unverified["payload"]


def _decode(token: str, key: Any, alg: str, audience: str, now: float) -> dict[str, Any]:
    """The payload after checking the signature, aud, exp and the required claims."""
    try:
        claims: dict[str, Any] = jwt.decode(
            token,
            key,
            algorithms=[alg],
            audience=audience,
            leeway=LEEWAY_S,
            options={"require": ["iss", "aud", "exp", "iat", "jti"]},
        )
    except jwt.ExpiredSignatureError:
        raise CdsAuthError(N_("token expired")) from None
    except jwt.InvalidAudienceError:
        raise CdsAuthError(
            N_("token aud: expected the service's URL {url}"), url=audience
        ) from None
    except jwt.MissingRequiredClaimError as exc:
        raise CdsAuthError(N_("token: claim '{claim}' is missing"), claim=exc.claim) from None
    except jwt.PyJWTError:
        raise CdsAuthError(N_("token signature does not verify")) from None
    if claims["exp"] + LEEWAY_S < now:  # PyJWT checks against its own clock
        raise CdsAuthError(N_("token expired"))
    return claims
