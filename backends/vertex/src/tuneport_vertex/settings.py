"""Settings of the vertex backend (validated from a profile, env and keywords)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Literal

from pydantic import Field, field_validator

from tuneport._endpoint import check_base_url
from tuneport._file_permissions import not_a_regular_file
from tuneport._suggest import close_matches, did_you_mean
from tuneport.protocol import BackendSettings

# Google Cloud project ids: 6-30 chars, lowercase letters, digits, hyphens;
# a project number is accepted too.  Every pattern is matched whole (fullmatch):
# ``$`` would let a trailing newline through into URLs.
_PROJECT = re.compile(r"(?:[a-z][a-z0-9-]{4,28}[a-z0-9]|\d{6,20})")
#: A region (``us-central1``), a multi-region (``us``, ``eu``) or ``global`` (see :mod:`.routing`).
_LOCATION = re.compile(r"global|us|eu|[a-z]+-[a-z]+\d+")
#: Google Cloud locations, for the "did you mean" of a misspelt one: the tuning regions of the
#: catalog's Gemini 2.5 entry and Google Cloud's other region families.  A region of a family
#: listed here is accepted even when unlisted (a new ``us-east6``); only a region of an unknown
#: family that is close to a listed one (``us-cental1``) is refused, with the one probably meant.
_KNOWN_LOCATIONS = (
    *("global", "us", "eu"),
    *("us-central1", "us-east1", "us-east4", "us-east5", "us-south1", "us-west1", "us-west2", "us-west3"),
    *("us-west4", "northamerica-northeast1", "northamerica-northeast2", "northamerica-south1"),
    *("southamerica-east1", "southamerica-west1", "europe-central2", "europe-north1", "europe-north2"),
    *("europe-southwest1", "europe-west1", "europe-west2", "europe-west3", "europe-west4", "europe-west6"),
    *("europe-west8", "europe-west9", "europe-west10", "europe-west12", "asia-east1", "asia-east2"),
    *("asia-northeast1", "asia-northeast2", "asia-northeast3", "asia-south1", "asia-south2"),
    *("asia-southeast1", "asia-southeast2", "australia-southeast1", "australia-southeast2"),
    *("me-central1", "me-central2", "me-west1", "africa-south1"),
)
_KNOWN_FAMILIES = frozenset(location.rstrip("0123456789") for location in _KNOWN_LOCATIONS)
_BUCKET = re.compile(r"[a-z0-9][a-z0-9._-]{1,220}[a-z0-9](?:/[^\s]*)?")
_LABEL = re.compile(r"[a-z0-9_-]{0,63}")


class VertexSettings(BackendSettings):
    """Where Vertex AI tuning jobs run and how requests are authenticated.

    ``location`` is a region (``us-central1``), a multi-region (``us``,
    ``eu``) or ``global`` (open models).  ``api_version = "auto"`` (the
    default) picks the version per request: a create goes to ``v1`` unless
    its body needs a ``v1beta1``-only field (distillation, open models,
    ``tuningMode``…), and jobs are read in ``v1beta1``, which reports the
    detail state and step progress.  ``"v1"`` forces ``v1`` (a job needing
    ``v1beta1`` is refused, naming the field); ``"v1beta1"`` forces ``v1beta1``.  Local
    datasets are staged to ``staging_bucket`` (``gs://bucket[/prefix]``).
    Credentials come from Application Default Credentials unless
    ``credentials_file`` names a service-account key file.

    Each request goes to the host of the location in the name of the
    resource it addresses (:mod:`tuneport_vertex.routing`).  ``endpoints``
    maps a location to a base URL of your own (a private or Private Service
    Connect endpoint) and wins for that location; ``endpoint`` pins every
    other call to one URL.
    """

    project: str | None = None
    location: str = "us-central1"
    api_version: Literal["auto", "v1", "v1beta1"] = "auto"
    staging_bucket: str | None = None
    credentials_file: Path | None = None
    labels: dict[str, str] = Field(default_factory=dict)
    #: Base URLs by location (``{"us" = "https://…"}``), used instead of Google's host there.
    endpoints: dict[str, str] = Field(default_factory=dict)

    @field_validator("project")
    @classmethod
    def _project_shape(cls, value: str | None) -> str | None:
        if value is not None and not _PROJECT.fullmatch(value):
            raise ValueError("not a Google Cloud project id (6-30 lowercase letters, digits, hyphens)")
        return value

    @field_validator("location")
    @classmethod
    def _location_shape(cls, value: str) -> str:
        return _checked_location(value)

    @field_validator("staging_bucket")
    @classmethod
    def _bucket_shape(cls, value: str | None) -> str | None:
        if value is None:
            return None
        bare = value.removeprefix("gs://").rstrip("/")
        if not _BUCKET.fullmatch(bare):
            raise ValueError("not a Cloud Storage bucket (gs://bucket[/prefix])")
        return f"gs://{bare}"

    @field_validator("credentials_file")
    @classmethod
    def _credentials_readable(cls, value: Path | None) -> Path | None:
        # Only a regular file is read: a FIFO would block forever, /dev/zero fill memory.
        reason = not_a_regular_file(value) if value is not None else None
        if reason is not None:
            raise ValueError(reason)
        return value

    @field_validator("labels")
    @classmethod
    def _label_shape(cls, value: dict[str, str]) -> dict[str, str]:
        for key, item in value.items():
            if not key or not key[0].islower() or not _LABEL.fullmatch(key) or not _LABEL.fullmatch(item):
                raise ValueError(
                    f"label {key!r}={item!r}: keys start with a lowercase letter; keys and values use "
                    "lowercase letters, digits, '_' and '-', at most 63 characters"
                )
        return value

    @field_validator("endpoint")
    @classmethod
    def _endpoint_shape(cls, value: str | None) -> str | None:
        if value is None or value == "embedded":
            return value
        return _base_url(value, ", or 'embedded'")

    @field_validator("endpoints")
    @classmethod
    def _endpoints_shape(cls, value: dict[str, str]) -> dict[str, str]:
        checked = {}
        for location, url in value.items():
            if not _LOCATION.fullmatch(location):
                raise ValueError(
                    f"{location!r} is not a Vertex location (e.g. 'us-central1', 'us', 'eu', 'global')"
                )
            checked[location] = _base_url(url, f" (for {location!r})")
        return checked


def _base_url(value: str, alternative: str) -> str:
    if not value.startswith(("http://", "https://")) or "?" in value:
        raise ValueError(f"must be an http(s) URL without a query string{alternative}")
    return check_base_url(value).rstrip("/")


def _checked_location(value: str) -> str:
    """*value* if it can be a Vertex location; a misspelt one names the location probably meant."""
    well_formed = _LOCATION.fullmatch(value) is not None
    if well_formed and value.rstrip("0123456789") in _KNOWN_FAMILIES:
        return value
    matches = close_matches(value, _KNOWN_LOCATIONS)
    if well_formed and not matches:
        return value  # a region of a family tuneport does not know yet: Google answers for it
    hint = did_you_mean(matches) or " (e.g. 'us-central1', 'europe-west4', 'us', 'eu', 'global')"
    raise ValueError(f"{value!r} is not a Vertex location{hint}")
