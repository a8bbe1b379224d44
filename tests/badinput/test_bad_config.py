"""Malformed ``tuneport.toml`` files: TOML syntax, wrong types, unknown keys, bad references, catalog patches.

Each file is read by ``tuneport.open_backend(config=...)`` (no request is
possible: nothing is connected) and must raise :class:`ConfigError` (or its
subclass :class:`BackendNotFound`) naming the file and the key, profile or
line at fault.  Settings *values* inside profiles are in test_bad_profiles.py.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from badinput_helpers import assert_names
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import tuneport
from tuneport.config import ConfigFile, load_config
from tuneport.errors import BackendNotFound, ConfigError

WriteConfig = Callable[[str], Path]


def open_with(path: Path, **options: str) -> None:
    tuneport.open_backend(config=path, environ={}, **options)


# --- TOML syntax ------------------------------------------------------------------------------------

SYNTAX_ERRORS = [
    ("value missing", "default_profile = \n", "line 1"),
    ("table header unclosed", "[profiles.a\nbackend = 'gemini'\n", "line 1"),
    ("string unterminated", "[profiles.a]\nbackend = 'gemini\n", "end of document"),
    ("key given twice", "[profiles.a]\nbackend = 'gemini'\nbackend = 'vertex'\n", "line 3"),
    ("table declared twice", "[profiles.a]\nbackend = 'gemini'\n[profiles.a]\n", "line 3"),
    ("float without digits", "[profiles.a]\nbackend = 'gemini'\ntimeout = 1.\n", "line 3"),
    ("trailing comma in inline table", "[profiles.a]\nlabels = {a = 'b',}\n", "line 2"),
    ("array unterminated", "default_profile = 'a'\nprofiles = [\n", "end of document"),
    ("two values on a line", "default_profile = 'a' 'b'\n", "line 1"),
    ("NUL character", "[profiles.a]\nbackend = 'gem\x00ini'\n", "line 2"),
    ("statement without a key", "default_profile = 'a'\n\n\n= 3\n", "line 4"),
    ("underscore ending a number", "[profiles.a]\ntimeout = 1_\n", "line 2"),
    ("multi-line string unterminated", 'default_profile = """local\n', "end of document"),
]


@pytest.mark.parametrize(("text", "where"), [c[1:] for c in SYNTAX_ERRORS], ids=[c[0] for c in SYNTAX_ERRORS])
def test_toml_syntax_error_names_the_file_and_the_line(
    write_config: WriteConfig, text: str, where: str
) -> None:
    path = write_config(text)
    with pytest.raises(ConfigError) as info:
        open_with(path)
    assert info.value.source == str(path)
    assert "invalid TOML" in str(info.value)
    assert where in str(info.value)


@pytest.mark.parametrize(
    "data",
    [b"\xff\xfe[profiles.a]\n", b"default_profile = '\xe9'\n", b"\xc3\x28 = 1\n"],
    ids=["utf-16 byte order mark", "latin-1 byte", "broken utf-8 sequence"],
)
def test_file_that_is_not_utf8_names_the_file(tmp_path: Path, data: bytes) -> None:
    path = tmp_path / "tuneport.toml"
    path.write_bytes(data)
    with pytest.raises(ConfigError) as info:
        open_with(path)
    assert info.value.source == str(path)
    assert "utf-8" in str(info.value)


# --- wrong types of the file's own keys ------------------------------------------------------------

WRONG_TYPES = [
    ("default_profile = 3\n", "default_profile"),
    ("default_profile = ['local']\n", "default_profile"),
    ("default_profile = {name = 'local'}\n", "default_profile"),
    ("profiles = 3\n", "profiles"),
    ("profiles = 'local'\n", "profiles"),
    ("[[profiles]]\nbackend = 'gemini'\n", "profiles"),
    ("[profiles.a]\nbackend = 3\n", "backend"),
    ("[profiles.a]\nbackend = ['gemini']\n", "backend"),
    ("[profiles.a]\nbackend = {name = 'gemini'}\n", "backend"),
    ("[profiles.a]\nbackend = true\n", "backend"),
    ("catalog = 'gemini'\n", "catalog"),
    ("catalog = [1, 2]\n", "catalog"),
]


