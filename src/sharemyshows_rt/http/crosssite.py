"""Cross-site request forgery: a page on another site can make the victim's browser send a
state-changing REST request with the cookie (CORS hides only the answer, the request is
made). One ASGI middleware in front of every REST route refuses such requests."""

from __future__ import annotations

import hmac
from urllib.parse import urlsplit

from starlette.datastructures import Headers
from starlette.types import ASGIApp, Receive, Scope, Send

from ..chat.auth import Authenticator
from ..errors import ChatError, Forbidden, UnsupportedMediaType
from ..transport.origins import OriginCheck
from .routes import JSON

STATE_CHANGING = frozenset({"POST", "PUT", "PATCH", "DELETE"})
CSRF_HEADER = "x-csrf-token"  # Flask-JWT-Extended's JWT_ACCESS_CSRF_HEADER_NAME


class CrossSiteGuard:
    """A state-changing request authenticated by the cookie must come from an allowed origin
    (Origin, else Referer), carry JSON when it has a body, and the X-CSRF-TOKEN header
    equal to the token's `csrf` claim when it has one. `Authorization: Bearer` requests
    need none of it: a browser never adds that header by itself."""

    def __init__(self, app: ASGIApp, origins: OriginCheck, authenticator: Authenticator) -> None:
        self._app = app
        self._origins = origins
        self._auth = authenticator

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] in STATE_CHANGING:
            refusal = self._refusal(scope, Headers(scope=scope))
            if refusal is not None:
                await JSON(refusal.http_body(), refusal.status)(scope, receive, send)
                return
        await self._app(scope, receive, send)

    def _refusal(self, scope: Scope, headers: Headers) -> ChatError | None:
        if self._auth.bearer_token(headers) is not None:
            return None
        token = self._auth.cookie_token(headers.get("cookie", ""))
        if token is None:
            return None  # not authenticated by the cookie: the route refuses it if it must
        origin = headers.get("origin") or referer_origin(headers.get("referer"))
        if not origin:
            return Forbidden("a request with the cookie needs an Origin or Referer header")
        if not self._origins.allows(origin, scope.get("scheme", "http"), headers.get("host")):
            return Forbidden(f"origin {origin[:100]!r} may not make this request")
        claim = self._auth.csrf_claim(token)
        if claim is not None and not hmac.compare_digest(
            headers.get(CSRF_HEADER, "").encode(), claim.encode()
        ):
            return Forbidden("missing or wrong X-CSRF-TOKEN header")
        if has_body(headers) and not is_json(headers.get("content-type", "")):
            return UnsupportedMediaType("the body must be application/json")
        return None


def referer_origin(referer: str | None) -> str | None:
    """The origin (`scheme://host[:port]`) of a Referer header, or None."""
    if not referer:
        return None
    try:
        parts = urlsplit(referer)
    except ValueError:
        return None
    if not parts.scheme or not parts.netloc or "@" in parts.netloc:
        return None
    return f"{parts.scheme}://{parts.netloc}"


def has_body(headers: Headers) -> bool:
    length = headers.get("content-length")
    return "transfer-encoding" in headers or (length is not None and length.strip() != "0")


def is_json(content_type: str) -> bool:
    return content_type.partition(";")[0].strip().lower() == "application/json"
