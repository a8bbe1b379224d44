"""Per-example checks beyond the format: the limits of a backend or base model, and duplicates.

Limit rules run on examples that are already well-formed; they depend on a
:class:`DatasetLimits`, and report with the field paths of the source's own
format.  Validation and stats share them.

Duplicates are found in bounded memory.  Each example is reduced to a 60-bit
digest (Python's ``hash`` of its light form: SipHash of every string,
combined) kept in a set.  Memory is about 80-100 bytes per distinct example
(a 32-byte int, its set slot at the set's load factor, and 16 bytes to find
the first occurrence's line): ~90 MB for a million examples, whatever their
size.  A digest collision (a false "duplicate") has odds of about n²/2⁶¹,
under one in a million for a million examples.  Digests are per process
(hash randomization), which is all a single pass needs.
"""

from __future__ import annotations

from array import array
from collections.abc import Callable, Hashable
from typing import Any, Union

from tuneport._methods import TuningMethod
from tuneport.datasets.light import (
    FileRef,
    LightExample,
    LightPreference,
    LightPrompt,
    iter_file_parts,
    prompt_has_file_parts,
    turns_of,
)
from tuneport.datasets.limits import DatasetLimits
from tuneport.datasets.measure import (
    MAX_TOKENS_PER_BYTE,
    PreferenceSize,
    PromptSize,
    example_token_bound,
    example_tokens,
    input_output_chars,
    measure_preference,
    measure_prompt,
)
from tuneport.datasets.problems import ProblemLog, Rule
from tuneport.datasets.reading import Scan

__all__ = ["DuplicateFinder", "ExampleChecks", "PromptChecks", "checks_for", "digest_of"]

#: ``check(line, example, size in bytes or None)``.
Check = Callable[[int, Any, Union[int, None]], None]


class _LimitChecks:
    """What the checks of every kind of data share: the limits, the active checks, the file-part rules."""

    def __init__(self, limits: DatasetLimits, scan: Scan[Any], log: ProblemLog) -> None:
        self.limits = limits
        self.scan: Scan[Any] = scan
        self.log = log
        self._files = limits.text_only or limits.allowed_mime_types is not None
        self._chars = limits.max_input_chars is not None or limits.max_output_chars is not None
        #: False when no per-example limit is set (the caller can skip the call).
        self.active = limits.pairs_only or self._files or self._chars or limits.max_example_tokens is not None

    def _no_system(self, line: int, example: Any) -> None:
        self.log.report(
            line,
            self.scan.field(example, system=True),
            Rule.SYSTEM_NOT_ALLOWED,
            "this backend takes no system instruction (single input/output pairs only)",
        )

    def _file(self, line: int, example: Any, turn: int | None, part: int, ref: FileRef) -> None:
        field = self.scan.field(example, turn=turn, part=part, system=turn is None)
        if self.limits.text_only:
            self.log.report(
                line, field, Rule.FILE_PART_NOT_ALLOWED, "this backend takes text only, no file parts"
            )
            return
        allowed = self.limits.allowed_mime_types
        if allowed is not None and ref.mime_type not in allowed:
            shown = repr(ref.mime_type) if ref.mime_type else "an unknown MIME type"
            self.log.report(
                line,
                field,
                Rule.MIME_TYPE_NOT_ALLOWED,
                f"{ref.uri!r} has {shown}; allowed: {', '.join(sorted(allowed))}",
            )


