"""The plugin host: backends come from pip-installable plugins.

Every backend, ours included, is provided by a module registered under the
``tuneport`` entry-point group and implementing the
:func:`~tuneport.hookspecs.register_backends` hook.  Plugins load lazily:
resolving one backend imports only the entry point of that name (the
convention is that a plugin's entry point is named after its main backend);
only when that fails, or when every backend is listed, are all loaded.

Two environment variables protect against a broken or unwanted plugin:
``TUNEPORT_LOAD_PLUGINS`` (comma-separated entry-point or distribution names;
only those load, and an empty value loads none) and
``TUNEPORT_BLOCK_PLUGINS`` (those never load).
"""

from __future__ import annotations

import os
import re
import warnings
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from importlib import metadata
from typing import TYPE_CHECKING, Any

import pluggy

from tuneport import hookspecs
from tuneport.errors import BackendNotFound, InsecureSettingWarning, PluginError
from tuneport.protocol import BackendSettings, Maturity

if TYPE_CHECKING:
    from tuneport.catalog import Catalog

__all__ = [
    "BLOCK_ENV",
    "ENTRY_POINT_GROUP",
    "LOAD_ENV",
    "BackendEntry",
    "PluginFailure",
    "PluginHost",
    "default_host",
]

ENTRY_POINT_GROUP = "tuneport"
LOAD_ENV = "TUNEPORT_LOAD_PLUGINS"
BLOCK_ENV = "TUNEPORT_BLOCK_PLUGINS"


@dataclass(frozen=True)
class BackendEntry:
    """A registered backend and where it came from."""

    name: str
    backend_class: type[Any]
    plugin: str
    distribution: str
    version: str


@dataclass(frozen=True)
class PluginFailure:
    """A plugin that could not be loaded, and why."""

    plugin: str
    distribution: str
    version: str
    error: PluginError


def _normalize(name: str) -> str:
    # PEP 503: "tuneport_gemini", "Tuneport.Gemini" and "tuneport-gemini" are one name.
    return re.sub(r"[-_.]+", "-", name).lower()


def _names(value: str | None) -> frozenset[str] | None:
    if value is None:
        return None
    return frozenset(_normalize(part.strip()) for part in value.split(",") if part.strip())


