"""Settings and registration of the vertex backend."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from tuneport.models import TuningMethod
from tuneport.plugins import PluginHost
from tuneport.protocol import Maturity
from tuneport_vertex import VertexBackend, VertexSettings


def test_registered_through_the_entry_point() -> None:
    host = PluginHost(environ={"TUNEPORT_LOAD_PLUGINS": "tuneport-vertex"})
    entry = host.backend("vertex")
    assert entry.backend_class is VertexBackend
    assert entry.distribution == "tuneport-vertex"
    assert VertexBackend.maturity is Maturity.STABLE


@pytest.mark.parametrize("location", ["us-central1", "europe-west4", "us", "eu", "global", "asia-northeast1"])
def test_locations(location: str) -> None:
    assert VertexSettings(location=location).location == location


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("project", "X"),
        ("project", "has_underscore"),
        ("project", "a" * 31),
        ("location", "US-Central1"),
        ("location", "us central1"),
        ("api_version", "v2"),
        ("staging_bucket", "gs://"),
        ("staging_bucket", "Bad Bucket"),
        ("labels", {"Key": "v"}),
        ("labels", {"k": "UPPER"}),
        ("labels", {"k": "x" * 64}),
        ("endpoint", "ftp://x"),
        ("endpoint", "https://x.test/?key=1"),
        ("region", "us-central1"),
    ],
)
def test_bad_values_are_refused(field: str, value: object) -> None:
    with pytest.raises(ValidationError) as info:
        VertexSettings.model_validate({field: value})
    assert info.value.errors()[0]["loc"][0] == field


def test_project_ids_and_numbers() -> None:
    assert VertexSettings(project="my-project-123").project == "my-project-123"
    assert VertexSettings(project="123456789012").project == "123456789012"


def test_staging_bucket_is_normalized() -> None:
    assert VertexSettings(staging_bucket="my-bucket").staging_bucket == "gs://my-bucket"
    assert VertexSettings(staging_bucket="gs://my-bucket/prefix/").staging_bucket == "gs://my-bucket/prefix"


def test_declared_capabilities_are_data() -> None:
    caps = VertexBackend.declared_capabilities
    common = {"epoch_count", "learning_rate_multiplier", "adapter_size"}
    assert caps.methods == set(TuningMethod)
    assert caps.hyperparameters_of("supervised") == common | {"batch_size", "learning_rate"}
    assert caps.hyperparameters_of("preference") == common | {"beta"}
    assert caps.hyperparameters_of("distillation") == common | {"batch_size", "learning_rate"}
    assert caps.spec_fields == {
        "tuning_mode",
        "output_uri",
        "custom_base_model",
        "encryption_key",
        "service_account",
    }
    assert caps.continuous_tuning
    assert caps.checkpoints
    assert caps.default_checkpoint
    assert caps.evaluation
    assert caps.validation_data
    assert "uri" in caps.data_sources


def test_the_api_version_is_chosen_per_request_by_default() -> None:
    assert VertexSettings().api_version == "auto"
    for forced in ("v1", "v1beta1"):
        assert VertexSettings(api_version=forced).api_version == forced
