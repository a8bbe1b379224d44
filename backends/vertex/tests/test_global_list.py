"""A ``global`` job's tuned model lives in a real region: ``list`` finds it there, not "deleted".

Vertex lists a model under the location in its name; a ``global`` open-model
job names a model in ``us-central1``.  The service is scripted here (the
emulator lists such a model under ``global`` as well, which hides the case).
"""

from __future__ import annotations

import json
from typing import Any

from tuneport.models import Page, TuningJob
from tuneport.protocol import HttpRequest, HttpResponse
from tuneport_vertex import VertexBackend, VertexSettings

REGION_MODEL = "projects/123456789/locations/us-central1/models/77"


def reply(value: dict[str, Any]) -> HttpResponse:
    return HttpResponse(200, {"content-type": "application/json"}, json.dumps(value).encode())


def service(request: HttpRequest) -> HttpResponse:
    """Vertex: the job is listed under global; its model only under us-central1."""
    path = request.url.split("/v1beta1/", 1)[-1].split("/v1/", 1)[-1]
    if path == "projects/my-project/locations/global/tuningJobs":
        job = {
            "name": "projects/123456789/locations/global/tuningJobs/5",
            "state": "JOB_STATE_SUCCEEDED",
            "baseModel": "qwen/qwen3-5@qwen3.5-9b",
            "supervisedTuningSpec": {},
            "tunedModel": {
                "model": f"{REGION_MODEL}@1",
                "checkpoints": [{"checkpointId": "1"}, {"checkpointId": "2"}],
            },
        }
        return reply({"tuningJobs": [job]})
    if path == "projects/my-project/locations/us-central1/models":
        return reply({"models": [{"name": REGION_MODEL, "defaultCheckpointId": "1"}]})
    if path == "projects/my-project/locations/global/models":
        return reply({})
    raise AssertionError(f"unexpected request {request.method} {request.url}")


def test_a_global_jobs_model_is_looked_up_in_its_region() -> None:
    backend = VertexBackend(
        VertexSettings(project="my-project", location="global", endpoint="http://127.0.0.1:1")
    )
    flow = backend.list(page_size=None, page_token=None, filter=None)
    sent: list[str] = []
    effect = next(flow)
    while True:
        assert isinstance(effect, HttpRequest)
        sent.append(effect.url)
        try:
            effect = flow.send(service(effect))
        except StopIteration as stop:
            page = stop.value
            break
    assert isinstance(page, Page)
    (job,) = page.items
    assert isinstance(job, TuningJob)
    assert job.id == "5"
    assert [c.is_default for c in job.checkpoints] == [True, False]  # the model's defaultCheckpointId
    assert any("/locations/us-central1/models" in url for url in sent)
