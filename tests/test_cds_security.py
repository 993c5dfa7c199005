"""Whom the CDS Hooks service trusts: tokens minted with the sandbox's published demo key, a
client of our own with an RS384 key in MGADVISOR_CDS_CLIENTS, and every way a token can be
wrong (audience, expiry, replay, algorithm, issuer, key, lifetime)."""

from __future__ import annotations

import json
import time
import uuid
from pathlib import Path
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from mgadvisor.interop.cds_security import (
    FORGET_MARGIN_S,
    LEEWAY_S,
    SANDBOX_ISS,
    CdsAuthError,
    ReplayCache,
    Verifier,
    load_clients,
)

FIXTURES = Path(__file__).parent / "fixtures" / "cds"
SANDBOX_KEY = (FIXTURES / "sandbox-private-key.pem").read_text()
SANDBOX_KID = "44823f3d-0b01-4a6c-a80e-b9d3e8a7226f"
AUD = "https://mg.example.org/cds-services/mg-depletion"


def sandbox_token(aud: str = AUD, **claims: Any) -> str:
    """A token as the sandbox makes it (src/retrieve-data-helpers/jwt-generator.js)."""
    now = int(time.time())
    payload = {
        "iss": SANDBOX_ISS,
        "aud": aud,
        "exp": now + 300,
        "iat": now,
        "jti": str(uuid.uuid4()),
        **claims,
    }
    headers = {
        "kid": SANDBOX_KID,
        "typ": "JWT",
        "jku": "https://sandbox.cds-hooks.org/.well-known/jwks.json",
    }
    return jwt.encode(payload, SANDBOX_KEY, algorithm="ES384", headers=headers)


@pytest.fixture
def dev() -> Verifier:
    return Verifier(load_clients({"MGADVISOR_CDS_PROFILE": "development"}))


def refused(verifier: Verifier, token: str, aud: str = AUD) -> str:
    with pytest.raises(CdsAuthError) as caught:
        verifier.verify(f"Bearer {token}", aud)
    assert token not in str(caught.value)  # a token is never quoted back
    return caught.value.msgid


def test_sandbox_token_is_trusted_in_development(dev: Verifier) -> None:
    claims = dev.verify(f"Bearer {sandbox_token()}", AUD)
    assert claims.iss == SANDBOX_ISS
    assert claims.aud == AUD


def test_sandbox_is_not_trusted_in_production() -> None:
    for env in ({}, {"MGADVISOR_CDS_PROFILE": "production"}):
        assert "token issuer" in refused(Verifier(load_clients(env)), sandbox_token())


def test_wrong_audience_is_refused(dev: Verifier) -> None:
    other = "https://mg.example.org/cds-services/mg-interactions"
    assert "aud" in refused(dev, sandbox_token(aud=other))


def test_expired_token_is_refused(dev: Verifier) -> None:
    old = int(time.time()) - 600
    assert refused(dev, sandbox_token(exp=old + 300, iat=old)) == "token expired"


def test_replayed_jti_is_refused(dev: Verifier) -> None:
    token = sandbox_token()
    dev.verify(f"Bearer {token}", AUD)
    assert "already used" in refused(dev, token)
    # the same jti in a new token is a replay too
    first = sandbox_token(jti="same")
    dev.verify(f"Bearer {first}", AUD)
    assert "already used" in refused(dev, sandbox_token(jti="same"))


def test_replay_cache_forgets_a_jti_only_after_its_token_expired() -> None:
    cache = ReplayCache(limit=3)
    assert cache.first_use("iss", "a", 100, now=50)
    assert cache.first_use("iss", "b", 200, now=50)
    assert cache.first_use("other", "a", 100, now=50)  # per issuer
    assert not cache.first_use("iss", "a", 100, now=60)  # a replay
    assert not cache.first_use("iss", "c", 300, now=60)  # full: refused, nothing forgotten
    assert not cache.first_use("iss", "a", 100, now=100 + LEEWAY_S)  # expired, not yet gone
    # still kept for a margin after that (a check that passed a moment earlier may come in)
    assert not cache.first_use("iss", "a", 100, now=100 + LEEWAY_S + FORGET_MARGIN_S)
    # once "a" (both issuers) is past the margin, their places are free; "b" is remembered
    later = 101 + LEEWAY_S + FORGET_MARGIN_S
    assert cache.first_use("iss", "c", 300, now=later)
    assert not cache.first_use("iss", "b", 200, now=later)
    assert cache.first_use("iss", "d", 300, now=later)
    assert not cache.first_use("iss", "e", 300, now=later)  # full again


