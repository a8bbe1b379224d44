"""The exception tree of tuneport.

Every error tuneport raises derives from :class:`TuneportError`.  The tree is
shaped after openai-python's: connection and timeout problems are apart from
status errors, and each HTTP status family has its own class carrying the
status, Google's ``status`` string, the message and the request id.

No message built here ever contains a secret: values that may hold a key or a
token are passed through :func:`redact` before they are formatted.
"""

from __future__ import annotations

import shlex
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

# Re-exported: ``tuneport.errors.redact`` is the documented spelling for plugin authors.
from tuneport._secrets import redact
from tuneport._suggest import close_matches, did_you_mean

__all__ = [
    "APIConnectionError",
    "APIError",
    "APIStatusError",
    "APIResponseError",
    "APITimeoutError",
    "AlreadyExistsError",
    "AuthenticationError",
    "BackendError",
    "BackendNotFound",
    "BadRequestError",
    "Call",
    "ConfigError",
    "DatasetError",
    "EmulatorStateInUse",
    "FilterError",
    "InsecureConfigWarning",
    "InsecureSettingWarning",
    "InternalServerError",
    "JobFailed",
    "JobNotReady",
    "NotFoundError",
    "PermissionDeniedError",
    "PluginError",
    "Problem",
    "RateLimitError",
    "Remedy",
    "SpecError",
    "TuneportError",
    "UnsupportedCapability",
    "UnsupportedParameter",
    "ValidationError",
    "WaitTimeout",
    "redact",
]


class TuneportError(Exception):
    """Root of every error raised by tuneport."""


# --- configuration and plugins -------------------------------------------------


class ConfigError(TuneportError):
    """A configuration problem, naming the file, profile and key it came from."""

    def __init__(
        self,
        message: str,
        *,
        source: str | None = None,
        profile: str | None = None,
        key: str | None = None,
    ) -> None:
        self.source = source
        self.profile = profile
        self.key = key
        where = []
        if source:
            where.append(source)
        if profile:
            where.append(f"profile '{profile}'")
        if key:
            where.append(f"key '{key}'")
        prefix = ": ".join(where)
        super().__init__(redact(f"{prefix}: {message}" if prefix else message))


class BackendNotFound(ConfigError):
    """No installed plugin provides the requested backend."""

    def __init__(
        self,
        name: str,
        *,
        available: Sequence[str] = (),
        source: str | None = None,
        profile: str | None = None,
    ) -> None:
        self.name = name
        self.available = tuple(sorted(available))
        self.suggestions = tuple(close_matches(name, self.available, n=3))
        message = f"unknown backend '{name}'{did_you_mean(self.suggestions)}"
        if self.available:
            message += f" (installed: {', '.join(self.available)})"
        else:
            message += " (no backend plugins are installed or allowed)"
        super().__init__(message, source=source, profile=profile, key="backend")


class EmulatorStateInUse(ConfigError):
    """An embedded emulator's state file is held by another emulator (another client or process).

    The file is opened exclusively: one emulator at a time.  The message says
    how to share it instead (one ``tuneport emulator --state FILE`` serving
    every client through ``$TUNEPORT_EMULATOR_HOST``).
    """

    def __init__(self, path: str, *, waited: float | None = None) -> None:
        self.path = path
        self.waited = waited
        after = f" (waited {waited:g} s)" if waited else ""
        super().__init__(
            f"the emulator state file {path} is in use by another tuneport command or emulator{after}; "
            "wait for it to finish and try again, or share the state: run "
            f"`tuneport emulator --state {shlex.quote(path)}` in another terminal and set "
            "TUNEPORT_EMULATOR_HOST=127.0.0.1:8765 for every command",
            key="emulator_state",
        )


class PluginError(TuneportError):
    """A plugin failed to load or registered something invalid."""

    def __init__(self, message: str, *, distribution: str | None = None) -> None:
        self.distribution = distribution
        prefix = f"plugin from distribution '{distribution}': " if distribution else ""
        super().__init__(redact(prefix + message))


