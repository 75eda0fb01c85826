"""Every page over a database the real engine filled: what each one tells a marketer."""

from __future__ import annotations

import json
import re
from datetime import timedelta
from html import unescape
from pathlib import Path

from dashboard_scene import World, browsing, likes_at, serving
from httpx import Client

from automation.core.payloads import iso
from automation.dashboard.overview import overview
from automation.dashboard.site import Site


def _text(html: str) -> str:
    """The page's words, without tags, on one line."""
    return unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html)))


def test_the_overview_shows_the_engine_firings_actions_and_gone_posts(
    client: Client, world: World
) -> None:
    page = client.get("/")
    assert page.status_code == 200
    text = _text(page.text)
    assert "Running" in text and re.search(
        r"last cycle 30 min ago ?: 8 posts, 1 API request\b(?!s)", text
    )
    assert re.search(r"Posts watched 8 1 no longer available", text)
    assert re.search(r"Actions 0 pending 1 dead · 10 sent", text)
    # firings per rule: (24 h, 7 days)
    assert re.search(r"at-100-likes 1 1 ", text)
    assert re.search(r"like-milestones 9 9 ", text)
    assert re.search(r"big-reach 0 0 ", text)
    assert "Posts no longer available" in text and world.deleted in text
    for link in ("/rules", "/history", "/actions", f"/posts/{world.crossing}"):
        assert f'href="{link}' in page.text


def test_the_overview_counts_unavailable_only_the_posts_a_rule_still_watches(
    own_world: World,
) -> None:
    """Named by no rule any more and past big-reach's max_age, the deleted post is missed
    by no rule: the overview counts and lists it no longer (as ``status`` counts)."""
    later = own_world.end + timedelta(days=3)
    site = Site(own_world.config(), lambda: later)
    with site.reading() as store:
        before = overview(site, store, later)
    assert (before.unavailable_count, [p.post_id for p in before.unavailable]) == (
        1,
        [own_world.deleted],
    )
    rules = own_world.folder / "rules" / "rules.yaml"
    rules.write_text(rules.read_text().replace(f', "{own_world.deleted}"]', "]"))
    with site.reading() as store:
        after = overview(site, store, later)
    assert (after.unavailable_count, after.unavailable) == (0, [])


def test_the_overview_counts_the_budget_used_in_the_last_minute_only(own_world: World) -> None:
    from automation.dashboard.overview import engine_state
    from automation.store import SqliteStore

    later = own_world.end + timedelta(hours=1)
    now = later.timestamp()
    with SqliteStore.open(own_world.config().database) as store:
        for ago in (59, 30, 61, 600):
            store.budget_record("engagement", now - ago)
    site = Site(own_world.config(), lambda: later)
    with site.reading() as store:
        assert engine_state(site, store, later).budget_used == 2


def test_the_overview_says_when_the_engine_is_stale(world: World) -> None:
    from datetime import timedelta

    later = world.end + timedelta(hours=3)
    with serving(world, clock=lambda: later) as running, browsing(running) as stale:
        text = _text(stale.get("/").text)
    assert "Stale" in text and "last cycle 4 h ago" in text
    assert "The engine records no cycles" in text
    assert "no cycle recorded for 3h30m (one is due every 30m): is the engine running?" in text
    assert "The database's disk is full" not in text


def test_the_overview_says_when_the_engine_waits_out_a_rate_limit(own_world: World) -> None:
    from datetime import timedelta

    from automation.core.recording import WAITING_KEY, Waiting
    from automation.store.sqlite import SqliteStore

    later = own_world.end + timedelta(hours=3)
    wait = Waiting(later - timedelta(minutes=1), later + timedelta(seconds=70), "429")
    with SqliteStore.open(own_world.config().database) as store:
        store.set_meta(WAITING_KEY, wait.to_json())
    with serving(own_world, clock=lambda: later) as running, browsing(running) as stale:
        text = _text(stale.get("/").text)
    assert "The engine records no cycles" in text
    assert (
        "no cycle recorded for 3h30m (one is due every 30m): waiting for the API's rate"
        f" limit until {wait.until:%H:%M:%S} UTC (429)"
    ) in text
    assert "is the engine running?" not in text


