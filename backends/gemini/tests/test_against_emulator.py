"""The gemini backend against the embedded emulator: every operation and error path, sync and async."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import tuneport
from tuneport.errors import (
    AlreadyExistsError,
    BadRequestError,
    FilterError,
    JobNotReady,
    NotFoundError,
    PermissionDeniedError,
    SpecError,
    UnsupportedCapability,
    UnsupportedParameter,
)
from tuneport.models import JobState
from tuneport.waiting import ManualClock
from tuneport_contract import AsyncRunner, SyncRunner
from tuneport_emulator import Emulator, EmulatorClock

PAIRS = [("1", "2"), ("3", "4"), ("IV", "V"), ("twenty two", "twenty three"), ("-3", "-2")]
BASE = "models/gemini-1.5-flash-001-tuning"
KEY = "AIzaSyEMULATORTESTKEY00000000000000000"


@pytest.fixture
def emulator() -> Iterator[Emulator]:
    with Emulator(clock=EmulatorClock.manual()) as running:
        yield running


@pytest.fixture(params=["sync", "async"])
def call(request: pytest.FixtureRequest, emulator: Emulator) -> Iterator[Any]:
    options: dict[str, Any] = {
        "backend": "gemini",
        "endpoint": emulator.url,
        "emulator": True,
        "environ": {},
        "clock": ManualClock(),
    }
    # The contract kit's runners: the same call on the sync or the async client.
    runner: SyncRunner | AsyncRunner
    if request.param == "sync":
        runner = SyncRunner(tuneport.connect(**options))
    else:
        runner = AsyncRunner(tuneport.connect_async(**options))
    yield runner
    runner.close()


def _finish(emulator: Emulator) -> None:
    emulator.advance(24 * 3600)


def test_create_get_wait_metrics_generate(call: Any, emulator: Emulator, tmp_path: Path) -> None:
    job = call(
        "create", base_model=BASE, training_data=PAIRS, display_name="successor", epoch_count=2, batch_size=2
    )
    assert job.state is JobState.RUNNING
    assert job.name == f"tunedModels/{job.id}"
    assert job.tuned_model == job.name
    assert job.total_steps == 5  # ceil(5 examples x 2 epochs / batch 2)
    emulator.advance(45)  # set-up (30 s) and two steps (6 s each)
    running = call("get", job.id)
    assert running.state is JobState.RUNNING
    assert running.total_steps == 5
    assert running.progress is not None
    assert 0 <= running.progress < 1
    done = call("wait", job.id, poll=1.0, progress=lambda _job: emulator.advance(120))
    assert done.state is JobState.SUCCEEDED
    assert done.progress == 1.0
    assert done.hyperparameters.epoch_count == 2
    assert done.end_time is not None
    assert done.end_time.tzinfo is not None
    metrics = call("metrics", job.id)
    assert metrics.native("mean_loss") == metrics.series["train_loss"]
    steps = [p.step for p in metrics.series["train_loss"]]
    assert steps == sorted(steps)
    assert steps[-1] == 5
    assert call("generate", job.id, "IV").text == "V"
    assert call("generate", f"tunedModels/{job.id}", "twenty two").text == "twenty three"


def test_create_from_a_local_file(call: Any, emulator: Emulator, tmp_path: Path) -> None:
    train = tmp_path / "train.jsonl"
    train.write_text("".join(json.dumps({"text_input": q, "output": a}) + "\n" for q, a in PAIRS))
    job = call("create", base_model=BASE, training_data=train, epoch_count=1, batch_size=5)
    assert job.total_steps == 1
    (body,) = [r["body"] for r in emulator.requests() if r["method"] == "POST"]
    assert len(body["tuningTask"]["trainingData"]["examples"]["examples"]) == len(PAIRS)


def test_generate_on_an_unfinished_model_is_not_ready(call: Any) -> None:
    job = call("create", base_model=BASE, training_data=PAIRS)
    with pytest.raises(JobNotReady):
        call("generate", job.id, "1")


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"response_mime_type": "application/json"}, "response_mime_type"),
        ({"contents": "x" * 40_001}, "contents"),
    ],
)
def test_generate_is_checked_locally(
    call: Any, emulator: Emulator, kwargs: dict[str, Any], field: str
) -> None:
    model = emulator.seed_gemini_model(state="ACTIVE")
    before = len(emulator.requests())
    kwargs = dict(kwargs)  # parametrized values are shared between runs
    prompt = kwargs.pop("contents", "1")
    with pytest.raises(SpecError) as info:
        call("generate", model["name"], prompt, **kwargs)
    assert info.value.field == field
    assert len(emulator.requests()) == before


def test_generate_refuses_file_parts(call: Any, emulator: Emulator) -> None:
    model = emulator.seed_gemini_model(state="ACTIVE")
    request = tuneport.GenerateRequest(
        contents=[
            {"role": "user", "parts": [{"kind": "file", "uri": "gs://b/x.png", "mime_type": "image/png"}]}
        ]
    )
    with pytest.raises(SpecError, match="text only"):
        call("generate", model["name"], request)


def test_list_pages_cover_everything_once(call: Any) -> None:
    ids = {call("create", base_model=BASE, training_data=PAIRS, display_name=f"m{i}").id for i in range(5)}
    listed = [job.id for job in call("list", page_size=2)]
    assert len(listed) == len(set(listed))
    assert set(listed) == ids
    assert len(call("list", page_size=2, limit=3)) == 3


def test_cancel_then_wait_returns_cancelled(call: Any) -> None:
    job = call("create", base_model=BASE, training_data=PAIRS)
    cancelled = call("cancel", job.id)
    assert cancelled.state is JobState.CANCELLED
    assert call("wait", job.id, poll=1.0).state is JobState.CANCELLED


def _fresh(emulator: Emulator) -> tuneport.TuningClient:
    """Another client of the same emulator: it remembers no operation names (another process)."""
    options: dict[str, Any] = {"backend": "gemini", "endpoint": emulator.url, "emulator": True}
    return tuneport.connect(**options, environ={}, clock=ManualClock())


def test_a_cancelled_job_reads_cancelled_however_it_is_read(call: Any, emulator: Emulator) -> None:
    """Issue #15: get, list, a second cancel and wait agree; CANCELLED is never shown as FAILED."""
    job = call("create", base_model=BASE, training_data=PAIRS, display_name="cancelled")
    failed_id = emulator.seed_gemini_model(
        {"baseModel": BASE, "displayName": "failed"}, state="FAILED", error={"code": 3, "message": "bad"}
    )["name"].removeprefix("tunedModels/")
    assert call("cancel", job.id).state is JobState.CANCELLED
    with _fresh(emulator) as other:
        reads = {
            "get": call("get", job.id).state,
            "list": {j.id: j.state for j in call("list")}[job.id],
            "second cancel": call("cancel", job.id).state,
            "wait": call("wait", job.id, poll=1.0).state,
            "fresh cancel": other.cancel(job.id).state,  # first: it knows no operation yet
            "fresh get": other.get(job.id).state,
            "fresh list": {j.id: j.state for j in other.list()}[job.id],
        }
        assert reads == dict.fromkeys(reads, JobState.CANCELLED)
        assert other.cancel(failed_id).state is JobState.FAILED
        failed = {j.id: j for j in other.list()}[failed_id]
        assert failed.state is JobState.FAILED
        assert failed.error is not None
        assert failed.error.message == "bad"


