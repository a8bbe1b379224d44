"""tuneport-contract: the contract test kit for tuneport backends.

In a backend's test suite::

    # conftest.py
    pytest_plugins = ["tuneport_contract.plugin"]

    # test_contract.py
    import pytest
    from tuneport_contract import BackendContract, Harness

    class TestMyBackend(BackendContract):
        @pytest.fixture
        def contract_harness(self, my_service) -> Harness:
            return Harness(connect={"backend": "mine", "endpoint": my_service.url}, spec={...},
                           backdoor=my_service.backdoor)

The behaviours are numbered in ``docs/contract.md``; each test cites its number.
The kit's version is pinned to tuneport's: the contract is the port's.
"""

from tuneport_contract.harness import (
    AnswerLosingTransport,
    AsyncAnswerLosingTransport,
    AsyncRunner,
    Backdoor,
    Harness,
    SyncRunner,
)
from tuneport_contract.suite import UNKNOWN_ID, BackendContract

__all__ = [
    "UNKNOWN_ID",
    "AnswerLosingTransport",
    "AsyncAnswerLosingTransport",
    "AsyncRunner",
    "Backdoor",
    "BackendContract",
    "Harness",
    "SyncRunner",
]
__version__ = "0.1.0"
