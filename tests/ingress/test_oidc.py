"""OIDC bearer tokens against a real JWKS served over local HTTP, signed by keys the test makes."""

from __future__ import annotations

import asyncio
import base64
import json
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import jwt
import pytest
from pydantic import ValidationError

from switchboard.settings import IngressSettings
from switchboard.store import ApiKeys, Store
from tests.support.app import app_client
from tests.support.oidc_issuer import AUDIENCE, Issuer, serve_issuer
from tests.support.settings import ingress_settings

PATH = "/api/conversations"


@pytest.fixture
def issuer() -> Iterator[Issuer]:
    with serve_issuer() as running:
        yield running


@pytest.fixture
def sqlite_store(tmp_path: Path) -> Iterator[Store]:
    store = Store.from_url(f"sqlite:///{tmp_path / 'switchboard.db'}")
    store.migrate()
    yield store
    store.close()


@pytest.fixture
async def oidc_http(
    issuer: Issuer, sqlite_store: Store, tmp_path: Path
) -> AsyncIterator[httpx.AsyncClient]:
    settings = ingress_settings(
        "oidc",
        oidc_issuer=issuer.url,
        oidc_audience=AUDIENCE,
        oidc_jwks_refetch_cooldown_s=0,
        data_dir=tmp_path,
    )
    async with app_client(settings, store=sqlite_store) as http:
        yield http


async def status_with(http: httpx.AsyncClient, token: str) -> int:
    response = await http.get(PATH, headers={"Authorization": f"Bearer {token}"})
    return response.status_code


