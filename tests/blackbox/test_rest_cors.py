"""CORS: the allowed origin (http://localhost:3000) gets CORS headers, others do not."""

from support.rest import bearer
from support.settings import ALLOWED_ORIGIN, FOREIGN_ORIGIN


async def test_allowed_origin_gets_cors_headers(http):
    response = await http.get("/healthz", headers={"Origin": ALLOWED_ORIGIN})
    assert response.headers.get("access-control-allow-origin") == ALLOWED_ORIGIN
    assert response.headers.get("access-control-allow-credentials") == "true"


async def test_foreign_origin_gets_no_cors_headers(http):
    response = await http.get("/healthz", headers={"Origin": FOREIGN_ORIGIN})
    assert "access-control-allow-origin" not in response.headers


async def test_no_origin_gets_no_cors_headers(http):
    response = await http.get("/healthz")
    assert "access-control-allow-origin" not in response.headers


async def test_preflight_from_the_allowed_origin(db, http):
    show = db.add_show()
    response = await http.options(
        f"/api/shows/{show.id}/messages",
        headers={
            "Origin": ALLOWED_ORIGIN,
            "Access-Control-Request-Method": "GET",
            "Access-Control-Request-Headers": "authorization",
        },
    )
    assert response.status_code == 200
    assert response.headers.get("access-control-allow-origin") == ALLOWED_ORIGIN
    assert "authorization" in response.headers.get("access-control-allow-headers", "").lower()


async def test_preflight_from_a_foreign_origin_is_not_allowed(db, http):
    show = db.add_show()
    response = await http.options(
        f"/api/shows/{show.id}/messages",
        headers={"Origin": FOREIGN_ORIGIN, "Access-Control-Request-Method": "GET"},
    )
    assert response.headers.get("access-control-allow-origin") not in (FOREIGN_ORIGIN, "*")


async def test_api_answers_carry_cors_headers_for_the_allowed_origin(db, tokens, http):
    fan, show = db.add_user(), db.add_show()
    response = await http.get(
        f"/api/shows/{show.id}/messages",
        headers={**bearer(tokens.access(fan.id)), "Origin": ALLOWED_ORIGIN},
    )
    assert response.status_code == 200
    assert response.headers.get("access-control-allow-origin") == ALLOWED_ORIGIN


async def test_401_carries_cors_headers_for_the_allowed_origin(db, http):
    """Else the browser hides the 401 from the page, which then cannot ask to log in again."""
    show = db.add_show()
    response = await http.get(f"/api/shows/{show.id}/messages", headers={"Origin": ALLOWED_ORIGIN})
    assert response.status_code == 401
    assert response.headers.get("access-control-allow-origin") == ALLOWED_ORIGIN
