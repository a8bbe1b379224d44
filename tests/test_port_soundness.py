"""The port's design, held by construction.

- Flows do no I/O: a dataset is read, converted, hashed and uploaded only
  through ``BlockingCall`` effects, which the async driver runs off the loop;
  credentials are looked up on the first request, off the loop.
- Only typed errors leave a client: an exception a backend lets escape arrives
  as ``BackendError``.
- A backend reads its own service's error bodies (``read_error``); the neutral
  reading serves a plugin whose service answers ``{"detail": …}``.
- The emulator is declared, never guessed: credentials reach a loopback proxy.
"""

from __future__ import annotations

import asyncio
import json
import sys
import threading
from collections.abc import Callable, Generator, Iterator
from pathlib import Path
from typing import Any, ClassVar

import httpx
import pytest

import tuneport
from tuneport.errors import APIResponseError, BackendError, ConfigError, NotFoundError, TuneportError
from tuneport.hookspecs import hookimpl
from tuneport.models import JobSpec, TuningJob
from tuneport.plugins import PluginHost
from tuneport.protocol import (
    Authenticator,
    BackendSettings,
    BaseBackend,
    BlockingCall,
    Capabilities,
    Effect,
    Flow,
    HttpRequest,
    Operation,
    request,
)
from tuneport.waiting import ManualClock
from tuneport_emulator import Emulator, EmulatorClock

PAIRS = [("1", "2"), ("3", "4"), ("IV", "V")]
GEMINI_BASE = "models/gemini-1.5-flash-001-tuning"


# --- flows do no file I/O ----------------------------------------------------------------------


class _FileWatch:
    """Records files opened by this thread while a flow step (not a blocking call) runs."""

    def __init__(self) -> None:
        self.local = threading.local()
        self.opened_in_steps: list[str] = []
        self.opened_in_calls: list[str] = []
        sys.addaudithook(self._hook)  # hooks cannot be removed: it stays idle outside `watch`
        self.enabled = False

    def _hook(self, event: str, args: tuple[Any, ...]) -> None:
        if not self.enabled or event != "open" or not getattr(self.local, "mine", False):
            return
        target = str(args[0])
        if target.endswith((".py", ".pyc")) or "site-packages" in target or target.startswith("/proc"):
            return  # imports (lazy modules load on first use) are not dataset I/O
        where = self.opened_in_calls if getattr(self.local, "in_call", False) else self.opened_in_steps
        where.append(target)

    def watch(self, flow: Flow[Any]) -> Generator[Effect, Any, Any]:
        """*flow*, with each of its steps watched; blocking calls are run unwatched-for-steps.

        A thread is watched only while it runs a step or a call, never after: a
        worker thread reused later (by the driver, or by anything else in the
        process) must not have its unrelated opens counted.
        """
        result: Any = None
        error: BaseException | None = None
        while True:
            self.local.mine = True
            try:
                effect = flow.throw(error) if error is not None else flow.send(result)
            except StopIteration as stop:
                return stop.value
            finally:
                self.local.mine = False
            if isinstance(effect, BlockingCall):
                effect = BlockingCall(self._in_call, effect)
            try:
                result, error = (yield effect), None
            except Exception as exc:
                result, error = None, exc

    def _in_call(self, effect: BlockingCall[Any]) -> Any:
        self.local.mine = True
        self.local.in_call = True
        try:
            return effect.run()
        finally:
            self.local.in_call = False
            self.local.mine = False


_WATCH = _FileWatch()


@pytest.fixture
def file_watch() -> Iterator[_FileWatch]:
    _WATCH.opened_in_steps.clear()
    _WATCH.opened_in_calls.clear()
    _WATCH.enabled = True
    try:
        yield _WATCH
    finally:
        _WATCH.enabled = False
        _WATCH.local.mine = False


@pytest.fixture
def emulator() -> Iterator[Emulator]:
    with Emulator(clock=EmulatorClock.manual()) as running:
        yield running


def _write_gemini_pairs(path: Path, count: int) -> Path:
    lines = (json.dumps({"text_input": f"q{i}", "output": f"a{i}"}) for i in range(count))
    path.write_text("\n".join(lines) + "\n")
    return path