def b64(data: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


async def test_tokens_signed_with_rs256_and_es256_are_accepted(
    oidc_http: httpx.AsyncClient, issuer: Issuer
) -> None:
    for kid in issuer.keys:
        assert await status_with(oidc_http, issuer.token(kid=kid)) == 200


async def test_an_expired_token_is_refused_beyond_30_seconds_of_leeway(
    oidc_http: httpx.AsyncClient, issuer: Issuer
) -> None:
    now = int(time.time())
    assert await status_with(oidc_http, issuer.token(exp=now - 10)) == 200
    response = await oidc_http.get(
        PATH, headers={"Authorization": f"Bearer {issuer.token(exp=now - 60)}"}
    )
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == "Bearer"


async def test_a_token_not_yet_valid_is_refused(
    oidc_http: httpx.AsyncClient, issuer: Issuer
) -> None:
    assert await status_with(oidc_http, issuer.token(nbf=int(time.time()) + 120)) == 401


async def test_a_tampered_token_is_refused(oidc_http: httpx.AsyncClient, issuer: Issuer) -> None:
    header, payload, signature = issuer.token(roles=["analyst"]).split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=="))
    forged = f"{header}.{b64({**claims, 'roles': ['admin']})}.{signature}"
    assert await status_with(oidc_http, forged) == 401


async def test_wrong_audience_and_wrong_issuer_are_refused(
    oidc_http: httpx.AsyncClient, issuer: Issuer
) -> None:
    assert await status_with(oidc_http, issuer.token(aud="another-api")) == 401
    assert await status_with(oidc_http, issuer.token(iss="http://127.0.0.1:1")) == 401


async def test_alg_none_and_hmac_are_refused(oidc_http: httpx.AsyncClient, issuer: Issuer) -> None:
    kid = next(iter(issuer.keys))
    claims = jwt.decode(issuer.token(kid=kid), options={"verify_signature": False})
    unsigned = f"{b64({'alg': 'none', 'typ': 'JWT', 'kid': kid})}.{b64(claims)}."
    assert await status_with(oidc_http, unsigned) == 401
    # HMAC keyed with a guessable secret, under a published kid.
    hmac_token = jwt.encode(claims, "x" * 32, algorithm="HS256", headers={"kid": kid})
    assert await status_with(oidc_http, hmac_token) == 401


async def test_an_unknown_kid_is_refetched_so_a_rotated_key_works(
    oidc_http: httpx.AsyncClient, issuer: Issuer
) -> None:
    assert await status_with(oidc_http, issuer.token()) == 200
    fetched = issuer.jwks_fetches
    # A token whose key the issuer never published: refused.
    stranger = Issuer()
    stranger.url = issuer.url
    assert await status_with(oidc_http, stranger.token()) == 401
    # The issuer rotates: the new key is published and used; the ingress fetches it.
    rotated = issuer.add_key("ES256")
    assert await status_with(oidc_http, issuer.token(kid=rotated)) == 200
    assert issuer.jwks_fetches > fetched


async def test_roles_come_from_the_configured_claim_and_the_highest_wins(
    issuer: Issuer, sqlite_store: Store, tmp_path: Path
) -> None:
    settings = ingress_settings(
        "oidc",
        oidc_issuer=issuer.url,
        oidc_audience=AUDIENCE,
        oidc_jwks_url=issuer.url + "/jwks",
        oidc_roles_claim="realm_access.roles",
        data_dir=tmp_path,
    )
    async with app_client(settings, store=sqlite_store) as http:
        admin = issuer.token(realm_access={"roles": ["offline", "analyst", "admin"]})
        audit = await http.get("/api/audit", headers={"Authorization": f"Bearer {admin}"})
        assert audit.status_code == 200
        none = issuer.token(realm_access={"roles": ["offline"]})
        refused = await http.get(PATH, headers={"Authorization": f"Bearer {none}"})
        assert refused.status_code == 403
        assert "no Switchboard role" in refused.json()["detail"]


@pytest.mark.parametrize(
    "url", ["http://idp.example.com/realms/x", "ftp://127.0.0.1/x", "http://10.0.0.5"]
)
def test_plain_http_issuers_are_accepted_on_loopback_only(url: str) -> None:
    with pytest.raises(ValidationError, match="https"):
        IngressSettings(_env_file=None, oidc_issuer=url, oidc_audience="a")  # type: ignore[call-arg]
    for ok in ("https://idp.example.com/realms/x", "http://127.0.0.1:8080", "http://localhost"):
        IngressSettings(_env_file=None, oidc_issuer=ok, oidc_audience="a")  # type: ignore[call-arg]


async def test_junk_tokens_during_an_issuer_outage_never_keep_an_admin_waiting(
    issuer: Issuer, sqlite_store: Store, tmp_path: Path
) -> None:
    """The issuer hangs from the start: 48 made-up tokens (each naming a key id of its own)
    cost at most one fetch, and an admin's key is answered at once meanwhile."""
    issuer.hanging.set()
    admin = ApiKeys(sqlite_store.engine).create("root", "admin")
    settings = ingress_settings(
        "oidc", oidc_issuer=issuer.url, oidc_audience=AUDIENCE, data_dir=tmp_path
    )
    alg, private = next(iter(Issuer().keys.values()))
    claims = {"sub": "x", "iss": issuer.url, "aud": AUDIENCE, "exp": int(time.time()) + 300}
    async with app_client(settings, store=sqlite_store) as http:
        junk = [
            asyncio.create_task(
                status_with(
                    http, jwt.encode(claims, private, algorithm=alg, headers={"kid": f"k{i}"})
                )
            )
            for i in range(48)
        ]
        # The burst is in, each junk request waiting on the issuer that does not answer.
        await asyncio.sleep(0.5)
        assert not any(task.done() for task in junk)
        began = time.perf_counter()
        assert await status_with(http, admin) == 200
        waited = time.perf_counter() - began
        assert set(await asyncio.gather(*junk)) == {401}
    # Waiting on the issuer would take KEY_WAIT_S (2 s); a bound well under it, not a tight one
    # that a machine busy with the suite's other processes overruns.
    assert waited < 1.0, f"the admin waited {waited * 1000:.0f} ms"
    assert issuer.discovery_fetches <= 1