class PluginHost:
    """Discovers plugins, loads them lazily and keeps the registered backends."""

    def __init__(
        self,
        *,
        entry_points: Callable[[], Iterable[metadata.EntryPoint]] | None = None,
        environ: Mapping[str, str] | None = None,
    ) -> None:
        env = os.environ if environ is None else environ
        self._allow = _names(env.get(LOAD_ENV))
        self._block = _names(env.get(BLOCK_ENV)) or frozenset()
        self._entry_points = entry_points or _tuneport_entry_points
        self.pm = pluggy.PluginManager(ENTRY_POINT_GROUP)
        self.pm.add_hookspecs(hookspecs)
        self._backends: dict[str, BackendEntry] = {}
        self._failures: dict[str, PluginFailure] = {}
        self._all_loaded = False
        self._catalog: Catalog | None = None

    # --- discovery ----------------------------------------------------------------

    def _discover(self) -> list[metadata.EntryPoint]:
        return sorted(self._entry_points(), key=lambda ep: ep.name)

    def allowed(self, entry_point: metadata.EntryPoint) -> bool:
        """Whether the allow/block lists let *entry_point* load."""
        names = {_normalize(entry_point.name), _normalize(_dist_name(entry_point))}
        if names & self._block:
            return False
        return self._allow is None or bool(names & self._allow)

    def _load(self, entry_point: metadata.EntryPoint) -> None:
        if self.pm.has_plugin(entry_point.name) or entry_point.name in self._failures:
            return
        dist, version = _dist_name(entry_point), _dist_version(entry_point)
        try:
            plugin = entry_point.load()
        except Exception as exc:  # a broken plugin must not break the others
            error = PluginError(
                f"entry point '{entry_point.name} = {entry_point.value}' failed to import: "
                f"{type(exc).__name__}: {exc}",
                distribution=dist,
            )
            self._failures[entry_point.name] = PluginFailure(entry_point.name, dist, version, error)
            return
        try:
            self.register_plugin(plugin, name=entry_point.name, distribution=dist, version=version)
        except PluginError as error:
            self._failures[entry_point.name] = PluginFailure(entry_point.name, dist, version, error)

    def load_all(self) -> None:
        """Load every allowed plugin (failures are recorded, not raised)."""
        if self._all_loaded:
            return
        for entry_point in self._discover():
            if self.allowed(entry_point):
                self._load(entry_point)
        self._all_loaded = True

    # --- registration -------------------------------------------------------------

    def register_plugin(
        self, plugin: object, *, name: str, distribution: str = "(in-process)", version: str = ""
    ) -> None:
        """Register a plugin object (a module or instance with hook implementations).

        Entry points go through here; it also lets a program add a backend
        without packaging it.
        """
        try:
            self.pm.register(plugin, name=name)
        except ValueError as exc:
            raise PluginError(
                f"could not register plugin '{name}': {exc}", distribution=distribution
            ) from None
        except pluggy.PluginValidationError as exc:
            raise PluginError(
                f"invalid hook implementation in '{name}': {exc}", distribution=distribution
            ) from None
        others = [p for p in self.pm.get_plugins() if p is not plugin]
        caller = self.pm.subset_hook_caller("register_backends", remove_plugins=others)
        added: list[BackendEntry] = []

        def register(backend_class: type[Any]) -> None:
            added.append(self._entry(backend_class, name, distribution, version))

        try:
            caller(register=register)
        except PluginError:
            self.pm.unregister(plugin)
            raise
        except Exception as exc:
            self.pm.unregister(plugin)
            raise PluginError(
                f"register_backends of '{name}' raised {type(exc).__name__}: {exc}", distribution=distribution
            ) from None
        names = [entry.name for entry in added]
        if len(set(names)) != len(names):
            self.pm.unregister(plugin)
            raise PluginError(
                f"plugin '{name}' registered a backend name twice: {names}", distribution=distribution
            )
        for entry in added:
            displaced = self._backends.get(entry.name)
            if displaced is not None and displaced.backend_class is not entry.backend_class:
                error = PluginError(
                    f"backend '{entry.name}' belongs to distribution '{entry.distribution}' "
                    f"(entry point '{entry.name}'); this plugin's registration of it is ignored",
                    distribution=displaced.distribution,
                )
                self._failures.setdefault(
                    displaced.plugin,
                    PluginFailure(displaced.plugin, displaced.distribution, displaced.version, error),
                )
            self._backends[entry.name] = entry
        self._catalog = None  # a new plugin may add catalog entries

    def _entry(self, backend_class: type[Any], plugin: str, distribution: str, version: str) -> BackendEntry:
        backend_name = getattr(backend_class, "name", None)
        if not isinstance(backend_name, str) or not backend_name:
            raise PluginError(f"{backend_class!r} has no 'name' string", distribution=distribution)
        settings_model = getattr(backend_class, "settings_model", None)
        if not (isinstance(settings_model, type) and issubclass(settings_model, BackendSettings)):
            raise PluginError(
                f"backend '{backend_name}' must declare settings_model, a subclass of BackendSettings",
                distribution=distribution,
            )
        if not isinstance(getattr(backend_class, "maturity", None), Maturity):
            raise PluginError(
                f"backend '{backend_name}' must declare maturity, a tuneport.protocol.Maturity",
                distribution=distribution,
            )
        if settings_model.model_config.get("extra") != "forbid":
            raise PluginError(
                f"backend '{backend_name}': settings_model must forbid unknown keys (extra='forbid')",
                distribution=distribution,
            )
        _warn_of_plain_secrets(backend_name, settings_model)
        existing = self._backends.get(backend_name)
        # The entry point named after a backend owns that name: it is the one
        # lazy resolution loads, so listing everything must agree with it.
        owner = plugin == backend_name and existing is not None and existing.plugin != backend_name
        if existing is not None and existing.backend_class is not backend_class and not owner:
            raise PluginError(
                f"backend '{backend_name}' is already registered by distribution '{existing.distribution}'",
                distribution=distribution,
            )
        return BackendEntry(backend_name, backend_class, plugin, distribution, version)

    # --- lookup -----------------------------------------------------------------------

    def backend(self, name: str) -> BackendEntry:
        """The backend called *name*, loading as few plugins as possible.

        Raises :class:`BackendNotFound` (with suggestions) or the
        :class:`PluginError` of the plugin that should have provided it.
        """
        if name in self._backends:
            return self._backends[name]
        for entry_point in self._discover():
            if entry_point.name == name and self.allowed(entry_point):
                self._load(entry_point)
        if name not in self._backends:
            self.load_all()
        if name in self._backends:
            return self._backends[name]
        if name in self._failures:
            raise self._failures[name].error
        raise BackendNotFound(name, available=self.available_names())

    def available_names(self) -> list[str]:
        """Names of backends registered, plus allowed entry points not yet loaded."""
        names = set(self._backends)
        names.update(ep.name for ep in self._discover() if self.allowed(ep) and ep.name not in self._failures)
        return sorted(names)

    def backends(self) -> dict[str, BackendEntry]:
        """Every backend of every allowed plugin (loads them all)."""
        self.load_all()
        return dict(sorted(self._backends.items()))

    def catalog(self) -> Catalog:
        """The model catalog contributed by the plugins loaded so far.

        Call :meth:`load_all` first for every backend's models; resolving a
        backend with :meth:`backend` loads the plugin that owns its entries.
        """
        if self._catalog is None:
            from tuneport.catalog import Catalog

            catalog = Catalog()
            try:
                self.pm.hook.register_catalog(register=catalog.add, set_policy=catalog.set_policy)
            except PluginError:
                raise
            except Exception as exc:
                raise PluginError(f"register_catalog raised {type(exc).__name__}: {exc}") from None
            self._catalog = catalog
        return self._catalog

    def failures(self) -> list[PluginFailure]:
        """Plugins that failed to load so far."""
        return list(self._failures.values())


