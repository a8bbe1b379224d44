"""Wire fidelity of the Vertex surface against Google's published types (``google-cloud-aiplatform``).

* The request messages the surface reads know every field and enum value of
  the ``aiplatform_v1`` / ``v1beta1`` protos, with the same names, oneofs and
  enum numbers, so whatever an official client sends is understood.
* Every reply parses strictly (``ignore_unknown_fields=False``) into the
  message of its API version, ``Any`` fields included.
* What the official clients sent (recorded bodies) is accepted.

The surface follows the discovery documents (revision 20261106), which are
newer than the installed protos (google-cloud-aiplatform 2.7.0); the fields
only the discovery documents have are listed in NEWER_FIELDS and are the
only ones tolerated.
"""

from __future__ import annotations

import importlib
import warnings
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from google.longrunning import operations_pb2
from google.protobuf import descriptor_pool, json_format
from google.protobuf.descriptor import Descriptor, FieldDescriptor
from google.rpc import error_details_pb2, status_pb2

import tuneport_emulator.vertex.schema
from tuneport_emulator import Emulator
from tuneport_emulator.schema import _ENUMS, Message

assert error_details_pb2  # registers google.rpc.BadRequest for Any in error details

PARENT = "projects/p/locations/us-central1"
POOL = descriptor_pool.Default()
V1, V1BETA1 = "google.cloud.aiplatform.v1", "google.cloud.aiplatform.v1beta1"


def _types(version: str) -> Any:
    """The ``aiplatform_v1`` or ``v1beta1`` types (a test dependency: fail, never skip).

    Imported on first use, not at collection: they weigh ~150 MB, which
    would otherwise sit in every later test's process (and its children).
    """
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # api_core's Python-version FutureWarning
        module = importlib.import_module(f"google.cloud.aiplatform_{version}")
    return module.types


@pytest.fixture(scope="module", autouse=True)
def _published_types() -> None:
    """Load both versions' descriptors into the default pool before anything looks them up."""
    _types("v1")
    _types("v1beta1")


