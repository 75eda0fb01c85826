"""The dashboard in a real browser: headless Chromium (Debian's ``chromium`` package)
driven by Playwright, over a database the real engine filled.

Every page must load with no console error, no failed request and no request to any other
host. The run takes a 1280x800 screenshot of each page; they replace the README's in
``docs/screenshots/`` only when asked (``AUTOMATION_SCREENSHOTS=docs/screenshots``), so a
test run leaves the checkout as it was. Without Chromium these tests skip, naming the package; in CI
(``CI=true``) they fail instead, since ``.ci/run`` installs it.
"""

from __future__ import annotations

import sqlite3
from dataclasses import replace
from itertools import pairwise
from pathlib import Path
from typing import Any

import yaml
from dashboard_browser import LAPTOP, PHONE, Watched, watch
from dashboard_scene import World, live_world, serving

from automation.core.payloads import iso
from automation.dashboard.server import Running
from automation.store import SqliteStore


def _pages(world: World) -> list[tuple[str, str]]:
    return [
        ("overview", "/"),
        ("rules", "/rules"),
        ("rule", "/rules/like-milestones"),
        ("post", f"/posts/{world.crossing}"),
        ("history", "/history"),
        ("actions", "/actions"),
        ("backtest-form", "/backtest"),
    ]


def test_every_page_loads_clean_and_is_photographed(
    tab: Watched, world: World, shots: Path
) -> None:
    for name, path in _pages(world):
        tab.open(path)
        assert tab.page.locator("main h1, main .cards").count() > 0, path
        if name != "backtest-form":  # the result is photographed below, with its charts
            tab.page.screenshot(path=str(shots / f"{name}.png"))
    # the overview links every other page with plain links
    tab.open("/")
    hrefs = tab.page.eval_on_selector_all("a[href]", "els => els.map(e => e.getAttribute('href'))")
    for wanted in ("/rules", "/history", "/actions", "/backtest", "/rules/at-100-likes"):
        assert wanted in hrefs
    assert any(h.startswith("/posts/") for h in hrefs)
    tab.assert_clean()


def test_the_post_chart_draws_the_threshold_and_the_firing_when_it_crossed(
    tab: Watched, world: World
) -> None:
    tab.open(f"/posts/{world.crossing}")
    chart = tab.page.locator("#chart-favorites")
    line = chart.locator('.threshold[data-rule="at-100-likes"]')
    marker = chart.locator('.marker.fired[data-rule="at-100-likes"]')
    assert line.count() == 1 and marker.count() == 1
    fired_at = world.crossing_time()
    assert float(marker.get_attribute("data-at")) == fired_at.timestamp()
    assert iso(fired_at)[11:16] + " UTC" in marker.get_attribute("title")
    # Positions measured on the page: the marker stands where the chart's time axis puts
    # the firing's time, and the line where its value axis puts 100 likes; the likes line
    # is below the threshold before the firing and on or above it at the firing.
    geometry = tab.page.evaluate(
        """([at]) => {
          const u = window.dashboardCharts.favorites;
          const over = u.over.getBoundingClientRect();
          const px = (v, lo, hi, size) => (v - lo) / (hi - lo) * size;
          const x = u.scales.x, y = u.scales.y;
          const i = u.data[0].indexOf(at);
          const chart = document.querySelector('#chart-favorites');
          const own = (what) => chart.querySelector(what + '[data-rule="at-100-likes"]')
            .getBoundingClientRect();
          return {
            expectX: px(at, x.min, x.max, over.width),
            expectY: over.height - px(100, y.min, y.max, over.height),
            markerX: own('.marker.fired').left - over.left,
            lineY: own('.threshold').top - over.top,
            before: u.data[1][i - 1], at: u.data[1][i],
          };
        }""",
        [fired_at.timestamp()],
    )
    assert abs(geometry["markerX"] - geometry["expectX"]) <= 2, geometry
    assert abs(geometry["lineY"] - geometry["expectY"]) <= 2, geometry
    assert geometry["before"] < 100 <= geometry["at"], geometry
    tab.assert_clean()


