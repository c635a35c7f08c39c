"""REST routes for push: the public key, subscriptions, and muting a show."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from ..chat.auth import Authenticator, Identity
from ..chat.mutes import set_muted
from ..chat.service import ChatService
from ..push.service import PushService
from ..schemas import MuteState, PushEndpoint, PushSubscriptionIn, Subscribed, VapidKey
from .routes import JSON, M, show_id_of, validated


class PushApi:
    def __init__(self, push: PushService, chat: ChatService, authenticator: Authenticator) -> None:
        self._push = push
        self._chat = chat
        self._auth = authenticator

    def routes(self) -> list[Route]:
        return [
            Route("/api/push/vapid_public_key", self.public_key, methods=["GET"]),
            Route("/api/push/subscriptions", self.subscribe, methods=["POST"]),
            Route("/api/push/subscriptions", self.unsubscribe, methods=["DELETE"]),
            Route("/api/shows/{show_id}/mute", self.mute, methods=["POST", "PUT"]),
            Route("/api/shows/{show_id}/mute", self.unmute, methods=["DELETE"]),
        ]

    async def _identify(self, request: Request) -> Identity:
        return await self._auth.identify(self._auth.http_token(request.headers))

    async def public_key(self, request: Request) -> Response:
        await self._identify(request)
        return JSON(VapidKey(public_key=self._push.public_key()).model_dump())

    async def subscribe(self, request: Request) -> Response:
        """The browser's PushSubscription JSON; 201 (stored or updated)."""
        identity = await self._identify(request)
        subscription = await _body(request, PushSubscriptionIn)
        await self._push.subscribe(identity.user_id, subscription)
        return JSON(Subscribed(endpoint=subscription.endpoint).model_dump(), 201)

    async def unsubscribe(self, request: Request) -> Response:
        """By endpoint (JSON body, or `?endpoint=`); 204 either way."""
        identity = await self._identify(request)
        if "endpoint" in request.query_params:
            endpoint = validated(PushEndpoint, dict(request.query_params)).endpoint
        else:
            endpoint = (await _body(request, PushEndpoint)).endpoint
        await self._push.unsubscribe(identity.user_id, endpoint)
        return Response(status_code=204)

    async def mute(self, request: Request) -> Response:
        identity = await self._identify(request)
        show_id = show_id_of(request)
        await set_muted(self._chat, self._push, identity.user_id, show_id, True)
        return JSON(MuteState(show_id=show_id, muted=True).model_dump())

    async def unmute(self, request: Request) -> Response:
        identity = await self._identify(request)
        show_id = show_id_of(request)
        await set_muted(self._chat, self._push, identity.user_id, show_id, False)
        return JSON(MuteState(show_id=show_id, muted=False).model_dump())


async def _body(request: Request, model: type[M]) -> M:
    return validated(model, await request.body(), raw_json=True)
