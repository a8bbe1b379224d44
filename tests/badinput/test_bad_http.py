"""Malformed HTTP sent to the emulator on a raw socket: request lines, methods, paths, headers, bodies.

Each case is sent as bytes on a new connection that is then half-closed.
The answer must be the expected 4xx with Google's JSON error body (never a
500, never a hang: the socket times out), no handler may raise (the
``emulator`` fixture checks ``internal_errors``), and the emulator's records
must be unchanged while a valid request still gets its answer.
"""

from __future__ import annotations

from typing import NamedTuple

import pytest
from badinput_helpers import (
    GEMINI_MODEL_ID,
    assert_google_error,
    exchange,
    exchange_bytes,
    parse_reply,
    state_kept,
)
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tuneport_emulator import Emulator

CLOSE = b"Host: emulator\r\nConnection: close\r\n"
GENERATE = f"/v1beta/tunedModels/{GEMINI_MODEL_ID}:generateContent".encode()
PING = b'{"contents": [{"parts": [{"text": "ping"}]}]}'


def request(method: bytes, path: bytes, body: bytes = b"", headers: bytes = b"") -> bytes:
    """One HTTP/1.1 request with a correct Content-Length (unless ``headers`` frames the body)."""
    framing = (
        b""
        if b"Content-Length" in headers or b"Transfer-Encoding" in headers
        else b"Content-Length: %d\r\n" % len(body)
    )
    return method + b" " + path + b" HTTP/1.1\r\n" + CLOSE + headers + framing + b"\r\n" + body


def post(body: bytes, headers: bytes = b"", path: bytes = b"/v1beta/tunedModels") -> bytes:
    return request(b"POST", path, body, headers)


def chunked(body: bytes) -> bytes:
    return request(b"POST", GENERATE, body, b"Transfer-Encoding: chunked\r\n")


class Malformed(NamedTuple):
    """Raw bytes and the answer they must get."""

    name: str
    payload: bytes
    code: int = 400
    status: str = "INVALID_ARGUMENT"


def not_found(name: str, payload: bytes) -> Malformed:
    return Malformed(name, payload, 404, "NOT_FOUND")


MANY_HEADERS = b"".join(b"X-%d: a\r\n" % i for i in range(200))
FORM = b"Content-Type: application/x-www-form-urlencoded\r\n"

MALFORMED_HTTP = [
    # request line
    Malformed("not HTTP at all", b"THIS IS NOT HTTP\r\n\r\n"),
    Malformed("binary garbage", bytes(range(256))),
    Malformed("bad version", b"GET /v1beta/models HTTP/x.y\r\n" + CLOSE + b"\r\n"),
    Malformed("request line too long", b"GET /" + b"a" * 70_000 + b" HTTP/1.1\r\n" + CLOSE + b"\r\n", 414),
    # methods
    not_found("unknown method", request(b"BREW", b"/v1beta/tunedModels")),
    not_found("PUT on a collection", request(b"PUT", b"/v1beta/tunedModels", b"{}")),
    not_found("PATCH on a collection", request(b"PATCH", b"/v1beta/tunedModels", b"{}")),
    not_found("DELETE on a collection", request(b"DELETE", b"/v1beta/tunedModels")),
    not_found("GET on a custom method", request(b"GET", GENERATE)),
    not_found("OPTIONS", request(b"OPTIONS", b"/v1beta/tunedModels")),
    not_found("TRACE", request(b"TRACE", b"/v1beta/tunedModels")),
    not_found("CONNECT", b"CONNECT emulator:443 HTTP/1.1\r\n" + CLOSE + b"\r\n"),
    not_found("asterisk target", b"OPTIONS * HTTP/1.1\r\n" + CLOSE + b"\r\n"),
    # paths
    not_found("dot-dot segments", request(b"GET", b"/v1beta/../../etc/passwd")),
    not_found("encoded dot-dot", request(b"GET", b"/v1beta/tunedModels/%2e%2e%2f%2e%2e")),
    not_found("bad percent escape", request(b"GET", b"/v1beta/tunedModels/%zz")),
    not_found("encoded NUL", request(b"GET", b"/v1beta/tunedModels/a%00b")),
    not_found("invalid UTF-8 escape", request(b"GET", b"/v1beta/tunedModels/%ff%fe")),
    not_found("unknown API version", request(b"GET", b"/v2/tunedModels")),
    not_found("unknown collection", request(b"GET", b"/v1beta/tunedModelz")),
    not_found("empty path segment", request(b"GET", b"/v1beta//tunedModels")),
    # headers
    Malformed(
        "header line too long",
        request(b"GET", b"/v1beta/models", headers=b"X: " + b"a" * 70_000 + b"\r\n"),
        431,
    ),
    Malformed("too many headers", request(b"GET", b"/v1beta/models", headers=MANY_HEADERS), 431),
    Malformed("Content-Length not a number", post(b"{}", b"Content-Length: abc\r\n")),
    Malformed("Content-Length negative", post(b"{}", b"Content-Length: -5\r\n")),
    Malformed("Content-Length a float", post(b"{}", b"Content-Length: 2.0\r\n")),
    Malformed("Content-Length huge", post(b"{}", b"Content-Length: " + b"9" * 30 + b"\r\n")),
    Malformed("form body on a JSON method", post(b"a=1&b=2", FORM)),
    Malformed("Expect 100-continue, bad body", post(b"{", b"Expect: 100-continue\r\n")),
    # bodies
    Malformed("body shorter than announced", post(b"{}", b"Content-Length: 100\r\n")),
    Malformed("JSON cut short", post(PING[:20], path=GENERATE)),
    Malformed("body with a BOM", post(b"\xef\xbb\xbf" + PING, path=GENERATE)),
    Malformed("body not UTF-8", post(PING.replace(b"ping", b"\xff\xfe"), path=GENERATE)),
    Malformed("body in UTF-16", post(PING.decode().encode("utf-16"), path=GENERATE)),
    Malformed("NaN literal", post(b'{"temperature": NaN}')),
    Malformed("integer of 5001 digits", post(b'{"topK": 1' + b"0" * 5000 + b"}")),
    Malformed("nesting 5000 deep", post(b"[" * 5000 + b"]" * 5000, path=GENERATE)),
    Malformed("HTTP/1.0, bad JSON", b"POST /v1beta/tunedModels HTTP/1.0\r\nContent-Length: 1\r\n\r\n{"),
    # chunked transfer encoding
    Malformed("chunk size not hex", chunked(b"zz\r\nabc\r\n0\r\n\r\n")),
    Malformed("chunk cut short", chunked(b"10\r\nabc")),
    Malformed("no last chunk", chunked(b"2\r\n{}\r\n")),
    Malformed("chunk without its CRLF", chunked(b"2\r\n{}XX0\r\n\r\n")),
    Malformed("chunk size huge", chunked(b"FFFFFFFFFFFFFFFF\r\n{}\r\n0\r\n\r\n")),
    Malformed("chunks of bad JSON", chunked(b'3\r\n{"c\r\n2\r\nx}\r\n0\r\n\r\n')),
]


