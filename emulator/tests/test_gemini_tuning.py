"""The Gemini surface's tunedModels: create, lifecycle, list, get, patch, delete, operations."""

from __future__ import annotations

import itertools
import math
from typing import Any

import httpx
import pytest
from emulator_helpers import BASE_MODEL, NUMBERS, assert_error, create_body, violated_fields

from tuneport_emulator import Emulator
from tuneport_emulator.training import SECONDS_PER_STEP, SETUP_SECONDS

METADATA_TYPE = "type.googleapis.com/google.ai.generativelanguage.v1beta.CreateTunedModelMetadata"
MODEL_TYPE = "type.googleapis.com/google.ai.generativelanguage.v1beta.TunedModel"


def _run_to_end(emulator: Emulator, steps: int) -> None:
    emulator.advance(SETUP_SECONDS + steps * SECONDS_PER_STEP)


# --- create ------------------------------------------------------------------------------


def test_create_returns_a_running_operation(client: httpx.Client, tuned: dict[str, Any]) -> None:
    assert tuned["name"].startswith("tunedModels/numbers/operations/")
    assert tuned.get("done") is None  # proto3 JSON leaves out false
    assert tuned["metadata"] == {
        "@type": METADATA_TYPE,
        "tunedModel": "tunedModels/numbers",
        "totalSteps": 7,  # ceil(5 examples x 5 epochs / batch 4)
    }
    model = client.get("/v1beta/tunedModels/numbers").json()
    assert model["state"] == "CREATING"
    assert model["baseModel"] == BASE_MODEL
    assert model["displayName"] == "number generator"
    assert model["tuningTask"]["startTime"] == model["createTime"]
    assert "completeTime" not in model["tuningTask"]
    assert "trainingData" not in model["tuningTask"]  # input only
    # Defaults of the protos, and the base model's sampling defaults.
    assert model["tuningTask"]["hyperparameters"] == {"learningRate": 0.001, "epochCount": 5, "batchSize": 4}
    assert (model["temperature"], model["topP"], model["topK"]) == (1.0, 0.95, 64)


@pytest.mark.parametrize(
    ("count", "batch", "epochs", "steps"),
    [(15, 2, 5, 38), (15, 4, 5, 19), (5, 4, 5, 7), (5, 2, 3, 8), (1, 4, 1, 1), (8, 4, 2, 4), (3, 16, 4, 1)],
)
def test_total_steps_is_ceil_examples_times_epochs_over_batch(
    client: httpx.Client, count: int, batch: int, epochs: int, steps: int
) -> None:
    # As the Gemini API counts them: batches run across epoch boundaries, so only
    # the very last batch may be short (15 examples, 5 epochs, batch 2 -> 38, not 8 x 5).
    pairs = [(f"in {i}", f"out {i}") for i in range(count)]
    body = create_body(pairs, batchSize=batch, epochCount=epochs)
    operation = client.post("/v1beta/tunedModels", json=body).json()
    assert operation["metadata"]["totalSteps"] == steps == math.ceil(count * epochs / batch)


@pytest.mark.parametrize(("batch", "steps"), [(2, 38), (4, 19)])
def test_progress_snapshots_and_duration_follow_the_total_steps(
    emulator: Emulator, client: httpx.Client, batch: int, steps: int
) -> None:
    pairs = [(f"in {i}", f"out {i}") for i in range(15)]
    body = create_body(pairs, batchSize=batch, epochCount=5)
    name = client.post("/v1beta/tunedModels", params={"tunedModelId": "fifteen"}, json=body).json()["name"]
    emulator.advance(SETUP_SECONDS + 10 * SECONDS_PER_STEP)
    metadata = client.get(f"/v1beta/{name}").json()["metadata"]
    assert metadata["totalSteps"] == steps
    assert metadata["completedSteps"] == 10
    assert metadata["completedPercent"] == pytest.approx(100 * 10 / steps, abs=1e-3)
    assert [s["step"] for s in metadata["snapshots"]] == list(range(1, 11))

    emulator.advance((steps - 10) * SECONDS_PER_STEP)
    operation = client.get(f"/v1beta/{name}").json()
    assert operation["done"] is True
    assert operation["metadata"]["completedSteps"] == steps
    model = operation["response"]
    snapshots = model["tuningTask"]["snapshots"]
    assert [s["step"] for s in snapshots] == list(range(1, steps + 1))
    # A step belongs to the epoch of its last example: examples 1-15 are epoch 1, 16-30 epoch 2...
    assert [s["epoch"] for s in snapshots] == [
        math.ceil(s * batch / 15) if s * batch <= 75 else 5 for s in range(1, steps + 1)
    ]
    assert snapshots[-1]["epoch"] == 5
    created = _seconds(model["createTime"])
    assert _seconds(model["tuningTask"]["completeTime"]) - created == pytest.approx(
        SETUP_SECONDS + steps * SECONDS_PER_STEP
    )