#: Fields of the discovery documents (revision 20261106) that google-cloud-aiplatform 2.7.0 lacks.
_NEWER_COMMON = {
    "TuningJob": {"gcsMetricsUri", "preferenceOptimizationSpec"},
    "TuningDataStats": {"preferenceOptimizationDataStats"},
    "Part": {"audioTranscription", "speechMetadata"},
    "Blob": {"displayName"},
    "FileData": {"displayName"},
    "GenerationConfig": {
        "audioTranscriptionConfig", "enableAffectiveDialog", "responseFormat", "translationConfig",
    },
    "GenerateContentRequest": {"continuationToken", "outputConfig"},
    "GenerateContentResponse.UsageMetadata": {"toolUsePromptTokenCount"},
    "DeployedModel": {"gdcConnectedModel"},
    "Endpoint": {"gdcConfig"},
    "Candidate": {"continuationToken"},
    "DeployedModelRef": {"checkpointId"},
}  # fmt: skip
NEWER_FIELDS: dict[str, set[str]] = {
    **{f"{V1}.{k}": v for k, v in _NEWER_COMMON.items()},
    **{f"{V1BETA1}.{k}": set(v) for k, v in _NEWER_COMMON.items()},
}
NEWER_FIELDS[f"{V1BETA1}.Part"] |= {"mediaResolution", "mediaProcessing"}
NEWER_FIELDS[f"{V1BETA1}.VideoMetadata"] = {"fps"}
NEWER_FIELDS[f"{V1BETA1}.TuningJob"] |= {
    "fullFineTuningSpec", "reinforcementTuningSpec", "tuningJobState", "tuningJobMetadata", "satisfiesPzs",
    "satisfiesPzi",
}  # fmt: skip
NEWER_FIELDS[f"{V1BETA1}.TuningDataStats"] |= {"reinforcementTuningDataStats"}
# #16: distillation's newer fields (and what google-genai sends beyond the discovery documents).
NEWER_FIELDS[f"{V1BETA1}.DistillationSpec"] = {
    "promptDatasetUri", "tuningMode", "exportLastCheckpointOnly", "evaluationConfig",
}  # fmt: skip
NEWER_FIELDS[f"{V1BETA1}.DistillationHyperParameters"] = {
    "batchSize",
    "learningRate",
    "sftLossWeightMultiplier",
}
NEWER_FIELDS[f"{V1BETA1}.DatasetStats"] = {
    "totalBillableTokenCount", "contentsPerExampleDistribution", "droppedExampleReasons",
    "droppedExampleIndices",
}  # fmt: skip
NEWER_FIELDS[f"{V1BETA1}.GenerateContentResponse.UsageMetadata"] |= {
    "toolUsePromptTokensDetails",
    "trafficType",
}
NEWER_ENUMS = {f"{V1BETA1}.TuningJobState", f"{V1BETA1}.GenerateContentResponse.UsageMetadata.TrafficType"}
#: The request messages, checked field by field (response messages are checked by parsing replies).
REQUEST_MESSAGES = [
    "TuningJob", "SupervisedTuningSpec", "SupervisedHyperParameters", "PreTunedModel", "EncryptionSpec",
    "CancelTuningJobRequest", "GenerateContentRequest", "Content", "Part", "Blob", "FileData",
    "VideoMetadata", "GenerationConfig", "SafetySetting", "UndeployModelRequest",
    "ExportTensorboardTimeSeriesDataRequest",
]  # fmt: skip


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
        rest = _strip_newer({k: v for k, v in value.items() if k != "@type"}, inner)
        return {"@type": value["@type"], **rest}
    if not isinstance(value, dict):
        return value
    result = {}
    for key, item in value.items():
        field = descriptor.fields_by_camelcase_name.get(key)
        if field is None:
            if key in NEWER_FIELDS.get(descriptor.full_name, set()):
                continue
            result[key] = item  # unknown and not excused: ParseDict will fail on it
        elif field.type == FieldDescriptor.TYPE_MESSAGE and not field.message_type.GetOptions().map_entry:
            if field.message_type.full_name in ("google.protobuf.Struct", "google.protobuf.Value"):
                result[key] = item
            elif isinstance(item, list):
                result[key] = [_strip_newer(i, field.message_type) for i in item]
            else:
                result[key] = _strip_newer(item, field.message_type)
        else:
            result[key] = item
    return result


def parse_strictly(body: dict[str, Any], message_class: Any) -> Any:
    """ParseDict with ignore_unknown_fields=False into a protobuf class (or a proto-plus type)."""
    cls = message_class.pb() if hasattr(message_class, "pb") else message_class
    message = cls()
    json_format.ParseDict(_strip_newer(body, message.DESCRIPTOR), message, ignore_unknown_fields=False)
    return message


# --- the schemas against the descriptors ------------------------------------------------------------


@pytest.mark.parametrize("version", ["v1", "v1beta1"])
@pytest.mark.parametrize("short", REQUEST_MESSAGES)
def test_request_schemas_know_every_field_of_the_published_protos(version: str, short: str) -> None:
    package = V1 if version == "v1" else V1BETA1
    name = f"{package}.{short}"
    from tuneport_emulator.schema import lookup_message

    mine: Message = lookup_message(name)
    descriptor = _descriptor(name)
    assert descriptor is not None, name
    theirs = {f.json_name: f for f in descriptor.fields}
    assert set(theirs) <= set(mine.fields), (
        f"{name}: unknown to the emulator: {set(theirs) - set(mine.fields)}"
    )
    extra = set(mine.fields) - set(theirs)
    allowed = NEWER_FIELDS.get(name, set())
    assert extra <= allowed, f"{name}: fields the protos do not have: {extra - allowed}"
    for json_name, proto_field in theirs.items():
        field = mine.fields[json_name]
        assert field.proto_name == proto_field.name, (name, json_name)
        is_map = (
            proto_field.type == FieldDescriptor.TYPE_MESSAGE
            and proto_field.message_type.GetOptions().map_entry
        )
        if not is_map:
            assert field.repeated == (proto_field.label == FieldDescriptor.LABEL_REPEATED), (name, json_name)
        if proto_field.type == FieldDescriptor.TYPE_ENUM:
            assert (field.kind, field.type_name) == ("enum", proto_field.enum_type.full_name), json_name
        oneof = proto_field.containing_oneof
        if oneof is not None and not oneof.name.startswith("_"):  # "_x": proto3 `optional`
            assert field.oneof == oneof.name, (name, json_name)