def test_a_chart_with_one_reading_spans_hours_and_shows_its_firings(
    tab: Watched, world: World
) -> None:
    """A post polled once so far (just discovered, say) has one reading and firings
    minutes before it: the time axis spans them, not years, and every marker is drawn."""
    import json
    import re

    path = f"/posts/{world.crossing}"
    reading = 0.0

    def one_reading(route: Any) -> None:
        nonlocal reading
        page = route.fetch().text()
        found = re.search(r'(id="chart-data">)(.*?)(</script>)', page, re.S)
        assert found is not None
        charts = json.loads(found.group(2))
        for chart in charts:
            fired = [m["at"] for m in chart["markers"]]
            reading = max(fired) + 240 if fired else chart["times"][-1]
            chart.update(times=[reading], totals=[chart["totals"][-1]], per_hour=None)
        body = page[: found.start(2)] + json.dumps(charts) + page[found.end(2) :]
        route.fulfill(body=body, content_type="text/html; charset=utf-8")

    tab.page.route(tab.origin + path, one_reading)
    tab.open(path)
    span = tab.page.evaluate(
        "(() => { const x = window.dashboardCharts.favorites.scales.x; return [x.min, x.max]; })()"
    )
    markers = tab.page.locator("#chart-favorites .marker")
    assert markers.count() >= 1
    assert span[0] <= reading <= span[1] and span[1] - span[0] <= 86400, span
    for at in markers.evaluate_all("els => els.map(e => +e.dataset.at)"):
        assert span[0] <= at <= span[1], (at, span)
    tab.assert_clean()


def test_retrying_a_dead_action_in_the_browser_requeues_it(browser: Any, own_world: World) -> None:
    with serving(own_world) as running:
        context = browser.new_context(viewport=LAPTOP)
        tab = watch(context.new_page(), running.url)
        tab.open("/actions?status=dead")
        row = tab.page.locator("tr", has=tab.page.locator("button", has_text="Retry"))
        action_id = row.get_attribute("id").removeprefix("action-")
        row.locator("button").click()
        tab.page.wait_for_load_state("networkidle")
        assert "re-queued" in tab.page.locator(".notice").inner_text()
        tab.assert_clean()
        context.close()
    with SqliteStore.open(own_world.folder / "automation.db") as store:
        item = store.action(action_id)
        assert item is not None and item.status == "pending"


def test_retrying_every_dead_action_on_a_phone(browser: Any, own_world: World) -> None:
    """ "Retry all N dead" sits in view above the actions on a 390 px screen, and one tap
    re-queues them all."""
    with serving(own_world) as running:
        context = browser.new_context(viewport=PHONE, is_mobile=True, has_touch=True)
        tab = watch(context.new_page(), running.url)
        tab.open("/actions")
        button = tab.page.locator("button", has_text="Retry all 1 dead")
        box = button.bounding_box()
        assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= PHONE["width"]
        assert tab.page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
        button.tap()
        tab.page.wait_for_load_state("networkidle")
        assert "re-queued 1 dead action" in tab.page.locator(".notice").inner_text()
        assert tab.page.locator("button", has_text="Retry all").count() == 0
        tab.assert_clean()
        context.close()
    with SqliteStore.open(own_world.folder / "automation.db") as store:
        assert store.action_counts()["dead"] == 0


def test_a_form_whose_token_was_tampered_with_is_refused(browser: Any, own_world: World) -> None:
    with serving(own_world) as running:
        context = browser.new_context(viewport=LAPTOP)
        page = context.new_page()
        page.goto(running.url + "/actions?status=dead", wait_until="networkidle")
        page.eval_on_selector_all(
            "input[name=csrf_token]", "els => els.forEach(e => e.value = 'forged')"
        )
        with page.expect_response(lambda r: r.request.method == "POST") as answer:
            page.locator("tr button", has_text="Retry").click()
        assert answer.value.status == 403
        assert "Refused" in page.locator("h1").inner_text()
        context.close()
    with SqliteStore.open(own_world.folder / "automation.db") as store:
        assert store.action_counts()["dead"] == 1