class BackendError(TuneportError):
    """A backend failed in a way it did not type: a bug in the backend, not in the request.

    The drivers raise it for any exception other than a :class:`TuneportError`
    that escapes a backend's flow, so callers only ever see the error tree;
    the original exception is its ``__cause__`` (and :attr:`original`).
    """

    def __init__(self, backend: str, original: BaseException, secrets: Iterable[str] = ()) -> None:
        self.backend = backend
        self.original = original
        detail = redact(f"{type(original).__name__}: {original}", secrets)
        super().__init__(f"backend '{backend}' failed unexpectedly ({detail}); please report it")


# --- capabilities and validation -----------------------------------------------


class UnsupportedCapability(TuneportError):
    """The backend (or the base model) does not support this operation."""

    def __init__(self, backend: str, capability: str, *, reason: str | None = None) -> None:
        self.backend = backend
        self.capability = capability
        self.reason = reason
        message = f"backend '{backend}' does not support '{capability}'"
        super().__init__(f"{message}: {reason}" if reason else message)


class UnsupportedParameter(TuneportError):
    """A parameter the backend (or base model) does not accept; raised before any request."""

    def __init__(
        self, backend: str, parameter: str, *, reason: str | None = None, model: str | None = None
    ) -> None:
        self.backend = backend
        self.parameter = parameter
        self.reason = reason
        self.model = model
        target = f"backend '{backend}'" + (f" with base model '{model}'" if model else "")
        message = f"{target} does not accept parameter '{parameter}'"
        super().__init__(f"{message}: {reason}" if reason else message)


@dataclass(frozen=True)
class Call:
    """Another operation a :class:`Remedy` passes its option to (``convert_dataset`` /
    ``tuneport dataset convert``), with the arguments it needs besides.

    *arguments* are positional placeholders (``SOURCE``, ``TARGET``) that a
    reader may fill in (:meth:`Remedy.python`, :meth:`Remedy.cli`);
    *options* are keywords it always takes (``(("to", "gemini"),)``); one whose value is ``None``
    is for the reader to choose (``to=...``, ``--to ...``).
    """

    python: str
    """The function, e.g. ``"tuneport.datasets.convert_dataset"``."""
    cli: str
    """The command, e.g. ``"tuneport dataset convert"``."""
    arguments: tuple[str, ...] = ()
    options: tuple[tuple[str, str | None], ...] = ()
    flags: tuple[tuple[str, str], ...] = ()
    """The command's flags where they differ from the keywords (``(("format", "--from"),)``)."""


