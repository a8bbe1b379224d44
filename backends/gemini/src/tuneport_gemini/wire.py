"""The Gemini API wire format: request bodies built, responses parsed (pure functions).

Field names and shapes follow ``google/ai/generativelanguage/v1beta`` protos
(``TunedModel``, ``TuningTask``, ``Hyperparameters``, ``TuningSnapshot``,
``CreateTunedModelMetadata``, ``GenerateContentRequest/Response``) in their
proto3 JSON form (lowerCamelCase).
"""

from __future__ import annotations

import math
import re
import secrets
from collections.abc import Iterable, Mapping
from typing import Any

from tuneport.errors import FilterError, Problem, SpecError, UnsupportedParameter
from tuneport.models import (
    Example,
    FilePart,
    GenerateRequest,
    Generation,
    Hyperparameters,
    JobError,
    JobSpec,
    JobState,
    MetricPoint,
    Metrics,
    TextPart,
    TuningJob,
    TuningMethod,
)
from tuneport_google.proto_json import (
    check_generate_request,
    check_hyperparameters,
    generate_content_body,
    generation_from_response,
    parse_int,
    parse_time,
)

BACKEND = "gemini"
#: ``tunedModelId``: up to 40 characters, lowercase letters, digits and hyphens.  Anchored
#: with ``\Z``, not ``$`` (which matches before a trailing newline), so ``match`` is a full match.
TUNED_MODEL_ID = re.compile(r"[a-z]([a-z0-9-]{0,38}[a-z0-9])?\Z")
MAX_DISPLAY_NAME = 40
#: A tuned model id has at most 40 characters (``tunedModelId``).
MAX_ID_LENGTH = 40
#: What ``get`` & co. accept as an id (the service's own ids are lowercase; read leniently).
_MODEL_ID = re.compile(rf"[A-Za-z0-9-]{{1,{MAX_ID_LENGTH}}}")
#: ``JobSpec.extras`` this backend accepts: the model's id and its sampling defaults.
EXTRAS = frozenset({"tuned_model_id", "temperature", "top_p", "top_k"})
#: Ranges of the sampling defaults a TunedModel takes (``temperature``, ``topP``, ``topK``).
_SAMPLING_RANGES: dict[str, tuple[float, float | None]] = {
    "temperature": (0.0, 2.0),
    "top_p": (0.0, 1.0),
    "top_k": (0.0, None),
}
#: Tuned Gemini API models take at most this many characters of input.
MAX_INPUT_CHARS = 40_000
#: google.rpc.Code CANCELLED: how a cancelled creation operation reports its end.
RPC_CANCELLED = 1
#: ``TunedModel.State`` in proto order: a reply names it, or (enum-encoding=int) gives its number.
_STATE_NAMES: tuple[tuple[str, JobState], ...] = (
    ("STATE_UNSPECIFIED", JobState.UNKNOWN),
    ("CREATING", JobState.RUNNING),
    ("ACTIVE", JobState.SUCCEEDED),
    ("FAILED", JobState.FAILED),
)
_STATES: dict[str, JobState] = {}
for _number, (_name, _state) in enumerate(_STATE_NAMES):
    _STATES[_name] = _STATES[str(_number)] = _state
_HYPER_FIELDS = {
    "epoch_count": "epochCount",
    "batch_size": "batchSize",
    "learning_rate": "learningRate",
    "learning_rate_multiplier": "learningRateMultiplier",
}


# --- ids and names --------------------------------------------------------------------


def model_name(job_id: str) -> str:
    """``tunedModels/{id}`` for a job id given with or without the prefix."""
    bare = job_id.removeprefix("tunedModels/")
    if not _MODEL_ID.fullmatch(bare):
        shown = job_id if len(job_id) <= 80 else job_id[:80] + "…"
        raise SpecError(
            [
                Problem(
                    f"not a tuned model id ({MAX_ID_LENGTH} letters, digits or hyphens at most): {shown!r}",
                    field="job_id",
                    rule="bad-id",
                )
            ]
        )
    return f"tunedModels/{bare}"


