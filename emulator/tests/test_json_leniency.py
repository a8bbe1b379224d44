"""Request bodies are read with the grammar of protobuf's JSON stream parser, as ESF reads them.

Each accepted or refused form is one that ``json_stream_parser.cc`` (protobuf
<= 21.x, ``google/protobuf/util/internal``) accepts or refuses, with its words;
docs/emulator.md ("Requests as Google's front end reads them") cites the
lines.  Strict JSON reads exactly as :func:`json.loads` reads it.
"""

from __future__ import annotations

import json
import math
from typing import Any

import httpx
import pytest
from emulator_helpers import assert_error
from hypothesis import given, settings
from hypothesis import strategies as st

from tuneport_emulator.esf_json import (
    MAX_OBJECT_DEPTH,
    JsonSyntaxError,
    RepeatedKeyObject,
    _Parser,
    loads,
    strtod,
)
from tuneport_emulator.wire import ApiError, parse_json_body

# --- what the parser accepts beyond strict JSON ------------------------------------------------


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ('{"a": 1,}', {"a": 1}),  # ParseEntry: "This allows for trailing commas."
        ('{"a": [1, 2,],}', {"a": [1, 2]}),  # ParseArrayValue accepts ] where a value may come
        ("{'a': 'b'}", {"a": "b"}),  # strings open with ' or "
        ('{\'it\\\'s\': "say \\"hi\\""}', {"it's": 'say "hi"'}),
        ("{a: 1, _b$2: 2, $c: 3}", {"a": 1, "_b$2": 2, "$c": 3}),  # ConsumeKey: bare keys
        ("{nullable: 1, trueish: 2, falsely: 3}", {"nullable": 1, "trueish": 2, "falsely": 3}),
        ('{"a": "\\v\\/\\q\\\'"}', {"a": "\v/q'"}),  # any other escaped character is itself
        ('{"a": "tab\there"}', {"a": "tab\there"}),  # raw control characters are kept
        ('{"a": "\\ud83d\\ude00"}', {"a": "\U0001f600"}),  # surrogate pairs
        ('{"a": 1.}', {"a": 1.0}),  # strtod reads "1."
        ('{"a": -.5}', {"a": -0.5}),
        ('{"a": 0x1.8}', {"a": 1.5}),  # a "floating" token (it has a '.') goes to strtod
        ('{"a": 1e2}', {"a": 100.0}),
        ('{"a": -0}', {"a": 0}),
        ('{"a": 18446744073709551615}', {"a": 2**64 - 1}),  # uint64
        ('{"a": 18446744073709551616}', {"a": 1.8446744073709552e19}),  # too big: a double
        ('{"a": -9223372036854775809}', {"a": -9.223372036854775808e18}),
        (' \t\n\v\f\r{"a": 1} \n', {"a": 1}),  # ascii_isspace
    ],
)
def test_the_parser_accepts(text: str, value: Any) -> None:
    assert loads(text) == value


def test_numbers_keep_their_kind() -> None:
    parsed = loads('{"i": 5, "f": 5.0, "e": 5e0, "big": 99999999999999999999}')
    assert [type(parsed[k]) for k in ("i", "f", "e", "big")] == [int, float, float, float]


def test_a_repeated_key_keeps_every_pair_in_order() -> None:
    parsed = loads('{"a": 1, "b": 2, "a": 3}')
    assert isinstance(parsed, RepeatedKeyObject)
    assert parsed == {"a": 3, "b": 2}
    assert parsed.pairs == [("a", 1), ("b", 2), ("a", 3)]
    assert type(loads('{"a": 1, "b": 2}')) is dict