def _seconds(timestamp: str) -> float:
    from datetime import datetime

    return datetime.fromisoformat(timestamp.replace("Z", "+00:00")).timestamp()


def test_large_datasets_get_the_larger_defaults(client: httpx.Client) -> None:
    pairs = [(f"q{i}", f"a{i}") for i in range(500)]
    client.post("/v1beta/tunedModels", params={"tunedModelId": "big"}, json=create_body(pairs))
    model = client.get("/v1beta/tunedModels/big").json()
    assert model["tuningTask"]["hyperparameters"] == {
        "learningRate": 0.0002,
        "epochCount": 5,
        "batchSize": 16,
    }


def test_learning_rate_multiplier_is_kept_instead_of_a_rate(client: httpx.Client) -> None:
    body = create_body(learningRateMultiplier=2.0)
    client.post("/v1beta/tunedModels", params={"tunedModelId": "lrm"}, json=body)
    hyper = client.get("/v1beta/tunedModels/lrm").json()["tuningTask"]["hyperparameters"]
    assert hyper == {"learningRateMultiplier": 2.0, "epochCount": 5, "batchSize": 4}


def test_snake_case_and_string_numbers_are_accepted(client: httpx.Client) -> None:
    body = {
        "base_model": BASE_MODEL,
        "display_name": "snake",
        "top_k": "40",
        "tuning_task": {
            "training_data": {"examples": {"examples": [{"text_input": "a", "output": "b"}]}},
            "hyperparameters": {"epoch_count": "3", "batch_size": 2.0, "learning_rate": "0.01"},
        },
    }
    response = client.post("/v1beta/tunedModels", params={"tuned_model_id": "snake"}, json=body)
    assert response.status_code == 200, response.text
    model = client.get("/v1beta/tunedModels/snake").json()
    assert model["displayName"] == "snake"
    assert model["topK"] == 40
    assert model["tuningTask"]["hyperparameters"] == {"learningRate": 0.01, "epochCount": 3, "batchSize": 2}
    # What the log keeps is the body as understood: camelCase.
    logged = [r for r in client.get("/_emulator/requests").json()["requests"] if r["method"] == "POST"][-1]
    assert logged["body"]["tuningTask"]["hyperparameters"] == {
        "epochCount": 3,
        "batchSize": 2,
        "learningRate": 0.01,
    }


def test_output_only_fields_are_ignored_on_input(client: httpx.Client) -> None:
    body = create_body()
    body.update({"name": "tunedModels/other", "state": "ACTIVE", "createTime": "2020-01-01T00:00:00Z"})
    body["tuningTask"]["snapshots"] = [{"step": 1, "meanLoss": 1.0}]
    operation = client.post("/v1beta/tunedModels", params={"tunedModelId": "given"}, json=body).json()
    assert operation["metadata"]["tunedModel"] == "tunedModels/given"
    model = client.get("/v1beta/tunedModels/given").json()
    assert model["state"] == "CREATING"
    assert "snapshots" not in model["tuningTask"]


@pytest.mark.parametrize(
    ("display_name", "prefix"),
    [
        ("Sentence Translator", "sentence-translator-"),
        ("  Übersetzer: DE→EN!  ", "ubersetzer-de-en-"),
        ("123 numbers", "model-123-numbers-"),
        ("", "model-"),
        (None, "model-"),
        ("x" * 40, "x" * 34 + "-"),
    ],
)
def test_id_is_derived_from_the_display_name(
    client: httpx.Client, display_name: str | None, prefix: str
) -> None:
    operation = client.post("/v1beta/tunedModels", json=create_body(display_name=display_name)).json()
    model_id = operation["metadata"]["tunedModel"].removeprefix("tunedModels/")
    assert model_id.startswith(prefix)
    suffix = model_id.removeprefix(prefix)
    assert (len(suffix) == 5 and suffix.isalnum() and suffix.islower()) or suffix.isdigit()
    assert len(model_id) <= 40
    assert client.get(f"/v1beta/tunedModels/{model_id}").status_code == 200


def test_derived_ids_are_reproducible_and_distinct() -> None:
    def ids() -> list[str]:
        with Emulator() as emu, httpx.Client(base_url=emu.url) as http:
            return [
                http.post("/v1beta/tunedModels", json=create_body(display_name="Same")).json()["name"]
                for _ in range(3)
            ]

    first, second = ids(), ids()
    assert first == second
    assert len(set(first)) == 3


