"""Portable listing (issue #15): ``list(state=..., labels=...)``, the JobQuery, and the CLI's --state/--label.

The fake backend's ``list`` predates the ``query`` keyword: the client selects for it.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any, ClassVar

import pytest
from click.testing import CliRunner
from fake_service import CANARY_KEY, FakeService

import tuneport
from tuneport.cli import commands
from tuneport.cli.app import State, cli
from tuneport.client import AsyncTuningClient, TuningClient
from tuneport.errors import FilterError, SpecError
from tuneport.models import JobQuery, JobState, Page, TuningJob
from tuneport.plugins import PluginHost
from tuneport.protocol import BaseBackend, Flow
from tuneport.waiting import ManualClock


def _job(job_id: str, state: JobState, **labels: str) -> TuningJob:
    return TuningJob(id=job_id, backend="memo", state=state, labels=labels)


def test_query_reads_state_names_in_any_case() -> None:
    assert JobQuery(states="cancelled").states == {JobState.CANCELLED}  # type: ignore[arg-type]
    both = JobQuery.model_validate({"states": ["Running", JobState.PENDING]})
    assert both.states == {JobState.RUNNING, JobState.PENDING}
    assert JobQuery().is_empty
    assert str(JobQuery.model_validate({"states": ["failed"], "labels": {"team": "a"}})) == (
        "state=FAILED labels.team=a"
    )


def test_query_names_the_states_when_one_is_unknown() -> None:
    with pytest.raises(ValueError, match=r"not a job state: 'ACTIVE'.*CANCELLED"):
        JobQuery.model_validate({"states": ["ACTIVE"]})


def test_query_matches_any_state_and_every_label() -> None:
    query = JobQuery.model_validate({"states": ["RUNNING", "FAILED"], "labels": {"team": "a"}})
    assert query.matches(_job("1", JobState.RUNNING, team="a", other="x"))
    assert not query.matches(_job("2", JobState.SUCCEEDED, team="a"))
    assert not query.matches(_job("3", JobState.FAILED, team="b"))
    assert not query.matches(_job("4", JobState.FAILED))


def test_the_client_selects_for_a_backend_without_the_query_keyword(
    make_client: Callable[..., TuningClient], service: FakeService
) -> None:
    done = service.seed(5, state="SUCCEEDED")
    failed = service.seed(3, state="FAILED")
    client = make_client()
    assert [j.id for j in client.list(state="succeeded", page_size=2)] == done
    assert [j.id for j in client.list(state=["FAILED"], page_size=2, limit=2)] == failed[:2]
    assert [j.id for j in client.list(state=(s for s in ("failed", "cancelled")))] == failed
    assert list(client.list(labels={"team": "a"})) == []
    page = client.list_page(state=JobState.FAILED, page_size=2)
    assert page.items == []  # the first two jobs are not selected ...
    assert page.next_page_token  # ... and the page says where the rest is


def test_a_bad_selection_is_refused_before_any_request(make_client: Callable[..., TuningClient]) -> None:
    client = make_client()
    with pytest.raises(SpecError) as info:
        client.list(state="ACTIVE")
    assert info.value.field == "states"
    with pytest.raises(SpecError) as labels:
        client.list_page(labels={"team": 1})  # type: ignore[dict-item]
    assert labels.value.field == "labels.team"
    assert client.driver.request_count == 0


class Memo(BaseBackend):
    """Takes ``query``: records what it was given and answers from memory."""

    name: ClassVar[str] = "memo"
    JOBS: ClassVar[list[TuningJob]] = [
        _job("a", JobState.RUNNING, team="x"),
        _job("b", JobState.SUCCEEDED, team="x"),
        _job("c", JobState.SUCCEEDED, team="y"),
    ]

    def __init__(self, *args: Any) -> None:
        super().__init__(*args)
        self.queries: list[JobQuery | None] = []

    def list(
        self,
        *,
        page_size: int | None,
        page_token: str | None,
        filter: str | None,
        query: JobQuery | None = None,
    ) -> Flow[Page[TuningJob]]:
        self.queries.append(query)
        if filter:
            raise FilterError(self.name, filter, "memo has no filter language")
        return Page[TuningJob](items=list(self.JOBS))
        yield  # a flow, though it sends nothing


def test_a_backend_taking_query_gets_it_and_the_client_still_checks() -> None:
    backend = Memo()
    with TuningClient(backend, clock=ManualClock()) as client:
        assert [j.id for j in client.list()] == ["a", "b", "c"]
        assert [j.id for j in client.list(state="succeeded", labels={"team": "x"})] == ["b"]
        assert backend.queries[0] is None  # nothing selected: no query
        assert backend.queries[1] == JobQuery.model_validate(
            {"states": ["SUCCEEDED"], "labels": {"team": "x"}}
        )
        with pytest.raises(FilterError) as info:
            list(client.list(filter="state=x"))
        assert info.value.filter == "state=x"
        assert info.value.field == "filter"


async def test_the_async_client_selects_the_same() -> None:
    async with AsyncTuningClient(Memo(), clock=ManualClock()) as client:
        assert [
            j.id async for j in client.list(state=[JobState.RUNNING, "succeeded"], labels={"team": "x"})
        ] == [
            "a",
            "b",
        ]
        page = await client.list_page(state="running")
        assert [j.id for j in page.items] == ["a"]


def test_the_cli_states_are_the_job_states() -> None:
    assert tuple(state.value for state in JobState) == commands.JOB_STATES


@pytest.fixture
def cli_run(host: PluginHost, service: FakeService) -> Callable[..., Any]:
    def invoke(*args: str) -> Any:
        options = {
            "plugins": host,
            "transport": service.transport(),
            "clock": ManualClock(),
            "environ": {},
            "backend": "fake",
            "api_key": CANARY_KEY,
        }
        return CliRunner().invoke(cli, list(args), obj=State(connect_options=options), prog_name="tuneport")

    return invoke


def test_the_cli_selects_by_state_and_label(cli_run: Callable[..., Any], service: FakeService) -> None:
    done = service.seed(2, state="SUCCEEDED")
    service.seed(2, state="FAILED")
    result = cli_run("--json", "list", "--state", "succeeded", "--state", "CANCELLED")
    assert result.exit_code == 0, result.output
    assert [job["id"] for job in json.loads(result.stdout)["jobs"]] == done
    labelled = cli_run("--json", "list", "--label", "team=a")
    assert json.loads(labelled.stdout)["jobs"] == []
    bad = cli_run("list", "--state", "ACTIVE")
    assert bad.exit_code == 2
    assert "ACTIVE" in bad.output
    malformed = cli_run("list", "--label", "team")
    assert malformed.exit_code == 2
    assert "KEY=VALUE" in malformed.output


def test_the_selection_is_exported() -> None:
    assert tuneport.JobQuery is JobQuery
    assert tuneport.FilterError is FilterError
