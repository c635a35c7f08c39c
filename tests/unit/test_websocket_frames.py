"""Server-to-client WebSocket frames built by hand (websocket.py): RFC 6455 section 5.2,
checked against the `websockets` library's own frame parser and byte by byte."""

import struct

import pytest
from engineio import packet as eio_packet
from websockets.frames import Frame, Opcode
from websockets.streams import StreamReader

from sharemyshows_rt.transport.websocket import frame_of, websocket_frame


def parse(data: bytes) -> Frame:
    """One frame, as a client parses it (server frames are unmasked); all of `data` used."""
    reader = StreamReader()
    reader.feed_data(data)
    reader.feed_eof()
    parser = Frame.parse(reader.read_exact, mask=False)
    try:
        next(parser)
    except StopIteration as done:
        frame = done.value
    else:
        raise AssertionError("the parser wanted more bytes than the frame has")
    assert not reader.buffer, "bytes left over after the frame"
    return frame


def header_by_hand(data: bytes) -> tuple[int, int, bool, int, int]:
    """(fin, opcode, masked, payload length, header length) per RFC 6455 5.2."""
    first, second = data[0], data[1]
    fin, rsv, opcode = first >> 7, (first >> 4) & 0x7, first & 0x0F
    assert rsv == 0
    masked, code = bool(second & 0x80), second & 0x7F
    if code < 126:
        return fin, opcode, masked, code, 2
    if code == 126:
        return fin, opcode, masked, struct.unpack("!H", data[2:4])[0], 4
    return fin, opcode, masked, struct.unpack("!Q", data[2:10])[0], 10


# Payload sizes at each edge of the three length encodings, and the header each needs.
SIZES = [(0, 2), (1, 2), (125, 2), (126, 4), (127, 4), (65535, 4), (65536, 10), (70000, 10)]


@pytest.mark.parametrize("size, header", SIZES)
def test_text_frame_lengths(size, header):
    text = "x" * size
    data = websocket_frame(text)
    frame = parse(data)
    assert frame.opcode is Opcode.TEXT and frame.fin
    assert frame.data == text.encode()
    assert header_by_hand(data) == (1, 0x1, False, size, header)
    assert len(data) == header + size


@pytest.mark.parametrize("size, header", SIZES)
def test_binary_frame_lengths(size, header):
    payload = bytes(range(256)) * (size // 256) + bytes(range(size % 256))
    data = websocket_frame(payload)
    frame = parse(data)
    assert frame.opcode is Opcode.BINARY and frame.fin
    assert frame.data == payload
    assert header_by_hand(data) == (1, 0x2, False, size, header)


def test_length_counts_utf8_bytes_not_characters():
    text = "é" * 63  # 63 characters, 126 bytes: the 16-bit length form
    data = websocket_frame(text)
    assert header_by_hand(data) == (1, 0x1, False, 126, 4)
    assert parse(data).data.decode() == text


def test_minimal_length_encoding_is_used():
    """RFC 6455 5.2: 'the minimal number of bytes MUST be used to encode the length'."""
    assert websocket_frame("a" * 125)[1] == 125
    assert websocket_frame("a" * 126)[1:4] == b"\x7e\x00\x7e"
    assert websocket_frame("a" * 65535)[1:4] == b"\x7e\xff\xff"
    assert websocket_frame("a" * 65536)[1:10] == b"\x7f" + (65536).to_bytes(8, "big")


def test_bytes_like_payloads_are_binary():
    for payload in (bytearray(b"\x00\x01\x02"), memoryview(b"\x00\x01\x02")):
        frame = parse(websocket_frame(payload))
        assert frame.opcode is Opcode.BINARY and frame.data == b"\x00\x01\x02"


def test_exact_bytes_of_a_small_text_frame():
    assert websocket_frame("2") == b"\x81\x01" + b"2"  # an Engine.IO ping


def test_frame_of_an_engineio_packet():
    pkt = eio_packet.Packet(eio_packet.MESSAGE, '2["new_message",{"id":1}]')
    frame = parse(frame_of(pkt))
    assert frame.opcode is Opcode.TEXT
    assert frame.data.decode() == pkt.encode() == '42["new_message",{"id":1}]'


def test_frame_of_a_binary_engineio_packet():
    pkt = eio_packet.Packet(eio_packet.MESSAGE, b"\x00\xff")
    frame = parse(frame_of(pkt))
    assert frame.opcode is Opcode.BINARY and frame.data == b"\x00\xff"


def test_frame_of_builds_the_frame_once_per_packet():
    pkt = eio_packet.Packet(eio_packet.MESSAGE, "hello")
    encodes = []
    encode = pkt.encode
    pkt.encode = lambda *a, **k: encodes.append(1) or encode(*a, **k)
    first = frame_of(pkt)
    second = frame_of(pkt)
    assert second is first
    assert len(encodes) == 1
    assert first == websocket_frame("4hello")


def test_frame_of_keeps_each_packet_its_own_frame():
    one = eio_packet.Packet(eio_packet.MESSAGE, "one")
    two = eio_packet.Packet(eio_packet.MESSAGE, "two")
    assert parse(frame_of(one)).data == b"4one"
    assert parse(frame_of(two)).data == b"4two"
    assert parse(frame_of(one)).data == b"4one"