def new_tuned_model_id(display_name: str | None) -> str:
    """A client-chosen id, so a retried create can never make a second model.

    Like the service's own derivation: a slug of the display name plus a
    random suffix (``Sentence Translator`` → ``sentence-translator-u3b7m``).
    """
    slug = re.sub(r"[^a-z0-9]+", "-", (display_name or "").lower()).strip("-")
    if not slug or not slug[0].isalpha():
        slug = "tuneport" + (f"-{slug}" if slug else "")
    suffix = "".join(secrets.choice("abcdefghijklmnopqrstuvwxyz0123456789") for _ in range(8))
    slug = slug[: 40 - len(suffix) - 1].rstrip("-")
    return f"{slug}-{suffix}"


# --- create ---------------------------------------------------------------------------------


def pair_of(example: Example, index: int) -> dict[str, str]:
    """``{textInput, output}`` of a one-question, one-answer example."""
    where = f"training_data[{index}]"
    if example.system:
        raise SpecError(
            [Problem("the Gemini API takes no system instruction", field=where, rule="system-not-allowed")]
        )
    if len(example.turns) != 2 or [t.role for t in example.turns] != ["user", "model"]:
        raise SpecError(
            [
                Problem(
                    "the Gemini API takes one input and one output per example",
                    field=where,
                    rule="pairs-only",
                )
            ]
        )
    for turn in example.turns:
        if any(isinstance(part, FilePart) for part in turn.parts):
            raise SpecError(
                [Problem("the Gemini API tunes on text only", field=where, rule="file-part-not-allowed")]
            )
    return {"textInput": example.turns[0].text, "output": example.turns[1].text}


def _extras_problems(extras: Mapping[str, Any]) -> list[Problem]:
    """Unknown extras, and sampling defaults that are not numbers in their range."""
    problems = [
        Problem(
            f"not a gemini extra (accepted: {', '.join(sorted(EXTRAS))})",
            field=f"extras.{key}",
            rule="unknown-field",
        )
        for key in sorted(set(extras) - EXTRAS)
    ]
    chosen = extras.get("tuned_model_id")
    if chosen is not None and not (isinstance(chosen, str) and TUNED_MODEL_ID.fullmatch(chosen)):
        problems.append(
            Problem(
                "must match [a-z]([a-z0-9-]{0,38}[a-z0-9])? (a whole match: no trailing newline)",
                field="extras.tuned_model_id",
                rule="bad-id",
            )
        )
    for key, (low, high) in _SAMPLING_RANGES.items():
        value = extras.get(key)
        if value is None:
            continue
        whole = key != "top_k" or (isinstance(value, int) and not isinstance(value, bool))
        number = isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
        if not (number and whole and value >= low and (high is None or value <= high)):
            wanted = f"a number from {low:g} to {high:g}" if high is not None else f"a whole number ≥ {low:g}"
            problems.append(
                Problem(f"must be {wanted}, got {value!r}", field=f"extras.{key}", rule="out-of-range")
            )
    return problems


def check_spec(spec: JobSpec) -> None:
    """Refuse what a ``TunedModel`` cannot carry (extras, labels, names and numbers), without I/O."""
    extras_problems = _extras_problems(spec.extras)
    if extras_problems:
        raise SpecError(extras_problems, summary="the job spec is not accepted by gemini")
    if spec.labels:
        # Dropping them silently would lose what the caller tags jobs by.
        raise UnsupportedParameter(
            "gemini",
            "labels",
            reason="a TunedModel has no labels on the Gemini API (the vertex backend has them)",
        )
    if spec.display_name is not None and len(spec.display_name) > MAX_DISPLAY_NAME:
        raise SpecError(
            [
                Problem(
                    f"at most {MAX_DISPLAY_NAME} characters on the Gemini API",
                    field="display_name",
                    rule="too-long",
                )
            ]
        )
    # Epochs and batch size are int32, the learning rate a 32-bit float.
    check_hyperparameters(spec.hyperparameters, backend="gemini", float32=True)


