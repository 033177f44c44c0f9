"""Fractional position keys: a row moves between two neighbours by getting a key that
sorts between theirs, so reordering writes one row instead of renumbering a list.

Keys are strings over 0-9a-z, compared byte-wise (the columns use a binary collation).
A key never ends in '0', so there is always room below it as well as above.
"""

from __future__ import annotations

import time

DIGITS = "0123456789abcdefghijklmnopqrstuvwxyz"
_BASE = len(DIGITS)
_VALUE = {ch: i for i, ch in enumerate(DIGITS)}
MAX_KEY_LENGTH = 64


def _valid(key: str) -> bool:
    return (
        bool(key)
        and len(key) <= MAX_KEY_LENGTH
        and all(c in _VALUE for c in key)
        and key[-1] != "0"
    )


def key_between(before: str | None, after: str | None) -> str:
    """A key strictly between `before` and `after` (None means the open end)."""
    if before is not None and not _valid(before):
        raise ValueError(f"invalid position key {before!r}")
    if after is not None and not _valid(after):
        raise ValueError(f"invalid position key {after!r}")
    if before is not None and after is not None and before >= after:
        raise ValueError("the first key must sort before the second")
    result: list[str] = []
    index = 0
    low = before or ""
    while True:
        lo = _VALUE[low[index]] if index < len(low) else 0
        # With no upper bound (or once the prefix is already below it) any digit up to
        # the top of the alphabet is free.
        hi = _VALUE[after[index]] if after is not None and index < len(after) else _BASE
        if after is not None and "".join(result) != after[:index]:
            hi = _BASE
        if hi - lo > 1:
            result.append(DIGITS[(lo + hi) // 2])
            return "".join(result)
        result.append(DIGITS[lo])
        index += 1


def keys_after(before: str | None, count: int) -> list[str]:
    """`count` increasing keys after `before`, for appending several rows at once."""
    keys = []
    for _ in range(count):
        before = key_between(before, None)
        keys.append(before)
    return keys


def time_key() -> str:
    """A key after every key this function handed out before: the clock, base 36.

    Appending to the end of a list then needs no query for the current last key.
    """
    value = time.time_ns() // 1000
    digits = []
    while value:
        value, remainder = divmod(value, _BASE)
        digits.append(DIGITS[remainder])
    # Twelve digits cover the microseconds until the year 5000; 'i' keeps the last digit non-zero.
    return "".join(reversed(digits)).rjust(12, "0") + "i"
