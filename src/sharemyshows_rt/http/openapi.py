"""The OpenAPI description of the REST routes, generated from the pydantic models the
routes read and answer with (schemas/rest.py, schemas/events.py) and the route table here."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

from .. import __version__
from ..schemas import (
    MAX_DB_INT,
    ActiveUsersPage,
    ActiveUsersQuery,
    ErrorResponse,
    Health,
    MessagePageOut,
    MessagesQuery,
    MuteState,
    PushEndpoint,
    PushSubscriptionIn,
    Subscribed,
    VapidKey,
)
from ..schemas.limits import MAX_MESSAGE_ID
from ..schemas.moderation import MessageDeleted, ModerationLog, ModerationQuery, ModerationState

REF = "#/components/schemas/{model}"
SHOW_ID = {
    "name": "show_id",
    "in": "path",
    "required": True,
    "schema": {"type": "integer", "minimum": 1, "maximum": MAX_DB_INT},
}
# What any authenticated route may answer besides its success.
AUTHENTICATED = {
    401: "no valid access token",
    413: "the body is too large",
    422: "invalid parameters or body",
    503: "a dependency is not answering",
}
MESSAGE_ID = {
    "name": "message_id",
    "in": "path",
    "required": True,
    "schema": {"type": "integer", "minimum": 1, "maximum": MAX_MESSAGE_ID},
}
ABOUT_SHOW = {404: "no such show"}
MODERATORS = {403: "not a moderator of the show", 404: "no such show"}


@dataclass(frozen=True)
class Operation:
    """One REST route as documented: its models, its answers besides the errors."""

    method: str
    path: str
    operation_id: str
    summary: str
    answers: dict[int, tuple[type[BaseModel] | None, str]]
    query: type[BaseModel] | None = None
    body: type[BaseModel] | None = None
    authenticated: bool = True
    errors: dict[int, str] = field(default_factory=dict)


# Push is off (503, documented) on a deployment without VAPID keys.
PUSH_OFF = {503: "push notifications are not configured (no VAPID key)"}
ROUTES = (
    Operation(
        "get",
        "/healthz",
        "healthz",
        "The process runs",
        {200: (Health, "alive")},
        authenticated=False,
    ),
    Operation(
        "get",
        "/readyz",
        "readyz",
        "The database (and Redis) answer",
        {200: (None, "ready"), 503: (None, "not ready")},
        authenticated=False,
    ),
    Operation(
        "get",
        "/api/shows/{show_id}/messages",
        "showMessages",
        "A page of a show's messages, oldest first",
        {200: (MessagePageOut, "the page")},
        query=MessagesQuery,
        errors=ABOUT_SHOW,
    ),
    Operation(
        "get",
        "/api/shows/{show_id}/active_users",
        "showActiveUsers",
        "Who is in a show's chat now (a page, and the count)",
        {200: (ActiveUsersPage, "the page")},
        query=ActiveUsersQuery,
        errors=ABOUT_SHOW,
    ),
    Operation(
        "get",
        "/api/push/vapid_public_key",
        "pushPublicKey",
        "The application server key browsers subscribe with",
        {200: (VapidKey, "the key")},
        errors=PUSH_OFF,
    ),
    Operation(
        "post",
        "/api/push/subscriptions",
        "pushSubscribe",
        "Store (or update) the browser's push subscription; at most 10 a user, oldest replaced",
        {201: (Subscribed, "stored")},
        body=PushSubscriptionIn,
        errors=PUSH_OFF,
    ),
    Operation(
        "delete",
        "/api/push/subscriptions",
        "pushUnsubscribe",
        "Forget a push subscription, by endpoint",
        {204: (None, "forgotten (or never stored)")},
        query=PushEndpoint,
        errors=PUSH_OFF,
    ),
    Operation(
        "post",
        "/api/shows/{show_id}/mute",
        "muteShow",
        "No push notifications for this show",
        {200: (MuteState, "muted")},
        errors=ABOUT_SHOW,
    ),
    Operation(
        "put",
        "/api/shows/{show_id}/mute",
        "muteShowPut",
        "No push notifications for this show",
        {200: (MuteState, "muted")},
        errors=ABOUT_SHOW,
    ),
    Operation(
        "delete",
        "/api/shows/{show_id}/mute",
        "unmuteShow",
        "Push notifications for this show again",
        {200: (MuteState, "unmuted")},
        errors=ABOUT_SHOW,
    ),
    Operation(
        "delete",
        "/api/shows/{show_id}/messages/{message_id}",
        "deleteMessage",
        "Delete a message: one's own for DELETE_OWN_SECONDS, any for a moderator",
        {200: (MessageDeleted, "deleted (or deleted before)")},
        errors={403: "neither the author in time nor a moderator", 404: "no such message"},
    ),
    Operation(
        "get",
        "/api/shows/{show_id}/moderation",
        "showModerationLog",
        "The show's moderation actions, newest first (moderators)",
        {200: (ModerationLog, "the page")},
        query=ModerationQuery,
        errors=MODERATORS,
    ),
    Operation(
        "get",
        "/api/shows/{show_id}/moderation/state",
        "showModerationState",
        "The show's slow mode, bans and time-outs (moderators)",
        {200: (ModerationState, "the state")},
        errors=MODERATORS,
    ),
)


def document() -> dict[str, Any]:
    """The OpenAPI 3.1 document served at /openapi.json."""
    models = {ErrorResponse} | {m for op in ROUTES for m, _ in op.answers.values() if m}
    inputs = {op.body for op in ROUTES if op.body}
    _, schemas = models_json_schema(
        [(m, "serialization") for m in sorted(models, key=lambda m: m.__name__)]
        + [(m, "validation") for m in sorted(inputs, key=lambda m: m.__name__)],
        ref_template=REF,
    )
    paths: dict[str, dict[str, Any]] = {}
    for op in ROUTES:
        paths.setdefault(op.path, {})[op.method] = _operation(op)
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "sharemyshows-rt",
            "version": __version__,
            "description": "REST side of the ShareMyShows real-time chat. The chat itself "
            "is Socket.IO on /socket.io, described at /asyncapi.json.",
        },
        "components": {
            "schemas": schemas.get("$defs", {}),
            "securitySchemes": {
                "bearer": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"},
                "cookie": {"type": "apiKey", "in": "cookie", "name": "access_token_cookie"},
            },
        },
        "paths": paths,
    }


def _operation(op: Operation) -> dict[str, Any]:
    parameters = [SHOW_ID] if "{show_id}" in op.path else []
    parameters += ([MESSAGE_ID] if "{message_id}" in op.path else []) + _query(op.query)
    responses = {str(status): _answer(model, text) for status, (model, text) in op.answers.items()}
    errors = {**(AUTHENTICATED if op.authenticated else {}), **op.errors}
    responses.update(
        {
            str(status): _answer(ErrorResponse, text)
            for status, text in errors.items()
            if str(status) not in responses
        }
    )
    described: dict[str, Any] = {"summary": op.summary, "operationId": op.operation_id}
    if op.authenticated:
        described["security"] = [{"bearer": []}, {"cookie": []}]
    if parameters:
        described["parameters"] = parameters
    if op.body is not None:
        described["requestBody"] = {
            "required": True,
            "content": {
                "application/json": {"schema": {"$ref": REF.format(model=op.body.__name__)}}
            },
        }
    described["responses"] = responses
    return described


def _answer(model: type[BaseModel] | None, description: str) -> dict[str, Any]:
    if model is None:
        return {"description": description}
    return {
        "description": description,
        "content": {"application/json": {"schema": {"$ref": REF.format(model=model.__name__)}}},
    }


def _query(model: type[BaseModel] | None) -> list[dict[str, Any]]:
    """The query parameters, from the query model's JSON schema (null is not a query value)."""
    if model is None:
        return []
    schema = model.model_json_schema()
    parameters = []
    for name, prop in schema["properties"].items():
        branches = [b for b in prop.get("anyOf", [prop]) if b.get("type") != "null"]
        value = {k: v for k, v in branches[0].items() if k != "title"}
        parameters.append(
            {
                "name": name,
                "in": "query",
                "required": name in schema.get("required", ()),
                "schema": value,
            }
        )
    return parameters