def test_duplicate_id_is_409(client: httpx.Client, tuned: dict[str, Any]) -> None:
    response = client.post("/v1beta/tunedModels", params={"tunedModelId": "numbers"}, json=create_body())
    assert_error(response, 409, "ALREADY_EXISTS", contains="tunedModels/numbers")


@pytest.mark.parametrize("bad_id", ["Upper", "1abc", "ends-", "a" * 41, "under_score", "-x", "a b"])
def test_invalid_tuned_model_id_is_400(client: httpx.Client, bad_id: str) -> None:
    response = client.post("/v1beta/tunedModels", params={"tunedModelId": bad_id}, json=create_body())
    error = assert_error(response, 400, "INVALID_ARGUMENT")
    assert violated_fields(error) == ["tuned_model_id"]


@pytest.mark.parametrize("good_id", ["a", "a1", "a-b", "a" * 40])
def test_valid_tuned_model_ids(client: httpx.Client, good_id: str) -> None:
    response = client.post("/v1beta/tunedModels", params={"tunedModelId": good_id}, json=create_body())
    assert response.status_code == 200, response.text


# --- create: refused synchronously -------------------------------------------------------------


def test_unknown_field_is_named(client: httpx.Client) -> None:
    body = create_body()
    body["tuningTask"]["hyperparameters"] = {"epochs": 3}
    error = assert_error(client.post("/v1beta/tunedModels", json=body), 400, "INVALID_ARGUMENT")
    assert error["message"] == (
        'Invalid JSON payload received. Unknown name "epochs" at '
        "'tuned_model.tuning_task.hyperparameters': Cannot find field."
    )
    assert violated_fields(error) == ["tuned_model.tuning_task.hyperparameters"]


def test_unknown_top_level_field(client: httpx.Client) -> None:
    body = {**create_body(), "tunedModelId": "x"}
    assert_error(
        client.post("/v1beta/tunedModels", json=body), 400, "INVALID_ARGUMENT", contains='"tunedModelId"'
    )


def test_learning_rate_and_multiplier_together_is_400(client: httpx.Client) -> None:
    body = create_body(learningRate=0.001, learningRateMultiplier=1.0)
    error = assert_error(client.post("/v1beta/tunedModels", json=body), 400, "INVALID_ARGUMENT")
    assert "learning_rate_option" in error["message"]


def test_camel_and_snake_spellings_of_one_field_the_later_wins(client: httpx.Client) -> None:
    # Google's converter writes both; for a single field the later value is the one kept.
    body = {**create_body(), "display_name": "other"}
    created = client.post("/v1beta/tunedModels", params={"tunedModelId": "spelled"}, json=body)
    assert created.status_code == 200, created.text
    assert client.get("/v1beta/tunedModels/spelled").json()["displayName"] == "other"


@pytest.mark.parametrize(
    ("mutate", "field"),
    [
        (lambda b: b["tuningTask"]["hyperparameters"].update(epochCount="five"), "epoch_count"),
        (lambda b: b["tuningTask"]["hyperparameters"].update(epochCount=2.5), "epoch_count"),
        (lambda b: b["tuningTask"]["hyperparameters"].update(batchSize=True), "batch_size"),
        (lambda b: b["tuningTask"]["hyperparameters"].update(epochCount=2**31), "epoch_count"),
        (lambda b: b.update(displayName=5), "display_name"),
        (lambda b: b.update(temperature="hot"), "temperature"),
        (lambda b: b.update(tuningTask=[1]), "tuningTask"),  # named as sent: not repeating
        (lambda b: b.update(tuningTask="x"), "tuning_task"),
        (lambda b: b.update(readerProjectNumbers=["12a"]), "reader_project_numbers"),
        (lambda b: b.update(state="BOGUS"), "state"),
        (lambda b: b.update(createTime="yesterday"), "create_time"),
    ],
)
def test_wrong_types_are_400_naming_the_field(client: httpx.Client, mutate: Any, field: str) -> None:
    body = create_body()
    mutate(body)
    error = assert_error(client.post("/v1beta/tunedModels", json=body), 400, "INVALID_ARGUMENT")
    assert field in error["message"] or any(f.endswith(field) for f in violated_fields(error)), error


