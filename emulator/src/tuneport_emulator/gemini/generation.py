"""``tunedModels/{id}:generateContent``: the request checks of a tuned model and its answer.

Tuned Gemini models were text-only and had no system instruction, JSON
mode, tools or thinking; the service refused those with 400s, and so does
the emulator.  The answer itself comes from :mod:`tuneport_emulator.answers`.
"""

from __future__ import annotations

from typing import Any

from tuneport_emulator.answers import answer, estimate_tokens
from tuneport_emulator.gemini.base_models import model_version
from tuneport_emulator.gemini.checks import MAX_INPUT_CHARS
from tuneport_emulator.gemini.records import State
from tuneport_emulator.gemini.tuning import TunedModels
from tuneport_emulator.ids import IdSource
from tuneport_emulator.wire import ApiError, bad_request

__all__ = ["MAX_CANDIDATES", "MAX_STOP_SEQUENCES", "generate", "stream_chunks"]

MAX_CANDIDATES = 8
MAX_STOP_SEQUENCES = 5
_REQUEST = "GenerateContentRequest"
_ROLES = ("user", "model")
_RATED_CATEGORIES = (
    "HARM_CATEGORY_SEXUALLY_EXPLICIT",
    "HARM_CATEGORY_HATE_SPEECH",
    "HARM_CATEGORY_HARASSMENT",
    "HARM_CATEGORY_DANGEROUS_CONTENT",
)
_RESPONSE_ID_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"


def _invalid(path: str, message: str) -> ApiError:
    return bad_request(f"* {_REQUEST}.{path}: {message}", field=path)


def generate(models: TunedModels, ids: IdSource, model_id: str, request: dict[str, Any]) -> dict[str, Any]:
    """Answer a normalized GenerateContentRequest; the GenerateContentResponse (normalized)."""
    name = f"tunedModels/{model_id}"
    state, examples, base_model = models.generation_inputs(model_id)
    _check_request(name, request)
    if state is not State.ACTIVE:
        raise ApiError(
            "FAILED_PRECONDITION", f"Tuned model {name} is not ready: its state is {state.value}, not ACTIVE."
        )
    contents: list[dict[str, Any]] = request["contents"]
    all_text = "".join(p.get("text", "") for c in contents for p in c.get("parts", []))
    if len(all_text) > MAX_INPUT_CHARS:
        raise bad_request(
            f"The input has {len(all_text):,} characters; a tuned model accepts at most {MAX_INPUT_CHARS:,}.",
            field="contents",
        )
    config = request.get("generationConfig") or {}
    result = answer(
        examples,
        _prompt(contents),
        max_output_tokens=config.get("maxOutputTokens"),
        stop_sequences=config.get("stopSequences") or (),
    )
    count = config.get("candidateCount") or 1
    candidate_tokens = estimate_tokens(result.text)
    prompt_tokens = estimate_tokens(all_text)
    candidates = [
        {
            "content": {"parts": [{"text": result.text}], "role": "model"},
            "finishReason": result.finish_reason,
            "index": index,  # an `optional` field: sent even when 0
            "safetyRatings": [{"category": c, "probability": "NEGLIGIBLE"} for c in _RATED_CATEGORIES],
        }
        for index in range(count)
    ]
    usage: dict[str, Any] = {"promptTokenCount": prompt_tokens}
    if candidate_tokens:
        usage["candidatesTokenCount"] = candidate_tokens * count
    usage["totalTokenCount"] = prompt_tokens + candidate_tokens * count
    return {
        "candidates": candidates,
        "usageMetadata": usage,
        "modelVersion": model_version(base_model),
        "responseId": ids.token("gemini.response", 23, _RESPONSE_ID_ALPHABET),
    }


def stream_chunks(response: dict[str, Any], chunk_chars: int = 64) -> list[dict[str, Any]]:
    """Split a response into streamed chunks: text pieces, then the finish reason and usage."""
    first = response["candidates"][0]
    text: str = first["content"]["parts"][0]["text"]
    pieces = [text[i : i + chunk_chars] for i in range(0, len(text), chunk_chars)] or [""]
    chunks: list[dict[str, Any]] = []
    for number, piece in enumerate(pieces):
        last = number == len(pieces) - 1
        candidates = []
        for candidate in response["candidates"]:
            streamed: dict[str, Any] = {"content": {"parts": [{"text": piece}], "role": "model"}}
            if last:
                streamed["finishReason"] = candidate["finishReason"]
            streamed["index"] = candidate["index"]
            if last:
                streamed["safetyRatings"] = candidate["safetyRatings"]
            candidates.append(streamed)
        chunk: dict[str, Any] = {"candidates": candidates}
        if last:
            chunk["usageMetadata"] = response["usageMetadata"]
        chunk["modelVersion"] = response["modelVersion"]
        chunk["responseId"] = response["responseId"]
        chunks.append(chunk)
    return chunks