def test_the_password_gate_holds_in_the_browser(
    browser: Any, own_world: World, shots: Path
) -> None:
    doc = yaml.safe_load(own_world.config_path.read_text())
    doc["dashboard"] = {"password": "${DASHBOARD_PASSWORD}"}
    own_world.config_path.write_text(yaml.safe_dump(doc), encoding="utf-8")
    with serving(own_world, env={"DASHBOARD_PASSWORD": "open-sesame-5"}) as running:
        context = browser.new_context(viewport=LAPTOP)
        tab = watch(context.new_page(), running.url)
        tab.open("/actions")
        assert tab.page.url.startswith(running.url + "/login")
        tab.page.screenshot(path=str(shots / "login.png"))
        tab.page.fill("input[name=password]", "open-sesame-5")
        tab.page.click("button[type=submit]")
        tab.page.wait_for_load_state("networkidle")
        assert tab.page.url == running.url + "/actions"
        assert tab.page.locator("h1").inner_text().startswith("Actions")
        tab.assert_clean()
        context.close()


def test_pages_fit_a_phone_screen(
    browser: Any, shared_dashboard: Running, world: World, shots: Path
) -> None:
    context = browser.new_context(viewport=PHONE, is_mobile=True, has_touch=True)
    tab = watch(context.new_page(), shared_dashboard.url)
    for name, path in _pages(world):
        tab.open(path)
        width = tab.page.evaluate("document.documentElement.scrollWidth")
        assert width <= PHONE["width"], f"{path} is {width}px wide on a phone"
        if name in ("overview", "post"):
            tab.page.screenshot(path=str(shots / f"{name}-phone.png"))
    tab.assert_clean()
    context.close()


def _assert_nothing_scrolls_sideways(tab: Any, path: str) -> None:
    """No part of the page, its menu included, scrolls sideways: nothing is cut off (words
    for screen readers only, clipped to a pixel, are not shown)."""
    scrolled = tab.page.evaluate(
        "[...document.querySelectorAll('body, body *')]"
        ".filter(e => e.scrollWidth > e.clientWidth"
        " && getComputedStyle(e).overflowX !== 'visible' && !e.matches('.visually-hidden'))"
        ".map(e => e.tagName + '.' + e.className)"
    )
    assert scrolled == [], f"{path} scrolls sideways on a phone: {scrolled}"


def _assert_rows_fit_a_phone(tab: Any, path: str) -> None:
    """Nothing in the page scrolls sideways, and every row's pills are on the screen."""
    _assert_nothing_scrolls_sideways(tab, path)
    rights = tab.page.locator("main tbody .pill").evaluate_all(
        "els => els.map(e => e.getBoundingClientRect().right)"
    )
    assert rights and max(rights) <= PHONE["width"], f"{path}: {rights}"


def test_history_and_actions_read_on_a_phone_without_scrolling_sideways(
    browser: Any, shared_dashboard: Running, shots: Path
) -> None:
    """Their tables once scrolled sideways inside their panel on a phone, the status column
    off screen: every row must fit the screen, its status in view."""
    context = browser.new_context(viewport=PHONE, is_mobile=True, has_touch=True)
    tab = watch(context.new_page(), shared_dashboard.url)
    for name, path in (("history", "/history"), ("actions", "/actions")):
        tab.open(path)
        tab.page.screenshot(path=str(shots / f"{name}-phone.png"))
        _assert_rows_fit_a_phone(tab, path)
    tab.assert_clean()
    context.close()


def test_every_table_of_firings_reads_on_a_phone_without_scrolling_sideways(
    browser: Any, shared_dashboard: Running, world: World
) -> None:
    """The overview's latest firings, a rule's and a post's firings, and a rule's nearest
    posts once scrolled sideways on a phone as History did, cutting a value in two
    ("likes 15" of 151) and leaving the actions, the progress and the estimate off
    screen: each row must fit the screen, its pills in view."""
    context = browser.new_context(viewport=PHONE, is_mobile=True, has_touch=True)
    tab = watch(context.new_page(), shared_dashboard.url)
    pages = ("/", "/rules/at-100-likes", "/rules/like-milestones", f"/posts/{world.crossing}")
    for path in pages:
        tab.open(path)
        _assert_rows_fit_a_phone(tab, path)
    tab.assert_clean()
    context.close()


