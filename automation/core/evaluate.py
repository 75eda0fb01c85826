"""The evaluation core: a rule compiled once into closures, then evaluated per post.

``CompiledRule.evaluate`` is the hot path the engine calls for every (rule, post) at every
poll. It returns None when nothing happens and the stored state would not change, so the
engine writes nothing, and it builds no trace, reason or state object on that path.
Whenever something might happen it hands over to ``policies.step``, the same decision
function ``explain`` uses, so the two can never disagree. No I/O and no clock: ``now`` is
always an argument.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from datetime import datetime
from types import MappingProxyType

from automation.core.conditions import (
    NO_FACTS,
    TRUTH,
    CompiledLeaf,
    Getter,
    Test,
    compile_condition,
    compiled_leaves,
    describe,
    format_number,
    leaf_traces,
    total_value,
    tree_truth,
    value_getter,
)
from automation.core.durations import format_duration
from automation.core.errors import Problem, RuleError
from automation.core.facts import (
    EMPTY,
    Decision,
    LeafTrace,
    Outcome,
    PostFacts,
    RuleState,
    Truth,
)
from automation.core.metric_names import API_METRICS, DERIVED
from automation.core.policies import Step, fresh_state, step
from automation.core.rules import OPERATORS, Every, Once, Rearm, Rule, condition_metrics
from automation.core.timetext import moment_text
from automation.core.window_text import window_entry

__all__ = ["CompiledRule", "compile_rule", "compile_rules"]

Evaluate = Callable[..., Decision | None]
Totals = Mapping[str, float]
_BOOL = {Truth.TRUE: True, Truth.FALSE: False, Truth.UNKNOWN: None}


class CompiledRule:
    """A rule ready to evaluate. ``evaluate(facts, state, now, *, seeding)`` is a closure
    stored on the instance, so calling it costs no method binding."""

    __slots__ = (
        "_description",
        "_every_getter",
        "_every_name",
        "_fresh",
        "_leaves",
        "_metric_getters",
        "_windowed",
        "evaluate",
        "fingerprint",
        "max_window",
        "quiet_on",
        "rule",
        "totals_metrics",
        "window_metrics",
    )

    def __init__(self, rule: Rule) -> None:
        _check(rule)
        self.rule = rule
        self.fingerprint = rule.fingerprint
        leaves = condition_metrics(rule.when)
        every = rule.fire if isinstance(rule.fire, Every) else None
        self.totals_metrics = frozenset(
            name
            for metric in [*(leaf.metric for leaf in leaves), *([every.metric] if every else [])]
            for name in _expand(metric)
        )
        self.window_metrics = frozenset(
            name for leaf in leaves if leaf.over for name in _expand(leaf.metric)
        )
        self.max_window = max((leaf.over or 0 for leaf in leaves), default=0)
        self._fresh = RuleState(fingerprint=self.fingerprint)
        self._leaves: tuple[CompiledLeaf, ...] = compiled_leaves(rule.when)
        self._windowed = tuple(i for i, leaf in enumerate(self._leaves) if leaf.leaf.over)
        self._description = describe(rule.when)
        self._every_name = (every.written or every.metric) if every else ""
        self._every_getter: Getter | None = value_getter(every.metric) if every else None
        self._metric_getters = _metric_getters(rule)
        test = compile_condition(rule.when)
        self.evaluate: Evaluate = _hot_path(self, test)
        self.quiet_on: QuietOn | None = _quiet_on(self, test)

    def __repr__(self) -> str:
        return f"CompiledRule({self.rule.id!r}, fingerprint={self.fingerprint!r})"

    # --- shared by both paths -----------------------------------------------------------

    def _step(
        self, facts: PostFacts, state: RuleState, now: datetime, truth: bool | None, seeding: bool
    ) -> Step:
        every_value = self._every_getter(facts, now, None) if self._every_getter else None
        return step(
            self.rule.fire,
            self.rule.for_,
            state,
            truth,
            now,
            seeding=seeding,
            every_value=every_value,
            every_name=self._every_name,
        )

    def _decide(
        self,
        facts: PostFacts,
        state: RuleState | None,
        now: datetime,
        seeding: bool,
        truth: bool | None,
    ) -> Decision | None:
        """The hot path's hand-over once something may happen or change."""
        start = state if state is not None else self._fresh
        result = self._step(facts, start, now, truth, seeding)
        if result.outcome is Outcome.NOTHING and result.state == start:
            return None
        trace: tuple[LeafTrace, ...] = ()
        reason = ""
        windows = EMPTY
        if result.outcome is Outcome.FIRE or result.outcome is Outcome.SEED:
            # Rare and worth a log line: say why, with the values that decided it.
            trace = leaf_traces(self._leaves, facts, now)
            reason = self._reason(result, TRUTH[truth], trace)
            windows = self._windows(trace)
        return Decision(
            outcome=result.outcome,
            state=result.state,
            truth=TRUTH[truth],
            trace=trace,
            key=result.key,
            milestone=result.milestone,
            metrics=self._metrics(facts, now),
            reason=reason,
            windows=windows,
        )

    def _metrics(self, facts: PostFacts, now: datetime) -> MappingProxyType[str, float]:
        values: dict[str, float] = {}
        for name, getter in self._metric_getters:
            value = getter(facts, now, None)
            if value is not None:
                values[name] = value
        return MappingProxyType(values)

    def _windows(self, trace: tuple[LeafTrace, ...]) -> Mapping[str, float]:
        """Each windowed leaf's value by its label (``retweets over 1h``), as traced; a
        leaf whose value is unknown is left out."""
        if not self._windowed:
            return EMPTY
        values: dict[str, float] = {}
        for i in self._windowed:
            value = trace[i].value
            if value is not None:
                values.setdefault(self._leaves[i].label, value)
        return MappingProxyType(values) if values else EMPTY

    # --- explain ------------------------------------------------------------------------

    def explain(
        self, facts: PostFacts, state: RuleState | None, now: datetime, *, seeding: bool = False
    ) -> Decision:
        """A full account of one evaluation: every leaf traced, and a sentence saying why."""
        start = fresh_state(state, self.fingerprint)
        trace = leaf_traces(self._leaves, facts, now)
        truth = tree_truth(self.rule.when, iter(t.truth for t in trace))
        metrics = self._metrics(facts, now)
        windows = self._windows(trace)
        idle = self._idle_reason(facts, now)
        if idle:
            return Decision(
                Outcome.NOTHING, start, truth, trace, metrics=metrics, reason=idle, windows=windows
            )
        result = self._step(facts, start, now, _BOOL[truth], seeding)
        return Decision(
            outcome=result.outcome,
            state=result.state,
            truth=truth,
            trace=trace,
            key=result.key,
            milestone=result.milestone,
            metrics=metrics,
            reason=self._reason(result, truth, trace),
            windows=windows,
        )

    def _idle_reason(self, facts: PostFacts, now: datetime) -> str:
        if not self.rule.enabled:
            return "disabled"
        watch = self.rule.watch
        if facts.created_at < watch.oldest(now) and watch.ages_out(facts.post_id):
            age = format_duration(self.rule.watch.max_age)
            return f"older than max_age {age} (created {moment_text(facts.created_at, now)})"
        return ""

    def _reason(self, result: Step, truth: Truth, trace: tuple[LeafTrace, ...]) -> str:
        if result.outcome is Outcome.FIRE:
            return f"fired: {self._why_fired(result, trace)}"
        if result.outcome is Outcome.SEED:
            return (
                f"seeded: {self._why_fired(result, trace)}; the rule is new or changed, so this"
                " post is recorded as seen and not fired"
            )
        if result.note:
            return result.note
        return (
            f"not fired: {self._description} is {truth.value}{_details(truth, self._leaves, trace)}"
        )

    def _why_fired(self, result: Step, trace: tuple[LeafTrace, ...]) -> str:
        held = f" for {format_duration(self.rule.for_)}" if self.rule.for_ else ""
        condition = f"{self._description} is true{held}{_details(Truth.TRUE, self._leaves, trace)}"
        if isinstance(self.rule.fire, Every):
            reached = f"{self._every_name} reached {result.milestone} (every {self.rule.fire.n})"
            return reached if self.rule.when is None else f"{reached}; {condition}"
        return condition


