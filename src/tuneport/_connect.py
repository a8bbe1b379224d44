"""``tuneport.connect()``: from a profile (or keywords) to a ready client."""

from __future__ import annotations

import os
import weakref
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

from tuneport.config import build_settings, find_config, load_config, resolve_profile
from tuneport.errors import (
    BackendNotFound,
    ConfigError,
    EmulatorStateInUse,
    TuneportError,
    UnsupportedCapability,
    ValidationError,
)
from tuneport.plugins import PluginHost, default_host
from tuneport.protocol import BackendSettings, HttpRequest, Maturity, TuningBackend
from tuneport.retry import DEFAULT_RETRY, RetryPolicy

if TYPE_CHECKING:
    import httpx

    from tuneport.catalog import Catalog
    from tuneport.client import AsyncTuningClient, TuningClient
    from tuneport.config import ConfigFile
    from tuneport.models import JobSpec
    from tuneport.preflight import PreflightReport
    from tuneport.waiting import Clock

EMBEDDED = "embedded"
#: ``host:port`` of a running emulator, in the style of Google's ``PUBSUB_EMULATOR_HOST``:
#: when set, clients talk to it (no credentials) unless an endpoint is passed explicitly.
EMULATOR_HOST_VARIABLE = "TUNEPORT_EMULATOR_HOST"
#: A SQLite file where embedded emulators keep their state (as ``tuneport emulator --state``).
STATE_VARIABLE = "TUNEPORT_EMULATOR_STATE"


@dataclass(frozen=True)
class _Opened:
    backend: TuningBackend
    host: PluginHost
    config_file: ConfigFile
    job_defaults: Mapping[str, Any]

    def catalog(self) -> Catalog:
        """The model catalog, with the config file's ``[catalog]`` patches.

        Built on demand: only pre-flight checks (clients, :func:`validate`)
        need it, so :func:`open_backend` neither parses the plugins' catalog
        files nor builds their entries.
        """
        catalog = self.host.catalog()
        if self.config_file.catalog:
            catalog = catalog.with_overrides(
                self.config_file.catalog, source=self.config_file.label, backends=self.host.available_names()
            )
        if self.backend.settings.emulator:
            catalog = catalog.for_emulator()  # it still tunes the historical models it emulates
        return catalog

    def client_options(self) -> dict[str, Any]:
        """What a client takes from the resolved profile."""
        return {"catalog": self.catalog(), "job_defaults": self.job_defaults}


def _open(
    profile: str | None,
    *,
    config: str | os.PathLike[str] | None,
    backend: str | None,
    plugins: PluginHost | None,
    environ: Mapping[str, str] | None,
    settings: Mapping[str, Any],
) -> _Opened:
    host = plugins or default_host()
    settings = _declared_emulator(settings, os.environ if environ is None else environ)
    config_file = load_config(find_config(config, environ=environ))
    resolved = resolve_profile(profile, config=config_file, backend=backend, environ=environ)
    try:
        entry = host.backend(resolved.backend)
    except BackendNotFound as exc:
        raise BackendNotFound(
            resolved.backend, available=exc.available, source=resolved.backend_source
        ) from None
    backend_settings: BackendSettings = build_settings(
        resolved, entry.backend_class.settings_model, overrides=settings, environ=environ
    )
    instance: TuningBackend = entry.backend_class(backend_settings)
    return _Opened(instance, host, config_file, job_defaults=resolved.job_defaults)


def _declared_emulator(settings: Mapping[str, Any], environ: Mapping[str, str]) -> Mapping[str, Any]:
    """Point at ``$TUNEPORT_EMULATOR_HOST`` when it is set and no endpoint is passed explicitly.

    An emulator is always declared — ``endpoint = "embedded"``, ``emulator = true``
    or this variable — never inferred from a loopback address, which may just as
    well be an authenticating proxy that needs the credentials.
    """
    host = environ.get(EMULATOR_HOST_VARIABLE, "").strip()
    if not host or settings.get("endpoint") is not None:
        return settings
    url = host if "://" in host else f"http://{host}"
    return {**settings, "endpoint": url.rstrip("/"), "emulator": True}