@pytest.mark.parametrize("case", MALFORMED_HTTP, ids=[case.name for case in MALFORMED_HTTP])
def test_malformed_http_gets_a_google_error_and_changes_nothing(emulator: Emulator, case: Malformed) -> None:
    with state_kept(emulator):
        reply = exchange(emulator.url, case.payload)
    assert_google_error(reply, case.code, case.status)


@pytest.mark.parametrize("size", [b"-2", b"+2", b"0x2", b"0_2", b" "])
def test_chunk_sizes_are_hex_digits_only(emulator: Emulator, size: bytes) -> None:
    with state_kept(emulator):
        reply = exchange(emulator.url, chunked(size + b"\r\n{}\r\n0\r\n\r\n"))
    assert_google_error(reply, 400, "INVALID_ARGUMENT")


AMBIGUOUS_FRAMING = [
    ("two different Content-Lengths", b"Content-Length: 2\r\nContent-Length: 3\r\n"),
    ("Content-Length and chunked", b"Content-Length: 2\r\nTransfer-Encoding: chunked\r\n"),
    ("Content-Length with a sign", b"Content-Length: +2\r\n"),
    ("header line without a colon", b"Content-Length: 2\r\nNoColonHere\r\n"),
]


@pytest.mark.parametrize(("name", "headers"), AMBIGUOUS_FRAMING, ids=[n for n, _ in AMBIGUOUS_FRAMING])
def test_ambiguous_framing_is_refused_not_guessed(emulator: Emulator, name: str, headers: bytes) -> None:
    """What request smuggling relies on (RFC 9112 section 6.3) gets a 400 and a closed connection."""
    with state_kept(emulator):
        reply = exchange(emulator.url, post(b"{}", headers))
    assert_google_error(reply, 400, "INVALID_ARGUMENT")


@pytest.mark.parametrize(
    ("line", "code", "status"),
    [(b"GET /v1beta/tunedModels", 400, "INVALID_ARGUMENT"), (b"GET / HTTP/2.0", 505, "UNIMPLEMENTED")],
)
def test_other_http_versions_get_an_http_1_1_answer(
    emulator: Emulator, line: bytes, code: int, status: str
) -> None:
    with state_kept(emulator):
        reply = exchange(emulator.url, line + b"\r\n\r\n")
    assert_google_error(reply, code, status)


def test_a_refused_request_does_not_poison_the_next_connection(emulator: Emulator) -> None:
    with state_kept(emulator):
        refused = exchange(emulator.url, request(b"POST", b"/v1beta/tunedModels", b"{bad json}"))
    assert_google_error(refused, 400, "INVALID_ARGUMENT")
    answered = exchange(emulator.url, request(b"POST", GENERATE, PING))
    assert answered.status == 200, answered.body


def test_valid_chunked_body_is_still_read(emulator: Emulator) -> None:
    body = b"".join(b"%x\r\n%s\r\n" % (len(part), part) for part in (PING[:10], PING[10:])) + b"0\r\n\r\n"
    reply = exchange(emulator.url, chunked(body))
    assert reply.status == 200, reply.body


# --- any bytes at all ----------------------------------------------------------------------------------


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(head=st.binary(min_size=1, max_size=120))
def test_any_request_head_is_answered_without_a_500(running_emulator: Emulator, head: bytes) -> None:
    """Random bytes before the blank line: an answer below 500, or a closed connection without one."""
    errors_before = len(running_emulator.internal_errors)
    raw = exchange_bytes(running_emulator.url, head + b"\r\n\r\n")
    if raw.startswith(b"HTTP/"):  # else nothing (an empty request) or an HTTP/0.9 bare body
        assert parse_reply(raw).status < 500, raw[:300]
    assert running_emulator.internal_errors[errors_before:] == []
