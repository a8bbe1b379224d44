"""tuneport: one interface for tuning Gemini models on Google's services.

``import tuneport`` is cheap: the names below are loaded on first access
(PEP 562), so the HTTP stack, pydantic models, the CLI and plotting are only
imported when used.

    >>> import tuneport
    >>> client = tuneport.connect(profile="local")          # doctest: +SKIP
    >>> job = client.create(base_model=..., training_data="train.jsonl")  # doctest: +SKIP
"""

from __future__ import annotations

import importlib

from tuneport._version import __version__

# Not `from typing import TYPE_CHECKING`: importing typing alone would double
# the cost of `import tuneport` (type checkers understand this spelling).
TYPE_CHECKING = False

if TYPE_CHECKING:
    from tuneport._connect import connect, connect_async, open_backend, validate
    from tuneport.client import AsyncTuningClient, TuningClient
    from tuneport.errors import (
        AlreadyExistsError,
        APIConnectionError,
        APIError,
        APIResponseError,
        APIStatusError,
        APITimeoutError,
        AuthenticationError,
        BackendError,
        BackendNotFound,
        BadRequestError,
        ConfigError,
        DatasetError,
        EmulatorStateInUse,
        FilterError,
        InsecureConfigWarning,
        InsecureSettingWarning,
        InternalServerError,
        JobFailed,
        JobNotReady,
        NotFoundError,
        PermissionDeniedError,
        PluginError,
        Problem,
        RateLimitError,
        SpecError,
        TuneportError,
        UnsupportedCapability,
        UnsupportedParameter,
        ValidationError,
        WaitTimeout,
    )
    from tuneport.models import (
        Checkpoint,
        EvaluationRun,
        EvaluationSpec,
        Example,
        GenerateRequest,
        Generation,
        Hyperparameters,
        JobQuery,
        JobSpec,
        JobState,
        MetricPoint,
        Metrics,
        Page,
        PreferenceExample,
        PromptExample,
        TunedModelRef,
        TuningJob,
        TuningMethod,
    )
    from tuneport.retry import RetryPolicy
    from tuneport.waiting import PollPolicy

# Public name -> module that defines it (imported on first access).
_LAZY: dict[str, str] = {
    "connect": "tuneport._connect",
    "connect_async": "tuneport._connect",
    "open_backend": "tuneport._connect",
    "validate": "tuneport._connect",
    "AsyncTuningClient": "tuneport.client",
    "TuningClient": "tuneport.client",
    "RetryPolicy": "tuneport.retry",
    "PollPolicy": "tuneport.waiting",
    "Example": "tuneport.models",
    "GenerateRequest": "tuneport.models",
    "Generation": "tuneport.models",
    "Hyperparameters": "tuneport.models",
    "JobQuery": "tuneport.models",
    "JobSpec": "tuneport.models",
    "JobState": "tuneport.models",
    "MetricPoint": "tuneport.models",
    "Metrics": "tuneport.models",
    "Page": "tuneport.models",
    "Checkpoint": "tuneport.models",
    "EvaluationRun": "tuneport.models",
    "EvaluationSpec": "tuneport.models",
    "PreferenceExample": "tuneport.models",
    "PromptExample": "tuneport.models",
    "TunedModelRef": "tuneport.models",
    "TuningMethod": "tuneport.models",
    "TuningJob": "tuneport.models",
    "APIConnectionError": "tuneport.errors",
    "APIError": "tuneport.errors",
    "APIStatusError": "tuneport.errors",
    "APIResponseError": "tuneport.errors",
    "APITimeoutError": "tuneport.errors",
    "BackendError": "tuneport.errors",
    "BackendNotFound": "tuneport.errors",
    "ConfigError": "tuneport.errors",
    "JobFailed": "tuneport.errors",
    "JobNotReady": "tuneport.errors",
    "NotFoundError": "tuneport.errors",
    "PluginError": "tuneport.errors",
    "SpecError": "tuneport.errors",
    "TuneportError": "tuneport.errors",
    "UnsupportedCapability": "tuneport.errors",
    "UnsupportedParameter": "tuneport.errors",
    "ValidationError": "tuneport.errors",
    "WaitTimeout": "tuneport.errors",
    "RateLimitError": "tuneport.errors",
    "Problem": "tuneport.errors",
    "PermissionDeniedError": "tuneport.errors",
    "InternalServerError": "tuneport.errors",
    "DatasetError": "tuneport.errors",
    "FilterError": "tuneport.errors",
    "EmulatorStateInUse": "tuneport.errors",
    "InsecureConfigWarning": "tuneport.errors",
    "InsecureSettingWarning": "tuneport.errors",
    "BadRequestError": "tuneport.errors",
    "AuthenticationError": "tuneport.errors",
    "AlreadyExistsError": "tuneport.errors",
}

__all__ = [
    "APIConnectionError",
    "APIError",
    "APIResponseError",
    "APIStatusError",
    "APITimeoutError",
    "AlreadyExistsError",
    "AsyncTuningClient",
    "AuthenticationError",
    "BackendError",
    "BackendNotFound",
    "BadRequestError",
    "Checkpoint",
    "ConfigError",
    "DatasetError",
    "EmulatorStateInUse",
    "EvaluationRun",
    "EvaluationSpec",
    "Example",
    "FilterError",
    "GenerateRequest",
    "Generation",
    "Hyperparameters",
    "InsecureConfigWarning",
    "InsecureSettingWarning",
    "InternalServerError",
    "JobFailed",
    "JobNotReady",
    "JobQuery",
    "JobSpec",
    "JobState",
    "MetricPoint",
    "Metrics",
    "NotFoundError",
    "Page",
    "PermissionDeniedError",
    "PluginError",
    "PollPolicy",
    "PreferenceExample",
    "Problem",
    "PromptExample",
    "RateLimitError",
    "RetryPolicy",
    "SpecError",
    "TunedModelRef",
    "TuneportError",
    "TuningClient",
    "TuningJob",
    "TuningMethod",
    "UnsupportedCapability",
    "UnsupportedParameter",
    "ValidationError",
    "WaitTimeout",
    "connect",
    "connect_async",
    "open_backend",
    "validate",
    "__version__",
]


def __getattr__(name: str) -> object:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'tuneport' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)
