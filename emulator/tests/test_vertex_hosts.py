"""Every location's host on one port: ``X-Tuneport-Host`` names the Google host a request stands for."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
import pytest
from emulator_helpers import assert_error, violated_fields

from tuneport_emulator import Emulator
from tuneport_emulator.hosts import served_location
from tuneport_emulator.vertex.serving import home_of
from tuneport_emulator.wire import ApiError

HEADER = "X-Tuneport-Host"
GLOBAL_HOST = "aiplatform.googleapis.com"
US_HOST = "aiplatform.us.rep.googleapis.com"
REGION_HOST = "us-central1-aiplatform.googleapis.com"


@pytest.mark.parametrize(
    ("host", "location"),
    [
        (GLOBAL_HOST, "global"),
        (US_HOST, "us"),
        ("aiplatform.eu.rep.googleapis.com", "eu"),
        (REGION_HOST, "us-central1"),
        ("europe-west4-aiplatform.googleapis.com", "europe-west4"),
        ("storage.googleapis.com", None),
        ("generativelanguage.googleapis.com", None),
    ],
)
def test_each_host_serves_one_location(host: str, location: str | None) -> None:
    assert served_location(host) == location


@pytest.mark.parametrize(
    "host",
    [
        "eu-aiplatform.googleapis.com",
        "global-aiplatform.googleapis.com",
        "aiplatform.asia.rep.googleapis.com",
    ],
)
def test_a_vertex_host_that_does_not_exist_is_an_invalid_hostname(host: str) -> None:
    with pytest.raises(ApiError, match="Invalid hostname"):
        served_location(host)


def test_the_resources_of_a_job_live_where_google_puts_them() -> None:
    assert (
        home_of("projects/1/locations/global", "qwen/qwen3-5@qwen3.5-9b")
        == "projects/1/locations/us-central1"
    )
    assert home_of("projects/1/locations/us-central1", "gemini-3.1-flash-lite") == "projects/1/locations/us"
    assert home_of("projects/1/locations/europe-west4", "publishers/google/models/gemini-3.1-flash-lite") == (
        "projects/1/locations/eu"
    )
    assert (
        home_of("projects/1/locations/us-central1", "gemini-2.5-flash") == "projects/1/locations/us-central1"
    )


def _open_job(client: httpx.Client, emulator: Emulator, gcs: Callable[..., str]) -> dict[str, Any]:
    """A succeeded ``global`` open-model job (its model and endpoint are in us-central1)."""
    body = {
        "baseModel": "qwen/qwen3-5@qwen3.5-9b",
        "outputUri": "gs://tuneport-test/out/",
        "supervisedTuningSpec": {"trainingDatasetUri": gcs()},
    }
    created = client.post(
        "/v1beta1/projects/p/locations/global/tuningJobs", json=body, headers={HEADER: GLOBAL_HOST}
    )
    assert created.status_code == 200, created.text
    emulator.advance(3600)
    done = client.get(f"/v1beta1/{created.json()['name']}", headers={HEADER: GLOBAL_HOST}).json()
    assert done["state"] == "JOB_STATE_SUCCEEDED"
    return dict(done["tunedModel"])


def test_a_host_refuses_a_resource_of_another_location_as_google_does(
    emulator: Emulator, client: httpx.Client, gcs: Callable[..., str]
) -> None:
    tuned = _open_job(client, emulator, gcs)
    endpoint = tuned["endpoint"]
    assert "/locations/us-central1/" in endpoint
    wrong = client.get(f"/v1/{endpoint}", headers={HEADER: GLOBAL_HOST})
    error = assert_error(wrong, 400, "INVALID_ARGUMENT", contains="The valid location ID is `global`")
    assert violated_fields(error) == ["name"]
    listed = client.get("/v1/projects/p/locations/us-central1/models", headers={HEADER: US_HOST})
    assert violated_fields(assert_error(listed, 400, "INVALID_ARGUMENT", contains="`us`")) == ["parent"]
    # Its own host serves it; so does the emulator's URL without the header (official clients).
    assert client.get(f"/v1/{endpoint}", headers={HEADER: REGION_HOST}).status_code == 200
    assert client.get(f"/v1/{endpoint}").status_code == 200
    hosts = [entry.get("host") for entry in emulator.requests()[-4:]]
    assert hosts == [GLOBAL_HOST, US_HOST, REGION_HOST, None]


def test_an_invalid_hostname_is_refused(client: httpx.Client) -> None:
    response = client.get(
        "/v1/projects/p/locations/eu/tuningJobs", headers={HEADER: "eu-aiplatform.googleapis.com"}
    )
    assert_error(response, 400, "INVALID_ARGUMENT", contains="Invalid hostname: eu-aiplatform.googleapis.com")


def test_the_global_host_serves_publisher_models_of_every_location(client: httpx.Client) -> None:
    path = "/v1/projects/p/locations/us-central1/publishers/google/models/gemini-2.5-flash:generateContent"
    body = {"contents": [{"role": "user", "parts": [{"text": "hi"}]}]}
    on_global = client.post(path, json=body, headers={HEADER: GLOBAL_HOST})
    on_us = client.post(path, json=body, headers={HEADER: US_HOST})
    assert "location ID" not in on_global.text  # whatever the emulator answers, not a host refusal
    assert_error(on_us, 400, "INVALID_ARGUMENT", contains="The valid location ID is `us`")


def test_a_flash_lite_job_in_europe_puts_its_model_and_endpoint_in_eu(
    emulator: Emulator, client: httpx.Client, gcs: Callable[..., str]
) -> None:
    body = {"baseModel": "gemini-3.1-flash-lite", "supervisedTuningSpec": {"trainingDatasetUri": gcs()}}
    created = client.post("/v1/projects/p/locations/europe-west4/tuningJobs", json=body)
    assert created.status_code == 200, created.text
    emulator.advance(3600)
    tuned = client.get(f"/v1/{created.json()['name']}").json()["tunedModel"]
    assert "/locations/eu/endpoints/" in tuned["endpoint"]
    assert "/locations/eu/models/" in tuned["model"]
    eu_host = {HEADER: "aiplatform.eu.rep.googleapis.com"}
    assert client.get(f"/v1/{tuned['endpoint']}", headers=eu_host).status_code == 200
    listed = client.get("/v1/projects/p/locations/eu/models", headers=eu_host).json()
    assert [m["name"] for m in listed["models"]] == [tuned["model"].split("@")[0]]
