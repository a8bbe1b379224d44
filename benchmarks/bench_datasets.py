"""Benchmark: validate and convert a large Vertex JSONL, against a naive baseline.

    python benchmarks/bench_datasets.py [--size-mb 1024] [--repeat 3] [--json]

Generates a Vertex supervised-tuning JSONL in a temporary directory (a
realistic mix: one to four exchanges, system instructions on half the
examples, image file parts on 8% of them, non-ASCII words in 3%), then runs each
contender in its own subprocess (so peak RSS is per run) and reports the
median throughput (MB/s of input), the peak RSS, and the ratio to the naive
baseline (the median of per-round ratios: rounds interleave the contenders so
that load on the machine hits them alike):

* ``baseline validate``: ``json.loads`` + a pydantic model of the Vertex
  example per line (shape, roles, role order, non-empty text);
* ``baseline convert``: the same, then an OpenAI chat dict per line,
  ``json.dumps`` and write;
* ``baseline ... (msgspec+orjson)``: the like-for-like baseline, with the JSON
  libraries tuneport uses when they are installed: msgspec structs of the same
  shape decode and check each line (role order in Python), orjson writes;
* ``tuneport validate``: :func:`tuneport.datasets.validate_dataset` with
  Vertex-like limits (131,072 tokens per example, 1 GiB), duplicates on;
* ``tuneport convert``: :func:`tuneport.datasets.convert_dataset` to OpenAI;
* the two tuneport rows again on the stdlib codec (``codec=JsonCodec.stdlib()``:
  no orjson, no msgspec), whose like-for-like baseline is the stdlib one;
* ``tuneport validate (no duplicate check)``: ``check_duplicates=False``, to
  show what hashing every example costs;
* ``tuneport validate (2 workers)``: ``validate_dataset(..., workers=2)``; its
  peak RSS adds each worker's (an upper bound: forks share pages).

Each row has two ratios: to the naive stdlib baseline (the headline), and to
the baseline that uses the same JSON libraries (like for like).

The target (issue "Datasets and the model catalog"): at least 3x the
baseline's throughput, peak RSS under 150 MB.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

MIB = 1024 * 1024
TARGET_RATIO = 3.0
TARGET_RSS_MB = 150.0

# --- the generated dataset --------------------------------------------------------------

_WORDS = [
    "the",
    "model",
    "answer",
    "question",
    "data",
    "tuning",
    "example",
    "gradient",
    "learning",
    "rate",
    "epoch",
    "batch",
    "token",
    "vertex",
    "gemini",
    "system",
    "instruction",
    "user",
    "turn",
    "output",
    "input",
    "review",
    "summary",
    "translate",
    "explain",
    "customer",
    "support",
    "order",
    "refund",
    "shipping",
    "invoice",
    "account",
    "password",
    "reset",
    "schedule",
    "meeting",
    "python",
    "function",
    "error",
    "stack",
    "trace",
    "deploy",
    "cluster",
    "latency",
    "budget",
    "quarterly",
    "revenue",
    "forecast",
    "because",
    "therefore",
    "however",
    "meanwhile",
    "although",
    "unless",
    "whether",
    "either",
    "neither",
    "rather",
    "quite",
]
_NON_ASCII = ["café", "naïve", "Straße", "こんにちは世界", "数据集", "Привет", "données", "한국어", "résumé"]


def _sentence(rng: random.Random, non_ascii: bool) -> str:
    words = [rng.choice(_WORDS) for _ in range(rng.randint(6, 22))]
    if non_ascii:
        words[rng.randrange(len(words))] = rng.choice(_NON_ASCII)
    return " ".join(words).capitalize() + rng.choice(".?!")


def _text(rng: random.Random, pool: list[str], low: int, high: int) -> str:
    target = rng.randint(low, high)
    out: list[str] = []
    size = 0
    while size < target:
        s = rng.choice(pool)
        out.append(s)
        size += len(s) + 1
    return " ".join(out)


def _example(rng: random.Random, pool: list[str], index: int) -> dict[str, Any]:
    exchanges = rng.choices((1, 2, 3, 4), weights=(60, 25, 10, 5))[0]
    contents: list[dict[str, Any]] = []
    for turn in range(exchanges):
        user_parts: list[dict[str, Any]] = [{"text": _text(rng, pool, 150, 1500)}]
        if turn == 0 and rng.random() < 0.08:
            ext, mime = rng.choice((("png", "image/png"), ("jpg", "image/jpeg")))
            user_parts.append(
                {"fileData": {"mimeType": mime, "fileUri": f"gs://bench-bucket/img/{index}.{ext}"}}
            )
        contents.append({"role": "user", "parts": user_parts})
        contents.append({"role": "model", "parts": [{"text": _text(rng, pool, 150, 2500)}]})
    example: dict[str, Any] = {"contents": contents}
    if rng.random() < 0.5:
        example = {"systemInstruction": {"parts": [{"text": _text(rng, pool, 80, 600)}]}, **example}
    return example


def generate(path: Path, size_mb: float, seed: int = 7) -> int:
    """Write a Vertex JSONL of about *size_mb* MiB (never over); return its example count."""
    rng = random.Random(seed)
    ascii_pool = [_sentence(rng, non_ascii=False) for _ in range(4000)]
    # A few examples (3%) draw from a pool where one sentence in five has non-ASCII words.
    mixed_pool = [_sentence(rng, non_ascii=i % 5 == 0) for i in range(4000)]
    limit = int(size_mb * MIB)
    written = count = 0
    with open(path, "wb", buffering=MIB) as f:
        while True:
            pool = mixed_pool if rng.random() < 0.03 else ascii_pool
            line = (json.dumps(_example(rng, pool, count), ensure_ascii=False) + "\n").encode()
            if written + len(line) > limit:
                break
            f.write(line)
            written += len(line)
            count += 1
    return count


# --- the contenders (each runs in a child process) ----------------------------------------


def _baseline_models() -> Any:
    from typing import Literal

    from pydantic import BaseModel, ConfigDict, Field, model_validator

    class Strict(BaseModel):
        model_config = ConfigDict(extra="forbid")

    class FileData(Strict):
        mimeType: str = Field(min_length=1)
        fileUri: str = Field(min_length=1)

    class Part(Strict):
        text: str | None = Field(default=None, min_length=1)
        fileData: FileData | None = None

        @model_validator(mode="after")
        def _one_kind(self) -> Part:
            if (self.text is None) == (self.fileData is None):
                raise ValueError("a part holds exactly one of text or fileData")
            return self

    class Content(Strict):
        role: Literal["user", "model"]
        parts: list[Part] = Field(min_length=1)

    class SystemInstruction(Strict):
        role: str | None = None
        parts: list[Part] = Field(min_length=1)

    class VertexExample(Strict):
        systemInstruction: SystemInstruction | None = None
        contents: list[Content] = Field(min_length=1)

        @model_validator(mode="after")
        def _alternates(self) -> VertexExample:
            for i, content in enumerate(self.contents):
                if content.role != ("user" if i % 2 == 0 else "model"):
                    raise ValueError(f"contents[{i}]: turns must alternate user/model")
            if self.contents[-1].role != "model":
                raise ValueError("the last turn must be a model turn")
            return self

    return VertexExample


def _fast_baseline_decoder() -> Any:
    """The like-for-like baseline's grammar: msgspec structs of the Vertex example (C-speed checks)."""
    import msgspec

    return msgspec.json.Decoder(_fast_baseline_types()).decode


