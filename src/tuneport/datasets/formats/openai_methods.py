"""OpenAI preference (DPO) data and chat prompts.

* **Preference**: OpenAI's DPO fine-tuning JSONL, ``{"input": {"messages":
  [...], "tools"?: [], "parallel_tool_calls"?: bool}, "preferred_output":
  [{"role": "assistant", "content": ...}], "non_preferred_output": [...]}``.
  The input's messages end with a user message; each output is exactly one
  assistant message.  Source:
  https://platform.openai.com/docs/guides/direct-preference-optimization
* **Prompts** (distillation): ``{"messages": [...]}`` ending with a user message.

Messages, content parts and roles are the chat format's (``openai.py``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from tuneport.datasets.formats.base import DatasetFormat, PreferenceCodec, PromptCodec
from tuneport.datasets.formats.grammar import INVALID, Array, Choice, Field, Record, Report
from tuneport.datasets.formats.openai import (
    _MESSAGE,
    _MESSAGES,
    _UNSUPPORTED_TOP,
    IMAGES_IN_USER_MESSAGES,
    OpenAIFormat,
    _content,
    _role_name,
    prompt_refine,
    read_messages,
)
from tuneport.datasets.light import (
    MODEL,
    FileRef,
    LightExample,
    LightPart,
    LightPreference,
)
from tuneport.datasets.problems import Rule

__all__ = [
    "PREFERENCE_GRAMMAR",
    "PROMPT_GRAMMAR",
    "OpenAIPreferenceFormat",
    "OpenAIPromptFormat",
    "answer_of",
    "preference_refine",
]

#: One supervised codec (compiling a grammar costs a little) for both kinds of data.
_CHAT = OpenAIFormat()


def answer_of(messages: tuple[Any, ...], report: Report, name: str) -> Any:
    """The parts of the one assistant message in *messages*, or :data:`INVALID` after reporting."""
    if any(m is INVALID for m in messages):
        return INVALID
    if len(messages) != 1:
        report(
            name,
            Rule.COMPLETION_COUNT,
            f"'{name}' holds exactly one assistant message; this one has {len(messages)}",
        )
        return INVALID
    role, parts = messages[0]
    if role is not MODEL:
        report(
            f"{name}[0].role",
            Rule.BAD_ROLE,
            f"'{name}' holds an 'assistant' message, not a {_role_name(role)!r} one",
        )
        return INVALID
    for j, part in enumerate(parts):
        if type(part) is FileRef:
            report(f"{name}[0].content[{j}]", Rule.FILE_PART_NOT_ALLOWED, IMAGES_IN_USER_MESSAGES)
            return INVALID
    return parts


def preference_refine(
    prompt: str, preferred: str, rejected: str, identical: str
) -> Callable[[tuple[Any, Any, Any], Report], Any]:
    """The refine hook of a record of a prompt's chat messages and two one-message answers.

    *prompt* is the messages' path, *preferred* and *rejected* the answers'
    fields; *identical* says the answers are the same.
    """

    def refine(value: tuple[Any, Any, Any], report: Report) -> Any:
        messages, preferred_messages, rejected_messages = value
        split = read_messages(messages, report, prompt, True)
        preferred_parts = answer_of(preferred_messages, report, preferred)
        rejected_parts = answer_of(rejected_messages, report, rejected)
        if split is INVALID or preferred_parts is INVALID or rejected_parts is INVALID:
            return INVALID
        if preferred_parts == rejected_parts:
            report(rejected, Rule.IDENTICAL_COMPLETIONS, identical)
            return INVALID
        system, turns = split
        return LightPreference(system, turns, preferred_parts, rejected_parts)

    return refine


# A tool is refused by its keys (an empty list, as OpenAI's own examples send, is fine).
_TOOL = Record(
    fields=(),
    what="a tool object",
    unknown="tools are not supported in tuneport's datasets (found '{key}')",
)
_INPUT = Record(
    fields=(
        Field(
            "messages",
            _MESSAGES,
            required="'input' needs 'messages'",
        ),
        Field("tools", Array(_TOOL, what="an array of tools"), default=()),
        Field(
            "parallel_tool_calls",
            Choice(
                {True: True, False: False},
                "expected a boolean, got {value!r}",
                rule=Rule.BAD_TYPE,
                kinds=(bool,),
            ),
        ),
    ),
    build="messages",
    what="an object {'messages': [...]}",
    unknown="unknown field '{key}' (input has 'messages')",
    unsupported=frozenset({"functions"}),
)
_OUTPUT = Array(_MESSAGE, what="an array holding one assistant message", keep_invalid=True)


#: An OpenAI DPO example.
PREFERENCE_GRAMMAR = Record(
    fields=(
        Field("input", _INPUT, required="a preference example needs 'input' ({'messages': [...]})"),
        Field("preferred_output", _OUTPUT, required="a preference example needs 'preferred_output'"),
        Field("non_preferred_output", _OUTPUT, required="a preference example needs 'non_preferred_output'"),
    ),
    refine=preference_refine(
        "input.messages", "preferred_output", "non_preferred_output", "the two outputs are the same"
    ),
    what="a JSON object",
    unknown="unknown field '{key}' (expected 'input', 'preferred_output' and 'non_preferred_output')",
)


#: An OpenAI-style chat prompt (distillation).
PROMPT_GRAMMAR = Record(
    fields=(
        Field(
            "messages",
            _MESSAGES,
            required="a prompt needs 'messages'",
        ),
    ),
    refine=prompt_refine("messages"),
    what="a JSON object",
    unknown="unknown field '{key}' (expected 'messages')",
    unsupported=_UNSUPPORTED_TOP,
)


def _answer(parts: tuple[LightPart, ...]) -> list[dict[str, Any]]:
    return [{"role": "assistant", "content": _content(parts)}]


class OpenAIPreferenceFormat(PreferenceCodec):
    """Reads and writes OpenAI DPO examples."""

    format = DatasetFormat.OPENAI
    grammar = PREFERENCE_GRAMMAR
    supervised = _CHAT

    def dump(self, example: LightPreference) -> dict[str, Any]:
        return {
            "input": self.supervised.dump(LightExample(example.system, example.prompt)),
            "preferred_output": _answer(example.preferred),
            "non_preferred_output": _answer(example.rejected),
        }

    def prompt_field(self, path: str | None) -> str | None:
        return f"input.{path}" if path else "input"

    def answer_field(self, example: LightPreference, preferred: bool, part: int | None) -> str:
        name = "preferred_output" if preferred else "non_preferred_output"
        parts = example.preferred if preferred else example.rejected
        base = f"{name}[0].content"
        if part is None or (len(parts) == 1 and isinstance(parts[0], str)):
            return base
        return f"{base}[{part}]"


class OpenAIPromptFormat(PromptCodec):
    """Reads and writes OpenAI-style chat prompts (distillation)."""

    format = DatasetFormat.OPENAI
    grammar = PROMPT_GRAMMAR
    supervised = _CHAT
