"""Serve an emulator in this process until standard input closes (for the benchmarks).

    python benchmarks/_emulator_proc.py [--clock scaled|manual] [--speed 60] [--request-log-size N]
                                        [--package tuneport_emulator]

Prints one line on stdout: the base URL, a tab, and the file the emulator
package was imported from (so that a benchmark can check which tree it runs);
then serves on an ephemeral loopback port.  Unlike ``tuneport-emulator`` it
lets the benchmark choose the clock, the size of the request log and the
package: ``--package tuneport.emulator`` serves the emulator as it was inside
tuneport before it became a distribution of its own (the baseline of
``bench_emulator.py``), with ``PYTHONPATH`` pointing at that tree's ``src``.
Both packages export ``Emulator`` and ``EmulatorClock`` with the same
constructor arguments.
"""

from __future__ import annotations

import argparse
import importlib
import signal
import sys
import threading
from typing import Any


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clock", choices=("scaled", "manual"), default="scaled")
    parser.add_argument("--speed", type=float, default=60.0)
    parser.add_argument(
        "--request-log-size", type=int, default=None, help="the package's default when not given"
    )
    parser.add_argument("--package", default="tuneport_emulator", help="the emulator package to serve")
    args = parser.parse_args()

    package = importlib.import_module(args.package)
    clock = (
        package.EmulatorClock.manual()
        if args.clock == "manual"
        else package.EmulatorClock.scaled(speed=args.speed)
    )
    options: dict[str, Any] = {"clock": clock}
    if args.request_log_size is not None:
        options["request_log_size"] = args.request_log_size
    emulator = package.Emulator(**options)
    url = emulator.start()
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())

    def wait_for_eof() -> None:
        sys.stdin.read()  # returns when the parent closes our stdin (or dies)
        stop.set()

    threading.Thread(target=wait_for_eof, daemon=True).start()
    print(f"{url}\t{package.__file__}", flush=True)
    try:
        stop.wait()
    except KeyboardInterrupt:
        pass
    finally:
        emulator.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
