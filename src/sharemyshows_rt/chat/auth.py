"""Who is connecting: the access token (auth payload, `token` query parameter, cookie),
checked as Flask-JWT-Extended issues it, and the user it names."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs

import jwt
from starlette.requests import cookie_parser

from .. import metrics
from ..db.repositories import UserRecord, UserRepository
from ..errors import Unauthorized
from ..logs import now_and_then
from ..schemas.limits import MAX_DB_INT

log = logging.getLogger(__name__)
ALGORITHM = "HS256"  # pinned: a token signed any other way (or not at all) is refused
LEEWAY_SECONDS = 10  # clock skew between this host and the one that issued the token
VERIFIED_TOKENS_KEPT = 50_000


@dataclass(frozen=True, slots=True)
class Identity:
    user_id: int
    username: str
    # A site admin (the ADMIN_CLAIM claim is the JSON `true`): moderates every show.
    is_admin: bool = False


class Authenticator:
    """Finds and verifies access tokens, and resolves them to an existing user."""

    def __init__(
        self,
        secret: str,
        cookie_name: str,
        users: UserRepository,
        remember_seconds: float = 60.0,
        wall_clock: Callable[[], float] = time.time,
        admin_claim: str = "is_admin",
    ) -> None:
        self._admin_claim = admin_claim
        self._secret = secret
        self._cookie_name = cookie_name
        self._users = users
        # Fans reconnect often: a user looked up a moment ago needs no query.
        self._remember = remember_seconds
        self._known: dict[int, tuple[UserRecord, float]] = {}
        self._gone: set[int] = set()  # users found deleted while connected
        self._rechecks: dict[int, asyncio.Task[None]] = {}
        self._loader = UserLoader(users)
        # A fan's app presents the same token on every reconnect and REST call: a token
        # verified once is known (user id, expiry, csrf claim) until PyJWT would refuse it.
        self._verified: dict[str, tuple[int, int, str | None, bool]] = {}
        self._wall_clock = wall_clock

    def socket_token(self, auth: Any, environ: Mapping[str, Any]) -> str | None:
        """The token of a Socket.IO handshake: `auth` payload, then query, then cookie."""
        if isinstance(auth, dict) and isinstance(auth.get("token"), str) and auth["token"]:
            return auth["token"]
        query = parse_qs(environ.get("QUERY_STRING", ""), keep_blank_values=False)
        if query.get("token"):
            return query["token"][0]
        return self.cookie_token(environ.get("HTTP_COOKIE", ""))

    def http_token(self, headers: Mapping[str, str]) -> str | None:
        """The token of a REST call: `Authorization: Bearer`, then the cookie."""
        return self.bearer_token(headers) or self.cookie_token(headers.get("cookie", ""))

    @staticmethod
    def bearer_token(headers: Mapping[str, str]) -> str | None:
        """The `Authorization: Bearer` token of a REST call, if it has one."""
        scheme, _, credentials = headers.get("authorization", "").partition(" ")
        if scheme.lower() == "bearer" and credentials.strip():
            return credentials.strip()
        return None

    def cookie_token(self, header: str) -> str | None:
        # Starlette's parser reads cookies as browsers write them: one malformed cookie
        # of another app on the domain does not hide ours (http.cookies stops at it).
        return cookie_parser(header).get(self._cookie_name) or None if header else None

    def user_id(self, token: str | None) -> int:
        """The user id a valid access token names; raises Unauthorized otherwise."""
        return self.verify(token)[0]

    def csrf_claim(self, token: str | None) -> str | None:
        """The `csrf` claim of a valid token (Flask-JWT-Extended's double submit); None
        without one, or for a token that is not valid (its request is refused anyway)."""
        try:
            return self.verify(token)[1]
        except Unauthorized:
            return None

    def verify(self, token: str | None) -> tuple[int, str | None]:
        """The user id and `csrf` claim of a valid access token; raises Unauthorized."""
        user_id, csrf, _ = self.claims(token)
        return user_id, csrf

    def claims(self, token: str | None) -> tuple[int, str | None, bool]:
        """The user id, `csrf` claim and admin flag of a valid access token."""
        if not token:
            raise Unauthorized("no access token")
        verified = self._verified.get(token)
        if verified is not None:
            if self._wall_clock() < verified[1]:
                return verified[0], verified[2], verified[3]
            del self._verified[token]  # expired: PyJWT says so, and why
        try:
            claims = jwt.decode(
                token,
                self._secret,
                algorithms=[ALGORITHM],
                leeway=LEEWAY_SECONDS,
                options={"require": ["sub", "exp"], "verify_sub": False},
            )
        except jwt.PyJWTError as exc:
            raise Unauthorized(f"invalid token: {type(exc).__name__}") from None
        if claims.get("type", "access") != "access":
            raise Unauthorized("not an access token")
        subject = claims["sub"]
        if isinstance(subject, str) and subject.isdecimal() and len(subject) <= 10:
            subject = int(subject)
        if (
            not isinstance(subject, int)
            or isinstance(subject, bool)
            or not 0 < subject <= MAX_DB_INT
        ):
            raise Unauthorized("the token's subject is not a user id")
        csrf = claims.get("csrf")
        csrf = csrf if isinstance(csrf, str) else None
        # Only the JSON `true`: not "true", not 1.
        admin = claims.get(self._admin_claim) is True
        self._keep_verified(token, subject, claims.get("exp"), csrf, admin)
        return subject, csrf, admin

    def _keep_verified(
        self, token: str, user_id: int, expires: Any, csrf: str | None, admin: bool
    ) -> None:
        if isinstance(expires, bool) or not isinstance(expires, (int, float)):
            return  # PyJWT checked that `exp` is a number; anything else is not remembered
        if len(self._verified) >= VERIFIED_TOKENS_KEPT:
            self._verified.clear()
        # PyJWT refuses once `int(exp) <= now - leeway`.
        self._verified[token] = (user_id, int(expires) + LEEWAY_SECONDS, csrf, admin)

    async def identify(self, token: str | None) -> Identity:
        """The existing user a valid access token names; raises Unauthorized otherwise."""
        user_id, _, admin = self.claims(token)
        user = await self._user(user_id)
        if user is None:
            raise Unauthorized("unknown user")
        return Identity(user.id, user.username, admin)

    def require_user(self, user_id: int) -> None:
        """Raise Unauthorized for a user found deleted. A lookup older than the remembered
        lifetime is renewed in the background, so an event never waits on the database: a
        deleted user's connections are refused from the event after that lookup."""
        if user_id in self._gone:
            raise Unauthorized("unknown user")
        known = self._known.get(user_id)
        if (
            known is None or time.monotonic() - known[1] >= self._remember
        ) and user_id not in self._rechecks:
            task = asyncio.create_task(self._recheck(user_id), name=f"recheck-user-{user_id}")
            self._rechecks[user_id] = task
            task.add_done_callback(lambda _: self._rechecks.pop(user_id, None))

    async def _recheck(self, user_id: int) -> None:
        try:
            user = await self._user(user_id)
        except Exception as exc:
            # The database is away: a user known before is served for another lifetime.
            known = self._known.get(user_id)
            if known is not None:
                self._known[user_id] = (known[0], time.monotonic())
            now_and_then(log, "users", "users not checked again: the database failed (%r)", exc)
            return
        if user is None:
            if len(self._gone) >= 100_000:
                self._gone.clear()
            self._gone.add(user_id)

    async def _user(self, user_id: int) -> UserRecord | None:
        now = time.monotonic()
        known = self._known.get(user_id)
        if known is not None and now - known[1] < self._remember:
            return known[0]
        user = await self._loader.get(user_id)
        if user is None:
            self._known.pop(user_id, None)
        else:
            if len(self._known) >= 100_000:
                self._known.clear()
            self._known[user_id] = (user, now)
            self._gone.discard(user_id)  # SQLite may give a deleted user's id to a new one
        return user


class UserLoader:
    """Looks users up in batches: while one query is out, the lookups that arrive wait
    for the next, which asks for all of them at once (a reconnect storm of thousands of
    fans costs a handful of queries, not thousands of pool checkouts)."""

    BATCH = 500

    def __init__(self, users: UserRepository) -> None:
        self._users = users
        self._waiting: dict[int, list[asyncio.Future[UserRecord | None]]] = {}
        self._running = False

    async def get(self, user_id: int) -> UserRecord | None:
        future: asyncio.Future[UserRecord | None] = asyncio.get_running_loop().create_future()
        self._waiting.setdefault(user_id, []).append(future)
        if not self._running:
            self._running = True
            asyncio.ensure_future(self._run())
        return await future

    async def _run(self) -> None:
        try:
            while self._waiting:
                ids = list(self._waiting)[: self.BATCH]
                futures = {user_id: self._waiting.pop(user_id) for user_id in ids}
                try:
                    with metrics.timed(metrics.DB_SECONDS, "users"):
                        found = await self._users.get_many(ids)
                except Exception as exc:
                    for waiting in futures.values():
                        for future in waiting:
                            if not future.done():
                                future.set_exception(exc)
                    continue
                for user_id, waiting in futures.items():
                    for future in waiting:
                        if not future.done():
                            future.set_result(found.get(user_id))
        finally:
            self._running = False


def issue_token(
    secret: str, user_id: int, *, expires_in: int = 3600, extra: dict[str, Any] | None = None
) -> str:
    """An access token as Flask-JWT-Extended issues it (for operators, demos and tests);
    `extra`: its `additional_claims`."""
    import uuid

    now = int(time.time())
    claims = {
        "sub": str(user_id),
        "type": "access",
        "fresh": False,
        "jti": str(uuid.uuid4()),
        "iat": now,
        "nbf": now,
        "exp": now + expires_in,
        **(extra or {}),
    }
    return jwt.encode(claims, secret, algorithm=ALGORITHM)
