"""The dashboard for everyone: a page's structure read from its HTML (headings, landmarks,
table headers, names of controls, text for the charts) and, in headless Chromium, what a
keyboard, a screen's contrast, a zoomed page and a phone make of it."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from html import unescape
from html.parser import HTMLParser
from itertools import pairwise
from pathlib import Path
from typing import Any

import pytest
from dashboard_browser import LAPTOP, Watched, watch
from dashboard_scene import World, browsing, csrf_token, live_world, serving
from httpx import Client

from automation.dashboard.server import Running
from automation.store import SqliteStore

HEADINGS = ("h1", "h2", "h3", "h4", "h5", "h6")
CONTROLS = ("input", "select", "textarea", "meter", "progress")


@dataclass
class Outline:
    """What a screen reader lists of a page: its headings, landmarks, table headers and
    controls, each with the words it is read with."""

    headings: list[tuple[int, str]] = field(default_factory=list)
    landmarks: list[str] = field(default_factory=list)
    headers: list[tuple[dict[str, str | None], str]] = field(default_factory=list)
    links: list[tuple[dict[str, str | None], str]] = field(default_factory=list)
    buttons: list[str] = field(default_factory=list)
    controls: list[tuple[dict[str, str | None], bool]] = field(default_factory=list)
    label_for: set[str | None] = field(default_factory=set)
    title: str = ""
    lang: str | None = None


class _Reader(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.outline = Outline()
        self._open: list[tuple[str, dict[str, str | None], list[str]]] = []
        self._labels = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if tag == "html":
            self.outline.lang = a.get("lang")
        if tag in ("header", "nav", "main", "footer"):
            self.outline.landmarks.append(tag)
        if tag == "label":
            self._labels += 1
            self.outline.label_for.add(a.get("for"))
        if tag in CONTROLS and a.get("type") != "hidden":
            self.outline.controls.append((a, self._labels > 0))
        if tag in (*HEADINGS, "th", "a", "title", "button"):
            self._open.append((tag, a, []))

    def handle_endtag(self, tag: str) -> None:
        if tag == "label":
            self._labels -= 1
        if not self._open or self._open[-1][0] != tag:
            return
        _, attrs, words = self._open.pop()
        text = " ".join("".join(words).split())
        if self._open:
            self._open[-1][2].append(text)
        if tag in HEADINGS:
            self.outline.headings.append((int(tag[1]), text))
        elif tag == "th":
            self.outline.headers.append((attrs, text))
        elif tag == "a":
            self.outline.links.append((attrs, text))
        elif tag == "button":
            self.outline.buttons.append(text)
        else:
            self.outline.title = text

    def handle_data(self, data: str) -> None:
        if self._open:
            self._open[-1][2].append(data)


def outline(html: str) -> Outline:
    reader = _Reader()
    reader.feed(html)
    return reader.outline


def _paths(world: World) -> list[str]:
    return [
        "/",
        "/rules",
        "/rules/like-milestones",
        "/rules/at-100-likes",
        f"/posts/{world.crossing}",
        "/history",
        "/history?rule=like-milestones&post=1999000000000000001",
        "/actions",
        "/backtest",
    ]


def test_every_page_has_its_title_language_landmarks_and_headings_in_order(
    client: Client, world: World
) -> None:
    """One h1 first on every page (the overview had none: its cards began at h2), no level
    skipped, the header, its menu and the main part as landmarks, a title per page."""
    titles = set()
    for path in _paths(world):
        o = outline(client.get(path).text)
        levels = [level for level, _ in o.headings]
        assert levels and levels[0] == 1 and levels.count(1) == 1, (path, o.headings)
        assert all(b - a <= 1 for a, b in pairwise(levels)), (path, levels)
        assert o.lang == "en" and o.landmarks[:3] == ["header", "nav", "main"], path
        assert o.title.endswith(" · Engagement Automation"), path
        titles.add(o.title)
    assert len(titles) >= 7
    missing = client.get("/posts/1")
    assert missing.status_code == 404
    assert outline(missing.text).title == "Not found · Engagement Automation"  # was "404 · ..."


def test_the_first_link_of_every_page_skips_the_header_to_the_page(
    client: Client, world: World
) -> None:
    for path in _paths(world):
        page = client.get(path).text
        first = outline(page).links[0]
        assert first == ({"class": "skip", "href": "#main"}, "Skip to the page"), path
        assert '<main id="main"' in page, path


def test_the_skip_link_shows_when_tabbed_to_and_moves_the_focus_past_the_menu(
    tab: Watched,
) -> None:
    tab.open("/actions")
    tab.page.keyboard.press("Tab")
    skip = tab.page.locator("a.skip")
    assert tab.page.evaluate("document.activeElement.className") == "skip"
    box = skip.bounding_box()
    assert box is not None and box["y"] >= 0 and box["height"] > 0  # in view, not off screen
    tab.page.keyboard.press("Enter")
    tab.page.keyboard.press("Tab")
    focused = tab.page.evaluate("document.activeElement.closest('main') !== null")
    assert focused  # the next stop is the page's first control, not the header's links
    tab.assert_clean()


def test_every_table_header_has_a_scope_and_words(client: Client, world: World) -> None:
    """Headers without ``scope`` (every table) and two with no words at all (the overview's
    bar column, the actions' retry column) left a screen reader to guess what a cell is."""
    for path in [*_paths(world), "/actions?status=dead"]:
        for attrs, words in outline(client.get(path).text).headers:
            assert attrs.get("scope") in ("col", "row"), (path, attrs, words)
            assert words, (path, attrs)


def test_every_control_has_a_name(client: Client, world: World) -> None:
    """The backtest's box for a pasted rule file had no label, the overview's meters (the
    API budget, each rule's bar) no name: a screen reader read "edit text" and "meter"."""
    for path in _paths(world):
        o = outline(client.get(path).text)
        for attrs, in_label in o.controls:
            named = in_label or attrs.get("aria-label") or attrs.get("id") in o.label_for
            assert named, (path, attrs)


def test_each_retry_button_says_which_action_it_retries(client: Client, world: World) -> None:
    """Every dead action's button read "Retry", the same words on each row: out of its
    row (a screen reader's list of buttons) one could not tell them apart."""
    page = client.get("/actions?status=dead").text
    retries = [b for b in outline(page).buttons if b.startswith("Retry") and "all" not in b]
    assert retries and len(set(retries)) == len(retries)
    for words in retries:
        assert words.startswith("Retry webhook #") and " for post " in words, words
    external = [
        text
        for a, text in outline(client.get(f"/posts/{world.crossing}").text).links
        if a.get("target") == "_blank"
    ]
    assert external == ["open on X ↗ (opens in a new tab)"]


def _numbers(page: str) -> list[list[list[str]]]:
    """Each chart's table of numbers: its rows, each row's cells as words."""
    tables = re.findall(r'<details class="numbers">(.*?)</details>', page, re.S)
    return [
        [
            [" ".join(unescape(re.sub(r"<[^>]+>", " ", cell)).split()) for cell in row]
            for row in (re.findall(r"<t[hd][^>]*>(.*?)</t[hd]>", r, re.S) for r in rows)
        ]
        for rows in (re.findall(r"<tr>(.*?)</tr>", t, re.S) for t in tables)
    ]


def test_a_post_s_charts_have_their_numbers_in_a_table(client: Client, world: World) -> None:
    """The charts were pixels on a canvas only: a screen reader found nothing in them. Each
    chart now has its numbers by day, the thresholds and the day's firings."""
    page = client.get(f"/posts/{world.crossing}").text
    found = re.search(r'id="chart-data">(.*?)</script>', page, re.S)
    assert found is not None
    charts = json.loads(found.group(1))
    tables = _numbers(page)
    assert len(tables) == len(charts) >= 1
    assert page.count('role="img"') == len(charts)
    for chart, rows in zip(charts, tables, strict=True):
        header, *days = rows
        assert header[:2] == ["day (UTC)", "total at its end"], header
        last = next(v for v in reversed(chart["totals"]) if v is not None)
        assert days[-1][1] == f"{last:,}", (chart["metric"], days[-1])
        assert [d[0] for d in days] == sorted({d[0] for d in days})
    likes = tables[[c["metric"] for c in charts].index("favorites")]
    crossed = world.crossing_time().date().isoformat()
    assert any(d[0] == crossed and "at-100-likes fired" in d[-1] for d in likes[1:]), likes
    assert "Thresholds: at-100-likes: likes >= 100" in unescape(page)


def test_a_backtest_s_charts_have_their_numbers_in_a_table(tmp_path: Path) -> None:
    with (
        live_world(tmp_path / "live") as (world, live),
        serving(world, clock=live.sandbox.clock.now) as running,
        browsing(running) as c,
    ):
        token = csrf_token(c.get("/backtest").text)
        page = c.post(
            "/backtest", data={"csrf_token": token, "rule": "at-100-likes", "since": "7d"}
        ).text
    found = re.search(r'id="backtest-data">(.*?)</script>', page, re.S)
    assert found is not None
    [chart] = json.loads(found.group(1))
    [rows] = _numbers(page)
    assert rows[0] == ["day (UTC)", "would have fired", "fired for real"]
    assert len(rows) - 1 == len(chart["days"]) == 7  # the last 7 days
    assert [int(r[1]) for r in rows[1:]] == chart["would"]
    assert [int(r[2]) for r in rows[1:]] == chart["live"]


# Each text's colour against what is behind it (the backgrounds of its ancestors, blended,
# and its own and its ancestors' opacity), as WCAG 2 computes contrast.
LOW_CONTRAST = """(least) => {
  const rgb = (c) => c.match(/[\\d.]+/g).map(Number);
  const over = (top, under) => {
    const a = top.length > 3 ? top[3] : 1;
    return [0, 1, 2].map((i) => top[i] * a + under[i] * (1 - a));
  };
  const lum = (c) => {
    const f = (v) => { v /= 255; return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4; };
    return 0.2126 * f(c[0]) + 0.7152 * f(c[1]) + 0.0722 * f(c[2]);
  };
  const low = [];
  const texts = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  while (texts.nextNode()) {
    const el = texts.currentNode.parentElement;
    const words = texts.currentNode.textContent.trim();
    if (!words || !el || el.closest("script, option") || !el.getClientRects().length) continue;
    const chain = [];
    let opacity = 1;
    for (let e = el; e; e = e.parentElement) {
      chain.unshift(rgb(getComputedStyle(e).backgroundColor));
      opacity *= +getComputedStyle(e).opacity;
    }
    const back = chain.reduce((under, top) => over(top, under), [255, 255, 255]);
    const ink = over([...over(rgb(getComputedStyle(el).color), back), opacity], back);
    const [a, b] = [lum(ink), lum(back)].sort((x, y) => y - x);
    const ratio = (a + 0.05) / (b + 0.05);
    const what = `${el.tagName}.${el.className} "${words.slice(0, 24)}"`;
    if (ratio < least) low.push(`${what} ${ratio.toFixed(2)}`);
  }
  return low;
}"""


def test_every_text_has_a_contrast_of_4_5_to_1(tab: Watched, world: World) -> None:
    """The engine's state in green ("Running", 3.8:1) and in amber ("Stale", "Paused",
    3.2:1), and a disabled rule's card faded to 70 % (its grey words 2.7:1), were under
    4.5:1. The CSS has one colour scheme (no prefers-color-scheme), so one is checked."""
    state = "document.querySelector('.card.state').className = 'card state {}'"
    variants = {
        "/": [state.format(s) for s in ("running", "stale", "paused")],
        "/rules": ["document.querySelector('.card.rule').classList.add('idle')"],
    }
    for path in _paths(world):
        tab.open(path)
        for script in ["", *variants.get(path, [])]:
            if script:
                tab.page.evaluate(script)
            assert tab.page.evaluate(LOW_CONTRAST, 4.5) == [], (path, script)
    tab.assert_clean()


def test_a_link_among_words_is_underlined(tab: Watched, world: World) -> None:
    """Links inside sentences ("the rules", "Backtest", "older →", "1 dead") were told from
    the words around them by colour alone: indigo against near-black is 2.9:1."""
    for path in [*_paths(world), "/posts/1"]:
        tab.page.goto(tab.origin + path, wait_until="networkidle")
        plain = tab.page.evaluate(
            """[...document.querySelectorAll('main p a, main li a, main dd a')]
              .filter(a => !a.classList.contains('pill'))
              .filter(a => !getComputedStyle(a).textDecorationLine.includes('underline'))
              .map(a => a.textContent.trim())"""
        )
        assert plain == [], (path, plain)


@pytest.mark.parametrize(
    ("viewport", "zoom"),
    [({"width": 360, "height": 740}, 2), ({"width": 640, "height": 400}, 2)],
    ids=["phone-360", "laptop-zoom-200"],
)
def test_every_page_reads_at_360_px_and_at_200_percent_without_scrolling_sideways(
    browser: Any, shared_dashboard: Running, world: World, viewport: dict[str, int], zoom: int
) -> None:
    """A 1280 px screen at 200 % is a 640 px page; a small phone 360 px. At 360 the menu
    scrolled sideways in its bar, "Backtest" cut at the edge. Only a table may scroll, in
    its own box."""
    context = browser.new_context(viewport=viewport, device_scale_factor=zoom)
    tab = watch(context.new_page(), shared_dashboard.url)
    for path in [*_paths(world), "/actions?status=dead"]:
        tab.open(path)
        width = tab.page.evaluate("document.documentElement.scrollWidth")
        assert width <= viewport["width"], (path, width)
        sideways = tab.page.evaluate(
            """[...document.querySelectorAll('body *')]
              .filter(e => e.scrollWidth > e.clientWidth + 1)
              .filter(e => getComputedStyle(e).overflowX !== 'visible')
              .filter(e => !e.matches('.scroll, .visually-hidden'))  // a table's box, unseen words
              .map(e => e.tagName + '.' + e.className)"""
        )
        assert sideways == [], (path, sideways)
        rights = tab.page.locator("header nav a").evaluate_all(
            "els => els.map(e => e.getBoundingClientRect().right)"
        )
        assert max(rights) <= viewport["width"], (path, rights)
    tab.assert_clean()
    context.close()


FOCUS_RING = """() => {
  const e = document.activeElement;
  const s = getComputedStyle(e);
  return [e.tagName + ':' + (e.name || e.textContent.trim().slice(0, 20)),
          s.outlineStyle, parseFloat(s.outlineWidth), e.matches(':focus')];
}"""


def test_the_keyboard_alone_filters_and_retries_with_a_ring_at_every_stop(
    browser: Any, own_world: World
) -> None:
    """Every Tab stop shows a ring of at least 2 px (a date field had none, only a faint
    tint on the part being typed), and a dead action is retried with Tab and Enter."""
    with serving(own_world) as running:
        context = browser.new_context(viewport=LAPTOP)
        tab = watch(context.new_page(), running.url)
        tab.open("/actions")
        stops = []
        for _ in range(80):
            tab.page.keyboard.press("Tab")
            stop = tab.page.evaluate(FOCUS_RING)
            if stop[0].startswith("BODY") or stop in stops[:1]:
                break
            if stop[3]:  # (a date's fields pass the focus along: a step between is skipped)
                stops.append(stop)
        rings = [s for s in stops if s[1] in ("none", "hidden") or s[2] < 2]
        assert rings == [], rings
        assert any(s[0].startswith("INPUT:from") for s in stops)
        tab.open("/actions")
        tab.page.locator("input[name=post]").focus()
        tab.page.keyboard.type("1999000000000000001")
        with tab.page.expect_navigation(wait_until="networkidle"):
            tab.page.keyboard.press("Enter")  # the filter form is sent by the keyboard
        assert "post=1999000000000000001" in tab.page.url
        tab.open("/actions?status=dead")
        for _ in range(80):
            tab.page.keyboard.press("Tab")
            if tab.page.evaluate("document.activeElement.textContent").startswith("Retry webhook"):
                break
        with tab.page.expect_navigation(wait_until="networkidle"):
            tab.page.keyboard.press("Enter")
        assert "re-queued" in tab.page.locator(".notice").inner_text()
        tab.assert_clean()
        context.close()
    with SqliteStore.open(own_world.folder / "automation.db") as store:
        assert store.action_counts()["dead"] == 0
