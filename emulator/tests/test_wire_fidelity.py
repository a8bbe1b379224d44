"""Wire fidelity against Google's published types (the ``google-ai-generativelanguage`` protos).

* Every reply body parses strictly (``ignore_unknown_fields=False``) into the
  proto message it claims to be, ``Any`` fields included (their ``@type``
  must resolve).
* The emulator's schemas accept every field and enum value the package knows,
  so whatever an official client can send is understood.
* What the official clients actually sent (recorded bodies) is accepted.

The installed package may be older than the protos the emulator follows
(google-generativeai pins google-ai-generativelanguage 0.6.x); fields newer
than it are listed in NEWER_FIELDS and are the only ones tolerated.
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from emulator_helpers import create_body

import tuneport_emulator.gemini.schema
import tuneport_emulator.operations
from tuneport_emulator import Emulator
from tuneport_emulator.schema import _ENUMS, _MESSAGES

# Imported for their side effect: they declare the messages checked here.
assert tuneport_emulator.gemini.schema
assert tuneport_emulator.operations

import google.ai.generativelanguage_v1beta  # noqa: E402,F401  (a test dependency: fail, never skip)
from google.ai.generativelanguage_v1beta import types as glm  # noqa: E402
from google.longrunning import operations_pb2  # noqa: E402
from google.protobuf import descriptor_pool, json_format  # noqa: E402
from google.protobuf.descriptor import Descriptor, FieldDescriptor  # noqa: E402
from google.rpc import error_details_pb2, status_pb2  # noqa: E402

assert error_details_pb2  # registers google.rpc.BadRequest/ErrorInfo for Any in error details

_V1BETA = "google.ai.generativelanguage.v1beta"
#: Fields of the current protos (npm @google-ai/generativelanguage 4.x, PyPI 0.12) that an
#: older installed package may lack.  Only these may be missing from its descriptors.
NEWER_FIELDS: dict[str, set[str]] = {
    f"{_V1BETA}.Model": {"thinking"},
    f"{_V1BETA}.VideoMetadata": {"startOffset", "endOffset", "fps"},
    f"{_V1BETA}.Part": {"thought", "thoughtSignature", "partMetadata", "videoMetadata"},
    f"{_V1BETA}.GenerationConfig": {
        "seed", "responseJsonSchema", "responseJsonSchemaOrdered", "thinkingConfig", "imageConfig",
        "mediaResolution", "responseModalities", "speechConfig", "enableEnhancedCivicAnswers",
    },
    f"{_V1BETA}.Candidate": {"finishMessage", "urlContextMetadata"},
    f"{_V1BETA}.GenerateContentResponse.UsageMetadata": {
        "promptTokensDetails", "candidatesTokensDetails", "cacheTokensDetails", "toolUsePromptTokenCount",
        "toolUsePromptTokensDetails", "thoughtsTokenCount",
    },
    f"{_V1BETA}.GenerateContentResponse": {"responseId"},
    "google.longrunning.ListOperationsResponse": {"unreachable"},
}  # fmt: skip
NEWER_ENUMS = {f"{_V1BETA}.GenerationConfig.MediaResolution", f"{_V1BETA}.GenerationConfig.Modality"}
#: Fields older protos had that the current ones dropped (accepted for old clients).
OLDER_FIELDS = {f"{_V1BETA}.VideoMetadata": {"videoDuration"}}

POOL = descriptor_pool.Default()


def _descriptor(full_name: str) -> Descriptor | None:
    try:
        return POOL.FindMessageTypeByName(full_name)
    except KeyError:
        return None


def _strip_newer(value: Any, descriptor: Descriptor) -> Any:
    """Drop, recursively, the NEWER_FIELDS the installed descriptor lacks (and only those)."""
    if descriptor.full_name == "google.protobuf.Any" and isinstance(value, dict):
        inner = _descriptor(str(value.get("@type", "")).rsplit("/", 1)[-1])
        if inner is None:
            return value
        return {
            "@type": value["@type"],
            **_strip_newer({k: v for k, v in value.items() if k != "@type"}, inner),
        }
    if not isinstance(value, dict):
        return value
    result = {}
    for key, item in value.items():
        field = descriptor.fields_by_camelcase_name.get(key)
        if field is None:
            if key in NEWER_FIELDS.get(descriptor.full_name, set()):
                continue
            result[key] = item  # unknown and not excused: ParseDict will fail on it
        elif (
            field.type == FieldDescriptor.TYPE_MESSAGE
            and field.message_type.full_name != "google.protobuf.Struct"
        ):
            if isinstance(item, list):
                result[key] = [_strip_newer(i, field.message_type) for i in item]
            else:
                result[key] = _strip_newer(item, field.message_type)
        else:
            result[key] = item
    return result


def parse_strictly(body: dict[str, Any], message_class: Any) -> Any:
    """ParseDict with ignore_unknown_fields=False into ``message_class`` (a protobuf class)."""
    message = message_class()
    json_format.ParseDict(_strip_newer(body, message.DESCRIPTOR), message, ignore_unknown_fields=False)
    return message


# --- the schemas against the descriptors ------------------------------------------------------------


def test_schemas_know_every_field_of_the_published_protos() -> None:
    checked = 0
    for name, message in _MESSAGES.items():
        if not name.startswith((_V1BETA, "google.longrunning.", "google.rpc.")):
            continue  # another surface's messages (Vertex) have their own test
        descriptor = _descriptor(name)
        if descriptor is None:
            continue
        checked += 1
        theirs = {f.json_name: f for f in descriptor.fields}
        assert set(theirs) <= set(message.fields), (
            f"{name}: unknown to the emulator: {set(theirs) - set(message.fields)}"
        )
        extra = set(message.fields) - set(theirs)
        allowed = NEWER_FIELDS.get(name, set()) | OLDER_FIELDS.get(name, set())
        assert extra <= allowed, f"{name}: fields the protos do not have: {extra - allowed}"
        for json_name, proto_field in theirs.items():
            mine = message.fields[json_name]
            assert mine.proto_name == proto_field.name, (name, json_name)
            assert mine.repeated == (proto_field.label == FieldDescriptor.LABEL_REPEATED), (name, json_name)
            if proto_field.type == FieldDescriptor.TYPE_ENUM:
                assert (mine.kind, mine.type_name) == ("enum", proto_field.enum_type.full_name), json_name
            oneof = proto_field.containing_oneof
            if oneof is not None and not oneof.name.startswith("_"):  # "_x": proto3 `optional`
                assert mine.oneof == oneof.name, (name, json_name)
    assert checked >= 25


def test_enum_numbers_match_the_published_protos() -> None:
    for name, enum in _ENUMS.items():
        if not name.startswith(_V1BETA):
            continue  # another surface's enums (Vertex) have their own test
        try:
            descriptor = POOL.FindEnumTypeByName(name)
        except KeyError:
            assert name in NEWER_ENUMS, name
            continue
        theirs = {v.name: v.number for v in descriptor.values}
        assert {k: v for k, v in enum.values.items() if k in theirs} == theirs, name


# --- replies parse strictly --------------------------------------------------------------------------


@pytest.mark.parametrize("enum_int", [False, True])
def test_tuning_replies_parse_strictly(emulator: Emulator, client: httpx.Client, enum_int: bool) -> None:
    params = {"$alt": "json;enum-encoding=int"} if enum_int else {}
    pairs = [(f"q{i}", f"a{i}") for i in range(9)]
    operation = client.post(
        "/v1beta/tunedModels", params={"tunedModelId": "m", **params}, json=create_body(pairs)
    )
    bodies: list[tuple[dict[str, Any], Any]] = [(operation.json(), operations_pb2.Operation)]
    bodies.append((client.get("/v1beta/tunedModels/m", params=params).json(), glm.TunedModel.pb()))
    emulator.advance(45)  # part-way: snapshots in the metadata
    bodies.append(
        (client.get(f"/v1beta/{operation.json()['name']}", params=params).json(), operations_pb2.Operation)
    )
    emulator.advance(3600)  # done, with a response
    done = client.get(f"/v1beta/{operation.json()['name']}", params=params).json()
    assert done["done"]
    assert "response" in done
    bodies.append((done, operations_pb2.Operation))
    emulator.seed_gemini_model(state="FAILED", tuned_model_id="failed")
    failed_ops = client.get("/v1beta/tunedModels/failed/operations", params=params).json()
    bodies.append((failed_ops, operations_pb2.ListOperationsResponse))
    bodies.append((client.get("/v1beta/tunedModels", params=params).json(), glm.ListTunedModelsResponse.pb()))
    patched = client.patch(
        "/v1beta/tunedModels/m", params={"updateMask": "description", **params}, json={"description": "d"}
    )
    bodies.append((patched.json(), glm.TunedModel.pb()))
    bodies.append((client.get("/v1beta/models/gemini-1.0-pro-001", params=params).json(), glm.Model.pb()))
    bodies.append((client.get("/v1beta/models", params=params).json(), glm.ListModelsResponse.pb()))
    for body, message_class in bodies:
        parsed = parse_strictly(body, message_class)
        if isinstance(parsed, operations_pb2.Operation):
            metadata = glm.CreateTunedModelMetadata.pb()()
            assert parsed.metadata.Unpack(metadata)
            assert metadata.tuned_model.startswith("tunedModels/")
            if parsed.HasField("response"):
                model = glm.TunedModel.pb()()
                assert parsed.response.Unpack(model)
                assert model.state == glm.TunedModel.State.ACTIVE


def test_generate_replies_parse_strictly(emulator: Emulator, client: httpx.Client) -> None:
    emulator.seed_gemini_model(tuned_model_id="m")
    request = {
        "contents": [{"role": "user", "parts": [{"text": "ping"}]}],
        "generationConfig": {"candidateCount": 2},
    }
    for params in ({}, {"$alt": "json;enum-encoding=int"}):
        reply = client.post("/v1beta/tunedModels/m:generateContent", params=params, json=request).json()
        parsed = parse_strictly(reply, glm.GenerateContentResponse.pb())
        assert parsed.candidates[1].content.parts[0].text == "pong"
        assert parsed.candidates[0].finish_reason == glm.Candidate.FinishReason.STOP
        chunks = client.post("/v1/tunedModels/m:streamGenerateContent", params=params, json=request).json()
        for chunk in chunks:
            parse_strictly(chunk, glm.GenerateContentResponse.pb())


def test_error_bodies_parse_as_status_with_details(client: httpx.Client) -> None:
    body = create_body()
    body["tuningTask"]["hyperparameters"] = {"epochs": 1}
    errors = [
        client.post("/v1beta/tunedModels", json=body).json()["error"],
        client.get("/v1beta/tunedModels/none").json()["error"],
    ]
    for error in errors:
        # The JSON error adds the status string to google.rpc.Status's fields.
        status = parse_strictly({k: v for k, v in error.items() if k != "status"}, status_pb2.Status)
        assert status.code == error["code"]
    bad_request = error_details_pb2.BadRequest()
    parsed = parse_strictly({k: v for k, v in errors[0].items() if k != "status"}, status_pb2.Status)
    assert parsed.details[0].Unpack(bad_request)
    assert bad_request.field_violations[0].field == "tuned_model.tuning_task.hyperparameters"


# --- what official clients sent is accepted ---------------------------------------------------------------

#: Bodies recorded from google-generativeai 0.8.6 (REST) and google-genai (see
#: shared/reference/official-clients/*.jsonl): the PATCH carries output-only fields.
RECORDED_PATCH = {
    "baseModel": "models/gemini-1.5-flash-001-tuning", "displayName": "number generator",
    "description": "new desc", "state": 2, "createTime": "2025-01-01T00:00:00Z",
    "updateTime": "2025-01-01T00:05:00Z",
    "tuningTask": {
        "startTime": "2025-01-01T00:00:00Z", "completeTime": "2025-01-01T01:00:00Z",
        "snapshots": [
            {"step": 1, "epoch": 1, "meanLoss": 1.25, "computeTime": "2025-01-01T00:00:00Z"},
            {"step": 2, "epoch": 1, "meanLoss": 0.75, "computeTime": "2025-01-01T00:05:00Z"},
        ],
        "hyperparameters": {"epochCount": 5, "batchSize": 2, "learningRate": 0.001},
    },
    "temperature": 1.0, "topP": 0.95, "topK": 64,
}  # fmt: skip
RECORDED_CREATE = create_body(batchSize=2, epochCount=5, learningRate=0.001)
RECORDED_GENERATE = {"contents": [{"parts": [{"text": "LXIII"}], "role": "user"}], "generationConfig": {}}


def test_recorded_client_bodies_are_accepted(emulator: Emulator, client: httpx.Client) -> None:
    params = {"$alt": "json;enum-encoding=int"}
    created = client.post(
        "/v1beta/tunedModels", params={"tunedModelId": "number-generator-abc", **params}, json=RECORDED_CREATE
    )
    assert created.status_code == 200, created.text
    emulator.advance(3600)
    patched = client.patch(
        "/v1beta/tunedModels/number-generator-abc",
        params={"updateMask": "description", **params},
        json=RECORDED_PATCH,
    )
    assert patched.status_code == 200, patched.text
    assert patched.json()["description"] == "new desc"
    generated = client.post(
        "/v1beta/tunedModels/number-generator-abc:generateContent", params=params, json=RECORDED_GENERATE
    )
    assert generated.status_code == 200, generated.text
    assert generated.json()["candidates"][0]["content"]["parts"][0]["text"] == "V"  # nearest: "IV"
    # And each parses as the request message the protos define.
    parse_strictly(RECORDED_CREATE, glm.TunedModel.pb())
    parse_strictly(RECORDED_PATCH, glm.TunedModel.pb())
    parse_strictly(RECORDED_GENERATE, glm.GenerateContentRequest.pb())


# --- the documentation's own requests, verbatim -------------------------------------------------------

#: The REST create of the Gemini API tuning tutorial (ai.google.dev/gemini-api/docs/model-tuning,
#: "Create a tuned model"; google-gemini's tuned_models.sh sample), byte for byte: snake_case
#: names and trailing commas, which Google's front end accepts.
TUTORIAL_CREATE = b"""
      {
        "display_name": "number generator model",
        "base_model": "models/gemini-1.5-flash-001-tuning",
        "tuning_task": {
          "hyperparameters": {
            "batch_size": 2,
            "learning_rate": 0.001,
            "epoch_count":5,
          },
          "training_data": {
            "examples": {
              "examples": [
                {
                    "text_input": "1",
                    "output": "2",
                },{
                    "text_input": "3",
                    "output": "4",
                },{
                    "text_input": "-3",
                    "output": "-2",
                },{
                    "text_input": "twenty two",
                    "output": "twenty three",
                },{
                    "text_input": "two hundred",
                    "output": "two hundred one",
                },{
                    "text_input": "ninety nine",
                    "output": "one hundred",
                },{
                    "text_input": "8",
                    "output": "9",
                },{
                    "text_input": "-98",
                    "output": "-97",
                },{
                    "text_input": "1,000",
                    "output": "1,001",
                },{
                    "text_input": "10,100,000",
                    "output": "10,100,001",
                },{
                    "text_input": "thirteen",
                    "output": "fourteen",
                },{
                    "text_input": "eighty",
                    "output": "eighty one",
                },{
                    "text_input": "one",
                    "output": "two",
                },{
                    "text_input": "three",
                    "output": "four",
                },{
                    "text_input": "seven",
                    "output": "eight",
                }
              ]
            }
          }
        }
      }"""
#: The tutorial's generateContent on the tuned model, verbatim.
TUTORIAL_GENERATE = b"""{
        "contents": [{
        "parts": [{
          "text": "LXIII"
          }]
        }]
        }"""


def test_the_tutorials_requests_are_answered_verbatim(emulator: Emulator, client: httpx.Client) -> None:
    headers = {"Content-Type": "application/json"}
    created = client.post("/v1beta/tunedModels", content=TUTORIAL_CREATE, headers=headers)
    assert created.status_code == 200, created.text
    operation = created.json()
    assert operation["name"].startswith("tunedModels/number-generator-model-")
    model_name = operation["metadata"]["tunedModel"]
    model = client.get(f"/v1beta/{model_name}").json()
    assert model["displayName"] == "number generator model"
    assert model["tuningTask"]["hyperparameters"] == {"batchSize": 2, "learningRate": 0.001, "epochCount": 5}
    # The tutorial polls the operation on v1, then reads the model and generates with it.
    emulator.advance(3600)
    polled = client.get(f"/v1/{operation['name']}").json()
    assert polled["done"] is True
    assert client.get(f"/v1beta/{model_name}").json()["state"] == "ACTIVE"
    answer = client.post(f"/v1beta/{model_name}:generateContent", content=TUTORIAL_GENERATE, headers=headers)
    assert answer.status_code == 200, answer.text
    assert answer.json()["candidates"][0]["content"]["parts"][0]["text"]
