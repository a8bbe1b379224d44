"""The :class:`Emulator`: one server, one port, every surface; and :func:`serve` for the CLI."""

from __future__ import annotations

import importlib
import ipaddress
import os
import signal
import threading
from collections.abc import Callable, Mapping, Sequence
from types import FrameType, TracebackType
from typing import Any

from tuneport_emulator.auth import ApiKeyAuth, check_key_setting
from tuneport_emulator.clock import EmulatorClock
from tuneport_emulator.errors import EmulatorConfigError, EmulatorError
from tuneport_emulator.faults import FaultInjector, FaultSpec, FaultSpecError
from tuneport_emulator.ids import IdSource
from tuneport_emulator.persistence import StateFile
from tuneport_emulator.routing import Router
from tuneport_emulator.schema import render
from tuneport_emulator.server import EmulatorServer, load_stack
from tuneport_emulator.storage.files import ObjectFiles
from tuneport_emulator.store import DEFAULT_REQUEST_LOG_SIZE, Store
from tuneport_emulator.surface import EmulatorContext, Surface
from tuneport_emulator.wire import ApiError

__all__ = ["DEFAULT_SURFACES", "Emulator", "EmulatorError", "is_loopback", "serve"]

#: The surfaces every emulator serves, as ``module:function`` (imported on start-up).
DEFAULT_SURFACES: tuple[str, ...] = (
    "tuneport_emulator.admin:register",
    "tuneport_emulator.gemini:register",
    "tuneport_emulator.storage:register",
    "tuneport_emulator.vertex:register",
)
#: Signals that stop :func:`serve` (Ctrl-C, and what ``kill`` or a process manager sends).
_STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)


def is_loopback(host: str) -> bool:
    """Whether ``host`` is a loopback address (``localhost``, ``127.0.0.0/8``, ``::1``)."""
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False  # a host name other than localhost: could be anything


def _load_surface(spec: str) -> Surface:
    module_name, _, function = spec.partition(":")
    surface: Surface = getattr(importlib.import_module(module_name), function)
    return surface