def _details(truth: Truth, leaves: tuple[CompiledLeaf, ...], trace: tuple[LeafTrace, ...]) -> str:
    """Known values for a true or false result; the reasons for an unknown one."""
    if truth is Truth.UNKNOWN:
        reasons = [t.reason for t in trace if t.truth is Truth.UNKNOWN and t.reason]
        return f" ({'; '.join(dict.fromkeys(reasons))})" if reasons else ""
    values = dict.fromkeys(
        window_entry(leaf.label, t.value, "=", format_number)
        if leaf.leaf.over
        else f"{leaf.label}={format_number(t.value)}"
        for leaf, t in zip(leaves, trace, strict=True)
        if t.value is not None
    )
    return f" ({', '.join(values)})" if values else ""


def _expand(metric: str) -> tuple[str, ...]:
    return DERIVED.get(metric, (metric,))


def _metric_getters(rule: Rule) -> tuple[tuple[str, Getter], ...]:
    """The values a firing reports, by the names the rule wrote (windows report totals)."""
    named: dict[str, Getter] = {}
    for leaf in condition_metrics(rule.when):
        name = leaf.written or leaf.metric
        named.setdefault(name, value_getter(leaf.metric, None, name))
    if isinstance(rule.fire, Every):
        name = rule.fire.written or rule.fire.metric
        named.setdefault(name, value_getter(rule.fire.metric, None, name))
    return tuple(named.items())