def test_the_cli_reads_a_cancelled_job_the_same_everywhere(emulator: Emulator) -> None:
    """Issue #15: each CLI command is a fresh client: cancel, get, list and a second cancel agree."""
    from click.testing import CliRunner

    from tuneport.cli import commands  # noqa: F401  (registers the verbs)
    from tuneport.cli.app import State, cli

    def run(*args: str) -> Any:
        options = {"backend": "gemini", "endpoint": emulator.url, "emulator": True, "environ": {}}
        result = CliRunner().invoke(cli, ["--json", *args], obj=State(connect_options=options))
        assert result.exit_code == 0, result.output
        return json.loads(result.stdout)

    with _fresh(emulator) as creator:
        job = creator.create(base_model=BASE, training_data=PAIRS, display_name="cli")
    states = [run("cancel", job.id)["state"], run("get", job.id)["state"], run("cancel", job.id)["state"]]
    states += [j["state"] for j in run("list")["jobs"]]
    states += [j["state"] for j in run("list", "--state", "cancelled")["jobs"]]
    assert states == ["CANCELLED"] * 5
    assert run("list", "--state", "failed")["jobs"] == []


def test_portable_listing_is_selected_client_side(call: Any, emulator: Emulator) -> None:
    """Issue #15: the Gemini API has no state or label filter; tuneport selects, paging through."""
    running = call("create", base_model=BASE, training_data=PAIRS, display_name="running")
    cancelled = call("create", base_model=BASE, training_data=PAIRS, display_name="cancelled")
    call("cancel", cancelled.id)
    seeded = emulator.seed_gemini_model({"baseModel": BASE, "displayName": "done"}, state="ACTIVE")
    done = seeded["name"].removeprefix("tunedModels/")
    assert [j.id for j in call("list", state="running", page_size=1)] == [running.id]
    assert [j.id for j in call("list", state="CANCELLED", page_size=1)] == [cancelled.id]
    assert [j.id for j in call("list", state=[JobState.SUCCEEDED, "running"])] == [running.id, done]
    assert call("list", state="failed") == []  # the cancelled model is FAILED on the wire
    assert len(call("list", state="running", limit=1)) == 1
    page = call("list_page", state="SUCCEEDED", page_size=1)
    assert page.items == []  # the first model is not selected: a page may be empty ...
    assert page.next_page_token  # ... and still have a next one
    emulator.store.clear_requests()
    assert call("list", labels={"team": "a"}) == []  # a TunedModel has no labels
    assert emulator.requests() == []  # so nothing is sent