@pytest.mark.parametrize(("text", "key"), WRONG_TYPES)
def test_wrong_type_of_a_file_key_is_named(write_config: WriteConfig, text: str, key: str) -> None:
    path = write_config(text)
    with pytest.raises(ConfigError) as info:
        open_with(path, profile="a") if "[profiles.a]" in text else open_with(path)
    assert_names(info.value, key)
    assert info.value.source == str(path)


@pytest.mark.parametrize("body", ["3", "'gemini'", "[1, 2]", "true"])
def test_profile_that_is_not_a_table_names_the_profile(write_config: WriteConfig, body: str) -> None:
    path = write_config(f"[profiles]\nprod = {body}\n")
    with pytest.raises(ConfigError) as info:
        open_with(path, profile="prod")
    assert info.value.profile == "prod"
    assert "profile 'prod'" in str(info.value)
    assert "must be a table" in str(info.value)


@pytest.mark.parametrize("job", ["3", "'models/x'", "['a']", "false"])
def test_job_defaults_that_are_not_a_table_are_named(write_config: WriteConfig, job: str) -> None:
    path = write_config(f"[profiles.a]\nbackend = 'gemini'\njob = {job}\n")
    with pytest.raises(ConfigError) as info:
        open_with(path, profile="a")
    assert_names(info.value, "job")
    assert info.value.profile == "a"


# --- unknown keys ------------------------------------------------------------------------------------

UNKNOWN_TOP_LEVEL = [
    ("profile = 'local'\n", "profile", "profiles"),
    ("defaults_profile = 'local'\n", "defaults_profile", "default_profile"),
    ("[catalogs.gemini]\nunknown_models = 'allow'\n", "catalogs", "catalog"),
    ("[profles.a]\nbackend = 'gemini'\n", "profles", "profiles"),
    ("backend = 'gemini'\n", "backend", None),
    ("endpoint = 'embedded'\n", "endpoint", None),
]


@pytest.mark.parametrize(("text", "key", "suggestion"), UNKNOWN_TOP_LEVEL)
def test_unknown_top_level_key_is_named_with_a_suggestion(
    write_config: WriteConfig, text: str, key: str, suggestion: str | None
) -> None:
    path = write_config(text)
    with pytest.raises(ConfigError) as info:
        open_with(path)
    assert_names(info.value, key)
    assert f"unknown top-level key '{key}'" in str(info.value)
    if suggestion:
        assert f"did you mean '{suggestion}'" in str(info.value)


# --- references: profiles, backends, files ------------------------------------------------------------


def test_default_profile_naming_no_profile(write_config: WriteConfig) -> None:
    path = write_config("default_profile = 'prod'\n[profiles.prd]\nbackend = 'gemini'\n")
    with pytest.raises(ConfigError) as info:
        open_with(path)
    assert_names(info.value, "default_profile")
    assert "unknown profile 'prod'; did you mean 'prd'?" in str(info.value)


@pytest.mark.parametrize("name", ["vertex-pord", "VERTEX-PROD", "vertex_prod", "prod ", "../vertex-prod"])
def test_unknown_profile_argument_is_named(write_config: WriteConfig, name: str) -> None:
    path = write_config("[profiles.vertex-prod]\nbackend = 'vertex'\n")
    with pytest.raises(ConfigError) as info:
        open_with(path, profile=name)
    assert f"unknown profile '{name}'" in str(info.value)
    assert info.value.source == "profile argument"


@pytest.mark.parametrize(
    ("backend", "suggestion"), [("gemni", "gemini"), ("Vertex", "vertex"), ("openai", None)]
)
def test_profile_naming_an_unknown_backend(
    write_config: WriteConfig, backend: str, suggestion: str | None
) -> None:
    path = write_config(f"[profiles.a]\nbackend = '{backend}'\n")
    with pytest.raises(BackendNotFound) as info:
        open_with(path, profile="a")
    assert_names(info.value, "backend")
    assert f"unknown backend '{backend}'" in str(info.value)
    assert info.value.suggestions == ((suggestion,) if suggestion else ())