def test_the_overview_says_when_the_database_disk_is_full(world: World) -> None:
    from datetime import timedelta

    from automation.core.recording import DiskSpace

    def full(database: object) -> DiskSpace:
        return DiskSpace("/var/lib/automation", 20 * 1024**3, 4096)

    later = world.end + timedelta(hours=2)
    with serving(world, clock=lambda: later, disk=full) as running, browsing(running) as page:
        text = _text(page.get("/").text)
    assert "Stale" in text
    assert "the disk that holds /var/lib/automation is full, see below" in text
    assert "The database's disk is full" in text
    assert (
        "/var/lib/automation has 4.0 KiB free (0.0 % of its disk): the engine records nothing"
        " until space is freed there (df -h /var/lib/automation)"
    ) in text


def test_the_overview_shows_how_large_the_database_is_as_status_does(own_world: World) -> None:
    from automation.core.wording import size_text

    database = own_world.config().database
    assert isinstance(database, Path)
    with serving(own_world) as running, browsing(running) as page:
        # 3 MiB a checkpoint has not moved into the file yet, laid after the server's
        # start (its check of the database may fold a WAL away as it closes the file)
        database.with_name(f"{database.name}-wal").write_bytes(b"\0" * 3 * 1024**2)
        expected = database.stat().st_size + 3 * 1024**2
        text = _text(page.get("/").text)
    assert size_text(expected).startswith("3.")  # 3 MiB of WAL and a small file
    assert f"Database {size_text(expected)} {database}" in text


def test_the_overview_shows_no_alarm_while_cycles_are_recorded(client: Client) -> None:
    text = _text(client.get("/").text)
    assert "The engine records no cycles" not in text


def test_the_rules_page_lists_each_rule_as_written(client: Client) -> None:
    text = _text(client.get("/rules").text)
    assert "at-100-likes enabled" in text
    assert "when likes >= 100 fires once per post" in text
    assert "does repost as support, webhook to chat.example.com" in text
    assert "fires at every 50 likes" in text
    assert "posts of brand from the last 2d" in text


def test_a_rule_page_ranks_the_posts_nearest_its_threshold(client: Client, world: World) -> None:
    page = client.get("/rules/like-milestones")
    text = _text(page.text)
    assert page.status_code == 200
    # 452 likes at the end, 235 six hours before (the snapshot at 18:00, read 5.5 h before
    # the last at 23:30): 39.5 an hour, so 500 in about an hour and a bit
    assert (likes_at(29), likes_at(18)) == (452, 235)
    row = re.search(rf"{world.crossing} (\S+) (\S+) (\d+)% (.+?/h)", text)
    assert row is not None, text
    assert row.groups()[:3] == ("452", "500", "90")
    assert row.group(4) == "in about 1 h at 39.5/h"
    assert "fired every:favorites:100" not in text  # keys stay internal; the kind shows
    assert text.count(" fired ") >= 9


def test_a_rule_with_nobody_near_shows_progress_and_no_estimate(client: Client) -> None:
    text = _text(client.get("/rules/big-reach").text)
    assert "Nearest to impressions >= 1000000" in text
    assert "already past it" in text


def test_a_post_page_carries_its_charts_and_firings(client: Client, world: World) -> None:
    page = client.get(f"/posts/{world.crossing}")
    assert page.status_code == 200
    data = json.loads(re.search(r'id="chart-data">(.*?)</script>', page.text, re.S).group(1))
    likes = next(c for c in data if c["metric"] == "favorites")
    assert likes["label"] == "likes"
    assert {"rule": "at-100-likes", "label": "at-100-likes: likes >= 100", "value": 100} in likes[
        "thresholds"
    ]
    fired = [m for m in likes["markers"] if m["rule"] == "at-100-likes"]
    assert [m["at"] for m in fired] == [world.crossing_time().timestamp()]
    assert fired[0]["value"] >= 100
    assert max(v for v in likes["totals"] if v is not None) == 452
    assert "https://x.com/i/status/" + world.crossing in page.text
    text = _text(page.text)
    assert "repost: sent" in text and "webhook: dead" in text
    api = client.get(f"/api/posts/{world.crossing}/charts").json()
    assert api["charts"] == data


