"""Headers for the REST API."""

from .settings import COOKIE_NAME


def bearer(token: str) -> dict:
    return {"Authorization": f"Bearer {token}"}


def cookie(token: str) -> dict:
    return {"Cookie": f"{COOKIE_NAME}={token}"}


def assert_json_error(response, status: int) -> dict:
    """A failed call: `status`, a JSON body, and no caching."""
    assert response.status_code == status, (response.status_code, response.text)
    assert response.headers["content-type"].startswith("application/json"), response.headers
    return response.json()
