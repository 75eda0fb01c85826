"""Pausing and resuming rules from the dashboard: the same pause record the engine reads,
recorded with who and when."""

from __future__ import annotations

import re
from datetime import timedelta

from dashboard_scene import World, browsing, csrf_token, post_form, serving

from automation.core.pauses import ALL_RULES
from automation.core.payloads import iso
from automation.store import SqliteStore


def test_pausing_a_rule_keeps_who_when_why_and_until(own_world: World) -> None:
    with serving(own_world) as running, browsing(running) as c:
        done = post_form(
            c, "/rules/at-100-likes/pause", reason="launch day", name="Alice", **{"for": "4h"}
        )
        assert done.status_code == 303
        page = c.get("/rules/at-100-likes").text
        assert "paused by Alice (dashboard)" in page and "launch day" in page
        assert 'action="/rules/at-100-likes/resume"' in page
        assert 'value="Alice"' in page  # the name is remembered for the next form
    with SqliteStore.open(own_world.folder / "automation.db") as store:
        [record] = store.pauses()
        assert record.rule_id == "at-100-likes" and record.paused_by == "Alice (dashboard)"
        assert record.paused_at == own_world.end
        assert record.until == own_world.end + timedelta(hours=4)
        assert record.reason == "launch day"
        [change] = store.changes()
        assert (change.by, change.what, change.target, change.detail) == (
            "Alice (dashboard)",
            "pause",
            "at-100-likes",
            "for 4h: launch day",
        )


def test_resuming_marks_the_pause_ended_for_the_engine_to_settle(own_world: World) -> None:
    with serving(own_world) as running, browsing(running) as c:
        post_form(c, "/rules/at-100-likes/pause")
        assert post_form(c, "/rules/at-100-likes/resume", name="Bob").status_code == 303
        assert "resumed at-100-likes" in c.get("/rules").text
        assert post_form(c, "/rules/at-100-likes/resume").status_code == 303
        assert "at-100-likes was not paused" in c.get("/rules").text
    with SqliteStore.open(own_world.folder / "automation.db") as store:
        [record] = store.pauses()
        assert record.resumed_by == "Bob (dashboard)" and record.resumed_at == own_world.end
        assert [c.what for c in store.changes()] == ["resume", "pause"]


def test_pausing_every_rule_shows_on_the_overview(own_world: World) -> None:
    with serving(own_world) as running, browsing(running) as c:
        assert post_form(c, f"/rules/{ALL_RULES}/pause").status_code == 303
        overview = c.get("/").text
        assert "Paused" in overview and "Every rule is paused by dashboard" in overview
        assert c.get("/rules").text.count('class="pill paused"') >= 3
    with SqliteStore.open(own_world.folder / "automation.db") as store:
        assert [p.rule_id for p in store.pauses()] == [ALL_RULES]


def test_a_pause_of_an_unknown_rule_or_for_a_bad_time_changes_nothing(own_world: World) -> None:
    with serving(own_world) as running, browsing(running) as c:
        assert post_form(c, "/rules/nope/pause").status_code == 404
        bad = post_form(c, "/rules/at-100-likes/pause", **{"for": "soon"})
        assert bad.status_code == 400 and "such as 2h" in bad.text
    with SqliteStore.open(own_world.folder / "automation.db") as store:
        assert store.pauses() == [] and store.changes() == []


def test_pages_read_while_the_engine_holds_the_write_lock_and_controls_give_up_soon(
    own_world: World,
) -> None:
    import sqlite3

    with serving(own_world) as running, browsing(running) as c:
        token = csrf_token(c.get("/actions?status=dead").text)
        action = re.search(r'action="(/actions/[^"]+/retry)"', c.get("/actions").text)
        assert action is not None
        engine = sqlite3.connect(own_world.folder / "automation.db")
        try:
            engine.execute("BEGIN IMMEDIATE")  # as during an engine's cycle commit
            for path in ("/", "/rules", f"/posts/{own_world.crossing}", "/history", "/actions"):
                assert c.get(path).status_code == 200, path
            # a control that waited on the lock for ever would hang here: it gives up
            # after site.WRITE_TIMEOUT and says why
            refused = c.post(action.group(1), data={"csrf_token": token}, timeout=60)
        finally:
            engine.rollback()
            engine.close()
        assert refused.status_code == 503 and "locked" in refused.text
        assert c.post(action.group(1), data={"csrf_token": token}).status_code == 303


def test_a_failed_reload_is_shown_with_its_errors(own_world: World) -> None:
    import json

    with SqliteStore.open(own_world.folder / "automation.db") as store:
        errors = "rules/rules.yaml:4:11: error: unknown metric 'lieks'; did you mean 'likes'?"
        store.set_meta("reload_error", json.dumps({"at": "2026-03-02T23:50:00Z", "errors": errors}))
    with serving(own_world) as running, browsing(running) as c:
        page = c.get("/").text
        assert "The last reload failed" in page and "10 min ago" in page
        assert "unknown metric &#39;lieks&#39;; did you mean &#39;likes&#39;?" in page


def test_a_pause_says_its_times_as_pages_do_and_escapes_what_people_typed(
    own_world: World,
) -> None:
    """A pause read "paused since 2026-03-02T22:00:00Z until ...": raw times on pages that
    write every other time as "3 h ago" with the date and hour on hover."""
    end, until = own_world.end, own_world.end + timedelta(hours=4)
    with serving(own_world) as running, browsing(running) as c:
        post_form(
            c, "/rules/at-100-likes/pause", reason="<b>launch</b>", name="Al", **{"for": "4h"}
        )
        page = c.get("/rules/at-100-likes").text
    assert (
        f'paused by Al (dashboard) since <time datetime="{iso(end)}"'
        f' title="{end:%Y-%m-%d %H:%M} UTC">just now</time>'
        f' until <time datetime="{iso(until)}" title="{until:%Y-%m-%d %H:%M} UTC">in 4 h</time>'
        ": &lt;b&gt;launch&lt;/b&gt;"
    ) in page
    assert f"since {iso(end)}" not in page and "<b>launch" not in page


def test_under_the_pause_of_every_rule_a_rule_offers_no_resume_of_its_own(
    own_world: World,
) -> None:
    """With every rule paused, each rule's card and page offered "Resume this rule", a button
    that could only answer that the rule is still held: they say it is paused with every
    rule, and the one resume is the rules page's."""
    with serving(own_world) as running, browsing(running) as c:
        post_form(c, f"/rules/{ALL_RULES}/pause", reason="launch postponed", name="Dana")
        rules = c.get("/rules").text
        rule = c.get("/rules/like-milestones").text
    assert rules.count('/resume"') == 1 and f'action="/rules/{ALL_RULES}/resume"' in rules
    assert rules.count("paused</span> with every rule</p>") == 3  # each rule's card
    assert "/resume" not in rule and "Pause this rule" not in rule
    assert re.search(
        r"paused</span> with every rule: paused by Dana \(dashboard\) since <time [^>]*>just now"
        r"</time>: launch"
        r' postponed\. <a href="/rules">Resume every rule</a> on the rules page\.',
        rule,
    ), rule
    assert '<span class="pill paused">paused</span></h1>' in rule
