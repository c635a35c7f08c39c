"""The OpenAPI description of the REST routes, built from the same pydantic models the
routes answer with."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

from .. import __version__
from ..schemas import MAX_OFFSET, ActiveUsers, MessagePageOut

REF = "#/components/schemas/{model}"


class ErrorBody(BaseModel):
    message: str
    details: str


class ErrorResponse(BaseModel):
    error: ErrorBody


class Health(BaseModel):
    status: str


class ActiveUsersPage(ActiveUsers):
    offset: int


def _error(description: str) -> dict[str, Any]:
    return {"description": description,
            "content": {"application/json": {"schema": {"$ref": REF.format(model="ErrorResponse")}}}}


def _json(model: str, description: str) -> dict[str, Any]:
    return {"description": description,
            "content": {"application/json": {"schema": {"$ref": REF.format(model=model)}}}}


SHOW_ID = {"name": "show_id", "in": "path", "required": True,
           "schema": {"type": "integer", "minimum": 1, "maximum": 2**31 - 1}}
AUTHENTICATED = {"401": _error("no valid access token"), "404": _error("no such show"),
                 "422": _error("invalid parameters")}


def document() -> dict[str, Any]:
    """The OpenAPI 3.1 document served at /openapi.json."""
    _, schemas = models_json_schema(
        [(model, "serialization") for model in
         (MessagePageOut, ActiveUsersPage, ErrorResponse, Health)],
        ref_template=REF)
    return {
        "openapi": "3.1.0",
        "info": {"title": "sharemyshows-rt", "version": __version__,
                 "description": "REST side of the ShareMyShows real-time chat. The chat itself "
                                "is Socket.IO on /socket.io (see the README)."},
        "components": {
            "schemas": schemas.get("$defs", {}),
            "securitySchemes": {
                "bearer": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"},
                "cookie": {"type": "apiKey", "in": "cookie", "name": "access_token_cookie"},
            },
        },
        "paths": {
            "/healthz": {"get": {"summary": "The process runs", "operationId": "healthz",
                                 "responses": {"200": _json("Health", "alive")}}},
            "/readyz": {"get": {"summary": "The database (and Redis) answer",
                                "operationId": "readyz",
                                "responses": {"200": {"description": "ready"},
                                              "503": {"description": "not ready"}}}},
            "/api/shows/{show_id}/messages": {"get": {
                "summary": "A page of a show's messages, oldest first",
                "operationId": "showMessages",
                "security": [{"bearer": []}, {"cookie": []}],
                "parameters": [
                    SHOW_ID,
                    {"name": "limit", "in": "query", "required": False,
                     "schema": {"type": "integer", "minimum": 1, "maximum": 100}},
                    {"name": "before_id", "in": "query", "required": False,
                     "schema": {"type": "integer", "minimum": 1, "maximum": 2**63 - 1}},
                ],
                "responses": {"200": _json("MessagePageOut", "the page"), **AUTHENTICATED},
            }},
            "/api/shows/{show_id}/active_users": {"get": {
                "summary": "Who is in a show's chat now (a page, and the count)",
                "operationId": "showActiveUsers",
                "security": [{"bearer": []}, {"cookie": []}],
                "parameters": [
                    SHOW_ID,
                    {"name": "offset", "in": "query", "required": False,
                     "schema": {"type": "integer", "minimum": 0, "maximum": MAX_OFFSET}},
                    {"name": "limit", "in": "query", "required": False,
                     "schema": {"type": "integer", "minimum": 1, "maximum": 1000}},
                ],
                "responses": {"200": _json("ActiveUsersPage", "the page"), **AUTHENTICATED},
            }},
        },
    }
