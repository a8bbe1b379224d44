"""Fault injection: the spec language, each fault as a client sees it, reproducibility, the admin route."""

from __future__ import annotations

import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest

from tuneport_emulator import Emulator, EmulatorClock
from tuneport_emulator import EmulatorConfigError as ConfigError
from tuneport_emulator.faults import PRESETS, FaultInjector, FaultSpec, FaultSpecError

CREATE = "/v1beta/tunedModels"
BODY = {
    "baseModel": "models/gemini-1.5-flash-001-tuning",
    "tuningTask": {"trainingData": {"examples": {"examples": [{"textInput": "1", "output": "2"}]}}},
}


@pytest.fixture
def faulty() -> Iterator[Emulator]:
    with Emulator(clock=EmulatorClock.manual()) as emulator:
        yield emulator
        assert emulator.internal_errors == []


# --- the spec ------------------------------------------------------------------------------


def test_parse_reads_seed_selectors_durations_and_presets() -> None:
    spec = FaultSpec.parse("seed=9; *: 503=0.1, 429=0.2@3s; vertex.*: latency=0.5@250ms, reset-after=0.3")
    assert spec.seed == 9
    assert spec.effects_for("gemini.tunedModels.get") == ({"503": 0.1, "429": 0.2}, {"429": 3.0})
    probabilities, durations = spec.effects_for("vertex.v1.tuningJobs.get")
    assert probabilities == {"503": 0.1, "429": 0.2, "latency": 0.5, "reset-after": 0.3}
    assert durations == {"429": 3.0, "latency": 0.25}
    chaos = FaultSpec.parse("chaos")
    assert chaos.rules == FaultSpec.parse(PRESETS["chaos"]).rules


def test_later_items_override_earlier_ones_kind_by_kind() -> None:
    spec = FaultSpec.parse("*: 503=0.5, 500=0.1; *.get: 503=0")
    assert spec.effects_for("gemini.tunedModels.get")[0] == {"503": 0.0, "500": 0.1}
    assert spec.effects_for("gemini.tunedModels.create")[0] == {"503": 0.5, "500": 0.1}


@pytest.mark.parametrize(
    ("text", "names"),
    [
        ("seed=abc", "seed"),
        ("*: 504=0.1", "504=0.1"),
        ("*: 503", "503"),
        ("*: 503=1.5", "503"),
        ("*: 503=-0.1", "503"),
        ("*: 503=nan", "503"),
        ("*: 503=0.6, 500=0.6", "add up"),
        ("*: 503=0.1@2s", "503"),
        ("*: latency=0.1@fast", "fast"),
        ("gemini.*:", "gemini.*:"),
    ],
)
def test_bad_specs_are_refused_naming_the_item(text: str, names: str) -> None:
    with pytest.raises(FaultSpecError, match="fault spec") as caught:
        FaultSpec.parse(text)
    assert names in str(caught.value)


def test_the_emulator_refuses_a_bad_spec_as_a_config_error() -> None:
    with pytest.raises(ConfigError) as caught:
        Emulator(faults="*: 503=2")
    assert caught.value.key == "faults"


def test_draws_are_reproducible_and_independent_of_other_paths() -> None:
    def kinds(injector: FaultInjector, paths: list[str]) -> list[str | None]:
        return [injector.decide("GET", path, "r").kind for path in paths]

    one = kinds(FaultInjector("seed=4; *: 503=0.3, reset=0.3"), ["/a"] * 20)
    interleaved = FaultInjector("seed=4; *: 503=0.3, reset=0.3")
    mixed = kinds(interleaved, [p for _ in range(20) for p in ("/a", "/b")])
    assert one == mixed[::2]  # /b's requests in between change nothing for /a
    assert one != kinds(FaultInjector("seed=5; *: 503=0.3, reset=0.3"), ["/a"] * 20)
    assert len(set(one)) == 3  # retries of the same path get fresh draws


def test_the_rate_matches_the_probabilities() -> None:
    injector = FaultInjector("seed=1; *: 503=0.2, 500-after=0.1")
    kinds = [injector.decide("GET", f"/jobs/{n}", "r").kind for n in range(20_000)]
    assert kinds.count("503") / len(kinds) == pytest.approx(0.2, abs=0.015)
    assert kinds.count("500-after") / len(kinds) == pytest.approx(0.1, abs=0.015)
    stats = injector.stats()
    assert stats["requests"] == 20_000
    assert stats["injected"] == {"503": kinds.count("503"), "500-after": kinds.count("500-after")}


