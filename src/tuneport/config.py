"""Configuration: ``tuneport.toml`` profiles, environment overrides, keywords.

Where the file comes from, first match wins:

1. an explicit path (``connect(config=...)`` / ``tuneport --config``);
2. ``$TUNEPORT_CONFIG``;
3. ``tuneport.toml`` in the current directory;
4. ``tuneport.toml`` in the user config dir (``platformdirs``).

Which profile: explicit ``profile=`` / ``--profile``, else ``$TUNEPORT_PROFILE``,
else the file's ``default_profile``, else the built-in ``local`` profile
(the gemini backend on the embedded emulator: offline by default).

Each setting's value, highest precedence first: keyword overrides
(``connect(location=...)``), ``TUNEPORT_<SETTING>`` environment variables,
the profile, a vendor's own variables (``GEMINI_API_KEY``…), then the
backend's defaults.  Every value remembers where it came
from, so a bad one is reported with its file, profile and key (or variable).

A file that holds a secret (an ``api_key``, a ``*_token``, a ``SecretStr``
setting…) and that other users can access gives an
:class:`~tuneport.errors.InsecureConfigWarning`; no repr here shows a value.
"""

from __future__ import annotations

import json
import os
import re
import sys
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import pydantic

from tuneport._file_permissions import not_a_regular_file, warn_if_shared
from tuneport._nesting import MAX_NESTING, first_lone_surrogate, nested_too_deep, nesting_message
from tuneport._secrets import is_secret_name, is_secret_type
from tuneport._spec_keys import SourcedTable
from tuneport._suggest import close_matches, did_you_mean
from tuneport.errors import ConfigError
from tuneport.protocol import BackendSettings

__all__ = [
    "BACKEND_ENV",
    "BUILTIN_PROFILES",
    "CONFIG_ENV",
    "CONFIG_FILE_NAME",
    "PROFILE_ENV",
    "ConfigFile",
    "ResolvedProfile",
    "Setting",
    "build_settings",
    "find_config",
    "load_config",
    "resolve_profile",
]

CONFIG_ENV = "TUNEPORT_CONFIG"
PROFILE_ENV = "TUNEPORT_PROFILE"
BACKEND_ENV = "TUNEPORT_BACKEND"
CONFIG_FILE_NAME = "tuneport.toml"
_ENV_PREFIX = "TUNEPORT_"
_TOP_LEVEL_KEYS = frozenset({"default_profile", "profiles", "catalog", "cost"})
#: Keys of the ``[cost]`` table (docs/cost.md).
_COST_KEYS = frozenset({"confirm_above"})

#: Profiles that exist without any file.
BUILTIN_PROFILES: Mapping[str, Mapping[str, Any]] = {
    "local": {"backend": "gemini", "endpoint": "embedded"},
}
DEFAULT_PROFILE = "local"

S = TypeVar("S", bound=BackendSettings)


@dataclass(frozen=True)
class Setting:
    """A configured value and a human description of where it came from."""

    #: Left out of the repr: it may be an API key.
    value: Any = field(repr=False)
    source: str
    profile: str | None = None


@dataclass(frozen=True)
class ConfigFile:
    """A parsed ``tuneport.toml``."""

    path: Path | None
    default_profile: str | None = None
    profiles: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    #: ``[catalog.<backend>."<model>"]`` patches of the model catalog.
    catalog: Mapping[str, Any] = field(default_factory=dict)
    #: The ``[cost]`` table: ``confirm_above``, the estimate above which ``tuneport create`` asks first.
    cost: Mapping[str, float] = field(default_factory=dict)

    @property
    def label(self) -> str:
        """How to name the file in messages."""
        return str(self.path) if self.path else "built-in defaults"

    def __repr__(self) -> str:
        # The profiles hold raw values, API keys among them: name them, never show them.
        return (
            f"ConfigFile(path={self.path!r}, default_profile={self.default_profile!r}, "
            f"profiles={sorted(self.profiles)!r}, catalog={sorted(self.catalog)!r})"
        )


@dataclass(frozen=True)
class ResolvedProfile:
    """The outcome of resolution: a backend name and raw settings with sources."""

    name: str
    backend: str
    backend_source: str
    settings: Mapping[str, Setting]
    config: ConfigFile
    #: Defaults for job specs from the profile's ``[profiles.NAME.job]`` table
    #: (e.g. the base model), so one script runs unchanged on another backend.
    job_defaults: Mapping[str, Any] = field(default_factory=dict)