def test_enum_numbers_match_the_published_protos() -> None:
    assert tuneport_emulator.vertex.schema.VERSIONS
    checked = 0
    for name, enum in _ENUMS.items():
        if not name.startswith("google.cloud.aiplatform."):
            continue
        try:
            descriptor = POOL.FindEnumTypeByName(name)
        except KeyError:
            assert name in NEWER_ENUMS, name
            continue
        checked += 1
        theirs = {v.name: v.number for v in descriptor.values}
        assert dict(enum.values) == theirs, name
    assert checked >= 20


# --- replies parse strictly ----------------------------------------------------------------------------


def _collect_replies(
    emulator: Emulator,
    client: httpx.Client,
    create_job: Callable[..., httpx.Response],
    gcs: Callable[..., str],
    version: str,
    params: dict[str, str],
) -> list[tuple[dict[str, Any], str]]:
    """(reply, message short name) of every kind of reply the surface sends."""
    replies: list[tuple[dict[str, Any], str]] = []
    spec = {
        "trainingDatasetUri": gcs(),
        "validationDatasetUri": gcs(name="validation.jsonl"),
        "hyperParameters": {"epochCount": 2, "adapterSize": "ADAPTER_SIZE_EIGHT"},
        "exportLastCheckpointOnly": False,
    }
    created = create_job(
        version, params=params, supervisedTuningSpec=spec, labels={"team": "ml"},
        encryptionSpec={"kmsKeyName": "projects/p/locations/l/keyRings/r/cryptoKeys/k"},
        tunedModelDisplayName="numbers", description="d", serviceAccount="sa@p.iam.gserviceaccount.com",
    ).json()  # fmt: skip
    name = created["name"]
    replies.append((created, "TuningJob"))
    for step in (16, 20, 3600):  # pending with stats, running, succeeded
        emulator.advance(step)
        replies.append((client.get(f"/{version}/{name}", params=params).json(), "TuningJob"))
    failed = create_job(
        version, params=params, supervisedTuningSpec={"trainingDatasetUri": "gs://none/x"}
    ).json()
    cancelled = create_job(version, params=params).json()
    client.post(f"/{version}/{cancelled['name']}:cancel", params=params)
    emulator.advance(40)
    for job in (failed, cancelled):
        replies.append((client.get(f"/{version}/{job['name']}", params=params).json(), "TuningJob"))
    replies.append(
        (client.get(f"/{version}/{PARENT}/tuningJobs", params=params).json(), "ListTuningJobsResponse")
    )
    done = client.get(f"/{version}/{name}", params=params).json()
    endpoint = done["tunedModel"]["endpoint"]
    model = done["tunedModel"]["model"]
    request = {
        "contents": [{"role": "user", "parts": [{"text": "IV"}]}],
        "generationConfig": {"candidateCount": 2},
    }
    replies.append(
        (
            client.post(f"/{version}/{endpoint}:generateContent", params=params, json=request).json(),
            "GenerateContentResponse",
        )
    )
    for chunk in client.post(
        f"/{version}/{endpoint}:streamGenerateContent", params=params, json=request
    ).json():
        replies.append((chunk, "GenerateContentResponse"))
    ep = client.get(f"/{version}/{endpoint}", params=params).json()
    replies.append((ep, "Endpoint"))
    replies.append((client.get(f"/{version}/{model}", params=params).json(), "Model"))
    context = client.get(f"/{version}/{done['experiment']}", params=params).json()
    replies.append((context, "Context"))
    store = f"{PARENT}/metadataStores/default"
    replies.append((client.get(f"/{version}/{store}/contexts", params=params).json(), "ListContextsResponse"))
    tensorboard = context["metadata"]["backing_tensorboard_resource"]
    runs = client.get(
        f"/{version}/{tensorboard}/experiments/{done['experiment'].rsplit('/', 1)[1]}/runs", params=params
    ).json()
    replies.append((runs, "ListTensorboardRunsResponse"))
    run = runs["tensorboardRuns"][0]["name"]
    replies.append((client.get(f"/{version}/{run}", params=params).json(), "TensorboardRun"))
    series = client.get(f"/{version}/{run}/timeSeries", params=params).json()
    replies.append((series, "ListTensorboardTimeSeriesResponse"))
    for ts in series["tensorboardTimeSeries"]:
        exported = client.post(
            f"/{version}/{ts['name']}:exportTensorboardTimeSeries", params=params, json={"pageSize": 2}
        )
        replies.append((exported.json(), "ExportTensorboardTimeSeriesDataResponse"))
    undeploy = client.post(
        f"/{version}/{endpoint}:undeployModel",
        params=params,
        json={"deployedModelId": ep["deployedModels"][0]["id"]},
    ).json()
    replies.append((undeploy, "Operation"))
    emulator.advance(5)
    replies.append((client.get(f"/{version}/{undeploy['name']}", params=params).json(), "Operation"))
    replies.append((client.delete(f"/{version}/{endpoint}", params=params).json(), "Operation"))
    for checkpoint in done["tunedModel"]["checkpoints"][:-1]:  # their own endpoints hold the model too
        own = client.get(f"/{version}/{checkpoint['endpoint']}", params=params).json()
        replies.append((own, "Endpoint"))
        body = {"deployedModelId": own["deployedModels"][0]["id"]}
        client.post(f"/{version}/{checkpoint['endpoint']}:undeployModel", params=params, json=body)
    emulator.advance(5)
    deleted = client.delete(f"/{version}/{model.split('@')[0]}", params=params).json()
    emulator.advance(5)
    replies.append((client.get(f"/{version}/{deleted['name']}", params=params).json(), "Operation"))
    return replies


