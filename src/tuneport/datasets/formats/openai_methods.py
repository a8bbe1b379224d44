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

from typing import Any

from tuneport.datasets.formats.base import DatasetFormat, PreferenceCodec, PromptCodec
from tuneport.datasets.formats.grammar import INVALID, Array, Choice, Field, Record, Report
from tuneport.datasets.formats.openai import (
    _MESSAGE,
    _UNSUPPORTED_TOP,
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
            report(
                f"{name}[0].content[{j}]",
                Rule.FILE_PART_NOT_ALLOWED,
                "OpenAI accepts image parts in user messages only",
            )
            return INVALID
    return parts


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
            Array(_MESSAGE, what="an array of messages", keep_invalid=True),
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


def _preference(value: tuple[Any, Any, Any], report: Report) -> Any:
    messages, preferred_messages, rejected_messages = value
    prompt = read_messages(messages, report, "input.messages", prompt=True)
    preferred = answer_of(preferred_messages, report, "preferred_output")
    rejected = answer_of(rejected_messages, report, "non_preferred_output")
    if prompt is INVALID or preferred is INVALID or rejected is INVALID:
        return INVALID
    if preferred == rejected:
        report("non_preferred_output", Rule.IDENTICAL_COMPLETIONS, "the two outputs are the same")
        return INVALID
    system, turns = prompt
    return LightPreference(system, turns, preferred, rejected)


#: An OpenAI DPO example.
PREFERENCE_GRAMMAR = Record(
    fields=(
        Field("input", _INPUT, required="a preference example needs 'input' ({'messages': [...]})"),
        Field("preferred_output", _OUTPUT, required="a preference example needs 'preferred_output'"),
        Field("non_preferred_output", _OUTPUT, required="a preference example needs 'non_preferred_output'"),
    ),
    refine=_preference,
    what="a JSON object",
    unknown="unknown field '{key}' (expected 'input', 'preferred_output' and 'non_preferred_output')",
)


#: An OpenAI-style chat prompt (distillation).
PROMPT_GRAMMAR = Record(
    fields=(
        Field(
            "messages",
            Array(_MESSAGE, what="an array of messages", keep_invalid=True),
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
