"""The test-only admin surface under /_emulator/ and its Python mirror on Emulator."""

from __future__ import annotations

import json

import httpx
import pytest
from emulator_helpers import assert_error, create_body

from tuneport_emulator import Emulator, EmulatorError


def test_clock_get_and_advance(client: httpx.Client) -> None:
    clock = client.get("/_emulator/clock").json()
    assert clock["mode"] == "manual"
    assert clock["now"] == "2024-06-01T00:00:00Z"
    advanced = client.post("/_emulator/clock:advance", json={"seconds": 90.5}).json()
    assert advanced["now"] == "2024-06-01T00:01:30.500Z"
    assert advanced["epochSeconds"] == clock["epochSeconds"] + 90.5


@pytest.mark.parametrize("body", [{}, {"seconds": -1}, {"seconds": "5"}, {"seconds": True}, {"secs": 1}])
def test_clock_advance_refuses_bad_input(client: httpx.Client, body: dict[str, object]) -> None:
    assert_error(client.post("/_emulator/clock:advance", json=body), 400, "INVALID_ARGUMENT")


def test_advancing_moves_jobs(emulator: Emulator, client: httpx.Client) -> None:
    client.post("/v1beta/tunedModels", params={"tunedModelId": "m"}, json=create_body())
    client.post("/_emulator/clock:advance", json={"seconds": 3600})
    assert client.get("/v1beta/tunedModels/m").json()["state"] == "ACTIVE"


def test_requests_log_and_clear(emulator: Emulator, client: httpx.Client) -> None:
    client.post("/v1beta/tunedModels", params={"tunedModelId": "m"}, json=create_body())
    client.get("/v1beta/tunedModels/m")
    client.get("/nowhere")
    log = client.get("/_emulator/requests").json()["requests"]
    assert [(e["method"], e["path"], e["route"], e["status"]) for e in log] == [
        ("POST", "/v1beta/tunedModels", "gemini.tunedModels.create", 200),
        ("GET", "/v1beta/tunedModels/m", "gemini.tunedModels.get", 200),
        ("GET", "/nowhere", None, 404),
    ]
    assert log[0]["body"]["tuningTask"]["trainingData"]["examples"]["examples"][0] == {
        "textInput": "1",
        "output": "2",
    }
    assert [e["seq"] for e in log] == [1, 2, 3]
    assert emulator.requests() == log
    assert client.delete("/_emulator/requests").json() == {}
    assert emulator.requests() == []


def test_request_log_is_bounded() -> None:
    with Emulator(request_log_size=3) as emu, httpx.Client(base_url=emu.url) as http:
        for _ in range(5):
            http.get("/v1beta/tunedModels")
        assert [e["seq"] for e in emu.requests()] == [3, 4, 5]


def test_state_shows_everything_as_plain_json(emulator: Emulator, client: httpx.Client) -> None:
    client.post("/v1beta/tunedModels", params={"tunedModelId": "m"}, json=create_body())
    state = client.get("/_emulator/state").json()
    assert set(state) == {"clock", "state", "requestCount", "internalErrors"}
    assert "m" in state["state"]["sections"]["gemini"]["tunedModels"]
    assert state["requestCount"] == 1
    assert state["internalErrors"] == []
    json.dumps(emulator.store.snapshot())  # the store holds plain JSON only


def test_reset_forgets_everything(emulator: Emulator, client: httpx.Client) -> None:
    first = client.post("/v1beta/tunedModels", json=create_body(display_name="Same")).json()["name"]
    assert client.post("/_emulator/reset", json={}).json() == {}  # admin writes are JSON
    assert emulator.requests() == []
    assert client.get("/v1beta/tunedModels").json() == {}
    # Counters are state too: ids start over.
    assert client.post("/v1beta/tunedModels", json=create_body(display_name="Same")).json()["name"] == first
    emulator.reset()
    assert emulator.store.snapshot() == {"sections": {}, "counters": {}}


