"""The contract: numbered behaviours every tuneport backend must show.

Subclass :class:`BackendContract` in a test module whose name pytest
collects (``class TestMyBackend(BackendContract)``) and override the
``contract_harness`` fixture.  Every behaviour runs through the sync and the
async client.  Behaviours are numbered as in ``docs/contract.md``; each test
name and docstring cites its number.

Operations a backend declares unsupported are skipped, and behaviour 34
checks they raise :class:`~tuneport.errors.UnsupportedCapability` — and
reports an "unexpected success" when one in fact works.  Behaviours 55-64
(tuning methods, continuous tuning, checkpoints) come in pairs, one for a
declared capability and one for its absence: the half that does not apply
to the backend is skipped as "not applicable".
"""

from __future__ import annotations

import json
import logging
import traceback
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from os import PathLike
from typing import Any

import pytest
from pydantic import ValidationError as PydanticValidationError

import tuneport
from tuneport.errors import (
    BackendError,
    ConfigError,
    FilterError,
    JobFailed,
    JobNotReady,
    NotFoundError,
    SpecError,
    TuneportError,
    UnsupportedCapability,
    UnsupportedParameter,
    WaitTimeout,
)
from tuneport.models import (
    CANONICAL_SERIES,
    Hyperparameters,
    JobState,
    Metrics,
    Page,
    TuningJob,
    TuningMethod,
)
from tuneport.preflight import SPEC_FIELDS
from tuneport.protocol import Capabilities, Operation
from tuneport.waiting import ManualClock
from tuneport_contract.harness import (
    AnswerLosingTransport,
    AsyncAnswerLosingTransport,
    AsyncRunner,
    Call,
    Harness,
    Outcome,
    Runner,
    ServiceLinkedClock,
    SyncRunner,
    progress_advancing,
)

__all__ = ["UNKNOWN_ID", "BackendContract"]

#: An id no service has: well-formed for every backend, never created.
UNKNOWN_ID = "tuneport-contract-no-such-job"
_POLL = 1.0
#: The states of a job a cancel has reached.
_STOPPING = (JobState.CANCELLING, JobState.CANCELLED)


