"""The client's cleanup calls on a backend without them: refused before anything is deleted (#17)."""

from __future__ import annotations

import datetime as dt
from typing import ClassVar

import pytest
from click.testing import CliRunner
from fake_service import FakeService

from tuneport.cleanup import CleanupItem, CleanupReport, parse_age
from tuneport.cli import commands  # noqa: F401  (registers the verbs)
from tuneport.cli.app import State, cli
from tuneport.client import TuningClient
from tuneport.errors import SpecError, UnsupportedCapability
from tuneport.protocol import BaseBackend, Capabilities, Flow, Operation


class _NoCleanup(BaseBackend):
    """Deletes jobs; tracks nothing it staged."""

    name: ClassVar[str] = "plain"
    declared_capabilities: ClassVar[Capabilities] = Capabilities(operations=frozenset(Operation))

    def __init__(self) -> None:
        super().__init__()
        self.deleted: list[str] = []

    def delete(self, job_id: str) -> Flow[bool]:
        self.deleted.append(job_id)
        return True
        yield  # a flow


class _WithCleanup(_NoCleanup):
    """Records the cut-off it is given."""

    def __init__(self) -> None:
        super().__init__()
        self.cutoffs: list[tuple[dt.datetime, bool]] = []

    def cleanup(self, cutoff: dt.datetime, apply: bool) -> Flow[CleanupReport]:
        self.cutoffs.append((cutoff, apply))
        return CleanupReport(applied=apply)
        yield  # a flow

    def delete_staged(self, job_id: str) -> Flow[CleanupReport]:
        item = CleanupItem("staged-dataset", f"gs://b/{job_id}", "removed", "used by no live job")
        return CleanupReport(applied=True, items=(item,))
        yield  # a flow


def test_delete_staged_on_a_backend_without_it_deletes_nothing() -> None:
    backend = _NoCleanup()
    with TuningClient(backend) as client:
        with pytest.raises(UnsupportedCapability, match="delete_staged"):
            client.delete("j1", staged=True)
        with pytest.raises(UnsupportedCapability, match="cleanup"):
            client.cleanup("30d")
        assert client.delete("j1") is True
    assert backend.deleted == ["j1"]  # only the plain delete ran


def test_the_cutoff_is_now_minus_the_age_and_dry_by_default() -> None:
    backend = _WithCleanup()
    now = dt.datetime(2026, 12, 3, tzinfo=dt.timezone.utc)
    with TuningClient(backend) as client:
        assert client.cleanup("30d", now=now).applied is False
        client.cleanup(dt.timedelta(hours=12), apply=True, now=now)
        assert client.delete("j2", staged=True) is True
        assert [i.resource for i in client.delete_staged("j3").removed] == ["gs://b/j3"]
        with pytest.raises(SpecError, match="negative"):
            client.cleanup(dt.timedelta(days=-1))
    assert backend.cutoffs == [
        (dt.datetime(2026, 11, 3, tzinfo=dt.timezone.utc), False),
        (dt.datetime(2026, 12, 2, 12, tzinfo=dt.timezone.utc), True),
    ]
    assert backend.deleted == ["j2"]


@pytest.mark.parametrize(
    ("text", "age"),
    [("30d", dt.timedelta(days=30)), ("12h", dt.timedelta(hours=12)), ("2w", dt.timedelta(weeks=2)),
     (" 0d ", dt.timedelta(0)), ("90m", dt.timedelta(minutes=90)), ("5s", dt.timedelta(seconds=5))],
)  # fmt: skip
def test_ages(text: str, age: dt.timedelta) -> None:
    assert parse_age(text) == age


@pytest.mark.parametrize("text", ["", "30", "d", "-1d", "1.5d", "30 days", "1y"])
def test_bad_ages(text: str) -> None:
    with pytest.raises(ValueError, match="expected an age"):
        parse_age(text)


def test_the_report_as_data() -> None:
    when = dt.datetime(2026, 1, 2, tzinfo=dt.timezone.utc)
    item = CleanupItem("endpoint", "projects/p/locations/l/endpoints/1", "would-remove", "no model", when)
    report = CleanupReport(applied=False, items=(item,))
    assert report.would_remove == (item,)
    assert report.kept == report.removed == ()
    assert report.to_dict() == {
        "applied": False,
        "items": [
            {
                "kind": "endpoint",
                "resource": "projects/p/locations/l/endpoints/1",
                "action": "would-remove",
                "reason": "no model",
                "created": "2026-01-02T00:00:00+00:00",
                "size_bytes": None,
            }
        ],
    }


def test_the_cli_refuses_delete_staged_and_cleanup_on_a_backend_without_them(
    service: FakeService, fake_cli_options: dict[str, object]
) -> None:
    [job_id] = service.seed(1)
    state = State(connect_options=fake_cli_options)
    for args in (["delete", job_id, "--staged"], ["cleanup", "--older-than", "30d"]):
        result = CliRunner().invoke(cli, args, obj=state, prog_name="tuneport")
        assert result.exit_code == 5, result.output  # not supported
        assert "does not support" in result.output
    assert job_id in service.jobs  # nothing was deleted
