"""Request bodies and assertions shared by the emulator tests."""

from __future__ import annotations

import json
from typing import Any

import httpx

BASE_MODEL = "models/gemini-1.5-flash-001-tuning"

#: The legacy SDK tutorial's data set: 5 examples.
NUMBERS = [
    ("1", "2"),
    ("3", "4"),
    ("-3", "-2"),
    ("twenty two", "twenty three"),
    ("IV", "V"),
]


def create_body(
    examples: list[tuple[str, str]] | None = None,
    *,
    display_name: str | None = "number generator",
    **hyperparameters: Any,
) -> dict[str, Any]:
    """A camelCase TunedModel create body."""
    pairs = NUMBERS if examples is None else examples
    body: dict[str, Any] = {
        "baseModel": BASE_MODEL,
        "tuningTask": {
            "trainingData": {"examples": {"examples": [{"textInput": i, "output": o} for i, o in pairs]}},
            "hyperparameters": hyperparameters,
        },
    }
    if display_name is not None:
        body["displayName"] = display_name
    return body


def assert_error(response: httpx.Response, code: int, status: str, *, contains: str = "") -> dict[str, Any]:
    """The reply is Google's error body with this code and status; returns the ``error`` object."""
    assert response.status_code == code, response.text
    assert response.headers["content-type"].startswith("application/json")
    body = response.json()
    assert set(body) == {"error"}, body
    error: dict[str, Any] = body["error"]
    assert error["code"] == code
    assert error["status"] == status
    assert isinstance(error["message"], str)
    assert error["message"]
    assert contains in error["message"], error["message"]
    return error


def violated_fields(error: dict[str, Any]) -> list[str]:
    """The fields named by the error's BadRequest details."""
    return [
        violation["field"]
        for detail in error.get("details", [])
        if detail.get("@type") == "type.googleapis.com/google.rpc.BadRequest"
        for violation in detail["fieldViolations"]
    ]


def stage_numbers_jsonl(base_url: str, bucket: str = "tuneport-clients", name: str = "train.jsonl") -> None:
    """Upload :data:`NUMBERS` as a Vertex supervised JSONL dataset to ``gs://bucket/name``."""
    lines = [
        json.dumps(
            {
                "contents": [
                    {"role": "user", "parts": [{"text": i}]},
                    {"role": "model", "parts": [{"text": o}]},
                ]
            }
        )
        for i, o in NUMBERS
    ]
    upload = httpx.post(
        f"{base_url}/upload/storage/v1/b/{bucket}/o",
        params={"uploadType": "media", "name": name},
        content="\n".join(lines).encode(),
        headers={"content-type": "application/jsonl"},
    )
    assert upload.status_code == 200, upload.text


def preference_line(
    prompt: str, preferred: str, rejected: str, *, system: str | None = None
) -> dict[str, Any]:
    """One Vertex preference example: a prompt, a preferred (score 1) and a dispreferred (score 0) answer."""
    example: dict[str, Any] = {
        "contents": [{"role": "user", "parts": [{"text": prompt}]}],
        "completions": [
            {"completion": {"role": "model", "parts": [{"text": preferred}]}, "score": 1},
            {"completion": {"role": "model", "parts": [{"text": rejected}]}, "score": 0},
        ],
    }
    if system is not None:
        example["systemInstruction"] = {"parts": [{"text": system}]}
    return example


def preference_jsonl(rows: list[tuple[str, str, str]] | None = None) -> bytes:
    """Vertex preference JSONL (default: :data:`NUMBERS`, the wrong answer being the input repeated)."""
    triples = [(i, o, i) for i, o in NUMBERS] if rows is None else rows
    return ("\n".join(json.dumps(preference_line(*t)) for t in triples) + "\n").encode()


def prompts_jsonl(prompts: list[str] | None = None) -> bytes:
    """Distillation prompt JSONL: one user turn each (default: the inputs of :data:`NUMBERS`)."""
    texts = [i for i, _ in NUMBERS] if prompts is None else prompts
    lines = [json.dumps({"contents": [{"role": "user", "parts": [{"text": t}]}]}) for t in texts]
    return ("\n".join(lines) + "\n").encode()
