"""Generators of bad and nearly good input for the fuzz tests, kept here so that every
figure in the README's test section can be re-run.

Two kinds of input per target: *near-valid* (a shipped, valid rule file, config or API
body, then a few mutations of its data or of its text) and *raw junk* (arbitrary text,
bytes or JSON). The settings below make every run the same: a fixed seed
(``derandomize``), no example database, no deadline (two cores shared by many jobs).
"""

from __future__ import annotations

import copy
import json
from collections import Counter
from importlib import resources
from pathlib import Path
from typing import Any

import yaml
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

from automation.core.metric_names import all_names

# How many inputs each target ran in this session (printed by tests/fuzz/report.py).
INPUTS: Counter[str] = Counter()

REPO = Path(__file__).resolve().parents[2]


def fuzz_settings(max_examples: int) -> settings:
    """Deterministic settings: the same inputs on every run and every machine."""
    return settings(
        max_examples=max_examples,
        derandomize=True,
        database=None,
        deadline=None,
        print_blob=True,
        suppress_health_check=[
            HealthCheck.too_slow,
            HealthCheck.data_too_large,
            HealthCheck.filter_too_much,
        ],
    )


# ------------------------------------------------------------------ valid starting points


def shipped_rule_texts() -> list[str]:
    """Every rule file the package ships: the annotated example and the starter rules."""
    data = resources.files("automation.rulefiles") / "data"
    texts = [(data / "rules.example.yaml").read_text("utf-8")]
    starter = data / "starter"
    texts += [f.read_text("utf-8") for f in sorted(starter.iterdir(), key=lambda f: f.name)]
    return texts


def example_config_text() -> str:
    return (REPO / "deploy" / "automation.example.yaml").read_text("utf-8")


# The secrets the example config names, with values distinctive enough that finding one in
# an error message cannot be a coincidence.
CONFIG_ENV = {
    name: f"s3cr3t-{name.lower()}-value"
    for name in (
        "X_CONSUMER_KEY",
        "X_CONSUMER_SECRET",
        "X_BEARER_TOKEN",
        "BRAND_ACCESS_TOKEN",
        "BRAND_ACCESS_TOKEN_SECRET",
        "SUPPORT_ACCESS_TOKEN",
        "SUPPORT_ACCESS_TOKEN_SECRET",
        "TEAM_CHAT_WEBHOOK_SECRET",
        "DASHBOARD_PASSWORD",
    )
}

METRICS = sorted(all_names())

# Values that sit on the edges the loaders check: durations, numbers, times, zones, names,
# paths, URLs, references, templates and conditions, right and wrong.
# fmt: off
EDGE_VALUES: list[Any] = [
    "", " ", "0s", "-1h", "1h", "15m", "28h", "29h", "7d", "1.5h", "5", "99999999999999999999d",
    "25:00", "23:59", "00:00", "24:00", "9:5", "Europe/Paris", "UTC", "Mars/Olympus", "../etc",
    "~", "~nobody-here/rules", "~/rules", "rules/", "/", ".", "a\x00b", "\t",
    "${X_BEARER_TOKEN}", "${UNSET_NAME}", "$${X_BEARER_TOKEN}", "${", "${1BAD}", "$", "${}",
    "https://", "http://x", "https://example.com/{post.id}", "https://[::1]:99999/x",
    "ftp://example.com", "postgresql://u:p@db/x", "postgres://db", "postgresql://:@/",
    "127.0.0.1:9464", "127.0.0.1:99999", "[::1]:9464", ":", "*.example.com", "*", "**.x", "{",
    "}", "{{", "}}", "{metrics.likes}", "{post.__class__}", "{0}", "{metrics.nope}",
    "likes >= 100", "likes over 1h >= 5", "likes >= 1e400", "likes >= nan", "likes > -0",
    "likes over 0s > 1", "likes >", "nan", "inf", "-inf", ".nan", "1e400", "0x10",
    "1260294888811347969", "0", "brand", "support", "team-chat", "once", "auto", "manual", True,
    False, None, 0, -1, 1, 3, 65536, 2**53 + 1, 2**63, 2**64, 10**40, -(10**40), 0.5, -0.0,
    1e308, 1e-308, float("inf"), float("-inf"), float("nan"), [], {}, [None], {"": 1},
]
# fmt: on

# fmt: off
KEY_WORDS = [
    "version", "rules", "id", "description", "watch", "accounts", "posts", "owner", "max_age",
    "when", "all", "any", "not", "metric", "over", "gte", "gt", "lte", "lt", "eq", "for",
    "fire", "rearm", "cooldown", "every", "limit", "quiet", "from", "to", "zone", "actions",
    "repost", "like", "reply", "quote", "log", "webhook", "digest", "as", "text", "message",
    "url", "secret", "timeout", "headers", "body", "enabled", "backfill", "window", "database",
    "migrate", "poll_interval", "max_staleness", "engagement_api", "x_api", "base_url",
    "requests_per_minute", "app", "consumer_key", "consumer_secret", "bearer_token", "user_id",
    "access_token", "access_token_secret", "webhook_secrets", "first_retry", "max_attempts",
    "history", "keep", "metrics", "listen", "webhooks", "redirect_to", "allow_hosts",
    "retention", "firings", "alerts", "after", "dashboard", "password", "<<", "", "1", "true",
    "null", "Likes", "likez",
]
# fmt: on

