"""One operation that fails again and again while its cause lasts (a full disk, a database
that went read-only), reported so that an operator sees it without a flood of lines.

The first failure is logged as it is; while the failures go on, at most one line every
``every`` (a minute) repeats the latest with how many times it failed since the line
before and since when it fails; the first success after them says it works again.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime, timedelta

from automation.core.durations import format_duration
from automation.core.payloads import iso
from automation.core.wording import counted

__all__ = ["RepeatedFailure"]


class RepeatedFailure:
    """Reports one operation's failures: ``failed`` after each, ``worked`` after each
    success. ``name`` says what it does, for the line that says it works again."""

    def __init__(
        self,
        log: logging.Logger,
        name: str,
        clock: Callable[[], datetime],
        every: timedelta = timedelta(minutes=1),
    ) -> None:
        self._log = log
        self._name = name
        self._clock = clock
        self._every = every
        self._every_text = format_duration(every.total_seconds())
        self._since: datetime | None = None  # the first failure of the current run
        self._said_at: datetime | None = None  # the last line about it
        self._unsaid = 0  # failures since that line
        self._failures = 0  # in the current run

    def failed(self, text: str) -> None:
        """``text`` says what failed and why, as its first line says it."""
        now = self._clock()
        self._failures += 1
        if self._since is None or self._said_at is None:
            self._since = self._said_at = now
            self._log.error(
                "%s (said again at most every %s while it fails)", text, self._every_text
            )
            return
        self._unsaid += 1
        if timedelta(0) <= now - self._said_at < self._every:
            return  # (a clock set back says it at once, rather than after the time it lost)
        self._log.error(
            "%s (%s since %s, failing since %s; said at most every %s)",
            text,
            counted(self._unsaid, "more failure"),
            iso(self._said_at),
            iso(self._since),
            self._every_text,
        )
        self._said_at, self._unsaid = now, 0

    def worked(self) -> None:
        """After a success: say it works again, once, when it failed before."""
        if self._since is None:
            return
        self._log.info(
            "%s works again, after %s since %s",
            self._name,
            counted(self._failures, "failure"),
            iso(self._since),
        )
        self._since = self._said_at = None
        self._unsaid = self._failures = 0
