"""The oracle's rules for preference examples and distillation prompts, line by line (#16)."""

from __future__ import annotations

import io
import json
from typing import Any

from tuneport_emulator.datasets import (
    VERTEX_PREFERENCE,
    DatasetRole,
    Example,
    Problem,
    check_dataset,
    check_preference_example,
    check_prompt_example,
    rules_for,
)

LIMIT = VERTEX_PREFERENCE.max_example_tokens


def _turn(role: str, text: str) -> dict[str, Any]:
    return {"role": role, "parts": [{"text": text}]}


def _completion(text: str, score: Any) -> dict[str, Any]:
    return {"completion": _turn("model", text), "score": score}


def test_a_preference_example_in_google_s_documented_shape() -> None:
    line = {
        "system_instruction": {"parts": [{"text": "You are a chat bot."}]},
        "contents": [_turn("user", "What is my favorite fruit?")],
        "completions": [
            _completion("Your favorite fruit is apple.", 0),
            _completion("Apple! Apple! Apple!", 1),
        ],
    }
    example = check_preference_example(line, 100, LIMIT)
    assert isinstance(example, Example)
    assert example.system == "You are a chat bot."
    assert [t.text for t in example.completions] == ["Apple! Apple! Apple!", "Your favorite fruit is apple."]
    assert example.scores == (1.0, 0.0)  # the preferred first, whatever the order in the file


def test_a_multi_turn_prompt_ends_with_the_user() -> None:
    turns = [_turn("user", "hi"), _turn("model", "hello"), _turn("user", "fruit?")]
    line = {"contents": turns, "completions": [_completion("apple", 1), _completion("no", 0)]}
    example = check_preference_example(line, 100, LIMIT)
    assert isinstance(example, Example)
    assert [t.role for t in example.turns] == ["user", "model", "user"]


def test_preference_problems_name_the_field() -> None:
    base = {"contents": [_turn("user", "q")], "completions": [_completion("a", 1), _completion("b", 0)]}
    cases = [
        ({**base, "tools": []}, None, "unknown field 'tools'"),
        (
            {**base, "completions": [_completion("a", 1), {"completion": _turn("model", "b")}]},
            "completions[1].score",
            "needs a 'score'",
        ),
        (
            {**base, "completions": [_completion("a", True), _completion("b", 0)]},
            "completions[0].score",
            "0 (dispreferred) or 1",
        ),
        (
            {**base, "completions": [{"score": 1}, _completion("b", 0)]},
            "completions[0].completion",
            "one model turn",
        ),
        ({**base, "completions": "ab"}, "completions", "an array"),
    ]
    for line, field, words in cases:
        problem = check_preference_example(line, 100, LIMIT)
        assert isinstance(problem, Problem), line
        assert problem.field == field, (problem, line)
        assert words in problem.message, problem.message


def test_prompts_need_no_answer_and_take_no_completions() -> None:
    prompt = check_prompt_example({"contents": [_turn("user", "q")]}, 100, LIMIT)
    assert isinstance(prompt, Example)
    assert prompt.completions == ()
    answered = check_prompt_example({"contents": [_turn("user", "q"), _turn("model", "a")]}, 100, LIMIT)
    assert isinstance(answered, Problem)
    assert answered.field == "contents[1].role"
    extra = check_prompt_example({"contents": [_turn("user", "q")], "completions": []}, 100, LIMIT)
    assert isinstance(extra, Problem)
    assert "unknown field 'completions'" in extra.message


def test_a_preference_file_through_the_streaming_check() -> None:
    good = {"contents": [_turn("user", "q")], "completions": [_completion("a", 1), _completion("b", 0)]}
    data = (
        "\n".join([json.dumps(good), json.dumps({"contents": [_turn("user", "q")]}), json.dumps(good)]) + "\n"
    )
    seen: list[Example] = []
    verdict = check_dataset(
        io.BytesIO(data.encode()),
        role=DatasetRole.TRAINING,
        limits=VERTEX_PREFERENCE,
        on_example=seen.append,
        rules=rules_for("preference"),
    )
    assert (verdict.examples, verdict.bad_lines) == (2, 1)
    assert verdict.first is not None
    assert (verdict.first.line, verdict.first.field) == (2, "completions")
    assert len(seen) == 2