@pytest.mark.parametrize("enum_int", [False, True])
@pytest.mark.parametrize("version", ["v1", "v1beta1"])
def test_replies_parse_strictly(
    emulator: Emulator,
    client: httpx.Client,
    create_job: Callable[..., httpx.Response],
    gcs: Callable[..., str],
    version: str,
    enum_int: bool,
) -> None:
    params = {"$alt": "json;enum-encoding=int"} if enum_int else {}
    replies = _collect_replies(emulator, client, create_job, gcs, version, params)
    kinds = set()
    for body, short in replies:
        assert "error" not in body or short == "TuningJob", body
        kinds.add(short)
        if short == "Operation":
            parsed = parse_strictly(body, operations_pb2.Operation)
            metadata_class = (
                _types(version).UndeployModelOperationMetadata
                if "UndeployModel" in body["metadata"]["@type"]
                else _types(version).DeleteOperationMetadata
            )
            assert parsed.metadata.Unpack(metadata_class.pb()())
            continue
        cls = (
            _types(version).GenerateContentResponse
            if short == "GenerateContentResponse"
            else getattr(_types(version), short)
        )
        parse_strictly(body, cls)
    assert len(kinds) == 12
    # v1beta1-only fields never reach a v1 client.
    if version == "v1":
        assert not any("tuningJobState" in b for b, s in replies if s == "TuningJob")


def test_error_bodies_parse_as_status_with_details(
    client: httpx.Client, create_job: Callable[..., httpx.Response]
) -> None:
    errors = [
        create_job(
            supervisedTuningSpec={"trainingDatasetUri": "gs://b-b/x", "hyperParameters": {"epochs": 1}}
        ).json()["error"],
        client.get(f"/v1/{PARENT}/tuningJobs/1").json()["error"],
        client.get(f"/v1/{PARENT}/tuningJobs", params={"filter": "x"}).json()["error"],
    ]
    for error in errors:
        status = parse_strictly({k: v for k, v in error.items() if k != "status"}, status_pb2.Status)
        assert status.code == error["code"]


