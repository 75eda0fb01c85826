"""``automation sandbox``: serve the simulated APIs until interrupted."""

from __future__ import annotations

import math
import signal
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from types import FrameType
from typing import Any

from automation.config.secret import Secret
from automation.core.errors import UsageError
from automation.core.wording import shown_path
from automation.sandbox import credentials
from automation.sandbox.config_writer import check_replaceable, write_starter_rules
from automation.sandbox.config_writer import write_config as write_config_file
from automation.sandbox.options import Options
from automation.sandbox.server import Sandbox
from automation.sandbox.webhook_receiver import Delivery, Receiver

__all__ = ["POLL_INTERVAL", "serve"]

POLL_INTERVAL = "15s"  # in a written config: quick feedback, well within the request limit
_SIGNING_SECRET = "team-chat"  # the sandbox config's webhook secret
_BODY_SHOWN = 2000


def serve(
    port: int = 0,
    write_config: Path | None = None,
    speed: float = 1.0,
    fault_rate: float = 0.0,
    *,
    seed: int = 0,
    stop: threading.Event | None = None,
) -> int:
    """Run until SIGINT/SIGTERM (or ``stop`` is set); returns the exit code.

    Beside the simulated APIs a webhook receiver prints every webhook it gets and whether
    its signature verified; a written config delivers every webhook there."""
    if not 0 <= port <= 65535:
        raise UsageError(f"--port must be between 0 and 65535, not {port}")
    if not 0 <= speed < math.inf:  # nan fails both
        raise UsageError(f"--speed must be a number of 0 or more, not {speed}")
    if not 0 <= fault_rate <= 1:
        raise UsageError(f"--fault-rate must be between 0 and 1, not {fault_rate}")
    if write_config is not None:
        check_replaceable(write_config)
    sandbox = _sandbox(seed, speed, port, fault_rate)
    secret = Secret(credentials.WEBHOOK_SECRETS[_SIGNING_SECRET], _SIGNING_SECRET)
    receiver = Receiver(secret, on_delivery=_show_delivery)
    try:
        sandbox.start()
    except OSError as exc:
        raise UsageError(
            f"cannot listen on 127.0.0.1:{port}: {exc.strerror or exc}; stop what listens "
            "there (a sandbox started before? 'kill %1' in its shell) or give another --port N"
        ) from None
    done = stop or threading.Event()
    previous = _install_signals(done)
    try:
        receiver.start()
        hooks = f"{receiver.url}/hooks"
        print(
            f"sandbox listening on {sandbox.base_url} (speed {speed:g}x, "
            f"fault rate {fault_rate:g})",
            flush=True,
        )
        print(f"webhook receiver on {hooks}: prints each webhook it gets", flush=True)
        if write_config is not None:
            _write_config(write_config, sandbox, hooks)
        print(
            f"bearer token {credentials.BEARER_TOKEN}; accounts: "
            + ", ".join(f"{a.name} ({a.user_id})" for a in credentials.ACCOUNTS),
            flush=True,
        )
        print("press Ctrl-C to stop", flush=True)
        done.wait()
    finally:
        _restore_signals(previous)
        receiver.stop()
        sandbox.stop()
    print("sandbox stopped", file=sys.stderr, flush=True)
    return 0


def _sandbox(seed: int, speed: float, port: int, fault_rate: float) -> Sandbox:
    """Above 1, ``speed`` makes the world (posts written, their metrics) run faster while
    every time it reports stays on the real clock, in the engine's past; 0 stops it."""
    return Sandbox(
        seed=seed,
        speed=min(speed, 1.0),
        growth=max(speed, 1.0),
        port=port,
        fault_rate=fault_rate,
        options=Options(),
    )


def _write_config(path: Path, sandbox: Sandbox, hooks: str) -> None:
    write_config_file(
        path,
        sandbox.base_url,
        requests_per_minute=sandbox.app.options.per_minute_limit,
        poll_interval=POLL_INTERVAL,
        webhooks_to=hooks,
    )
    print(
        f"wrote {shown_path(str(path))}: every webhook goes to the receiver (webhooks.redirect_to)",
        flush=True,
    )
    starter = write_starter_rules(path)
    if starter is not None:
        names = ", ".join(sorted(p.name for p in starter.iterdir()))
        print(
            f"{shown_path(str(starter))}/ did not exist: wrote the starter rules there ({names})",
            flush=True,
        )


def _show_delivery(delivery: Delivery) -> None:
    if delivery.verified:
        signature = f"signature verified with {_SIGNING_SECRET}"
    elif delivery.signed:
        signature = f"signature INVALID for {_SIGNING_SECRET}"
    else:
        signature = "unsigned (the webhook names no secret)"
    body = delivery.body.decode("utf-8", errors="replace")
    if len(body) > _BODY_SHOWN:
        body = body[:_BODY_SHOWN] + f"... ({len(delivery.body)} bytes)"
    print(
        f"webhook received: POST {delivery.path}, Idempotency-Key {delivery.idempotency_key}, "
        f"{signature}\n  {body}",
        flush=True,
    )


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
