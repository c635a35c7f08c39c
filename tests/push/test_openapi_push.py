"""The push routes against their own OpenAPI document, on a deployment with push on (VAPID
keys): generated requests (valid and not) never get a 5xx, and every answer matches."""

from support.openapi import assert_conforms, operations_of
from support.rest import bearer


def test_push_routes_match_their_openapi_document(push_deployment):
    fan = push_deployment.db.add_user()
    headers = bearer(push_deployment.tokens.access(fan.id))
    base_url = push_deployment.servers[0].base_url
    operations = operations_of(base_url, lambda path: path.startswith("/api/push/"))
    assert {(op.method.upper(), op.path) for op in operations} == {
        ("GET", "/api/push/vapid_public_key"),
        ("POST", "/api/push/subscriptions"),
        ("DELETE", "/api/push/subscriptions"),
    }
    assert_conforms(operations, headers)
