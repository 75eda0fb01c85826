"""Rule test files to ``RuleTestFile`` values, with every mistake at its line and column.

Same pipeline as rule files: the strict YAML loader, then the JSON Schema
(``rule_test_schema.json``, also for editors), then the checks the schema cannot express:
the value notation, durations and times, rule and post names, poll numbers, and rule edits
(an edited rule is parsed exactly like a rule file, so a bad edit is caught before anything
runs). Everything that depends on time (poll times, creation times) is resolved here.
"""

from __future__ import annotations

import copy
import difflib
import json
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

import yaml
from jsonschema import Draft202012Validator, ValidationError

from automation.durations import format_duration, parse_duration
from automation.errors import Problem, RuleError
from automation.facts import post_created_at
from automation.metrics import canonical
from automation.reporter import Reporter
from automation.rule_parser import load_rules, parse_rule_file
from automation.rule_tests.model import (
    Expectation,
    ExpectedAction,
    RuleTest,
    RuleTestFile,
    ScriptedPost,
    Step,
    Where,
)
from automation.rule_tests.notation import NotationProblem, Series, parse_series
from automation.rules import Rule
from automation.schema import describe_value
from automation.yaml_loader import PathPart, YamlDocument, load_document, parse_document

__all__ = ["DEFAULT_START", "load_test_file", "offset_text", "schema"]

DEFAULT_START = datetime(2026, 1, 5, 12, 0, tzinfo=UTC)
DEFAULT_POLL_INTERVAL = 300
PUBLIC = "public"
_POST_KEYS = ("id", "account", "created")
_KINDS = ("fired", "seeded", "not_fired")
_STEP_KINDS = ("restart", "advance", "edit")
_REQUIRED_HINTS = {
    "version": " (write 'version: 1' at the top)",
    "rules": " (the rule files under test, relative to this file)",
    "tests": " (the list of tests)",
    "name": " (a short sentence saying what the test proves)",
    "posts": ' (the scripted posts, e.g. - {id: "1001", account: brand, likes: 80+5x6})',
    "id": ' (the post ID in quotes, e.g. "1001")',
    "after_poll": " (the poll after which this step happens)",
    "rule": " (the id of the rule to edit)",
}

PathList = list[PathPart]


@cache
def _schema() -> dict[str, Any]:
    text = resources.files("automation").joinpath("rule_test_schema.json").read_text("utf-8")
    return json.loads(text)


def schema() -> dict[str, Any]:
    """The JSON Schema of rule test files (a copy), for editors and documentation."""
    return copy.deepcopy(_schema())


@cache
def _validator() -> Draft202012Validator:
    return Draft202012Validator(_schema())


def offset_text(seconds: float) -> str:
    """A time relative to the start as people read it: ``+0s``, ``+25m``, ``+2h5m``."""
    seconds = int(seconds)
    sign = "-" if seconds < 0 else "+"
    left = abs(seconds)
    parts = []
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60), ("s", 1)):
        if left >= size:
            parts.append(f"{left // size}{unit}")
            left %= size
    return sign + ("".join(parts) or "0s")


def load_test_file(path: Path) -> RuleTestFile:
    """Load and check one test file; raises RuleError with every problem found."""
    doc = load_document(path)
    rep = Reporter(doc)
    if doc.data is None:
        rep.error([], "empty file: start with 'version: 1', then 'rules:' and 'tests:'")
    else:
        _validate(doc.data, rep)
    if any(p.is_error for p in rep.problems):
        raise RuleError([p for p in rep.problems if p.is_error])
    loader = _Loader(doc, rep, path)
    tests = loader.load()
    errors = [*loader.rule_problems, *(p for p in rep.problems if p.is_error)]
    if errors:
        raise RuleError(errors)
    return RuleTestFile(str(path), tests)


# --- the schema, in words for people -------------------------------------------------------


def _validate(data: Any, rep: Reporter) -> None:
    for error in _validator().iter_errors(data):
        sub = error.schema if isinstance(error.schema, dict) else {}
        if not sub.get("x-semantic"):
            _explain(error, sub, list(error.absolute_path), rep)


