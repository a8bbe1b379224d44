"""The Vertex AI wire format: names, labels, states and the checks of a job spec (pure functions).

Shapes follow ``google.cloud.aiplatform.v1`` (and ``v1beta1``) in proto3 JSON
(lowerCamelCase).  Replies may carry enums as names or integers and int64 as
strings.  Create bodies are built in :mod:`tuneport_vertex.wire_create`,
replies read in :mod:`tuneport_vertex.wire_reads`, evaluation in
:mod:`tuneport_vertex.wire_evaluation`, and what each method sends in
:mod:`tuneport_vertex.wire_methods`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from tuneport.errors import Problem, SpecError
from tuneport.models import (
    DetailState,
    GenerateRequest,
    Generation,
    JobQuery,
    JobSpec,
    JobState,
)
from tuneport_google.proto_json import (
    check_generate_request,
    check_hyperparameters,
    generate_content_body,
    generation_from_response,
)
from tuneport_vertex.wire_evaluation import evaluation_config
from tuneport_vertex.wire_methods import method_problems

BACKEND = "vertex"
MAX_DISPLAY_NAME = 128
#: ``TuningJob.description``: Google's reference states no limit; Vertex refuses longer ones
#: (issue #13), and the emulator enforces the same.
MAX_DESCRIPTION = 2_048
#: Label rules, from Google Cloud's "Requirements for labels"
#: (https://cloud.google.com/resource-manager/docs/labels-overview): at most 64 labels per
#: resource; keys 1-63 characters, starting with a lowercase letter or an international
#: character; values 0-63 characters; both only lowercase letters, digits, '_' and '-',
#: international characters allowed.  (The TuningJob reference says "no longer than 64
#: characters"; the stricter general rule is kept.)  One label is tuneport's request id.
MAX_LABELS = 64
MAX_USER_LABELS = MAX_LABELS - 1
MAX_LABEL_CHARS = 63
_LABEL_CHARS = re.compile(r"[\w-]*")
#: Label holding the client's request id: how a create whose reply was lost is found again.
REQUEST_ID_LABEL = "tuneport-request-id"

# JobState in proto tag order 0-11: each value is mapped deliberately.
_JOB_STATES: tuple[tuple[str, JobState, DetailState | None], ...] = (
    ("JOB_STATE_UNSPECIFIED", JobState.UNKNOWN, None),
    ("JOB_STATE_QUEUED", JobState.PENDING, DetailState.QUEUED),
    ("JOB_STATE_PENDING", JobState.PENDING, None),
    ("JOB_STATE_RUNNING", JobState.RUNNING, None),
    ("JOB_STATE_SUCCEEDED", JobState.SUCCEEDED, None),
    ("JOB_STATE_FAILED", JobState.FAILED, None),
    ("JOB_STATE_CANCELLING", JobState.CANCELLING, None),
    ("JOB_STATE_CANCELLED", JobState.CANCELLED, None),
    ("JOB_STATE_PAUSED", JobState.PAUSED, None),
    ("JOB_STATE_EXPIRED", JobState.EXPIRED, None),
    ("JOB_STATE_UPDATING", JobState.RUNNING, DetailState.UPDATING),
    ("JOB_STATE_PARTIALLY_SUCCEEDED", JobState.PARTIALLY_SUCCEEDED, None),
)
STATES: dict[str, tuple[JobState, DetailState | None]] = {}
for _tag, (_name, _state, _detail) in enumerate(_JOB_STATES):
    STATES[_name] = STATES[str(_tag)] = (_state, _detail)

# v1beta1 TuningJobState, what a running job is doing.
_DETAIL_STATES = (
    ("TUNING_JOB_STATE_UNSPECIFIED", None),
    ("TUNING_JOB_STATE_WAITING_FOR_QUOTA", DetailState.WAITING_FOR_QUOTA),
    ("TUNING_JOB_STATE_PROCESSING_DATASET", DetailState.PROCESSING_DATASET),
    ("TUNING_JOB_STATE_WAITING_FOR_CAPACITY", DetailState.WAITING_FOR_CAPACITY),
    ("TUNING_JOB_STATE_TUNING", DetailState.TUNING),
    ("TUNING_JOB_STATE_POST_PROCESSING", DetailState.POST_PROCESSING),
)
DETAIL_STATES: dict[str, DetailState | None] = {}
for _tag, (_name, _value) in enumerate(_DETAIL_STATES):
    DETAIL_STATES[_name] = DETAIL_STATES[str(_tag)] = _value

#: Adapter sizes are sent as enum names: the proto tags are not the sizes
#: (tag 4 is SIXTEEN), so a number would be misread.
ADAPTER_SIZES = {
    1: "ADAPTER_SIZE_ONE",
    2: "ADAPTER_SIZE_TWO",
    4: "ADAPTER_SIZE_FOUR",
    8: "ADAPTER_SIZE_EIGHT",
    16: "ADAPTER_SIZE_SIXTEEN",
    32: "ADAPTER_SIZE_THIRTY_TWO",
}
ADAPTER_TAGS = {"1": 1, "2": 4, "3": 8, "4": 16, "5": 32, "6": 2}
ADAPTER_BY_NAME = {name: size for size, name in ADAPTER_SIZES.items()}

#: Backend-specific JobSpec extras this backend accepts.
EXTRAS = frozenset({"export_last_checkpoint_only", "encryption_spec", "service_account", "tuning_mode"})
#: One segment of a resource name (a project, a location, an id): nothing that could
#: change the URL it is put into (no ``/``, ``..``, ``?``, ``#``, spaces or control characters).
_SEGMENT = r"[A-Za-z0-9_-]{1,128}"
_JOB_ID = re.compile(_SEGMENT)
_JOB_NAME = re.compile(rf"projects/{_SEGMENT}/locations/{_SEGMENT}/tuningJobs/{_SEGMENT}")
_ENDPOINT_NAME = re.compile(rf"projects/{_SEGMENT}/locations/{_SEGMENT}/endpoints/{_SEGMENT}")
#: ``gs://bucket/object``: a bucket name as Cloud Storage allows it, and a non-empty object name.
_GCS_URI = re.compile(r"gs://[a-z0-9][a-z0-9._-]{1,220}[a-z0-9]/[^\r\n]+")


def _shown(text: str) -> str:
    return repr(text if len(text) <= 80 else text[:80] + "…")


def job_name(job_id: str, parent: str) -> str:
    """The full resource name for a job id given bare or in full."""
    if _JOB_NAME.fullmatch(job_id):
        return job_id
    if not _JOB_ID.fullmatch(job_id):
        raise _bad_id("a tuning job id or name (projects/P/locations/L/tuningJobs/ID)", job_id, "job_id")
    return f"{parent}/tuningJobs/{job_id}"


def endpoint_name(target: str) -> str:
    """An endpoint given in full (``projects/P/locations/L/endpoints/ID``), checked."""
    if not _ENDPOINT_NAME.fullmatch(target):
        raise _bad_id("an endpoint name (projects/P/locations/L/endpoints/ID)", target, "target")
    return target


def _bad_id(expected: str, value: str, field: str) -> SpecError:
    return SpecError([Problem(f"not {expected}: {_shown(value)}", field=field, rule="bad-id")])


def _dataset_uri_problems(spec: JobSpec) -> list[Problem]:
    """``gs://`` URIs that do not name a bucket and an object."""
    return [
        Problem(
            f"not a Cloud Storage URI of a file (gs://bucket/object): {_shown(source)}",
            field=field,
            rule="bad-uri",
        )
        for field in ("training_data", "validation_data")
        if isinstance(source := getattr(spec, field), str)
        and source.startswith("gs://")
        and not _GCS_URI.fullmatch(source)
    ]