# --- what official clients sent is accepted ---------------------------------------------------------------

#: Request bodies recorded from google-genai 2.34 (Vertex mode) and the vertexai SDK 2.7.0 (REST,
#: $alt=json;enum-encoding=int), from shared/reference/official-clients/*.jsonl; the dataset URIs
#: point at a bucket of this test.
RECORDED_CREATES: list[tuple[dict[str, Any], dict[str, str]]] = [
    (
        {
            "baseModel": "gemini-1.5-flash-002",
            "supervisedTuningSpec": {
                "trainingDatasetUri": "gs://tuneport-test/train.jsonl",
                "validationDatasetUri": "gs://tuneport-test/validation.jsonl",
                "hyperParameters": {
                    "epochCount": 4,
                    "learningRateMultiplier": 1.0,
                    "adapterSize": "ADAPTER_SIZE_FOUR",
                },
            },
            "tunedModelDisplayName": "number generator",
        },
        {},
    ),
    (
        {
            "baseModel": "gemini-2.0-flash-001",
            "supervisedTuningSpec": {
                "trainingDatasetUri": "gs://tuneport-test/train.jsonl",
                "hyperParameters": {
                    "epochCount": 2,
                    "learningRateMultiplier": 0.5,
                    "adapterSize": "ADAPTER_SIZE_ONE",
                },
                "exportLastCheckpointOnly": True,
            },
            "tunedModelDisplayName": "more",
            "description": "desc",
            "labels": {"team": "x"},
        },
        {},
    ),
    (
        {
            "baseModel": "gemini-1.5-flash-002",
            "supervisedTuningSpec": {
                "trainingDatasetUri": "gs://tuneport-test/train.jsonl",
                "hyperParameters": {"batchSize": 2, "learningRate": 0.001},
            },
        },
        {},
    ),
    (
        {
            "tunedModelDisplayName": "x",
            "baseModel": "gemini-1.5-pro-002",
            "supervisedTuningSpec": {
                "trainingDatasetUri": "gs://tuneport-test/train.jsonl",
                "validationDatasetUri": "gs://tuneport-test/validation.jsonl",
                "hyperParameters": {"epochCount": "4", "learningRateMultiplier": 1.0, "adapterSize": 2},
            },
        },
        {"$alt": "json;enum-encoding=int"},
    ),
    (
        {
            "tunedModelDisplayName": "SupervisedTuningJob 2026-11-22 10:09:06.612566",
            "baseModel": "gemini-2.0-flash-001",
            "supervisedTuningSpec": {
                "trainingDatasetUri": "gs://tuneport-test/train.jsonl",
                "hyperParameters": {"epochCount": "1", "adapterSize": 4, "learningRate": 0.0002},
            },
        },
        {"$alt": "json;enum-encoding=int"},
    ),
]
RECORDED_GENERATE = {"contents": [{"role": "user", "parts": [{"text": "LXIII"}]}]}


