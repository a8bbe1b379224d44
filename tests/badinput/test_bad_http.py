"""Malformed HTTP sent to the emulator on a raw socket: request lines, methods, paths, headers, bodies.

Each case is sent as bytes on a new connection.  HTTP is parsed and framed
by uvicorn (llhttp): what it cannot frame gets its plain-text 400 and a closed
connection, before the emulator's app sees anything; everything else gets the
expected 4xx with Google's JSON error body.  Never a 500, never a hang (the
socket times out), no handler may raise (the ``emulator`` fixture checks
``internal_errors``), and the emulator's records must be unchanged while a
valid request still gets its answer.
"""

from __future__ import annotations

from typing import NamedTuple

import pytest
from badinput_helpers import (
    GEMINI_MODEL_ID,
    RawReply,
    assert_google_error,
    exchange,
    exchange_bytes,
    parse_reply,
    state_kept,
)
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tuneport_emulator import Emulator

CLOSE = b"Host: localhost\r\nConnection: close\r\n"
GENERATE = f"/v1beta/tunedModels/{GEMINI_MODEL_ID}:generateContent".encode()
PING = b'{"contents": [{"parts": [{"text": "ping"}]}]}'
#: What uvicorn's HTTP parser (llhttp) answers to bytes it cannot read as HTTP/1.1.
PARSER_REFUSAL = b"Invalid HTTP request received."


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


def assert_refused_by_the_parser(reply: RawReply) -> None:
    """The HTTP parser's refusal: 400 in plain text, and the connection closed.

    No route is involved, so the answer is not Google's JSON error (Google's
    own front end answers malformed HTTP with an HTML page, not an API error).
    """
    assert reply.status == 400, (reply.status, reply.body[:300])
    assert reply.headers["content-type"].startswith("text/plain"), reply.headers
    assert reply.headers["connection"] == "close", reply.headers
    assert reply.body == PARSER_REFUSAL


FORM = b"Content-Type: application/x-www-form-urlencoded\r\n"

# --- what the HTTP parser refuses (it never reaches the emulator's app) -------------------------------

REFUSED_BY_THE_PARSER = [
    # request line
    ("not HTTP at all", b"THIS IS NOT HTTP\r\n\r\n"),
    ("binary garbage", bytes(range(256))),
    ("bad version", b"GET /v1beta/models HTTP/x.y\r\n" + CLOSE + b"\r\n"),
    ("request line too long", b"GET /" + b"a" * 70_000 + b" HTTP/1.1\r\n" + CLOSE + b"\r\n"),
    # methods the parser does not know
    ("unknown method", request(b"BREW", b"/v1beta/tunedModels")),
    ("CONNECT", b"CONNECT emulator:443 HTTP/1.1\r\n" + CLOSE + b"\r\n"),
    # framing
    ("Content-Length not a number", post(b"{}", b"Content-Length: abc\r\n")),
    ("Content-Length negative", post(b"{}", b"Content-Length: -5\r\n")),
    ("Content-Length a float", post(b"{}", b"Content-Length: 2.0\r\n")),
    ("Content-Length huge", post(b"{}", b"Content-Length: " + b"9" * 30 + b"\r\n")),
    ("chunk size not hex", chunked(b"zz\r\nabc\r\n0\r\n\r\n")),
    ("chunk without its CRLF", chunked(b"2\r\n{}XX0\r\n\r\n")),
    *(
        (f"chunk size {size!r}", chunked(size + b"\r\n{}\r\n0\r\n\r\n"))
        for size in (b"-2", b"+2", b"0x2", b"0_2", b" ")
    ),
    # ambiguous framing: what request smuggling relies on (RFC 9112 section 6.3)
    ("two different Content-Lengths", post(b"{}", b"Content-Length: 2\r\nContent-Length: 3\r\n")),
    ("Content-Length and chunked", post(b"{}", b"Content-Length: 2\r\nTransfer-Encoding: chunked\r\n")),
    ("Content-Length with a sign", post(b"{}", b"Content-Length: +2\r\n")),
    ("header line without a colon", post(b"{}", b"Content-Length: 2\r\nNoColonHere\r\n")),
]


@pytest.mark.parametrize(
    "payload", [payload for _, payload in REFUSED_BY_THE_PARSER], ids=[n for n, _ in REFUSED_BY_THE_PARSER]
)
def test_what_cannot_be_framed_is_refused_by_the_parser(emulator: Emulator, payload: bytes) -> None:
    with state_kept(emulator):
        reply = exchange(emulator.url, payload)
        assert emulator.requests() == []  # the app never saw it
    assert_refused_by_the_parser(reply)


# --- what the emulator answers in Google's shape -------------------------------------------------------

