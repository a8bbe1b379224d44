"""A continued job's tuned model is a new version of its source's model: delete removes that version only.

"For continuous tuning, tuned_model_display_name will by default use the same
display name as the pre-tuned model. If a new display name is provided, the
tuning job will create a new model instead of a new version" (TuningJob,
aiplatform discovery).  So Google's DPO recipe leaves the SFT job's model as
``models/77@1`` and the preference job's as ``models/77@2``: deleting the
preference job must not delete the SFT job's model, and reading the SFT job
afterwards must not call it deleted.  The service is scripted here (the
emulator makes a new model for each continued job).
"""

from __future__ import annotations

import json
from collections.abc import Generator
from typing import Any

import pytest

from tuneport.errors import NotFoundError
from tuneport.protocol import Effect, HttpRequest, HttpResponse, Sleep
from tuneport_vertex import VertexBackend, VertexSettings

PARENT = "projects/my-project/locations/us-central1"
MODEL = f"{PARENT}/models/77"


def reply(status: int, value: dict[str, Any]) -> HttpResponse:
    return HttpResponse(status, {"content-type": "application/json"}, json.dumps(value).encode())


class Vertex:
    """Two jobs, one model with two versions (the SFT job's @1, the continued job's @2)."""

    def __init__(self) -> None:
        self.versions = {"1": {"defaultCheckpointId": "1"}, "2": {"defaultCheckpointId": "2"}}
        self.sent: list[tuple[str, str]] = []

    def job(self, job_id: str) -> dict[str, Any]:
        version = {"1": "1", "2": "2"}[job_id]
        return {
            "name": f"{PARENT}/tuningJobs/{job_id}",
            "state": "JOB_STATE_SUCCEEDED",
            "baseModel": "gemini-2.5-flash",
            "supervisedTuningSpec": {},
            "tunedModel": {
                "model": f"{MODEL}@{version}",
                "checkpoints": [{"checkpointId": "1"}, {"checkpointId": "2"}],
            },
        }

    def __call__(self, request: HttpRequest) -> HttpResponse:
        path = request.url.split("127.0.0.1:1/", 1)[1].split("/", 1)[1]
        self.sent.append((request.method, path))
        if request.method == "GET" and path.startswith(f"{PARENT}/tuningJobs/"):
            return reply(200, self.job(path.rsplit("/", 1)[1]))
        if request.method == "GET" and path == f"{PARENT}/tuningJobs":
            return reply(200, {"tuningJobs": [self.job("1"), self.job("2")]})
        if request.method == "GET" and path == f"{MODEL}:listVersions":
            versions = [{"name": MODEL, "versionId": v, **fields} for v, fields in self.versions.items()]
            return reply(200, {"models": versions})
        if request.method == "GET" and path.startswith(f"{MODEL}@"):
            version = path.rsplit("@", 1)[1]
            if version not in self.versions:
                return reply(404, {"error": {"code": 404, "status": "NOT_FOUND", "message": "gone"}})
            return reply(200, {"name": MODEL, "versionId": version, **self.versions[version]})
        if request.method == "GET" and path == f"{PARENT}/models":
            default = min(self.versions)  # models.list shows each model once, at its default version
            return reply(200, {"models": [{"name": MODEL, "versionId": default, **self.versions[default]}]})
        if request.method == "DELETE" and path.startswith(f"{MODEL}@") and path.endswith(":deleteVersion"):
            self.versions.pop(path.split("@", 1)[1].removesuffix(":deleteVersion"))
            return reply(200, {"name": f"{PARENT}/operations/1", "done": True})
        raise AssertionError(f"unexpected request {request.method} {path}")


def drive(flow: Generator[Effect, Any, Any], service: Vertex) -> Any:
    """Run *flow* as the drivers do (an unexpected 4xx is thrown back in as NotFoundError)."""
    effect = next(flow)
    while True:
        result: Any = None
        if isinstance(effect, HttpRequest):
            result = service(effect)
            if result.status_code >= 400 and result.status_code not in effect.expected:
                try:
                    effect = flow.throw(NotFoundError("404 NOT_FOUND", status_code=404))
                except StopIteration as stop:
                    return stop.value
                continue
        else:
            assert isinstance(effect, Sleep), effect
        try:
            effect = flow.send(result)
        except StopIteration as stop:
            return stop.value


def backend() -> VertexBackend:
    return VertexBackend(VertexSettings(project="my-project", endpoint="http://127.0.0.1:1"))


def test_deleting_a_continued_job_deletes_its_version_not_the_sources_model() -> None:
    vertex = Vertex()
    assert drive(backend().delete("2"), vertex) is True
    assert ("DELETE", f"{MODEL}@2:deleteVersion") in vertex.sent
    assert ("DELETE", MODEL) not in vertex.sent
    assert set(vertex.versions) == {"1"}
    sft = drive(backend().get("1"), vertex)  # the SFT job's model is still there
    assert sft.tuned_model == f"{MODEL}@1"
    assert sft.default_checkpoint.id == "1"  # its version's defaultCheckpointId
    with pytest.raises(NotFoundError, match="was deleted"):
        drive(backend().get("2"), vertex)


def test_list_reads_each_jobs_own_version() -> None:
    vertex = Vertex()
    page = drive(backend().list(page_size=None, page_token=None, filter=None), vertex)
    sft, continued = page.items
    assert sft.default_checkpoint.id == "1"  # version 1 is the one models.list shows
    assert continued.default_checkpoint.id == "2"  # its own version's (read), not version 1's
    drive(backend().delete("2"), vertex)
    assert [
        job.id for job in drive(backend().list(page_size=None, page_token=None, filter=None), vertex).items
    ] == ["1"]  # the deleted version's job is gone from the list, the model's other version stays
