"""Judge a played rule test against its expectations, and say so in words and a timeline.

A failure names each difference on its own line (a missing firing, one at another poll,
an unexpected one, a payload field that differs, with a caret under the first differing
character) and then shows the polls side by side: the scripted values, what the test
expected and what the engine did. Only the payload fields a test gives are compared.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TextIO

from automation.core.window_text import windows_text
from automation.rule_tests.model import Expectation, ExpectedAction, RuleTest
from automation.rule_tests.notation import format_value
from automation.rule_tests.scope import offset_text

if TYPE_CHECKING:
    from automation.rule_tests.runner import ActualAction, ActualFiring, Run

__all__ = ["Outcome", "judge", "write_outcome", "write_summary"]

_MISSING = object()
_FULL_TIMELINE = 30  # longer tests show only the polls where something happened
_VALUES_WIDTH = 60


@dataclass(frozen=True)
class Outcome:
    test: RuleTest
    passed: bool
    findings: tuple[str, ...]
    table: tuple[str, ...]
    errors: tuple[str, ...] = ()


def judge(run: Run) -> Outcome:
    """Compare what happened with what the test expects."""
    test, firings = run.test, list(run.firings)
    used: set[int] = set()
    findings: list[str] = []
    for exp in (e for e in test.expectations if e.kind != "not_fired"):
        findings += _expected(test, exp, firings, used)
    for exp in (e for e in test.expectations if e.kind == "not_fired"):
        findings += _forbidden(test, exp, firings, used)
    for index, firing in enumerate(firings):
        if firing.kind in ("fired", "capped") and index not in used:
            findings.append(
                f"unexpected: {firing.rule} {firing.kind} for post {firing.post} at "
                f"{_poll(test, firing.poll)} (key {firing.key}); list it under expect: "
                "if it is right"
            )
    errors = tuple(f"poll {poll}: {message}" for poll, message in run.errors)
    return Outcome(test, not findings, tuple(findings), tuple(_table(run)), errors)


def _poll(test: RuleTest, poll: int) -> str:
    if not 1 <= poll <= test.polls:
        return "an unknown poll"
    return f"poll {poll} ({offset_text((test.times[poll - 1] - test.start).total_seconds())})"


def _fits(exp: Expectation, firing: ActualFiring) -> bool:
    return (
        firing.rule == exp.rule
        and (exp.post is None or firing.post == exp.post)
        and (exp.key is None or firing.key == exp.key)
        and (exp.milestone is None or firing.milestone == exp.milestone)
    )


def _expected(
    test: RuleTest, exp: Expectation, firings: list[ActualFiring], used: set[int]
) -> list[str]:
    pool = [
        i for i, f in enumerate(firings) if i not in used and f.kind == exp.kind and _fits(exp, f)
    ]
    exact = [i for i in pool if exp.poll is None or firings[i].poll == exp.poll]
    verb = {"fired": "fire", "seeded": "be seeded", "capped": "be capped"}[exp.kind]
    wanted = f"{exp.rule} to {verb} for post {exp.post}"
    if exp.milestone is not None:
        wanted += f" at milestone {exp.milestone}"
    if exp.key is not None:
        wanted += f" with key {exp.key}"
    if exp.poll is not None:
        wanted += f" at {_poll(test, exp.poll)}"
    if exact:
        used.add(exact[0])
        found = _performed_findings(test, exp, firings[exact[0]])
        if exp.actions is None:
            return found
        return found + _action_findings(test, exp.actions, firings[exact[0]])
    if pool:
        used.add(pool[0])
        other = firings[pool[0]]
        return [f"expected {wanted} ({exp.where}); it did at {_poll(test, other.poll)} instead"]
    hint = _hint(test, exp, [f for i, f in enumerate(firings) if i not in used])
    return [f"expected {wanted} ({exp.where}); it did not{hint}"]


def _hint(test: RuleTest, exp: Expectation, firings: list[ActualFiring]) -> str:
    """Why a firing may be missing, when the unmatched firings say something about it."""
    related = [f for f in firings if f.rule == exp.rule and f.post == exp.post]
    seeded = [f for f in related if f.kind == "seeded"]
    if exp.kind == "fired" and seeded:
        return (
            f" (it was seeded at {_poll(test, seeded[0].poll)}: the post already met the "
            "condition while the rule was new; see 'New rules do not flood', or set "
            "backfill: true on the rule)"
        )
    capped = [f for f in related if f.kind == "capped"]
    if exp.kind == "fired" and capped:
        return (
            f" (it was capped at {_poll(test, capped[0].poll)}: the rule had fired as often "
            "as its limit allows within the period; list it as capped: if that is right)"
        )
    other = [f for f in related if f.kind == exp.kind]
    if exp.milestone is not None and any(f.milestone is not None for f in other):
        fired = ", ".join(
            f"milestone {f.milestone} at {_poll(test, f.poll)}"
            for f in other
            if f.milestone is not None
        )
        return f" (it fired {fired})"
    if other:
        keys = ", ".join(f"{f.key} at poll {f.poll}" for f in other)
        return f" (it did with another key or milestone: {keys})"
    return ""


def _forbidden(
    test: RuleTest, exp: Expectation, firings: list[ActualFiring], used: set[int]
) -> list[str]:
    hits = [
        i
        for i, f in enumerate(firings)
        if f.kind == "fired" and _fits(exp, f) and (exp.poll is None or f.poll == exp.poll)
    ]
    used.update(hits)
    what = f"post {exp.post}" if exp.post else "any post"
    when = f" at {_poll(test, exp.poll)}" if exp.poll is not None else ""
    return [
        f"expected {exp.rule} not to fire for {what}{when} ({exp.where}); it fired for post "
        f"{firings[i].post} at {_poll(test, firings[i].poll)}"
        for i in hits
    ]


def _performed_findings(test: RuleTest, exp: Expectation, firing: ActualFiring) -> list[str]:
    """``performed_at``: the poll by which every action of the firing had been performed
    (the last of them then), as quiet hours or a digest's window make them wait."""
    if exp.performed_at is None or not firing.actions:
        return []
    polls = [a.performed for a in firing.actions]
    waiting = [a for a in firing.actions if a.performed is None]
    if waiting:
        actual = (
            f"action {waiting[0].index + 1} ({waiting[0].kind}) was still waiting in the "
            "outbox when the test ended"
        )
    else:
        last = max(p for p in polls if p is not None)
        if last == exp.performed_at:
            return []
        actual = f"the last was performed at {_poll(test, last)}"
    return [
        f"{firing.rule} for post {firing.post} at {_poll(test, firing.poll)}: expected its "
        f"actions to be performed by {_poll(test, exp.performed_at)} ({exp.where}); {actual}"
    ]