def test_history_filters_by_rule_kind_post_and_day(client: Client, world: World) -> None:
    text = _text(client.get("/history?rule=at-100-likes").text)
    assert "like-milestones" not in text.split("Filter")[-1]
    assert world.crossing in text and world.past in text
    seeded = _text(client.get("/history?status=seeded").text)
    assert world.past in seeded and "fired" not in seeded.split("clear")[-1]
    by_post = _text(client.get(f"/history?post={world.past}").text)
    assert world.crossing not in by_post.split("clear")[-1]
    empty = _text(client.get("/history?from=2026-03-03").text)
    assert "No firings match from 2026-03-03 ." in empty  # named, with a link without it
    day = iso(world.crossing_time())[:10]
    assert world.crossing in _text(client.get(f"/history?from={day}&to={day}").text)


def test_history_lists_the_firings_a_limit_capped(own_world: World) -> None:
    from automation.core.records import CycleWrite, FiringRecord
    from automation.store import SqliteStore

    post = own_world.crossing
    capped = FiringRecord("c0ffee0000000001", "big-reach", post, "once", "capped", own_world.end)
    with SqliteStore.open(own_world.folder / "automation.db") as store:
        store.commit_cycle(CycleWrite(at=own_world.end, firings=(capped,)))
    with serving(own_world) as running, browsing(running) as c:
        page = c.get("/history?status=capped").text
    assert '<option value="capped" selected>' in page
    rows = _text(page).split("clear")[-1]
    assert f"big-reach {post}" in rows and "capped" in rows
    assert "at-100-likes" not in rows and "seeded" not in rows


def test_a_window_rule_s_firing_shows_its_window_before_its_total(own_world: World) -> None:
    """On the history, rule and post pages (a card a firing on a phone: the same cell),
    what decided a window rule comes first, then the totals as before."""
    from automation.core.records import CycleWrite, FiringRecord
    from automation.store import SqliteStore

    post = own_world.crossing
    firing = FiringRecord(
        "c0ffee0000000002",
        "big-reach",
        post,
        "once",
        "fired",
        own_world.end,
        metrics={"impressions": 1_000_450.0},
        windows={"impressions over 1h": 5_200.0, "impressions over 30m": 2_600.0045},
    )
    with SqliteStore.open(own_world.folder / "automation.db") as store:
        store.commit_cycle(CycleWrite(at=own_world.end, firings=(firing,)))
    cell = (
        '<td data-label="values"><span class="kv">impressions over 1h <b>5,200</b></span>'
        ' <span class="kv">impressions over 30m <b>≈ 2,600.005</b></span>'  # prorated: never 2,600
        ' <span class="kv">impressions <b>1,000,450</b></span></td>'
    )
    before = '<td data-label="values"><span class="kv">likes <b>'  # no window: as it was
    with serving(own_world) as running, browsing(running) as c:
        pages = [c.get(path).text for path in ("/history", "/rules/big-reach", f"/posts/{post}")]
        liked = c.get("/rules/at-100-likes").text
    assert all(cell in page for page in pages)
    assert before in liked and "over 1h <b>" not in liked


def test_history_says_which_filter_it_could_not_read(client: Client) -> None:
    page = client.get("/history?post=abc&from=yesterday&status=maybe")
    assert page.status_code == 200
    text = _text(page.text)
    assert "'abc' is not a post ID" in text
    assert "from: 'yesterday' is not a day such as 2026-03-02" in text
    assert "unknown status 'maybe'" in text


def _beside(page: str, name: str) -> list[str]:
    """The problems shown inside the label of the filter field ``name``."""
    found = re.search(rf'<label>[^<]*<[^>]*name="{name}".*?</label>', page, re.S)
    assert found is not None, name
    return [unescape(p) for p in re.findall(r'class="field-problem"[^>]*>(.*?)</span>', found[0])]


def test_a_filter_it_cannot_read_is_named_beside_its_field_and_kept(client: Client) -> None:
    page = client.get("/history?post=abc&from=yesterday&status=maybe").text
    assert _beside(page, "post") == [
        "'abc' is not a post ID (its digits, such as 1260294888811347969)"
    ]
    assert 'name="post" value="abc"' in page  # what was typed stays, to be corrected
    assert _beside(page, "from") == ["from: 'yesterday' is not a day such as 2026-03-02"]
    assert _beside(page, "status")[0].startswith("unknown status 'maybe': choose one of")
    assert _beside(page, "to") == []
    backwards = client.get("/actions?from=2026-03-05&to=2026-03-01").text
    said = "to: 2026-03-01 is before from 2026-03-05: nothing can match"
    assert _beside(backwards, "to") == [said]


