"""Property-based round trips: what a format can hold comes back unchanged.

For each format, examples drawn from what that format can hold are written
and read back (equal as neutral ``Example`` objects), in every layout the
format can be written in, with the accelerated and the stdlib codecs.  And
conversions between formats are lossless on examples both formats hold.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from tests.datasets.conftest import json_codec
from tuneport.datasets import (
    Example,
    FilePart,
    TextPart,
    Turn,
    convert_dataset,
    read_examples,
    write_examples,
)
from tuneport.datasets.formats.openai import guess_mime_type

SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])

# Any non-blank text (blank text is a warning and still round-trips, but empty text is an error).
text = st.text(min_size=1, max_size=40).filter(lambda s: not s.isspace())
uri_stem = st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789-_/", min_size=1, max_size=12)
image_uri = st.builds(
    lambda stem, ext: f"gs://bucket/{stem}{ext}",
    uri_stem,
    st.sampled_from([".png", ".jpg", ".jpeg", ".webp", ".gif"]),
)
any_mime = st.sampled_from(["image/png", "application/pdf", "video/mp4", "text/plain", "audio/mpeg"])


def text_part() -> st.SearchStrategy[TextPart]:
    return st.builds(TextPart, text=text)


# Vertex: any file part with a MIME type, anywhere but the system instruction.
vertex_file = st.builds(lambda stem, mime: FilePart(uri=f"gs://b/{stem}", mime_type=mime), uri_stem, any_mime)
# OpenAI: images whose MIME type the URL implies, in user turns only.
openai_file = st.builds(lambda uri: FilePart(uri=uri, mime_type=guess_mime_type(uri)), image_uri)


@st.composite
def conversations(
    draw: st.DrawFn, user_file: st.SearchStrategy[FilePart] | None, model_file: bool
) -> Example:
    exchanges = draw(st.integers(1, 3))
    turns = []
    for _ in range(exchanges):
        user_pool = text_part() | user_file if user_file is not None else text_part()
        user_parts = draw(st.lists(user_pool, min_size=1, max_size=3))
        model_pool = text_part() | vertex_file if model_file else text_part()
        model_parts = draw(st.lists(model_pool, min_size=1, max_size=3))
        turns += [Turn(role="user", parts=tuple(user_parts)), Turn(role="model", parts=tuple(model_parts))]
    system = draw(st.lists(text_part(), max_size=2))
    return Example(system=tuple(system), turns=tuple(turns))


pairs = st.builds(Example.from_pair, text, text)
vertex_examples = conversations(vertex_file, model_file=True)
openai_examples = conversations(openai_file, model_file=False)
# What both Vertex and OpenAI hold: images with a known MIME type, in user turns.
common_examples = conversations(openai_file.filter(lambda f: f.mime_type is not None), model_file=False)


def _round_trip(examples: list[Example], fmt: str, name: str, mode: str) -> list[Example]:
    codec = json_codec(mode)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / name
        assert write_examples(examples, path, format=fmt, codec=codec) == len(examples)
        return list(read_examples(path, format=fmt, codec=codec))


@pytest.mark.parametrize("mode", ["accelerated", "stdlib"])
@pytest.mark.parametrize("name", ["pairs.jsonl", "pairs.json", "pairs.csv"])
@SETTINGS
@given(examples=st.lists(pairs, min_size=1, max_size=5))
def test_gemini_round_trip(examples: list[Example], name: str, mode: str) -> None:
    if name.endswith(".csv") and sys.version_info < (3, 11):
        # Python 3.10's csv module can neither write nor read NUL characters.
        assume(not any("\x00" in turn.text for example in examples for turn in example.turns))
    assert _round_trip(examples, "gemini", name, mode) == examples


@pytest.mark.parametrize("mode", ["accelerated", "stdlib"])
@SETTINGS
@given(examples=st.lists(vertex_examples, min_size=1, max_size=4))
def test_vertex_round_trip(examples: list[Example], mode: str) -> None:
    assert _round_trip(examples, "vertex", "v.jsonl", mode) == examples


@pytest.mark.parametrize("mode", ["accelerated", "stdlib"])
@SETTINGS
@given(examples=st.lists(openai_examples, min_size=1, max_size=4))
def test_openai_round_trip(examples: list[Example], mode: str) -> None:
    assert _round_trip(examples, "openai", "o.jsonl", mode) == examples


@SETTINGS
@given(
    examples=st.lists(pairs, min_size=1, max_size=4), order=st.permutations(["gemini", "vertex", "openai"])
)
def test_pairs_convert_losslessly_between_all_formats(examples: list[Example], order: list[str]) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        previous = Path(tmp) / "start.jsonl"
        write_examples(examples, previous, format=order[0])
        for fmt in [*order[1:], order[0]]:
            target = Path(tmp) / f"{fmt}-{previous.name}"
            report = convert_dataset(previous, target, to=fmt)
            assert report.lossless
            assert list(read_examples(target)) == examples
            previous = target


@SETTINGS
@given(examples=st.lists(common_examples, min_size=1, max_size=4))
def test_conversations_convert_losslessly_between_vertex_and_openai(examples: list[Example]) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        source = Path(tmp) / "v.jsonl"
        write_examples(examples, source, format="vertex")
        convert_dataset(source, Path(tmp) / "o.jsonl", to="openai")
        convert_dataset(Path(tmp) / "o.jsonl", Path(tmp) / "v2.jsonl", to="vertex")
        assert list(read_examples(Path(tmp) / "o.jsonl")) == examples
        assert list(read_examples(Path(tmp) / "v2.jsonl")) == examples
