"""Engagement API response bodies -> frozen ``EngagementResult`` values.

Pure, and written for speed: a large watch list means hundreds of /totals responses of
250 posts each per poll. It follows the reference's shapes and accepts every variant it
marks as unconfirmed: counts as strings or numbers, ``errors`` as strings or objects,
both 4-level nesting orders, both "Forbidden to access tweets" texts. Anything else is a
``MalformedResponse`` naming where in the body the problem is.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from itertools import chain, pairwise
from operator import itemgetter
from types import MappingProxyType
from typing import Any, cast

from automation.core.errors import MalformedResponse
from automation.core.facts import HourlySeries
from automation.core.metric_values import PackedTotals, packed_totals
from automation.x.engagement_plan import EngagementRequest

__all__ = [
    "UNSUPPORTED_KEYS",
    "EngagementResult",
    "error_messages",
    "parse_response",
    "split_forbidden",
]

# Which metrics each "unsupported" list makes unknown for the posts it names.
UNSUPPORTED_KEYS: dict[str, tuple[str, ...]] = {
    "unsupported_for_impressions_engagements_tweet_ids": ("impressions", "engagements"),
    "unsupported_for_video_views_tweet_ids": ("video_views",),
}
_FORBIDDEN = re.compile(r"forbidden to access tweets(?: for author id \d+)?\s*:\s*([\d,\s]+)", re.I)
_INF = math.inf
_HOURS: dict[str, timedelta] = {
    **{f"{h:02d}": timedelta(hours=h) for h in range(24)},
    **{str(h): timedelta(hours=h) for h in range(10)},
}
_COUNTS: dict[str, float] = {}  # a valid count's text -> its float, see _read_counts
_COUNTS_MAX = 1 << 16
_NO_TOTALS: Mapping[str, Mapping[str, float]] = MappingProxyType({})
_NO_HOURLY: Mapping[str, Mapping[str, HourlySeries]] = MappingProxyType({})
_NO_TEXTS: Mapping[str, Mapping[str, str]] = MappingProxyType({})
_TEXT_DIGITS = 15  # a whole number of up to 15 digits: "%.15g" of its float prints it back
# counts joined by commas, each "0" or ASCII digits with no leading 0 (possessive: a count
# ends at its comma, so nothing is given back)
_PLAIN = f"(?:0|[1-9][0-9]{{0,{_TEXT_DIGITS - 1}}}+)"
_PLAIN_COUNTS = re.compile(f"(?:{_PLAIN},)*+{_PLAIN}")


@dataclass(frozen=True)
class EngagementResult:
    """What one response says.

    ``totals``: post ID -> metric -> value (2-level groupings). ``hourly``: post ID ->
    metric -> series (4-level groupings). ``unavailable``: posts that are gone or
    protected. ``unsupported``: metric -> posts for which that metric cannot be known
    (already dropped from totals and hourly). ``forbidden``: posts the token's account does
    not own. ``errors``: every other error message, as sent. ``texts``: instead of
    ``totals``, for a /totals request that asks for ``texts``, when every count of the
    answer is a whole number written plainly (``_plain_counts``): post ID -> metric ->
    the count as sent. ``joined``: with ``texts``, when every post holds exactly the
    metrics asked for (the usual answer): those metrics, and each post's counts joined by
    commas in their order, post after post in ``texts``' order (what a saved answer keeps
    and a CSV line holds, read here once instead of again); else None.
    """

    totals: Mapping[str, Mapping[str, float]] = field(default_factory=lambda: _NO_TOTALS)
    texts: Mapping[str, Mapping[str, str]] = field(default_factory=lambda: _NO_TEXTS)
    hourly: Mapping[str, Mapping[str, HourlySeries]] = field(default_factory=lambda: _NO_HOURLY)
    unavailable: frozenset[str] = frozenset()
    unsupported: Mapping[str, frozenset[str]] = field(default_factory=lambda: MappingProxyType({}))
    forbidden: frozenset[str] = frozenset()
    errors: tuple[str, ...] = ()
    start: datetime | None = None
    end: datetime | None = None
    joined: tuple[tuple[str, ...], tuple[str, ...]] | None = None


def parse_response(data: Any, request: EngagementRequest, *, read_at: datetime) -> EngagementResult:
    """Parse a decoded 200 body for ``request``; errors inside it are part of the result.
    ``data`` is taken over: its /totals counts become the result's floats in place."""
    where = f"/{request.endpoint} response"
    if not isinstance(data, dict):
        raise MalformedResponse(f"{where}: expected a JSON object, got {_kind(data)}")
    forbidden, errors = split_forbidden(error_messages(data, where))
    unavailable = frozenset(_id_list(data, "unavailable_tweet_ids", where))
    unsupported: dict[str, set[str]] = {}
    for key, names in UNSUPPORTED_KEYS.items():
        ids = _id_list(data, key, where)
        if ids:
            for name in names:
                unsupported.setdefault(name, set()).update(ids)

    grouping = data.get(request.grouping)
    totals: dict[str, dict[str, float]] = {}
    packed: PackedTotals | None = None
    texts: dict[str, dict[str, str]] = {}
    hourly: dict[str, dict[str, HourlySeries]] = {}
    joined: tuple[str, ...] | None = None
    if grouping is None:
        if not (errors or forbidden or unavailable or unsupported):
            raise MalformedResponse(
                f"{where}: no grouping {request.grouping!r} and no error explaining why "
                f"(keys: {', '.join(sorted(data)) or 'none'})"
            )
    elif not isinstance(grouping, dict):
        raise MalformedResponse(
            f"{where}: grouping {request.grouping!r} is {_kind(grouping)}, not an object"
        )
    elif request.hourly:
        hourly = _parse_hourly(grouping, f"{where}: {request.grouping}", read_at, _own_ids(request))
    else:
        asked = request.engagement_types
        plain, joined = _plain_counts(grouping, asked) if request.texts else (False, None)
        if plain:
            texts = grouping
        elif request.texts or unsupported or (packed := _packed(grouping, request)) is None:
            totals = _parse_totals(grouping, f"{where}: {request.grouping}", _own_ids(request))

    for metric, dropped in unsupported.items():
        for post_id in dropped:
            totals.get(post_id, {}).pop(metric, None)
            texts.get(post_id, {}).pop(metric, None)
            hourly.get(post_id, {}).pop(metric, None)
    return EngagementResult(
        totals=_frozen(totals) if packed is None else packed,
        texts=MappingProxyType(texts) if texts else _NO_TEXTS,
        hourly=_frozen(hourly),
        unavailable=unavailable,
        unsupported=MappingProxyType({k: frozenset(v) for k, v in unsupported.items()}),
        forbidden=forbidden,
        errors=errors,
        start=_time(data.get("start"), "start", where),
        end=_time(data.get("end"), "end", where),
        # an unsupported metric was taken out of the texts after they were joined
        joined=None if joined is None or not texts or unsupported else (asked, joined),
    )


