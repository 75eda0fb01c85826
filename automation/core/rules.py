"""The rule model: what a rule file means, as frozen values.

Parsing (``rule_parser``) produces these; the evaluator (``evaluate``) compiles them; the
engine stores their ``fingerprint``. Nothing here does I/O. Durations are whole seconds.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from datetime import datetime, timedelta, tzinfo
from functools import cached_property
from typing import Any

from automation.core.durations import format_duration
from automation.core.templates import Template
from automation.core.wording import shown_path

__all__ = [
    "DEFAULT_MAX_AGE",
    "Action",
    "AllOf",
    "AnyOf",
    "Condition",
    "Every",
    "FirePolicy",
    "JsonObject",
    "Leaf",
    "LikeAction",
    "Limit",
    "LogAction",
    "Not",
    "Once",
    "Position",
    "Quiet",
    "QuoteAction",
    "Rearm",
    "ReplyAction",
    "RepostAction",
    "Rule",
    "Watch",
    "WebhookAction",
    "condition_metrics",
]

DEFAULT_MAX_AGE = 7 * 86400
OPERATORS = ("gte", "gt", "lte", "lt", "eq")
OPERATOR_SYMBOLS = {"gte": ">=", "gt": ">", "lte": "<=", "lt": "<", "eq": "=="}


@dataclass(frozen=True)
class Position:
    """Where something was written: 1-based line and column."""

    path: str
    line: int
    column: int

    def __str__(self) -> str:
        return f"{shown_path(self.path)}:{self.line}:{self.column}"


_NOWHERE = Position("", 0, 0)


# --- conditions ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Leaf:
    """``metric op threshold``, or with ``over`` the metric's increase within that window.

    ``metric`` is canonical (aliases resolved); ``written`` is what the author wrote, for
    traces and messages.
    """

    metric: str
    op: str
    threshold: float
    over: int | None = None
    written: str = ""
    pos: Position = field(default=_NOWHERE, compare=False)

    def describe(self) -> str:
        name = self.written or self.metric
        window = f" over {_fmt_seconds(self.over)}" if self.over else ""
        return f"{name}{window} {OPERATOR_SYMBOLS[self.op]} {_fmt_number(self.threshold)}"


@dataclass(frozen=True)
class AllOf:
    items: tuple[Condition, ...]
    pos: Position = field(default=_NOWHERE, compare=False)


@dataclass(frozen=True)
class AnyOf:
    items: tuple[Condition, ...]
    pos: Position = field(default=_NOWHERE, compare=False)


@dataclass(frozen=True)
class Not:
    item: Condition
    pos: Position = field(default=_NOWHERE, compare=False)


Condition = Leaf | AllOf | AnyOf | Not


def condition_metrics(cond: Condition | None) -> tuple[Leaf, ...]:
    """Every leaf of a condition, in order."""
    if cond is None:
        return ()
    if isinstance(cond, Leaf):
        return (cond,)
    if isinstance(cond, Not):
        return condition_metrics(cond.item)
    return tuple(leaf for item in cond.items for leaf in condition_metrics(item))


# --- firing policies ----------------------------------------------------------------------


@dataclass(frozen=True)
class Once:
    """At most once per rule and post, ever (the default)."""


@dataclass(frozen=True)
class Every:
    """Each new multiple of ``n`` of ``metric`` (canonical); a jump fires once, for the highest."""

    n: int
    metric: str
    written: str = ""


@dataclass(frozen=True)
class Rearm:
    """On every false→true change of the condition, at most once per ``cooldown`` seconds."""

    cooldown: int = 0


FirePolicy = Once | Every | Rearm


# --- watch --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Watch:
    """Which posts a rule looks at: recent originals of owned accounts, plus explicit IDs.

    ``owner`` names the owned account that wrote ``posts``; without it they are public.
    ``max_age`` cuts off the discovered posts; the posts named by ID only when the rule
    set it (``max_age_set``): naming a post says to watch it, however old. Whether it was
    set is left out of the fingerprint, so no rule re-seeds for this alone.
    """

    accounts: tuple[str, ...] = ()
    posts: tuple[str, ...] = ()
    owner: str | None = None
    max_age: int = DEFAULT_MAX_AGE
    max_age_set: bool = field(default=False, compare=False)

    def oldest(self, now: datetime) -> datetime:
        """The max_age cut-off at ``now``: a post created before it is too old to watch,
        unless ``ages_out`` says max_age does not apply to it. The one place the cut-off
        is computed (the cycle's plan and the evaluator ask)."""
        return now - self._max_age

    def ages_out(self, post_id: str) -> bool:
        """Whether max_age applies to ``post_id``: to every discovered post, and to a post
        named by ID only when the rule set max_age itself."""
        return self.max_age_set or post_id not in self.named

    @cached_property
    def _max_age(self) -> timedelta:
        # made once: building a timedelta costs more than the rest of an evaluation
        return timedelta(seconds=self.max_age)

    @cached_property
    def named(self) -> frozenset[str]:
        """The posts named by ID, as a set."""
        return frozenset(self.posts)


# --- actions ------------------------------------------------------------------------------


@dataclass(frozen=True)
class RepostAction:
    as_account: str
    kind: str = "repost"


@dataclass(frozen=True)
class LikeAction:
    as_account: str
    kind: str = "like"


@dataclass(frozen=True)
class ReplyAction:
    as_account: str
    text: Template
    kind: str = "reply"


@dataclass(frozen=True)
class QuoteAction:
    as_account: str
    text: Template
    kind: str = "quote"


@dataclass(frozen=True)
class JsonObject:
    """A JSON object in a webhook body, frozen: ``items`` keeps the author's key order.

    A distinct type (rather than a tuple of pairs) keeps ``{}`` apart from ``[]`` and an
    object apart from a list of two-item lists."""

    items: tuple[tuple[str, Any], ...] = ()


@dataclass(frozen=True)
class WebhookAction:
    """``body`` is a JSON value whose strings are Templates, objects JsonObject and arrays
    tuples."""

    url: Template
    body: Any = None
    headers: tuple[tuple[str, Template], ...] = ()
    secret: str | None = None
    timeout: float = 10.0
    digest: int | None = None  # seconds: one request per rule and window, listing its firings
    quiet: bool = True  # False: sent during the rule's quiet hours too
    kind: str = "webhook"


@dataclass(frozen=True)
class LogAction:
    message: Template
    kind: str = "log"


Action = RepostAction | LikeAction | ReplyAction | QuoteAction | WebhookAction | LogAction


# --- caps and quiet hours -----------------------------------------------------------------


@dataclass(frozen=True)
class Limit:
    """At most ``max`` firings of the rule within any ``per`` seconds; more are ``capped``."""

    max: int
    per: int


@dataclass(frozen=True)
class Quiet:
    """Quiet hours: from ``start`` to ``end`` (minutes after midnight, local time in
    ``tz``) a firing's actions wait in the outbox. ``end`` before ``start`` spans midnight.
    ``zone`` is ``tz`` resolved by the parser (``zoneinfo``)."""

    start: int
    end: int
    tz: str
    zone: tzinfo = field(compare=False, repr=False)


# --- the rule -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Rule:
    id: str
    watch: Watch
    when: Condition | None
    fire: FirePolicy = Once()
    for_: int = 0
    actions: tuple[Action, ...] = ()
    description: str = ""
    enabled: bool = True
    backfill: bool = False
    limit: Limit | None = None
    quiet: Quiet | None = None
    pos: Position = field(default=_NOWHERE, compare=False)

    @property
    def fingerprint(self) -> str:
        """Changes with what decides firing (watch, condition, for, policy), not with the
        description, actions, ``enabled``, ``backfill``, ``limit`` or ``quiet``, so
        editing an action or a cap never re-fires or re-seeds anything."""
        decisive = {
            "watch": _plain(self.watch),
            "when": _plain(self.when),
            "for": self.for_,
            "fire": _plain(self.fire),
        }
        blob = json.dumps(decisive, sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(blob.encode()).hexdigest()[:16]


def _plain(value: Any) -> Any:
    """A JSON-able form of a model value, without positions or author spellings."""
    if value is None or isinstance(value, str | int | float | bool):
        return value
    if isinstance(value, tuple | list):
        return [_plain(v) for v in value]
    fields = getattr(value, "__dataclass_fields__", None)
    if fields is None:
        return repr(value)
    out: dict[str, Any] = {"type": type(value).__name__}
    for name, f in fields.items():
        if name in ("pos", "written") or not f.compare:
            continue
        out[name] = _plain(getattr(value, name))
    return out


def _fmt_seconds(seconds: int) -> str:
    return format_duration(seconds)


def _fmt_number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else repr(value)
