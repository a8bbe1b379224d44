"""The guide's Acme backend, in-process: hooks, both clients, plan_create, create_once, the profile.

The example lives in ``docs/examples/acme`` and the guide includes it as it
is; its own tests (the contract kit included) run in ``test_guide_commands``.
"""

from __future__ import annotations

import asyncio
import json
import sys
from collections.abc import Callable
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from packaging.specifiers import SpecifierSet
from packaging.version import Version

import tuneport
import tuneport_contract
from tuneport.errors import PluginError
from tuneport.hookspecs import hookimpl
from tuneport.models import JobSpec
from tuneport.plugins import PluginHost
from tuneport.protocol import HttpRequest, TuningBackend
from tuneport.waiting import ManualClock

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on 3.10 only
    import tomli as tomllib

ROOT = Path(__file__).resolve().parents[2]
GUIDE_EXAMPLES = ROOT / "docs" / "examples"


@pytest.fixture
def host(acme: SimpleNamespace) -> PluginHost:
    plugin_host = PluginHost(entry_points=lambda: [], environ={})
    plugin_host.register_plugin(acme.plugin, name="acme", distribution="tuneport-acme", version="0.1.0")
    return plugin_host


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
def service(acme: SimpleNamespace, clock: ManualClock) -> Any:
    return acme.fake.FakeAcme(clock=clock)


def test_the_backend_registers_through_the_hook(acme: SimpleNamespace, host: PluginHost) -> None:
    entry = host.backend("acme")
    assert entry.backend_class is acme.package.AcmeBackend
    assert (entry.plugin, entry.distribution) == ("acme", "tuneport-acme")
    backend = entry.backend_class(entry.backend_class.settings_model(api_key="k"))
    assert isinstance(backend, TuningBackend)
    assert host.failures() == []


def test_the_catalog_registers_through_the_hook(host: PluginHost) -> None:
    host.backend("acme")
    catalog = host.catalog()
    assert [entry.base_model for entry in catalog.models("acme")] == ["acme-small-1", "acme-small-2"]
    current = catalog.get("acme", "acme-small")  # by its alias
    assert current is not None
    assert current.base_model == "acme-small-2"
    assert current.tunable
    assert set(current.hyperparameters) == {"epoch_count", "learning_rate"}
    assert current.limits.min_examples == 10
    retired = catalog.get("acme", "acme-small-1")
    assert retired is not None
    assert not retired.tunable
    assert catalog.policy("acme") == "refuse"
    assert "tuneport_acme/catalog.toml" in catalog.policy_notes["acme"]


def test_the_sync_client(acme: SimpleNamespace, host: PluginHost, service: Any, clock: ManualClock) -> None:
    pairs = acme.fake.PAIRS
    with tuneport.connect(
        backend="acme",
        plugins=host,
        environ={"ACME_API_KEY": acme.fake.KEY},
        transport=service.transport(),
        clock=clock,
    ) as client:
        job = client.create(base_model="acme-small-2", training_data=pairs, epoch_count=2, display_name="d")
        assert (job.state, job.display_name) == (tuneport.JobState.PENDING, "d")
        assert job.create_time is not None
        assert job.create_time.tzinfo is not None
        with pytest.raises(tuneport.JobNotReady):
            client.generate(job.id, "4")
        done = client.wait(job.id)
        assert (done.state, done.progress, done.tuned_model) == (
            tuneport.JobState.SUCCEEDED,
            1.0,
            "tuned/job-1",
        )
        assert client.generate(job.id, "4").text == "5"
        assert [p.epoch for p in client.metrics(job.id).series["train_loss"]] == [1, 2]
        assert [j.id for j in client.list(page_size=1)] == [job.id]
        client.delete(job.id)
        with pytest.raises(tuneport.NotFoundError):
            client.get(job.id)
    assert clock.sleeps == [5.0, 2.0, 2.0]  # one poll of wait(), two of the delete operation


def test_the_async_client(acme: SimpleNamespace, host: PluginHost, service: Any, clock: ManualClock) -> None:
    async def main() -> list[str]:
        async with tuneport.connect_async(
            backend="acme",
            plugins=host,
            api_key=acme.fake.KEY,
            environ={},
            transport=service.transport(),
            clock=clock,
        ) as client:
            job = await client.create(base_model="acme-small", training_data=acme.fake.PAIRS, epoch_count=1)
            job = await client.wait(job.id)
            answer = await client.generate(job.id, "8")
            await client.delete(job.id)
            return [job.state.value, job.base_model or "", answer.text]

    assert asyncio.run(main()) == ["SUCCEEDED", "acme-small-2", "9"]
    assert clock.sleeps == [5.0, 2.0, 2.0]


