"""``tuneport-emulator`` / ``python -m tuneport_emulator``: serve the emulator until interrupted.

For users of google-genai, the vertexai SDK or any HTTP client who do not use
tuneport: point the client at the printed URL (see docs/emulator.md).
The URL is printed on stdout (the one thing a script needs); the rest goes
to stderr.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence

from tuneport_emulator.clock import DEFAULT_SPEED, EmulatorClock
from tuneport_emulator.errors import EmulatorError
from tuneport_emulator.instance import serve

__all__ = ["main"]


def _positive(text: str) -> float:
    value = float(text)
    if not value > 0:
        raise argparse.ArgumentTypeError(f"must be greater than 0, got {text}")
    return value


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="tuneport-emulator",
        description="Serve Google's tuning APIs (Gemini API, Vertex AI, Cloud Storage) on a local port.",
    )
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (default: %(default)s)")
    parser.add_argument("--port", type=int, default=8765, help="port, 0 for any (default: %(default)s)")
    parser.add_argument("--allow-remote", action="store_true", help="allow binding a non-loopback address")
    parser.add_argument(
        "--require-key",
        metavar="KEY",
        default=os.environ.get("TUNEPORT_EMULATOR_KEY"),
        help="demand this API key (prefer TUNEPORT_EMULATOR_KEY, which stays out of process listings)",
    )
    parser.add_argument(
        "--faults",
        metavar="SPEC",
        default=os.environ.get("TUNEPORT_EMULATOR_FAULTS"),
        help="inject faults, e.g. 'seed=1; *: 503=0.1' or 'chaos'",
    )
    parser.add_argument(
        "--speed",
        type=_positive,
        default=DEFAULT_SPEED,
        help="emulator seconds per wall-clock second (default: %(default)s)",
    )
    parser.add_argument(
        "--state",
        metavar="FILE",
        default=os.environ.get("TUNEPORT_EMULATOR_STATE"),
        help="keep every record in this SQLite file across restarts",
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit code (2 for a bad setting)."""
    args = _parser().parse_args(argv)

    def ready(url: str) -> None:
        print(url, flush=True)
        print(f"tuneport-emulator listening on {url}; Ctrl-C stops it", file=sys.stderr, flush=True)

    try:
        serve(
            args.host,
            args.port,
            allow_remote=args.allow_remote,
            require_key=args.require_key,
            faults=args.faults,
            state=args.state,
            clock=EmulatorClock.scaled(args.speed),
            on_ready=ready,
        )
    except EmulatorError as exc:
        print(f"tuneport-emulator: error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
