"""Routing: every request goes to the host of the location in the resource's own name."""

from __future__ import annotations

import json
from collections.abc import Callable, Generator
from typing import Any

import pytest
from pydantic import ValidationError

from tuneport.errors import SpecError
from tuneport.models import GenerateRequest
from tuneport.protocol import HttpRequest, HttpResponse
from tuneport_vertex import VertexBackend, VertexSettings
from tuneport_vertex.routing import HOST_HEADER, Router, host_of, location_of

JOB = "projects/123/locations/global/tuningJobs/5"
US_ENDPOINT = "projects/123/locations/us/endpoints/9"
REGION_MODEL = "projects/123/locations/us-central1/models/77@1"
PROMPT = GenerateRequest(contents="hi")


@pytest.mark.parametrize(
    ("location", "host"),
    [
        ("us-central1", "https://us-central1-aiplatform.googleapis.com"),
        ("europe-west4", "https://europe-west4-aiplatform.googleapis.com"),
        ("northamerica-northeast2", "https://northamerica-northeast2-aiplatform.googleapis.com"),
        ("us", "https://aiplatform.us.rep.googleapis.com"),
        ("eu", "https://aiplatform.eu.rep.googleapis.com"),
        ("global", "https://aiplatform.googleapis.com"),
    ],
)
def test_every_kind_of_location_has_its_host(location: str, host: str) -> None:
    assert host_of(location) == host
    assert Router().address(f"projects/p/locations/{location}/endpoints/1:generateContent", "v1").url == (
        f"{host}/v1/projects/p/locations/{location}/endpoints/1:generateContent"
    )


@pytest.mark.parametrize("location", ["asia", "US", "us-central", "central1", "", "global-1", "eu/x"])
def test_what_is_no_location_is_refused(location: str) -> None:
    with pytest.raises(SpecError) as caught:
        host_of(location)
    assert caught.value.problems[0].field == "location"


@pytest.mark.parametrize(
    "name",
    [
        "tuningJobs/5",
        "projects/123/tuningJobs/5",
        "projects/123/locations//endpoints/9",
        "projects/123/locations/asia/endpoints/9",
        "projects/1 2/locations/us/endpoints/9",
        "https://evil.example/projects/1/locations/us/endpoints/9",
        "projects/123/locations/us?x=1",
    ],
)
def test_a_name_without_a_location_is_refused(name: str) -> None:
    with pytest.raises(SpecError) as caught:
        location_of(name)
    assert caught.value.problems[0].rule in {"bad-id", "bad-location"}


def test_the_location_comes_from_the_name_and_its_verb_or_sub_path_is_kept() -> None:
    assert location_of("projects/1/locations/eu/endpoints/2:undeployModel") == "eu"
    assert location_of("projects/1/locations/us-east5/tensorboards/3/experiments/x/runs") == "us-east5"
    assert location_of("projects/1/locations/us-central1/models/77@2:deleteVersion") == "us-central1"


def test_an_endpoint_map_wins_for_its_location_and_endpoint_pins_the_others() -> None:
    router = Router(endpoint="https://psc.example", endpoints={"us": "https://us-psc.example"})
    assert router.base("us").url == "https://us-psc.example"
    assert router.base("us-central1").url == "https://psc.example"
    assert router.base("us").headers == {}
    assert Router(endpoints={"eu": "https://eu-psc.example"}).base("us").url == host_of("us")


def test_a_declared_emulator_is_told_the_google_host() -> None:
    router = Router(endpoint="http://127.0.0.1:9", emulator=True)
    address = router.address(US_ENDPOINT, "v1")
    assert address.url == f"http://127.0.0.1:9/v1/{US_ENDPOINT}"
    assert address.headers == {HOST_HEADER: "aiplatform.us.rep.googleapis.com"}
    mapped = Router(endpoint="http://127.0.0.1:9", endpoints={"us": "https://us-psc.example"}, emulator=True)
    assert mapped.base("us").url == "http://127.0.0.1:9"  # a declared emulator takes every call


