"""Malformed job ids and names for each backend and operation: refused before any request.

A job id goes into a URL path.  Anything that is not an id or a full
resource name of the backend's own pattern — path traversal, a query or
fragment, spaces, control characters, unicode, the wrong resource type, an
overlong id — must raise :class:`SpecError` naming ``job_id`` (``target``
for a Vertex endpoint given to ``generate``), and nothing may be sent.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from urllib.parse import quote

import pytest
from badinput_helpers import PARENT, assert_names, assert_nothing_sent
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import tuneport
from tuneport.client import TuningClient
from tuneport.errors import NotFoundError, SpecError
from tuneport.retry import NO_RETRY
from tuneport.waiting import ManualClock
from tuneport_emulator import Emulator

Connect = Callable[..., TuningClient]

#: Malformed for both backends.
BAD_IDS = [
    "",
    " ",
    "\t",
    "..",
    "../x",
    "a/b",
    "x?alt=media",
    "x#fragment",
    "x;y",
    "x\\y",
    "x*",
    "a b",
    "x\n",
    "x\x00y",
    "x%2F..",
    "%2e%2e",
    "x:cancel",
    "ünïcode",
    "😀",
    "x" * 5000,
]
#: Malformed for gemini: not ``tunedModels/{id}`` with an id of at most 40 characters.
BAD_GEMINI_NAMES = [
    "tunedModels/",
    "tunedModels/../x",
    "tunedModels/x/operations/y",
    "tunedModels/tunedModels/x",
    "models/gemini-1.5-flash-001-tuning",
    "x" * 41,
]
#: Malformed for vertex: not an id, nor ``projects/P/locations/L/tuningJobs/ID``.
BAD_VERTEX_NAMES = [
    "projects/../locations/us-central1/tuningJobs/1",
    f"{PARENT}/tuningJobs/1?x=1",
    f"{PARENT}/tuningJobs/1\n",
    f"{PARENT}/tuningJobs/1#f",
    f"{PARENT}/tuningJobs/..",
    f"{PARENT}/tuningJobs/%2e%2e",
    f"{PARENT}/tuningJobs/ü",
    f"{PARENT}/tuningJobs/",
    f"{PARENT}/endpoints/1",
    "projects/p/tuningJobs/1",
    "tuningJobs/1",
    f"/{PARENT}/tuningJobs/1",
    "x" * 129,
]
CASES = [("gemini", job_id) for job_id in BAD_IDS + BAD_GEMINI_NAMES] + [
    ("vertex", job_id) for job_id in BAD_IDS + BAD_VERTEX_NAMES
]


def case_id(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


@pytest.mark.parametrize(("backend", "job_id"), CASES, ids=[f"{b}-{case_id(j)}" for b, j in CASES])
def test_bad_job_id_is_refused_before_any_request(
    connect: Connect, emulator: Emulator, backend: str, job_id: str
) -> None:
    with pytest.raises(SpecError) as info:
        connect(backend).get(job_id)
    assert_names(info.value, "job_id")
    assert len(str(info.value)) < 400, "the message should not echo an overlong id in full"
    assert_nothing_sent(emulator)


OPERATIONS = ["cancel", "delete", "metrics", "wait", "generate"]


@pytest.mark.parametrize("backend", ["gemini", "vertex"])
@pytest.mark.parametrize("operation", OPERATIONS)
@pytest.mark.parametrize("job_id", ["../escape", "x?alt=media"])
def test_every_operation_checks_the_id(
    connect: Connect, emulator: Emulator, backend: str, operation: str, job_id: str
) -> None:
    client = connect(backend)
    arguments: tuple[Any, ...] = (job_id, "ping") if operation == "generate" else (job_id,)
    with pytest.raises(SpecError) as info:
        getattr(client, operation)(*arguments)
    assert_names(info.value, "job_id")
    assert_nothing_sent(emulator)


BAD_ENDPOINTS = [
    "../endpoints/1",
    f"{PARENT}/endpoints/../../x",
    f"{PARENT}/endpoints/1?alt=media",
    f"{PARENT}/endpoints/1#x",
    f"{PARENT}/endpoints/",
    "/endpoints/",
    "projects/p/endpoints/1",
    f"{PARENT}/endpoints/1/operations/2",
]


@pytest.mark.parametrize("target", BAD_ENDPOINTS)
def test_bad_vertex_endpoint_given_to_generate(connect: Connect, emulator: Emulator, target: str) -> None:
    with pytest.raises(SpecError) as info:
        connect("vertex").generate(target, "ping")
    assert_names(info.value, "target")
    assert_nothing_sent(emulator)


@pytest.mark.parametrize("backend", ["gemini", "vertex"])
@pytest.mark.parametrize("job_id", ["../x", "x#f", ""])
async def test_async_client_refuses_the_same_ids(emulator: Emulator, backend: str, job_id: str) -> None:
    options: dict[str, Any] = {"project": "tuneport-test"} if backend == "vertex" else {}
    async with tuneport.connect_async(
        backend=backend,
        endpoint=emulator.url,
        emulator=True,
        environ={},
        clock=ManualClock(),
        retry=NO_RETRY,
        **options,
    ) as client:
        with pytest.raises(SpecError) as info:
            await client.get(job_id)
    assert_names(info.value, "job_id")
    assert_nothing_sent(emulator)


# --- any id at all ----------------------------------------------------------------------------------------


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(job_id=st.text(max_size=50))
def test_any_gemini_id_is_refused_or_stays_in_the_collection(
    connect: Connect, running_emulator: Emulator, job_id: str
) -> None:
    """An accepted id is looked up as one tuned model: never another path, never a query."""
    client = connect("gemini")
    running_emulator.store.clear_requests()
    try:
        client.get(job_id)
    except SpecError as refused:
        assert_names(refused, "job_id")
        assert_nothing_sent(running_emulator)
    except NotFoundError:
        bare = job_id.removeprefix("tunedModels/")
        [sent] = running_emulator.requests()
        assert sent["path"] == f"/v1beta/tunedModels/{quote(bare, safe='')}"
        assert sent["query"] == {}
