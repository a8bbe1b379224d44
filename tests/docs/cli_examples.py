"""Find the ``tuneport`` command lines of the docs and check each against the real click app.

What counts as a command line (decided for issue #18):

* in a ``console`` or ``text`` block, a line after the ``$ `` prompt (the other
  lines are the command's output, kept with it);
* in a ``sh``, ``bash``, ``shell`` or unlabelled block, every line that starts
  with ``tuneport`` (or ``$ tuneport``);
* in prose, an inline code span that starts with ``tuneport``: it names a
  command, so its command path and options must exist and its option values
  must be valid, but it need not be complete (``tuneport create`` names the
  verb; ``tuneport delete JOB --staged`` shows its use).

A line may start with environment assignments (``TUNEPORT_PROFILE=x tuneport
…``), continue on the next with ``\\``, be followed by a pipe, a redirection or
a comment; ``python -m tuneport`` is ``tuneport``.  Placeholders (``JOB``,
``FILE``, ``<job-id>``, ``…``) stand for any value, and a path the reader
brings (``train.jsonl``) need not exist, but a path into the repository's
``docs/`` must.
"""

from __future__ import annotations

import copy
import importlib.util
import re
import shlex
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import click

ROOT = Path(__file__).resolve().parents[2]

_spec = importlib.util.spec_from_file_location("render_snippets", ROOT / "scripts" / "render_snippets.py")
assert _spec is not None
assert _spec.loader is not None
render_snippets = importlib.util.module_from_spec(_spec)
sys.modules.setdefault("render_snippets", render_snippets)
_spec.loader.exec_module(render_snippets)

#: Blocks whose lines after ``$ `` are commands and the other lines their output.
PROMPTED = {"console", "text"}
#: Blocks whose every line is a command.
SCRIPTS = {"sh", "bash", "shell", ""}
PLACEHOLDER = re.compile(r"<[^>]+>|[A-Z][A-Z0-9_]*|.*(…|\.\.\.).*")
ASSIGNMENT = re.compile(r"(?P<name>[A-Za-z_][A-Za-z0-9_]*)=(?P<value>.*)")
SHELL_PUNCTUATION = re.compile(r"[();<>|&]+")
INLINE = re.compile(r"(?<!`)`(?P<text>(?:[A-Z_]+=\S+ )*tuneport(?: [^`]*)?)`(?!`)")
ANGLED = re.compile(r"<([A-Za-z][-_.A-Za-z0-9]*)>")
ALTERNATIVES = re.compile(r"[a-z][-a-z]*(\|[a-z][-a-z]*)+")


@dataclass(frozen=True)
class Command:
    """One command line of a page, with what the page shows it printing."""

    page: str
    line: int
    text: str  #: as written, continuation lines joined
    env: dict[str, str]
    words: tuple[str, ...]  #: argv, ``tuneport`` (or ``python``) first
    inline: bool = False
    output: tuple[str, ...] = ()  #: the lines shown under it (console and text blocks)
    exit_code: int | None = None  #: from a following ``$ echo $?``
    info: str = field(default="", compare=False)

    @property
    def where(self) -> str:
        return f"{self.page}:{self.line}"

    @property
    def is_tuneport(self) -> bool:
        return self.words[:1] == ("tuneport",)


def split(text: str) -> tuple[dict[str, str], tuple[str, ...]] | None:
    """The environment and words of a shell line, cut at a pipe, redirection or comment.

    ``None`` when the line does not run ``tuneport`` (or ``python``).
    """
    # <job-id> is a placeholder, not two redirections
    text = ANGLED.sub(lambda match: match[1].upper().replace("-", "_"), text)
    lexer = shlex.shlex(text, posix=True, punctuation_chars=True)
    lexer.whitespace_split = True
    lexer.commenters = "#"
    words: list[str] = []
    for token in lexer:
        if SHELL_PUNCTUATION.fullmatch(token):
            if token.startswith(">") and words and words[-1].isdigit():
                words.pop()  # 2> file: the 2 belongs to the redirection
            break
        words.append(token)
    env = {}
    while words and (assignment := ASSIGNMENT.fullmatch(words[0])):
        env[assignment["name"]] = assignment["value"]
        words.pop(0)
    if words[:3] in (["python", "-m", "tuneport"], ["python", "-m", "tuneport.cli"]):
        words = ["tuneport", *words[3:]]
    if not words or words[0] not in ("tuneport", "python"):
        return None
    return env, tuple(words)


