"""`tuneport demo`: the README's main job, on the embedded emulator."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from rich.console import Console

from tuneport.demo import NUMBER_SUCCESSOR, run_demo


def test_demo_runs_the_gemini_lifecycle(tmp_path: Path) -> None:
    console = Console(record=True, width=100)
    (result,) = run_demo(console, profiles=["demo-gemini"], workdir=tmp_path)
    assert result.ran
    assert result.final_state == "SUCCEEDED"
    assert result.steps == 15  # 20 examples, batch 4 (the emulator's default), 3 epochs
    assert result.loss_first is not None
    assert result.loss_last is not None
    assert result.loss_last < result.loss_first
    assert result.answer in {q for q, _ in NUMBER_SUCCESSOR} | {a for _, a in NUMBER_SUCCESSOR}
    assert result.cancelled_state == "CANCELLED"
    assert result.listed == 1
    assert result.methods == ["supervised"]
    assert result.preference_job_id is None
    text = console.export_text()
    assert "DPO recipe is left out: the gemini backend runs supervised tuning only" in text
    for word in (
        "validated",
        "created",
        "finished",
        "loss curve",
        "generate",
        "list",
        "cancelled",
        "deleted",
    ):
        assert word in text


def test_demo_runs_both_profiles_changing_only_the_profile(tmp_path: Path) -> None:
    console = Console(record=True, width=100)
    results = run_demo(console, workdir=tmp_path)
    assert [(r.profile, r.backend) for r in results] == [("demo-gemini", "gemini"), ("demo-vertex", "vertex")]
    for result in results:
        assert result.final_state == "SUCCEEDED"
        assert result.cancelled_state == "CANCELLED"
        assert result.answer == "XX"
    assert "only the profile changed" in console.export_text()


def test_demo_runs_googles_dpo_recipe_on_vertex(tmp_path: Path) -> None:
    console = Console(record=True, width=120)
    (result,) = run_demo(console, profiles=["demo-vertex"], workdir=tmp_path)
    assert result.methods == ["supervised", "preference"]
    assert result.checkpoints == ["1", "2", "3"]  # one per epoch of the supervised job
    # Step 2 continued from the supervised job's default checkpoint, its last.
    assert result.preference_source_checkpoint == result.checkpoints[-1]
    assert result.preference_state == "SUCCEEDED"
    assert len(result.preference_checkpoints) == 2  # two epochs
    assert result.preference_loss_first is not None
    assert result.preference_loss_last is not None
    assert result.preference_loss_last < result.preference_loss_first
    assert result.preference_answer == "XX"
    assert result.listed == 2
    text = console.export_text()
    assert f"continued from checkpoint 3 of {result.job_id}" in text
    assert "preference loss 'train_loss'" in text
    assert "None" not in text


@pytest.mark.parametrize("profile", ["demo-gemini", "demo-vertex"])
def test_demo_command_exits_0_with_json(tmp_path: Path, profile: str) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "tuneport.cli", "--json", "demo", "--profile", profile],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=120,
        check=False,
        env={"PATH": "/usr/bin:/bin", "HOME": str(tmp_path)},
    )
    assert done.returncode == 0, done.stderr
    (result,) = json.loads(done.stdout)["profiles"]
    assert result["final_state"] == "SUCCEEDED"
    assert result["methods"] == (["supervised", "preference"] if profile == "demo-vertex" else ["supervised"])
    assert not (tmp_path / ".cache" / "tuneport").exists()  # its own emulators: the CLI's state untouched
