"""The push routes against their own OpenAPI document, on a deployment with push on (VAPID
keys): generated requests (valid and not) never get a 5xx, and every answer matches."""

import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)
from support.rest import bearer

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]


def test_push_routes_match_their_openapi_document(push_deployment):
    fan = push_deployment.db.add_user()
    headers = bearer(push_deployment.tokens.access(fan.id))
    base_url = push_deployment.servers[0].base_url
    schema = schemathesis.openapi.from_url(f"{base_url}/openapi.json")
    operations = [
        result.ok()
        for result in schema.get_all_operations()
        if result.ok().path.startswith("/api/push/")
    ]
    assert {(op.method.upper(), op.path) for op in operations} == {
        ("GET", "/api/push/vapid_public_key"),
        ("POST", "/api/push/subscriptions"),
        ("DELETE", "/api/push/subscriptions"),
    }
    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(
            max_examples=25, deadline=None, database=None, suppress_health_check=list(HealthCheck)
        )
        def conforms(case):
            case.call_and_validate(headers=headers, checks=CHECKS)

        conforms()