def test_list_costs_one_request_per_failed_model(call: Any, emulator: Emulator) -> None:
    """Telling a cancelled model from a failed one reads its operation: one request per FAILED model."""
    for i in range(3):
        call("cancel", call("create", base_model=BASE, training_data=PAIRS, display_name=f"c{i}").id)
    call("create", base_model=BASE, training_data=PAIRS, display_name="running")
    emulator.store.clear_requests()
    assert [j.state for j in call("list")].count(JobState.CANCELLED) == 3
    assert len(emulator.requests()) == 1 + 3
    emulator.store.clear_requests()
    assert len(call("list", state="running")) == 1
    assert len(emulator.requests()) == 1  # neither FAILED nor CANCELLED selected: no lookups


@pytest.mark.parametrize("expression", ["state=ACTIVE", "labels.team:a", "create_time>2024", "state!=FAILED"])
def test_field_expressions_are_refused_before_any_request(
    call: Any, emulator: Emulator, expression: str
) -> None:
    """Issue #15: the Gemini API's filter is a full-text search, so a field expression finds nothing."""
    emulator.store.clear_requests()
    with pytest.raises(FilterError) as info:
        call("list", filter=expression)
    assert info.value.filter == expression
    assert info.value.field == "filter"
    assert "full-text search" in str(info.value)
    assert emulator.requests() == []


def test_search_words_and_operators_pass_through(call: Any) -> None:
    wanted = call("create", base_model=BASE, training_data=PAIRS, display_name="sentence translator")
    call("create", base_model=BASE, training_data=PAIRS, display_name="other")
    assert [j.id for j in call("list", filter="translator owner:me")] == [wanted.id]
    assert call("list", filter="bogus") == []  # a search that finds nothing
    assert call("list", filter="readers:everyone") == []


def test_cancel_of_a_finished_model_changes_nothing(call: Any, emulator: Emulator) -> None:
    job = call("create", base_model=BASE, training_data=PAIRS)
    _finish(emulator)
    assert call("cancel", job.id).state is JobState.SUCCEEDED


def test_delete_is_idempotent(call: Any, emulator: Emulator) -> None:
    job = call("create", base_model=BASE, training_data=PAIRS)
    _finish(emulator)
    call("delete", job.id)
    with pytest.raises(NotFoundError):
        call("get", job.id)
    call("delete", job.id)  # already gone: no error


def test_unknown_ids(call: Any) -> None:
    with pytest.raises(NotFoundError) as info:
        call("get", "no-such-model")
    assert info.value.status == "NOT_FOUND"
    with pytest.raises(NotFoundError):
        call("metrics", "no-such-model")
    with pytest.raises(SpecError):
        call("get", "bad/id")


