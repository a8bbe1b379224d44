"""The emulator's own dataset checks (Google's documented rules for Vertex supervised tuning JSONL).

Each case stages a file, creates a tuning job on it and reads what the job
reports: a valid file gives ``tuningDataStats``; an invalid one fails the
job with ``INVALID_ARGUMENT`` naming the file, the line and the field, as
Vertex reports a dataset it cannot use.  Nothing a client stages may make
the emulator answer 500 (the ``emulator`` fixture fails a test on any).
"""

from __future__ import annotations

import dataclasses
import io
import json
import tracemalloc
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from tuneport_emulator import Emulator

CreateJob = Callable[..., httpx.Response]


def _line(contents: Any = None, **extra: Any) -> bytes:
    example: dict[str, Any] = {
        "contents": contents
        if contents is not None
        else [
            {"role": "user", "parts": [{"text": "q"}]},
            {"role": "model", "parts": [{"text": "a"}]},
        ]
    }
    example.update(extra)
    return json.dumps(example).encode() + b"\n"


def _run(
    emulator: Emulator,
    client: httpx.Client,
    create_job: CreateJob,
    gcs: Callable[..., str],
    data: bytes,
    *,
    role: str = "training",
) -> dict[str, Any]:
    spec: dict[str, Any] = {"trainingDatasetUri": gcs()}
    uri = gcs(data, "checked.jsonl")
    spec["validationDatasetUri" if role == "validation" else "trainingDatasetUri"] = uri
    created = create_job(supervisedTuningSpec=spec)
    assert created.status_code == 200, created.text
    emulator.advance(15)
    job = client.get(f"/v1beta1/{created.json()['name']}").json()
    assert isinstance(job, dict)
    return job


def _failure(job: dict[str, Any]) -> str:
    assert job["state"] == "JOB_STATE_FAILED", job
    assert job["error"]["code"] == 3
    message = job["error"]["message"]
    assert isinstance(message, str)
    return message


def test_a_deeply_nested_line_fails_the_job_instead_of_a_500(
    emulator: Emulator, client: httpx.Client, create_job: CreateJob, gcs: Callable[..., str]
) -> None:
    depth = 100_000
    nested = b'{"contents": ' + b"[" * depth + b"]" * depth + b"}\n"
    message = _failure(_run(emulator, client, create_job, gcs, _line() + nested))
    assert "line 2" in message
    assert "nest" in message


def _turn(role: str, *parts: dict[str, Any]) -> dict[str, Any]:
    return {"role": role, "parts": list(parts) or [{"text": "t"}]}


USER, MODEL = _turn("user"), _turn("model")


