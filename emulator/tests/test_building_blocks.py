"""The emulator's building blocks without HTTP: schemas, timestamps, paging, ids, answers, training, clock."""

from __future__ import annotations

import math
import time
from datetime import datetime, timezone

import pytest

from tuneport_emulator import EmulatorClock
from tuneport_emulator.answers import answer, estimate_tokens, nearest_example
from tuneport_emulator.gemini.schema import GENERATE_CONTENT_REQUEST, TUNED_MODEL
from tuneport_emulator.ids import derive_token, slugify
from tuneport_emulator.paging import decode_page_token, encode_page_token, page_size
from tuneport_emulator.schema import Schema, normalize, render
from tuneport_emulator.training import Plan, total_steps
from tuneport_emulator.wire import (
    ApiError,
    error_body,
    format_timestamp,
    parse_timestamp,
    status_for_rpc_code,
)

# --- schema: reading -------------------------------------------------------------------------------


def test_normalize_accepts_both_spellings_and_canonicalizes() -> None:
    body = {
        "base_model": "models/x",
        "topK": "5",
        "temperature": 1,
        "tuning_task": {"hyperparameters": {"epoch_count": 3.0, "learningRate": "1e-3"}},
        "readerProjectNumbers": ["9007199254740993", 7],
        "state": 2,
        "description": None,
    }
    assert normalize(body, TUNED_MODEL, "tuned_model") == {
        "baseModel": "models/x",
        "topK": 5,
        "temperature": 1.0,
        "tuningTask": {"hyperparameters": {"epochCount": 3, "learningRate": 0.001}},
        "readerProjectNumbers": [9007199254740993, 7],
    }


def test_normalize_can_keep_output_only_fields() -> None:
    body = {"state": 2, "name": "tunedModels/x"}
    assert normalize(body, TUNED_MODEL, keep_output_only=True) == {"state": "ACTIVE", "name": "tunedModels/x"}


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (
            {"nope": 1},
            "Invalid JSON payload received. Unknown name \"nope\" at 'tuned_model': Cannot find field.",
        ),
        ({"topK": 1.5}, "Invalid value at 'tuned_model.top_k' (TYPE_INT32), 1.5"),
        ({"topK": "1.5"}, "Invalid value at 'tuned_model.top_k' (TYPE_INT32), \"1.5\""),
        ({"topK": True}, "(TYPE_INT32), true"),
        ({"temperature": "warm"}, "(TYPE_FLOAT)"),
        ({"temperature": 1e39}, "(TYPE_FLOAT)"),
        ({"displayName": ["a"]}, "Proto field is not repeating, cannot start list."),
        ({"readerProjectNumbers": "x"}, 'reader_project_numbers\' (TYPE_INT64), "x"'),
        ({"readerProjectNumbers": [2**63]}, "(TYPE_INT64)"),
        ({"state": "RUNNING"}, "google.ai.generativelanguage.v1beta.TunedModel.State"),
        ({"state": True}, "TunedModel.State"),
        ({"createTime": "2024-13-01T00:00:00Z"}, "google.protobuf.Timestamp"),
        ({"tuningTask": 3}, "Invalid value at 'tuned_model.tuning_task'"),
        ({"baseModel": "a", "tunedModelSource": {}}, "oneof field 'source_model' is already set."),
    ],
)
def test_normalize_refusals(body: dict[str, object], message: str) -> None:
    with pytest.raises(ApiError) as caught:
        normalize(body, TUNED_MODEL, "tuned_model")
    assert caught.value.status == "INVALID_ARGUMENT"
    assert caught.value.http_status == 400
    assert message in caught.value.message


def test_normalize_reads_what_the_converter_accepts() -> None:
    # A single value for a repeated field, nulls in a list, an enum number the enum lacks,
    # and both spellings of one field (the later one wins).
    body = {"readerProjectNumbers": "1", "state": 9, "displayName": "a", "display_name": "b"}
    assert normalize(body, TUNED_MODEL, keep_output_only=True) == {
        "readerProjectNumbers": [1],
        "state": 9,
        "displayName": "b",
    }
    assert normalize({"readerProjectNumbers": [None, 2]}, TUNED_MODEL) == {"readerProjectNumbers": [2]}