# --- what it refuses, in its words --------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "message", "column"),
    [
        ('{"a": 01}', "Octal/hex numbers are not valid JSON values.", 6),
        ('{"a": -01}', "Octal/hex numbers are not valid JSON values.", 6),
        ('{"a": 0x10}', "Octal/hex numbers are not valid JSON values.", 6),
        ('{"a": NaN}', "Unexpected token.", 6),
        ('{"a": Infinity}', "Unexpected token.", 6),
        ('{"a": +1}', "Expected a value.", 6),
        ('{"a": 1e400}', "Number exceeds the range of double.", 6),
        ('{"a": 1.2.3}', "Unable to parse number.", 6),
        ('{"a": 1-2}', "Unable to parse number.", 6),
        ('{"a": -}', "Unable to parse number.", 6),
        ('{"a": 1 "b": 2}', "Expected , or } after key:value pair.", 8),
        ('{"a" 1}', "Expected : between key:value pair.", 5),
        ('{"a": 1,,}', "Expected an object key or }.", 8),
        ("{,}", "Expected an object key or }.", 1),
        ("{null: 1}", "Expected an object key or }.", 5),  # reported after the bare word
        ("{1: 2}", "Expected an object key or }.", 1),
        ('{"a": [1,,2]}', "Unexpected token.", 9),
        ('{"a": [1 2]}', "Expected , or ] after array value.", 9),
        ('{"a": }', "Unexpected token.", 6),
        ('{"a": "\\uZZZZ"}', "Invalid escape sequence.", 7),
        ('{"a": "\\ud800"}', "Missing low surrogate.", 7),
        ('{"a": "\\ud800\\u0041"}', "Invalid low surrogate.", 7),
        ('{"a": "\\udc00"}', "Invalid unicode code point.", 7),
        ('{"a": "\\u12"}', "Invalid escape sequence.", 7),  # reads 4 characters: 12"}
        ('{"a": "\\u12', "Illegal hex string.", 7),
        ('{"a": "open}', "Closing quote expected in string.", 12),
        ('{"a": 1}}', "Parsing terminated before end of input.", 8),
        ('{"a": 1} /* no */', "Parsing terminated before end of input.", 9),
        ('{"a": 1', "Unexpected end of string. Expected , or } after key:value pair.", 7),
        ('{"a":', "Unexpected end of string. Expected a value.", 5),
        ('{"a": [', "Unexpected end of string. Expected a value or ] within an array.", 7),
        ('{"a": é}', "Expected a value.", 6),  # not an ASCII letter: not a token
    ],
)
def test_the_parser_refuses_in_its_words(text: str, message: str, column: int) -> None:
    with pytest.raises(JsonSyntaxError) as caught:
        loads(text)
    words, segment, caret = caught.value.message.split("\n")
    assert words == message
    # ReportFailure: up to 20 characters each side of the error, and a caret under it.
    begin = max(column - 20, 0)
    assert segment == text[begin : column + 20]
    assert caret == " " * (column - begin) + "^"


def test_the_context_is_twenty_characters_each_side() -> None:
    text = '{"long_key_number_one": 1 "long_key_number_two": 2}'
    with pytest.raises(JsonSyntaxError) as caught:
        loads(text)
    at = text.index('"long_key_number_two"')
    assert caught.value.message.split("\n")[1:] == [text[at - 20 : at + 20], " " * 20 + "^"]


def test_objects_nest_at_most_100_deep() -> None:
    assert loads('{"a":' * MAX_OBJECT_DEPTH + "1" + "}" * MAX_OBJECT_DEPTH)
    with pytest.raises(JsonSyntaxError) as caught:
        loads('{"a":' * 100 + '{"deep": 1}' + "}" * 100)
    # IncrementRecursionDepth names the key of the object that went too deep, without context.
    assert caught.value.message == "Message too deep. Max recursion depth reached for key 'a'"
    with pytest.raises(JsonSyntaxError, match="Arrays are nested deeper than 100 levels"):
        loads('{"a": ' + "[" * 101 + "]" * 101 + "}")


def test_a_million_levels_are_refused_without_recursion() -> None:
    with pytest.raises(JsonSyntaxError):
        loads("[" * 1_000_000)
    with pytest.raises(JsonSyntaxError):
        loads('{"a":' * 1_000_000)


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("1e3", 1000.0),
        ("  -2.5 ", -2.5),
        ("0x1p3", 8.0),
        ("INF", math.inf),
        ("-infinity", -math.inf),
        ("1e", None),
        ("", None),
        ("1 2", None),
        ("1_000", None),
    ],
)
def test_strtod_reads_what_c_reads_in_full(text: str, value: float | None) -> None:
    assert strtod(text) == value


#: Every message of json_stream_parser.cc that text of the alphabet below can reach.
_PARSER_WORDS = {
    "Expected a value.", "Unexpected token.", "Closing quote expected in string.", "Illegal hex string.",
    "Invalid escape sequence.", "Missing low surrogate.", "Invalid low surrogate.",
    "Invalid unicode code point.", "Unable to parse number.", "Number exceeds the range of double.",
    "Octal/hex numbers are not valid JSON values.", "Expected , or } after key:value pair.",
    "Expected an object key or }.", "Expected : between key:value pair.",
    "Expected a value or ] within an array.", "Expected , or ] after array value.",
    "Parsing terminated before end of input.",
}  # fmt: skip

# --- strict JSON reads as json.loads reads it ---------------------------------------------------

_SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**63), max_value=2**64 - 1),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(),
)
_JSON = st.recursive(
    _SCALARS,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=20,
)


@settings(max_examples=300, deadline=None)
@given(value=st.dictionaries(st.text(max_size=8), _JSON, max_size=5), ascii_only=st.booleans())
def test_strict_json_reads_as_json_loads_reads_it(value: dict[str, Any], ascii_only: bool) -> None:
    text = json.dumps(value, ensure_ascii=ascii_only)
    assert loads(text) == json.loads(text)


