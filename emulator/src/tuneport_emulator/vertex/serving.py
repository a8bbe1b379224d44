"""Where a job's tuned model and endpoints live, when that is not where the job ran.

* A ``global`` job (open models) puts its model and endpoints in a real
  region, :data:`~tuneport_emulator.vertex.open_models.SERVING_REGION`
  ("deploying needs a real region", Google's open-model tuning page).
* A tuned Gemini 3.1 Flash-Lite model is served only from the ``us`` and
  ``eu`` multi-regions (Vertex release notes, 2026-05-20): a job tuned in
  ``us-central1`` puts its model and endpoints in ``us``, one tuned in
  ``europe-west4`` in ``eu``.  (Google says where the model is *served*; that
  the model resource lives there too is the emulator's reading.)

Everything else lives where its job ran.  Clients find these resources by the
names the job reports, so a client that routes every call to the job's
location reaches the wrong host (see :mod:`tuneport_emulator.hosts`).
"""

from __future__ import annotations

import re

from tuneport_emulator.vertex.open_models import SERVING_REGION

__all__ = ["MULTI_REGION_SERVING", "home_of"]

#: Base model → (tuning region → the multi-region its tuned models are served from).
MULTI_REGION_SERVING: dict[str, dict[str, str]] = {
    "gemini-3.1-flash-lite": {"us-central1": "us", "europe-west4": "eu"},
}
_BARE = re.compile(r"(?:projects/[^/]+/locations/[^/]+/)?(?:publishers/google/models/)?([^/@]+)(?:@.*)?")


def home_of(parent: str, base_model: str) -> str:
    """The ``projects/P/locations/L`` a job under *parent* tuning *base_model* puts its model in."""
    head, _, location = parent.rpartition("/locations/")
    if location == "global":
        return f"{head}/locations/{SERVING_REGION}"
    match = _BARE.fullmatch(base_model)
    served = MULTI_REGION_SERVING.get(match.group(1) if match else base_model, {}).get(location)
    return f"{head}/locations/{served}" if served else parent
