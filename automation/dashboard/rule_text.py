"""Rules in the words a rule author used: condition, firing policy, actions, watch."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from automation.core.conditions import describe, format_number
from automation.core.durations import format_duration
from automation.core.rules import (
    Action,
    Every,
    Once,
    Rearm,
    Rule,
    WebhookAction,
)
from automation.core.wording import shown_path

__all__ = ["RuleText", "rule_text"]


@dataclass(frozen=True)
class RuleText:
    condition: str
    policy: str
    actions: tuple[str, ...]
    watch: str
    source: str  # file name:line, where to edit it


def rule_text(rule: Rule) -> RuleText:
    return RuleText(
        condition=_condition(rule),
        policy=_policy(rule),
        actions=tuple(_action(a) for a in rule.actions),
        watch=_watch(rule),
        source=f"{shown_path(Path(rule.pos.path).name)}:{rule.pos.line}" if rule.pos.path else "",
    )


def _condition(rule: Rule) -> str:
    if rule.when is None and isinstance(rule.fire, Every):
        text = f"{rule.fire.written or rule.fire.metric} passes a multiple of {rule.fire.n}"
    else:
        text = describe(rule.when)
    if rule.for_:
        text += f", held for {format_duration(rule.for_)}"
    return text


def _policy(rule: Rule) -> str:
    fire = rule.fire
    if isinstance(fire, Every):
        return f"at every {format_number(fire.n)} {fire.written or fire.metric}"
    if isinstance(fire, Rearm):
        cooldown = f", at most once per {format_duration(fire.cooldown)}" if fire.cooldown else ""
        return f"each time it becomes true{cooldown}"
    assert isinstance(fire, Once)
    return "once per post"


def _action(action: Action) -> str:
    if isinstance(action, WebhookAction):
        host = urlsplit(action.url.source).hostname or action.url.source
        return f"webhook to {host}"
    account = getattr(action, "as_account", None)
    if account:
        return f"{action.kind} as {account}"
    return action.kind


def _watch(rule: Rule) -> str:
    parts = []
    if rule.watch.accounts:
        age = format_duration(rule.watch.max_age)
        parts.append(f"posts of {', '.join(rule.watch.accounts)} from the last {age}")
    if rule.watch.posts:
        count = len(rule.watch.posts)
        parts.append(f"{count} named post{'s' if count != 1 else ''}")
    return " and ".join(parts) or "no posts"
