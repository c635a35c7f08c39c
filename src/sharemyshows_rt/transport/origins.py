"""Which browser origins may open a socket or make a state-changing REST request with the
cookie: those in CORS_ALLOWED_ORIGINS, and the server's own (a page it serves itself, such
as /demo). Any other Origin is refused: that is the defence against cross-site WebSocket
hijacking and cross-site request forgery with the victim's cookie."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


class OriginCheck:
    """A python-engineio `cors_allowed_origins` callable, and the REST guard's rule."""

    def __init__(self, allowed: list[str]) -> None:
        self._allowed = frozenset(origin.rstrip("/") for origin in allowed)

    def __call__(self, origin: str | None, environ: Mapping[str, Any]) -> bool:
        if not origin:
            return True  # not a browser: the contract lets it in
        return self.allows(origin, environ.get("wsgi.url_scheme", "http"), environ.get("HTTP_HOST"))

    def allows(self, origin: str, scheme: str, host: str | None) -> bool:
        """True for an allowed origin, or the server's own (`scheme://host` of the request;
        behind a proxy, the scheme uvicorn took from X-Forwarded-Proto)."""
        if origin in self._allowed:
            return True
        return bool(host) and origin == f"{scheme}://{host}"