class BackendContract:
    """The behaviours (named without ``Test`` so pytest does not collect the base)."""

    # --- fixtures the subclass provides or the kit derives -------------------------------

    @pytest.fixture
    def contract_harness(self) -> Harness:
        """Override: how to reach the backend under test."""
        raise NotImplementedError("override the contract_harness fixture in your BackendContract subclass")

    @pytest.fixture(params=["sync", "async"])
    def run(self, request: pytest.FixtureRequest, contract_harness: Harness) -> Iterator[Runner]:
        """A runner over a fresh client; the parameter picks the sync or the async client."""
        backdoor = contract_harness.backdoor
        clock = ServiceLinkedClock(backdoor) if backdoor is not None else ManualClock()
        options = {"clock": clock, **contract_harness.connect}
        runner: Runner
        if request.param == "sync":
            runner = SyncRunner(tuneport.connect(**options))
        else:
            runner = AsyncRunner(tuneport.connect_async(**options))
        try:
            yield runner
        finally:
            runner.close()

    @pytest.fixture
    def live(self, request: pytest.FixtureRequest) -> bool:
        return bool(request.config.getoption("--tuneport-live", default=False))

    # --- helpers ---------------------------------------------------------------------------------

    @staticmethod
    def _require(run: Runner, *operations: Operation) -> None:
        caps = run.client.capabilities
        for operation in operations:
            if not caps.supports(operation):
                pytest.skip(f"declared unsupported: {operation}")

    @staticmethod
    def _backdoor(harness: Harness) -> Any:
        if harness.backdoor is None:
            pytest.skip("needs the service's backdoor (not available on a live service)")
        return harness.backdoor

    def _create(self, run: Runner, harness: Harness, **changes: Any) -> TuningJob:
        self._require(run, Operation.CREATE)
        job: TuningJob = run("create", **{**harness.spec, **changes})
        return job

    def _finished(self, run: Runner, harness: Harness) -> TuningJob:
        """A job that succeeded: seeded through the backdoor, or created and waited for."""
        if harness.backdoor is not None:
            job_id = harness.backdoor.seed(JobState.SUCCEEDED)
            job: TuningJob = run("get", job_id)
            return job
        job = self._create(run, harness)
        done: TuningJob = run("wait", job.id, poll=_POLL)
        return done

    # --- create ----------------------------------------------------------------------------------

    def test_b01_create_returns_a_job_with_an_id(self, run: Runner, contract_harness: Harness) -> None:
        """Behaviour 1: create returns a job with an id, the backend's name and a state."""
        job = self._create(run, contract_harness)
        assert job.id
        assert job.backend == run.client.backend.name
        assert isinstance(job.state, JobState)
        assert job.state is not JobState.UNKNOWN

    def test_b02_create_keeps_what_was_asked(self, run: Runner, contract_harness: Harness) -> None:
        """Behaviour 2: the created job reports the display name asked for."""
        job = self._create(run, contract_harness, display_name="contract b02")
        assert job.display_name == "contract b02"

    def test_b03_get_after_create(self, run: Runner, contract_harness: Harness) -> None:
        """Behaviour 3: get after create returns the same job."""
        job = self._create(run, contract_harness)
        self._require(run, Operation.GET)
        again: TuningJob = run("get", job.id)
        assert again.id == job.id
        assert again.backend == job.backend

    def test_b04_unknown_ids_are_not_found(self, run: Runner, contract_harness: Harness) -> None:
        """Behaviour 4: get of an unknown id raises NotFoundError."""
        self._require(run, Operation.GET)
        with pytest.raises(NotFoundError):
            run("get", UNKNOWN_ID)

    # --- list --------------------------------------------------------------------------------------

    def test_b05_list_finds_a_created_job(self, run: Runner, contract_harness: Harness) -> None:
        """Behaviour 5: list finds a job just created."""
        job = self._create(run, contract_harness)
        self._require(run, Operation.LIST)
        assert job.id in {j.id for j in run("list")}

    def test_b06_paging_covers_all_without_repeats(self, run: Runner, contract_harness: Harness) -> None:
        """Behaviour 6: listing one job per page covers every job exactly once."""
        created = {self._create(run, contract_harness, display_name=f"contract b06 {i}").id for i in range(3)}
        self._require(run, Operation.LIST)
        listed = [j.id for j in run("list", page_size=1)]
        assert len(listed) == len(set(listed)), "a job was listed twice"
        assert created <= set(listed)

    def test_b07_list_limit(self, run: Runner, contract_harness: Harness) -> None:
        """Behaviour 7: list(limit=n) yields at most n jobs."""
        for i in range(3):
            self._create(run, contract_harness, display_name=f"contract b07 {i}")
        self._require(run, Operation.LIST)
        assert len(run("list", limit=2)) == 2

    def test_b08_last_page_has_no_token(self, run: Runner, contract_harness: Harness) -> None:
        """Behaviour 8: list_page returns a Page, and following tokens ends with None."""
        self._create(run, contract_harness)
        self._require(run, Operation.LIST)
        page: Page[TuningJob] = run("list_page", page_size=1)
        pages = 1
        while page.next_page_token:
            page = run("list_page", page_size=1, page_token=page.next_page_token)
            pages += 1
            assert pages < 10_000, "paging does not end"
        assert page.next_page_token is None

    # --- one state however it is read; portable listing (issue #15, behaviours 50-54) ---------------

    def test_b50_a_job_reads_the_same_state_however_it_is_read(
        self, run: Runner, contract_harness: Harness
    ) -> None:
        """Behaviour 50: get, list, wait, a second cancel and a fresh client report the same state.

        For a cancelled job (never FAILED), and for a succeeded and a failed
        one: once a job has finished, every way of reading it — through this
        client and through a fresh one that remembers nothing — agrees.
        """
        self._require(run, Operation.GET, Operation.LIST)
        caps = run.client.capabilities
        jobs: list[str] = []
        cancelled = None
        if caps.supports(Operation.CREATE) and caps.supports(Operation.CANCEL):
            cancelled = self._create(run, contract_harness, display_name="contract b50").id
            run("cancel", cancelled)
            jobs.append(cancelled)
        if contract_harness.backdoor is not None:
            jobs += [contract_harness.backdoor.seed(s) for s in (JobState.SUCCEEDED, JobState.FAILED)]
        if not jobs:
            pytest.skip("needs a cancelled job (create and cancel) or the service's backdoor")
        step = contract_harness.finish_after / 10
        observer = self._observer(contract_harness)
        try:
            for job_id in jobs:
                final: TuningJob = run(
                    "wait",
                    job_id,
                    poll=_POLL,
                    raise_on_failure=False,
                    progress=progress_advancing(contract_harness.backdoor, step),
                )
                # A second cancel of the cancelled job (a finished one's is behaviour 40).
                again = job_id == cancelled
                reads = _every_read(run, job_id, cancel=again)
                fresh = _every_read(observer, job_id, cancel=again)  # it knows nothing of the job yet
                reads.update({f"fresh {k}": v for k, v in fresh.items()})
                assert reads == dict.fromkeys(reads, final.state), (
                    f"{job_id} waited to {final.state}: {reads}"
                )
                if job_id == cancelled and contract_harness.cancel_reaches_cancelled:
                    assert final.state is JobState.CANCELLED, f"a cancelled job reads {final.state}"
        finally:
            observer.close()

    def test_b51_list_selects_by_state(self, run: Runner, contract_harness: Harness) -> None:
        """Behaviour 51: list(state=...) lists the jobs in that state (any of several), on every backend.

        Names are read in any case; a finished job of the state is never left
        out and one of another state never listed; ``list_page`` and ``limit``
        apply the same selection.  An unknown state is a SpecError before any request.
        """
        self._require(run, Operation.LIST)
        if contract_harness.backdoor is not None:
            for state in (JobState.SUCCEEDED, JobState.FAILED, JobState.RUNNING):
                contract_harness.backdoor.seed(state)
        elif run.client.capabilities.supports(Operation.CREATE):
            self._create(run, contract_harness, display_name="contract b51")
        everything: list[TuningJob] = run("list")
        finished = {job.id: job.state for job in everything if job.state.is_terminal}
        for state in {job.state for job in everything}:
            selected: list[TuningJob] = run("list", state=state.value.lower())
            assert all(job.state is state for job in selected), f"state={state} listed {selected}"
            ids = {job.id for job in selected}
            assert {i for i, s in finished.items() if s is state} <= ids, f"state={state} left jobs out"
            if state.is_terminal:  # a running job may have moved on since the first list
                assert len(run("list", state=state, limit=1)) == 1
            page: Page[TuningJob] = run("list_page", state=state, page_size=1)
            assert all(job.state is state for job in page.items)
        both = {JobState.SUCCEEDED, JobState.FAILED}
        union = {job.id for job in run("list", state=sorted(both))}
        assert {i for i, s in finished.items() if s in both} <= union
        assert all(finished.get(i, JobState.SUCCEEDED) in both for i in union)
        before = run.client.driver.request_count
        with pytest.raises(SpecError):
            run("list", state="NO_SUCH_STATE")
        assert run.client.driver.request_count == before

    def test_b52_list_selects_by_labels(self, run: Runner, contract_harness: Harness) -> None:
        """Behaviour 52: list(labels=...) lists exactly the jobs carrying every label given.

        A backend whose jobs carry no labels (it refuses them at create with
        UnsupportedParameter) lists none, without an error.
        """
        self._require(run, Operation.CREATE, Operation.LIST)
        tag = uuid.uuid4().hex[:8]
        refused: UnsupportedParameter | None = None
        try:
            first = self._create(run, contract_harness, labels={"b52": tag, "side": "a"})
        except UnsupportedParameter as error:
            refused = error
        if refused is not None:
            assert refused.parameter == "labels"
            self._create(run, contract_harness)
            assert run("list", labels={"b52": tag}) == []
            return
        second = self._create(run, contract_harness, labels={"b52": tag, "side": "b"})
        self._create(run, contract_harness, labels={"b52": "other"})
        assert {j.id for j in run("list", labels={"b52": tag})} == {first.id, second.id}
        assert [j.id for j in run("list", labels={"b52": tag, "side": "b"})] == [second.id]
        assert run("list", labels={"b52": tag, "side": "c"}) == []
        for job in run("list", labels={"b52": tag}):
            assert job.labels["b52"] == tag

    def test_b53_a_filter_the_backend_cannot_honour_is_refused(
        self, run: Runner, contract_harness: Harness
    ) -> None:
        """Behaviour 53: a raw filter the backend cannot honour raises FilterError naming it, never []."""
        self._require(run, Operation.LIST)
        expression = "tuneport_no_such_field=1"
        with pytest.raises(FilterError) as info:
            run("list", filter=expression)
        assert expression in info.value.filter
        assert info.value.field == "filter"

    def test_b54_limit_and_paging_count_selected_jobs(self, run: Runner, contract_harness: Harness) -> None:
        """Behaviour 54: with a selection, limit counts selected jobs and paging covers them all once.

        State and labels together select the jobs matching both.
        """
        self._require(run, Operation.LIST)
        backdoor = self._backdoor(contract_harness)
        seeded = {backdoor.seed(JobState.SUCCEEDED) for _ in range(3)}
        backdoor.seed(JobState.RUNNING)
        listed: list[TuningJob] = run("list", state="SUCCEEDED", page_size=1)
        ids = [job.id for job in listed]
        assert len(ids) == len(set(ids)), "a selected job was listed twice"
        assert seeded <= set(ids)
        limited: list[TuningJob] = run("list", state="SUCCEEDED", page_size=1, limit=2)
        assert [job.state for job in limited] == [JobState.SUCCEEDED] * 2
        assert run("list", state="SUCCEEDED", labels={"tuneport-b54": "none"}) == []

    # --- wait --------------------------------------------------------------------------------------

    def test_b09_wait_reaches_success(self, run: Runner, contract_harness: Harness) -> None:
        """Behaviour 9: wait on a running job returns it SUCCEEDED."""
        job = self._create(run, contract_harness)
        self._require(run, Operation.GET)
        step = contract_harness.finish_after / 10
        done: TuningJob = run(
            "wait", job.id, poll=_POLL, progress=progress_advancing(contract_harness.backdoor, step)
        )
        assert done.state is JobState.SUCCEEDED

    def test_b10_wait_raises_job_failed_with_the_error(self, run: Runner, contract_harness: Harness) -> None:
        """Behaviour 10: wait on a failed job raises JobFailed carrying the job and its error."""
        job_id = self._backdoor(contract_harness).seed(JobState.FAILED)
        with pytest.raises(JobFailed) as info:
            run("wait", job_id, poll=_POLL)
        assert info.value.job.state is JobState.FAILED
        assert info.value.job.error is not None
        assert info.value.job.error.message

    def test_b11_wait_can_return_failures(self, run: Runner, contract_harness: Harness) -> None:
        """Behaviour 11: wait(raise_on_failure=False) returns the failed job."""
        job_id = self._backdoor(contract_harness).seed(JobState.FAILED)
        job: TuningJob = run("wait", job_id, poll=_POLL, raise_on_failure=False)
        assert job.state is JobState.FAILED

    def test_b12_wait_times_out(self, run: Runner, contract_harness: Harness) -> None:
        """Behaviour 12: wait raises WaitTimeout with the last job seen when time runs out."""
        job_id = self._backdoor(contract_harness).seed(JobState.RUNNING)
        with pytest.raises(WaitTimeout) as info:
            run("wait", job_id, poll=_POLL, timeout=5)
        assert info.value.last is not None
        assert info.value.last.id == job_id

    def test_b13_terminal_states_are_stable(self, run: Runner, contract_harness: Harness) -> None:
        """Behaviour 13: a finished job stays finished on every read."""
        job = self._finished(run, contract_harness)
        assert job.state.is_terminal
        assert run("get", job.id).state is job.state

    # --- cancel ------------------------------------------------------------------------------------

    def test_b14_cancel_moves_to_cancelling_or_cancelled(
        self, run: Runner, contract_harness: Harness
    ) -> None:
        """Behaviour 14: cancel of a running job returns it CANCELLING or CANCELLED.

        A best-effort cancel (``cancel_reaches_cancelled=False``) may leave the
        job running, but must still return the same job, never as failed, and
        what it returns must hold on the next get: a job it reports stopping
        or stopped is not running again.
        """
        job = self._create(run, contract_harness)
        self._require(run, Operation.CANCEL)
        cancelled: TuningJob = run("cancel", job.id)
        assert cancelled.id == job.id
        assert cancelled.backend == job.backend
        if contract_harness.cancel_reaches_cancelled:
            assert cancelled.state in (JobState.CANCELLING, JobState.CANCELLED)
        else:
            allowed = (JobState.PENDING, JobState.RUNNING, JobState.SUCCEEDED, *_STOPPING)
            assert cancelled.state in allowed, f"a cancel returned the job {cancelled.state}"
        if run.client.capabilities.supports(Operation.GET):
            again: TuningJob = run("get", job.id)
            if cancelled.state is JobState.CANCELLING:
                assert again.state in _STOPPING, f"cancelling, then {again.state}"
            elif cancelled.state.is_terminal:
                assert again.state is cancelled.state, f"{cancelled.state}, then {again.state}"
            else:
                assert again.state is not JobState.FAILED, "a cancel made the job fail"

    def test_b15_wait_returns_a_cancelled_job(self, run: Runner, contract_harness: Harness) -> None:
        """Behaviour 15: wait after cancel returns the job CANCELLED (cancelling is not a failure)."""
        if not contract_harness.cancel_reaches_cancelled:
            pytest.skip("this backend's cancel is best-effort")
        job = self._create(run, contract_harness)
        self._require(run, Operation.CANCEL)
        run("cancel", job.id)
        step = contract_harness.finish_after / 10
        done: TuningJob = run(
            "wait", job.id, poll=_POLL, progress=progress_advancing(contract_harness.backdoor, step)
        )
        assert done.state is JobState.CANCELLED

    def test_b16_cancel_unknown_id(self, run: Runner, contract_harness: Harness) -> None:
        """Behaviour 16: cancel of an unknown id raises NotFoundError."""
        self._require(run, Operation.CANCEL)
        with pytest.raises(NotFoundError):
            run("cancel", UNKNOWN_ID)

    # --- delete ------------------------------------------------------------------------------------

    def test_b17_delete_is_idempotent(self, run: Runner, contract_harness: Harness) -> None:
        """Behaviour 17: delete of a finished job succeeds, and succeeds again."""
        self._require(run, Operation.DELETE)
        job = self._finished(run, contract_harness)
        assert run("delete", job.id) is True
        assert run("delete", job.id) is False

    def test_b18_delete_of_unknown_id_is_not_an_error(self, run: Runner, contract_harness: Harness) -> None:
        """Behaviour 18: delete of an id that does not exist is a no-op (it returns False)."""
        self._require(run, Operation.DELETE)
        assert run("delete", UNKNOWN_ID) is False

    def test_b19_deleted_model_answers_no_more(self, run: Runner, contract_harness: Harness) -> None:
        """Behaviour 19: after delete, the tuned model can no longer be called."""
        self._require(run, Operation.DELETE, Operation.GENERATE)
        job = self._finished(run, contract_harness)
        run("delete", job.id)
        with pytest.raises((NotFoundError, JobNotReady)):
            run("generate", job.id, contract_harness.prompt)

    # --- generate ----------------------------------------------------------------------------------

    def test_b20_generate_answers_from_a_succeeded_job(self, run: Runner, contract_harness: Harness) -> None:
        """Behaviour 20: generate on a succeeded job returns text."""
        self._require(run, Operation.GENERATE)
        job = self._finished(run, contract_harness)
        generation = run("generate", job.id, contract_harness.prompt)
        assert isinstance(generation.text, str)
        assert generation.text

    def test_b21_generate_refuses_an_unfinished_job(self, run: Runner, contract_harness: Harness) -> None:
        """Behaviour 21: generate on an unfinished job raises JobNotReady."""
        self._require(run, Operation.GENERATE)
        job = self._create(run, contract_harness)
        if run("get", job.id).state.is_terminal:
            pytest.skip("the job finished at once")
        with pytest.raises(JobNotReady):
            run("generate", job.id, contract_harness.prompt)

    def test_b22_generate_unknown_id(self, run: Runner, contract_harness: Harness) -> None:
        """Behaviour 22: generate on an unknown id raises NotFoundError."""
        self._require(run, Operation.GENERATE)
        with pytest.raises(NotFoundError):
            run("generate", UNKNOWN_ID, contract_harness.prompt)

    def test_b23_generation_keeps_usage_and_raw(self, run: Runner, contract_harness: Harness) -> None:
        """Behaviour 23: a generation keeps the provider's reply and non-negative token counts.

        The text is read from the reply kept in ``raw`` (it is found among the
        reply's strings), the first candidate is the text, and the token counts
        the provider reports add up: each a whole number, the prompt and a
        non-empty answer at least one token each, the total at least their sum.
        """
        self._require(run, Operation.GENERATE)
        job = self._finished(run, contract_harness)
        generation = run("generate", job.id, contract_harness.prompt)
        assert isinstance(generation.raw, dict)
        assert generation.raw, "the provider's reply is not kept"
        assert generation.text in "".join(_strings(generation.raw)), (
            "the text is not in the reply kept in raw"
        )
        if generation.candidates:
            assert generation.candidates[0] == generation.text
        usage = generation.usage
        counts = {"prompt": usage.prompt_tokens, "output": usage.output_tokens, "total": usage.total_tokens}
        for name, count in counts.items():
            assert count is None or (type(count) is int and count >= 0), f"{name} tokens: {count!r}"
        if usage.prompt_tokens is not None:
            assert usage.prompt_tokens >= 1, "a non-empty prompt is at least one token"
        if usage.output_tokens is not None and generation.text:
            assert usage.output_tokens >= 1, "a non-empty answer is at least one token"
        if usage.total_tokens is not None:
            parts = [n for n in (usage.prompt_tokens, usage.output_tokens) if n is not None]
            assert usage.total_tokens >= sum(parts), f"total below prompt + output: {usage}"

    # --- metrics -----------------------------------------------------------------------------------

    def test_b24_metrics_after_success_are_not_empty(self, run: Runner, contract_harness: Harness) -> None:
        """Behaviour 24: metrics of a succeeded job hold at least one non-empty series."""
        self._require(run, Operation.METRICS)
        job = self._finished(run, contract_harness)
        metrics = run("metrics", job.id)
        assert any(points for points in metrics.series.values())

    def test_b25_metrics_are_monotonic_in_step(self, run: Runner, contract_harness: Harness) -> None:
        """Behaviour 25: within each series, steps strictly increase."""
        self._require(run, Operation.METRICS)
        job = self._finished(run, contract_harness)
        for name, points in run("metrics", job.id).series.items():
            steps = [p.step for p in points]
            assert steps == sorted(set(steps)), f"series {name} is not strictly increasing in step"

    def test_b26_metrics_unknown_id(self, run: Runner, contract_harness: Harness) -> None:
        """Behaviour 26: metrics of an unknown id raise NotFoundError."""
        self._require(run, Operation.METRICS)
        with pytest.raises(NotFoundError):
            run("metrics", UNKNOWN_ID)

    # --- refusals before any request -----------------------------------------------------------------

    def test_b27_unsupported_parameters_are_refused_before_any_request(
        self, run: Runner, contract_harness: Harness
    ) -> None:
        """Behaviour 27: a hyperparameter the backend does not declare is refused, nothing sent."""
        self._require(run, Operation.CREATE)
        declared = run.client.capabilities.hyperparameters
        undeclared = [name for name in Hyperparameters.model_fields if name not in declared]
        if not undeclared:
            pytest.skip("the backend accepts every hyperparameter")
        before = run.client.driver.request_count
        value = 4 if undeclared[0] in ("epoch_count", "batch_size", "adapter_size") else 0.5
        with pytest.raises(UnsupportedParameter) as info:
            run("create", **{**contract_harness.spec, undeclared[0]: value})
        assert info.value.parameter == f"hyperparameters.{undeclared[0]}"
        assert run.client.driver.request_count == before

    def test_b28_bad_values_are_refused_before_any_request(
        self, run: Runner, contract_harness: Harness
    ) -> None:
        """Behaviour 28: invalid hyperparameter values raise SpecError naming the field, nothing sent."""
        self._require(run, Operation.CREATE)
        before = run.client.driver.request_count
        for name, value in contract_harness.bad_values.items():
            with pytest.raises(SpecError) as info:
                run("create", **{**contract_harness.spec, name: value})
            assert info.value.field == f"hyperparameters.{name}"
        assert run.client.driver.request_count == before

    def test_b29_invalid_specs_name_the_field(self, run: Runner, contract_harness: Harness) -> None:
        """Behaviour 29: an empty base model raises SpecError on base_model, nothing sent."""
        self._require(run, Operation.CREATE)
        before = run.client.driver.request_count
        with pytest.raises(SpecError) as info:
            run("create", **{**contract_harness.spec, "base_model": ""})
        assert info.value.field == "base_model"
        assert run.client.driver.request_count == before

    # --- what every job carries ------------------------------------------------------------------------

    def test_b30_jobs_keep_the_provider_json(self, run: Runner, contract_harness: Harness) -> None:
        """Behaviour 30: every job keeps the provider's JSON in raw."""
        job = self._create(run, contract_harness)
        assert job.raw
        assert run("get", job.id).raw

    def test_b31_times_are_timezone_aware(self, run: Runner, contract_harness: Harness) -> None:
        """Behaviour 31: every time a job reports is timezone-aware."""
        job = self._finished(run, contract_harness)
        for moment in (job.create_time, job.start_time, job.end_time, job.update_time):
            assert moment is None or moment.tzinfo is not None

    def test_b32_progress_is_a_fraction(self, run: Runner, contract_harness: Harness) -> None:
        """Behaviour 32: progress, when reported, is within 0..1, and 1 after success."""
        job = self._create(run, contract_harness)
        assert job.progress is None or 0 <= job.progress <= 1
        done = self._finished(run, contract_harness)
        assert done.progress in (None, 1.0)

    # --- secrets, capabilities, settings -------------------------------------------------------------

    def test_b33_credentials_never_leak(
        self, run: Runner, contract_harness: Harness, caplog: pytest.LogCaptureFixture
    ) -> None:
        """Behaviour 33: credentials never appear in reprs, errors or logs (debug included)."""
        if not contract_harness.secrets:
            pytest.skip("the harness plants no credentials")
        texts = [repr(run.client), repr(run.client.backend), repr(run.client.backend.settings)]
        with caplog.at_level(logging.DEBUG):
            try:
                run("get", UNKNOWN_ID)
            except TuneportError as error:
                texts += [str(error), repr(error)]
            if run.client.capabilities.supports(Operation.CREATE):
                job = self._create(run, contract_harness)
                texts.append(repr(job))
        texts.append(caplog.text)
        for secret in contract_harness.secrets:
            for text in texts:
                assert secret not in text

    def test_b34_unsupported_operations_raise_and_really_are_unsupported(
        self, run: Runner, contract_harness: Harness
    ) -> None:
        """Behaviour 34: declared-unsupported operations raise UnsupportedCapability (and truly fail)."""
        unsupported = [op for op in Operation if not run.client.capabilities.supports(op)]
        if not unsupported:
            pytest.skip("every operation is declared supported")
        arguments: dict[Operation, tuple[Any, ...]] = {
            Operation.CREATE: (),
            Operation.LIST: (),
            Operation.GET: (UNKNOWN_ID,),
            Operation.CANCEL: (UNKNOWN_ID,),
            Operation.DELETE: (UNKNOWN_ID,),
            Operation.GENERATE: (UNKNOWN_ID, contract_harness.prompt),
            Operation.METRICS: (UNKNOWN_ID,),
        }
        for operation in unsupported:
            method = "list_page" if operation is Operation.LIST else operation.value
            kwargs = dict(contract_harness.spec) if operation is Operation.CREATE else {}
            with pytest.raises(UnsupportedCapability):
                run(method, *arguments[operation], **kwargs)
            _check_really_unsupported(run, operation, contract_harness)

    def test_b35_capabilities_are_data(self, run: Runner, contract_harness: Harness) -> None:
        """Behaviour 35: capabilities name known operations and hyperparameters only.

        They are data: frozen, the same on every read, a JSON summary that
        rebuilds them, hyperparameters the port
        knows, the data source of the harness's spec among those declared, and
        a declared maximum page size that the service accepts.
        """
        caps = run.client.capabilities
        assert caps == run.client.capabilities  # declared, not computed per call
        with pytest.raises(PydanticValidationError):
            caps.max_page_size = 1  # type: ignore[misc]
        assert Capabilities.model_validate(json.loads(json.dumps(caps.summary()))) == caps
        unknown = caps.hyperparameters - set(Hyperparameters.model_fields)
        assert not unknown, f"declared hyperparameters the port does not know: {sorted(unknown)}"
        if caps.supports(Operation.CREATE):
            source = contract_harness.spec["training_data"]
            kind = (
                "uri" if "://" in str(source) else "file" if isinstance(source, (str, PathLike)) else "inline"
            )
            assert kind in caps.data_sources, f"the harness's {kind} training data is not declared"
        if caps.max_page_size is not None:
            assert caps.max_page_size >= 1
            if caps.supports(Operation.LIST):
                page: Page[TuningJob] = run("list_page", page_size=caps.max_page_size)
                assert len(page.items) <= caps.max_page_size

    def test_b36_settings_refuse_unknown_keys(self, contract_harness: Harness) -> None:
        """Behaviour 36: a misspelt setting is a ConfigError naming the key."""
        options = {**contract_harness.connect, "no_such_setting_b36": 1}
        with pytest.raises(ConfigError) as info:
            tuneport.connect(**options)
        assert info.value.key == "no_such_setting_b36"

    # --- reliability ---------------------------------------------------------------------------------

    @pytest.mark.parametrize("kind", ["sync", "async"])
    def test_b37_a_create_whose_answers_are_lost_leaves_one_job(
        self, kind: str, contract_harness: Harness
    ) -> None:
        """Behaviour 37: a create whose answers are lost after the service acted leaves exactly one job."""
        backdoor = contract_harness.backdoor
        options: dict[str, Any] = {
            "clock": ServiceLinkedClock(backdoor) if backdoor is not None else ManualClock(),
            **contract_harness.connect,
        }
        if "http_client" in options:
            pytest.skip("the harness passes its own http_client: there is no transport to wrap")
        inner = options.pop("transport", None)  # the harness's own (e.g. a fake service's)
        runner: Runner
        transport: AnswerLosingTransport | AsyncAnswerLosingTransport
        if kind == "sync":
            transport = AnswerLosingTransport(inner)
            runner = SyncRunner(tuneport.connect(transport=transport, **options))
        else:
            transport = AsyncAnswerLosingTransport(inner)
            runner = AsyncRunner(tuneport.connect_async(transport=transport, **options))
        try:
            self._require(runner, Operation.CREATE, Operation.LIST)
            name = f"b37-{uuid.uuid4().hex[:8]}"
            job = self._create(runner, contract_harness, display_name=name)
            if transport.loss.requests == 0:
                pytest.skip("the backend sends no HTTP requests through the client (an SDK-based backend)")
            assert transport.loss.lost >= 1  # the create's own answer, at least, was lost
            same = [j for j in runner("list") if j.display_name == name]
            assert [j.id for j in same] == [job.id], "a lost answer made the backend create the job twice"
        finally:
            runner.close()

    # --- concurrency ---------------------------------------------------------------------------------

    def test_b38_concurrent_flows_raise_typed_errors_and_agree_with_the_service(
        self, run: Runner, contract_harness: Harness
    ) -> None:
        """Behaviour 38: get, list, cancel and delete raced on one client raise only typed errors and agree.

        The sync runner races the calls in threads sharing one ``TuningClient``,
        the async runner with ``asyncio.gather`` on one ``AsyncTuningClient``:
        either way every flow runs on the same backend instance and whatever it
        caches.  Another client deletes some jobs first, so what the racing
        client remembers about them is stale when the race starts.  Afterwards
        the racing client, a fresh client and both clients' lists report the
        same state for every job; deleted jobs are gone (or, where the service
        keeps the job's record, their tuned model answers no more).
        """
        self._require(run, Operation.GET, Operation.LIST)
        caps = run.client.capabilities
        jobs: list[str] = []
        if caps.supports(Operation.CREATE):
            for i in range(4):
                jobs.append(self._create(run, contract_harness, display_name=f"contract b38 {i}").id)
        if contract_harness.backdoor is not None:
            seed = contract_harness.backdoor.seed
            jobs += [seed(JobState.SUCCEEDED), seed(JobState.SUCCEEDED), seed(JobState.RUNNING)]
        if len(jobs) < 3:
            pytest.skip("needs jobs to race on: create, or the service's backdoor")
        # Every job read once through the racing client: whatever its backend caches is warm.
        before = {job_id: run("get", job_id).state for job_id in jobs}
        can_delete, can_cancel = caps.supports(Operation.DELETE), caps.supports(Operation.CANCEL)
        stale = jobs[0::3] if can_delete else []  # deleted by another client before the race
        raced_deletes = (jobs[1::3] + jobs[:1]) if can_delete else []  # jobs[0] is gone already
        observer = self._observer(contract_harness)
        try:
            for job_id in stale:
                observer("delete", job_id)
            calls = [Call("list")]
            for job_id in jobs:
                calls.append(Call("get", (job_id,)))
                if can_cancel:
                    calls.append(Call("cancel", (job_id,)))
                if job_id in raced_deletes:
                    calls.append(Call("delete", (job_id,)))
                calls += [Call("get", (job_id,)), Call("get", (job_id,))]
                if job_id in raced_deletes:
                    calls.append(Call("delete", (job_id,)))  # deletes race each other too
            calls.append(Call("list"))
            outcomes = run.race(calls)

            untyped = [o for o in outcomes if o.error is not None and not _typed(o.error)]
            assert not untyped, "calls raced on one client raised untyped errors:\n" + "\n".join(
                f"  {o.call}: {_describe(o.error)}" for o in untyped if o.error is not None
            )
            deletes = [o for o in outcomes if o.call.method == "delete" and o.error is None]
            deleted = set(stale) | {o.call.args[0] for o in deletes}
            _check_race_answers(outcomes, deleted)

            # After the race: the racing client agrees with a fresh one, and each list with both.
            final = {job_id: _state_or_gone(run, job_id) for job_id in jobs}
            fresh = {job_id: _state_or_gone(observer, job_id) for job_id in jobs}
            assert final == fresh, f"after the race the racing client reports {final}, a fresh client {fresh}"
            present = {job_id: state for job_id, state in final.items() if state is not None}
            for who, runner in (("racing", run), ("fresh", observer)):
                listed = {job.id: job.state for job in runner("list") if job.id in final}
                assert listed.keys() == present.keys(), f"the {who} client lists {listed}; get has {present}"
                for job_id, state in listed.items():
                    # A list may say less than get (no progress), never "finished" for a running job.
                    assert state.is_terminal == present[job_id].is_terminal, f"{job_id}: {listed}, {present}"
            for outcome in outcomes:
                for job in _jobs_in(outcome):
                    if job.id in present and job.state.is_terminal:
                        # A finished job stays finished; get and cancel also keep the very state.
                        assert present[job.id].is_terminal, f"{outcome.call} saw {job.id} {job.state}"
                        if outcome.call.method != "list":
                            assert present[job.id] is job.state, f"{outcome.call} saw {job.id} {job.state}"
            for job_id in deleted:
                if final[job_id] is None:
                    continue
                # The service keeps the job's record (Vertex keeps tuning jobs): its model must be gone.
                assert caps.supports(Operation.GENERATE), f"{job_id} was deleted, yet get still returns it"
                with pytest.raises((NotFoundError, JobNotReady)):
                    run("generate", job_id, contract_harness.prompt)
            if can_cancel and contract_harness.cancel_reaches_cancelled:
                for job_id, state in present.items():
                    cancelled = any(o.call == Call("cancel", (job_id,)) and not o.error for o in outcomes)
                    if cancelled and not before[job_id].is_terminal:
                        assert state in (JobState.CANCELLING, JobState.CANCELLED), f"{job_id} is {state}"
        finally:
            observer.close()

    # --- portability: the same program sees the same results on every backend (issue #15) ---------
    # Behaviours 39-49 cover metrics, cancel, delete and errors; 50 onwards cover listing.

    def test_b39_metrics_carry_canonical_names(self, run: Runner, contract_harness: Harness) -> None:
        """Behaviour 39: a succeeded job's loss curve is ``train_loss``; native names stay reachable.

        Every series the backend renamed is a canonical name
        (``tuneport.models.CANONICAL_SERIES``), and ``native()`` returns it by
        the provider's own name; a series kept under a native name never takes
        a canonical name the backend did not mean.
        """
        self._require(run, Operation.METRICS)
        job = self._finished(run, contract_harness)
        metrics: Metrics = run("metrics", job.id)
        assert metrics.series.get("train_loss"), f"no train_loss series among {sorted(metrics.series)}"
        for canonical, native in metrics.native_names.items():
            assert canonical in CANONICAL_SERIES, f"{native!r} renamed to {canonical!r}, not a canonical name"
            assert canonical in metrics.series, f"native_names names {canonical!r}, which has no series"
            assert metrics.native(native) == metrics.series[canonical]
            assert native not in metrics.series, f"{native!r} is reported twice"

    def test_b40_cancel_of_a_finished_job_returns_it_unchanged(
        self, run: Runner, contract_harness: Harness
    ) -> None:
        """Behaviour 40: cancel of a finished job (succeeded, failed) returns it unchanged, no error."""
        self._require(run, Operation.CANCEL, Operation.GET)
        finished = [self._finished(run, contract_harness)]
        if contract_harness.backdoor is not None:
            finished.append(run("get", contract_harness.backdoor.seed(JobState.FAILED)))
        for job in finished:
            cancelled: TuningJob = run("cancel", job.id)
            assert (cancelled.id, cancelled.state) == (job.id, job.state), f"cancel changed {job.id}"
            again: TuningJob = run("get", job.id)
            assert again.state is job.state, f"{job.state}, cancelled, then {again.state}"

    def test_b41_delete_tells_whether_anything_was_deleted(
        self, run: Runner, contract_harness: Harness
    ) -> None:
        """Behaviour 41: delete returns True when it deleted something, False when there was nothing."""
        self._require(run, Operation.DELETE)
        job = self._finished(run, contract_harness)
        assert run("delete", job.id) is True
        assert run("delete", job.id) is False
        assert run("delete", UNKNOWN_ID) is False

    def test_b42_a_deleted_job_is_gone_however_it_is_read(
        self, run: Runner, contract_harness: Harness
    ) -> None:
        """Behaviour 42: after delete, get, cancel, generate and metrics raise NotFoundError; list omits it.

        The job is a succeeded one.  The same on every backend, including those whose service keeps the
        job's record (Vertex keeps tuning jobs): generate never raises
        JobNotReady for a deleted job, nor an error about an endpoint.
        """
        self._require(run, Operation.DELETE, Operation.GET)
        job = self._finished(run, contract_harness)
        assert run("delete", job.id) is True
        reads: dict[str, tuple[str, ...]] = {"get": (job.id,)}
        others: dict[Operation, tuple[str, ...]] = {
            Operation.CANCEL: (job.id,),
            Operation.GENERATE: (job.id, contract_harness.prompt),
            Operation.METRICS: (job.id,),
        }
        for operation, arguments in others.items():
            if run.client.capabilities.supports(operation):
                reads[operation.value] = arguments
        for method, arguments in reads.items():
            with pytest.raises(NotFoundError):
                run(method, *arguments)
        if run.client.capabilities.supports(Operation.LIST):
            assert job.id not in {j.id for j in run("list")}, "list still shows a deleted job"

    def test_b43_the_same_mistakes_raise_the_same_errors(
        self, run: Runner, contract_harness: Harness
    ) -> None:
        """Behaviour 43: each mistake raises the one typed error the port names for it, on every backend.

        Unknown id: NotFoundError from get, cancel, generate, metrics and wait
        (delete returns False).  A job not finished yet: generate raises
        JobNotReady.  A hyperparameter the backend does not declare:
        UnsupportedParameter.  (Deleted jobs: behaviour 42; undeclared
        operations: behaviour 34.)
        """
        caps = run.client.capabilities
        table: list[tuple[str, tuple[Any, ...], dict[str, Any], type[Exception]]] = [
            ("get", (UNKNOWN_ID,), {}, NotFoundError),
            ("cancel", (UNKNOWN_ID,), {}, NotFoundError),
            ("generate", (UNKNOWN_ID, contract_harness.prompt), {}, NotFoundError),
            ("metrics", (UNKNOWN_ID,), {}, NotFoundError),
            ("wait", (UNKNOWN_ID,), {"poll": _POLL}, NotFoundError),
        ]
        if contract_harness.backdoor is not None:
            running = contract_harness.backdoor.seed(JobState.RUNNING)
            table.append(("generate", (running, contract_harness.prompt), {}, JobNotReady))
        undeclared = [name for name in Hyperparameters.model_fields if name not in caps.hyperparameters]
        if undeclared and caps.supports(Operation.CREATE):
            value = 4 if undeclared[0] in ("epoch_count", "batch_size", "adapter_size") else 0.5
            spec = {**contract_harness.spec, undeclared[0]: value}
            table.append(("create", (), spec, UnsupportedParameter))
        wrong = []
        for method, arguments, keywords, expected in table:
            operation = Operation("get" if method == "wait" else method)
            if not caps.supports(operation):
                continue
            try:
                run(method, *arguments, **keywords)
            except Exception as error:  # the table reports every row, then fails once
                if type(error) is not expected:
                    wrong.append(
                        f"{method}{arguments}: {type(error).__name__}: {error}, not {expected.__name__}"
                    )
            else:
                wrong.append(f"{method}{arguments}: no error, not {expected.__name__}")
        assert not wrong, "mistakes raised other errors than the port's:\n" + "\n".join(wrong)
        if caps.supports(Operation.DELETE):
            assert run("delete", UNKNOWN_ID) is False

    # --- tuning methods, continuous tuning, checkpoints (issue #16, behaviours 55-64) ---------------

    def test_b55_each_declared_method_runs(self, run: Runner, contract_harness: Harness) -> None:
        """Behaviour 55: a job of each declared tuning method runs to success and reports its method.

        For each method in ``capabilities.methods``: created with the harness's
        data for it (supervised: ``spec``; preference: ``preference_data``;
        distillation: ``prompt_data`` and ``teacher_model``), waited for, it
        ends SUCCEEDED with ``job.method`` that method, on every read, and its
        tuned model answers.
        """
        self._require(run, Operation.CREATE, Operation.GET)
        caps = run.client.capabilities
        step = contract_harness.finish_after / 10
        for method in sorted(caps.methods):
            spec = _method_spec(caps, contract_harness, method)
            job = self._create(run, contract_harness, **spec)
            assert job.method in (None, method), f"a {method} job was created as {job.method}"
            done: TuningJob = run(
                "wait", job.id, poll=_POLL, progress=progress_advancing(contract_harness.backdoor, step)
            )
            assert done.state is JobState.SUCCEEDED, f"the {method} job ended {done.state}"
            assert done.method is method, f"a {method} job reads as {done.method}"
            assert run("get", job.id).method is method
            if caps.supports(Operation.GENERATE):
                generation = run("generate", job.id, contract_harness.prompt)
                assert generation.text, f"the model of the {method} job gave no answer"

    def test_b56_an_undeclared_method_is_refused_before_any_request(
        self, run: Runner, contract_harness: Harness
    ) -> None:
        """Behaviour 56: a job of a tuning method the backend does not declare is refused, nothing sent.

        Each method missing from ``capabilities.methods`` raises
        UnsupportedCapability, before any request: no request, no job.
        """
        self._require(run, Operation.CREATE)
        caps = run.client.capabilities
        undeclared = [method for method in TuningMethod if method not in caps.methods]
        if not undeclared:
            pytest.skip("not applicable: the backend declares every tuning method")
        for method in undeclared:
            spec = _method_spec(caps, contract_harness, method, teacher="tuneport-contract-teacher")
            with _nothing_sent(run), pytest.raises(UnsupportedCapability):
                run("create", **spec)

    def test_b57_a_hyperparameter_a_method_does_not_take_is_refused(
        self, run: Runner, contract_harness: Harness
    ) -> None:
        """Behaviour 57: per declared method, a hyperparameter it does not take is refused, nothing sent.

        Each Hyperparameters field missing from
        ``capabilities.hyperparameters_of(method)`` (``beta`` on a supervised
        job, say) raises UnsupportedParameter naming ``hyperparameters.<name>``.
        """
        self._require(run, Operation.CREATE)
        caps = run.client.capabilities
        checked = 0
        for method in sorted(caps.methods):
            spec = _method_spec(caps, contract_harness, method)
            for name in Hyperparameters.model_fields:
                if name in caps.hyperparameters_of(method):
                    continue
                with _nothing_sent(run), pytest.raises(UnsupportedParameter) as info:
                    run("create", **{**spec, name: _SAMPLE_HYPERPARAMETERS[name]})
                assert info.value.parameter == f"hyperparameters.{name}", f"{method} tuning, {name}"
                checked += 1
        if not checked:
            pytest.skip("not applicable: every declared method takes every hyperparameter")

    def test_b58_an_undeclared_spec_field_is_refused_before_any_request(
        self, run: Runner, contract_harness: Harness
    ) -> None:
        """Behaviour 58: an optional spec field the backend does not send is refused, never dropped.

        Each field of ``tuneport.preflight.SPEC_FIELDS`` missing from
        ``capabilities.spec_fields`` (``output_uri``, ``service_account``…),
        and ``evaluation`` without ``capabilities.evaluation``, raises
        UnsupportedParameter naming it, before any request.
        """
        self._require(run, Operation.CREATE)
        caps = run.client.capabilities
        fields = {name: _SAMPLE_SPEC_FIELDS[name] for name in SPEC_FIELDS if name not in caps.spec_fields}
        if not caps.evaluation:
            fields["evaluation"] = _SAMPLE_SPEC_FIELDS["evaluation"]
        if not fields:
            pytest.skip("not applicable: the backend sends every optional spec field")
        for name, value in fields.items():
            with _nothing_sent(run), pytest.raises(UnsupportedParameter) as info:
                run("create", **{**contract_harness.spec, name: value})
            assert info.value.parameter == name

    def test_b59_a_job_continues_from_a_tuned_model_or_checkpoint(
        self, run: Runner, contract_harness: Harness
    ) -> None:
        """Behaviour 59: with continuous tuning, a job continued from a finished job runs and says so.

        ``create(tuned_model=<job id>)`` — without a base model: the client
        takes the tuned model's — ends SUCCEEDED reporting ``source_model``,
        the finished job's tuned model; with checkpoints, one continued from
        a checkpoint (``checkpoint=<id>``) also reports ``source_checkpoint``.
        """
        self._require(run, Operation.CREATE, Operation.GET)
        caps = run.client.capabilities
        if not caps.continuous_tuning:
            pytest.skip("not applicable: the backend declares no continuous tuning (behaviour 60)")
        source = self._finished(run, contract_harness)
        assert source.tuned_model, f"the finished job {source.id} names no tuned model"
        spec = {k: v for k, v in contract_harness.spec.items() if k != "base_model"}
        starts: list[dict[str, Any]] = [{"tuned_model": source.id}]
        if caps.checkpoints:
            assert source.checkpoints, f"the finished job {source.id} lists no checkpoints"
            first = source.checkpoints[0]  # an earlier checkpoint than the default, where there are several
            starts.append({"tuned_model": source.id, "checkpoint": first.id})
        step = contract_harness.finish_after / 10
        for start in starts:
            job = self._create(run, contract_harness, **spec, **start)
            done: TuningJob = run(
                "wait", job.id, poll=_POLL, progress=progress_advancing(contract_harness.backdoor, step)
            )
            assert done.state is JobState.SUCCEEDED, f"continued {start}: {done.state}"
            assert done.source_model == source.tuned_model, f"continued {start}: from {done.source_model}"
            if "checkpoint" in start:
                assert done.source_checkpoint == start["checkpoint"], (
                    f"from checkpoint {done.source_checkpoint}"
                )
            if caps.supports(Operation.GENERATE):
                assert run("generate", done.id, contract_harness.prompt).text

    def test_b60_continuing_a_tuned_model_is_refused_where_undeclared(
        self, run: Runner, contract_harness: Harness
    ) -> None:
        """Behaviour 60: without continuous tuning, ``create(tuned_model=…)`` raises UnsupportedCapability.

        Before any request: the tuned model is not even looked up.
        """
        self._require(run, Operation.CREATE)
        if run.client.capabilities.continuous_tuning:
            pytest.skip("not applicable: the backend declares continuous tuning (behaviour 59)")
        for start in ({"tuned_model": UNKNOWN_ID}, {"tuned_model": UNKNOWN_ID, "checkpoint": "1"}):
            with _nothing_sent(run), pytest.raises(UnsupportedCapability):
                run("create", **{**contract_harness.spec, **start})

    def test_b61_a_finished_job_lists_callable_checkpoints(
        self, run: Runner, contract_harness: Harness
    ) -> None:
        """Behaviour 61: with checkpoints, a finished job lists them, one the default, each callable.

        The ids are distinct and non-empty, epochs and steps (where reported)
        never go back, exactly one is the default, ``checkpoints(job)`` agrees
        with the job, ``generate(job, checkpoint=id)`` answers for each, and
        an id the job does not have is a SpecError on ``checkpoint``.
        """
        self._require(run, Operation.GET)
        if not run.client.capabilities.checkpoints:
            pytest.skip("not applicable: the backend declares no checkpoints (behaviour 62)")
        job = self._finished(run, contract_harness)
        checkpoints = job.checkpoints
        assert checkpoints, f"the finished job {job.id} lists no checkpoints"
        ids = [c.id for c in checkpoints]
        assert all(ids), f"a checkpoint without an id: {ids}"
        assert len(set(ids)) == len(ids), f"checkpoint ids repeat: {ids}"
        for attribute in ("epoch", "step"):
            values = [getattr(c, attribute) for c in checkpoints if getattr(c, attribute) is not None]
            assert values == sorted(values), f"checkpoint {attribute}s go back: {values}"
        assert [c.is_default for c in checkpoints].count(True) == 1, f"defaults: {checkpoints}"
        assert run("checkpoints", job.id) == checkpoints
        if run.client.capabilities.supports(Operation.GENERATE):
            for checkpoint in checkpoints:
                generation = run("generate", job.id, contract_harness.prompt, checkpoint=checkpoint.id)
                assert generation.text, f"checkpoint {checkpoint.id} gave no answer"
            with pytest.raises(SpecError) as info:
                run("generate", job.id, contract_harness.prompt, checkpoint="tuneport-no-such-checkpoint")
            assert info.value.field == "checkpoint"

    def test_b62_no_checkpoints_where_undeclared(self, run: Runner, contract_harness: Harness) -> None:
        """Behaviour 62: without checkpoints, a finished job lists none, and a checkpoint is not callable.

        ``generate(job, checkpoint=…)`` raises UnsupportedCapability, before any request.
        """
        caps = run.client.capabilities
        if caps.checkpoints:
            pytest.skip("not applicable: the backend declares checkpoints (behaviour 61)")
        self._require(run, Operation.GET)
        job = self._finished(run, contract_harness)
        assert job.checkpoints == (), "checkpoints are declared unsupported, yet the job lists some"
        if caps.supports(Operation.GENERATE):
            with _nothing_sent(run), pytest.raises(UnsupportedCapability):
                run("generate", job.id, contract_harness.prompt, checkpoint="1")

    def test_b63_the_default_checkpoint_can_be_changed(self, run: Runner, contract_harness: Harness) -> None:
        """Behaviour 63: with ``default_checkpoint``, ``set_default_checkpoint`` moves the default.

        The job it returns, and every later read, has that checkpoint as the
        one default; the tuned model still answers.
        """
        self._require(run, Operation.GET)
        if not run.client.capabilities.default_checkpoint:
            pytest.skip("not applicable: the default checkpoint cannot be changed (behaviour 64)")
        job = self._finished(run, contract_harness)
        others = [c for c in job.checkpoints if not c.is_default]
        assert others, f"the finished job {job.id} has no checkpoint besides its default: {job.checkpoints}"
        chosen = others[0]
        for read in (run("set_default_checkpoint", job.id, chosen.id), run("get", job.id)):
            defaults = [c.id for c in read.checkpoints if c.is_default]
            assert defaults == [chosen.id], f"after setting {chosen.id} the defaults are {defaults}"
        if run.client.capabilities.supports(Operation.GENERATE):
            assert run("generate", job.id, contract_harness.prompt).text

    def test_b64_setting_the_default_checkpoint_is_refused_where_undeclared(
        self, run: Runner, contract_harness: Harness
    ) -> None:
        """Behaviour 64: without ``default_checkpoint``, setting the default checkpoint is refused.

        ``set_default_checkpoint`` raises UnsupportedCapability before any
        request, and the backend's own operation refuses too (an implemented
        but undeclared one is an "unexpected success").
        """
        if run.client.capabilities.default_checkpoint:
            pytest.skip("not applicable: the backend declares default_checkpoint (behaviour 63)")
        with _nothing_sent(run), pytest.raises(UnsupportedCapability):
            run("set_default_checkpoint", UNKNOWN_ID, "1")
        backend = run.client.backend
        try:
            flow = backend.set_default_checkpoint(UNKNOWN_ID, "1")  # type: ignore[attr-defined]
            next(flow)
        except (UnsupportedCapability, AttributeError):
            return
        except (StopIteration, TuneportError):
            pass
        else:
            flow.close()
        pytest.fail("unexpected success: 'set_default_checkpoint' is declared unsupported but implemented")

    def _observer(self, harness: Harness) -> Runner:
        """A second, independent client of the same service (another process, as far as caches go)."""
        backdoor = harness.backdoor
        clock = ServiceLinkedClock(backdoor) if backdoor is not None else ManualClock()
        return SyncRunner(tuneport.connect(**{"clock": clock, **harness.connect}))


