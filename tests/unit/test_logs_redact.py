"""Token redaction: the `token` query parameter never reaches a log line."""

import logging

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sharemyshows_rt.logs import RedactTokens, redact, redact_parameters


@pytest.mark.parametrize(
    "line, expected",
    [
        (
            "GET /socket.io/?EIO=4&token=abc.def.ghi&t=1 HTTP/1.1",
            "GET /socket.io/?EIO=4&token=[redacted]&t=1 HTTP/1.1",
        ),
        ("/socket.io/?token=abc.def&EIO=4", "/socket.io/?token=[redacted]&EIO=4"),
        ("/x?access_token=abc", "/x?access_token=[redacted]"),
        ("/x?TOKEN=abc", "/x?TOKEN=[redacted]"),
        ("token=abc&EIO=4", "token=[redacted]&EIO=4"),  # a raw query string, as in ASGI's scope
        ("/x?token=abc#frag", "/x?token=[redacted]#frag"),
    ],
)
def test_redact_token_parameters(line, expected):
    assert redact(line) == expected


@pytest.mark.parametrize(
    "line",
    ["/x?mytoken=abc", "/x?tokens=abc", "no query at all", "/socket.io/?EIO=4&transport=polling"],
)
def test_redact_leaves_other_text_alone(line):
    assert redact(line) == line


def test_redact_every_occurrence():
    assert redact("/a?token=1&token=2") == "/a?token=[redacted]&token=[redacted]"


def test_redact_percent_escaped_parameter_name():
    """The server's query parser reads `%74oken` as `token`; so must the redaction."""
    assert "abc.def" not in redact("/socket.io/?EIO=4&%74oken=abc.def")


def test_filter_redacts_arguments_of_access_log_records():
    record = logging.LogRecord(
        "uvicorn.access",
        logging.INFO,
        __file__,
        1,
        '%s - "%s %s HTTP/%s" %d',
        ("127.0.0.1:5", "GET", "/socket.io/?token=SECRET", "1.1", 200),
        None,
    )
    assert RedactTokens().filter(record) is True
    assert "SECRET" not in record.getMessage()


def test_filter_redacts_plain_messages():
    record = logging.LogRecord("x", logging.INFO, __file__, 1, "GET /?token=SECRET", None, None)
    RedactTokens().filter(record)
    assert "SECRET" not in record.getMessage()


@pytest.mark.parametrize(
    "line",
    [
        "/x?ToKeN=abc",
        "/x?+token=abc",
        "/x?JWT=abc",
        "/x?Endpoint=https://push.example/abc",
        "/x?%6Awt=abc",
        "/x?a=1&token=abc",
    ],
)
def test_redact_any_spelling_of_a_secret_name(line):
    assert "abc" not in redact(line)


@settings(max_examples=500, deadline=None)
@given(
    st.lists(
        st.sampled_from(
            [
                "token",
                "TOKEN",
                "jwt",
                "Endpoint",
                "access_token",
                "%74",
                "%6B",
                "+",
                " ",
                "=",
                "&",
                "?",
                ";",
                "#",
                "x",
                "sid",
                "abc",
            ]
        ),
        max_size=12,
    ).map("".join)
)
def test_the_shortcut_never_changes_the_result(text):
    """`redact` skips the regular expression when no secret name can be in the text."""
    assert redact(text) == redact_parameters(text)


JWT = (
    "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiI3IiwiZXhwIjoxfQ."
    "c2lnbmF0dXJlLXNpZ25hdHVyZS1zaWduYXR1cmU"
)


@pytest.mark.parametrize("json", [False, True])
def test_formatters_conceal_a_jwt_in_messages_and_exceptions(json):
    from sharemyshows_rt.logs import ConcealingFormatter, JsonFormatter

    formatter = JsonFormatter() if json else ConcealingFormatter("%(message)s")
    try:
        raise ValueError(f"bad packet: 40{{'token': '{JWT}'}}")
    except ValueError as exc:
        record = logging.LogRecord(
            "x",
            logging.ERROR,
            __file__,
            1,
            "cookie: a=%s",
            (JWT,),
            (type(exc), exc, exc.__traceback__),
        )
    text = formatter.format(record)
    assert "bad packet" in text and "[token]" in text
    assert JWT.split(".")[2] not in text and "eyJ" not in text


def test_a_jwt_cut_short_is_concealed_too():
    from sharemyshows_rt.logs import conceal

    concealed = conceal(f'< TEXT \'40{{"token":"{JWT[:40]}...\'')
    assert concealed.startswith('< TEXT \'40{"token":"[token]') and "eyJ" not in concealed


def test_websocket_frames_are_logged_without_their_payload():
    from websockets.frames import Frame, Opcode

    frame = Frame(Opcode.TEXT, f'40{{"token":"{JWT}"}}'.encode())
    record = logging.LogRecord("uvicorn.error", logging.DEBUG, __file__, 1, "< %s", (frame,), None)
    RedactTokens().filter(record)
    assert record.getMessage() == f"< TEXT [{len(frame.data)} bytes]"