@pytest.mark.parametrize(
    ("state", "progress", "expected_steps"),
    [
        # 5 examples, 5 epochs, batch 4: ceil(25 / 4) = 7 steps.
        ("CREATING", 0.0, 0),
        ("CREATING", 0.5, 3),
        ("CREATING", 1.0, 6),
        ("ACTIVE", None, 7),
        ("FAILED", 0.3, 2),
    ],
)
def test_seed_in_any_state(
    client: httpx.Client, state: str, progress: float | None, expected_steps: int
) -> None:
    body: dict[str, object] = {
        "tunedModel": create_body(),
        "tunedModelId": "seeded",
        "state": state,
    }
    if progress is not None:
        body["progress"] = progress
    if state == "FAILED":
        body["error"] = {"code": 8, "message": "Quota exhausted."}
    model = client.post("/_emulator/gemini/tunedModels:seed", json=body).json()
    assert model["name"] == "tunedModels/seeded"
    assert model["state"] == state
    assert len(model.get("tuningTask", {}).get("snapshots", [])) == expected_steps
    operation = client.get("/v1beta/tunedModels/seeded/operations").json()["operations"][0]
    assert operation.get("metadata", {}).get("completedSteps", 0) == expected_steps
    if state == "FAILED":
        assert operation["error"] == {"code": 8, "message": "Quota exhausted."}
    assert (operation.get("done") is True) == (state != "CREATING")


def test_seeded_creating_job_then_progresses(emulator: Emulator, client: httpx.Client) -> None:
    emulator.seed_gemini_model(state="CREATING", progress=0.5, tuned_model_id="half")
    assert client.get("/v1beta/tunedModels/half").json()["state"] == "CREATING"
    emulator.advance(3600)
    assert client.get("/v1beta/tunedModels/half").json()["state"] == "ACTIVE"


def test_seed_defaults(emulator: Emulator) -> None:
    model = emulator.seed_gemini_model()
    assert model["state"] == "ACTIVE"
    assert model["baseModel"] == "models/gemini-1.5-flash-001-tuning"
    assert model["name"].startswith("tunedModels/model-")
    with_name = emulator.seed_gemini_model({"name": "tunedModels/by-name", "displayName": "x"})
    assert with_name["name"] == "tunedModels/by-name"


@pytest.mark.parametrize(
    "body",
    [
        {"state": "DONE"},
        {"state": "CREATING", "progress": 2},
        {"state": "ACTIVE", "error": {"code": 3}},
        {"state": "FAILED", "error": {"code": 99}},
        {"surprise": 1},
        {"tunedModel": {"epochs": 1}},
        {"tunedModelId": "Bad Id"},
    ],
)
def test_seed_refuses_bad_input(emulator: Emulator, client: httpx.Client, body: dict[str, object]) -> None:
    assert_error(client.post("/_emulator/gemini/tunedModels:seed", json=body), 400, "INVALID_ARGUMENT")


def test_backdoor_seed_refusals_are_emulator_errors(emulator: Emulator) -> None:
    with pytest.raises(EmulatorError, match="state must be one of"):
        emulator.seed_gemini_model(state="DONE")
    with pytest.raises(EmulatorError, match="progress"):
        emulator.seed_gemini_model(state="CREATING", progress=2)
    with pytest.raises(EmulatorError, match="epochs"):
        emulator.seed_gemini_model({"epochs": 1})
    emulator.seed_gemini_model(tuned_model_id="taken")
    with pytest.raises(EmulatorError, match="ALREADY_EXISTS"):
        emulator.seed_gemini_model(tuned_model_id="taken")


def test_seed_duplicate_is_409(emulator: Emulator, client: httpx.Client) -> None:
    emulator.seed_gemini_model(tuned_model_id="twice")
    response = client.post("/_emulator/gemini/tunedModels:seed", json={"tunedModelId": "twice"})
    assert_error(response, 409, "ALREADY_EXISTS")


def test_admin_requests_are_not_logged(emulator: Emulator, client: httpx.Client) -> None:
    client.get("/_emulator/state")
    client.post("/_emulator/gemini/tunedModels:seed", json={})
    assert emulator.requests() == []
