"""Normalized data models shared by every backend (pydantic v2).

These are the nouns of the port: what a user asks for (:class:`JobSpec`,
:class:`Hyperparameters`, :class:`GenerateRequest`) and what a backend reports
(:class:`TuningJob`, :class:`Page`, :class:`Generation`, :class:`Metrics`).
Every provider-facing object keeps the provider's JSON in ``raw`` so nothing
the service said is lost in normalization.
"""

from __future__ import annotations

import enum
from collections.abc import Iterator, Mapping, Sequence
from os import PathLike
from pathlib import Path
from typing import Annotated, Any, Generic, Literal, TypeVar, Union

from pydantic import (
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

from tuneport._methods import TuningMethod
from tuneport._nesting import (
    first_lone_surrogate,
    has_lone_surrogate,
    nested_too_deep,
    nesting_message,
    surrogate_message,
)

__all__ = [
    "CANONICAL_SERIES",
    "Checkpoint",
    "DataSource",
    "DetailState",
    "EvaluationRun",
    "EvaluationSpec",
    "Example",
    "FilePart",
    "GenerateRequest",
    "Generation",
    "Hyperparameters",
    "JobError",
    "JobQuery",
    "JobSpec",
    "JobState",
    "MetricPoint",
    "Metrics",
    "Page",
    "Part",
    "PreferenceExample",
    "PromptExample",
    "TextPart",
    "TunedModelRef",
    "TuningJob",
    "TuningMethod",
    "TuningMode",
    "Turn",
    "Usage",
]


def _valid_text(value: Any) -> Any:
    """A string must be sendable as UTF-8: no lone surrogate (``"\\ud800"``)."""
    if isinstance(value, str):
        index = has_lone_surrogate(value)
        if index is not None:
            raise ValueError(surrogate_message(value, index))
    elif isinstance(value, (list, tuple)):
        for item in value:
            _valid_text(item)
    return value


def _valid_tree(value: Any) -> Any:
    """Free-form data (``extras``, ``labels``): not nested too deeply, no lone surrogate anywhere."""
    if nested_too_deep(value):
        raise ValueError(nesting_message())
    problem = first_lone_surrogate(value)
    if problem:
        raise ValueError(problem)
    return value


def _refuse_booleans(value: Any) -> Any:
    """A number field must not take ``True``/``False`` (pydantic's lax mode would read 1/0)."""
    if isinstance(value, bool):
        raise ValueError("expected a number, got a boolean")
    return value


class _Model(BaseModel):
    # defer_build: schemas are built on first use, not at import (start-up time).
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True, defer_build=True)


class JobState(str, enum.Enum):
    """Normalized lifecycle state of a tuning job.

    The six core states are what every backend maps to; the others exist
    because a provider reports them and collapsing them would lose meaning
    (e.g. Vertex ``JOB_STATE_EXPIRED`` is neither a failure of the data nor a
    success).  ``SUCCEEDED``, ``PARTIALLY_SUCCEEDED``, ``FAILED``, ``EXPIRED``
    and ``CANCELLED`` are terminal (:attr:`is_terminal`); the first two are
    successes (:attr:`is_success`).
    """

    PENDING = "PENDING"
    RUNNING = "RUNNING"
    PAUSED = "PAUSED"
    SUCCEEDED = "SUCCEEDED"
    PARTIALLY_SUCCEEDED = "PARTIALLY_SUCCEEDED"
    FAILED = "FAILED"
    EXPIRED = "EXPIRED"
    CANCELLING = "CANCELLING"
    CANCELLED = "CANCELLED"
    UNKNOWN = "UNKNOWN"

    @property
    def is_terminal(self) -> bool:
        """True when the job will not change state any more."""
        return self in _TERMINAL

    @property
    def is_success(self) -> bool:
        """True when the job produced a usable tuned model."""
        return self in (JobState.SUCCEEDED, JobState.PARTIALLY_SUCCEEDED)

    def __str__(self) -> str:
        return self.value


_TERMINAL = frozenset(
    {
        JobState.SUCCEEDED,
        JobState.PARTIALLY_SUCCEEDED,
        JobState.FAILED,
        JobState.EXPIRED,
        JobState.CANCELLED,
    }
)


class DetailState(str, enum.Enum):
    """What a running job is doing, where the provider tells (Vertex v1beta1)."""

    QUEUED = "QUEUED"
    WAITING_FOR_QUOTA = "WAITING_FOR_QUOTA"
    PROCESSING_DATASET = "PROCESSING_DATASET"
    WAITING_FOR_CAPACITY = "WAITING_FOR_CAPACITY"
    TUNING = "TUNING"
    POST_PROCESSING = "POST_PROCESSING"
    UPDATING = "UPDATING"

    def __str__(self) -> str:
        return self.value


