"""Lists alike everywhere: `limit` and an opaque `cursor` in, `{items, next_cursor}` out.

A list route declares `Limit` and `Cursor` parameters, asks its store for one row more than
`limit` after `position(cursor)`, and answers `page(rows, limit, key)`. A cursor is the position
of the last item of a page (its time and id): every cursor the schema allows is one the API can
read, so a hand-made one gives a page too, never an error.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any, Generic, TypeVar

from fastapi import Query
from pydantic import BaseModel, Field

T = TypeVar("T")
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)
CURSOR_PATTERN = r"^[0-9]{1,16}~[!-~]{1,128}$"


class Page(BaseModel, Generic[T]):
    items: list[T]
    next_cursor: str | None = Field(
        description="pass it as `cursor` for the next page; null on the last page"
    )


Limit = Annotated[int, Query(ge=1, le=200, description="at most this many items")]
Cursor = Annotated[
    str | None,
    Query(
        pattern=CURSOR_PATTERN,
        description="`next_cursor` of the previous page, as it is (opaque)",
    ),
]

# A list's position: the time and the id of an item; the next page starts after it.
Position = tuple[datetime, str]


def encode(at: datetime, key: object) -> str:
    aware = at if at.tzinfo else at.replace(tzinfo=UTC)
    return f"{(aware - EPOCH) // _MICROSECOND}~{key}"


def position(cursor: str | None) -> Position | None:
    if cursor is None:
        return None
    micros, _, key = cursor.partition("~")
    return EPOCH + int(micros) * _MICROSECOND, key


def page(
    rows: Sequence[T], limit: int, key: Callable[[T], tuple[datetime, object]]
) -> dict[str, Any]:
    """The first `limit` rows, and the cursor after them when the store found one more."""
    items = list(rows[:limit])
    more = len(rows) > limit
    return {"items": items, "next_cursor": encode(*key(items[-1])) if more and items else None}
