"""Rule files to Rule values, with every problem of every file found in one pass.

Order of work per file: the strict YAML loader (syntax), the JSON Schema (shape, reworded
by ``schema``), then the checks here that the schema cannot express: condition text,
durations, windows, numbers, templates, unique IDs across files, names from the config, and
warnings for rules that can never know a value they need. A rule with any error is left out
of the result; the caller decides whether a partial set may run.
"""

from __future__ import annotations

import re
import zoneinfo
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from pathlib import Path
from typing import Any

from automation.core.durations import parse_duration
from automation.core.errors import Problem, RuleError
from automation.core.metric_names import (
    HOURLY_METRICS,
    TOTALS_METRICS,
    USER_CONTEXT_METRICS,
    canonical,
)
from automation.core.rules import (
    DEFAULT_MAX_AGE,
    OPERATORS,
    AllOf,
    AnyOf,
    Condition,
    Every,
    FirePolicy,
    Leaf,
    Limit,
    Not,
    Once,
    Position,
    Quiet,
    Rearm,
    Rule,
    Watch,
)
from automation.core.wording import closest, shown_path
from automation.rulefiles.action_parser import Names, check_account, parse_actions
from automation.rulefiles.condition_text import (
    MAX_WINDOW,
    SyntaxProblem,
    check_threshold,
    check_window,
    parse_condition,
)
from automation.rulefiles.post_ages import too_old
from automation.rulefiles.problems import Reporter
from automation.rulefiles.schema import validate
from automation.rulefiles.yaml_loader import YAML_SUFFIXES, PathPart, YamlDocument, load_document

__all__ = ["RuleSet", "expand_paths", "load_rules", "parse_rule_file"]

_PRIVATE = USER_CONTEXT_METRICS | {"engagement_rate"}
_HOURLY_ONLY = HOURLY_METRICS - TOTALS_METRICS

PathList = list[PathPart]


@dataclass(frozen=True)
class RuleSet:
    """Every rule that loaded cleanly, every problem found, and the files that were read."""

    rules: tuple[Rule, ...]
    problems: tuple[Problem, ...]
    files: tuple[Path, ...]

    @property
    def errors(self) -> tuple[Problem, ...]:
        return tuple(p for p in self.problems if p.is_error)

    @property
    def warnings(self) -> tuple[Problem, ...]:
        return tuple(p for p in self.problems if not p.is_error)

    def raise_for_errors(self) -> None:
        """Raise RuleError carrying every error, for callers that need a clean set."""
        if self.errors:
            raise RuleError(self.errors)


def expand_paths(paths: Sequence[Path]) -> tuple[tuple[Path, ...], tuple[Problem, ...]]:
    """Files to read: files as given, directories as their sorted *.yaml / *.yml files."""
    files: list[Path] = []
    problems: list[Problem] = []
    seen: set[Path] = set()
    for path in paths:
        if path.is_dir():
            try:
                listed = sorted(p for p in path.iterdir() if p.suffix in YAML_SUFFIXES)
                found = [p for p in listed if p.is_file()]
                gone = [p for p in listed if p.is_symlink() and not p.exists()]
                problems.extend(map(_broken_link, gone))
            except OSError as exc:
                problems.append(Problem(str(path), 1, 1, f"cannot read directory: {exc.strerror}"))
                continue
            if not found:
                problems.append(
                    Problem(str(path), 1, 1, "no rule files (*.yaml, *.yml) here", "warning")
                )
        elif path.exists():
            found = [path]
        else:
            problems.append(Problem(str(path), 1, 1, "no such file or directory"))
            continue
        for file in found:
            key = file.resolve()
            if key not in seen:
                seen.add(key)
                files.append(file)
    return tuple(files), tuple(problems)


def _broken_link(path: Path) -> Problem:
    """A listed rule file that does not exist is a symbolic link whose target is gone."""
    why = f"symbolic link to {path.readlink()}, which does not exist: restore it or remove it"
    return Problem(str(path), 1, 1, why)


def load_rules(
    paths: Sequence[Path], *, names: Names | None = None, now: datetime | None = None
) -> RuleSet:
    """Read and check every rule file under ``paths``; IDs must be unique across all.

    With ``names`` (a config's accounts and webhook secrets), the names rules use are
    cross-checked against them; with ``now``, posts named by ID are checked against the
    rule's max_age."""
    files, found = expand_paths(paths)
    problems = list(found)
    rules: list[Rule] = []
    first_seen: dict[str, Position] = {}
    names = names or Names()
    for file in files:
        try:
            doc = load_document(file)
        except RuleError as exc:
            problems.extend(exc.problems)
            continue
        file_rules, file_problems, ids = _parse_document(doc, names, now)
        problems.extend(file_problems)
        clashes: set[str] = set()
        for rule_id, pos in ids:
            first = first_seen.get(rule_id)
            if first is None:
                first_seen[rule_id] = pos
            elif first.path != pos.path:
                problems.append(_duplicate(rule_id, pos, first))
                clashes.add(rule_id)
        rules.extend(rule for rule in file_rules if rule.id not in clashes)
    return RuleSet(tuple(rules), tuple(problems), files)


