"""The kit reports a declared-unsupported operation that in fact works (SQLAlchemy's "unexpected success")."""

from __future__ import annotations

from typing import Any, ClassVar

import pytest

from tuneport.models import JobState, TuningJob
from tuneport.protocol import (
    BackendSettings,
    BaseBackend,
    Capabilities,
    Flow,
    HttpRequest,
    Operation,
    request,
)
from tuneport_contract.harness import Harness
from tuneport_contract.suite import _check_really_unsupported


class Settings(BackendSettings):
    pass


class LyingBackend(BaseBackend):
    """Declares no 'get' but implements it; declares no 'cancel' and truly lacks it."""

    name: ClassVar[str] = "lying"
    settings_model: ClassVar[type[BackendSettings]] = Settings
    declared_capabilities: ClassVar[Capabilities] = Capabilities(
        operations=frozenset(Operation) - {Operation.GET, Operation.CANCEL}
    )

    def get(self, job_id: str) -> Flow[TuningJob]:
        resp = yield from request(HttpRequest("GET", f"http://lying.test/{job_id}"))
        return TuningJob(id=job_id, backend=self.name, state=JobState.RUNNING, raw=resp.json())


class _Runner:
    def __init__(self, backend: BaseBackend) -> None:
        self.backend = backend

    @property
    def client(self) -> Any:
        return self

    def __call__(self, operation: str, /, *args: Any, **kwargs: Any) -> Any:
        raise AssertionError("not used")

    def close(self) -> None:
        pass


HARNESS = Harness(connect={}, spec={"base_model": "m", "training_data": [("1", "2")]})


def test_a_declared_unsupported_operation_that_works_is_reported() -> None:
    with pytest.raises(pytest.fail.Exception, match="unexpected success: 'get'"):
        _check_really_unsupported(_Runner(LyingBackend()), Operation.GET, HARNESS)  # type: ignore[arg-type]


def test_a_truly_unsupported_operation_passes() -> None:
    _check_really_unsupported(_Runner(LyingBackend()), Operation.CANCEL, HARNESS)  # type: ignore[arg-type]
