"""Configuration: file discovery, profiles, precedence of sources, and clear errors."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from fake_service import ENDPOINT, FakeSettings
from pydantic import ValidationError as PydanticValidationError

import tuneport
from tuneport.config import (
    BUILTIN_PROFILES,
    ConfigFile,
    find_config,
    load_config,
    resolve_profile,
    user_config_path,
)
from tuneport.errors import BackendNotFound, ConfigError
from tuneport.plugins import PluginHost
from tuneport_gemini import GeminiBackend, GeminiSettings
from tuneport_vertex import VertexBackend, VertexSettings


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


FAKE_PROFILES = """
default_profile = "base"

[profiles.base]
backend = "fake"
endpoint = "http://profile.test"
timeout = 10.0

[profiles.other]
backend = "fake"
endpoint = "http://other.test"
"""


@pytest.fixture
def fake_config(tmp_path: Path) -> Path:
    return write(tmp_path / "conf" / "tuneport.toml", FAKE_PROFILES)


def fake_settings(host: PluginHost, **options: Any) -> FakeSettings:
    options.setdefault("environ", {})
    backend = tuneport.open_backend(plugins=host, **options)
    assert isinstance(backend.settings, FakeSettings)
    return backend.settings


# --- precedence of sources ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("environ", "keywords", "expected"),
    [
        (
            {"TUNEPORT_ENDPOINT": "http://env.test"},
            {"endpoint": "http://keyword.test"},
            "http://keyword.test",
        ),
        ({"TUNEPORT_ENDPOINT": "http://env.test"}, {}, "http://env.test"),
        ({}, {}, "http://profile.test"),
        # None means "not given": it does not hide the lower layers.
        ({}, {"endpoint": None}, "http://profile.test"),
    ],
)
def test_keyword_beats_environment_beats_profile(
    host: PluginHost, fake_config: Path, environ: dict[str, str], keywords: dict[str, Any], expected: str
) -> None:
    settings = fake_settings(host, config=fake_config, environ=environ, **keywords)
    assert settings.endpoint == expected
    assert settings.timeout == 10.0  # from the profile throughout


def test_backend_defaults_fill_what_nothing_sets(host: PluginHost, fake_config: Path) -> None:
    settings = fake_settings(host, profile="other", config=fake_config)
    assert settings.endpoint == "http://other.test"
    assert settings.timeout == FakeSettings().timeout == 60.0
    assert settings.api_key is None
    assert fake_settings(host, backend="fake").endpoint == ENDPOINT


def test_environment_values_are_validated_and_coerced(host: PluginHost, fake_config: Path) -> None:
    settings = fake_settings(
        host,
        config=fake_config,
        environ={"TUNEPORT_TIMEOUT": "2.5", "TUNEPORT_AUTH_BLOCKING": "true", "TUNEPORT_NOT_A_SETTING": "x"},
    )
    assert settings.timeout == 2.5
    assert settings.auth_blocking is True


def test_environment_json_values_stand_for_tables(host: PluginHost) -> None:
    backend = tuneport.open_backend(
        backend="vertex", plugins=host, environ={"TUNEPORT_LABELS": '{"team": "ml", "env": "dev"}'}
    )
    assert backend.settings.labels == {"team": "ml", "env": "dev"}
    with pytest.raises(ConfigError) as info:
        tuneport.open_backend(backend="vertex", plugins=host, environ={"TUNEPORT_LABELS": "{team: ml"})
    assert info.value.source == "environment variable TUNEPORT_LABELS"
    assert info.value.key == "labels"


def test_environment_from_os_environ_when_no_mapping_is_given(
    host: PluginHost, fake_config: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TUNEPORT_ENDPOINT", "http://os-environ.test")
    monkeypatch.setenv("TUNEPORT_CONFIG", str(fake_config))
    backend = tuneport.open_backend(plugins=host)
    assert backend.settings.endpoint == "http://os-environ.test"


# --- which profile ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("argument", "environ", "default", "expected"),
    [
        ("one", {"TUNEPORT_PROFILE": "two"}, "three", "one"),
        (None, {"TUNEPORT_PROFILE": "two"}, "three", "two"),
        (None, {}, "three", "three"),
        (None, {}, None, "local"),
    ],
)
def test_profile_selection_order(
    tmp_path: Path, argument: str | None, environ: dict[str, str], default: str | None, expected: str
) -> None:
    text = "".join(
        f'[profiles.{n}]\nbackend = "fake"\nendpoint = "http://{n}.test"\n' for n in ("one", "two", "three")
    )
    if default:
        text = f'default_profile = "{default}"\n' + text
    config = load_config(write(tmp_path / "t.toml", text))
    resolved = resolve_profile(argument, config=config, environ=environ)
    assert resolved.name == expected
    if expected == "local":
        assert resolved.backend == "gemini"
        assert resolved.settings["endpoint"].value == "embedded"
        assert "built-in" in resolved.settings["endpoint"].source
    else:
        assert resolved.settings["endpoint"].value == f"http://{expected}.test"
        assert resolved.settings["endpoint"].profile == expected


def test_builtin_local_profile_without_any_file(host: PluginHost) -> None:
    backend = tuneport.open_backend(plugins=host, environ={})
    assert isinstance(backend, GeminiBackend)
    assert backend.settings.endpoint == "embedded"
    assert dict(BUILTIN_PROFILES["local"]) == {"backend": "gemini", "endpoint": "embedded"}


def test_a_file_profile_may_shadow_the_builtin_local(host: PluginHost, tmp_path: Path) -> None:
    config = write(tmp_path / "t.toml", '[profiles.local]\nbackend = "fake"\nendpoint = "http://mine.test"\n')
    assert fake_settings(host, config=config).endpoint == "http://mine.test"


# --- which file -------------------------------------------------------------------------------


def test_config_file_discovery_order(tmp_path: Path, isolated_environment: Path) -> None:
    cwd = isolated_environment
    explicit = write(tmp_path / "explicit.toml", "")
    from_env = write(tmp_path / "env.toml", "")
    local = write(cwd / "tuneport.toml", "")
    user = write(user_config_path(), "")
    assert user.is_relative_to(tmp_path)  # platformdirs honours the isolated XDG_CONFIG_HOME

    environ = {"TUNEPORT_CONFIG": str(from_env)}
    assert find_config(explicit, environ=environ) == explicit
    assert find_config(None, environ=environ) == from_env
    assert find_config(None, environ={}) == local
    local.unlink()
    assert find_config(None, environ={}) == user
    user.unlink()
    assert find_config(None, environ={}) is None


def test_find_config_in_a_given_directory(tmp_path: Path) -> None:
    other = write(tmp_path / "elsewhere" / "tuneport.toml", "")
    assert find_config(environ={}, cwd=other.parent) == other


def test_connect_picks_up_the_file_in_the_working_directory(
    host: PluginHost, isolated_environment: Path
) -> None:
    write(isolated_environment / "tuneport.toml", FAKE_PROFILES)
    with tuneport.connect(plugins=host, environ={}) as client:
        assert client.backend.name == "fake"
        assert client.backend.settings.endpoint == "http://profile.test"


def test_connect_reads_the_user_config_dir(host: PluginHost) -> None:
    write(user_config_path(), FAKE_PROFILES)
    assert fake_settings(host, profile="other").endpoint == "http://other.test"


def test_explicit_missing_config_file(host: PluginHost, tmp_path: Path) -> None:
    missing = tmp_path / "nope.toml"
    with pytest.raises(ConfigError) as info:
        tuneport.open_backend(plugins=host, config=missing, environ={})
    assert "not found" in str(info.value)
    assert str(missing) in str(info.value)
    assert "--config" in info.value.source


def test_missing_config_file_named_by_the_environment(host: PluginHost, tmp_path: Path) -> None:
    missing = tmp_path / "nope.toml"
    with pytest.raises(ConfigError) as info:
        tuneport.open_backend(plugins=host, environ={"TUNEPORT_CONFIG": str(missing)})
    assert str(missing) in str(info.value)
    assert info.value.source == "$TUNEPORT_CONFIG"
    assert "TUNEPORT_CONFIG" in str(info.value)


# --- which backend ------------------------------------------------------------------------------


def test_tuneport_backend_overrides_the_profile_backend(host: PluginHost, tmp_path: Path) -> None:
    config = write(tmp_path / "t.toml", '[profiles.p]\nbackend = "gemini"\n')
    resolved = resolve_profile("p", config=load_config(config), environ={"TUNEPORT_BACKEND": "vertex"})
    assert (resolved.backend, resolved.backend_source) == ("vertex", "$TUNEPORT_BACKEND")
    backend = tuneport.open_backend("p", config=config, plugins=host, environ={"TUNEPORT_BACKEND": "vertex"})
    assert isinstance(backend, VertexBackend)
    # A keyword beats the variable.
    backend = tuneport.open_backend(
        "p", config=config, backend="gemini", plugins=host, environ={"TUNEPORT_BACKEND": "vertex"}
    )
    assert isinstance(backend, GeminiBackend)


def test_backend_override_does_not_inherit_a_default_profile_for_another_backend(host: PluginHost) -> None:
    # The built-in profile (gemini, embedded) must not leak "embedded" into vertex.
    backend = tuneport.open_backend(plugins=host, environ={"TUNEPORT_BACKEND": "vertex"})
    assert isinstance(backend, VertexBackend)
    assert backend.settings.endpoint is None


def test_explicit_profile_settings_do_apply_to_an_overriding_backend(
    host: PluginHost, tmp_path: Path
) -> None:
    config = write(tmp_path / "t.toml", '[profiles.g]\nbackend = "gemini"\nauth = "adc"\n')
    with pytest.raises(ConfigError) as info:
        tuneport.open_backend("g", config=config, backend="vertex", plugins=host, environ={})
    assert info.value.key == "auth"


TWO_BACKENDS = """
default_profile = "dev"