#: Which weights a job trains: a low-rank adapter (PEFT/LoRA) or every weight (full fine-tuning).
TuningMode = Literal["adapter", "full"]


# --- content: the parts of examples and prompts ------------------------------------


class TextPart(_Model):
    """A piece of text."""

    kind: Literal["text"] = "text"
    text: str

    _sendable = field_validator("text")(_valid_text)


class FilePart(_Model):
    """A file referenced by URI (``gs://…`` or ``https://…``) with its MIME type."""

    kind: Literal["file"] = "file"
    uri: str
    mime_type: str | None = None

    _sendable = field_validator("uri", "mime_type")(_valid_text)


Part = Annotated[Union[TextPart, FilePart], Field(discriminator="kind")]


class Turn(_Model):
    """One message of a conversation: a role and its parts."""

    role: Literal["user", "model"]
    parts: tuple[Part, ...]

    @field_validator("parts", mode="before")
    @classmethod
    def _text_shortcut(cls, value: Any) -> Any:
        if isinstance(value, str):
            return (TextPart(text=value),)
        return value

    @property
    def text(self) -> str:
        """The concatenated text parts."""
        return "".join(p.text for p in self.parts if isinstance(p, TextPart))


class Example(_Model):
    """One training example: an optional system instruction and user/model turns.

    A Gemini API ``{text_input, output}`` pair is the simplest case: one user
    turn and one model turn (see :meth:`from_pair`).
    """

    system: tuple[Part, ...] = ()
    turns: tuple[Turn, ...]

    @classmethod
    def from_pair(cls, text_input: str, output: str) -> Example:
        """Build the one-question, one-answer example of the Gemini API."""
        return cls(
            turns=(
                Turn(role="user", parts=(TextPart(text=text_input),)),
                Turn(role="model", parts=(TextPart(text=output),)),
            )
        )

    @model_validator(mode="before")
    @classmethod
    def _coerce_pair(cls, value: Any) -> Any:
        if isinstance(value, Mapping):
            text_input = value.get("text_input", value.get("textInput"))
            if text_input is not None and "output" in value and "turns" not in value:
                return {
                    "turns": [
                        {"role": "user", "parts": [{"kind": "text", "text": text_input}]},
                        {"role": "model", "parts": [{"kind": "text", "text": value["output"]}]},
                    ]
                }
        if isinstance(value, (tuple, list)) and len(value) == 2 and all(isinstance(v, str) for v in value):
            return {
                "turns": [
                    {"role": "user", "parts": [{"kind": "text", "text": value[0]}]},
                    {"role": "model", "parts": [{"kind": "text", "text": value[1]}]},
                ]
            }
        return value


def _user_turns(value: Any) -> Any:
    """A prompt given as text is one user turn."""
    if isinstance(value, str):
        return ({"role": "user", "parts": value},)
    return value


def _ends_with_user(turns: tuple[Turn, ...]) -> tuple[Turn, ...]:
    if not turns:
        raise ValueError("at least one turn is required")
    if turns[-1].role != "user":
        raise ValueError("the prompt must end with a user turn")
    return turns


def _model_turn(value: Any) -> Any:
    """A completion given as text is one model turn."""
    if isinstance(value, str):
        return {"role": "model", "parts": value}
    return value


class PreferenceExample(_Model):
    """One preference example: a prompt and two answers, one preferred over the other.

    What preference tuning (DPO) learns from: Vertex's ``contents`` +
    ``completions`` (scores 1 and 0), OpenAI's ``input`` /
    ``preferred_output`` / ``non_preferred_output`` and the common
    ``prompt`` / ``chosen`` / ``rejected`` shapes all read into it.
    """

    system: tuple[Part, ...] = ()
    #: The conversation so far, ending with a user turn.
    prompt: tuple[Turn, ...]
    #: The better answer (a model turn).
    preferred: Turn
    #: The worse answer (a model turn).
    rejected: Turn

    _prompt_shortcut = field_validator("prompt", mode="before")(_user_turns)
    _prompt_ends_with_user = field_validator("prompt")(_ends_with_user)
    _completion_shortcut = field_validator("preferred", "rejected", mode="before")(_model_turn)

    @field_validator("preferred", "rejected")
    @classmethod
    def _is_model_turn(cls, value: Turn) -> Turn:
        if value.role != "model":
            raise ValueError("a completion is a model turn")
        return value


