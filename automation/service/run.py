"""``automation run``: wire the engine to the service loop and to an event sink.

With ``--json`` every event is one JSON line on stdout (logs stay on stderr, so stdout
holds nothing else); otherwise events become human-readable log lines.
"""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Callable
from dataclasses import fields, replace
from typing import TextIO

from automation.config.database import PostgresDatabase
from automation.config.disk_space import database_disk
from automation.config.loader import config_path, load_config
from automation.config.model import Config
from automation.core.errors import AutomationError
from automation.core.window_text import beside_windows
from automation.engine.cycle import CycleResult
from automation.engine.dry_run_tally import DryRunTally
from automation.engine.events import (
    ActionEvent,
    CycleEvent,
    ErrorEvent,
    Event,
    FiredEvent,
    PauseEvent,
    Sink,
    to_json,
)
from automation.engine.recorder import DryRun
from automation.engine.webhook import origin
from automation.service.leading import run_elected
from automation.service.loop import Controls, run_loop
from automation.service.observers import Observers
from automation.service.runtime import Runtime, open_runtime, utc_now
from automation.service.signals import Requests

__all__ = ["describe", "json_sink", "log_sink", "run"]

log = logging.getLogger("automation")


def json_sink(out: TextIO | None = None) -> Sink:
    # stdout is looked up now, not when this module was imported: it may have been replaced.
    out = out if out is not None else sys.stdout

    def emit(event: Event) -> None:
        out.write(to_json(event) + "\n")
        out.flush()

    return emit


def describe(event: Event) -> str:
    """One readable line per event."""
    if isinstance(event, FiredEvent):
        metrics = ", ".join(f"{k}={_num(v)}" for k, v in event.metrics.items())
        values = beside_windows(metrics, event.windows)
        return (
            f"{event.event.replace('_', ' ')} rule={event.rule} post={event.post} "
            f"key={event.key}" + (f" ({values})" if values else "")
        )
    if isinstance(event, ActionEvent):
        tail = f": {event.error}" if event.error else (f": {event.detail}" if event.detail else "")
        return f"action {event.id} {event.kind} {event.status}{tail}"
    if isinstance(event, CycleEvent):
        return (
            f"cycle posts={event.posts} requests={event.requests} fired={event.fired} "
            f"seeded={event.seeded} capped={event.capped} actions_sent={event.actions_sent} "
            f"errors={event.errors} duration={event.duration}s"
        )
    if isinstance(event, ErrorEvent):
        return f"error in {event.step}: {event.error}"
    if isinstance(event, PauseEvent):
        return _describe_pause(event)
    return str(event)


def _describe_pause(event: PauseEvent) -> str:
    which = "every rule" if event.rule == "*" else f"rule={event.rule}"
    if event.event == "held":
        return f"held rule={event.rule} post={event.post} key={event.key} (the rule is paused)"
    if event.event == "resumed":
        then = "fires" if event.catch_up else "seeds"
        return f"resumed {which} by {event.by}: this cycle {then} what crossed while paused"
    text = f"paused {which} by {event.by}"
    text += f" until {event.until}" if event.until else ""
    return text + (f": {event.reason}" if event.reason else "")


def log_sink(event: Event) -> None:
    """Events as log lines. Errors are skipped: the engine logs each one where it happens,
    with more detail, and saying it twice helps nobody."""
    if isinstance(event, ErrorEvent):
        return
    level = logging.INFO
    if isinstance(event, ActionEvent) and event.status != "sent":
        level = logging.WARNING
    log.log(level, "%s", describe(event))


def _num(v: float) -> str:
    return str(int(v)) if float(v).is_integer() else f"{v:.4g}"


def run(
    config: Config,
    *,
    once: bool,
    dry_run: bool,
    json_out: bool,
    report: Callable[[DryRunTally], None] | None = None,
    signalled: Requests,
) -> int:
    """Run the loop until ``signalled`` says stop (or one cycle); a dry run ends by handing
    its per-rule tally to ``report``. On PostgreSQL the engine acts only while it leads."""
    controls = Controls(stop=signalled.stop, reload=signalled.reload)
    observers = Observers(config, clock=utc_now, dry_run=dry_run)
    emit = observers.sink(json_sink() if json_out else log_sink)

    def start(config: Config, epoch: int | None, leading: Callable[[], bool]) -> Runtime:
        return open_runtime(
            config,
            emit=emit,
            dry_run=dry_run,
            sleep=controls.sleep,
            should_stop=lambda: controls.should_stop() or not leading(),
            observe_http=observers.observe_request,
            epoch=epoch,
            on_wait=observers.waiting,
            before_request=controls.check,
        )

    def serve(runtime: Runtime, leading: Callable[[], bool]) -> int:
        return _serve(runtime, controls, observers, once=once, leading=leading)

    if isinstance(config.database, PostgresDatabase) and not dry_run:
        try:
            observers.start()
            _announce_redirect(config, None)
            return run_elected(
                config,
                controls=controls,
                observers=observers,
                start=start,
                serve=serve,
                refresh=_reread,
                once=once,
            )
        finally:
            observers.close()
            log.info("engine stopped")
    runtime = start(config, None, lambda: True)
    try:
        observers.start()
        _announce_redirect(config, None)
        code = serve(runtime, lambda: True)
        recorder = runtime.engine.recorder
        if report is not None and isinstance(recorder, DryRun):
            report(recorder.tally)
        return code
    finally:
        observers.close()
        runtime.close()
        log.info("engine stopped")


