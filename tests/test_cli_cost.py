"""Money on the command line: create's estimate, --max-cost, the confirmation prompt and --yes;
dataset stats --model; the [cost] table of tuneport.toml."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result
from fake_service import FakeService

from tuneport.cli import _cost, commands, data  # noqa: F401  (registers the verbs)
from tuneport.cli.app import EXIT_INVALID, EXIT_USAGE, State, cli
from tuneport.config import load_config
from tuneport.datasets import dataset_stats
from tuneport.errors import ConfigError

#: $1 per token: the amounts below are the billable token counts.
CONFIG = '[catalog.fake."fake-base-001".price]\namount = 1000000.0\nsource = "test price"\n'


@pytest.fixture
def config(tmp_path: Path) -> Path:
    path = tmp_path / "tuneport.toml"
    path.write_text(CONFIG + "[cost]\nconfirm_above = 10\n")
    return path


@pytest.fixture
def train(tmp_path: Path) -> Path:
    path = tmp_path / "train.jsonl"
    lines = [{"text_input": f"question {i}?", "output": f"answer number {i}."} for i in range(5)]
    path.write_text("".join(json.dumps(line) + "\n" for line in lines))
    return path


@pytest.fixture
def run(fake_cli_options: dict[str, Any]) -> Any:
    def invoke(*args: str, input: str | None = None) -> Result:
        options = dict(fake_cli_options)
        return CliRunner().invoke(cli, list(args), obj=State(connect_options=options), input=input)

    return invoke


def tokens_of(train: Path) -> int:
    billable = dataset_stats(train, epochs=1).billable_tokens
    assert billable is not None
    return billable


def create(run: Any, config: Path, train: Path, *extra: str, input: str | None = None) -> Result:
    return run(
        "--config",
        str(config),
        "create",
        "--base-model",
        "fake-base-001",
        "--training-data",
        str(train),
        "--epochs",
        "2",
        *extra,
        input=input,
    )


def test_create_prints_the_estimate_before_the_job(
    run: Any, config: Path, train: Path, service: FakeService, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(_cost, "interactive", lambda: False)
    result = create(run, config, train)
    assert result.exit_code == 0, result.output
    expected = tokens_of(train) * 2
    assert f"{tokens_of(train):,} billable tokens x 2 epochs (spec)" in result.stderr
    assert f"${expected:,.2f}" in result.stderr
    # Over confirm_above, but not a terminal: no question, the job goes ahead and says why.
    assert "not a terminal" in result.stderr
    assert len(service.requests_to("POST")) == 1


def test_max_cost_refuses_before_any_request_with_exit_4(
    run: Any, config: Path, train: Path, service: FakeService
) -> None:
    result = create(run, config, train, "--max-cost", "5")
    assert result.exit_code == EXIT_INVALID
    assert "over max_cost $5.00" in result.output
    assert service.requests == []


def test_the_prompt_declined_starts_nothing(
    run: Any, config: Path, train: Path, service: FakeService, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(_cost, "interactive", lambda: True)
    result = create(run, config, train, input="n\n")
    assert "Start the job?" in result.stderr
    assert result.exit_code == EXIT_INVALID
    assert "not approved" in result.output
    assert service.requests == []


def test_the_prompt_accepted_starts_the_job(
    run: Any, config: Path, train: Path, service: FakeService, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(_cost, "interactive", lambda: True)
    result = create(run, config, train, input="y\n")
    assert result.exit_code == 0, result.output
    assert len(service.requests_to("POST")) == 1


def test_yes_skips_the_prompt(
    run: Any, config: Path, train: Path, service: FakeService, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(_cost, "interactive", lambda: True)
    result = create(run, config, train, "--yes")  # no input: a prompt would abort
    assert result.exit_code == 0, result.output
    assert "Start the job?" not in result.stderr
    assert len(service.requests_to("POST")) == 1


def test_under_the_threshold_nothing_is_asked(
    run: Any, tmp_path: Path, train: Path, service: FakeService, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(_cost, "interactive", lambda: True)
    config = tmp_path / "high.toml"
    config.write_text(CONFIG + "[cost]\nconfirm_above = 1e9\n")
    result = create(run, config, train)
    assert result.exit_code == 0, result.output
    assert "Start the job?" not in result.stderr


def test_dataset_stats_with_a_model_shows_the_cost(run: Any, config: Path, train: Path) -> None:
    human = run(
        "--config", str(config), "dataset", "stats", str(train), "--model", "fake-base-001", "--epochs", "3"
    )
    assert human.exit_code == 0, human.output
    assert f"{tokens_of(train):,} billable tokens x 3 epochs (spec)" in human.stdout
    as_json = run(
        "--config", str(config), "--json", "dataset", "stats", str(train), "--model", "fake-base-001"
    )
    payload = json.loads(as_json.stdout)
    # Without --epochs: no billable total, and a cost that says why it has no amount.
    assert payload["billable_tokens"] is None
    assert payload["cost"]["amount"] is None
    assert payload["cost"]["tokens_per_epoch"] == tokens_of(train)
    assert "epoch_count is not set" in payload["cost"]["note"]


def test_dataset_stats_without_a_model_has_no_cost(run: Any, train: Path) -> None:
    payload = json.loads(run("--json", "dataset", "stats", str(train)).stdout)
    assert "cost" not in payload


@pytest.mark.parametrize(
    ("table", "key"),
    [
        ("[cost]\nconfirm_abov = 3\n", "cost.confirm_abov"),
        ("[cost]\nconfirm_above = -1\n", "cost.confirm_above"),
        ("[cost]\nconfirm_above = true\n", "cost.confirm_above"),
        ('cost = "10"\n', "cost"),
    ],
)
def test_bad_cost_tables_name_the_key(tmp_path: Path, table: str, key: str) -> None:
    path = tmp_path / "tuneport.toml"
    path.write_text(table)
    with pytest.raises(ConfigError) as info:
        load_config(path)
    assert info.value.key == key


def test_a_bad_cost_table_is_a_usage_error(run: Any, tmp_path: Path, train: Path) -> None:
    path = tmp_path / "tuneport.toml"
    path.write_text("[cost]\nconfirm_above = -1\n")
    result = create(run, path, train)
    assert result.exit_code == EXIT_USAGE


_CHECK = "from tuneport.cli._cost import interactive; print(interactive())"


def test_interactive_is_true_on_a_terminal_and_false_on_pipes() -> None:
    import pty

    main, child = pty.openpty()
    try:
        on_tty = subprocess.run(
            [sys.executable, "-c", _CHECK],
            check=False,
            stdin=child,
            stdout=child,
            stderr=subprocess.PIPE,
            timeout=60,
        )
        assert on_tty.returncode == 0, on_tty.stderr
        assert os.read(main, 100).strip() == b"True"
    finally:
        os.close(main)
        os.close(child)
    piped = subprocess.run(
        [sys.executable, "-c", _CHECK], stdin=subprocess.PIPE, capture_output=True, timeout=60, check=True
    )
    assert piped.stdout.strip() == b"False"


def test_a_note_naming_a_toml_table_is_printed_as_text(run: Any, train: Path, tmp_path: Path) -> None:
    config = tmp_path / "tuneport.toml"
    note = 'set [catalog.fake."fake-base-001"].price in tuneport.toml'
    config.write_text(f'[catalog.fake."fake-base-001"]\nprice_note = {json.dumps(note)}\n')
    result = run(
        "--config", str(config), "dataset", "stats", str(train), "--model", "fake-base-001", "--epochs", "1"
    )
    assert result.exit_code == 0, result.output
    assert note in " ".join(result.stdout.split())
    created = create(run, config, train)
    assert created.exit_code == 0, created.output
    assert note in " ".join(created.stderr.split())
