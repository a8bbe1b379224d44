"""Every ``tuneport`` command line of the docs is checked against the real CLI (issue #18).

Each command line of ``docs/**/*.md`` and ``README.md`` (see
``cli_examples`` for what counts as one) is parsed by the real click app: the
command exists, every option exists for it, values convert and are valid
choices, the arguments are as many as it takes.  Where a block shows what a
command prints and the command runs offline, it is run and its output (stdout
and stderr as a terminal shows them, in order) compared with the page; every
other block that shows output says here why it is not run.
"""

from __future__ import annotations

import contextlib
import io
import os
import re
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace

import click
import pytest
from cli_examples import (
    ROOT,
    Command,
    block_commands,
    check,
    check_names,
    every_command,
    inline_commands,
    render_snippets,
    split,
)

COMMANDS = every_command()
BLOCK = [c for c in COMMANDS if not c.inline and c.is_tuneport]
INLINE = [c for c in COMMANDS if c.inline]
#: Variables that would change what a subprocess prints.
_SCRUBBED = {"FORCE_COLOR", "CLICOLOR_FORCE", "TTY_COMPATIBLE", "TTY_INTERACTIVE", "COLUMNS"}


def _check(command: Command) -> None:
    with contextlib.redirect_stdout(io.StringIO()):  # --help and --version print
        (check_names if command.inline else check)(command.words)


def test_the_docs_hold_command_lines() -> None:
    assert len(BLOCK) >= 30, "the docs lost their command lines?"
    assert len(INLINE) >= 100
    pages = {c.page for c in BLOCK}
    assert {"README.md", "docs/tuning-methods.md", "docs/configuration.md", "docs/index.md"} <= pages


@pytest.mark.parametrize("command", BLOCK, ids=[c.where for c in BLOCK])
def test_every_command_line_is_accepted_by_the_cli(command: Command, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)  # a path into docs/ must exist
    try:
        _check(command)
    except click.ClickException as error:
        pytest.fail(f"{command.where}: `{command.text}` is refused by the CLI: {error.format_message()}")


@pytest.mark.parametrize("command", INLINE, ids=[f"{c.where}:{c.text}" for c in INLINE])
def test_every_command_named_in_prose_exists(command: Command, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)
    try:
        _check(command)
    except click.ClickException as error:
        pytest.fail(
            f"{command.where}: `{command.text}` names no such command or option: {error.format_message()}"
        )


# --- the checker itself, on synthetic docs --------------------------------------------------------

SYNTHETIC = """# A page

Start with `tuneport list --json`, or `tuneport dataset validate|stats FILE`.

```console
$ tuneport list --jsn
$ TUNEPORT_PROFILE=vtx tuneport list --state running \\
    --limit 5 | jq .
{"jobs": []}
$ tuneport get JOB extra
$ tuneport create -t train.jsonl --method sft
$ tuneport wait <job-id> --timeout N
$ echo $?
0
```

```sh
tuneport creat --epochs 3   # a comment
python -m tuneport list -p local 2>/dev/null
```

Prose naming `tuneport list --jsn` and `tuneport models --backend acme --bogus`.
"""


def _synthetic() -> list[Command]:
    found = []
    for block in render_snippets.blocks(SYNTHETIC):
        found += block_commands("synthetic.md", block)
    return found + inline_commands("synthetic.md", SYNTHETIC)


def _verdicts(inline: bool = False) -> dict[str, str]:
    """What the checker says of each command of the synthetic page (of its blocks, or its prose)."""
    verdicts = {}
    for command in _synthetic():
        if command.inline != inline:
            continue
        try:
            _check(command)
            verdicts[command.text] = "ok"
        except click.ClickException as error:
            verdicts[command.text] = error.format_message()
    return verdicts


def test_a_misspelt_flag_in_a_doc_fails() -> None:
    assert "No such option '--jsn'" in _verdicts()["tuneport list --jsn"]
    assert "no option --jsn for 'tuneport list'" in _verdicts(inline=True)["tuneport list --jsn"]


def test_the_synthetic_doc_is_read_as_a_person_reads_it() -> None:
    commands = _synthetic()
    texts = [c.text for c in commands]
    assert texts == [
        "tuneport list --jsn",
        "TUNEPORT_PROFILE=vtx tuneport list --state running --limit 5 | jq .",
        "tuneport get JOB extra",
        "tuneport create -t train.jsonl --method sft",
        "tuneport wait <job-id> --timeout N",
        "tuneport creat --epochs 3   # a comment",
        "python -m tuneport list -p local 2>/dev/null",
        "tuneport list --json",
        "tuneport dataset validate|stats FILE",
        "tuneport dataset validate|stats FILE",
        "tuneport list --jsn",
        "tuneport models --backend acme --bogus",
    ]
    piped = commands[1]
    assert piped.env == {"TUNEPORT_PROFILE": "vtx"}
    assert piped.words == ("tuneport", "list", "--state", "running", "--limit", "5")
    assert piped.output == ('{"jobs": []}',)
    assert commands[4].exit_code == 0
    assert commands[6].words == ("tuneport", "list", "-p", "local")  # python -m tuneport is tuneport
    assert [c.words[:3] for c in commands[8:10]] == [
        ("tuneport", "dataset", "validate"),
        ("tuneport", "dataset", "stats"),
    ]


