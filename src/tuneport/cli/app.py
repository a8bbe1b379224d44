"""The ``tuneport`` command group, its global options and its exit codes.

Exit codes (stable; scripts may rely on them):

====  =================================================================
0     success
1     the job failed (``JobFailed``)
2     usage or configuration error (bad flag, config, profile, plugin)
3     API error (the service answered with an error, or could not be reached)
4     invalid input refused locally (spec, dataset, parameter)
5     not supported (by the backend, the base model, or this version)
6     ``wait`` timed out
7     the job has no tuned model to call yet (``generate`` on an unfinished job)
70    internal error: an unexpected exception (a bug), reported without a traceback
130   interrupted
====  =================================================================
"""

from __future__ import annotations

import json
import logging
import os
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

import click

from tuneport.cli._output import Output

if TYPE_CHECKING:
    from tuneport.client import TuningClient
    from tuneport.plugins import PluginHost

EXIT_OK = 0
EXIT_JOB_FAILED = 1
EXIT_USAGE = 2
EXIT_API = 3
EXIT_INVALID = 4
EXIT_UNSUPPORTED = 5
EXIT_TIMEOUT = 6
EXIT_NOT_READY = 7
#: sysexits.h's EX_SOFTWARE: an internal software error, not the user's input.
EXIT_INTERNAL = 70
EXIT_INTERRUPTED = 130


@dataclass
class State:
    """Global options, shared by every command through the click context."""

    profile: str | None = None
    config: str | None = None
    output: Output = field(default_factory=Output)
    #: Extra arguments for :func:`tuneport.connect` (a program embedding the
    #: CLI, or a test, injects a plugin host, transport or clock here).
    connect_options: dict[str, Any] = field(default_factory=dict)
    clients: list[Any] = field(default_factory=list)
    #: ``-v`` count, before and after the verb together.
    verbose: int = 0

    def plugin_host(self) -> PluginHost:
        """The plugin host commands use."""
        from tuneport.plugins import default_host

        host = self.connect_options.get("plugins")
        return host if host is not None else default_host()

    def client(self, **overrides: Any) -> TuningClient:
        """Connect with the global options (closed when the command ends).

        An embedded emulator keeps its state in the CLI's offline state file,
        so that one command sees the jobs of the previous ones (see
        :mod:`tuneport.cli._offline`); a command that finds the file held by
        another waits for it, a bounded time.
        """
        import tuneport
        from tuneport._connect import embedded_state
        from tuneport.cli._offline import offline_state_path, open_waiting

        options = {**self.connect_options, **overrides}
        candidate = str(offline_state_path())
        options.setdefault("emulator_state", candidate)
        fresh = not os.path.exists(candidate)

        def opener() -> TuningClient:
            return tuneport.connect(self.profile, config=self.config, **options)

        client = open_waiting(opener, on_wait=self._note_waiting)
        self.clients.append(client)
        path = embedded_state(client)
        if fresh and path == candidate:  # said once: when the command makes the file
            self._note(
                "note: offline: this profile runs on tuneport's embedded emulator; jobs are kept "
                f"from one command to the next in {path} (`tuneport emulator --reset-state` clears them)"
            )
        return client

    def _note_waiting(self, path: str) -> None:
        self._note(f"note: {path} is in use by another tuneport command; waiting for it…")

    def _note(self, text: str) -> None:
        """A dim note on stderr, unwrapped (a path in it stays whole for copy and paste)."""
        self.output.console(stderr=True).print(
            text, style="dim", markup=False, highlight=False, soft_wrap=True
        )

    def close(self) -> None:
        while self.clients:
            self.clients.pop().close()


class FilePath(click.Path):
    """``click.Path`` that refuses a NUL character as a usage error (click's own check would raise
    a bare ``ValueError`` from ``os.stat``)."""

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        if "\x00" in str(value):
            self.fail("the path holds a NUL character", param, ctx)
        return super().convert(value, param, ctx)


def exit_code_for(error: BaseException) -> int:
    """The documented exit code of an exception."""
    from tuneport import errors

    if isinstance(error, errors.JobFailed):
        return EXIT_JOB_FAILED
    if isinstance(error, (errors.ConfigError, errors.PluginError)):
        return EXIT_USAGE
    if isinstance(error, errors.APIError):
        return EXIT_API
    if isinstance(error, (errors.ValidationError, errors.UnsupportedParameter)):
        return EXIT_INVALID
    if isinstance(error, errors.UnsupportedCapability):
        return EXIT_UNSUPPORTED
    if isinstance(error, errors.WaitTimeout):
        return EXIT_TIMEOUT
    if isinstance(error, errors.JobNotReady):
        return EXIT_NOT_READY
    code = getattr(error, "exit_code", None)
    return code if isinstance(code, int) else EXIT_USAGE


