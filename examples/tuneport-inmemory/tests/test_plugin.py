"""The example is a real plugin: found through its entry point, selected by a profile."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import tuneport
from tuneport.plugins import PluginHost


def test_found_through_the_entry_point() -> None:
    entry = PluginHost(environ={}).backend("inmemory")
    assert entry.distribution == "tuneport-inmemory"
    assert entry.plugin == "inmemory"


def test_selected_by_a_profile(tmp_path: Path) -> None:
    config = tmp_path / "tuneport.toml"
    config.write_text(
        'default_profile = "mem"\n[profiles.mem]\nbackend = "inmemory"\nnamespace = "profile-test"\n'
    )
    with tuneport.connect(config=config, environ={}) as client:
        job = client.create(base_model="inmemory-base", training_data=[("1", "2")])
        assert client.get(job.id).backend == "inmemory"


def test_listed_by_tuneport_backends(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "tuneport.cli", "--json", "backends"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    rows = {row["name"]: row for row in json.loads(done.stdout)["backends"]}
    assert rows["inmemory"]["distribution"] == "tuneport-inmemory"