def test_plan_create_is_what_create_sends(
    acme: SimpleNamespace, host: PluginHost, service: Any, clock: ManualClock
) -> None:
    fields = {"base_model": "acme-small-2", "training_data": acme.fake.PAIRS, "learning_rate": 0.002}
    report = tuneport.validate(fields, backend="acme", plugins=host, environ={})
    assert report.ok, report.findings
    assert report.plan is not None
    [planned] = report.plan
    with tuneport.connect(
        backend="acme",
        plugins=host,
        api_key=acme.fake.KEY,
        environ={},
        transport=service.transport(),
        clock=clock,
    ) as client:
        client.create(**fields)
    [sent] = service.requests
    body = json.loads(sent.content)
    assert planned["json"]["requestId"] == "<request id>"
    assert len(body.pop("requestId")) == 32
    assert {k: v for k, v in planned["json"].items() if k != "requestId"} == body
    assert (planned["method"], planned["url"]) == (sent.method, str(sent.url))


def test_plan_create_builds_the_request_without_sending(acme: SimpleNamespace) -> None:
    backend = acme.package.AcmeBackend(acme.package.AcmeSettings(endpoint="https://acme.test/"))
    spec = JobSpec(base_model="acme-small-2", training_data=[("q", "a")])
    [planned] = backend.plan_create(spec)
    assert isinstance(planned, HttpRequest)
    assert planned.url == "https://acme.test/v1/jobs"
    assert planned.idempotent is False
    assert planned.json["examples"] == [{"text_input": "q", "output": "a"}]


def test_create_once_never_duplicates(
    acme: SimpleNamespace, host: PluginHost, service: Any, clock: ManualClock
) -> None:
    service.lose_create_replies = 1  # the job is made, the reply is a 503
    with tuneport.connect(
        backend="acme",
        plugins=host,
        api_key=acme.fake.KEY,
        environ={},
        transport=service.transport(),
        clock=clock,
    ) as client:
        job = client.create(base_model="acme-small-2", training_data=acme.fake.PAIRS)
    assert list(service.jobs) == [job.id]
    # The retry policy did not re-send the POST; create_once looked the job up instead.
    assert [request.method for request in service.requests] == ["POST", "GET"]


def test_the_profile_of_the_guide(acme: SimpleNamespace, host: PluginHost, service: Any) -> None:
    config = GUIDE_EXAMPLES / "guide" / "tuneport.toml"
    with tuneport.connect(
        config=config,
        plugins=host,
        environ={"ACME_API_KEY": acme.fake.KEY},
        transport=service.transport(),
        clock=ManualClock(),
    ) as client:
        assert client.backend.name == "acme"
        job = client.create(training_data=acme.fake.PAIRS)
    assert job.base_model == "acme-small-2"
    assert json.loads(service.requests[0].content)["epochs"] == 3
    assert str(service.requests[0].url).startswith("https://tune.acme.example/v1/")


def test_hooks_evolve_by_adding_arguments(acme: SimpleNamespace) -> None:
    """What the guide promises: an implementation naming fewer arguments than the spec still works."""
    seen: list[str] = []

    class OlderPlugin:
        @hookimpl
        def register_backends(self, register: Callable[[type[Any]], None]) -> None:
            register(acme.package.AcmeBackend)

        @hookimpl
        def register_catalog(self, register: Callable[[Any], None]) -> None:  # no set_policy
            seen.append("register_catalog")

    host = PluginHost(entry_points=lambda: [], environ={})
    host.register_plugin(OlderPlugin(), name="acme")
    assert host.backend("acme").backend_class is acme.package.AcmeBackend
    host.catalog()
    assert seen == ["register_catalog"]
    with pytest.raises(PluginError, match="invalid hook implementation"):  # naming an unknown one is not
        PluginHost(entry_points=lambda: [], environ={}).register_plugin(_TooNew(), name="too-new")


class _TooNew:
    @hookimpl
    def register_backends(self, register: Any, an_argument_tuneport_does_not_have: Any) -> None:
        raise AssertionError("never called")


def test_the_pins_are_tuneports_minor() -> None:
    """The guide pins tuneport and tuneport-contract to the minor version of this tuneport."""
    project = tomllib.loads((GUIDE_EXAMPLES / "acme" / "pyproject.toml").read_text(encoding="utf-8"))[
        "project"
    ]
    version = Version(tuneport.__version__)
    minor = f">={version.major}.{version.minor},<{version.major}.{version.minor + 1}"
    assert project["dependencies"] == [f"tuneport{minor}"]
    assert f"tuneport-contract{minor}" in project["optional-dependencies"]["test"]
    assert version in SpecifierSet(minor)
    assert Version(tuneport_contract.__version__) in SpecifierSet(minor)
    guide = (ROOT / "docs" / "writing-a-backend.md").read_text(encoding="utf-8")
    assert f"`tuneport{minor}`" in guide
    assert f"`{minor}`" in guide
