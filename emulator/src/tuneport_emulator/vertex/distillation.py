"""What a distillation job's student learns to answer: its teacher's answers to the prompts.

The emulator serves no base model, so a base teacher (``baseTeacherModel``)
cannot be asked: it stands in as an echo teacher, whose answer to a prompt
is the prompt's text.  A tuned teacher (``tunedTeacherModelSource``, a model
of an emulator job) answers as that model does (:mod:`tuneport_emulator.answers`).
"""

from __future__ import annotations

from tuneport_emulator.answers import answer
from tuneport_emulator.vertex.records import Example

__all__ = ["teacher_answers"]


def teacher_answers(prompts: list[Example], teacher: list[Example] | None) -> list[Example]:
    """``prompts`` with their teacher's answers as outputs (``teacher``: a tuned teacher's examples)."""
    if not teacher:
        return [Example(p.input, p.input, p.system) for p in prompts]
    pairs = [(e.input, e.output) for e in teacher]
    return [Example(p.input, answer(pairs, p.input).text, p.system) for p in prompts]
