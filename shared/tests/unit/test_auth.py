"""Token verification seen from the attacker's side, plus the FastAPI dependencies."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import threading
import time
import uuid
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Annotated, Any

import httpx
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from fastapi import Depends, FastAPI
from govdata_shared.auth import (
    Caller,
    CurrentCaller,
    JWKSKeySet,
    Role,
    StaticKeySet,
    TokenVerifier,
    make_verifier,
    requires_role,
)
from govdata_shared.errors import PROBLEM_JSON, Problem, install_error_handlers
from govdata_shared.settings import Settings
from jose import jwk, jwt

ISSUER = "urn:yichuan:govdata:gateway"
AUDIENCE = "govdata-api"


# --------------------------------------------------------------------------------------------- helpers


class RsaKey:
    """An RSA key pair with its PEMs, kid and public JWK."""

    def __init__(self, kid: str) -> None:
        self.kid = kid
        self.private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.private_pem = self.private.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        ).decode()
        self.public_pem = (
            self.private.public_key()
            .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
            .decode()
        )
        # Loading a PEM private key costs ~70 ms (cryptography checks the key); construct it once per alg.
        self._signers: dict[str, Any] = {}

    def signer(self, alg: str = "RS256") -> Any:
        if alg not in self._signers:
            self._signers[alg] = jwk.construct(self.private_pem, alg)
        return self._signers[alg]

    def jwk(self) -> dict[str, Any]:
        return {**jwk.construct(self.public_pem, "RS256").to_dict(), "kid": self.kid, "use": "sig"}

    def jwks(self) -> dict[str, Any]:
        return {"keys": [self.jwk()]}

    def sign(self, claims: dict[str, Any], *, alg: str = "RS256", kid: str | None = None) -> str:
        return jwt.encode(claims, self.signer(alg), algorithm=alg, headers={"kid": kid or self.kid})


@pytest.fixture(scope="module")
def gateway_key() -> RsaKey:
    return RsaKey("gw-key-1")


@pytest.fixture(scope="module")
def other_key() -> RsaKey:
    return RsaKey("attacker-key")


def claims(**overrides: Any) -> dict[str, Any]:
    now = int(time.time())
    base: dict[str, Any] = {
        "iss": ISSUER,
        "aud": AUDIENCE,
        "sub": "ga-system",
        "client_id": "ga-system",
        "dept": "YC-GA",
        "roles": ["dept_operator"],
        "scope": "api",
        "iat": now,
        "nbf": now,
        "exp": now + 600,
        "jti": str(uuid.uuid4()),
    }
    base.update(overrides)
    return {k: v for k, v in base.items() if v is not ...}


def b64url(data: bytes | dict[str, Any]) -> str:
    if isinstance(data, dict):
        data = json.dumps(data, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def verifier_for(keyset: Any, **kw: Any) -> TokenVerifier:
    return TokenVerifier(keyset, issuer=ISSUER, audience=AUDIENCE, **kw)


async def assert_rejected(verifier: TokenVerifier, token: Any, reason: str) -> Problem:
    with pytest.raises(Problem) as info:
        await verifier.verify(token)
    problem = info.value
    assert (problem.status, problem.code) == (401, "invalid_token"), problem
    assert problem.extra["reason"] == reason, problem.extra
    assert problem.headers["WWW-Authenticate"] == 'Bearer error="invalid_token"'
    return problem


class JwksServer:
    """A real JWKS endpoint on 127.0.0.1 that counts the requests it serves."""

    def __init__(self, jwks: dict[str, Any]) -> None:
        self.jwks = jwks
        self.requests = 0
        self.fail = False
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                outer.requests += 1
                body = json.dumps(outer.jwks).encode()
                self.send_response(500 if outer.fail else 200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/.well-known/jwks.json"
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def jwks_server(gateway_key: RsaKey) -> Iterator[JwksServer]:
    server = JwksServer(gateway_key.jwks())
    yield server
    server.close()


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


# --------------------------------------------------------------------------------------------- positive


async def test_valid_token_verifies_into_caller(gateway_key: RsaKey) -> None:
    verifier = verifier_for(StaticKeySet(gateway_key.jwks()))
    c = claims()
    caller = await verifier.verify(gateway_key.sign(c))
    assert caller == Caller(
        sub="ga-system",
        dept="YC-GA",
        roles=frozenset({"dept_operator"}),
        subject_id=None,
        client_id="ga-system",
        scope="api",
        token_id=c["jti"],
        claims=c,
    )
    assert caller.claims["jti"] == c["jti"]
    assert caller.has_role(Role.DEPT_OPERATOR, Role.DEPT_HEAD)
    assert not caller.has_role(Role.BUREAU_ADMIN)
    assert not caller.is_bureau


async def test_citizen_and_bureau_callers(gateway_key: RsaKey) -> None:
    verifier = verifier_for(StaticKeySet(gateway_key.jwks()))
    citizen = await verifier.verify(
        gateway_key.sign(
            claims(sub="citizen-1", client_id="citizen-1", dept=..., roles=["citizen"], subject_id="34052419800101001X")
        )
    )
    assert (citizen.dept, citizen.subject_id, citizen.roles) == (None, "34052419800101001X", {"citizen"})
    bureau = await verifier.verify(gateway_key.sign(claims(sub="bureau", dept="YC-ZSJ", roles=["bureau_admin"])))
    assert bureau.is_bureau


async def test_clock_skew_within_leeway_is_accepted(gateway_key: RsaKey) -> None:
    verifier = verifier_for(StaticKeySet(gateway_key.jwks()), leeway_seconds=30)
    now = int(time.time())
    await verifier.verify(gateway_key.sign(claims(exp=now - 10, nbf=now + 10, iat=now + 10)))


async def test_jwks_rotation_new_kid_picked_up_on_first_use(gateway_key: RsaKey, jwks_server: JwksServer) -> None:
    clock = Clock()
    keyset = JWKSKeySet(jwks_server.url, cache_seconds=300, min_refresh_interval=10, clock=clock)
    verifier = verifier_for(keyset)
    await verifier.verify(gateway_key.sign(claims()))
    assert jwks_server.requests == 1

    new_key = RsaKey("gw-key-2")
    jwks_server.jwks = {"keys": [new_key.jwk(), gateway_key.jwk()]}
    clock.now += 11  # the last fetch is older than the throttle window
    caller = await verifier.verify(new_key.sign(claims(sub="rotated")))
    assert caller.sub == "rotated"
    assert jwks_server.requests == 2
    # Both keys now come from the cache.
    await verifier.verify(gateway_key.sign(claims()))
    await verifier.verify(new_key.sign(claims()))
    assert jwks_server.requests == 2


async def test_jwks_cache_expires(gateway_key: RsaKey, jwks_server: JwksServer) -> None:
    clock = Clock()
    verifier = verifier_for(JWKSKeySet(jwks_server.url, cache_seconds=60, clock=clock))
    await verifier.verify(gateway_key.sign(claims()))
    await verifier.verify(gateway_key.sign(claims()))
    assert jwks_server.requests == 1
    clock.now += 61
    await verifier.verify(gateway_key.sign(claims()))
    assert jwks_server.requests == 2


async def test_removed_key_is_rejected_after_refresh(gateway_key: RsaKey, jwks_server: JwksServer) -> None:
    clock = Clock()
    verifier = verifier_for(JWKSKeySet(jwks_server.url, cache_seconds=60, clock=clock))
    await verifier.verify(gateway_key.sign(claims()))
    jwks_server.jwks = {"keys": []}
    clock.now += 61
    await assert_rejected(verifier, gateway_key.sign(claims()), "unknown_key")


async def test_jwks_unreachable_is_503_not_401(gateway_key: RsaKey, jwks_server: JwksServer) -> None:
    jwks_server.fail = True
    verifier = verifier_for(JWKSKeySet(jwks_server.url))
    with pytest.raises(Problem) as info:
        await verifier.verify(gateway_key.sign(claims()))
    assert (info.value.status, info.value.code) == (503, "auth_unavailable")


async def test_jwks_failure_keeps_previous_keys(gateway_key: RsaKey, jwks_server: JwksServer) -> None:
    clock = Clock()
    verifier = verifier_for(JWKSKeySet(jwks_server.url, cache_seconds=60, clock=clock))
    await verifier.verify(gateway_key.sign(claims()))
    jwks_server.fail = True
    clock.now += 61
    await verifier.verify(gateway_key.sign(claims()))
    assert jwks_server.requests == 2


def test_make_verifier_uses_settings() -> None:
    settings = Settings(
        govdata_jwks_url="http://127.0.0.1:1/jwks.json",
        govdata_jwt_issuer="iss-x",
        govdata_jwt_audience="aud-x",
        govdata_jwks_cache_seconds=42,
    )
    verifier = make_verifier(settings)
    assert isinstance(verifier.keyset, JWKSKeySet)
    assert (verifier.keyset.url, verifier.keyset.cache_seconds) == ("http://127.0.0.1:1/jwks.json", 42)
    assert (verifier.issuer, verifier.audience, verifier.algorithms) == ("iss-x", "aud-x", ("RS256",))


# --------------------------------------------------------------------------------------------- attacks


async def test_alg_none_is_rejected(gateway_key: RsaKey) -> None:
    verifier = verifier_for(StaticKeySet(gateway_key.jwks()))
    for alg in ("none", "None", "NONE"):
        token = (
            f"{b64url({'alg': alg, 'typ': 'JWT', 'kid': gateway_key.kid})}.{b64url(claims(roles=['bureau_admin']))}."
        )
        await assert_rejected(verifier, token, "algorithm_not_allowed")


async def test_hs256_signed_with_public_key_pem_is_rejected(gateway_key: RsaKey) -> None:
    verifier = verifier_for(StaticKeySet(gateway_key.jwks()))
    signing_input = f"{b64url({'alg': 'HS256', 'typ': 'JWT', 'kid': gateway_key.kid})}.{b64url(claims())}"
    for secret in (gateway_key.public_pem.encode(), json.dumps(gateway_key.jwk()).encode()):
        sig = hmac.new(secret, signing_input.encode(), hashlib.sha256).digest()
        await assert_rejected(verifier, f"{signing_input}.{b64url(sig)}", "algorithm_not_allowed")


def test_symmetric_algorithms_cannot_be_allowed(gateway_key: RsaKey) -> None:
    for algs in (("HS256",), ("RS256", "HS256"), ("none",), ()):
        with pytest.raises(ValueError):
            verifier_for(StaticKeySet(gateway_key.jwks()), algorithms=algs)


async def test_other_asymmetric_alg_than_allowed_is_rejected(gateway_key: RsaKey) -> None:
    verifier = verifier_for(StaticKeySet(gateway_key.jwks()))
    await assert_rejected(verifier, gateway_key.sign(claims(), alg="RS512"), "algorithm_not_allowed")


async def test_expired_token_is_rejected(gateway_key: RsaKey) -> None:
    verifier = verifier_for(StaticKeySet(gateway_key.jwks()))
    now = int(time.time())
    await assert_rejected(verifier, gateway_key.sign(claims(iat=now - 900, nbf=now - 900, exp=now - 60)), "expired")


async def test_not_yet_valid_token_is_rejected(gateway_key: RsaKey) -> None:
    verifier = verifier_for(StaticKeySet(gateway_key.jwks()))
    now = int(time.time())
    await assert_rejected(verifier, gateway_key.sign(claims(nbf=now + 300, exp=now + 900)), "not_yet_valid")


async def test_token_issued_in_future_is_rejected(gateway_key: RsaKey) -> None:
    verifier = verifier_for(StaticKeySet(gateway_key.jwks()))
    now = int(time.time())
    await assert_rejected(verifier, gateway_key.sign(claims(iat=now + 3600, nbf=...)), "issued_in_future")


async def test_wrong_issuer_is_rejected(gateway_key: RsaKey) -> None:
    verifier = verifier_for(StaticKeySet(gateway_key.jwks()))
    await assert_rejected(verifier, gateway_key.sign(claims(iss="https://evil.example")), "wrong_issuer")
    await assert_rejected(verifier, gateway_key.sign(claims(iss=...)), "missing_claim")


async def test_wrong_audience_is_rejected(gateway_key: RsaKey) -> None:
    verifier = verifier_for(StaticKeySet(gateway_key.jwks()))
    await assert_rejected(verifier, gateway_key.sign(claims(aud="govdata-data")), "wrong_audience")
    await assert_rejected(verifier, gateway_key.sign(claims(aud=["a", "b"])), "wrong_audience")
    # python-jose alone would accept a token without `aud`.
    await assert_rejected(verifier, gateway_key.sign(claims(aud=...)), "missing_claim")


async def test_tampered_payload_is_rejected(gateway_key: RsaKey) -> None:
    verifier = verifier_for(StaticKeySet(gateway_key.jwks()))
    header, payload, signature = gateway_key.sign(claims()).split(".")
    decoded = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    decoded["dept"] = "YC-ZSJ"
    decoded["roles"] = ["bureau_admin"]
    await assert_rejected(verifier, f"{header}.{b64url(decoded)}.{signature}", "bad_signature")


async def test_tampered_header_is_rejected(gateway_key: RsaKey) -> None:
    verifier = verifier_for(StaticKeySet(gateway_key.jwks()))
    _, payload, signature = gateway_key.sign(claims()).split(".")
    header = b64url({"alg": "RS256", "kid": gateway_key.kid, "x": 1})
    await assert_rejected(verifier, f"{header}.{payload}.{signature}", "bad_signature")


async def test_unknown_kid_is_rejected_and_refresh_is_throttled(
    gateway_key: RsaKey, other_key: RsaKey, jwks_server: JwksServer
) -> None:
    clock = Clock()
    keyset = JWKSKeySet(jwks_server.url, cache_seconds=300, min_refresh_interval=10, clock=clock)
    verifier = verifier_for(keyset)
    await verifier.verify(gateway_key.sign(claims()))
    assert jwks_server.requests == 1

    clock.now += 10  # throttle window over: the first unknown kid may refresh once
    for i in range(20):
        await assert_rejected(verifier, other_key.sign(claims(), kid=f"forged-{i}"), "unknown_key")
        clock.now += 0.1
    assert jwks_server.requests == 2, "unknown kids refreshed the keyset more than once per window"

    clock.now += 10
    await assert_rejected(verifier, other_key.sign(claims()), "unknown_key")
    assert jwks_server.requests == 3
    # Known kids never wait for or cause a refresh.
    await verifier.verify(gateway_key.sign(claims()))
    assert jwks_server.requests == 3


async def test_other_key_claiming_real_kid_is_rejected(gateway_key: RsaKey, other_key: RsaKey) -> None:
    verifier = verifier_for(StaticKeySet(gateway_key.jwks()))
    forged = other_key.sign(claims(roles=["bureau_admin"]), kid=gateway_key.kid)
    await assert_rejected(verifier, forged, "bad_signature")


async def test_garbage_is_rejected(gateway_key: RsaKey) -> None:
    verifier = verifier_for(StaticKeySet(gateway_key.jwks()))
    for garbage in ("garbage", "a.b.c", "..", "", "eyJ.eyJ.", "x" * 20_000, None, b"bytes", 42):
        await assert_rejected(verifier, garbage, "malformed")
    header = b64url({"alg": "RS256", "kid": gateway_key.kid})
    await assert_rejected(verifier, f"{header}.!!!.???", "bad_signature")


async def test_missing_kid_is_rejected(gateway_key: RsaKey) -> None:
    verifier = verifier_for(StaticKeySet(gateway_key.jwks()))
    token = jwt.encode(claims(), gateway_key.signer(), algorithm="RS256")
    await assert_rejected(verifier, token, "missing_kid")


async def test_missing_exp_is_rejected(gateway_key: RsaKey) -> None:
    verifier = verifier_for(StaticKeySet(gateway_key.jwks()))
    await assert_rejected(verifier, gateway_key.sign(claims(exp=...)), "missing_claim")


async def test_malformed_time_claims_are_rejected(gateway_key: RsaKey) -> None:
    verifier = verifier_for(StaticKeySet(gateway_key.jwks()))
    far = int(time.time()) + 600
    for bad in ({"exp": None}, {"exp": [far]}, {"exp": str(far)}, {"nbf": "0"}, {"iat": {}}):
        await assert_rejected(verifier, gateway_key.sign(claims(**bad)), "malformed_claims")


async def test_malformed_identity_claims_are_rejected(gateway_key: RsaKey) -> None:
    verifier = verifier_for(StaticKeySet(gateway_key.jwks()))
    for bad in ({"roles": "bureau_admin"}, {"roles": [1]}, {"dept": ["YC-GA"]}, {"sub": ""}):
        await assert_rejected(verifier, gateway_key.sign(claims(**bad)), "malformed_claims")


async def test_crit_header_is_rejected(gateway_key: RsaKey) -> None:
    verifier = verifier_for(StaticKeySet(gateway_key.jwks()))
    token = jwt.encode(
        claims(),
        gateway_key.signer(),
        algorithm="RS256",
        headers={"kid": gateway_key.kid, "crit": ["exp"]},
    )
    await assert_rejected(verifier, token, "unsupported_header")


async def test_key_published_for_another_alg_is_not_used(gateway_key: RsaKey) -> None:
    jwks = {"keys": [{**gateway_key.jwk(), "alg": "RS512"}]}
    verifier = verifier_for(StaticKeySet(jwks), algorithms=("RS256", "RS512"))
    await assert_rejected(verifier, gateway_key.sign(claims()), "key_not_usable")


# --------------------------------------------------------------------------------------------- FastAPI


@pytest.fixture
def api(gateway_key: RsaKey) -> FastAPI:
    app = FastAPI()
    install_error_handlers(app)
    app.state.token_verifier = verifier_for(StaticKeySet(gateway_key.jwks()))

    @app.get("/me")
    async def me(caller: CurrentCaller) -> dict[str, Any]:
        return {"sub": caller.sub, "dept": caller.dept, "roles": sorted(caller.roles)}

    @app.post("/review")
    async def review(
        caller: Annotated[Caller, Depends(requires_role(Role.BUREAU_ADMIN, Role.AUDITOR))],
    ) -> dict[str, Any]:
        return {"reviewed_by": caller.sub}

    return app


async def call(app: FastAPI, method: str, path: str, token: str | None = None, **headers: str) -> httpx.Response:
    if token is not None:
        headers["Authorization"] = f"Bearer {token}"
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://svc") as client:
        return await client.request(method, path, headers=headers)


async def test_dependency_without_header_is_401_problem(api: FastAPI) -> None:
    resp = await call(api, "GET", "/me")
    assert resp.status_code == 401
    assert resp.headers["content-type"].startswith(PROBLEM_JSON)
    assert resp.headers["www-authenticate"] == "Bearer"
    body = resp.json()
    assert body["code"] == "unauthenticated" and body["status"] == 401 and body["detail"]


async def test_dependency_with_other_scheme_is_401(api: FastAPI) -> None:
    resp = await call(api, "GET", "/me", Authorization="Basic Z2Etc3lzdGVtOng=")
    assert (resp.status_code, resp.json()["code"]) == (401, "unauthenticated")


async def test_dependency_with_bad_token_is_401_invalid_token(api: FastAPI, other_key: RsaKey) -> None:
    resp = await call(api, "GET", "/me", other_key.sign(claims(), kid="gw-key-1"))
    assert resp.status_code == 401
    assert resp.headers["www-authenticate"] == 'Bearer error="invalid_token"'
    assert resp.json()["code"] == "invalid_token" and resp.json()["reason"] == "bad_signature"


async def test_dependency_valid_token(api: FastAPI, gateway_key: RsaKey) -> None:
    resp = await call(api, "GET", "/me", gateway_key.sign(claims()))
    assert resp.status_code == 200
    assert resp.json() == {"sub": "ga-system", "dept": "YC-GA", "roles": ["dept_operator"]}


async def test_dependency_wrong_role_is_403(api: FastAPI, gateway_key: RsaKey) -> None:
    resp = await call(api, "POST", "/review", gateway_key.sign(claims()))
    assert resp.status_code == 403
    body = resp.json()
    assert body["code"] == "forbidden_role"
    assert body["required_roles"] == ["bureau_admin", "auditor"]
    assert "bureau_admin" in body["detail"] and "县政务服务和大数据管理局管理员" in body["detail"]


async def test_dependency_right_role_is_200(api: FastAPI, gateway_key: RsaKey) -> None:
    token = gateway_key.sign(claims(sub="auditor", dept="YC-ZSJ", roles=["auditor"]))
    resp = await call(api, "POST", "/review", token)
    assert (resp.status_code, resp.json()) == (200, {"reviewed_by": "auditor"})


def test_requires_role_refuses_unknown_roles() -> None:
    with pytest.raises(ValueError):
        requires_role("bureau-admin")
    with pytest.raises(ValueError):
        requires_role()
