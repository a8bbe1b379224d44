"""Serve a tuneport emulator in this process until standard input closes (for the benchmarks).

    python benchmarks/_emulator_proc.py [--clock scaled|manual] [--speed 60] [--request-log-size 1000]

Prints the base URL on the first line of stdout, then serves on an ephemeral
loopback port.  Unlike ``tuneport emulator`` it lets the benchmark choose the
clock and the size of the request log.
"""

from __future__ import annotations

import argparse
import signal
import sys
import threading


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clock", choices=("scaled", "manual"), default="scaled")
    parser.add_argument("--speed", type=float, default=60.0)
    parser.add_argument("--request-log-size", type=int, default=1000)
    args = parser.parse_args()

    from tuneport_emulator import Emulator, EmulatorClock

    clock = EmulatorClock.manual() if args.clock == "manual" else EmulatorClock.scaled(speed=args.speed)
    emulator = Emulator(clock=clock, request_log_size=args.request_log_size)
    url = emulator.start()
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())

    def wait_for_eof() -> None:
        sys.stdin.read()  # returns when the parent closes our stdin (or dies)
        stop.set()

    threading.Thread(target=wait_for_eof, daemon=True).start()
    print(url, flush=True)
    try:
        stop.wait()
    except KeyboardInterrupt:
        pass
    finally:
        emulator.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
