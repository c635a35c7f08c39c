"""The push rules the transports call: subscriptions (validated), mutes, the public key."""

from __future__ import annotations

import base64
import binascii

from cryptography.hazmat.primitives.asymmetric import ec

from ..clock import utcnow
from ..db.push import PushRepository, Subscription
from ..errors import InvalidPayload, ServiceUnavailable
from ..schemas import PushSubscriptionIn
from .endpoints import EndpointPolicy, EndpointRefused
from .keys import VapidKeys

# A user's devices; a new one beyond replaces the one renewed longest ago.
MAX_SUBSCRIPTIONS_PER_USER = 10


def _decoded(value: str) -> bytes:
    try:
        return base64.urlsafe_b64decode(value + "=" * (-len(value) % 4))
    except (binascii.Error, ValueError):
        raise InvalidPayload("keys must be base64url") from None


class PushService:
    def __init__(
        self, repository: PushRepository, keys: VapidKeys | None, policy: EndpointPolicy
    ) -> None:
        self._repository = repository
        self._keys = keys
        self._policy = policy

    @property
    def enabled(self) -> bool:
        return self._keys is not None

    def public_key(self) -> str:
        """The application server key (base64url) browsers subscribe with."""
        if self._keys is None:
            raise ServiceUnavailable("push notifications are not configured on this server")
        return self._keys.public_key

    async def subscribe(self, user_id: int, subscription: PushSubscriptionIn) -> None:
        """Store a browser's PushSubscription; the same endpoint again updates it."""
        try:
            self._policy.check(subscription.endpoint)
        except EndpointRefused as refused:
            raise InvalidPayload(str(refused)) from None
        try:
            ec.EllipticCurvePublicKey.from_encoded_point(
                ec.SECP256R1(), _decoded(subscription.keys.p256dh)
            )
        except ValueError:
            raise InvalidPayload(
                "keys.p256dh must be a P-256 public key (uncompressed point)"
            ) from None
        if len(_decoded(subscription.keys.auth)) != 16:
            raise InvalidPayload("keys.auth must be 16 bytes")
        await self._repository.subscribe(
            user_id,
            Subscription(subscription.endpoint, subscription.keys.p256dh, subscription.keys.auth),
            utcnow(),
            keep=MAX_SUBSCRIPTIONS_PER_USER,
        )

    async def unsubscribe(self, user_id: int, endpoint: str) -> bool:
        return await self._repository.unsubscribe(user_id, endpoint)

    async def mute(self, user_id: int, show_id: int) -> None:
        await self._repository.mute(user_id, show_id, utcnow())

    async def unmute(self, user_id: int, show_id: int) -> None:
        await self._repository.unmute(user_id, show_id)
