"""The actions and history pages when they list nothing: what to do next, not only that
nothing matches (one macro says it on both, each page in its own words)."""

from __future__ import annotations

import re
import sqlite3
from html import unescape

from dashboard_scene import World, browsing, serving
from httpx import Client

NO_ACTIONS = "1999000000000000001"  # a post ID no action or firing is about


def _empty(html: str) -> tuple[str, list[tuple[str, str]]]:
    """The empty panel's words on one line, and its links as (href, words)."""
    found = re.search(r'<p class="empty">(.*?)</p>', html, re.S)
    assert found is not None, html
    words = unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", "", found[1])))
    links = [
        (unescape(h), unescape(w)) for h, w in re.findall(r'<a href="([^"]*)">(.*?)</a>', found[1])
    ]
    return words, links


def test_a_filter_that_finds_nothing_names_itself_and_links_to_clearing_it(
    client: Client,
) -> None:
    one = client.get(f"/actions?post={NO_ACTIONS}").text
    two = client.get(f"/actions?post={NO_ACTIONS}&status=dead&before=1900000000").text

    words, links = _empty(one)
    assert words == (
        f"No actions match post {NO_ACTIONS}. Clear a filter to see more: "
        f"without post {NO_ACTIONS}."
    )
    assert links == [("?", f"without post {NO_ACTIONS}")]
    words, links = _empty(two)
    assert words.startswith(f"No actions match post {NO_ACTIONS}, status dead. Clear a filter")
    assert links == [  # a cleared filter starts again at the newest actions
        ("?status=dead", f"without post {NO_ACTIONS}"),
        (f"?post={NO_ACTIONS}", "without status dead"),
        ("?", "clear all"),
    ]
    assert "webhook" in client.get("/actions?status=dead").text  # what the first link shows
    older = _empty(client.get("/actions?before=1000000000").text)  # paged past the oldest
    assert older == ("No older actions. Back to the newest.", [("?", "Back to the newest")])


def _forget(world: World, *tables: str) -> None:
    with sqlite3.connect(world.folder / "automation.db") as db:
        for table in tables:
            db.execute(f"DELETE FROM {table}")
    db.close()


def test_no_actions_yet_says_they_come_from_rules_firing(own_world: World) -> None:
    _forget(own_world, "attempts", "outbox")
    with serving(own_world) as running, browsing(running) as c:
        plain = c.get("/actions").text
        filtered = c.get("/actions?status=dead").text

    for html in (plain, filtered):  # a filter is not why there are none
        words, links = _empty(html)
        assert words.startswith("No actions yet. An action is queued when a rule fires:"), words
        assert links == [("/rules", "the rules"), ("/backtest", "Backtest")]


def test_a_history_filter_that_finds_nothing_names_itself_and_links_to_clearing_it(
    client: Client, world: World
) -> None:
    one = client.get(f"/history?post={NO_ACTIONS}&status=seeded&before=1900000000").text
    words, links = _empty(one)
    assert words == (  # the history page's status filter is the firing's kind
        f"No firings match post {NO_ACTIONS}, kind seeded. Clear a filter to see more: "
        f"without post {NO_ACTIONS} · without kind seeded · clear all."
    )
    assert links == [
        ("?status=seeded", f"without post {NO_ACTIONS}"),
        (f"?post={NO_ACTIONS}", "without kind seeded"),
        ("?", "clear all"),
    ]
    assert world.past in client.get("/history?status=seeded").text  # what the first link shows
    older = _empty(client.get("/history?before=1000000000").text)  # paged past the oldest
    assert older == ("No older firings. Back to the newest.", [("?", "Back to the newest")])


def test_no_firings_yet_says_when_rules_fire_and_that_new_ones_seed(own_world: World) -> None:
    _forget(own_world, "attempts", "outbox", "firings")
    with serving(own_world) as running, browsing(running) as c:
        plain = c.get("/history").text
        filtered = c.get(f"/history?post={NO_ACTIONS}&status=fired").text

    for html in (plain, filtered):  # a filter is not why there are none
        words, links = _empty(html)
        assert words == (
            "No firings yet. A firing is recorded when a rule's condition is met for a post it"
            " watches; a new rule records the posts already past it as seeded instead of"
            " firing, and fires for those that cross later. The rules say which posts are"
            " nearest each threshold, and Backtest shows how often they would have fired."
        )
        assert links == [("/rules", "The rules"), ("/backtest", "Backtest")]


def test_the_overview_with_nothing_fired_says_where_firings_come_from(
    own_world: World,
) -> None:
    """The first day's overview once said only "Nothing has fired yet."."""
    _forget(own_world, "attempts", "outbox", "firings")
    with serving(own_world) as running, browsing(running) as c:
        words, links = _empty(c.get("/").text)
    assert words == (
        "Nothing has fired yet. A firing shows here when a rule's condition is met for a post"
        " it watches: the rules say which posts are nearest each threshold, and Backtest shows"
        " how often they would have fired."
    )
    assert links == [("/rules", "the rules"), ("/backtest", "Backtest")]
