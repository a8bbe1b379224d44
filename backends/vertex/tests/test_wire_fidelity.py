"""Every request body the vertex backend sends parses strictly into Google's published types.

The types come from ``google-cloud-aiplatform`` (a test dependency);
``ignore_unknown_fields=False`` makes a misspelt or misplaced field fail.
Create bodies are built without I/O (``plan_create``); the others are
captured on the wire during a whole lifecycle against the emulator.
"""

from __future__ import annotations

import json
import warnings
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import tuneport
from tuneport.errors import SpecError
from tuneport.models import GenerateRequest, JobSpec
from tuneport_vertex import VertexBackend, VertexSettings
from tuneport_vertex.wire import ADAPTER_SIZES, generate_body

with warnings.catch_warnings():
    warnings.simplefilter("ignore")  # api_core's Python-version FutureWarning
    # A test dependency (google-cloud-aiplatform): fail, never skip.
    from google.cloud import aiplatform_v1, aiplatform_v1beta1

from google.protobuf import json_format

BASE = "gemini-2.5-flash"


def parse_strictly(body: dict[str, Any], message_type: Any) -> Any:
    message = message_type.pb()()
    json_format.ParseDict(body, message, ignore_unknown_fields=False)
    return message


def backend(**overrides: Any) -> VertexBackend:
    return VertexBackend(
        VertexSettings(
            project="my-project",
            endpoint="http://127.0.0.1:1",
            staging_bucket="gs://tuneport-staging",
            **overrides,
        )
    )


text = st.text(alphabet=st.characters(blacklist_categories=("Cs",)), min_size=1, max_size=40)
label_words = st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789_-", min_size=0, max_size=20)
labels = st.dictionaries(st.from_regex(r"[a-z][a-z0-9_-]{0,20}", fullmatch=True), label_words, max_size=4)
hyper = st.fixed_dictionaries(
    {},
    optional={
        "epoch_count": st.integers(1, 50),
        "learning_rate_multiplier": st.floats(0.01, 10.0),
        "adapter_size": st.sampled_from(sorted(ADAPTER_SIZES)),
    },
)
extras = st.fixed_dictionaries(
    {},
    optional={
        "export_last_checkpoint_only": st.booleans(),
        "encryption_spec": st.sampled_from(
            [
                "projects/p/locations/l/keyRings/r/cryptoKeys/k",
                {"kmsKeyName": "projects/p/locations/l/keyRings/r/cryptoKeys/k2"},
            ]
        ),
        "service_account": st.just("tuner@my-project.iam.gserviceaccount.com"),
    },
)


@settings(max_examples=60, suppress_health_check=[HealthCheck.too_slow])
@given(
    hyperparameters=hyper,
    job_labels=labels,
    job_extras=extras,
    display_name=st.none() | text,
    description=st.none() | text,
    validation=st.booleans(),
)
def test_create_bodies_are_tuning_jobs(
    hyperparameters: dict[str, Any],
    job_labels: dict[str, str],
    job_extras: dict[str, Any],
    display_name: str | None,
    description: str | None,
    validation: bool,
) -> None:
    spec = JobSpec(
        base_model=BASE,
        training_data="gs://tuneport-staging/train.jsonl",
        validation_data="gs://tuneport-staging/validation.jsonl" if validation else None,
        hyperparameters=hyperparameters,
        display_name=display_name,
        description=description,
        labels=job_labels,
        extras=job_extras,
    )
    (request,) = backend().plan_create(spec)
    assert request.method == "POST"
    assert request.url == "http://127.0.0.1:1/v1/projects/my-project/locations/us-central1/tuningJobs"
    job = parse_strictly(request.json, aiplatform_v1.types.TuningJob)
    assert job.base_model == BASE
    assert job.supervised_tuning_spec.training_dataset_uri == "gs://tuneport-staging/train.jsonl"
    assert dict(job.labels).items() >= job_labels.items()
    assert "tuneport-request-id" in job.labels
    if "adapter_size" in hyperparameters:
        size = aiplatform_v1.types.SupervisedHyperParameters.AdapterSize(
            job.supervised_tuning_spec.hyper_parameters.adapter_size
        )
        assert size.name == ADAPTER_SIZES[hyperparameters["adapter_size"]]  # sent by name, read back right
    if "encryption_spec" in job_extras:
        assert job.encryption_spec.kms_key_name.startswith("projects/p/")


def test_local_data_is_planned_at_its_staging_uri() -> None:
    (request,) = backend().plan_create(JobSpec(base_model=BASE, training_data=[("a", "b"), ("c", "d")]))
    job = parse_strictly(request.json, aiplatform_v1.types.TuningJob)
    assert job.supervised_tuning_spec.training_dataset_uri.startswith(
        "gs://tuneport-staging/tuneport/datasets/"
    )