@pytest.mark.parametrize(
    ("mutate", "field"),
    [
        (lambda b: b.pop("baseModel"), "tuned_model.base_model"),
        (lambda b: b.pop("tuningTask"), "tuned_model.tuning_task"),
        (lambda b: b["tuningTask"].pop("trainingData"), "tuned_model.tuning_task.training_data"),
        (
            lambda b: b["tuningTask"]["trainingData"]["examples"].update(examples=[]),
            "tuned_model.tuning_task.training_data.examples.examples",
        ),
        (
            lambda b: b["tuningTask"]["trainingData"]["examples"]["examples"][2].pop("output"),
            "tuned_model.tuning_task.training_data.examples.examples[2].output",
        ),
        (
            lambda b: b["tuningTask"]["trainingData"]["examples"]["examples"][0].update(output=""),
            "tuned_model.tuning_task.training_data.examples.examples[0].output",
        ),
        (
            lambda b: b["tuningTask"]["trainingData"]["examples"]["examples"][1].pop("textInput"),
            "tuned_model.tuning_task.training_data.examples.examples[1].text_input",
        ),
        (lambda b: b.update(displayName="x" * 41), "tuned_model.display_name"),
        (lambda b: b.update(temperature=2.5), "tuned_model.temperature"),
        (lambda b: b.update(topP=-0.1), "tuned_model.top_p"),
        (lambda b: b.update(baseModel="gemini-1.5-flash-001-tuning"), "tuned_model.base_model"),
        (lambda b: b["tuningTask"]["hyperparameters"].update(epochCount=0), "epoch_count"),
        (lambda b: b["tuningTask"]["hyperparameters"].update(batchSize=-4), "batch_size"),
        (lambda b: b["tuningTask"]["hyperparameters"].update(learningRate=0), "learning_rate"),
        (
            lambda b: b.update(baseModel=None, tunedModelSource={"tunedModel": "tunedModels/x"}),
            "tuned_model_source",
        ),
    ],
)
def test_invalid_requests_are_400_naming_the_field(client: httpx.Client, mutate: Any, field: str) -> None:
    body = create_body()
    mutate(body)
    error = assert_error(client.post("/v1beta/tunedModels", json=body), 400, "INVALID_ARGUMENT")
    assert any(field in f for f in violated_fields(error)), error
    assert field in error["message"]
    assert client.get("/v1beta/tunedModels").json() == {}  # nothing was created


def test_unknown_base_model_is_404(client: httpx.Client) -> None:
    body = {**create_body(), "baseModel": "models/gemini-2.5-pro"}
    assert_error(
        client.post("/v1beta/tunedModels", json=body), 404, "NOT_FOUND", contains="models/gemini-2.5-pro"
    )


def test_both_historical_base_models_tune(client: httpx.Client) -> None:
    for base in ("models/gemini-1.5-flash-001-tuning", "models/gemini-1.0-pro-001"):
        response = client.post("/v1beta/tunedModels", json={**create_body(), "baseModel": base})
        assert response.status_code == 200, response.text


@pytest.mark.parametrize(
    "raw",
    [b"{", b"[1, 2]", b'"text"', b"\xff\xfe", b'{"baseModel": NaN}', b"null"],
)
def test_malformed_json_is_400(client: httpx.Client, raw: bytes) -> None:
    response = client.post("/v1beta/tunedModels", content=raw, headers={"content-type": "application/json"})
    assert_error(response, 400, "INVALID_ARGUMENT", contains="Invalid JSON payload received.")


# --- lifecycle -----------------------------------------------------------------------------------


def test_lifecycle_creating_to_active(
    emulator: Emulator, client: httpx.Client, tuned: dict[str, Any]
) -> None:
    name = tuned["name"]
    emulator.advance(SETUP_SECONDS - 1)
    operation = client.get(f"/v1beta/{name}").json()
    assert "completedSteps" not in operation["metadata"]  # still setting up

    emulator.advance(1 + 3 * SECONDS_PER_STEP)
    operation = client.get(f"/v1beta/{name}").json()
    metadata = operation["metadata"]
    assert metadata["completedSteps"] == 3
    assert metadata["completedPercent"] == pytest.approx(300 / 7, abs=1e-3)
    assert [s["step"] for s in metadata["snapshots"]] == [1, 2, 3]
    assert "done" not in operation
    model = client.get("/v1beta/tunedModels/numbers").json()
    assert model["state"] == "CREATING"
    assert model["tuningTask"]["snapshots"] == metadata["snapshots"]

    emulator.advance(4 * SECONDS_PER_STEP)
    operation = client.get(f"/v1beta/{name}").json()
    assert operation["done"] is True
    assert operation["metadata"]["completedSteps"] == 7
    assert operation["metadata"]["completedPercent"] == 100
    response = operation["response"]
    assert response["@type"] == MODEL_TYPE
    assert response["state"] == "ACTIVE"
    model = client.get("/v1beta/tunedModels/numbers").json()
    assert model == {k: v for k, v in response.items() if k != "@type"}
    assert model["tuningTask"]["completeTime"] == model["updateTime"]
    snapshots = model["tuningTask"]["snapshots"]
    assert [s["step"] for s in snapshots] == list(range(1, 8))
    # 25 examples seen in batches of 4; a step belongs to the epoch of its last example.
    assert [s["epoch"] for s in snapshots] == [1, 2, 3, 4, 4, 5, 5]
    times = [s["computeTime"] for s in snapshots]
    assert times == sorted(times)
    assert snapshots[-1]["computeTime"] == model["tuningTask"]["completeTime"]