class PromptExample(_Model):
    """One prompt without an answer: what distillation learns from (the teacher answers it)."""

    system: tuple[Part, ...] = ()
    #: The conversation so far, ending with a user turn.
    prompt: tuple[Turn, ...]

    _prompt_shortcut = field_validator("prompt", mode="before")(_user_turns)
    _prompt_ends_with_user = field_validator("prompt")(_ends_with_user)


#: Where training or validation data comes from: a local path, a ``gs://`` URI,
#: or examples in memory.  Supervised examples are ``Example`` objects,
#: ``(input, output)`` pairs or ``{"text_input", "output"}`` dicts; preference
#: tuning takes :class:`PreferenceExample` (or its fields as dicts) and
#: distillation :class:`PromptExample` (or prompt strings).
DataSource = Union[Path, str, tuple[Example, ...], tuple[PreferenceExample, ...], tuple[PromptExample, ...]]


# --- what the user asks for -----------------------------------------------------


class Hyperparameters(_Model):
    """Tuning hyperparameters; unset fields take the service's defaults.

    Which of them a backend accepts, and in which range, is declared by its
    capabilities and the model catalog; a value it does not accept raises
    :class:`~tuneport.errors.UnsupportedParameter` before any request.

    A float must be finite, and a boolean is refused where a number is
    expected.  The model sets no upper bound: the service's limits are the
    backend's to check (the gemini and vertex backends refuse an integer
    above 2,147,483,647 (2³¹-1), the int32 of Google's APIs, and gemini a learning rate or
    multiplier beyond a 32-bit float, before any request).
    """

    epoch_count: int | None = Field(default=None, gt=0)
    """Passes over the training data (an integer > 0)."""
    batch_size: int | None = Field(default=None, gt=0)
    """Examples per training step (an integer > 0)."""
    learning_rate: float | None = Field(default=None, gt=0, allow_inf_nan=False)
    """The learning rate (> 0, finite)."""
    learning_rate_multiplier: float | None = Field(default=None, gt=0, allow_inf_nan=False)
    """A multiplier of the service's default learning rate (> 0, finite)."""
    adapter_size: int | None = Field(default=None, gt=0)
    """The size (rank) of the adapter trained (an integer > 0)."""
    beta: float | None = Field(default=None, ge=0, allow_inf_nan=False)
    """Preference tuning: weight of the KL-divergence term that keeps the model near its start (≥ 0)."""

    _no_booleans = field_validator("*", mode="before")(_refuse_booleans)

    def given(self) -> dict[str, Any]:
        """The hyperparameters that were set explicitly (name → value)."""
        return {k: v for k, v in self.model_dump().items() if v is not None}


class EvaluationSpec(_Model):
    """An evaluation the service runs on the tuned model after tuning (Vertex ``evaluationConfig``).

    ``metrics`` are names the port maps (``bleu``, ``rouge_l``,
    ``exact_match``, or a predefined metric such as
    ``instruction_following_v1``) or a provider's own metric specification as
    a dict, sent unchanged.  Results appear on :attr:`TuningJob.evaluations`,
    one run per evaluated checkpoint.
    """

    metrics: tuple[Union[str, dict[str, Any]], ...] = Field(min_length=1)
    """At least one: ``bleu``, ``rouge_l``, ``exact_match``, a predefined metric such as
    ``instruction_following_v1``, or the provider's own metric specification as a dict.
    """
    output_uri: str = Field(min_length=1)
    """Where the service writes the evaluation's output (``gs://bucket/prefix``)."""
    autorater_model: str | None = None
    """The judge model of model-based metrics (e.g. ``gemini-2.5-pro``)."""
    sampling_count: int | None = Field(default=None, ge=1, le=32)
    """How many times the judge rates each answer (1-32)."""
    flip_enabled: bool | None = None
    """Ask the judge with the answers' order swapped too (pairwise metrics)."""

    _sendable = field_validator("output_uri", "autorater_model")(_valid_text)
    _free_form = field_validator("metrics", mode="before")(_valid_tree)