def _prompt(contents: list[dict[str, Any]]) -> str:
    """The text the model answers: the last user turn's text parts, joined."""
    for content in reversed(contents):
        if content.get("role", "user") == "user":
            return "".join(p.get("text", "") for p in content.get("parts", []))
    return "".join(p.get("text", "") for p in contents[-1].get("parts", []))


def _check_request(name: str, request: dict[str, Any]) -> None:
    contents = request.get("contents")
    if not contents:
        raise _invalid("contents", "contents is not specified")
    for index, content in enumerate(contents):
        role = content.get("role", "")
        if role and role not in _ROLES:
            raise bad_request("Please use a valid role: user, model.", field=f"contents[{index}].role")
        parts = content.get("parts") or []
        if not parts:
            raise _invalid(f"contents[{index}].parts", "contents.parts must not be empty.")
        for part_index, part in enumerate(parts):
            where = f"contents[{index}].parts[{part_index}]"
            data = [
                k for k in part if k not in ("thought", "thoughtSignature", "partMetadata", "videoMetadata")
            ]
            if not data:
                raise _invalid(f"{where}.data", "required oneof field 'data' must have one initialized field")
            if data != ["text"]:
                raise bad_request(f"{name} accepts text only; {where} has {data[0]}.", field=where)
    if request.get("systemInstruction"):
        raise bad_request(f"Developer instruction is not enabled for {name}", field="system_instruction")
    if request.get("tools") or request.get("toolConfig"):
        raise bad_request(f"Function calling is not enabled for {name}", field="tools")
    if request.get("cachedContent"):
        raise bad_request(f"Cached content is not supported for {name}", field="cached_content")
    _check_config(name, request.get("generationConfig") or {})


def _check_config(name: str, config: dict[str, Any]) -> None:
    path = "generation_config"
    count = config.get("candidateCount")
    if count is not None and not 1 <= count <= MAX_CANDIDATES:
        raise _invalid(f"{path}.candidate_count", f"only 1 to {MAX_CANDIDATES} candidates are supported")
    tokens = config.get("maxOutputTokens")
    if tokens is not None and tokens < 0:
        raise _invalid(f"{path}.max_output_tokens", "max_output_tokens must not be negative")
    temperature = config.get("temperature")
    if temperature is not None and not 0.0 <= temperature <= 2.0:
        raise _invalid(f"{path}.temperature", "temperature must be in [0.0, 2.0]")
    top_p = config.get("topP")
    if top_p is not None and not 0.0 <= top_p <= 1.0:
        raise _invalid(f"{path}.top_p", "top_p must be in [0.0, 1.0]")
    top_k = config.get("topK")
    if top_k is not None and top_k < 0:
        raise _invalid(f"{path}.top_k", "top_k must not be negative")
    stops = config.get("stopSequences") or []
    if len(stops) > MAX_STOP_SEQUENCES:
        raise _invalid(f"{path}.stop_sequences", f"at most {MAX_STOP_SEQUENCES} stop sequences are allowed")
    mime = config.get("responseMimeType", "")
    if mime not in ("", "text/plain") or "responseSchema" in config or "responseJsonSchema" in config:
        raise bad_request(f"JSON mode is not enabled for {name}", field=f"{path}.response_mime_type")
    if any(m != "TEXT" for m in config.get("responseModalities") or []):
        raise bad_request(f"{name} only answers with text.", field=f"{path}.response_modalities")
    if config.get("responseLogprobs") or config.get("logprobs"):
        raise bad_request(f"Logprobs is not enabled for {name}", field=f"{path}.response_logprobs")
    if config.get("thinkingConfig"):
        raise bad_request("Thinking is not supported by this model.", field=f"{path}.thinking_config")
    if config.get("speechConfig") or config.get("imageConfig"):
        raise bad_request(f"{name} only answers with text.", field=path)
