"""Clients carrying canary credentials, and the job lifecycle the scans drive through them.

Three credential pathways reach the emulator:

* ``gemini-api-key``: the gemini backend with an API key from a config file,
  pointed at the emulator's URL; the key goes in ``x-goog-api-key``;
* ``gemini-adc`` and ``vertex-adc``: the backends configured for (fake)
  Google hosts with Application Default Credentials, so they send
  ``Authorization: Bearer <token>``; the :class:`~canary_wire.WireRecorder`
  transport redirects every host to the emulator.

:class:`Api` makes the sync and the async client look alike, so one
``async`` lifecycle drives both.
"""

from __future__ import annotations

import inspect
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from canary_scan import Canary, Evidence
from canary_wire import WireRecorder, port_of

import tuneport
from tuneport.models import JobState
from tuneport.waiting import ManualClock
from tuneport_emulator import Emulator

SCENARIOS = ("gemini-api-key", "gemini-adc", "vertex-adc")
CLIENT_KINDS = ("sync", "async")
GEMINI_BASE = "models/gemini-1.5-flash-001-tuning"
VERTEX_BASE = "gemini-2.5-flash"
PROJECT = "tuneport-canary"
BUCKET = "tuneport-canary-staging"
PAIRS = [("1", "2"), ("3", "4"), ("IV", "V"), ("twenty two", "twenty three")]


class LinkedClock(ManualClock):
    """A manual client clock whose sleeps also move the emulator's clock (waiting costs no wall time)."""

    def __init__(self, emulator: Emulator) -> None:
        super().__init__()
        self.emulator = emulator

    def sleep(self, seconds: float) -> None:
        super().sleep(seconds)
        self.emulator.advance(max(seconds, 0.0))


#: Gemini profiles that tuneport must refuse, each holding the canary key (``{key}``) somewhere.
BAD_PROFILES = {
    "invalid value next to the key": 'api_key = "{key}"\ntimeout = "slow"\n',
    "unknown setting next to the key": 'api_key = "{key}"\ntmeout = 3\n',
    "key in the endpoint's query": 'endpoint = "https://gemini.canary.example/?key={key}"\n',
    "key as the endpoint's password": 'endpoint = "https://user:{key}@gemini.canary.example"\n',
    "key under a misspelt name": 'apikey = "{key}"\n',
    "key of the wrong type": 'api_key = ["{key}"]\n',
    "key in another setting of the wrong type": 'quota_project = ["{key}"]\n',
    "unterminated key string": 'api_key = "{key}\n',
}


def bad_config_file(directory: Path, canary: Canary, problem: str) -> Path:
    """A ``tuneport.toml`` whose profile ``canary`` has the *problem* of :data:`BAD_PROFILES`."""
    body = BAD_PROFILES[problem].format(key=canary.api_key)
    return write_private(directory / "tuneport.toml", f'[profiles.canary]\nbackend = "gemini"\n{body}')


def write_private(path: Path, text: str) -> Path:
    """Write a file only its owner can read (so no permission warning muddies a scan)."""
    path.write_text(text, encoding="utf-8")
    path.chmod(0o600)
    return path


