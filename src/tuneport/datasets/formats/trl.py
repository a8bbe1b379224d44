"""The ``prompt`` / ``chosen`` / ``rejected`` JSONL of TRL and Hugging Face datasets, and ``{"prompt"}``.

* **Preference**: ``{"prompt": ..., "chosen": ..., "rejected": ...}``, each a
  string or a list of chat messages (``{"role", "content"}``, the OpenAI
  chat form; a ``system`` message first holds the system instruction).  A
  string prompt is one user turn; a string answer one assistant turn; a
  message-list answer holds exactly one assistant message.  This is TRL's
  "explicit prompt" preference type (https://huggingface.co/docs/trl/dataset_formats);
  the "implicit prompt" type (no ``prompt``, whole conversations in
  ``chosen`` / ``rejected``) is not read.
* **Prompts** (distillation): ``{"prompt": ...}`` (TRL's prompt-only type).

Text only: TRL keeps images in a column of their own, which tuneport does not read.
"""

from __future__ import annotations

from typing import Any

from tuneport.datasets.formats.base import DatasetFormat, Gap, GrammarCodec
from tuneport.datasets.formats.grammar import Field, Record, StringOrArray, Text
from tuneport.datasets.formats.openai import _MESSAGES, _SYSTEM, _content, prompt_refine
from tuneport.datasets.formats.openai_methods import preference_refine
from tuneport.datasets.light import (
    MODEL,
    USER,
    FileRef,
    LightPart,
    LightPreference,
    LightPrompt,
    LightTurn,
    turns_of,
)
from tuneport.datasets.problems import Rule

__all__ = ["PREFERENCE_GRAMMAR", "PROMPT_GRAMMAR", "TrlPreferenceFormat", "TrlPromptFormat"]


def _user_text(text: str) -> tuple[LightTurn, ...]:
    return ((USER, (text,)),)


def _model_text(text: str) -> tuple[LightTurn, ...]:
    return ((MODEL, (text,)),)


_PROMPT = Field(
    "prompt",
    StringOrArray(Text(), _MESSAGES, what="a string or an array of messages", text_build=_user_text),
    required="an example needs a 'prompt'",
)


def _answer_field(name: str) -> Field:
    return Field(
        name,
        StringOrArray(Text(), _MESSAGES, what="a string or an array of messages", text_build=_model_text),
        required=f"a preference example needs '{name}'",
    )


#: A TRL preference example (explicit prompt).
PREFERENCE_GRAMMAR = Record(
    fields=(_PROMPT, _answer_field("chosen"), _answer_field("rejected")),
    refine=preference_refine("prompt", "chosen", "rejected", "'chosen' and 'rejected' are the same"),
    what="a JSON object",
    unknown="unknown field '{key}' (expected 'prompt', 'chosen' and 'rejected')",
)


#: A TRL prompt-only example.
PROMPT_GRAMMAR = Record(
    fields=(_PROMPT,),
    refine=prompt_refine("prompt"),
    what="a JSON object",
    unknown="unknown field '{key}' (a prompt has 'prompt')",
)


def _plain(parts: tuple[LightPart, ...]) -> bool:
    return len(parts) == 1 and isinstance(parts[0], str)


def _prompt_is_text(system: tuple[LightPart, ...], prompt: tuple[LightTurn, ...]) -> bool:
    """Written (and located) as a plain string: one user turn of one text part, no system."""
    return not system and len(prompt) == 1 and _plain(prompt[0][1])


def _dump_prompt(system: tuple[LightPart, ...], prompt: tuple[LightTurn, ...]) -> Any:
    if _prompt_is_text(system, prompt):
        return prompt[0][1][0]
    messages: list[dict[str, Any]] = []
    if system:
        messages.append({"role": _SYSTEM, "content": _content(system)})
    messages += [{"role": "user" if r is USER else "assistant", "content": _content(p)} for r, p in prompt]
    return messages


def _dump_answer(parts: tuple[LightPart, ...]) -> Any:
    if _plain(parts):
        return parts[0]
    return [{"role": "assistant", "content": _content(parts)}]


def _text_only(system: tuple[LightPart, ...], turns: tuple[LightTurn, ...]) -> list[Gap]:
    reason = "the trl format holds text only"
    gaps = [
        Gap(Rule.FILE_PART_NOT_ALLOWED, reason, part=j, system=True)
        for j, p in enumerate(system)
        if isinstance(p, FileRef)
    ]
    for i, (_, parts) in enumerate(turns):
        gaps += [
            Gap(Rule.FILE_PART_NOT_ALLOWED, reason, turn=i, part=j)
            for j, p in enumerate(parts)
            if isinstance(p, FileRef)
        ]
    return gaps


def _prompt_field(
    system_parts: tuple[LightPart, ...],
    prompt: tuple[LightTurn, ...],
    turn: int | None,
    part: int | None,
    system: bool,
) -> str:
    if _prompt_is_text(system_parts, prompt):
        return "prompt"
    if system:
        base, parts = "prompt[0].content", system_parts
    elif turn is None:
        return "prompt"
    else:
        base, parts = f"prompt[{turn + (1 if system_parts else 0)}].content", prompt[turn][1]
    if part is None or _plain(parts):
        return base
    return f"{base}[{part}]"


class TrlPreferenceFormat(GrammarCodec[LightPreference]):
    """Reads and writes ``prompt`` / ``chosen`` / ``rejected`` examples."""

    format = DatasetFormat.TRL
    grammar = PREFERENCE_GRAMMAR
    light = LightPreference

    def dump(self, example: LightPreference) -> dict[str, Any]:
        return {
            "prompt": _dump_prompt(example.system, example.prompt),
            "chosen": _dump_answer(example.preferred),
            "rejected": _dump_answer(example.rejected),
        }

    def gaps(self, example: LightPreference) -> list[Gap]:
        return _text_only(example.system, turns_of(example))

    def field(
        self,
        example: LightPreference,
        *,
        turn: int | None = None,
        part: int | None = None,
        system: bool = False,
    ) -> str | None:
        if system or turn is None or turn < len(example.prompt):
            return _prompt_field(example.system, example.prompt, turn, part, system)
        preferred = turn == len(example.prompt)
        name = "chosen" if preferred else "rejected"
        parts = example.preferred if preferred else example.rejected
        if _plain(parts):
            return name
        return f"{name}[0].content" + (f"[{part}]" if part is not None else "")


class TrlPromptFormat(GrammarCodec[LightPrompt]):
    """Reads and writes ``{"prompt": ...}`` examples (distillation)."""

    format = DatasetFormat.TRL
    grammar = PROMPT_GRAMMAR
    light = LightPrompt

    def dump(self, example: LightPrompt) -> dict[str, Any]:
        return {"prompt": _dump_prompt(example.system, example.prompt)}

    def gaps(self, example: LightPrompt) -> list[Gap]:
        return _text_only(example.system, example.prompt)

    def field(
        self, example: LightPrompt, *, turn: int | None = None, part: int | None = None, system: bool = False
    ) -> str | None:
        return _prompt_field(example.system, example.prompt, turn, part, system)
