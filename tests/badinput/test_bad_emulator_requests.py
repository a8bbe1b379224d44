"""Well-framed HTTP with bad contents, to every surface of the emulator: Gemini, Vertex, Storage, admin.

Malformed JSON, a body that is not an object, unknown fields, wrong types,
numbers too large for their field, wrong enum values, bad query parameters,
bad resource names and unknown routes.  Each must get the expected 4xx with
Google's error body naming the field where there is one, never a 500, and
leave the emulator's records unchanged while it keeps serving.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from typing import Any, NamedTuple

import httpx
import pytest
from badinput_helpers import (
    FAKE_KEY,
    GEMINI_BASE,
    GEMINI_MODEL_ID,
    PARENT,
    VERTEX_BASE,
    assert_google_error,
    state_kept,
)

from tuneport_emulator import Emulator, EmulatorClock

NO_BODY = object()
MODEL = f"/v1beta/tunedModels/{GEMINI_MODEL_ID}"
GENERATE = f"{MODEL}:generateContent"
TUNED_MODELS = "/v1beta/tunedModels"
JOBS = f"/v1/{PARENT}/tuningJobs"
ENDPOINT = f"/v1/{PARENT}/endpoints/1"
UPLOAD = "/upload/storage/v1/b/tuneport-staging/o"
OBJECTS = "/storage/v1/b/tuneport-staging/o"
ADVANCE = "/_emulator/clock:advance"
PING = {"contents": [{"role": "user", "parts": [{"text": "ping"}]}]}


class Case(NamedTuple):
    """A request and the error it must get; ``names`` is text the error object must contain."""

    name: str
    method: str
    path: str
    body: Any
    names: str
    code: int = 400
    status: str = "INVALID_ARGUMENT"


def changed(body: dict[str, Any], changes: dict[str, Any]) -> dict[str, Any]:
    """A copy of ``body`` with each ``a__b__c=value`` of ``changes`` set at that path (``None`` removes)."""
    result = copy.deepcopy(body)
    for path, value in changes.items():
        *parents, last = path.split("__")
        node = result
        for key in parents:
            node = node.setdefault(key, {})
        if value is None:
            node.pop(last, None)
        else:
            node[last] = value
    return result


def create_model(name: str, names: str, *, query: str = "", code: int = 400, **changes: Any) -> Case:
    """POST a TunedModel create body, valid but for ``changes``."""
    body = {
        "baseModel": GEMINI_BASE,
        "displayName": "numbers",
        "tuningTask": {
            "trainingData": {"examples": {"examples": [{"textInput": "1", "output": "2"}]}},
            "hyperparameters": {"epochCount": 2},
        },
    }
    status = "NOT_FOUND" if code == 404 else "INVALID_ARGUMENT"
    return Case(name, "POST", TUNED_MODELS + query, changed(body, changes), names, code, status)


def hyper(name: str, names: str, **values: Any) -> Case:
    """A TunedModel create whose ``tuningTask.hyperparameters`` are ``values``."""
    return create_model(name, names, tuningTask__hyperparameters=values)


def generate(name: str, names: str, **changes: Any) -> Case:
    """A generateContent call on the seeded model, valid but for ``changes``."""
    return Case(name, "POST", GENERATE, changed(PING, changes), names)


def create_job(name: str, names: str, **changes: Any) -> Case:
    """POST a v1 TuningJob create body, valid but for ``changes``."""
    body = {
        "baseModel": VERTEX_BASE,
        "supervisedTuningSpec": {"trainingDatasetUri": "gs://tuneport-staging/t"},
    }
    return Case(name, "POST", JOBS, changed(body, changes), names)


def job_hyper(name: str, names: str, **values: Any) -> Case:
    """A TuningJob create whose ``supervisedTuningSpec.hyperParameters`` are ``values``."""
    return create_job(name, names, supervisedTuningSpec__hyperParameters=values)


def get(name: str, path: str, names: str, code: int = 400) -> Case:
    return Case(name, "GET", path, NO_BODY, names, code, "NOT_FOUND" if code == 404 else "INVALID_ARGUMENT")


ONE_EXAMPLE_WITHOUT_OUTPUT = {"tuningTask__trainingData__examples__examples": [{"textInput": "1"}]}

GEMINI_CASES = [
    # malformed JSON and bodies that are not objects
    Case("unclosed object", "POST", TUNED_MODELS, b"{", "Invalid JSON payload"),
    # Google's front end reads single-quoted strings (protobuf's JSON stream parser): the body
    # parses, and the base model is what is wrong.
    Case("single quotes", "POST", TUNED_MODELS, b"{'baseModel': 'x'}", "base_model"),
    Case("empty body", "POST", TUNED_MODELS, b"", "base_model"),
    Case("array root", "POST", TUNED_MODELS, [], "Root element must be a message"),
    Case("string root", "POST", TUNED_MODELS, "model", "Root element must be a message"),
    Case("number root", "POST", TUNED_MODELS, 5, "Root element must be a message"),
    # unknown fields
    create_model("unknown top-level field", "colour", colour="red"),
    hyper("unknown hyperparameter", "epochs", epochs=3),
    create_model("one field in both spellings", "base_model", base_model=GEMINI_BASE),
    # wrong types
    create_model("baseModel a number", "base_model", baseModel=5),
    # Google names a list given for a single field by the key as sent, at the object holding it.
    create_model("displayName a list", "displayName", displayName=["a"]),
    create_model("tuningTask a string", "tuning_task", tuningTask="fast"),
    create_model("examples an object", "examples", tuningTask__trainingData__examples__examples={}),
    hyper("epochCount a word", "epoch_count", epochCount="abc"),
    hyper("epochCount a fraction", "epoch_count", epochCount=2.5),
    hyper("epochCount a boolean", "epoch_count", epochCount=True),
    hyper("learningRate a word", "learning_rate", learningRate="fast"),
    hyper("batchSize a list", "batchSize", batchSize=[4]),
    # numbers too large for their field
    hyper("epochCount over int32", "epoch_count", epochCount=2**31),
    hyper("batchSize of 21 digits", "batch_size", batchSize=10**20),
    hyper("learningRate over float32", "learning_rate", learningRate=1e39),
    create_model("topK over int32", "top_k", topK=2**40),
    # enums and oneofs
    create_model("unknown state", "state", state="BOGUS"),
    # An enum number the enum lacks is kept, as proto3 keeps it (state=99 is accepted, and
    # ignored as output-only); one beyond int32 is refused.
    create_model("state number beyond int32", "state", state=2**31),
    hyper("learningRate and its multiplier", "learning_rate", learningRate=0.1, learningRateMultiplier=1.0),
    # the service's own checks
    create_model("displayName of 41 characters", "display_name", displayName="x" * 41),
    create_model("temperature 3", "temperature", temperature=3),
    create_model("topP 2", "top_p", topP=2),
    create_model("no examples", "examples", tuningTask__trainingData__examples__examples=[]),
    create_model("example without output", "examples[0].output", **ONE_EXAMPLE_WITHOUT_OUTPUT),
    hyper("epochCount 0", "epoch_count", epochCount=0),
    create_model("baseModel without models/", "base_model", baseModel="gemini-1.5-flash-001-tuning"),
    # query parameters
    create_model("tunedModelId with capitals", "tuned_model_id", query="?tunedModelId=Bad_Id"),
    create_model("tunedModelId of 41 characters", "tuned_model_id", query="?tunedModelId=" + "a" * 41),
    create_model("tunedModelId with dot-dot", "tuned_model_id", query="?tunedModelId=..%2Fx"),
    get("unknown query parameter", f"{TUNED_MODELS}?colour=red", "colour"),
    get("pageSize a word", f"{TUNED_MODELS}?pageSize=ten", "page_size"),
    get("pageSize negative", f"{TUNED_MODELS}?pageSize=-1", "page_size"),
    get("pageSize over int32", f"{TUNED_MODELS}?pageSize=99999999999999999999", "page_size"),
    get("pageToken forged", f"{TUNED_MODELS}?pageToken=AAAA", "page_token"),
    get("alt not json", "/v1beta/models?alt=xml", "alt"),
    Case(
        "updateMask of an unknown field",
        "PATCH",
        f"{MODEL}?updateMask=colour",
        {"description": "d"},
        "update_mask",
    ),
    Case(
        "updateMask of an output field",
        "PATCH",
        f"{MODEL}?updateMask=state",
        {"description": "d"},
        "update_mask",
    ),
    # generateContent
    generate("contents missing", "contents", contents=None),
    generate("contents a string", "contents", contents="ping"),
    generate("role assistant", "role", contents=[{"role": "assistant", "parts": [{"text": "x"}]}]),
    generate("part without data", "parts", contents=[{"role": "user", "parts": [{}]}]),
    generate("candidateCount 9", "candidate_count", generationConfig={"candidateCount": 9}),
    generate("generationConfig a string", "generation_config", generationConfig="hot"),
    generate("JSON mode", "JSON mode", generationConfig={"responseMimeType": "application/json"}),
    generate("maxOutputTokens negative", "max_output_tokens", generationConfig={"maxOutputTokens": -1}),
    # unknown resources and routes
    get("unknown tuned model", f"{TUNED_MODELS}/nope", "tunedModels/nope", 404),
    Case(
        "delete an unknown model",
        "DELETE",
        f"{TUNED_MODELS}/nope",
        NO_BODY,
        "tunedModels/nope",
        404,
        "NOT_FOUND",
    ),
    get("unknown operation", f"{MODEL}/operations/nope", "nope", 404),
    create_model("unknown base model", "models/gemini-9", code=404, baseModel="models/gemini-9"),
    Case("generate on a base model", "POST", "/v1beta/models/x:generateContent", PING, "", 404, "NOT_FOUND"),
    Case("cancel on v1beta", "POST", f"{MODEL}/operations/x:cancel", {}, "", 404, "NOT_FOUND"),
]

NESTED_5000 = f"{JOBS}?filter={'(' * 5000}state%3D4{')' * 5000}"

VERTEX_CASES = [
    Case("unclosed object", "POST", JOBS, b'{"baseModel": ', "Invalid JSON payload"),
    Case("array root", "POST", JOBS, [{"baseModel": VERTEX_BASE}], "Root element must be a message"),
    create_job("baseModel missing", "base_model", baseModel=None),
    create_job("baseModel not tunable", "gemini-9", baseModel="gemini-9"),
    create_job(
        "dataset not in Cloud Storage", "dataset_uri", supervisedTuningSpec__trainingDatasetUri="s3://b/t"
    ),
    job_hyper("epochCount of 31 digits", "epoch_count", epochCount=10**30),
    job_hyper("epochCount over int64", "epoch_count", epochCount="9223372036854775808"),
    job_hyper("epochCount 101", "epoch_count", epochCount=101),
    job_hyper("learningRateMultiplier NaN", "learning_rate_multiplier", learningRateMultiplier="NaN"),
    job_hyper("adapterSize unknown name", "adapter_size", adapterSize="ADAPTER_SIZE_SEVEN"),
    job_hyper("adapterSize unknown number", "adapter_size", adapterSize=99),
    job_hyper("adapterSize a fraction", "adapter_size", adapterSize=2.5),
    create_job("label key with a capital", "Team", labels={"Team": "ml"}),
    create_job("label value a number", "team", labels={"team": 1}),
    create_job("labels a list", "labels", labels=["team"]),
    create_job("display name of 129 characters", "display_name", tunedModelDisplayName="x" * 129),
    create_job("bad KMS key name", "kms_key_name", encryptionSpec={"kmsKeyName": "my-key"}),
    create_job("tuningMode on v1", "tuningMode", supervisedTuningSpec__tuningMode="TUNING_MODE_PEFT_ADAPTER"),
    create_job("unknown state", "state", state="JOB_STATE_BOGUS"),
    create_job("createTime not a time", "create_time", createTime="yesterday"),
    create_job("base model and pre-tuned model", "source_model", preTunedModel={"tunedModelName": "m"}),
    get("filter unclosed", f"{JOBS}?filter=((((", "filter"),
    get("filter nested 5000 deep", NESTED_5000, "filter"),
    get("filter on an unknown field", f"{JOBS}?filter=colour%3Dred", "colour"),
    get("filter time not a time", f"{JOBS}?filter=create_time%3E%22soon%22", "soon"),
    get("pageSize over int32", f"{JOBS}?pageSize=99999999999999999999", "page_size"),
    get("pageToken forged", f"{JOBS}?pageToken=AAAA", "page_token"),
    get("unknown query parameter", f"{JOBS}/{{job}}?colour=red", "colour"),
    get("project NUL", "/v1/projects/%00/locations/us-central1/tuningJobs/1", "project"),
    Case("cancel with an unknown field", "POST", f"{JOBS}/{{job}}:cancel", {"force": True}, "force"),
    Case("cancel an unknown job", "POST", f"{JOBS}/1:cancel", {}, "tuningJobs/1", 404, "NOT_FOUND"),
    get("unknown job", f"{JOBS}/%ff", "tuningJobs", 404),
    Case(
        "generate with contents a string",
        "POST",
        f"{ENDPOINT}:generateContent",
        {"contents": "x"},
        "contents",
    ),
    Case(
        "generate on an unknown endpoint", "POST", f"{ENDPOINT}:generateContent", PING, "1", 404, "NOT_FOUND"
    ),
    Case(
        "undeploy with a numeric id",
        "POST",
        f"{ENDPOINT}:undeployModel",
        {"deployedModelId": 5},
        "deployed_model",
    ),
    get("unknown API version", f"/v2/{PARENT}/tuningJobs", "", 404),
]

STORAGE_CASES = [
    Case("unknown uploadType", "POST", f"{UPLOAD}?uploadType=bogus&name=x", b"data", "bogus"),
    Case("media upload without a name", "POST", f"{UPLOAD}?uploadType=media", b"data", "name"),
    Case(
        "bucket name with a capital",
        "POST",
        "/upload/storage/v1/b/Bucket/o?uploadType=media&name=x",
        b"x",
        "Bucket",
    ),
    Case(
        "bucket name too short", "POST", "/upload/storage/v1/b/b/o?uploadType=media&name=x", b"data", "bucket"
    ),
    Case("multipart without a boundary", "POST", f"{UPLOAD}?uploadType=multipart", b"data", "boundary"),
    Case(
        "ifGenerationMatch a word",
        "POST",
        f"{UPLOAD}?uploadType=media&name=x&ifGenerationMatch=abc",
        b"x",
        "abc",
    ),
    Case(
        "unknown upload session",
        "PUT",
        f"{UPLOAD}?uploadType=resumable&upload_id=nope",
        b"x",
        "nope",
        404,
        "NOT_FOUND",
    ),
    get("maxResults negative", f"{OBJECTS}?maxResults=-5", "page_size"),
    get("maxResults a word", f"{OBJECTS}?maxResults=ten", "page_size"),
    get("maxResults over int32", f"{OBJECTS}?maxResults=99999999999999999999", "page_size"),
    get("pageToken garbage", f"{OBJECTS}?pageToken=%25%25", "page_token"),
    get("unknown object", f"{OBJECTS}/nope.jsonl", "nope.jsonl", 404),
]

ADMIN_CASES = [
    Case("advance a negative time", "POST", ADVANCE, {"seconds": -1}, "seconds"),
    Case("advance a string", "POST", ADVANCE, {"seconds": "NaN"}, "seconds"),
    Case("advance a boolean", "POST", ADVANCE, {"seconds": True}, "seconds"),
    Case("advance past year 9999", "POST", ADVANCE, {"seconds": 1e308}, "seconds"),
    Case("advance 401 digits", "POST", ADVANCE, b'{"seconds": 1' + b"0" * 400 + b"}", "seconds"),
    Case("advance in minutes", "POST", ADVANCE, {"minutes": 1}, "minutes"),
    Case("seed an unknown state", "POST", "/_emulator/gemini/tunedModels:seed", {"state": "BOGUS"}, "state"),
    Case("seed progress 5", "POST", "/_emulator/gemini/tunedModels:seed", {"progress": 5}, "progress"),
    Case(
        "seed a parent with dot-dot",
        "POST",
        "/_emulator/vertex/tuningJobs:seed",
        {"parent": "../x"},
        "parent",
    ),
    Case(
        "seed examples a string", "POST", "/_emulator/vertex/tuningJobs:seed", {"examples": "x"}, "examples"
    ),
    Case("page size a word", "POST", "/_emulator/vertex:configure", {"maxPageSize": "x"}, "maxPageSize"),
]

JSON_TYPE = {"Content-Type": "application/json"}
SURFACES = {"gemini": GEMINI_CASES, "vertex": VERTEX_CASES, "storage": STORAGE_CASES, "admin": ADMIN_CASES}
CASES = [
    case._replace(name=f"{surface}: {case.name}") for surface, cases in SURFACES.items() for case in cases
]


def send(http: httpx.Client, method: str, path: str, body: Any) -> httpx.Response:
    if body is NO_BODY:
        return http.request(method, path)
    content = body if isinstance(body, bytes) else json.dumps(body).encode()
    # Declared JSON, as the emulator demands of admin writes (docs/emulator.md, Security).
    return http.request(method, path, content=content, headers=JSON_TYPE)


@pytest.fixture(scope="module")
def http(running_emulator: Emulator) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=running_emulator.url, timeout=5) as client:
        yield client


@pytest.mark.parametrize("case", CASES, ids=[case.name for case in CASES])
def test_bad_request_gets_a_google_error_naming_the_field(
    emulator: Emulator, http: httpx.Client, vertex_job_id: str, case: Case
) -> None:
    with state_kept(emulator):
        response = send(http, case.method, case.path.replace("{job}", vertex_job_id), case.body)
    assert_google_error(response, case.code, case.status, names=case.names)


def test_refused_clock_advance_leaves_the_clock_where_it_was(emulator: Emulator, http: httpx.Client) -> None:
    before = http.get("/_emulator/clock").json()
    for seconds in (1e308, -1, 10**400):
        refused = http.post(ADVANCE, content=json.dumps({"seconds": seconds}), headers=JSON_TYPE)
        assert_google_error(refused, 400, "INVALID_ARGUMENT", names="seconds")
    assert http.get("/_emulator/clock").json() == before
    assert http.get("/_emulator/state").status_code == 200


def test_refused_chunk_leaves_the_upload_session_as_it_was(emulator: Emulator, http: httpx.Client) -> None:
    session = http.post(f"{UPLOAD}?uploadType=resumable&name=resumed.jsonl").headers["location"]
    with state_kept(emulator):
        refused = http.put(session, content=b"56", headers={"Content-Range": "bytes 5-6/10"})
    assert_google_error(refused, 400, "INVALID_ARGUMENT", names="byte 5")
    # The refused chunk's total (10) did not stick: the session still takes another.
    done = http.put(session, content=b"0123456789ab", headers={"Content-Range": "bytes 0-11/12"})
    assert done.status_code == 200, done.text
    assert done.json()["size"] == "12"


# --- credentials, on an emulator that requires a key --------------------------------------------------------


@pytest.fixture(scope="module")
def keyed_emulator() -> Iterator[Emulator]:
    with Emulator(clock=EmulatorClock.manual(), require_key=FAKE_KEY) as emulator:
        emulator.seed_gemini_model(tuned_model_id=GEMINI_MODEL_ID)
        yield emulator


CREDENTIAL_CASES = [
    ("no credentials", {}, "", 403, "PERMISSION_DENIED"),
    ("wrong key header", {"x-goog-api-key": "wrong-key"}, "", 400, "INVALID_ARGUMENT"),
    ("wrong key parameter", {}, "?key=wrong-key", 400, "INVALID_ARGUMENT"),
    ("empty key header", {"x-goog-api-key": ""}, "", 403, "PERMISSION_DENIED"),
    ("empty key parameter", {}, "?key=", 403, "PERMISSION_DENIED"),
    ("basic authentication", {"Authorization": "Basic dXNlcjpwYXNz"}, "", 403, "PERMISSION_DENIED"),
    ("bearer without a token", {"Authorization": "Bearer"}, "", 403, "PERMISSION_DENIED"),
    ("key with a space", {"x-goog-api-key": f"{FAKE_KEY} x"}, "", 400, "INVALID_ARGUMENT"),
]


@pytest.mark.parametrize(
    ("headers", "query", "code", "status"),
    [case[1:] for case in CREDENTIAL_CASES],
    ids=[case[0] for case in CREDENTIAL_CASES],
)
def test_bad_credentials_get_googles_answer(
    keyed_emulator: Emulator, headers: dict[str, str], query: str, code: int, status: str
) -> None:
    with state_kept(keyed_emulator, headers={"x-goog-api-key": FAKE_KEY}):
        response = httpx.get(f"{keyed_emulator.url}{MODEL}{query}", headers=headers, timeout=5)
    assert_google_error(response, code, status)
    assert FAKE_KEY not in response.text
    assert keyed_emulator.internal_errors == []