def test_client_chosen_id_makes_retries_safe(call: Any, emulator: Emulator) -> None:
    first = call(
        "create",
        base_model=BASE,
        training_data=PAIRS,
        display_name="same",
        extras={"tuned_model_id": "fixed-id"},
    )
    # The same create again (as a retry after a lost reply would be): the existing model is ours.
    again = call(
        "create",
        base_model=BASE,
        training_data=PAIRS,
        display_name="same",
        extras={"tuned_model_id": "fixed-id"},
    )
    assert again.id == first.id == "fixed-id"
    assert sum(1 for m in emulator.store.section("gemini").get("models", {}) if "fixed-id" in m) <= 1
    with pytest.raises(AlreadyExistsError):
        call(
            "create",
            base_model=BASE,
            training_data=PAIRS,
            display_name="other",
            extras={"tuned_model_id": "fixed-id"},
        )


def test_bad_tuned_model_id_is_refused_before_any_request(call: Any, emulator: Emulator) -> None:
    with pytest.raises(SpecError) as info:
        call("create", base_model=BASE, training_data=PAIRS, extras={"tuned_model_id": "Bad_Id"})
    assert info.value.field == "extras.tuned_model_id"
    assert emulator.requests() == []


def test_display_name_over_40_characters_is_refused(call: Any, emulator: Emulator) -> None:
    with pytest.raises(SpecError) as info:
        call("create", base_model=BASE, training_data=PAIRS, display_name="x" * 41)
    assert info.value.field == "display_name"
    assert emulator.requests() == []


def test_multi_turn_data_is_refused_before_any_request(call: Any, emulator: Emulator) -> None:
    chat = [
        {
            "turns": [
                {"role": "user", "parts": "a"},
                {"role": "model", "parts": "b"},
                {"role": "user", "parts": "c"},
                {"role": "model", "parts": "d"},
            ]
        }
    ]
    with pytest.raises(tuneport.DatasetError) as info:
        call("create", base_model=BASE, training_data=chat)
    assert info.value.first.rule == "multi-turn-not-allowed"
    assert emulator.requests() == []


def test_real_service_refuses_retired_models_before_sending() -> None:
    client = tuneport.connect(
        backend="gemini", endpoint="https://generativelanguage.example.invalid", api_key=KEY, environ={}
    )
    with client, pytest.raises(UnsupportedCapability, match=r"retired|tunable") as info:
        client.create(base_model=BASE, training_data=PAIRS)
    assert client.driver.request_count == 0
    assert KEY not in str(info.value)


def test_keys_travel_in_the_header_and_never_show() -> None:
    wrong = "AIzaSyWRONGKEY000000000000000000000000"
    with Emulator(clock=EmulatorClock.manual(), require_key=KEY) as emulator:
        with tuneport.connect(
            backend="gemini", endpoint=emulator.url, emulator=True, api_key=KEY, environ={}
        ) as client:
            job = client.create(base_model=BASE, training_data=PAIRS)
            assert client.get(job.id).id == job.id
            assert KEY not in repr(client)
            assert KEY not in repr(client.backend)
        for logged in emulator.requests():
            assert KEY not in json.dumps(logged)
        with (
            tuneport.connect(
                backend="gemini", endpoint=emulator.url, emulator=True, api_key=wrong, environ={}
            ) as wrong_key,
            pytest.raises(BadRequestError) as bad,
        ):
            wrong_key.get(job.id)
        assert wrong not in str(bad.value)
        with (
            tuneport.connect(
                backend="gemini", endpoint=emulator.url, emulator=True, auth="none", environ={}
            ) as no_key,
            pytest.raises(PermissionDeniedError),
        ):
            no_key.get(job.id)


def test_api_key_from_gemini_api_key_variable(emulator: Emulator) -> None:
    with tuneport.connect(
        backend="gemini", endpoint=emulator.url, emulator=True, environ={"GEMINI_API_KEY": KEY}
    ) as client:
        assert client.backend.settings.api_key is not None
        client.list_page()
    (logged,) = emulator.requests()
    assert KEY not in json.dumps(logged)


def test_labels_are_refused_not_dropped(call: Any, emulator: Emulator) -> None:
    with pytest.raises(UnsupportedParameter) as info:
        call("create", base_model=BASE, training_data=PAIRS, labels={"team": "ml"})
    assert info.value.parameter == "labels"
    assert emulator.requests() == []
