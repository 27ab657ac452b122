"""Benchmark: settling a month of a large ledger, and one member's 20,000-line statement.

    python bench/settlement.py [--entries 1000000] [--members 50] [--months 12]
                               [--lines 20000] [--rounds 3] [--databases sqlite,postgres]

A ledger of 50 members and 1,000,000 entries over 12 months (83,333 a month; member m00 is in
20,000 of each month's and m01 in 5,000 more, the rest spread over ring neighbours; one sale in
ten partly refunded in the same month, 2% of lines swap credits) is written straight into the
ledger table (COPY on PostgreSQL), once per database. Then, each round on a month not settled
yet:

  baseline   SELECT payer, payee, unit, sum(amount_minor) ... WHERE period = :p GROUP BY ...:
             the least any settlement must do (read the month once), measured just before
  settle     alliance.services.settlement.settle: close, sum, hold disputes, net, store, audit
  again      settling the same month again (reads the stored settlement back)
  statement  m00's statement of that month as HTML, streamed to a sink (20,000 lines; the
             best of three renders)

and once, under tracemalloc, the peak Python memory of a settlement and of the statements of
m00 (20,000 lines) and of m01 (about 6,000): flat means the two statements peak alike (both are
read and rendered 2,000 entries at a time).

Goals (issue 13): settle within 3x the baseline query; the statement within 1 s; memory flat
in the number of entries. Not a timed test: the machine is shared and noisy, so the rounds are
interleaved and the best of each is kept; read the ratios.
"""

from __future__ import annotations

import argparse
import hashlib
import random
import sys
import tempfile
import time
import tracemalloc
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import Engine, create_engine, text

from alliance.agreement import Agreement
from alliance.agreement.parse import load_agreement
from alliance.audit import Actor
from alliance.ledger import Entry, EntryKind, SourceKind
from alliance.money import CREDIT, round_money
from alliance.services.settlement import settle
from alliance.services.statement_documents import statement_html
from alliance.storage import repository as repo
from alliance.storage.database import open_database
from alliance.storage.schema import ledger_entries

FIRST_MONTH = (2025, 12)
NOW = datetime(2027, 2, 1, tzinfo=UTC)  # after every month's settlement day
TZ = "Asia/Shanghai"
POSTGRES_ADMIN = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
ACTOR = Actor("bench@settlement", "python bench/settlement.py")
RING = 4  # each member partners with the 4 members on either side of it
BASELINE = text(
    "SELECT payer, payee, unit, sum(amount_minor) FROM ledger_entries "
    "WHERE period = :period GROUP BY payer, payee, unit"
)


def months(count: int) -> list[str]:
    year, month = FIRST_MONTH
    found = []
    for _ in range(count):
        found.append(f"{year:04d}-{month:02d}")
        year, month = year + month // 12, month % 12 + 1
    return found


def agreement_text(members: int) -> str:
    """An alliance of ``members`` shops; percent deals between ring neighbours, both ways,
    and a swap between each even member and the next."""
    names = [f"m{n:02d}" for n in range(members)]
    out = [
        "[alliance]",
        'name = "Benchmark Alliance"',
        'currency = "CNY"',
        f'timezone = "{TZ}"',
        "",
    ]
    for name in names:
        out += [f"[members.{name}]", f'name = "Shop {name}"', f'url = "https://{name}.example"', ""]
    for deal in deals(members):
        referrer, seller, kind = deal
        if kind == "swap":
            out += ["[[deals]]", f'id = "{referrer}-{seller}-swap"', 'pay = "swap"',
                    f'members = ["{referrer}", "{seller}"]', ""]  # fmt: skip
        else:
            out += ["[[deals]]", f'id = "{referrer}-{seller}"', f'referrer = "{referrer}"',
                    f'seller = "{seller}"', 'pay = "percent"', 'rate = "10%"', ""]  # fmt: skip
    return "\n".join(out)