def _check(rule: Rule) -> None:
    """Refuse models the parser should never produce, rather than evaluate them wrongly."""
    problems = []
    where = rule.pos
    if rule.when is None and not isinstance(rule.fire, Every):
        problems.append(f"rule {rule.id!r} has no condition; only `fire: every` may leave it out")
    if isinstance(rule.fire, Every) and rule.fire.n <= 0:
        problems.append(f"rule {rule.id!r}: `every` must be a positive integer")
    metrics = [leaf.metric for leaf in condition_metrics(rule.when)]
    if isinstance(rule.fire, Every):
        metrics.append(rule.fire.metric)
    for metric in metrics:
        if metric not in API_METRICS and metric not in DERIVED:
            problems.append(f"rule {rule.id!r}: unknown metric {metric!r}")
    for leaf in condition_metrics(rule.when):
        if leaf.op not in OPERATORS:
            problems.append(f"rule {rule.id!r}: unknown comparison {leaf.op!r}")
    if problems:
        raise RuleError([Problem(where.path, where.line, where.column, p) for p in problems])


# --- the hot path ---------------------------------------------------------------------------
# One loop for every policy: the state if current, the max_age cut-off, the condition, then
# the policy's own test of whether anything can happen ("quiet"); only when it can does
# ``_decide`` run the full firing policy. The quiet tests are worth it: sending every
# evaluation through ``policies.step`` takes benchmarks/bench_evaluate.py from 0.15 s to
# 0.44 s at 10,000 posts and from 1.8 s to 4.8 s at 100,000, about 40 % and 80 % of a
# steady bench_cycle.py cycle (0.7 s, 3.7 s). Three hand-synced copies of this loop saved
# less than 5 % of a cycle and were dropped.

Quiet = Callable[[RuleState | None, bool | None, Totals], bool]
QuietOn = Callable[[Totals, RuleState | None], bool]