#: A valid value of each hyperparameter, to offer one a method does not take (behaviour 57).
_SAMPLE_HYPERPARAMETERS: dict[str, Any] = {
    "epoch_count": 4,
    "batch_size": 4,
    "learning_rate": 0.5,
    "learning_rate_multiplier": 0.5,
    "adapter_size": 4,
    "beta": 0.1,
}

#: A valid value of each optional spec field, to offer one the backend does not send (behaviour 58).
_SAMPLE_SPEC_FIELDS: dict[str, Any] = {
    "tuning_mode": "adapter",
    "output_uri": "gs://tuneport-contract/output",
    "custom_base_model": "gs://tuneport-contract/weights",
    "encryption_key": "projects/p/locations/us-central1/keyRings/r/cryptoKeys/k",
    "service_account": "contract@p.iam.gserviceaccount.com",
    "evaluation": {"metrics": ["bleu"], "output_uri": "gs://tuneport-contract/evaluation"},
}


def _method_spec(
    caps: Capabilities, harness: Harness, method: TuningMethod, *, teacher: str | None = None
) -> dict[str, Any]:
    """The harness's job, as a job of *method*: its data, and only the hyperparameters it takes.

    The harness's validation data is supervised, so another method's job goes without it.
    """
    spec = {k: v for k, v in harness.spec.items() if k not in Hyperparameters.model_fields}
    # An undeclared method takes nothing; its job (refused anyway) keeps the harness's.
    takes = caps.hyperparameters_of(method) if method in caps.methods else caps.hyperparameters
    spec.update({k: v for k, v in harness.spec.items() if k in Hyperparameters.model_fields and k in takes})
    spec["method"] = method.value
    if method is TuningMethod.PREFERENCE:
        spec["training_data"] = list(harness.preference_data)
    elif method is TuningMethod.DISTILLATION:
        spec["training_data"] = list(harness.prompt_data)
        spec["teacher_model"] = harness.teacher_model or teacher
        if spec["teacher_model"] is None:
            pytest.fail("the backend declares distillation: name a teacher model in Harness.teacher_model")
    if method is not TuningMethod.SUPERVISED:
        spec.pop("validation_data", None)
    spec.update(harness.method_spec.get(method.value, {}))
    return spec