def error_payload(error: BaseException, flags: dict[str, str] | None = None) -> dict[str, Any]:
    """A JSON description of an error for ``--json`` output (remedies spelt with the command's *flags*)."""
    payload: dict[str, Any] = {"type": type(error).__name__, "message": str(error)}
    for attr in ("status_code", "status", "request_id", "field", "line", "source", "profile", "key"):
        value = getattr(error, attr, None)
        if value is not None and not callable(value):
            payload[attr] = value
    problems = getattr(error, "problems", None)
    if problems:
        from tuneport.preflight import problem_dict

        payload["problems"] = [problem_dict(p, lambda remedy: remedy.cli(flags)) for p in problems]
    return payload


def internal_error_payload(error: BaseException) -> dict[str, Any]:
    """The ``--json`` description of an unexpected exception (``type`` is ``InternalError``)."""
    return {
        "type": "InternalError",
        "exception": type(error).__name__,
        "message": internal_error_message(error),
    }


def internal_error_message(error: BaseException) -> str:
    """One line naming an unexpected exception, secrets masked; never a traceback."""
    from tuneport.errors import redact

    detail = str(error)
    if len(detail) > 500:
        detail = detail[:500] + "…"
    name = type(error).__name__
    return redact(f"internal error ({name}: {detail}); a bug in tuneport or a plugin, please report it")


def report_internal_error(error: BaseException, json_mode: bool) -> None:
    """Print an unexpected exception as the ``Error:`` line, or as a JSON error object on stdout."""
    if json_mode:
        click.echo(json.dumps({"error": internal_error_payload(error)}, indent=2, default=str))
    else:
        click.echo(f"Error: {internal_error_message(error)}", err=True)


#: ``ctx.meta`` key of a command's flag map: Python keyword → its flag where they differ
#: (``{"format": "--from"}``), so that a problem's remedies name this command's flags.
FLAGS_META = "tuneport.flags"


#: The flag maps of the top-level verbs whose flags differ from the library's keywords: ``create``
#: names no dataset format (its data's format is detected; ``tuneport dataset convert`` changes it).
VERB_FLAGS: dict[str, dict[str, str]] = {"create": {"format": ""}}


def problem_flags(ctx: click.Context) -> dict[str, str]:
    """The flag map the running command left in ``ctx.meta`` (empty when it left none)."""
    flags = ctx.meta.get(FLAGS_META)
    return dict(flags) if isinstance(flags, dict) else {}


def report_error(
    error: BaseException, *, flags: dict[str, str] | None = None, standard_fixes: bool = True
) -> None:
    """Print a tuneport error on stderr: ``Error: <headline>``, then, for an invalid input, its problems
    grouped by rule with their fixes (each problem once; the headline never repeats them).

    Without *standard_fixes*, a group's fix is only its problems' own remedies (see ``print_problems``).
    """
    from tuneport.errors import ValidationError

    if not isinstance(error, ValidationError) or not error.problems:
        click.echo(f"Error: {error}", err=True)
        return
    from rich.console import Console

    from tuneport.cli._problems import cap_line, print_problems

    click.echo(f"Error: {error.summary}", err=True)
    console = Console(stderr=True, soft_wrap=True)
    counts = error.counts_by_rule
    print_problems(console, error.problems, counts_by_rule=counts, flags=flags, standard_fixes=standard_fixes)
    hint = "`tuneport dataset validate FILE --max-problems N` shows more"
    capped = cap_line(len(error.problems), sum(counts.values()), hint=hint)
    if capped:
        console.print(capped, style="dim", highlight=False, soft_wrap=True)


#: click's own control flow, raised through commands: never an internal error.
_CLICK_FLOW: tuple[type[BaseException], ...] = (click.exceptions.Exit, click.ClickException, click.Abort)


