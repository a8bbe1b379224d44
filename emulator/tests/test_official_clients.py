"""Google's own Python clients, unmodified, against the emulator.

* google-generativeai (legacy) with its REST transport: the whole tuning
  lifecycle, polling the creation operation as the SDK does.
* google-genai in Gemini API mode: get a tuned model, generate (plain and
  streamed), delete.  google-genai 3.x defaults to API version ``v1``, where
  Google serves no tuned-model CRUD; it is pointed at ``v1beta`` for those
  calls, as it must be against the real service.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from typing import Any

import pytest

from tuneport_emulator import Emulator, EmulatorClock

# google-generativeai calls proto-plus with an argument protobuf 5 deprecated: its noise, not ours.
pytestmark = pytest.mark.filterwarnings(
    "ignore:The argument `including_default_value_fields`:DeprecationWarning"
)

#: Faster than the default so the SDK's own polling (1 s first delay) finishes quickly.
FAST = 600.0

TRAINING = [
    {"text_input": "1", "output": "2"},
    {"text_input": "3", "output": "4"},
    {"text_input": "-3", "output": "-2"},
    {"text_input": "twenty two", "output": "twenty three"},
    {"text_input": "IV", "output": "V"},
]


@pytest.fixture(autouse=True)
def _no_client_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("GOOGLE_API_KEY", "GEMINI_API_KEY", "GOOGLE_GEMINI_BASE_URL", "GOOGLE_GENAI_API_VERSION"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def fast_emulator() -> Iterator[Emulator]:
    with Emulator(clock=EmulatorClock(speed=FAST)) as emu:
        yield emu
        assert emu.internal_errors == []


# --- google-generativeai -----------------------------------------------------------------------------


@pytest.fixture
def legacy(fast_emulator: Emulator) -> Any:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # its import warns that the package is deprecated
        import google.generativeai as genai
    genai.configure(api_key="k", transport="rest", client_options={"api_endpoint": fast_emulator.url})
    return genai


def test_generativeai_full_lifecycle(legacy: Any, fast_emulator: Emulator) -> None:
    genai = legacy
    operation = genai.create_tuned_model(
        source_model="models/gemini-1.5-flash-001-tuning",
        training_data=TRAINING,
        id="number-generator",
        display_name="number generator",
        epoch_count=2,
        batch_size=2,
        learning_rate=0.001,
    )
    assert operation.metadata.total_steps == 5  # ceil(5 examples x 2 epochs / batch 2), as Google counts
    result = operation.result(timeout=30)
    assert result.name == "tunedModels/number-generator"
    assert result.state.name == "ACTIVE"

    model = genai.get_tuned_model("tunedModels/number-generator")
    assert model.base_model == "models/gemini-1.5-flash-001-tuning"
    assert model.tuning_task.hyperparameters.epoch_count == 2
    assert model.tuning_task.hyperparameters.batch_size == 2
    assert len(model.tuning_task.snapshots) == 5
    assert model.tuning_task.complete_time is not None

    answer = genai.GenerativeModel(model_name="tunedModels/number-generator").generate_content("IV")
    assert answer.text == "V"
    near = genai.GenerativeModel(model_name="tunedModels/number-generator").generate_content("twenty-two")
    assert near.text == "twenty three"

    assert [m.name for m in genai.list_tuned_models()] == ["tunedModels/number-generator"]
    updated = genai.update_tuned_model("tunedModels/number-generator", {"description": "counts"})
    assert updated.description == "counts"

    genai.delete_tuned_model("tunedModels/number-generator")
    assert list(genai.list_tuned_models()) == []

    paths = [(r["method"], r["path"]) for r in fast_emulator.requests()]
    assert ("GET", f"/v1beta/{operation.name}") in paths  # the SDK polled the operation
    assert all(r["status"] < 400 for r in fast_emulator.requests())


def test_generativeai_wait_bar_and_id_from_display_name(legacy: Any) -> None:
    genai = legacy
    operation = genai.create_tuned_model(
        source_model="models/gemini-1.5-flash-001-tuning",
        training_data=TRAINING[:2],
        display_name="Sentence Translator",
        epoch_count=1,
    )
    statuses = list(operation.wait_bar(disable=True))
    assert all(s.total_steps == 1 for s in statuses)
    model = operation.result()
    assert model.name.startswith("tunedModels/sentence-translator-")
    assert genai.get_tuned_model(model.name).state.name == "ACTIVE"


def test_generativeai_sees_googles_errors(legacy: Any) -> None:
    from google.api_core import exceptions

    genai = legacy
    with pytest.raises(exceptions.NotFound):
        genai.get_tuned_model("tunedModels/missing")
    genai.create_tuned_model(
        source_model="models/gemini-1.5-flash-001-tuning", training_data=TRAINING, id="twice"
    )
    with pytest.raises(exceptions.Conflict):  # api_core maps HTTP 409 to Conflict
        genai.create_tuned_model(
            source_model="models/gemini-1.5-flash-001-tuning", training_data=TRAINING, id="twice"
        )
    with pytest.raises(exceptions.BadRequest):
        genai.create_tuned_model(
            source_model="models/gemini-1.5-flash-001-tuning", training_data=TRAINING, id="Bad_Id"
        )


# --- google-genai -----------------------------------------------------------------------------------------


@pytest.fixture
def google_genai() -> Any:
    import google.genai

    return google.genai


def _client(genai: Any, url: str, version: str | None = None) -> Any:
    from google.genai import types

    return genai.Client(api_key="k", http_options=types.HttpOptions(base_url=url, api_version=version))


def test_genai_get_generate_and_delete(google_genai: Any, fast_emulator: Emulator) -> None:
    examples = [{"textInput": i["text_input"], "output": i["output"]} for i in TRAINING]
    fast_emulator.seed_gemini_model(
        {"displayName": "numbers", "tuningTask": {"trainingData": {"examples": {"examples": examples}}}},
        tuned_model_id="numbers",
    )
    v1beta = _client(google_genai, fast_emulator.url, "v1beta")
    job = v1beta.tunings.get(name="tunedModels/numbers")
    assert job.name == "tunedModels/numbers"
    assert job.state.name == "JOB_STATE_SUCCEEDED"  # google-genai maps ACTIVE to SUCCEEDED
    assert job.tuned_model.model == "tunedModels/numbers"

    default = _client(google_genai, fast_emulator.url)  # v1 in google-genai 3.x
    for client in (default, v1beta):
        reply = client.models.generate_content(model="tunedModels/numbers", contents="IV")
        assert reply.text == "V"
        assert reply.usage_metadata.total_token_count == 2
        streamed = "".join(
            c.text for c in client.models.generate_content_stream(model="tunedModels/numbers", contents="3")
        )
        assert streamed == "4"

    v1beta.models.delete(model="tunedModels/numbers")
    from google.genai import errors

    with pytest.raises(errors.ClientError) as caught:
        v1beta.tunings.get(name="tunedModels/numbers")
    assert caught.value.code == 404


def test_genai_creating_and_failed_states(google_genai: Any, emulator: Emulator) -> None:
    emulator.seed_gemini_model(state="CREATING", tuned_model_id="running")
    emulator.seed_gemini_model(
        state="FAILED", tuned_model_id="broken", error={"code": 3, "message": "bad data"}
    )
    client = _client(google_genai, emulator.url, "v1beta")
    assert client.tunings.get(name="tunedModels/running").state.name == "JOB_STATE_RUNNING"
    assert client.tunings.get(name="tunedModels/broken").state.name == "JOB_STATE_FAILED"
    from google.genai import errors

    with pytest.raises(errors.ClientError) as caught:
        client.models.generate_content(model="tunedModels/running", contents="ping")
    assert caught.value.code == 400
    assert caught.value.status == "FAILED_PRECONDITION"


def test_genai_default_api_version(google_genai: Any, fast_emulator: Emulator) -> None:
    """Faithful to Google's v1 protos: GET v1/tunedModels/{id} does not exist.

    google-genai 3.x defaults to v1 (so its tunings.get fails, as against
    Google); 2.x defaults to v1beta, where it works.  Which one is installed
    depends on what google-cloud-aiplatform allows.
    """
    from google.genai import errors

    fast_emulator.seed_gemini_model(tuned_model_id="numbers")
    client = _client(google_genai, fast_emulator.url)
    if int(google_genai.__version__.split(".")[0]) >= 3:
        with pytest.raises(errors.ClientError) as caught:
            client.tunings.get(name="tunedModels/numbers")
        assert caught.value.code == 404
    else:
        assert client.tunings.get(name="tunedModels/numbers").name == "tunedModels/numbers"
