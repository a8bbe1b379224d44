"""Mistakes that teach (#18): an environment value names its variable and the value probably meant."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

import tuneport
from tuneport.cli import commands  # noqa: F401  (registers the verbs)
from tuneport.cli.app import State, cli
from tuneport.errors import ConfigError

PROJECT = {"TUNEPORT_PROJECT": "my-project-1"}


@pytest.mark.parametrize(
    ("given", "meant"),
    [("us-cental1", "us-central1"), ("europe-wset4", "europe-west4"), ("us central1", "us-central1")],
)
def test_misspelt_location_names_variable_and_location_meant(given: str, meant: str) -> None:
    with pytest.raises(ConfigError) as caught:
        tuneport.connect(backend="vertex", environ={**PROJECT, "TUNEPORT_LOCATION": given})
    assert str(caught.value) == (
        f"environment variable TUNEPORT_LOCATION: key 'location': "
        f"{given!r} is not a Vertex location; did you mean {meant!r}?"
    )
    assert caught.value.key == "location"


@pytest.mark.parametrize("location", ["us-central1", "us-east6", "global", "eu", "xx-yy3"])
def test_new_or_known_locations_pass(location: str) -> None:
    # A region of a known family (us-east6) or of no known family close to none passes: Google answers for it.
    with tuneport.connect(backend="vertex", environ={**PROJECT, "TUNEPORT_LOCATION": location}) as client:
        assert client.backend.settings.location == location


def test_malformed_location_without_near_match_gives_examples() -> None:
    with pytest.raises(ConfigError, match=r"'zz' is not a Vertex location \(e\.g\. 'us-central1'"):
        tuneport.connect(backend="vertex", environ={**PROJECT, "TUNEPORT_LOCATION": "zz"})


def test_misspelt_choice_names_the_choice_meant() -> None:
    with pytest.raises(ConfigError) as caught:
        tuneport.connect(backend="vertex", environ={**PROJECT, "TUNEPORT_API_VERSION": "v1beta"})
    assert str(caught.value) == (
        "environment variable TUNEPORT_API_VERSION: key 'api_version': "
        "'v1beta' is not one of 'auto', 'v1', 'v1beta1'; did you mean 'v1beta1'?"
    )


def test_cli_reports_the_variable() -> None:
    state = State(
        connect_options={"backend": "vertex", "environ": {**PROJECT, "TUNEPORT_LOCATION": "us-cental1"}}
    )
    result = CliRunner().invoke(cli, ["list"], obj=state, prog_name="tuneport")
    assert result.exit_code != 0
    assert "TUNEPORT_LOCATION" in result.output
    assert "did you mean 'us-central1'?" in result.output
