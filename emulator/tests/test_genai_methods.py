"""google-genai (2.x and 3.x), unmodified: preference tuning, distillation and checkpoints (#16).

The scenario (``clients/genai_methods_scenario.py``) runs Google's DPO recipe
(supervised tuning, then ``method="PREFERENCE_TUNING"`` continued from the
supervised model's checkpoint 1), a ``method="DISTILLATION"`` tune from a base
teacher, and ``models.update(config={"default_checkpoint_id": …})``, in a
subprocess of each environment (the 3.x one is ``scripts/genai3_env.py``'s,
made if missing; the test fails, never skips, if it cannot be).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from emulator_helpers import preference_jsonl, prompts_jsonl, stage_numbers_jsonl
from test_genai3_clients import (
    _CLIENT_ENVIRONMENT,
    FAST,
    SCENARIO_TIMEOUT,
    genai3_python,  # noqa: F401 (the fixture of the 3.x environment)
)

from tuneport_emulator import Emulator, EmulatorClock

SCENARIO = Path(__file__).resolve().parent / "clients" / "genai_methods_scenario.py"
BUCKET = "tuneport-clients"
ARGS = {
    "train": f"gs://{BUCKET}/train.jsonl",
    "preference": f"gs://{BUCKET}/pref.jsonl",
    "prompts": f"gs://{BUCKET}/prompts.jsonl",
    "evaluation": f"gs://{BUCKET}/evaluation/",
}


@pytest.fixture
def methods_emulator() -> Iterator[Emulator]:
    with Emulator(clock=EmulatorClock(speed=FAST)) as emu:
        stage_numbers_jsonl(emu.url)
        emu.put_storage_object(BUCKET, "pref.jsonl", preference_jsonl())
        emu.put_storage_object(BUCKET, "prompts.jsonl", prompts_jsonl())
        yield emu
        assert emu.internal_errors == []


def _run(python: Path, url: str) -> dict[str, Any]:
    environment = {k: v for k, v in os.environ.items() if k not in _CLIENT_ENVIRONMENT}
    environment["PYTHONWARNINGS"] = "ignore"
    done = subprocess.run(
        [str(python), str(SCENARIO), url, json.dumps(ARGS)],
        check=False,
        capture_output=True,
        text=True,
        timeout=SCENARIO_TIMEOUT,
        env=environment,
    )
    assert done.returncode == 0, f"the scenario failed:\n{done.stderr}"
    seen: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return seen


@pytest.mark.parametrize("major", [2, 3], ids=["genai-2.x", "genai-3.x"])
def test_genai_tunes_with_every_method(
    major: int, methods_emulator: Emulator, request: pytest.FixtureRequest
) -> None:
    python = Path(sys.executable) if major == 2 else request.getfixturevalue("genai3_python")
    seen = _run(python, methods_emulator.url)
    assert seen["version"].startswith(f"{major}.")

    sft = seen["sft"]
    assert sft["state"] == "JOB_STATE_SUCCEEDED"
    assert [(c["id"], c["epoch"]) for c in sft["checkpoints"]] == [("1", 1), ("2", 2)]

    preference = seen["preference"]
    assert preference["state"] == "JOB_STATE_SUCCEEDED"
    assert preference["pre_tuned"]["checkpoint"] == "1"
    assert preference["pre_tuned"]["base"] == "gemini-2.5-flash"
    assert preference["pre_tuned"]["model"].endswith("@1")
    assert preference["beta"] == 0.1
    assert preference["examples"] == 5
    assert preference["billable_tokens"] > 0
    assert len(preference["checkpoints"]) == 1
    assert preference["generated"] == "V"  # the preferred answer
    (evaluation,) = preference["evaluations"]  # genai sends its metrics snake_case, AVERAGE and STDDEV
    assert evaluation["checkpoint"] == "1"
    assert "/evaluationRuns/" in evaluation["run"]
    assert evaluation["results"] == [
        {"aggregation": "AVERAGE", "exact_match": 1.0, "rouge": None},
        {"aggregation": "STANDARD_DEVIATION", "exact_match": 0.0, "rouge": None},
        {"aggregation": "AVERAGE", "exact_match": None, "rouge": 1.0},
        {"aggregation": "STANDARD_DEVIATION", "exact_match": None, "rouge": 0.0},
    ]

    distillation = seen["distillation"]
    assert distillation["state"] == "JOB_STATE_SUCCEEDED"
    assert distillation["teacher"] == "gemini-3.1-pro"
    assert len(distillation["checkpoints"]) == 11  # the final model and 10 intermediate checkpoints
    assert len({c["endpoint"] for c in distillation["checkpoints"]}) == 11
    assert distillation["first_checkpoint_answers"] == "1"  # it has seen one prompt (the echo teacher's)

    assert seen["updated_default"] == seen["read_default"] == "1"

    log = methods_emulator.requests()
    assert all(e["route"] for e in log), [e["path"] for e in log if not e["route"]]
    assert [e for e in log if e["status"] >= 400] == []
    creates = [e for e in log if e["method"] == "POST" and e["path"].endswith("/tuningJobs")]
    assert [e["path"].split("/")[1] for e in creates] == ["v1beta1"] * 3
    patches = [e for e in log if e["method"] == "PATCH"]
    assert len(patches) == 1