def _frozen(by_post: dict[str, dict[str, Any]]) -> Mapping[str, Mapping[str, Any]]:
    """Read-only views of each post's values, and of the whole, without a Python loop."""
    proxies = map(MappingProxyType, by_post.values())
    return MappingProxyType(dict(zip(by_post, proxies, strict=True)))


def error_messages(data: Any, where: str = "response") -> tuple[str, ...]:
    """The ``errors`` of a body as strings: documented as strings, seen as objects too."""
    if not isinstance(data, dict) or "errors" not in data:
        return ()
    raw = data["errors"]
    if isinstance(raw, str | dict):
        raw = [raw]
    if not isinstance(raw, list):
        raise MalformedResponse(f"{where}: 'errors' is {_kind(raw)}, not a list")
    out: list[str] = []
    for item in raw:
        if isinstance(item, str):
            out.append(item)
        elif isinstance(item, dict):
            text = item.get("message") or item.get("detail") or item.get("title")
            out.append(str(text) if text else json.dumps(item, sort_keys=True))
        else:
            out.append(json.dumps(item))
    return tuple(out)


def split_forbidden(messages: Iterable[str]) -> tuple[frozenset[str], tuple[str, ...]]:
    """Post IDs named by "Forbidden to access tweets[ for author id X]: 1,2", and the rest."""
    ids: set[str] = set()
    rest: list[str] = []
    for text in messages:
        found = _FORBIDDEN.search(text)
        if found:
            ids.update(re.findall(r"\d+", found.group(1)))
        else:
            rest.append(text)
    return frozenset(ids), tuple(rest)


def _kind(value: Any) -> str:
    return "null" if value is None else type(value).__name__