def _label_text(text: str) -> bool:
    """Lowercase letters (any script), digits, '_' and '-' only."""
    return _LABEL_CHARS.fullmatch(text) is not None and text == text.lower()


def label_problems(labels: Mapping[str, str]) -> list[Problem]:
    """Labels that break Google Cloud's label rules (see ``MAX_LABELS``)."""
    problems: list[Problem] = []
    if len(labels) > MAX_USER_LABELS:
        problems.append(
            Problem(
                f"at most {MAX_USER_LABELS} labels (Vertex takes {MAX_LABELS}, one is tuneport's "
                f"{REQUEST_ID_LABEL}), got {len(labels)}",
                field="labels",
                rule="too-many",
            )
        )
    for key, value in labels.items():
        field = f"labels.{key}" if key else "labels"
        if key == REQUEST_ID_LABEL:
            problems.append(
                Problem(
                    f"{REQUEST_ID_LABEL} is reserved: tuneport puts its request id there",
                    field=field,
                    rule="reserved",
                )
            )
        elif not key:
            problems.append(Problem("a label key must not be empty", field=field, rule="bad-label"))
        elif len(key) > MAX_LABEL_CHARS:
            problems.append(
                Problem(f"a label key has at most {MAX_LABEL_CHARS} characters", field=field, rule="too-long")
            )
        elif not (key[0].isalpha() and _label_text(key)):
            problems.append(
                Problem(
                    f"label key {_shown(key)}: starts with a lowercase letter and holds only lowercase "
                    "letters, digits, '_' and '-'",
                    field=field,
                    rule="bad-label",
                )
            )
        if len(value) > MAX_LABEL_CHARS:
            problems.append(
                Problem(
                    f"a label value has at most {MAX_LABEL_CHARS} characters, got {len(value):,}",
                    field=field,
                    rule="too-long",
                )
            )
        elif not _label_text(value):
            problems.append(
                Problem(
                    f"label value {_shown(value)}: only lowercase letters, digits, '_' and '-'",
                    field=field,
                    rule="bad-label",
                )
            )
    return problems