class JobSpec(_Model):
    """Everything needed to start a tuning job, provider-neutral.

    ``method`` says how the model learns (:class:`TuningMethod`); the data
    follows it: supervised examples, preference examples, or prompts.  A job
    starts from ``base_model``, or continues from a tuned model
    (``tuned_model``, optionally one of its ``checkpoint``\\ s) whose base is
    ``base_model``.  Which methods and fields a backend accepts is declared
    by its capabilities and the model catalog; anything else is refused
    before any request.

    A *data source* (``training_data``, ``validation_data``) is one of:

    - a local path: a ``str`` or any ``os.PathLike`` (kept as a ``Path``);
    - a URI, a ``str`` holding ``://`` (``gs://bucket/train.jsonl``);
    - examples in memory: a list, tuple or iterator of :class:`Example`,
      ``(input, output)`` string pairs or ``{"text_input": ..., "output": ...}``
      dicts, stored as a tuple of :class:`Example`; preference tuning takes
      :class:`PreferenceExample` (or dicts of its fields), distillation
      :class:`PromptExample` (or prompt strings).  The examples are read by
      the spec's ``method``; another kind, or an empty collection, is refused.

    The model is frozen and refuses unknown fields; built directly, invalid
    data raises ``pydantic.ValidationError``, while the client's keywords
    raise :class:`~tuneport.errors.SpecError` naming each field (and, for an
    example in a list, its index).
    """

    base_model: str = Field(min_length=1, pattern=r"^\S+$")
    """The base model; with ``tuned_model``, the base that tuned model was tuned from.
    A model name never holds spaces or control characters.
    """
    method: TuningMethod = TuningMethod.SUPERVISED
    """How the model learns: ``supervised`` (the default), ``preference`` or ``distillation``."""
    training_data: DataSource
    """The training data: a data source (see above)."""
    validation_data: DataSource | None = None
    """A validation dataset (a data source), only where the backend's capabilities and the
    model's catalog entry accept one.
    """
    hyperparameters: Hyperparameters = Hyperparameters()
    """The hyperparameters; flat keywords of ``create`` (``epoch_count=3``) land here."""
    tuned_model: str | None = Field(default=None, min_length=1, pattern=r"^\S+$")
    """Continue tuning this tuned model (Vertex ``preTunedModel``) instead of the base model."""
    checkpoint: str | None = Field(default=None, min_length=1, pattern=r"^\S+$")
    """Continue from this checkpoint of ``tuned_model`` (default: its default checkpoint)."""
    teacher_model: str | None = Field(default=None, min_length=1, pattern=r"^\S+$")
    """Distillation: the teacher, a base model id or a tuned model's resource name."""
    tuning_mode: TuningMode | None = None
    """Train an adapter or every weight (open models on Vertex); unset: the service's default."""
    output_uri: str | None = Field(default=None, min_length=1)
    """Where the service writes the tuned weights (Vertex ``outputUri``, required for open models)."""
    custom_base_model: str | None = Field(default=None, min_length=1)
    """Tune custom weights of the base model's architecture (Vertex ``customBaseModel``, ``gs://``)."""
    encryption_key: str | None = Field(default=None, min_length=1)
    """Customer-managed encryption key (Vertex ``encryptionSpec.kmsKeyName``)."""
    service_account: str | None = Field(default=None, min_length=1)
    """The service account the job runs as."""
    evaluation: EvaluationSpec | None = None
    """An evaluation the service runs on the tuned model after tuning."""
    display_name: str | None = None
    """A name for people."""
    description: str | None = None
    """A longer description of the job."""
    labels: dict[str, str] = Field(default_factory=dict)
    """Labels (key → value) set on the job; ``list(labels=...)`` selects by them."""
    extras: dict[str, Any] = Field(default_factory=dict)
    """Backend-specific fields (e.g. ``{"export_last_checkpoint_only": True}`` for vertex);
    each backend validates its own and refuses unknown ones.
    """

    _sendable = field_validator(
        "base_model",
        "tuned_model",
        "checkpoint",
        "teacher_model",
        "output_uri",
        "custom_base_model",
        "encryption_key",
        "service_account",
        "display_name",
        "description",
    )(_valid_text)
    _free_form = field_validator("labels", "extras", mode="before")(_valid_tree)

    @field_validator("training_data", "validation_data", mode="before")
    @classmethod
    def _coerce_source(cls, value: Any, info: ValidationInfo) -> Any:
        if value is None or isinstance(value, (str, Path)):
            return value
        if isinstance(value, PathLike):
            return Path(value)
        if isinstance(value, (Sequence, Iterator)):
            items = tuple(value)
            if not items:
                raise ValueError("the dataset holds no examples")
            method = info.data.get("method", TuningMethod.SUPERVISED)
            kind: type[_Model] = _EXAMPLE_TYPES.get(method, Example)
            examples = []
            for index, item in enumerate(items):
                try:
                    examples.append(item if isinstance(item, kind) else _example(kind, item))
                except ValidationError as exc:
                    first = exc.errors()[0]
                    where = ".".join(str(p) for p in first["loc"])
                    # Name the example: a bare "turns: field required" would not say which.
                    raise ValueError(
                        f"example [{index}]{'.' + where if where else ''}: {first['msg']}"
                    ) from None
            return tuple(examples)
        # ValueError (not TypeError) so pydantic reports it as a field error.
        raise ValueError(f"expected a path, a gs:// URI or a list of examples, got {type(value).__name__}")

    @field_validator("training_data", "validation_data")
    @classmethod
    def _non_empty_path(cls, value: Any) -> Any:
        if isinstance(value, str) and not value.strip():
            raise ValueError("the dataset path is empty")
        if isinstance(value, (str, Path)):
            text = str(value)
            if "\x00" in text:
                # No file system takes it; open() would raise a bare ValueError.
                raise ValueError("the dataset path holds a NUL character")
            index = has_lone_surrogate(text) if isinstance(value, str) and "://" in text else None
            if index is not None:
                raise ValueError(surrogate_message(text, index))
        return value

    @model_validator(mode="after")
    def _consistent(self) -> JobSpec:
        if self.checkpoint is not None and self.tuned_model is None:
            raise ValueError("checkpoint: a checkpoint is of a tuned model: set tuned_model too")
        if self.method is TuningMethod.DISTILLATION and self.teacher_model is None:
            raise ValueError("teacher_model: distillation needs a teacher model")
        if self.teacher_model is not None and self.method is not TuningMethod.DISTILLATION:
            raise ValueError(f"teacher_model: only distillation has a teacher, not {self.method} tuning")
        for role in ("training_data", "validation_data"):
            source = getattr(self, role)
            if isinstance(source, tuple) and source:
                wanted = _EXAMPLE_TYPES[self.method]
                if not isinstance(source[0], wanted):
                    raise ValueError(
                        f"{role}: {self.method} tuning takes {wanted.__name__} examples, "
                        f"got {type(source[0]).__name__}"
                    )
        return self