def _hot_path(compiled: CompiledRule, test: Test) -> Evaluate:
    rule = compiled.rule
    if not rule.enabled:
        return _idle
    quiet = _quiet_test(compiled)
    fingerprint, watch, decide = compiled.fingerprint, rule.watch, compiled._decide

    def evaluate(
        facts: PostFacts, state: RuleState | None, now: datetime, *, seeding: bool
    ) -> Decision | None:
        if state is not None and state.fingerprint != fingerprint:
            state = None  # a state of an earlier version of the rule: start afresh
        if facts.created_at < watch.oldest(now) and watch.ages_out(facts.post_id):
            return None
        totals = facts.totals
        truth = test(facts, totals, now)
        if quiet(state, truth, totals):
            return None
        return decide(facts, state, now, seeding, truth)

    return evaluate


def _idle(facts: PostFacts, state: RuleState | None, now: datetime, *, seeding: bool) -> None:
    return None


def _quiet_on(compiled: CompiledRule, test: Test) -> QuietOn | None:
    """For a rule without a window, ``quiet_on(totals, state)``: whether ``evaluate`` on a
    post with these totals and this state gives None, whatever the post's other facts and
    the time (a post past max_age gives None too, so only True is certain); one test and
    the policy's quiet test, with no facts built. None for a rule with a window: its
    condition reads the post's series or snapshots, and the time."""
    if not compiled.rule.enabled:
        return _always_quiet
    if compiled.max_window:
        return None
    quiet, fingerprint, since = _quiet_test(compiled), compiled.fingerprint, NO_FACTS.created_at

    def quiet_on(totals: Totals, state: RuleState | None) -> bool:
        if state is not None and state.fingerprint != fingerprint:
            state = None
        return quiet(state, test(NO_FACTS, totals, since), totals)

    return quiet_on


def _always_quiet(totals: Totals, state: RuleState | None) -> bool:
    return True


def _quiet_test(compiled: CompiledRule) -> Quiet:
    """The policy's test that nothing can happen and the state would not change."""
    fire = compiled.rule.fire
    timed = compiled.rule.for_ > 0
    if isinstance(fire, Once):
        return _once_quiet
    if isinstance(fire, Every):
        return _every_quiet(fire, timed)
    if isinstance(fire, Rearm):
        return _rearm_quiet(timed)
    raise TypeError(f"unknown firing policy {fire!r}")


def _once_quiet(state: RuleState | None, truth: bool | None, totals: Totals) -> bool:
    """Done posts and false conditions; with no ``for`` period nothing else changes."""
    if state is None:
        return truth is not True
    return state.done or (truth is not True and state.holding_since is None)


def _every_quiet(every: Every, timed: bool) -> Quiet:
    """Quiet unless the metric passed a new multiple or a ``for`` period changes."""
    n, metric = every.n, every.metric
    derived = metric in DERIVED

    def quiet(state: RuleState | None, truth: bool | None, totals: Totals) -> bool:
        held = state.holding_since if state is not None else None
        if truth is not True:
            return held is None
        if held is None and timed:
            return False  # a ``for`` period starts
        value = total_value(totals, metric) if derived else totals.get(metric)
        if value is None:
            return True
        reached = value // n * n
        return reached < n or reached <= (state.milestone if state is not None else 0)

    return quiet


def _rearm_quiet(timed: bool) -> Quiet:
    """Quiet while the truth stays what it was and no ``for`` period changes."""

    def quiet(state: RuleState | None, truth: bool | None, totals: Totals) -> bool:
        held, last = (state.holding_since, state.last_truth) if state is not None else (None, None)
        if truth is None:
            return held is None
        if truth is False:
            return last is False and held is None
        return last is True and (held is not None or not timed)

    return quiet


# --- many rules -----------------------------------------------------------------------------


def compile_rule(rule: Rule) -> CompiledRule:
    """Compile ``rule`` once; raises RuleError for a model no rule file can produce."""
    return CompiledRule(rule)


def compile_rules(rules: Iterable[Rule]) -> tuple[CompiledRule, ...]:
    return tuple(CompiledRule(rule) for rule in rules)
