"""normalize's shortcut for objects of plain strings answers exactly as its general walk does."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tuneport_emulator.esf_json import loads
from tuneport_emulator.schema import Schema, normalize
from tuneport_emulator.wire import ApiError

_S = Schema("test.shortcut")
PLAIN = _S.message(
    "Plain",
    "textInput string oneof=input",
    "otherInput string oneof=input",
    "output string",
    "longName string",
    "createTime string ro",
    "tags string[]",
    "count int32",
)
HOLDER = _S.message("Holder", "items Plain[]", "one Plain")

_KEYS = [
    "textInput",
    "text_input",
    "otherInput",
    "output",
    "long_name",
    "longName",
    "create_time",
    "tags",
    "count",
    "x",
]
_VALUES = st.one_of(
    st.text(max_size=3), st.integers(-3, 3), st.none(), st.lists(st.text(max_size=2), max_size=2)
)


def _answer(body: Any, *, general: bool, monkeypatch: pytest.MonkeyPatch) -> Any:
    if general:  # the shortcut declines every object: everything takes the general walk
        monkeypatch.setattr("tuneport_emulator.schema._plain_strings_only", lambda value, plain: None)
    try:
        return normalize(body, HOLDER, "holder")
    except ApiError as error:
        return error.status, error.message, error.details
    finally:
        monkeypatch.undo()


@settings(max_examples=300, deadline=None)
@given(items=st.lists(st.dictionaries(st.sampled_from(_KEYS), _VALUES, max_size=4), max_size=4))
def test_the_shortcut_answers_as_the_walk(items: list[dict[str, Any]]) -> None:
    with pytest.MonkeyPatch.context() as monkeypatch:
        for body in ({"items": items}, {"one": items[0]} if items else {}):
            assert _answer(body, general=False, monkeypatch=monkeypatch) == _answer(
                body, general=True, monkeypatch=monkeypatch
            )


def test_cases_beside_the_shortcut() -> None:
    assert normalize({"items": [{"text_input": "a", "output": "b"}]}, HOLDER) == {
        "items": [{"textInput": "a", "output": "b"}]
    }
    assert normalize({"one": {"createTime": "x", "output": "b"}}, HOLDER) == {"one": {"output": "b"}}
    with pytest.raises(ApiError, match="oneof field 'input' is already set"):
        normalize({"items": [{"textInput": "a", "otherInput": "b"}]}, HOLDER)
    # A key given twice (a RepeatedKeyObject): the later value wins, as the converter writes both.
    assert normalize(loads('{"one": {"output": "a", "output": "b"}}'), HOLDER) == {"one": {"output": "b"}}
    assert normalize({"one": {"longName": "a", "long_name": "b"}}, HOLDER) == {"one": {"longName": "b"}}
    with pytest.raises(ApiError, match="oneof field 'input' is already set"):  # both spellings: twice set
        normalize({"one": {"textInput": "a", "text_input": "b"}}, HOLDER)