@contextmanager
def _nothing_sent(run: Runner) -> Iterator[None]:
    """Checks the calls inside sent nothing: no request left the client, and no job appeared.

    A backend whose flows make blocking SDK calls sends no HTTP through the
    client, so the job list is compared too.
    """
    listing = run.client.capabilities.supports(Operation.LIST)
    jobs = {job.id for job in run("list")} if listing else set()
    before = run.client.driver.request_count
    yield
    assert run.client.driver.request_count == before, "a request was sent"
    if listing:
        assert {job.id for job in run("list")} == jobs, "a job was created"


def _every_read(run: Runner, job_id: str, *, cancel: bool) -> dict[str, JobState | None]:
    """The job's state through (a further) cancel first, then get, list and wait."""
    reads: dict[str, JobState | None] = {}
    if cancel:
        reads["cancel"] = run("cancel", job_id).state
    reads["get"] = run("get", job_id).state
    reads["list"] = {job.id: job.state for job in run("list")}.get(job_id)
    reads["wait"] = run("wait", job_id, poll=_POLL, raise_on_failure=False).state
    return reads


def _strings(value: Any) -> Iterator[str]:
    """Every string in a JSON-like value, in order."""
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from _strings(item)
    elif isinstance(value, (list, tuple)):
        for item in value:
            yield from _strings(item)