def _joined(body: tuple[str, ...]) -> Iterator[tuple[int, str]]:
    """The lines of a block with continuation lines joined, each with its 0-based index."""
    index = 0
    while index < len(body):
        start, text = index, body[index]
        while text.endswith("\\") and index + 1 < len(body):
            index += 1
            text = text[:-1].rstrip() + " " + body[index].strip()
        yield start, text
        index += 1


def block_commands(page: str, block: Any) -> list[Command]:
    """The command lines of one code block, with the output each shows."""
    info = block.info.strip().split()[0] if block.info.strip() else ""
    if info not in PROMPTED | SCRIPTS:
        return []
    found: list[Command] = []
    lines = list(_joined(block.body))
    for position, (index, text) in enumerate(lines):
        stripped = text.strip()
        prompted = stripped.startswith("$ ")
        if info in PROMPTED and not prompted:
            continue
        command = stripped[2:] if prompted else stripped
        parsed = split(command) if command.startswith(("tuneport", "python")) or "=" in command else None
        if parsed is None:
            continue
        output: list[str] = []
        exit_code = None
        if info in PROMPTED:
            following = lines[position + 1 :]
            for _, after in following:
                if after.startswith("$ "):
                    break
                output.append(after)
            rest = [t for _, t in following[len(output) :]]
            if rest[:1] == ["$ echo $?"] and len(rest) > 1 and rest[1].strip().isdigit():
                exit_code = int(rest[1])
        env, words = parsed
        found.append(
            Command(page, block.line + 1 + index, command, env, words, False, tuple(output), exit_code, info)
        )
    return found


def inline_commands(page: str, text: str) -> list[Command]:
    """The ``tuneport …`` code spans of a page's prose (fenced blocks left out)."""
    found = []
    lines = text.splitlines()
    fenced = {b.line + i for b in render_snippets.blocks(text) for i in range(len(b.body) + 2)}
    for number, line in enumerate(lines, start=1):
        if number in fenced:
            continue
        for match in INLINE.finditer(line):
            written = match["text"].replace("[", " ").replace("]", " ")
            for variant in _alternatives(written):
                parsed = split(variant)
                if parsed is not None:
                    found.append(Command(page, number, match["text"], parsed[0], parsed[1], inline=True))
    return found


def _alternatives(text: str) -> list[str]:
    """``tuneport dataset validate|stats|convert`` names three commands."""
    match = ALTERNATIVES.search(text)
    if match is None:
        return [text]
    return [text[: match.start()] + choice + text[match.end() :] for choice in match[0].split("|")]


def pages() -> list[Path]:
    return list(render_snippets.pages())


def every_command() -> list[Command]:
    """Every command line of every page, blocks and prose."""
    found: list[Command] = []
    for path in pages():
        text = path.read_text(encoding="utf-8")
        name = path.relative_to(ROOT).as_posix()
        for block in render_snippets.blocks(text):
            found += block_commands(name, block)
        found += inline_commands(name, text)
    return found


# --- checking against the click app ----------------------------------------------------------------


def app() -> click.Group:
    """The real ``tuneport`` group, every command registered."""
    from tuneport.cli import commands, data  # noqa: F401  (registers the commands)
    from tuneport.cli.app import cli

    return cli