def test_an_empty_history_says_what_to_do_on_a_phone(
    browser: Any, shared_dashboard: Running, own_world: World
) -> None:
    """The history page's words when it lists nothing (a filter that finds nothing, and no
    firing yet) read on a 390 px screen: nothing scrolls sideways (the menu once hid the
    end of its last link), every link of the words is on the screen, and the words stand
    below the filter form, not over it."""
    with sqlite3.connect(own_world.folder / "automation.db") as db:
        db.execute("DELETE FROM firings")
    db.close()
    post = "1999000000000000001"  # a post no firing is about
    filtered = f"/history?rule=like-milestones&post={post}&status=seeded&from=2026-03-01"
    with serving(own_world) as none_yet:
        for origin, path in ((shared_dashboard.url, filtered), (none_yet.url, "/history")):
            context = browser.new_context(viewport=PHONE, is_mobile=True, has_touch=True)
            tab = watch(context.new_page(), origin)
            tab.open(path)
            _assert_nothing_scrolls_sideways(tab, path)
            words = tab.page.locator("main p.empty")
            assert words.count() == 1, path
            boxes = words.locator("a").evaluate_all(
                "els => els.map(e => [...e.getClientRects()].map(r => [r.left, r.right]))"
            )
            sides = [side for link in boxes for box in link for side in box]
            assert sides and min(sides) >= 0 and max(sides) <= PHONE["width"], (path, boxes)
            form = tab.page.locator("main form").bounding_box()
            panel = words.bounding_box()
            assert form is not None and panel is not None
            assert panel["y"] >= form["y"] + form["height"], (path, form, panel)
            tab.assert_clean()
            context.close()


def test_a_window_rule_s_firing_reads_on_a_phone_card(browser: Any, own_world: World) -> None:
    """A firing's window (``engagement_rate over 30m``, the longest label a rule can
    write, beside totals) stays on the screen in each page's firing cards."""
    from automation.core.records import CycleWrite, FiringRecord

    windows = {"engagement_rate over 30m": 0.123457, "impressions over 28h": 1_818_579.0}
    metrics = {"engagement_rate": 0.0456, "impressions": 18_185_790.0, "engagements": 829_457.0}
    firing = FiringRecord(
        "c0ffee0000000003", "big-reach", own_world.crossing, "once", "fired", own_world.end
    )
    firing = replace(firing, metrics=metrics, windows=windows)
    with SqliteStore.open(own_world.folder / "automation.db") as store:
        store.commit_cycle(CycleWrite(at=own_world.end, firings=(firing,)))
    with serving(own_world) as running:
        context = browser.new_context(viewport=PHONE, is_mobile=True, has_touch=True)
        tab = watch(context.new_page(), running.url)
        for path in ("/history", "/rules/big-reach", f"/posts/{own_world.crossing}"):
            tab.open(path)
            assert tab.page.get_by_text("engagement rate over 30m").count() == 1
            _assert_rows_fit_a_phone(tab, path)
        tab.assert_clean()
        context.close()


def test_a_post_s_values_wrap_on_a_phone(
    browser: Any, shared_dashboard: Running, world: World
) -> None:
    """A post read on several metrics shows them on as many lines as the screen needs
    (they once ran off a phone's screen as one line that could not break)."""
    from automation.dashboard.templates import _TEMPLATES

    many = {"engagements": 139459, "favorites": 60224, "impressions": 1818579, "retweets": 12536}
    markup = str(_TEMPLATES.env.get_template("macros.html").module.values(many))  # type: ignore[attr-defined]
    context = browser.new_context(viewport=PHONE, is_mobile=True, has_touch=True)
    tab = watch(context.new_page(), shared_dashboard.url)
    tab.open(f"/posts/{world.crossing}")
    strip = tab.page.locator("p.values")
    strip.evaluate("(el, html) => { el.innerHTML = html; }", markup)
    assert strip.locator(".kv").count() == 4
    tops = strip.locator(".kv").evaluate_all("els => els.map(e => e.offsetTop)")
    widths = tab.page.evaluate(
        "[document.documentElement.scrollWidth, document.querySelector('p.values').scrollWidth,"
        " document.querySelector('p.values').clientWidth]"
    )
    assert widths[0] <= PHONE["width"] and widths[1] <= widths[2], widths
    assert len(set(tops)) >= 2, tops  # on two lines or more
    tab.assert_clean()
    context.close()