def user_config_path() -> Path:
    """``tuneport.toml`` in the platform's user config directory."""
    import platformdirs

    return Path(platformdirs.user_config_dir("tuneport")) / CONFIG_FILE_NAME


def find_config(
    explicit: str | os.PathLike[str] | None = None,
    *,
    environ: Mapping[str, str] | None = None,
    cwd: Path | None = None,
) -> Path | None:
    """The config file to use, or ``None`` when there is none."""
    env = os.environ if environ is None else environ
    if explicit is not None:
        path = _usable(Path(explicit), "config argument (--config)")
        if not path.is_file():
            raise ConfigError(f"config file not found: {path}", source="config argument (--config)")
        return path
    if env.get(CONFIG_ENV):
        path = _usable(Path(env[CONFIG_ENV]), f"${CONFIG_ENV}")
        if not path.is_file():
            raise ConfigError(f"config file not found: {path}", source=f"${CONFIG_ENV}")
        return path
    local = _usable((cwd or Path.cwd()) / CONFIG_FILE_NAME, "the current directory")
    if local.is_file():
        return local
    user = _usable(user_config_path(), "the user config directory")
    return user if user.is_file() else None


def _usable(path: Path, source: str) -> Path:
    """*path*, unless it holds a NUL or names something other than a regular file (a FIFO, a device)."""
    reason = not_a_regular_file(path)
    if reason is not None and not path.is_dir():  # a directory is reported as "not found"
        raise ConfigError(f"cannot use {str(path)!r} as the config file: {reason}", source=source)
    return path


def load_config(path: Path | None) -> ConfigFile:
    """Parse and check the shape of a config file (``None``: an empty config)."""
    if path is None:
        return ConfigFile(path=None)
    label = str(path)
    reason = not_a_regular_file(path)
    if reason is not None:
        raise ConfigError(f"cannot read the file: {reason}", source=label)
    toml = _toml()
    try:
        # utf-8-sig: a byte-order mark (Windows editors write one) is skipped, as in datasets.
        data = toml.loads(path.read_text(encoding="utf-8-sig"))
    except toml.TOMLDecodeError as exc:
        raise ConfigError(f"invalid TOML: {exc}", source=label) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read the file: {exc}", source=label) from None
    except RecursionError:
        data = None  # raised below, once the parser's deep stack has unwound (TOML has no null)
    if data is None or nested_too_deep(data):
        raise ConfigError(f"invalid TOML: a value is {nesting_message()}", source=label)
    surrogate = first_lone_surrogate(data)
    if surrogate:
        raise ConfigError(f"invalid TOML: a string {surrogate}", source=label)
    for key in data:
        if key not in _TOP_LEVEL_KEYS:
            raise ConfigError(_unknown(key, _TOP_LEVEL_KEYS, "top-level key"), source=label, key=key)
    default = data.get("default_profile")
    if default is not None and not isinstance(default, str):
        raise ConfigError("must be a string", source=label, key="default_profile")
    profiles = data.get("profiles", {})
    if not isinstance(profiles, dict):
        raise ConfigError("must be a table of profiles ([profiles.NAME])", source=label, key="profiles")
    for name, body in profiles.items():
        if not isinstance(body, dict):
            raise ConfigError("must be a table of settings", source=label, profile=name)
        if "backend" in body and not isinstance(body["backend"], str):
            raise ConfigError("must be a string", source=label, profile=name, key="backend")
    if default is not None and default not in profiles and default not in BUILTIN_PROFILES:
        raise ConfigError(
            _unknown(default, [*profiles, *BUILTIN_PROFILES], "profile"), source=label, key="default_profile"
        )
    catalog = data.get("catalog", {})
    if not isinstance(catalog, dict):
        raise ConfigError('must be a table ([catalog.BACKEND."MODEL"])', source=label, key="catalog")
    cost = _cost_table(data.get("cost", {}), label)
    secret_keys = {key for body in profiles.values() for key in body if is_secret_name(key)}
    if secret_keys:
        warn_if_shared(path, holding=_secrets_named(secret_keys))
    return ConfigFile(path=path, default_profile=default, profiles=profiles, catalog=catalog, cost=cost)