@dataclass(frozen=True)
class Remedy:
    """An option that gets past a problem, spelt for whoever reads it.

    A library message names the Python keyword (``policy='skip'``); the CLI
    names its flag (``--policy skip``).  Messages keep the remedy as data so
    each surface spells it its own way (:meth:`python`, :meth:`cli`).

    With a *call*, the option goes to another operation
    (``convert_dataset(SOURCE, TARGET, to='gemini', policy='skip')`` /
    ``tuneport dataset convert SOURCE TARGET --to gemini --policy skip``).
    With an empty *option*, the remedy is advice spelt the same everywhere
    (its *effect*, e.g. ``"use the vertex backend"``): see :meth:`advice`.
    """

    option: str
    """The Python keyword, e.g. ``"policy"`` (empty for :meth:`advice`)."""
    value: str | None = None
    """The value to pass, e.g. ``"skip"``; ``None`` when the reader must choose one."""
    effect: str = ""
    """What passing it does, e.g. ``"leaves such examples out"``."""
    choices: tuple[str, ...] = ()
    """The values to choose from when *value* is ``None`` (shown as ``drop|prepend``)."""
    call: Call | None = None
    """The operation that takes the option, when it is not the one that found the problem."""

    @classmethod
    def advice(cls, text: str) -> Remedy:
        """A remedy that is no option, spelt the same on every surface (``use the vertex backend``)."""
        return cls(option="", effect=text)

    def python(self, arguments: Mapping[str, str] | None = None) -> str:
        """The remedy as a keyword argument: ``policy='skip' leaves such examples out``.

        *arguments* fill the placeholders of a :attr:`call` (``{"SOURCE": "data.jsonl"}``).
        """
        if not self.option:
            return self.effect
        if self.value is not None:
            spelt = f"{self.option}={self.value!r}"
        elif self.choices:
            spelt = f"{self.option}=" + "|".join(repr(choice) for choice in self.choices)
        else:
            spelt = f"{self.option}=..."
        if self.call is not None:
            given = arguments or {}
            parts = [repr(given[name]) if name in given else name for name in self.call.arguments]
            parts += [f"{key}={'...' if value is None else repr(value)}" for key, value in self.call.options]
            spelt = f"{self.call.python}({', '.join([*parts, spelt])})"
        return f"{spelt} {self.effect}".rstrip()

    def cli(self, flags: Mapping[str, str] | None = None, arguments: Mapping[str, str] | None = None) -> str:
        """The remedy as a CLI flag: ``--policy skip leaves such examples out``.

        *flags* maps a keyword to the command's flag where the two differ
        (``{"format": "--from"}``); otherwise the flag is ``--`` plus the
        keyword with dashes.  A :attr:`call` is spelt as its whole command,
        in backquotes, its placeholders filled from *arguments*.
        """
        if not self.option:
            return self.effect
        own = dict(self.call.flags) if self.call is not None else dict(flags or {})
        spelt = self._flag(self.option, own)
        if self.value is not None:
            spelt += f" {self.value}"
        elif self.choices:
            spelt += " " + "|".join(self.choices)
        else:
            spelt += f" {self.option.upper()}"
        if self.call is not None:
            given = arguments or {}
            parts = [shlex.quote(given[name]) if name in given else name for name in self.call.arguments]
            parts += [f"{self._flag(key, own)} {value or '...'}" for key, value in self.call.options]
            spelt = f"`{' '.join([self.call.cli, *parts, spelt])}`"
        return f"{spelt} {self.effect}".rstrip()

    @staticmethod
    def _flag(option: str, flags: Mapping[str, str]) -> str:
        return flags.get(option) or "--" + option.replace("_", "-")


@dataclass(frozen=True)
class Problem:
    """One finding of a validation: where it is, what rule it broke, how bad it is."""

    message: str
    field: str | None = None
    line: int | None = None
    source: str | None = None
    rule: str | None = None
    severity: str = "error"
    remedies: tuple[Remedy, ...] = ()
    """Options that get past the problem (spelt per surface by :class:`Remedy`)."""

    def __str__(self) -> str:
        where = []
        if self.source:
            where.append(self.source + (f":{self.line}" if self.line is not None else ""))
        elif self.line is not None:
            where.append(f"line {self.line}")
        if self.field:
            where.append(self.field)
        rule = f" [{self.rule}]" if self.rule else ""
        text = f"{': '.join(where)}: {self.message}{rule}" if where else self.message + rule
        if self.remedies:
            given = {"SOURCE": self.source} if self.source else None
            text += " (" + "; or ".join(remedy.python(given) for remedy in self.remedies) + ")"
        return text


class ValidationError(TuneportError):
    """Input was refused locally; carries every :class:`Problem` found."""

    def __init__(
        self,
        problems: Sequence[Problem],
        *,
        summary: str | None = None,
        counts_by_rule: Mapping[str, int] | None = None,
    ) -> None:
        self.problems = tuple(problems)
        #: Every problem found per rule id, where more were found than ``problems`` keeps (else empty).
        self.counts_by_rule: dict[str, int] = dict(counts_by_rule or {})
        errors = [p for p in self.problems if p.severity == "error"]
        shown = errors or list(self.problems)
        head = summary or f"{len(errors)} problem(s) found"
        #: The headline alone (``str()`` is the headline and the problems), secrets masked.
        self.summary = redact(head)
        lines = [head] + [f"  {p}" for p in shown[:20]]
        if len(shown) > 20:
            lines.append(f"  ... and {len(shown) - 20} more")
        super().__init__(redact("\n".join(lines)))

    @property
    def first(self) -> Problem:
        """The first problem (the one most messages are about)."""
        return self.problems[0]

    @property
    def field(self) -> str | None:
        """Field of the first problem."""
        return self.first.field if self.problems else None

    @property
    def line(self) -> int | None:
        """Line of the first problem."""
        return self.first.line if self.problems else None


