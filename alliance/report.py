"""Render statements and balances as a table, CSV or JSON (money always as strings).

Store-supplied text (order numbers, deal ids) may be hostile: control characters are
escaped before anything reaches a terminal, and CSV cells that a spreadsheet would run as a
formula (``=``, ``+``, ``-``, ``@`` at the start) are quoted with a leading apostrophe.
"""

from __future__ import annotations

import csv
import io
import json
from decimal import Decimal
from typing import Any

from alliance.money import CREDIT, format_amount
from alliance.statement import Balance, LineStatus, Statement, StatementLine, Totals

_CONTROL = {c: f"\\x{c:02x}" for c in [*range(0x20), 0x7F]}
_CONTROL.update({0x9B: "\\x9b"})  # a single-byte CSI opens terminal escape sequences too


def printable(text: str) -> str:
    """Escape control characters so a hostile string cannot drive the terminal."""
    return text.translate(_CONTROL)


def _cell(text: str) -> str:
    safe = printable(text)
    return "'" + safe if safe[:1] in ("=", "+", "-", "@") and not _is_number(safe) else safe


def _is_number(text: str) -> bool:
    try:
        Decimal(text)
    except ArithmeticError:
        return False
    return True


def _amount(value: Decimal | None, unit: str) -> str:
    return "" if value is None else format_amount(value, unit)


def _line_dict(line: StatementLine) -> dict[str, Any]:
    return {
        "date": line.date,
        "order": line.order,
        "deal": line.deal,
        "counterparty": line.counterparty,
        "kind": line.kind.value,
        "reason": line.reason,
        "base": None if line.base is None else _amount(line.base, line.unit),
        "base_after": None if line.base_after is None else _amount(line.base_after, line.unit),
        "amount": _amount(line.amount, line.unit),
        "status": line.status,
        "approves_on": line.approves_on or None,
        "terms": line.terms,
        "agreement_version": line.agreement_version,
        "entry": line.entry,
    }


def statement_json(statement: Statement) -> str:
    cur = statement.currency
    data = {
        "member": statement.member,
        "period": statement.period,
        "currency": cur,
        "lines": [_line_dict(ln) for ln in statement.lines],
        "totals": {
            "earned": format_amount(statement.earned, cur),
            "owed": format_amount(statement.owed, cur),
            "net": format_amount(statement.net, cur),
        },
        "swap_credits": {
            "lines": [_line_dict(ln) for ln in statement.credit_lines],
            "received": format_amount(statement.credits_received, CREDIT),
            "given": format_amount(statement.credits_given, CREDIT),
        },
    }
    return json.dumps(data, ensure_ascii=False, indent=2)


COLUMNS = (
    "date", "order", "deal", "counterparty", "kind", "reason", "base", "base_after", "amount",
    "status", "approves_on", "terms", "agreement_version", "entry",
)  # fmt: skip
"""CSV and JSON: everything, for machines (``entry`` is what ``alliance dispute open`` names)."""

BOM = "\ufeff"
"""Starts the CSV, so a spreadsheet opens it as UTF-8 (names in Chinese stay readable)."""

TABLE_COLUMNS = (
    "date", "order", "deal", "counterparty", "reason", "base", "you receive", "you pay", "status",
)  # fmt: skip
"""What a person reads: the reason says what ``kind`` would; ``base`` is the change; the
amount sits under who pays it, so no sign has to be read (a minus there takes back an earlier
line); a pending line says the day it becomes approved."""

_AMOUNT_COLUMNS = {5, 6, 7}


def statement_csv(statement: Statement) -> str:
    """UTF-8 with a BOM, one header row, amounts as plain decimals (``-2.00``)."""
    out = io.StringIO()
    out.write(BOM)
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow([*COLUMNS, "unit"])
    for line in (*statement.lines, *statement.credit_lines):
        row = _line_dict(line)
        writer.writerow([_cell(str(row[c] or "")) for c in COLUMNS] + [line.unit])
    return out.getvalue()


def table_lines(headers: list[str], rows: list[list[str]], right: set[int]) -> list[str]:
    """Aligned plain-text table lines: header, rule, rows."""
    widths = [max([len(h)] + [len(r[i]) for r in rows]) for i, h in enumerate(headers)]

    def fmt(cells: list[str]) -> str:
        return "  ".join(
            c.rjust(w) if i in right else c.ljust(w)
            for i, (c, w) in enumerate(zip(cells, widths, strict=True))
        ).rstrip()

    return [fmt(headers), fmt(["-" * w for w in widths]), *(fmt(r) for r in rows)]