def _cost_table(table: Any, label: str) -> dict[str, float]:
    """The checked ``[cost]`` table: amounts of money, each a number ≥ 0."""
    if not isinstance(table, dict):
        raise ConfigError("must be a table ([cost])", source=label, key="cost")
    for key, value in table.items():
        if key not in _COST_KEYS:
            raise ConfigError(_unknown(key, _COST_KEYS, "cost key"), source=label, key=f"cost.{key}")
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value < float("inf"):
            raise ConfigError("must be an amount of money ≥ 0", source=label, key=f"cost.{key}")
    return {key: float(value) for key, value in table.items()}


def _secrets_named(keys: Iterable[str]) -> str:
    return f"secrets ({', '.join(sorted(keys))})"


def _toml() -> Any:
    """The TOML parser, imported only when there is a file to read."""
    if sys.version_info >= (3, 11):
        import tomllib
    else:  # pragma: no cover - exercised on 3.10 only
        import tomli as tomllib
    return tomllib


def _unknown(name: str, known: Any, what: str) -> str:
    return f"unknown {what} '{name}'{did_you_mean(close_matches(name, known))}"


def _profile_error(message: str, where: str, profile: str, *, key: str) -> ConfigError:
    """An error in a profile; ``where`` already names it, so ``profile`` is set but not repeated."""
    error = ConfigError(message, source=where, key=key)
    error.profile = profile
    return error


def resolve_profile(
    profile: str | None = None,
    *,
    config: ConfigFile,
    backend: str | None = None,
    environ: Mapping[str, str] | None = None,
) -> ResolvedProfile:
    """Pick the profile and the backend; collect the profile's settings with sources.

    Environment and keyword overrides of settings are applied later by
    :func:`build_settings`, once the backend's settings model is known.
    """
    env = os.environ if environ is None else environ
    if profile is not None and not profile.strip():
        # An empty name is a mistake (an unset shell variable), not a request for the default.
        raise ConfigError("the profile name is empty", source="profile argument", key="profile")
    explicit = profile is not None or bool(env.get(PROFILE_ENV))
    name = profile or env.get(PROFILE_ENV) or config.default_profile or DEFAULT_PROFILE
    profile_source = (
        "profile argument"
        if profile is not None
        else f"${PROFILE_ENV}"
        if env.get(PROFILE_ENV)
        else config.label
    )
    if name in config.profiles:
        body: Mapping[str, Any] = config.profiles[name]
        where = f"{config.label} [profiles.{name}]"
    elif name in BUILTIN_PROFILES:
        body = BUILTIN_PROFILES[name]
        where = f"built-in profile '{name}'"
    else:
        raise ConfigError(
            _unknown(name, [*config.profiles, *BUILTIN_PROFILES], "profile"), source=profile_source
        )
    profile_backend = body.get("backend")
    if backend:
        chosen, chosen_source = backend, "backend argument"
    elif env.get(BACKEND_ENV):
        chosen, chosen_source = env[BACKEND_ENV], f"${BACKEND_ENV}"
    elif profile_backend:
        chosen, chosen_source = str(profile_backend), where
    else:
        raise _profile_error("the profile names no backend", where, name, key="backend")
    settings: dict[str, Setting] = {}
    job_defaults: Mapping[str, Any] = {}
    # A default profile written for another backend does not leak its
    # settings into an explicitly chosen one; an explicitly chosen profile does.
    if explicit or profile_backend in (None, chosen):
        for key, value in body.items():
            if key == "job":
                if not isinstance(value, dict):
                    raise _profile_error("must be a table of job-spec defaults", where, name, key="job")
                job_defaults = SourcedTable(value, source=_job_table_source(config, name, where))
            elif key != "backend":
                settings[key] = Setting(value, where, profile=name)
    return ResolvedProfile(
        name=name,
        backend=chosen,
        backend_source=chosen_source,
        settings=settings,
        config=config,
        job_defaults=job_defaults,
    )


def _job_table_source(config: ConfigFile, profile: str, where: str) -> str:
    """How messages name a profile's job table: ``tuneport.toml [profiles.dev.job]``."""
    if profile in config.profiles:
        return f"{config.label} [profiles.{profile}.job]"
    return f"{where}, job table"