def test_loss_curve_decreases_with_noise_and_is_deterministic(
    emulator: Emulator, client: httpx.Client
) -> None:
    pairs = [(f"q{i}", f"a{i}") for i in range(40)]
    client.post("/v1beta/tunedModels", params={"tunedModelId": "curve"}, json=create_body(pairs))
    _run_to_end(emulator, 50)
    first = client.get("/v1beta/tunedModels/curve").json()["tuningTask"]["snapshots"]
    again = client.get("/v1beta/tunedModels/curve").json()["tuningTask"]["snapshots"]
    assert first == again
    losses = [s["meanLoss"] for s in first]
    assert len(losses) == 50
    assert all(loss > 0 for loss in losses)
    assert sum(losses[:10]) > 3 * sum(losses[-10:])  # falls overall
    assert any(b > a for a, b in itertools.pairwise(losses)), "some noise"


def test_oversized_examples_fail_the_job_not_the_request(emulator: Emulator, client: httpx.Client) -> None:
    pairs = [*NUMBERS, ("x" * 40_001, "fine")]
    operation = client.post(
        "/v1beta/tunedModels", params={"tunedModelId": "long-in"}, json=create_body(pairs)
    )
    assert operation.status_code == 200
    emulator.advance(SETUP_SECONDS)
    result = client.get(f"/v1beta/{operation.json()['name']}").json()
    assert result["done"] is True
    assert result["error"]["code"] == 3  # INVALID_ARGUMENT
    assert "examples[5].text_input" in result["error"]["message"]
    assert "40,000" in result["error"]["message"]
    assert "response" not in result
    model = client.get("/v1beta/tunedModels/long-in").json()
    assert model["state"] == "FAILED"
    assert "snapshots" not in model["tuningTask"]

    pairs = [*NUMBERS, ("fine", "y" * 5_001)]
    operation = client.post(
        "/v1beta/tunedModels", params={"tunedModelId": "long-out"}, json=create_body(pairs)
    )
    emulator.advance(SETUP_SECONDS)
    result = client.get(f"/v1beta/{operation.json()['name']}").json()
    assert "examples[5].output" in result["error"]["message"]


def test_examples_at_the_limits_tune(emulator: Emulator, client: httpx.Client) -> None:
    pairs = [("x" * 40_000, "y" * 5_000)]
    client.post("/v1beta/tunedModels", params={"tunedModelId": "at-limit"}, json=create_body(pairs))
    _run_to_end(emulator, 5)
    assert client.get("/v1beta/tunedModels/at-limit").json()["state"] == "ACTIVE"


def test_scaled_clock_finishes_a_small_job_in_seconds() -> None:
    import time

    with Emulator() as emu, httpx.Client(base_url=emu.url) as http:
        operation = http.post("/v1beta/tunedModels", json=create_body()).json()
        started = time.monotonic()
        while not http.get(f"/v1beta/{operation['name']}").json().get("done"):
            assert time.monotonic() - started < 5
            time.sleep(0.05)
        assert 0.5 < time.monotonic() - started < 3


# --- get / list ---------------------------------------------------------------------------------


def test_get_unknown_model_is_404(client: httpx.Client) -> None:
    assert_error(client.get("/v1beta/tunedModels/nope"), 404, "NOT_FOUND", contains="tunedModels/nope")


def test_enum_encoding_int(emulator: Emulator, client: httpx.Client, tuned: dict[str, Any]) -> None:
    params = {"$alt": "json;enum-encoding=int"}
    assert client.get("/v1beta/tunedModels/numbers", params=params).json()["state"] == 1
    _run_to_end(emulator, 10)
    assert client.get("/v1beta/tunedModels/numbers", params=params).json()["state"] == 2
    operation = client.get(f"/v1beta/{tuned['name']}", params=params).json()
    assert operation["response"]["state"] == 2
    listed = client.get("/v1beta/tunedModels", params=params).json()
    assert listed["tunedModels"][0]["state"] == 2
    assert (
        client.get("/v1beta/tunedModels/numbers", params={"alt": "json;enum-encoding=int"}).json()["state"]
        == 2
    )
    assert client.get("/v1beta/tunedModels/numbers").json()["state"] == "ACTIVE"