_EXAMPLE_TYPES: dict[TuningMethod, type[_Model]] = {
    TuningMethod.SUPERVISED: Example,
    TuningMethod.PREFERENCE: PreferenceExample,
    TuningMethod.DISTILLATION: PromptExample,
}


def _example(kind: type[_Model], item: Any) -> _Model:
    """*item* as an example of *kind* (a prompt string is a :class:`PromptExample`)."""
    if kind is PromptExample and isinstance(item, str):
        return PromptExample(prompt=item)
    return kind.model_validate(item)


class GenerateRequest(_Model):
    """A call to a tuned model: the conversation and the generation settings.

    As in :class:`Hyperparameters`, floats must be finite and booleans are
    refused where a number is expected; the gemini and vertex backends refuse
    ``top_k``, ``max_output_tokens`` or ``candidate_count`` above 2,147,483,647,
    before any request.
    """

    contents: tuple[Turn, ...]
    """The conversation, at least one turn (a string is one user turn)."""
    system_instruction: str | None = None
    """A system instruction for this call."""
    temperature: float | None = Field(default=None, ge=0, allow_inf_nan=False)
    """Sampling temperature (≥ 0, finite)."""
    top_p: float | None = Field(default=None, ge=0, le=1, allow_inf_nan=False)
    """Nucleus sampling: the probability mass sampled from (0..1)."""
    top_k: int | None = Field(default=None, gt=0)
    """Sample from the *k* most likely tokens (an integer > 0)."""
    max_output_tokens: int | None = Field(default=None, gt=0)
    """The longest answer, in tokens (an integer > 0)."""
    stop_sequences: tuple[str, ...] = ()
    """Strings that end the answer."""
    candidate_count: int | None = Field(default=None, gt=0)
    """How many answers to generate (an integer > 0; :attr:`Generation.candidates` holds them)."""
    response_mime_type: str | None = None
    """The answer's MIME type (e.g. ``application/json``)."""
    extras: dict[str, Any] = Field(default_factory=dict)
    """Provider-specific fields, passed to the backend."""

    _no_booleans = field_validator(
        "temperature", "top_p", "top_k", "max_output_tokens", "candidate_count", mode="before"
    )(_refuse_booleans)
    _sendable = field_validator("system_instruction", "stop_sequences", "response_mime_type")(_valid_text)
    _free_form = field_validator("extras", mode="before")(_valid_tree)

    _prompt_shortcut = field_validator("contents", mode="before")(_user_turns)

    @field_validator("contents")
    @classmethod
    def _not_empty(cls, value: tuple[Turn, ...]) -> tuple[Turn, ...]:
        if not value:
            raise ValueError("at least one turn is required")
        return value