def check_spec(spec: JobSpec, *, api_version: str = "auto") -> None:
    """Refuse what a ``TuningJob`` cannot carry under *api_version*, without I/O (``SpecError``).

    ``api_version`` is the profile's setting (``auto``, ``v1``, ``v1beta1``):
    a forced ``v1`` refuses what only v1beta1 has, naming the field.
    """
    unknown = sorted(set(spec.extras) - EXTRAS)
    problems = [
        Problem(
            f"not a vertex extra (accepted: {', '.join(sorted(EXTRAS))})",
            field=f"extras.{k}",
            rule="unknown-field",
        )
        for k in unknown
    ]
    problems.extend(method_problems(spec, api_version=api_version))
    if spec.evaluation is not None:
        try:
            evaluation_config(spec.evaluation)
        except SpecError as error:
            problems.extend(error.problems)
    if spec.display_name is not None and len(spec.display_name) > MAX_DISPLAY_NAME:
        problems.append(
            Problem(f"at most {MAX_DISPLAY_NAME} characters", field="display_name", rule="too-long")
        )
    if spec.description is not None and len(spec.description) > MAX_DESCRIPTION:
        problems.append(
            Problem(
                f"at most {MAX_DESCRIPTION:,} characters, got {len(spec.description):,}",
                field="description",
                rule="too-long",
            )
        )
    problems.extend(label_problems(spec.labels))
    problems.extend(_dataset_uri_problems(spec))
    adapter_size = spec.hyperparameters.adapter_size
    if adapter_size is not None and adapter_size not in ADAPTER_SIZES:
        problems.append(
            Problem("must be 1, 2, 4, 8, 16 or 32", field="hyperparameters.adapter_size", rule="not-a-choice")
        )
    if problems:
        raise SpecError(problems, summary="the job spec is not accepted by vertex")
    check_hyperparameters(spec.hyperparameters, backend="vertex")


# --- list ---------------------------------------------------------------------------------


def selects_nothing(query: JobQuery | None) -> bool:
    """Whether no job can carry the labels *query* names (so listing sends nothing).

    Labels that break Google Cloud's label rules are on no job, and tuneport's
    request-id label is bookkeeping, not one of a job's labels.
    """
    if query is None or not query.labels:
        return False
    return REQUEST_ID_LABEL in query.labels or bool(label_problems(query.labels))


def list_filter(filter: str | None, query: JobQuery | None) -> str | None:
    """The ``tuningJobs.list`` filter (AIP-160): the raw filter AND the query's states and labels.

    States map to every Vertex state that reads as them (``PENDING``:
    ``JOB_STATE_QUEUED`` or ``JOB_STATE_PENDING``), ORed; labels to
    ``labels.KEY="VALUE"``, ANDed.  The raw filter is kept whole, in parentheses.
    """
    if query is None or query.is_empty:
        return filter or None  # passed through as given
    parts = [f"({filter.strip()})"] if filter and filter.strip() else []
    if query.states:
        names = [name for name, state, _ in _JOB_STATES if state in query.states]
        either = " OR ".join(f'state="{name}"' for name in names)
        parts.append(either if len(names) == 1 else f"({either})")
    for key, value in sorted(query.labels.items()):
        quoted = value.replace("\\", "\\\\").replace('"', '\\"')
        parts.append(f'labels.{key}="{quoted}"')
    return " AND ".join(parts) or None


def generate_body(request: GenerateRequest) -> dict[str, Any]:
    """The ``GenerateContentRequest`` for a tuned endpoint (file parts as ``fileData``)."""
    check_generate_request(request)
    return generate_content_body(request)


def generation_from(data: Mapping[str, Any]) -> Generation:
    """A :class:`Generation` from a ``GenerateContentResponse``."""
    return generation_from_response(data)
