"""What one test expects: firings, seedings and silences, at a poll or a time, with actions.

Poll times are known by now (steps may move them), so ``at: 25m`` is resolved to its poll
here and a time no poll falls on is reported with the times there are. Without poll
times (none could be worked out, which is reported already) neither is checked.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from automation.core.durations import format_duration, parse_duration
from automation.core.rules import Rule
from automation.rule_tests.model import Expectation, ExpectationKind, ExpectedAction
from automation.rule_tests.scope import PathList, TestScope, offset_text, suggest

__all__ = ["read_expectations"]

_KINDS: tuple[ExpectationKind, ...] = ("fired", "seeded", "capped", "not_fired")


def read_expectations(
    scope: TestScope,
    raw_test: Mapping[str, Any],
    rules: Sequence[Rule],
    times: list[datetime],
) -> list[Expectation]:
    out: list[Expectation] = []
    rule_ids = sorted({r.id for r in rules})
    post_ids = [p["id"] for p in raw_test["posts"]]
    for index, raw in enumerate(raw_test.get("expect", [])):
        path = scope.at("expect", index)
        kinds = [k for k in _KINDS if k in raw]
        if len(kinds) != 1:
            where = [*path, kinds[1]] if len(kinds) > 1 else path
            scope.rep.error(
                where,
                "an expectation starts with one of fired: RULE, seeded: RULE, capped: RULE "
                "or not_fired: RULE",
                key=len(kinds) > 1,
            )
            continue
        kind = kinds[0]
        _check(scope, path, raw, kind, rule_ids, post_ids)
        out.append(
            Expectation(
                kind=kind,
                rule=raw[kind],
                post=raw.get("post"),
                poll=_poll(scope, path, raw, times),
                where=scope.where([*path, kind], key=True),
                key=raw.get("key"),
                milestone=raw.get("milestone"),
                actions=_actions(scope, [*path, "actions"], raw["actions"])
                if "actions" in raw
                else None,
                performed_at=_at(scope, [*path, "performed_at"], raw.get("performed_at"), times),
            )
        )
    return out


def _check(
    scope: TestScope,
    path: PathList,
    raw: Mapping[str, Any],
    kind: str,
    rule_ids: Sequence[str],
    post_ids: Sequence[str],
) -> None:
    """The rule and post an expectation names exist, and it has what its kind needs."""
    rule = raw[kind]
    if rule not in rule_ids:
        scope.rep.error([*path, kind], suggest(rule, rule_ids, "rule"))
    post = raw.get("post")
    if post is not None and post not in post_ids:
        listed = ", ".join(post_ids) or "none"
        scope.rep.error([*path, "post"], f"post '{post}' is not in this test ({listed})")
    if post is None and kind != "not_fired":
        scope.rep.error(path, f"missing 'post' in expectation (which post {kind})")
    for only_fired in ("actions", "performed_at"):
        if only_fired in raw and kind != "fired":
            scope.rep.error([*path, only_fired], "only a firing has actions", key=True)


def _poll(
    scope: TestScope, path: PathList, raw: Mapping[str, Any], times: list[datetime]
) -> int | None:
    if "poll" in raw and "at" in raw:
        scope.rep.error([*path, "at"], "give 'poll' or 'at', not both", key=True)
        return None
    if "poll" in raw:
        if times and raw["poll"] > len(times):
            scope.rep.error([*path, "poll"], f"the test runs only {len(times)} polls")
        return int(raw["poll"])
    return _at(scope, [*path, "at"], raw.get("at"), times)


def _at(scope: TestScope, path: PathList, raw: Any, times: list[datetime]) -> int | None:
    """The poll at the time ``raw`` (a duration from the start) names."""
    if raw is None or not times:
        return None
    offsets = [(t - times[0]).total_seconds() for t in times]
    wanted = parse_duration(raw)
    if wanted in offsets:
        return offsets.index(wanted) + 1
    shown = ", ".join(offset_text(o) for o in offsets[:8]) + (" ..." if len(times) > 8 else "")
    scope.rep.error(path, f"no poll at +{format_duration(wanted or 0)}: the polls are at {shown}")
    return None


def _actions(scope: TestScope, path: PathList, raw: list[Any]) -> tuple[ExpectedAction, ...]:
    out: list[ExpectedAction] = []
    for index, item in enumerate(raw):
        if len(item) != 1:
            message = (
                "one action per list item: start each action with '- '"
                if item
                else "empty action: write e.g. '- repost: {as: support}'"
            )
            scope.rep.error([*path, index], message)
            continue
        ((kind, fields),) = item.items()
        where = scope.where([*path, index, kind], key=True)
        out.append(ExpectedAction(kind, dict(fields or {}), where))
    return tuple(out)
