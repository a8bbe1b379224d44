"""Mistakes that teach (#18): a wrong key, argument or value says what was meant and where it came from."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from tests.conftest import CANARY_KEY
from tests.fake_service import FakeService
from tuneport import AsyncTuningClient, TuningClient
from tuneport.cli import commands  # noqa: F401  (registers the verbs)
from tuneport.cli.app import State, cli
from tuneport.errors import SpecError
from tuneport.plugins import PluginHost
from tuneport.waiting import ManualClock


@pytest.fixture
def data(isolated_environment: Path) -> Path:
    path = isolated_environment / "train.jsonl"
    row = {
        "contents": [{"role": "user", "parts": [{"text": "q"}]}, {"role": "model", "parts": [{"text": "a"}]}]
    }
    path.write_text(json.dumps(row) + "\n", encoding="utf-8")
    return path


@pytest.mark.parametrize(
    ("given", "meant"),
    [
        ("epochs", "epoch_count"),
        ("n_epochs", "epoch_count"),
        ("lr_multiplier", "learning_rate_multiplier"),
        ("batch", "batch_size"),
        ("trainig_data", "training_data"),
    ],
)
def test_keyword_gets_the_key_meant(
    client: TuningClient, service: FakeService, data: Path, given: str, meant: str
) -> None:
    with pytest.raises(SpecError) as caught:
        client.create(base_model="fake-base", training_data=str(data), **{given: 3})
    problem = caught.value.first
    assert problem.field == given
    assert problem.source == "keyword argument"
    assert f"did you mean '{meant}'?" in problem.message
    assert f"keyword argument: {given}: unknown job-spec key '{given}'" in str(caught.value)
    assert service.requests == []


def test_hyperparameter_table_gets_the_key_meant(client: TuningClient, data: Path) -> None:
    with pytest.raises(SpecError) as caught:
        client.create(base_model="fake-base", training_data=str(data), hyperparameters={"n_epochs": 3})
    assert caught.value.first.field == "hyperparameters.n_epochs"
    assert "did you mean 'epoch_count'?" in caught.value.first.message


def test_an_unrelated_key_gets_no_guess(client: TuningClient, data: Path) -> None:
    with pytest.raises(SpecError) as caught:
        client.create(base_model="fake-base", training_data=str(data), zzqx=1)
    assert caught.value.first.message == "unknown job-spec key 'zzqx'"


def test_profile_job_table_is_named(
    make_client: Callable[..., TuningClient], isolated_environment: Path, data: Path
) -> None:
    config = isolated_environment / "tuneport.toml"
    config.write_text('[profiles.dev]\nbackend = "fake"\n[profiles.dev.job]\nepochs = 3\n', encoding="utf-8")
    client = make_client(profile="dev", config=str(config), backend=None)
    with pytest.raises(SpecError) as caught:
        client.create(base_model="fake-base", training_data=str(data))
    problem = caught.value.first
    assert problem.source == f"{config} [profiles.dev.job]"
    assert problem.field == "epochs"
    assert "did you mean 'epoch_count'?" in problem.message


def test_spec_file_is_named(
    host: PluginHost, service: FakeService, isolated_environment: Path, data: Path
) -> None:
    spec = isolated_environment / "job.json"
    spec.write_text(json.dumps({"base_model": "fake-base", "training_data": str(data), "n_epochs": 2}))
    result = _cli(host, service, "create", "--spec", str(spec))
    assert result.exit_code != 0
    assert f"{spec}: n_epochs: unknown job-spec key 'n_epochs'; did you mean 'epoch_count'?" in result.output
    assert service.requests == []


def _cli(host: PluginHost, service: FakeService, *args: str) -> Any:
    options = {
        "plugins": host,
        "transport": service.transport(),
        "clock": ManualClock(),
        "environ": {},
        "backend": "fake",
        "api_key": CANARY_KEY,
    }
    return CliRunner().invoke(cli, list(args), obj=State(connect_options=options), prog_name="tuneport")


def test_base_model_positional_is_explained(client: TuningClient, service: FakeService, data: Path) -> None:
    with pytest.raises(TypeError, match=r"pass the base model as base_model='gemini-2.5-flash'"):
        client.create("gemini-2.5-flash", training_data=str(data))  # type: ignore[arg-type]
    assert service.requests == []


async def test_base_model_positional_is_explained_async(aclient: AsyncTuningClient, data: Path) -> None:
    with pytest.raises(TypeError, match=r"pass the base model as base_model='gemini-2.5-flash'"):
        await aclient.create("gemini-2.5-flash", training_data=str(data))  # type: ignore[arg-type]


def test_spec_and_keywords_still_refused(client: TuningClient, data: Path) -> None:
    spec = client.spec(base_model="fake-base", training_data=str(data))
    with pytest.raises(TypeError, match="not both"):
        client.create(spec, display_name="x")


def test_spec_paths_are_read_from_the_spec_folder(
    host: PluginHost, service: FakeService, isolated_environment: Path, data: Path
) -> None:
    folder = isolated_environment / "jobs"
    folder.mkdir()
    data.rename(folder / "train.jsonl")
    spec = folder / "job.json"
    spec.write_text(json.dumps({"base_model": "fake-base", "training_data": "train.jsonl"}))
    result = _cli(host, service, "--json", "create", "--spec", str(spec))
    assert result.exit_code == 0, result.output
    assert len(service.requests_to("POST", r".*")) >= 1


def test_spec_path_missing_from_the_spec_folder_says_so(
    host: PluginHost, service: FakeService, isolated_environment: Path, data: Path
) -> None:
    folder = isolated_environment / "jobs"
    folder.mkdir()
    spec = folder / "job.toml"
    spec.write_text('base_model = "fake-base"\ntraining_data = "train.jsonl"\n')
    result = _cli(host, service, "create", "--spec", str(spec))  # train.jsonl is in the current folder only
    assert result.exit_code != 0
    assert (
        f"{spec}: training_data: 'train.jsonl' from the spec is read from the spec's folder: "
        f"{folder / 'train.jsonl'} does not exist ('train.jsonl' is in the current directory"
    ) in " ".join(result.output.split())
    assert service.requests == []


def test_spec_uri_and_absolute_path_are_kept(
    host: PluginHost, service: FakeService, isolated_environment: Path, data: Path
) -> None:
    folder = isolated_environment / "jobs"
    folder.mkdir()
    spec = folder / "job.json"
    spec.write_text(json.dumps({"base_model": "fake-base", "training_data": str(data)}))
    result = _cli(host, service, "--json", "create", "--spec", str(spec))
    assert result.exit_code == 0, result.output