def test_tuning_mode_goes_to_v1beta1_and_a_forced_v1_refuses_it() -> None:
    spec = JobSpec(
        base_model=BASE,
        training_data="gs://b-b/train.jsonl",
        extras={"tuning_mode": "TUNING_MODE_PEFT_ADAPTER"},
    )
    with pytest.raises(SpecError, match="v1beta1") as refused:
        backend(api_version="v1").plan_create(spec)
    assert [p.field for p in refused.value.problems] == ["extras.tuning_mode"]
    assert 'api_version = "v1"' in str(refused.value)  # names the setting that forces it
    for setting in ("auto", "v1beta1"):
        (request,) = backend(api_version=setting).plan_create(spec)
        assert "/v1beta1/" in request.url
        job = parse_strictly(request.json, aiplatform_v1beta1.types.TuningJob)
        assert (
            job.supervised_tuning_spec.tuning_mode
            == aiplatform_v1beta1.types.SupervisedTuningSpec.TuningMode.TUNING_MODE_PEFT_ADAPTER
        )


@settings(max_examples=60)
@given(
    prompt=text,
    temperature=st.none() | st.floats(0, 2),
    top_p=st.none() | st.floats(0, 1),
    top_k=st.none() | st.integers(1, 40),
    max_output_tokens=st.none() | st.integers(1, 8192),
    stop=st.lists(text, max_size=3),
    candidates=st.none() | st.integers(1, 4),
    system=st.none() | text,
)
def test_generate_bodies_are_generate_content_requests(
    prompt: str,
    temperature: float | None,
    top_p: float | None,
    top_k: int | None,
    max_output_tokens: int | None,
    stop: list[str],
    candidates: int | None,
    system: str | None,
) -> None:
    request = GenerateRequest(
        contents=prompt,
        temperature=temperature,
        top_p=top_p,
        top_k=top_k,
        max_output_tokens=max_output_tokens,
        stop_sequences=tuple(stop),
        candidate_count=candidates,
        system_instruction=system,
    )
    parsed = parse_strictly(generate_body(request), aiplatform_v1.types.GenerateContentRequest)
    assert parsed.contents[0].parts[0].text == prompt
    assert parsed.contents[0].role == "user"
    if system is not None:
        assert parsed.system_instruction.parts[0].text == system


# --- what goes on the wire in a whole lifecycle -----------------------------------------------------------

#: The request message of each JSON body the backend sends, by the end of the path.
MESSAGES = {
    "/tuningJobs": "TuningJob",
    ":cancel": "CancelTuningJobRequest",
    ":generateContent": "GenerateContentRequest",
    ":undeployModel": "UndeployModelRequest",
    ":exportTensorboardTimeSeries": "ExportTensorboardTimeSeriesDataRequest",
}


@pytest.fixture
def captured(client_settings: Any) -> Iterator[tuple[Any, list[httpx.Request]]]:
    """A sync vertex client whose every request is kept."""
    requests: list[httpx.Request] = []
    with (
        httpx.Client(event_hooks={"request": [requests.append]}) as http,
        tuneport.connect(http_client=http, **client_settings()) as client,
    ):
        yield client, requests


def test_every_request_of_a_lifecycle_parses_strictly(captured: tuple[Any, list[httpx.Request]]) -> None:
    client, requests = captured
    job = client.create(
        base_model=BASE,
        training_data=[("1", "2"), ("3", "4"), ("7", "8"), ("9", "10"), ("11", "12")],
        validation_data=[("5", "6")],  # Vertex takes at most 25% of the training bytes
        labels={"team": "ml"},
        epoch_count=2,
        adapter_size=4,
        extras={
            "export_last_checkpoint_only": True,
            "encryption_spec": "projects/p/locations/l/keyRings/r/cryptoKeys/k",
        },
    )
    client.wait(job.id)
    client.generate(job.id, "1", system_instruction="Count.", temperature=0.5, stop_sequences=["x"])
    client.metrics(job.id)
    client.delete(job.id)
    other = client.create(base_model=BASE, training_data=[("1", "2")])
    client.cancel(other.id)
    seen = set()
    for request in requests:
        if request.method != "POST" or "/storage/v1/" in request.url.path:
            continue
        suffix = next(s for s in MESSAGES if request.url.path.endswith(s))
        version = request.url.path.split("/")[1]
        types = (aiplatform_v1 if version == "v1" else aiplatform_v1beta1).types
        parse_strictly(json.loads(request.content), getattr(types, MESSAGES[suffix]))
        seen.add(suffix)
    assert seen == set(MESSAGES)
