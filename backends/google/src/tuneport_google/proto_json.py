"""Proto3-JSON helpers shared by the Google backends (Gemini API and Vertex AI).

Both services speak the same ``GenerateContentResponse`` and the same JSON
mapping rules (RFC 3339 timestamps, int64 as strings or numbers, int32 and
float fields with their limits), so the parsing and the limits live here once.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from tuneport.errors import Problem, SpecError
from tuneport.models import FilePart, GenerateRequest, Generation, Hyperparameters, TextPart, Usage

__all__ = [
    "FLOAT32_MAX",
    "INT32_MAX",
    "MAX_FILTER_CHARS",
    "check_filter",
    "check_generate_request",
    "check_hyperparameters",
    "generate_content_body",
    "list_params",
    "generation_config",
    "generation_from_response",
    "parse_int",
    "parse_time",
]


#: The longest list ``filter`` sent: far above any real filter expression, and short enough
#: that the URL (where it travels, percent-encoded) stays within what Google's front ends
#: and httpx accept (httpx refuses a query over 65,536 characters: ``InvalidURL``).
MAX_FILTER_CHARS = 8_192

#: The largest value of a proto ``int32`` field (epochs, batch size, topK…).
INT32_MAX = 2**31 - 1
#: The largest finite value of a proto ``float`` field (learning rates on the Gemini API).
FLOAT32_MAX = 3.4028234663852886e38


def number_problems(values: Mapping[str, Any], *, prefix: str, float32: bool = False) -> list[Problem]:
    """Numbers a Google service cannot hold: whole numbers above int32, floats above float32."""
    problems = []
    for name, value in values.items():
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            continue
        if isinstance(value, int) and value > INT32_MAX:
            problems.append(
                Problem(
                    f"must be at most {INT32_MAX} (a 32-bit integer on Google's APIs), got {value}",
                    field=f"{prefix}{name}",
                    rule="less_than_equal",
                )
            )
        elif float32 and isinstance(value, float) and math.isfinite(value) and abs(value) > FLOAT32_MAX:
            problems.append(
                Problem(
                    f"must be at most {FLOAT32_MAX:g} (a 32-bit float on the Gemini API), got {value:g}",
                    field=f"{prefix}{name}",
                    rule="out-of-range",
                )
            )
    return problems


def check_hyperparameters(hyperparameters: Hyperparameters, *, backend: str, float32: bool = False) -> None:
    """Refuse hyperparameters beyond the wire's number types (``SpecError`` naming each)."""
    problems = number_problems(hyperparameters.given(), prefix="hyperparameters.", float32=float32)
    if problems:
        raise SpecError(problems, summary=f"the job spec is not accepted by {backend}")


def check_generate_request(request: GenerateRequest) -> None:
    """Refuse generation settings beyond int32 (``topK``, ``maxOutputTokens``, ``candidateCount``)."""
    values = {name: getattr(request, name) for name in ("top_k", "max_output_tokens", "candidate_count")}
    problems = number_problems(values, prefix="")
    if problems:
        raise SpecError(problems, summary="invalid GenerateRequest")


def parse_time(value: Any) -> datetime | None:
    """An RFC 3339 timestamp (``…Z`` or with an offset), or ``None``."""
    if not isinstance(value, str) or not value:
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo is not None else None


def parse_int(value: Any) -> int | None:
    """An int32/int64 sent as a number or (int64, enum-encoding=int) a string."""
    try:
        return int(value) if value is not None else None
    except (TypeError, ValueError):
        return None


def generation_from_response(data: Mapping[str, Any]) -> Generation:
    """A :class:`Generation` from a ``GenerateContentResponse``."""
    texts = []
    finish = None
    for index, candidate in enumerate(data.get("candidates") or []):
        parts = (candidate.get("content") or {}).get("parts") or []
        texts.append("".join(str(p.get("text", "")) for p in parts if isinstance(p, Mapping)))
        if index == 0 and candidate.get("finishReason") is not None:
            finish = str(candidate["finishReason"])
    usage = data.get("usageMetadata") or {}
    return Generation(
        text=texts[0] if texts else "",
        finish_reason=finish,
        candidates=tuple(texts),
        usage=Usage(
            prompt_tokens=parse_int(usage.get("promptTokenCount")),
            output_tokens=parse_int(usage.get("candidatesTokenCount")),
            total_tokens=parse_int(usage.get("totalTokenCount")),
        ),
        raw=dict(data),
    )


_CONFIG_FIELDS = (
    ("temperature", "temperature"),
    ("top_p", "topP"),
    ("top_k", "topK"),
    ("max_output_tokens", "maxOutputTokens"),
    ("candidate_count", "candidateCount"),
    ("response_mime_type", "responseMimeType"),
)


def generation_config(request: GenerateRequest) -> dict[str, Any]:
    """The ``generationConfig`` of a :class:`GenerateRequest` (only the fields set)."""
    config: dict[str, Any] = {}
    for name, wire_name in _CONFIG_FIELDS:
        value = getattr(request, name)
        if value is not None:
            config[wire_name] = value
    if request.stop_sequences:
        config["stopSequences"] = list(request.stop_sequences)
    return config


def generate_content_body(request: GenerateRequest) -> dict[str, Any]:
    """The ``GenerateContentRequest`` body: contents, generationConfig, systemInstruction.

    Text parts travel as ``text``, file parts as ``fileData``; a backend that
    cannot take files refuses them before calling this.
    """
    contents = []
    for turn in request.contents:
        parts: list[dict[str, Any]] = []
        for part in turn.parts:
            if isinstance(part, TextPart):
                parts.append({"text": part.text})
            elif isinstance(part, FilePart):
                mime = part.mime_type or "application/octet-stream"
                parts.append({"fileData": {"fileUri": part.uri, "mimeType": mime}})
        contents.append({"role": turn.role, "parts": parts})
    body: dict[str, Any] = {"contents": contents}
    config = generation_config(request)
    if config:
        body["generationConfig"] = config
    if request.system_instruction:
        body["systemInstruction"] = {"parts": [{"text": request.system_instruction}]}
    return body


def check_filter(filter: str) -> None:
    """Refuse a list filter that cannot be put into a URL (``SpecError`` naming ``filter``)."""
    from tuneport._nesting import has_lone_surrogate, surrogate_message

    message = None
    if len(filter) > MAX_FILTER_CHARS:
        message = f"at most {MAX_FILTER_CHARS:,} characters (it is sent in the URL), got {len(filter):,}"
    elif (index := has_lone_surrogate(filter)) is not None:
        message = surrogate_message(filter, index)
    if message is not None:
        raise SpecError([Problem(message, field="filter", rule="bad-filter")], summary="invalid list filter")


def list_params(page_size: int | None, page_token: str | None, filter: str | None) -> dict[str, str | int]:
    """The standard ``pageSize`` / ``pageToken`` / ``filter`` query of a Google list method.

    A filter that is too long for a URL, or holds a lone surrogate (not sendable
    as UTF-8), is a :class:`SpecError` on ``filter`` before any request.
    """
    if filter:
        check_filter(filter)
    params: dict[str, str | int] = {}
    if page_size is not None:
        params["pageSize"] = page_size
    if page_token:
        params["pageToken"] = page_token
    if filter:
        params["filter"] = filter
    return params
