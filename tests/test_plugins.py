"""The plugin host: entry-point discovery, lazy loading, allow/block lists, broken plugins."""

from __future__ import annotations

import importlib
import json
import os
import subprocess
import sys
import textwrap
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, ClassVar

import pluggy
import pytest
from pydantic import BaseModel, ConfigDict, SecretStr

import tuneport
from tuneport.errors import BackendNotFound, InsecureSettingWarning, PluginError
from tuneport.hookspecs import hookimpl
from tuneport.plugins import PluginHost
from tuneport.protocol import BackendSettings, BaseBackend, Maturity

TEST_PLUGIN = '''
"""A tiny tuneport plugin installed only for the tests."""
from tuneport.hookspecs import hookimpl
from tuneport.protocol import BackendSettings, BaseBackend


class FlavourSettings(BackendSettings):
    flavour: str = "vanilla"


class FlavourBackend(BaseBackend):
    name = "testplugin"
    settings_model = FlavourSettings


@hookimpl
def register_backends(register):
    register(FlavourBackend)
'''

BROKEN_PLUGIN = 'raise ImportError("this plugin needs libfoo, which is not installed")\n'

IMPOSTOR_PLUGIN = """
from tuneport.hookspecs import hookimpl
from tuneport.protocol import BaseBackend


class Impostor(BaseBackend):
    name = "gemini"


@hookimpl
def register_backends(register):
    register(Impostor)
"""

SLOPPY_PLUGIN = """
from pydantic import ConfigDict
from tuneport.hookspecs import hookimpl
from tuneport.protocol import BackendSettings, BaseBackend


class LaxSettings(BackendSettings):
    model_config = ConfigDict(extra="ignore")


class Lax(BaseBackend):
    name = "sloppy"
    settings_model = LaxSettings


@hookimpl
def register_backends(register):
    register(Lax)
"""

REAL_DISTRIBUTIONS = {"gemini": ("tuneport-gemini", "0.1.0"), "vertex": ("tuneport-vertex", "0.1.0")}


