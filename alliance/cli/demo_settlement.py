"""The demo's settlement: its closed months settled, one line disputed, one transfer paid,
and every member's statement written as HTML and PDF for the bookkeeper.

The disputed line is one Wang owes in the last closed month (not the order Wang refunds
later, whose story is the clawback): the dispute keeps it out of that month's transfers, as
a member's "this sale was not yours" would in a real alliance.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from sqlalchemy import Engine

from alliance.agreement import Agreement
from alliance.audit import Actor
from alliance.disputes import Dispute
from alliance.services.disputes import open_dispute
from alliance.services.reporting import member_statement
from alliance.services.settlement import record_payment, settle, transfer_states
from alliance.settlement import Settlement
from alliance.settlement_report import settlement_table, transfers_table

DEMO_ACTOR = Actor("demo", "alliance demo")
DISPUTER = "wang"
DISPUTE_REASON = "Customer says she found us through a search, not Li's link"
PAYMENT_REFERENCE = "DEMO-BANK-0001"


def dispute_a_line(
    engine: Engine, agreement: Agreement, period: str, *, now: datetime, spare: str
) -> Dispute | None:
    """Wang disputes the first money line it owes in ``period`` other than order ``spare``;
    None when it owes none (a quiet month)."""
    statement = member_statement(engine, agreement, DISPUTER, period, as_of=now)
    for line in statement.lines:
        owed = not line.incoming and line.unit == agreement.currency and line.amount
        if owed and line.order != spare and line.entry:
            return open_dispute(
                engine, agreement, line.entry, DISPUTE_REASON, now=now, actor=DEMO_ACTOR
            )
    return None


def settle_months(
    engine: Engine, agreement: Agreement, periods: Sequence[str], *, now: datetime
) -> list[Settlement]:
    """Settle each closed month in order. Forced: the demo's last month may still have lines
    within the holdback, which a real alliance would wait for."""
    return [
        settle(engine, agreement, period, now=now, force=True, actor=DEMO_ACTOR).settlement
        for period in periods
    ]


def echo_settlements(
    echo: Callable[[str], None],
    engine: Engine,
    agreement: Agreement,
    settled: Sequence[Settlement],
    disputed: Dispute | None,
    *,
    now: datetime,
    directory: Path,
) -> None:
    """Print each settlement, pay the first transfer of the last one, print where transfers
    stand, and write the last month's statements."""
    timezone = agreement.settings.timezone
    for settlement in settled:
        echo("")
        period = settlement.period
        echo(f"=== Settlement of {period}: alliance settle --period {period} ===")
        echo("")
        echo(settlement_table(settlement, timezone))
    if not settled:
        return
    last = settled[-1]
    if disputed is not None:
        echo("")
        echo(
            f"{DISPUTER} disputed entry {disputed.entry} ({disputed.reason!r}): the line stays "
            f"out of {last.period}'s transfers until it is decided: alliance dispute resolve "
            f"{disputed.id} --accept|--reject --note ..."
        )
    if last.transfers:
        first = last.transfers[0]
        record_payment(engine, agreement, first.id, PAYMENT_REFERENCE, now=now, actor=DEMO_ACTOR)
        echo("")
        echo(
            f"{first.payer} paid {first.payee} and recorded it: alliance transfers paid "
            f"{first.id} --reference {PAYMENT_REFERENCE}"
        )
    today = now.astimezone(ZoneInfo(timezone)).date()
    echo("")
    echo(
        transfers_table(
            transfer_states(engine, agreement, today=today, period=last.period), timezone
        )
    )
    echo("")
    echo(_write_statements(engine, agreement, last.period, directory / "statements", now=now))


def _write_statements(
    engine: Engine, agreement: Agreement, period: str, directory: Path, *, now: datetime
) -> str:
    """The statements as HTML, and as PDF where WeasyPrint's system libraries are present
    (``make test`` installs them; ``make demo`` needs only Python, so it says how)."""
    from alliance.services.statement_documents import write_statements

    formats: tuple[str, ...] = ("html", "pdf")
    missing = ""
    try:
        import weasyprint  # noqa: F401
    except (OSError, ImportError) as exc:  # Pango and friends are not installed
        formats, missing = ("html",), str(exc).splitlines()[0]
    written = write_statements(engine, agreement, period, directory, as_of=now, formats=formats)
    kinds = " and ".join(f.upper() for f in formats)
    said = f"{len(written)} statement files of {period} ({kinds}) written to {directory}/"
    if missing:
        said += (
            f"\nNo PDFs: WeasyPrint's system libraries are missing ({missing}). Install them "
            "with `sudo bash scripts/system-deps.sh`, then `alliance statement --format pdf`."
        )
    return said
