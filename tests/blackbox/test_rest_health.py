"""/healthz, /readyz and what the REST app answers for routes it does not have."""

import pytest
from support.rest import assert_json_error


async def test_healthz(http):
    response = await http.get("/healthz")
    assert response.status_code == 200 and response.json() == {"status": "ok"}


async def test_readyz_while_the_database_answers(http):
    response = await http.get("/readyz")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/json")


@pytest.mark.parametrize("path", ["/nope", "/api/shows", "/api/shows/1", "/api/shows/1/other"])
async def test_unknown_route_is_404_json(path, http):
    assert_json_error(await http.get(path), 404)


async def test_wrong_method_is_405_json(http):
    assert_json_error(await http.post("/healthz"), 405)