@settings(max_examples=300, deadline=None)
@given(raw=st.binary(max_size=300))
def test_any_bytes_are_a_value_or_a_400(raw: bytes) -> None:
    outcome: Any
    try:
        outcome = parse_json_body(raw)
    except ApiError as error:
        outcome = error
    if isinstance(outcome, ApiError):
        assert outcome.http_status == 400
        assert outcome.message.startswith("Invalid JSON payload received.")
    else:
        assert isinstance(outcome, dict)


@settings(max_examples=300, deadline=None)
@given(text=st.text(alphabet="{}[]:,'\"\\ -.0123456789eExabnulltrfs$_\n", max_size=60))
def test_near_json_is_a_value_or_a_syntax_error(text: str) -> None:
    try:
        loads(text)
    except JsonSyntaxError as error:
        words = error.message.split("\n")[0].removeprefix("Unexpected end of string. ")
        assert words in _PARSER_WORDS, words


# --- as the HTTP front end answers ----------------------------------------------------------------


def test_a_syntax_error_is_a_400_with_no_details(client: httpx.Client) -> None:
    response = client.post("/v1beta/tunedModels", content=b'{"baseModel": "models/x" "displayName": 1}')
    error = assert_error(response, 400, "INVALID_ARGUMENT")
    assert error["message"] == (
        "Invalid JSON payload received. Expected , or } after key:value pair.\n"
        'eModel": "models/x" "displayName": 1}\n'
        "                    ^"
    )
    assert "details" not in error


def test_invalid_utf8_after_a_valid_prefix(client: httpx.Client) -> None:
    response = client.post("/v1beta/tunedModels", content=b'{"displayName": "caf\xe9"}')
    error = assert_error(response, 400, "INVALID_ARGUMENT")
    assert error["message"].startswith("Invalid JSON payload received. Encountered non UTF-8 code points.\n")
    # A syntax error before the bad byte is the one reported.
    response = client.post("/v1beta/tunedModels", content=b'{"a" 1, "b": "\xff"}')
    error = assert_error(response, 400, "INVALID_ARGUMENT")
    assert error["message"].startswith("Invalid JSON payload received. Expected : between key:value pair.")


def test_a_top_level_that_is_not_an_object(client: httpx.Client) -> None:
    response = client.post("/v1beta/tunedModels", content=b"[]")
    error = assert_error(response, 400, "INVALID_ARGUMENT")
    assert (
        error["message"] == 'Invalid JSON payload received. Unknown name "": Root element must be a message.'
    )
    assert error["details"][0]["fieldViolations"] == [{"description": error["message"]}]


def test_a_lenient_body_is_answered_like_its_strict_twin(client: httpx.Client) -> None:
    lenient = b"""{
        base_model: 'models/gemini-1.5-flash-001-tuning',
        'display_name': 'lenient',
        tuning_task: {
            hyperparameters: {epoch_count: '2', batch_size: 4.0, learning_rate: "0.001",},
            training_data: {examples: {examples: [{text_input: '1', output: '2',},],},},
        },
    }"""
    created = client.post("/v1beta/tunedModels", params={"tunedModelId": "lenient"}, content=lenient)
    assert created.status_code == 200, created.text
    model = client.get("/v1beta/tunedModels/lenient").json()
    assert model["displayName"] == "lenient"
    assert model["tuningTask"]["hyperparameters"] == {"epochCount": 2, "batchSize": 4, "learningRate": 0.001}


def _read(text: str, reader: Any) -> Any:
    try:
        value = reader(text)
    except JsonSyntaxError as error:
        return ("refused", error.message)
    return ("read", value, type(value), getattr(value, "pairs", None))


@settings(max_examples=400, deadline=None)
@given(
    text=st.one_of(
        st.text(alphabet='{}[]:,"\\ -.0123456789eEtrufalsnNI\n\x01u', max_size=40),
        _JSON.map(json.dumps),
        st.sampled_from([
            '{"a": NaN}', '{"a": 1e400}', '{"a": 99999999999999999999999}', '{"a": "\\ud800"}',
            '{"a": 1, "a": 2}', '["\\udc00"]', "[" * 150 + "]" * 150, '{"a":' * 120 + "1" + "}" * 120,
            # More brackets than the limits, shallow: read without a walk only when the count allows.
            "[" + ",".join(['{"a": [1, {"b": []}]}'] * 150) + "]",
        ]),
    )
)  # fmt: skip
def test_the_fast_path_reads_exactly_as_the_stream_parser(text: str) -> None:
    # loads() lets the json module read strict JSON; it must agree with the parser in full.
    assert _read(text, loads) == _read(text, lambda t: _Parser(t).parse())