# --- what a backend reports ------------------------------------------------------


class JobError(_Model):
    """Why a job failed, as the provider said it."""

    message: str
    """The provider's message."""
    code: int | None = None
    """The provider's numeric code, if any."""
    status: str | None = None
    """The provider's status name, if any."""

    def __str__(self) -> str:
        head = " ".join(str(x) for x in (self.code, self.status) if x is not None)
        return f"{head}: {self.message}" if head else self.message


class Checkpoint(_Model):
    """A snapshot of the tuned weights a job kept (Vertex ``tunedModel.checkpoints[]``).

    Each may be served from an endpoint of its own; ``is_default`` marks the
    one the tuned model serves (see ``TuningClient.set_default_checkpoint``).
    """

    id: str
    """The checkpoint's id, as the provider names it (``"1"``, ``"2"``…)."""
    epoch: int | None = None
    """The epoch it was taken at, where reported."""
    step: int | None = None
    """The training step it was taken at, where reported."""
    endpoint: str | None = None
    """Where this checkpoint is served, when it is."""
    is_default: bool = False
    """Whether the tuned model serves this checkpoint."""


class EvaluationRun(_Model):
    """The results of the evaluation run on one checkpoint (Vertex ``evaluateDatasetRuns[]``)."""

    checkpoint_id: str | None = None
    """The checkpoint evaluated (``None``: the tuned model's default)."""
    run: str | None = None
    """The service's name of the run (Vertex ``evaluationRun``)."""
    metrics: dict[str, float] = Field(default_factory=dict)
    """Metric name → aggregate value (e.g. ``{"bleu": 0.41}``); empty while the run is going."""
    error: JobError | None = None
    """Why the run failed, if it did."""
    raw: dict[str, Any] = Field(default_factory=dict, repr=False)
    """The provider's JSON, unmodified (left out of ``repr()``)."""


class TuningJob(_Model):
    """A tuning job as the backend currently reports it."""

    id: str
    """The id to pass to ``get``, ``wait``, ``cancel``…"""
    backend: str
    """The name of the backend that reported the job."""
    name: str | None = None
    """The provider's full resource name."""
    display_name: str | None = None
    """The job's display name."""
    description: str | None = None
    """The job's description."""
    base_model: str | None = None
    """The base model tuned."""
    state: JobState
    """The normalized state (see :class:`JobState`)."""
    detail_state: DetailState | None = None
    """What a running job is doing, where the provider says (Vertex ``v1beta1``)."""
    progress: float | None = Field(default=None, ge=0, le=1)
    """Progress in 0..1, where the provider reports it."""
    completed_steps: int | None = None
    """Training steps done, where reported."""
    total_steps: int | None = None
    """Training steps in all, where reported."""
    completed_epochs: int | None = None
    """Epochs done, where reported."""
    create_time: AwareDatetime | None = None
    """When the job was created (timezone-aware)."""
    start_time: AwareDatetime | None = None
    """When tuning started (timezone-aware)."""
    end_time: AwareDatetime | None = None
    """When the job ended (timezone-aware)."""
    update_time: AwareDatetime | None = None
    """When the job last changed (timezone-aware)."""
    error: JobError | None = None
    """Why the job failed: ``message``, ``code`` and ``status`` as the provider reported them."""
    tuned_model: str | None = None
    """The name of the tuned model, once there is one."""
    endpoint: str | None = None
    """The endpoint that serves the tuned model, where the provider has one."""
    hyperparameters: Hyperparameters = Hyperparameters()
    """The hyperparameters in effect."""
    method: TuningMethod | None = None
    """How the job tunes (``None``: the backend cannot tell)."""
    source_model: str | None = None
    """The tuned model this job continued from (continuous tuning)."""
    source_checkpoint: str | None = None
    """The checkpoint of ``source_model`` it continued from."""
    teacher_model: str | None = None
    """Distillation's teacher."""
    checkpoints: tuple[Checkpoint, ...] = ()
    """The checkpoints the job kept, in training order; the tuned model serves the default one."""
    evaluations: tuple[EvaluationRun, ...] = ()
    """Evaluation runs of the spec's ``evaluation``, one per evaluated checkpoint."""
    data_stats: dict[str, Any] | None = None
    """Dataset statistics the provider reported."""
    labels: dict[str, str] = Field(default_factory=dict)
    """The job's labels (tuneport's own bookkeeping labels left out)."""
    raw: dict[str, Any] = Field(default_factory=dict, repr=False)
    """The provider's JSON, unmodified (left out of ``repr()``)."""

    @property
    def default_checkpoint(self) -> Checkpoint | None:
        """The checkpoint the tuned model serves, where the backend reports checkpoints."""
        return next((c for c in self.checkpoints if c.is_default), None)

    def checkpoint(self, checkpoint_id: str) -> Checkpoint:
        """The checkpoint of that id (``KeyError`` naming the ids there are)."""
        for checkpoint in self.checkpoints:
            if checkpoint.id == checkpoint_id:
                return checkpoint
        ids = ", ".join(c.id for c in self.checkpoints) or "none"
        raise KeyError(f"job {self.id} has no checkpoint {checkpoint_id!r} (checkpoints: {ids})")


