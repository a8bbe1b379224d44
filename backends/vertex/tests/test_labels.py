"""Vertex labels: tuneport's request-id label is bookkeeping, kept out of the user's labels (issue #15)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

import tuneport
from tuneport.errors import SpecError
from tuneport_emulator import Emulator
from tuneport_vertex.wire import REQUEST_ID_LABEL

BASE = "gemini-2.5-flash"


def _routes(emulator: Emulator) -> list[str]:
    return [str(e["route"]) for e in emulator.requests()]


@pytest.fixture
def train_file(tmp_path: Path) -> Path:
    path = tmp_path / "train.jsonl"
    rows = [("1", "2"), ("3", "4"), ("IV", "V")]
    path.write_text(
        "".join(
            f'{{"contents": [{{"role": "user", "parts": [{{"text": "{q}"}}]}}, '
            f'{{"role": "model", "parts": [{{"text": "{a}"}}]}}]}}\n'
            for q, a in rows
        ),
        encoding="utf-8",
    )
    return path


async def test_the_request_id_label_stays_out_of_the_users_labels(api: Any, train_file: Path) -> None:
    job = await api.create(base_model=BASE, training_data=str(train_file), labels={"team": "a"})
    assert job.labels == {"team": "a"}
    assert job.raw["labels"].keys() == {"team", REQUEST_ID_LABEL}
    assert (await api.get(job.id)).labels == {"team": "a"}
    assert {j.id: j.labels for j in await api.list_all()}[job.id] == {"team": "a"}


async def test_sixty_three_user_labels_fit_and_a_sixty_fourth_is_refused(
    api: Any, emulator: Emulator, train_file: Path
) -> None:
    labels = {f"l{i}": "v" for i in range(63)}
    job = await api.create(base_model=BASE, training_data=str(train_file), labels=labels)
    assert job.labels == labels
    assert len(job.raw["labels"]) == 64  # Vertex's limit, one of them tuneport's request id
    emulator.store.clear_requests()
    with pytest.raises(SpecError, match="at most 63 labels") as info:
        await api.create(base_model=BASE, training_data=str(train_file), labels={**labels, "l63": "v"})
    assert info.value.field == "labels"
    assert _routes(emulator) == []  # refused before any request


async def test_the_request_id_label_key_is_reserved(api: Any, train_file: Path) -> None:
    with pytest.raises(SpecError, match="reserved") as info:
        await api.create(base_model=BASE, training_data=str(train_file), labels={REQUEST_ID_LABEL: "mine"})
    assert info.value.field == f"labels.{REQUEST_ID_LABEL}"


def test_the_profiles_labels_count_towards_the_limit(emulator: Emulator, train_file: Path) -> None:
    profile = {f"p{i}": "v" for i in range(60)}
    options = {"backend": "vertex", "endpoint": emulator.url, "emulator": True, "environ": {}}
    settings = {"project": "tuneport-test", "staging_bucket": "gs://tuneport-staging", "labels": profile}
    labels = {f"s{i}": "v" for i in range(4)}
    with (
        tuneport.connect(**options, **settings) as client,
        pytest.raises(SpecError, match="at most 63 labels"),
    ):
        client.create(base_model=BASE, training_data=str(train_file), labels=labels)
