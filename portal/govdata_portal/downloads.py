"""Files passed through the portal (需求单, 证明材料, the audit log's export and annual report): fetched from the API as
the signed-in person and handed on to the browser while they arrive, never held whole in the portal."""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from typing import Any
from urllib.parse import quote

from fastapi.responses import StreamingResponse

from govdata_portal.auth import PersonApi

# Headers of the service's answer that go on to the browser with the file.
PASSED_HEADERS = ("x-content-sha256",)


def content_disposition(filename: str | None) -> str:
    """A download named `filename`: quoted as it is when plain ASCII, else in RFC 5987 form (`filename*`)."""
    if not filename:
        return "attachment"
    if filename.isascii() and filename.isprintable() and '"' not in filename and "\\" not in filename:
        return f'attachment; filename="{filename}"'
    return f"attachment; filename*=UTF-8''{quote(filename, safe='')}"


async def relay_download(
    api: PersonApi, path: str, params: Mapping[str, Any] | None = None, *, filename: str | None = None
) -> StreamingResponse:
    """GET `path` as the person and pass the file on while it arrives: its content type, its own
    Content-Disposition (else one naming `filename`) and its checksum header."""
    upstream = await api.stream(path, **(params or {}))
    headers = {"Content-Disposition": upstream.headers.get("content-disposition") or content_disposition(filename)}
    headers.update({name: upstream.headers[name] for name in PASSED_HEADERS if name in upstream.headers})

    async def body() -> AsyncIterator[bytes]:
        try:
            async for chunk in upstream.aiter_bytes():
                yield chunk
        finally:  # also when the browser goes away mid-download
            await upstream.aclose()

    return StreamingResponse(
        body(), media_type=upstream.headers.get("content-type", "application/octet-stream"), headers=headers
    )
