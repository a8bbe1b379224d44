"""google-genai, old and new, unmodified, in both modes against the emulator.

google-cloud-aiplatform pins google-genai below 3, so the development
environment holds a 2.x; the newest 3.x lives in a second environment that
this test run makes itself (``scripts/genai3_env.py``: ``.cache/genai3-venv``,
made once, reused while valid).  If it cannot be made the tests FAIL, never
skip.  Each version runs the same scenario script (``clients/genai_scenario.py``)
as a subprocess against an emulator started here; the script prints what the
client saw and the assertions are made here, version by version where the
clients differ:

* Vertex mode (``v1beta1`` in both): ``tunings.tune`` from Cloud Storage,
  ``tunings.get`` polled until the job ends, ``generate_content`` (plain,
  streamed, and through ``client.aio``) on the tuned endpoint, ``models.get`` / ``models.list`` of the
  tuned model, ``tunings.cancel``, ``tunings.list`` (paged, filtered), and the
  refusals Vertex gives (cancel an ended job, delete a deployed model).
* Gemini API mode: 2.x and 3.x both drop the training examples from
  ``tunings.tune`` (a client bug) and 3.x defaults to ``v1``, where Google
  serves no tuned-model CRUD, so a tune is refused by the service (400 or
  404) and ``tunings.list`` by the client itself.  What the clients can do
  with a tuned model created by REST: ``tunings.get`` polled from RUNNING to
  SUCCEEDED, ``models.get`` / ``list`` / ``update``, ``generate_content`` at
  the default version and at ``v1beta``, ``models.delete``.  ``tunings.cancel``
  sends ``tunedModels/{id}:cancel``, a method Google's protos do not have: 404.
"""

from __future__ import annotations

import importlib.metadata
import importlib.util
import json
import os
import re
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import httpx
import pytest
from emulator_helpers import NUMBERS, stage_numbers_jsonl

from tuneport_emulator import Emulator, EmulatorClock

ROOT = Path(__file__).resolve().parents[2]
SCENARIO = Path(__file__).resolve().parent / "clients" / "genai_scenario.py"
#: Emulator seconds per wall second for the Vertex scenario (a 2-epoch job: well under a second).
FAST = 600.0
TRAIN_URI = "gs://tuneport-clients/train.jsonl"
SCENARIO_TIMEOUT = 180.0
#: What the scenario subprocess must not inherit: it would redirect or authenticate the clients.
_CLIENT_ENVIRONMENT = (
    "GOOGLE_API_KEY", "GEMINI_API_KEY", "GOOGLE_GEMINI_BASE_URL", "GOOGLE_VERTEX_BASE_URL",
    "GOOGLE_GENAI_USE_VERTEXAI", "GOOGLE_CLOUD_PROJECT", "GOOGLE_CLOUD_LOCATION", "GOOGLE_GENAI_API_VERSION",
    "GOOGLE_APPLICATION_CREDENTIALS",
)  # fmt: skip


