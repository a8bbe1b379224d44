"""A stand-in for a provider's SDK: blocking calls on jobs kept in memory.

Jobs move on the service's own clock: queued for a second, then one step per
``seconds_per_step``.  A job learns (prompt → answer) pairs: a supervised job
its examples, a preference job each prompt's preferred answer; a job that
continues from a tuned model starts from everything that model knew.  The
tuned model answers with what it learned for the closest prompt.  Each epoch
keeps a checkpoint, published with the tuned model when the job succeeds;
the last one is the default until it is changed.  Everything is a function of
the data and the clock, so a simulated run is deterministic.  Services are
named, so several clients (and a test's backdoor) can share one.
"""

from __future__ import annotations

import difflib
import itertools
import math
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

from tuneport.errors import NotFoundError

_SERVICES: dict[str, InMemoryService] = {}
_LOCK = threading.Lock()

#: The tuning methods the service runs (the names are the port's, to keep the example short).
METHODS = ("supervised", "preference")


def service(namespace: str, *, seconds_per_step: float = 1.0) -> InMemoryService:
    """The service called *namespace* (created on first use, with *seconds_per_step*)."""
    with _LOCK:
        found = _SERVICES.get(namespace)
        if found is None:
            found = _SERVICES[namespace] = InMemoryService(seconds_per_step)
        return found


@dataclass
class Job:
    """One job, as the service stores it."""

    id: str
    base_model: str
    display_name: str | None
    #: What this job's own data teaches: prompt → answer.
    pairs: list[tuple[str, str]]
    epochs: int
    steps_per_epoch: int
    created: float
    method: str = "supervised"
    beta: float | None = None
    #: What the tuned model knows: the source model's pairs, then this job's own.
    knowledge: dict[str, str] = field(default_factory=dict)
    #: The tuned model (and checkpoint) this job continued from.
    source_model: str | None = None
    source_checkpoint: str | None = None
    #: The checkpoint the tuned model serves (``None``: the last one).
    default_checkpoint: str | None = None
    state: str = "PENDING"  # what the service last decided; the clock may move it on
    error: str | None = None
    deleted: bool = False
    labels: dict[str, str] = field(default_factory=dict)
    created_at: datetime = field(default_factory=lambda: datetime.now(timezone.utc))

    @property
    def steps(self) -> int:
        return self.epochs * self.steps_per_epoch