# --- as a client sees it -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "status", "google_status"),
    [("503", 503, "UNAVAILABLE"), ("500", 500, "INTERNAL"), ("429", 429, "RESOURCE_EXHAUSTED")],
)
def test_errors_before_the_handler_commit_nothing(
    faulty: Emulator, kind: str, status: int, google_status: str
) -> None:
    faulty.configure_faults(f"gemini.tunedModels.create: {kind}=1")
    reply = httpx.post(faulty.url + CREATE, json=BODY)
    assert reply.status_code == status
    assert reply.json()["error"] == {
        "code": status,
        "message": reply.json()["error"]["message"],
        "status": google_status,
    }
    if kind == "429":
        assert reply.headers["Retry-After"] == "1"
    assert faulty.store.snapshot()["sections"].get("gemini", {}).get("tunedModels", {}) == {}
    assert faulty.requests()[-1]["fault"] == kind


def test_a_reset_drops_the_connection_without_an_answer(faulty: Emulator) -> None:
    faulty.configure_faults("*: reset=1")
    with pytest.raises((httpx.ReadError, httpx.RemoteProtocolError)):
        httpx.post(faulty.url + CREATE, json=BODY)
    assert faulty.requests()[-1]["status"] is None
    assert faulty.store.snapshot()["sections"].get("gemini", {}).get("tunedModels", {}) == {}


@pytest.mark.parametrize("kind", ["503-after", "500-after", "reset-after"])
def test_faults_after_the_commit_lose_only_the_answer(faulty: Emulator, kind: str) -> None:
    faulty.configure_faults(f"gemini.tunedModels.create: {kind}=1")
    try:
        reply = httpx.post(faulty.url + CREATE, json=BODY, params={"tunedModelId": "kept"})
        assert reply.status_code >= 500
    except (httpx.ReadError, httpx.RemoteProtocolError):
        assert kind == "reset-after"
    faulty.configure_faults(None)
    assert httpx.get(faulty.url + "/v1beta/tunedModels/kept").status_code == 200  # committed
    again = httpx.post(faulty.url + CREATE, json=BODY, params={"tunedModelId": "kept"})
    assert again.json()["error"]["status"] == "ALREADY_EXISTS"  # what a client's re-send meets


def test_latency_delays_the_answer(faulty: Emulator) -> None:
    faulty.configure_faults("*: latency=1@150ms")
    started = time.perf_counter()
    assert httpx.get(faulty.url + CREATE).status_code == 200
    assert time.perf_counter() - started >= 0.15
    assert faulty.requests()[-1]["fault"] == "latency"


def test_selectors_choose_routes_and_admin_routes_are_never_faulted(faulty: Emulator) -> None:
    faulty.configure_faults("gemini.*: 503=1")
    assert httpx.get(faulty.url + CREATE).status_code == 503
    assert httpx.get(faulty.url + "/v1/projects/p/locations/us-central1/tuningJobs").status_code == 200
    faulty.configure_faults("*: 503=1")
    assert httpx.get(faulty.url + "/_emulator/state").status_code == 200
    assert httpx.get(faulty.url + "/no/such/route").status_code == 404  # unknown paths: not faulted


def test_the_admin_route_reads_and_sets_the_spec(faulty: Emulator) -> None:
    reply = httpx.put(faulty.url + "/_emulator/faults", json={"spec": "seed=3; *.get: 503=1"})
    assert reply.json()["spec"] == "seed=3; *.get: 503=1"
    assert httpx.get(faulty.url + "/v1beta/tunedModels/x").status_code == 503
    stats = httpx.get(faulty.url + "/_emulator/faults").json()
    assert stats["injected"] == {"503": 1}
    assert stats["byRoute"] == {"gemini.tunedModels.get": {"503": 1}}
    bad = httpx.put(faulty.url + "/_emulator/faults", json={"spec": "*: 503=7"})
    assert bad.status_code == 400
    assert "503" in bad.json()["error"]["message"]
    assert httpx.put(faulty.url + "/_emulator/faults", json={"spec": None}).json()["spec"] is None
    assert httpx.get(faulty.url + "/v1beta/tunedModels/x").status_code == 404


# --- short-store: a resumable chunk only partly stored --------------------------------------

UNIT = 256 * 1024


def _open_session(emulator: Emulator, size: int) -> str:
    opened = httpx.post(
        emulator.url + "/upload/storage/v1/b/tuneport-test/o",
        params={"uploadType": "resumable", "name": "short.bin"},
        headers={"x-upload-content-length": str(size)},
    )
    assert opened.status_code == 200, opened.text
    return str(opened.headers["location"])


def _stored(reply: httpx.Response) -> int:
    assert reply.status_code == 308, reply.text
    header = reply.headers.get("range")
    return 0 if header is None else int(header.rpartition("-")[2]) + 1


