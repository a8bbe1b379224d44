"""The README's "Use" snippet runs unchanged on every backend: only tuneport.toml changes (issue #15)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from tuneport.demo import NUMBER_SUCCESSOR

README = Path(__file__).resolve().parents[1] / "README.md"

#: One profile per backend, each the default of its own tuneport.toml; the program never changes.
PROFILES = {
    "gemini": """
        backend = "gemini"
        endpoint = "embedded"
        job = { base_model = "models/gemini-1.5-flash-001-tuning" }
    """,
    "vertex": """
        backend = "vertex"
        endpoint = "embedded"
        project = "readme-use"
        location = "us-central1"
        staging_bucket = "gs://readme-use/tuning"
        job = { base_model = "gemini-2.5-flash" }
    """,
    "inmemory": """
        backend = "inmemory"
        namespace = "readme-use-{tmp}"
        seconds_per_step = 0.01
        job = { base_model = "inmemory-base" }
    """,
}


def use_snippet() -> str:
    """The first Python block under the README's "## Use" heading, as written there."""
    text = README.read_text(encoding="utf-8")
    section = text.split("\n## Use\n", 1)[1]
    found = re.search(r"^```python\n(.*?)^```$", section, re.DOTALL | re.MULTILINE)
    assert found is not None, "the README's Use section has no Python block"
    return found.group(1)


def test_the_snippet_reads_the_canonical_loss() -> None:
    assert 'series["train_loss"]' in use_snippet()


@pytest.mark.parametrize("backend", sorted(PROFILES))
def test_the_readme_use_snippet_runs_unchanged(
    backend: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    for name in ("TUNEPORT_PROFILE", "TUNEPORT_BACKEND", "TUNEPORT_CONFIG", "TUNEPORT_EMULATOR_HOST"):
        monkeypatch.delenv(name, raising=False)
    profile = PROFILES[backend].replace("{tmp}", tmp_path.name)
    (tmp_path / "tuneport.toml").write_text(
        f'default_profile = "p"\n[profiles.p]\n{profile}', encoding="utf-8"
    )
    with open(tmp_path / "train.jsonl", "w", encoding="utf-8") as handle:
        for question, answer in NUMBER_SUCCESSOR:
            turns = [
                {"role": "user", "parts": [{"text": question}]},
                {"role": "model", "parts": [{"text": answer}]},
            ]
            handle.write(json.dumps({"contents": turns}) + "\n")
    monkeypatch.chdir(tmp_path)

    exec(compile(use_snippet(), str(README), "exec"), {"__name__": "readme_use"})

    loss, answer = capsys.readouterr().out.splitlines()[-2:]
    assert float(loss) > 0
    assert answer == "LXIII"  # the output of the nearest training input, LXII
