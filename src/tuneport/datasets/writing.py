"""Writing datasets: examples from memory, or converted from another dataset, atomically.

Output goes to a hidden temporary file beside the target and is renamed
over it only when everything was written, so a failed or interrupted
conversion leaves no partial file and never clobbers a good one.

In a conversion, an example the target can hold is written as is.  One it
cannot hold (a multi-turn conversation as Gemini API pairs, a file part as
text-only…) is decided by the policy:

* ``error`` (default): raise :class:`~tuneport.errors.DatasetError` naming
  the line and the reason; no target file is left behind;
* ``skip``: leave the example out and report it;
* ``split``: for multi-turn → pairs, write one pair per user→model exchange
  (the earlier turns are dropped) and report it; problems splitting cannot
  fix (a system instruction, a file part) are skipped.

Records of the source that are invalid follow the same policy.  A system
instruction the target cannot hold can be dropped or prepended to the
question instead (``system=``, see ``system_instructions.py``).  A
conversion that would write no example raises
:class:`~tuneport.errors.DatasetError` (``empty-dataset``) saying why, and
leaves no target file (an existing one stays as it was).

Each kind of data (a tuning method's: supervised examples, preference
examples, distillation prompts) converts between its own formats
(``method=``).  Some kinds also convert into others (``source_method=``),
keeping what the target kind holds: preference examples become supervised
examples of their preferred answers (Google's DPO recipe, step 1: "tune the
model using supervised fine-tuning on the preferred response data") or
prompts; supervised examples become prompts (their last answer dropped).
Nothing becomes a preference example or a supervised one from prompts:
there is no answer to invent.
"""

from __future__ import annotations

import contextlib
import csv
import io
import os
import secrets
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import IO, Any, Literal

from tuneport._methods import TuningMethod
from tuneport.datasets.formats import (
    Codec,
    DatasetFormat,
    FileLayout,
    Gap,
    codec_for,
    coerce_format,
    coerce_layout,
    coerce_method,
    in_memory_reader,
    method_noun,
)
from tuneport.datasets.formats.neutral import NeutralFormat, NeutralReader
from tuneport.datasets.json_codecs import JsonCodec, resolve_codec
from tuneport.datasets.light import MODEL, LightExample, LightPart, LightPreference, LightPrompt
from tuneport.datasets.problems import FailFastLog, ProblemLog, Rule
from tuneport.datasets.reading import Scan
from tuneport.datasets.sources import IN_MEMORY_NAME, DatasetSource, LocalFile, resolve_source
from tuneport.datasets.system_instructions import (
    SYSTEM_REMEDY,
    SystemHandling,
    check_system_handling,
    drop_system,
    prepend_system,
    relocate_gaps,
)
from tuneport.errors import DatasetError, Problem, Remedy

__all__ = [
    "ConversionPolicy",
    "ConversionReport",
    "SystemHandling",
    "atomic_output",
    "check_writable",
    "convert_dataset",
    "layout_for_path",
    "projection",
    "write_examples",
]

_WRITE_BUFFER = 1 << 20


def layout_for_path(path: Path) -> FileLayout:
    """The layout a target's name asks for: ``.csv``, ``.json``, else JSON Lines."""
    suffix = path.suffix.lower()
    if suffix == ".csv":
        return FileLayout.CSV
    if suffix == ".json":
        return FileLayout.JSON
    return FileLayout.JSONL


def check_writable(target: Codec[Any], layout: FileLayout) -> None:
    """Refuse a layout the format cannot be written in (e.g. Vertex as CSV)."""
    if layout not in target.writable_layouts:
        allowed = ", ".join(sorted(layout.value for layout in target.writable_layouts))
        raise ValueError(f"the {target.format} format cannot be written as {layout.value} (only {allowed})")