def _status_cell(line: StatementLine) -> str:
    if line.status == LineStatus.PENDING.value and line.approves_on:
        return f"pending until {line.approves_on}"
    return line.status


def _table_rows(lines: tuple[StatementLine, ...]) -> list[list[str]]:
    rows = []
    for line in lines:
        row = _line_dict(line)
        amount = _amount(line.amount if line.incoming else -line.amount, line.unit)
        cells = [str(row[c] or "") for c in TABLE_COLUMNS[:6]]
        cells += [amount, ""] if line.incoming else ["", amount]
        rows.append([printable(c) for c in (*cells, _status_cell(line))])
    return rows


def net_words(net: Decimal, unit: str) -> str:
    """``you receive 12.00`` or ``you pay 12.00``: the net, said instead of signed."""
    if net == 0:
        return f"nothing either way ({format_amount(net, unit)})"
    return f"{'you receive' if net > 0 else 'you pay'} {format_amount(abs(net), unit)}"


def statement_table(statement: Statement) -> str:
    cur = statement.currency
    out = [f"Statement for {printable(statement.member)}, period {statement.period} ({cur})", ""]
    if statement.lines:
        out += table_lines(list(TABLE_COLUMNS), _table_rows(statement.lines), _AMOUNT_COLUMNS)
    else:
        out.append("No commission lines in this period.")
    # what a settlement today moves: approved lines, and the reversals and clawbacks that
    # take earlier ones back (final too); pending lines wait for their holdback
    payable = Totals.of(ln for ln in statement.lines if ln.status != LineStatus.PENDING.value)
    out += [
        "",
        f"you receive {format_amount(statement.earned, cur)}   you pay "
        f"{format_amount(statement.owed, cur)}   net: {net_words(statement.net, cur)} {cur}",
        f"payable now (pending lines left out): you receive {format_amount(payable.earned, cur)}"
        f"   you pay {format_amount(payable.owed, cur)}   net: {net_words(payable.net, cur)} {cur}",
    ]
    held = Totals.of(statement.lines).held
    if any(line.held for line in statement.lines):
        out.append(f"held out by disputes {format_amount(held, cur)} {cur} (not in the totals)")
    if statement.credit_lines:
        out += ["", "Swap credits (promotion owed in kind, not money):"]
        out += table_lines(
            list(TABLE_COLUMNS), _table_rows(statement.credit_lines), _AMOUNT_COLUMNS
        )
        out.append(
            f"credits you receive {format_amount(statement.credits_received, CREDIT)}"
            f"   credits you give {format_amount(statement.credits_given, CREDIT)}"
        )
    return "\n".join(out)


def balances_json(period: str, currency: str, balances: list[Balance]) -> str:
    data = {
        "period": period,
        "currency": currency,
        "balances": [
            {"payer": b.payer, "payee": b.payee, "amount": format_amount(b.amount, b.unit)}
            for b in balances
            if b.unit != CREDIT
        ],
        "swap_credits": [
            {"owed_by": b.payer, "owed_to": b.payee, "credits": format_amount(b.amount, CREDIT)}
            for b in balances
            if b.unit == CREDIT
        ],
    }
    return json.dumps(data, ensure_ascii=False, indent=2)


def balances_table(period: str, currency: str, balances: list[Balance]) -> str:
    money = [b for b in balances if b.unit != CREDIT]
    credits = [b for b in balances if b.unit == CREDIT]
    width = max([len(b.payer) for b in balances] + [len(b.payee) for b in balances] + [6])
    out = [f"Balances for {period} before netting ({currency})", ""]
    if money:
        out += [
            f"  {b.payer:<{width}}  owes  {b.payee:<{width}}  {format_amount(b.amount, b.unit):>12}"
            for b in money
        ]
    else:
        out.append("  Nobody owes anybody money in this period.")
    if credits:
        out += ["", "Swap credits (promotion owed in kind, not money):"]
        out += [
            f"  {b.payer:<{width}}  owes  {b.payee:<{width}}  {format_amount(b.amount, CREDIT):>12}"
            f" credit{'s' if b.amount != 1 else ''}"
            for b in credits
        ]
    return "\n".join(out)


def balances_csv(balances: list[Balance]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["payer", "payee", "unit", "amount"])
    for b in balances:
        writer.writerow([b.payer, b.payee, b.unit, format_amount(b.amount, b.unit)])
    return out.getvalue()