@pytest.mark.parametrize(
    ("line", "field", "says"),
    [
        (b"[1, 2]\n{}\n", None, "must be JSON Lines"),
        (b"{\n", None, "must be JSON Lines"),
        (b'{"contents": [}\n', None, "not valid JSON"),
        (b"\xff\xfe\n", None, "not UTF-8"),
        (b'"text"\n', None, "expected a JSON object, got a string"),
        (b"{}\n", "contents", "needs 'contents'"),
        (_line([]), "contents", "holds no turns"),
        (_line({"role": "user"}), "contents", "expected an array of turns, got an object"),
        (_line([{"parts": [{"text": "q"}]}, MODEL]), "contents[0].role", "needs a 'role'"),
        (_line([_turn("system"), MODEL]), "contents[0].role", "put system text in 'systemInstruction'"),
        (_line([USER, USER, MODEL]), "contents[1].role", "two 'user' turns in a row"),
        (_line([USER]), "contents[0].role", "its role must be 'model'"),
        (_line([{"role": "user"}, MODEL]), "contents[0].parts", "needs 'parts'"),
        (_line([{"role": "user", "parts": []}, MODEL]), "contents[0].parts", "no parts"),
        (_line([_turn("user", {}), MODEL]), "contents[0].parts[0]", "needs one of 'text', 'fileData'"),
        (_line([_turn("user", {"text": 3}), MODEL]), "contents[0].parts[0].text", "expected a string"),
        (_line([_turn("user", {"text": None}), MODEL]), "contents[0].parts[0].text", "got null"),
        (
            _line([USER, _turn("model", {"text": "a"}, {"text": ["b"]})]),
            "contents[1].parts[1].text",
            "an array",
        ),
        (
            _line([{"role": "user", "parts": {"text": "q"}}, MODEL]),
            "contents[0].parts",
            "expected an array of parts, got an object",
        ),
        (_line([{"role": ["user"], "parts": [{"text": "q"}]}, MODEL]), "contents[0].role", "got ['user']"),
        (
            _line(
                [_turn("user", {"text": "a", "fileData": {"mimeType": "x/y", "fileUri": "gs://b/o"}}), MODEL]
            ),
            "contents[0].parts[0]",
            "one kind of data",
        ),
        (
            _line([_turn("user", {"fileData": {"fileUri": "gs://b/o"}}), MODEL]),
            "contents[0].parts[0].fileData.mimeType",
            "needs a 'mimeType'",
        ),
        (
            _line([_turn("user", {"inlineData": {"mimeType": "image/png", "data": "AA=="}}), MODEL]),
            "contents[0].parts[0]",
            "'inlineData' parts are not part of the tuning data format",
        ),
        (_line([_turn("user", {"txt": "q"}), MODEL]), "contents[0].parts[0]", "unknown field 'txt'"),
        (_line([{**USER, "author": "me"}, MODEL]), "contents[0]", "unknown field 'author'"),
        (_line(generationConfig={}), None, "unknown field 'generationConfig'"),
        (
            _line(systemInstruction={"parts": [{"fileData": {"mimeType": "a/b", "fileUri": "gs://b/o"}}]}),
            "systemInstruction.parts[0]",
            "text parts only",
        ),
        (
            _line(systemInstruction={"parts": [{"text": "s"}]}, system_instruction={}),
            "systemInstruction",
            "twice",
        ),
        (
            _line(
                [
                    _turn("user", {"functionCall": {"name": "f", "args": json.loads("[" * 150 + "]" * 150)}}),
                    MODEL,
                ]
            ),
            "contents[0].parts[0].functionCall",
            "nested more than 100 levels",
        ),
    ],
)
def test_documented_rules(
    emulator: Emulator,
    client: httpx.Client,
    create_job: CreateJob,
    gcs: Callable[..., str],
    line: bytes,
    field: str | None,
    says: str,
) -> None:
    message = _failure(_run(emulator, client, create_job, gcs, line))
    assert "gs://tuneport-test/checked.jsonl" in message
    assert says in message
    if field is not None:
        assert f"line 1, field {field}:" in message


@pytest.mark.parametrize(
    "line",
    [
        # snake_case spellings are read as protobuf's JSON parser reads them
        _line(
            [_turn("user", {"file_data": {"mime_type": "image/png", "file_uri": "gs://b/cat.png"}}), MODEL]
        ),
        _line(system_instruction={"role": "anything", "parts": [{"text": "Be brief."}]}),
        # function-calling tuning: tools, a call and its response
        _line(
            [
                USER,
                _turn("model", {"functionCall": {"name": "weather", "args": {"city": "Paris"}}}),
                _turn("user", {"functionResponse": {"name": "weather", "response": {"sky": "clear"}}}),
                MODEL,
            ],
            tools=[{"functionDeclarations": [{"name": "weather", "parameters": {"type": "OBJECT"}}]}],
            toolConfig={"functionCallingConfig": {"mode": "AUTO"}},
        ),
        # a video part with its metadata, and a part-level media resolution
        _line(
            [
                _turn(
                    "user",
                    {
                        "fileData": {"mimeType": "video/mp4", "fileUri": "gs://b/v.mp4"},
                        "videoMetadata": {"startOffset": "1s", "endOffset": "5s"},
                        "mediaResolution": "MEDIA_RESOLUTION_LOW",
                    },
                ),
                MODEL,
            ]
        ),
        b"\xef\xbb\xbf" + _line() + b"\n   \n" + _line(),  # a byte-order mark, blank lines
    ],
)
def test_documented_shapes_are_accepted(
    emulator: Emulator, client: httpx.Client, create_job: CreateJob, gcs: Callable[..., str], line: bytes
) -> None:
    job = _run(emulator, client, create_job, gcs, line)
    assert job["state"] != "JOB_STATE_FAILED", job.get("error")
    assert int(job["tuningDataStats"]["supervisedTuningDataStats"]["tuningDatasetExampleCount"]) >= 1


