"""The cost estimate against what the emulator bills: ``tuningDataStats``' ``totalBillableTokenCount``.

The emulator counts tokens its own way (emulator/src/tuneport_emulator: 4
characters a token, rounded up per text), independently of tuneport's
estimate; each job's billed amount must fall within the estimate's error
bars (docs/cost.md).  The prices are test prices given in tuneport.toml.
"""

from __future__ import annotations

import json
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import tuneport
from tuneport.cost import CostEstimate
from tuneport.waiting import ManualClock
from tuneport_emulator import Emulator, EmulatorClock

MODEL = "gemini-2.5-flash"
#: Test prices per million tokens (supervised, preference, distillation differ to show per-method prices).
CONFIG = f"""
[catalog.vertex."{MODEL}".price]
amount = 5.0
source = "test price"

[catalog.vertex."{MODEL}".methods.preference.price]
amount = 7.0

[catalog.vertex."{MODEL}".methods.distillation.price]
amount = 9.0
"""
#: Stats keys of each method in ``tuningDataStats``.
STATS = {
    "supervised": ("supervisedTuningDataStats",),
    "preference": ("preferenceOptimizationDataStats",),
    "distillation": ("distillationDataStats", "trainingDatasetStats"),
}


class _LinkedClock(ManualClock):
    """The client's sleeps move the emulator's clock: waiting takes no wall time."""

    def __init__(self, emulator: Emulator) -> None:
        super().__init__()
        self.emulator = emulator

    def sleep(self, seconds: float) -> None:
        super().sleep(seconds)
        self.emulator.advance(max(seconds, 0.0))


@pytest.fixture
def emulator() -> Iterator[Emulator]:
    emu = Emulator(clock=EmulatorClock.manual())
    emu.start()
    try:
        yield emu
    finally:
        errors = emu.internal_errors
        emu.stop()
    assert errors == []


def _text(role: str, text: str) -> dict[str, Any]:
    return {"role": role, "parts": [{"text": text}]}


def _write(path: Path, records: list[dict[str, Any]]) -> Path:
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records), encoding="utf-8")
    return path


PROSE = (
    "Tuning adapts a base model to a task from examples of the answers wanted. "
    "The service bills the tokens of every example, once for each epoch it trains. "
)


def short_answers(tmp: Path) -> Path:
    return _write(
        tmp / "short.jsonl",
        [
            {
                "contents": [
                    _text("user", f"What is {i} plus {i}?"),
                    _text("model", f"{i} plus {i} is {2 * i}."),
                ]
            }
            for i in range(40)
        ],
    )


def long_with_system(tmp: Path) -> Path:
    return _write(
        tmp / "long.jsonl",
        [
            {
                "systemInstruction": {"parts": [{"text": "You answer as a patient teacher."}]},
                "contents": [
                    _text("user", f"Explain tuning, part {i}. " + PROSE * (i % 5 + 1)),
                    _text("model", PROSE * (i % 7 + 2)),
                ],
            }
            for i in range(30)
        ],
    )


def multi_turn(tmp: Path) -> Path:
    turns = [
        _text("user", "Hello, I need help with my order."),
        _text("model", "Of course. What is the order number?"),
        _text("user", "It is 4821-AB and it arrived damaged."),
        _text("model", "I am sorry to hear that. A replacement is on its way; no need to return the item."),
    ]
    return _write(tmp / "chat.jsonl", [{"contents": turns} for _ in range(25)])


def cyrillic(tmp: Path) -> Path:
    question = "Расскажите о погоде в Москве, вопрос {}."  # noqa: RUF001 (Russian text)
    answer = "Сегодня в Москве солнечно, около двадцати градусов; завтра ожидается дождь."
    return _write(
        tmp / "cyrillic.jsonl",
        [{"contents": [_text("user", question.format(i)), _text("model", answer)]} for i in range(30)],
    )


