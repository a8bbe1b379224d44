"""Property-based round trips of preference examples and prompts through every format, both codecs."""

from __future__ import annotations

import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from tests.datasets.conftest import json_codec
from tuneport.datasets import (
    convert_dataset,
    read_preference_examples,
    read_prompt_examples,
    validate_dataset,
    write_examples,
)
from tuneport.models import PreferenceExample, PromptExample, TextPart, Turn

SETTINGS = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
FORMATS = ("vertex", "openai", "trl", "neutral")

text = st.text(min_size=1, max_size=30).filter(lambda s: not s.isspace())
parts = st.lists(st.builds(TextPart, text=text), min_size=1, max_size=3).map(tuple)


@st.composite
def prompts(draw: st.DrawFn) -> tuple[tuple[TextPart, ...], tuple[Turn, ...]]:
    exchanges = draw(st.integers(0, 2))
    turns: list[Turn] = []
    for _ in range(exchanges):
        turns += [Turn(role="user", parts=draw(parts)), Turn(role="model", parts=draw(parts))]
    turns.append(Turn(role="user", parts=draw(parts)))
    system = draw(st.lists(st.builds(TextPart, text=text), max_size=2).map(tuple))
    return system, tuple(turns)


@st.composite
def preference_examples(draw: st.DrawFn) -> PreferenceExample:
    system, prompt = draw(prompts())
    preferred, rejected = draw(parts), draw(parts)
    assume(preferred != rejected)
    return PreferenceExample(
        system=system,
        prompt=prompt,
        preferred=Turn(role="model", parts=preferred),
        rejected=Turn(role="model", parts=rejected),
    )


prompt_examples = prompts().map(lambda sp: PromptExample(system=sp[0], prompt=sp[1]))


@pytest.mark.parametrize("mode", ["accelerated", "stdlib"])
@SETTINGS
@given(examples=st.lists(preference_examples(), min_size=1, max_size=4))
def test_preference_examples_come_back_unchanged_from_every_format(
    mode: str, examples: list[PreferenceExample]
) -> None:
    codec = json_codec(mode)
    with tempfile.TemporaryDirectory() as tmp:
        previous = Path(tmp) / "start.jsonl"
        write_examples(examples, previous, format="neutral", method="preference", codec=codec)
        for fmt in FORMATS:
            target = Path(tmp) / f"{fmt}.jsonl"
            report = convert_dataset(previous, target, to=fmt, method="preference", codec=codec)
            assert report.lossless
            assert validate_dataset(target, method="preference", codec=codec, check_duplicates=False).ok
            assert list(read_preference_examples(target, codec=codec)) == examples
            previous = target


@pytest.mark.parametrize("mode", ["accelerated", "stdlib"])
@SETTINGS
@given(examples=st.lists(prompt_examples, min_size=1, max_size=4))
def test_prompts_come_back_unchanged_from_every_format(mode: str, examples: list[PromptExample]) -> None:
    codec = json_codec(mode)
    with tempfile.TemporaryDirectory() as tmp:
        for fmt in FORMATS:
            target = Path(tmp) / f"{fmt}.jsonl"
            write_examples(examples, target, format=fmt, method="distillation", codec=codec)
            assert list(read_prompt_examples(target, codec=codec)) == examples