@dataclass(frozen=True)
class Scenario:
    """One credential pathway: how to configure a client, and which credential it must send."""

    name: str

    @property
    def backend(self) -> str:
        return self.name.split("-", 1)[0]

    @property
    def uses_api_key(self) -> bool:
        return self.name == "gemini-api-key"

    def config_file(self, directory: Path, canary: Canary, endpoint: str) -> Path:
        """A ``tuneport.toml`` with one profile, ``canary``, for this pathway and *endpoint*."""
        profile = {"backend": self.backend, "endpoint": endpoint}
        catalog = ""
        if self.name == "gemini-api-key":
            profile["api_key"] = canary.api_key
        elif self.name == "gemini-adc":
            profile["auth"] = "adc"
            # A real host is no emulator: the catalog must be told that the retired model tunes.
            catalog = f'[catalog.gemini."{GEMINI_BASE}"]\ntunable = true\n'
        else:
            profile.update(project=PROJECT, staging_bucket=f"gs://{BUCKET}")
        settings = "".join(f'{key} = "{value}"\n' for key, value in profile.items())
        if self.uses_api_key:
            settings += "emulator = true\n"  # declared: the retired model tunes there, the key is still sent
        return write_private(directory / "tuneport.toml", f"[profiles.canary]\n{settings}\n{catalog}")

    def endpoint(self, emulator: Emulator) -> str:
        """The emulator itself for an API key; a Google-like host (redirected) for OAuth."""
        if self.uses_api_key:
            return emulator.url
        host = "generativelanguage" if self.backend == "gemini" else "us-central1-aiplatform"
        return f"https://{host}.canary.example"

    def expected_credential(self, canary: Canary) -> tuple[str, str]:
        if self.uses_api_key:
            return "x-goog-api-key", canary.api_key
        return "authorization", f"Bearer {canary.access_token}"

    def training_file(self, directory: Path) -> str:
        """The tuning pairs as a JSONL file in the backend's own format."""
        lines: list[dict[str, Any]]
        if self.backend == "gemini":
            lines = [{"text_input": q, "output": a} for q, a in PAIRS]
        else:
            lines = [
                {
                    "contents": [
                        {"role": "user", "parts": [{"text": q}]},
                        {"role": "model", "parts": [{"text": a}]},
                    ]
                }
                for q, a in PAIRS
            ]
        path = directory / f"train-{self.backend}.jsonl"
        path.write_text("".join(json.dumps(line) + "\n" for line in lines), encoding="utf-8")
        return str(path)

    @property
    def base_model(self) -> str:
        return GEMINI_BASE if self.backend == "gemini" else VERTEX_BASE


def connect(kind: str, config: Path, recorder: WireRecorder, clock: ManualClock) -> Any:
    """A sync or async client on the ``canary`` profile of *config*, through *recorder*."""
    options: dict[str, Any] = {"config": config, "environ": {}, "clock": clock}
    if kind == "sync":
        return tuneport.connect("canary", transport=recorder.sync(), **options)
    return tuneport.connect_async("canary", transport=recorder.asynchronous(), **options)


def open_client(
    scenario: Scenario, kind: str, canary: Canary, emulator: Emulator, directory: Path
) -> tuple[Api, WireRecorder]:
    """A client of *kind* for *scenario*, its requests recorded and sent to *emulator*."""
    recorder = WireRecorder(redirect_port=port_of(emulator.url))
    config = scenario.config_file(directory, canary, scenario.endpoint(emulator))
    return Api(connect(kind, config, recorder, LinkedClock(emulator))), recorder


class Api:
    """The same call on a sync or an async client (awaited when the client is async)."""

    def __init__(self, client: Any) -> None:
        self.client = client

    async def __call__(self, method: str, *args: Any, **kwargs: Any) -> Any:
        result = getattr(self.client, method)(*args, **kwargs)
        return await result if inspect.isawaitable(result) else result

    async def list_all(self) -> list[Any]:
        jobs = self.client.list()
        if hasattr(jobs, "__aiter__"):
            return [job async for job in jobs]
        return list(jobs)

    async def create_job(self, scenario: Scenario, directory: Path) -> Any:
        """A job on the scenario's base model, from a training file."""
        return await self(
            "create", base_model=scenario.base_model, training_data=scenario.training_file(directory)
        )

    async def close(self) -> None:
        await self("aclose" if hasattr(self.client, "aclose") else "close")


async def run_lifecycle(api: Api, scenario: Scenario, directory: Path, evidence: Evidence) -> None:
    """create → get → wait → metrics → generate → list → cancel → delete, gathering every result."""
    job = await api.create_job(scenario, directory)
    evidence.add_object("created job", job)
    evidence.add_object("got job", await api("get", job.id))
    done = await api("wait", job.id, poll=30.0)
    assert done.state is JobState.SUCCEEDED
    evidence.add_object("waited job", done)
    evidence.add_object("metrics", await api("metrics", job.id))
    generation = await api("generate", job.id, PAIRS[0][0])
    assert generation.text == PAIRS[0][1]
    evidence.add_object("generation", generation)
    listed = await api.list_all()
    assert job.id in {listed_job.id for listed_job in listed}
    evidence.add_object("listed jobs", listed)
    second = await api.create_job(scenario, directory)
    evidence.add_object("cancelled job", await api("cancel", second.id))
    for job_id in (job.id, second.id):
        await api("delete", job_id)