class TuneportGroup(click.Group):
    """A group that turns every error into a message and an exit code, never a traceback.

    tuneport's errors get their documented codes; any other exception is a bug,
    reported as an internal error with :data:`EXIT_INTERNAL`.
    """

    def invoke(self, ctx: click.Context) -> Any:
        from tuneport.errors import TuneportError

        try:
            return super().invoke(ctx)
        except _CLICK_FLOW:
            raise
        except TuneportError as error:
            state = ctx.find_object(State)
            json_mode = state.output.json_mode if state else False
            if json_mode:
                payload = error_payload(error, problem_flags(ctx))
                click.echo(json.dumps({"error": payload}, indent=2, default=str))
            else:
                report_error(error, flags=problem_flags(ctx))
            ctx.exit(exit_code_for(error))
        except KeyboardInterrupt:
            click.echo("Interrupted.", err=True)
            ctx.exit(EXIT_INTERRUPTED)
        except Exception as error:
            state = ctx.find_object(State)
            report_internal_error(error, state.output.json_mode if state else False)
            ctx.exit(EXIT_INTERNAL)
        finally:
            state = ctx.find_object(State)
            if state:
                state.close()

    def main(self, args: Sequence[str] | None = None, *pos: Any, **kwargs: Any) -> Any:
        # What fails before a command runs (parsing an option, say) is caught here.
        try:
            with cli_output_of_warnings():
                return super().main(args, *pos, **kwargs)
        except _CLICK_FLOW:
            raise
        except Exception as error:
            argv = sys.argv[1:] if args is None else list(args)
            report_internal_error(error, "--json" in argv)
            if kwargs.get("standalone_mode", True):
                sys.exit(EXIT_INTERNAL)
            raise click.exceptions.Exit(EXIT_INTERNAL) from None

    def list_commands(self, ctx: click.Context) -> list[str]:
        # Keep the order of the DESIGN: backends first, emulator/demo last.
        return list(self.commands)

    #: A group made with ``@cli.group()`` is a TuneportGroup too, so its verbs take the global options.
    group_class = type

    def add_command(self, cmd: click.Command, name: str | None = None) -> None:
        """Register *cmd*, which also takes the global options after its name (``list --json``)."""
        add_global_options(cmd)
        super().add_command(cmd, name)


def _apply_global(ctx: click.Context, param: click.Parameter, value: Any) -> None:
    """Store a global option given after the verb in the :class:`State` (it wins over one given before)."""
    state = ctx.find_object(State)
    if state is None or value in (None, False, 0):
        return
    if param.name == "global_profile":
        state.profile = value
    elif param.name == "global_config":
        state.config = value
    elif param.name == "global_json":
        state.output = replace(state.output, json_mode=True)
    elif param.name == "global_verbose":
        state.verbose += value
        configure_logging(state.verbose)


def global_options() -> list[click.Option]:
    """The global options, as options of a verb (stored in the State, not passed to its function)."""
    common: dict[str, Any] = {"expose_value": False, "callback": _apply_global}
    return [
        click.Option(["--profile", "-p", "global_profile"], help=_PROFILE_HELP, **common),
        click.Option(
            ["--config", "-c", "global_config"], type=FilePath(dir_okay=False), help=_CONFIG_HELP, **common
        ),
        click.Option(["--json", "global_json"], is_flag=True, help=_JSON_HELP, **common),
        click.Option(["-v", "--verbose", "global_verbose"], count=True, help=_VERBOSE_HELP, **common),
    ]


def add_global_options(cmd: click.Command) -> None:
    """Let *cmd* take the global options after its name, except those whose flags it uses itself
    (``demo --profile`` picks demo profiles)."""
    taken = {flag for param in cmd.params for flag in (*param.opts, *param.secondary_opts)}
    names = {param.name for param in cmd.params}
    for option in global_options():
        if option.name not in names and taken.isdisjoint(option.opts):
            cmd.params.append(option)


def configure_logging(verbose: int) -> None:
    """Log to stderr: warnings always (as ``warning: …``), info with ``-v``, debug with ``-vv``."""
    handler = _cli_handler()
    if verbose:
        level = logging.DEBUG if verbose > 1 else logging.INFO
        handler.setLevel(level)
        logging.getLogger().setLevel(level)  # a later -v (after the verb) raises the level already set