def _id_list(data: dict[str, Any], key: str, where: str) -> list[str]:
    raw = data.get(key)
    if raw is None:
        return []
    if not isinstance(raw, list) or not all(
        isinstance(i, str | int) and not isinstance(i, bool) for i in raw
    ):
        raise MalformedResponse(f"{where}: {key!r} is not a list of post IDs: {raw!r:.80}")
    return [str(i) for i in raw]


def _time(raw: Any, key: str, where: str) -> datetime | None:
    if raw is None:
        return None
    try:
        t = datetime.fromisoformat(raw)
    except (TypeError, ValueError):
        raise MalformedResponse(f"{where}: {key!r} is not a timestamp: {raw!r:.40}") from None
    return t.replace(tzinfo=UTC) if t.tzinfo is None else t.astimezone(UTC)


def _bad(where: str, path: str, what: str, value: Any) -> MalformedResponse:
    return MalformedResponse(f"{where}{path}: {what}: {value!r:.60}")


def _count(value: Any, where: str, path: str) -> float:
    try:
        f = float(value)
    except (TypeError, ValueError):
        raise _bad(where, path, "count is not a number", value) from None
    except OverflowError:  # an integer beyond any float
        raise _bad(where, path, "count is too large", value) from None
    if not 0.0 <= f < _INF or value is True or value is False:
        raise _bad(where, path, "count is not a non-negative number", value)
    return f


def _counts(per: Any, where: str, outer: str) -> dict[str, float]:
    """One {name: count} object (at ``[outer]`` of the grouping), its counts turned into
    floats in place: the object is part of a body decoded for this parse alone, and a new
    dict per post cost a quarter of the parse. The loop is inline because it runs 10**6
    times a poll; a fault's path is written only when there is one."""
    if type(per) is not dict:
        raise _bad(where, f"[{outer!r}]", "expected an object of counts", per)
    out: dict[str, float] = per  # same keys, so it may change while it is walked
    for key, value in per.items():
        try:
            f = float(value)
        except (TypeError, ValueError):
            raise _bad(where, f"[{outer!r}][{key!r}]", "count is not a number", value) from None
        except OverflowError:  # an integer beyond any float
            raise _bad(where, f"[{outer!r}][{key!r}]", "count is too large", value) from None
        if not 0.0 <= f < _INF or value is True or value is False:
            raise _bad(where, f"[{outer!r}][{key!r}]", "count is not a non-negative number", value)
        out[key] = f
    return out


def _plain_counts(
    grouping: dict[str, Any], metrics: tuple[str, ...]
) -> tuple[bool, tuple[str, ...] | None]:
    """Whether a /totals grouping is {post: {metric: count}} with every count a whole
    number written plainly: a text of ASCII digits, no leading 0, at most 15 digits, which
    ``float`` reads exactly and ``"%.15g"`` of that float prints back unchanged, so it can
    be written out as sent. The documented answer; any other form (numbers, "1e3",
    "047", "2.5", a bad count) goes through ``_parse_totals``, which reads or reports it.
    Two C-level passes over the answer's joined counts (as many commas as gaps between
    counts, so none inside one; then every count plain) instead of a ``float`` per count.
    With it, each post's counts joined when every post holds exactly ``metrics``, in
    their order (``EngagementResult.joined``), else None."""
    if _type_first(grouping):
        return False, None
    per_post = list(grouping.values())
    in_order = _in_order(per_post, metrics)
    if in_order is not None:
        each, joined = in_order
        return _plain(joined, len(metrics) * len(per_post)), each
    try:  # dict.values refuses what is not an object; join, a count that is not a text
        anyhow = ",".join(chain.from_iterable(map(dict.values, per_post)))
    except TypeError:
        return False, None
    return _plain(anyhow, sum(map(len, per_post))), None


def _in_order(per_post: list[Any], metrics: tuple[str, ...]) -> tuple[tuple[str, ...], str] | None:
    """Each post's counts of ``metrics`` joined, and all of them joined, post after post,
    when each post is an object of exactly those metrics and every count a text; else
    None. A post without one raises a KeyError as it is read, so equal sizes leave no
    room for another metric. Joined a post at a time, then together, costs what one join
    of every count did (0.036 against 0.039 s for 100,000 posts)."""
    if not metrics:
        return None
    try:
        if len(metrics) > 1:
            each = tuple(map(",".join, map(itemgetter(*metrics), per_post)))
        else:
            each = tuple(map(itemgetter(metrics[0]), per_post))
        joined = ",".join(each)
        exact = sum(map(len, per_post)) == len(metrics) * len(per_post)
    except (KeyError, TypeError, IndexError):
        return None
    return (each, joined) if exact else None