def build_settings(
    resolved: ResolvedProfile,
    settings_model: type[S],
    *,
    overrides: Mapping[str, Any] | None = None,
    environ: Mapping[str, str] | None = None,
) -> S:
    """Validate the merged settings with the backend's model.

    A bad value raises :class:`ConfigError` naming where it came from.
    """
    env = os.environ if environ is None else environ
    merged: dict[str, Setting] = {
        key: Setting(value, f"environment variable {var}")
        for key, (value, var) in settings_model.environment_defaults(env).items()
    }
    merged.update(resolved.settings)
    for field_name in settings_model.model_fields:
        var = _ENV_PREFIX + field_name.upper()
        if var in env and var not in (CONFIG_ENV, PROFILE_ENV, BACKEND_ENV):
            merged[field_name] = Setting(_env_value(env[var], var, field_name), f"environment variable {var}")
    for key, value in (overrides or {}).items():
        if value is not None:
            merged[key] = Setting(value, "keyword argument")
    try:
        settings = settings_model.model_validate({k: s.value for k, s in merged.items()})
    except pydantic.ValidationError as exc:
        error = _settings_error(exc, merged, resolved, settings_model)
    else:
        _warn_if_typed_secrets_shared(resolved, settings_model)
        return settings
    # Raised outside the except block, so the error keeps no __context__: pydantic's
    # error quotes every input value, API keys included.
    raise error


def _warn_if_typed_secrets_shared(resolved: ResolvedProfile, settings_model: type[BackendSettings]) -> None:
    """Warn for secret-typed settings of the file whose names :func:`load_config` did not recognise."""
    path = resolved.config.path
    if path is None or resolved.name not in resolved.config.profiles:
        return  # the settings came from a built-in profile
    fields = settings_model.model_fields
    unnamed = {
        key
        for key in resolved.settings
        if key in fields and is_secret_type(fields[key].annotation) and not is_secret_name(key)
    }
    if unnamed:
        warn_if_shared(path, holding=_secrets_named(unnamed))


def _env_value(text: str, var: str, key: str) -> Any:
    """Environment values are strings; a JSON object or array stands for a table or list.

    A value nested more than ``MAX_NESTING`` levels deep is a :class:`ConfigError`
    naming the variable and the setting (it would exhaust the parser's recursion).
    """
    if text.lstrip().startswith(("{", "[")):
        value: Any = text
        try:
            value = json.loads(text)
        except RecursionError:
            value = None
        except ValueError:
            pass  # left as a string: the settings model reports the bad value
        if value is None or nested_too_deep(value):
            raise ConfigError(nesting_message(MAX_NESTING), source=f"environment variable {var}", key=key)
        return value
    return text


def _settings_error(
    exc: pydantic.ValidationError,
    merged: Mapping[str, Setting],
    resolved: ResolvedProfile,
    settings_model: type[BackendSettings],
) -> ConfigError:
    lines = []
    first: tuple[str, str | None, str | None] | None = None
    for err in exc.errors():
        key = str(err["loc"][0]) if err["loc"] else None
        setting = merged.get(key) if key else None
        source = setting.source if setting else f"backend '{resolved.backend}' settings"
        profile = setting.profile if setting else resolved.name
        if err["type"] == "extra_forbidden" and key:
            hint = did_you_mean(close_matches(key, settings_model.model_fields))
            message = f"unknown setting '{key}' for backend '{resolved.backend}'{hint}"
        elif err["type"] == "missing":
            message = f"required setting for backend '{resolved.backend}' is missing"
        elif err["type"] == "literal_error" and isinstance(err["input"], str):
            # Expected "'auto', 'v1' or 'v1beta1'": name the choice probably meant.
            choices = re.findall(r"'([^']*)'", str((err.get("ctx") or {}).get("expected", "")))
            hint = did_you_mean(close_matches(err["input"], choices))
            message = f"{err['input']!r} is not one of {', '.join(map(repr, choices))}{hint}"
        else:
            message = str(err["msg"]).removeprefix("Value error, ")
        lines.append(f"{source}: key '{key}': {message}" if key else f"{source}: {message}")
        if first is None:
            first = (source, profile, key)
    assert first is not None
    first_source, first_profile, first_key = first
    text = lines[0] if len(lines) == 1 else "invalid settings:\n  " + "\n  ".join(lines)
    error = ConfigError(text)
    error.source, error.profile, error.key = first_source, first_profile, first_key
    return error