# --- payloads --------------------------------------------------------------------------------


def _action_findings(
    test: RuleTest, expected: Sequence[ExpectedAction], firing: ActualFiring
) -> list[str]:
    """The i-th expected action of a kind is compared with the i-th actual one of that kind."""
    by_kind: dict[str, list[ActualAction]] = {}
    for action in firing.actions:
        by_kind.setdefault(action.kind, []).append(action)
    seen: dict[str, int] = {}
    out: list[str] = []
    label = f"{firing.rule} for post {firing.post} at {_poll(test, firing.poll)}"
    for exp in expected:
        nth = seen.get(exp.kind, 0)
        seen[exp.kind] = nth + 1
        candidates = by_kind.get(exp.kind, [])
        if nth >= len(candidates):
            kinds = ", ".join(a.kind for a in firing.actions) or "none"
            out.append(
                f"{label}: no {_ordinal(nth)}{exp.kind} action ({exp.where}); its actions: {kinds}"
            )
            continue
        actual = candidates[nth]
        for path, want, got in _differences(_normal(exp.kind, exp.fields), actual.payload, ""):
            where = f"action {actual.index + 1} ({exp.kind}) {path.lstrip('.')}"
            out.append(f"{label}, {where} ({exp.where}):\n{_versus(want, got)}")
    return out


def _ordinal(nth: int) -> str:
    return "" if nth == 0 else f"#{nth + 1} "


def _normal(kind: str, fields: Mapping[str, Any]) -> dict[str, Any]:
    """A webhook body given as text is compared with the raw body, as sent."""
    out = dict(fields)
    if kind == "webhook" and isinstance(out.get("body"), str):
        out["body"] = _RawBody(out["body"])
    return out


class _RawBody(str):
    """Expected body text: compared with the body serialised exactly as it is sent."""


def _differences(expected: Any, actual: Any, path: str) -> list[tuple[str, Any, Any]]:
    if isinstance(expected, _RawBody):
        raw = json.dumps(actual, separators=(",", ":"), ensure_ascii=False)
        return [] if raw == str(expected) else [(path, str(expected), raw)]
    if isinstance(expected, dict):
        if not isinstance(actual, dict):
            return [(path, expected, actual)]
        out: list[tuple[str, Any, Any]] = []
        for key, value in expected.items():
            inner = f"{path}.{key}"
            out += (
                _differences(value, actual[key], inner)
                if key in actual
                else [(inner, value, _MISSING)]
            )
        return out
    if isinstance(expected, list):
        if not isinstance(actual, list) or len(actual) != len(expected):
            return [(path, expected, actual)]
        return [
            d
            for i, (e, a) in enumerate(zip(expected, actual, strict=True))
            for d in _differences(e, a, f"{path}[{i}]")
        ]
    return [] if _same(expected, actual) else [(path, expected, actual)]


