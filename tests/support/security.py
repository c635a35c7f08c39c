"""The security tests' view of push rows, and a browser's push subscription."""

import base64
import secrets

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from sqlalchemy import text

from .database import Database


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def subscription(endpoint: str | None = None) -> dict:
    """A browser's PushSubscription JSON (valid keys; by default at a real push service, as an
    attacker's own browser subscription would be, so PUSH_SERVICE_HOSTS admits it)."""
    key = (
        ec.generate_private_key(ec.SECP256R1())
        .public_key()
        .public_bytes(serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint)
    )
    return {
        "endpoint": endpoint or f"https://fcm.googleapis.com/fcm/send/{secrets.token_hex(8)}",
        "keys": {"p256dh": b64url(key), "auth": b64url(secrets.token_bytes(16))},
    }


def subscriptions_of(db: Database, user) -> list[str]:
    with db.engine.connect() as conn:
        return list(
            conn.execute(
                text("SELECT endpoint FROM push_subscriptions WHERE user_id = :u"), {"u": user.id}
            ).scalars()
        )


def is_muted(db: Database, user, show) -> bool:
    with db.engine.connect() as conn:
        return (
            conn.execute(
                text("SELECT 1 FROM show_mutes WHERE user_id = :u AND show_id = :s"),
                {"u": user.id, "s": show.id},
            ).first()
            is not None
        )
