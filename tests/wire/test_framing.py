import struct

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bullet_trade.wire.errors import EncodeError, FrameTooLarge
from bullet_trade.wire.framing import FrameDecoder, encode_frame


def test_single_frame_roundtrip() -> None:
    dec = FrameDecoder()
    assert dec.feed(encode_frame(b'{"a":1}')) == [b'{"a":1}']
    assert dec.buffered == 0


def test_partial_frames_across_reads() -> None:
    data = encode_frame(b"hello") + encode_frame(b"world!")
    dec = FrameDecoder()
    out = []
    for i in range(len(data)):
        out += dec.feed(data[i : i + 1])
    assert out == [b"hello", b"world!"]


def test_several_frames_in_one_read() -> None:
    data = b"".join(encode_frame(bytes([65 + i]) * i) for i in range(5))
    assert FrameDecoder().feed(data) == [bytes([65 + i]) * i for i in range(5)]


def test_zero_length_body_is_a_frame() -> None:
    assert FrameDecoder().feed(b"\x00\x00\x00\x00") == [b""]


def test_oversize_header_raises_before_body() -> None:
    dec = FrameDecoder(max_size=10)
    with pytest.raises(FrameTooLarge):
        dec.feed(struct.pack(">I", 11))
    with pytest.raises(FrameTooLarge):
        dec.feed(b"x")


def test_exact_limit_accepted() -> None:
    dec = FrameDecoder(max_size=10)
    assert dec.feed(struct.pack(">I", 10)) == []
    assert dec.feed(b"0123456789") == [b"0123456789"]


def test_32mib_header_waits_for_body_and_33mib_rejected() -> None:
    dec = FrameDecoder()
    assert dec.feed(bytes.fromhex("02000000")) == []
    with pytest.raises(FrameTooLarge):
        FrameDecoder().feed(bytes.fromhex("02100000"))


def test_encode_refuses_oversize() -> None:
    with pytest.raises(EncodeError):
        encode_frame(b"x" * 11, max_size=10)


@given(st.lists(st.binary(max_size=300), max_size=20), st.integers(min_value=1, max_value=64))
def test_any_chunking_yields_the_same_frames(bodies: list[bytes], chunk: int) -> None:
    data = b"".join(encode_frame(b) for b in bodies)
    dec = FrameDecoder()
    out: list[bytes] = []
    for i in range(0, len(data), chunk):
        out += dec.feed(data[i : i + chunk])
    assert out == bodies
