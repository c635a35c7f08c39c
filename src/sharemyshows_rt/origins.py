"""Which browser origins may open a socket: those in CORS_ALLOWED_ORIGINS, and the server's
own (a page it serves itself, such as /demo). Any other Origin is refused: that is the
defence against cross-site WebSocket hijacking with the victim's cookie."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


class OriginCheck:
    """A python-engineio `cors_allowed_origins` callable."""

    def __init__(self, allowed: list[str]) -> None:
        self._allowed = frozenset(origin.rstrip("/") for origin in allowed)

    def __call__(self, origin: str | None, environ: Mapping[str, Any]) -> bool:
        if not origin:
            return True  # not a browser: the contract lets it in
        if origin in self._allowed:
            return True
        host = environ.get("HTTP_HOST")
        return bool(host) and origin == f"{environ.get('wsgi.url_scheme', 'http')}://{host}"