def _plain(joined: str, counts: int) -> bool:
    """Whether ``joined`` is ``counts`` plain counts and the commas between them."""
    return not counts or (
        joined.count(",") == counts - 1 and _PLAIN_COUNTS.fullmatch(joined) is not None
    )


def _type_first(grouping: dict[str, Any]) -> bool:
    """True for {metric: {post: ...}}: post IDs are digits, metric names never are."""
    first = next(iter(grouping), None)
    return first is not None and not first.isdigit()


def _own_ids(request: EngagementRequest) -> Callable[[str, str], str]:
    """The request's own string of each post ID it asked for (the one the engine holds),
    else the ID as answered: the engine keeps the answers through the cycle and past it,
    and the decoded body's copies of 100,000 IDs would stay with them. A small map per
    request costs less than ``sys.intern`` on every ID."""
    ids = request.tweet_ids
    return dict(zip(ids, ids, strict=True)).get


def _packed(grouping: dict[str, Any], request: EngagementRequest) -> PackedTotals | None:
    """A post-first grouping read in one pass (``packed_totals``); None when its posts
    differ in their metrics or a count is not one ``_count`` takes: ``_parse_totals``
    reads those post by post, and names a fault where it is."""
    if not grouping or _type_first(grouping):
        return None
    own = _own_ids(request)
    return packed_totals(tuple(map(own, grouping, grouping)), list(grouping.values()))


def _parse_totals(
    grouping: dict[str, Any], where: str, own: Callable[[str, str], str]
) -> dict[str, dict[str, float]]:
    if not _type_first(grouping):
        return {own(pid, pid): _counts(per, where, pid) for pid, per in grouping.items()}
    totals: dict[str, dict[str, float]] = {}
    for metric, per_post in grouping.items():
        for pid, value in _counts(per_post, where, metric).items():
            totals.setdefault(own(pid, pid), {})[metric] = value
    return totals


def _parse_hourly(
    grouping: dict[str, Any], where: str, read_at: datetime, own: Callable[[str, str], str]
) -> dict[str, dict[str, HourlySeries]]:
    plans: dict[tuple[tuple[str, ...], ...], _Plan] = {}
    # equal counts are one tuple: a first cycle's 66,000 series hold 34,000 distinct per
    # answer (a post's metric with no engagement in 28 hours is all zeros); and each
    # distinct series of texts is read once (apart: a number equals its float, True 1.0)
    alike: _Alike = ({}, {})
    out: dict[str, dict[str, HourlySeries]] = {}
    if not _type_first(grouping):  # post IDs are the answer's keys, each once
        for pid, inner in grouping.items():
            if type(inner) is not dict:
                raise _bad(where, f"[{pid!r}]", "expected an object", inner)
            if inner:  # a post with no series is left out, as in the other order
                out[own(pid, pid)] = {
                    metric: HourlySeries(
                        *_series(by_day, where, pid, metric, plans, alike), read_at
                    )
                    for metric, by_day in inner.items()
                }
        return out
    for metric, inner in grouping.items():
        if type(inner) is not dict:
            raise _bad(where, f"[{metric!r}]", "expected an object", inner)
        for pid, by_day in inner.items():
            series = HourlySeries(*_series(by_day, where, metric, pid, plans, alike), read_at)
            out.setdefault(own(pid, pid), {})[metric] = series
    return out


# The moments of one series shape (its days and their hour keys) in the order the body
# lists them, and the order that sorts them, or None when they already are sorted.
_Plan = tuple[tuple[datetime, ...], list[int] | None]
# Counts as texts -> floats, and floats -> the one tuple of those floats.
_Alike = tuple[dict[tuple[str, ...], tuple[float, ...]], dict[tuple[float, ...], tuple[float, ...]]]
# A series as two columns: its hour starts, oldest first, and their counts.
_Columns = tuple[tuple[datetime, ...], tuple[float, ...]]


