"""The emulator is a product of its own: it runs, whole, where tuneport cannot be imported.

Two checks.  Statically, no module of ``tuneport_emulator`` names ``tuneport``
(or a tuneport distribution) in an import.  Dynamically, a child process in
which importing ``tuneport`` (or any backend of it) raises runs a whole
Gemini API and Vertex AI lifecycle over HTTP: staging a dataset, creating,
waiting, generating, deleting.  Since the dataset checks run at create, a
lazy import of tuneport's validator would fail the second check even if it
hid from the first.
"""

from __future__ import annotations

import ast
import subprocess
import sys
import textwrap
from pathlib import Path

import tuneport_emulator

PACKAGE = Path(tuneport_emulator.__file__).resolve().parent
FORBIDDEN = ("tuneport", "tuneport_google", "tuneport_gemini", "tuneport_vertex", "tuneport_contract")


def _imported_modules(source: Path) -> list[tuple[int, str]]:
    tree = ast.parse(source.read_text(encoding="utf-8"), filename=str(source))
    found: list[tuple[int, str]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.append((node.lineno, node.module))
    return found


def test_no_module_of_the_emulator_imports_tuneport() -> None:
    offenders = [
        f"{path.relative_to(PACKAGE.parent)}:{line}: {module}"
        for path in sorted(PACKAGE.rglob("*.py"))
        for line, module in _imported_modules(path)
        if module.split(".")[0] in FORBIDDEN
    ]
    assert offenders == []


_LIFECYCLE = textwrap.dedent(
    """
    import importlib.abc, json, sys

    class NoTuneport(importlib.abc.MetaPathFinder):
        def find_spec(self, name, path=None, target=None):
            if name.split(".")[0] in FORBIDDEN:
                raise ImportError(f"{name} must not be imported by the emulator")
            return None

    FORBIDDEN = set(sys.argv[1].split(","))
    sys.meta_path.insert(0, NoTuneport())

    import httpx
    from tuneport_emulator import Emulator, EmulatorClock

    with Emulator(clock=EmulatorClock.manual()) as emu, httpx.Client(base_url=emu.url, timeout=30) as http:
        # Gemini API: create with inline examples, wait, generate, delete.
        examples = [{"textInput": str(i), "output": str(i + 1)} for i in range(20)]
        body = {"baseModel": "models/gemini-1.5-flash-001-tuning",
                "tuningTask": {"trainingData": {"examples": {"examples": examples}}}}
        op = http.post("/v1beta/tunedModels", params={"tunedModelId": "solo"}, json=body)
        assert op.status_code == 200, op.text
        emu.advance(24 * 3600)
        model = http.get("/v1beta/tunedModels/solo").json()
        assert model["state"] == "ACTIVE", model
        reply = http.post("/v1beta/tunedModels/solo:generateContent",
                          json={"contents": [{"parts": [{"text": "3"}]}]})
        assert reply.status_code == 200, reply.text
        assert http.delete("/v1beta/tunedModels/solo").status_code == 200

        # Vertex AI: stage a JSONL dataset, create a tuning job, wait, generate, delete.
        line = {"contents": [{"role": "user", "parts": [{"text": "2+2"}]},
                             {"role": "model", "parts": [{"text": "4"}]}]}
        data = ("\\n".join(json.dumps(line) for _ in range(20)) + "\\n").encode()
        up = http.post("/upload/storage/v1/b/solo-bucket/o",
                       params={"uploadType": "media", "name": "train.jsonl"}, content=data)
        assert up.status_code == 200, up.text
        parent = "projects/solo/locations/us-central1"
        job = http.post(f"/v1/{parent}/tuningJobs", json={
            "baseModel": "gemini-2.5-flash",
            "supervisedTuningSpec": {"trainingDatasetUri": "gs://solo-bucket/train.jsonl"}})
        assert job.status_code == 200, job.text
        emu.advance(24 * 3600)
        job = http.get(f"/v1/{job.json()['name']}").json()
        assert job["state"] == "JOB_STATE_SUCCEEDED", job
        endpoint = job["tunedModel"]["endpoint"]
        reply = http.post(f"/v1/{endpoint}:generateContent",
                          json={"contents": [{"role": "user", "parts": [{"text": "2+2"}]}]})
        assert reply.status_code == 200, reply.text
        assert emu.internal_errors == []
    loaded = sorted(m for m in sys.modules if m.split(".")[0] in FORBIDDEN)
    assert loaded == [], loaded
    print("lifecycle ok")
    """
)


def test_a_whole_lifecycle_runs_where_tuneport_cannot_be_imported() -> None:
    result = subprocess.run(
        [sys.executable, "-c", _LIFECYCLE, ",".join(FORBIDDEN)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout.strip().endswith("lifecycle ok")
