"""``endpoints/{e}:generateContent`` on a tuned Gemini model: request checks and the answer.

The answer follows the emulator's rule (:mod:`tuneport_emulator.answers`):
the output of the training example nearest to the prompt (the last ``user``
turn's text).  A ``systemInstruction`` narrows the candidates to the examples
trained with the same instruction (compared case-folded, whitespace
collapsed), when there are any.  ``maxOutputTokens`` and ``stopSequences``
cut the answer; ``candidateCount`` repeats it; temperature, top-p, top-k and
the seed change nothing.  Non-text parts are accepted and ignored, as are
tools and safety settings.
"""

from __future__ import annotations

import re
from typing import Any

from tuneport_emulator.answers import answer, estimate_tokens
from tuneport_emulator.ids import IdSource
from tuneport_emulator.vertex.base_models import resolve_base_model
from tuneport_emulator.vertex.records import Example
from tuneport_emulator.wire import bad_request, format_timestamp

__all__ = ["MAX_CANDIDATES", "MAX_STOP_SEQUENCES", "generate", "stream_chunks"]

MAX_CANDIDATES = 8
MAX_STOP_SEQUENCES = 5
_ROLES = ("user", "model")
_RESPONSE_ID = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
_METADATA_KEYS = ("thought", "thoughtSignature", "videoMetadata", "mediaResolution")


def _fold(text: str) -> str:
    return re.sub(r"\s+", " ", text.casefold()).strip()


def _text(content: dict[str, Any]) -> str:
    return "".join(p.get("text", "") for p in content.get("parts") or [])


def generate(
    examples: list[Example], base_model: str, request: dict[str, Any], *, ids: IdSource, now: float
) -> dict[str, Any]:
    """Answer a normalized GenerateContentRequest; the GenerateContentResponse (normalized)."""
    _check_request(request, base_model)
    contents: list[dict[str, Any]] = request["contents"]
    system = _text(request.get("systemInstruction") or {})
    pool = examples
    if system:
        wanted = _fold(system)
        pool = [e for e in examples if _fold(e.system) == wanted] or examples
    config = request.get("generationConfig") or {}
    result = answer(
        [(e.input, e.output) for e in pool],
        _prompt(contents),
        max_output_tokens=config.get("maxOutputTokens"),
        stop_sequences=config.get("stopSequences") or (),
    )
    count = config.get("candidateCount") or 1
    prompt_tokens = estimate_tokens(system + "".join(_text(c) for c in contents))
    answer_tokens = estimate_tokens(result.text)
    candidates = []
    for index in range(count):
        content: dict[str, Any] = {"role": "model"}
        if result.text:
            content["parts"] = [{"text": result.text}]
        candidate: dict[str, Any] = {"content": content, "finishReason": result.finish_reason}
        if index:
            candidate["index"] = index  # proto3 JSON leaves out the 0
        candidates.append(candidate)
    usage: dict[str, Any] = {"promptTokenCount": prompt_tokens}
    if answer_tokens:
        usage["candidatesTokenCount"] = answer_tokens * count
    usage["totalTokenCount"] = prompt_tokens + answer_tokens * count
    usage["trafficType"] = "ON_DEMAND"
    if prompt_tokens:
        usage["promptTokensDetails"] = [{"modality": "TEXT", "tokenCount": prompt_tokens}]
    if answer_tokens:
        usage["candidatesTokensDetails"] = [{"modality": "TEXT", "tokenCount": answer_tokens * count}]
    return {
        "candidates": candidates,
        "usageMetadata": usage,
        "modelVersion": base_model,
        "createTime": format_timestamp(now),
        "responseId": ids.token("vertex.response", 22, _RESPONSE_ID),
    }


def stream_chunks(response: dict[str, Any], chunk_chars: int = 64) -> list[dict[str, Any]]:
    """A response as ``:streamGenerateContent`` sends it: text pieces, then finish reason and usage."""
    first = response["candidates"][0]
    text = _text(first["content"])
    pieces = [text[i : i + chunk_chars] for i in range(0, len(text), chunk_chars)] or [""]
    chunks: list[dict[str, Any]] = []
    for number, piece in enumerate(pieces):
        last = number == len(pieces) - 1
        candidates = []
        for candidate in response["candidates"]:
            content: dict[str, Any] = {"role": "model"}
            if piece:
                content["parts"] = [{"text": piece}]
            streamed: dict[str, Any] = {"content": content}
            if last:
                streamed["finishReason"] = candidate["finishReason"]
            if "index" in candidate:
                streamed["index"] = candidate["index"]
            candidates.append(streamed)
        chunk: dict[str, Any] = {"candidates": candidates}
        if last:
            chunk["usageMetadata"] = response["usageMetadata"]
        for key in ("modelVersion", "createTime", "responseId"):
            chunk[key] = response[key]
        chunks.append(chunk)
    return chunks


def _prompt(contents: list[dict[str, Any]]) -> str:
    """The text the model answers: the last user turn's text parts, joined."""
    for content in reversed(contents):
        if str(content.get("role", "user")).lower() == "user":
            return _text(content)
    return _text(contents[-1])


def _check_request(request: dict[str, Any], base_model: str) -> None:
    contents = request.get("contents")
    if not contents:
        raise bad_request(
            "Unable to submit request because it has an empty contents field.", field="contents"
        )
    for index, content in enumerate(contents):
        # Vertex answers its own documented body, which sends "role": "USER": roles match in any case.
        role = str(content.get("role", "")).lower()
        if role and role not in _ROLES:
            raise bad_request("Please use a valid role: user, model.", field=f"contents[{index}].role")
        parts = content.get("parts") or []
        if not parts:
            raise bad_request(
                "Unable to submit request because it must include at least one parts field, which describes "
                "the prompt input.",
                field=f"contents[{index}].parts",
            )
        for part_index, part in enumerate(parts):
            if not [k for k in part if k not in _METADATA_KEYS]:
                raise bad_request(
                    "Unable to submit request because it has a part without data; every part needs text, "
                    "inlineData, fileData or a function call.",
                    field=f"contents[{index}].parts[{part_index}]",
                )
    config = request.get("generationConfig") or {}
    path = "generation_config"
    count = config.get("candidateCount")
    if count is not None and not 1 <= count <= MAX_CANDIDATES:
        raise bad_request(
            f"Unable to submit request because candidate_count must be between 1 and {MAX_CANDIDATES}.",
            field=f"{path}.candidate_count",
        )
    base = resolve_base_model(base_model)
    limit = base.max_output_tokens if base is not None else 8_192
    tokens = config.get("maxOutputTokens")
    if tokens is not None and not 1 <= tokens <= limit:
        raise bad_request(
            f"Unable to submit request because max_output_tokens must be between 1 and {limit} for "
            f"{base_model}.",
            field=f"{path}.max_output_tokens",
        )
    for key, proto, low, high in (("temperature", "temperature", 0.0, 2.0), ("topP", "top_p", 0.0, 1.0)):
        value = config.get(key)
        if value is not None and not low <= value <= high:
            raise bad_request(
                f"Unable to submit request because {proto} must be between {low} and {high}.",
                field=f"{path}.{proto}",
            )
    top_k = config.get("topK")
    if top_k is not None and top_k <= 0:
        raise bad_request("Unable to submit request because top_k must be positive.", field=f"{path}.top_k")
    if len(config.get("stopSequences") or []) > MAX_STOP_SEQUENCES:
        raise bad_request(
            f"Unable to submit request because at most {MAX_STOP_SEQUENCES} stop sequences are allowed.",
            field=f"{path}.stop_sequences",
        )