class Distributions:
    """Writes installed-looking distributions (module + dist-info) into a sys.path entry."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.modules: list[str] = []

    def add(self, dist: str, module: str, entry_point: str, source: str, version: str = "0.1") -> None:
        package = self.root / module
        package.mkdir()
        (package / "__init__.py").write_text(textwrap.dedent(source), encoding="utf-8")
        info = self.root / f"{dist.replace('-', '_')}-{version}.dist-info"
        info.mkdir()
        (info / "METADATA").write_text(
            f"Metadata-Version: 2.1\nName: {dist}\nVersion: {version}\n", encoding="utf-8"
        )
        (info / "entry_points.txt").write_text(f"[tuneport]\n{entry_point} = {module}\n", encoding="utf-8")
        self.modules.append(module)
        importlib.invalidate_caches()


@pytest.fixture
def site(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Distributions]:
    """A fresh site directory on sys.path holding the test plugin."""
    root = tmp_path / "site"
    root.mkdir()
    monkeypatch.syspath_prepend(str(root))
    distributions = Distributions(root)
    distributions.add("tuneport-testplugin", "tp_testplugin", "testplugin", TEST_PLUGIN)
    yield distributions
    for module in distributions.modules:
        sys.modules.pop(module, None)
    importlib.invalidate_caches()


@pytest.fixture
def forget_modules(monkeypatch: pytest.MonkeyPatch) -> Callable[[str], None]:
    """Remove a package and its submodules from sys.modules for this test (restored after)."""

    def forget(package: str) -> None:
        for name in [m for m in sys.modules if m == package or m.startswith(package + ".")]:
            monkeypatch.delitem(sys.modules, name)

    return forget


def backend_names(host: PluginHost) -> set[str]:
    return set(host.backends())


# --- discovery through real entry points -------------------------------------------------------


def test_entry_point_plugin_is_discovered(site: Distributions) -> None:
    host = PluginHost(environ={})
    backends = host.backends()
    entry = backends["testplugin"]
    assert (entry.distribution, entry.version, entry.plugin) == ("tuneport-testplugin", "0.1", "testplugin")
    assert entry.backend_class.__module__ == "tp_testplugin"
    for name, (dist, version) in REAL_DISTRIBUTIONS.items():
        assert (backends[name].distribution, backends[name].version) == (dist, version)
    assert host.failures() == []


def test_entry_point_backend_is_usable(site: Distributions) -> None:
    backend = tuneport.open_backend(
        backend="testplugin", plugins=PluginHost(environ={}), environ={}, flavour="mint"
    )
    assert backend.name == "testplugin"
    assert backend.settings.flavour == "mint"


def test_without_the_site_directory_the_plugin_is_not_there() -> None:
    assert "testplugin" not in PluginHost(environ={}).backends()


def test_resolving_one_backend_loads_only_its_plugin(
    site: Distributions, forget_modules: Callable[[str], None]
) -> None:
    forget_modules("tuneport_vertex")
    forget_modules("tp_testplugin")
    host = PluginHost(environ={})
    entry = host.backend("gemini")
    assert entry.distribution == "tuneport-gemini"
    assert "tp_testplugin" not in sys.modules
    assert "tuneport_vertex" not in sys.modules
    assert host.pm.has_plugin("gemini")
    assert not host.pm.has_plugin("vertex")
    # Names are still known without loading their plugins.
    assert {"gemini", "vertex", "testplugin"} <= set(host.available_names())
    assert "tuneport_vertex" not in sys.modules

    host.backend("testplugin")
    assert "tp_testplugin" in sys.modules
    assert "tuneport_vertex" not in sys.modules


def test_connect_loads_only_the_configured_backend(
    site: Distributions, forget_modules: Callable[[str], None]
) -> None:
    forget_modules("tuneport_vertex")
    forget_modules("tp_testplugin")
    with tuneport.connect(plugins=PluginHost(environ={}), environ={}) as client:
        assert client.backend.name == "gemini"
    assert "tuneport_vertex" not in sys.modules
    assert "tp_testplugin" not in sys.modules


def test_plugins_are_loaded_once(site: Distributions) -> None:
    host = PluginHost(environ={})
    first = host.backend("testplugin")
    host.backends()
    host.backends()
    assert host.backend("testplugin") is first
    # One plugin object per entry point, however often the backends are listed.
    from importlib.metadata import entry_points

    assert len(host.pm.get_plugins()) == len({ep.name for ep in entry_points(group="tuneport")})


def test_injected_entry_points(site: Distributions) -> None:
    from importlib.metadata import entry_points

    only_test = [ep for ep in entry_points(group="tuneport") if ep.name == "testplugin"]
    host = PluginHost(entry_points=lambda: only_test, environ={})
    assert backend_names(host) == {"testplugin"}


# --- allow and block lists ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("allow", "expected"),
    [
        ("testplugin", {"testplugin"}),
        ("tuneport-testplugin", {"testplugin"}),
        ("tuneport-gemini, testplugin", {"gemini", "testplugin"}),
        (" vertex ,, ", {"vertex"}),
        # Distribution names compare as PEP 503 normalized names.
        ("tuneport_testplugin", {"testplugin"}),
        ("Tuneport.TestPlugin", {"testplugin"}),
        ("TESTPLUGIN", {"testplugin"}),
        ("", set()),
        ("nothing-of-that-name", set()),
    ],
)
def test_allowlist(site: Distributions, allow: str, expected: set[str]) -> None:
    host = PluginHost(environ={"TUNEPORT_LOAD_PLUGINS": allow})
    assert backend_names(host) == expected
    assert set(host.available_names()) == expected


def test_empty_allowlist_loads_nothing(site: Distributions, forget_modules: Callable[[str], None]) -> None:
    forget_modules("tp_testplugin")
    host = PluginHost(environ={"TUNEPORT_LOAD_PLUGINS": ""})
    with pytest.raises(BackendNotFound) as info:
        host.backend("gemini")
    assert "no backend plugins are installed or allowed" in str(info.value)
    assert host.pm.get_plugins() == set()
    assert "tp_testplugin" not in sys.modules


@pytest.mark.parametrize(
    "block", ["testplugin", "tuneport-testplugin", "tuneport_testplugin", "gemini, testplugin"]
)
def test_blocklist(site: Distributions, forget_modules: Callable[[str], None], block: str) -> None:
    forget_modules("tp_testplugin")
    host = PluginHost(environ={"TUNEPORT_BLOCK_PLUGINS": block})
    assert "testplugin" not in host.backends()
    assert "vertex" in host.backends()
    assert "tp_testplugin" not in sys.modules
    with pytest.raises(BackendNotFound):
        host.backend("testplugin")


def test_block_wins_over_allow(site: Distributions) -> None:
    host = PluginHost(
        environ={
            "TUNEPORT_LOAD_PLUGINS": "testplugin,vertex",
            "TUNEPORT_BLOCK_PLUGINS": "tuneport-testplugin",
        }
    )
    assert backend_names(host) == {"vertex"}


def test_host_reads_os_environ_by_default(site: Distributions, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TUNEPORT_LOAD_PLUGINS", "testplugin")
    assert backend_names(PluginHost()) == {"testplugin"}


# --- broken and misbehaving plugins ------------------------------------------------------------


def test_broken_plugin_is_recorded_and_does_not_break_the_others(site: Distributions) -> None:
    site.add("tuneport-broken", "tp_broken", "broken", BROKEN_PLUGIN, version="2.0")
    host = PluginHost(environ={})
    # Other installed plugins (the example backend, say) may be there too.
    assert {"gemini", "vertex", "testplugin"} <= backend_names(host)
    assert "broken" not in backend_names(host)
    (failure,) = host.failures()
    assert (failure.plugin, failure.distribution, failure.version) == ("broken", "tuneport-broken", "2.0")
    error = failure.error
    assert isinstance(error, PluginError)
    assert error.distribution == "tuneport-broken"
    message = str(error)
    assert "tuneport-broken" in message
    assert "ImportError" in message
    assert "needs libfoo" in message
    assert host.backend("gemini").name == "gemini"
    with pytest.raises(PluginError) as info:
        host.backend("broken")
    assert info.value is error
    assert "broken" not in host.available_names()


def test_asking_first_for_the_broken_plugin(site: Distributions) -> None:
    site.add("tuneport-broken", "tp_broken", "broken", BROKEN_PLUGIN)
    host = PluginHost(environ={})
    with pytest.raises(PluginError) as info:
        host.backend("broken")
    assert info.value.distribution == "tuneport-broken"
    with pytest.raises(PluginError):
        tuneport.open_backend(backend="broken", plugins=PluginHost(environ={}), environ={})


def test_blocking_the_broken_plugin(site: Distributions) -> None:
    site.add("tuneport-broken", "tp_broken", "broken", BROKEN_PLUGIN)
    host = PluginHost(environ={"TUNEPORT_BLOCK_PLUGINS": "tuneport-broken"})
    assert {"gemini", "vertex", "testplugin"} <= backend_names(host)
    assert "broken" not in backend_names(host)
    assert host.failures() == []


def test_name_collision_names_the_other_distribution(site: Distributions) -> None:
    # Entry points load in name order: the impostor comes after the real gemini.
    site.add("tuneport-impostor", "tp_impostor", "zz-impostor", IMPOSTOR_PLUGIN)
    host = PluginHost(environ={})
    backends = host.backends()
    assert backends["gemini"].distribution == "tuneport-gemini"
    (failure,) = host.failures()
    assert failure.distribution == "tuneport-impostor"
    assert failure.error.distribution == "tuneport-impostor"
    assert "already registered by distribution 'tuneport-gemini'" in str(failure.error)
    assert not host.pm.has_plugin("zz-impostor")


def test_collision_resolution_does_not_depend_on_load_order(site: Distributions) -> None:
    site.add("tuneport-impostor", "tp_impostor", "aa-impostor", IMPOSTOR_PLUGIN)
    lazily = PluginHost(environ={}).backend("gemini")
    listed = PluginHost(environ={}).backends()["gemini"]
    assert lazily.distribution == "tuneport-gemini"
    assert listed.distribution == lazily.distribution


def test_settings_model_that_does_not_forbid_extras_is_refused_at_load(site: Distributions) -> None:
    site.add("tuneport-sloppy", "tp_sloppy", "sloppy", SLOPPY_PLUGIN)
    host = PluginHost(environ={})
    assert "sloppy" not in host.backends()
    with pytest.raises(PluginError, match="extra='forbid'"):
        host.backend("sloppy")


class _Plugin:
    """A plugin object registering the given classes."""

    def __init__(self, *classes: type[Any]) -> None:
        self.classes = classes

    @hookimpl
    def register_backends(self, register: Callable[[type[Any]], None]) -> None:
        for cls in self.classes:
            register(cls)


class _Settings(BackendSettings):
    pass


class _Good(BaseBackend):
    name: ClassVar[str] = "good"
    settings_model: ClassVar[type[BackendSettings]] = _Settings


class _Nameless(BaseBackend):
    settings_model: ClassVar[type[BackendSettings]] = _Settings


class _NoSettings:
    name = "no-settings"
    maturity = Maturity.STABLE


class _PlainModelSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")


class _NotBackendSettings:
    name = "plain-model"
    settings_model = _PlainModelSettings
    maturity = Maturity.STABLE


class _AllowSettings(BackendSettings):
    model_config = ConfigDict(extra="allow")


class _Lax:
    name = "lax"
    settings_model = _AllowSettings
    maturity = Maturity.STABLE


class _NoMaturity:
    name = "no-maturity"
    settings_model = _Settings


class _StringMaturity:
    name = "string-maturity"
    settings_model = _Settings
    maturity = "stable"


@pytest.mark.parametrize(
    ("backend_class", "message"),
    [
        (_Nameless, "has no 'name'"),
        (_NoSettings, "must declare settings_model"),
        (_NotBackendSettings, "subclass of BackendSettings"),
        (_Lax, "extra='forbid'"),
        (_NoMaturity, "must declare maturity"),
        (_StringMaturity, "must declare maturity"),
    ],
)
def test_invalid_backend_classes_are_refused(backend_class: type[Any], message: str) -> None:
    host = PluginHost(environ={"TUNEPORT_LOAD_PLUGINS": ""})
    plugin = _Plugin(_Good, backend_class)
    with pytest.raises(PluginError, match=message) as info:
        host.register_plugin(plugin, name="bad", distribution="tuneport-bad")
    assert info.value.distribution == "tuneport-bad"
    assert not host.pm.has_plugin("bad")
    # Nothing of a refused plugin is kept, not even its valid backends.
    assert host.backends() == {}


def test_in_process_registration(host: PluginHost) -> None:
    host.register_plugin(_Plugin(_Good), name="good-plugin")
    entry = host.backend("good")
    assert (entry.backend_class, entry.plugin, entry.distribution) == (_Good, "good-plugin", "(in-process)")


def test_in_process_collision_names_the_other_distribution() -> None:
    class _Other(_Good):
        pass

    host = PluginHost(environ={"TUNEPORT_LOAD_PLUGINS": ""})
    host.register_plugin(_Plugin(_Good), name="first", distribution="dist-a")
    with pytest.raises(PluginError) as info:
        host.register_plugin(_Plugin(_Other), name="second", distribution="dist-b")
    assert "already registered by distribution 'dist-a'" in str(info.value)
    assert info.value.distribution == "dist-b"
    assert host.backend("good").backend_class is _Good


def test_registering_the_same_plugin_name_twice() -> None:
    host = PluginHost(environ={"TUNEPORT_LOAD_PLUGINS": ""})
    host.register_plugin(_Plugin(_Good), name="dup")
    with pytest.raises(PluginError, match="could not register plugin 'dup'"):
        host.register_plugin(_Plugin(), name="dup")


def test_hook_with_wrong_arguments_is_refused() -> None:
    class _WrongArguments:
        @hookimpl
        def register_backends(self, add: Any) -> None:
            add(_Good)

    with pytest.raises(PluginError, match="invalid hook implementation"):
        PluginHost(environ={"TUNEPORT_LOAD_PLUGINS": ""}).register_plugin(_WrongArguments(), name="wrong")


def test_hook_that_raises_is_a_plugin_error() -> None:
    class _Exploding:
        @hookimpl
        def register_backends(self, register: Any) -> None:
            raise RuntimeError("kaboom")

    host = PluginHost(environ={"TUNEPORT_LOAD_PLUGINS": ""})
    with pytest.raises(PluginError, match="RuntimeError: kaboom"):
        host.register_plugin(_Exploding(), name="exploding", distribution="tuneport-exploding")
    assert not host.pm.has_plugin("exploding")


def test_check_pending_after_loading_every_plugin(site: Distributions, host: PluginHost) -> None:
    host.load_all()
    assert {"gemini", "vertex", "testplugin", "fake"} <= {host.pm.get_name(p) for p in host.pm.get_plugins()}
    host.pm.check_pending()


def test_check_pending_catches_a_misspelled_hook() -> None:
    class _Misspelled:
        @hookimpl
        def register_backend(self, register: Any) -> None:  # missing "s"
            pass

    host = PluginHost(environ={"TUNEPORT_LOAD_PLUGINS": ""})
    host.register_plugin(_Misspelled(), name="misspelled")
    with pytest.raises(pluggy.PluginValidationError):
        host.pm.check_pending()


# --- the installed package, in a fresh interpreter ---------------------------------------------------


def test_plugin_is_visible_to_the_default_host_of_a_fresh_interpreter(
    site: Distributions, tmp_path: Path
) -> None:
    code = textwrap.dedent(
        """
        import json, sys
        import tuneport
        from tuneport.plugins import default_host

        host = default_host()
        backends = {name: [e.distribution, e.version] for name, e in host.backends().items()}
        backend = tuneport.open_backend(backend="testplugin", flavour="mint")
        print(json.dumps({"backends": backends, "flavour": backend.settings.flavour,
                          "module": type(backend).__module__}))
        """
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("TUNEPORT_")}
    env["PYTHONPATH"] = str(site.root)
    result = subprocess.run(
        [sys.executable, "-c", code],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["backends"]["testplugin"] == ["tuneport-testplugin", "0.1"]
    assert report["backends"]["gemini"] == ["tuneport-gemini", "0.1.0"]
    assert report["flavour"] == "mint"
    assert report["module"] == "tp_testplugin"


class _PlainSecretSettings(BackendSettings):
    api_key: str | None = None
    refresh_token: str = ""
    region: str = "eu"  # not a secret: no warning for it


class _MaskedSecretSettings(BackendSettings):
    api_key: SecretStr | None = None


def test_a_secret_setting_declared_as_plain_text_is_warned_about() -> None:
    class _Plain(_Good):
        name: ClassVar[str] = "plain-secrets"
        settings_model: ClassVar[type[BackendSettings]] = _PlainSecretSettings

    host = PluginHost(environ={"TUNEPORT_LOAD_PLUGINS": ""})
    with pytest.warns(InsecureSettingWarning) as caught:
        host.register_plugin(_Plugin(_Plain), name="plain")
    assert sorted(w.message.setting for w in caught.list) == ["api_key", "refresh_token"]  # type: ignore[union-attr]
    assert all("SecretStr" in str(w.message) for w in caught.list)
    assert host.backend("plain-secrets").backend_class is _Plain  # still usable


def test_secrets_declared_as_secretstr_and_the_shipped_backends_give_no_warning(
    recwarn: pytest.WarningsRecorder,
) -> None:
    class _Masked(_Good):
        name: ClassVar[str] = "masked-secrets"
        settings_model: ClassVar[type[BackendSettings]] = _MaskedSecretSettings

    host = PluginHost(environ={"TUNEPORT_LOAD_PLUGINS": ""})
    host.register_plugin(_Plugin(_Masked), name="masked")
    PluginHost(environ={}).backends()  # gemini, vertex, the example plugin
    assert [w for w in recwarn.list if issubclass(w.category, InsecureSettingWarning)] == []