def _write_vertex_jsonl(path: Path, count: int, pad: int = 0) -> Path:
    filler = "x" * pad
    with path.open("w") as out:
        for i in range(count):
            turns = [
                {"role": "user", "parts": [{"text": f"question {i} {filler}"}]},
                {"role": "model", "parts": [{"text": f"answer {i}"}]},
            ]
            out.write(json.dumps({"contents": turns}) + "\n")
    return path


@pytest.mark.parametrize(
    ("backend", "options", "dataset"),
    [
        ("gemini", {}, lambda d: _write_gemini_pairs(d / "train.jsonl", 20)),
        (
            "vertex",
            {"project": "test-project", "location": "us-central1", "staging_bucket": "gs://tp-bucket"},
            lambda d: _write_vertex_jsonl(d / "train.jsonl", 20),
        ),
        (  # over 8 MiB: a resumable upload, chunk by chunk
            "vertex",
            {"project": "test-project", "location": "us-central1", "staging_bucket": "gs://tp-bucket"},
            lambda d: _write_vertex_jsonl(d / "big.jsonl", 1500, pad=6000),
        ),
    ],
    ids=["gemini", "vertex", "vertex-resumable"],
)
async def test_create_reads_datasets_only_in_blocking_calls(
    emulator: Emulator,
    file_watch: _FileWatch,
    tmp_path: Path,
    backend: str,
    options: dict[str, Any],
    dataset: Callable[[Path], Path],
) -> None:
    path = dataset(tmp_path)
    base = GEMINI_BASE if backend == "gemini" else "gemini-2.5-flash"
    async with tuneport.connect_async(
        backend=backend, endpoint=emulator.url, emulator=True, environ={}, clock=ManualClock(), **options
    ) as client:
        spec = client.spec(base_model=base, training_data=path)
        job = await client._run(file_watch.watch(client._create_flow(spec, {})), None, None)
    assert isinstance(job, TuningJob)
    assert file_watch.opened_in_steps == []  # not one file opened inside a flow step
    assert any(opened.endswith(path.name) for opened in file_watch.opened_in_calls)


class _RecordingBackend(BaseBackend):
    """Looks its credentials up slowly, and says on which thread."""

    name: ClassVar[str] = "recording"
    declared_capabilities: ClassVar[Capabilities] = Capabilities(operations=frozenset({Operation.GET}))
    threads: ClassVar[list[int]] = []

    def authenticator(self) -> Authenticator | None:
        self.threads.append(threading.get_ident())
        return None

    def get(self, job_id: str) -> Flow[TuningJob]:
        yield from request(HttpRequest("GET", "https://recording.test/jobs"))
        raise NotFoundError("no such job", status_code=404)


async def test_credentials_are_looked_up_on_first_use_and_off_the_loop() -> None:
    _RecordingBackend.threads.clear()
    transport = httpx.MockTransport(lambda request: httpx.Response(200, json={}))
    client = tuneport.AsyncTuningClient(_RecordingBackend(), transport=transport)
    assert _RecordingBackend.threads == []  # building the client looks nothing up
    loop_thread = threading.get_ident()
    results = await asyncio.gather(*(client.get("x") for _ in range(5)), return_exceptions=True)
    await client.aclose()
    assert all(isinstance(r, NotFoundError) for r in results)
    assert len(_RecordingBackend.threads) == 1  # looked up once, for all five
    assert _RecordingBackend.threads[0] != loop_thread


# --- only typed errors ---------------------------------------------------------------------------


class _BuggyBackend(BaseBackend):
    name: ClassVar[str] = "buggy"
    declared_capabilities: ClassVar[Capabilities] = Capabilities(operations=frozenset({Operation.GET}))

    def get(self, job_id: str) -> Flow[TuningJob]:
        resp = yield from request(HttpRequest("GET", "https://buggy.test/jobs"))
        return resp.json()["missing"]  # type: ignore[no-any-return]


def test_an_untyped_exception_from_a_flow_arrives_as_backend_error() -> None:
    transport = httpx.MockTransport(lambda request: httpx.Response(200, json={}))
    with (
        tuneport.TuningClient(_BuggyBackend(), transport=transport) as client,
        pytest.raises(BackendError) as info,
    ):
        client.get("x")
    assert isinstance(info.value, TuneportError)
    assert isinstance(info.value.__cause__, KeyError)
    assert "buggy" in str(info.value)


