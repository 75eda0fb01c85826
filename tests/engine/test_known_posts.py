"""Watched posts kept between cycles: the engine's list is what reading every post from the
store gives, whoever wrote to the store, and the engine that keeps it plans and asks for
exactly what an engine reading the store every cycle asks for."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

from cycle_world import NOW, CycleWorld, Timelines
from hypothesis import given, settings
from hypothesis import strategies as st

from automation.core.evaluate import compile_rules
from automation.core.post_discovery import merge_posts
from automation.core.records import WatchedPostRecord
from automation.core.rules import Leaf, Rule, Watch
from automation.engine.known_posts import KnownPosts
from automation.engine.running_rules import LoadedRules
from automation.store.memory import MemoryStore
from automation.x.v2_client import DiscoveredPost

IDS = [str(1000 + i) for i in range(8)]
RECORDS = st.builds(
    WatchedPostRecord,
    post_id=st.sampled_from(IDS),
    account=st.sampled_from(["brand", "support", None]),
    created_at=st.sampled_from([NOW - timedelta(hours=h) for h in (1, 2, 2, 5)]),
    source=st.sampled_from(["timeline", "explicit"]),
    first_seen=st.sampled_from([NOW - timedelta(minutes=m) for m in (0, 10, 30)]),
    unavailable_at=st.sampled_from([None, None, NOW]),
)
OPS = st.one_of(
    st.tuples(st.sampled_from(["engine adds", "outside adds"]), st.lists(RECORDS)),
    st.tuples(st.sampled_from(["engine marks", "outside marks"]), st.lists(st.sampled_from(IDS))),
    st.tuples(st.just("read"), st.just(())),
)


# rules reaching every post of these tests: brand's and support's of the last 7 days, and IDS
EVERY = compile_rules(
    [
        Rule(
            id="all",
            watch=Watch(accounts=("brand", "support"), posts=tuple(IDS)),
            when=Leaf("favorites", "gte", 5),
        )
    ]
)


class Reads(MemoryStore):
    """The memory store, counting the reads of every post."""

    def __init__(self) -> None:
        super().__init__()
        self.reads = 0

    def posts(self, include_unavailable: bool = False) -> list[WatchedPostRecord]:
        self.reads += 1
        return super().posts(include_unavailable)


@settings(max_examples=300, derandomize=True, deadline=None)
@given(st.booleans(), st.lists(RECORDS, max_size=5), st.lists(OPS, max_size=12))
def test_the_kept_posts_are_the_stores_whoever_wrote(dry, start, ops):
    """``dry``: the engine's writes are a dry run's, which write nothing."""
    store = Reads()
    store.upsert_posts(start)
    known = KnownPosts(store, dry=dry)
    known.read(EVERY, NOW)
    view = store.posts(include_unavailable=True)
    taken, marked = _changes_told(known, []), False
    for i, (op, args) in enumerate(ops):
        at = NOW + timedelta(minutes=i)
        if op == "read":
            known.read(EVERY, NOW)
            view = store.posts(include_unavailable=True)
        elif op.endswith("adds") and args:
            if op == "outside adds" or not dry:
                store.upsert_posts(args)
            if op == "engine adds":
                known.added(args)
                view = merge_posts(view, args)  # what the cycle goes on with
        elif op.endswith("marks") and args:
            if op == "outside marks" or not dry:
                store.mark_unavailable(args, at)
            if op == "engine marks":
                known.gone(args, at)
                marked = True  # the list says so until read again, if it kept its order
        if op == "read" or (op == "engine adds" and not marked):
            assert list(known.by_id.values()) == view
        if op == "read":
            taken = _changes_told(known, taken)
    known.read(EVERY, NOW)
    assert list(known.by_id.values()) == store.posts(include_unavailable=True)


def _changes_told(known: KnownPosts, before: list[WatchedPostRecord]) -> list[WatchedPostRecord]:
    """Every post whose record differs from ``before`` is among the changes told, unless
    the list was read again (None: any may have changed)."""
    changed = known.take_changed()
    if changed is not None:
        old, new = {p.post_id: p for p in before}, dict(known.by_id)
        assert {i for i in old.keys() | new.keys() if old.get(i) != new.get(i)} <= changed
    return list(known.by_id.values())


@settings(max_examples=100, derandomize=True, deadline=None)
@given(st.integers(0, 80), st.integers(1, 40), st.randoms(use_true_random=False))
def test_new_posts_one_by_one_or_sorted_in_bulk_take_the_stores_order(held, new, rng):
    """A few new posts are inserted one by one, many sorted in with the rest at once: either
    way the list is the store's (``held`` posts there already, ``new`` added)."""
    hours = [rng.randint(0, 9) for _ in range(held + new)]  # ties by post id
    posts = [_post(str(5000 + i), h) for i, h in enumerate(hours)]
    rng.shuffle(posts)
    store = Reads()
    store.upsert_posts(posts[:held])
    known = KnownPosts(store)
    known.read(EVERY, NOW)
    store.upsert_posts(posts[held:])
    known.added(posts[held:])
    known.read(EVERY, NOW)
    assert store.reads == 1
    assert list(known.by_id.values()) == store.posts(include_unavailable=True)