def parse_rule_file(
    doc: YamlDocument, *, names: Names | None = None
) -> tuple[tuple[Rule, ...], tuple[Problem, ...]]:
    """The rules of one document that have no error, and every problem found in it."""
    rules, problems, _ = _parse_document(doc, names or Names())
    return rules, problems


def _parse_document(
    doc: YamlDocument, names: Names, now: datetime | None = None
) -> tuple[tuple[Rule, ...], tuple[Problem, ...], list[tuple[str, Position]]]:
    rep = Reporter(doc)
    if doc.data is None:
        rep.warning([], "empty file: no rules here (start with 'version: 1' and 'rules:')")
        return (), tuple(rep.problems), []
    validate(doc.data, rep)
    raw_rules = doc.data.get("rules") if isinstance(doc.data, dict) else None
    if not raw_rules and not rep.problems:  # a file otherwise right, its list left empty
        rep.warning(
            ["rules"], "no rules in this file: list them under 'rules:' (see rules.example.yaml)"
        )
    rules: list[Rule] = []
    ids: list[tuple[str, Position]] = []
    first_seen: dict[str, Position] = {}
    for index, raw in enumerate(raw_rules if isinstance(raw_rules, list) else ()):
        if not isinstance(raw, dict):
            continue
        path: PathList = ["rules", index]
        rule_id = raw.get("id")
        if isinstance(rule_id, str):
            pos = Position(doc.name, *doc.position([*path, "id"]))
            first = first_seen.setdefault(rule_id, pos)
            ids.append((rule_id, pos))
            if first is not pos:
                rep.error([*path, "id"], _duplicate(rule_id, pos, first).message)
        rule = _RuleParser(rep, path, raw, names, now).parse()
        if rule is not None and not rep.has_errors_under(path):
            rules.append(rule)
    if rep.has_errors_outside(["rules"]):
        rules = []
    return tuple(rules), tuple(rep.problems), ids


def _duplicate(rule_id: str, pos: Position, first: Position) -> Problem:
    return Problem(
        pos.path,
        pos.line,
        pos.column,
        f"duplicate rule id '{rule_id}' (first used at {shown_path(first.path)}:{first.line}): "
        "rule ids must be unique across all rule files",
    )


