"""``automation sandbox``: serve the simulated APIs until interrupted."""

from __future__ import annotations

import signal
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from types import FrameType
from typing import Any

from automation.core.errors import UsageError
from automation.sandbox import credentials
from automation.sandbox.config_writer import write_config as write_config_file
from automation.sandbox.config_writer import write_starter_rules
from automation.sandbox.options import Options
from automation.sandbox.server import Sandbox

__all__ = ["serve"]


def serve(
    port: int = 0,
    write_config: Path | None = None,
    speed: float = 1.0,
    fault_rate: float = 0.0,
    *,
    seed: int = 0,
    stop: threading.Event | None = None,
) -> int:
    """Run until SIGINT/SIGTERM (or ``stop`` is set); returns the exit code."""
    if speed < 0:
        raise UsageError(f"--speed must be 0 or more, not {speed}")
    if not 0 <= fault_rate <= 1:
        raise UsageError(f"--fault-rate must be between 0 and 1, not {fault_rate}")
    sandbox = Sandbox(seed=seed, speed=speed, port=port, fault_rate=fault_rate, options=Options())
    try:
        sandbox.start()
    except OSError as exc:
        raise UsageError(f"cannot listen on 127.0.0.1:{port}: {exc.strerror or exc}") from None
    done = stop or threading.Event()
    previous = _install_signals(done)
    try:
        print(
            f"sandbox listening on {sandbox.base_url} (speed {speed:g}x, "
            f"fault rate {fault_rate:g})",
            flush=True,
        )
        if write_config is not None:
            write_config_file(
                write_config,
                sandbox.base_url,
                requests_per_minute=sandbox.app.options.per_minute_limit,
            )
            print(f"wrote {write_config}", flush=True)
            starter = write_starter_rules(write_config)
            if starter is not None:
                names = ", ".join(sorted(p.name for p in starter.iterdir()))
                print(
                    f"{starter} did not exist: wrote the starter rules there ({names})", flush=True
                )
        print(
            f"bearer token {credentials.BEARER_TOKEN}; accounts: "
            + ", ".join(f"{a.name} ({a.user_id})" for a in credentials.ACCOUNTS),
            flush=True,
        )
        print("press Ctrl-C to stop", flush=True)
        done.wait()
    finally:
        _restore_signals(previous)
        sandbox.stop()
    print("sandbox stopped", file=sys.stderr, flush=True)
    return 0


# what signal.signal takes and returns: a function, SIG_DFL, SIG_IGN, or None if unknown
_Handler = Callable[[int, FrameType | None], Any] | int | signal.Handlers | None


def _install_signals(done: threading.Event) -> dict[int, _Handler]:
    if threading.current_thread() is not threading.main_thread():
        return {}

    def _stop(signum: int, frame: FrameType | None) -> None:
        done.set()

    return {sig: signal.signal(sig, _stop) for sig in (signal.SIGINT, signal.SIGTERM)}


def _restore_signals(previous: dict[int, _Handler]) -> None:
    for sig, handler in previous.items():
        signal.signal(sig, handler)