def _tuneport_entry_points() -> list[metadata.EntryPoint]:
    """``metadata.entry_points(group="tuneport")``, without parsing every distribution's entry points.

    The same distributions in the same order, but only the ``entry_points.txt``
    files that mention the group are parsed: the standard call builds an object
    for every entry point of every installed distribution, which is most of its
    cost in a large environment.  Only public ``importlib.metadata`` calls: a
    distribution's name is read for the few that mention the group, and one
    found further down the path than another of its name is left out (the
    first of a name wins, as ``entry_points()`` has it).
    """
    found: list[metadata.EntryPoint] = []
    seen: set[str] = set()
    for dist in metadata.distributions():
        text = dist.read_text("entry_points.txt")
        if not text or ENTRY_POINT_GROUP not in text:  # the group's section header contains its name
            continue
        name = _header(dist, "Name")
        key = _normalize(name.strip()) if name else ""
        if key in seen or not _first_of_its_name(key, text):
            continue
        if key:
            seen.add(key)
        found.extend(dist.entry_points.select(group=ENTRY_POINT_GROUP))
    return found


def _first_of_its_name(name: str, entry_points_text: str) -> bool:
    """Whether the first distribution called *name* on the path has these entry points.

    Called for the first distribution of that name that mentions the group: an
    earlier one that does not mention it shadows it (and has other entry points).
    """
    if not name:
        return True  # nameless: nothing can shadow it by name
    try:
        first = metadata.distribution(name)
    except (metadata.PackageNotFoundError, ValueError):
        return True  # its directory is named otherwise: not found by its name, not shadowed by it
    return first.read_text("entry_points.txt") == entry_points_text


def _header(dist: metadata.Distribution, header: str) -> str | None:
    """One header of a distribution's metadata.

    Read from the metadata file's header lines instead of ``dist.metadata``, which
    parses the whole file with the email package on every access.
    """
    text = dist.read_text("METADATA") or dist.read_text("PKG-INFO") or ""
    prefix = header.lower() + ":"
    for line in text.splitlines():
        if not line.strip():
            break  # the end of the headers
        if line[: len(prefix)].lower() == prefix:
            return line[len(prefix) :].lstrip(" \t")  # as the email parser reads a header's value
    value = dist.metadata[header]  # an unusual file: let the email parser read it
    return None if value is None else str(value)


def _dist_header(entry_point: metadata.EntryPoint, header: str) -> str | None:
    """One header of the entry point's distribution metadata (``None``: no distribution)."""
    dist = getattr(entry_point, "dist", None)
    if dist is None:
        return None
    value = _header(dist, header)
    return str(value)  # as str(dist.metadata[header]) has it: "None" for a missing header


def _dist_name(entry_point: metadata.EntryPoint) -> str:
    name = _dist_header(entry_point, "Name")
    return "(unknown)" if name is None else name


def _dist_version(entry_point: metadata.EntryPoint) -> str:
    return _dist_header(entry_point, "Version") or ""


_default: PluginHost | None = None


def default_host() -> PluginHost:
    """The process-wide plugin host (created on first use, reading the environment then)."""
    global _default
    if _default is None:
        _default = PluginHost()
    return _default


def _warn_of_plain_secrets(backend_name: str, settings_model: type[BackendSettings]) -> None:
    """Warn when a setting named like a secret is not a ``SecretStr`` (it would be printed)."""
    from tuneport._secrets import is_secret_name, is_secret_type

    for name, field in settings_model.model_fields.items():
        if is_secret_name(name) and not is_secret_type(field.annotation):
            warnings.warn(
                InsecureSettingWarning(
                    f"backend '{backend_name}' declares the setting '{name}' as plain text; declare it "
                    "as pydantic.SecretStr so that reprs, logs and model_dump mask it",
                    backend=backend_name,
                    setting=name,
                ),
                stacklevel=3,
            )
