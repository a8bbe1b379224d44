"""The standard way past a validation rule, kept as data: rule id → :class:`~tuneport.errors.Remedy`.

A report says the fix once per rule, not on every line.  Each surface
spells it its own way: the library with Python keywords and calls
(:meth:`Remedy.python <tuneport.errors.Remedy.python>`:
``tuneport.datasets.convert_dataset(SOURCE, TARGET, to='gemini', policy='split'|'skip')``),
the CLI with flags and commands (:meth:`Remedy.cli <tuneport.errors.Remedy.cli>`:
```tuneport dataset convert SOURCE TARGET --to gemini --policy split|skip```).

Only rules with a way out that is true wherever they are reported have
one; the others (a malformed record, a role out of order) are fixed in
the data itself, which the problem's message explains.
"""

from __future__ import annotations

from collections.abc import Mapping

from tuneport.datasets.problems import Rule
from tuneport.errors import Call, Remedy

__all__ = ["CONVERT_TO_GEMINI", "fixes_for"]

#: Converting a file into the Gemini API's format (single input/output pairs, text only).
CONVERT_TO_GEMINI = Call(
    python="tuneport.datasets.convert_dataset",
    cli="tuneport dataset convert",
    arguments=("SOURCE", "TARGET"),
    options=(("to", "gemini"),),
    flags=(("format", "--from"),),
)

#: The Vertex backend takes what the Gemini API's pairs cannot hold.
_VERTEX = Remedy.advice("use the vertex backend, which takes conversations, system instructions and files")

_FORMATS = ("gemini", "vertex", "openai", "trl", "neutral")
_METHODS = ("supervised", "preference", "distillation")

_FIXES: Mapping[str, tuple[Remedy, ...]] = {
    # Found against pairs-only limits (the Gemini API's models).
    Rule.SYSTEM_NOT_ALLOWED.value: (
        Remedy(
            "system",
            choices=("drop", "prepend"),
            effect="drops each system instruction, or prepends it to the example's input",
            call=CONVERT_TO_GEMINI,
        ),
        _VERTEX,
    ),
    Rule.MULTI_TURN_NOT_ALLOWED.value: (
        Remedy(
            "policy",
            choices=("split", "skip"),
            effect="splits each conversation into a pair per exchange, or leaves it out",
            call=CONVERT_TO_GEMINI,
        ),
        _VERTEX,
    ),
    Rule.FILE_PART_NOT_ALLOWED.value: (
        Remedy("policy", "skip", effect="leaves the examples with files out", call=CONVERT_TO_GEMINI),
        _VERTEX,
    ),
    Rule.UNKNOWN_FORMAT.value: (
        Remedy("format", choices=_FORMATS, effect="names the file's format instead of detecting it"),
    ),
    Rule.METHOD_MISMATCH.value: (
        Remedy("method", choices=_METHODS, effect="names the kind of data the file holds"),
    ),
    Rule.TOO_MANY_EXAMPLES.value: (
        Remedy.advice("keep fewer examples: a sample of the file, up to the maximum"),
    ),
    Rule.TOO_FEW_EXAMPLES.value: (Remedy.advice("add examples up to the minimum"),),
    Rule.DUPLICATE_EXAMPLE.value: (
        Remedy.advice("remove the repeated examples, unless a repeat is meant to weigh more"),
    ),
}


def fixes_for(rule: str | None) -> tuple[Remedy, ...]:
    """The standard ways past *rule* (a rule id), best first; ``()`` when the data itself needs fixing."""
    return _FIXES.get(rule or "", ())