async def test_an_untyped_exception_from_an_async_flow_arrives_as_backend_error() -> None:
    transport = httpx.MockTransport(lambda request: httpx.Response(200, json={}))
    async with tuneport.AsyncTuningClient(_BuggyBackend(), transport=transport) as client:
        with pytest.raises(BackendError):
            await client.get("x")


# --- error bodies are read by the backend ---------------------------------------------------------


class _DetailSettings(BackendSettings):
    endpoint: str | None = "https://detail.test"


class _DetailBackend(BaseBackend):
    """A plugin whose service answers errors as FastAPI does: ``{"detail": ...}``."""

    name: ClassVar[str] = "detail"
    settings_model: ClassVar[type[BackendSettings]] = _DetailSettings
    declared_capabilities: ClassVar[Capabilities] = Capabilities(operations=frozenset({Operation.GET}))

    def get(self, job_id: str) -> Flow[TuningJob]:
        resp = yield from request(HttpRequest("GET", f"{self.settings.endpoint}/jobs/{job_id}"))
        return TuningJob.model_validate(resp.json())


class _DetailPlugin:
    @hookimpl
    def register_backends(self, register: Callable[[type[Any]], None]) -> None:
        register(_DetailBackend)


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"detail": "job j-1 does not exist"}, "job j-1 does not exist"),
        ({"detail": [{"loc": ["path", "id"], "msg": "bad id"}]}, "bad id"),
        ({"title": "Not Found", "status": 404}, "Not Found"),  # RFC 9457 problem details
        ({"error": "no such job"}, "no such job"),
        ({"message": "gone"}, "gone"),
    ],
)
def test_a_plugin_gets_its_services_own_words(body: dict[str, Any], message: str) -> None:
    host = PluginHost(environ={})
    host.register_plugin(_DetailPlugin(), name="detail", distribution="tuneport-detail-tests", version="0")
    transport = httpx.MockTransport(lambda request: httpx.Response(404, json=body))
    with (
        tuneport.connect(backend="detail", plugins=host, environ={}, transport=transport) as client,
        pytest.raises(NotFoundError) as info,
    ):
        client.get("j-1")
    assert info.value.message == message


# --- the emulator is declared, never guessed ------------------------------------------------------


def _fake_adc(token: str) -> Callable[..., Any]:
    import datetime

    import google.oauth2.credentials

    def default(scopes: Any = None, **_: Any) -> tuple[Any, str]:
        credentials = google.oauth2.credentials.Credentials(
            token=token, expiry=datetime.datetime.utcnow() + datetime.timedelta(hours=1)
        )
        return credentials, "p"

    return default