def create_body(spec: JobSpec, examples: Iterable[Example]) -> dict[str, Any]:
    """The ``TunedModel`` sent to ``POST /v1beta/tunedModels`` (after :func:`check_spec`)."""
    check_spec(spec)
    hyper = {
        _HYPER_FIELDS[name]: value
        for name, value in spec.hyperparameters.given().items()
        if name in _HYPER_FIELDS
    }
    body: dict[str, Any] = {
        "baseModel": spec.base_model
        if spec.base_model.startswith("models/")
        else f"models/{spec.base_model}",
        "tuningTask": {
            "trainingData": {"examples": {"examples": [pair_of(e, i) for i, e in enumerate(examples)]}},
            "hyperparameters": hyper,
        },
    }
    if spec.display_name:
        body["displayName"] = spec.display_name
    if spec.description:
        body["description"] = spec.description
    for key in ("temperature", "top_p", "top_k"):
        if key in spec.extras:
            body[_camel(key)] = spec.extras[key]
    return body


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(word.capitalize() for word in rest)


# --- list ---------------------------------------------------------------------------------

#: The operators ``tunedModels.list``'s ``filter`` takes besides its search words.
FILTER_OPERATORS = frozenset({"owner:me", "writers:me", "readers:me", "readers:everyone"})
#: Characters of a field expression (``state=ACTIVE``, ``labels.team:x``), which a
#: full-text search would look for as text and never find.
_EXPRESSION_CHARACTERS = frozenset("=<>:")


def check_list_filter(filter: str | None) -> None:
    """Refuse a ``filter`` the Gemini API cannot honour (:class:`FilterError`), before any request.

    The Gemini API's ``filter`` is a full-text search over a tuned model's
    display name and description, plus the operators ``owner:me``,
    ``writers:me``, ``readers:me`` and ``readers:everyone``.  A field
    expression (``state=ACTIVE``, ``labels.team:x``) would be searched for as
    text and match nothing: refused, naming the word, instead of a silent
    empty list.  Plain words stay searches (``bogus`` lists the models whose
    name or description holds it).
    """
    if not filter:
        return
    for word in filter.split():
        if word.lower() in FILTER_OPERATORS:
            continue
        if _EXPRESSION_CHARACTERS & set(word):
            raise FilterError(
                BACKEND,
                filter,
                f"{word!r} is a field expression, but the Gemini API's filter is a full-text search over "
                "display names and descriptions (plus owner:me, writers:me, readers:me, readers:everyone); "
                "select by state or labels with list(state=..., labels=...) or --state/--label",
            )


# --- parsing --------------------------------------------------------------------------------


def hyperparameters_of(data: Mapping[str, Any]) -> Hyperparameters:
    """The effective hyperparameters a TunedModel reports."""
    values = {name: data[wire] for name, wire in _HYPER_FIELDS.items() if data.get(wire) is not None}
    try:
        return Hyperparameters.model_validate(values)
    except ValueError:
        return Hyperparameters()


def state_of(model: Mapping[str, Any]) -> JobState:
    """The port's state of a ``TunedModel`` (its ``state`` as a name or, enum-encoding=int, a number)."""
    return _STATES.get(str(model.get("state", "")), JobState.UNKNOWN)


def job_from_model(model: Mapping[str, Any], operation: Mapping[str, Any] | None = None) -> TuningJob:
    """A :class:`TuningJob` from a ``TunedModel`` (and its creation operation, if known)."""
    name = str(model.get("name", ""))
    task = model.get("tuningTask") or {}
    state = state_of(model)
    error = None
    completed = total = None
    progress: float | None = None
    if operation is not None:
        meta = operation.get("metadata") or {}
        completed, total = parse_int(meta.get("completedSteps")), parse_int(meta.get("totalSteps"))
        percent = meta.get("completedPercent")
        if isinstance(percent, (int, float)) and math.isfinite(percent):
            progress = min(max(percent / 100.0, 0.0), 1.0)
        op_error = operation.get("error")
        if isinstance(op_error, Mapping):
            error = JobError(message=str(op_error.get("message", "")), code=parse_int(op_error.get("code")))
            if error.code == RPC_CANCELLED:
                state = JobState.CANCELLED
            elif state is not JobState.SUCCEEDED:
                state = JobState.FAILED
    if state is JobState.SUCCEEDED:
        progress = 1.0
    snapshots = task.get("snapshots") or []
    if completed is None and snapshots:
        completed = max((parse_int(s.get("step")) or 0) for s in snapshots)
    return TuningJob(
        id=name.removeprefix("tunedModels/"),
        backend=BACKEND,
        name=name or None,
        display_name=model.get("displayName"),
        description=model.get("description"),
        base_model=model.get("baseModel") or (model.get("tunedModelSource") or {}).get("baseModel"),
        state=state,
        progress=progress,
        completed_steps=completed,
        total_steps=total,
        create_time=parse_time(model.get("createTime")),
        start_time=parse_time(task.get("startTime")),
        end_time=parse_time(task.get("completeTime")),
        update_time=parse_time(model.get("updateTime")),
        error=error,
        tuned_model=name or None,
        hyperparameters=hyperparameters_of(task.get("hyperparameters") or {}),
        # A TunedModel's tuningTask is supervised tuning: the Gemini API has no other method.
        method=TuningMethod.SUPERVISED,
        raw={"tunedModel": dict(model), **({"operation": dict(operation)} if operation else {})},
    )