def _fast_baseline_types() -> Any:
    # msgspec resolves annotations at run time: the structs are built from explicit types,
    # since this module's annotations are strings (``from __future__ import annotations``).
    from typing import Annotated, Literal

    import msgspec

    text = Annotated[str, msgspec.Meta(min_length=1)]

    def struct(name: str, fields: list[Any]) -> Any:
        return msgspec.defstruct(name, fields, forbid_unknown_fields=True)

    file_data = struct("FileData", [("mimeType", text), ("fileUri", text)])
    part = struct("Part", [("text", text | None, None), ("fileData", file_data | None, None)])
    parts = Annotated[list[part], msgspec.Meta(min_length=1)]  # type: ignore[valid-type]
    content = struct("Content", [("role", Literal["user", "model"]), ("parts", parts)])
    system = struct("SystemInstruction", [("parts", parts), ("role", str | None, None)])
    contents = Annotated[list[content], msgspec.Meta(min_length=1)]  # type: ignore[valid-type]
    return struct("VertexExample", [("contents", contents), ("systemInstruction", system | None, None)])


def _fast_baseline_check(example: Any) -> bool:
    """What msgspec cannot say: one kind per part, and the user/model alternation."""
    for i, content in enumerate(example.contents):
        if content.role != ("user" if i % 2 == 0 else "model"):
            return False
        for part in content.parts:
            if (part.text is None) == (part.fileData is None):
                return False
    return example.contents[-1].role == "model"


def _to_openai(example: Any) -> dict[str, Any]:
    def content(parts: list[Any]) -> Any:
        if len(parts) == 1 and parts[0].text is not None:
            return parts[0].text
        return [
            {"type": "text", "text": p.text}
            if p.text is not None
            else {"type": "image_url", "image_url": {"url": p.fileData.fileUri}}
            for p in parts
        ]

    messages = []
    if example.systemInstruction is not None:
        messages.append({"role": "system", "content": content(example.systemInstruction.parts)})
    for c in example.contents:
        messages.append({"role": "user" if c.role == "user" else "assistant", "content": content(c.parts)})
    return {"messages": messages}


