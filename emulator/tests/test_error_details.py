"""Errors in a body's content, worded and detailed as Google's front end reports them.

ESF converts the JSON with protobuf's ``ProtoStreamObjectWriter``, which
reports every problem to a listener and carries on, so one reply lists them
all: the message joins their descriptions with newlines and one
``google.rpc.BadRequest`` detail holds a violation each, in document order.
The wordings are the converter's (``proto_writer.cc``: ``InvalidName``,
``InvalidValue``, ``ValidOneof``) as Google's replies show them, e.g.
``Invalid JSON payload received. Unknown name "x" at 'tuned_model': Cannot
find field.`` and ``Invalid value at 'requests[0].insert_text.location.index'
(TYPE_INT32), "abc"``; paths use the proto (snake_case) names.
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from emulator_helpers import assert_error, create_body
from hypothesis import given, settings
from hypothesis import strategies as st

from tuneport_emulator.esf_json import loads
from tuneport_emulator.gemini.schema import GENERATE_CONTENT_REQUEST, TUNED_MODEL
from tuneport_emulator.schema import MAX_VIOLATIONS, normalize
from tuneport_emulator.vertex.schema import messages
from tuneport_emulator.wire import ApiError, parse_json_body

_BAD_REQUEST = "type.googleapis.com/google.rpc.BadRequest"
_TUNED = "type.googleapis.com/google.ai.generativelanguage.v1beta"


def refusal(body: Any, message: Any = TUNED_MODEL, path: str = "tuned_model") -> ApiError:
    with pytest.raises(ApiError) as caught:
        normalize(body, message, path)
    assert caught.value.http_status == 400
    assert caught.value.status == "INVALID_ARGUMENT"
    return caught.value


def violations(error: ApiError) -> list[dict[str, str]]:
    (detail,) = error.details
    assert detail["@type"] == _BAD_REQUEST
    listed: list[dict[str, str]] = detail["fieldViolations"]
    assert error.message == "\n".join(v["description"] for v in listed)
    return listed


# --- every problem, each a violation ---------------------------------------------------------------


def test_every_unknown_field_is_reported_in_document_order() -> None:
    error = refusal(
        {"colour": "red", "displayName": "x", "size": 3, "tuningTask": {"speed": 1, "fast": True}}
    )
    unknown = "Invalid JSON payload received. Unknown name"
    assert violations(error) == [
        {"field": "tuned_model", "description": f"{unknown} \"colour\" at 'tuned_model': Cannot find field."},
        {"field": "tuned_model", "description": f"{unknown} \"size\" at 'tuned_model': Cannot find field."},
        {
            "field": "tuned_model.tuning_task",
            "description": f"{unknown} \"speed\" at 'tuned_model.tuning_task': Cannot find field.",
        },
        {
            "field": "tuned_model.tuning_task",
            "description": f"{unknown} \"fast\" at 'tuned_model.tuning_task': Cannot find field.",
        },
    ]


def test_at_the_root_the_field_is_left_out() -> None:
    error = refusal({"prompt": "hi", "systemInstruction": {}}, GENERATE_CONTENT_REQUEST, "")
    assert violations(error) == [
        {"description": 'Invalid JSON payload received. Unknown name "prompt": Cannot find field.'}
    ]


def test_what_is_inside_an_unknown_field_is_not_looked_at() -> None:
    error = refusal({"extra": {"deeper": {"x": 1}}, "displayName": 5})
    assert [v["field"] for v in violations(error)] == ["tuned_model", "tuned_model.display_name"]


def test_names_are_echoed_as_sent_and_case_matters() -> None:
    error = refusal({"DisplayName": "x", "display_Name": "y"})
    assert [v["description"].split('"')[1] for v in violations(error)] == ["DisplayName", "display_Name"]


def test_unknown_names_and_bad_values_are_reported_together() -> None:
    body = {
        "displayName": 5,
        "nope": 1,
        "tuningTask": {"hyperparameters": {"epochCount": "abc", "batchSize": 2.5, "learningRate": "fast"}},
        "temperature": True,
    }
    assert [v["description"] for v in violations(refusal(body))] == [
        "Invalid value at 'tuned_model.display_name' (TYPE_STRING), 5",
        "Invalid JSON payload received. Unknown name \"nope\" at 'tuned_model': Cannot find field.",
        "Invalid value at 'tuned_model.tuning_task.hyperparameters.epoch_count' (TYPE_INT32), \"abc\"",
        "Invalid value at 'tuned_model.tuning_task.hyperparameters.batch_size' (TYPE_INT32), 2.5",
        "Invalid value at 'tuned_model.tuning_task.hyperparameters.learning_rate' (TYPE_FLOAT), \"fast\"",
        "Invalid value at 'tuned_model.temperature' (TYPE_FLOAT), true",
    ]


def test_the_number_of_violations_is_bounded() -> None:
    error = refusal({f"field{i}": i for i in range(MAX_VIOLATIONS + 50)})
    assert len(violations(error)) == MAX_VIOLATIONS


# --- each wording ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "field", "description"),
    [
        # A message field given a scalar names the message type.
        ({"tuningTask": "fast"}, "tuned_model.tuning_task",
         f"Invalid value at 'tuned_model.tuning_task' ({_TUNED}.TuningTask), \"fast\""),
        # An enum names its type; its value is shown as sent (strings quoted, unescaped).
        ({"state": "RUNNING"}, "tuned_model.state",
         f"Invalid value at 'tuned_model.state' ({_TUNED}.TunedModel.State), \"RUNNING\""),
        ({"state": "active"}, "tuned_model.state",
         f"Invalid value at 'tuned_model.state' ({_TUNED}.TunedModel.State), \"active\""),
        ({"state": 1.5}, "tuned_model.state",
         f"Invalid value at 'tuned_model.state' ({_TUNED}.TunedModel.State), 1.5"),
        ({"topK": 2**31}, "tuned_model.top_k",
         "Invalid value at 'tuned_model.top_k' (TYPE_INT32), 2147483648"),
        ({"topK": " 5"}, "tuned_model.top_k", "Invalid value at 'tuned_model.top_k' (TYPE_INT32), \" 5\""),
        ({"topK": "1e3"}, "tuned_model.top_k", "Invalid value at 'tuned_model.top_k' (TYPE_INT32), \"1e3\""),
        ({"temperature": 1e39}, "tuned_model.temperature",
         "Invalid value at 'tuned_model.temperature' (TYPE_FLOAT), 1e+39"),
        ({"temperature": "inf"}, "tuned_model.temperature",
         "Invalid value at 'tuned_model.temperature' (TYPE_FLOAT), \"inf\""),
        ({"readerProjectNumbers": ["1", "x"]}, "tuned_model.reader_project_numbers[0]",
         "Invalid value at 'tuned_model.reader_project_numbers[0]' (TYPE_INT64), \"x\""),
        ({"createTime": "2024-01-01T00:00:00"}, "tuned_model.create_time",
         "Invalid value at 'tuned_model.create_time' (type.googleapis.com/google.protobuf.Timestamp), "
         "Field 'createTime', Illegal timestamp format; timestamps must end with 'Z' "
         "or have a valid timezone offset."),
        ({"createTime": 5}, "tuned_model.create_time",
         "Invalid value at 'tuned_model.create_time' (type.googleapis.com/google.protobuf.Timestamp), "
         "Field 'createTime', Invalid data type for timestamp, value is 5"),
        # A list for a field that is not repeated: an "Unknown name" at the holding object.
        ({"displayName": ["a"]}, "tuned_model",
         "Invalid JSON payload received. Unknown name \"displayName\" at 'tuned_model': "
         "Proto field is not repeating, cannot start list."),
        # An object for a scalar field names the field, at the holding object.
        ({"displayName": {"text": "a"}}, "tuned_model",
         "Invalid value at 'tuned_model' (display_name), Starting an object on a scalar field"),
        # A second member of a oneof: at the holding object, the oneof's proto name, the key as sent.
        ({"baseModel": "models/a", "tunedModelSource": {"tunedModel": "tunedModels/b"}}, "tuned_model",
         "Invalid value at 'tuned_model' (oneof), oneof field 'source_model' is already set. "
         "Cannot set 'tunedModelSource'"),
        ({"tuning_task": {"hyperparameters": {"learning_rate": 0.1, "learningRateMultiplier": 2}}},
         "tuned_model.tuning_task.hyperparameters",
         "Invalid value at 'tuned_model.tuning_task.hyperparameters' (oneof), oneof field "
         "'learning_rate_option' is already set. Cannot set 'learningRateMultiplier'"),
    ],
)  # fmt: skip
def test_wordings(body: dict[str, Any], field: str, description: str) -> None:
    assert violations(refusal(body)) == [{"field": field, "description": description}]


def test_indexes_count_objects_and_refused_values_as_the_converter_does() -> None:
    # Accepted scalars of a repeated field push no element in proto3: the second bad
    # value is at [1] although it is the fourth item.
    error = refusal({"readerProjectNumbers": [1, "x", 2, "y"]})
    assert [v["field"] for v in violations(error)] == [
        "tuned_model.reader_project_numbers[0]",
        "tuned_model.reader_project_numbers[1]",
    ]
    body = {"contents": [{"parts": [{"text": "a"}, {"text": "b", "bogus": 1}]}, {"parts": {"text": 5}}]}
    error = refusal(body, GENERATE_CONTENT_REQUEST, "")
    assert [v["field"] for v in violations(error)] == ["contents[0].parts[1]", "contents[1].parts.text"]


def test_a_null_is_unset_and_takes_no_oneof() -> None:
    body = {"baseModel": None, "tunedModelSource": {"tunedModel": "tunedModels/b"}, "description": None}
    assert normalize(body, TUNED_MODEL, "tuned_model") == {
        "tunedModelSource": {"tunedModel": "tunedModels/b"}
    }


def test_vertex_paths_start_at_tuning_job() -> None:
    body = {"baseModel": "gemini-2.5-flash", "supervisedTuningSpec": {"hyperParameters": {"epochCount": "x"}}}
    error = refusal(body, messages("v1").tuning_job, "tuning_job")
    path = "tuning_job.supervised_tuning_spec.hyper_parameters"
    assert violations(error) == [
        {
            "field": f"{path}.epoch_count",
            "description": f"Invalid value at '{path}.epoch_count' (TYPE_INT64), \"x\"",
        }
    ]


# --- what converts ----------------------------------------------------------------------------------------


def test_values_convert_as_the_converter_converts_them() -> None:
    body = loads("""{
        'displayName': 'x', topK: '+7', temperature: '1e-1', topP: 1,
        readerProjectNumbers: '12', state: '2',
        tuningTask: {hyperparameters: {epochCount: 5.0, batchSize: "004", learningRateMultiplier: "0x1p-2"}},
    }""")
    assert normalize(body, TUNED_MODEL, "tuned_model", keep_output_only=True) == {
        "displayName": "x",
        "topK": 7,
        "temperature": 0.1,
        "topP": 1.0,
        "readerProjectNumbers": [12],
        "state": "ACTIVE",
        "tuningTask": {"hyperparameters": {"epochCount": 5, "batchSize": 4, "learningRateMultiplier": 0.25}},
    }


def test_float_words_bools_and_unknown_enum_numbers() -> None:
    request = {
        "generationConfig": {"temperature": "NaN", "topP": "Infinity", "responseLogprobs": "YES"},
        "safetySettings": [{"category": 99, "threshold": "BLOCK_NONE"}],
    }
    normalized = normalize(request, GENERATE_CONTENT_REQUEST)
    config = normalized["generationConfig"]
    assert config["temperature"] != config["temperature"]  # NaN
    assert config["topP"] == float("inf")
    assert config["responseLogprobs"] is True
    # proto3 keeps an enum number it does not know; a name it does not know is refused.
    assert normalized["safetySettings"] == [{"category": 99, "threshold": "BLOCK_NONE"}]


def test_a_repeated_key_merges_as_the_converter_writes_it() -> None:
    body = loads("""{
        "displayName": "first", "display_name": "second",
        "readerProjectNumbers": [1], "readerProjectNumbers": [2, 3],
        "tuningTask": {"hyperparameters": {"epochCount": 3}},
        "tuningTask": {"hyperparameters": {"batchSize": 4}}
    }""")
    assert normalize(body, TUNED_MODEL, "tuned_model") == {
        "displayName": "second",
        "readerProjectNumbers": [1, 2, 3],
        "tuningTask": {"hyperparameters": {"epochCount": 3, "batchSize": 4}},
    }


def test_a_nested_list_continues_the_same_repeated_field() -> None:
    body = {"contents": [[{"parts": [{"text": "a"}]}], {"parts": [[{"text": "b"}]]}]}
    assert normalize(body, GENERATE_CONTENT_REQUEST) == {
        "contents": [{"parts": [{"text": "a"}]}, {"parts": [{"text": "b"}]}]
    }


# --- over HTTP -------------------------------------------------------------------------------------------


def test_the_error_body_keeps_googles_shape(client: httpx.Client) -> None:
    body = create_body()
    body["colour"] = "red"
    body["tuningTask"]["hyperparameters"] = {"epochs": 3, "epochCount": "many"}
    response = client.post("/v1beta/tunedModels", json=body)
    error = assert_error(response, 400, "INVALID_ARGUMENT")
    assert set(error) == {"code", "message", "status", "details"}
    assert error["code"] == 400
    assert [v["field"] for v in error["details"][0]["fieldViolations"]] == [
        "tuned_model.tuning_task.hyperparameters",
        "tuned_model.tuning_task.hyperparameters.epoch_count",
        "tuned_model",  # "colour" comes last in the body
    ]
    assert error["message"].split("\n") == [v["description"] for v in error["details"][0]["fieldViolations"]]


def test_timestamps_and_durations_as_their_messages() -> None:
    body = {"createTime": {"seconds": "1700000000", "nanos": 500000000}}
    assert normalize(body, TUNED_MODEL, keep_output_only=True) == {"createTime": "2023-11-14T22:13:20.500Z"}
    part = {
        "fileData": {"fileUri": "gs://b/o"},
        "videoMetadata": {"startOffset": {"seconds": -1, "nanos": -5}},
    }
    request = normalize({"contents": {"parts": part}}, GENERATE_CONTENT_REQUEST)
    assert request["contents"][0]["parts"][0]["videoMetadata"] == {"startOffset": "-1.000000005s"}
    error = refusal({"createTime": {"seconds": 2**40, "extra": 1}})
    assert [v["description"] for v in violations(error)] == [
        "Invalid JSON payload received. Unknown name \"extra\" at 'tuned_model.create_time': "
        "Cannot find field.",
        "Invalid value at 'tuned_model.create_time' (type.googleapis.com/google.protobuf.Timestamp), "
        "Field 'createTime', Timestamp value exceeds limits",
    ]


_ANY_JSON = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats()
    | st.text(max_size=12)
    | st.sampled_from(["NaN", "Infinity", "1e3", "+7", "ACTIVE", "2024-01-01T00:00:00Z", "1.5s", "aGk="]),
    lambda inner: st.lists(inner, max_size=3)
    | st.dictionaries(
        st.sampled_from(["displayName", "tuning_task", "hyperparameters", "epochCount", "parts", "text",
                         "contents", "role", "seconds", "nanos", "state", "examples", "baseModel", "x"]),
        inner,
        max_size=4,
    ),
    max_leaves=25,
)  # fmt: skip
_REQUESTS = [
    (TUNED_MODEL, "tuned_model"),
    (GENERATE_CONTENT_REQUEST, ""),
    (messages("v1beta1").tuning_job, "tuning_job"),
    (messages("v1").generate_content_request, ""),
]


@settings(max_examples=400, deadline=None)
@given(body=st.dictionaries(st.text(max_size=10), _ANY_JSON, max_size=5) | _ANY_JSON, which=st.integers(0, 3))
def test_any_body_is_read_or_refused_with_a_400(body: Any, which: int) -> None:
    message, path = _REQUESTS[which]
    refused: ApiError | None = None
    try:
        normalized = normalize(body, message, path)
    except ApiError as error:
        refused = error
    if refused is None:
        assert isinstance(normalized, dict)
    else:
        assert refused.http_status == 400
        assert violations(refused)


def test_thousands_of_digits_are_refused_not_a_500() -> None:
    # int() refuses strings over 4300 digits; the converter sees only a number out of range.
    digits = "1" + "0" * 5000
    error = refusal({"topK": digits, "readerProjectNumbers": [digits]})
    assert [v["field"] for v in violations(error)] == [
        "tuned_model.top_k",
        "tuned_model.reader_project_numbers[0]",
    ]
    with pytest.raises(ApiError, match="Number exceeds the range of double"):
        parse_json_body(f'{{"topK": {digits}}}'.encode())
    offset = {"startOffset": digits + "s"}
    error = refusal({"contents": {"parts": {"videoMetadata": offset}}}, GENERATE_CONTENT_REQUEST, "")
    assert violations(error)[0]["description"].endswith("Field 'startOffset', Duration value exceeds limits")
