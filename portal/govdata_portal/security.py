"""Headers every answer of the portal carries, and the cookies a route asked for (auth.set_cookie).

Plain ASGI, like the services' request middleware, so it wraps every response, error pages included.
"""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

# Nothing inline, nothing from elsewhere: the pages use portal.css and the vendored htmx only. connect-src for
# htmx's requests back to the portal.
CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
    "form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
)

PAGE_HEADERS = [
    (b"content-security-policy", CSP.encode()),
    # A page holds the person's data: never kept, so after 退出 the back button shows none.
    (b"cache-control", b"no-store"),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"same-origin"),
    (b"x-frame-options", b"DENY"),
]
# The stylesheet and script carry no data; revalidated so a new release is seen at once.
STATIC_HEADERS = [(b"cache-control", b"no-cache"), (b"x-content-type-options", b"nosniff")]


class SecurityHeaders:
    def __init__(self, app: ASGIApp, *, cookie_secure: bool = True) -> None:
        self.app = app
        self.cookie_secure = cookie_secure

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        static = scope["path"].startswith("/static/")

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                drop = {b"cache-control"} if not static else set()
                headers = [(k, v) for k, v in message.get("headers", []) if k.lower() not in drop]
                headers += STATIC_HEADERS if static else PAGE_HEADERS
                for change in scope.get("state", {}).get("cookies", {}).values():
                    headers.append((b"set-cookie", change.header(self.cookie_secure).encode("latin-1")))
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, send_with_headers)