class ExampleChecks(_LimitChecks):
    """Checks one example against the per-example fields of a :class:`DatasetLimits`."""

    def compiled(self) -> Callable[[int, LightExample, int | None], None] | None:
        """The cheapest callable that makes the active checks (``None`` when none is active)."""
        if not self.active:
            return None
        limits = self.limits
        max_tokens = limits.max_example_tokens
        if max_tokens is None or limits.pairs_only or self._files or self._chars:
            return self.__call__
        # Only a token limit (the common Vertex case): most records are too
        # small to reach it, which their size alone shows.
        check = self.__call__

        def token_limit_only(line: int, example: LightExample, size: int | None) -> None:
            if size is None or size * MAX_TOKENS_PER_BYTE > max_tokens:
                check(line, example, size)

        return token_limit_only

    def __call__(self, line: int, example: LightExample, size: int | None = None) -> None:
        """Check one example; *size* (its bytes in the file, if known) lets cheap bounds skip work."""
        limits, log = self.limits, self.log
        if limits.pairs_only:
            if example.system:
                self._no_system(line, example)
            if len(example.turns) != 2:
                log.report(
                    line,
                    self.scan.field(example),
                    Rule.MULTI_TURN_NOT_ALLOWED,
                    f"this backend takes one input and one output per example; this one has "
                    f"{len(example.turns)} turns",
                )
        if self._files:
            for turn, part, ref in iter_file_parts(example):
                self._file(line, example, turn, part, ref)
        if self._chars:
            input_chars, output_chars = input_output_chars(example)
            if limits.max_input_chars is not None and input_chars > limits.max_input_chars:
                log.report(
                    line,
                    self.scan.field(example, turn=0) if len(example.turns) == 2 else self.scan.field(example),
                    Rule.INPUT_TOO_LONG,
                    f"the input has {input_chars:,} characters; the limit is {limits.max_input_chars:,}",
                )
            if limits.max_output_chars is not None and output_chars > limits.max_output_chars:
                log.report(
                    line,
                    self.scan.field(example, turn=len(example.turns) - 1),
                    Rule.OUTPUT_TOO_LONG,
                    f"the output has {output_chars:,} characters; the limit is {limits.max_output_chars:,}",
                )
        max_tokens = limits.max_example_tokens
        if (
            max_tokens is not None
            and (size is None or size * MAX_TOKENS_PER_BYTE > max_tokens)
            and example_token_bound(example) > max_tokens
        ):
            tokens = example_tokens(example)
            if tokens > max_tokens:
                log.report(
                    line,
                    None,
                    Rule.EXAMPLE_TOO_LONG_TOKENS,
                    f"about {tokens:,} tokens (estimated); the service truncates examples "
                    f"over {max_tokens:,}",
                )


class PromptChecks(_LimitChecks):
    """Checks one preference example or prompt against the per-example fields of a :class:`DatasetLimits`.

    The limits read as for supervised examples, where "input" is the prompt
    (system instruction included) and "output" each answer: ``pairs_only``
    asks for a one-turn prompt without a system instruction, and
    ``max_example_tokens`` bounds the prompt plus the longer answer
    (Google: "the sum of maximum input and maximum completion token counts
    must be <= 128K"), or the prompt alone for distillation.
    """

    def compiled(self) -> Check | None:
        """The check (``None`` when no limit applies)."""
        return self.__call__ if self.active else None

    def __call__(self, line: int, example: LightPreference | LightPrompt, size: int | None = None) -> None:
        """Check one example; *size* (its bytes in the file, if known) lets a cheap bound skip the tokens."""
        limits = self.limits
        if limits.pairs_only:
            self._pairs(line, example)
        if self._files and prompt_has_file_parts(example):
            flat = LightExample(example.system, turns_of(example))
            for turn, part, ref in iter_file_parts(flat):
                self._file(line, example, turn, part, ref)
        max_tokens = limits.max_example_tokens
        # A record of n bytes holds at most n * MAX_TOKENS_PER_BYTE tokens: most need no measuring.
        over_tokens = max_tokens is not None and (size is None or size * MAX_TOKENS_PER_BYTE > max_tokens)
        if not (self._chars or over_tokens):
            return
        preference = measure_preference(example) if type(example) is LightPreference else None
        prompt = preference.prompt if preference is not None else measure_prompt(example)
        if self._chars:
            self._char_limits(line, example, prompt, preference)
        if over_tokens:
            assert max_tokens is not None
            tokens = preference.longest_sequence_tokens if preference is not None else prompt.tokens
            if tokens > max_tokens:
                what = "the prompt and the longer answer have" if preference is not None else "the prompt has"
                self.log.report(
                    line,
                    None,
                    Rule.EXAMPLE_TOO_LONG_TOKENS,
                    f"{what} about {tokens:,} tokens (estimated); the service truncates examples over "
                    f"{max_tokens:,}",
                )

    def _pairs(self, line: int, example: LightPreference | LightPrompt) -> None:
        if example.system:
            self._no_system(line, example)
        if len(example.prompt) != 1:
            self.log.report(
                line,
                self.scan.field(example, turn=len(example.prompt) - 1),
                Rule.MULTI_TURN_NOT_ALLOWED,
                f"this backend takes a one-turn prompt; this one has {len(example.prompt)} turns",
            )

    def _char_limits(
        self,
        line: int,
        example: LightPreference | LightPrompt,
        prompt: PromptSize,
        preference: PreferenceSize | None,
    ) -> None:
        limits, field = self.limits, self.scan.field
        chars = prompt.system_chars + prompt.prompt_chars
        if limits.max_input_chars is not None and chars > limits.max_input_chars:
            self.log.report(
                line,
                field(example, turn=len(example.prompt) - 1),
                Rule.INPUT_TOO_LONG,
                f"the prompt has {chars:,} characters; the limit is {limits.max_input_chars:,}",
            )
        if preference is None or limits.max_output_chars is None:
            return
        answers = ((preference.preferred_chars, "preferred"), (preference.rejected_chars, "rejected"))
        for offset, (answer_chars, name) in enumerate(answers):
            if answer_chars > limits.max_output_chars:
                self.log.report(
                    line,
                    field(example, turn=len(example.prompt) + offset),
                    Rule.OUTPUT_TOO_LONG,
                    f"the {name} answer has {answer_chars:,} characters; "
                    f"the limit is {limits.max_output_chars:,}",
                )