MALFORMED_HTTP = [
    # methods the parser knows, on routes that have no such method
    not_found("PUT on a collection", request(b"PUT", b"/v1beta/tunedModels", b"{}")),
    not_found("PATCH on a collection", request(b"PATCH", b"/v1beta/tunedModels", b"{}")),
    not_found("DELETE on a collection", request(b"DELETE", b"/v1beta/tunedModels")),
    not_found("GET on a custom method", request(b"GET", GENERATE)),
    not_found("OPTIONS", request(b"OPTIONS", b"/v1beta/tunedModels")),
    not_found("TRACE", request(b"TRACE", b"/v1beta/tunedModels")),
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
    not_found("HTTP/2.0 request line", b"GET / HTTP/2.0\r\n" + CLOSE + b"\r\n"),
    # headers: a head over the bound (head_limit.MAX_HEAD_BYTES), refused as it arrives
    Malformed(
        "header line too long",
        request(b"GET", b"/v1beta/models", headers=b"X: " + b"a" * 600_000 + b"\r\n"),
        431,
    ),
    Malformed("form body on a JSON method", post(b"a=1&b=2", FORM)),
    Malformed("Expect 100-continue, bad body", post(b"{", b"Expect: 100-continue\r\n")),
    # bodies
    Malformed("JSON cut short", post(PING[:20], path=GENERATE)),
    Malformed("body with a BOM", post(b"\xef\xbb\xbf" + PING, path=GENERATE)),
    Malformed("body not UTF-8", post(PING.replace(b"ping", b"\xff\xfe"), path=GENERATE)),
    Malformed("body in UTF-16", post(PING.decode().encode("utf-16"), path=GENERATE)),
    Malformed("NaN literal", post(b'{"temperature": NaN}')),
    Malformed("integer of 5001 digits", post(b'{"topK": 1' + b"0" * 5000 + b"}")),
    Malformed("nesting 5000 deep", post(b"[" * 5000 + b"]" * 5000, path=GENERATE)),
    Malformed("HTTP/1.0, bad JSON", b"POST /v1beta/tunedModels HTTP/1.0\r\nContent-Length: 1\r\n\r\n{"),
    Malformed("chunks of bad JSON", chunked(b'3\r\n{"c\r\n2\r\nx}\r\n0\r\n\r\n')),
]


@pytest.mark.parametrize("case", MALFORMED_HTTP, ids=[case.name for case in MALFORMED_HTTP])
def test_malformed_http_gets_a_google_error_and_changes_nothing(emulator: Emulator, case: Malformed) -> None:
    with state_kept(emulator):
        reply = exchange(emulator.url, case.payload)
    assert_google_error(reply, case.code, case.status)


# --- what ends before its body: nobody left to answer -----------------------------------------------------

TRUNCATED = [
    ("body shorter than announced", post(b"{}", b"Content-Length: 100\r\n")),
    ("chunk cut short", chunked(b"10\r\nabc")),
    ("no last chunk", chunked(b"2\r\n{}\r\n")),
    ("chunk size huge", chunked(b"FFFFFFFFFFFFFFFF\r\n{}\r\n0\r\n\r\n")),
]


@pytest.mark.parametrize("payload", [p for _, p in TRUNCATED], ids=[n for n, _ in TRUNCATED])
def test_a_body_cut_short_by_a_client_that_hung_up_is_dropped_without_a_hang(
    emulator: Emulator, payload: bytes
) -> None:
    with state_kept(emulator):
        raw = exchange_bytes(emulator.url, payload, half_close=True)
        assert emulator.requests() == []
    assert raw == b""  # the connection is closed: the client is gone, nothing was done


def test_many_headers_within_the_head_bound_are_served(emulator: Emulator) -> None:
    many = b"".join(b"X-%d: a\r\n" % i for i in range(200))
    reply = exchange(emulator.url, request(b"GET", b"/v1beta/models", headers=many))
    assert reply.status == 200, reply.body[:300]


@pytest.mark.parametrize("line", [b"GET /v1beta/tunedModels", b"GET /v1beta/tunedModels HTTP/1.0"])
def test_other_http_versions_get_an_http_1_1_answer(emulator: Emulator, line: bytes) -> None:
    with state_kept(emulator):
        raw = exchange_bytes(emulator.url, line + b"\r\n\r\n")
    assert raw.startswith(b"HTTP/1.1 200 "), raw[:200]
    assert parse_reply(raw).status == 200


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
    """Random bytes before the blank line: an answer below 500, or a closed connection without one.

    Half-closed, so that a head the parser takes for a complete keep-alive
    request does not keep the connection open.
    """
    errors_before = len(running_emulator.internal_errors)
    raw = exchange_bytes(running_emulator.url, head + b"\r\n\r\n", half_close=True)
    if raw.startswith(b"HTTP/"):  # else nothing (an empty request, or dropped on the half-close)
        assert parse_reply(raw).status < 500, raw[:300]
    assert running_emulator.internal_errors[errors_before:] == []
