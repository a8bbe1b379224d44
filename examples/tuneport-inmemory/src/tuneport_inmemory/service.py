"""A stand-in for a provider's SDK: blocking calls on jobs kept in memory.

Jobs move on the service's own clock: queued for a second, then one step per
``seconds_per_step``; the tuned model answers with the output of the closest
training input.  Services are named, so several clients (and a test's
backdoor) can share one.
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
    pairs: list[tuple[str, str]]
    steps: int
    created: float
    state: str = "PENDING"  # what the service last decided; the clock may move it on
    error: str | None = None
    deleted: bool = False
    labels: dict[str, str] = field(default_factory=dict)
    created_at: datetime = field(default_factory=lambda: datetime.now(timezone.utc))


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
    ) -> dict[str, Any]:
        with self._lock:
            job = Job(
                id=f"job-{next(self._ids)}",
                base_model=base_model,
                display_name=display_name,
                pairs=pairs,
                steps=max(1, math.ceil(len(pairs) / 4)) * epochs,
                created=self.now(),
                labels=dict(labels or {}),
            )
            self._jobs[job.id] = job
            return self._view(job)

    def get_job(self, job_id: str) -> dict[str, Any]:
        with self._lock:
            return self._view(self._find(job_id))

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
        """Delete the job: ``False`` if there was none (or it was deleted already)."""
        with self._lock:
            job = self._jobs.get(job_id)
            if job is None or job.deleted:
                return False
            job.deleted = True
            return True

    def answer(self, job_id: str, prompt: str) -> str | None:
        """The tuned model's answer, or ``None`` while it is not ready."""
        with self._lock:
            job = self._find(job_id)
            if self._state(job) != "SUCCEEDED":
                return None
            inputs = [q for q, _ in job.pairs]
            best = difflib.get_close_matches(prompt, inputs, n=1, cutoff=0.0)
            return dict(job.pairs)[best[0]] if best else ""

    def losses(self, job_id: str) -> list[tuple[int, float]]:
        with self._lock:
            job = self._find(job_id)
            done = self._steps_done(job)
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
                steps=4,
                created=self.now() - (1e9 if state == "SUCCEEDED" else 0),
            )
            job.state = state
            if state == "FAILED":
                job.error = "seeded failure"
            if state == "RUNNING":
                job.created = self.now() - self.QUEUED_SECONDS  # running, never finishing
                job.steps = 10**9
            self._jobs[job.id] = job
            return job.id

    # --- internals -----------------------------------------------------------------------------

    def _find(self, job_id: str) -> Job:
        job = self._jobs.get(job_id)
        if job is None or job.deleted:
            raise NotFoundError(f"no job {job_id}", status_code=404, status="NOT_FOUND")
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

    def _view(self, job: Job) -> dict[str, Any]:
        return {
            "id": job.id,
            "base_model": job.base_model,
            "display_name": job.display_name,
            "state": self._state(job),
            "steps": job.steps,
            "steps_done": self._steps_done(job),
            "error": job.error,
            "created": job.created_at.isoformat(),
            "labels": dict(job.labels),
        }
