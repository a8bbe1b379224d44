"""`tuneport create` for #16: the method flags, continuous tuning (--from, --checkpoint), the job's
placement fields and its evaluation, from flags, a --spec file or the profile's job table; errors
name the flags; `get` shows what the job is.  Against a backend kept in memory (tests/cli_memory.py)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any, get_args

import pytest
from cli_memory import MemoryStore, memory_host
from click.testing import CliRunner, Result

from tuneport.cli import commands, data  # noqa: F401  (registers the verbs)
from tuneport.cli._job_options import FLAGS, METHODS, TUNING_MODES, flag_of
from tuneport.cli.app import State, cli
from tuneport.models import JobSpec, TuningMethod, TuningMode

TRAIN = "gs://bucket/train.jsonl"


@pytest.fixture(autouse=True)
def _fresh_store() -> Iterator[None]:
    MemoryStore.reset()
    yield
    MemoryStore.reset()


@pytest.fixture
def run() -> Any:
    host = memory_host()

    def invoke(*args: str, backend: str = "memory", **options: Any) -> Result:
        connect_options: dict[str, Any] = {"plugins": host, "environ": {}, "backend": backend, **options}
        state = State(connect_options=connect_options)
        return CliRunner().invoke(cli, list(args), obj=state, prog_name="tuneport")

    return invoke


def _json(result: Result) -> Any:
    return json.loads(result.stdout)


def _spec(job_id: str) -> JobSpec:
    return MemoryStore.specs[job_id]


def _creates() -> int:
    return sum(1 for name, _ in MemoryStore.calls if name == "create")


def test_the_flags_spell_out_the_models_values() -> None:
    assert tuple(m.value for m in TuningMethod) == METHODS
    assert get_args(TuningMode) == TUNING_MODES
    assert set(FLAGS) - {"evaluation"} <= {
        *JobSpec.model_fields,
        *(f"hyperparameters.{name}" for name in ("epoch_count", "batch_size", "learning_rate")),
        *(f"hyperparameters.{name}" for name in ("learning_rate_multiplier", "adapter_size", "beta")),
        *(f"evaluation.{name}" for name in ("metrics", "output_uri", "autorater_model", "sampling_count")),
    }
    assert flag_of("hyperparameters.beta") == flag_of("beta") == "--beta"
    assert flag_of("evaluation.metrics.0") == "--eval-metric"
    assert flag_of("nothing.of.ours") is None


def test_preference_flags_become_the_spec(run: Any) -> None:
    result = run("--json", "create", "-m", "base-1", "-t", TRAIN, "--method", "preference", "--beta", "0.2")
    assert result.exit_code == 0, result.output
    job = _json(result)
    spec = _spec(job["id"])
    assert spec.method is TuningMethod.PREFERENCE
    assert spec.hyperparameters.beta == 0.2
    assert job["method"] == "preference"
    assert job["hyperparameters"] == {"beta": 0.2}


def test_distillation_with_a_teacher(run: Any) -> None:
    result = run(
        "--json", "create", "-m", "base-1", "-t", TRAIN, "--method", "distillation", "--teacher", "teacher-1"
    )
    assert result.exit_code == 0, result.output
    assert _spec(_json(result)["id"]).teacher_model == "teacher-1"
    assert _json(result)["teacher_model"] == "teacher-1"


def test_distillation_without_a_teacher_names_the_flag_and_sends_nothing(run: Any) -> None:
    result = run("create", "-m", "base-1", "-t", TRAIN, "--method", "distillation")
    assert result.exit_code == 4
    assert "teacher_model" in result.stderr
    assert "--teacher" in result.stderr
    assert _creates() == 0


def test_a_teacher_the_catalog_does_not_list_names_the_flag(run: Any) -> None:
    result = run(
        "--json", "create", "-m", "base-1", "-t", TRAIN, "--method", "distillation", "--teacher", "teacher-2"
    )
    assert result.exit_code == 4
    error = _json(result)["error"]
    assert error["type"] == "UnsupportedParameter"
    assert "--teacher" in error["message"]
    assert "teacher-1" in error["message"]  # the one it may be
    assert _creates() == 0


def test_a_hyperparameter_the_method_does_not_take_names_the_flag(run: Any) -> None:
    result = run("create", "-m", "base-1", "-t", TRAIN, "--beta", "0.1")  # supervised: no beta
    assert result.exit_code == 4
    assert "beta" in result.stderr
    assert "--beta" in result.stderr
    assert _creates() == 0


def test_an_out_of_range_value_names_the_field_and_the_flag(run: Any) -> None:
    result = run("--json", "create", "-m", "base-1", "-t", TRAIN, "--method", "preference", "--beta", "-1")
    assert result.exit_code == 4
    (problem,) = _json(result)["error"]["problems"]
    assert problem["field"] == "hyperparameters.beta"
    assert "--beta" in problem["message"]


def test_a_method_the_backend_cannot_run_exits_5_before_any_request(run: Any) -> None:
    result = run("create", "-m", "base-1", "-t", TRAIN, "--method", "preference", backend="memory-sft")
    assert result.exit_code == 5
    assert "cannot run preference tuning" in result.stderr
    assert _creates() == 0


def test_an_unknown_method_is_a_usage_error_listing_the_methods(run: Any) -> None:
    result = run("create", "-m", "base-1", "-t", TRAIN, "--method", "reinforcement")
    assert result.exit_code == 2
    assert "supervised" in result.stderr
    assert "preference" in result.stderr


def test_continue_from_a_job_and_a_checkpoint(run: Any) -> None:
    first = _json(run("--json", "create", "-m", "base-1", "-t", TRAIN))
    result = run(
        "--json",
        "create",
        "-t",
        TRAIN,
        "--from",
        first["id"],
        "--checkpoint",
        "2",
        "--method",
        "preference",
        "--beta",
        "0.1",
    )
    assert result.exit_code == 0, result.output
    job = _json(result)
    spec = _spec(job["id"])
    assert (spec.tuned_model, spec.checkpoint, spec.base_model) == (first["tuned_model"], "2", "base-1")
    assert (job["source_model"], job["source_checkpoint"]) == (first["tuned_model"], "2")
    human = run("get", job["id"])
    assert f"{first['tuned_model']}, checkpoint 2" in human.stdout
    assert "continued from" in human.stdout


def test_continue_from_a_tuned_model_name(run: Any) -> None:
    first = _json(run("--json", "create", "-m", "base-1", "-t", TRAIN))
    result = run("--json", "create", "-t", TRAIN, "--from", first["tuned_model"])
    assert result.exit_code == 0, result.output
    assert _spec(_json(result)["id"]).tuned_model == first["tuned_model"]


def test_a_checkpoint_the_job_does_not_have_names_the_flag(run: Any) -> None:
    first = _json(run("--json", "create", "-m", "base-1", "-t", TRAIN))
    result = run("create", "-t", TRAIN, "--from", first["id"], "--checkpoint", "9")
    assert result.exit_code == 4
    assert "--checkpoint" in result.stderr
    assert "checkpoints: 1, 2, 3" in result.stderr
    assert _creates() == 1


def test_a_checkpoint_without_from_names_both_flags(run: Any) -> None:
    result = run("create", "-m", "base-1", "-t", TRAIN, "--checkpoint", "2")
    assert result.exit_code == 4
    assert "--checkpoint" in result.stderr
    assert "tuned_model" in result.stderr
    assert _creates() == 0


def test_a_base_model_other_than_the_tuned_models_is_refused(run: Any) -> None:
    first = _json(run("--json", "create", "-m", "base-1", "-t", TRAIN))
    result = run("create", "-m", "base-2", "-t", TRAIN, "--from", first["id"])
    assert result.exit_code == 4
    assert "--base-model" in result.stderr
    assert _creates() == 1


def test_without_base_model_or_from_it_is_a_usage_error(run: Any) -> None:
    result = run("create", "-t", TRAIN)
    assert result.exit_code == 2
    assert "--base-model" in result.stderr
    assert "--from" in result.stderr


def test_placement_fields_from_flags(run: Any) -> None:
    result = run(
        "--json",
        "create",
        "-m",
        "base-1",
        "-t",
        TRAIN,
        "--tuning-mode",
        "full",
        "--output-uri",
        "gs://bucket/out",
        "--encryption-key",
        "projects/p/locations/us-central1/keyRings/r/cryptoKeys/k",
        "--service-account",
        "tuner@p.iam.gserviceaccount.com",
    )
    assert result.exit_code == 0, result.output
    spec = _spec(_json(result)["id"])
    assert spec.tuning_mode == "full"
    assert spec.output_uri == "gs://bucket/out"
    assert spec.encryption_key == "projects/p/locations/us-central1/keyRings/r/cryptoKeys/k"
    assert spec.service_account == "tuner@p.iam.gserviceaccount.com"


def test_a_field_the_backend_does_not_send_names_the_flag(run: Any) -> None:
    result = run("--json", "create", "-m", "base-1", "-t", TRAIN, "--custom-base-model", "gs://b/weights")
    assert result.exit_code == 4
    error = _json(result)["error"]
    assert error["type"] == "UnsupportedParameter"
    assert "custom_base_model" in error["message"]
    assert "--custom-base-model" in error["message"]
    assert _creates() == 0


def test_evaluation_flags_and_results_in_get(run: Any) -> None:
    result = run(
        "--json",
        "create",
        "-m",
        "base-1",
        "-t",
        TRAIN,
        "--eval-metric",
        "bleu",
        "--eval-metric",
        "rouge_l",
        "--eval-output",
        "gs://bucket/eval",
        "--autorater",
        "gemini-2.5-pro",
        "--eval-sampling-count",
        "4",
    )
    assert result.exit_code == 0, result.output
    job = _json(result)
    evaluation = _spec(job["id"]).evaluation
    assert evaluation is not None
    assert evaluation.metrics == ("bleu", "rouge_l")
    assert (evaluation.output_uri, evaluation.autorater_model, evaluation.sampling_count) == (
        "gs://bucket/eval",
        "gemini-2.5-pro",
        4,
    )
    assert [run_["checkpoint_id"] for run_ in job["evaluations"]] == ["1", "2", "3"]
    human = run("get", job["id"])
    assert "checkpoint 3: bleu=0.3, rouge_l=0.6" in human.stdout


def test_evaluation_without_metrics_names_the_flag(run: Any) -> None:
    result = run("create", "-m", "base-1", "-t", TRAIN, "--eval-output", "gs://bucket/eval")
    assert result.exit_code == 4
    assert "evaluation.metrics" in result.stderr
    assert "--eval-metric" in result.stderr
    assert _creates() == 0


def test_the_spec_file_holds_the_method_and_evaluation_and_flags_win(run: Any, tmp_path: Path) -> None:
    spec_file = tmp_path / "spec.toml"
    spec_file.write_text(
        'base_model = "base-1"\n'
        f'training_data = "{TRAIN}"\n'
        'method = "preference"\n'
        "[hyperparameters]\nbeta = 0.3\n"
        '[evaluation]\nmetrics = ["bleu"]\noutput_uri = "gs://bucket/eval"\n',
        encoding="utf-8",
    )
    result = run("--json", "create", "--spec", str(spec_file), "--eval-metric", "exact_match")
    assert result.exit_code == 0, result.output
    spec = _spec(_json(result)["id"])
    assert spec.method is TuningMethod.PREFERENCE
    assert spec.hyperparameters.beta == 0.3
    assert spec.evaluation is not None
    assert spec.evaluation.metrics == ("exact_match",)  # the flag's list replaces the file's
    assert spec.evaluation.output_uri == "gs://bucket/eval"  # the rest of the file's table stays


def test_the_profiles_job_table_gives_the_method_and_evaluation(run: Any, tmp_path: Path) -> None:
    config = tmp_path / "tuneport.toml"
    config.write_text(
        "[profiles.prefs]\n"
        'backend = "memory"\n'
        '[profiles.prefs.job]\nbase_model = "base-1"\nmethod = "preference"\nbeta = 0.5\n'
        '[profiles.prefs.job.evaluation]\nmetrics = ["bleu"]\noutput_uri = "gs://bucket/eval"\n',
        encoding="utf-8",
    )
    result = run("--json", "-c", str(config), "-p", "prefs", "create", "-t", TRAIN, backend=None)
    assert result.exit_code == 0, result.output
    spec = _spec(_json(result)["id"])
    assert (spec.method, spec.hyperparameters.beta) == (TuningMethod.PREFERENCE, 0.5)
    assert spec.evaluation is not None
    assert spec.evaluation.metrics == ("bleu",)
    flagged = run(
        "--json", "-c", str(config), "-p", "prefs", "create", "-t", TRAIN, "--eval-metric", "rouge_l"
    )
    assert flagged.exit_code == 0, flagged.output
    evaluation = _spec(_json(flagged)["id"]).evaluation
    assert evaluation is not None
    assert (evaluation.metrics, evaluation.output_uri) == (("rouge_l",), "gs://bucket/eval")


def test_get_shows_what_the_job_is_and_never_none(run: Any) -> None:
    job_id = _json(
        run("--json", "create", "-m", "base-1", "-t", TRAIN, "--method", "preference", "--epochs", "3")
    )["id"]
    human = run("get", job_id)
    assert human.exit_code == 0, human.output
    out = human.stdout
    for expected in (
        "method",
        "preference",
        "steps",
        "30/30",
        "epochs",
        "3/3",
        "checkpoints",
        "3 (default: 3)",
    ):
        assert expected in out, expected
    assert "None" not in out
    assert "continued from" not in out  # a job from a base model
    full = _json(run("--json", "get", job_id))
    assert full["method"] == "preference"
    assert [c["id"] for c in full["checkpoints"]] == ["1", "2", "3"]
    assert full["completed_epochs"] == 3


def test_list_shows_the_method(run: Any) -> None:
    run("create", "-m", "base-1", "-t", TRAIN, "--method", "preference")
    listed = run("list")
    assert listed.exit_code == 0, listed.output
    assert "method" in listed.stdout
    assert "preference" in listed.stdout


def test_wait_progress_line_says_method_steps_and_epochs(run: Any) -> None:
    job_id = _json(
        run("--json", "create", "-m", "base-1", "-t", TRAIN, "--method", "preference", "--epochs", "3")
    )["id"]
    waited = run("wait", job_id)
    assert waited.exit_code == 0, waited.output
    assert "(preference)" in waited.stderr
    assert "step 30/30" in waited.stderr
    assert "epoch 3/3" in waited.stderr


def test_backends_table_lists_methods(run: Any) -> None:
    result = run("--json", "backends")
    rows = {row["name"]: row for row in _json(result)["backends"]}
    assert set(rows["memory"]["capabilities"]["methods"]) == set(METHODS)
    assert set(rows["memory-sft"]["capabilities"]["methods"]) == {"supervised"}
    human = run("backends")
    assert "methods" in human.stdout


def test_data_of_another_method_names_the_method_flag(run: Any, tmp_path: Path) -> None:
    supervised = tmp_path / "train.jsonl"
    supervised.write_text('{"text_input": "1", "output": "2"}\n{"text_input": "3", "output": "4"}\n')
    result = run("create", "-m", "base-1", "-t", str(supervised), "--method", "preference")
    assert result.exit_code == 4
    assert "not preference examples" in result.stderr
    assert "--method" in result.stderr
    assert _creates() == 0
    preferences = tmp_path / "prefs.jsonl"
    preferences.write_text(
        '{"prompt": "1", "chosen": "2", "rejected": "1"}\n{"prompt": "3", "chosen": "4", "rejected": "3"}\n'
    )
    accepted = run("--json", "create", "-m", "base-1", "-t", str(preferences), "--method", "preference")
    assert accepted.exit_code == 0, accepted.output
    assert _spec(_json(accepted)["id"]).method is TuningMethod.PREFERENCE


def test_continuing_where_the_backend_cannot_exits_5_naming_the_flag(run: Any) -> None:
    result = run("create", "-t", TRAIN, "--from", "job-1", backend="memory-sft")
    assert result.exit_code == 5
    assert "cannot continue tuning" in result.stderr
    assert "--from" in result.stderr
    assert MemoryStore.calls == []  # not even a read of the job