class CliLogHandler(logging.Handler):
    """The CLI's one log handler, on stderr: a record at WARNING or above reads ``warning: <message>``
    (``error: …`` above), yellow (red) on a terminal only; with ``-v``/``-vv`` the info and debug
    records keep their detailed form, ``LEVEL logger: message``.  Secrets are masked in every line.

    It looks ``sys.stderr`` up at each record, so it writes where stderr is now.
    """

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))

    def emit(self, record: logging.LogRecord) -> None:
        from tuneport.errors import redact

        try:
            if record.levelno < logging.WARNING:
                sys.stderr.write(redact(self.format(record)) + "\n")
                sys.stderr.flush()
                return
            from rich.console import Console
            from rich.text import Text

            console = Console(stderr=True, soft_wrap=True, highlight=False)
            problems = getattr(record, "tuneport_problems", None)  # client.PROBLEMS_ATTRIBUTE
            if isinstance(problems, tuple) and len(problems) > 1:
                from tuneport.cli._problems import print_problems

                print_problems(console, problems)  # grouped by rule, as every problem list
                return
            word, style = ("error", "red") if record.levelno >= logging.ERROR else ("warning", "yellow")
            console.print(Text.assemble((word, style), ": ", redact(record.getMessage())))
        except Exception:  # a log line never breaks a command
            self.handleError(record)


def _cli_handler() -> CliLogHandler:
    """The root logger's :class:`CliLogHandler` (installed if it has none)."""
    root = logging.getLogger()
    for handler in root.handlers:
        if isinstance(handler, CliLogHandler):
            return handler
    handler = CliLogHandler()
    root.addHandler(handler)
    if root.level > logging.WARNING or root.level == logging.NOTSET:
        root.setLevel(logging.WARNING)
    return handler


def _show_warning(
    message: Warning | str,
    category: type[Warning],
    filename: str,
    lineno: int,
    file: Any = None,
    line: str | None = None,
) -> None:
    """``warnings.showwarning`` for the CLI: a Python warning is a ``warning: <message>`` line, as a
    logged one, without Python's ``file:line: Category`` and source line."""
    logging.getLogger("py.warnings").warning("%s", message)


@contextmanager
def cli_output_of_warnings() -> Iterator[None]:
    """While the CLI runs: logged and Python warnings print as ``warning: …`` on stderr.

    The handler, the root logger's level and ``warnings.showwarning`` are put back afterwards, so
    a program that embeds the CLI (or a test) keeps its own logging.
    """
    import warnings

    root = logging.getLogger()
    installed = not any(isinstance(handler, CliLogHandler) for handler in root.handlers)
    level = root.level
    handler = _cli_handler()
    handler_level = handler.level
    shown = warnings.showwarning
    warnings.showwarning = _show_warning
    try:
        yield
    finally:
        warnings.showwarning = shown
        handler.setLevel(handler_level)
        root.setLevel(level)
        if installed:
            root.removeHandler(handler)


_PROFILE_HELP = "Profile of tuneport.toml to use (default: $TUNEPORT_PROFILE)."
_CONFIG_HELP = "Config file (default: $TUNEPORT_CONFIG, ./tuneport.toml, then the user config dir)."
_JSON_HELP = "Machine output (JSON) on stdout; logs on stderr."
_VERBOSE_HELP = "Log to stderr (-v info, -vv debug)."


@click.group(cls=TuneportGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--profile", "-p", help=_PROFILE_HELP)
@click.option("--config", "-c", type=FilePath(dir_okay=False), help=_CONFIG_HELP)
@click.option("--json", "json_mode", is_flag=True, help=_JSON_HELP)
@click.option("-v", "--verbose", count=True, help=_VERBOSE_HELP)
@click.version_option(package_name="tuneport", prog_name="tuneport")
@click.pass_context
def cli(ctx: click.Context, profile: str | None, config: str | None, json_mode: bool, verbose: int) -> None:
    """tuneport: tune Gemini models on the Gemini API or Vertex AI with one CLI.

    Without a tuneport.toml, commands run offline on an embedded emulator
    whose jobs are kept from one command to the next (`tuneport emulator
    --reset-state` clears them).

    Exit codes: 0 ok, 1 job failed, 2 usage/config error, 3 API error,
    4 invalid input, 5 not supported, 6 wait timed out, 7 job not ready,
    70 internal error, 130 interrupted.

    The global options (--profile, --config, --json, -v) go before the
    verb or after it: `tuneport list --json -p vtx`.
    """
    if verbose:
        configure_logging(verbose)
    state = ctx.ensure_object(State)
    state.profile, state.config, state.output = profile, config, Output(json_mode=json_mode)
    state.verbose = verbose
    # A problem's remedies name the verb's own flags (a group such as `dataset` sets its verbs').
    ctx.meta[FLAGS_META] = dict(VERB_FLAGS.get(ctx.invoked_subcommand or "", {}))


def main(argv: Sequence[str] | None = None) -> None:
    """Console-script entry point."""
    from tuneport.cli import commands, data  # noqa: F401  (registers the commands)

    cli.main(args=list(argv) if argv is not None else None, prog_name="tuneport")