def test_short_store_keeps_a_multiple_of_256_kib_and_answers_308_with_the_shorter_range(
    faulty: Emulator,
) -> None:
    data = bytes(range(256)) * (16 * UNIT // 256) + b"tail"
    location = _open_session(faulty, len(data))
    faulty.configure_faults("seed=5; storage.objects.upload: short-store=1")
    stored = 0
    for _ in range(200):  # every answer is a 308 with a shorter Range; the client resumes from it
        end = min(stored + 8 * UNIT, len(data))
        reply = httpx.put(
            location,
            content=data[stored:end],
            headers={"content-range": f"bytes {stored}-{end - 1}/{len(data)}"},
        )
        now = _stored(reply)
        assert stored <= now < end  # never the whole chunk, even the last one
        assert now % UNIT == 0
        assert faulty.requests()[-1]["fault"] == "short-store"
        stored = now
        if stored == len(data) - len(b"tail"):
            break
    assert stored > 0
    faulty.configure_faults(None)
    status = httpx.put(location, headers={"content-range": f"bytes */{len(data)}"})
    assert _stored(status) == stored  # a status query says the same
    last = httpx.put(
        location,
        content=data[stored:],
        headers={"content-range": f"bytes {stored}-{len(data) - 1}/{len(data)}"},
    )
    assert last.status_code == 200, last.text
    assert faulty.storage_object("tuneport-test", "short.bin") == data  # byte-identical


def test_short_store_is_reproducible_under_the_seed_and_spares_other_routes(faulty: Emulator) -> None:
    def run(seed: int) -> list[int]:
        location = _open_session(faulty, 40 * UNIT)
        faulty.configure_faults(f"seed={seed}; *: short-store=1")
        ranges = []
        for _ in range(4):
            reply = httpx.put(
                location, content=bytes(8 * UNIT), headers={"content-range": f"bytes 0-{8 * UNIT - 1}/*"}
            )
            ranges.append(_stored(reply))
        faulty.configure_faults(None)
        return ranges

    assert run(3) == run(3)
    assert len({tuple(run(seed)) for seed in range(6)}) > 1
    faulty.configure_faults("*: short-store=1")
    assert httpx.get(faulty.url + CREATE).status_code == 200  # no chunk: served as usual
    assert faulty.requests()[-1]["fault"] == "short-store"  # drawn and counted, with no effect


# --- held requests hold nobody else ----------------------------------------------------------


@pytest.mark.parametrize("kind", ["stall", "slow", "latency"])
def test_a_held_request_does_not_hold_up_other_clients(faulty: Emulator, kind: str) -> None:
    """The delays are the event loop's sleeps: other connections are served meanwhile."""
    faulty.configure_faults(f"gemini.tunedModels.get: {kind}=1@1s")
    with ThreadPoolExecutor(max_workers=1) as pool, httpx.Client(base_url=faulty.url) as http:
        held = pool.submit(httpx.get, faulty.url + "/v1beta/tunedModels/x", timeout=10)
        time.sleep(0.1)  # the held request is in
        started = time.perf_counter()
        for _ in range(10):
            assert http.get("/v1/projects/p/locations/us-central1/tuningJobs").status_code == 200
        assert time.perf_counter() - started < 0.5
        assert not held.done()
        assert held.result().status_code == 404  # answered in the end
    faulted = [entry for entry in faulty.requests() if "fault" in entry]
    assert [(entry["route"], entry["fault"]) for entry in faulted] == [("gemini.tunedModels.get", kind)]


def test_a_request_held_past_its_server_timeout_is_abandoned_before_the_handler(faulty: Emulator) -> None:
    faulty.configure_faults("gemini.tunedModels.create: stall=1@1.2s")
    reply = httpx.post(faulty.url + CREATE, json=BODY, headers={"X-Server-Timeout": "1"}, timeout=10)
    assert reply.status_code == 504
    assert reply.json()["error"]["status"] == "DEADLINE_EXCEEDED"
    assert faulty.store.snapshot()["sections"].get("gemini", {}).get("tunedModels", {}) == {}


def test_a_reset_is_a_connection_error_on_a_kept_alive_connection_too(faulty: Emulator) -> None:
    with httpx.Client(base_url=faulty.url) as http:
        assert http.get(CREATE).status_code == 200  # the connection is open and kept
        faulty.configure_faults("gemini.tunedModels.list: reset=1")
        with pytest.raises(httpx.TransportError) as caught:
            http.get(CREATE)
        assert isinstance(caught.value, (httpx.ReadError, httpx.RemoteProtocolError))
        faulty.configure_faults(None)
        assert http.get(CREATE).status_code == 200  # a new connection, served