def checks_for(limits: DatasetLimits, scan: Scan[Any], log: ProblemLog) -> Check | None:
    """The per-example check of *scan*'s kind of data (``None`` when no limit applies)."""
    if scan.method is TuningMethod.SUPERVISED:
        return ExampleChecks(limits, scan, log).compiled()
    return PromptChecks(limits, scan, log).compiled()


# --- duplicates ------------------------------------------------------------------------------

_MASK = (1 << 60) - 1  # ints below 2**60 take 32 bytes in CPython; wider ones take 36-40


def digest_of(example: Hashable) -> int:
    """The 60-bit digest of an example (valid within one process and its forks).

    A preference example is the same whichever order its source listed the
    answers in (``swapped`` is left out).
    """
    if type(example) is LightPreference:
        return hash(example[:4]) & _MASK
    return hash(example) & _MASK


#: The set of seen digests is split in this many shards (by the digest's low bits).
_SHARDS = 64


class DuplicateFinder:
    """Remembers examples by digest; tells the line of the first copy of a repeat.

    The digests are kept in many small sets rather than one big one: growing
    a set rehashes it, and freeing it frees every entry, each in one C call
    that holds the GIL.  With a million examples one set makes 20-60 ms
    pauses in every other thread — an event loop waiting on this scan among
    them; a shard is 1/64th of that.  :meth:`release` frees them one by one.
    """

    def __init__(self) -> None:
        self._shards: list[set[int]] = [set() for _ in range(_SHARDS)]
        # Digests and lines in arrival order, only to name the first copy of a
        # duplicate; a C-speed search over 8-byte records, done a bounded number of times.
        self._digests: array[int] = array("Q")
        self._lines: array[int] = array("Q")
        self._last = 0
        # Bound methods looked up once: add() runs once per example.
        self._digests_append = self._digests.append
        self._lines_append = self._lines.append

    def add(self, line: int, example: Hashable) -> bool:
        """Remember *example*; True when an identical one came before (see :meth:`first_line`)."""
        # The body of add_digest, repeated: this runs once per example.  One
        # probe of the set instead of two ("in", then "add"): it is large and
        # a probe is usually a cache miss.
        digest = hash(example) & _MASK
        seen = self._shards[digest & (_SHARDS - 1)]
        before = len(seen)
        seen.add(digest)
        if len(seen) == before:
            self._last = digest
            return True
        self._digests_append(digest)
        self._lines_append(line)
        return False

    def add_digest(self, line: int, digest: int) -> bool:
        """:meth:`add` for a digest computed elsewhere (by :func:`digest_of`, in this process or a fork)."""
        seen = self._shards[digest & (_SHARDS - 1)]
        if digest in seen:
            self._last = digest
            return True
        seen.add(digest)
        self._digests_append(digest)
        self._lines_append(line)
        return False

    def release(self) -> None:
        """Forget every digest, a shard at a time (so no single step holds the GIL for long)."""
        for shard in self._shards:
            shard.clear()

    def first_line(self) -> int | None:
        """The line of the first copy of the last duplicate :meth:`add` found."""
        # A byte search over a copy: C speed, and called only for kept problems.
        needle = array("Q", [self._last]).tobytes()
        haystack = self._digests.tobytes()
        start = 0
        while True:
            at = haystack.find(needle, start)
            if at < 0:
                return None
            if at % 8 == 0:
                return self._lines[at // 8]
            start = at + 1
