"""`AuthorizeFirst`: a route's caller and role gates are settled before its body is read, so a caller of the wrong
role gets 403 (no token: 401) whatever the body — even one FastAPI could not parse — while the right caller gets
the 422 naming the field. In-process (ASGI), no server."""

from __future__ import annotations

import httpx
import pytest
from fastapi import APIRouter, Depends, FastAPI, File, UploadFile
from govdata_shared.auth import AuthorizeFirst, CurrentCaller, DepartmentStaff, Role, requires_role
from govdata_shared.errors import install_error_handlers
from govdata_shared.testing import TestTokens
from pydantic import BaseModel


class Thing(BaseModel):
    name: str


router = APIRouter(route_class=AuthorizeFirst)
bureau_only = requires_role(Role.BUREAU_ADMIN, code="bureau_role_required")


@router.post("/declared", dependencies=[Depends(bureau_only)])
async def declared(body: Thing, caller: CurrentCaller) -> dict:
    return {"name": body.name}


@router.post("/parameter")
async def parameter(body: Thing, caller: DepartmentStaff) -> dict:
    return {"name": body.name}


@router.put("/upload", dependencies=[Depends(bureau_only)])
async def upload(file: UploadFile = File()) -> dict:
    return {"size": len(await file.read())}


@router.post("/open")
async def open_to_all(body: Thing) -> dict:
    """No caller at all: nothing to settle first, FastAPI as usual."""
    return {"name": body.name}


@pytest.fixture
async def client():
    tokens = TestTokens()
    app = FastAPI()
    install_error_handlers(app)
    app.include_router(router, prefix="/api/t")
    app.state.token_verifier = tokens.verifier()
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as http:
        http.tokens = tokens  # type: ignore[attr-defined]
        yield http


JSON = {"Content-Type": "application/json"}
BODIES = [b'{"name": 1}', b'{"name": "\xe5\xbc\xa0', b"", b"[]"]  # wrong type, cut-off JSON, none, not an object


@pytest.mark.parametrize(
    ("path", "wrong", "right", "code"),
    [
        ("/api/t/declared", "ga", "bureau", "bureau_role_required"),
        ("/api/t/parameter", "bureau", "ga", "department_role_required"),
    ],
)
@pytest.mark.parametrize("body", BODIES)
async def test_the_wrong_role_gets_403_whatever_the_body(client, path, wrong, right, code, body) -> None:
    refused = await client.post(path, content=body, headers={**JSON, **client.tokens.as_(wrong)})
    assert refused.status_code == 403 and refused.json()["code"] == code
    assert "errors" not in refused.json()
    anonymous = await client.post(path, content=body, headers=JSON)
    assert anonymous.status_code == 401
    described = await client.post(path, content=body, headers={**JSON, **client.tokens.as_(right)})
    assert described.status_code == 422 and described.json()["errors"]


async def test_the_right_role_with_a_good_body_gets_through(client) -> None:
    ok = await client.post("/api/t/declared", json={"name": "张三"}, headers=client.tokens.as_("bureau"))
    assert ok.status_code == 200 and ok.json() == {"name": "张三"}


async def test_a_broken_upload_is_403_for_the_wrong_role(client) -> None:
    broken = {"Content-Type": "multipart/form-data; boundary=x"}
    refused = await client.put("/api/t/upload", content=b"--x\r\nbroken", headers={**broken, **client.tokens.as_("ga")})
    assert refused.status_code == 403
    missing = await client.put("/api/t/upload", data={"note": "x"}, headers=client.tokens.as_("bureau"))
    assert missing.status_code == 422 and missing.json()["field"] == "file"


async def test_a_route_without_a_caller_is_left_alone(client) -> None:
    assert (await client.post("/api/t/open", content=b"{", headers=JSON)).status_code == 422
    assert (await client.post("/api/t/open", json={"name": "x"})).status_code == 200
