"""Rules of the API docs: how documents are merged, and that the hand-written description of the gateway keeps up
with the code it describes."""

from __future__ import annotations

from typing import Any

import pytest
from govdata_gateway.apidocs.gateway_api import DATA_DENIALS, IDENTITY_OPERATIONS, gateway_document
from govdata_gateway.apidocs.merge import merge, references, resolve, unresolved_refs
from govdata_gateway.registry.api import ROUTES
from govdata_gateway.settings import GatewaySettings
from govdata_shared.contracts.access import DENIAL_REASONS

BASE: dict[str, Any] = {
    "openapi": "3.1.0",
    "info": {"title": "平台", "version": "1", "description": "说明"},
    "paths": {},
    "components": {"schemas": {}},
}


def ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def service(name: str, schemas: dict[str, Any], body: str, *, extra_paths: dict[str, Any] | None = None):
    """A service document with one POST whose body is `body` (a schema name)."""
    operation = {
        "operationId": f"{name}_resolve",
        "requestBody": {"content": {"application/json": {"schema": ref(body)}}},
        "responses": {"200": {"description": "ok"}},
    }
    return {
        "openapi": "3.1.0",
        "info": {"title": f"{name}服务 {name}-svc — 说明", "version": "0.1.0"},
        "paths": {f"/api/{name}/things/{{id}}/resolve": {"post": operation}, **(extra_paths or {})},
        "components": {"schemas": schemas},
    }


def body_schema(document: dict[str, Any], path: str) -> dict[str, Any]:
    return resolve(
        document, document["paths"][path]["post"]["requestBody"]["content"]["application/json"]["schema"]["$ref"]
    )


def test_identical_components_are_shared_and_different_ones_renamed_with_their_references() -> None:
    error = {"type": "object", "properties": {"detail": {"type": "string"}}}
    sharing = service(
        "sharing",
        {"Error": error, "ResolveIn": {"type": "object", "properties": {"approve": {"type": "boolean"}}}},
        "ResolveIn",
    )
    verification = service(
        "verification",
        {"Error": error, "ResolveIn": {"type": "object", "properties": {"outcome": {"type": "string"}}}},
        "ResolveIn",
    )
    merged = merge(BASE, {"sharing": sharing, "verification": verification})

    schemas = merged["components"]["schemas"]
    assert set(schemas) == {"Error", "ResolveIn", "verification.ResolveIn"}
    assert set(body_schema(merged, "/api/sharing/things/{id}/resolve")["properties"]) == {"approve"}
    assert set(body_schema(merged, "/api/verification/things/{id}/resolve")["properties"]) == {"outcome"}
    assert unresolved_refs(merged) == []
    assert sharing["components"]["schemas"]["ResolveIn"] == {
        "type": "object",
        "properties": {"approve": {"type": "boolean"}},
    }
    assert "/api/verification/things/{id}/resolve" not in sharing["paths"], "the inputs are left as they were"


def test_a_component_equal_in_text_is_renamed_when_what_it_refers_to_is() -> None:
    # Both define Wrapper → Inner alike in text, but their Inner differ: sharing's Wrapper must not point at catalog's.
    catalog = service(
        "catalog", {"Wrapper": {"properties": {"inner": ref("Inner")}}, "Inner": {"enum": ["a"]}}, "Wrapper"
    )
    sharing = service(
        "sharing", {"Wrapper": {"properties": {"inner": ref("Inner")}}, "Inner": {"enum": ["b"]}}, "Wrapper"
    )
    merged = merge(BASE, {"catalog": catalog, "sharing": sharing})

    wrapper = body_schema(merged, "/api/sharing/things/{id}/resolve")
    assert resolve(merged, wrapper["properties"]["inner"]["$ref"]) == {"enum": ["b"]}
    assert set(merged["components"]["schemas"]) == {"Wrapper", "Inner", "sharing.Wrapper", "sharing.Inner"}
    assert references(merged["components"]["schemas"]["sharing.Wrapper"]) == {("schemas", "sharing.Inner")}


def test_internal_feeds_and_paths_outside_the_prefix_are_left_out_and_operations_tagged() -> None:
    extra = {
        "/api/catalog/internal/interfaces": {"get": {"responses": {"200": {"description": "gateway only"}}}},
        "/healthz": {"get": {"responses": {"200": {"description": "not routed by the gateway"}}}},
        "/api/catalogue/x": {"get": {"responses": {"200": {"description": "another prefix"}}}},
    }
    catalog = service("catalog", {"In": {"type": "object"}}, "In", extra_paths=extra)
    merged = merge(BASE, {"catalog": catalog})

    assert list(merged["paths"]) == ["/api/catalog/things/{id}/resolve"]
    assert merged["paths"]["/api/catalog/things/{id}/resolve"]["post"]["tags"] == ["catalog服务 catalog-svc"]
    assert {"name": "catalog服务 catalog-svc", "description": "catalog服务 catalog-svc — 说明"} in merged["tags"]


def test_a_service_without_a_document_is_named() -> None:
    merged = merge(BASE, {"catalog": service("catalog", {"In": {}}, "In"), "audit": None})
    assert merged["x-govdata-unavailable"] == ["audit"]
    assert "audit" in merged["info"]["description"]
    assert BASE["info"]["description"] == "说明"


def test_a_path_described_twice_is_an_error() -> None:
    base = {**BASE, "paths": {"/api/catalog/things/{id}/resolve": {}}}
    with pytest.raises(ValueError, match="already holds"):
        merge(base, {"catalog": service("catalog", {"In": {}}, "In")})


def test_unresolved_references_are_found() -> None:
    document = {"paths": {"/x": {"get": {"responses": {"200": {"$ref": "#/components/responses/Gone"}}}}}}
    assert unresolved_refs(document) == ["#/components/responses/Gone"]


def test_every_denial_reason_of_the_access_contract_is_described() -> None:
    assert set(DATA_DENIALS) == set(DENIAL_REASONS)
    for reason, (status, code, meaning) in DATA_DENIALS.items():
        assert status in (401, 403, 429) and code and meaning, reason


def test_every_identity_route_is_described() -> None:
    assert set(IDENTITY_OPERATIONS) == {(method, path) for method, path, *_ in ROUTES}
    statuses = {(method, path): status for method, path, _, status, _ in ROUTES}
    for key, (_, _, _, status, _) in IDENTITY_OPERATIONS.items():
        assert status == statuses[key], key


def test_gateway_document_stands_on_its_own() -> None:
    document = gateway_document(GatewaySettings())
    assert unresolved_refs(document) == []
    assert document["openapi"] == "3.1.0"
    assert "govdata-data" in document["info"]["description"]