class _RuleParser:
    """Builds one Rule, reporting every problem the schema could not see."""

    def __init__(
        self,
        rep: Reporter,
        path: PathList,
        raw: dict[str, Any],
        names: Names,
        now: datetime | None = None,
    ) -> None:
        self.rep, self.path, self.raw, self.names, self.now = rep, path, raw, names, now
        self.leaves: list[tuple[Leaf, PathList]] = []

    def at(self, *parts: PathPart) -> PathList:
        return [*self.path, *parts]

    def parse(self) -> Rule | None:
        raw = self.raw
        watch = self.watch(raw.get("watch"))
        when = self.condition(raw["when"], self.at("when")) if "when" in raw else None
        fire = self.fire(raw.get("fire", "once"))
        wait = self.duration(raw.get("for", "0s"), self.at("for"), allow_zero=True)
        actions = parse_actions(self.rep, self.at("actions"), raw.get("actions"), self.names)
        limit = self.limit(raw.get("limit"))
        quiet = self.quiet(raw.get("quiet"))
        rule_id = raw.get("id")
        if watch is None or fire is None or wait is None or not isinstance(rule_id, str):
            return None
        if "when" in raw and when is None:
            return None
        if ("limit" in raw and limit is None) or ("quiet" in raw and quiet is None):
            return None
        self.warn_unknowable(watch)
        self.warn_rate_as_percent()
        self.warn_quiet_opt_out(quiet, raw.get("actions"))
        doc = self.rep.doc
        return Rule(
            id=rule_id,
            watch=watch,
            when=when,
            fire=fire,
            for_=wait,
            actions=actions,
            description=_text(raw.get("description")),
            enabled=raw.get("enabled", True) is not False,
            backfill=raw.get("backfill", False) is True,
            limit=limit,
            quiet=quiet,
            pos=Position(doc.name, *doc.position(self.at("id"))),
        )

    # --- watch ------------------------------------------------------------------------

    def watch(self, raw: Any) -> Watch | None:
        if not isinstance(raw, dict):
            return None
        path = self.at("watch")
        accounts = tuple(
            name
            for i, value in enumerate(_list(raw.get("accounts")))
            if (name := check_account(self.rep, [*path, "accounts", i], value, self.names))
        )
        posts = tuple(p for p in _list(raw.get("posts")) if isinstance(p, str))
        owner = check_account(self.rep, [*path, "owner"], raw.get("owner"), self.names)
        max_age: int | None = DEFAULT_MAX_AGE
        if "max_age" in raw:
            max_age = self.duration(raw["max_age"], [*path, "max_age"])
            if max_age is not None:
                self.warn_too_old(posts, max_age, [*path, "posts"])
        if max_age is None:
            return None
        owned_by = owner if "posts" in raw else None
        return Watch(accounts, posts, owned_by, max_age, max_age_set="max_age" in raw)

    def duration(self, raw: Any, path: PathList, *, allow_zero: bool = False) -> int | None:
        """Seconds, or None (reporting a zero duration where one makes no sense)."""
        seconds = parse_duration(raw)
        if seconds == 0 and not allow_zero:
            self.rep.error(path, f"'{path[-1]}' must be longer than 0s")
            return None
        return seconds

    # --- conditions -------------------------------------------------------------------

    def condition(self, raw: Any, path: PathList) -> Condition | None:
        doc = self.rep.doc
        pos = Position(doc.name, *doc.position(path))
        if isinstance(raw, str):
            return self.text_leaf(raw, path, pos)
        if not isinstance(raw, dict):
            return None
        if "metric" in raw:
            return self.mapping_leaf(raw, path, pos)
        if isinstance(raw.get("all"), list) or isinstance(raw.get("any"), list):
            word = "all" if "all" in raw else "any"
            items = [self.condition(item, [*path, word, i]) for i, item in enumerate(raw[word])]
            if not items or any(item is None for item in items):
                return None
            kind = AllOf if word == "all" else AnyOf
            return kind(tuple(i for i in items if i is not None), pos)
        if "not" in raw:
            item = self.condition(raw["not"], [*path, "not"])
            return Not(item, pos) if item is not None else None
        return None

    def text_leaf(self, raw: str, path: PathList, pos: Position) -> Leaf | None:
        parsed = parse_condition(raw)
        if isinstance(parsed, SyntaxProblem):
            self.rep.error(path, parsed.message, offset=parsed.offset)
            return None
        leaf = Leaf(parsed.metric, parsed.op, parsed.threshold, parsed.over, parsed.written, pos)
        self.leaves.append((leaf, path))
        return leaf

    def mapping_leaf(self, raw: dict[str, Any], path: PathList, pos: Position) -> Leaf | None:
        written = raw.get("metric")
        metric = canonical(written) if isinstance(written, str) else None
        ops = [op for op in OPERATORS if op in raw]
        if metric is None or len(ops) != 1:
            return None
        threshold = raw[ops[0]]
        if isinstance(threshold, bool) or not isinstance(threshold, int | float):
            return None
        problem = check_threshold(threshold)
        if problem:
            self.rep.error([*path, ops[0]], problem)
            return None
        over = None
        if "over" in raw:
            over = parse_duration(raw["over"])
            window_problem = check_window(over) if over is not None else None
            if window_problem:
                self.rep.error([*path, "over"], window_problem)
            if over is None or window_problem:
                return None
        leaf = Leaf(metric, ops[0], float(threshold), over, str(written), pos)
        self.leaves.append((leaf, [*path, "metric"]))
        return leaf

    # --- firing policy ----------------------------------------------------------------

    def fire(self, raw: Any) -> FirePolicy | None:
        if raw == "once":
            return Once()
        if not isinstance(raw, dict):
            return None
        path = self.at("fire")
        if "every" in raw:
            n, written = raw["every"], raw.get("metric")
            metric = canonical(written) if isinstance(written, str) else None
            if isinstance(n, bool) or not isinstance(n, int | float) or metric is None:
                return None
            problem = check_threshold(n)
            if problem:
                self.rep.error([*path, "every"], problem)
                return None
            if n != int(n) or n < 1:
                return None  # the schema said it must be a positive whole number
            self.leaves.append(
                (Leaf(metric, "gte", float(n), None, str(written)), [*path, "metric"])
            )
            return Every(int(n), metric, str(written))
        if raw.get("rearm") is True:
            cooldown = self.duration(
                raw.get("cooldown", "0s"), [*path, "cooldown"], allow_zero=True
            )
            return Rearm(cooldown) if cooldown is not None else None
        return None

    # --- caps and quiet hours ----------------------------------------------------------

    def limit(self, raw: Any) -> Limit | None:
        if not isinstance(raw, dict):
            return None
        most, per = raw.get("max"), self.duration(raw.get("per"), self.at("limit", "per"))
        if isinstance(most, bool) or not isinstance(most, int) or most < 1 or per is None:
            return None  # the schema said what max and per must be
        return Limit(most, per)

    def quiet(self, raw: Any) -> Quiet | None:
        if not isinstance(raw, dict):
            return None
        start, end = _clock_time(raw.get("from")), _clock_time(raw.get("to"))
        zone = self.zone(raw.get("tz"))
        if start is None or end is None or zone is None:
            return None
        if start == end:
            self.rep.error(
                self.at("quiet", "to"),
                f"quiet hours from {raw['from']} to {raw['to']} are empty: 'to' must differ "
                'from \'from\' (from: "22:00", to: "07:00" spans the night)',
            )
            return None
        return Quiet(start, end, raw["tz"], zone)

    def zone(self, raw: Any) -> zoneinfo.ZoneInfo | None:
        if not isinstance(raw, str):
            return None
        try:
            return zoneinfo.ZoneInfo(raw)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):
            pass
        close = closest(raw, _zone_names())
        hint = f"did you mean '{close}'?" if close else "e.g. Europe/Berlin or America/New_York"
        self.rep.error(
            self.at("quiet", "tz"), f"unknown time zone '{raw}': use an IANA name ({hint})"
        )
        return None

    # --- warnings ---------------------------------------------------------------------

    def warn_too_old(self, posts: Sequence[str], max_age: int, path: PathList) -> None:
        """Warn about named posts already older than the rule's own max_age."""
        if self.now is not None:
            for index, message in too_old(posts, max_age, self.now):
                self.rep.warning([*path, index], message)

    def warn_quiet_opt_out(self, quiet: Quiet | None, raw_actions: Any) -> None:
        """``quiet: false`` on a webhook means nothing when the rule has no quiet hours."""
        if quiet is not None or not isinstance(raw_actions, list):
            return
        for index, item in enumerate(raw_actions):
            hook = item.get("webhook") if isinstance(item, dict) else None
            if isinstance(hook, dict) and hook.get("quiet") is False:
                self.rep.warning(
                    self.at("actions", index, "webhook", "quiet"),
                    "'quiet: false' has no effect: this rule has no quiet hours "
                    "(add quiet: {from: ..., to: ..., tz: ...} to the rule, or remove it)",
                    key=True,
                )

    def warn_unknowable(self, watch: Watch) -> None:
        """Warn about values the engine can never know for the posts this rule watches."""
        public_only = bool(watch.posts) and watch.owner is None and not watch.accounts
        for leaf, path in self.leaves:
            name = leaf.written or leaf.metric
            if public_only and leaf.metric in _PRIVATE:
                self.rep.warning(
                    path,
                    f"'{name}' is known only for posts of owned accounts, and this rule "
                    "watches public posts only: set watch.owner if an owned account wrote them",
                )
            elif leaf.metric in _HOURLY_ONLY and leaf.over is None and watch.max_age > MAX_WINDOW:
                self.rep.warning(
                    path,
                    f"'{name}' is known only for owned posts younger than 28h (it comes from "
                    "the hourly series, not the totals): set watch.max_age to 28h or less, "
                    "or compare its increase with 'over'",
                )

    def warn_rate_as_percent(self) -> None:
        """engagement_rate is a fraction: a threshold above 1 was most likely a percentage."""
        for leaf, path in self.leaves:
            if leaf.metric == "engagement_rate" and leaf.threshold > 1:
                written = f"{leaf.threshold:g}"
                self.rep.warning(
                    path,
                    f"engagement_rate is a fraction (engagements / impressions), so "
                    f"{written} means {leaf.threshold * 100:g}%: did you mean "
                    f"{leaf.threshold / 100:g} for {written}%?",
                )


_CLOCK = re.compile(r"^([01][0-9]|2[0-3]):([0-5][0-9])$")


def _clock_time(value: Any) -> int | None:
    """Minutes after midnight for ``"22:00"``; None for anything else (the schema says so)."""
    match = _CLOCK.match(value) if isinstance(value, str) else None
    return int(match.group(1)) * 60 + int(match.group(2)) if match else None


@cache
def _zone_names() -> tuple[str, ...]:
    return tuple(sorted(zoneinfo.available_timezones()))


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def _text(value: Any) -> str:
    return value if isinstance(value, str) else ""