def test_pausing_a_rule_in_the_browser_makes_the_next_cycle_skip_it(
    browser: Any, tmp_path: Path
) -> None:
    from automation.engine.events import FiredEvent, PauseEvent

    with live_world(tmp_path / "live") as (world, live):
        clock = live.sandbox.clock.now
        with serving(world, clock=clock) as running:
            context = browser.new_context(viewport=LAPTOP)
            tab = watch(context.new_page(), running.url)
            tab.open("/rules/like-milestones")
            tab.page.click("summary:has-text('Pause this rule')")
            tab.page.fill("input[name=reason]", "launch review")
            tab.page.fill("input[name=name]", "Mia")
            tab.page.click("button:has-text('Pause')")
            tab.page.wait_for_load_state("networkidle")
            assert "paused like-milestones" in tab.page.locator(".notice").inner_text()
            assert "paused by Mia (dashboard)" in tab.page.locator("main").inner_text()

            live.events.clear()
            live.sandbox.world.set_metric(world.crossing, "favorites", 530)  # past 500
            live.next_cycle()
            fired = [e for e in live.events if isinstance(e, FiredEvent)]
            assert [(e.rule, e.event) for e in fired] == []  # the engine skipped it...
            held = [e for e in live.events if isinstance(e, PauseEvent)]
            assert ("paused", "like-milestones", "Mia (dashboard)") in [
                (e.event, e.rule, e.by) for e in held
            ]
            assert ("held", "like-milestones") in [(e.event, e.rule) for e in held]

            tab.open("/rules/like-milestones")
            tab.page.click("button:has-text('Resume this rule')")
            tab.page.wait_for_load_state("networkidle")
            live.events.clear()
            live.next_cycle()
            seeded = [(e.rule, e.event) for e in live.events if isinstance(e, FiredEvent)]
            assert seeded == [("like-milestones", "seeded")]  # ...and resuming does not flood
            tab.assert_clean()
            context.close()


def test_a_backtest_run_in_the_browser_charts_each_rule(
    browser: Any, tmp_path: Path, shots: Path
) -> None:
    with (
        live_world(tmp_path / "live") as (world, live),
        serving(world, clock=live.sandbox.clock.now) as running,
    ):
        context = browser.new_context(viewport=LAPTOP, locale="en-GB", timezone_id="UTC")
        tab = watch(context.new_page(), running.url)
        tab.open("/backtest")
        tab.page.check("input[name=rule][value=at-100-likes]")
        tab.page.check("input[name=rule][value=like-milestones]")
        tab.page.select_option("select[name=since]", "7d")
        tab.page.click("button:has-text('Run backtest')")
        tab.page.wait_for_load_state("networkidle")
        drawn = tab.page.evaluate("Object.keys(window.dashboardCharts || {})")
        assert sorted(drawn) == ["at-100-likes", "like-milestones"]
        assert tab.page.locator(".backtest-rule canvas").count() == 2
        # the value axis counts firings: labelled, in whole steps (never 0.5 firings)
        axes = tab.page.evaluate(
            "Object.values(window.dashboardCharts).map(u => [u.axes[1].label, u.axes[1]._splits])"
        )
        for label, splits in axes:
            assert label == "firings a day" and all(float(v).is_integer() for v in splits), axes
        # the poll interval as the config spells it (a 15s one read "every 0 min")
        assert "Polled every 30m, as the engine does" in tab.page.locator("main").inner_text()
        tab.page.screenshot(path=str(shots / "backtest.png"))
        tab.assert_clean()
        context.close()