def _serve(
    runtime: Runtime,
    controls: Controls,
    observers: Observers,
    *,
    once: bool,
    leading: Callable[[], bool],
) -> int:
    """Run ``runtime``'s cycles until stopped (or once), or until the lead is lost."""

    def after_cycle(result: CycleResult) -> None:
        rules = [r.rule.id for r in runtime.engine.rules.rules]
        observers.after_cycle(
            runtime.store,
            rules=rules,
            config=runtime.config,
            errors=result.errors,
            unrecorded=result.unrecorded,
        )

    log.info(
        "engine started: %d rules, database %s%s",
        len(runtime.engine.rules.rules),
        runtime.config.database,
        " (dry run)" if runtime.engine.dry_run else "",
    )
    return run_loop(
        lambda: runtime.engine,
        controls=controls,
        poll_interval=lambda: runtime.config.poll_interval,
        reload=lambda: _reload(runtime),
        once=once,
        on_cycle=after_cycle,
        actions=runtime.outbox.dispatcher if runtime.outbox is not None else None,
        leading=leading,
        disk=lambda: database_disk(runtime.config.database),
    )


def _announce_redirect(config: Config, before: Config | None) -> None:
    """Say at start-up, and when a reload changes it, that webhooks go somewhere else."""
    target = config.webhooks.redirect_to
    if before is not None and before.webhooks.redirect_to == target:
        return
    if target:
        where = origin(target)  # a hook URL's path or query may hold its token
        log.warning("webhooks.redirect_to: every webhook is delivered to %s instead", where)
    elif before is not None:
        log.info("webhooks.redirect_to removed: webhooks go to their own URLs again")


def _on_disk(config: Config) -> Config:
    """``config``'s file as it is now."""
    return load_config(config_path(None if not config.path else str(config.path), os.environ))


def _reread(config: Config) -> Config:
    """The config on disk, for an engine taking the lead after standing by (SIGHUPs
    meanwhile had nothing to reload), with the database its election is on and the metrics
    it serves, as a reload keeps them; a broken one keeps ``config``, saying why."""
    try:
        fresh = _on_disk(config)
    except AutomationError as exc:
        log.error("keeping the config read before: %s", exc)
        return config
    return _kept_until_restart(fresh, config)


def _reload(rt: Runtime) -> None:
    """SIGHUP: re-read the config and rules; keep everything running if either is bad."""
    try:
        fresh = _on_disk(rt.config)
    except AutomationError as exc:
        rt.engine.refuse_config(str(exc))
        return
    # Rules first, on the running engine: a broken edit is then reported once, and that
    # engine remembers it instead of retrying the same files at its next cycle.
    if not rt.engine.reload(fresh):
        return
    before = rt.config
    rt.reconfigure(_kept_until_restart(fresh, before))
    _announce_changes(fresh, before)
    _announce_redirect(fresh, before)


# Sections a reload does not change in the running engine, besides ``database`` and
# ``metrics`` (``_kept_until_restart``), and who reads them instead.
_READ_ELSEWHERE = {
    "migrate": "when the engine opens its database, at its restart",
    "dashboard": "by the dashboard as it starts (systemctl restart automation-dashboard)",
}


def _announce_changes(fresh: Config, before: Config) -> None:
    """Say which sections of the config a reload changed and when each takes effect; by
    name only, since a section may hold secrets."""
    changed = [
        f.name
        for f in fields(Config)
        if f.name != "path" and getattr(fresh, f.name) != getattr(before, f.name)
    ]
    for name in changed:
        if name in _READ_ELSEWHERE:
            log.info("%s: changed in %s: read %s", name, fresh.path, _READ_ELSEWHERE[name])
    kept = {*_READ_ELSEWHERE, "database", "metrics"}  # the last two: _kept_until_restart
    taken = [name for name in changed if name not in kept]
    if taken:
        log.info("reloaded %s: %s changed, in effect from the next cycle", fresh.path,
                 ", ".join(taken))  # fmt: skip
    elif not changed:
        log.info("reloaded %s: the config is as it was", fresh.path)


def _kept_until_restart(fresh: Config, running: Config) -> Config:
    """``fresh`` with the database and the metrics address ``running`` has open, which only
    a restart changes; a reload that changed them says so."""
    restart = "until it restarts (systemctl restart automation)"
    if fresh.database != running.database:
        log.warning(
            "database: changed in %s, to %s: the engine goes on with %s %s",
            fresh.path, fresh.database, running.database, restart,
        )  # fmt: skip
    if fresh.metrics != running.metrics:
        log.warning(
            "metrics: changed in %s: the engine goes on with the metrics it serves %s",
            fresh.path, restart,
        )  # fmt: skip
    return replace(fresh, database=running.database, metrics=running.metrics)
