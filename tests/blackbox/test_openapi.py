"""The REST routes against their own OpenAPI document, with schemathesis: generated
requests (valid and not) never get a 5xx, and every response matches the schema."""

from support.openapi import assert_conforms, operations_of


def test_rest_routes_match_their_openapi_document(deployment, db, tokens):
    fan, show = db.add_user(), db.add_show()
    db.add_messages(show, fan, ["one", "two"])
    headers = {"Authorization": f"Bearer {tokens.access(fan.id)}"}
    # Push is off here (no VAPID keys): its routes are checked on a deployment with push on,
    # in tests/push/test_openapi_push.py.
    operations = operations_of(deployment.base_url, lambda path: not path.startswith("/api/push/"))
    assert len(operations) >= 4
    assert_conforms(operations, headers)


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


async def test_push_routes_are_documented_and_off_without_vapid_keys(http, db, tokens):
    """Every route is in the document, push's too; without VAPID keys push answers the
    documented 503 with the error body."""
    document = (await http.get("/openapi.json")).json()
    assert {"get"} <= document["paths"]["/api/push/vapid_public_key"].keys()
    assert {"post", "delete"} <= document["paths"]["/api/push/subscriptions"].keys()
    assert "503" in document["paths"]["/api/push/vapid_public_key"]["get"]["responses"]
    fan = db.add_user()
    response = await http.get(
        "/api/push/vapid_public_key", headers={"Authorization": f"Bearer {tokens.access(fan.id)}"}
    )
    assert response.status_code == 503, response.text
    assert response.json()["error"]["message"] == "Service unavailable"
