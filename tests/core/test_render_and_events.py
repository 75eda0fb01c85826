"""Rendering firings into action payloads, the event lines of ``run --json``, and tables."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from automation.cli.tables import table
from automation.core import metric_names as m
from automation.core.conditions import total_value
from automation.core.payloads import (
    FiringContext,
    default_webhook_body,
    iso,
    number,
    render_action,
    template_values,
)
from automation.core.rules import (
    JsonObject,
    Leaf,
    LikeAction,
    LogAction,
    QuoteAction,
    ReplyAction,
    RepostAction,
    Rule,
    Watch,
    WebhookAction,
)
from automation.core.templates import parse_template
from automation.engine.events import ActionEvent, CycleEvent, FiredEvent, to_json

AT = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
RULE = Rule(
    id="at-100",
    description="Repost at 100",
    watch=Watch(accounts=("brand",)),
    when=Leaf("favorites", "gte", 100, written="likes"),
)


def ctx(**overrides: object) -> FiringContext:
    values: dict[str, object] = {
        "firing_id": "f1",
        "rule": RULE,
        "post_id": "123",
        "post_url": "https://x.com/i/status/123",
        "post_account": "brand",
        "post_created_at": datetime(2026, 11, 26, 10, 0, tzinfo=UTC),
        "fired_at": AT,
        "metrics": {"likes": 100.0},
        "totals": {"favorites": 100.0, "impressions": 2000.0, "engagements": 150.0},
        "milestone": None,
    }
    values.update(overrides)
    return FiringContext(**values)  # type: ignore[arg-type]


def test_moments_read_in_utc_with_z_and_a_naive_one_is_refused() -> None:
    berlin = timezone(timedelta(hours=1))
    assert iso(datetime(2026, 11, 26, 13, 0, 5, 999, tzinfo=berlin)) == "2026-11-26T12:00:05Z"
    with pytest.raises(ValueError, match="naive datetime"):
        iso(datetime(2026, 11, 26, 12, 0))  # whose noon? not the machine's


def test_template_values_offer_aliases_rate_and_fixed_names() -> None:
    values = template_values(ctx(milestone=1000))
    assert values["metrics.likes"] == "100"
    assert values["metrics.favorites"] == "100"
    assert values["metrics.engagement_rate"] == "0.075"
    assert values["post.created_at"] == "2026-11-26T10:00:00Z"
    assert values["fired_at"] == "2026-11-26T12:00:00Z"
    assert values["milestone"] == "1000"
    assert values["rule.description"] == "Repost at 100"
    assert "metrics.retweets" not in values  # unknown stays unknown


def test_default_webhook_body_matches_the_spec() -> None:
    assert default_webhook_body(ctx()) == {
        "event": "rule.fired",
        "id": "f1",
        "rule": {"id": "at-100", "description": "Repost at 100"},
        "post": {"id": "123", "url": "https://x.com/i/status/123", "account": "brand"},
        "metrics": {"likes": 100},
        "fired_at": "2026-11-26T12:00:00Z",
    }


@pytest.mark.parametrize(
    ("action", "expected"),
    [
        (RepostAction("support"), {"kind": "repost", "post_id": "123", "as": "support"}),
        (LikeAction("support"), {"kind": "like", "post_id": "123", "as": "support"}),
        (
            ReplyAction("support", parse_template("Thanks! {metrics.likes} likes")),
            {"kind": "reply", "post_id": "123", "as": "support", "text": "Thanks! 100 likes"},
        ),
        (
            QuoteAction("brand", parse_template("{{wow}} {post.url}")),
            {
                "kind": "quote",
                "post_id": "123",
                "as": "brand",
                "text": "{wow} https://x.com/i/status/123",
            },
        ),
        (
            LogAction(parse_template("{rule.id} fired for {post.id}")),
            {"kind": "log", "post_id": "123", "message": "at-100 fired for 123"},
        ),
    ],
)
def test_render_action_payloads(action: object, expected: dict[str, object]) -> None:
    assert json.loads(render_action(action, ctx())) == expected  # type: ignore[arg-type]


def test_render_webhook_with_body_headers_and_secret_name() -> None:
    body = JsonObject(
        (
            ("text", parse_template("{post.url} reached {metrics.likes}")),
            ("tags", (parse_template("a"), 1, True, None)),
            ("empty_object", JsonObject(())),
            ("empty_list", ()),
        )
    )
    action = WebhookAction(
        url=parse_template("https://hooks.example.com/{rule.id}"),
        body=body,
        headers=(("X-Post", parse_template("{post.id}")),),
        secret="team-chat",
        timeout=5.0,
    )
    payload = json.loads(render_action(action, ctx()))
    assert payload["url"] == "https://hooks.example.com/at-100"
    assert payload["headers"] == {"X-Post": "123"}
    assert payload["secret"] == "team-chat"  # the name, never a value
    assert json.loads(payload["body"]) == {
        "text": "https://x.com/i/status/123 reached 100",
        "tags": ["a", 1, True, None],
        "empty_object": {},
        "empty_list": [],
    }


def test_render_webhook_without_body_uses_the_default_payload() -> None:
    action = WebhookAction(url=parse_template("https://h.example.com/x"))
    payload = json.loads(render_action(action, ctx()))
    assert json.loads(payload["body"]) == default_webhook_body(ctx())


def test_events_serialise_as_one_json_object_with_event_first() -> None:
    line = to_json(
        FiredEvent(event="fired", rule="r", post="1", key="once", metrics={"likes": 100}, id="f1")
    )
    assert line.startswith('{"event":"fired"')
    assert json.loads(line) == {
        "event": "fired",
        "rule": "r",
        "post": "1",
        "key": "once",
        "metrics": {"likes": 100},
        "id": "f1",
    }
    assert json.loads(to_json(CycleEvent(posts=3, requests=2, duration=0.5)))["event"] == "cycle"
    action = json.loads(
        to_json(ActionEvent(id="f1.0", kind="webhook", status="retry", error="503"))
    )
    assert action == {
        "event": "action",
        "id": "f1.0",
        "kind": "webhook",
        "status": "retry",
        "error": "503",
        "attempt": 0,
    }


def test_table_aligns_columns_and_numbers() -> None:
    text = table(["rule", "fired"], [["a", 1], ["longer-name", 1200]])
    lines = text.splitlines()
    assert lines[0] == "rule         fired"
    assert lines[2] == "a                1"
    assert lines[3] == "longer-name  1,200"


def test_action_metrics_are_the_api_metrics_templates_mention() -> None:
    from automation.core.payloads import action_metrics

    rule = Rule(
        id="r",
        watch=Watch(accounts=("brand",)),
        when=None,
        actions=(
            WebhookAction(
                url=parse_template("https://h.example.com/{metrics.likes}"),
                body=JsonObject((("a", (parse_template("{metrics.engagement_rate}"),)),)),
                headers=(("X", parse_template("{metrics.quotes}")),),
            ),
            LogAction(parse_template("{metrics.url_clicks} {post.id}")),
        ),
    )
    assert action_metrics(rule) == {
        "favorites",
        "engagements",
        "impressions",
        "quote_tweets",
        "url_clicks",
    }


def test_a_public_post_without_milestone_renders_empty_names_and_rates_to_six_places() -> None:
    action = LogAction(parse_template("[{post.account}] [{milestone}] {metrics.engagement_rate}"))
    public = ctx(post_account=None, totals={"impressions": 3.0, "engagements": 1.0}, metrics={})
    payload = render_action(action, public)
    assert payload == '{"kind":"log","post_id":"123","message":"[] [] 0.333333"}'


def test_a_metric_json_cannot_carry_is_sent_as_null_in_the_default_body() -> None:
    action = WebhookAction(url=parse_template("https://h.example.com/x"))
    payload = json.loads(render_action(action, ctx(metrics={"likes": float("inf")})))
    assert '"metrics":{"likes":null}' in payload["body"]


def test_a_template_may_name_a_total_by_its_alias_though_no_condition_does() -> None:
    action = LogAction(parse_template("{metrics.likes} likes"))
    payload = json.loads(render_action(action, ctx(metrics={})))
    assert payload["message"] == "100 likes"


@settings(max_examples=300, deadline=None)
@given(
    st.dictionaries(
        st.sampled_from(m.API_METRICS),
        st.one_of(st.just(0.0), st.floats(min_value=0, max_value=1e12, allow_nan=False)),
    )
)
def test_every_name_a_rule_may_write_renders_its_decisions_value(totals: dict[str, float]) -> None:
    # A decision reports each metric under the name the rule wrote (a metric, an alias or
    # the rate: the parsers accept no other) with value_getter's value from the same
    # totals, which total_value gives; the totals alone render every one of them.
    metrics = {
        name: value
        for name in m.all_names()
        if (value := total_value(totals, m.canonical(name) or name)) is not None
    }
    values = template_values(ctx(metrics=metrics, totals=totals))
    assert {n: values[f"metrics.{n}"] for n in metrics} == {
        n: str(number(v)) for n, v in metrics.items()
    }