def test_missing_claims_and_long_lifetime_are_refused(dev: Verifier) -> None:
    now = int(time.time())
    token = jwt.encode(
        {"iss": SANDBOX_ISS, "aud": AUD, "exp": now + 60, "iat": now},
        SANDBOX_KEY,
        algorithm="ES384",
        headers={"kid": SANDBOX_KID},
    )
    assert "missing" in refused(dev, token)
    assert "lifetime" in refused(dev, sandbox_token(exp=now + 86400))


def test_symmetric_and_none_algorithms_are_refused(dev: Verifier) -> None:
    now = int(time.time())
    payload = {"iss": SANDBOX_ISS, "aud": AUD, "exp": now + 60, "iat": now, "jti": "x"}
    hmac = jwt.encode(payload, "a shared secret of some length!!", algorithm="HS256")
    assert "algorithm" in refused(dev, hmac)
    unsigned = jwt.encode(payload, None, algorithm="none")
    assert "algorithm" in refused(dev, unsigned)


def test_other_key_unknown_kid_and_bad_header(dev: Verifier) -> None:
    stranger = ec.generate_private_key(ec.SECP384R1())
    now = int(time.time())
    payload = {"iss": SANDBOX_ISS, "aud": AUD, "exp": now + 60, "iat": now, "jti": "k"}
    forged = jwt.encode(payload, stranger, algorithm="ES384", headers={"kid": SANDBOX_KID})
    assert "signature" in refused(dev, forged)
    unknown = jwt.encode(payload, SANDBOX_KEY, algorithm="ES384", headers={"kid": "other"})
    assert "kid" in refused(dev, unknown)
    for header in (None, "", "Basic abc", "Bearer "):
        with pytest.raises(CdsAuthError, match="Authorization"):
            dev.verify(header, AUD)
    with pytest.raises(CdsAuthError, match="not a JWT"):
        dev.verify("Bearer not.a.jwt", AUD)


def _rsa_client(tmp_path: Path) -> tuple[Any, Path]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    jwk = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(key.public_key()))
    path = tmp_path / "clients.json"
    path.write_text(json.dumps({"https://ehr.example.nl": {"keys": [{**jwk, "kid": "ehr-1"}]}}))
    return key, path


def test_configured_client_with_rs384(tmp_path: Path) -> None:
    key, path = _rsa_client(tmp_path)
    verifier = Verifier(load_clients({"MGADVISOR_CDS_CLIENTS": str(path)}))
    now = int(time.time())
    payload = {"iss": "https://ehr.example.nl", "aud": AUD, "exp": now + 60, "iat": now}
    token = jwt.encode({**payload, "jti": "1"}, key, algorithm="RS384", headers={"kid": "ehr-1"})
    assert verifier.verify(f"Bearer {token}", AUD).iss == "https://ehr.example.nl"
    assert "token issuer" in refused(verifier, sandbox_token())  # not in this allowlist


@pytest.mark.parametrize(
    ("content", "words"),
    [
        ("not json", "readable JSON file"),
        ("[]", "object of issuers"),
        ('{"https://ehr.example.nl": {}}', "needs"),
        ('{"https://ehr.example.nl": {"jku": "http://ehr.example.nl/jwks"}}', "https"),
    ],
)
def test_bad_clients_file_says_what_is_wrong(tmp_path: Path, content: str, words: str) -> None:
    path = tmp_path / "clients.json"
    path.write_text(content)
    with pytest.raises(CdsAuthError) as caught:
        load_clients({"MGADVISOR_CDS_CLIENTS": str(path)})
    message = caught.value.msgid.format(**caught.value.params)
    assert words in message
    assert "MGADVISOR_CDS_CLIENTS" in message


def test_unknown_profile_is_an_error() -> None:
    with pytest.raises(CdsAuthError, match="expected"):
        load_clients({"MGADVISOR_CDS_PROFILE": "dev"})


def test_jku_client_takes_keys_only_from_its_own_url(tmp_path: Path) -> None:
    path = tmp_path / "clients.json"
    path.write_text(json.dumps({SANDBOX_ISS: {"jku": "https://keys.example.org/jwks.json"}}))
    verifier = Verifier(load_clients({"MGADVISOR_CDS_CLIENTS": str(path)}))
    # the header names another key set: refused before anything is fetched
    assert "jku" in refused(verifier, sandbox_token())