scalars = st.one_of(
    st.sampled_from(EDGE_VALUES).map(copy.deepcopy),  # a fresh [] or {}: mutations edit it
    st.sampled_from(METRICS),
    st.text(max_size=12),
    st.integers(),
    st.floats(),
    st.booleans(),
)
values = st.recursive(
    scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=3),
        st.dictionaries(st.sampled_from(KEY_WORDS), inner, max_size=3),
    ),
    max_leaves=6,
)


# ------------------------------------------------------------------ data mutations


def _children(node: Any) -> list[Any]:
    if isinstance(node, dict):
        return list(node)
    if isinstance(node, list):
        return list(range(len(node)))
    return []


# Text put before or after a string value: each means something to some loader.
AFFIXES = [
    "~nobody-here/",
    "${UNSET_NAME}",
    "${X_BEARER_TOKEN}",
    "$${",
    "{",
    "}",
    " ",
    "\x00",
    "99999999999999999999",
    "://",
    ":",
    "*.",
]
# Edge values and affixes weigh most: they reach the checks behind the schema.
_OPERATIONS = ["edge", "edge", "affix", "affix", "replace", "delete", "add", "rename", "wrap"]


@st.composite
def mutated_data(draw: st.DrawFn, base: Any) -> Any:
    """``base`` (plain YAML data, copied) with one to four mutations at random places:
    a value replaced (often by an edge value), text put around a string, a key removed,
    added or renamed, a value wrapped in a list."""
    data = json.loads(json.dumps(base))  # a deep copy of plain data
    for _ in range(draw(st.sampled_from([1, 1, 1, 2, 3, 4]))):
        op = draw(st.sampled_from(_OPERATIONS))
        parent, key = None, None
        node = data
        # a value's edit goes down to a leaf; a structural edit stops anywhere
        while _children(node) and (
            parent is None or op in ("edge", "affix") or draw(st.integers(0, 4)) > 0
        ):
            parent, key = node, draw(st.sampled_from(_children(node)))
            node = node[key]
        if parent is None:  # an empty document: the junk strategies cover the rest
            data = draw(values)
            continue
        if op == "affix" and isinstance(node, str):
            affix = draw(st.sampled_from(AFFIXES))
            parent[key] = affix + node if draw(st.booleans()) else node + affix
        elif op == "replace":
            parent[key] = draw(values)
        elif op == "edge":
            parent[key] = copy.deepcopy(draw(st.sampled_from(EDGE_VALUES)))
        elif op == "delete":
            del parent[key]
        elif op == "wrap":
            parent[key] = [node]
        elif op == "add" and isinstance(parent, dict):
            parent[draw(st.sampled_from(KEY_WORDS))] = draw(values)
        elif op == "rename" and isinstance(parent, dict):
            parent[draw(st.sampled_from(KEY_WORDS))] = parent.pop(key)
    return data


def dump_yaml(data: Any, flow: bool) -> str:
    return yaml.safe_dump(data, default_flow_style=flow, allow_unicode=True, sort_keys=False)


# Characters that change what YAML text means.
YAML_NOISE = [*":-[]{}#&*!|>'\"%@`,? \t\n\r", "  ", "- ", ": ", "\n  ", "---\n", "..."]
NOISE = st.one_of(
    st.sampled_from(YAML_NOISE),
    st.sampled_from(["\x00", "\x85", "\ufeff", "\u2028", "\x7f", "é", "\U0001f600", "\\"]),
    st.text(max_size=4),
)


@st.composite
def mutated_text(draw: st.DrawFn, base: str) -> str:
    """``base`` with one to five characters or short runs inserted, deleted or replaced,
    or a line duplicated, removed or re-indented."""
    text = base
    for _ in range(draw(st.integers(1, 5))):
        lines = text.split("\n")
        op = draw(st.sampled_from(["insert", "delete", "replace", "dup", "drop", "indent"]))
        if op in ("dup", "drop", "indent"):
            i = draw(st.integers(0, len(lines) - 1))
            if op == "dup":
                lines.insert(i, lines[i])
            elif op == "drop":
                del lines[i]
            else:
                lines[i] = draw(st.sampled_from(["", " ", "  ", "    ", "\t"])) + lines[i]
            text = "\n".join(lines)
            continue
        at = draw(st.integers(0, len(text)))
        end = min(len(text), at + draw(st.integers(1, 8)))
        if op == "insert":
            text = text[:at] + draw(NOISE) + text[at:]
        elif op == "delete":
            text = text[:at] + text[end:]
        else:
            text = text[:at] + draw(NOISE) + text[end:]
    return text


def yaml_documents(bases: list[str]) -> st.SearchStrategy[str]:
    """Near-valid YAML documents from ``bases`` (mutated data or mutated text), and junk."""
    datas = [yaml.safe_load(b) for b in bases]
    mutated = st.builds(dump_yaml, st.sampled_from(datas).flatmap(mutated_data), st.booleans())
    return st.one_of(
        mutated,  # three times: the checks behind the schema are where the bugs hide
        mutated,
        mutated,
        st.sampled_from(bases).flatmap(mutated_text),
        st.lists(st.sampled_from([*YAML_NOISE, *"abc019_./$"]), max_size=40).map("".join),
        st.text(max_size=80),
    )


def file_bytes(bases: list[str]) -> st.SearchStrategy[bytes]:
    """What a file holds: a document as UTF-8 (mostly), or arbitrary bytes."""
    return st.one_of(
        yaml_documents(bases).map(lambda t: t.encode("utf-8", "surrogatepass")),
        st.binary(max_size=64),
    )