def test_recorded_client_bodies_are_accepted(
    emulator: Emulator, client: httpx.Client, gcs: Callable[..., str]
) -> None:
    gcs()
    gcs(name="validation.jsonl")
    names = []
    for body, params in RECORDED_CREATES:
        created = client.post(f"/v1beta1/{PARENT}/tuningJobs", params=params, json=body)
        assert created.status_code == 200, created.text
        names.append(created.json()["name"])
        parse_strictly(body, _types("v1beta1").TuningJob)
    emulator.advance(3600)
    for name in names:
        job = client.get(f"/v1beta1/{name}").json()
        assert job["state"] == "JOB_STATE_SUCCEEDED", job
    endpoint = client.get(f"/v1beta1/{names[0]}").json()["tunedModel"]["endpoint"]
    for version in ("v1", "v1beta1"):
        reply = client.post(f"/{version}/{endpoint}:generateContent", json=RECORDED_GENERATE)
        assert reply.status_code == 200, reply.text
    parse_strictly(RECORDED_GENERATE, _types("v1").GenerateContentRequest)
    # google-genai sends no body on cancel; the vertexai SDK sends {}.
    assert client.post(f"/v1beta1/{names[0]}:cancel", content=b"").status_code == 400  # finished
    # The pre-tuned-model body names a model that does not exist here.
    pre_tuned = {
        "preTunedModel": {"checkpoint_id": "3", "tuned_model_name": f"{PARENT}/models/7777777777777777777"},
        "supervisedTuningSpec": {
            "trainingDatasetUri": "gs://tuneport-test/train.jsonl",
            "hyperParameters": {"epochCount": 1},
        },
    }
    refused = client.post(f"/v1beta1/{PARENT}/tuningJobs", json=pre_tuned)
    assert refused.status_code == 404, refused.text
    parse_strictly(pre_tuned, _types("v1beta1").TuningJob)


# --- the documentation's own requests, verbatim ---------------------------------------------------------

#: tuningJobs.create as Vertex's "Tune Gemini models by using supervised fine-tuning" page writes
#: it (REST tab), with its placeholders filled in: numbers travel as strings, one key is
#: snake_case and a trailing comma closes supervisedTuningSpec.
DOCUMENTED_CREATE = b"""{
  "baseModel": "gemini-2.5-flash",
  "supervisedTuningSpec" : {
      "trainingDatasetUri": "gs://tuneport-test/train.jsonl",
      "validationDatasetUri": "gs://tuneport-test/validation.jsonl",
      "hyperParameters": {
          "epochCount": "4",
          "adapterSize": "ADAPTER_SIZE_FOUR",
          "learningRateMultiplier": "1.0"
      },
      "export_last_checkpoint_only": true,
  },
  "tunedModelDisplayName": "tuned-gemini",
  "encryptionSpec": {
    "kmsKeyName": "projects/p/locations/us-central1/keyRings/r/cryptoKeys/k"
  },
  "serviceAccount": "tuner@p.iam.gserviceaccount.com"
}"""
#: generateContent on the tuned model's endpoint as the same page writes it ("Test the tuned
#: model with a prompt"): "role" in capitals and "parts" a single object, not a list.
DOCUMENTED_GENERATE = b"""{
    "contents": [
        {
            "role": "USER",
            "parts": {
                "text" : "Why is sky blue?"
            }
        }
    ],
    "generation_config": {
        "temperature":0.2,
        "topP": 0.95,
        "topK": 40,
        "maxOutputTokens": 256
    }
}"""


def test_the_documented_requests_are_answered_verbatim(
    emulator: Emulator, client: httpx.Client, gcs: Callable[..., str]
) -> None:
    gcs()
    gcs(name="validation.jsonl")
    headers = {"Content-Type": "application/json; charset=utf-8"}
    created = client.post(f"/v1/{PARENT}/tuningJobs", content=DOCUMENTED_CREATE, headers=headers)
    assert created.status_code == 200, created.text
    job = created.json()
    spec = job["supervisedTuningSpec"]
    assert spec["exportLastCheckpointOnly"] is True
    assert spec["hyperParameters"]["epochCount"] == "4"  # int64: a string on the wire
    assert spec["hyperParameters"]["adapterSize"] == "ADAPTER_SIZE_FOUR"
    emulator.advance(3600)
    job = client.get(f"/v1/{job['name']}").json()
    assert job["state"] == "JOB_STATE_SUCCEEDED", job
    endpoint = job["tunedModel"]["endpoint"]
    answer = client.post(f"/v1/{endpoint}:generateContent", content=DOCUMENTED_GENERATE, headers=headers)
    assert answer.status_code == 200, answer.text
    assert answer.json()["candidates"][0]["content"]["role"] == "model"


