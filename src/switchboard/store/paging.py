"""Keyset paging for the store's lists: ordered by a time and an id, resumed after a position."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Column, Select, and_, or_

Position = tuple[datetime, str]


def keyset(
    query: Select,
    at: Column,
    key: Column,
    after: Position | None,
    limit: int,
    newest_first: bool = True,
) -> Select:
    """`query` ordered by (at, key), the page after `after` (newest or oldest first)."""
    if after is not None:
        when, raw = after
        value: object = raw
        if key.type.python_type is int:
            value = min(int(raw), 2**31 - 1) if raw.isdigit() else 0
        if newest_first:
            query = query.where(or_(at < when, and_(at == when, key < value)))
        else:
            query = query.where(or_(at > when, and_(at == when, key > value)))
    order = (at.desc(), key.desc()) if newest_first else (at.asc(), key.asc())
    return query.order_by(*order).limit(limit)
