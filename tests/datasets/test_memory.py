"""Constant memory: a ~200 MB file is validated, measured and converted in a small, fixed RSS.

What this proves: the streaming readers never hold the file (or a growing
share of it) in memory.  The file is generated on the fly (never committed)
and processed in a fresh subprocess, whose own peak RSS (VmHWM) must
stay far below the file's size.  The only per-example state is the duplicate
digests (~100 bytes per example: ~10 MB here), which is documented.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest

FILE_MB = 200
RSS_LIMIT_MB = 120


def _lines(target_bytes: int) -> Iterator[str]:
    filler = "lorem ipsum dolor sit amet " * 40
    written = i = 0
    while written < target_bytes:
        system = f'"systemInstruction":{{"parts":[{{"text":"rule {i % 97}"}}]}},' if i % 2 else ""
        line = (
            f'{{{system}"contents":[{{"role":"user","parts":[{{"text":"question {i} {filler}"}}]}},'
            f'{{"role":"model","parts":[{{"text":"answer {i} {filler}"}}]}}]}}\n'
        )
        written += len(line)
        i += 1
        yield line


CHILD = textwrap.dedent(
    """
    import json, resource, sys

    def peak_rss_mb():
        # VmHWM is this program's own peak; ru_maxrss keeps the forking parent's
        # (Linux carries it across exec), which a long pytest session inflates.
        try:
            with open("/proc/self/status") as status:
                for line in status:
                    if line.startswith("VmHWM:"):
                        return int(line.split()[1]) / 1024
        except OSError:
            pass
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

    from tuneport.datasets import JsonCodec, convert_dataset, dataset_stats, validate_dataset
    codec = JsonCodec.stdlib() if sys.argv[2] == "stdlib" else JsonCodec.fastest()
    report = validate_dataset(sys.argv[1], codec=codec)
    stats = dataset_stats(sys.argv[1], epochs=2, codec=codec)
    conversion = convert_dataset(sys.argv[1], sys.argv[1] + ".openai.jsonl", to="openai", codec=codec)
    print(json.dumps({
        "ok": report.ok,
        "examples": report.example_count,
        "stats_examples": stats.example_count,
        "written": conversion.written,
        "rss_mb": peak_rss_mb(),
    }))
    """
)


@pytest.fixture(scope="module")
def big_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("big") / "vertex.jsonl"
    with open(path, "w", encoding="utf-8") as f:
        f.writelines(_lines(FILE_MB * 1024 * 1024))
    return path


@pytest.mark.memory
@pytest.mark.parametrize("mode", ["accelerated", "stdlib"])
def test_peak_rss_is_independent_of_file_size(big_file: Path, mode: str) -> None:
    done = subprocess.run(
        [sys.executable, "-c", CHILD, str(big_file), mode],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert result["ok"]
    assert result["examples"] == result["stats_examples"] == result["written"] > 50_000
    size_mb = big_file.stat().st_size / 1024 / 1024
    assert size_mb >= FILE_MB
    assert result["rss_mb"] < RSS_LIMIT_MB, f"peak RSS {result['rss_mb']:.0f} MB for a {size_mb:.0f} MB file"
    Path(str(big_file) + ".openai.jsonl").unlink()