# a window and two totals: a firing's values as wide as a rule's get
WIDE_VALUES_RULE = """\
version: 1
rules:
  - id: taking-off
    watch: {accounts: [brand]}
    when:
      all:
        - retweets over 1h >= 1
        - engagement_rate >= 0.001
        - impressions >= 100
    actions: [{log: {message: "{post.id}"}}]
"""


def test_a_backtest_s_firings_read_on_a_phone_without_scrolling_sideways(
    browser: Any, tmp_path: Path, shots: Path
) -> None:
    """A backtest's first firings once scrolled sideways inside their panel on a phone, the
    values (what made each fire) cut off at "engagement ra": each row must fit the
    screen, its values in view."""
    with (
        live_world(tmp_path / "live") as (world, live),
        serving(world, clock=live.sandbox.clock.now) as running,
    ):
        context = browser.new_context(viewport=PHONE, is_mobile=True, has_touch=True)
        tab = watch(context.new_page(), running.url)
        tab.open("/backtest")
        tab.page.fill("textarea[name=pasted]", WIDE_VALUES_RULE)
        tab.page.select_option("select[name=since]", "7d")
        tab.page.click("button:has-text('Run backtest')")
        tab.page.wait_for_load_state("networkidle")
        tab.page.locator("details summary:has-text('First firings')").first.click()
        tab.page.screenshot(path=str(shots / "backtest-phone.png"), full_page=True)
        _assert_nothing_scrolls_sideways(tab, "/backtest")
        rights = tab.page.locator("main details tbody .kv").evaluate_all(
            "els => els.map(e => e.getBoundingClientRect().right)"
        )
        assert rights and max(rights) <= PHONE["width"], rights
        tab.assert_clean()
        context.close()


LONG_RULE = "emea_q3_launch_webhook_to_the_regional_partner_chat_channel_x"[
    :60
]  # no hyphen to break at
LONG_ERROR = "webhook https://chat.example.com/hooks/team-chat answered 400 Bad Request: " + (
    '{"error": "invalid_payload", "detail": "the field text is at most 4000 characters"} ' * 20
)


def _crowd(world: World) -> None:
    """A rule whose ID is 60 characters long, fired once, its webhook dead with an error of
    1,700 characters (a receiver's whole answer)."""
    from automation.core.records import ActionRecord, CycleWrite, FiringRecord

    rule = {
        "id": LONG_RULE,
        "watch": {"posts": [world.crossing], "owner": "brand"},
        "when": "likes >= 100",
        "actions": [
            {"webhook": {"url": "https://chat.example.com/hooks/x", "secret": "team-chat"}}
        ],
    }
    (world.folder / "rules" / "long.yaml").write_text(
        yaml.safe_dump({"version": 1, "rules": [rule]}), encoding="utf-8"
    )
    action = ActionRecord(0, "webhook", '{"url": "https://chat.example.com/hooks/x"}')
    firing = FiringRecord(
        "c0ffee0000000009", LONG_RULE, world.crossing, "once", "fired", world.end,
        metrics={"likes": 452.0}, actions=(action,),
    )  # fmt: skip
    with SqliteStore.open(world.folder / "automation.db") as store:
        store.commit_cycle(CycleWrite(at=world.end, firings=(firing,)))
        (item,) = store.actions("pending", rule_id=LONG_RULE)
        store.record_attempt(
            item.id, at=world.end, outcome="dead", error=LONG_ERROR, next_attempt_at=None
        )


