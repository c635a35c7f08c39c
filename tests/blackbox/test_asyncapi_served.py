"""/asyncapi.json is served, and describes the Socket.IO events."""


async def test_asyncapi_document_is_served(http):
    response = await http.get("/asyncapi.json")
    assert response.status_code == 200
    document = response.json()
    assert document["asyncapi"] == "3.0.0"
    assert {"join_show", "send_message", "emit_new_message"} <= document["operations"].keys()