def open_backend(
    profile: str | None = None,
    *,
    config: str | os.PathLike[str] | None = None,
    backend: str | None = None,
    plugins: PluginHost | None = None,
    environ: Mapping[str, str] | None = None,
    **settings: Any,
) -> TuningBackend:
    """Resolve config, load the backend's plugin and build the backend.

    This is :func:`connect` without the client: useful to inspect settings
    and capabilities, or to build a client with custom parts.  It does not
    build the model catalog (a client or :func:`validate` does, for its
    pre-flight checks), so it loads only the backend's own plugin.  It starts
    no emulator and looks no credentials up.  The arguments are those of
    :func:`connect`.

    A client built on it (``TuningClient(backend, catalog=..., job_defaults=...)``)
    has no model catalog and no job defaults unless given, and starts no
    emulator: give the backend an endpoint it can reach.  For a backend whose
    settings declare an emulator, pass ``catalog.for_emulator()`` as
    :func:`connect` does.
    """
    opened = _open(
        profile, config=config, backend=backend, plugins=plugins, environ=environ, settings=settings
    )
    return opened.backend


#: The emulator state file an embedded emulator uses, by client (for the CLI's note).
_EMBEDDED_STATE: weakref.WeakKeyDictionary[object, str | None] = weakref.WeakKeyDictionary()


def _embedded(
    backend: TuningBackend, state: str | os.PathLike[str] | None
) -> tuple[TuningBackend, Callable[[], None] | None, str | None]:
    """With ``endpoint = "embedded"``: start an in-process emulator and point the backend at it.

    The emulator serves on an ephemeral loopback port and stops when the
    client closes (its state goes with it, unless ``state`` or
    ``TUNEPORT_EMULATOR_STATE`` names a state file).  ``TUNEPORT_EMULATOR_FAULTS``
    gives it a fault spec, as ``tuneport emulator --faults`` does.  Also
    returns the state file's path (``None``: in memory).
    """
    if backend.settings.endpoint != EMBEDDED or backend.maturity is Maturity.SETTINGS_ONLY:
        return backend, None, None  # a settings-only backend sends nothing: every operation is refused
    from tuneport_emulator import Emulator, EmulatorError
    from tuneport_emulator.errors import StateFileError, StateFileInUse

    path = os.fspath(state) if state is not None else os.environ.get(STATE_VARIABLE) or None
    if state is not None:
        try:
            Path(state).parent.mkdir(parents=True, exist_ok=True)  # a cache directory, say
        except OSError as exc:
            raise ConfigError(f"cannot create the directory of {path}: {exc}", key="emulator_state") from None
    try:
        emulator = Emulator(  # loopback, ephemeral port, fast scaled clock
            faults=os.environ.get("TUNEPORT_EMULATOR_FAULTS") or None, state=path
        )
        url = emulator.start()
    except StateFileInUse:
        raise EmulatorStateInUse(str(path)) from None  # only a state file can be in use
    except StateFileError as exc:
        raise ConfigError(f"the embedded emulator cannot start: {exc}", key="emulator_state") from None
    except EmulatorError as exc:  # the emulator is its own distribution, with its own errors
        raise ConfigError(
            f"the embedded emulator cannot start: {exc}", key=getattr(exc, "key", None)
        ) from None
    settings = backend.settings.model_copy(update={"endpoint": url, "emulator": True})
    backend_class = cast("Callable[[BackendSettings], TuningBackend]", type(backend))
    return backend_class(settings), emulator.stop, path


def embedded_state(client: object) -> str | bool | None:
    """What ``client``'s embedded emulator keeps its state in: a path, ``None`` (memory only),
    or ``False`` when the client runs on no embedded emulator."""
    return _EMBEDDED_STATE.get(client, False)


