"""``tuneport.connect()``: from a profile (or keywords) to a ready client."""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from tuneport.config import build_settings, find_config, load_config, resolve_profile
from tuneport.errors import BackendNotFound, ConfigError
from tuneport.plugins import PluginHost, default_host
from tuneport.protocol import BackendSettings, Maturity, TuningBackend
from tuneport.retry import DEFAULT_RETRY, RetryPolicy

if TYPE_CHECKING:
    import httpx

    from tuneport.client import AsyncTuningClient, TuningClient
    from tuneport.waiting import Clock

EMBEDDED = "embedded"


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
    and capabilities, or to build a client with custom parts.
    """
    host = plugins or default_host()
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
    return instance


def _embedded(backend: TuningBackend) -> bool:
    if backend.settings.endpoint != EMBEDDED:
        return False
    if backend.maturity is Maturity.SETTINGS_ONLY:
        return False  # nothing will be sent: every operation is refused
    raise ConfigError(
        'endpoint = "embedded" needs the embedded emulator, which this version of tuneport '
        "does not ship yet; set endpoint to the service URL",
        key="endpoint",
    )


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
    **settings: Any,
) -> TuningClient:
    """A :class:`~tuneport.TuningClient` for a profile.

    ``profile`` picks a profile of ``tuneport.toml`` (default: the file's
    ``default_profile``, or the built-in ``local``); ``backend`` and any
    other keyword (``project="p"``, ``location="us-central1"``…) override the
    profile's settings.  ``http_client``/``transport`` inject the HTTP layer.
    """
    from tuneport.client import TuningClient

    instance = open_backend(
        profile, config=config, backend=backend, plugins=plugins, environ=environ, **settings
    )
    _embedded(instance)
    return TuningClient(instance, http_client=http_client, transport=transport, retry=retry, clock=clock)


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
    **settings: Any,
) -> AsyncTuningClient:
    """An :class:`~tuneport.AsyncTuningClient` for a profile (see :func:`connect`).

    Use it as ``async with tuneport.connect_async(...) as client:``.
    """
    from tuneport.client import AsyncTuningClient

    instance = open_backend(
        profile, config=config, backend=backend, plugins=plugins, environ=environ, **settings
    )
    _embedded(instance)
    return AsyncTuningClient(instance, http_client=http_client, transport=transport, retry=retry, clock=clock)