def _typed(error: BaseException) -> bool:
    """Whether *error* is one of tuneport's typed errors (``BackendError`` wraps a backend's untyped one)."""
    return isinstance(error, TuneportError) and not isinstance(error, BackendError)


def _describe(error: BaseException) -> str:
    """The error, with the untyped exception inside a ``BackendError`` and where it was raised."""
    original = error.original if isinstance(error, BackendError) else error
    frames = traceback.extract_tb(original.__traceback__)
    where = f" at {frames[-1].filename}:{frames[-1].lineno}" if frames else ""
    return f"{type(error).__name__}: {type(original).__name__}: {original}{where}"


def _check_race_answers(outcomes: Sequence[Outcome], deleted: set[str]) -> None:
    """Each raced call answered for its own job; reads of jobs nobody deleted never failed."""
    for outcome in outcomes:
        call, error = outcome.call, outcome.error
        target = call.args[0] if call.args else None
        if call.method == "list" or (call.method == "get" and target not in deleted):
            assert error is None, f"{call} failed while other flows raced: {_describe(error)}"
        elif call.method == "get" and error is not None:
            assert isinstance(error, NotFoundError), f"{call} of a deleted job: {_describe(error)}"
        if error is not None:
            continue
        if call.method in ("get", "cancel"):
            assert isinstance(outcome.result, TuningJob), f"{call}: {outcome}"
            assert outcome.result.id == target, f"{call} answered for {outcome.result.id}"
        elif call.method == "list":
            ids = [job.id for job in outcome.result]
            assert len(ids) == len(set(ids)), f"a list raced with other flows repeated jobs: {ids}"
        elif call.method == "delete":
            assert isinstance(outcome.result, bool), f"{call} returned {outcome.result!r}"


