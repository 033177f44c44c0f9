"""Row ids and whole numbers from outside: one bounded type, one strict parser for text.

Row ids are BIGINT on PostgreSQL: a number past 2^63-1 names no row and must never reach the
driver, which would fail with an overflow (a 500) instead of "not found". Text is parsed with
an ASCII pattern, never `str.isdigit()`: "²" and "١٢" are digits to Python, and int() refuses
the first and silently reads the second.
"""

from __future__ import annotations

import re
from typing import Annotated

from pydantic import BeforeValidator, Field

# BIGINT ends at 2^63-1, but JSON numbers are doubles to most clients (JavaScript's
# Number, and the OpenAPI document's bounds as FastAPI holds them), which write every whole
# number exactly only up to 2^53-1: that is the last id accepted, and no sequence comes near it.
ID_MAX = 2**53 - 1
_WHOLE = re.compile(r"[0-9]{1,19}")


def parse_int(text: str, *, low: int = 0, high: int = ID_MAX) -> int | None:
    """The whole number `text` spells in ASCII digits, if it is within low..high; else None."""
    if _WHOLE.fullmatch(text) is None:
        return None
    number = int(text)
    return number if low <= number <= high else None


def parse_row_id(text: str) -> int | None:
    """A row id written as text (a form field, a URL parameter), or None when it is not one."""
    return parse_int(text, low=1)


def _whole_number(value: object) -> object:
    # JSON true is not the number 1, and text goes through the one strict parser.
    if isinstance(value, bool):
        raise ValueError("must be a whole number, not true or false")
    if isinstance(value, str):
        number = parse_int(value, high=10**19)
        if number is None:
            raise ValueError("must be a whole number written in the digits 0-9")
        return number
    return value


RowId = Annotated[int, Field(ge=1, le=ID_MAX), BeforeValidator(_whole_number)]
"""Every id that comes from outside: path, query, body, cursor or form."""
