"""HTTP routes of sharing-svc (mounted under /api/sharing)."""

from __future__ import annotations

from fastapi import APIRouter
from govdata_shared.auth import CurrentCaller

router = APIRouter()


@router.get("/whoami")
async def whoami(caller: CurrentCaller) -> dict:
    """The authenticated caller as this service sees it (a check that tokens reach the service)."""
    return {"sub": caller.sub, "dept": caller.dept, "roles": sorted(caller.roles)}