class _Tolerant(click.ParamType):  # type: ignore[type-arg]  # generic from click 8.2 on
    """A parameter type that converts as the real one, but lets placeholders and the reader's files by."""

    def __init__(self, inner: click.ParamType[Any, Any]) -> None:
        self.inner = inner
        self.name = inner.name
        self.arity = inner.arity
        setattr(self, "is_composite", inner.is_composite)  # noqa: B010  (a class variable of click's)

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        inner = self.inner
        if isinstance(inner, click.Path) and inner.exists and not str(value).startswith("docs/"):
            path = copy.copy(inner)  # the reader's own file; a path into docs/ must exist
            path.exists = False
            inner = path
        try:
            return inner.convert(value, param, ctx)
        except click.BadParameter:
            if isinstance(value, str) and PLACEHOLDER.fullmatch(value):
                return value
            raise


def _tolerant(command: click.Command) -> click.Command:
    clone = copy.copy(command)
    clone.params = [_tolerant_param(param) for param in command.params]
    if isinstance(command, click.Group):
        assert isinstance(clone, click.Group)
        clone.commands = {name: _tolerant(sub) for name, sub in command.commands.items()}
    return clone


def _tolerant_param(param: click.Parameter) -> click.Parameter:
    if isinstance(param, click.Option) and (param.is_flag or param.count):
        return param
    clone = copy.copy(param)
    clone.type = _Tolerant(param.type)
    return clone


_CHECKED: dict[int, click.Command] = {}


def check(words: tuple[str, ...] | list[str]) -> None:
    """Parse *words* (``tuneport`` first) as the CLI would; raise click's usage error if it would not.

    The command path must exist and end at a command (not a group), every
    option must be one of that command's (or a global one where it stands),
    every value must convert, and the arguments must be as many as the
    command takes.  Nothing is run.
    """
    assert words[:1] in (("tuneport",), ["tuneport"]), words
    real = app()
    command = _CHECKED.setdefault(id(real), _tolerant(real))
    name, args, parent = "tuneport", list(words[1:]), None
    while True:
        try:
            ctx = command.make_context(name, args, parent=parent)
        except click.exceptions.Exit:
            return  # --help, --version
        if not isinstance(command, click.Group):
            return
        rest = [*ctx._protected_args, *ctx.args]
        if not rest:
            raise click.UsageError(f"'{ctx.command_path}' needs a command", ctx)
        sub_name, sub, rest = command.resolve_command(ctx, rest)
        assert sub is not None
        assert sub_name is not None
        command, name, args, parent = sub, sub_name, rest, ctx


def check_names(words: tuple[str, ...] | list[str]) -> None:
    """Check a command as prose names it: its path and options exist, its option values are valid.

    An inline ``tuneport create`` or ``tuneport create --max-cost`` is a name,
    not a full command line: arguments and required options may be left out.
    """
    assert words[:1] in (("tuneport",), ["tuneport"]), words
    command: click.Command = app()
    path = ["tuneport"]
    index = 1
    while index < len(words):
        word = words[index]
        if word.startswith("-") and word != "-":
            flag, _, inline_value = word.partition("=")
            option = _option(command, flag, path)
            takes_value = not (option.is_flag or option.count)
            if takes_value and not inline_value and index + 1 < len(words):
                index += 1
                inline_value = words[index]
            if takes_value and inline_value:
                _Tolerant(option.type).convert(inline_value, option, None)
        elif isinstance(command, click.Group):
            sub = command.commands.get(word)
            if sub is None:
                raise click.UsageError(f"no command {word!r} in '{' '.join(path)}'")
            command = sub
            path.append(word)
        index += 1


def _option(command: click.Command, flag: str, path: list[str]) -> click.Option:
    for param in command.params:
        if isinstance(param, click.Option) and flag in (*param.opts, *param.secondary_opts):
            return param
    if flag in ("--help", "-h"):
        return click.Option(["--help"], is_flag=True)
    raise click.NoSuchOption(flag, message=f"no option {flag} for '{' '.join(path)}'")