def test_a_role_in_any_case_is_a_role_but_other_words_are_not(
    client: httpx.Client, create_job: Callable[..., httpx.Response], emulator: Emulator
) -> None:
    name = create_job().json()["name"]
    emulator.advance(3600)
    endpoint = client.get(f"/v1beta1/{name}").json()["tunedModel"]["endpoint"]
    for role in ("user", "User", "USER"):
        body = {"contents": {"role": role, "parts": {"text": "1"}}}
        assert client.post(f"/v1/{endpoint}:generateContent", json=body).status_code == 200
    refused = client.post(
        f"/v1/{endpoint}:generateContent", json={"contents": {"role": "human", "parts": {}}}
    )
    assert refused.status_code == 400
    assert refused.json()["error"]["message"] == "Please use a valid role: user, model."


def _method_replies(
    emulator: Emulator, client: httpx.Client, gcs: Callable[..., str], version: str
) -> list[Any]:
    """The replies of a preference job (both versions) and a distillation job (v1beta1), with evaluation."""
    from emulator_helpers import preference_jsonl, prompts_jsonl

    evaluation = {
        "metrics": [{"bleuSpec": {}}, {"rougeSpec": {"rougeType": "rouge1"}}, {"pointwiseMetricSpec": {}}],
        "outputConfig": {"gcsDestination": {"outputUriPrefix": "gs://b/eval"}},
    }
    bodies = [
        {
            "baseModel": "gemini-2.5-flash",
            "preferenceOptimizationSpec": {
                "trainingDatasetUri": gcs(preference_jsonl(), name="pref.jsonl"),
                "hyperParameters": {"epochCount": 2, "beta": 0.5},
                "evaluationConfig": evaluation,
            },
        }
    ]
    if version == "v1beta1":
        bodies.append(
            {
                "baseModel": "gemini-2.5-flash",
                "distillationSpec": {
                    "baseTeacherModel": "gemini-3.1-pro",
                    "promptDatasetUri": gcs(prompts_jsonl(), name="prompts.jsonl"),
                    "hyperParameters": {"epochCount": 1},
                },
            }
        )
        bodies.append(
            {
                "baseModel": "qwen/qwen3-5@qwen3.5-9b",
                "outputUri": "gs://b/out",
                "customBaseModel": "gs://b/weights",
                "supervisedTuningSpec": {
                    "trainingDatasetUri": gcs(),
                    "tuningMode": "TUNING_MODE_FULL",
                    "hyperParameters": {"epochCount": 1, "batchSize": 2, "learningRate": 1e-5},
                },
            }
        )
    names = []
    for body in bodies:
        created = client.post(f"/{version}/{PARENT}/tuningJobs", json=body)
        assert created.status_code == 200, created.text
        names.append(created.json()["name"])
    emulator.advance(3600)
    replies = [client.get(f"/{version}/{name}").json() for name in names]
    for reply in list(replies):
        replies.append(client.get(f"/{version}/{reply['tunedModel']['model']}").json())
    return replies


@pytest.mark.parametrize("version", ["v1", "v1beta1"])
def test_method_replies_parse_strictly(
    emulator: Emulator, client: httpx.Client, gcs: Callable[..., str], version: str
) -> None:
    replies = _method_replies(emulator, client, gcs, version)
    types = _types(version)
    jobs = [r for r in replies if "/tuningJobs/" in r["name"]]
    assert jobs[0]["evaluateDatasetRuns"]  # the evaluation's shape is checked against the protos
    for reply in replies:
        parse_strictly(reply, types.TuningJob if "/tuningJobs/" in reply["name"] else types.Model)


def test_distillation_request_schema_knows_the_published_fields() -> None:
    from tuneport_emulator.schema import lookup_message

    for short in ("DistillationSpec", "DistillationHyperParameters"):
        name = f"{V1BETA1}.{short}"
        descriptor = _descriptor(name)
        assert descriptor is not None
        mine = lookup_message(name)
        theirs = {f.json_name for f in descriptor.fields}
        assert theirs <= set(mine.fields), theirs - set(mine.fields)
        assert set(mine.fields) - theirs <= NEWER_FIELDS[name]
