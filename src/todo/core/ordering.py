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
_COUNTER_MAX = 4


def _well_formed(key: str) -> bool:
    return bool(key) and all(c in _VALUE for c in key) and key[-1] != "0"


def _valid(key: str) -> bool:
    return len(key) <= MAX_KEY_LENGTH and _well_formed(key)


class KeyTooLong(ValueError):
    """No key of at most MAX_KEY_LENGTH characters fits: the caller respaces the rows
    (in the same transaction) and asks again."""


def _check(key: str | None) -> None:
    if key is None:
        return
    if len(key) > MAX_KEY_LENGTH and _well_formed(key):
        # The earlier scheme could store a 65th character on SQLite (no length check
        # there): such a key still sorts right, and respacing replaces it.
        raise KeyTooLong(f"position key longer than {MAX_KEY_LENGTH} characters")
    if not _valid(key):
        raise ValueError(f"invalid position key {key!r}")


def _number(digits: str) -> int:
    value = 0
    for ch in digits:
        value = value * _BASE + _VALUE[ch]
    return value


def _digits(value: int, width: int) -> str:
    out = []
    for _ in range(width):
        value, remainder = divmod(value, _BASE)
        out.append(DIGITS[remainder])
    return "".join(reversed(out))


def _leading(key: str, ch: str) -> int:
    return len(key) - len(key.lstrip(ch))


def _width(run: int) -> int:
    # A run of m leading 'z's (or '0's) is followed by an (m + 1)-digit counter: each
    # level holds 36 times more keys than the one before, so keys grow with the logarithm
    # of the number of appends (or prepends) instead of by one character every five. From
    # four digits on (1.6 million keys a level) the counter stops widening, so the long
    # runs the earlier scheme stored get only a few characters more.
    return max(1, min(run + 1, _COUNTER_MAX, MAX_KEY_LENGTH - run))


def _after(before: str) -> str:
    """A short key after `before`: count up the digits that follow its leading 'z's."""
    run = _leading(before, "z")
    width = _width(run)
    counter = before[run : run + width].ljust(width, "0")
    # The counter never starts with 'z', so adding one cannot carry out of it.
    key = ("z" * run + _digits(_number(counter) + 1, width)).rstrip("0")
    if len(key) > MAX_KEY_LENGTH:
        raise KeyTooLong("no room after the last position key")
    return key


def _before(after: str) -> str:
    """A short key before `after`: count down the digits that follow its leading '0's."""
    run = _leading(after, "0")
    width = _width(run)
    value = _number(after[run : run + width].ljust(width, "0")) - 1
    if value % _BASE == 0:
        # A key never ends in '0'; one less still sorts before `after`.
        value -= 1
    # A used-up counter goes on at the top of the next level down.
    key = "0" * run + _digits(value, width) if value > 0 else "0" * (run + 1) + "z"
    if len(key) > MAX_KEY_LENGTH:
        raise KeyTooLong("no room before the first position key")
    return key


def _middle(before: str, after: str) -> str:
    """The shortest-ish key strictly between two keys: the midpoint digit by digit."""
    result: list[str] = []
    index = 0
    while True:
        lo = _VALUE[before[index]] if index < len(before) else 0
        # Once the prefix is already below `after`, any digit up to the top is free.
        below = "".join(result) != after[:index]
        hi = _BASE if below or index >= len(after) else _VALUE[after[index]]
        if hi - lo > 1:
            result.append(DIGITS[(lo + hi) // 2])
            return "".join(result)
        result.append(DIGITS[lo])
        index += 1
        if index >= MAX_KEY_LENGTH:
            raise KeyTooLong("no room between these position keys")


def key_between(before: str | None, after: str | None) -> str:
    """A key strictly between `before` and `after` (None means the open end).

    Raises KeyTooLong when that key would be longer than MAX_KEY_LENGTH (only after
    many moves between the same two neighbours): respace the rows and ask again.
    """
    _check(before)
    _check(after)
    if before is None and after is None:
        return "i"
    if after is None:
        assert before is not None
        return _after(before)
    if before is None:
        return _before(after)
    if before >= after:
        raise ValueError("the first key must sort before the second")
    return _middle(before, after)


def spread(count: int) -> list[str]:
    """`count` increasing keys of one length, evenly spaced with room around each, for
    renumbering a whole list when a move finds no room between two neighbours."""
    width = 2
    while _BASE**width < (count + 1) * _BASE**2:
        width += 1
    step = _BASE**width // (count + 1)
    keys = []
    for index in range(1, count + 1):
        value = index * step
        if value % _BASE == 0:
            value += 1  # never end in '0'; the step is far larger than one
        keys.append(_digits(value, width))
    return keys


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