@pytest.mark.parametrize("body", ["endpoint = 'embedded'\n", "timeout = 30\n", ""])
def test_profile_naming_no_backend(write_config: WriteConfig, body: str) -> None:
    path = write_config(f"[profiles.a]\n{body}")
    with pytest.raises(ConfigError) as info:
        open_with(path, profile="a")
    assert_names(info.value, "backend")
    assert info.value.profile == "a"
    assert "the profile names no backend" in str(info.value)


@pytest.mark.parametrize("where", ["missing.toml", "", "sub/"], ids=["missing file", "directory", "sub dir"])
def test_config_path_that_is_not_a_file(tmp_path: Path, where: str) -> None:
    (tmp_path / "sub").mkdir()
    path = tmp_path / where
    with pytest.raises(ConfigError) as info:
        open_with(path)
    assert f"config file not found: {path}" in str(info.value)


# --- catalog patches ------------------------------------------------------------------------------------

FLASH = "catalog.vertex.gemini-2.5-flash"
BAD_CATALOG_PATCHES = [
    ("[catalog.gemini.'models/x']\nhyperparameters = 3\n", "catalog.gemini.models/x"),
    ("[catalog.gemini]\nunknown_models = 'maybe'\n", "catalog.gemini.unknown_models"),
    ("[catalog.gemini]\n'models/x' = 3\n", "catalog.gemini.models/x"),
    ("[catalog]\ngemini = 3\n", "catalog.gemini"),
    ("[catalog.vertex.'gemini-2.5-flash']\ntunable = 'perhaps'\n", FLASH),
    ("[catalog.vertex.'gemini-2.5-flash'.hyperparameters.epoch_count]\nminimum = 1\n", FLASH),
    ("[catalog.vertex.'gemini-2.5-flash']\nstatus = 'sunset'\n", FLASH),
    ("[catalog.vertex.'gemini-2.5-flash'.limits]\nmax_examples = 'many'\n", FLASH),
]


@pytest.mark.parametrize(("text", "key"), BAD_CATALOG_PATCHES)
def test_bad_catalog_patch_names_the_file_and_the_entry(
    write_config: WriteConfig, text: str, key: str
) -> None:
    path = write_config(text)
    backend = key.split(".")[1]
    # The catalog is built for a client's pre-flight checks; connecting sends nothing.
    with pytest.raises(ConfigError) as info:
        tuneport.connect(config=path, backend=backend, endpoint="http://127.0.0.1:9", environ={})
    assert_names(info.value, key)
    assert str(path) in str(info.value)


# --- any text at all --------------------------------------------------------------------------------------


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(text=st.text(alphabet=st.sampled_from(list("[]{}=\"'.,\n #abcdeprofil_tuv0123")), max_size=60))
def test_any_text_is_a_config_or_a_config_error(tmp_path: Path, text: str) -> None:
    path = tmp_path / "tuneport.toml"
    path.write_text(text, encoding="utf-8")
    outcome = load_or_error(path)
    if isinstance(outcome, ConfigError):
        assert str(path) in str(outcome)
    else:
        assert outcome.path == path


def load_or_error(path: Path) -> ConfigFile | ConfigError:
    """The parsed file, or the :class:`ConfigError` it raised (any other exception propagates)."""
    try:
        return load_config(path)
    except ConfigError as error:
        return error


@pytest.mark.parametrize(("table", "hint"), [("gemni", "did you mean 'gemini'"), ("nosuch", "installed: ")])
def test_a_catalog_patch_for_an_unknown_backend_is_refused(
    write_config: WriteConfig, table: str, hint: str
) -> None:
    path = write_config(f"[profiles.p]\nbackend = 'gemini'\n\n[catalog.{table}.some-model]\ntunable = true\n")
    with pytest.raises(ConfigError) as info:
        tuneport.validate(
            tuneport.JobSpec(base_model="models/gemini-1.5-flash-001-tuning", training_data=[("1", "2")]),
            profile="p",
            config=path,
            environ={},
        )
    assert_names(info.value, f"catalog.{table}")
    assert hint in str(info.value)