def test_enum_input_as_integer_and_int64_output_as_string(client: httpx.Client) -> None:
    body = {**create_body(), "state": 2, "readerProjectNumbers": [123, "456"]}
    client.post("/v1beta/tunedModels", params={"tunedModelId": "ints"}, json=body)
    model = client.get("/v1beta/tunedModels/ints", params={"$alt": "json;enum-encoding=int"}).json()
    assert model["readerProjectNumbers"] == ["123", "456"]
    assert model["state"] == 1  # output-only: the given 2 was ignored


def test_unknown_alt_is_400(client: httpx.Client, tuned: dict[str, Any]) -> None:
    assert_error(client.get("/v1beta/tunedModels/numbers", params={"$alt": "proto"}), 400, "INVALID_ARGUMENT")


def test_unknown_query_parameter_is_400(client: httpx.Client, tuned: dict[str, Any]) -> None:
    response = client.get("/v1beta/tunedModels/numbers", params={"view": "FULL"})
    assert_error(response, 400, "INVALID_ARGUMENT", contains='Unknown name "view"')
    # System parameters are always accepted.
    ok = client.get("/v1beta/tunedModels/numbers", params={"prettyPrint": "false", "quotaUser": "me"})
    assert ok.status_code == 200
    assert "\n " not in ok.text  # compact


def test_list_pages_cover_everything_once(client: httpx.Client) -> None:
    names = [
        client.post("/v1beta/tunedModels", json=create_body(display_name=f"model {i}")).json()["metadata"][
            "tunedModel"
        ]
        for i in range(23)
    ]
    seen: list[str] = []
    token = None
    pages = 0
    while True:
        params: dict[str, Any] = {"pageSize": 5}
        if token:
            params["pageToken"] = token
        page = client.get("/v1beta/tunedModels", params=params).json()
        pages += 1
        assert len(page["tunedModels"]) <= 5
        seen += [m["name"] for m in page["tunedModels"]]
        token = page.get("nextPageToken")
        if not token:
            break
    assert pages == 5
    assert seen == names


def test_list_default_page_size_is_10_and_cap_is_1000(client: httpx.Client, emulator: Emulator) -> None:
    for i in range(12):
        emulator.seed_gemini_model({"displayName": f"m{i}"}, tuned_model_id=f"m{i}")
    page = client.get("/v1beta/tunedModels").json()
    assert len(page["tunedModels"]) == 10
    assert "nextPageToken" in page
    assert len(client.get("/v1beta/tunedModels", params={"pageSize": 0}).json()["tunedModels"]) == 10
    assert len(client.get("/v1beta/tunedModels", params={"pageSize": 5000}).json()["tunedModels"]) == 12


def test_list_page_size_is_capped_at_1000(emulator: Emulator, client: httpx.Client) -> None:
    with emulator.store.lock:
        for i in range(1001):
            emulator.seed_gemini_model(tuned_model_id=f"bulk-{i}")
    page = client.get("/v1beta/tunedModels", params={"pageSize": 100000, "prettyPrint": "false"}).json()
    assert len(page["tunedModels"]) == 1000
    rest = client.get("/v1beta/tunedModels", params={"pageSize": 1000, "pageToken": page["nextPageToken"]})
    assert [m["name"] for m in rest.json()["tunedModels"]] == ["tunedModels/bulk-1000"]


@pytest.mark.parametrize("token", ["garbage!", "eyJhZnRlciI6LTF9", "e30", "bm90IGpzb24"])
def test_invalid_page_token_is_400(client: httpx.Client, token: str) -> None:
    response = client.get("/v1beta/tunedModels", params={"pageToken": token})
    assert_error(response, 400, "INVALID_ARGUMENT")


def test_page_token_is_bound_to_the_filter(client: httpx.Client, emulator: Emulator) -> None:
    for i in range(3):
        emulator.seed_gemini_model({"displayName": f"alpha {i}"})
    token = client.get("/v1beta/tunedModels", params={"pageSize": 1}).json()["nextPageToken"]
    response = client.get("/v1beta/tunedModels", params={"pageToken": token, "filter": "alpha"})
    assert_error(response, 400, "INVALID_ARGUMENT", contains="different parameters")


@pytest.mark.parametrize("size", ["-1", "ten"])
def test_invalid_page_size_is_400(client: httpx.Client, size: str) -> None:
    assert_error(client.get("/v1beta/tunedModels", params={"pageSize": size}), 400, "INVALID_ARGUMENT")