def test_the_first_bad_line_is_named_and_the_others_counted(
    emulator: Emulator, client: httpx.Client, create_job: CreateJob, gcs: Callable[..., str]
) -> None:
    data = _line() + _line([USER]) + b"nonsense\n" + _line() + _line([])
    message = _failure(_run(emulator, client, create_job, gcs, data))
    assert "line 2, field contents[0].role" in message
    assert "(2 more invalid lines in the file)" in message


def test_file_limits(
    emulator: Emulator,
    client: httpx.Client,
    create_job: CreateJob,
    gcs: Callable[..., str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from tuneport_emulator.vertex import datasets as vertex_datasets

    limits = vertex_datasets._LIMITS
    monkeypatch.setattr(
        vertex_datasets,
        "_LIMITS",
        dataclasses.replace(limits, max_validation_examples=2, max_line_bytes=200, max_file_bytes=1000),
    )
    three = _line() * 3
    assert "more than 2 examples" in _failure(
        _run(emulator, client, create_job, gcs, three, role="validation")
    )
    long_line = _line([_turn("user", {"text": "x" * 300}), MODEL])
    assert "longer than 200 bytes" in _failure(_run(emulator, client, create_job, gcs, _line() + long_line))
    big = _line() * 30
    assert "at most 1,000 (1 GB)" in _failure(_run(emulator, client, create_job, gcs, big))


def test_examples_over_the_token_limit_are_truncated_not_refused(
    emulator: Emulator, client: httpx.Client, create_job: CreateJob, gcs: Callable[..., str]
) -> None:
    long_answer = _line([USER, _turn("model", {"text": "y" * (4 * 131_072 + 40)})])
    job = _run(emulator, client, create_job, gcs, _line() + long_answer)
    stats = job["tuningDataStats"]["supervisedTuningDataStats"]
    assert stats["totalTruncatedExampleCount"] == "1"
    assert stats["truncatedExampleIndices"] == ["1"]


class _Lines(io.RawIOBase):
    """A read-only stream of ``count`` generated JSONL examples, made as it is read."""

    def __init__(self, count: int) -> None:
        self._left = count
        self._buffer = b""
        #: Bytes made so far.
        self.produced = 0

    def readable(self) -> bool:
        return True

    def readinto(self, target: Any) -> int:
        while len(self._buffer) < len(target) and self._left:
            self._left -= 1
            made = _line([_turn("user", {"text": f"q{self._left} " * 20}), MODEL])
            self._buffer += made
            self.produced += len(made)
        size = min(len(target), len(self._buffer))
        target[:size] = self._buffer[:size]
        self._buffer = self._buffer[size:]
        return size


def test_checking_streams_in_bounded_memory(monkeypatch: pytest.MonkeyPatch) -> None:
    from tuneport_emulator.datasets import VERTEX_SUPERVISED, DatasetRole, check_dataset
    from tuneport_emulator.vertex import datasets as vertex_datasets
    from tuneport_emulator.vertex.datasets import Dataset

    monkeypatch.setattr(vertex_datasets, "MAX_ANSWER_EXAMPLES", 100)
    count = 15_000  # about 4 MB of JSONL
    dataset = Dataset("gs://b/o")
    source = _Lines(count)
    tracemalloc.start()
    try:
        verdict = check_dataset(
            io.BufferedReader(source),
            role=DatasetRole.TRAINING,
            limits=VERTEX_SUPERVISED,
            on_example=dataset.add,
        )
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert verdict.ok
    assert dataset.count == verdict.examples == count
    assert len(dataset.examples) == 100  # answered from; every example is measured
    # Never the file whole: what is kept is the examples answered from and three integers each.
    assert peak < source.produced / 4, (peak, source.produced)
