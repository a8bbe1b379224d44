"""What tuneport's Google backends share, kept out of the provider-neutral core.

- :mod:`tuneport_google.auth`: API-key and OAuth (ADC, service account) authenticators;
- :mod:`tuneport_google.errors`: reading Google's error bodies (``google.rpc.Status``);
- :mod:`tuneport_google.proto_json`: proto3-JSON parsing, generate bodies, list
  queries, and the int32/float32 limits of Google's wire types.

The gemini and vertex backends depend on it; the core (``tuneport``) does not.
"""

from __future__ import annotations

__all__: list[str] = []
