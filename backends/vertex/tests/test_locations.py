"""Location x model x method is checked before any request, naming the location and the allowed ones (#17)."""

from __future__ import annotations

import warnings
from collections.abc import Iterator

import httpx
import pytest

import tuneport
from tuneport.errors import SpecError, UnsupportedParameter
from tuneport_vertex import VertexBackend, VertexSettings

OPEN_MODEL = "qwen/qwen3-5@qwen3.5-9b"
TRAIN = "gs://bucket-b/train.jsonl"
PROMPTS = "gs://bucket-b/prompts.jsonl"


@pytest.fixture
def sent() -> list[httpx.Request]:
    return []


@pytest.fixture
def connect(sent: list[httpx.Request]) -> Iterator[object]:
    """``connect(location)``: a vertex client whose transport records every request (none expected)."""

    def record(request: httpx.Request) -> httpx.Response:
        sent.append(request)
        return httpx.Response(500)

    clients: list[tuneport.TuningClient] = []

    def make(location: str) -> tuneport.TuningClient:
        client = tuneport.connect(
            backend="vertex",
            project="my-project",
            location=location,
            endpoint="http://127.0.0.1:9",
            emulator=True,
            environ={},
            transport=httpx.MockTransport(record),
        )
        clients.append(client)
        return client

    yield make
    for client in clients:
        client.close()


#: What the pre-flight raises: the catalog's regions (a parameter), the backend's own rules (the spec).
REFUSED = (SpecError, UnsupportedParameter)


def test_gemini_is_not_tuned_on_global(connect, sent: list[httpx.Request]) -> None:  # type: ignore[no-untyped-def]
    client = connect("global")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with pytest.raises(REFUSED) as caught:
            client.create(base_model="gemini-2.5-flash", training_data=TRAIN)
    message = str(caught.value)
    assert "location" in message
    assert "'global'" in message
    assert sent == []
    # Whatever the catalog lists (3.5 Flash publishes no regions), the backend refuses Gemini on global.
    backend = VertexBackend(VertexSettings(project="my-project", location="global"))
    with pytest.raises(SpecError) as refused:
        backend.plan_create(tuneport.JobSpec(base_model="gemini-3.5-flash", training_data=TRAIN))
    (problem,) = refused.value.problems
    assert (problem.field, problem.rule) == ("location", "location-not-supported")
    assert "only open models on 'global'" in problem.message


def test_a_method_outside_its_regions_names_the_location_and_the_allowed_ones(  # type: ignore[no-untyped-def]
    connect, sent: list[httpx.Request]
) -> None:
    client = connect("eu")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with pytest.raises(REFUSED) as caught:
            client.create(
                method="distillation",
                base_model="gemini-2.5-flash",
                teacher_model="gemini-3.1-pro",
                training_data=PROMPTS,
            )
    message = str(caught.value)
    assert "location" in message
    assert "'eu'" in message
    assert "(regions: us-central1)" in message
    assert sent == []


def test_an_open_model_tunes_on_global_and_in_a_multi_region_gemini_does() -> None:
    open_job = tuneport.JobSpec(base_model=OPEN_MODEL, training_data=TRAIN, output_uri="gs://bucket-b/out")
    (request,) = VertexBackend(VertexSettings(project="my-project", location="global")).plan_create(open_job)
    assert request.url.startswith("https://aiplatform.googleapis.com/")
    gemini = tuneport.JobSpec(base_model="gemini-2.5-flash", training_data=TRAIN)
    (request,) = VertexBackend(VertexSettings(project="my-project", location="eu")).plan_create(gemini)
    assert request.url.startswith(
        "https://aiplatform.eu.rep.googleapis.com/v1/projects/my-project/locations/eu/"
    )
