"""The steps of one test (restart, advance, edit) and the poll times they lead to.

An edited rule is parsed exactly like a rule file, so a bad edit is caught at load time
with the edit's line, before anything runs.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

from automation.core.durations import parse_duration
from automation.core.rules import Rule
from automation.rule_tests.model import Step
from automation.rule_tests.scope import PathList, TestScope, suggest
from automation.rulefiles.condition_text import read_condition_exponents, rule_file_text
from automation.rulefiles.rule_parser import parse_rule_file
from automation.rulefiles.yaml_loader import parse_document

__all__ = ["poll_times", "read_steps"]

_STEP_KINDS = ("restart", "advance", "edit")


def read_steps(
    scope: TestScope,
    raw_steps: Sequence[Mapping[str, Any]],
    polls: int,
    rules: tuple[Rule, ...],
    raw_rules: Mapping[str, dict[str, Any]],
) -> list[Step]:
    """The steps in poll order; ``raw_rules`` (rule id -> the rule as written) is not
    changed: edits build on this test's own copy, one edit on top of the one before."""
    out: list[Step] = []
    current = rules
    edited_raw = copy.deepcopy(dict(raw_rules))
    for index, raw in enumerate(raw_steps):
        path = scope.at("steps", index)
        after = raw["after_poll"]
        kinds = [k for k in _STEP_KINDS if k in raw]
        if len(kinds) != 1:
            scope.rep.error(
                path,
                "a step does one thing: restart: true, advance: DURATION, or "
                "edit: {rule: ID, KEY: VALUE}",
            )
            continue
        if polls and after > polls:
            scope.rep.error(
                [*path, "after_poll"], f"the test runs only {polls} polls (after_poll {after})"
            )
        where = scope.where(path)
        kind = kinds[0]
        if kind == "restart":
            out.append(Step(after, "restart", where, text="restart the engine"))
        elif kind == "advance":
            seconds = parse_duration(raw["advance"]) or 0
            if seconds <= 0:
                scope.rep.error([*path, "advance"], "'advance' must be longer than 0s")
            text = f"advance {raw['advance']}"
            out.append(Step(after, "advance", where, advance=seconds, text=text))
        else:
            edited = _edit(scope, [*path, "edit"], raw["edit"], current, edited_raw)
            if edited is not None:
                current = edited
                out.append(Step(after, "edit", where, rules=edited, text=_edit_text(raw)))
    return sorted(out, key=lambda s: s.after_poll)


def _edit_text(raw: Mapping[str, Any]) -> str:
    changed = ", ".join(f"{k}: {json.dumps(v)}" for k, v in raw["edit"].items() if k != "rule")
    return f"edit rule {raw['edit']['rule']} ({changed})"


def _edit(
    scope: TestScope,
    path: PathList,
    raw: Mapping[str, Any],
    current: tuple[Rule, ...],
    raw_rules: dict[str, dict[str, Any]],
) -> tuple[Rule, ...] | None:
    """The whole rule set after replacing some keys of one rule, parsed like a file;
    the edited rule replaces its entry in ``raw_rules``."""
    rule_id = raw["rule"]
    if rule_id not in raw_rules:
        scope.rep.error([*path, "rule"], suggest(rule_id, sorted(raw_rules), "rule"))
        return None
    # a plain 1e5 in the edited condition is the number it is in a rule file
    read_condition_exponents(raw.get("when"), [*path, "when"], scope.doc.style)
    changes = {k: v for k, v in raw.items() if k != "rule"}
    if not changes or "id" in changes:
        scope.rep.error(
            path,
            "say which keys of the rule change (its id cannot), e.g. "
            "edit: {rule: repost-at-100-likes, when: 'likes >= 200'}",
        )
        return None
    edited = {**raw_rules[rule_id], **copy.deepcopy(changes)}
    text = rule_file_text({"version": 1, "rules": [edited]})
    rules, problems = parse_rule_file(parse_document(text, f"{scope.doc.name} (edit)"))
    errors = [p for p in problems if p.is_error]
    for problem in errors:
        scope.rep.error(
            path,
            f"this edit makes rule '{rule_id}' invalid: {problem.message}",
            slot=str(problem),
        )
    if errors or not rules:
        return None
    raw_rules[rule_id] = edited
    return tuple(rules[0] if r.id == rule_id else r for r in current)


def poll_times(start: datetime, polls: int, steps: list[Step], interval: int) -> list[datetime]:
    """Polls come one interval apart, or as far apart as the advance steps say."""
    times = [start] if polls else []
    for poll in range(1, polls):
        advances = [s.advance for s in steps if s.kind == "advance" and s.after_poll == poll]
        gap = sum(advances) if advances else interval
        times.append(times[-1] + timedelta(seconds=gap))
    return times