def test_normalize_bytes_duration_and_json_fields() -> None:
    request = {
        "contents": [
            {
                "parts": [
                    {"inlineData": {"data": "aGVsbG8=", "mimeType": "text/plain"}},
                    {"fileData": {"fileUri": "gs://b/o"}, "videoMetadata": {"startOffset": "1.5s"}},
                    {"functionCall": {"name": "f", "args": {"any": ["json", 1]}}},
                ]
            }
        ]
    }
    assert normalize(request, GENERATE_CONTENT_REQUEST) == request
    with pytest.raises(ApiError, match="TYPE_BYTES"):
        normalize({"contents": [{"parts": [{"inlineData": {"data": "***"}}]}]}, GENERATE_CONTENT_REQUEST)
    with pytest.raises(ApiError, match="Duration"):
        normalize(
            {"contents": [{"parts": [{"videoMetadata": {"startOffset": "soon"}}]}]}, GENERATE_CONTENT_REQUEST
        )


def test_float_words() -> None:
    assert math.isinf(normalize({"temperature": "Infinity"}, TUNED_MODEL)["temperature"])
    assert math.isnan(normalize({"temperature": "NaN"}, TUNED_MODEL)["temperature"])


def test_schema_with_an_undeclared_type_fails_loudly() -> None:
    schema = Schema("test.pkg")
    schema.message("Holder", "thing Missing")
    with pytest.raises(RuntimeError, match="unresolved"):
        schema.check_complete()


# --- schema: writing ---------------------------------------------------------------------------------


def test_render_enums_int64_and_non_finite_floats() -> None:
    value = {"state": "ACTIVE", "readerProjectNumbers": [5], "temperature": math.inf, "extra": 1}
    assert render(value, TUNED_MODEL) == {
        "state": "ACTIVE",
        "readerProjectNumbers": ["5"],
        "temperature": "Infinity",
        "extra": 1,
    }
    assert render(value, TUNED_MODEL, enum_int=True)["state"] == 2


# --- wire ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        (0, "1970-01-01T00:00:00Z"),
        (1717200000.5, "2024-06-01T00:00:00.500Z"),
        (1717200000.123456, "2024-06-01T00:00:00.123456Z"),
    ],
)
def test_timestamps_round_trip(seconds: float, text: str) -> None:
    assert format_timestamp(seconds) == text
    assert parse_timestamp(text) == pytest.approx(seconds)


def test_parse_timestamp_with_offsets() -> None:
    assert parse_timestamp("2024-06-01T02:00:00+02:00") == parse_timestamp("2024-06-01T00:00:00Z")
    assert parse_timestamp("2024-06-01T00:00:00.123456789Z") == pytest.approx(1717200000.123456789)
    for bad in ("2024-06-01", "2024-06-01T00:00:00", "yesterday"):
        with pytest.raises(ValueError, match="RFC 3339"):
            parse_timestamp(bad)


def test_error_body_and_codes() -> None:
    assert error_body(404, "NOT_FOUND", "gone") == {
        "error": {"code": 404, "message": "gone", "status": "NOT_FOUND"}
    }
    assert status_for_rpc_code(1) == "CANCELLED"
    assert status_for_rpc_code(99) == "UNKNOWN"
    assert ApiError("ALREADY_EXISTS", "dup").http_status == 409
    assert ApiError("UNAUTHENTICATED", "who").http_status == 401
    with pytest.raises(ValueError, match="unknown status"):
        ApiError("NOPE", "x")


# --- paging and ids --------------------------------------------------------------------------------------


def test_page_tokens() -> None:
    token = encode_page_token(42, context="filter=a")
    assert decode_page_token(token, context="filter=a") == 42
    assert decode_page_token(None) == 0
    with pytest.raises(ApiError, match="different parameters"):
        decode_page_token(token, context="filter=b")
    assert page_size(None, default=10, maximum=1000) == 10
    assert page_size("0", default=10, maximum=1000) == 10
    assert page_size("5000", default=10, maximum=1000) == 1000