def test_actions_filter_by_status_and_offer_a_retry_only_for_dead_ones(
    client: Client,
) -> None:
    dead = client.get("/actions?status=dead").text
    assert len(re.findall(r'action="/actions/[^"]+/retry"', dead)) == 1
    assert "webhook to https://chat.example.com answered 400" in dead
    sent = client.get("/actions?status=sent").text
    assert not re.findall(r'action="/actions/[^"]+/retry"', sent)
    assert _text(sent).count(" sent ") >= 10


def test_unknown_things_are_a_friendly_404(client: Client) -> None:
    assert client.get("/rules/nope").status_code == 404
    assert "no rule 'nope'" in _text(client.get("/rules/nope").text)
    assert client.get("/posts/12ab").status_code == 404
    assert client.get("/posts/1").status_code == 404
    assert client.get("/api/posts/1x/charts").json() == {"error": "'1x' is not a post ID"}


def test_a_rule_file_with_an_error_says_what_it_means_and_shows_once(own_world: World) -> None:
    import json

    from automation.store import SqliteStore

    broken = own_world.folder / "rules" / "broken.yaml"
    broken.write_text(
        "version: 1\nrules:\n  - id: broken\n    watch: {accounts: [brand]}\n"
        "    when: likes > = 100\n    actions: [{log: {message: x}}]\n",
        encoding="utf-8",
    )
    problem = f"{broken}:5:17: error: write '>=' without a space between '>' and '='"
    with serving(own_world) as running, browsing(running) as c:
        rules = _text(c.get("/rules").text)
        assert problem in rules, rules
        assert "a running engine keeps the rules it had, and a stopped one does not start" in rules
        assert "at-100-likes" in rules  # the good rules are still listed
        before = _text(c.get("/").text)
        assert "Problems in the rule files" in before and problem in before
        with SqliteStore.open(own_world.folder / "automation.db") as store:
            failed = {"at": iso(own_world.end), "errors": problem}
            store.set_meta("reload_error", json.dumps(failed))
        overview = _text(c.get("/").text)
        missing = _text(c.get("/rules/broken").text)
        assert (
            "no rule 'broken' in the rule files: the rule files have errors, and a rule" in missing
        )
        assert (
            "with an error is not loaded until it is fixed (the Rules page lists them)" in missing
        )
    # the engine's failed reload and the files say the same: shown once, in the reload panel
    assert overview.count(problem) == 1, overview
    assert "The last reload failed" in overview and "Problems in the rule files" not in overview


def test_the_rules_page_without_rules_says_where_to_write_one(own_world: World) -> None:
    for path in (own_world.folder / "rules").iterdir():
        path.unlink()
    with serving(own_world) as running, browsing(running) as c:
        text = _text(c.get("/rules").text)
    folder = own_world.folder / "rules"
    assert f"No rules loaded from {folder}" in text, text
    assert "automation check" in text and "rules.example.yaml" in text
    assert "Pause every rule" not in text  # nothing to pause


def test_a_post_dated_after_the_engines_clock_charts_every_reading(own_world: World) -> None:
    """A sandbox run with --speed (or a skewed clock) gives posts a creation time after the
    engine's readings: the chart still has a point per changed reading, not one."""
    from datetime import timedelta

    from automation.core.records import WatchedPostRecord
    from automation.store import SqliteStore

    post, end = "1999000000000000001", own_world.end
    readings = [(end - timedelta(minutes=m), 10.0 + m) for m in (10, 6, 3, 0)]
    created = end + timedelta(hours=50)
    with SqliteStore.open(own_world.folder / "automation.db") as store:
        store.upsert_posts([WatchedPostRecord(post, "brand", created, "timeline", readings[0][0])])
        for at, likes in readings:
            store.record_totals(at, {post: {"favorites": likes}})
    with serving(own_world) as running, browsing(running) as c:
        charts = c.get(f"/api/posts/{post}/charts").json()["charts"]
    likes = next(chart for chart in charts if chart["metric"] == "favorites")
    assert likes["times"] == [int(at.timestamp()) for at, _ in readings]
    assert likes["totals"] == [v for _, v in readings]