@pytest.mark.parametrize(
    ("backend", "options", "url"),
    [
        ("gemini", {"auth": "adc"}, "http://127.0.0.1:8911/v1beta/tunedModels/m-1"),
        (
            "vertex",
            {"project": "test-project"},
            "http://127.0.0.1:8911/v1beta1/projects/test-project/locations/us-central1/tuningJobs/7",
        ),
    ],
)
def test_credentials_reach_a_loopback_proxy_not_declared_as_the_emulator(
    monkeypatch: pytest.MonkeyPatch, backend: str, options: dict[str, Any], url: str
) -> None:
    import google.auth

    monkeypatch.setattr(google.auth, "default", _fake_adc("proxy-token-123"))
    seen: list[httpx.Request] = []

    def proxy(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(404, json={"error": {"code": 404, "message": "nope", "status": "NOT_FOUND"}})

    id_ = url.rsplit("/", 1)[-1]
    with (
        tuneport.connect(
            backend=backend,
            endpoint="http://127.0.0.1:8911",
            environ={},
            transport=httpx.MockTransport(proxy),
            **options,
        ) as client,
        pytest.raises(NotFoundError),
    ):
        client.get(id_)
    assert [str(r.url) for r in seen] == [url]
    assert seen[0].headers["authorization"] == "Bearer proxy-token-123"


def test_a_declared_emulator_needs_no_credentials(emulator: Emulator) -> None:
    with tuneport.connect(backend="gemini", endpoint=emulator.url, emulator=True, environ={}) as client:
        job = client.create(base_model=GEMINI_BASE, training_data=PAIRS)
        assert client.get(job.id).id == job.id


def test_an_undeclared_loopback_endpoint_asks_for_credentials(emulator: Emulator) -> None:
    with (
        tuneport.connect(backend="gemini", endpoint=emulator.url, environ={}) as client,
        pytest.raises(ConfigError, match="no credentials"),
    ):
        client.get("m-1")


def test_tuneport_emulator_host_declares_a_running_emulator(emulator: Emulator) -> None:
    host = emulator.url.removeprefix("http://")
    with tuneport.connect(backend="gemini", environ={"TUNEPORT_EMULATOR_HOST": host}) as client:
        assert client.backend.settings.emulator
        job = client.create(base_model=GEMINI_BASE, training_data=PAIRS)  # retired, but emulated
        assert client.get(job.id).state.value in ("RUNNING", "SUCCEEDED")


def test_an_explicit_endpoint_wins_over_tuneport_emulator_host() -> None:
    backend = tuneport.open_backend(
        backend="gemini",
        endpoint="https://gl.example.test",
        environ={"TUNEPORT_EMULATOR_HOST": "127.0.0.1:1"},
    )
    assert backend.settings.endpoint == "https://gl.example.test"
    assert not backend.settings.emulator


def test_the_embedded_endpoint_is_declared_an_emulator() -> None:
    backend = tuneport.open_backend(backend="gemini", endpoint="embedded", environ={})
    assert backend.settings.emulator


def test_check_spec_and_plan_create_are_the_protocol() -> None:
    backend = tuneport.open_backend(
        backend="vertex",
        project="test-project",
        location="us-central1",
        staging_bucket="gs://tp-bucket",
        environ={},
    )
    spec = JobSpec(base_model="gemini-2.5-flash", training_data="gs://tp-bucket/t.jsonl", extras={"nope": 1})
    report = tuneport.validate(
        spec, backend="vertex", settings={"project": "test-project", "location": "us-central1"}, environ={}
    )
    assert any(p.field == "extras.nope" and p.rule == "unknown-field" for p in report.errors)
    (planned,) = backend.plan_create(spec.model_copy(update={"extras": {}}))
    assert planned.json["supervisedTuningSpec"]["trainingDatasetUri"] == "gs://tp-bucket/t.jsonl"


# --- a 2xx whose body is not JSON ---------------------------------------------------------------


@pytest.mark.parametrize(
    "body",
    [
        b"<html><body>Sign in to the hotel wifi</body></html>",
        b'{"name": "tunedModels/m-1", "sta',
        b"\xff\xfe",
    ],
    ids=["captive portal", "cut short", "not text"],
)
@pytest.mark.parametrize(
    ("backend", "options"),
    [("gemini", {"api_key": "k-not-real"}), ("vertex", {"project": "test-project", "emulator": True})],
)
def test_a_success_whose_body_is_never_json_is_a_typed_error(
    backend: str, options: dict[str, Any], body: bytes
) -> None:
    transport = httpx.MockTransport(
        lambda request: httpx.Response(200, content=body, headers={"content-type": "text/html"})
    )
    with tuneport.connect(
        backend=backend,
        endpoint="https://svc.example.test",
        environ={},
        transport=transport,
        clock=ManualClock(),
        **options,
    ) as client:
        for call in (lambda: client.get("m-1"), lambda: list(client.list(limit=1))):
            with pytest.raises(APIResponseError) as info:
                call()
            assert info.value.status_code == 200
            assert "not JSON" in str(info.value)


def test_a_broken_body_on_a_read_is_retried_when_the_service_answers_in_json() -> None:
    answers = [
        httpx.Response(200, content=b"<html>portal</html>", headers={"content-type": "text/html"}),
        httpx.Response(200, content=b'{"name": "tunedModels/m-1", "sta'),
        httpx.Response(200, json={"name": "tunedModels/m-1", "state": "ACTIVE"}),
    ]
    transport = httpx.MockTransport(lambda request: answers.pop(0))
    with tuneport.connect(
        backend="gemini",
        endpoint="https://svc.example.test",
        api_key="k-not-real",
        environ={},
        transport=transport,
        clock=ManualClock(),
    ) as client:
        job = client.get("m-1")
    assert job.state.value == "SUCCEEDED"
    assert answers == []
