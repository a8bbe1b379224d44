"""Random and mutated bodies never get a 5xx or a hang, and never corrupt the state."""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from typing import Any
from urllib.parse import quote

import httpx
import pytest
from emulator_helpers import create_body
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tuneport_emulator import Emulator, EmulatorClock

FIELD_NAMES = [
    "baseModel", "base_model", "displayName", "tuningTask", "tuning_task", "trainingData", "examples",
    "textInput", "text_input", "output", "hyperparameters", "epochCount", "batchSize", "learningRate",
    "learningRateMultiplier", "temperature", "topP", "topK", "state", "name", "contents", "parts", "text",
    "role", "generationConfig", "maxOutputTokens", "stopSequences", "candidateCount", "readerProjectNumbers",
    "createTime", "tunedModelSource", "systemInstruction", "inlineData", "data", "@type", "",
]  # fmt: skip

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=20),
    st.sampled_from(["ACTIVE", "NaN", "Infinity", "1e3", "2024-06-01T00:00:00Z", "5", "-1", "models/x"]),
)
keys = st.one_of(st.sampled_from(FIELD_NAMES), st.text(max_size=8))
json_values = st.recursive(
    scalars,
    lambda children: st.lists(children, max_size=4) | st.dictionaries(keys, children, max_size=5),
    max_leaves=25,
)


def _mutate(value: Any, path: list[int], replacement: Any) -> Any:
    """Replace the node reached by following ``path`` (indices into children) with ``replacement``."""
    if not path or not isinstance(value, (dict, list)) or not value:
        return replacement
    items = list(value.items()) if isinstance(value, dict) else list(enumerate(value))
    key, child = items[path[0] % len(items)]
    value[key] = _mutate(child, path[1:], replacement)
    return value


@pytest.fixture(scope="module")
def fuzz_emulator() -> Iterator[Emulator]:
    with Emulator(clock=EmulatorClock.manual()) as emu:
        emu.seed_gemini_model(tuned_model_id="target")
        yield emu


@pytest.fixture(scope="module")
def http(fuzz_emulator: Emulator) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=fuzz_emulator.url, timeout=5) as client:
        yield client


ROUTES = [
    ("POST", "/v1beta/tunedModels"),
    ("POST", "/v1beta/tunedModels/target:generateContent"),
    ("POST", "/v1/tunedModels/target:streamGenerateContent?alt=sse"),
    ("PATCH", "/v1beta/tunedModels/target?updateMask=description"),
    ("PATCH", "/v1beta/tunedModels/target"),
    ("POST", "/_emulator/gemini/tunedModels:seed"),
    ("POST", "/_emulator/clock:advance"),
]

VALID = [
    create_body(),
    {"contents": [{"role": "user", "parts": [{"text": "ping"}]}], "generationConfig": {"maxOutputTokens": 3}},
    {"description": "d", "displayName": "n", "temperature": 0.5},
    {"tunedModel": create_body(), "state": "CREATING", "progress": 0.5},
]


def _check(response: httpx.Response) -> None:
    assert response.status_code < 500, response.text
    if response.status_code >= 400:
        error = response.json()["error"]
        assert isinstance(error["message"], str)
        assert error["code"] == response.status_code


common = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@common
@given(route=st.sampled_from(ROUTES), body=json_values)
def test_random_bodies(http: httpx.Client, route: tuple[str, str], body: Any) -> None:
    method, path = route
    _check(http.request(method, path, content=json.dumps(body).encode()))


@common
@given(
    route=st.sampled_from(ROUTES),
    base=st.sampled_from(VALID),
    path=st.lists(st.integers(min_value=0, max_value=10), max_size=6),
    replacement=json_values,
)
def test_mutated_valid_bodies(
    http: httpx.Client, route: tuple[str, str], base: dict[str, Any], path: list[int], replacement: Any
) -> None:
    method, url = route
    body = _mutate(copy.deepcopy(base), path, replacement)
    _check(http.request(method, url, json=body))


@settings(max_examples=60, deadline=None)
@given(raw=st.binary(max_size=200), query=st.text(max_size=30))
def test_random_bytes_and_queries(http: httpx.Client, raw: bytes, query: str) -> None:
    _check(http.post("/v1beta/tunedModels", content=raw, params={"filter": query}))
    _check(http.get("/v1beta/tunedModels", params={"pageToken": query, "pageSize": query}))
    _check(http.get(f"/v1beta/tunedModels/{quote(query, safe='') or 'x'}"))


@pytest.mark.parametrize("depth", [90, 101, 900, 100_000])
@pytest.mark.parametrize(("opening", "closing", "refusal"), [
    ("[", "]", "Arrays are nested deeper than 100 levels"),
    ('{"a":', "}", "Message too deep. Max recursion depth reached for key 'a'"),
])  # fmt: skip
def test_deeply_nested_json_is_refused_and_harmless(
    http: httpx.Client, depth: int, opening: str, closing: str, refusal: str
) -> None:
    nested = opening * depth + ("1" if closing == "}" else "") + closing * depth
    body = '{"contents": [{"parts": [{"functionCall": {"args": ' + nested + "}}]}]}"
    response = http.post("/v1beta/tunedModels/target:generateContent", content=body.encode())
    _check(response)
    assert response.status_code == 400
    if depth > 100:
        assert refusal in response.json()["error"]["message"]
    # The log and the state stay readable (and copyable).
    assert http.get("/_emulator/requests").status_code == 200
    assert http.get("/_emulator/state").status_code == 200


def test_state_is_still_consistent(fuzz_emulator: Emulator, http: httpx.Client) -> None:
    """Runs after the fuzzing above (same module emulator): everything listed can be fetched."""
    fuzz_emulator.advance(10**6)
    names: list[str] = []
    token: str | None = None
    while True:
        params: dict[str, Any] = {"pageSize": 100}
        if token:
            params["pageToken"] = token
        page = http.get("/v1beta/tunedModels", params=params)
        assert page.status_code == 200
        names += [m["name"] for m in page.json().get("tunedModels", [])]
        token = page.json().get("nextPageToken")
        if not token:
            break
    assert len(names) == len(set(names)) >= 1
    for name in names:
        model = http.get(f"/v1beta/{name}")
        assert model.status_code == 200, model.text
        assert model.json()["state"] in ("ACTIVE", "FAILED")
        operations = http.get(f"/v1beta/{name}/operations").json()["operations"]
        assert operations[0]["done"] is True
    json.dumps(fuzz_emulator.store.snapshot())
    assert fuzz_emulator.internal_errors == []