def test_a_rule_s_empty_panels_say_what_to_do_next(own_world: World) -> None:
    """A rule without values or firings yet says where they come from and what to try,
    not only that there are none."""
    (own_world.folder / "rules" / "draft.yaml").write_text(
        "version: 1\nrules:\n  - id: draft-10-likes\n"
        '    watch: {posts: ["1999000000000000009"]}\n'
        "    when: likes >= 10\n    actions: [{log: {message: hi}}]\n",
        encoding="utf-8",
    )
    with serving(own_world) as running, browsing(running) as c:
        text = _text(c.get("/rules/draft-10-likes").text)
    assert "No watched post has a value for this yet. Values come from the engine's" in text
    assert "automation explain draft-10-likes POST_ID says why a post has none" in text
    assert "It has not fired yet. Backtest shows how often it would have fired" in text


def test_counts_are_grouped_and_times_give_their_date_on_hover(own_world: World) -> None:
    """A large team's counts read as 1,201 (not 1201) on every page that counts, and every
    time said as "5 h ago" carries its date and hour for a pointer resting on it."""
    from dataclasses import replace
    from datetime import timedelta

    from automation.core.records import ActionRecord, CycleWrite, FiringRecord
    from automation.store.sqlite import SqliteStore

    at = own_world.end - timedelta(hours=1)
    log = ActionRecord(0, "log", json.dumps({"kind": "log", "message": "hi"}))
    firings = tuple(
        FiringRecord(f"many{n:05d}", "at-100-likes", own_world.crossing, f"k{n}", "fired", at)
        for n in range(1200)
    )
    firings = tuple(replace(f, actions=(log,)) for f in firings)
    with SqliteStore.open(own_world.folder / "automation.db") as store:
        store.commit_cycle(CycleWrite(at=at, firings=firings))
        for item in store.actions("pending", limit=2000):
            store.record_attempt(item.id, at=at, outcome="dead", error="400", next_attempt_at=None)
    with serving(own_world) as running, browsing(running) as c:
        overview = c.get("/").text
        actions = c.get("/actions").text
        rule = c.get("/rules/at-100-likes").text
        rules = c.get("/rules").text
    assert re.search(r"Actions 0 pending 1,201 dead · 10 sent", _text(overview))
    assert "of 6,000" in _text(overview)  # the API budget
    assert re.search(r"at-100-likes 1,201 1,201 ", _text(overview))
    assert "0 pending · 1,201 dead · 10 sent" in _text(actions)
    assert "Retry all 1,201 dead" in actions
    assert "Retry its 1,201 dead" in rule and "1,201 in 7 days" in _text(rule)
    assert "1,201 fired in 24 h · 1,201 in 7 days" in _text(rules)
    gone = re.search(rf"{own_world.deleted}</a> <small>(.*?)</small>", overview)
    assert gone is not None and re.fullmatch(
        r'<time datetime="[^"]+" title="2026-03-0\d \d\d:\d\d UTC">\d+ h ago</time>', gone[1]
    ), gone


def _team_rules(world: World, count: int) -> None:
    """``count`` more rules (``team-rule-00``...), none of which fires, in a rule file of
    their own."""
    import yaml

    rules = [
        {
            "id": f"team-rule-{n:02d}",
            "watch": {"accounts": ["brand"]},
            "when": "likes >= 1000000",
            "actions": [{"log": {"message": "{post.id}"}}],
        }
        for n in range(count)
    ]
    (world.folder / "rules" / "team.yaml").write_text(
        yaml.safe_dump({"version": 1, "rules": rules}), encoding="utf-8"
    )


def test_a_large_team_s_overview_shows_its_busiest_rules_and_counts_the_rest(
    own_world: World,
) -> None:
    """With 33 rules the overview's table listed every one, the week's firings lost among
    rows of zeros (300 rules: a page 11,000 pixels tall); past 20 it shows the 20 that
    fired most and says how many more the rules page has."""
    _team_rules(own_world, 30)
    with serving(own_world) as running, browsing(running) as c:
        page = c.get("/").text
    table = page[page.index("Firings by rule") : page.index("Latest firings")]
    rows = re.findall(r'<a class="rule-id" href="/rules/([^"]+)">', table)
    assert len(rows) == 20 and rows[:2] == ["like-milestones", "at-100-likes"]  # 9, then 1
    assert re.search(
        r"The 20 rules that fired most in the last 7 days; 13 more on the rules page ?\.",
        _text(table),
    )
    assert 'href="/rules">the rules page</a>' in table