def deals(members: int) -> list[tuple[str, str, str]]:
    found = []
    for n in range(members):
        for step in range(1, RING + 1):
            for other in ((n + step) % members, (n - step) % members):
                found.append((f"m{n:02d}", f"m{other:02d}", "percent"))
    for n in range(0, members - 1, 2):
        found.append((f"m{n:02d}", f"m{n + 1:02d}", "swap"))
    return sorted(set(found))


def entries(
    agreement: Agreement, total: int, period_list: list[str], lines: int, seed: int = 13
) -> Iterator[Entry]:
    """The ledger: ``total`` entries over the months, m00 in ``lines`` of each month's (and m01
    in a quarter as many more, for a second statement longer than a chunk)."""
    rng = random.Random(seed)
    percent = [(d.legs[0].referrer, d.legs[0].seller, d.id) for d in agreement.deals
               if d.kind.value == "percent"]  # fmt: skip
    hub = [p for p in percent if "m00" in p[:2]]
    second = [p for p in percent if "m01" in p[:2] and "m00" not in p[:2]]
    rest = [p for p in percent if not {"m00", "m01"} & set(p[:2])]
    swaps = [(d.legs[0].referrer, d.legs[0].seller, d.id) for d in agreement.deals
             if d.kind.value == "swap" and not {"m00", "m01"} & set(d.members)]  # fmt: skip
    per_month = total // len(period_list)
    counter = 0
    for index, period in enumerate(period_list):
        year, month = int(period[:4]), int(period[5:7])
        start = datetime(year, month, 1, tzinfo=UTC) + timedelta(hours=1)
        made = 0
        while made < per_month:
            counter += 1
            hub_line = made < min(lines, per_month)
            second_line = not hub_line and made < min(lines + lines // 4, per_month)
            swap = not hub_line and not second_line and rng.random() < 0.02
            pool = hub if hub_line else second if second_line else swaps if swap else rest
            referrer, seller, deal = rng.choice(pool)
            if swap and rng.random() < 0.5:
                referrer, seller = seller, referrer
            moment = start + timedelta(seconds=rng.randrange(27 * 86400))
            ref = f"{seller}/{index}-{counter}"
            unit = CREDIT if swap else "CNY"
            base = None if swap else Decimal(rng.randrange(5_000, 200_000)).scaleb(-2)
            amount = Decimal(1) if swap else round_money(base * Decimal("0.10"), "CNY")
            yield _entry(agreement, ref, moment, 0, deal, seller, referrer, unit, amount, base,
                         period)  # fmt: skip
            made += 1
            limit = lines if hub_line else lines + lines // 4 if second_line else per_month
            if not swap and made < limit and rng.random() < 0.1:  # a partial refund
                share = Decimal(rng.randrange(10, 60)) / 100
                after = round_money(base * (1 - share), "CNY")
                back = round_money(after * Decimal("0.10"), "CNY") - amount
                yield _entry(agreement, ref, moment, 1, deal, seller, referrer, unit, back,
                             after, period, modified=moment + timedelta(days=2))  # fmt: skip
                made += 1


def _entry(
    agreement: Agreement,
    ref: str,
    moment: datetime,
    refunded: int,
    deal: str,
    payer: str,
    payee: str,
    unit: str,
    amount: Decimal,
    base: Decimal | None,
    period: str,
    modified: datetime | None = None,
) -> Entry:
    """An entry as booking writes it: dated by the order's sale, its revision by the change."""
    changed = int((modified or moment).timestamp())
    revision = f"{changed:011d}~5{refunded * 10**6:016d}~{ref[-6:]:0>12}"
    key = "|".join((ref, revision, deal))
    return Entry(
        id=hashlib.blake2b(key.encode(), digest_size=12).hexdigest(),
        source=SourceKind.ORDER,
        source_ref=ref,
        revision=revision,
        deal_id=deal,
        kind=EntryKind.ACCRUAL if amount > 0 else EntryKind.REVERSAL,
        payer=payer,
        payee=payee,
        unit=unit,
        amount=amount,
        base=base,
        period=period,
        occurred_at=moment,
        agreement_version=agreement.version,
        label=f"{payer}#{ref.split('/')[1]}",
    )


def write_ledger(engine: Engine, stream: Iterator[Entry], total: int) -> None:
    booked = NOW - timedelta(days=1)
    batch: list[Entry] = []
    written = 0
    if engine.dialect.name == "postgresql":
        columns = ", ".join(c.name for c in ledger_entries.c)
        raw = engine.raw_connection()
        try:
            with (
                raw.cursor() as cursor,
                cursor.copy(f"COPY ledger_entries ({columns}) FROM STDIN") as copy,
            ):  # type: ignore[attr-defined]
                for e in stream:
                    copy.write_row(_row(e, booked))
                    written += 1
                    if written % 200_000 == 0:
                        print(f"    {written:,} / {total:,}", flush=True)
            raw.commit()
        finally:
            raw.close()
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.exec_driver_sql("VACUUM ANALYZE ledger_entries")
        return
    with engine.begin() as conn:
        for e in stream:
            batch.append(e)
            if len(batch) == 20_000:
                written += repo.insert_entries(conn, batch, booked)
                batch.clear()
                if written % 200_000 == 0:
                    print(f"    {written:,} / {total:,}", flush=True)
        written += repo.insert_entries(conn, batch, booked)
    with engine.connect() as conn:
        conn.exec_driver_sql("ANALYZE")


def _row(e: Entry, booked: datetime) -> tuple[Any, ...]:
    from alliance.money import to_minor

    naive = e.occurred_at.astimezone(UTC).replace(tzinfo=None)
    return (
        e.id, e.source.value, e.source_ref, e.revision, e.deal_id, e.kind.value, e.payer,
        e.payee, e.unit, to_minor(e.amount, e.unit),
        None if e.base is None else to_minor(e.base, e.unit), e.period, naive,
        e.agreement_version, e.label, booked.replace(tzinfo=None),
    )  # fmt: skip


def timed(func: Callable[[], Any]) -> tuple[float, Any]:
    started = time.perf_counter()
    result = func()
    return time.perf_counter() - started, result


def baseline(engine: Engine, period: str) -> int:
    with engine.connect() as conn:
        return len(conn.execute(BASELINE, {"period": period}).all())


def render(engine: Engine, agreement: Agreement, member: str, period: str) -> int:
    size = 0
    for piece in statement_html(engine, agreement, member, period, as_of=NOW):
        size += len(piece)
    return size


def peak(func: Callable[[], Any]) -> int:
    tracemalloc.start()
    try:
        func()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def member_lines(engine: Engine, member: str, period: str) -> int:
    query = text(
        "SELECT count(*) FROM ledger_entries WHERE period = :p AND (payer = :m OR payee = :m)"
    )
    with engine.connect() as conn:
        return int(conn.execute(query, {"p": period, "m": member}).scalar_one())


def run(engine: Engine, agreement: Agreement, args: argparse.Namespace, name: str) -> None:
    period_list = months(args.months)
    print(
        f"\n== {name}: writing {args.entries:,} entries over {args.months} months ...", flush=True
    )
    took, _ = timed(lambda: write_ledger(engine, entries(agreement, args.entries, period_list,
                                                          args.lines), args.entries))  # fmt: skip
    print(f"   written in {took:.1f} s", flush=True)
    best = {"baseline": float("inf"), "settle": float("inf"), "again": float("inf"),
            "statement": float("inf")}  # fmt: skip
    sizes = {}
    for round_, period in enumerate(period_list[: args.rounds]):
        lines = member_lines(engine, "m00", period)
        b1, groups = timed(lambda p=period: baseline(engine, p))
        s, settled = timed(lambda p=period: settle(engine, agreement, p, now=NOW, actor=ACTOR))
        b2, _ = timed(lambda p=period: baseline(engine, p))
        a, again = timed(lambda p=period: settle(engine, agreement, p, now=NOW, actor=ACTOR))
        h, size = min(timed(lambda p=period: render(engine, agreement, "m00", p)) for _ in range(3))
        assert settled.created and not again.created and again.settlement == settled.settlement
        base = min(b1, b2)
        print(
            f"   round {round_ + 1} ({period}: {settled.settlement.entries:,} entries, {groups} "
            f"directions, {len(settled.settlement.transfers)} transfers): baseline "
            f"{base * 1000:.0f} ms, settle {s * 1000:.0f} ms ({s / base:.2f}x), again "
            f"{a * 1000:.1f} ms, statement of m00 ({lines:,} lines, {size / 1e6:.1f} MB) "
            f"{h:.2f} s",
            flush=True,
        )
        for key, value in (("baseline", base), ("settle", s), ("again", a), ("statement", h)):
            best[key] = min(best[key], value)
        sizes[period] = lines
    ratio = best["settle"] / best["baseline"]
    print(f"   best: baseline {best['baseline'] * 1000:.0f} ms, settle "
          f"{best['settle'] * 1000:.0f} ms = {ratio:.2f}x the baseline (goal <= 3x: "
          f"{'met' if ratio <= 3 else 'NOT met'}); settling again {best['again'] * 1000:.1f} ms; "
          f"statement {best['statement']:.2f} s (goal <= 1 s: "
          f"{'met' if best['statement'] <= 1 else 'NOT met'})")  # fmt: skip

    unsettled = period_list[args.rounds] if args.rounds < len(period_list) else None
    small = "m01"
    period = period_list[0]
    big_peak = peak(lambda: render(engine, agreement, "m00", period))
    small_lines = member_lines(engine, small, period)
    small_peak = peak(lambda: render(engine, agreement, small, period))
    print(f"   peak Python memory: statement of m00 ({sizes[period]:,} lines) "
          f"{big_peak / 1e6:.1f} MB, of {small} ({small_lines:,} lines) {small_peak / 1e6:.1f} "
          f"MB", end="")  # fmt: skip
    if unsettled is not None:
        settle_peak = peak(lambda: settle(engine, agreement, unsettled, now=NOW, actor=ACTOR))
        print(f"; settling {unsettled} ({args.entries // args.months:,} entries) "
              f"{settle_peak / 1e6:.1f} MB")  # fmt: skip
    else:
        print()


def postgres_database() -> tuple[str, Callable[[], None]]:
    name = f"alliance_bench_{uuid.uuid4().hex[:8]}"
    admin = create_engine(POSTGRES_ADMIN, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))

    def drop() -> None:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()

    return POSTGRES_ADMIN.rsplit("/", 1)[0] + f"/{name}", drop


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--entries", type=int, default=1_000_000)
    parser.add_argument("--members", type=int, default=50)
    parser.add_argument("--months", type=int, default=12)
    parser.add_argument("--lines", type=int, default=20_000, help="m00's lines in each month")
    parser.add_argument("--rounds", type=int, default=3, help="months settled, one per round")
    parser.add_argument("--databases", default="sqlite,postgres")
    args = parser.parse_args()
    args.rounds = max(1, min(args.rounds, args.months))
    with tempfile.TemporaryDirectory() as tmp:
        config = Path(tmp) / "alliance.toml"
        config.write_text(agreement_text(args.members), encoding="utf-8")
        agreement = load_agreement(config)
        print(
            f"{args.members} members, {len(agreement.deals)} deals; {args.entries:,} ledger "
            f"entries over {args.months} months; m00 in {args.lines:,} lines a month"
        )
        for name in args.databases.split(","):
            if name == "sqlite":
                engine = open_database(f"sqlite:///{Path(tmp) / 'bench.db'}")
                run(engine, agreement, args, "SQLite")
                engine.dispose()
            elif name == "postgres":
                url, drop = postgres_database()
                try:
                    engine = open_database(url)
                    run(engine, agreement, args, "PostgreSQL")
                    engine.dispose()
                finally:
                    drop()
            else:
                parser.error(f"unknown database {name!r}: sqlite or postgres")


if __name__ == "__main__":
    main()
