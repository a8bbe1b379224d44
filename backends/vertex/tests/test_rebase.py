"""``client.rebase`` on vertex: ``tuningJobs:rebaseTunedModel`` in the discovery shape, on the emulator (#17).

The source job is made with plain HTTP on a base model that has retired
(the client would refuse to tune it today), as a job tuned long ago.  The
request body is checked against google-cloud-aiplatform 2.7.0's
``RebaseTunedModelRequest`` proto (strictly: an unknown field fails), and a
rebase the catalog refuses sends nothing.
"""

from __future__ import annotations

import inspect
import json
import warnings
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from tuneport.errors import SpecError, TuneportError
from tuneport.models import JobState
from tuneport_emulator import Emulator

with warnings.catch_warnings():
    warnings.simplefilter("ignore")  # api_core's Python-version FutureWarning
    from google.cloud import aiplatform_v1

from google.protobuf import json_format

PAIRS = [("1", "2"), ("3", "4"), ("IV", "V")]
OLD_BASE = "gemini-2.0-flash-001"
BUCKET = "tuneport-staging"
PARENT = "projects/tuneport-test/locations/us-central1"


@pytest.fixture
def old_job(emulator: Emulator, http: httpx.Client) -> Callable[..., dict[str, Any]]:
    """Make a succeeded job on a retired base with plain HTTP; its TuningJob."""

    def make(base: str = OLD_BASE, **hyper: Any) -> dict[str, Any]:
        lines = [
            {
                "contents": [
                    {"role": "user", "parts": [{"text": q}]},
                    {"role": "model", "parts": [{"text": a}]},
                ]
            }
            for q, a in PAIRS
        ]
        emulator.put_storage_object(
            BUCKET, "old/train.jsonl", "\n".join(json.dumps(x) for x in lines).encode()
        )
        spec: dict[str, Any] = {"trainingDatasetUri": f"gs://{BUCKET}/old/train.jsonl"}
        if hyper:
            spec["hyperParameters"] = hyper
        body = {
            "baseModel": base,
            "supervisedTuningSpec": spec,
            "tunedModelDisplayName": "support-bot",
            "labels": {"team": "ml"},
        }
        reply = http.post(f"/v1/{PARENT}/tuningJobs", json=body)
        assert reply.status_code == 200, reply.text
        emulator.advance(3600)
        return http.get(f"/v1/{reply.json()['name']}").json()  # type: ignore[no-any-return]

    return make


def _rebase_requests(emulator: Emulator) -> list[dict[str, Any]]:
    return [e for e in emulator.requests() if str(e["path"]).endswith(":rebaseTunedModel")]


def _creates(emulator: Emulator) -> list[dict[str, Any]]:
    return [
        e for e in emulator.requests() if e["method"] == "POST" and str(e["path"]).endswith("/tuningJobs")
    ]


async def test_rebase_sends_the_discovery_shape_and_returns_the_new_job(
    api: Any, emulator: Emulator, old_job: Callable[..., dict[str, Any]]
) -> None:
    old = old_job(epochCount=3, learningRateMultiplier=1.0)
    job_id = old["name"].rsplit("/", 1)[-1]
    new = await api.rebase(job_id, to="gemini-2.5-flash", epoch_count=4, display_name="support-bot-2.5")

    (sent,) = _rebase_requests(emulator)
    # The job's own location (its name holds the project number, as Vertex writes it).
    assert sent["path"] == f"/v1beta1/{old['name'].split('/tuningJobs/')[0]}/tuningJobs:rebaseTunedModel"
    body = sent["body"]
    request_id = body["tuningJob"]["labels"]["tuneport-request-id"]
    assert body == {
        "tunedModelRef": {"tuningJob": old["name"]},
        "tuningJob": {
            "baseModel": "gemini-2.5-flash",
            "supervisedTuningSpec": {"hyperParameters": {"epochCount": 4}},
            "tunedModelDisplayName": "support-bot-2.5",
            "labels": {"team": "ml", "tuneport-request-id": request_id},
        },
    }
    # Google's own proto of the request takes the body as it is (an unknown field would fail).
    json_format.ParseDict(body, aiplatform_v1.RebaseTunedModelRequest()._pb)
    assert _creates(emulator) == [e for e in _creates(emulator) if e["body"]["baseModel"] == OLD_BASE]

    assert new.base_model == "gemini-2.5-flash"
    assert new.id != job_id
    assert new.display_name == "support-bot-2.5"
    assert new.hyperparameters.epoch_count == 4
    assert new.hyperparameters.learning_rate_multiplier == 1.0  # carried over by the service
    assert new.labels == {"team": "ml"}
    done = await api.wait(new.id)
    assert done.state is JobState.SUCCEEDED
    assert done.tuned_model
    assert done.tuned_model != old["tunedModel"]["model"]


async def test_spec_of_reads_the_job_back(api: Any, old_job: Callable[..., dict[str, Any]]) -> None:
    old = old_job(epochCount=2)
    spec = api.client._run(api.client.backend.spec_of(old["name"]), None, None)  # the optional operation
    if inspect.isawaitable(spec):
        spec = await spec
    assert spec.base_model == OLD_BASE
    assert spec.training_data == f"gs://{BUCKET}/old/train.jsonl"
    assert spec.hyperparameters.epoch_count == 2
    assert (spec.display_name, spec.labels) == ("support-bot", {"team": "ml"})


@pytest.mark.parametrize(
    ("to", "overrides", "field"),
    [
        ("gemini-2.5-flsh", {}, "base_model"),  # did you mean…
        ("gemini-2.5-flash", {"epoch_count": 1000}, "hyperparameters.epoch_count"),  # over the maximum
        ("gemini-2.5-pro", {}, "hyperparameters.adapter_size"),  # 16 does not fit 2.5 Pro
    ],
)
async def test_the_catalog_refuses_before_anything_is_sent(
    api: Any,
    emulator: Emulator,
    old_job: Callable[..., dict[str, Any]],
    to: str,
    overrides: dict[str, Any],
    field: str,
) -> None:
    old = old_job(adapterSize="ADAPTER_SIZE_SIXTEEN")
    with pytest.raises(TuneportError) as refused:
        await api.rebase(old["name"], to=to, **overrides)
    error = refused.value
    named = error.problems[0].field if isinstance(error, SpecError) else getattr(error, "parameter", None)
    assert named == field, error
    assert _rebase_requests(emulator) == []
    assert len(_creates(emulator)) == 1  # the source job's only


async def test_the_migration_recipe_is_sent_only_when_asked_for(
    api: Any, emulator: Emulator, old_job: Callable[..., dict[str, Any]]
) -> None:
    old = old_job("gemini-1.5-flash-002", epochCount=20, learningRateMultiplier=4.0)
    plain = await api.rebase(old["name"], to="gemini-2.5-flash")
    assert plain.hyperparameters.epoch_count == 20  # carried over unchanged
    assert plain.hyperparameters.learning_rate_multiplier == 4.0
    translated = await api.rebase(old["name"], to="gemini-2.5-flash", translate_hyperparameters=True)
    first, second = (e["body"]["tuningJob"] for e in _rebase_requests(emulator))
    assert "supervisedTuningSpec" not in first
    # Short-context data (3 tiny examples): 20 epochs → ceil(10 + 6·10/70) = 11; log2(1 + 4) ≈ 2.3.
    sent = second["supervisedTuningSpec"]["hyperParameters"]
    assert (sent["epochCount"], sent["learningRateMultiplier"]) == (11, 2.3)
    assert translated.hyperparameters.epoch_count == 11
    assert translated.hyperparameters.learning_rate_multiplier == 2.3
