"""What-if: replay the booked orders and clicks of some months under proposed terms.

Loads the stored order snapshots, the clicks and gift-pack coupons they cite, and the ledger's
net for the same facts; the domain (:mod:`alliance.whatif`) replays them with the real
attribution and commission code. Reads only, in one read-only transaction: nothing is written,
least of all to the ledger.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from decimal import Decimal

from sqlalchemy import Connection, Engine, select

from alliance.agreement import Agreement
from alliance.clicks import Click
from alliance.errors import BadInputError
from alliance.ledger import BookedKey
from alliance.orders import Order
from alliance.periods import next_period, parse_period
from alliance.services.insights import month_start
from alliance.storage import repository as repo
from alliance.storage.schema import clicks, orders
from alliance.whatif import Comparison, compare, replay

CHUNK = 2000
"""Orders replayed per read: bounded memory however many months are asked for."""


def simulate(
    engine: Engine, current: Agreement, proposed: Agreement, first: str, last: str
) -> Comparison:
    """Per member and deal: what the months' facts carry now, and under ``proposed``."""
    for month in (first, last):
        try:
            parse_period(month)
        except ValueError as exc:
            raise BadInputError(str(exc)) from None
    if first > last:
        raise BadInputError(f"--from {first} is after --to {last}; swap them")
    if proposed.currency != current.currency:
        raise BadInputError(
            f"the proposed agreement settles in {proposed.currency}, the alliance in "
            f"{current.currency}: a what-if compares amounts in one currency"
        )
    timezone = current.settings.timezone
    start, end = month_start(first, timezone), month_start(next_period(last), timezone)
    actual: dict[BookedKey, Decimal] = defaultdict(Decimal)
    simulated: dict[BookedKey, Decimal] = defaultdict(Decimal)
    with engine.connect() as conn:
        for batch in _orders_between(conn, start, end):
            _replay_into(conn, proposed, batch, [], simulated, actual)
        month_clicks = _clicks_between(conn, start, end)
        for index in range(0, len(month_clicks), CHUNK):
            _replay_into(conn, proposed, [], month_clicks[index : index + CHUNK], simulated, actual)
        conn.rollback()
    members = set(current.members) | set(proposed.members)
    return compare(first, last, current.currency, members, actual, simulated)


def _replay_into(
    conn: Connection,
    proposed: Agreement,
    batch: list[Order],
    batch_clicks: list[Click],
    simulated: dict[BookedKey, Decimal],
    actual: dict[BookedKey, Decimal],
) -> None:
    click_ids = {o.attribution.utm_content.strip() for o in batch if o.attribution.utm_content}
    pairs = {(o.member, code) for o in batch for code in o.coupon_codes}
    result = replay(
        proposed,
        batch,
        batch_clicks,
        clicks_by_id=repo.clicks_by_id(conn, click_ids) if click_ids else {},
        gift_coupons=repo.gift_coupons_for(conn, pairs) if pairs else {},
    )
    for key, amount in result.amounts.items():
        simulated[key] += amount
    refs = [o.ref for o in batch] + [f"click:{c.id}" for c in batch_clicks]
    for by_key in repo.booked_for(conn, refs).values():
        for key, amount in by_key.items():
            actual[key] += amount


def _orders_between(conn: Connection, start: object, end: object) -> Iterator[list[Order]]:
    query = (
        select(orders)
        .where(orders.c.sale_at >= start, orders.c.sale_at < end)
        .order_by(orders.c.member, orders.c.external_id)
    )
    batch: list[Order] = []
    for row in conn.execute(query).mappings():
        batch.append(repo.order_from_row(row))
        if len(batch) >= CHUNK:
            yield batch
            batch = []
    if batch:
        yield batch


def _clicks_between(conn: Connection, start: object, end: object) -> list[Click]:
    query = select(clicks.c.id).where(clicks.c.clicked_at >= start, clicks.c.clicked_at < end)
    ids = list(conn.execute(query).scalars())
    found = repo.clicks_by_id(conn, ids)
    return [found[i] for i in sorted(found)]