def test_settings_refuse_what_is_no_location_and_check_the_endpoint_map() -> None:
    with pytest.raises(ValidationError, match="location"):
        VertexSettings(location="asia")
    with pytest.raises(ValidationError, match="not a Vertex location"):
        VertexSettings(endpoints={"moon": "https://x.example"})
    with pytest.raises(ValidationError, match="query string"):
        VertexSettings(endpoints={"us": "https://x.example?key=1"})
    assert VertexSettings(endpoints={"us": "https://x.example/"}).endpoints == {"us": "https://x.example"}


# --- the backend: each request of a flow, and where it goes ------------------------------------


def reply(value: dict[str, Any]) -> HttpResponse:
    return HttpResponse(200, {"content-type": "application/json"}, json.dumps(value).encode())


def run(flow: Generator[Any, Any, Any], answer: Callable[[HttpRequest], HttpResponse]) -> list[HttpRequest]:
    """Drive *flow* against *answer*; the requests it sent."""
    sent: list[HttpRequest] = []
    effect = next(flow)
    while True:
        if isinstance(effect, HttpRequest):
            sent.append(effect)
            response: Any = answer(effect)
        else:
            response = None  # a sleep or a call: nothing to answer
        try:
            effect = flow.send(response)
        except StopIteration:
            return sent


def global_job(_: HttpRequest) -> HttpResponse:
    """A ``global`` job whose model and endpoints live in real locations (as Vertex names them)."""
    return reply(
        {
            "name": JOB,
            "state": "JOB_STATE_SUCCEEDED",
            "baseModel": "qwen/qwen3-5@qwen3.5-9b",
            "supervisedTuningSpec": {},
            "experiment": "projects/123/locations/us-central1/metadataStores/default/contexts/x",
            "tunedModel": {"model": REGION_MODEL, "endpoint": US_ENDPOINT},
        }
    )


def answer_all(request: HttpRequest) -> HttpResponse:
    if "/tuningJobs/" in request.url:
        return global_job(request)
    if request.url.endswith(":generateContent"):
        return reply({"candidates": [{"content": {"parts": [{"text": "hi"}]}}]})
    return reply({"done": True})  # models.get, a finished operation, an empty endpoint…


def backend(**settings: Any) -> VertexBackend:
    return VertexBackend(VertexSettings(project="my-project", location="global", **settings))


def test_generate_goes_to_the_endpoints_own_host() -> None:
    sent = run(backend().generate(JOB, PROMPT), answer_all)
    assert [r.url.split("/v1")[0] for r in sent] == [
        "https://aiplatform.googleapis.com",  # the job, in global
        "https://aiplatform.us.rep.googleapis.com",  # its endpoint, in us
    ]


def test_delete_goes_to_each_resources_own_host() -> None:
    sent = run(backend().delete(JOB), answer_all)
    hosts = {r.url.split("/v1")[0] for r in sent if "/tuningJobs/" not in r.url}
    assert hosts == {
        "https://aiplatform.us.rep.googleapis.com",
        "https://us-central1-aiplatform.googleapis.com",
    }
    for r in sent:
        name = r.url.split("/", 4)[4]  # after https://host/version/
        assert r.url.startswith(host_of(location_of(name))), r.url


def test_metrics_follow_the_experiments_location() -> None:
    sent = run(backend().metrics(JOB), answer_all)
    assert sent[-1].url.startswith(
        "https://us-central1-aiplatform.googleapis.com/v1/projects/123/locations/us-central1/"
    )


def test_a_bad_endpoint_name_sends_nothing() -> None:
    flow = backend().generate("projects/123/locations/moon/endpoints/9", PROMPT)
    with pytest.raises(SpecError):
        next(flow)


def test_with_a_declared_emulator_every_request_carries_its_google_host() -> None:
    sent = run(backend(endpoint="http://127.0.0.1:9", emulator=True).delete(JOB), answer_all)
    assert all(r.url.startswith("http://127.0.0.1:9/") for r in sent)
    assert {r.headers[HOST_HEADER] for r in sent} == {
        "aiplatform.googleapis.com",
        "aiplatform.us.rep.googleapis.com",
        "us-central1-aiplatform.googleapis.com",
    }
