"""The REST routes against their own OpenAPI document, with schemathesis: generated
requests (valid and not) never get a 5xx, and every response matches the schema."""

import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]


def test_rest_routes_match_their_openapi_document(deployment, db, tokens):
    fan, show = db.add_user(), db.add_show()
    db.add_messages(show, fan, ["one", "two"])
    headers = {"Authorization": f"Bearer {tokens.access(fan.id)}"}
    schema = schemathesis.openapi.from_url(f"{deployment.base_url}/openapi.json")
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 4

    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(
            max_examples=25, deadline=None, database=None, suppress_health_check=list(HealthCheck)
        )
        def conforms(case):
            case.call_and_validate(headers=headers, checks=CHECKS)

        conforms()


async def test_openapi_document_is_served(http):
    response = await http.get("/openapi.json")
    assert response.status_code == 200
    document = response.json()
    assert document["openapi"].startswith("3.")
    assert {
        "/healthz",
        "/readyz",
        "/api/shows/{show_id}/messages",
        "/api/shows/{show_id}/active_users",
    } <= document["paths"].keys()