def _jobs_in(outcome: Outcome) -> list[TuningJob]:
    """The jobs a raced call returned (none if it raised)."""
    if outcome.error is not None or outcome.call.method == "delete":
        return []
    return list(outcome.result) if outcome.call.method == "list" else [outcome.result]


def _state_or_gone(run: Runner, job_id: str) -> JobState | None:
    """The job's state, or ``None`` once the service no longer has it."""
    try:
        job: TuningJob = run("get", job_id)
    except NotFoundError:
        return None
    return job.state


def _check_really_unsupported(run: Runner, operation: Operation, harness: Harness) -> None:
    """SQLAlchemy's "unexpected success": a declared-unsupported operation that works is reported."""
    from tuneport.models import GenerateRequest, JobSpec

    backend = run.client.backend
    flows: dict[Operation, Callable[[], Any]] = {
        Operation.CREATE: lambda: backend.create(JobSpec.model_validate(dict(harness.spec))),
        Operation.LIST: lambda: backend.list(page_size=None, page_token=None, filter=None),
        Operation.GET: lambda: backend.get(UNKNOWN_ID),
        Operation.CANCEL: lambda: backend.cancel(UNKNOWN_ID),
        Operation.DELETE: lambda: backend.delete(UNKNOWN_ID),
        Operation.GENERATE: lambda: backend.generate(UNKNOWN_ID, GenerateRequest(contents=harness.prompt)),
        Operation.METRICS: lambda: backend.metrics(UNKNOWN_ID),
    }
    # Build the flow and take one step, sending nothing: a backend that does not
    # implement the operation refuses here; one that yields an effect implements it.
    try:
        flow = flows[operation]()
        next(flow)
    except UnsupportedCapability:
        return
    except (StopIteration, TuneportError):
        pass
    else:
        flow.close()
    pytest.fail(f"unexpected success: '{operation}' is declared unsupported but the backend implements it")
