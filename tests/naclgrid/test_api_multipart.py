"""The API's multipart/form-data bodies (naclgrid.api.parsing._multipart, on the multipart library): binary safe, malformed bodies are 400s, limits hold."""

import io

import pytest

from naclgrid.api.errors import ApiError
from naclgrid.api.parsing import MAX_PARTS, _multipart
from naclgrid.client.multipart import encode_multipart


def parse(body, boundary="b0undary", limit=1 << 20):
    return _multipart(io.BytesIO(body), boundary, limit)


def test_round_trip_with_the_sdk_encoder_binary_safe():
    tricky = b"\0\r\n--naclgrid-\r\n\r\n" + bytes(range(256))
    content_type, body = encode_multipart([("entry", "e"), ("input", ("in.bin", tricky)),
                                           ("note", "caf\u00e9")])
    boundary = content_type.split("boundary=", 1)[1]
    form, files = _multipart(io.BytesIO(body), boundary, len(body))
    assert form == [("entry", b"e"), ("note", "caf\u00e9".encode())]
    assert files["input"].data == tricky and files["input"].filename == "in.bin"
    assert files["input"].content_type == "application/octet-stream"


def test_preamble_epilogue_and_empty_values():
    body = (b"ignored preamble\r\n--b0undary\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\n"
            b"\r\n--b0undary\r\nContent-Disposition: form-data; name=\"b\"; filename=\"f\"\r\n\r\n"
            b"xy\r\n--b0undary--\r\nepilogue")
    form, files = parse(body)
    assert form == [("a", b"")]
    assert files["b"].data == b"xy" and files["b"].content_type is None


@pytest.mark.parametrize("body", [
    b"",
    b"no boundary at all",
    b"--b0undary\r\n",
    b"--b0undary\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\nabc",
    b"--b0undary\r\nContent-Disposition: form-data; name=\"a\"",
    b"--b0undary\r\nNo-Disposition: 1\r\n\r\nabc\r\n--b0undary--\r\n",
    b"--b0undary\r\nbroken header line\r\n\r\nabc\r\n--b0undary--\r\n",
    b"--b0undary\r\nContent-Disposition: attachment; name=\"a\"\r\n\r\nabc\r\n--b0undary--\r\n",
    b"--b0undaryjunk\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\nabc\r\n--b0undary--\r\n",
    (b"--b0undary\r\nContent-Disposition: form-data; name=\"f\"; filename=\"x\"\r\n\r\n1\r\n"
     b"--b0undary\r\nContent-Disposition: form-data; name=\"f\"; filename=\"y\"\r\n\r\n2\r\n"
     b"--b0undary--\r\n"),
])
def test_malformed_bodies_are_bad_requests(body):
    with pytest.raises(ApiError) as caught:
        parse(body)
    assert caught.value.code == "bad_request" and caught.value.status == 400


def test_part_count_and_size_limits():
    part = b"--b0undary\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\nv\r\n"
    with pytest.raises(ApiError) as caught:
        parse(part * (MAX_PARTS + 1) + b"--b0undary--\r\n", limit=1 << 30)
    assert caught.value.code == "bad_request"
    with pytest.raises(ApiError) as caught:
        parse(part + b"--b0undary--\r\n", limit=10)
    assert caught.value.code == "too_large" and caught.value.status == 413
    with pytest.raises(ApiError):
        parse(part, boundary="")