def test_an_overview_of_20_rules_lists_every_one_in_the_rule_files_order(
    own_world: World,
) -> None:
    """Up to 20 rules the table is every rule as the rule files list them; the busiest
    first only past 20."""
    _team_rules(own_world, 17)
    with serving(own_world) as running, browsing(running) as c:
        page = c.get("/").text
    table = page[page.index("Firings by rule") : page.index("Latest firings")]
    rows = re.findall(r'<a class="rule-id" href="/rules/([^"]+)">', table)
    team = [f"team-rule-{n:02d}" for n in range(17)]
    assert rows == ["at-100-likes", "like-milestones", "big-reach", *team]  # 1, 9, 0 fired
    assert "more on the rules page" not in _text(table)


def test_a_post_s_chart_draws_no_point_before_the_post_was_written(own_world: World) -> None:
    """``/28hr`` counts read before the engine's first poll cover 28 hours, most of them
    before a young post: the rebuilt line starts at the hour the post was written."""
    from datetime import timedelta

    from automation.core.records import WatchedPostRecord
    from automation.sandbox.world import snowflake
    from automation.store import SqliteStore

    hour = timedelta(hours=1)
    created = own_world.end - 3 * hour - timedelta(minutes=20)
    post, born = str(snowflake(created)), created.replace(minute=0, second=0, microsecond=0)
    counts = [(born + n * hour, float(n + 1)) for n in range(3)]  # 1, 2, 3 likes an hour
    before = [(born - n * hour, 0.0) for n in range(5, 0, -1)]  # zeros: it did not exist
    first_poll = born + 3 * hour + timedelta(minutes=5)
    with SqliteStore.open(own_world.folder / "automation.db") as store:
        store.upsert_posts([WatchedPostRecord(post, "brand", created, "timeline", first_poll)])
        store.record_hourly_counts(
            born - 5 * hour, born + 3 * hour, {post: {"favorites": before + counts}}
        )
        store.record_hourly_totals(first_poll, {post: {"favorites": 6.0}})
    with serving(own_world) as running, browsing(running) as c:
        charts = c.get(f"/api/posts/{post}/charts").json()["charts"]
    likes = next(chart for chart in charts if chart["metric"] == "favorites")
    assert min(likes["times"]) >= created.timestamp()
    assert likes["times"][:3] == [int((born + n * hour).timestamp()) for n in (1, 2, 3)]
    assert likes["totals"][:3] == [1, 3, 6]


def test_a_post_with_many_firings_and_rules_lists_the_latest_and_links_to_the_rest(
    own_world: World,
) -> None:
    """A post fired 2,000 times listed 200 rows with no word of the rest, and a post 300
    rules watch began with a paragraph of 300 links: it lists the latest 50 with a link to
    its whole history, and past 12 rules counts them, the links a click away."""
    from dataclasses import replace
    from datetime import timedelta

    import yaml

    from automation.core.records import CycleWrite, FiringRecord
    from automation.store.sqlite import SqliteStore

    post = own_world.crossing
    rules = [
        {
            "id": f"team-rule-{n:02d}",
            "watch": {"posts": [post], "owner": "brand"},
            "when": "likes >= 1000000",
            "actions": [{"log": {"message": "{post.id}"}}],
        }
        for n in range(12)
    ]
    (own_world.folder / "rules" / "team.yaml").write_text(
        yaml.safe_dump({"version": 1, "rules": rules}), encoding="utf-8"
    )
    at = own_world.end - timedelta(hours=1)
    firing = FiringRecord("x", "like-milestones", post, "k", "fired", at)
    many = tuple(replace(firing, id=f"many{n:04d}", key=f"k{n}") for n in range(60))
    with SqliteStore.open(own_world.folder / "automation.db") as store:
        store.commit_cycle(CycleWrite(at=at, firings=many))
    with serving(own_world) as running, browsing(running) as c:
        page = c.get(f"/posts/{post}").text
        quiet = c.get(f"/posts/{own_world.deleted}").text
    table = page[page.index("Firings and what each action did") :]
    assert table.count("<tr>") == 1 + 50  # the heading's row and 50 firings
    assert f'<a class="more" href="/history?post={post}">all →</a>' in table
    assert "The latest 50; the history has every one." in _text(table)
    assert re.search(r"<summary>Rules: 15 watch it or fired for it</summary>", page)
    assert page.count('class="rule-id" href="/rules/team-rule-') == 12
    assert "No rule has fired for this post yet. A rule fires when its condition is met" in quiet
    assert 'href="/backtest">Backtest</a> how often it would have fired' in quiet
