"""The model catalog: plugin data, config overrides, and pre-flight checks against it."""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from fake_service import EXAMPLES, FakeService

import tuneport
from tuneport.catalog import Catalog, CatalogEntry, ParamRule, entries_from_toml
from tuneport.cli import commands, data  # noqa: F401  (registers the verbs)
from tuneport.cli.app import State, cli
from tuneport.client import TuningClient
from tuneport.datasets import DatasetLimits
from tuneport.errors import (
    ConfigError,
    DatasetError,
    PluginError,
    SpecError,
    UnsupportedCapability,
    UnsupportedParameter,
)
from tuneport.plugins import PluginHost

# --- the catalogs our backends ship -----------------------------------------------------------


@pytest.fixture(scope="module")
def real_catalog() -> Catalog:
    host = PluginHost(environ={})
    host.load_all()
    return host.catalog()


def test_gemini_catalog_marks_the_historical_models_retired(real_catalog: Catalog) -> None:
    for name in ("models/gemini-1.5-flash-001-tuning", "models/gemini-1.0-pro-001"):
        entry = real_catalog.get("gemini", name)
        assert entry is not None
        assert not entry.tunable
        assert entry.status == "retired"
        assert entry.emulated
        assert entry.discontinued is not None
        assert entry.source
        assert entry.source.startswith("https://")
    assert real_catalog.get("gemini", "gemini-1.5-flash-001-tuning") is real_catalog.get(
        "gemini", "models/gemini-1.5-flash-001-tuning"
    )
    assert real_catalog.policy("gemini") == "refuse"


def test_gemini_limits_and_hyperparameters(real_catalog: Catalog) -> None:
    entry = real_catalog.get("gemini", "models/gemini-1.5-flash-001-tuning")
    assert entry is not None
    assert entry.limits.max_input_chars == 40_000
    assert entry.limits.max_output_chars == 5_000
    assert entry.limits.pairs_only
    assert entry.limits.text_only
    assert set(entry.hyperparameters) == {
        "epoch_count",
        "batch_size",
        "learning_rate",
        "learning_rate_multiplier",
    }
    assert ("learning_rate", "learning_rate_multiplier") in entry.exclusive


def test_vertex_catalog(real_catalog: Catalog) -> None:
    flash = real_catalog.get("vertex", "gemini-2.5-flash")
    pro = real_catalog.get("vertex", "gemini-2.5-pro")
    assert flash is not None
    assert pro is not None
    assert flash.tunable
    assert flash.limits.max_example_tokens == 131_072
    assert flash.limits.max_validation_examples == 5_000
    assert flash.hyperparameters["adapter_size"].choices == (1, 2, 4, 8, 16)
    assert pro.hyperparameters["adapter_size"].choices == (1, 2, 4, 8)
    assert "us-central1" in flash.regions
    assert "global" not in flash.regions
    assert real_catalog.policy("vertex") == "allow"


# --- rules ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("rule", "value", "expected"),
    [
        (ParamRule(min=1, integer=True), 0, "out-of-range"),
        (ParamRule(min=1, integer=True), 2.5, "not-an-integer"),
        (ParamRule(min=0, min_exclusive=True), 0, "out-of-range"),
        (ParamRule(max=10), 11, "out-of-range"),
        (ParamRule(choices=(1, 2, 4)), 3, "not-a-choice"),
        (ParamRule(min=1, integer=True), 3, None),
        (ParamRule(choices=(1, 2, 4)), 4, None),
    ],
)
def test_param_rules(rule: ParamRule, value: float, expected: str | None) -> None:
    problem = rule.problem("x", value)
    assert (problem.rule if problem else None) == expected
    if problem:
        assert problem.field == "hyperparameters.x"


def test_exclusive_group_must_name_known_hyperparameters() -> None:
    with pytest.raises(ValueError, match="unknown hyperparameters"):
        CatalogEntry(backend="b", base_model="m", exclusive=(("a", "b"),))


