"""Replayed OAuth nonces: refused while their timestamp could still pass, then forgotten."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from automation.sandbox.oauth_verify import MAX_SKEW_SECONDS, _Nonces

WINDOW = 2 * MAX_SKEW_SECONDS

# (nonce, timestamp) and when the request came: a few nonces so that replays happen, and
# times in steps of 50 s so that one is often exactly at the edge of forgetting.
CALL = st.tuples(
    st.sampled_from("abcdefgh"), st.sampled_from("12"), st.integers(0, 40).map(lambda t: 50 * t)
)


@settings(max_examples=300, derandomize=True, deadline=None)
@given(st.lists(CALL, max_size=80))
def test_a_pair_is_refused_for_the_whole_window_after_it_was_accepted(
    calls: list[tuple[str, str, int]],
) -> None:
    """Even when the clock goes back: a replay is never let through before the latest time
    seen is a window past its first acceptance."""
    nonces = _Nonces()
    accepted: dict[tuple[str, str], int] = {}
    latest = 0
    for nonce, stamp, now in calls:
        key = (nonce, stamp)
        fresh = nonces.fresh(key, float(now))
        latest = max(latest, now)
        if key in accepted and latest - accepted[key] < WINDOW:
            assert not fresh, (key, now)
        if fresh:
            accepted[key] = now


@settings(max_examples=300, derandomize=True, deadline=None)
@given(st.lists(CALL, max_size=80))
def test_on_a_clock_that_goes_forward_a_pair_is_forgotten_once_the_window_passed(
    calls: list[tuple[str, str, int]],
) -> None:
    """Refused exactly while it was accepted less than the window ago; memory holds no
    more than the pairs accepted within the window."""
    nonces = _Nonces()
    accepted: dict[tuple[str, str], int] = {}
    for nonce, stamp, now in sorted(calls, key=lambda c: c[2]):
        key = (nonce, stamp)
        replay = key in accepted and now - accepted[key] < WINDOW
        assert nonces.fresh(key, float(now)) is not replay, (key, now)
        if not replay:
            accepted[key] = now
        assert len(nonces) == sum(1 for t in accepted.values() if now - t < WINDOW)


def test_a_replay_is_refused_another_timestamp_is_not_and_old_pairs_are_forgotten() -> None:
    clock = [1_790_000_000.25]
    nonces = _Nonces()

    def fresh(nonce: str, stamp: str) -> bool:
        return nonces.fresh((nonce, stamp), clock[0])

    assert fresh("n1", "1790000000")
    clock[0] += 10
    assert not fresh("n1", "1790000000")  # the same signed request again
    assert fresh("n1", "1790000010")  # the same nonce with another timestamp is another pair
    assert fresh("n10", "179000000") and fresh("n", "11790000000")  # no pair mistaken for one
    clock[0] += WINDOW - 20
    assert not fresh("n1", "1790000000")  # still within the window
    clock[0] += 11  # the window and the second it was seen in have passed
    assert fresh("n1", "1790000000")
    assert not fresh("n1", "1790000010")  # seen 10 s after the first: still remembered
