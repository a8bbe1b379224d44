"""On the emulator: each call reaches the host of the location its resource lives in (#17).

The backend tells a declared emulator the Google host of each request in
``X-Tuneport-Host``; the emulator refuses a resource of another location as
that host does, and logs the host.  A ``global`` open-model job puts its model
and endpoints in us-central1: with every call sent to the profile's host
(``aiplatform.googleapis.com``), generate, delete and metrics were refused.
"""

from __future__ import annotations

import warnings
from typing import Any

import httpx
import pytest

import tuneport
from tuneport.models import JobState
from tuneport_emulator import Emulator
from tuneport_vertex.routing import HOST_HEADER, host_of, location_of

OPEN_MODEL = "qwen/qwen3-5@qwen3.5-9b"
PAIRS = [("1", "2"), ("3", "4"), ("IV", "V"), ("7", "8")]
GLOBAL_HOST = "aiplatform.googleapis.com"
REGION_HOST = "us-central1-aiplatform.googleapis.com"


def logged(emulator: Emulator) -> list[dict[str, Any]]:
    """The Vertex requests the emulator saw (not Cloud Storage)."""
    return [e for e in emulator.requests() if "/locations/" in str(e["path"])]


def assert_each_went_to_its_own_host(entries: list[dict[str, Any]]) -> None:
    for entry in entries:
        name = str(entry["path"]).split("/", 2)[2]  # after /v1/
        assert entry.get("host") == host_of(location_of(name)).removeprefix("https://"), entry["path"]
        assert entry["status"] < 400, entry


@pytest.fixture
def profile(client_settings: Any) -> dict[str, Any]:
    return dict(client_settings(location="global"))


def test_a_global_jobs_regional_resources_are_called_on_their_own_host(
    profile: dict[str, Any], emulator: Emulator, http: httpx.Client
) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        client = tuneport.connect(**profile)
    with client:
        job = client.create(
            base_model=OPEN_MODEL,
            training_data=PAIRS,
            output_uri="gs://tuneport-staging/open-model",
            epoch_count=3,
        )
        done = client.wait(job.id)
        assert done.state is JobState.SUCCEEDED
        assert done.endpoint is not None
        assert location_of(done.endpoint) == "us-central1"
        # The old routing (every call to the profile's host) is refused, as Google refuses it.
        refused = http.get(f"/v1/{done.endpoint}", headers={HOST_HEADER: GLOBAL_HOST})
        assert refused.status_code == 400
        assert "valid location ID is `global`" in refused.text

        emulator.store.clear_requests()
        assert client.generate(job.id, "1").text
        checkpoints = client.checkpoints(job.id)
        assert len(checkpoints) >= 2
        assert client.generate(job.id, "1", checkpoint=checkpoints[0].id).text
        client.set_default_checkpoint(job.id, checkpoints[0].id)
        metrics = client.metrics(job.id)
        assert metrics.series
        assert client.delete(job.id) is True

    entries = logged(emulator)
    assert_each_went_to_its_own_host(entries)
    hosts = {e["host"] for e in entries}
    assert hosts == {GLOBAL_HOST, REGION_HOST}
    regional = [e for e in entries if e["host"] == REGION_HOST]
    assert any(str(e["path"]).endswith(":generateContent") for e in regional)
    assert any(e["method"] == "PATCH" for e in regional)  # the default checkpoint, on the model
    assert any(e["method"] == "DELETE" for e in regional)


US_HOST = "aiplatform.us.rep.googleapis.com"


def test_a_flash_lite_model_served_from_us_is_called_there(
    client_settings: Any, emulator: Emulator, http: httpx.Client
) -> None:
    """Tuned in us-central1, served from the us multi-region: generate, checkpoints, delete go to us."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        client = tuneport.connect(**client_settings())  # location us-central1
    with client:
        job = client.create(base_model="gemini-3.1-flash-lite", training_data=PAIRS, epoch_count=3)
        done = client.wait(job.id)
        assert done.state is JobState.SUCCEEDED
        assert done.endpoint is not None
        assert location_of(done.endpoint) == "us"
        assert done.tuned_model is not None
        assert location_of(done.tuned_model) == "us"
        refused = http.get(f"/v1/{done.endpoint}", headers={HOST_HEADER: REGION_HOST})
        assert refused.status_code == 400
        assert "valid location ID is `us-central1`" in refused.text

        emulator.store.clear_requests()
        assert [listed.id for listed in client.list()] == [job.id]  # its model is found in us
        assert client.generate(job.id, "1").text
        checkpoints = client.checkpoints(job.id)
        assert client.generate(job.id, "1", checkpoint=checkpoints[0].id).text
        client.set_default_checkpoint(job.id, checkpoints[0].id)
        assert client.metrics(job.id).series
        assert client.delete(job.id) is True

    entries = logged(emulator)
    assert_each_went_to_its_own_host(entries)
    assert {e["host"] for e in entries} == {REGION_HOST, US_HOST}
    on_us = [e for e in entries if e["host"] == US_HOST]
    assert any(str(e["path"]).endswith(":generateContent") for e in on_us)
    assert any(e["method"] == "PATCH" for e in on_us)
    assert any(e["method"] == "DELETE" for e in on_us)
