"""The backtest page over a live sandbox: the backtest engine's result per rule, with
firings per day beside what the engine really fired."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from html import unescape
from pathlib import Path

import httpx
import pytest
from dashboard_scene import Live, World, browsing, csrf_token, live_world, serving

from automation.dashboard import backtest_page
from automation.store import SqliteStore


@pytest.fixture
def live(tmp_path: Path) -> Iterator[tuple[World, Live]]:
    with live_world(tmp_path / "live") as pair:
        yield pair


def _run(c: httpx.Client, **form: object) -> httpx.Response:
    return c.post("/backtest", data={"csrf_token": csrf_token(c.get("/backtest").text), **form})


def _chart(page: str) -> list[dict[str, object]]:
    found = re.search(r'id="backtest-data">(.*?)</script>', page, re.S)
    assert found is not None
    data: list[dict[str, object]] = json.loads(found.group(1))
    return data


def test_a_deployed_rule_is_replayed_beside_what_really_fired(live: tuple[World, Live]) -> None:
    world, running_world = live
    with serving(world, clock=running_world.sandbox.clock.now) as running, browsing(running) as c:
        page = _run(c, rule="at-100-likes", since="7d")
        assert page.status_code == 200, page.text
        text = re.sub(r"\s+", " ", unescape(re.sub(r"<[^>]+>", " ", page.text)))
        assert re.search(r"at-100-likes 1 would have fired · \d+ seeded · 1 fired for real", text)
        [chart] = _chart(page.text)
        assert chart["rule"] == "at-100-likes"
        assert sum(chart["live"]) == 1  # type: ignore[arg-type]
        assert sum(chart["would"]) >= 1  # type: ignore[arg-type]
        assert len(chart["days"]) == len(chart["live"]) == len(chart["would"])  # type: ignore[arg-type]


def test_a_pasted_rule_file_is_backtested_without_being_deployed(
    live: tuple[World, Live],
) -> None:
    world, running_world = live
    pasted = (
        "version: 1\nrules:\n  - id: try-50-likes\n"
        f'    watch: {{posts: ["{world.crossing}"], owner: brand}}\n'
        "    when: likes >= 50\n    actions: [{log: {message: x}}]\n"
    )
    with serving(world, clock=running_world.sandbox.clock.now) as running, browsing(running) as c:
        page = _run(c, pasted=pasted, since="7d")
        assert page.status_code == 200, page.text
        [chart] = _chart(page.text)
        assert chart["rule"] == "try-50-likes"
        assert sum(chart["would"]) == 1 and sum(chart["live"]) == 0  # type: ignore[arg-type]
        broken = _run(c, pasted="version: 1\nrules:\n  - id: x\n    when: likes >=\n")
        assert broken.status_code == 400
        assert "line 4, column" in unescape(broken.text)
    with SqliteStore.open(world.folder / "automation.db") as store:
        assert not any(e.firing.rule_id == "try-50-likes" for e in store.history(limit=1000))


def test_a_window_rule_s_firings_show_the_window_that_decided_them(
    live: tuple[World, Live],
) -> None:
    world, running_world = live
    pasted = (
        "version: 1\nrules:\n  - id: try-burst\n"
        f'    watch: {{posts: ["{world.crossing}"], owner: brand}}\n'
        "    when: likes over 1h >= 20\n    actions: [{log: {message: x}}]\n"
    )
    with serving(world, clock=running_world.sandbox.clock.now) as running, browsing(running) as c:
        page = _run(c, pasted=pasted, since="7d")
    assert page.status_code == 200, page.text
    [chart] = _chart(page.text)
    assert sum(chart["would"]) == 1  # type: ignore[arg-type]
    found = re.search(r'likes over 1h <b>([\d,]+)</b></span> <span class="kv">likes <b>', page.text)
    assert found is not None and int(found.group(1).replace(",", "")) >= 20


def _problems(page: str, field: str) -> list[str]:
    pattern = rf'<ul class="field-problems" id="{field}-problems"[^>]*>(.*?)</ul>'
    found = re.search(pattern, page, re.S)
    return [unescape(li) for li in re.findall(r"<li>(.*?)</li>", found.group(1))] if found else []


def test_a_mistake_is_shown_beside_its_field_in_the_pasted_file_s_own_lines(
    own_world: World,
) -> None:
    pasted = (
        "version: 1\nrules:\n  - id: x\n    watch: {accounts: [brand]}\n"
        "    when: lieks >= 80\n    actions: [{log: {message: x}}]\n"
    )
    with serving(own_world) as running, browsing(running) as c:
        page = _run(c, pasted=pasted, **{"from": "2999-01-01", "to": "2999-01-31"})
        assert page.status_code == 400
        # the line and column in the text pasted, never a temporary file's path
        assert _problems(page.text, "rule") == [
            "line 5, column 11: unknown metric 'lieks' (did you mean 'likes'?)"
        ]
        assert "pasted.yaml" not in page.text
        assert 'aria-describedby="rule-problems"' in page.text
        [period] = _problems(page.text, "period")
        assert period.startswith("the period starts at 2999-01-01 00:00 UTC, which is not yet over")
        fine = _run(c, rule="at-100-likes", **{"from": "2999-01-01"})
        assert _problems(fine.text, "rule") == [] and len(_problems(fine.text, "period")) == 1


@pytest.mark.parametrize(
    ("form", "said"),
    [
        ({"from": "0001-01-01", "to": "0001-01-02"}, "before X's engagement history begins"),
        ({"since": "10000d"}, "before X's engagement history begins"),
        ({"since": "99999999999999d"}, "outside the years 1 to 9999"),
        ({"from": "9999-12-31", "to": "9999-12-31"}, "outside the years 1 to 9999"),
    ],
)
def test_a_period_with_no_history_to_read_is_a_problem_beside_its_field(
    own_world: World, form: dict[str, str], said: str
) -> None:
    with serving(own_world) as running, browsing(running) as c:
        page = _run(c, rule="at-100-likes", **form)
        assert page.status_code == 400, page.text
        [period] = _problems(page.text, "period")
        assert said in period


def test_a_large_fetch_is_asked_for_first(
    live: tuple[World, Live], monkeypatch: pytest.MonkeyPatch
) -> None:
    world, running_world = live
    monkeypatch.setattr(backtest_page, "ASK_ABOVE", 0)
    with serving(world, clock=running_world.sandbox.clock.now) as running, browsing(running) as c:
        page = _run(c, rule="at-100-likes", since="7d")
        text = unescape(page.text)
        if "no /historical request" in text:
            pytest.skip("the engine stored every hour this backtest needs")
        assert "not stored yet" in text and 'name="confirm" value="yes"' in text
        assert _chart(page.text) == []
        confirmed = _run(c, rule="at-100-likes", since="7d", confirm="yes")
        assert len(_chart(confirmed.text)) == 1


def test_a_rule_over_its_limit_shows_how_many_firings_it_capped(
    live: tuple[World, Live],
) -> None:
    world, running_world = live
    pasted = (
        "version: 1\nrules:\n  - id: one-a-month\n"
        "    watch: {accounts: [brand], max_age: 30d}\n"
        "    when: likes >= 1\n    backfill: true\n    limit: {max: 1, per: 30d}\n"
        "    actions: [{log: {message: x}}]\n"
    )
    with serving(world, clock=running_world.sandbox.clock.now) as running, browsing(running) as c:
        page = _run(c, pasted=pasted, since="7d", confirm="yes")
        assert page.status_code == 200, page.text
    text = re.sub(r"\s+", " ", unescape(re.sub(r"<[^>]+>", " ", page.text)))
    found = re.search(
        r"one-a-month 1 would have fired · 0 seeded · (\d+) capped by its limit", text
    )
    assert found is not None, text
    assert int(found.group(1)) > 0


def test_a_period_the_form_cannot_run_is_said_in_the_form_s_words(own_world: World) -> None:
    """A "to" day before the "from" day read "--to 2026-03-01 is before --from 2026-03-05:
    --to must come after --from", the command line's options, on a form that has none;
    a "to" day without a "from" day was dropped without a word, the last 28 days run."""
    with serving(own_world) as running, browsing(running) as c:
        backwards = _run(c, rule="at-100-likes", **{"from": "2026-03-05", "to": "2026-03-01"})
        alone = _run(c, rule="at-100-likes", to="2026-03-01")
    assert backwards.status_code == alone.status_code == 400
    assert _problems(backwards.text, "period") == [
        "to: 2026-03-01 is before from 2026-03-05: choose a to day on or after it"
    ]
    assert _problems(alone.text, "period") == [
        "to: give a from day too, or leave both empty and choose the last days"
    ]
