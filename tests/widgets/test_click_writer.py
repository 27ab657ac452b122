"""The click writer: batched, durable before it answers, and judging within its batch."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import select

from alliance.storage.schema import clicks, ledger_entries
from widgets.click_writer import ClickWriter, PendingClick
from widgets.links import LinkClaim
from widgets.visitors import ClickJudge

AT = datetime(2026, 12, 2, 10, 0, tzinfo=UTC)
CLAIM = LinkClaim(
    source="li", target="zhao", product_id="401", placement="article", deal_id="li-zhao"
)


@pytest.mark.parametrize("inline", [True, False], ids=["on the loop", "on a thread"])
def test_many_clicks_at_once_are_stored_and_a_repeat_in_the_same_batch_is_a_duplicate(
    engine, agreement, inline
) -> None:
    writer = ClickWriter(engine, agreement, ClickJudge(agreement), inline=inline)
    visitors = [f"visitor-{n:03d}" for n in range(40)] + ["visitor-000"]  # one repeat
    pending = [
        PendingClick(CLAIM, f"click-{n:03d}", visitor, "browser", AT)
        for n, visitor in enumerate(visitors)
    ]

    async def all_at_once() -> None:
        await asyncio.gather(*(writer.record(p) for p in pending))

    try:
        asyncio.run(all_at_once())
    finally:
        writer.stop()
    with engine.connect() as conn:
        rows = conn.execute(select(clicks.c.visitor_key, clicks.c.valid, clicks.c.invalid_reason))
        stored = list(rows)
        paid = conn.execute(select(ledger_entries.c.source_ref)).scalars().all()
    assert len(stored) == 41
    repeats = [r for r in stored if r.visitor_key == "visitor-000"]
    assert sorted((r.valid, r.invalid_reason) for r in repeats) == [
        (False, "duplicate"),
        (True, ""),
    ]
    assert len(paid) == 40  # only valid clicks are paid on the per-click deal


@pytest.mark.parametrize("inline", [True, False], ids=["on the loop", "on a thread"])
def test_requests_waiting_on_a_failed_batch_all_fail_and_nothing_is_stored(
    sqlite_engine, agreement, inline
) -> None:
    writer = ClickWriter(sqlite_engine, agreement, ClickJudge(agreement), inline=inline)
    clicks_ = [PendingClick(CLAIM, f"ok-{n}", f"visitor-{n}", "browser", AT) for n in range(5)]
    clicks_.append(PendingClick(CLAIM, "naive", "visitor-x", "browser", AT.replace(tzinfo=None)))

    async def all_at_once() -> list[object]:
        return await asyncio.gather(*(writer.record(c) for c in clicks_), return_exceptions=True)

    try:
        outcomes = asyncio.run(all_at_once())
    finally:
        writer.stop()
    assert all(isinstance(o, Exception) for o in outcomes)  # no request gets its 302
    assert len({id(o) for o in outcomes}) == 1  # they all learn of the batch's one failure
    with sqlite_engine.connect() as conn:
        assert conn.execute(select(clicks.c.id)).scalars().all() == []


def test_the_writer_writes_on_the_loop_for_sqlite_and_on_a_thread_for_postgres(
    sqlite_engine, postgres_engine, agreement
) -> None:
    assert ClickWriter(sqlite_engine, agreement, ClickJudge(agreement)).inline
    assert not ClickWriter(postgres_engine, agreement, ClickJudge(agreement)).inline


def test_on_sqlite_a_thread_checkpoints_the_wal_so_commits_on_the_loop_never_wait_for_it(
    sqlite_engine, agreement, monkeypatch
) -> None:
    import alliance.storage.wal as wal
    import widgets.click_writer as module

    monkeypatch.setattr(wal, "CHECKPOINT_SECONDS", 0.05)
    writer = ClickWriter(sqlite_engine, agreement, ClickJudge(agreement))
    database = Path(sqlite_engine.url.database)
    pending = [PendingClick(CLAIM, f"c-{n:04d}", f"v-{n}", "browser", AT) for n in range(300)]

    async def all_at_once() -> tuple[int, int]:
        await asyncio.gather(*(writer.record(p) for p in pending))
        own = writer._loop_connection()  # the writer's own: it checkpoints only as a backstop
        pages = own.exec_driver_sql("PRAGMA wal_autocheckpoint").scalar_one()
        return pages, own.exec_driver_sql("PRAGMA busy_timeout").scalar_one()

    try:  # and it never waits for the write lock: a busy database holds the clicks instead
        assert asyncio.run(all_at_once()) == (module.BACKSTOP_PAGES, module.LOOP_WAIT_MS)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and database.stat().st_size < 64 * 1024:
            time.sleep(0.05)  # the checkpoint thread copies the WAL into the database file
    finally:
        writer.stop()
    assert database.stat().st_size >= 64 * 1024
    with sqlite_engine.connect() as conn:
        assert len(conn.execute(select(clicks.c.id)).all()) == 300
