"""The AsyncAPI 3.0 description of the Socket.IO events, generated from the event catalog's
pydantic models."""

from __future__ import annotations

from typing import Any

from pydantic.json_schema import models_json_schema

from .. import __version__
from .catalog import ACK_ERROR, CLIENT_EVENTS, SERVER_EVENTS

SCHEMA = "#/components/schemas/{model}"
CHANNEL = {"$ref": "#/channels/chat"}


def document() -> dict[str, Any]:
    """The AsyncAPI 3.0.0 document served at /asyncapi.json."""
    inbound = {e.payload for e in CLIENT_EVENTS.values()}
    outbound = {e.ack for e in CLIENT_EVENTS.values()} | {ACK_ERROR}
    outbound |= {model for model, _ in SERVER_EVENTS.values()}
    _, schemas = models_json_schema(
        [(m, "validation") for m in sorted(inbound, key=lambda m: m.__name__)]
        + [(m, "serialization") for m in sorted(outbound, key=lambda m: m.__name__)],
        ref_template=SCHEMA,
    )
    messages: dict[str, Any] = {}
    operations: dict[str, Any] = {}
    for name, event in CLIENT_EVENTS.items():
        messages[name] = _message(name, event.payload.__name__, event.summary)
        messages[f"{name}_ack"] = {
            "name": f"{name}_ack",
            "summary": f"The acknowledgement of {name}",
            "payload": {
                "oneOf": [
                    {"$ref": SCHEMA.format(model=event.ack.__name__)},
                    {"$ref": SCHEMA.format(model=ACK_ERROR.__name__)},
                ]
            },
        }
        operations[name] = {
            "action": "receive",
            "channel": CHANNEL,
            "summary": event.summary,
            "messages": [_in_channel(name)],
            "reply": {"channel": CHANNEL, "messages": [_in_channel(f"{name}_ack")]},
        }
    for name, (model, summary) in SERVER_EVENTS.items():
        messages[name] = _message(name, model.__name__, summary)
        operations[f"emit_{name}"] = {
            "action": "send",
            "channel": CHANNEL,
            "summary": summary,
            "messages": [_in_channel(name)],
        }
    return {
        "asyncapi": "3.0.0",
        "info": {
            "title": "sharemyshows-rt",
            "version": __version__,
            "description": "The ShareMyShows real-time chat over Socket.IO (namespace /). "
            "Every client event is acknowledged.",
        },
        "defaultContentType": "application/json",
        "channels": {
            "chat": {
                "address": "/socket.io/",
                "title": "The chat namespace",
                "messages": {name: {"$ref": f"#/components/messages/{name}"} for name in messages},
            }
        },
        "operations": operations,
        "components": {"messages": messages, "schemas": schemas.get("$defs", {})},
    }


def _message(name: str, model: str, summary: str) -> dict[str, Any]:
    return {"name": name, "summary": summary, "payload": {"$ref": SCHEMA.format(model=model)}}


def _in_channel(name: str) -> dict[str, str]:
    return {"$ref": f"#/channels/chat/messages/{name}"}
