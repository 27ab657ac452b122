"""Settlements, transfers, disputes and the audit log as tables and JSON (money as strings).

Times are shown in the alliance's timezone. Text a person typed (reasons, notes, payment
references) or a store sent (order numbers) goes through :func:`~alliance.report.printable`
before it reaches a terminal.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from alliance.audit import AuditEvent
from alliance.disputes import Dispute
from alliance.money import CREDIT, format_amount
from alliance.report import printable, table_lines
from alliance.settlement import HeldLine, Settlement, SwapBalance, Transfer, TransferStatus


def _local(moment: datetime | None, timezone: str) -> str:
    return "" if moment is None else f"{moment.astimezone(ZoneInfo(timezone)):%Y-%m-%d %H:%M}"


def _credits(amount: Decimal) -> str:
    return format_amount(amount, CREDIT)


def _signed_credits(amount: Decimal) -> str:
    return ("+" if amount > 0 else "") + _credits(amount)


def _transfer_dict(t: Transfer) -> dict[str, str]:
    return {"id": t.id, "from": t.payer, "to": t.payee, "amount": format_amount(t.amount, t.unit)}


def _swap_dict(b: SwapBalance) -> dict[str, str]:
    return {
        "owed_by": b.owed_by,
        "owed_to": b.owed_to,
        "brought_forward": _credits(b.brought_forward),
        "this_period": _credits(b.this_period),
        "carried_forward": _credits(b.carried_forward),
    }


def _held_dict(h: HeldLine) -> dict[str, str]:
    return {
        "entry": h.entry,
        "dispute": h.dispute,
        "dispute_status": h.status,
        "period": h.period,
        "order": h.order,
        "deal": h.deal,
        "from": h.payer,
        "to": h.payee,
        "amount": format_amount(h.amount, h.unit),
        "unit": h.unit,
        "reason": h.reason,
    }


def settlement_json(s: Settlement) -> str:
    """``{"period", "currency", "transfers", "swap_balances", "held", ...}``; the same
    settlement always prints the same text."""
    data: dict[str, Any] = {
        "period": s.period,
        "currency": s.currency,
        "transfers": [_transfer_dict(t) for t in s.transfers],
        "swap_balances": [_swap_dict(b) for b in s.swap_balances],
        "held": [_held_dict(h) for h in s.held],
        "released": [_held_dict(h) for h in s.released],
        "settled_at": s.settled_at.isoformat(),
        "settled_by": s.settled_by,
        "due_on": s.due_on.isoformat(),
        "forced": s.forced,
        "entries": s.entries,
    }
    return json.dumps(data, ensure_ascii=False, indent=2)


def settlement_table(s: Settlement, timezone: str) -> str:
    cur = s.currency
    out = [
        f"Settlement of {s.period} ({cur}): settled {_local(s.settled_at, timezone)} "
        f"({timezone}) by {printable(s.settled_by)}, from {s.entries} ledger entries; "
        f"transfers due {s.due_on.isoformat()}",
    ]
    if s.forced:
        out.append("  (settled with --force: lines still inside the holdback were approved early)")
    out.append("")
    if s.transfers:
        out.append(f"Transfers ({len(s.transfers)}):")
        rows = [[t.id, t.payer, t.payee, format_amount(t.amount, t.unit)] for t in s.transfers]
        out += ["  " + line for line in table_lines(["id", "from", "to", "amount"], rows, {3})]
    else:
        out.append("No transfers: nobody owes anybody money for this period.")
    if s.swap_balances:
        out += ["", "Swap credits (promotion owed in kind, not money; carried forward):"]
        out += [f"  {_swap_sentence(b)}" for b in s.swap_balances]
    if s.held:
        out += ["", f"Held out of this settlement by disputes ({len(s.held)}):"]
        out += _held_table(s.held)
    if s.released:
        out += [
            "",
            f"Held before, settled here (their disputes were rejected) ({len(s.released)}):",
        ]
        out += _held_table(s.released)
    return "\n".join(out)


def _swap_sentence(b: SwapBalance) -> str:
    plural = "" if b.carried_forward == 1 else "s"
    return (
        f"{b.owed_by} owes {b.owed_to} {_credits(b.carried_forward)} credit{plural} "
        f"(brought forward {_credits(b.brought_forward)}, this period "
        f"{_signed_credits(b.this_period)})"
    )


def _held_table(lines: Sequence[HeldLine]) -> list[str]:
    headers = ["entry", "dispute", "status", "order", "deal", "from", "to", "amount", "reason"]
    rows = [
        [
            h.entry,
            h.dispute,
            h.status,
            printable(h.order),
            h.deal,
            h.payer,
            h.payee,
            format_amount(h.amount, h.unit) + ("" if h.unit != CREDIT else " cr"),
            printable(h.reason),
        ]
        for h in lines
    ]
    return ["  " + line for line in table_lines(headers, rows, {7})]


def _status_text(status: TransferStatus, days_overdue: int, paid: Any, timezone: str) -> str:
    if status is TransferStatus.PAID:
        return f"paid {_local(paid.paid_at, timezone)[:10]} ({printable(paid.reference)})"
    if status is TransferStatus.OVERDUE:
        return f"OVERDUE by {days_overdue} day{'s' if days_overdue != 1 else ''}"
    return "open"


def transfers_table(states: Sequence[Any], timezone: str) -> str:
    """``states``: :class:`~alliance.services.settlement.TransferState` values."""
    if not states:
        return "No transfers yet: settle a period with alliance settle --period YYYY-MM."
    headers = ["id", "period", "from", "to", "amount", "due", "status"]
    rows = [
        [
            s.transfer.id,
            s.transfer.period,
            s.transfer.payer,
            s.transfer.payee,
            format_amount(s.transfer.amount, s.transfer.unit),
            s.transfer.due_on.isoformat(),
            _status_text(s.status, s.days_overdue, s.payment, timezone),
        ]
        for s in states
    ]
    out = table_lines(headers, rows, {4})
    overdue = [s for s in states if s.status is TransferStatus.OVERDUE]
    unpaid = [s for s in states if s.status is not TransferStatus.PAID]
    out.append("")
    if overdue:
        total: dict[str, Decimal] = {}
        for s in overdue:
            total[s.transfer.unit] = total.get(s.transfer.unit, Decimal(0)) + s.transfer.amount
        money = ", ".join(f"{format_amount(a, u)} {u}" for u, a in sorted(total.items()))
        out.append(
            f"{len(overdue)} transfer(s) overdue ({money}) under the agreement's payment terms; "
            "once paid: alliance transfers paid ID --reference TEXT"
        )
    elif unpaid:
        out.append(f"{len(unpaid)} transfer(s) open, none overdue.")
    else:
        out.append("Every transfer is paid.")
    return "\n".join(out)


def transfers_json(states: Sequence[Any], timezone: str) -> str:
    data = [
        {
            **_transfer_dict(s.transfer),
            "period": s.transfer.period,
            "currency": s.transfer.unit,
            "due_on": s.transfer.due_on.isoformat(),
            "status": s.status.value,
            "days_overdue": s.days_overdue,
            "paid_at": None if s.payment is None else s.payment.paid_at.isoformat(),
            "reference": None if s.payment is None else s.payment.reference,
            "recorded_by": None if s.payment is None else s.payment.recorded_by,
        }
        for s in states
    ]
    return json.dumps({"timezone": timezone, "transfers": data}, ensure_ascii=False, indent=2)


def disputes_table(found: Sequence[Dispute], timezone: str) -> str:
    if not found:
        return "No disputes."
    headers = ["dispute", "entry", "order", "deal", "from", "to", "period", "status", "opened"]
    headers.append("reason / note")
    rows = []
    for d in found:
        text = d.reason + (f" / {d.note}" if d.note else "")
        source_ref, deal, payer, payee, _unit = d.line
        rows.append(
            [
                d.id,
                d.entry,
                printable(source_ref),
                deal,
                payer,
                payee,
                d.period,
                d.status.value,
                _local(d.opened_at, timezone),
                printable(text),
            ]
        )
    return "\n".join(table_lines(headers, rows, set()))


def audit_table(events: Iterable[AuditEvent], timezone: str) -> str:
    rows = [
        [
            str(e.id),
            _local(e.at, timezone),
            printable(e.actor),
            e.action.value,
            printable(e.subject),
            printable(" ".join(f"{k}={v}" for k, v in e.details.items())),
            printable(e.command),
        ]
        for e in events
    ]
    if not rows:
        return "The audit log is empty: nothing was settled, paid or disputed yet."
    headers = ["#", f"at ({timezone})", "who", "did", "what", "details", "command"]
    return "\n".join(table_lines(headers, rows, {0}))


def audit_json(events: Iterable[AuditEvent]) -> str:
    data = [
        {
            "id": e.id,
            "at": e.at.isoformat(),
            "actor": e.actor,
            "command": e.command,
            "action": e.action.value,
            "subject": e.subject,
            "details": dict(e.details),
        }
        for e in events
    ]
    return json.dumps(data, ensure_ascii=False, indent=2)
