"""Where a Vertex request goes: the host of the location in the resource's own name.

Vertex serves each location on its own host, and a host serves only its own
location's resources:

* a region ``L`` (``us-central1``…): ``https://L-aiplatform.googleapis.com``;
* the multi-regions ``us`` and ``eu``: ``https://aiplatform.L.rep.googleapis.com``;
* ``global``: ``https://aiplatform.googleapis.com``.

A resource does not always live where the profile points: a tuned 3.1
Flash-Lite model is served from ``us``/``eu``, an RL-tuned model from ``us``,
and a ``global`` open-model job puts its model and endpoints in a real region.
So every request is routed by the location in the name it addresses
(:meth:`Router.address`); creates and lists address the profile's parent, so
they go to the profile's location.

Configured endpoints (a private endpoint, Private Service Connect):
``endpoints`` maps a location to a base URL and wins for that location;
otherwise ``endpoint`` pins every call to it; otherwise Google's host of the
location.  With a declared emulator, every request goes to its URL (the map
is not used) and carries the Google host it stands for in :data:`HOST_HEADER`,
so the emulator can answer as that host does.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from tuneport.errors import Problem, SpecError

__all__ = ["GLOBAL", "HOST_HEADER", "MULTI_REGIONS", "Address", "Router", "host_of", "location_of"]

#: The header naming the Google host a request to a declared emulator stands for.
HOST_HEADER = "X-Tuneport-Host"
GLOBAL = "global"
#: The jurisdictional multi-regions, served on ``aiplatform.{L}.rep.googleapis.com``.
MULTI_REGIONS = frozenset({"us", "eu"})
#: A region: letters, a dash, letters and a number (``us-central1``, ``northamerica-northeast2``).
_REGION = re.compile(r"[a-z]+-[a-z]+\d+")
#: ``projects/P/locations/L[/…]``: the location is the fourth segment.
_NAME = re.compile(r"projects/[A-Za-z0-9_-]{1,128}/locations/([^/:?#]+)(?:[/:].*)?", re.DOTALL)


def host_of(location: str) -> str:
    """Google's base URL for *location*; a :class:`SpecError` if it is no location."""
    if location == GLOBAL:
        return "https://aiplatform.googleapis.com"
    if location in MULTI_REGIONS:
        return f"https://aiplatform.{location}.rep.googleapis.com"
    if _REGION.fullmatch(location):
        return f"https://{location}-aiplatform.googleapis.com"
    raise SpecError(
        [
            Problem(
                f"not a Vertex location (a region such as 'us-central1', 'us', 'eu', 'global'): {location!r}",
                field="location",
                rule="bad-location",
            )
        ]
    )


def location_of(resource: str) -> str:
    """The location of a resource name (``projects/P/locations/L/…`` → ``L``), checked.

    A name without one, or with one that is no location, is a
    :class:`SpecError` (no request is sent for it).
    """
    match = _NAME.fullmatch(resource)
    if match is None:
        shown = resource if len(resource) <= 80 else resource[:80] + "…"
        raise SpecError(
            [
                Problem(
                    f"not a Vertex resource name (projects/P/locations/L/…): {shown!r}",
                    field="name",
                    rule="bad-id",
                )
            ]
        )
    location = match.group(1)
    host_of(location)  # refuses what is no location
    return location


@dataclass(frozen=True)
class Address:
    """Where one request goes: its URL and the headers routing adds."""

    url: str
    headers: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Router:
    """Base URLs by location, honouring configured endpoints and a declared emulator."""

    #: A base URL every call is pinned to (``None``: Google's hosts).
    endpoint: str | None = None
    #: Base URLs by location; they win over ``endpoint`` for their location.
    endpoints: Mapping[str, str] = field(default_factory=dict)
    #: ``endpoint`` is a declared emulator: it is told the Google host in :data:`HOST_HEADER`.
    emulator: bool = False

    def base(self, location: str) -> Address:
        """The base URL (no version) for *location*, and the headers that go with it."""
        google = host_of(location)
        if self.emulator and self.endpoint is not None:
            # Everything to the declared emulator (never a real endpoint of the map, uncredentialed).
            return Address(self.endpoint, {HOST_HEADER: urlsplit(google).netloc})
        configured = self.endpoints.get(location) or self.endpoint
        return Address(configured or google)

    def address(self, resource: str, version: str) -> Address:
        """The URL of *resource* (a name, with a ``:verb`` or sub-path) in API *version*.

        The host is that of the location in the name itself.
        """
        base = self.base(location_of(resource))
        return Address(f"{base.url}/{version}/{resource}", base.headers)