def _series(
    by_day: Any,
    where: str,
    outer: str,
    key: str,
    plans: dict[tuple[tuple[str, ...], ...], _Plan],
    alike: _Alike,
) -> _Columns:
    """Runs once per post and metric of every /28hr answer (130,000 in the first eight
    cycles of 100,000 posts), so the common case is a few C-level passes: every series of
    an answer has the same days and hours, so their moments and order are worked out once
    per answer (``plans``; the series then share the plan's tuple of moments), and a
    series' counts are read once per answer (``alike``), each text through ``_COUNTS``.
    Anything odd goes to ``_checked_series``, which finds the first fault in body order
    and names its path."""
    try:  # a day that is not an object has no dict.values; an unhashable count, no hash
        form = (tuple(by_day), *map(tuple, by_day.values()))
        raw = tuple(chain.from_iterable(map(dict.values, by_day.values())))
        counts = alike[0].get(raw)
    except (TypeError, AttributeError):
        return _checked_series(by_day, where, f"[{outer!r}][{key!r}]")
    plan = plans.get(form)
    if plan is None:
        plan = _plan(form)
        if plan is None:
            return _checked_series(by_day, where, f"[{outer!r}][{key!r}]")
        plans[form] = plan
    if counts is None:
        known = tuple(map(_COUNTS.get, raw))
        read = _read_counts(raw) if None in known else cast(tuple[float, ...], known)
        if read is None:
            return _checked_series(by_day, where, f"[{outer!r}][{key!r}]")
        counts = alike[1].setdefault(read, read)
        if read is known:  # every count a text read before
            alike[0][raw] = counts
    moments, order = plan
    if order is None:
        return moments, counts
    starts, ordered = _sorted_buckets(moments, counts, order)
    return starts, alike[1].setdefault(ordered, ordered)


def _read_counts(raw: tuple[Any, ...]) -> tuple[float, ...] | None:
    """Each count as a float, or None at the first that is not a non-negative number.
    A text read here is kept in ``_COUNTS``: hourly counts repeat so much ("0", "12")
    that reading each text once beats reading every bucket. Only valid texts are kept,
    so a count found there is valid (no number or ``True`` equals a text)."""
    out: list[float] = []
    for value in raw:
        f = _COUNTS.get(value)
        if f is None:
            try:
                f = _count(value, "", "")
            except MalformedResponse:
                return None
            if type(value) is str:
                if len(_COUNTS) > _COUNTS_MAX:
                    _COUNTS.clear()
                _COUNTS[value] = f
        out.append(f)
    return tuple(out)


def _plan(form: tuple[tuple[str, ...], ...]) -> _Plan | None:
    """None when a day or an hour is not valid (``_checked_series`` then says which)."""
    moments: list[datetime] = []
    for day, hours in zip(form[0], form[1:], strict=True):
        try:
            d = date.fromisoformat(day)
        except ValueError:
            return None
        midnight = datetime(d.year, d.month, d.day, tzinfo=UTC)
        for hour in hours:
            offset = _HOURS.get(hour)
            if offset is None:
                return None
            moments.append(midnight + offset)
    if all(a < b for a, b in pairwise(moments)):
        return tuple(moments), None
    return tuple(moments), sorted(range(len(moments)), key=moments.__getitem__)


def _sorted_buckets(
    moments: tuple[datetime, ...], values: Sequence[float], order: list[int]
) -> _Columns:
    """Buckets oldest first; an hour named twice ("0" and "00", or a day in two spellings)
    keeps one bucket, with the larger count."""
    buckets: dict[datetime, float] = {}
    for i in order:
        moment, value = moments[i], values[i]
        if buckets.get(moment, -1.0) < value:
            buckets[moment] = value
    return tuple(buckets), tuple(buckets.values())


def _checked_series(by_day: Any, where: str, path: str) -> _Columns:
    """The slow, exact path: raises at the first malformed day, hour or count."""
    if type(by_day) is not dict:
        raise _bad(where, path, "expected an object of days", by_day)
    moments: list[datetime] = []
    values: list[float] = []
    for day, hours in by_day.items():
        if type(hours) is not dict:
            raise _bad(where, f"{path}[{day!r}]", "expected an object of hours", hours)
        for hour, value in hours.items():
            moments.append(_moment(day, hour, where, f"{path}[{day!r}]"))
            values.append(_count(value, where, f"{path}[{day!r}][{hour!r}]"))
    order = sorted(range(len(moments)), key=moments.__getitem__)
    return _sorted_buckets(tuple(moments), values, order)


def _moment(day: str, hour: str, where: str, path: str) -> datetime:
    offset = _HOURS.get(hour)
    if offset is None:
        raise _bad(where, path, "hour is not 00-23", hour)
    try:
        d = date.fromisoformat(day)
    except ValueError:
        raise _bad(where, path, "day is not YYYY-MM-DD", day) from None
    return datetime(d.year, d.month, d.day, tzinfo=UTC) + offset
