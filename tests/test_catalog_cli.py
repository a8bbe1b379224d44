"""``tuneport models`` and ``tuneport models MODEL``, through the real CLI."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner, Result

from tuneport.cli import commands, data  # noqa: F401  (registers the verbs)
from tuneport.cli.app import State, cli
from tuneport.plugins import PluginHost

VERTEX_GEMINI = [
    "gemini-3.5-flash",
    "gemini-3.5-flash-lite",
    "gemini-3.1-flash-lite",
    "gemini-2.5-pro",
    "gemini-2.5-flash",
    "gemini-2.5-flash-lite",
    "gemini-2.0-flash-001",
    "gemini-2.0-flash-lite-001",
]


def _run(*args: str) -> Result:
    return CliRunner().invoke(cli, list(args), obj=State(), prog_name="tuneport")


def _shipped_names() -> list[str]:
    host = PluginHost(environ={})
    host.load_all()
    return [entry.base_model for entry in host.catalog().models()]


def test_the_list_shows_every_model_whole_with_its_summary() -> None:
    result = _run("models")
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    for name in _shipped_names():  # never folded or shortened, even the longest open-model id
        assert any(line.split() and line.split()[0] == name for line in lines), name
    text = " ".join(result.stdout.split())
    assert "gemini-3.1-flash-lite Gemini 3.1 Flash-Lite" in text
    assert "regions: us-central1, europe-west4, served from us, eu" in text
    assert "methods: supervised, preference, distillation (preview)" in text
    assert "new tuning: no (retired) (the emulator still tunes it)" in text
    assert "tuning ends: 2026-01-06" in text  # 30 days before 2.0 Flash retired
    assert "price: none recorded" in text
    assert "near misses of listed names are refused" in text


def test_one_model_in_full() -> None:
    result = _run("models", "gemini-2.5-flash")
    assert result.exit_code == 0, result.output
    text = " ".join(result.stdout.split())
    for expected in (
        "method supervised available",
        "epoch_count: 1-100",
        "adapter_size: 1, 2, 4, 8, 16",
        "method preference available",
        "beta: ≥ 0",
        "10,000,000 training examples",
        "method distillation preview",
        "teachers gemini-3.1-pro",
        "example ≤ 131,072 tokens",
        "validation ≤ 25% of the training file's bytes",
        "validation ≤ 30% of the training examples (with over 1,000 validation examples)",
        "retires no date recorded",
        "still tunes on 2026-12-03",
        "source read 2026-12-03",
        "could not be read on 2026-12-03",
    ):
        assert expected in text, expected
    urls = [line.strip() for line in result.stdout.splitlines() if line.strip().startswith("https://")]
    assert "https://cloud.google.com/vertex-ai/generative-ai/docs/learn/model-versions" in urls
    assert (
        "https://docs.cloud.google.com/vertex-ai/generative-ai/docs/models/gemini-preference-tuning" in urls
    )


def test_one_model_json_has_every_field() -> None:
    result = _run("--json", "models", "gemini-3.1-flash-lite")
    assert result.exit_code == 0, result.output
    (entry,) = json.loads(result.stdout)["models"]
    assert entry["base_model"] == "gemini-3.1-flash-lite"
    assert entry["regions"] == ["us-central1", "europe-west4"]
    assert entry["serving"] == ["us", "eu"]
    assert entry["source_read"] == "2026-12-03"
    assert entry["hyperparameters"]["epoch_count"]["max"] == 100
    assert "price_note" in entry
    assert "lifecycle_note" in entry


def test_the_list_json_has_the_current_vertex_models() -> None:
    result = _run("--json", "models", "--backend", "vertex")
    assert result.exit_code == 0, result.output
    models = {m["base_model"]: m for m in json.loads(result.stdout)["models"]}
    for name in VERTEX_GEMINI:
        assert name in models, name
    assert models["gemini-2.0-flash-001"]["tunable"] is False
    assert models["gemini-2.0-flash-001"]["status"] == "retired"


def test_a_misspelt_model_gets_did_you_mean() -> None:
    result = _run("models", "gemini-2.5-flsh")
    assert result.exit_code == 2
    assert "no model 'gemini-2.5-flsh' in the catalog; did you mean 'gemini-2.5-flash'" in result.stderr


def test_a_model_from_the_config_file_is_shown(tmp_path: Path) -> None:
    config = tmp_path / "tuneport.toml"
    config.write_text(
        '[catalog.vertex."gemini-9-ultra"]\ndisplay_name = "future"\n'
        '[catalog.vertex."gemini-9-ultra".price]\namount = 2.5\nsource = "https://example.test/p"\n'
        "read = 2026-12-01\n"
    )
    result = _run("--config", str(config), "models", "gemini-9-ultra")
    assert result.exit_code == 0, result.output
    text = " ".join(result.stdout.split())
    assert "price 2.5 USD per 1M training tokens https://example.test/p (read 2026-12-01)" in text
    listed = " ".join(_run("--config", str(config), "models").stdout.split())
    assert "price: 2.5 USD per 1M training tokens" in listed