class SpecError(ValidationError):
    """A :class:`~tuneport.models.JobSpec` or request is invalid (names the field)."""


class FilterError(SpecError):
    """A list filter the backend cannot honour: refused before any request, never a silent empty list.

    ``filter`` is what was asked (a raw provider filter, or a ``state``/``labels``
    selection) and ``backend`` the backend that cannot answer it; the problem's
    ``field`` is ``filter``, ``state`` or ``labels``.
    """

    def __init__(self, backend: str, filter: str, reason: str, *, field: str = "filter") -> None:
        self.backend = backend
        self.filter = filter
        problem = Problem(reason, field=field, rule="unsupported-filter")
        super().__init__([problem], summary=f"backend '{backend}' cannot honour the list filter {filter!r}")


class DatasetError(ValidationError):
    """A dataset is invalid (names the file, line and field)."""


# --- jobs ------------------------------------------------------------------------


class JobFailed(TuneportError):
    """A waited-on job ended in FAILED or EXPIRED; ``job`` holds it, error included."""

    def __init__(self, job: Any) -> None:
        self.job = job
        error = getattr(job, "error", None)
        detail = f": {error}" if error else ""
        super().__init__(redact(f"job {job.id} ended in {job.state}{detail}"))


class JobNotReady(TuneportError):
    """The job has no tuned model to call yet (it is still running, or failed)."""

    def __init__(self, job_id: str, state: object) -> None:
        self.job_id = job_id
        self.state = state
        super().__init__(f"job {job_id} has no tuned model to call yet (state {state})")


class WaitTimeout(TuneportError):
    """``wait()`` gave up before the job reached a terminal state."""

    def __init__(self, job_id: str, timeout: float, last: Any = None) -> None:
        self.job_id = job_id
        self.timeout = timeout
        self.last = last
        state = f" (last state {last.state})" if last is not None else ""
        super().__init__(f"job {job_id} did not finish within {timeout:g}s{state}")


# --- warnings ------------------------------------------------------------------------


class InsecureSettingWarning(UserWarning):
    """A backend declares a secret setting (``api_key``, ``*_token``…) as plain text.

    Declared as ``pydantic.SecretStr`` it would stay masked in reprs, logs and
    ``model_dump``; as ``str`` it is printed wherever the settings are.
    ``backend`` and ``setting`` name the offender.
    """

    def __init__(self, message: str, *, backend: str, setting: str) -> None:
        self.backend = backend
        self.setting = setting
        super().__init__(message)


class InsecureConfigWarning(UserWarning):
    """A file that holds a secret can be read by other users (``chmod 600`` it).

    ``path`` is the file and ``mode`` its permission bits.  The message names
    the file, never the secret.
    """

    def __init__(self, message: str, *, path: str | None = None, mode: int | None = None) -> None:
        self.path = path
        self.mode = mode
        super().__init__(message)


# --- the API error tree -----------------------------------------------------------