def test_list_filter_is_a_full_text_match(client: httpx.Client, emulator: Emulator) -> None:
    emulator.seed_gemini_model({"displayName": "Sentence Translator"}, tuned_model_id="one")
    emulator.seed_gemini_model(
        {"displayName": "Numbers", "description": "a translator of digits"}, tuned_model_id="two"
    )
    emulator.seed_gemini_model({"displayName": "Other"}, tuned_model_id="three")

    def names(text: str) -> list[str]:
        page = client.get("/v1beta/tunedModels", params={"filter": text}).json()
        return [m["name"] for m in page.get("tunedModels", [])]

    assert names("translator") == ["tunedModels/one", "tunedModels/two"]
    assert names("TRANSLATOR digits") == ["tunedModels/two"]
    assert names("owner:me") == ["tunedModels/one", "tunedModels/two", "tunedModels/three"]
    assert names("readers:everyone") == []
    assert names("nothing-matches") == []


# --- patch ----------------------------------------------------------------------------------------


def test_patch_with_update_mask(client: httpx.Client, tuned: dict[str, Any]) -> None:
    before = client.get("/v1beta/tunedModels/numbers").json()
    body = {"description": "new", "displayName": "ignored: not in the mask", "state": 3}
    response = client.patch("/v1beta/tunedModels/numbers", params={"updateMask": "description"}, json=body)
    assert response.status_code == 200, response.text
    after = response.json()
    assert after["description"] == "new"
    assert after["displayName"] == before["displayName"]
    assert after["state"] == "CREATING"
    assert client.get("/v1beta/tunedModels/numbers").json() == after


def test_patch_mask_in_snake_case_and_clearing(client: httpx.Client, tuned: dict[str, Any]) -> None:
    response = client.patch(
        "/v1beta/tunedModels/numbers", params={"update_mask": "display_name,top_k"}, json={"topK": 10}
    )
    model = response.json()
    assert model["topK"] == 10
    assert "displayName" not in model  # in the mask, absent from the body: cleared


def test_patch_without_mask_updates_mutable_fields_present(
    client: httpx.Client, tuned: dict[str, Any]
) -> None:
    model = client.patch("/v1beta/tunedModels/numbers", json={"temperature": 0.5, "baseModel": "x"}).json()
    assert model["temperature"] == 0.5
    assert model["baseModel"] == BASE_MODEL


def test_patch_legacy_sdk_full_body(client: httpx.Client, emulator: Emulator, tuned: dict[str, Any]) -> None:
    _run_to_end(emulator, 10)
    body = client.get("/v1beta/tunedModels/numbers", params={"$alt": "json;enum-encoding=int"}).json()
    body["description"] = "from the SDK"
    params = {"updateMask": "description", "$alt": "json;enum-encoding=int"}
    model = client.patch("/v1beta/tunedModels/numbers", params=params, json=body).json()
    assert model["description"] == "from the SDK"
    assert model["state"] == 2


@pytest.mark.parametrize(
    ("mask", "body"),
    [
        ("baseModel", {"baseModel": BASE_MODEL}),
        ("state", {}),
        ("tuningTask.hyperparameters", {}),
        ("nonsense", {}),
        ("displayName", {"displayName": "x" * 41}),
    ],
)
def test_patch_invalid_mask_or_value_is_400(
    client: httpx.Client, tuned: dict[str, Any], mask: str, body: dict[str, Any]
) -> None:
    response = client.patch("/v1beta/tunedModels/numbers", params={"updateMask": mask}, json=body)
    assert_error(response, 400, "INVALID_ARGUMENT")


def test_patch_unknown_model_is_404(client: httpx.Client) -> None:
    response = client.patch("/v1beta/tunedModels/nope", params={"updateMask": "description"}, json={})
    assert_error(response, 404, "NOT_FOUND")


# --- delete -------------------------------------------------------------------------------------


def test_delete(client: httpx.Client, emulator: Emulator, tuned: dict[str, Any]) -> None:
    _run_to_end(emulator, 10)
    response = client.delete("/v1beta/tunedModels/numbers")
    assert response.status_code == 200
    assert response.json() == {}
    assert_error(client.get("/v1beta/tunedModels/numbers"), 404, "NOT_FOUND")
    assert_error(client.delete("/v1beta/tunedModels/numbers"), 404, "NOT_FOUND")
    assert client.get("/v1beta/tunedModels").json() == {}


