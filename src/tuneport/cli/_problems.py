"""How the CLI shows a list of problems: grouped by rule, with real counts and the fix said once.

One renderer for every command that reports problems (``dataset validate``,
``create --dry-run``, an invalid spec or dataset refused by ``create`` or
``convert``)::

    error role-order: 125 errors, first 10 shown
      line 2 contents[2].role: the last turn must be a 'model' turn (the answer to learn)
      …
    error system-not-allowed: 20 errors, first 10 shown
      line 1 systemInstruction: this backend takes no system instruction (single input/output pairs only)
      …
      fix: `tuneport dataset convert sys.jsonl TARGET --to gemini --system drop|prepend` drops …;
      or use the vertex backend, which takes conversations, system instructions and files
    first 100 of 250 problems kept (--max-problems keeps more; the counts above are of all)

A group's count is every problem of its rule, kept or not, where the
caller knows it (a validation report's ``counts_by_rule``).  Its fix is the
problems' own remedies when they carry some, else the rule's standard fix
(:mod:`tuneport.datasets.fixes`), spelt as this command's flags.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from rich.console import Console

    from tuneport.errors import Problem, Remedy

__all__ = ["SHOWN_PER_RULE", "cap_line", "fix_line", "print_problems"]

#: Problems shown per rule (``--json`` has every one kept).
SHOWN_PER_RULE = 10

_STYLE = {"error": "red", "warning": "yellow"}


def print_problems(
    console: Console,
    problems: Sequence[Problem],
    *,
    counts_by_rule: Mapping[str, int] | None = None,
    source: str | None = None,
    flags: Mapping[str, str] | None = None,
    shown_per_rule: int = SHOWN_PER_RULE,
    standard_fixes: bool = True,
) -> None:
    """Print *problems* grouped by severity and rule: a headline per rule with its count, the first
    *shown_per_rule* problems, then the rule's fix once (a fix another group already said is not
    repeated).

    *counts_by_rule* gives the real count of each rule (problems found, kept or not); *source*
    is left out of the lines of problems in that file (the caller named it already); *flags*
    maps a Python keyword to this command's flag (``{"format": "--from"}``), or to ``""`` where
    the command has none (a remedy naming it is then not offered).  Without
    *standard_fixes*, only the problems' own remedies are said (``dataset convert``: a rule's
    standard fix, a conversion, is what the command just did).
    """
    from rich.text import Text

    from tuneport.errors import redact

    groups: dict[tuple[str, str], list[Problem]] = {}
    for problem in dict.fromkeys(problems):  # one found twice (by the backend and the data's check) once
        groups.setdefault((problem.severity, problem.rule or "problem"), []).append(problem)
    order = sorted(groups, key=lambda key: key[0] != "error")  # errors first, else in the order found
    said: set[str] = set()  # a fix is said once: an empty conversion's error and its skips share one
    for severity, rule in order:
        members = groups[(severity, rule)]
        count = max(len(members), (counts_by_rule or {}).get(rule, 0))
        noun = severity if count == 1 else f"{severity}s"
        head = f"{rule}: {count:,} {noun}"
        if count > min(len(members), shown_per_rule):
            head += f", first {min(len(members), shown_per_rule)} shown"
        line = Text.assemble((severity, _STYLE.get(severity, "")), " ", head)
        console.print(line, highlight=False, soft_wrap=True)
        for problem in members[:shown_per_rule]:
            # Masked as an error's message is: a problem may quote a value that holds a key.
            shown = redact(_located(problem, source))
            console.print(f"  {shown}", markup=False, highlight=False, soft_wrap=True)
        fix = fix_line(members, flags=flags, source=source, standard=standard_fixes)
        if fix and fix not in said:
            said.add(fix)
            console.print(f"  {redact(fix)}", markup=False, highlight=False, soft_wrap=True)


def fix_line(
    problems: Sequence[Problem],
    *,
    flags: Mapping[str, str] | None = None,
    source: str | None = None,
    standard: bool = True,
) -> str | None:
    """``fix: …`` for a group of problems of one rule: their own remedies, else (with *standard*)
    the rule's standard fix."""
    from tuneport.datasets.fixes import fixes_for

    remedies: list[Remedy] = []
    for problem in problems:
        remedies.extend(r for r in problem.remedies if r not in remedies)
    if not remedies and problems and standard:
        remedies = list(fixes_for(problems[0].rule))
    # A keyword the command maps to "" has no flag there (create reads no --format): not offered.
    remedies = [
        r for r in remedies if r.call is not None or not r.option or (flags or {}).get(r.option) != ""
    ]
    if not remedies:
        return None
    arguments = {"SOURCE": source or problems[0].source or "SOURCE"}
    return "fix: " + "; or ".join(remedy.cli(flags, arguments) for remedy in remedies)


def cap_line(kept: int, total: int, *, hint: str = "--max-problems keeps more") -> str | None:
    """``first 100 of 250 problems kept (--max-problems keeps more)`` when fewer were kept than found."""
    if total <= kept:
        return None
    return f"first {kept:,} of {total:,} problems kept ({hint}; the counts above are of all)"


def _located(problem: Problem, source: str | None) -> str:
    """Where, then what (the rule is the group's headline): ``line 3 contents[1].role: message`` in
    the file the caller named, else as the problem's text has it: ``data.jsonl:3: contents[1].role: …``."""
    if problem.source and problem.source != source:
        return str(replace(problem, rule=None, remedies=()))
    where = [f"line {problem.line}"] if problem.line is not None else []
    if problem.field:
        where.append(problem.field)
    return f"{' '.join(where)}: {problem.message}" if where else problem.message