def test_catalog_toml_defaults_merge_and_bad_files() -> None:
    text = """
[defaults]
backend = "x"
unknown_models = "refuse"
[defaults.hyperparameters]
epoch_count = { min = 1 }
[models."m1"]
[models."m2"]
hyperparameters.batch_size = { min = 1 }
"""
    entries, policy = entries_from_toml(text, source="test.toml")
    assert policy == "refuse"
    by_name = {e.base_model: e for e in entries}
    assert set(by_name["m1"].hyperparameters) == {"epoch_count"}
    assert set(by_name["m2"].hyperparameters) == {"epoch_count", "batch_size"}
    with pytest.raises(PluginError, match="invalid TOML"):
        entries_from_toml("[models", source="bad.toml")
    with pytest.raises(PluginError, match="model 'm'"):
        entries_from_toml('[models."m"]\nbackend = "x"\ntunable = "maybe"\n', source="bad.toml")


def test_overrides_patch_add_and_set_policy(real_catalog: Catalog) -> None:
    patched = real_catalog.with_overrides(
        {
            "gemini": {
                "models/gemini-1.5-flash-001-tuning": {"tunable": True, "limits": {"max_input_chars": 10}},
                "unknown_models": "allow",
            },
            "vertex": {
                "gemini-3.0-flash": {"display_name": "next", "hyperparameters": {"epoch_count": {"min": 1}}}
            },
        },
        source="tuneport.toml",
    )
    entry = patched.get("gemini", "models/gemini-1.5-flash-001-tuning")
    assert entry is not None
    assert entry.tunable
    assert entry.limits.max_input_chars == 10
    assert entry.limits.max_output_chars == 5_000  # tables merge key by key
    assert patched.get("gemini", "gemini-1.5-flash-001-tuning") is entry  # aliases follow
    assert patched.policy("gemini") == "allow"
    added = patched.get("vertex", "gemini-3.0-flash")
    assert added is not None
    assert added.display_name == "next"
    # The original is untouched.
    original = real_catalog.get("gemini", "models/gemini-1.5-flash-001-tuning")
    assert original is not None
    assert not original.tunable


@pytest.mark.parametrize(
    ("overrides", "key"),
    [
        ({"gemini": "x"}, "catalog.gemini"),
        ({"gemini": {"m": "x"}}, "catalog.gemini.m"),
        ({"gemini": {"unknown_models": "maybe"}}, "catalog.gemini.unknown_models"),
        ({"gemini": {"m": {"tunable": "perhaps"}}}, "catalog.gemini.m"),
        ({"gemini": {"m": {"unknown_field": 1}}}, "catalog.gemini.m"),
    ],
)
def test_bad_overrides_name_the_key(real_catalog: Catalog, overrides: dict[str, Any], key: str) -> None:
    with pytest.raises(ConfigError) as info:
        real_catalog.with_overrides(overrides, source="tuneport.toml")
    assert info.value.key == key
    assert "tuneport.toml" in str(info.value)


# --- pre-flight through the client ----------------------------------------------------------------


def test_out_of_range_and_exclusive_give_spec_errors_before_any_request(
    client: TuningClient, service: FakeService
) -> None:
    with pytest.raises(SpecError) as info:
        client.create(base_model="fake-base-001", training_data=EXAMPLES, epoch_count=500)
    assert info.value.field == "hyperparameters.epoch_count"
    assert info.value.first.rule == "out-of-range"
    assert service.requests == []


def test_retired_model_is_refused_with_the_reason(client: TuningClient, service: FakeService) -> None:
    with pytest.raises(UnsupportedCapability, match="retired in 2024"):
        client.create(base_model="fake-retired", training_data=EXAMPLES)
    assert service.requests == []


def test_unlisted_model_is_allowed_with_a_warning(
    client: TuningClient, service: FakeService, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING, logger="tuneport"):
        job = client.create(base_model="fake-next", training_data=EXAMPLES)
    assert job.base_model == "fake-next"
    assert "model-not-in-catalog" in caplog.text


def test_refusing_policy_suggests_close_names(
    host: PluginHost, service: FakeService, make_client: Any, tmp_path: Path
) -> None:
    config = tmp_path / "tuneport.toml"
    config.write_text('[catalog.fake]\nunknown_models = "refuse"\n')
    client = make_client(config=config)
    with pytest.raises(UnsupportedParameter) as info:
        client.create(base_model="fake-base-01", training_data=EXAMPLES)
    assert info.value.parameter == "base_model"
    assert "did you mean 'fake-base-001'" in str(info.value)
    assert service.requests == []


def test_config_override_makes_a_retired_model_tunable(make_client: Any, tmp_path: Path) -> None:
    config = tmp_path / "tuneport.toml"
    config.write_text('[catalog.fake."fake-retired"]\ntunable = true\n')
    job = make_client(config=config).create(base_model="fake-retired", training_data=EXAMPLES)
    assert job.base_model == "fake-retired"


