"""REST request bodies are bounded: a body past the limit is refused with 413 as soon as its
Content-Length says so, or as soon as that many bytes have arrived, never read whole."""

from __future__ import annotations

from starlette.datastructures import Headers
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ..errors import PayloadTooLarge
from .routes import JSON

MAX_BODY_BYTES = 64 * 1024


class BodyLimit:
    """ASGI middleware: counts the bytes of the body as they are received."""

    def __init__(self, app: ASGIApp, limit: int = MAX_BODY_BYTES) -> None:
        self._app = app
        self._limit = limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self._app(scope, receive, send)
            return
        declared = Headers(scope=scope).get("content-length", "")
        if declared.isdigit() and int(declared) > self._limit:
            error = self._too_large()
            await JSON(error.http_body(), error.status)(scope, receive, send)
            return
        received = 0

        async def bounded() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self._limit:
                    # Raised in the route reading the body: mapped to 413 like any ChatError.
                    raise self._too_large()
            return message

        await self._app(scope, bounded, send)

    def _too_large(self) -> PayloadTooLarge:
        return PayloadTooLarge(f"a request body may have at most {self._limit} bytes")
