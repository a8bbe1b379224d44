"""``import tuneport`` stays cheap: heavy dependencies load only when used."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

import tuneport

HEAVY = [
    "httpx",
    "pydantic",
    "click",
    "rich",
    "pluggy",
    "google.auth",
    "grpc",
    "matplotlib",
    "plotext",
    "tuneport_gemini",
    "tuneport_vertex",
]


def _loaded_after(code: str, cwd: Path) -> dict[str, list[str]]:
    """Run *code* in a fresh interpreter and report which HEAVY modules it loaded."""
    script = textwrap.dedent(
        f"""
        import json, sys
        {code}
        heavy = {HEAVY!r}
        print(json.dumps({{
            "loaded": sorted(m for m in heavy if m in sys.modules),
            "tuneport": sorted(m for m in sys.modules if m.startswith("tuneport")),
        }}))
        """
    )
    result = subprocess.run(
        [sys.executable, "-c", script], cwd=cwd, capture_output=True, text=True, timeout=60, check=False
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)  # type: ignore[no-any-return]


def test_import_loads_no_heavy_dependency(tmp_path: Path) -> None:
    report = _loaded_after("import tuneport", tmp_path)
    assert report["loaded"] == []
    assert report["tuneport"] == ["tuneport", "tuneport._version"]


def test_the_check_would_notice_a_heavy_import(tmp_path: Path) -> None:
    """The probe itself works: touching a lazy name does load what it needs."""
    report = _loaded_after("import tuneport; tuneport.TuningClient", tmp_path)
    assert "pydantic" in report["loaded"]
    assert "tuneport.client" in report["tuneport"]


def test_models_do_not_need_the_http_stack_or_plugins(tmp_path: Path) -> None:
    report = _loaded_after("import tuneport; tuneport.JobSpec; tuneport.TuneportError", tmp_path)
    assert not {"httpx", "pluggy", "click", "rich", "tuneport_gemini", "tuneport_vertex"} & set(
        report["loaded"]
    )


@pytest.mark.parametrize("name", tuneport.__all__)
def test_every_public_name_resolves(name: str) -> None:
    value = getattr(tuneport, name)
    assert value is not None
    if name != "__version__":
        assert getattr(value, "__name__", name) == name


def test_public_surface() -> None:
    assert dir(tuneport) == sorted(tuneport.__all__)
    assert "connect" in tuneport.__all__
    assert "AsyncTuningClient" in tuneport.__all__
    assert isinstance(tuneport.__version__, str)
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        tuneport.nope  # noqa: B018