class APIError(TuneportError):
    """A call to the provider's service failed.

    When a ``create`` gives up (its retries or deadline ran out), the error it
    raises carries a handle on the job it may have created, so that the caller
    can find, cancel or resume it (see the reliability guide):
    ``client_request_id`` (the id the create chose: Vertex's
    ``tuneport-request-id`` label, Gemini's ``tunedModelId``), ``job_id`` (the
    job's id where it is known) and ``job`` (the job a last lookup found).
    """

    #: On a create that gave up: the id the client chose for it (label value or resource id).
    client_request_id: str | None = None
    #: On a create that gave up: the id of the job, where it is known (else None).
    job_id: str | None = None
    #: On a create that gave up: the job a last lookup found (a ``TuningJob``), or None.
    job: Any = None

    def __init__(self, message: str, *, method: str | None = None, url: str | None = None) -> None:
        self.method = method
        self.url = redact(url) if url else None
        super().__init__(redact(message))


class APIConnectionError(APIError):
    """The service could not be reached (DNS, refused, reset, TLS).

    ``request_sent`` is False when the request provably never left (the
    connection was refused), which makes even a non-idempotent request safe to
    re-send.
    """

    def __init__(
        self,
        message: str,
        *,
        method: str | None = None,
        url: str | None = None,
        request_sent: bool = True,
    ) -> None:
        self.request_sent = request_sent
        super().__init__(message, method=method, url=url)


class APITimeoutError(APIConnectionError):
    """The request timed out."""


class APIResponseError(APIError):
    """The service answered with a success status but a body that cannot be read.

    A body cut short, or an HTML page from a proxy or captive portal in place of
    the JSON the service sends.  The request may well have been carried out, so
    a create treats it as ambiguous (it looks the job up before re-sending).
    """

    def __init__(
        self,
        message: str,
        *,
        status_code: int,
        content_type: str | None = None,
        method: str | None = None,
        url: str | None = None,
    ) -> None:
        self.status_code = status_code
        self.content_type = content_type
        super().__init__(message, method=method, url=url)


class APIStatusError(APIError):
    """The service answered with an error status."""

    #: On the class: the HTTP status it stands for (``None`` for families such
    #: as 5xx); on an instance: the status the service answered.
    status_code: int | None = None

    def __init__(
        self,
        message: str,
        *,
        status_code: int,
        status: str | None = None,
        request_id: str | None = None,
        body: Any = None,
        method: str | None = None,
        url: str | None = None,
        retry_after: float | None = None,
    ) -> None:
        self.status_code = status_code
        self.status = redact(status) if status is not None else None
        self.request_id = redact(request_id) if request_id is not None else None
        self.body = body
        self.retry_after = retry_after
        parts = [f"{status_code}"]
        if self.status:
            parts.append(self.status)
        text = f"{' '.join(parts)}: {message}"
        if self.request_id:
            text += f" (request id {self.request_id})"
        super().__init__(text, method=method, url=url)
        self.message = redact(message)


class BadRequestError(APIStatusError):
    """400 — the service rejected the request (INVALID_ARGUMENT, FAILED_PRECONDITION…)."""

    status_code = 400


class AuthenticationError(APIStatusError):
    """401 — missing or invalid credentials."""

    status_code = 401


class PermissionDeniedError(APIStatusError):
    """403 — the credentials lack permission (or the API is disabled)."""

    status_code = 403


class NotFoundError(APIStatusError):
    """404 — the job, model or endpoint does not exist."""

    status_code = 404


class AlreadyExistsError(APIStatusError):
    """409 — ALREADY_EXISTS or ABORTED (a conflict)."""

    status_code = 409


class RateLimitError(APIStatusError):
    """429 — RESOURCE_EXHAUSTED; ``retry_after`` holds the server's hint in seconds."""

    status_code = 429


class InternalServerError(APIStatusError):
    """5xx — the service failed; usually worth a retry."""


_STATUS_CLASSES: dict[int, type[APIStatusError]] = {
    400: BadRequestError,
    401: AuthenticationError,
    403: PermissionDeniedError,
    404: NotFoundError,
    409: AlreadyExistsError,
    429: RateLimitError,
}


def status_error_class(status_code: int) -> type[APIStatusError]:
    """The :class:`APIStatusError` subclass for an HTTP status."""
    if status_code >= 500:
        return InternalServerError
    return _STATUS_CLASSES.get(status_code, APIStatusError)
