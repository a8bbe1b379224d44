"""Settings of the vertex backend (validated from a profile, env and keywords)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Literal

from pydantic import Field, field_validator

from tuneport._endpoint import check_base_url
from tuneport._file_permissions import not_a_regular_file
from tuneport.protocol import BackendSettings

# Google Cloud project ids: 6-30 chars, lowercase letters, digits, hyphens;
# a project number is accepted too.  Every pattern is matched whole (fullmatch):
# ``$`` would let a trailing newline through into URLs.
_PROJECT = re.compile(r"(?:[a-z][a-z0-9-]{4,28}[a-z0-9]|\d{6,20})")
_LOCATION = re.compile(r"[a-z]+(?:-[a-z]+\d+)?")
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
    """

    project: str | None = None
    location: str = "us-central1"
    api_version: Literal["auto", "v1", "v1beta1"] = "auto"
    staging_bucket: str | None = None
    credentials_file: Path | None = None
    labels: dict[str, str] = Field(default_factory=dict)

    @field_validator("project")
    @classmethod
    def _project_shape(cls, value: str | None) -> str | None:
        if value is not None and not _PROJECT.fullmatch(value):
            raise ValueError("not a Google Cloud project id (6-30 lowercase letters, digits, hyphens)")
        return value

    @field_validator("location")
    @classmethod
    def _location_shape(cls, value: str) -> str:
        if not _LOCATION.fullmatch(value):
            raise ValueError("not a Google Cloud location (e.g. 'us-central1', 'europe-west4', 'us', 'eu')")
        return value

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
        if not value.startswith(("http://", "https://")) or "?" in value:
            raise ValueError("must be an http(s) URL without a query string, or 'embedded'")
        return check_base_url(value).rstrip("/")
