"""Replayed OAuth nonces: the sandbox forgets old ones without rebuilding what it keeps."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from automation.sandbox.oauth_verify import MAX_SKEW_SECONDS, _Nonces

# (nonce, timestamp) and when the request came: a few nonces so that replays happen, times
# in steps of 100 s so that one is often exactly at the edge of forgetting, and times that
# go back now and then (a wall clock can).
CALL = st.tuples(
    st.sampled_from("abcdefgh"), st.sampled_from("12"), st.integers(0, 20).map(lambda t: 100 * t)
)


class RebuiltNonces:
    """What the sandbox has always promised: past ``keep`` remembered nonces, forget every
    one seen more than twice the allowed skew ago, then refuse a nonce still remembered."""

    def __init__(self, keep: int) -> None:
        self.keep = keep
        self.seen: dict[tuple[str, str], float] = {}

    def fresh(self, key: tuple[str, str], now: float) -> bool:
        if len(self.seen) > self.keep:
            cutoff = now - 2 * MAX_SKEW_SECONDS
            self.seen = {k: t for k, t in self.seen.items() if t > cutoff}
        if key in self.seen:
            return False
        self.seen[key] = now
        return True


@settings(max_examples=300, derandomize=True, deadline=None)
@given(st.integers(0, 6), st.lists(CALL, max_size=80))
def test_forgetting_from_the_heap_refuses_exactly_what_rebuilding_refused(
    keep: int, calls: list[tuple[str, str, int]]
) -> None:
    nonces, model = _Nonces(keep), RebuiltNonces(keep)
    for nonce, stamp, now in calls:
        key = (nonce, stamp)
        assert nonces.fresh(key, float(now)) == model.fresh(key, float(now)), (key, now)


def test_a_replay_within_the_skew_is_refused_and_old_nonces_are_forgotten() -> None:
    nonces = _Nonces(keep=2)
    assert nonces.fresh(("n1", "1"), 0.0)
    assert not nonces.fresh(("n1", "1"), 10.0)  # a replay
    assert nonces.fresh(("n2", "1"), 20.0) and nonces.fresh(("n3", "1"), 30.0)
    later = 20.0 + 2 * MAX_SKEW_SECONDS + 1  # n1 and n2 are old enough to forget, n3 is not
    assert nonces.fresh(("n4", "1"), later)
    assert nonces.fresh(("n1", "1"), later) and not nonces.fresh(("n3", "1"), later)