[profiles.dev]
backend = "gemini"
endpoint = "https://gemini.example.test/"
auth = "api_key"

[profiles.prod]
backend = "vertex"
project = "my-project-42"
location = "europe-west4"
staging_bucket = "my-bucket/staging/"
labels = { team = "ml", env = "prod" }
"""


def describe(**options: Any) -> tuple[str, dict[str, Any]]:
    """The same application code for every profile."""
    backend = tuneport.open_backend(**options)
    return backend.name, backend.settings.model_dump(exclude_defaults=True)


def test_a_profile_switches_the_backend(host: PluginHost, tmp_path: Path) -> None:
    config = write(tmp_path / "t.toml", TWO_BACKENDS)
    assert describe(config=config, plugins=host, environ={}) == (
        "gemini",
        {"endpoint": "https://gemini.example.test", "auth": "api_key"},
    )
    assert describe(config=config, plugins=host, environ={"TUNEPORT_PROFILE": "prod"}) == (
        "vertex",
        {
            "project": "my-project-42",
            "location": "europe-west4",
            "staging_bucket": "gs://my-bucket/staging",
            "labels": {"team": "ml", "env": "prod"},
        },
    )
    assert (
        describe(profile="dev", config=config, plugins=host, environ={"TUNEPORT_PROFILE": "prod"})[0]
        == "gemini"
    )


def test_unknown_backend_suggests_the_closest(host: PluginHost) -> None:
    with pytest.raises(BackendNotFound) as info:
        tuneport.open_backend(backend="gemni", plugins=host, environ={})
    error = info.value
    assert error.name == "gemni"
    assert error.suggestions[0] == "gemini"
    assert {"gemini", "vertex", "fake"} <= set(error.available)
    assert "did you mean 'gemini'" in str(error)
    assert error.source == "backend argument"
    assert isinstance(error, ConfigError)


def test_unknown_backend_in_a_profile_names_the_file(host: PluginHost, tmp_path: Path) -> None:
    config = write(tmp_path / "t.toml", '[profiles.p]\nbackend = "vertx"\n')
    with pytest.raises(BackendNotFound) as info:
        tuneport.open_backend("p", config=config, plugins=host, environ={})
    assert info.value.source == f"{config} [profiles.p]"
    assert f"{config} [profiles.p]" in str(info.value)
    assert info.value.key == "backend"
    assert info.value.suggestions == ("vertex",)


def test_unknown_backend_without_any_close_match(host: PluginHost) -> None:
    with pytest.raises(BackendNotFound) as info:
        tuneport.open_backend(backend="zzzzzz", plugins=host, environ={})
    assert info.value.suggestions == ()
    assert "did you mean" not in str(info.value)
    assert "installed:" in str(info.value)


# --- bad files ----------------------------------------------------------------------------------


def test_invalid_toml_names_the_file(tmp_path: Path) -> None:
    path = write(tmp_path / "broken.toml", "[profiles.p\nbackend = 'x'\n")
    with pytest.raises(ConfigError) as info:
        load_config(path)
    assert info.value.source == str(path)
    assert str(path) in str(info.value)
    assert "invalid TOML" in str(info.value)


def test_unreadable_file(tmp_path: Path) -> None:
    path = tmp_path / "latin1.toml"
    path.write_bytes(b"default_profile = '\xe9'\n")
    with pytest.raises(ConfigError, match="cannot read"):
        load_config(path)


def test_unknown_top_level_key_gets_a_suggestion(tmp_path: Path) -> None:
    path = write(tmp_path / "t.toml", '[profile.p]\nbackend = "fake"\n')
    with pytest.raises(ConfigError) as info:
        load_config(path)
    assert info.value.key == "profile"
    assert "did you mean 'profiles'" in str(info.value)
    assert str(path) in str(info.value)


@pytest.mark.parametrize(
    ("text", "key", "profile"),
    [
        ("default_profile = 3\n", "default_profile", None),
        ('profiles = "p"\n', "profiles", None),
        ("[profiles]\np = 3\n", None, "p"),
        ("[profiles.p]\nbackend = 3\n", "backend", "p"),
    ],
)
def test_badly_shaped_files(tmp_path: Path, text: str, key: str | None, profile: str | None) -> None:
    path = write(tmp_path / "t.toml", text)
    with pytest.raises(ConfigError) as info:
        load_config(path)
    assert (info.value.key, info.value.profile) == (key, profile)
    assert str(path) in str(info.value)


def test_unknown_default_profile_in_the_file(tmp_path: Path) -> None:
    path = write(tmp_path / "t.toml", 'default_profile = "prdo"\n[profiles.prod]\nbackend = "fake"\n')
    with pytest.raises(ConfigError) as info:
        load_config(path)
    assert info.value.key == "default_profile"
    assert "did you mean 'prod'" in str(info.value)


@pytest.mark.parametrize(
    ("argument", "environ", "source"),
    [("prdo", {}, "profile argument"), (None, {"TUNEPORT_PROFILE": "prdo"}, "$TUNEPORT_PROFILE")],
)
def test_unknown_profile_did_you_mean(
    tmp_path: Path, argument: str | None, environ: dict[str, str], source: str
) -> None:
    config = load_config(write(tmp_path / "t.toml", '[profiles.prod]\nbackend = "fake"\n'))
    with pytest.raises(ConfigError) as info:
        resolve_profile(argument, config=config, environ=environ)
    assert "unknown profile 'prdo'" in str(info.value)
    assert "did you mean 'prod'" in str(info.value)
    assert info.value.source == source


def test_profile_without_backend(host: PluginHost, tmp_path: Path) -> None:
    path = write(tmp_path / "t.toml", '[profiles.p]\nendpoint = "http://x.test"\n')
    with pytest.raises(ConfigError) as info:
        tuneport.open_backend("p", config=path, plugins=host, environ={})
    assert (info.value.key, info.value.source) == ("backend", f"{path} [profiles.p]")
    assert str(path) in str(info.value)
    assert "[profiles.p]" in str(info.value)
    assert "names no backend" in str(info.value)
    # The environment can supply it.
    backend = tuneport.open_backend("p", config=path, plugins=host, environ={"TUNEPORT_BACKEND": "fake"})
    assert backend.settings.endpoint == "http://x.test"


def test_unknown_setting_names_file_profile_and_key(host: PluginHost, tmp_path: Path) -> None:
    path = write(tmp_path / "t.toml", '[profiles.prod]\nbackend = "fake"\nendpont = "http://x.test"\n')
    with pytest.raises(ConfigError) as info:
        tuneport.open_backend("prod", config=path, plugins=host, environ={})
    error = info.value
    assert (error.profile, error.key) == ("prod", "endpont")
    assert str(path) in error.source
    message = str(error)
    assert str(path) in message
    assert "[profiles.prod]" in message
    assert "'endpont'" in message
    assert "did you mean 'endpoint'" in message


def test_unknown_setting_given_as_a_keyword(host: PluginHost) -> None:
    with pytest.raises(ConfigError) as info:
        tuneport.open_backend(backend="fake", plugins=host, environ={}, api_kye="k")
    assert info.value.source == "keyword argument"
    assert "did you mean 'api_key'" in str(info.value)


@pytest.mark.parametrize(
    ("layer", "expected_source"),
    [("file", "[profiles.base]"), ("environment", "TUNEPORT_TIMEOUT"), ("keyword", "keyword argument")],
)
def test_wrong_type_names_where_the_value_came_from(
    host: PluginHost, fake_config: Path, tmp_path: Path, layer: str, expected_source: str
) -> None:
    config, environ, keywords = fake_config, {}, {}
    if layer == "file":
        config = write(tmp_path / "bad.toml", FAKE_PROFILES.replace("timeout = 10.0", 'timeout = "slow"'))
    elif layer == "environment":
        environ = {"TUNEPORT_TIMEOUT": "slow"}
    else:
        keywords = {"timeout": "slow"}
    with pytest.raises(ConfigError) as info:
        tuneport.open_backend(config=config, plugins=host, environ=environ, **keywords)
    error = info.value
    message = str(error)
    assert error.key == "timeout"
    assert expected_source in message
    assert expected_source in error.source
    assert "key 'timeout'" in message
    assert "valid number" in message
    if layer == "file":
        assert str(config) in message
        assert error.profile == "base"


def test_several_bad_settings_are_all_reported(host: PluginHost) -> None:
    with pytest.raises(ConfigError) as info:
        tuneport.open_backend(backend="fake", plugins=host, environ={}, timeout=-1, auth_blocking="maybe")
    message = str(info.value)
    assert message.startswith("invalid settings:")
    assert "key 'timeout'" in message
    assert "key 'auth_blocking'" in message


def test_embedded_endpoint_starts_an_emulator_for_the_client(host: PluginHost) -> None:
    import httpx

    with tuneport.connect(backend="fake", plugins=host, environ={}, endpoint="embedded") as client:
        url = client.backend.settings.endpoint
        assert url is not None
        assert url.startswith("http://127.0.0.1:")
        assert httpx.get(f"{url}/_emulator/clock").status_code == 200
    with pytest.raises(httpx.ConnectError):
        httpx.get(f"{url}/_emulator/clock")


def test_config_file_label() -> None:
    assert ConfigFile(path=None).label == "built-in defaults"
    assert ConfigFile(path=Path("x/tuneport.toml")).label == str(Path("x/tuneport.toml"))


# --- backend settings models ---------------------------------------------------------------------


@pytest.mark.parametrize("project", ["my-project-42", "abcdef", "123456", "a" + "b" * 28 + "c"])
def test_vertex_accepts_project_ids(project: str) -> None:
    assert VertexSettings(project=project).project == project


@pytest.mark.parametrize("project", ["abc", "My-Project", "my_project", "1project", "project-", "a" * 31])
def test_vertex_refuses_malformed_project_ids(project: str) -> None:
    with pytest.raises(PydanticValidationError, match="project id"):
        VertexSettings(project=project)


@pytest.mark.parametrize("location", ["us-central1", "europe-west4", "asia-northeast1", "us", "eu", "global"])
def test_vertex_accepts_locations(location: str) -> None:
    assert VertexSettings(location=location).location == location


@pytest.mark.parametrize("location", ["US-CENTRAL1", "us_central1", "us-central", "", "us central1"])
def test_vertex_refuses_malformed_locations(location: str) -> None:
    with pytest.raises(PydanticValidationError, match="location"):
        VertexSettings(location=location)


@pytest.mark.parametrize(
    ("bucket", "normalized"),
    [
        ("my-bucket", "gs://my-bucket"),
        ("gs://my-bucket", "gs://my-bucket"),
        ("gs://my-bucket/", "gs://my-bucket"),
        ("gs://my.bucket_1/some/prefix/", "gs://my.bucket_1/some/prefix"),
    ],
)
def test_vertex_normalizes_the_staging_bucket(bucket: str, normalized: str) -> None:
    assert VertexSettings(staging_bucket=bucket).staging_bucket == normalized


@pytest.mark.parametrize("bucket", ["gs://My-Bucket", "gs://a", "gs://bad bucket", "gs://-bucket", "gs://"])
def test_vertex_refuses_malformed_buckets(bucket: str) -> None:
    with pytest.raises(PydanticValidationError, match="Cloud Storage bucket"):
        VertexSettings(staging_bucket=bucket)


def test_vertex_labels() -> None:
    assert VertexSettings(labels={"team": "ml", "cost-center": "r_and_d", "empty": ""}).labels["empty"] == ""
    for bad in (
        {"Team": "ml"},
        {"team": "ML"},
        {"": "x"},
        {"1team": "x"},
        {"team": "x" * 64},
        {"t" * 64: "x"},
    ):
        with pytest.raises(PydanticValidationError, match="label"):
            VertexSettings(labels=bad)


@pytest.mark.parametrize(
    "fields",
    [
        {"api_version": "v2"},
        {"endpoint": "ftp://x.test"},
        {"endpoint": "https://x.test/?alt=json"},
        {"projet": "my-project-42"},
        {"timeout": 0},
    ],
)
def test_vertex_refuses_other_bad_settings(fields: dict[str, Any]) -> None:
    with pytest.raises(PydanticValidationError):
        VertexSettings(**fields)


def test_vertex_endpoint_normalization() -> None:
    assert VertexSettings(endpoint="https://europe-west4-aiplatform.googleapis.com/").endpoint == (
        "https://europe-west4-aiplatform.googleapis.com"
    )
    assert VertexSettings(endpoint="embedded").endpoint == "embedded"


def test_bad_vertex_setting_in_a_profile_names_file_profile_and_key(host: PluginHost, tmp_path: Path) -> None:
    path = write(tmp_path / "t.toml", '[profiles.prod]\nbackend = "vertex"\nproject = "My_Project"\n')
    with pytest.raises(ConfigError) as info:
        tuneport.open_backend("prod", config=path, plugins=host, environ={})
    assert (info.value.profile, info.value.key) == ("prod", "project")
    assert str(path) in str(info.value)
    assert "project id" in str(info.value)


def test_gemini_settings() -> None:
    settings = GeminiSettings(api_key="AIzaSyCANARY0123456789abcdefghijk", endpoint="http://localhost:8080/")
    assert settings.endpoint == "http://localhost:8080"
    assert "AIza" not in repr(settings)
    with pytest.raises(PydanticValidationError, match="query string"):
        GeminiSettings(endpoint="https://generativelanguage.googleapis.com/?key=abc")
    with pytest.raises(PydanticValidationError):
        GeminiSettings(auth="oauth")
