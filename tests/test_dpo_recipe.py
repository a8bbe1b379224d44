"""docs/examples/dpo_recipe.py, Google's DPO recipe, end to end on the embedded Vertex AI emulator:
as a user runs it (a separate process), and in-process to check what each step did, with both clients."""

from __future__ import annotations

import asyncio
import os
import runpy
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

import tuneport
from tuneport.models import JobState, TuningMethod

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "docs" / "examples" / "dpo_recipe.py"


@pytest.fixture(scope="module")
def recipe() -> dict[str, Any]:
    """The example's globals (run_path compiles it in memory: no bytecode lands in docs/)."""
    return runpy.run_path(str(EXAMPLE), run_name="dpo_recipe")


def test_the_example_runs_as_a_script(tmp_path: Path) -> None:
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(tmp_path)}
    done = subprocess.run(
        [sys.executable, str(EXAMPLE)],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=180,
        check=False,
        env=env,
    )
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert any(
        line.startswith("dpo-recipe-1-supervised:") and "SUCCEEDED (supervised tuning)" in line
        for line in lines
    )
    assert any(
        line.startswith("dpo-recipe-2-preference:") and "SUCCEEDED (preference tuning)" in line
        for line in lines
    )
    assert any(
        line.startswith("step 2 continued from projects/") and ", checkpoint " in line for line in lines
    )
    assert any(line.startswith("preference train_loss:") for line in lines)
    assert any(line.startswith("answer of the tuned model:") for line in lines)
    assert "(default)" in done.stdout


def test_step_two_continues_from_step_ones_checkpoint(recipe: dict[str, Any]) -> None:
    with recipe["connect"](None) as client:
        result = recipe["run_recipe"](client, poll=0.2)
        supervised, preference = result.supervised, result.preference
        assert (supervised.state, preference.state) == (JobState.SUCCEEDED, JobState.SUCCEEDED)
        assert (supervised.method, preference.method) == (TuningMethod.SUPERVISED, TuningMethod.PREFERENCE)
        assert supervised.checkpoints
        assert supervised.default_checkpoint is not None
        assert preference.source_model == supervised.tuned_model
        assert preference.source_checkpoint == supervised.default_checkpoint.id
        assert preference.base_model == supervised.base_model == recipe["BASE_MODEL"]
        assert preference.hyperparameters.beta == 0.1
        assert preference.checkpoints
        loss = client.metrics(preference.id).series["train_loss"]
        assert loss
        assert client.generate(preference.id, "Do you ship to Canada?").text


def test_the_recipe_data_is_preference_data(recipe: dict[str, Any]) -> None:
    preferences = recipe["PREFERENCES"]
    assert len(preferences) >= 8
    assert all(p.preferred.text != p.rejected.text for p in preferences)


def test_the_async_client_continues_from_a_checkpoint_alike(recipe: dict[str, Any]) -> None:
    preferences = recipe["PREFERENCES"]

    async def main() -> tuple[Any, Any, Any]:
        async with tuneport.connect_async(
            backend="vertex",
            endpoint="embedded",
            project="dpo-recipe",
            location="us-central1",
            staging_bucket="gs://dpo-recipe",
        ) as client:
            first = await client.create(
                base_model=recipe["BASE_MODEL"],
                training_data=[(p.prompt[-1].text, p.preferred.text) for p in preferences],
                epoch_count=2,
            )
            first = await client.wait(first.id, poll=0.2)
            checkpoints = await client.checkpoints(first.id)
            second = await client.create(
                tuned_model=first.id,
                checkpoint=checkpoints[0].id,
                method="preference",
                training_data=preferences,
                epoch_count=1,
                beta=0.2,
            )
            second = await client.wait(second.id, poll=0.2)
            answer = await client.generate(first.id, "Do you ship to Canada?", checkpoint=checkpoints[0].id)
            return first, second, answer

    first, second, answer = asyncio.run(main())
    assert second.state is JobState.SUCCEEDED
    assert (second.source_model, second.source_checkpoint) == (first.tuned_model, first.checkpoints[0].id)
    assert answer.text