def job_from_operation(operation: Mapping[str, Any], spec: JobSpec | None = None) -> TuningJob:
    """A job from a creation ``Operation`` alone (the reply to create, or a poll)."""
    response = operation.get("response")
    if operation.get("done") and isinstance(response, Mapping) and response.get("name"):
        return job_from_model(response, operation)
    meta = operation.get("metadata") or {}
    name = str(meta.get("tunedModel") or str(operation.get("name", "")).split("/operations/")[0])
    model: dict[str, Any] = {"name": name, "state": "FAILED" if operation.get("error") else "CREATING"}
    if spec is not None:
        model.update(
            baseModel=spec.base_model
            if spec.base_model.startswith("models/")
            else f"models/{spec.base_model}",
            displayName=spec.display_name,
            description=spec.description,
            tuningTask={
                "hyperparameters": {_HYPER_FIELDS[k]: v for k, v in spec.hyperparameters.given().items()}
            },
        )
    if meta.get("snapshots"):
        model.setdefault("tuningTask", {})["snapshots"] = meta["snapshots"]
    return job_from_model({k: v for k, v in model.items() if v is not None}, operation)


#: Native series name → canonical name (:data:`tuneport.models.CANONICAL_SERIES`).
SERIES_NAMES = {"mean_loss": "train_loss"}


def metrics_from_snapshots(
    job_id: str, snapshots: Iterable[Mapping[str, Any]], raw: dict[str, Any]
) -> Metrics:
    """The loss curve of tuning snapshots: ``train_loss`` (``meanLoss``, native name ``mean_loss``)."""
    points = []
    for snap in snapshots:
        step, loss = parse_int(snap.get("step")), snap.get("meanLoss")
        if step is None or not isinstance(loss, (int, float)):
            continue
        points.append(
            MetricPoint(
                step=step,
                value=float(loss),
                epoch=parse_int(snap.get("epoch")),
                time=parse_time(snap.get("computeTime")),
            )
        )
    return Metrics.from_native(job_id, {"mean_loss": points}, SERIES_NAMES, raw)


# --- generate -------------------------------------------------------------------------------


def generate_body(request: GenerateRequest) -> dict[str, Any]:
    """The ``GenerateContentRequest`` for a tuned model, after the local checks.

    Tuned Gemini API models are text-only, have no JSON mode, and take at
    most 40,000 characters of input: violations are refused here, before any
    request.
    """
    check_generate_request(request)
    problems = []
    chars = len(request.system_instruction or "")
    for index, turn in enumerate(request.contents):
        for part_index, part in enumerate(turn.parts):
            if isinstance(part, TextPart):
                chars += len(part.text)
            else:
                problems.append(
                    Problem(
                        "tuned models on the Gemini API take text only",
                        field=f"contents[{index}].parts[{part_index}]",
                        rule="file-part-not-allowed",
                    )
                )
    if chars > MAX_INPUT_CHARS:
        problems.append(
            Problem(
                f"{chars} characters of input; tuned models take at most {MAX_INPUT_CHARS}",
                field="contents",
                rule="input-too-long",
            )
        )
    if request.response_mime_type not in (None, "text/plain"):
        problems.append(
            Problem(
                "tuned models have no JSON mode (text/plain only)",
                field="response_mime_type",
                rule="no-json-mode",
            )
        )
    if problems:
        raise SpecError(problems, summary="the request is not accepted by a tuned Gemini API model")
    return generate_content_body(request)


def generation_from(data: Mapping[str, Any]) -> Generation:
    """A :class:`Generation` from a ``GenerateContentResponse``."""
    return generation_from_response(data)