def test_a_long_rule_id_and_a_long_error_keep_every_page_on_a_phone_screen(
    browser: Any, own_world: World
) -> None:
    """A 60-character rule ID once pushed every page past a phone's screen (in the filters'
    menu, a rule card's title, a table's rule column), and a webhook's long error made its
    action's row thousands of pixels tall: the error shows its start, the rest on demand."""
    _crowd(own_world)
    with serving(own_world) as running:
        context = browser.new_context(viewport=PHONE, is_mobile=True, has_touch=True)
        tab = watch(context.new_page(), running.url)
        for path in ("/", "/rules", f"/rules/{LONG_RULE}", "/history", "/actions", "/backtest"):
            tab.open(path)
            width = tab.page.evaluate("document.documentElement.scrollWidth")
            assert width <= PHONE["width"], f"{path} is {width}px wide on a phone"
            _assert_nothing_scrolls_sideways(tab, path)
        tab.assert_clean()
        context.close()
        context = browser.new_context(viewport=LAPTOP)
        tab = watch(context.new_page(), running.url)
        tab.open(f"/actions?rule={LONG_RULE}")
        row = tab.page.locator("main tbody tr").first.bounding_box()
        assert row is not None and row["height"] < 200, row
        error = tab.page.locator("main tbody td.error")
        assert LONG_ERROR not in error.inner_text()  # its start only, until asked
        error.locator("summary").click()
        assert LONG_ERROR.strip() in " ".join(error.inner_text().split())
        tab.assert_clean()
        context.close()


def test_a_long_rule_id_keeps_the_rule_menu_a_control_s_width_on_a_laptop(
    browser: Any, own_world: World, shots: Path
) -> None:
    """A 60-character rule ID made the filters' rule menu 24rem wide on a laptop, wider than
    every other control: it stays narrow, cuts the ID with an ellipsis, and shows the whole
    ID on hover (the chosen one on the menu, each one on its option)."""
    _crowd(own_world)
    with serving(own_world) as running:
        context = browser.new_context(viewport=LAPTOP)
        tab = watch(context.new_page(), running.url)
        for path in ("/history", f"/actions?rule={LONG_RULE}"):
            tab.open(path)
            menu = tab.page.locator("form.filters select[name=rule]")
            box = menu.bounding_box()
            label = tab.page.locator("form.filters label").first.bounding_box()
            assert box is not None and box["width"] <= 14 * 16, (path, box)
            assert label is not None and label["width"] <= 14 * 16, (path, label)  # no gap
            assert menu.evaluate("e => getComputedStyle(e).textOverflow") == "ellipsis", path
            option = menu.locator(f'option[value="{LONG_RULE}"]')
            assert option.get_attribute("title") == LONG_RULE, path
        assert menu.get_attribute("title") == LONG_RULE  # the chosen rule, whole, on hover
        tab.page.screenshot(path=str(shots / "long-rule-menu.png"))
        tab.assert_clean()
        context.close()


def test_thresholds_close_together_share_one_label(browser: Any, own_world: World) -> None:
    """Twelve rules at 100 to 111 likes drew twelve labels on top of one another, unreadable:
    the first label says how many more lines it stands for, each line keeps its own title."""
    rules = [
        {
            "id": f"team-rule-{n:02d}",
            "watch": {"posts": [own_world.crossing], "owner": "brand"},
            "when": f"likes >= {100 + n}",
            "actions": [{"log": {"message": "{post.id}"}}],
        }
        for n in range(12)
    ]
    (own_world.folder / "rules" / "team.yaml").write_text(
        yaml.safe_dump({"version": 1, "rules": rules}), encoding="utf-8"
    )
    with serving(own_world) as running:
        context = browser.new_context(viewport=LAPTOP)
        tab = watch(context.new_page(), running.url)
        tab.open(f"/posts/{own_world.crossing}")
        chart = tab.page.locator("#chart-favorites")
        assert chart.locator(".threshold").count() == 13  # at-100-likes too
        boxes = chart.locator(".threshold span").evaluate_all(
            "els => els.map(e => [e.getBoundingClientRect().top, e.getBoundingClientRect().bottom])"
        )
        boxes.sort()
        assert all(a[1] <= b[0] for a, b in pairwise(boxes)), boxes  # none overlap
        words = chart.locator(".threshold span").all_inner_texts()
        assert any(w.endswith(" more") for w in words), words
        assert chart.locator('.threshold[data-rule="team-rule-11"]').get_attribute("title") == (
            "team-rule-11: likes >= 111"
        )
        tab.assert_clean()
        context.close()