def _explain(error: ValidationError, sub: dict[str, Any], path: PathList, rep: Reporter) -> None:
    value, title = error.instance, str(sub.get("title", "this mapping"))
    if error.validator == "additionalProperties" and isinstance(value, dict):
        known = list(sub.get("properties", {}))
        for key in (k for k in value if k not in known):
            close = difflib.get_close_matches(str(key), known, n=1, cutoff=0.6)
            if close:
                hint = f" (did you mean '{close[0]}'?)"
            elif title == "post":
                hint = " (a post has id, account, created and metric names such as likes)"
            else:
                hint = f" (known: {', '.join(known)})"
            rep.error([*path, key], f"unknown key '{key}' in {title}{hint}", key=True)
    elif error.validator == "required" and isinstance(value, dict):
        for key in (k for k in error.validator_value if k not in value):
            hint = _REQUIRED_HINTS.get(key, "")
            rep.error(path, f"missing '{key}' in {title}{hint}", slot=f"missing {key}")
    elif sub.get("x-kind") == "post_id" and isinstance(value, int) and not isinstance(value, bool):
        rep.error(path, f'quote post IDs: write "{value}"')
    else:
        expected = sub.get("x-expected") or error.message
        rep.error(path, f"expected {expected}, got {describe_value(value)}")


# --- the checks the schema cannot express ---------------------------------------------------


class _Loader:
    def __init__(self, doc: YamlDocument, rep: Reporter, path: Path) -> None:
        self.doc, self.rep, self.path = doc, rep, path
        self.data: dict[str, Any] = doc.data
        self.rule_problems: list[Problem] = []
        self.rules: tuple[Rule, ...] = ()
        self.raw_rules: dict[str, dict[str, Any]] = {}

    def where(self, path: PathList, *, key: bool = False) -> Where:
        return Where(self.doc.name, *self.doc.position(path, key=key))

    def load(self) -> tuple[RuleTest, ...]:
        if not self.load_rules():
            return ()
        top_start = self.start(["start"], self.data.get("start"))
        top_interval = self.interval(["poll_interval"], self.data.get("poll_interval"))
        tests: list[RuleTest] = []
        names: dict[str, int] = {}
        for index, raw in enumerate(self.data["tests"]):
            path: PathList = ["tests", index]
            name = raw["name"]
            if name in names:
                self.rep.error(
                    [*path, "name"],
                    f"duplicate test name (first used at line {names[name]}): name each "
                    "test differently, so a failure says which one",
                )
            names.setdefault(name, self.doc.position([*path, "name"])[0])
            test = _TestLoader(self, path, raw, top_start, top_interval).load()
            if test is not None:
                tests.append(test)
        return tuple(tests)

    def load_rules(self) -> bool:
        """Load the rule files under test; their own problems are reported as they are."""
        paths = []
        for index, entry in enumerate(self.data["rules"]):
            resolved = self.path.parent / entry
            if not resolved.exists():
                self.rep.error(
                    ["rules", index],
                    f"no such file or directory: {resolved} (rule paths are relative to "
                    "this test file)",
                )
            paths.append(resolved)
        if not self.data["rules"]:
            self.rep.error(["rules"], "name at least one rule file to test")
        if any(p.is_error for p in self.rep.problems):
            return False
        ruleset = load_rules(paths)
        if ruleset.errors:
            self.rule_problems.extend(ruleset.errors)
            self.rep.error(["rules"], "the rule files under test have errors (listed above)")
            return False
        self.rules = ruleset.rules
        for file in ruleset.files:
            raw = load_document(file).data
            for item in raw.get("rules", []) if isinstance(raw, dict) else []:
                if isinstance(item, dict) and isinstance(item.get("id"), str):
                    self.raw_rules.setdefault(item["id"], item)
        return True

    def start(self, path: PathList, raw: Any) -> datetime | None:
        if raw is None:
            return None
        try:
            moment = datetime.fromisoformat(raw)
        except ValueError:
            moment = None
        if moment is None or moment.tzinfo is None:
            self.rep.error(path, f"expected a UTC time such as 2026-01-05T12:00:00Z, got '{raw}'")
            return None
        return moment.astimezone(UTC)

    def interval(self, path: PathList, raw: Any) -> int:
        if raw is None:
            return DEFAULT_POLL_INTERVAL
        seconds = parse_duration(raw) or 0
        if seconds <= 0:
            self.rep.error(path, "'poll_interval' must be longer than 0s")
            return DEFAULT_POLL_INTERVAL
        return seconds

    def accounts(self) -> list[str]:
        names: set[str] = set()
        for rule in self.rules:
            names.update(rule.watch.accounts)
            names.update([rule.watch.owner] if rule.watch.owner else [])
            names.update(getattr(a, "as_account", "") for a in rule.actions)
        return sorted(n for n in names if n)

    def explicit(self) -> dict[str, str]:
        """Post IDs the rules watch by ID -> the first rule that does."""
        out: dict[str, str] = {}
        for rule in self.rules:
            for post_id in rule.watch.posts:
                out.setdefault(post_id, rule.id)
        return out

    def suggest(self, value: str, known: Sequence[str], what: str) -> str:
        close = difflib.get_close_matches(value, list(known), n=1, cutoff=0.6)
        if close:
            return f"{what} '{value}' is not in the rules under test (did you mean '{close[0]}'?)"
        listed = ", ".join(known) or "none"
        return f"{what} '{value}' is not in the rules under test (known: {listed})"


