"""The REST routes against their own OpenAPI document, with schemathesis: generated requests
(valid and not) never get a 5xx, and every answer matches the document."""

from collections.abc import Callable

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


def operations_of(base_url: str, wanted: Callable[[str], bool]) -> list:
    """The operations of the server's /openapi.json whose path `wanted` accepts."""
    schema = schemathesis.openapi.from_url(f"{base_url}/openapi.json")
    return [r.ok() for r in schema.get_all_operations() if wanted(r.ok().path)]


def assert_conforms(operations: list, headers: dict) -> None:
    """Every operation, 25 generated requests each, passes every check."""
    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(
            max_examples=25, deadline=None, database=None, suppress_health_check=list(HealthCheck)
        )
        def conforms(case):
            case.call_and_validate(headers=headers, checks=CHECKS)

        conforms()
