"""The vertex list filter built from a portable selection (issue #15 item 4), as the emulator reads it."""

from __future__ import annotations

from typing import Any

import pytest

import tuneport
from tuneport.models import JobQuery
from tuneport.waiting import ManualClock
from tuneport_emulator import Emulator
from tuneport_vertex import wire


def _query(**fields: Any) -> JobQuery:
    return JobQuery.model_validate(fields)


@pytest.mark.parametrize(
    ("raw", "fields", "sent"),
    [
        (None, {}, None),
        ('state="JOB_STATE_FAILED"', {}, 'state="JOB_STATE_FAILED"'),  # passed through as given
        (None, {"states": ["SUCCEEDED"]}, 'state="JOB_STATE_SUCCEEDED"'),
        (None, {"states": ["PENDING"]}, '(state="JOB_STATE_QUEUED" OR state="JOB_STATE_PENDING")'),
        (None, {"states": ["RUNNING"]}, '(state="JOB_STATE_RUNNING" OR state="JOB_STATE_UPDATING")'),
        (None, {"labels": {"team": "ml", "env": "prod"}}, 'labels.env="prod" AND labels.team="ml"'),
        (
            'create_time>"2026-01-01T00:00:00Z"',
            {"states": ["CANCELLED"], "labels": {"team": "ml"}},
            '(create_time>"2026-01-01T00:00:00Z") AND state="JOB_STATE_CANCELLED" AND labels.team="ml"',
        ),
    ],
)
def test_the_selection_becomes_an_aip160_filter(
    raw: str | None, fields: dict[str, Any], sent: str | None
) -> None:
    assert wire.list_filter(raw, _query(**fields) if fields else None) == sent


def test_every_state_maps_to_a_vertex_state() -> None:
    for state in tuneport.JobState:
        assert wire.list_filter(None, _query(states=[state])), state


def test_labels_no_job_can_carry_select_nothing() -> None:
    assert wire.selects_nothing(_query(labels={wire.REQUEST_ID_LABEL: "abc"}))
    assert wire.selects_nothing(_query(labels={"Team": "ml"}))  # keys are lowercase on Google Cloud
    assert not wire.selects_nothing(_query(labels={"team": "ml"}))
    assert not wire.selects_nothing(_query(states=["FAILED"]))


def test_the_emulator_reads_every_state_selection() -> None:
    """Every filter a selection makes is one Vertex's grammar (the emulator's AIP-160 subset) accepts."""
    with Emulator() as emulator:
        options: dict[str, Any] = {"endpoint": emulator.url, "emulator": True, "environ": {}}
        with tuneport.connect(
            backend="vertex", project="tuneport-p2", location="us-central1", clock=ManualClock(), **options
        ) as client:
            for state in tuneport.JobState:
                assert list(client.list(state=state, labels={"team": "ml"})) == []
        lists = [e for e in emulator.requests() if e["route"] == "vertex.v1beta1.tuningJobs.list"]
        assert [e["status"] for e in lists] == [200] * len(tuneport.JobState)