def _run_baseline(path: Path, out: Path | None) -> dict[str, Any]:
    import pydantic

    model = _baseline_models()
    valid = invalid = 0
    sink = open(out, "w", encoding="utf-8") if out else None  # noqa: SIM115
    try:
        with open(path, encoding="utf-8") as f:
            for line in f:
                try:
                    example = model.model_validate(json.loads(line))
                except (ValueError, pydantic.ValidationError):
                    invalid += 1
                    continue
                valid += 1
                if sink is not None:
                    sink.write(json.dumps(_to_openai(example), ensure_ascii=False) + "\n")
    finally:
        if sink is not None:
            sink.close()
    return {"valid": valid, "invalid": invalid}


def _run_fast_baseline(path: Path, out: Path | None) -> dict[str, Any]:
    import msgspec
    import orjson

    decode = _fast_baseline_decoder()
    valid = invalid = 0
    sink = open(out, "wb") if out else None  # noqa: SIM115
    try:
        with open(path, "rb") as f:
            for line in f:
                try:
                    example = decode(line)
                except msgspec.DecodeError:
                    invalid += 1
                    continue
                if not _fast_baseline_check(example):
                    invalid += 1
                    continue
                valid += 1
                if sink is not None:
                    sink.write(orjson.dumps(_to_openai(example), option=orjson.OPT_APPEND_NEWLINE))
    finally:
        if sink is not None:
            sink.close()
    return {"valid": valid, "invalid": invalid}


def _run_tuneport(
    path: Path, out: Path | None, stdlib: bool, workers: int, duplicates: bool
) -> dict[str, Any]:
    from tuneport.datasets import DatasetLimits, JsonCodec, convert_dataset, validate_dataset

    codec = JsonCodec.stdlib() if stdlib else JsonCodec.fastest()
    if out is None:
        limits = DatasetLimits(max_example_tokens=131_072, max_file_bytes=1024 * MIB)
        report = validate_dataset(
            path, limits=limits, workers=workers, check_duplicates=duplicates, codec=codec
        )
        return {
            "valid": report.valid_example_count,
            "examples": report.example_count,
            "errors": report.error_count,
            "warnings": report.warning_count,
            "json": codec.name,
        }
    conversion = convert_dataset(path, out, to="openai", codec=codec)
    return {"written": conversion.written, "json": codec.name}


def _warm_up(mode: str, path: Path, out: Path | None) -> None:
    """Run the contender over the first 50 lines of *path* (imports, caches), untimed."""
    with tempfile.TemporaryDirectory(prefix="tuneport-bench-warm-") as tmp:
        small = Path(tmp) / "warm.jsonl"
        with open(path, "rb") as source, open(small, "wb") as sink:
            for _, line in zip(range(50), source, strict=False):
                sink.write(line)
        small_out = Path(tmp) / "warm-out.jsonl" if out is not None else None
        if mode == "baseline":
            _run_baseline(small, small_out)
        elif mode == "baseline-fast":
            _run_fast_baseline(small, small_out)
        else:
            _run_tuneport(small, small_out, stdlib=mode.endswith("stdlib"), workers=1, duplicates=True)


def child(mode: str, path: Path, out: Path | None) -> None:
    """Run one contender and print its timing and peak RSS as JSON."""
    workers = int(mode.rsplit("-", 1)[1].rstrip("w")) if mode.endswith("w") else 1
    # Imports happen before the clock starts: the benchmark times the work, not start-up.
    # ``tuneport.datasets`` loads its modules on first use, so each contender first runs
    # once over the file's first lines (in one process): that loads everything it uses.
    _warm_up(mode, path, out)
    start = time.perf_counter()
    if mode == "baseline":
        result = _run_baseline(path, out)
    elif mode == "baseline-fast":
        result = _run_fast_baseline(path, out)
    else:
        result = _run_tuneport(
            path, out, stdlib=mode.endswith("stdlib"), workers=workers, duplicates=not mode.endswith("nodup")
        )
    seconds = time.perf_counter() - start
    rss_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    # With worker processes, count each at the peak of the largest (an upper bound:
    # pages a fork shares with its parent are counted in both).
    workers_kb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss * workers if workers > 1 else 0
    print(json.dumps({"seconds": seconds, "rss_mb": (rss_kb + workers_kb) / 1024, "result": result}))


