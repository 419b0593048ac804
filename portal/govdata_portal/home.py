"""首页: who is signed in and their 待办."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from govdata_portal import todo
from govdata_portal.auth import CurrentSession, PersonApiDep
from govdata_portal.pages import render, today_of

router = APIRouter()


@router.get("/")
async def home(request: Request, session: CurrentSession, api: PersonApiDep) -> Response:
    today = today_of(request)
    waiting = await todo.collect(api, session, today)
    return render(request, "home.html", title="首页", active="home", todo=waiting, today=today)