def test_slugify_and_tokens() -> None:
    assert slugify("Sentence Translator", 34) == "sentence-translator"
    assert slugify("Crème brûlée — recipes", 34) == "creme-brulee-recipes"
    assert slugify("!!!", 34) == ""
    assert slugify("a b c d e", 4) == "a-b"
    assert derive_token("x", 5) == derive_token("x", 5) != derive_token("y", 5)
    assert len(derive_token("x", 12)) == 12


# --- answers --------------------------------------------------------------------------------------------


def test_nearest_example_rules() -> None:
    inputs = ["Hello", "hello", "goodbye", "good day"]
    assert nearest_example(inputs, "hello") == 1  # exact beats folded
    assert nearest_example(inputs, " HELLO ") == 0  # folded: first
    assert nearest_example(inputs, "goodby") == 2  # similarity
    assert nearest_example([], "x") is None
    assert nearest_example(["ab", "ab "], "zz") == 0  # equal similarity: the first


def test_answer_truncation_and_tokens() -> None:
    examples = [("q", "abcdefghij")]
    assert answer(examples, "q").text == "abcdefghij"
    cut = answer(examples, "q", max_output_tokens=2)
    assert (cut.text, cut.finish_reason) == ("abcdefgh", "MAX_TOKENS")
    stopped = answer(examples, "q", stop_sequences=["f", "c"])
    assert (stopped.text, stopped.finish_reason) == ("ab", "STOP")
    assert answer([], "q").text == ""
    assert estimate_tokens("") == 0
    assert estimate_tokens("abcde") == 2


# --- training -------------------------------------------------------------------------------------------


def test_training_plan_and_curve() -> None:
    assert total_steps(15, 2, 5) == 38  # ceil(15 x 5 / 2), as the Gemini API counts
    assert total_steps(15, 4, 5) == 19
    assert total_steps(0, 4, 5) == 2  # at least one example
    plan = Plan.create(start=100.0, examples=8, batch_size=4, epochs=5, seed=7)
    assert plan.total_steps == 10
    assert plan.step_time(0) == 130.0
    assert plan.completed_steps(129.9) == 0
    assert plan.completed_steps(136.0) == 1
    assert plan.completed_steps(10_000) == 10
    assert plan.end_time == 190.0
    shots = plan.snapshots(10)
    assert [s.epoch for s in shots] == [1, 1, 2, 2, 3, 3, 4, 4, 5, 5]
    assert [plan.epoch_end_step(e) for e in range(1, 6)] == [2, 4, 6, 8, 10]
    assert shots[0].mean_loss > shots[-1].mean_loss > 0
    assert Plan.from_json(plan.to_json()) == plan
    assert Plan.from_json(plan.to_json()).mean_loss(3) == plan.mean_loss(3)


# --- clock ------------------------------------------------------------------------------------------------


def test_manual_clock() -> None:
    clock = EmulatorClock.manual()
    assert clock.mode == "manual"
    start = clock.now()
    time.sleep(0.01)
    assert clock.now() == start
    assert clock.advance(10) == start + 10
    with pytest.raises(ValueError, match="forward"):
        clock.advance(-1)
    with pytest.raises(ValueError, match="forward"):
        clock.advance(math.nan)
    fixed = EmulatorClock.manual(datetime(2030, 1, 1, tzinfo=timezone.utc))
    assert fixed.describe()["now"] == "2030-01-01T00:00:00Z"


def test_scaled_clock() -> None:
    clock = EmulatorClock.scaled(speed=1000)
    first = clock.now()
    time.sleep(0.02)
    assert clock.now() - first >= 15  # ~20 emulator seconds
    before = clock.now()
    assert clock.advance(100) >= before + 100
    assert abs(EmulatorClock().now() - time.time()) < 5  # starts at wall time
    with pytest.raises(ValueError, match="speed"):
        EmulatorClock(speed=0)
    with pytest.raises(ValueError, match="mode"):
        EmulatorClock(mode="fast")
