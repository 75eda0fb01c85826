"""Rule test files to ``RuleTestFile`` values, with every mistake at its line and column.

Same pipeline as rule files: the strict YAML loader, then the JSON Schema
(``file_schema.py``), then the checks the schema cannot express: the value notation,
durations and times, rule and post names, poll numbers, and rule edits. This module reads
the file and its rules and puts each test together; its posts, steps and expectations are
read by their own modules. Everything that depends on time (poll times, creation times) is
resolved at load time.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from automation.core.durations import parse_duration
from automation.core.errors import Problem, RuleError
from automation.core.facts import post_created_at
from automation.core.rules import Rule
from automation.core.wording import shown_path
from automation.rule_tests.expectations import read_expectations
from automation.rule_tests.file_schema import validate
from automation.rule_tests.model import RuleTest, RuleTestFile
from automation.rule_tests.posts import poll_count, read_posts, read_series
from automation.rule_tests.scope import PathList, TestScope
from automation.rule_tests.steps import poll_times, read_steps
from automation.rulefiles.condition_text import read_exponents
from automation.rulefiles.problems import Reporter
from automation.rulefiles.rule_parser import load_rules
from automation.rulefiles.yaml_loader import YamlDocument, load_document

__all__ = ["DEFAULT_START", "load_test_file"]

DEFAULT_START = datetime(2026, 1, 5, 12, 0, tzinfo=UTC)
DEFAULT_POLL_INTERVAL = 300


def load_test_file(path: Path) -> RuleTestFile:
    """Load and check one test file; raises RuleError with every problem found."""
    doc = load_document(path)
    rep = Reporter(doc)
    if doc.data is None:
        rep.error([], "empty file: start with 'version: 1', then 'rules:' and 'tests:'")
    else:
        validate(doc.data, rep)
    if any(p.is_error for p in rep.problems):
        raise RuleError([p for p in rep.problems if p.is_error])
    loader = _Loader(doc, rep, path)
    tests = loader.load()
    errors = [*loader.rule_problems, *(p for p in rep.problems if p.is_error)]
    if errors:
        raise RuleError(errors)
    return RuleTestFile(str(path), tests)


class _Loader:
    """The file as a whole: the rules under test and the defaults its tests share."""

    def __init__(self, doc: YamlDocument, rep: Reporter, path: Path) -> None:
        self.doc, self.rep, self.path = doc, rep, path
        self.data: dict[str, Any] = doc.data
        self.rule_problems: list[Problem] = []
        self.rules: tuple[Rule, ...] = ()
        self.raw_rules: dict[str, dict[str, Any]] = {}

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
                    f"no such file or directory: {shown_path(str(resolved))} (rule paths "
                    "are relative to "
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
            doc = load_document(file)
            raw = doc.data
            read_exponents(raw, doc.style)  # as the rule loader read it: 1e5 is a number
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
        self.file, self.raw = file, raw
        self.scope = TestScope(file.doc, file.rep, path)
        self.start = file.start([*path, "start"], raw["start"]) if "start" in raw else start
        if "poll_interval" in raw:
            interval = file.interval([*path, "poll_interval"], raw["poll_interval"])
        self.interval = interval

    def load(self) -> RuleTest | None:
        scope, file, raw = self.scope, self.file, self.raw
        before = len(scope.rep.problems)
        start = self.start or self.default_start()
        series, series_failed = read_series(scope, raw["posts"])
        polls = poll_count(scope, raw, series, series_failed)
        # a series that could not be read leaves the poll count unknown: checking polls
        # and times against it would only add errors that follow from the first
        known = 0 if series_failed else polls
        steps = read_steps(scope, raw.get("steps", []), known, file.rules, file.raw_rules)
        times = poll_times(start, polls, steps, self.interval)
        posts = read_posts(
            scope,
            raw["posts"],
            series,
            times,
            start,
            explicit=file.explicit(),
            accounts=file.accounts(),
        )
        expectations = read_expectations(scope, raw, file.rules, times if known else [])
        if any(p.is_error for p in scope.rep.problems[before:]) or not times:
            return None
        return RuleTest(
            name=raw["name"],
            where=scope.where(scope.at("name"), key=True),
            times=tuple(times),
            poll_interval=self.interval,
            posts=tuple(posts),
            rules=file.rules,
            steps=tuple(steps),
            expectations=tuple(expectations),
        )

    def default_start(self) -> datetime:
        """Posts watched by ID carry their creation time in the ID, so by default the test
        starts a minute after the newest of them was written; otherwise at DEFAULT_START."""
        explicit = self.file.explicit()
        moments = [post_created_at(p["id"]) for p in self.raw["posts"] if p["id"] in explicit]
        if not moments:
            return DEFAULT_START
        newest = max(moments).replace(second=0, microsecond=0)
        return newest + timedelta(minutes=1)