def _same(expected: Any, actual: Any) -> bool:
    numbers = (int, float)
    if isinstance(expected, bool) or isinstance(actual, bool):
        return expected is actual
    if isinstance(expected, numbers) and isinstance(actual, numbers):
        return float(expected) == float(actual)
    return type(expected) is type(actual) and expected == actual


def _shown(value: Any) -> str:
    if value is _MISSING:
        return "(not in the payload)"
    return json.dumps(value, ensure_ascii=False)


def _versus(want: Any, got: Any) -> str:
    expected, actual = _shown(want), _shown(got)
    lines = [f"    expected: {expected}", f"    actual:   {actual}"]
    if isinstance(want, str) and isinstance(got, str):
        common = next(
            (i for i, (a, b) in enumerate(zip(expected, actual, strict=False)) if a != b),
            min(len(expected), len(actual)),
        )
        lines.append(" " * (len("    actual:   ") + common) + "^")
    return "\n".join(lines)


# --- the timeline ----------------------------------------------------------------------------


def _table(run: Run) -> list[str]:
    test = run.test
    expected: dict[int, list[str]] = {}
    for exp in test.expectations:
        if exp.poll is not None:
            verb = {
                "fired": "fires",
                "seeded": "seeded",
                "capped": "capped",
                "not_fired": "must not fire",
            }[exp.kind]
            entry = f"{exp.rule} {verb} {exp.post or 'any'}{_milestone(exp.milestone)}"
            expected.setdefault(exp.poll, []).append(entry)
    actual: dict[int, list[str]] = {}
    for f in run.firings:
        verb = f.kind
        windows = windows_text(f.windows)  # what decided a window rule's firing
        entry = f"{f.rule} {verb} {f.post}{_milestone(f.milestone)}"
        entry += f" ({windows})" if windows else ""
        actual.setdefault(f.poll, []).append(entry)
    steps: dict[int, list[str]] = {}
    for step in test.steps:
        steps.setdefault(step.after_poll, []).append(step.text)
    shown = [
        poll
        for poll in range(1, test.polls + 1)
        if test.polls <= _FULL_TIMELINE or poll in expected or poll in actual or poll in steps
    ]
    values = {poll: _values(test, poll) for poll in shown}
    vw = max([len("values"), *(len(v) for v in values.values())])
    ew = max([len("expected"), *(len("; ".join(v)) for v in expected.values())])
    rows = [f"  {'poll':>4}  {'time':<8}  {'values':<{vw}}  {'expected':<{ew}}  actual"]
    for poll in shown:
        time = offset_text((test.times[poll - 1] - test.start).total_seconds())
        want = "; ".join(expected.get(poll, [])) or "-"
        got = "; ".join(actual.get(poll, [])) or "-"
        rows.append(f"  {poll:>4}  {time:<8}  {values[poll]:<{vw}}  {want:<{ew}}  {got}")
        rows += [f"  {'':>4}  after poll {poll}: {text}" for text in steps.get(poll, [])]
    return [row.rstrip() for row in rows]


def _milestone(milestone: int | None) -> str:
    """`` (milestone 1000)`` beside a timeline entry that expects or fired one."""
    return f" (milestone {milestone})" if milestone is not None else ""


def _values(test: RuleTest, poll: int) -> str:
    parts = []
    for post in test.posts:
        if post.created_at > test.times[poll - 1]:
            continue
        shown = " ".join(
            f"{post.written.get(metric, metric)}={format_value(post.value(metric, poll))}"
            for metric in post.series
        )
        if shown:
            parts.append(f"{post.post_id}: {shown}")
    text = "; ".join(parts) or "-"
    return text if len(text) <= _VALUES_WIDTH else text[: _VALUES_WIDTH - 1] + "…"


# --- output ----------------------------------------------------------------------------------


def write_outcome(outcome: Outcome, out: TextIO) -> None:
    if outcome.passed:
        print(f"PASS {outcome.test.name}", file=out)
        return
    print(f"FAIL {outcome.test.name}", file=out)
    print(f"  at {outcome.test.where}", file=out)
    for finding in outcome.findings:
        print(f"  - {finding}", file=out)
    if outcome.table:
        print("  timeline:", file=out)
        for row in outcome.table:
            print(f"  {row}", file=out)
    for error in outcome.errors:
        print(f"  engine error at {error}", file=out)


def write_summary(
    outcomes: Sequence[Outcome], files: int, invalid: int, seconds: float, out: TextIO
) -> None:
    passed = sum(1 for o in outcomes if o.passed)
    failed = len(outcomes) - passed
    tests = "test" if len(outcomes) == 1 else "tests"
    parts = [f"{passed} passed", f"{failed} failed"]
    if invalid:
        parts.append(f"{invalid} invalid file{'s' if invalid != 1 else ''}")
    noun = "file" if files == 1 else "files"
    print(
        f"{', '.join(parts)} ({len(outcomes)} {tests} in {files} {noun}, {seconds:.2f}s)", file=out
    )