@contextlib.contextmanager
def atomic_output(
    path: Path, target: Codec[Any], layout: FileLayout, codec: JsonCodec
) -> Iterator[Callable[[Any], None]]:
    """Yield ``write(example)``; on a clean exit the file appears at *path*, else nothing does."""
    check_writable(target, layout)
    path = Path(path)
    temp = path.with_name(f".{path.name}.{secrets.token_hex(4)}.partial")
    # Mode "xb" (not mkstemp) so the file gets the usual permissions from the umask.
    raw = open(temp, "xb", buffering=_WRITE_BUFFER)  # noqa: SIM115 - closed below on every path
    try:
        with raw:
            if layout is FileLayout.CSV:
                text = io.TextIOWrapper(raw, encoding="utf-8", newline="")
                try:
                    yield _csv_writer(text, target)
                finally:
                    text.detach()  # flushes, and leaves closing the file to `with raw`
            else:
                write, close = _json_writers(raw, target, layout, codec)
                yield write
                close()
            raw.flush()
            os.fsync(raw.fileno())
        os.replace(temp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            temp.unlink()
        raise


def _json_writers(
    raw: IO[bytes], target: Codec[Any], layout: FileLayout, codec: JsonCodec
) -> tuple[Callable[[Any], None], Callable[[], None]]:
    dump, dumps, dumps_line = target.dump, codec.dumps, codec.dumps_line
    if layout is FileLayout.JSONL:

        def write_line(example: Any) -> None:
            raw.write(dumps_line(dump(example)))

        return write_line, lambda: None
    # A JSON array with one element per line, so line numbers stay meaningful.
    raw.write(b"[")
    separator = [b"\n"]

    def write_element(example: Any) -> None:
        raw.write(separator[0])
        raw.write(dumps(dump(example)))
        separator[0] = b",\n"

    def close() -> None:
        raw.write(b"\n]\n")

    return write_element, close


def _csv_writer(text: IO[str], target: Codec[Any]) -> Callable[[Any], None]:
    writer = csv.writer(text)
    writer.writerow(["text_input", "output"])
    dump = target.dump

    def write_row(example: LightExample) -> None:
        row: dict[str, Any] = dump(example)
        try:
            writer.writerow([row["text_input"], row["output"]])
        except csv.Error as exc:
            # Python 3.10's csv module cannot write NUL characters (3.11 can).
            raise ValueError(f"this example cannot be written as CSV ({exc}); use JSON Lines") from exc

    return write_row


def write_examples(
    examples: Iterable[Any],
    path: str | os.PathLike[str],
    *,
    format: DatasetFormat | str,
    layout: FileLayout | str | None = None,
    codec: JsonCodec | None = None,
    method: TuningMethod | str = TuningMethod.SUPERVISED,
) -> int:
    """Write examples to *path* in *format*; return how many were written.

    *examples* are :class:`~tuneport.models.Example` objects (or pairs / pair
    dicts); with *method* ``preference``, :class:`~tuneport.models.PreferenceExample`
    objects (or their fields as dicts); with ``distillation``,
    :class:`~tuneport.models.PromptExample` objects (or prompt strings).
    The layout follows the file name (``.csv``, ``.json``, else JSON Lines)
    unless given.  An example the format cannot hold (e.g. a
    multi-turn one as Gemini API pairs) raises
    :class:`~tuneport.errors.DatasetError` naming its 1-based position, and
    nothing is written.  Use :func:`convert_dataset` for skip/split policies.
    *codec* chooses the JSON library (the fastest installed by default).
    """
    target = Path(path)
    kind = coerce_method(method)
    target_format = codec_for(format, kind)
    chosen = coerce_layout(layout) if layout is not None else layout_for_path(target)
    reader = in_memory_reader(kind)
    fields: NeutralFormat[Any] = NeutralFormat(NeutralReader())
    log = FailFastLog(IN_MEMORY_NAME)
    count = 0
    with atomic_output(target, target_format, chosen, resolve_codec(codec)) as write:
        for index, item in enumerate(examples, 1):
            light = reader.parse(item, index, log)
            assert light is not None  # FailFastLog raised otherwise
            gaps = target_format.gaps(light)
            if gaps:
                gap = gaps[0]
                problem = Problem(
                    message=f"cannot be written as {target_format.format}: {gap.reason}",
                    field=fields.field(light, turn=gap.turn, part=gap.part, system=gap.system),
                    line=index,
                    source=IN_MEMORY_NAME,
                    rule=gap.rule.value,
                )
                raise DatasetError([problem], summary=f"example {index}: {problem.message}")
            write(light)
            count += 1
    return count


# --- conversion ------------------------------------------------------------------------------

#: What to do with an example the target format cannot hold.
ConversionPolicy = Literal["error", "skip", "split"]

_POLICIES = ("error", "skip", "split")

_SKIP_REMEDY = Remedy("policy", "skip", "leaves such examples out")
_SPLIT_REMEDY = Remedy("policy", "split", "splits them into pairs")


@dataclass(frozen=True)
class ConversionReport:
    """The outcome of :func:`convert_dataset`."""

    source: str
    target: str
    source_format: DatasetFormat | None
    target_format: DatasetFormat
    layout: FileLayout
    policy: ConversionPolicy
    #: Records read from the source (valid or not).
    read: int
    #: Examples written to the target (a split example counts once per piece).
    written: int
    #: Source examples written whole, one for one, in the target format (see :attr:`unchanged`).
    converted: int
    #: Source examples split into several.
    split: int
    #: Source records left out (invalid, or not holdable by the target).
    skipped: int
    #: Why each example was skipped or split, with its line (capped).
    problems: tuple[Problem, ...]
    #: True when more problems were found than kept.
    truncated: bool
    #: The kind of data written.
    method: TuningMethod = TuningMethod.SUPERVISED
    #: The kind of data read (another than :attr:`method` when converted into it).
    source_method: TuningMethod = TuningMethod.SUPERVISED
    #: What was done with system instructions the target cannot hold (``None``: they were problems).
    system: SystemHandling | None = None
    #: Source examples written (whole or split) whose system instruction was dropped or prepended.
    system_changed: int = 0
    #: Problems found per rule, kept in :attr:`problems` or not.
    counts_by_rule: Mapping[str, int] = field(default_factory=dict)

    @property
    def same_format(self) -> bool:
        """True when the target has the source's format and kind of data (a rewrite, not a conversion)."""
        return self.source_format is self.target_format and self.method is self.source_method

    @property
    def unchanged(self) -> int:
        """Examples written as they were read: :attr:`converted` when the format is the same, else 0."""
        return self.converted if self.same_format and not self.system_changed else 0

    @property
    def lossless(self) -> bool:
        """True when every source record was written whole (no split, skip, dropped system or kind change)."""
        return self.converted == self.read and self.method is self.source_method and not self.system_changed

    def to_dict(self) -> dict[str, Any]:
        """A JSON-able form (for ``--json`` output)."""
        return {
            "source": self.source,
            "target": self.target,
            "method": self.method.value,
            "source_method": self.source_method.value,
            "source_format": self.source_format.value if self.source_format else None,
            "target_format": self.target_format.value,
            "layout": self.layout.value,
            "policy": self.policy,
            "read": self.read,
            "written": self.written,
            "converted": self.converted,
            "unchanged": self.unchanged,
            "split": self.split,
            "skipped": self.skipped,
            "system": self.system,
            "system_changed": self.system_changed,
            "counts_by_rule": dict(self.counts_by_rule),
            "truncated": self.truncated,
            "problems": [
                {
                    "line": p.line,
                    "field": p.field,
                    "rule": p.rule,
                    "severity": p.severity,
                    "message": p.message,
                }
                for p in self.problems
            ],
        }


def convert_dataset(
    source: DatasetSource,
    target: str | os.PathLike[str],
    *,
    to: DatasetFormat | str,
    policy: ConversionPolicy = "error",
    format: DatasetFormat | str | None = None,
    layout: FileLayout | str | None = None,
    max_problems: int = 100,
    codec: JsonCodec | None = None,
    method: TuningMethod | str = TuningMethod.SUPERVISED,
    source_method: TuningMethod | str | None = None,
    system: SystemHandling | None = None,
) -> ConversionReport:
    """Convert *source* (a file or in-memory examples) into *target* in format *to*.

    *method* is the kind of data written: ``supervised`` examples,
    ``preference`` examples or ``distillation`` prompts, each in its own
    formats (``vertex``, ``openai``, ``trl`` and ``neutral`` for the last
    two).  *source_method* is the kind read (by default the same); a
    different one converts: ``source_method="preference", method="supervised"``
    keeps each prompt with its preferred answer (supervised tuning on the
    preferred answers, the first step of Google's DPO recipe);
    ``preference`` or ``supervised`` into ``distillation`` keeps the prompts.
    Other pairs raise ``ValueError``.

    *system* says what to do with a system instruction the target cannot
    hold (Gemini API pairs): ``"drop"`` it, or ``"prepend"`` its text to
    the question, after a blank line (to every pair's question when
    ``policy="split"`` splits a conversation).  ``None`` (the default) leaves
    such examples to *policy*.  Given for a target that holds system
    instructions, it raises ``ValueError``.

    *format* overrides the detection of the source's format; *layout* the
    target's (by default from its name: ``.csv``, ``.json``, else JSON
    Lines).  *codec* chooses the JSON library that reads and writes (the
    fastest installed by default).  See the module docs for *policy*.  Writing is atomic: with
    policy ``error``, a :class:`~tuneport.errors.DatasetError` naming the
    first line that cannot be converted leaves no target file.  A
    conversion that writes no example (an empty source, every example
    skipped) raises :class:`~tuneport.errors.DatasetError` with rule
    ``empty-dataset``, saying why and how to get past it, and leaves no
    target file either (an existing target stays as it was).
    """
    if policy not in _POLICIES:
        raise ValueError(f"unknown conversion policy {policy!r} (choose from {', '.join(_POLICIES)})")
    target_path = Path(target)
    kind = coerce_method(method)
    from_kind = coerce_method(source_method) if source_method is not None else kind
    project = projection(from_kind, kind)
    target_format = codec_for(to, kind)
    handling = check_system_handling(system, target_format.format, target_format.holds_system)
    codec = resolve_codec(codec)
    chosen = coerce_layout(layout) if layout is not None else layout_for_path(target_path)
    check_writable(target_format, chosen)
    resolved = resolve_source(source)
    if isinstance(resolved, LocalFile) and _same_file(resolved.path, target_path):
        raise ValueError(f"the target {target_path} is the source; write to another file")
    log: ProblemLog = (
        FailFastLog(resolved.name)
        if policy == "error"
        else ProblemLog(resolved.name, max_problems=max_problems)
    )
    scan: Scan[Any] = Scan(resolved, log, format=format, codec=codec, method=from_kind)
    skip_remedies = _skip_remedies(policy, handling)
    converted = split = written = changed = unfit = 0
    skipped_for: Counter[str] = Counter()  # why examples the target cannot hold were skipped: rule → examples
    with atomic_output(target_path, target_format, chosen, codec) as write:
        for line, read, _ in scan:
            # A converted example's turn indices are those of the one read: problems locate in the source.
            example = project(read) if project is not None else read
            if handling is not None and example.system:
                example, bare, system_parts, gaps = _handle_system(target_format, example, handling)
            else:
                bare, system_parts, gaps = example, (), target_format.gaps(example)
            if not gaps:
                write(example)
                converted += 1
                written += 1
                changed += bool(system_parts)
                continue
            pieces = _pieces(target_format, bare, gaps) if policy == "split" else None
            if policy == "error":
                _raise_unconvertible(scan, line, read, gaps, target_format.format)
            elif pieces is None:
                _report(scan, log, line, read, gaps, "skipped", skip_remedies)
                skipped_for.update({gap.rule.value for gap in gaps})
                unfit += 1
            else:
                if system_parts and handling == "prepend":
                    # The instruction governed every answer of the conversation: each pair keeps it.
                    pieces = [_prepended(piece, system_parts) for piece in pieces]
                for piece in pieces:
                    write(piece)
                written += len(pieces)
                split += 1
                changed += bool(system_parts)
                _report(scan, log, line, read, gaps, f"split into {len(pieces)} pairs")
        if not written:
            # Raised inside the block: the temporary file goes, and no empty target appears.
            _raise_nothing_written(scan, target_path, log, skipped_for, unfit, policy, handling)
    return ConversionReport(
        source=resolved.name,
        target=str(target_path),
        source_format=scan.format,
        target_format=coerce_format(to),
        layout=chosen,
        policy=policy,
        read=scan.records,
        written=written,
        converted=converted,
        split=split,
        skipped=scan.records - converted - split,
        problems=tuple(log.problems),
        truncated=log.truncated,
        method=kind,
        source_method=from_kind,
        system=handling,
        system_changed=changed,
        counts_by_rule=dict(log.counts_by_rule),
    )


def _handle_system(
    target: Codec[Any], example: Any, handling: SystemHandling
) -> tuple[Any, Any, tuple[LightPart, ...], list[Gap]]:
    """``(example to write, it without a system instruction, the system parts moved, its gaps)``.

    The parts moved are empty when the instruction could not be moved (a
    file part cannot be prepended as text): the example stays as read.
    """
    bare = drop_system(example)
    if handling == "drop":
        return bare, bare, example.system, target.gaps(bare)
    prepended = prepend_system(bare, example.system)
    if prepended is None:
        return example, bare, (), relocate_gaps(target.gaps(example), example)
    return prepended, bare, example.system, target.gaps(prepended)


def _prepended(piece: Any, system: tuple[LightPart, ...]) -> Any:
    found = prepend_system(piece, system)
    assert found is not None  # a text-only instruction, and pieces start with a user turn
    return found


def _preferred(example: LightPreference) -> LightExample:
    return LightExample(example.system, (*example.prompt, (MODEL, example.preferred)))


def _preference_prompt(example: LightPreference) -> LightPrompt:
    return LightPrompt(example.system, example.prompt)


def _example_prompt(example: LightExample) -> LightPrompt:
    return LightPrompt(example.system, example.turns[:-1])


_PROJECTIONS: dict[tuple[TuningMethod, TuningMethod], Callable[[Any], Any]] = {
    (TuningMethod.PREFERENCE, TuningMethod.SUPERVISED): _preferred,
    (TuningMethod.PREFERENCE, TuningMethod.DISTILLATION): _preference_prompt,
    (TuningMethod.SUPERVISED, TuningMethod.DISTILLATION): _example_prompt,
}


def projection(source: TuningMethod, target: TuningMethod) -> Callable[[Any], Any] | None:
    """How one kind of data becomes another (``None``: the same kind); ``ValueError`` when it cannot."""
    if source is target:
        return None
    found = _PROJECTIONS.get((source, target))
    if found is None:
        missing = "rejected answers" if target is TuningMethod.PREFERENCE else "answers"
        raise ValueError(
            f"{method_noun(source)} cannot be converted into {method_noun(target)}: they have no {missing} "
            "(preference examples convert into supervised examples and prompts, "
            "supervised examples into prompts)"
        )
    return found


def _pieces(target: Codec[Any], example: LightExample, gaps: list[Gap]) -> list[LightExample] | None:
    if any(gap.rule is not Rule.MULTI_TURN_NOT_ALLOWED for gap in gaps):
        return None
    return target.split(example)


def _report(
    scan: Scan[Any],
    log: ProblemLog,
    line: int,
    example: Any,
    gaps: list[Gap],
    action: str,
    remedies: Callable[[Gap], tuple[Remedy, ...]] = lambda gap: (),
) -> None:
    # Reported as warnings: the conversion went on, as the policy asked.
    for gap in gaps:
        field = scan.field(example, turn=gap.turn, part=gap.part, system=gap.system)
        kept = len(log.problems)
        log.report_as_warning(line, field, gap.rule, f"{action}: {gap.reason}")
        found = remedies(gap)
        if found and len(log.problems) > kept:
            log.problems[-1] = replace(log.problems[-1], remedies=found)


def _skip_remedies(
    policy: ConversionPolicy, handling: SystemHandling | None
) -> Callable[[Gap], tuple[Remedy, ...]]:
    """The options that would have written a skipped example instead (by the gap that made it skip)."""

    def remedies(gap: Gap) -> tuple[Remedy, ...]:
        if gap.rule is Rule.SYSTEM_NOT_ALLOWED and handling is None:
            return (SYSTEM_REMEDY,)
        if gap.rule is Rule.MULTI_TURN_NOT_ALLOWED and policy == "skip":
            return (_SPLIT_REMEDY,)
        return ()

    return remedies


def _raise_unconvertible(
    scan: Scan[Any], line: int, example: Any, gaps: list[Gap], target: DatasetFormat
) -> None:
    gap = gaps[0]
    remedies: tuple[Remedy, ...] = (_SKIP_REMEDY,)
    if gap.rule is Rule.SYSTEM_NOT_ALLOWED:
        remedies = (SYSTEM_REMEDY, _SKIP_REMEDY)
    elif gap.rule is Rule.MULTI_TURN_NOT_ALLOWED:
        remedies = (_SKIP_REMEDY, _SPLIT_REMEDY)
    problem = Problem(
        message=gap.reason,
        field=scan.field(example, turn=gap.turn, part=gap.part, system=gap.system),
        line=line,
        source=scan.name,
        rule=gap.rule.value,
        remedies=remedies,
    )
    # The headline says what failed; the problem says why and the ways past it (str() spells them).
    raise DatasetError([problem], summary=f"{scan.name}:{line}: cannot be converted to {target}")


def _raise_nothing_written(
    scan: Scan[Any],
    target: Path,
    log: ProblemLog,
    skipped_for: Counter[str],
    unfit: int,
    policy: ConversionPolicy,
    handling: SystemHandling | None,
) -> None:
    """Raise ``empty-dataset``: why no example was written, and the options that would write some."""
    records = scan.records
    if not records:
        message = "the source holds no record"
    else:
        reasons = [f"{rule} in {count}" for rule, count in skipped_for.most_common()]
        if records > unfit:
            reasons.append(f"invalid in {records - unfit}")
        every = f"all {records} records were" if records > 1 else "its one record was"
        message = f"{every} skipped ({', '.join(reasons)})"
    remedies: list[Remedy] = []
    if skipped_for[Rule.SYSTEM_NOT_ALLOWED.value] and handling is None:
        remedies.append(SYSTEM_REMEDY)
    if skipped_for[Rule.MULTI_TURN_NOT_ALLOWED.value] and policy == "skip":
        remedies.append(_SPLIT_REMEDY)
    problem = Problem(
        message=message, source=scan.name, rule=Rule.EMPTY_DATASET.value, remedies=tuple(remedies)
    )
    raise DatasetError([problem, *log.problems], summary=f"{scan.name}: no example was written to {target}")


def _same_file(a: Path, b: Path) -> bool:
    try:
        return b.exists() and os.path.samefile(a, b)
    except OSError:
        return False