class InMemoryService:
    """Jobs in memory, on a clock tests can move."""

    QUEUED_SECONDS = 1.0

    def __init__(self, seconds_per_step: float = 1.0) -> None:
        self.seconds_per_step = seconds_per_step
        self._jobs: dict[str, Job] = {}
        self._ids = itertools.count(1)
        self._offset = 0.0
        self._lock = threading.Lock()

    # --- the "SDK" ------------------------------------------------------------------------

    def now(self) -> float:
        return time.monotonic() + self._offset

    def create_job(
        self,
        base_model: str,
        display_name: str | None,
        pairs: list[tuple[str, str]],
        epochs: int,
        labels: dict[str, str] | None = None,
        *,
        method: str = "supervised",
        beta: float | None = None,
        source_model: str | None = None,
        source_checkpoint: str | None = None,
    ) -> dict[str, Any]:
        """Start a job; with *source_model* (a tuned model: its job's id) it continues from that model."""
        if method not in METHODS:
            raise ValueError(f"unknown method {method!r}")
        with self._lock:
            knowledge: dict[str, str] = {}
            if source_model is not None:
                source = self._tuned(source_model)
                if source_checkpoint is not None and source_checkpoint not in self._checkpoint_ids(source):
                    raise NotFoundError(
                        f"no checkpoint {source_checkpoint} of {source_model}",
                        status_code=404,
                        status="NOT_FOUND",
                    )
                knowledge.update(source.knowledge)
            knowledge.update(pairs)
            job = Job(
                id=f"job-{next(self._ids)}",
                base_model=base_model,
                display_name=display_name,
                pairs=pairs,
                epochs=epochs,
                steps_per_epoch=max(1, math.ceil(len(pairs) / 4)),
                created=self.now(),
                method=method,
                beta=beta,
                knowledge=knowledge,
                source_model=source_model,
                source_checkpoint=source_checkpoint,
                labels=dict(labels or {}),
            )
            self._jobs[job.id] = job
            return self._view(job)

    def get_job(self, job_id: str) -> dict[str, Any]:
        with self._lock:
            return self._view(self._find(job_id))

    def training_pairs(self, job_id: str) -> list[tuple[str, str]]:
        """The prompt → answer pairs a job was created with (all the service keeps of its data)."""
        with self._lock:
            return list(self._find(job_id).pairs)

    def list_jobs(
        self,
        offset: int,
        limit: int,
        states: frozenset[str] = frozenset(),
        labels: dict[str, str] | None = None,
    ) -> tuple[list[dict[str, Any]], int | None]:
        """A page of jobs in any of *states* (all if empty) carrying every one of *labels*."""
        wanted = (labels or {}).items()
        with self._lock:
            jobs = [
                j
                for j in self._jobs.values()
                if not j.deleted
                and (not states or self._state(j) in states)
                and all(j.labels.get(key) == value for key, value in wanted)
            ]
            following = offset + limit if offset + limit < len(jobs) else None
            return [self._view(j) for j in jobs[offset : offset + limit]], following

    def cancel_job(self, job_id: str) -> dict[str, Any]:
        with self._lock:
            job = self._find(job_id)
            if self._state(job) in ("PENDING", "RUNNING"):
                job.state = "CANCELLED"
            return self._view(job)

    def delete_job(self, job_id: str) -> bool:
        """Delete the job and its tuned model: ``False`` if there was none (or it was deleted already)."""
        with self._lock:
            job = self._jobs.get(job_id)
            if job is None or job.deleted:
                return False
            job.deleted = True
            return True

    def answer(self, job_id: str, prompt: str, checkpoint: str | None = None) -> tuple[str, str] | None:
        """The tuned model's answer and the checkpoint that gave it, or ``None`` while it is not ready.

        Without *checkpoint*, the default checkpoint answers.
        """
        with self._lock:
            job = self._find(job_id)
            if self._state(job) != "SUCCEEDED":
                return None
            served = checkpoint if checkpoint is not None else self._default(job)
            if served not in self._checkpoint_ids(job):
                raise NotFoundError(
                    f"no checkpoint {served} of {job_id}", status_code=404, status="NOT_FOUND"
                )
            best = difflib.get_close_matches(prompt, list(job.knowledge), n=1, cutoff=0.0)
            return (job.knowledge[best[0]] if best else ""), served

    def set_default_checkpoint(self, job_id: str, checkpoint: str) -> dict[str, Any]:
        """Serve *checkpoint* from the job's tuned model from now on."""
        with self._lock:
            job = self._tuned(job_id)
            if checkpoint not in self._checkpoint_ids(job):
                raise NotFoundError(
                    f"no checkpoint {checkpoint} of {job_id}", status_code=404, status="NOT_FOUND"
                )
            job.default_checkpoint = checkpoint
            return self._view(job)

    def losses(self, job_id: str) -> list[tuple[int, float]]:
        with self._lock:
            job = self._find(job_id)
            done = self._steps_done(job)
            if job.method == "preference":
                # A DPO loss starts near ln 2 (no preference yet); beta sharpens how fast it falls.
                rate = 1.0 + (job.beta if job.beta is not None else 0.1)
                return [(step, math.log(2) / (1 + rate * step) + 0.01) for step in range(1, done + 1)]
            return [(step, 2.0 / (1 + step) + 0.05) for step in range(1, done + 1)]

    # --- the backdoor (tests) ------------------------------------------------------------------

    def advance(self, seconds: float) -> None:
        self._offset += seconds

    def seed(self, state: str, pairs: list[tuple[str, str]]) -> str:
        with self._lock:
            job = Job(
                id=f"job-{next(self._ids)}",
                base_model="inmemory-base",
                display_name="seeded",
                pairs=pairs,
                epochs=2,
                steps_per_epoch=2,
                created=self.now() - (1e9 if state == "SUCCEEDED" else 0),
                knowledge=dict(pairs),
            )
            job.state = state
            if state == "FAILED":
                job.error = "seeded failure"
            if state == "RUNNING":
                job.created = self.now() - self.QUEUED_SECONDS  # running, never finishing
                job.steps_per_epoch = 10**9
            self._jobs[job.id] = job
            return job.id

    # --- internals -----------------------------------------------------------------------------

    def _find(self, job_id: str) -> Job:
        job = self._jobs.get(job_id)
        if job is None or job.deleted:
            raise NotFoundError(f"no job {job_id}", status_code=404, status="NOT_FOUND")
        return job

    def _tuned(self, model: str) -> Job:
        """The job whose tuned model is *model* (a tuned model is named after its job)."""
        job = self._find(model)
        if self._state(job) != "SUCCEEDED":
            raise NotFoundError(f"no tuned model {model} (its job is {self._state(job)})", status_code=404)
        return job

    def _steps_done(self, job: Job) -> int:
        running_for = self.now() - job.created - self.QUEUED_SECONDS
        return max(0, min(job.steps, int(running_for / self.seconds_per_step)))

    def _state(self, job: Job) -> str:
        if job.state in ("CANCELLED", "FAILED", "SUCCEEDED"):
            return job.state
        if self.now() - job.created < self.QUEUED_SECONDS:
            return "PENDING"
        return "SUCCEEDED" if self._steps_done(job) >= job.steps else "RUNNING"

    @staticmethod
    def _checkpoint_ids(job: Job) -> list[str]:
        return [str(epoch) for epoch in range(1, job.epochs + 1)]

    def _default(self, job: Job) -> str:
        return job.default_checkpoint or str(job.epochs)

    def _checkpoints(self, job: Job) -> list[dict[str, Any]]:
        """One checkpoint per epoch, published with the tuned model when the job succeeds."""
        if self._state(job) != "SUCCEEDED":
            return []
        default = self._default(job)
        return [
            {
                "id": str(epoch),
                "epoch": epoch,
                "step": epoch * job.steps_per_epoch,
                "endpoint": f"{job.id}/checkpoints/{epoch}",
                "default": str(epoch) == default,
            }
            for epoch in range(1, job.epochs + 1)
        ]

    def _view(self, job: Job) -> dict[str, Any]:
        state = self._state(job)
        return {
            "id": job.id,
            "base_model": job.base_model,
            "display_name": job.display_name,
            "method": job.method,
            "beta": job.beta,
            "epochs": job.epochs,
            "state": state,
            "steps": job.steps,
            "steps_done": self._steps_done(job),
            # A tuned model is named after its job, so a job id names it too.
            "tuned_model": job.id if state == "SUCCEEDED" else None,
            "source_model": job.source_model,
            "source_checkpoint": job.source_checkpoint,
            "checkpoints": self._checkpoints(job),
            "error": job.error,
            "created": job.created_at.isoformat(),
            "labels": dict(job.labels),
        }


def _no_checkpoint(checkpoint: str, model: str) -> NotFoundError:
    return NotFoundError(f"no checkpoint {checkpoint} of {model}", status_code=404, status="NOT_FOUND")
