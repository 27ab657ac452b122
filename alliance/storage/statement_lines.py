"""A member's entries of one period, streamed in statement order, each chunk with the history
its lines need: for long statements, whose memory must not grow with the month.

An order's entries (a sale, its refund) usually all sit in this period and, sharing the
order's sale date, next to each other in the statement's order. So each row says how many
entries its order has in all (a count on the ``source_ref`` index), a chunk never ends in the
middle of an order's run of rows, and an order whose entries are all in the chunk is its own
history; only the others (a clawback of an earlier period, lines under another deal) are read
again, all their entries in any period. Rows become entries through lookup tables for the
enums and the money, not SQLAlchemy's per-row conversions.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

from sqlalchemy import Connection, bindparam, func, or_, select
from sqlalchemy.orm import aliased

from alliance.ledger import Entry, EntryKind, SourceKind
from alliance.money import CREDIT, minor_digits
from alliance.storage import repository as repo
from alliance.storage.schema import ledger_entries

_e = ledger_entries.c
_SOURCES = {kind.value: kind for kind in SourceKind}
_KINDS = {kind.value: kind for kind in EntryKind}
_COLUMNS = (
    _e.id, _e.source, _e.source_ref, _e.revision, _e.deal_id, _e.kind, _e.payer, _e.payee,
    _e.unit, _e.amount_minor, _e.base_minor, _e.period, _e.occurred_at, _e.agreement_version,
    _e.label,
)  # fmt: skip
_same_order = aliased(ledger_entries)
_ENTRIES_OF_ORDER = (
    select(func.count())
    .where(_same_order.c.source_ref == _e.source_ref)
    .scalar_subquery()
    .label("entries_of_order")
)


def _entry(row: Any) -> Entry:
    (id_, source, ref, revision, deal, kind, payer, payee, unit, amount, base, period,
     occurred, version, label) = row[:15]  # fmt: skip
    digits = -minor_digits(unit)
    return Entry(
        id_,
        _SOURCES[source],
        ref,
        revision,
        deal,
        _KINDS[kind],
        payer,
        payee,
        unit,
        Decimal(amount).scaleb(digits),
        None if base is None else Decimal(base).scaleb(digits),
        period,
        occurred,
        version,
        label,
    )


def member_chunks(
    conn: Connection, period: str, member: str, *, credits: bool, chunk: int
) -> Iterator[tuple[list[Entry], list[Entry]]]:
    """``(entries, history)`` a chunk at a time: the member's money (or swap credit) entries of
    ``period`` in statement order, and every entry of their orders in any period."""
    query = (
        select(*_COLUMNS, _ENTRIES_OF_ORDER)
        .where(_e.period == period, or_(_e.payer == member, _e.payee == member))
        .where(_e.unit == CREDIT if credits else _e.unit != CREDIT)
        .order_by(_e.occurred_at, _e.label, _e.deal_id, _e.booked_at, _e.id)
        .execution_options(stream_results=True, yield_per=chunk)  # this query's, not conn's
    )
    carried: list[Any] = []
    for part in conn.execute(query).partitions():
        rows = carried + list(part)
        cut = len(rows)
        while cut and rows[cut - 1][2] == rows[-1][2]:  # the last order's run of rows waits
            cut -= 1
        if not cut:  # one order larger than a chunk: let it grow
            carried = rows
            continue
        carried = rows[cut:]
        yield _chunk(conn, rows[:cut])
    if carried:
        yield _chunk(conn, carried)


def _chunk(conn: Connection, rows: list[Any]) -> tuple[list[Entry], list[Entry]]:
    entries = [_entry(row) for row in rows]
    here = Counter(entry.source_ref for entry in entries)
    elsewhere = {row[2] for row in rows if row[15] > here[row[2]]}
    history = [entry for entry in entries if entry.source_ref not in elsewhere]
    if elsewhere:
        history += _entries_of(conn, sorted(elsewhere))
    return entries, history


_OF_ORDERS = select(*_COLUMNS).where(_e.source_ref.in_(bindparam("refs", expanding=True)))


def _entries_of(conn: Connection, refs: list[str]) -> list[Entry]:
    """Every entry of these orders, in any period."""
    found: list[Entry] = []
    for start in range(0, len(refs), repo.IN_CHUNK):
        rows = conn.execute(_OF_ORDERS, {"refs": refs[start : start + repo.IN_CHUNK]})
        found += [_entry(row) for row in rows]
    return found
