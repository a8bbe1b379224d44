"""The entry point of the acme backend (group ``tuneport``, name ``acme``)."""

from __future__ import annotations

from collections.abc import Callable
from importlib import resources
from typing import Any

from tuneport.catalog import register_toml
from tuneport.hookspecs import hookimpl
from tuneport_acme.backend import AcmeBackend


@hookimpl
def register_backends(register: Callable[[type[Any]], None]) -> None:
    register(AcmeBackend)


@hookimpl
def register_catalog(register: Callable[[Any], None], set_policy: Callable[[str, str, str], None]) -> None:
    text = resources.files("tuneport_acme").joinpath("catalog.toml").read_text(encoding="utf-8")
    register_toml(text, source="tuneport_acme/catalog.toml", register=register, set_policy=set_policy)
