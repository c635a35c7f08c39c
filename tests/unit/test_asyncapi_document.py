"""The generated AsyncAPI document is valid AsyncAPI 3.0.0 (the official JSON schema) and
describes every event the namespace handles, with its payload and acknowledgement."""

import json
from pathlib import Path

import jsonschema_rs
import pytest

from sharemyshows_rt.schemas.asyncapi import document
from sharemyshows_rt.schemas.catalog import CLIENT_EVENTS, SERVER_EVENTS
from sharemyshows_rt.transport.namespace import ChatNamespace

SCHEMA = json.loads((Path(__file__).parent / "data" / "asyncapi-3.0.0.schema.json").read_text())


@pytest.fixture(scope="module")
def validator():
    return jsonschema_rs.validator_for(SCHEMA)


def test_the_document_is_valid_asyncapi_3(validator):
    errors = [f"{list(e.instance_path)}: {e.message}" for e in validator.iter_errors(document())]
    assert errors == []


def test_the_validator_refuses_an_invalid_document(validator):
    broken = document()
    broken["operations"]["join_show"]["action"] = "shout"
    assert not validator.is_valid(broken)


def test_every_handled_event_is_described():
    namespace = ChatNamespace(None, None, None, 1, 50, None, None)  # only its event table is read
    assert set(namespace._events) == set(CLIENT_EVENTS)
    described = document()
    for name in CLIENT_EVENTS:
        assert described["operations"][name]["reply"]["messages"]
    for name in SERVER_EVENTS:
        assert described["operations"][f"emit_{name}"]["action"] == "send"
