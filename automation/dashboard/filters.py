"""The filters of the history and actions pages, read from the query string.

Every value is optional; a value that cannot be read is dropped and named in ``problems``,
with the field it is about (``""`` for none), so the page can say so beside that field
instead of failing. Days are whole UTC days, ``to`` included.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import get_args
from urllib.parse import urlencode

from automation.core.records import FiringKind

__all__ = ["KINDS", "Filters", "read_filters"]

KINDS: tuple[str, ...] = get_args(FiringKind)  # capped too: what a limit held back
PAGE = 100


@dataclass(frozen=True)
class Filters:
    rule: str | None = None
    post: str | None = None
    status: str | None = None  # a firing kind on the history page, an action status on actions
    day_from: date | None = None
    day_to: date | None = None
    before: datetime | None = None  # paging: only rows older than this
    problems: tuple[tuple[str, str], ...] = field(default=())  # (field, what is wrong)

    def about(self, name: str) -> list[str]:
        """The problems of one field (``""``: of none in particular)."""
        return [text for field_name, text in self.problems if field_name == name]

    @property
    def since(self) -> datetime | None:
        return _midnight(self.day_from) if self.day_from else None

    @property
    def until(self) -> datetime | None:
        end = _midnight(self.day_to) + timedelta(days=1) if self.day_to else None
        if self.before is not None and (end is None or self.before < end):
            return self.before
        return end

    def query(self, **changes: object) -> str:
        """This page's query string with ``changes``, for links (older rows, other statuses)."""
        values = self._fields()
        values["before"] = self.before.timestamp() if self.before else None
        values.update(changes)
        return urlencode({k: v for k, v in values.items() if v not in (None, "")})

    def chosen(self) -> list[tuple[str, str, str]]:
        """The filters set, each as (its field, its value, this page's query string
        without it), for links that clear one; a cleared page starts at the newest rows."""
        return [
            (name, str(value), self.query(**{name: None, "before": None}))
            for name, value in self._fields().items()
            if value is not None
        ]

    def _fields(self) -> dict[str, object]:
        """The filters by their names in the query string (paging aside)."""
        return {
            "rule": self.rule,
            "post": self.post,
            "status": self.status,
            "from": self.day_from,
            "to": self.day_to,
        }


def read_filters(params: Mapping[str, str], statuses: tuple[str, ...]) -> Filters:
    problems: list[tuple[str, str]] = []
    post = params.get("post", "").strip() or None
    if post is not None and not (post.isdigit() and len(post) <= 19):
        problems.append(
            ("post", f"{post!r} is not a post ID (its digits, such as 1260294888811347969)")
        )
        post = None
    status = params.get("status") or None
    if status is not None and status not in statuses:
        problems.append(
            ("status", f"unknown status {status!r}: choose one of {', '.join(statuses)}")
        )
        status = None
    before = None
    if params.get("before"):
        try:
            before = datetime.fromtimestamp(float(params["before"]), tz=UTC)
        except (ValueError, OverflowError, OSError):
            problems.append(("", "the page link was damaged; showing the newest rows"))
    day_from = _day(params.get("from"), "from", problems)
    day_to = _day(params.get("to"), "to", problems)
    if day_from and day_to and day_to < day_from:
        problems.append(("to", f"to: {day_to} is before from {day_from}: nothing can match"))
    return Filters(
        rule=params.get("rule") or None,
        post=post,
        status=status,
        day_from=day_from,
        day_to=day_to,
        before=before,
        problems=tuple(problems),
    )


def _day(text: str | None, name: str, problems: list[tuple[str, str]]) -> date | None:
    if not text:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        problems.append((name, f"{name}: {text!r} is not a day such as 2026-03-02"))
        return None


def _midnight(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=UTC)
