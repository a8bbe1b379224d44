"""Which Google host a request stands for, and whether that host serves its location.

The emulator serves every Vertex location on one port.  A client that wants
the emulator to answer as one of Google's hosts names it in the
:data:`HOST_HEADER` request header (tuneport's vertex backend does, for a
declared emulator); the emulator then answers as that host does:

* ``aiplatform.googleapis.com`` serves ``global``,
  ``aiplatform.{us,eu}.rep.googleapis.com`` the multi-regions ``us`` and
  ``eu``, ``{region}-aiplatform.googleapis.com`` that region;
* a request for a resource of another location is refused with Google's
  answer: 400 INVALID_ARGUMENT, a field violation on ``name`` (``parent`` for
  a create or a list), "The provided location ID doesn't match the endpoint.
  The valid location ID is `L`." (the wording reported from Vertex in
  googleapis/python-aiplatform#1684 and kubeflow/pipelines#6011);
* publisher models are the exception on the global host, which serves them in
  every location (googleapis/java-genai#705: ``aiplatform.googleapis.com`` with
  ``locations/us-central1/publishers/google/models/…`` works);
* a Vertex host that does not exist (``eu-aiplatform.googleapis.com``,
  ``global-aiplatform.googleapis.com``) is 400 INVALID_ARGUMENT "Invalid
  hostname: …", as Google answered in a live check quoted in
  NousResearch/hermes-agent#72065.

Without the header (Google's own clients pointed at the emulator's URL) the
emulator serves every location, as before.  Other hosts (Cloud Storage, the
Gemini API) are served as they are.
"""

from __future__ import annotations

import re

from tuneport_emulator.routing import Request, Route
from tuneport_emulator.wire import ApiError, bad_request

__all__ = ["HOST_HEADER", "check_host", "requested_host", "served_location"]

#: The header naming the Google host a request stands for (header names are case-insensitive).
HOST_HEADER = "x-tuneport-host"
_GLOBAL_HOST = "aiplatform.googleapis.com"
_MULTI_REGION_HOST = re.compile(r"aiplatform\.(us|eu)\.rep\.googleapis\.com")
_REGIONAL_HOST = re.compile(r"([a-z]+-[a-z]+\d+)-aiplatform\.googleapis\.com")
#: Longest host name echoed in an error.
_MAX_ECHO = 100


def requested_host(request: Request) -> str | None:
    """The Google host *request* stands for (lower case, no port), or ``None``."""
    value = request.headers.get(HOST_HEADER)
    if not value:
        return None
    return value.strip().lower().split(":", 1)[0]


def served_location(host: str) -> str | None:
    """The location a Vertex host serves; ``None`` for a host that is not Vertex's.

    A name in Vertex's shape that no host has is :class:`ApiError` 400 "Invalid hostname".
    """
    if host == _GLOBAL_HOST:
        return "global"
    for pattern in (_MULTI_REGION_HOST, _REGIONAL_HOST):
        match = pattern.fullmatch(host)
        if match:
            return match.group(1)
    if "aiplatform" in host:
        raise ApiError("INVALID_ARGUMENT", f"Invalid hostname: {host[:_MAX_ECHO]}")
    return None


def check_host(route: Route, request: Request) -> None:
    """Refuse *request* when the host it names does not serve the location of its resource."""
    host = requested_host(request)
    if host is None:
        return
    served = served_location(host)
    location = request.params.get("location")
    if served is None or location is None or location == served:
        return
    if served == "global" and "publishers." in route.name:
        return  # the global host serves publisher models of every location
    field = "parent" if route.name.endswith((".create", ".list")) else "name"
    raise bad_request(
        f"The provided location ID doesn't match the endpoint. The valid location ID is `{served}`.",
        field=field,
    )
