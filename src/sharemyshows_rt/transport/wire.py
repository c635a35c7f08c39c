"""The Socket.IO packet encoding, with orjson for speed."""

from __future__ import annotations

import json
from typing import Any

import orjson
from socketio import packet


class _Json:
    """The two functions python-socketio uses from a json module."""

    @staticmethod
    def dumps(data: Any, **_options: Any) -> str:
        return orjson.dumps(data).decode()

    @staticmethod
    def loads(text: str | bytes) -> Any:
        try:
            return orjson.loads(text)
        except orjson.JSONDecodeError:
            # orjson refuses what JSON allows (integers past 64 bits, lone surrogates):
            # decode it anyway, so the payload check can answer with a clear error.
            return json.loads(text)


class OrjsonPacket(packet.Packet):
    """Socket.IO packets encoded and decoded with orjson."""

    json = _Json
    # What this server sends is JSON made from its own payloads, never bytes; otherwise
    # every packet sent (each ack, each reply) walks its whole payload looking for them.
    # Binary packets from clients are still decoded (and refused by the payload check).
    uses_binary_events = False
