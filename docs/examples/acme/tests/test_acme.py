"""The acme backend through tuneport's clients, on the fake service: no network, no real time."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest
from fake_acme import KEY, PAIRS, FakeAcme

import tuneport
from tuneport.plugins import PluginHost
from tuneport.waiting import ManualClock


def test_create_and_wait(client: tuneport.TuningClient, clock: ManualClock) -> None:
    job = client.create(base_model="acme-small", training_data=PAIRS, epoch_count=3)
    assert job.state is tuneport.JobState.PENDING
    assert job.base_model == "acme-small-2"  # the service resolved its alias
    job = client.wait(job.id)
    assert job.state is tuneport.JobState.SUCCEEDED
    assert clock.sleeps == [5.0, 7.5]  # the default poll schedule, in no real time


def test_generate_waits_for_the_tuned_model(client: tuneport.TuningClient) -> None:
    job = client.create(base_model="acme-small-2", training_data=PAIRS)
    with pytest.raises(tuneport.JobNotReady) as excinfo:
        client.generate(job.id, "7")
    assert excinfo.value.state is tuneport.JobState.PENDING
    client.wait(job.id)
    assert client.generate(job.id, "7").text == "8"
    assert client.metrics(job.id).series["train_loss"][-1].epoch == 5


def test_list_pages_and_filters(client: tuneport.TuningClient) -> None:
    ids = [client.create(base_model="acme-small-2", training_data=PAIRS).id for _ in range(3)]
    assert [job.id for job in client.list(page_size=2)] == ids
    assert list(client.list(filter="state=done")) == []


def test_delete_polls_the_operation(
    client: tuneport.TuningClient, acme: FakeAcme, clock: ManualClock
) -> None:
    job_id = acme.seed(tuneport.JobState.SUCCEEDED)
    client.delete(job_id)
    assert clock.sleeps == [2.0, 2.0]  # the flow's Sleep effects, on the client's clock
    with pytest.raises(tuneport.NotFoundError):
        client.get(job_id)
    client.delete(job_id)  # gone already: not an error


def test_a_lost_reply_does_not_duplicate_the_job(client: tuneport.TuningClient, acme: FakeAcme) -> None:
    acme.lose_create_replies = 1  # the service makes the job, then its reply is lost (503)
    job = client.create(base_model="acme-small-2", training_data=PAIRS)
    assert list(acme.jobs) == [job.id]  # create_once found it: no second job
    assert [r.method for r in acme.requests] == ["POST", "GET"]


def test_refused_before_any_request(client: tuneport.TuningClient, acme: FakeAcme) -> None:
    with pytest.raises(tuneport.UnsupportedCapability):
        client.cancel("job-1")
    with pytest.raises(tuneport.UnsupportedCapability, match="replaced by acme-small-2"):
        client.create(base_model="acme-small-1", training_data=PAIRS)
    with pytest.raises(tuneport.SpecError) as spec_error:
        client.create(base_model="acme-small-2", training_data=PAIRS, epoch_count=50)
    assert spec_error.value.field == "hyperparameters.epoch_count"
    with pytest.raises(tuneport.DatasetError) as dataset_error:
        client.create(base_model="acme-small-2", training_data=PAIRS[:3])
    assert dataset_error.value.first.rule == "too-few-examples"
    assert acme.requests == []  # nothing was sent


def test_settings(host: PluginHost) -> None:
    # The key is asked for by the first request that needs it (connecting looks nothing up).
    with tuneport.connect(backend="acme", plugins=host, environ={}) as client:
        with pytest.raises(tuneport.ConfigError) as no_key:
            client.get("job-1")
    assert no_key.value.key == "api_key"
    with pytest.raises(tuneport.ConfigError) as embedded:
        tuneport.connect(backend="acme", plugins=host, environ={}, api_key=KEY, endpoint="embedded")
    assert embedded.value.key == "endpoint"


def test_validate_plans_the_request(host: PluginHost) -> None:
    report = tuneport.validate(
        {"base_model": "acme-small-2", "training_data": PAIRS, "hyperparameters": {"epoch_count": 3}},
        backend="acme",
        plugins=host,
        environ={},  # planning needs no key: validate() never calls authenticator()
    )
    assert report.ok
    assert report.plan is not None
    [create] = report.plan
    assert create["url"] == "https://tune.acme.example/v1/jobs"
    assert create["json"]["epochs"] == 3
    assert create["json"]["requestId"] == "<request id>"


def test_the_async_client(host: PluginHost, acme: FakeAcme, clock: ManualClock) -> None:
    async def main() -> tuneport.TuningJob:
        async with tuneport.connect_async(
            backend="acme",
            plugins=host,
            environ={"ACME_API_KEY": KEY},
            transport=acme.transport(),
            clock=clock,
        ) as aclient:
            job = await aclient.create(base_model="acme-small-2", training_data=PAIRS, epoch_count=1)
            job = await aclient.wait(job.id)
            await aclient.delete(job.id)
            return job

    assert asyncio.run(main()).state is tuneport.JobState.SUCCEEDED
    assert clock.sleeps == [5.0, 2.0, 2.0]


def test_a_local_file(client: tuneport.TuningClient, acme: FakeAcme, tmp_path: Path) -> None:
    path = tmp_path / "train.jsonl"  # any format tuneport reads; here the Gemini API's pairs
    path.write_text("".join(json.dumps({"text_input": q, "output": a}) + "\n" for q, a in PAIRS))
    job = client.create(base_model="acme-small-2", training_data=path)
    assert acme.jobs[job.id].examples[0] == {"text_input": "0", "output": "1"}
