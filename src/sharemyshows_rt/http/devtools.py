"""Development mode only: the demo chat page at /demo and a login that sets the access-token
cookie, so that a person (or a browser test) can chat without the ShareMyShows app."""

from __future__ import annotations

import re
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.types import Scope

from ..chat.auth import issue_token
from ..config import Settings
from ..db.repositories import UserRepository
from .routes import validated

DEMO_DIRECTORY = Path(__file__).resolve().parent.parent / "demo"
TOKEN_SECONDS = 12 * 3600
BUNDLE = "vendor/socket.io.min.js"  # copied by ./scripts/build-demo, not in git
BUNDLE_MISSING = (
    "demo page: the socket.io client bundle is missing; "
    "run ./scripts/build-demo (needs Node.js 20+)"
)


def demo_bundle_missing() -> bool:
    """True when /demo/ cannot connect: its Socket.IO client bundle was never built."""
    return not (DEMO_DIRECTORY / BUNDLE).is_file()


class DemoFiles(StaticFiles):
    """The demo directory; the missing bundle answers with what to run, not a bare 404."""

    async def get_response(self, path: str, scope: Scope) -> Response:
        try:
            return await super().get_response(path, scope)
        except HTTPException as exc:
            if exc.status_code == 404 and path == BUNDLE:
                return PlainTextResponse(BUNDLE_MISSING + "\n", status_code=404)
            raise


class DevLogin(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)

    username: str = Field(min_length=1, max_length=40, pattern=re.compile(r"^[A-Za-z0-9_.-]+$"))
    admin: bool = False  # a token with the admin claim: this user moderates every show


class DevTools:
    def __init__(self, users: UserRepository, settings: Settings) -> None:
        self._users = users
        self._secret = settings.jwt_secret
        self._cookie_name = settings.jwt_cookie_name
        self._admin_claim = settings.admin_claim

    def routes(self) -> list[BaseRoute]:
        return [
            Route("/api/dev/login", self.login, methods=["POST"]),
            Mount("/demo", DemoFiles(directory=DEMO_DIRECTORY, html=True), name="demo"),
        ]

    async def login(self, request: Request) -> Response:
        """`{"username", "admin"?}` -> that user (created if new), a token (with the admin
        claim when asked), and the cookie set."""
        body = validated(DevLogin, await request.body(), raw_json=True)
        user = await self._users.get_or_create(body.username)
        claims = {self._admin_claim: True} if body.admin else None
        token = issue_token(self._secret, user.id, expires_in=TOKEN_SECONDS, extra=claims)
        answer = {"user_id": user.id, "username": user.username, "is_admin": body.admin}
        response = JSONResponse({**answer, "token": token})
        # Lax: sent to the API from pages of the same site (localhost:3000 -> localhost:8000).
        response.set_cookie(
            self._cookie_name, token, max_age=TOKEN_SECONDS, httponly=True, samesite="lax", path="/"
        )
        return response