#: (row, child mode, converts, like-for-like baseline row).
CONTENDERS = (
    ("baseline validate", "baseline", False, "baseline validate"),
    ("baseline validate (msgspec+orjson)", "baseline-fast", False, "baseline validate (msgspec+orjson)"),
    ("tuneport validate", "tuneport", False, "baseline validate (msgspec+orjson)"),
    ("tuneport validate (stdlib json)", "tuneport-stdlib", False, "baseline validate"),
    ("tuneport validate (no duplicate check)", "tuneport-nodup", False, "baseline validate (msgspec+orjson)"),
    ("tuneport validate (2 workers)", "tuneport-2w", False, "baseline validate (msgspec+orjson)"),
    ("baseline convert", "baseline", True, "baseline convert"),
    ("baseline convert (msgspec+orjson)", "baseline-fast", True, "baseline convert (msgspec+orjson)"),
    ("tuneport convert", "tuneport", True, "baseline convert (msgspec+orjson)"),
    ("tuneport convert (stdlib json)", "tuneport-stdlib", True, "baseline convert"),
)


def _spawn(mode: str, path: Path, out: Path | None) -> dict[str, Any]:
    args = [sys.executable, __file__, "--child", mode, str(path)]
    if out is not None:
        args.append(str(out))
    done = subprocess.run(args, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise SystemExit(f"{mode} failed:\n{done.stderr}")
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    if out is not None:
        out.unlink(missing_ok=True)
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--size-mb", type=float, default=1024, help="size of the generated file (MiB)")
    parser.add_argument("--repeat", type=int, default=3, help="runs per contender (the median is reported)")
    parser.add_argument("--json", action="store_true", help="print the results as JSON")
    parser.add_argument("--dir", type=Path, default=None, help="where to put the generated file")
    parser.add_argument("--child", nargs="+", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        mode, path, *out = args.child
        child(mode, Path(path), Path(out[0]) if out else None)
        return 0

    with tempfile.TemporaryDirectory(dir=args.dir, prefix="tuneport-bench-") as tmp:
        data = Path(tmp) / "vertex.jsonl"
        start = time.perf_counter()
        count = generate(data, args.size_mb)
        size = data.stat().st_size
        log = sys.stderr
        print(
            f"generated {size / MIB:,.0f} MiB, {count:,} examples in {time.perf_counter() - start:.0f}s",
            file=log,
        )
        # Rounds interleave the contenders, so that a burst of load on the machine
        # hits every contender of a round alike; ratios are taken within a round.
        runs: dict[str, list[dict[str, Any]]] = {name: [] for name, *_ in CONTENDERS}
        for i in range(args.repeat):
            for name, mode, converts, _ in CONTENDERS:
                run = _spawn(mode, data, Path(tmp) / "out.jsonl" if converts else None)
                run["mb_per_s"] = size / MIB / run["seconds"]
                runs[name].append(run)
                print(f"  round {i + 1}: {name}: {run['mb_per_s']:.1f} MB/s", file=log)
        rows: dict[str, dict[str, Any]] = {}
        for name, _, converts, like in CONTENDERS:
            contender_runs = runs[name]
            base = runs["baseline convert" if converts else "baseline validate"]
            ratios = [r["mb_per_s"] / b["mb_per_s"] for r, b in zip(contender_runs, base, strict=True)]
            like_ratios = [
                r["mb_per_s"] / b["mb_per_s"] for r, b in zip(contender_runs, runs[like], strict=True)
            ]
            rows[name] = {
                "mb_per_s": statistics.median(r["mb_per_s"] for r in contender_runs),
                "seconds": statistics.median(r["seconds"] for r in contender_runs),
                "peak_rss_mb": max(r["rss_mb"] for r in contender_runs),
                "ratio": statistics.median(ratios),
                "ratios": [round(r, 2) for r in ratios],
                "like_for_like": like,
                "like_for_like_ratio": statistics.median(like_ratios),
                "result": contender_runs[0]["result"],
            }
    summary = {
        "file_mb": size / MIB,
        "examples": count,
        "repeat": args.repeat,
        "python": sys.version.split()[0],
        "machine": platform.platform(),
        "date": time.strftime("%Y-%m-%d"),
        "cpus": os.cpu_count(),
        "rows": rows,
        "target": {"ratio": TARGET_RATIO, "peak_rss_mb": TARGET_RSS_MB},
    }
    if args.json:
        print(json.dumps(summary, indent=2))
    else:
        print(f"{size / MIB:,.0f} MiB, {count:,} examples, median of {args.repeat} interleaved rounds")
        print("ratio: to the naive stdlib baseline; like: to the baseline on the same JSON libraries")
        header = f"{'contender':40} {'MB/s':>8} {'ratio':>6} {'like':>6} {'peak RSS MB':>12}  ratio per round"
        print(header)
        for name, row in rows.items():
            rounds = " ".join(f"{r:.2f}" for r in row["ratios"])
            print(
                f"{name:40} {row['mb_per_s']:8.1f} {row['ratio']:6.2f} {row['like_for_like_ratio']:6.2f}"
                f" {row['peak_rss_mb']:12.1f}  {rounds}"
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