def test_each_kind_of_mistake_is_caught_and_placeholders_pass() -> None:
    verdicts = _verdicts()
    assert verdicts["TUNEPORT_PROFILE=vtx tuneport list --state running --limit 5 | jq ."] == "ok"
    assert "unexpected extra argument" in verdicts["tuneport get JOB extra"]
    assert "'sft' is not one of" in verdicts["tuneport create -t train.jsonl --method sft"]
    assert verdicts["tuneport wait <job-id> --timeout N"] == "ok"
    assert "No such command 'creat'" in verdicts["tuneport creat --epochs 3   # a comment"]
    assert verdicts["python -m tuneport list -p local 2>/dev/null"] == "ok"
    prose = _verdicts(inline=True)
    assert prose["tuneport list --json"] == "ok"
    assert prose["tuneport dataset validate|stats FILE"] == "ok"
    assert "--bogus" in prose["tuneport models --backend acme --bogus"]


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("tuneport get", "Missing"),
        ("tuneport dataset", "tuneport dataset"),  # a group, not a command
        ("tuneport create --epochs three -t f", "'three' is not a valid integer"),
        ("tuneport create --spec docs/examples/no-such.toml", "does not exist"),
        ("tuneport list --limit", "requires an argument"),
    ],
)
def test_a_full_command_line_must_be_complete(
    line: str, message: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(ROOT)
    parsed = split(line)
    assert parsed is not None
    with pytest.raises(click.UsageError, match=re.escape(message)), contextlib.redirect_stdout(io.StringIO()):
        check(parsed[1])


def test_a_reader_s_own_file_need_not_exist(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)
    check(("tuneport", "create", "--spec", "my-job.toml"))
    check(("tuneport", "dataset", "validate", "docs/examples/quickstart/train.jsonl"))


# --- the commands run, their output compared -------------------------------------------------------


@dataclass(frozen=True)
class Run:
    """How to run a command of the docs offline: the files it reads, what must run first, its width."""

    files: dict[str, str] = field(default_factory=dict)
    before: tuple[str, ...] = ()  #: commands run first (their output is not compared)
    columns: int = 100
    cwd: str = "tmp"  #: "tmp" (a fresh folder holding *files*) or "root" (the repository)
    #: The temporary folder as the page writes it.
    shown_as: str = "/tmp/proj"


_BAD_PROFILE = """[profiles.vertex-prod]
backend = "vertex"
project = "my-project"
staging_bucket = "s3://my-bucket/tuning"
"""

#: (page, command as written) → how it runs.  A command whose output the page shows is run here, or
#: is in NOT_RUN with the reason.
RUNS: dict[tuple[str, str], Run] = {
    ("docs/configuration.md", "tuneport --config bad.toml list"): Run(files={"bad.toml": 'profile = "x"\n'}),
    ("docs/configuration.md", "tuneport --json --profile vertex-prod list"): Run(
        files={"tuneport.toml": _BAD_PROFILE}
    ),
    (
        "docs/configuration.md",
        """TUNEPORT_LABELS='{"team": "ml"}' python -c "import tuneport; """
        """print(tuneport.open_backend(backend='vertex').settings.labels)\"""",
    ): Run(),
    (
        "docs/configuration.md",
        """python -c "import tuneport; tuneport.connect(backend='vertex', project='X')\"""",
    ): Run(),
    (
        "docs/configuration.md",
        "tuneport -c docs/examples/quickstart/tuneport.toml create --spec docs/examples/quickstart/job.toml "
        "--dry-run",
    ): Run(cwd="root", before=("tuneport -c docs/examples/quickstart/tuneport.toml list",)),
    (
        "docs/configuration.md",
        "tuneport -c docs/examples/quickstart/tuneport.toml create --spec docs/examples/quickstart/typo.toml",
    ): Run(cwd="root"),
    (
        "docs/tuning-methods.md",
        "tuneport -p local create -m models/gemini-1.5-flash-001-tuning -t prefs.jsonl --method preference",
    ): Run(before=("tuneport -p local list",)),  # the note of a first offline command is said once
    ("docs/index.md", "tuneport models --backend gemini"): Run(),
    ("docs/index.md", "tuneport dataset validate docs/examples/quickstart/train.jsonl"): Run(cwd="root"),
}

#: Commands whose output a page shows but that this test does not run, and why.
NOT_RUN: dict[tuple[str, str], str] = {
    ("docs/cleanup.md", "tuneport delete 4567 --staged"): "needs a vertex job with staged data in a bucket",
    ("docs/cleanup.md", "tuneport cleanup --older-than 30d"): "needs staged datasets weeks old in a bucket",
    ("docs/cost.md", "tuneport create -m gemini-2.5-flash -t train.jsonl --epochs 3"): (
        "asks a person at a terminal; the prompt is tested by tests/test_cli_cost.py"
    ),
    ("docs/emulator.md", "tuneport emulator --port 8765"): "a server that runs until Ctrl-C",
    ("docs/errors.md", 'tuneport -p emu generate not-yet-f7qvvzc7 "5"'): (
        "needs a running emulator holding that job, whose id is random"
    ),
    (
        "docs/index.md",
        "tuneport demo --profile demo-gemini",
    ): "run and compared by tests/docs/test_index_demo.py",
    ("docs/writing-a-backend.md", "TUNEPORT_LOAD_PLUGINS=acme tuneport --json backends"): (
        "run and compared by tests/docs/test_guide_commands.py::test_tuneport_backends"
    ),
    ("docs/writing-a-backend.md", "tuneport models --backend acme"): (
        "run and compared by tests/docs/test_guide_commands.py::test_tuneport_models"
    ),
}

SHOWN = [c for c in COMMANDS if not c.inline and (c.output or c.exit_code is not None)]


def test_every_shown_output_is_run_or_says_why_not() -> None:
    shown = {(c.page, c.text) for c in SHOWN}
    for key in shown:
        assert key in RUNS or key in NOT_RUN, (
            f"{key[0]}: `{key[1]}` shows output: run it in RUNS or say why not"
        )
    stale = (set(RUNS) | set(NOT_RUN)) - shown
    assert not stale, f"no longer in the docs (or shows no output): {stale}"


def _pattern(shown: tuple[str, ...]) -> re.Pattern[str]:
    """The page's output as a pattern: ``...`` stands for any text, a line of ``...`` for any lines."""
    parts = []
    for line in shown:
        if line.strip() == "...":
            parts.append(r"(?:[^\n]*\n)*?")
        else:
            parts.append(".*".join(re.escape(piece) for piece in line.rstrip().split("...")) + r"\n")
    return re.compile("".join(parts))


def _run(
    words: tuple[str, ...], env: dict[str, str], cwd: Path, columns: int
) -> subprocess.CompletedProcess[str]:
    argv = (
        [sys.executable, "-m", "tuneport.cli", *words[1:]]
        if words[0] == "tuneport"
        else [sys.executable, *words[1:]]
    )
    base = {k: v for k, v in os.environ.items() if k not in _SCRUBBED}
    return subprocess.run(
        argv,
        env={**base, "COLUMNS": str(columns), "NO_COLOR": "1", **env},
        cwd=cwd,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,  # in the order a terminal shows them
        text=True,
        timeout=120,
        check=False,
    )


RUNNABLE = [c for c in SHOWN if (c.page, c.text) in RUNS]


@pytest.mark.parametrize("command", RUNNABLE, ids=[c.where for c in RUNNABLE])
def test_the_output_shown_is_what_the_command_prints(command: Command, tmp_path: Path) -> None:
    how = RUNS[(command.page, command.text)]
    folder = tmp_path / "proj"
    folder.mkdir()
    for name, text in how.files.items():
        (folder / name).write_text(text, encoding="utf-8")
    cwd = ROOT if how.cwd == "root" else folder
    for before in how.before:
        parsed = split(before)
        assert parsed is not None
        _run(parsed[1], parsed[0], cwd, how.columns)
    done = _run(command.words, command.env, cwd, how.columns)
    printed = "".join(
        line.rstrip() + "\n" for line in done.stdout.replace(str(folder), how.shown_as).splitlines()
    )
    assert _pattern(command.output).fullmatch(printed), (
        f"{command.where}: `{command.text}` prints\n{printed}\nwhich is not what the page shows:\n"
        + "\n".join(command.output)
    )
    if command.exit_code is not None:
        assert done.returncode == command.exit_code, f"{command.where}: exit code {done.returncode}"


def test_the_output_pattern_is_strict() -> None:
    pattern = _pattern(("a ... b", "...", "end"))
    assert pattern.fullmatch("a x y b\nline\nline\nend\n")
    assert pattern.fullmatch("a  b\nend\n")
    assert not pattern.fullmatch("a x y b\nline\nend\nmore\n")
    assert not pattern.fullmatch("a x c\nend\n")


# --- issue #18's drift: create does not need --base-model when the profile gives it ---------------


def test_configuration_shows_create_without_base_model_from_the_profile() -> None:
    """The page says a profile's job table gives the base model, and shows a create without -m that works."""
    page = (ROOT / "docs" / "configuration.md").read_text(encoding="utf-8")
    assert "`--base-model` is not required when the profile's `job`" in page
    [dry_run] = [c for c in RUNNABLE if c.page == "docs/configuration.md" and "--dry-run" in c.words]
    assert not {"-m", "--base-model"} & set(dry_run.words)
    assert "base_model" not in (ROOT / "docs/examples/quickstart/job.toml").read_text(encoding="utf-8")
    assert SimpleNamespace(output=dry_run.output).output[0].startswith("dry run (gemini, models/")
