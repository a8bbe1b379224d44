"""The canary scanner: plant unique fake credentials, then look for them on every surface.

A :class:`Canary` holds one fake API key and fake OAuth secrets, each carrying
the same random nonce.  Tests drive tuneport with them and gather what a user,
a log file or a support ticket could ever see into :class:`Evidence`: log
records, reprs, exception chains and tracebacks, CLI output, the emulator's
request log.  :func:`assert_no_leak` then fails, naming each surface, if any
secret shows up: as it is, URL-encoded, or only its random part.
"""

from __future__ import annotations

import json
import secrets
import traceback
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, quote_plus


@dataclass(frozen=True)
class Canary:
    """Fake credentials that no legitimate output can contain."""

    nonce: str
    api_key: str
    access_token: str
    refresh_token: str
    client_secret: str

    @classmethod
    def plant(cls) -> Canary:
        nonce = secrets.token_hex(8)
        return cls(
            nonce=nonce,
            # The shape of a Google API key: redact() knows it.
            api_key=f"AIzaSyCANARY-{nonce}",
            # No known shape, and characters that URL-encoding changes: only the
            # authenticator's list of secrets can mask these.
            access_token=f"canary.access/{nonce}+token==",
            refresh_token=f"canary.refresh/{nonce}+token",
            client_secret=f"canary-client-secret-{nonce}",
        )

    @property
    def secrets(self) -> tuple[str, ...]:
        return (self.api_key, self.access_token, self.refresh_token, self.client_secret)

    def needles(self) -> tuple[str, ...]:
        """Every form a leak could take: each secret, URL-encoded, and the bare nonce."""
        forms = {self.nonce}
        for secret in self.secrets:
            forms.update({secret, quote(secret, safe=""), quote_plus(secret)})
        return tuple(sorted(forms, key=len, reverse=True))


class Evidence:
    """Named texts from the surfaces a secret could leak to."""

    def __init__(self) -> None:
        self.texts: dict[str, str] = {}

    def __len__(self) -> int:
        return len(self.texts)

    def add(self, surface: str, text: str) -> None:
        name, count = surface, 1
        while name in self.texts:
            count += 1
            name = f"{surface} #{count}"
        self.texts[name] = text

    def add_object(self, surface: str, obj: Any) -> None:
        """``repr()`` and ``str()`` of *obj*, and its JSON dump when it is a pydantic model."""
        self.add(f"repr({surface})", repr(obj))
        self.add(f"str({surface})", str(obj))
        dump_json = getattr(obj, "model_dump_json", None)
        if callable(dump_json):
            self.add(f"{surface}.model_dump()", repr(obj.model_dump()))
            self.add(f"{surface}.model_dump(mode='json')", json.dumps(obj.model_dump(mode="json")))
            self.add(f"{surface}.model_dump_json()", dump_json())

    def add_exception(self, surface: str, error: BaseException) -> None:
        """Each exception of the chain (causes, contexts, even suppressed): text, attributes, traceback."""
        for depth, link in enumerate(exception_chain(error)):
            where = f"{surface} chain[{depth}] {type(link).__name__}"
            self.add(f"str({where})", str(link))
            self.add(f"repr({where})", repr(link))
            self.add(f"vars({where})", repr(vars(link)))
            self.add(f"traceback({where})", "".join(traceback.format_exception(link)))


def exception_chain(error: BaseException) -> Iterator[BaseException]:
    """*error*, then every ``__cause__`` and ``__context__`` behind it (each once)."""
    seen: set[int] = set()
    pending = [error]
    while pending:
        link = pending.pop()
        if id(link) in seen:
            continue
        seen.add(id(link))
        yield link
        pending.extend(e for e in (link.__cause__, link.__context__) if e is not None)


def find_leaks(evidence: Evidence, canary: Canary) -> dict[str, str]:
    """Surface name -> the canary form found there."""
    leaks = {}
    for surface, text in evidence.texts.items():
        found = next((needle for needle in canary.needles() if needle in text), None)
        if found is not None:
            leaks[surface] = found
    return leaks


def assert_no_leak(evidence: Evidence, canary: Canary) -> None:
    """Fail, naming every surface, if a canary secret appears in *evidence*."""
    assert len(evidence) > 0, "nothing was gathered: the scan would prove nothing"
    leaks = find_leaks(evidence, canary)
    if leaks:
        lines = [f"  {surface}: {evidence.texts[surface][:400]!r}" for surface in leaks]
        raise AssertionError("a canary secret leaked into:\n" + "\n".join(lines))
