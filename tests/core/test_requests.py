"""Bodies over the host's limit are dropped as they arrive, never spooled."""

from twisted.web.test.requesthelper import DummyChannel

from gridhost.core.requests import BoundedRequest


def request(limit):
    return BoundedRequest(DummyChannel(), max_body=limit)


def test_a_declared_length_over_the_limit_is_refused_up_front():
    r = request(100)
    r.gotLength(101)
    r.handleContentChunk(b"x" * 101)
    assert r.body_too_large and r.content.getvalue() == b""


def test_a_chunked_body_is_cut_when_it_crosses_the_limit():
    r = request(100)
    r.gotLength(None)
    for _ in range(10):
        r.handleContentChunk(b"x" * 30)
    assert r.body_too_large and r.content.getvalue() == b""


def test_a_body_within_the_limit_is_kept():
    r = request(100)
    r.gotLength(100)
    r.handleContentChunk(b"x" * 100)
    r.content.seek(0)
    assert not r.body_too_large and r.content.read() == b"x" * 100


def test_a_known_length_body_stays_in_memory_and_reads_like_a_file():
    from gridhost.core.requests import MemoryBody

    r = request(1 << 20)
    r.gotLength(10)
    assert isinstance(r.content, MemoryBody)
    for piece in (b"abc", b"defg", b"hij"):
        r.handleContentChunk(piece)
    assert r.content.seek(0, 2) == 10 and r.content.tell() == 10
    r.content.seek(0)
    assert r.content.read(4) == b"abcd" and r.content.read() == b"efghij"
    assert r.content.read() == b"" and r.content.getvalue() == b"abcdefghij"
    r.content.seek(0)
    whole = r.content.read()
    assert whole == b"abcdefghij" and r.content.read(5) == b""
