"""clients/typescript/events.d.ts is exactly what the generator makes from the models: a
payload changed without regenerating the types fails here."""

from pathlib import Path

from sharemyshows_rt.schemas import typescript

CHECKED_IN = Path(__file__).resolve().parents[2] / "clients" / "typescript" / "events.d.ts"
REGENERATE = "python -m sharemyshows_rt.schemas.typescript > clients/typescript/events.d.ts"


def test_checked_in_types_match_the_generator():
    assert CHECKED_IN.read_text() == typescript.source(), f"regenerate them: {REGENERATE}"


def test_every_event_is_typed():
    source = typescript.source()
    for event in (
        "join_show",
        "send_message",
        "get_message_history",
        "new_message",
        "user_joined",
        "error",
    ):
        assert f"  {event}: (payload: " in source
