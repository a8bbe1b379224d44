"""The kit's pytest plugin: opt in from a conftest with ``pytest_plugins = ["tuneport_contract.plugin"]``.

It adds ``--tuneport-live`` (off by default): with it, a harness may point
at the real service when credentials are present; behaviours that need the
service's backdoor are skipped there.
"""

from __future__ import annotations

import pytest


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("tuneport", "tuneport contract kit")
    group.addoption(
        "--tuneport-live",
        action="store_true",
        default=False,
        help="run the contract against the real service (needs credentials; slow, may cost money)",
    )


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "tuneport_live: needs --tuneport-live and real credentials")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if config.getoption("--tuneport-live"):
        return
    skip = pytest.mark.skip(reason="live run: pass --tuneport-live (and provide credentials)")
    for item in items:
        if "tuneport_live" in item.keywords:
            item.add_marker(skip)