def test_dataset_limits_refuse_over_long_examples_with_line(
    make_client: Any, service: FakeService, tmp_path: Path
) -> None:
    config = tmp_path / "tuneport.toml"
    config.write_text('[catalog.fake."fake-base-001".limits]\nmax_output_chars = 5\n')
    train = tmp_path / "train.jsonl"
    lines = [{"text_input": "q", "output": "short"}, {"text_input": "q2", "output": "far too long"}]
    train.write_text("".join(json.dumps(line) + "\n" for line in lines))
    with pytest.raises(DatasetError) as info:
        make_client(config=config).create(base_model="fake-base-001", training_data=train)
    assert info.value.line == 2
    assert info.value.first.rule == "output-too-long"
    assert str(train) in str(info.value)
    assert service.requests == []


def test_emulator_still_tunes_emulated_models() -> None:
    spec = {"base_model": "models/gemini-1.5-flash-001-tuning", "training_data": [("1", "2")]}
    on_emulator = tuneport.validate(spec, backend="gemini", settings={"endpoint": "embedded"}, environ={})
    real = tuneport.validate(
        spec, backend="gemini", settings={"endpoint": "https://example.test"}, environ={}
    )
    rules_emulator = {p.rule for p in on_emulator.problems}
    rules_real = {p.rule for p in real.problems}
    assert "not-tunable" not in rules_emulator
    assert "not-tunable" in rules_real


# --- tuneport.validate -----------------------------------------------------------------------------


def test_validate_reports_everything_without_raising(tmp_path: Path) -> None:
    train = tmp_path / "train.jsonl"
    train.write_text('{"text_input": "", "output": "x"}\nnot json\n')
    report = tuneport.validate(
        {
            "base_model": "gemini-2.5-pro",
            "training_data": train,
            "hyperparameters": {"adapter_size": 16, "batch_size": 4},
        },
        backend="vertex",
        settings={"location": "asia-east9", "project": "my-project"},
        environ={},
    )
    found = {(p.rule, p.field) for p in report.problems}
    assert ("not-a-choice", "hyperparameters.adapter_size") in found
    assert ("unsupported-parameter", "hyperparameters.batch_size") in found
    assert ("region-not-supported", "location") in found
    assert ("empty-text", "contents[0].parts[0].text") in found or any(r == "empty-text" for r, _ in found)
    assert ("malformed-json", None) in found
    assert not report.ok
    assert report.plan is None
    assert report.plan_note
    # What stops the plan (no staging bucket for a local file) is a finding like the others.
    assert ("no-staging-bucket", "training_data") in found
    payload = report.to_dict()
    assert payload["ok"] is False
    assert payload["datasets"]["training_data"]["error_count"] == 2
    with pytest.raises(UnsupportedParameter):  # the most fundamental finding wins
        report.raise_for_errors()


def test_validate_bad_spec_is_a_spec_error() -> None:
    with pytest.raises(SpecError) as info:
        tuneport.validate({"base_model": "", "training_data": "x.jsonl"}, backend="vertex", environ={})
    assert info.value.field == "base_model"


def test_validate_plans_with_a_backend_that_can(host: PluginHost) -> None:
    report = tuneport.validate(
        {"base_model": "fake-base-001", "training_data": EXAMPLES, "display_name": "d"},
        backend="fake",
        plugins=host,
        environ={},
    )
    assert report.ok, report.problems
    assert report.plan is not None
    assert report.plan[0]["method"] == "POST"
    assert report.plan[0]["json"]["displayName"] == "d"


# --- CLI ------------------------------------------------------------------------------------------------


def _run(*args: str, host: PluginHost | None = None) -> Any:
    state = State(connect_options={"plugins": host} if host else {})
    return CliRunner().invoke(cli, list(args), obj=state, prog_name="tuneport")


def test_models_json_lists_both_backends() -> None:
    result = _run("--json", "models")
    assert result.exit_code == 0, result.output
    models = json.loads(result.stdout)["models"]
    names = {(m["backend"], m["base_model"]) for m in models}
    assert ("gemini", "models/gemini-1.5-flash-001-tuning") in names
    assert ("vertex", "gemini-2.5-flash") in names
    only_vertex = json.loads(_run("--json", "models", "--backend", "vertex").stdout)["models"]
    assert {m["backend"] for m in only_vertex} == {"vertex"}


