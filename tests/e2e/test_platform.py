"""The foundation through the gateway, as a departmental system sees it: health, tokens, routing, errors."""

from __future__ import annotations

import httpx
import pytest
from govdata_shared.auth import JWKSKeySet, TokenVerifier


def test_gateway_healthz_reports_every_service_and_the_portal(platform):
    response = httpx.get(f"{platform.gateway}/healthz")
    assert response.status_code == 200
    expected = {"catalog": "ok", "sharing": "ok", "verification": "ok", "audit": "ok", "notify": "ok", "portal": "ok"}
    assert response.json() == {"status": "ok", "services": expected}


async def test_token_from_gateway_verifies_against_its_jwks(platform):
    token = platform.token("ga-system")
    verifier = TokenVerifier(
        JWKSKeySet(f"{platform.gateway}/.well-known/jwks.json", cache_seconds=60),
        issuer="urn:yichuan:govdata:gateway",
        audience="govdata-api",
    )
    caller = await verifier.verify(token)
    assert caller.dept == "YC-GA"
    assert "dept_operator" in caller.roles


@pytest.mark.parametrize("service", ["catalog", "sharing", "verification", "audit", "notify"])
def test_each_service_sees_the_caller_through_the_gateway(platform, service):
    token = platform.token("mz-head")
    response = httpx.get(f"{platform.gateway}/api/{service}/whoami", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 200, response.text
    assert response.json() == {"sub": "mz-head", "dept": "YC-MZ", "roles": ["dept_head"]}
    assert response.headers["x-request-id"]


@pytest.mark.parametrize("service", ["catalog", "sharing", "verification", "audit", "notify"])
def test_services_refuse_calls_without_a_token(platform, service):
    response = httpx.get(f"{platform.gateway}/api/{service}/whoami")
    assert response.status_code == 401
    assert response.headers["content-type"].startswith("application/problem+json")
    assert response.json()["code"] == "unauthenticated"


def test_services_refuse_a_token_not_issued_by_the_gateway(platform, tmp_path):
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa
    from jose import jwt

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    forged = jwt.encode(
        {
            "sub": "x",
            "dept": "YC-ZSJ",
            "roles": ["bureau_admin"],
            "iss": "urn:yichuan:govdata:gateway",
            "aud": "govdata-api",
            "exp": 4102444800,
        },
        pem,
        algorithm="RS256",
        headers={"kid": "forged"},
    )
    response = httpx.get(f"{platform.gateway}/api/audit/whoami", headers={"Authorization": f"Bearer {forged}"})
    assert response.status_code == 401


def test_unknown_service_is_a_problem_not_a_crash(platform):
    response = httpx.get(f"{platform.gateway}/api/nothing/here")
    assert response.status_code == 404
    assert response.headers["content-type"].startswith("application/problem+json")


def test_unknown_gateway_path_is_problem_json(platform):
    response = httpx.get(f"{platform.gateway}/auth/no/such/path")  # the gateway's own: other paths are the portal's
    assert response.status_code == 404
    assert response.json()["status"] == 404


def test_service_openapi_is_served_through_the_gateway(platform):
    response = httpx.get(f"{platform.gateway}/api/catalog/openapi.json")
    assert response.status_code == 200
    assert "/api/catalog/whoami" in response.json()["paths"]


def test_stopped_service_gives_502_problem_and_health_names_it(platform):
    platform.stop("audit")
    try:
        response = httpx.get(f"{platform.gateway}/api/audit/whoami")
        assert response.status_code == 502
        assert response.json()["code"] == "upstream_unavailable"
        health = httpx.get(f"{platform.gateway}/healthz")
        assert health.status_code == 503
        assert health.json()["services"]["audit"] == "unavailable"
        assert health.json()["services"]["catalog"] == "ok"
    finally:
        platform.start("audit")
        platform.wait_healthy()


def test_gateway_serves_the_portal_at_the_root(platform):
    response = httpx.get(f"{platform.gateway}/")  # not signed in: off to the sign-in
    assert response.status_code in (302, 303), response.text
    assert response.headers["Location"].startswith("/signin")
    signin = httpx.get(f"{platform.gateway}/signin")  # which sends the browser to the gateway's login page
    assert signin.status_code in (302, 303), signin.text
    assert signin.headers["Location"].startswith(f"{platform.gateway}/auth/authorize?")


def test_api_docs_merge_every_running_service(platform):
    response = httpx.get(f"{platform.gateway}/api/openapi.json")
    assert response.status_code == 200
    document = response.json()
    assert "x-govdata-unavailable" not in document
    for service in ("catalog", "sharing", "verification", "audit", "notify"):
        assert f"/api/{service}/whoami" in document["paths"], service
    assert "/auth/token" in document["paths"] and "/data/{resource_id}/{path}" in document["paths"]
    page = httpx.get(f"{platform.gateway}/api/docs")
    assert page.status_code == 200 and "swagger-ui" in page.text
