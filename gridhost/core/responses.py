"""JSON error and body helpers shared by the host's own resources."""

import json


def json_body(request, status, payload):
    request.setResponseCode(status)
    request.setHeader(b"content-type", b"application/json")
    request.setHeader(b"cache-control", b"no-store")
    return json.dumps(payload, sort_keys=True).encode() + b"\n"


def json_error(request, status, code, message):
    return json_body(request, status, {"error": code, "message": message})
