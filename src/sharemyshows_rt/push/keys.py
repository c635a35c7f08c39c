"""VAPID keys (RFC 8292): from configuration, generated for `vapid-keys`, or kept beside the
SQLite database in development."""

from __future__ import annotations

import base64
import logging
from dataclasses import dataclass
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from py_vapid import Vapid02

log = logging.getLogger(__name__)


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


@dataclass(frozen=True)
class VapidKeys:
    vapid: Vapid02

    @property
    def public_key(self) -> str:
        """The application server key browsers subscribe with (uncompressed P-256 point)."""
        return b64url(
            self.vapid.public_key.public_bytes(
                serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
            )
        )

    @property
    def private_key(self) -> str:
        """The private key as VAPID_PRIVATE_KEY takes it (raw 32 bytes, base64url)."""
        number = self.vapid.private_key.private_numbers().private_value
        return b64url(number.to_bytes(32, "big"))


def generate() -> VapidKeys:
    vapid = Vapid02()
    vapid.generate_keys()
    return VapidKeys(vapid)


def parse(text: str) -> VapidKeys:
    """A private key as base64url raw bytes (what `vapid-keys` prints) or PEM."""
    text = text.strip()
    try:
        if text.startswith("-----BEGIN"):
            return VapidKeys(Vapid02.from_pem(text.encode()))
        raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except Exception as exc:
        raise ValueError(f"not a VAPID private key ({type(exc).__name__})") from None
    if len(raw) != 32:
        raise ValueError(f"a raw VAPID private key is 32 bytes, not {len(raw)}")
    try:
        return VapidKeys(Vapid02.from_raw(text.encode()))
    except Exception as exc:
        raise ValueError(f"not a VAPID private key ({type(exc).__name__})") from None


def beside_database(database: Path) -> VapidKeys:
    """Development: the key pair kept next to the SQLite file, made on first use."""
    path = database.with_name(database.stem + ".vapid.pem")
    if path.exists():
        return VapidKeys(Vapid02.from_file(str(path)))
    keys = generate()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(keys.vapid.private_pem())
    path.chmod(0o600)
    log.warning("generated a development VAPID key pair in %s", path)
    return keys