class Emulator:
    """The Gemini API, Vertex AI and Cloud Storage on one local HTTP port.

        >>> with Emulator(clock=EmulatorClock.manual()) as emulator:   # doctest: +SKIP
        ...     url = emulator.url          # http://127.0.0.1:PORT
        ...     emulator.advance(3600)      # an hour of emulator time passes

    ``start()`` runs the server in a background thread on ``host:port``
    (port 0 picks a free one) and returns the base URL.  ``require_key``
    makes the Gemini routes demand that API key.  A non-loopback ``host``
    is refused unless ``allow_remote``: the admin routes have no
    authentication.  ``seed`` makes generated ids reproducible.  The Vertex
    and Cloud Storage routes accept any bearer token (or none).

    ``faults`` injects failures (a spec string such as ``"seed=1; chaos"``,
    see :mod:`tuneport_emulator.faults`; change it later with
    :meth:`configure_faults`).  ``state`` keeps every record in a SQLite file
    that survives restarts (see :mod:`tuneport_emulator.persistence`): an
    emulator built on an existing file starts where the last one stopped.
    """

    def __init__(
        self,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        clock: EmulatorClock | None = None,
        require_key: str | None = None,
        allow_remote: bool = False,
        seed: str = "tuneport",
        request_log_size: int = DEFAULT_REQUEST_LOG_SIZE,
        surfaces: Sequence[Surface | str] = DEFAULT_SURFACES,
        faults: FaultSpec | str | None = None,
        state: str | os.PathLike[str] | None = None,
    ) -> None:
        check_key_setting(require_key, allow_remote=allow_remote)  # an empty key is refused, not ignored
        if not allow_remote and not is_loopback(host):
            raise EmulatorConfigError(
                f"refusing to serve on non-loopback host '{host}': the emulator's admin routes are "
                "unauthenticated; allow it with allow_remote=True (tuneport emulator --allow-remote)",
                key="host",
            )
        if not 0 <= port <= 65535:
            raise EmulatorConfigError(f"port {port} is out of range 0-65535", key="port")
        self.host = host
        self.port = port
        self.allow_remote = allow_remote
        self._require_key = require_key
        #: All state: records, counters, the request log, internal errors.
        self.store = Store(request_log_size=request_log_size)
        #: Emulator time (scaled by default; pass ``EmulatorClock.manual()`` for tests).
        self.clock = clock or EmulatorClock()
        self.router = Router()
        try:
            #: Decides which requests fail on purpose (see :meth:`configure_faults`).
            self.faults = FaultInjector(faults)
        except FaultSpecError as exc:
            raise EmulatorConfigError(str(exc), key="faults") from None
        self.context = EmulatorContext(
            store=self.store,
            clock=self.clock,
            ids=IdSource(self.store, seed),
            api_key_auth=ApiKeyAuth(require_key),
            faults=self.faults,
            # Object bytes live on disk: beside the state file (kept), else in a temporary directory.
            object_files=ObjectFiles() if state is None else ObjectFiles.beside(state),
        )
        #: The state file's path (None: state lives in memory only).
        self.state_path = None if state is None else os.fspath(state)
        self._state: StateFile | None = None
        if self.state_path is not None:
            self._load_state(self.state_path)
        for surface in surfaces:
            (_load_surface(surface) if isinstance(surface, str) else surface)(self.router, self.context)
        self._server: EmulatorServer | None = None
        self._lifecycle = threading.Lock()
        load_stack()  # the HTTP stack's imports, paid here rather than by the first start()

    # --- lifecycle -----------------------------------------------------------------------

    def start(self) -> str:
        """Start serving in a background thread (idempotent); the base URL."""
        with self._lifecycle:
            if self._server is None:
                if self.state_path is not None and self._state is None:
                    self._reopen_state()
                try:
                    server = EmulatorServer(
                        (self.host, self.port),
                        self.router,
                        self.store,
                        self.clock,
                        self.faults,
                        allow_remote=self.allow_remote,
                        require_key=self._require_key,
                    )
                except OSError as exc:
                    raise EmulatorError(
                        f"cannot listen on {self.host}:{self.port}: {exc.strerror or exc}"
                    ) from None
                try:
                    server.start()
                except OSError as exc:
                    raise EmulatorError(f"cannot serve on {self.host}:{self.port}: {exc}") from None
                self._server = server
            return self.url

    def stop(self) -> None:
        """Stop serving, close every connection and release the state file (idempotent)."""
        with self._lifecycle:
            server, self._server = self._server, None
        if server is not None:
            server.stop()
        if self._state is not None:
            # Saved, then released: another emulator (or this one's next start) may open it.
            # A handler still finishing commits nothing after this (as if the process had
            # stopped); changes made while stopped are saved by the next start().
            with self.store.lock:
                self.store.commit()
                self.store.attach_saver(None)
                self._state.close()
                self._state = None

    # --- persistence ---------------------------------------------------------------------

    def _load_state(self, path: str) -> None:
        state_file = StateFile(path)
        data, resume = state_file.load()
        self.store.restore(data)
        if resume is not None and resume > self.clock.now():
            self.clock.advance(resume - self.clock.now())  # time never goes backwards
        self._state = state_file
        self.store.attach_saver(self._save_state)
        self.store.commit()

    def _reopen_state(self) -> None:
        """After stop(): open the file again; the store in memory is the newer copy."""
        assert self.state_path is not None
        state_file = StateFile(self.state_path)
        state_file.load()  # only seeds the change tracking
        self._state = state_file
        self.store.attach_saver(self._save_state)
        self.store.commit()

    def _save_state(self, data: dict[str, Any]) -> None:
        if self._state is not None:
            self._state.save(data, self.clock)

    @property
    def state_file(self) -> StateFile | None:
        """The open state file (None without ``state``, or while stopped)."""
        return self._state

    def configure_faults(self, spec: FaultSpec | str | None) -> None:
        """Inject faults from now on per ``spec`` (None: stop); same as ``PUT /_emulator/faults``."""
        try:
            self.faults.configure(spec)
        except FaultSpecError as exc:
            raise EmulatorConfigError(str(exc), key="faults") from None

    @property
    def running(self) -> bool:
        """Whether the server is serving."""
        return self._server is not None

    @property
    def url(self) -> str:
        """The base URL, e.g. ``http://127.0.0.1:8765`` (the emulator must be started)."""
        server = self._server
        if server is None:
            raise EmulatorError("the emulator is not running; call start() first")
        port = server.server_address[1]
        host = self.host if self.host != "localhost" else "127.0.0.1"
        if ":" in host and not host.startswith("["):
            host = f"[{host}]"
        return f"http://{host}:{port}"

    def __enter__(self) -> Emulator:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

    # --- backdoor (mirrors /_emulator/) ------------------------------------------------------

    def reset(self) -> None:
        """Forget all state (models, operations, counters, the request log)."""
        self.store.reset()
        self.store.commit()

    def advance(self, seconds: float) -> float:
        """Move emulator time forward; the new emulator time (seconds since the epoch)."""
        now = self.clock.advance(seconds)
        self.store.commit()
        return now

    def requests(self) -> list[dict[str, Any]]:
        """The request log, oldest first (admin requests are not logged)."""
        return self.store.requests()

    @property
    def internal_errors(self) -> list[dict[str, Any]]:
        """Unexpected handler exceptions (each answered 500 INTERNAL); should stay empty."""
        return self.store.internal_errors

    def seed_gemini_model(
        self,
        tuned_model: Mapping[str, Any] | None = None,
        *,
        state: str = "ACTIVE",
        progress: float | None = None,
        error: Mapping[str, Any] | None = None,
        tuned_model_id: str | None = None,
    ) -> dict[str, Any]:
        """Create a Gemini tuned model directly in ``state``; its TunedModel JSON.

        ``tuned_model`` is a TunedModel body as a client would send it
        (training data optional); ``progress`` (0 to 1) places a CREATING or
        FAILED job part-way; ``error`` is the FAILED operation's
        ``{"code", "message"}``.  Same as ``POST /_emulator/gemini/tunedModels:seed``.
        """
        from tuneport_emulator.gemini.schema import TUNED_MODEL
        from tuneport_emulator.gemini.tuning import TunedModels

        body: dict[str, Any] = {"tunedModel": dict(tuned_model or {}), "state": state}
        if progress is not None:
            body["progress"] = progress
        if error is not None:
            body["error"] = dict(error)
        if tuned_model_id is not None:
            body["tunedModelId"] = tuned_model_id
        try:
            return render(TunedModels(self.context).seed(body), TUNED_MODEL)
        except ApiError as exc:
            raise EmulatorError(f"{exc.status}: {exc.message}") from None
        finally:
            self.store.commit()

    def seed_vertex_job(
        self,
        tuning_job: Mapping[str, Any] | None = None,
        *,
        parent: str = "projects/tuneport-emulator/locations/us-central1",
        state: str = "JOB_STATE_SUCCEEDED",
        progress: float | None = None,
        error: Mapping[str, Any] | None = None,
        examples: Sequence[tuple[str, str]] | None = None,
    ) -> dict[str, Any]:
        """Create a Vertex tuning job directly in ``state``; its TuningJob JSON (v1beta1).

        ``tuning_job`` is a TuningJob body as a client would send it (its
        dataset need not exist); ``examples`` are the ``(input, output)``
        pairs its tuned model answers from (default: the dataset's, if the
        object exists in the emulated storage, else ``ping`` → ``pong``).
        ``progress`` (0 to 1) places a running, failed or cancelled job
        part-way.  Same as ``POST /_emulator/vertex/tuningJobs:seed``.
        """
        from tuneport_emulator.vertex.jobs import TuningJobs
        from tuneport_emulator.vertex.schema import messages

        body: dict[str, Any] = {"tuningJob": dict(tuning_job or {}), "parent": parent, "state": state}
        if progress is not None:
            body["progress"] = progress
        if error is not None:
            body["error"] = dict(error)
        if examples is not None:
            body["examples"] = [{"input": i, "output": o} for i, o in examples]
        try:
            return render(TuningJobs(self.context).seed(body), messages("v1beta1").tuning_job)
        except ApiError as exc:
            raise EmulatorError(f"{exc.status}: {exc.message}") from None
        finally:
            self.store.commit()

    def configure_vertex(self, *, max_page_size: int | None = None) -> None:
        """Cap every Vertex list and export page at ``max_page_size`` (None: the service's caps).

        For tests of paging; same as ``POST /_emulator/vertex:configure``.
        """
        from tuneport_emulator.vertex.jobs import TuningJobs

        try:
            TuningJobs(self.context).configure({"maxPageSize": max_page_size})
        except ApiError as exc:
            raise EmulatorError(f"{exc.status}: {exc.message}") from None
        finally:
            self.store.commit()

    def put_storage_object(
        self, bucket: str, name: str, data: bytes, *, content_type: str = "application/jsonl"
    ) -> dict[str, Any]:
        """Write an object into the emulated Cloud Storage (the bucket is created); its metadata."""
        from tuneport_emulator.storage import Objects
        from tuneport_emulator.storage.objects import object_resource

        try:
            record = Objects(self.context).insert(bucket, name, data, content_type=content_type)
        except ApiError as exc:
            raise EmulatorError(f"{exc.status}: {exc.message}") from None
        finally:
            self.store.commit()
        return object_resource(record, self.url if self.running else "http://127.0.0.1")

    def storage_object(self, bucket: str, name: str) -> bytes | None:
        """The bytes of an object in the emulated Cloud Storage, or None if there is none."""
        from tuneport_emulator.storage import Objects

        return Objects(self.context).read_uri(f"gs://{bucket}/{name}")