def connect(
    profile: str | None = None,
    *,
    config: str | os.PathLike[str] | None = None,
    backend: str | None = None,
    plugins: PluginHost | None = None,
    http_client: httpx.Client | None = None,
    transport: httpx.BaseTransport | None = None,
    retry: RetryPolicy = DEFAULT_RETRY,
    clock: Clock | None = None,
    environ: Mapping[str, str] | None = None,
    emulator_state: str | os.PathLike[str] | None = None,
    **settings: Any,
) -> TuningClient:
    """A :class:`~tuneport.TuningClient` for a profile.

    ``profile`` picks a profile of ``tuneport.toml`` (default: the file's
    ``default_profile``, or the built-in ``local``); ``backend`` and any
    other keyword (``project="p"``, ``location="us-central1"``…) override the
    profile's settings.  ``http_client``/``transport`` inject the HTTP layer.

    With ``endpoint = "embedded"`` each client starts its own private emulator,
    whose jobs go when the client closes; ``emulator_state`` (default:
    ``$TUNEPORT_EMULATOR_STATE``) names a SQLite file that keeps them from one
    client to the next, as the CLI does.  One emulator holds the file at a time
    (:class:`~tuneport.errors.EmulatorStateInUse` otherwise).  With
    ``$TUNEPORT_EMULATOR_HOST`` set, the client talks to that running emulator
    instead of the profile's endpoint, unless ``endpoint=`` is passed.

    The client gets the model catalog of the loaded plugins (patched by the
    file's ``[catalog]`` table; for a declared emulator, the copy in which its
    ``emulated`` models are tunable) and the profile's job defaults.  No
    credentials are looked up here: the first request that needs them does,
    so missing credentials raise :class:`~tuneport.errors.ConfigError` there.

    Args:
        profile: A profile of ``tuneport.toml`` (default: ``$TUNEPORT_PROFILE``,
            the file's ``default_profile``, then the built-in ``local``).
        config: The configuration file (default: ``$TUNEPORT_CONFIG``,
            ``./tuneport.toml``, then the user config dir).
        backend: The backend's name; overrides the profile's ``backend``.
        plugins: A :class:`~tuneport.plugins.PluginHost` to take backends from
            (default: the process-wide host).
        http_client: An ``httpx.Client`` to send requests with; tuneport does
            not close it, and the backend's ``timeout`` does not apply to it.
        transport: An ``httpx.BaseTransport`` for the ``httpx.Client`` that
            tuneport creates (and closes).
        retry: The client's default :class:`~tuneport.RetryPolicy`.
        clock: The clock the client sleeps on between retries and polls
            (:class:`~tuneport.waiting.ManualClock` in tests).
        environ: A mapping read instead of ``os.environ`` to resolve the
            configuration.
        emulator_state: With ``endpoint = "embedded"``: a SQLite file where the
            emulator keeps its jobs for the next client (default:
            ``$TUNEPORT_EMULATOR_STATE``, else none).
        **settings: Backend settings (``project="p"``, ``timeout=30``…); they
            override environment variables and the profile.

    Raises:
        ConfigError: A setting, the file or the profile is invalid.
        BackendNotFound: No installed, allowed plugin provides the backend.
    """
    from tuneport.client import TuningClient

    opened = _open(
        profile, config=config, backend=backend, plugins=plugins, environ=environ, settings=settings
    )
    options = opened.client_options()  # before the emulator starts: a bad catalog raises here
    tuning_backend, stop_emulator, state_path = _embedded(opened.backend, emulator_state)
    client = TuningClient(
        tuning_backend,
        http_client=http_client,
        transport=transport,
        retry=retry,
        clock=clock,
        **options,
    )
    if stop_emulator is not None:
        client.add_closer(stop_emulator)
        _EMBEDDED_STATE[client] = state_path
    return client