class TunedModelRef(_Model):
    """A tuned model to continue tuning from, as the backend resolved it.

    What ``create(tuned_model=…)`` starts from: the model's resource name, the
    base it was tuned from (which the catalog checks still accepts tuning) and
    its checkpoints.
    """

    model: str
    """The tuned model's resource name."""
    base_model: str | None = None
    """The base model it was tuned from."""
    checkpoints: tuple[Checkpoint, ...] = ()
    """Its checkpoints, in training order."""
    job_id: str | None = None
    """The job that produced it, when known."""


class JobQuery(_Model):
    """A portable selection of jobs for ``list``: one of ``states``, and every one of ``labels``.

    Backends map it to their service's list filter where it has one (Vertex:
    ``state="JOB_STATE_…"``, ``labels.KEY="VALUE"``) and the client checks
    every listed job against it all the same (:meth:`matches`), so a backend
    that cannot narrow its listing still lists exactly the jobs selected.
    States are :class:`JobState` values (names are read case-insensitively);
    labels are the job's own :attr:`TuningJob.labels`.
    """

    states: frozenset[JobState] = frozenset()
    """Jobs in any of these states (empty: any state)."""
    labels: dict[str, str] = Field(default_factory=dict)
    """Jobs carrying every one of these labels (empty: any labels)."""

    @field_validator("states", mode="before")
    @classmethod
    def _state_names(cls, value: Any) -> Any:
        if value is None:
            return frozenset()
        if isinstance(value, str):  # one state (a JobState is a str too)
            value = [value]
        if not isinstance(value, (list, tuple, set, frozenset)):
            return value  # pydantic reports the type
        return frozenset(_job_state(item) for item in value)

    @property
    def is_empty(self) -> bool:
        """True when it selects every job."""
        return not self.states and not self.labels

    def matches(self, job: TuningJob) -> bool:
        """Whether *job* is selected: its state is one of ``states`` and it carries every label."""
        if self.states and job.state not in self.states:
            return False
        return all(job.labels.get(key) == value for key, value in self.labels.items())

    def __str__(self) -> str:
        parts = []
        if self.states:
            parts.append("state=" + ",".join(sorted(s.value for s in self.states)))
        parts += [f"labels.{key}={value}" for key, value in sorted(self.labels.items())]
        return " ".join(parts) or "every job"


def _job_state(value: Any) -> Any:
    """A :class:`JobState` from itself or its name, any case (``ValueError`` naming the states)."""
    if isinstance(value, JobState) or not isinstance(value, str):
        return value
    try:
        return JobState(value.strip().upper())
    except ValueError:
        names = ", ".join(s.value for s in JobState)
        raise ValueError(f"not a job state: {value!r} (one of {names})") from None


T = TypeVar("T")


class Page(BaseModel, Generic[T]):
    """One page of a listing and the token of the next (``None`` at the end)."""

    model_config = ConfigDict(frozen=True)

    items: list[T]
    """The items of this page (with a selection, possibly fewer than asked, even none)."""
    next_page_token: str | None = None
    """The token of the next page; ``None`` on the last page."""


class Usage(_Model):
    """Token accounting of a generation, where the provider reports it."""

    prompt_tokens: int | None = None
    """Tokens of the prompt."""
    output_tokens: int | None = None
    """Tokens of the answer."""
    total_tokens: int | None = None
    """Both together."""