def test_deleting_a_creating_model_stops_its_operation(
    client: httpx.Client, emulator: Emulator, tuned: dict[str, Any]
) -> None:
    client.delete("/v1beta/tunedModels/numbers")
    emulator.advance(3600)
    assert_error(client.get(f"/v1beta/{tuned['name']}"), 404, "NOT_FOUND")
    # The id is free again.
    again = client.post("/v1beta/tunedModels", params={"tunedModelId": "numbers"}, json=create_body())
    assert again.status_code == 200


# --- operations -----------------------------------------------------------------------------------


@pytest.mark.parametrize("version", ["v1beta", "v1"])
def test_operations_get_and_list(client: httpx.Client, tuned: dict[str, Any], version: str) -> None:
    got = client.get(f"/{version}/{tuned['name']}").json()
    assert got == tuned
    listed = client.get(f"/{version}/tunedModels/numbers/operations").json()
    assert listed == {"operations": [tuned]}
    assert client.get(f"/{version}/tunedModels/numbers/operations", params={"pageSize": 1}).json() == listed


def test_operation_of_unknown_model_or_id_is_404(client: httpx.Client, tuned: dict[str, Any]) -> None:
    assert_error(client.get("/v1beta/tunedModels/numbers/operations/nope"), 404, "NOT_FOUND")
    assert_error(client.get("/v1beta/tunedModels/nope/operations/x"), 404, "NOT_FOUND")
    assert_error(client.get("/v1beta/tunedModels/nope/operations"), 404, "NOT_FOUND")


def test_cancel_stops_the_job(client: httpx.Client, emulator: Emulator, tuned: dict[str, Any]) -> None:
    emulator.advance(SETUP_SECONDS + 4 * SECONDS_PER_STEP)
    response = client.post(f"/v1/{tuned['name']}:cancel", json={})
    assert response.status_code == 200
    assert response.json() == {}
    operation = client.get(f"/v1beta/{tuned['name']}").json()
    assert operation["done"] is True
    assert operation["error"]["code"] == 1  # CANCELLED
    assert operation["metadata"]["completedSteps"] == 4
    model = client.get("/v1beta/tunedModels/numbers").json()
    assert model["state"] == "FAILED"
    assert len(model["tuningTask"]["snapshots"]) == 4
    emulator.advance(3600)  # stays cancelled
    assert client.get("/v1beta/tunedModels/numbers").json()["state"] == "FAILED"


def test_cancel_of_a_finished_operation_changes_nothing(
    client: httpx.Client, emulator: Emulator, tuned: dict[str, Any]
) -> None:
    _run_to_end(emulator, 10)
    assert client.post(f"/v1/{tuned['name']}:cancel").status_code == 200
    assert client.get("/v1beta/tunedModels/numbers").json()["state"] == "ACTIVE"


def test_cancel_is_v1_only_like_the_protos(client: httpx.Client, tuned: dict[str, Any]) -> None:
    assert_error(client.post(f"/v1beta/{tuned['name']}:cancel", json={}), 404, "NOT_FOUND")
    assert_error(client.post("/v1/tunedModels/numbers/operations/nope:cancel", json={}), 404, "NOT_FOUND")
    assert_error(client.post(f"/v1/{tuned['name']}:cancel", json={"x": 1}), 400, "INVALID_ARGUMENT")


def test_v1_serves_no_tuned_model_crud(client: httpx.Client, tuned: dict[str, Any]) -> None:
    assert_error(client.get("/v1/tunedModels/numbers"), 404, "NOT_FOUND")
    assert_error(client.get("/v1/tunedModels"), 404, "NOT_FOUND")
    assert_error(client.post("/v1/tunedModels", json=create_body()), 404, "NOT_FOUND")
    assert_error(client.delete("/v1/tunedModels/numbers"), 404, "NOT_FOUND")


# --- base models ------------------------------------------------------------------------------------


@pytest.mark.parametrize("version", ["v1beta", "v1"])
def test_base_models(client: httpx.Client, version: str) -> None:
    model = client.get(f"/{version}/models/gemini-1.5-flash-001-tuning").json()
    assert model["name"] == BASE_MODEL
    assert "createTunedModel" in model["supportedGenerationMethods"]
    listed = client.get(f"/{version}/models").json()["models"]
    assert [m["name"] for m in listed] == [BASE_MODEL, "models/gemini-1.0-pro-001"]
    page = client.get(f"/{version}/models", params={"pageSize": 1}).json()
    assert len(page["models"]) == 1
    rest = client.get(f"/{version}/models", params={"pageToken": page["nextPageToken"]}).json()
    assert [m["name"] for m in rest["models"]] == ["models/gemini-1.0-pro-001"]
    assert_error(client.get(f"/{version}/models/gemini-2.5-pro"), 404, "NOT_FOUND")