def connect_async(
    profile: str | None = None,
    *,
    config: str | os.PathLike[str] | None = None,
    backend: str | None = None,
    plugins: PluginHost | None = None,
    http_client: httpx.AsyncClient | None = None,
    transport: httpx.AsyncBaseTransport | None = None,
    retry: RetryPolicy = DEFAULT_RETRY,
    clock: Clock | None = None,
    environ: Mapping[str, str] | None = None,
    emulator_state: str | os.PathLike[str] | None = None,
    **settings: Any,
) -> AsyncTuningClient:
    """An :class:`~tuneport.AsyncTuningClient` for a profile (see :func:`connect`).

    It takes the same arguments, with ``http_client`` an ``httpx.AsyncClient``
    and ``transport`` an ``httpx.AsyncBaseTransport``.  It is not a coroutine:
    use it as ``async with tuneport.connect_async(...) as client:``.
    """
    from tuneport.client import AsyncTuningClient

    opened = _open(
        profile, config=config, backend=backend, plugins=plugins, environ=environ, settings=settings
    )
    options = opened.client_options()  # before the emulator starts: a bad catalog raises here
    tuning_backend, stop_emulator, state_path = _embedded(opened.backend, emulator_state)
    client = AsyncTuningClient(
        tuning_backend,
        http_client=http_client,
        transport=transport,
        retry=retry,
        clock=clock,
        **options,
    )
    if stop_emulator is not None:
        client.add_closer(stop_emulator)
        _EMBEDDED_STATE[client] = state_path
    return client


def validate(
    spec: JobSpec | Mapping[str, Any],
    *,
    profile: str | None = None,
    backend: str | None = None,
    config: str | os.PathLike[str] | None = None,
    plugins: PluginHost | None = None,
    environ: Mapping[str, str] | None = None,
    settings: Mapping[str, Any] | None = None,
    validate_data: bool = True,
) -> PreflightReport:
    """Dry run: check *spec* for a backend and plan the requests, sending nothing.

    Returns the full :class:`~tuneport.preflight.PreflightReport` — every
    capability, catalog and dataset problem (errors and warnings), and in
    ``plan`` the exact requests the backend's ``create`` would send (when the
    backend can plan; ``plan_note`` says why not otherwise).  It never raises
    for a bad spec; it raises for bad configuration.  It resolves the
    configuration as :func:`connect` does but starts no emulator and needs no
    credentials; a declared emulator's catalog applies.

    Args:
        spec: A :class:`~tuneport.JobSpec`, taken as it is, or a mapping of its
            fields, built as ``client.spec(**fields)`` builds one: merged over
            the profile's job defaults, hyperparameters flat or under
            ``hyperparameters``.
        profile: As for :func:`connect`.
        backend: As for :func:`connect`.
        config: As for :func:`connect`.
        plugins: As for :func:`connect`.
        environ: As for :func:`connect`.
        settings: Backend settings (the ``**settings`` of :func:`connect`).
        validate_data: ``False`` skips dataset validation; capabilities and the
            catalog are still checked.

    Raises:
        SpecError: The mapping is not a valid ``JobSpec``.
        ConfigError: Bad configuration (or ``BackendNotFound``, ``PluginError``).
    """
    from tuneport.client import build_spec
    from tuneport.models import JobSpec

    opened = _open(
        profile, config=config, backend=backend, plugins=plugins, environ=environ, settings=settings or {}
    )
    if not isinstance(spec, JobSpec):
        spec = build_spec(opened.job_defaults, spec)
    return plan_report(spec, opened.backend, opened.catalog(), validate_data=validate_data)


def plan_report(
    spec: JobSpec, backend: TuningBackend, catalog: Catalog | None, *, validate_data: bool = True
) -> PreflightReport:
    """:func:`validate` on a backend already built (a client's: ``tuneport create --dry-run``)."""
    from tuneport.preflight import Finding, preflight

    report = preflight(spec, backend=backend, catalog=catalog, validate_data=validate_data)
    if any(
        f.kind in ("capability", "parameter", "spec")
        for f in report.findings
        if f.problem.severity == "error"
    ):
        # What stops the job stops the plan; its problems are in the report already.
        report.plan_note = "no plan: the spec has problems (see problems)"
        return report
    try:
        requests: Sequence[HttpRequest] = backend.plan_create(spec)
    except UnsupportedCapability as exc:
        report.plan_note = str(exc)
        return report
    except ValidationError as exc:
        # What stops the plan stops the job: report it like every other finding.
        report.findings.extend(Finding("spec", problem) for problem in exc.problems)
        report.plan_note = "no plan: the spec has problems (see problems)"
        return report
    except TuneportError as exc:
        report.plan_note = str(exc)
        return report
    report.plan = [
        {"method": r.method, "url": r.url, "params": dict(r.params), "json": r.json} for r in requests
    ]
    return report
