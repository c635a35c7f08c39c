"""Finding the access token among the browser's cookies, whatever else the domain set."""

import pytest

from sharemyshows_rt.chat.auth import Authenticator


@pytest.fixture
def auth() -> Authenticator:
    return Authenticator("secret", "access_token_cookie", users=None)


@pytest.mark.parametrize(
    "header",
    [
        "access_token_cookie=TOKEN",
        "session=abc; access_token_cookie=TOKEN",
        "access_token_cookie=TOKEN; theme=dark",
        'access_token_cookie="TOKEN"',
        "a=b,c; access_token_cookie=TOKEN",
    ],
)
def test_cookie_found(auth, header):
    assert auth.cookie_token(header) == "TOKEN"


@pytest.mark.parametrize(
    "header", ["", "session=abc", "access_token_cookie=", "xaccess_token_cookie=TOKEN"]
)
def test_no_cookie(auth, header):
    assert auth.cookie_token(header) is None


@pytest.mark.parametrize(
    "header",
    [
        pytest.param("theme=dark mode; access_token_cookie=TOKEN", id="space_in_value"),
        pytest.param("remember_me; access_token_cookie=TOKEN", id="cookie_without_value"),
        pytest.param('prefs={"volume":3}; access_token_cookie=TOKEN', id="json_value"),
        pytest.param('a="unterminated; access_token_cookie=TOKEN', id="unterminated_quote"),
        pytest.param("access_token_cookie=TOKEN; broken cookie", id="malformed_after_ours"),
    ],
)
def test_cookie_found_beside_a_malformed_cookie(auth, header):
    assert auth.cookie_token(header) == "TOKEN"


def test_cookie_name_is_configurable():
    auth = Authenticator("secret", "jwt", users=None)
    assert auth.cookie_token("access_token_cookie=NO; jwt=YES") == "YES"