class _TestLoader:
    """Builds one RuleTest: posts, steps and poll times, then expectations."""

    def __init__(
        self,
        file: _Loader,
        path: PathList,
        raw: dict[str, Any],
        start: datetime | None,
        interval: int,
    ) -> None:
        self.file, self.rep, self.path, self.raw = file, file.rep, path, raw
        self.start = file.start([*path, "start"], raw["start"]) if "start" in raw else start
        if "poll_interval" in raw:
            interval = file.interval([*path, "poll_interval"], raw["poll_interval"])
        self.interval = interval
        self.raw_rules = copy.deepcopy(file.raw_rules)
        self.rules = file.rules
        self.series_failed = False

    def at(self, *parts: PathPart) -> PathList:
        return [*self.path, *parts]

    def load(self) -> RuleTest | None:
        before = len(self.rep.problems)
        start = self.start or self.default_start()
        series = self.all_series()
        polls = self.poll_count(series)
        steps = self.steps(polls)
        times = self.poll_times(start, polls, steps)
        posts = self.posts(start, series, times)
        expectations = self.expectations(times)
        if any(p.is_error for p in self.rep.problems[before:]) or not times:
            return None
        return RuleTest(
            name=self.raw["name"],
            where=self.file.where(self.at("name"), key=True),
            times=tuple(times),
            poll_interval=self.interval,
            posts=tuple(posts),
            rules=self.rules,
            steps=tuple(steps),
            expectations=tuple(expectations),
        )

    # --- posts and their values -------------------------------------------------------------

    def default_start(self) -> datetime:
        """Posts watched by ID carry their creation time in the ID, so by default the test
        starts a minute after the newest of them was written; otherwise at DEFAULT_START."""
        explicit = self.file.explicit()
        moments = [post_created_at(p["id"]) for p in self.raw["posts"] if p["id"] in explicit]
        if not moments:
            return DEFAULT_START
        newest = max(moments).replace(second=0, microsecond=0)
        return newest + timedelta(minutes=1)

    def all_series(self) -> list[dict[str, Series]]:
        out: list[dict[str, Series]] = []
        for index, post in enumerate(self.raw["posts"]):
            values: dict[str, Series] = {}
            first_name: dict[str, str] = {}
            for name, raw in post.items():
                if name in _POST_KEYS:
                    continue
                path = self.at("posts", index, name)
                if name == "engagement_rate":
                    self.series_failed = True
                    self.rep.error(
                        path,
                        "engagement_rate is computed (engagements / impressions): script "
                        "engagements and impressions instead",
                        key=True,
                    )
                    continue
                metric = canonical(name) or name
                if metric in first_name:
                    self.rep.error(
                        path,
                        f"'{name}' and '{first_name[metric]}' are the same metric: keep one",
                        key=True,
                    )
                    continue
                first_name[metric] = name
                parsed = parse_series(raw)
                if isinstance(parsed, NotationProblem):
                    self.rep.error(path, parsed.message, offset=parsed.offset)
                    self.series_failed = True
                    continue
                values[metric] = parsed
            out.append(values)
        return out

    def poll_count(self, series: list[dict[str, Series]]) -> int:
        longest = max((len(v) for post in series for v in post.values()), default=0)
        polls = self.raw.get("polls", longest)
        if "polls" in self.raw and longest > polls:
            self.rep.error(
                self.at("polls"),
                f"a post has values for {longest} polls, but the test runs {polls}: "
                "raise 'polls' or remove values",
            )
        if polls == 0 and not self.series_failed:
            self.rep.error(
                self.at("name"),
                "no polls: give a post metric values (e.g. likes: 80+5x6) or set 'polls'",
                key=True,
            )
        return polls

    def posts(
        self, start: datetime, series: list[dict[str, Series]], times: list[datetime]
    ) -> list[ScriptedPost]:
        explicit = self.file.explicit()
        accounts = self.file.accounts()
        out: list[ScriptedPost] = []
        seen: set[str] = set()
        for index, raw in enumerate(self.raw["posts"]):
            path = self.at("posts", index)
            post_id = raw["id"]
            if post_id in seen:
                self.rep.error([*path, "id"], f"post '{post_id}' is listed twice in this test")
            seen.add(post_id)
            account = raw.get("account", PUBLIC)
            if account != PUBLIC and account not in accounts:
                message = self.file.suggest(account, [*accounts, PUBLIC], "account")
                self.rep.error([*path, "account"], message)
            created = self.created(path, raw, explicit, start)
            post = ScriptedPost(
                post_id=post_id,
                account=None if account == PUBLIC else account,
                created_at=created,
                series=series[index] if index < len(series) else {},
                written={canonical(k) or k: k for k in raw if k not in _POST_KEYS},
            )
            self.check_existence(path, post, times, start)
            out.append(post)
        return out

    def created(
        self, path: PathList, raw: Mapping[str, Any], explicit: Mapping[str, str], start: datetime
    ) -> datetime:
        post_id = raw["id"]
        if post_id in explicit:
            if "created" in raw:
                self.rep.error(
                    [*path, "created"],
                    f"rule '{explicit[post_id]}' watches post {post_id} by its ID, and an ID "
                    "holds its creation time: remove 'created' (set the test's 'start' "
                    "to move the polls instead)",
                    key=True,
                )
            return post_created_at(post_id)
        text = str(raw.get("created", "0s")).strip()
        sign = -1 if text.startswith("-") else 1
        seconds = parse_duration(text.lstrip("+-")) or 0
        return start + timedelta(seconds=sign * seconds)

    def check_existence(
        self, path: PathList, post: ScriptedPost, times: list[datetime], start: datetime
    ) -> None:
        """A value for a poll before the post was written would be silently ignored."""
        for metric, values in post.series.items():
            early = [
                k + 1
                for k, value in enumerate(values[: len(times)])
                if value is not None and times[k] < post.created_at
            ]
            if early:
                when = offset_text((post.created_at - start).total_seconds())
                self.rep.error(
                    [*path, post.written.get(metric, metric)],
                    f"poll {early[0]} comes before this post is created ({when}): "
                    "write _ for the polls before it exists",
                )

    # --- steps and poll times ---------------------------------------------------------------

    def steps(self, polls: int) -> list[Step]:
        out: list[Step] = []
        current = self.rules
        for index, raw in enumerate(self.raw.get("steps", [])):
            path = self.at("steps", index)
            after = raw["after_poll"]
            kinds = [k for k in _STEP_KINDS if k in raw]
            if len(kinds) != 1:
                self.rep.error(
                    path,
                    "a step does one thing: restart: true, advance: DURATION, or "
                    "edit: {rule: ID, KEY: VALUE}",
                )
                continue
            if polls and after > polls:
                self.rep.error(
                    [*path, "after_poll"], f"the test runs only {polls} polls (after_poll {after})"
                )
            where = self.file.where(path)
            kind = kinds[0]
            if kind == "restart":
                out.append(Step(after, "restart", where, text="restart the engine"))
            elif kind == "advance":
                seconds = parse_duration(raw["advance"]) or 0
                if seconds <= 0:
                    self.rep.error([*path, "advance"], "'advance' must be longer than 0s")
                text = f"advance {raw['advance']}"
                out.append(Step(after, "advance", where, advance=seconds, text=text))
            else:
                edited = self.edit([*path, "edit"], raw["edit"], current)
                if edited is not None:
                    current = edited
                    out.append(Step(after, "edit", where, rules=edited, text=self.edit_text(raw)))
        return sorted(out, key=lambda s: s.after_poll)

    @staticmethod
    def edit_text(raw: Mapping[str, Any]) -> str:
        changed = ", ".join(f"{k}: {json.dumps(v)}" for k, v in raw["edit"].items() if k != "rule")
        return f"edit rule {raw['edit']['rule']} ({changed})"

    def edit(
        self, path: PathList, raw: Mapping[str, Any], current: tuple[Rule, ...]
    ) -> tuple[Rule, ...] | None:
        """The whole rule set after replacing some keys of one rule, parsed like a file."""
        rule_id = raw["rule"]
        if rule_id not in self.raw_rules:
            message = self.file.suggest(rule_id, sorted(self.raw_rules), "rule")
            self.rep.error([*path, "rule"], message)
            return None
        changes = {k: v for k, v in raw.items() if k != "rule"}
        if not changes or "id" in changes:
            self.rep.error(
                path,
                "say which keys of the rule change (its id cannot), e.g. "
                "edit: {rule: repost-at-100-likes, when: 'likes >= 200'}",
            )
            return None
        edited = {**self.raw_rules[rule_id], **copy.deepcopy(changes)}
        text = yaml.safe_dump({"version": 1, "rules": [edited]}, sort_keys=False)
        rules, problems = parse_rule_file(parse_document(text, f"{self.file.doc.name} (edit)"))
        errors = [p for p in problems if p.is_error]
        for problem in errors:
            self.rep.error(
                path,
                f"this edit makes rule '{rule_id}' invalid: {problem.message}",
                slot=str(problem),
            )
        if errors or not rules:
            return None
        self.raw_rules[rule_id] = edited
        return tuple(rules[0] if r.id == rule_id else r for r in current)

    def poll_times(self, start: datetime, polls: int, steps: list[Step]) -> list[datetime]:
        """Polls come one interval apart, or as far apart as the advance steps say."""
        times = [start] if polls else []
        for poll in range(1, polls):
            advances = [s.advance for s in steps if s.kind == "advance" and s.after_poll == poll]
            gap = sum(advances) if advances else self.interval
            times.append(times[-1] + timedelta(seconds=gap))
        return times

    # --- expectations -----------------------------------------------------------------------

    def expectations(self, times: list[datetime]) -> list[Expectation]:
        out: list[Expectation] = []
        rule_ids = sorted({r.id for r in self.rules})
        post_ids = [p["id"] for p in self.raw["posts"]]
        for index, raw in enumerate(self.raw.get("expect", [])):
            path = self.at("expect", index)
            kinds = [k for k in _KINDS if k in raw]
            if len(kinds) != 1:
                where = [*path, kinds[1]] if len(kinds) > 1 else path
                self.rep.error(
                    where,
                    "an expectation starts with one of fired: RULE, seeded: RULE or "
                    "not_fired: RULE",
                    key=len(kinds) > 1,
                )
                continue
            kind = kinds[0]
            rule = raw[kind]
            if rule not in rule_ids:
                self.rep.error([*path, kind], self.file.suggest(rule, rule_ids, "rule"))
            post = raw.get("post")
            if post is not None and post not in post_ids:
                listed = ", ".join(post_ids) or "none"
                self.rep.error([*path, "post"], f"post '{post}' is not in this test ({listed})")
            if post is None and kind != "not_fired":
                self.rep.error(path, f"missing 'post' in expectation (which post {kind})")
            if "actions" in raw and kind != "fired":
                self.rep.error([*path, "actions"], "only a firing has actions", key=True)
            out.append(
                Expectation(
                    kind=kind,
                    rule=rule,
                    post=post,
                    poll=self.poll(path, raw, times),
                    where=self.file.where([*path, kind], key=True),
                    key=raw.get("key"),
                    milestone=raw.get("milestone"),
                    actions=self.actions([*path, "actions"], raw["actions"])
                    if "actions" in raw
                    else None,
                )
            )
        return out

    def poll(self, path: PathList, raw: Mapping[str, Any], times: list[datetime]) -> int | None:
        if "poll" in raw and "at" in raw:
            self.rep.error([*path, "at"], "give 'poll' or 'at', not both", key=True)
            return None
        if "poll" in raw:
            if raw["poll"] > len(times):
                self.rep.error([*path, "poll"], f"the test runs only {len(times)} polls")
            return int(raw["poll"])
        if "at" not in raw or not times:
            return None
        offsets = [(t - times[0]).total_seconds() for t in times]
        wanted = parse_duration(raw["at"])
        if wanted in offsets:
            return offsets.index(wanted) + 1
        shown = ", ".join(offset_text(o) for o in offsets[:8]) + (" ..." if len(times) > 8 else "")
        self.rep.error(
            [*path, "at"],
            f"no poll at +{format_duration(wanted or 0)}: the polls are at {shown}",
        )
        return None

    def actions(self, path: PathList, raw: list[Any]) -> tuple[ExpectedAction, ...]:
        out: list[ExpectedAction] = []
        for index, item in enumerate(raw):
            if len(item) != 1:
                message = (
                    "one action per list item: start each action with '- '"
                    if item
                    else "empty action: write e.g. '- repost: {as: support}'"
                )
                self.rep.error([*path, index], message)
                continue
            ((kind, fields),) = item.items()
            where = self.file.where([*path, index, kind], key=True)
            out.append(ExpectedAction(kind, dict(fields or {}), where))
        return tuple(out)