def _env_module() -> ModuleType:
    spec = importlib.util.spec_from_file_location("genai3_env", ROOT / "scripts" / "genai3_env.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="session")
def genai3_python() -> Path:
    """The interpreter of the google-genai 3.x environment; the test fails if it cannot be made."""
    env = _env_module()
    try:
        python: Path = env.ensure()
    except env.EnvironmentNotMade as exc:
        pytest.fail(
            f"google-genai {env.GENAI3_VERSION} environment could not be made in {env.ENV_DIR} "
            f"(run `python scripts/genai3_env.py` to see why): {exc}",
            pytrace=False,
        )
    return python


@pytest.fixture(params=["2", "3"], ids=["genai-2.x", "genai-3.x"])
def genai(request: pytest.FixtureRequest) -> tuple[int, Path]:
    """(major version, interpreter): the development environment's 2.x, or the second environment's 3.x."""
    if request.param == "2":
        installed = importlib.metadata.version("google-genai")
        assert installed.startswith("2."), f"the development environment now holds google-genai {installed}"
        return 2, Path(sys.executable)
    return 3, request.getfixturevalue("genai3_python")


def test_a_made_environment_is_reused_quickly(genai3_python: Path) -> None:
    env = _env_module()
    started = time.monotonic()
    assert env.ensure() == genai3_python
    assert time.monotonic() - started < 10  # checked, not made again


def test_an_environment_that_cannot_be_made_is_an_error(tmp_path: Path) -> None:
    env = _env_module()
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    with pytest.raises(env.EnvironmentNotMade, match="could not create"):
        env.ensure(blocker / "venv")


def _scenario(python: Path, mode: str, url: str, args: dict[str, Any]) -> dict[str, Any]:
    environment = {k: v for k, v in os.environ.items() if k not in _CLIENT_ENVIRONMENT}
    environment["PYTHONWARNINGS"] = "ignore"
    done = subprocess.run(
        [str(python), str(SCENARIO), mode, url, json.dumps(args)],
        check=False,
        capture_output=True,
        text=True,
        timeout=SCENARIO_TIMEOUT,
        env=environment,
    )
    assert done.returncode == 0, f"the {mode} scenario failed:\n{done.stderr}"
    seen: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return seen


def _failures(emulator: Emulator) -> list[tuple[str, str, int]]:
    return [(e["method"], e["path"], e["status"]) for e in emulator.requests() if e["status"] >= 400]


# --- Vertex mode ------------------------------------------------------------------------------------


@pytest.fixture
def vertex_emulator() -> Iterator[Emulator]:
    with Emulator(clock=EmulatorClock(speed=FAST)) as emu:
        stage_numbers_jsonl(emu.url)
        yield emu
        assert emu.internal_errors == []


def test_genai_vertex_mode(genai: tuple[int, Path], vertex_emulator: Emulator) -> None:
    major, python = genai
    seen = _scenario(python, "vertex", vertex_emulator.url, {"train": TRAIN_URI})
    assert seen["version"].startswith(f"{major}.")

    job = seen["created"]
    parent = "/".join(job.split("/")[:4])
    assert re.fullmatch(r"projects/\d{12}/locations/us-central1", parent)  # Vertex names carry the number
    assert job.startswith(f"{parent}/tuningJobs/")
    assert seen["first_state"] == "JOB_STATE_PENDING"
    done = seen["done"]
    order = ["JOB_STATE_PENDING", "JOB_STATE_RUNNING", "JOB_STATE_SUCCEEDED"]
    assert done["states"][-1] == "JOB_STATE_SUCCEEDED"
    assert done["states"] == sorted(done["states"], key=order.index)  # only forward, as polled
    model = done["model"]
    assert model.startswith(f"{parent}/models/")
    assert model.endswith("@1")
    assert done["endpoint"].startswith(f"{parent}/endpoints/")
    assert (done["examples"], done["epochs"], done["labels"]) == (5, 2, {"team": "x"})
    assert done["experiment"].startswith(f"{parent}/metadataStores/default/contexts/")
    assert (seen["generated"], seen["streamed"]) == ("V", "4")
    assert seen["async"] == {"state": "JOB_STATE_SUCCEEDED", "generated": "V"}
    assert seen["model"] == {
        "name": model.removesuffix("@1"),
        "display_name": "numbers",
        "base_model": "gemini-2_0-flash-001",  # label values hold no dots
    }
    assert seen["tuned_models"] == [model.removesuffix("@1")]
    assert seen["via_environment"] == job  # GOOGLE_VERTEX_BASE_URL

    cancelled = seen["cancelled"]
    assert cancelled["states"][-1] == "JOB_STATE_CANCELLED"
    assert cancelled["error_code"] == 1  # google.rpc.Code.CANCELLED
    assert seen["listed"] == seen["listed_paged"] == [job, cancelled["name"]]
    assert seen["listed_succeeded"] == [job]
    refused = {"code": 400, "status": "FAILED_PRECONDITION"}
    assert seen["cancel_ended"] == refused
    assert seen["delete_deployed_model"] == refused  # Vertex: undeploy before deleting

    log = vertex_emulator.requests()
    assert all(e["route"] for e in log), [e["path"] for e in log if not e["route"]]
    assert all(e["path"].startswith(("/v1beta1/", "/upload/")) for e in log)
    assert [(m, s) for m, _, s in _failures(vertex_emulator)] == [("POST", 400), ("DELETE", 400)]


# --- Gemini API mode --------------------------------------------------------------------------------


def _advance_after_first_poll(emulator: Emulator, path: str, stop: threading.Event) -> None:
    """Once the client has polled ``path`` (and seen the model still tuning), let the tuning finish."""
    while not stop.wait(0.02):
        if any(
            e["method"] == "GET" and e["path"] == path and e["status"] == 200 for e in emulator.requests()
        ):
            emulator.advance(3600)
            return


def test_genai_gemini_mode(genai: tuple[int, Path], emulator: Emulator) -> None:
    major, python = genai
    examples = [{"textInput": i, "output": o} for i, o in NUMBERS]
    created = httpx.post(
        f"{emulator.url}/v1beta/tunedModels",
        params={"tunedModelId": "numbers"},
        headers={"x-goog-api-key": "k"},
        json={
            "baseModel": "models/gemini-1.5-flash-001-tuning",
            "displayName": "numbers",
            "tuningTask": {
                "hyperparameters": {"epochCount": 2},
                "trainingData": {"examples": {"examples": examples}},
            },
        },
    )
    assert created.status_code == 200, created.text
    stop = threading.Event()
    clock = threading.Thread(
        target=_advance_after_first_poll, args=(emulator, "/v1beta/tunedModels/numbers", stop), daemon=True
    )
    clock.start()
    try:
        seen = _scenario(python, "gemini", emulator.url, {"running": "tunedModels/numbers"})
    finally:
        stop.set()
        clock.join()
    assert seen["version"].startswith(f"{major}.")

    training_data_missing = {"code": 400, "status": "INVALID_ARGUMENT"}  # the client dropped the examples
    no_such_method = {"code": 404, "status": "NOT_FOUND"}
    if major == 2:  # default v1beta
        assert seen["tune_default"] == training_data_missing
        assert seen["get_default"] == {"code": 200}
    else:  # default v1: Google serves no tunedModels create or get there
        assert seen["tune_default"] == no_such_method
        assert seen["get_default"] == no_such_method
    assert seen["tune_v1beta"] == training_data_missing
    assert seen["list_jobs"]["client_side"] == "ValueError"  # only in Vertex mode, says the client

    # google-genai maps CREATING to RUNNING and ACTIVE to SUCCEEDED.
    assert seen["done"] == {
        "states": ["JOB_STATE_RUNNING", "JOB_STATE_SUCCEEDED"],
        "model": "tunedModels/numbers",
        "base_model": "models/gemini-1.5-flash-001-tuning",
    }
    assert seen["model"] == {
        "name": "tunedModels/numbers",
        "base_model": "models/gemini-1.5-flash-001-tuning",
    }
    assert seen["tuned_models"] == ["tunedModels/numbers"]
    assert seen["via_environment"] == "tunedModels/numbers"  # GOOGLE_GEMINI_BASE_URL
    assert seen["updated"] == "counts"
    assert seen["generated"] == {"default": "V", "v1beta": "V"}
    assert seen["streamed"] == "V"
    assert seen["async"] == {"state": "JOB_STATE_SUCCEEDED", "generated": "V"}
    assert seen["cancel"] == no_such_method
    assert seen["get_deleted"] == {"code": 404, "status": "NOT_FOUND"}

    default_version = "v1beta" if major == 2 else "v1"
    paths = {(e["method"], e["path"]) for e in emulator.requests()}
    assert ("POST", f"/{default_version}/tunedModels/numbers:generateContent") in paths
    assert ("POST", "/v1beta/tunedModels/numbers:cancel") in paths
