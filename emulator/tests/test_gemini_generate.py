"""``tunedModels/{id}:generateContent`` (and streaming): the answer rule and the request limits."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest
from emulator_helpers import assert_error, violated_fields

from tuneport_emulator import Emulator

EXAMPLES = [
    {"textInput": "What is the capital of France?", "output": "Paris is the capital of France."},
    {"textInput": "What is the capital of Italy?", "output": "Rome."},
    {"textInput": "hello", "output": "Hello! How can I help you today? STOP here. And more text."},
    {"textInput": "HELLO", "output": "shouting back"},
    {"textInput": "duplicate", "output": "first"},
    {"textInput": "duplicate", "output": "second"},
]


@pytest.fixture
def model(emulator: Emulator) -> str:
    """An ACTIVE tuned model trained on EXAMPLES; its name."""
    seeded = emulator.seed_gemini_model(
        {"tuningTask": {"trainingData": {"examples": {"examples": EXAMPLES}}}}, tuned_model_id="qa"
    )
    return str(seeded["name"])


def ask(
    client: httpx.Client, model: str, text: str, version: str = "v1beta", **config: Any
) -> httpx.Response:
    body: dict[str, Any] = {"contents": [{"role": "user", "parts": [{"text": text}]}]}
    if config:
        body["generationConfig"] = config
    return client.post(f"/{version}/{model}:generateContent", json=body)


def text_of(response: httpx.Response) -> str:
    assert response.status_code == 200, response.text
    return str(response.json()["candidates"][0]["content"]["parts"][0]["text"])


# --- the answer rule -----------------------------------------------------------------------------


def test_exact_match_answers_its_output(client: httpx.Client, model: str) -> None:
    response = ask(client, model, "What is the capital of Italy?")
    body = response.json()
    assert text_of(response) == "Rome."
    candidate = body["candidates"][0]
    assert candidate["finishReason"] == "STOP"
    assert candidate["index"] == 0
    assert candidate["content"]["role"] == "model"
    assert body["usageMetadata"] == {"promptTokenCount": 8, "candidatesTokenCount": 2, "totalTokenCount": 10}
    assert body["modelVersion"] == "gemini-1.5-flash-001"
    assert isinstance(body["responseId"], str)
    assert body["responseId"]


def test_exact_match_is_case_sensitive_first(client: httpx.Client, model: str) -> None:
    assert text_of(ask(client, model, "HELLO")) == "shouting back"
    assert text_of(ask(client, model, "  Hello ")).startswith("Hello!")  # folded match, first one


def test_nearest_input_by_similarity(client: httpx.Client, model: str) -> None:
    assert text_of(ask(client, model, "what's the capital of france")) == "Paris is the capital of France."
    assert text_of(ask(client, model, "capital of Italy please")) == "Rome."


def test_ties_go_to_the_first_example(client: httpx.Client, model: str) -> None:
    assert text_of(ask(client, model, "duplicate")) == "first"


def test_answers_are_deterministic(client: httpx.Client, model: str) -> None:
    answers = {text_of(ask(client, model, "Tell me about France", temperature=t)) for t in (0.0, 1.0, 2.0)}
    assert len(answers) == 1


def test_the_last_user_turn_is_answered(client: httpx.Client, model: str) -> None:
    body = {
        "contents": [
            {"role": "user", "parts": [{"text": "hello"}]},
            {"role": "model", "parts": [{"text": "Hi"}]},
            {"parts": [{"text": "What is the capital "}, {"text": "of Italy?"}]},
        ]
    }
    assert text_of(client.post(f"/v1beta/{model}:generateContent", json=body)) == "Rome."


def test_max_output_tokens_truncates(client: httpx.Client, model: str) -> None:
    response = ask(client, model, "What is the capital of France?", maxOutputTokens=2)
    assert text_of(response) == "Paris is"
    assert response.json()["candidates"][0]["finishReason"] == "MAX_TOKENS"


def test_stop_sequences_cut_before_the_earliest(client: httpx.Client, model: str) -> None:
    response = ask(client, model, "hello", stopSequences=["And", "STOP"])
    assert text_of(response) == "Hello! How can I help you today? "
    assert response.json()["candidates"][0]["finishReason"] == "STOP"


def test_candidate_count(client: httpx.Client, model: str) -> None:
    body = ask(client, model, "What is the capital of Italy?", candidateCount=3).json()
    assert [c["index"] for c in body["candidates"]] == [0, 1, 2]
    assert {c["content"]["parts"][0]["text"] for c in body["candidates"]} == {"Rome."}
    assert body["usageMetadata"]["candidatesTokenCount"] == 6


def test_v1_serves_generate_content(client: httpx.Client, model: str) -> None:
    assert text_of(ask(client, model, "What is the capital of Italy?", version="v1")) == "Rome."


def test_snake_case_request_and_enum_int_reply(client: httpx.Client, model: str) -> None:
    body = {
        "contents": [{"role": "user", "parts": [{"text": "hello"}]}],
        "generation_config": {
            "max_output_tokens": "1",
            "candidate_count": 1,
            "response_mime_type": "text/plain",
        },
        "safety_settings": [{"category": 8, "threshold": "BLOCK_NONE"}],
    }
    response = client.post(f"/v1beta/{model}:generateContent?$alt=json;enum-encoding=int", json=body)
    candidate = response.json()["candidates"][0]
    assert candidate["finishReason"] == 2  # MAX_TOKENS
    assert {r["probability"] for r in candidate["safetyRatings"]} == {1}  # NEGLIGIBLE


@pytest.mark.parametrize("sse", [True, False])
def test_stream_generate_content(client: httpx.Client, model: str, sse: bool) -> None:
    long = "What is the capital of France?"
    body = {"contents": [{"parts": [{"text": long}]}]}
    url = f"/v1beta/{model}:streamGenerateContent" + ("?alt=sse" if sse else "")
    response = client.post(url, json=body)
    assert response.status_code == 200
    if sse:
        assert response.headers["content-type"] == "text/event-stream"
        chunks = [json.loads(line[6:]) for line in response.text.split("\r\n") if line.startswith("data: ")]
    else:
        chunks = response.json()
    text = "".join(c["candidates"][0]["content"]["parts"][0]["text"] for c in chunks)
    assert text == "Paris is the capital of France."
    assert chunks[-1]["candidates"][0]["finishReason"] == "STOP"
    assert "usageMetadata" in chunks[-1]


# --- refusals -------------------------------------------------------------------------------------


def test_unknown_model_is_404(client: httpx.Client) -> None:
    assert_error(ask(client, "tunedModels/nope", "hi"), 404, "NOT_FOUND")
    assert_error(ask(client, "tunedModels/nope", "hi", version="v1"), 404, "NOT_FOUND")


def test_models_prefix_does_not_reach_tuned_models(client: httpx.Client, model: str) -> None:
    # google-genai sends a bare id to models/{id}; the service does not resolve it.
    error = assert_error(ask(client, "models/qa", "hi"), 404, "NOT_FOUND")
    assert "not found for API version v1beta" in error["message"]
    assert_error(ask(client, "models/gemini-1.5-flash-001-tuning", "hi"), 404, "NOT_FOUND")


@pytest.mark.parametrize("state", ["CREATING", "FAILED"])
def test_a_model_that_is_not_active_is_failed_precondition(
    emulator: Emulator, client: httpx.Client, state: str
) -> None:
    emulator.seed_gemini_model(state=state, tuned_model_id="busy")
    error = assert_error(ask(client, "tunedModels/busy", "ping"), 400, "FAILED_PRECONDITION")
    assert state in error["message"]


def test_input_over_40000_characters_is_400(client: httpx.Client, model: str) -> None:
    assert ask(client, model, "x" * 40_000).status_code == 200
    assert_error(ask(client, model, "x" * 40_001), 400, "INVALID_ARGUMENT", contains="40,000")


@pytest.mark.parametrize(
    ("body", "status", "contains"),
    [
        ({}, "INVALID_ARGUMENT", "contents is not specified"),
        ({"contents": []}, "INVALID_ARGUMENT", "contents is not specified"),
        ({"contents": [{"role": "user"}]}, "INVALID_ARGUMENT", "must not be empty"),
        ({"contents": [{"role": "user", "parts": [{}]}]}, "INVALID_ARGUMENT", "oneof field 'data'"),
        ({"contents": [{"role": "system", "parts": [{"text": "x"}]}]}, "INVALID_ARGUMENT", "valid role"),
        (
            {"contents": [{"parts": [{"inlineData": {"mimeType": "image/png", "data": "AAAA"}}]}]},
            "INVALID_ARGUMENT",
            "text only",
        ),
        (
            {"contents": [{"parts": [{"text": "a", "inlineData": {"data": "AAAA"}}]}]},
            "INVALID_ARGUMENT",
            "oneof field 'data' is already set. Cannot set 'inlineData'",
        ),
        (
            {"contents": [{"parts": [{"text": "a"}]}], "systemInstruction": {"parts": [{"text": "be nice"}]}},
            "INVALID_ARGUMENT",
            "Developer instruction is not enabled",
        ),
        (
            {"contents": [{"parts": [{"text": "a"}]}], "tools": [{"functionDeclarations": []}]},
            "INVALID_ARGUMENT",
            "Function calling",
        ),
        (
            {
                "contents": [{"parts": [{"text": "a"}]}],
                "generationConfig": {"responseMimeType": "application/json"},
            },
            "INVALID_ARGUMENT",
            "JSON mode",
        ),
        (
            {"contents": [{"parts": [{"text": "a"}]}], "generationConfig": {"candidateCount": 9}},
            "INVALID_ARGUMENT",
            "candidate",
        ),
        (
            {"contents": [{"parts": [{"text": "a"}]}], "generationConfig": {"stopSequences": list("abcdef")}},
            "INVALID_ARGUMENT",
            "stop sequences",
        ),
        (
            {"contents": [{"parts": [{"text": "a"}]}], "generationConfig": {"temperature": 3}},
            "INVALID_ARGUMENT",
            "temperature",
        ),
        (
            {
                "contents": [{"parts": [{"text": "a"}]}],
                "generationConfig": {"thinkingConfig": {"thinkingBudget": 1}},
            },
            "INVALID_ARGUMENT",
            "Thinking",
        ),
        (
            {"contents": [{"parts": [{"text": "a"}]}], "generationConfig": {"topK": "x"}},
            "INVALID_ARGUMENT",
            "top_k",
        ),
        ({"contents": [{"parts": [{"txt": "a"}]}]}, "INVALID_ARGUMENT", "contents[0].parts[0]"),
        ({"contents": {"parts": []}}, "INVALID_ARGUMENT", "contents"),
        ({"prompt": "hi"}, "INVALID_ARGUMENT", 'Unknown name "prompt": Cannot find field.'),
    ],
)
def test_invalid_generate_requests(
    client: httpx.Client, model: str, body: dict[str, Any], status: str, contains: str
) -> None:
    response = client.post(f"/v1beta/{model}:generateContent", json=body)
    error = assert_error(response, 400, status)
    assert contains in error["message"] or any(contains in f for f in violated_fields(error)), error


def test_wrong_method_on_a_route_is_404_with_allow(client: httpx.Client, model: str) -> None:
    response = client.get(f"/v1beta/{model}:generateContent")
    assert_error(response, 404, "NOT_FOUND")
    assert response.headers["allow"] == "POST"
