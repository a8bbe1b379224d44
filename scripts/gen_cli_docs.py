"""Write docs/cli.md from the CLI's own ``--help`` output.

Run ``python scripts/gen_cli_docs.py`` after changing the CLI; the test
``tests/test_cli_docs.py`` fails when the page and ``--help`` disagree.
"""

from __future__ import annotations

import sys
from pathlib import Path

import click
from click.testing import CliRunner

ROOT = Path(__file__).resolve().parent.parent
TARGET = ROOT / "docs" / "cli.md"

HEADER = """# CLI reference

Generated from `tuneport --help` by `scripts/gen_cli_docs.py`; a test keeps
this page and the CLI in step.  Global options (`--profile`, `--config`,
`--json`, `-v`) go before the verb or after it: `tuneport --json list`
and `tuneport list --json` are the same.

**Offline by default, one state for every command.** Without a `tuneport.toml`
(or with any profile that says `endpoint = "embedded"`), each command runs on an
[embedded emulator](configuration.md#the-embedded-emulator) whose state the CLI
keeps in `emulator-state.sqlite` in the user cache directory
(`~/.cache/tuneport/` on Linux, `~/Library/Caches/tuneport/` on macOS,
`%LOCALAPPDATA%\\tuneport\\tuneport\\Cache\\` on Windows), or in `$TUNEPORT_EMULATOR_STATE`
when that is set. So `tuneport create` prints a job id, and a later `tuneport
get`, `wait`, `list`, `generate`, `metrics`, `cancel` or `delete` finds that job; its
clock is saved with it and keeps running between commands (a job finishes while
no command runs, as on the service). The first command that makes the file says
so once, on stderr. `tuneport emulator --reset-state` deletes it (refused while a
command uses it). One command at a time holds the file: a second one started
meanwhile (`tuneport list` while `tuneport wait` runs in another terminal) notes
that it waits, and waits up to 10 seconds for the first to finish, then stops with
`EmulatorStateInUse` (exit 2). To run commands side by side, serve the state from
one emulator: `tuneport emulator --state ~/.cache/tuneport/emulator-state.sqlite`
in one terminal, and `export TUNEPORT_EMULATOR_HOST=127.0.0.1:8765` in the others.
`tuneport demo` and Python programs are not concerned: they keep a private
emulator per client ([Python API](python-api.md)).

"""


def _walk(command: click.Command, path: list[str]) -> list[tuple[list[str], click.Command]]:
    found = [(path, command)]
    if isinstance(command, click.Group):
        for name in command.list_commands(click.Context(command)):
            sub = command.get_command(click.Context(command), name)
            if sub is not None:
                found += _walk(sub, [*path, name])
    return found


def render() -> str:
    """The markdown page."""
    from tuneport.cli import commands, data  # noqa: F401  (registers the verbs)
    from tuneport.cli.app import cli

    runner = CliRunner()
    parts = [HEADER]
    for path, _command in _walk(cli, []):
        result = runner.invoke(cli, [*path, "--help"], prog_name="tuneport", terminal_width=100)
        if result.exit_code != 0:
            raise SystemExit(f"--help failed for {' '.join(path)}: {result.output}")
        title = " ".join(["tuneport", *path])
        level = "##" if len(path) <= 1 else "###"
        parts.append(f"{level} `{title}`\n\n```text\n{result.output.rstrip()}\n```\n\n")
    return "".join(parts).rstrip() + "\n"


def main() -> int:
    page = render()
    if "--check" in sys.argv:
        return 0 if TARGET.read_text(encoding="utf-8") == page else 1
    TARGET.write_text(page, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
