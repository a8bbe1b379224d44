"""Resolving a backend (``open_backend``) loads what building the backend needs, and no more.

The start-up target of the performance issue is measured on
``tuneport.open_backend(backend="vertex", ...)``; these tests keep the parts
that only a client's pre-flight checks need (the model catalog, the TOML
parser, the other plugins) off that path, and check that the cheaper plugin
discovery finds what ``importlib.metadata`` finds.
"""

from __future__ import annotations

import importlib
import json
import subprocess
import sys
import textwrap
from collections.abc import Callable
from importlib import metadata
from pathlib import Path
from typing import Any

import pytest

import tuneport
from tuneport.errors import PluginError
from tuneport.hookspecs import hookimpl
from tuneport.plugins import ENTRY_POINT_GROUP, PluginHost, _dist_name, _dist_version, _tuneport_entry_points

#: Modules that only pre-flight checks, error messages or other backends need.
NOT_ON_THE_PATH = [
    "tuneport.catalog",
    "tuneport.datasets",
    "tuneport.client",
    "tuneport.preflight",
    "tomllib",
    "difflib",
    "tuneport_gemini",
    "httpx",
    "google.auth",
]


def test_open_backend_loads_no_catalog_nor_other_plugins(isolated_environment: Path) -> None:
    # The child inherits the isolated HOME, XDG_CONFIG_HOME and working directory: no config file.
    script = textwrap.dedent(
        f"""
        import json, sys
        import tuneport
        backend = tuneport.open_backend(backend="vertex", project="my-project", environ={{}})
        assert backend.settings.project == "my-project"
        print(json.dumps(sorted(m for m in {NOT_ON_THE_PATH!r} if m in sys.modules)))
        """
    )
    result = subprocess.run(
        [sys.executable, "-c", script],
        cwd=isolated_environment,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == []


class _BrokenCatalog:
    """The fake backends, with a catalog hook that fails."""

    def __init__(self) -> None:
        from fake_service import FakeBackend

        self.backend = FakeBackend

    @hookimpl
    def register_backends(self, register: Callable[[type[Any]], None]) -> None:
        register(self.backend)

    @hookimpl
    def register_catalog(self, register: Callable[[Any], None], set_policy: Any) -> None:
        raise RuntimeError("catalog file missing")


def test_the_catalog_is_built_by_the_clients_not_by_open_backend() -> None:
    host = PluginHost(entry_points=lambda: [], environ={})
    host.register_plugin(_BrokenCatalog(), name="broken-catalog", distribution="tuneport-broken-catalog")
    backend = tuneport.open_backend(backend="fake", plugins=host, environ={})
    assert backend.name == "fake"
    with pytest.raises(PluginError, match="catalog file missing"):
        tuneport.validate(
            {"base_model": "m", "training_data": [("q", "a")]}, backend="fake", plugins=host, environ={}
        )
    with pytest.raises(PluginError, match="catalog file missing"):
        tuneport.connect(backend="fake", plugins=host, environ={})


def _dist_info(root: Path, dist: str, version: str, entry_points: str | None, metadata_text: str) -> None:
    info = root / f"{dist.replace('-', '_')}-{version}.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text(metadata_text, encoding="utf-8")
    if entry_points is not None:
        (info / "entry_points.txt").write_text(entry_points, encoding="utf-8")


@pytest.fixture
def sites(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Path, Path]:
    """Two site directories on sys.path, the first shadowing the second."""
    first, second = tmp_path / "first", tmp_path / "second"
    first.mkdir()
    second.mkdir()
    monkeypatch.syspath_prepend(str(second))
    monkeypatch.syspath_prepend(str(first))
    importlib.invalidate_caches()
    return first, second


def test_discovery_finds_what_importlib_metadata_finds(sites: tuple[Path, Path]) -> None:
    first, second = sites
    _dist_info(
        first,
        "tuneport-shadowed",
        "2.0",
        "[tuneport]\nshadow = shadow_new\n",
        "Metadata-Version: 2.1\nName: tuneport-shadowed\nVersion: 2.0\n",
    )
    _dist_info(
        second,
        "tuneport-shadowed",
        "1.0",
        "[tuneport]\nshadow = shadow_old\n",
        "Metadata-Version: 2.1\nName: tuneport-shadowed\nVersion: 1.0\n",
    )
    _dist_info(
        second,
        "mentions-tuneport",
        "1.0",
        "[console_scripts]\ntuneport-helper = helper:main\n\n[tuneport]\nalso = also_mod\n",
        "Metadata-Version: 2.1\nName: mentions-tuneport\nVersion: 1.0\n",
    )
    _dist_info(
        second,
        "spaced-section",
        "1.0",
        "[ tuneport ]\nspaced = spaced_mod\n",  # not the group's header for importlib.metadata either
        "Metadata-Version: 2.1\nName: spaced-section\nVersion: 1.0\n",
    )
    _dist_info(
        second,
        "other-group",
        "1.0",
        "[pytest11]\nplugin = other\n",
        "Metadata-Version: 2.1\nName: other-group\nVersion: 1.0\n",
    )
    expected = list(metadata.entry_points(group=ENTRY_POINT_GROUP))
    found = _tuneport_entry_points()
    assert found == expected
    pairs = {(ep.name, ep.value) for ep in found}
    assert pairs >= {("shadow", "shadow_new"), ("also", "also_mod")}
    assert not pairs & {("shadow", "shadow_old"), ("spaced", "spaced_mod")}
    for ep in found:
        dist = ep.dist
        assert dist is not None
        assert (_dist_name(ep), _dist_version(ep)) == (dist.metadata["Name"], dist.version)


def test_distribution_headers_are_read_like_the_email_parser(sites: tuple[Path, Path]) -> None:
    first, _second = sites
    _dist_info(
        first,
        "tuneport-odd",
        "3.1",
        "[tuneport]\nodd = odd_mod\n",
        "metadata-version: 2.1\nNAME:   tuneport-odd  \nversion: 3.1\n\nName: not-a-header\n",
    )
    _dist_info(
        first,
        "tuneport-nameless",
        "0.1",
        "[tuneport]\nnameless = nameless_mod\n",
        "Metadata-Version: 2.1\n",
    )
    by_name = {ep.name: ep for ep in _tuneport_entry_points()}
    odd, nameless = by_name["odd"], by_name["nameless"]
    assert odd.dist is not None
    assert nameless.dist is not None
    # Header names are case-insensitive, a value keeps its trailing blanks,
    # and the headers end at the first blank line.
    assert (_dist_name(odd), _dist_version(odd)) == ("tuneport-odd  ", "3.1")
    assert (_dist_name(odd), _dist_version(odd)) == (odd.dist.metadata["Name"], odd.dist.version)
    # No header at all: the same text as the email parser's answer.
    assert _dist_name(nameless) == str(nameless.dist.metadata["Name"])
