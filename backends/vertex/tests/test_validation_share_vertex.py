"""The validation share of the vertex catalog, refused before anything is sent (#17, point 4)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tuneport.errors import DatasetError
from tuneport_emulator import Emulator

BASE = "gemini-2.5-flash"


def _write(path: Path, rows: int, answer_chars: int) -> str:
    with path.open("w") as stream:
        for n in range(rows):
            turns = [
                {"role": "user", "parts": [{"text": f"question {n}"}]},
                {"role": "model", "parts": [{"text": "a" * answer_chars}]},
            ]
            stream.write(json.dumps({"contents": turns}) + "\n")
    return str(path)


async def test_an_80_20_split_over_a_quarter_of_the_bytes_is_refused_before_any_upload(
    api: Any, emulator: Emulator, tmp_path: Path
) -> None:
    train = _write(tmp_path / "train.jsonl", 80, 100)
    val = _write(tmp_path / "val.jsonl", 20, 160)  # 20% of the rows, over 25% of the bytes
    with pytest.raises(DatasetError) as raised:
        await api.create(base_model=BASE, training_data=train, validation_data=val, epoch_count=1)
    [problem] = [p for p in raised.value.problems if p.rule == "validation-share"]
    assert problem.message.startswith("validation_data (val.jsonl, ")
    assert " of training_data (train.jsonl, " in problem.message
    assert problem.message.endswith("vertex takes at most 25% of the training file's bytes")
    assert emulator.requests() == []  # nothing uploaded, no job sent


async def test_a_split_within_the_share_is_staged_and_sent(
    api: Any, emulator: Emulator, tmp_path: Path
) -> None:
    train = _write(tmp_path / "train.jsonl", 80, 100)
    val = _write(tmp_path / "val.jsonl", 20, 100)
    job: Any = await api.create(base_model=BASE, training_data=train, validation_data=val, epoch_count=1)
    assert job.raw["supervisedTuningSpec"]["validationDatasetUri"].startswith("gs://")


def _write_preferences(path: Path, rows: int) -> str:
    with path.open("w") as stream:
        for n in range(rows):
            record = {
                "contents": [{"role": "user", "parts": [{"text": f"question {n}"}]}],
                "completions": [
                    {"score": 1, "completion": {"role": "model", "parts": [{"text": "good"}]}},
                    {"score": 0, "completion": {"role": "model", "parts": [{"text": "bad"}]}},
                ],
            }
            stream.write(json.dumps(record) + "\n")
    return str(path)


async def test_preference_validation_over_1000_rows_is_held_to_30_percent_of_the_training_rows(
    api: Any, emulator: Emulator, tmp_path: Path
) -> None:
    train = _write_preferences(tmp_path / "train.jsonl", 3000)
    val = _write_preferences(tmp_path / "val.jsonl", 1001)
    with pytest.raises(DatasetError) as raised:
        await api.create(base_model=BASE, method="preference", training_data=train, validation_data=val)
    assert [p.message for p in raised.value.problems if p.rule == "validation-share"] == [
        "validation_data (val.jsonl, 1,001 rows) is 33% of training_data (train.jsonl, 3,000 rows): "
        "vertex takes at most 30% of the training rows when it has more than 1,000"
    ]
    assert emulator.requests() == []