def serve(
    host: str = "127.0.0.1",
    port: int = 8765,
    *,
    allow_remote: bool = False,
    require_key: str | None = None,
    clock: EmulatorClock | None = None,
    on_ready: Callable[[str], None] | None = None,
    stop: threading.Event | None = None,
    faults: FaultSpec | str | None = None,
    state: str | os.PathLike[str] | None = None,
) -> None:
    """Serve until interrupted (Ctrl-C or SIGTERM), or until ``stop`` is set; for ``tuneport emulator``.

    ``on_ready`` receives the base URL once the port is open.  Raises
    :class:`~tuneport_emulator.errors.EmulatorConfigError` for a non-loopback host without
    ``allow_remote`` or a bad fault spec, :class:`EmulatorError` if the port
    cannot be bound, and :class:`~tuneport_emulator.persistence.StateFileError`
    if the state file cannot be used.
    """
    emulator = Emulator(
        host=host,
        port=port,
        allow_remote=allow_remote,
        require_key=require_key,
        clock=clock,
        faults=faults,
        state=state,
    )
    stop_event = stop or threading.Event()
    in_main = threading.current_thread() is threading.main_thread()
    previous: dict[signal.Signals, Any] = {}

    def _on_signal(signum: int, frame: FrameType | None) -> None:
        stop_event.set()

    url = emulator.start()
    try:
        if in_main:
            # Installed explicitly, SIGINT included: a process started in the background
            # by a shell script inherits SIGINT ignored, and Python then never raises
            # KeyboardInterrupt, so Ctrl-C (or ``kill -INT``) would do nothing.
            for signum in _STOP_SIGNALS:
                previous[signum] = signal.signal(signum, _on_signal)
        if on_ready is not None:
            on_ready(url)
        while not stop_event.wait(0.5):
            pass
    except KeyboardInterrupt:
        pass  # Ctrl-C before the handlers were installed: a normal way to stop
    finally:
        for stop_signal, handler in previous.items():
            signal.signal(stop_signal, handler)
        emulator.stop()