def test_the_posts_are_read_once_while_only_the_engine_writes():
    store = Reads()
    store.upsert_posts([_post("1", 3)])
    known = KnownPosts(store)
    for i in range(4):
        known.read(EVERY, NOW)
        store.upsert_posts([_post(f"2{i}", i)])
        known.added([_post(f"2{i}", i)])
        store.upsert_posts([])  # writes nothing, moves nothing
        store.mark_unavailable(["1"], NOW + timedelta(minutes=i))
        known.gone(["1"], NOW + timedelta(minutes=i))
        # a post gone keeps its place, new ones take theirs among the others
        kept = list(known.by_id.values())
        assert kept == MemoryStore.posts(store, include_unavailable=True)  # no read
    assert store.reads == 1


def test_a_write_from_elsewhere_is_read_at_the_next_cycle():
    store = Reads()
    known = KnownPosts(store)
    known.read(EVERY, NOW)
    store.upsert_posts([_post("1", 3)])  # another process, or a copy
    known.read(EVERY, NOW)
    assert [p.post_id for p in list(known.by_id.values())] == ["1"]
    assert store.reads == 2


def _post(post_id: str, hours: int) -> WatchedPostRecord:
    created = NOW - timedelta(hours=hours)
    return WatchedPostRecord(post_id, "brand", created, "timeline", created)


# --- the engine ----------------------------------------------------------------------

RULES = [
    Rule(id="likes", watch=Watch(accounts=("brand", "support")), when=Leaf("favorites", "gte", 5)),
    Rule(id="named", watch=Watch(posts=("1100", "1101")), when=Leaf("favorites", "gte", 2)),
    # discovered posts named too: the plan keeps what this watch covers while none changes
    Rule(id="found", watch=Watch(posts=("2001", "2003", "3000")), when=Leaf("replies", "gte", 1)),
]
STEP = st.tuples(
    st.lists(st.sampled_from(["brand", "support"]), max_size=3),  # new posts on the timelines
    st.lists(st.integers(0, 30), max_size=2),  # posts the API reports gone (by index)
    st.sampled_from(["", "", "outside adds", "outside marks", "unavailable again"]),
)


@settings(max_examples=60, derandomize=True, deadline=None)
@given(st.lists(STEP, min_size=1, max_size=10))
def test_an_engine_keeping_its_posts_asks_what_a_fresh_engine_asks(steps):
    worlds = [CycleWorld(list(RULES), timelines=Timelines({"brand": [], "support": []}))]
    worlds.append(CycleWorld(list(RULES), timelines=Timelines({"brand": [], "support": []})))
    kept = worlds[0].engine()
    serial = 2000
    for minutes, (accounts, gone, event) in enumerate(steps, start=1):
        for account in accounts:
            serial += 1
            for w in worlds:
                post = DiscoveredPost(str(serial), w.now - timedelta(minutes=1), "")
                w.timelines.posts[account].insert(0, post)
        for w in worlds:
            w.now = NOW + timedelta(minutes=5 * minutes)
            known = sorted(p.post_id for p in w.store.posts())
            w.metrics.unavailable = {known[i % len(known)] for i in gone} if known else set()
            _outside(w, event)
            w.metrics.requests.clear()
        kept.cycle()
        worlds[1].engine().cycle()  # a new engine: it reads every post from the store
        assert worlds[0].metrics.requests == worlds[1].metrics.requests
        assert worlds[0].store.posts(True) == worlds[1].store.posts(True)


def _outside(w: CycleWorld, event: str) -> None:
    """What another process writes between two cycles."""
    if event == "outside adds":
        w.store.upsert_posts([replace(_post("3000", 1), account="support", first_seen=w.now)])
    elif event == "outside marks":
        w.store.mark_unavailable([p.post_id for p in w.store.posts()][:1], w.now)
    elif event == "unavailable again":
        gone = [p for p in w.store.posts(True) if p.unavailable_at is not None][:1]
        w.store.upsert_posts([replace(p, unavailable_at=None) for p in gone])


def test_rules_swapped_in_between_cycles_have_their_named_posts_watched():
    """The posts the rules name are gathered again when the rules change, not only once."""
    world = CycleWorld(list(RULES), timelines=Timelines({"brand": [], "support": []}))
    engine = world.engine()
    engine.cycle()
    named = replace(RULES[1], watch=Watch(posts=("1100", "4000"), owner="brand"))
    engine.rules = LoadedRules(rules=compile_rules([RULES[0], named]), files=())
    world.now += timedelta(minutes=5)
    engine.cycle()
    watched = {p.post_id: p.account for p in world.store.posts()}
    assert watched["4000"] == "brand"
    assert watched["1100"] == "brand"  # its owner now given