def preference(tmp: Path) -> Path:
    return _write(
        tmp / "prefs.jsonl",
        [
            {
                "contents": [_text("user", f"Summarise point {i}: " + PROSE)],
                "completions": [
                    {
                        "completion": _text("model", "Tuning learns from examples; billing counts tokens."),
                        "score": 1,
                    },
                    {"completion": _text("model", "No idea."), "score": 0},
                ],
            }
            for i in range(30)
        ],
    )


def prompts(tmp: Path) -> Path:
    return _write(
        tmp / "prompts.jsonl",
        [{"contents": [_text("user", f"Write a short note about topic {i}. " + PROSE)]} for i in range(30)],
    )


CASES = [
    ("supervised", short_answers, {}),
    ("supervised", long_with_system, {}),
    ("supervised", multi_turn, {}),
    ("supervised", cyrillic, {}),
    ("preference", preference, {}),
    ("distillation", prompts, {"teacher_model": "gemini-3.1-pro"}),
]


@pytest.mark.parametrize(("method", "make", "extra"), CASES, ids=[c[1].__name__ for c in CASES])
def test_the_billed_amount_is_within_the_estimate_error_bars(
    emulator: Emulator, tmp_path: Path, method: str, make: Any, extra: dict[str, Any]
) -> None:
    config = tmp_path / "tuneport.toml"
    config.write_text(CONFIG)
    train = make(tmp_path)
    epochs = 3
    spec = {
        "base_model": MODEL,
        "method": method,
        "training_data": train,
        "hyperparameters": {"epoch_count": epochs},
        **extra,
    }
    options: dict[str, Any] = {
        "backend": "vertex",
        "project": "tuneport-test",
        "location": "us-central1",
        "endpoint": emulator.url,
        "emulator": True,
        "staging_bucket": "gs://tuneport-staging",
        "environ": {},
        "config": config,
    }
    seen: list[CostEstimate] = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # preview-method notices
        with tuneport.connect(**options, clock=_LinkedClock(emulator)) as client:
            job = client.create(**spec, on_cost=seen.append)
            job = client.wait(job.id)
    [estimate] = seen  # what create saw before the upload
    assert estimate.amount is not None, estimate.note
    assert estimate.epochs == epochs
    stats: Any = job.raw["tuningDataStats"]
    for key in STATS[method]:
        stats = stats[key]
    billed_tokens = int(stats["totalBillableTokenCount"])
    assert estimate.price is not None
    billed = billed_tokens * estimate.price.per_token()
    assert estimate.low is not None
    assert estimate.low <= billed
    if estimate.high is not None:
        assert billed <= estimate.high
    else:
        assert method == "distillation"  # a lower bound: the teacher's answers are not in the file
    # The figures docs/cost.md reports.
    print(f"{make.__name__}: estimated {estimate.billable_tokens} billed {billed_tokens}")


def test_max_cost_refuses_before_anything_is_uploaded(emulator: Emulator, tmp_path: Path) -> None:
    import httpx

    from tuneport.cost import CostLimitExceeded

    config = tmp_path / "tuneport.toml"
    config.write_text(CONFIG)
    train = long_with_system(tmp_path)
    with tuneport.connect(
        backend="vertex",
        project="tuneport-test",
        location="us-central1",
        endpoint=emulator.url,
        emulator=True,
        staging_bucket="gs://tuneport-staging",
        environ={},
        config=config,
        clock=_LinkedClock(emulator),
    ) as client:
        with pytest.raises(CostLimitExceeded) as info:
            client.create(base_model=MODEL, training_data=train, epoch_count=3, max_cost=0.01)
        assert info.value.estimate.amount is not None
        assert info.value.estimate.amount > 0.01
        assert list(client.list()) == []
    listed = httpx.get(f"{emulator.url}/storage/v1/b/tuneport-staging/o", timeout=10)
    assert listed.json().get("items", []) == [], listed.text
