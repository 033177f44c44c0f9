"""Properties of the fractional position keys: whatever two valid keys, the key between
them is valid and sorts strictly between (or KeyTooLong says to respace); keys at the open
ends stay short over long runs and sort with keys of the earlier, midpoint-only scheme."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from todo.core.ordering import DIGITS, MAX_KEY_LENGTH, KeyTooLong, key_between, spread

keys = st.builds(
    lambda body, last: body + last,
    st.text(alphabet=DIGITS, max_size=MAX_KEY_LENGTH - 1),
    st.sampled_from(DIGITS[1:]),
)
# Keys crowded at the edges of the alphabet, where the counters carry and change level.
edgy = st.builds(
    lambda body, last: body + last,
    st.text(alphabet="01yz", max_size=MAX_KEY_LENGTH - 1),
    st.sampled_from("1yz"),
)
any_key = keys | edgy


def _valid(key: str) -> bool:
    return 0 < len(key) <= MAX_KEY_LENGTH and set(key) <= set(DIGITS) and key[-1] != "0"


@given(any_key, any_key)
@settings(max_examples=2000)
def test_between_two_keys_sorts_strictly_between(a: str, b: str) -> None:
    if a == b:
        with pytest.raises(ValueError, match="must sort before"):
            key_between(a, b)
        return
    low, high = min(a, b), max(a, b)
    try:
        middle = key_between(low, high)
    except KeyTooLong:
        # Only when no key of the allowed length fits: `low` padded with 'z' digits up
        # to the limit is then no longer below `high`, or `low` is already that long.
        assert len(low) >= MAX_KEY_LENGTH - 1 or high.startswith(low)
        return
    assert _valid(middle)
    assert low < middle < high
    with pytest.raises(ValueError, match="must sort before"):
        key_between(high, low)


@given(any_key)
@settings(max_examples=2000)
def test_after_and_before_one_key(key: str) -> None:
    try:
        after = key_between(key, None)
        assert _valid(after)
        assert after > key
    except KeyTooLong:
        assert key.startswith("z" * (MAX_KEY_LENGTH - 4))
    try:
        before = key_between(None, key)
        assert _valid(before)
        assert before < key
    except KeyTooLong:
        assert key.startswith("0" * (MAX_KEY_LENGTH - 4))


@pytest.mark.parametrize("start", [None, "i", "z", "zzzzzzzzzzzzzzzzzzzr", "00ghx3k2b1jyi"])
def test_a_long_run_of_appends_and_prepends_stays_short(start: str | None) -> None:
    last = first = start
    for _ in range(100_000):
        following = key_between(last, None)
        assert last is None or following > last
        last = following
        preceding = key_between(None, first)
        assert first is None or preceding < first
        first = preceding
    assert last is not None
    assert first is not None
    # Logarithmic: a level of m leading 'z's (or '0's) holds 35 * 36^m keys; keys stored
    # by the earlier scheme get at most a counter's four digits more.
    base = len(start or "")
    assert len(last) <= max(7, base + 4)
    assert len(first) <= max(7, base + 4)


def _old_key_between(before: str | None, after: str | None) -> str:
    """The earlier scheme, midpoints only, whose keys are already stored."""
    result: list[str] = []
    index = 0
    low = before or ""
    while True:
        lo = DIGITS.index(low[index]) if index < len(low) else 0
        hi = DIGITS.index(after[index]) if after is not None and index < len(after) else 36
        if after is not None and "".join(result) != after[:index]:
            hi = 36
        if hi - lo > 1:
            result.append(DIGITS[(lo + hi) // 2])
            return "".join(result)
        result.append(DIGITS[lo])
        index += 1


def test_new_keys_sort_with_stored_keys_of_the_old_scheme() -> None:
    stored = [_old_key_between(None, None)]
    for _ in range(250):
        stored.append(_old_key_between(stored[-1], None))
    for _ in range(250):
        stored.insert(0, _old_key_between(None, stored[0]))
    assert stored == sorted(stored)
    assert max(map(len, stored)) <= MAX_KEY_LENGTH
    following = key_between(stored[-1], None)
    preceding = key_between(None, stored[0])
    assert preceding < stored[0]
    assert stored[-1] < following
    for a, b in itertools.pairwise(stored):
        try:
            assert a < key_between(a, b) < b
        except KeyTooLong:
            assert len(a) >= MAX_KEY_LENGTH - 1 or len(b) >= MAX_KEY_LENGTH - 1


@pytest.mark.parametrize("count", [0, 1, 2, 35, 36, 500, 1295, 1296, 5000])
def test_spread_is_increasing_valid_and_leaves_room(count: int) -> None:
    spaced = spread(count)
    assert len(spaced) == count
    assert spaced == sorted(set(spaced))
    assert all(_valid(key) for key in spaced)
    assert len({len(key) for key in spaced}) <= 1
    # Room for many moves between any two neighbours before the next respace.
    for a, b in itertools.pairwise(spaced):
        for _ in range(100):
            b = key_between(a, b)
    assert key_between(spaced[-1] if spaced else None, None)


def test_a_stored_key_too_long_asks_for_a_respace_and_a_malformed_one_is_refused() -> None:
    too_long = "z" * MAX_KEY_LENGTH + "i"
    for before, after in ((too_long, None), (None, too_long), ("a", too_long)):
        with pytest.raises(KeyTooLong):
            key_between(before, after)
    for bad in ("", "a0", "A", "a-b", "z" * MAX_KEY_LENGTH + "0"):
        with pytest.raises(ValueError, match="invalid position key") as raised:
            key_between(bad, None)
        assert not isinstance(raised.value, KeyTooLong)