class Generation(_Model):
    """The answer of a tuned model."""

    text: str
    """The answer (the first candidate)."""
    finish_reason: str | None = None
    """Why the model stopped, as the provider says (e.g. ``STOP``)."""
    candidates: tuple[str, ...] = ()
    """Every candidate answer (``candidate_count`` of the request)."""
    usage: Usage = Usage()
    """Token counts, where the provider reports them."""
    raw: dict[str, Any] = Field(default_factory=dict, repr=False)
    """The provider's JSON, unmodified (left out of ``repr()``)."""


class MetricPoint(_Model):
    """One value of a series at a training step."""

    step: int
    """The training step."""
    value: float
    """The value at that step."""
    epoch: int | None = None
    """The epoch of the step, where reported."""
    time: AwareDatetime | None = None
    """When it was recorded (timezone-aware), where reported."""


#: The canonical series names every backend reports where its provider has the metric.
#: A provider's other series keep their native names.  See ``docs/portability.md``.
CANONICAL_SERIES: Mapping[str, str] = {
    "train_loss": "loss on the training batches, per step",
    "eval_loss": "loss on the validation set, where one was given",
    "train_accuracy": "fraction of next-token predictions that were right on the training batches",
    "eval_accuracy": "the same on the validation set",
    "train_tokens": "tokens predicted (scored) in the training batches of the step",
    "eval_tokens": "the same on the validation set",
}


class Metrics(_Model):
    """Named series of points (``train_loss``, ``eval_loss``…), sorted by step.

    Series carry the canonical names of :data:`CANONICAL_SERIES` where the
    provider has the metric (gemini's ``mean_loss`` is ``train_loss``, Vertex's
    ``/train_total_loss`` too), so ``series["train_loss"]`` reads the loss
    curve on every backend.  A series the port has no name for keeps the
    provider's.  ``native_names`` maps each series that was renamed to the
    provider's name; :meth:`native` looks a series up by that name.
    """

    job_id: str
    """The job the series are of."""
    series: dict[str, tuple[MetricPoint, ...]] = Field(default_factory=dict)
    """Series name → its points, sorted by step."""
    native_names: dict[str, str] = Field(default_factory=dict)
    """Canonical name → the provider's own name, for each series that was renamed."""
    raw: dict[str, Any] = Field(default_factory=dict, repr=False)
    """The provider's JSON, unmodified (left out of ``repr()``)."""

    @field_validator("series")
    @classmethod
    def _sorted(cls, value: dict[str, tuple[MetricPoint, ...]]) -> dict[str, tuple[MetricPoint, ...]]:
        return {name: tuple(sorted(points, key=lambda p: p.step)) for name, points in value.items()}

    @classmethod
    def from_native(
        cls,
        job_id: str,
        series: Mapping[str, Sequence[MetricPoint]],
        canonical: Mapping[str, str],
        raw: dict[str, Any] | None = None,
    ) -> Metrics:
        """Metrics from the provider's series (*series*: native name → points).

        *canonical* maps native names to canonical ones (see
        :data:`CANONICAL_SERIES`); a series it does not name keeps its native
        name.  Two native series mapped to one canonical name are an error.
        """
        renamed: dict[str, tuple[MetricPoint, ...]] = {}
        native_names: dict[str, str] = {}
        for native, points in series.items():
            name = canonical.get(native, native)
            if name in renamed:
                raise ValueError(f"two series are named {name!r} (native {native!r} among them)")
            renamed[name] = tuple(points)
            if name != native:
                native_names[name] = native
        return cls(job_id=job_id, series=renamed, native_names=native_names, raw=raw or {})

    def native(self, name: str) -> tuple[MetricPoint, ...]:
        """The series the provider calls *name* (``native("mean_loss")`` on gemini); ``KeyError`` if none."""
        for canonical, native in self.native_names.items():
            if native == name:
                return self.series[canonical]
        if name in self.series and name not in self.native_names:
            return self.series[name]
        raise KeyError(name)

    def at_step(self, step: int) -> dict[str, float]:
        """Each series' value at *step* (series name → value), e.g. at a checkpoint's step.

        A series without a point at *step* gives its last value before it
        (an evaluation runs every few steps); a series whose first point comes
        after *step* is left out.
        """
        values: dict[str, float] = {}
        for name, points in self.series.items():
            before = [p for p in points if p.step <= step]
            if before:
                values[name] = before[-1].value
        return values

    def rows(self) -> list[dict[str, Any]]:
        """Long-format rows ``{series, step, epoch, value, time}`` (for CSV or dataframes)."""
        return [
            {"series": name, **point.model_dump(mode="json")}
            for name, points in sorted(self.series.items())
            for point in points
        ]
