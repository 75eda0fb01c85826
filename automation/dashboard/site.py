"""What every page of the dashboard shares: the config, the clock, the database and the
rules as they are on disk."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from threading import Lock

from starlette.requests import Request

from automation.config.disk_space import MeasureDisk, database_disk
from automation.config.model import Config
from automation.core.rules import Rule
from automation.core.wording import shown_path
from automation.rulefiles.rule_parser import RuleSet, expand_paths, load_rules
from automation.store.base import Store
from automation.store.opening import open_readonly, require_store

__all__ = ["Site", "site_of"]

# A control's write waits at most this long for the engine's write lock, then fails with a
# message instead of holding a request (and the engine) up.
WRITE_TIMEOUT = 3.0


@dataclass
class Site:
    """The dashboard's view of one deployment. ``clock`` is injected so pages say "5 min
    ago" against the same time as the engine in tests; ``disk`` so they can show a full
    disk without filling one."""

    config: Config
    clock: Callable[[], datetime]
    disk: MeasureDisk = database_disk
    _rules: tuple[tuple[tuple[Path, float], ...], RuleSet] | None = field(default=None, repr=False)
    _lock: Lock = field(default_factory=Lock, repr=False)

    @contextmanager
    def reading(self) -> Iterator[Store]:
        """The database for one page: read-only, so a page can never hold the engine up."""
        store = open_readonly(self.config.database)
        try:
            yield store
        finally:
            store.close()

    @contextmanager
    def writing(self) -> Iterator[Store]:
        """The database for one control: each write is one short transaction. A database
        the engine has not made yet is refused (a UsageError), never made empty here."""
        store = require_store(
            self.config.database, migrate=self.config.migrate, timeout=WRITE_TIMEOUT
        )
        try:
            yield store
        finally:
            store.close()

    def waiting(self) -> str | None:
        """What to do while the engine has not made the database yet (a SQLite file that
        is not there): the dashboard says so on every page and serves them once it has;
        None when there is a database."""
        database = self.config.database
        if not isinstance(database, Path) or database.exists():
            return None
        return (
            f"no database yet at {shown_path(str(database))}: start the engine (systemctl "
            "start automation,"
            " or automation run --once); the pages show here once it has made the database"
        )

    def ruleset(self) -> RuleSet:
        """The rule files as they are now, read again only when one of them changed."""
        files, _ = expand_paths(list(self.config.rules))
        stamp = tuple((f, _mtime(f)) for f in files) + tuple(
            (p, _mtime(p)) for p in self.config.rules
        )
        with self._lock:
            if self._rules is None or self._rules[0] != stamp:
                loaded = load_rules(list(self.config.rules), names=self.config.rule_names())
                self._rules = (stamp, loaded)
            return self._rules[1]

    def rules(self) -> tuple[Rule, ...]:
        return self.ruleset().rules

    def rule(self, rule_id: str) -> Rule | None:
        return next((r for r in self.rules() if r.id == rule_id), None)

    def no_rule(self, rule_id: str) -> str:
        """What a page says of a rule ID the rule files do not hold, or hold with an error."""
        text = f"no rule {rule_id!r} in the rule files"
        if self.ruleset().errors:
            text += (
                ": the rule files have errors, and a rule with an error is not loaded until it"
                " is fixed (the Rules page lists them)"
            )
        return text


def site_of(request: Request) -> Site:
    """The deployment the dashboard application serving ``request`` shows."""
    site: Site = request.app.state.site
    return site


def _mtime(path: Path) -> float:
    try:
        return path.stat().st_mtime_ns / 1e9
    except OSError:
        return -1.0
