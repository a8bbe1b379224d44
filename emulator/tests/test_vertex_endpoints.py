"""What a succeeded Vertex job owns: its endpoint (generateContent), its model, and removing both."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from emulator_helpers import assert_error

from tuneport_emulator import Emulator

PARENT = "projects/p/locations/us-central1"
CreateJob = Callable[..., httpx.Response]


@pytest.fixture
def done(emulator: Emulator, create_job: CreateJob) -> dict[str, Any]:
    """A succeeded job on the numbers dataset (its v1beta1 view)."""
    name = create_job(tunedModelDisplayName="numbers", labels={"team": "ml"}).json()["name"]
    emulator.advance(3600)
    return httpx.get(f"{emulator.url}/v1beta1/{name}").json()  # type: ignore[no-any-return]


def _ask(
    client: httpx.Client, endpoint: str, text: str, version: str = "v1", **request: Any
) -> httpx.Response:
    body = {"contents": [{"role": "user", "parts": [{"text": text}]}], **request}
    return client.post(f"/{version}/{endpoint}:generateContent", json=body)


# --- generateContent ---------------------------------------------------------------------------


@pytest.mark.parametrize("version", ["v1", "v1beta1"])
def test_answers_come_from_the_training_data(
    client: httpx.Client, done: dict[str, Any], version: str
) -> None:
    endpoint = done["tunedModel"]["endpoint"]
    reply = _ask(client, endpoint, "IV", version)
    assert reply.status_code == 200, reply.text
    body = reply.json()
    assert body["candidates"] == [
        {"content": {"role": "model", "parts": [{"text": "V"}]}, "finishReason": "STOP"}
    ]
    assert body["modelVersion"] == "gemini-2.5-flash"
    assert body["usageMetadata"]["promptTokenCount"] == 1
    assert body["usageMetadata"]["totalTokenCount"] == 2
    assert body["usageMetadata"]["trafficType"] == "ON_DEMAND"
    assert body["createTime"]
    assert body["responseId"]
    assert _ask(client, endpoint, "twenty-two").json()["candidates"][0]["content"]["parts"][0]["text"] == (
        "twenty three"
    )


def test_generation_config_is_honoured(client: httpx.Client, done: dict[str, Any]) -> None:
    endpoint = done["tunedModel"]["endpoint"]
    several = _ask(
        client, endpoint, "twenty two", generationConfig={"candidateCount": 2, "temperature": 1.5}
    ).json()
    assert [c.get("index", 0) for c in several["candidates"]] == [0, 1]
    assert several["usageMetadata"]["candidatesTokenCount"] == 6
    cut = _ask(client, endpoint, "twenty two", generationConfig={"maxOutputTokens": 1}).json()
    assert cut["candidates"][0]["content"]["parts"][0]["text"] == "twen"
    assert cut["candidates"][0]["finishReason"] == "MAX_TOKENS"
    stopped = _ask(client, endpoint, "twenty two", generationConfig={"stopSequences": [" "]}).json()
    assert stopped["candidates"][0]["content"]["parts"][0]["text"] == "twenty"
    as_int = client.post(
        f"/v1/{endpoint}:generateContent",
        params={"$alt": "json;enum-encoding=int"},
        json={"contents": [{"role": "user", "parts": [{"text": "IV"}]}]},
    ).json()
    assert as_int["candidates"][0]["finishReason"] == 1
    assert as_int["usageMetadata"]["trafficType"] == 1


def test_system_instruction_selects_examples(
    emulator: Emulator, client: httpx.Client, gcs: Callable[..., str], vertex_jsonl: Callable[..., bytes]
) -> None:
    formal = vertex_jsonl([("hi", "Good day.")], system="Be formal.").decode()
    casual = vertex_jsonl([("hi", "hey!")], system="Be casual.").decode()
    uri = gcs((formal + casual).encode(), "styles.jsonl")
    job = emulator.seed_vertex_job({"supervisedTuningSpec": {"trainingDatasetUri": uri}}, parent=PARENT)
    endpoint = job["tunedModel"]["endpoint"]

    def answer(system: str | None) -> str:
        extra = {"systemInstruction": {"parts": [{"text": system}]}} if system else {}
        return str(
            _ask(client, endpoint, "hi", **extra).json()["candidates"][0]["content"]["parts"][0]["text"]
        )

    assert answer("be  CASUAL.") == "hey!"
    assert answer("Be formal.") == "Good day."
    assert answer(None) == "Good day."  # the first nearest example
    assert answer("unknown style") == "Good day."


def test_stream_generate_content(client: httpx.Client, done: dict[str, Any]) -> None:
    endpoint = done["tunedModel"]["endpoint"]
    body = {"contents": [{"role": "user", "parts": [{"text": "IV"}]}]}
    chunks = client.post(f"/v1/{endpoint}:streamGenerateContent", json=body).json()
    assert "".join(c["candidates"][0]["content"]["parts"][0]["text"] for c in chunks) == "V"
    assert chunks[-1]["candidates"][0]["finishReason"] == "STOP"
    sse = client.post(f"/v1beta1/{endpoint}:streamGenerateContent", params={"alt": "sse"}, json=body)
    assert sse.headers["content-type"] == "text/event-stream"
    events = [json.loads(line[6:]) for line in sse.text.splitlines() if line.startswith("data: ")]
    assert events[-1]["usageMetadata"]["totalTokenCount"] == 2


@pytest.mark.parametrize(
    ("request_body", "contains"),
    [
        ({"contents": []}, "empty contents"),
        ({"contents": [{"role": "system", "parts": [{"text": "x"}]}]}, "valid role"),
        ({"contents": [{"role": "user", "parts": []}]}, "at least one parts"),
        ({"contents": [{"role": "user", "parts": [{"thought": True}]}]}, "without data"),
        (
            {"contents": [{"parts": [{"text": "x"}]}], "generationConfig": {"candidateCount": 9}},
            "candidate_count",
        ),
        ({"contents": [{"parts": [{"text": "x"}]}], "generationConfig": {"maxOutputTokens": 70000}}, "65536"),
        ({"contents": [{"parts": [{"text": "x"}]}], "generationConfig": {"temperature": 3}}, "temperature"),
        ({"contents": [{"parts": [{"text": "x"}]}], "generationConfig": {"topK": 0}}, "top_k"),
        (
            {"contents": [{"parts": [{"text": "x"}]}], "generationConfig": {"stopSequences": list("abcdef")}},
            "stop",
        ),
        ({"contents": [{"parts": [{"text": "x"}]}], "generationConfig": {"topK": "many"}}, "TYPE_FLOAT"),
        ({"contents": [{"parts": [{"text": "x"}]}], "model": "m", "prompt": "x"}, 'Unknown name "prompt"'),
    ],
)
def test_bad_generate_requests(
    client: httpx.Client, done: dict[str, Any], request_body: dict[str, Any], contains: str
) -> None:
    response = client.post(f"/v1/{done['tunedModel']['endpoint']}:generateContent", json=request_body)
    assert_error(response, 400, "INVALID_ARGUMENT", contains=contains)


def test_unknown_and_unfinished_endpoints(
    emulator: Emulator, client: httpx.Client, create_job: CreateJob
) -> None:
    assert_error(_ask(client, f"{PARENT}/endpoints/123", "x"), 404, "NOT_FOUND", contains="not found")
    running = emulator.seed_vertex_job(parent=PARENT, state="JOB_STATE_RUNNING", progress=0.5)
    assert "tunedModel" not in running
    # The endpoint exists only once the job has succeeded; its id is not known before.
    publisher = client.post(
        f"/v1beta1/{PARENT}/publishers/endpoints/models/123:generateContent",
        json={"contents": [{"parts": [{"text": "x"}]}]},
    )
    assert_error(publisher, 404, "NOT_FOUND", contains="Publisher Model")


# --- endpoints, models, operations ------------------------------------------------------------


def test_endpoint_and_model_resources(client: httpx.Client, done: dict[str, Any]) -> None:
    endpoint_name = done["tunedModel"]["endpoint"]
    model_name = done["tunedModel"]["model"].split("@")[0]
    endpoint = client.get(f"/v1/{endpoint_name}").json()
    assert endpoint["name"] == endpoint_name
    assert endpoint["displayName"] == "numbers"
    assert endpoint["labels"] == {"team": "ml"}
    (deployed,) = endpoint["deployedModels"]
    assert deployed["model"] == model_name
    assert deployed["modelVersionId"] == "1"
    assert endpoint["trafficSplit"] == {deployed["id"]: 100}
    model = client.get(f"/v1beta1/{model_name}@1").json()
    assert model["name"] == model_name
    assert model["versionId"] == "1"
    assert deployed["checkpointId"] == model["defaultCheckpointId"]  # the job's endpoint: the default
    assert model["deployedModels"][0] == {
        "endpoint": endpoint_name,
        "deployedModelId": deployed["id"],
        "checkpointId": model["defaultCheckpointId"],
    }
    others = [c["endpoint"] for c in done["tunedModel"]["checkpoints"][:-1]]  # each checkpoint's own
    assert [d["endpoint"] for d in model["deployedModels"][1:]] == others
    assert_error(client.get(f"/v1/{model_name}@2"), 404, "NOT_FOUND")


def test_removal_follows_vertex_rules(emulator: Emulator, client: httpx.Client, done: dict[str, Any]) -> None:
    endpoint = done["tunedModel"]["endpoint"]
    model = done["tunedModel"]["model"].split("@")[0]
    deployed_id = client.get(f"/v1/{endpoint}").json()["deployedModels"][0]["id"]
    # Deployed: neither the endpoint nor the model can be deleted.
    assert_error(client.delete(f"/v1/{endpoint}"), 400, "FAILED_PRECONDITION", contains="Undeploy")
    assert_error(client.delete(f"/v1/{model}"), 400, "FAILED_PRECONDITION", contains="Undeploy")
    assert_error(
        client.post(f"/v1/{endpoint}:undeployModel", json={"deployedModelId": "999"}), 404, "NOT_FOUND"
    )
    assert_error(client.post(f"/v1/{endpoint}:undeployModel", json={}), 400, "INVALID_ARGUMENT")

    undeploy = client.post(f"/v1/{endpoint}:undeployModel", json={"deployedModelId": deployed_id}).json()
    assert undeploy["name"].startswith(f"{endpoint}/operations/")
    assert "done" not in undeploy
    assert undeploy["metadata"]["@type"] == (
        "type.googleapis.com/google.cloud.aiplatform.v1.UndeployModelOperationMetadata"
    )
    assert undeploy["metadata"]["genericMetadata"]["createTime"]
    again = client.post(f"/v1/{endpoint}:undeployModel", json={"deployedModelId": deployed_id}).json()
    assert again["name"] == undeploy["name"]  # pending: the same operation
    assert "deployedModels" in client.get(f"/v1/{endpoint}").json()  # takes effect when done
    emulator.advance(5)
    finished = client.get(f"/v1beta1/{undeploy['name']}").json()
    assert finished["done"] is True
    assert finished["metadata"]["@type"].endswith("v1beta1.UndeployModelOperationMetadata")
    assert finished["response"] == {
        "@type": "type.googleapis.com/google.cloud.aiplatform.v1beta1.UndeployModelResponse"
    }
    assert "deployedModels" not in client.get(f"/v1/{endpoint}").json()
    assert_error(_ask(client, endpoint, "IV"), 400, "FAILED_PRECONDITION")

    # The checkpoints' own endpoints still hold the model: they go first.
    assert_error(client.delete(f"/v1/{model}"), 400, "FAILED_PRECONDITION", contains="more")
    for checkpoint in done["tunedModel"]["checkpoints"][:-1]:
        own = checkpoint["endpoint"]
        own_id = client.get(f"/v1/{own}").json()["deployedModels"][0]["id"]
        client.post(f"/v1/{own}:undeployModel", json={"deployedModelId": own_id}).raise_for_status()
    emulator.advance(5)
    delete_endpoint = client.delete(f"/v1/{endpoint}").json()
    assert delete_endpoint["metadata"]["@type"].endswith("v1.DeleteOperationMetadata")
    delete_model = client.delete(f"/v1/{model}").json()
    assert client.get(f"/v1/{endpoint}").status_code == 200  # until the operation is done
    emulator.advance(5)
    for name in (delete_endpoint["name"], delete_model["name"]):
        operation = client.get(f"/v1/{name}").json()
        assert operation["done"] is True
        assert operation["response"] == {"@type": "type.googleapis.com/google.protobuf.Empty"}
    assert_error(client.get(f"/v1/{endpoint}"), 404, "NOT_FOUND")
    assert_error(client.get(f"/v1/{model}"), 404, "NOT_FOUND")
    assert_error(client.delete(f"/v1/{endpoint}"), 404, "NOT_FOUND")
    assert_error(client.delete(f"/v1/{model}"), 404, "NOT_FOUND")
    assert_error(_ask(client, endpoint, "IV"), 404, "NOT_FOUND")
    # The job still names what it produced, as on Vertex.
    assert client.get(f"/v1/{done['name']}").json()["tunedModel"]["endpoint"] == endpoint
    assert_error(client.get(f"/v1/{endpoint}/operations/1"), 404, "NOT_FOUND")


def test_tuning_a_tuned_model_again(
    emulator: Emulator, client: httpx.Client, done: dict[str, Any], gcs: Callable[..., str]
) -> None:
    body = {
        "preTunedModel": {"tunedModelName": done["tunedModel"]["model"], "checkpointId": "5"},
        "supervisedTuningSpec": {"trainingDatasetUri": gcs()},
    }
    created = client.post(f"/v1beta1/{PARENT}/tuningJobs", json=body)
    assert created.status_code == 200, created.text
    assert created.json()["preTunedModel"]["baseModel"] == "gemini-2.5-flash"
    body["preTunedModel"]["checkpointId"] = "42"
    assert_error(
        client.post(f"/v1beta1/{PARENT}/tuningJobs", json=body), 400, "INVALID_ARGUMENT", contains="42"
    )
    body["preTunedModel"] = {"tunedModelName": f"{PARENT}/models/1"}
    assert_error(client.post(f"/v1beta1/{PARENT}/tuningJobs", json=body), 404, "NOT_FOUND")