def test_models_unknown_backend_suggests() -> None:
    result = _run("models", "--backend", "vertx")
    assert result.exit_code == 2
    assert "did you mean 'vertex'" in result.stderr


def test_models_human_table_and_config_override(tmp_path: Path) -> None:
    config = tmp_path / "tuneport.toml"
    config.write_text('[catalog.vertex."gemini-9-ultra"]\ndisplay_name = "future"\n')
    result = _run("--json", "--config", str(config), "models", "--backend", "vertex")
    assert result.exit_code == 0, result.output
    names = [m["base_model"] for m in json.loads(result.stdout)["models"]]
    assert "gemini-9-ultra" in names
    assert "gemini-2.5-pro" in names
    human = _run("--config", str(config), "models", "--backend", "vertex")
    assert human.exit_code == 0
    assert "31 regions" in human.stdout


def test_dataset_validate_against_a_model(tmp_path: Path) -> None:
    train = tmp_path / "train.jsonl"
    train.write_text(
        json.dumps({"text_input": "q" * 40_001, "output": "a"})
        + "\n"
        + json.dumps({"text_input": "q", "output": "a"})
        + "\n"
    )
    result = _run(
        "--json", "dataset", "validate", str(train), "--model", "models/gemini-1.5-flash-001-tuning"
    )
    assert result.exit_code == 4
    report = json.loads(result.stdout)
    assert [(p["line"], p["rule"]) for p in report["problems"]] == [(1, "input-too-long")]
    human = _run("dataset", "validate", str(train), "-m", "gemini-1.5-flash-001-tuning")
    assert human.exit_code == 4
    assert "error input-too-long: 1 error\n" in human.stdout
    assert "line 1" in human.stdout
    plain = _run("dataset", "validate", str(train))
    assert plain.exit_code == 0
    assert "valid" in plain.stdout


def test_dataset_validate_usage_errors(tmp_path: Path) -> None:
    train = tmp_path / "t.jsonl"
    train.write_text('{"text_input": "q", "output": "a"}\n')
    assert _run("dataset", "validate", str(train), "--backend", "vertex").exit_code == 2
    unknown = _run("dataset", "validate", str(train), "--model", "gemini-0")
    assert unknown.exit_code == 2
    assert "not in the catalog" in unknown.stderr


def test_dataset_convert_and_stats(tmp_path: Path) -> None:
    source = tmp_path / "pairs.jsonl"
    source.write_text(
        "".join(json.dumps({"text_input": str(i), "output": str(i + 1)}) + "\n" for i in range(5))
    )
    target = tmp_path / "vertex.jsonl"
    result = _run("--json", "dataset", "convert", str(source), str(target), "--to", "vertex")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["written"] == 5
    first = json.loads(target.read_text().splitlines()[0])
    assert first["contents"][0] == {"role": "user", "parts": [{"text": "0"}]}
    stats = _run("--json", "dataset", "stats", str(target), "--epochs", "3")
    assert stats.exit_code == 0, stats.output
    payload = json.loads(stats.stdout)
    assert payload["example_count"] == 5
    assert payload["billable_tokens"] == payload["estimated_tokens"] * 3
    human = _run("dataset", "stats", str(target))
    assert "estimated tokens per epoch" in human.stdout


def test_dataset_convert_refuses_what_the_target_cannot_hold(tmp_path: Path) -> None:
    source = tmp_path / "chat.jsonl"
    turns = [
        {"role": "user", "content": "a"},
        {"role": "assistant", "content": "b"},
        {"role": "user", "content": "c"},
        {"role": "assistant", "content": "d"},
    ]
    source.write_text(json.dumps({"messages": turns}) + "\n")
    target = tmp_path / "pairs.jsonl"
    refused = _run("--json", "dataset", "convert", str(source), str(target), "--to", "gemini")
    assert refused.exit_code == 4
    assert not target.exists()
    split = _run(
        "--json", "dataset", "convert", str(source), str(target), "--to", "gemini", "--policy", "split"
    )
    assert split.exit_code == 0, split.output
    assert json.loads(split.stdout)["split"] == 1
    assert len(target.read_text().splitlines()) == 2


def test_datasets_limits_model_is_shared() -> None:
    # The catalog's limits are the datasets module's type: one definition.
    assert CatalogEntry.model_fields["limits"].annotation is DatasetLimits
