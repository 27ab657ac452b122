"""The worker benchmark's databases and the ledger every run must end with.

Every run starts from an empty, migrated database; comparing digests of what each run booked
proves that every configuration computed the same ledger, so the timings are comparable.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import UTC, datetime

import psycopg
from sqlalchemy import func, select
from sqlalchemy.engine import make_url

from alliance.storage.database import open_database
from alliance.storage.schema import ledger_entries, orders, quarantine, sync_state

DATABASE = "alliance_bench_worker"


def fresh_postgres(admin_url: str) -> str:
    """An empty, migrated database ``alliance_bench_worker``; returns its URL."""
    url = make_url(admin_url)
    with psycopg.connect(
        url.set(drivername="postgresql").render_as_string(False), autocommit=True
    ) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{DATABASE}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{DATABASE}"')
    database_url = url.set(database=DATABASE).render_as_string(hide_password=False)
    open_database(database_url).dispose()  # migrated before the clock runs, as a deploy would
    return database_url


def drop_postgres(admin_url: str) -> None:
    url = make_url(admin_url).set(drivername="postgresql").render_as_string(False)
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{DATABASE}" WITH (FORCE)')


@dataclass(frozen=True)
class Ledger:
    orders: int
    quarantined: int
    entries: int
    amount_minor: int
    digest: str


def ledger_of(database_url: str) -> Ledger:
    """Counts, the sum of amount_minor, and a digest of every order's booked facts and of the
    net ledger per (order, deal, payer, payee): equal digests mean equal ledgers."""
    engine = open_database(database_url)
    o, e = orders.c, ledger_entries.c
    digest = hashlib.sha256()
    try:
        with engine.connect() as conn:
            rows = conn.execute(
                select(
                    o.member, o.external_id, o.status, o.total_minor, o.refunded_minor, o.referrer
                )
            ).all()
            net = conn.execute(
                select(
                    e.source_ref, e.deal_id, e.payer, e.payee, e.unit, func.sum(e.amount_minor)
                ).group_by(e.source_ref, e.deal_id, e.payer, e.payee, e.unit)
            ).all()
            entries, amount = conn.execute(
                select(func.count(), func.coalesce(func.sum(e.amount_minor), 0))
            ).one()
            held = conn.execute(select(func.count()).select_from(quarantine)).scalar_one()
    finally:
        engine.dispose()
    # sorted here, not by the database: PostgreSQL's collation is not SQLite's byte order
    for row in sorted(tuple(str(v) for v in r) for r in [*rows, *net]):
        digest.update(repr(row).encode())
    return Ledger(len(rows), held, entries, int(amount), digest.hexdigest()[:16])


def last_success(database_url: str) -> float:
    """When the last member's sync recorded its success, as a Unix time."""
    engine = open_database(database_url)
    try:
        with engine.connect() as conn:
            moment = conn.execute(select(func.max(sync_state.c.last_success_at))).scalar_one()
    finally:
        engine.dispose()
    if isinstance(moment, str):  # SQLite hands back the stored text for an aggregate
        moment = datetime.fromisoformat(moment)
    return moment.replace(tzinfo=UTC).timestamp()
