"""Statements a bookkeeper files: HTML printable on A4, and the same HTML as a PDF.

The HTML is streamed: the member's lines are read from the database a chunk at a time (a
server-side cursor on PostgreSQL), each chunk with its orders' history, turned into lines by
:func:`alliance.statement.statement_lines` and rendered as they come
(:meth:`jinja2.Template.generate`); totals are added up on the way and printed after the
lines. So memory stays flat however long the month is. The PDF is WeasyPrint's rendering of
that same HTML (which needs the whole document: a PDF is laid out page by page).

Templates: ``statement.html`` is looked up in the shop's folder first (``template_dir``, from
``ALLIANCE_TEMPLATE_DIR``), then in the shipped ``templates/``; autoescaped, strict. WeasyPrint
fetches nothing but ``data:`` URLs, so a statement never calls out to the network.
"""

from __future__ import annotations

import html
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from itertools import islice
from pathlib import Path
from typing import Any, NamedTuple
from zoneinfo import ZoneInfo

from jinja2 import ChoiceLoader, Environment, FileSystemLoader, StrictUndefined, select_autoescape
from sqlalchemy import Connection, Engine

import templates
from alliance.agreement import Agreement
from alliance.money import CREDIT, format_amount
from alliance.report import net_words
from alliance.services.reporting import Terms, member_held_lines
from alliance.settlement import TransferStatus, settlement_day, transfer_status
from alliance.statement import LineStatus, StatementLine, Totals, statement_lines
from alliance.storage import settlements
from alliance.storage.statement_lines import member_chunks

SHIPPED_TEMPLATES = Path(templates.__file__).resolve().parent
TEMPLATE = "statement.html"
FORMATS = ("html", "pdf")

CHUNK = 2000
"""Entries read (and turned into lines) at a time: memory is bounded by this, not the month."""

PIECE = 4096
"""Jinja's fragments (a few characters each) joined into one piece of HTML handed on."""


@lru_cache(maxsize=8)
def _environment(override: str | None) -> Environment:
    loaders = [FileSystemLoader(override)] if override else []
    loaders.append(FileSystemLoader(str(SHIPPED_TEMPLATES)))
    return Environment(
        loader=ChoiceLoader(loaders),
        autoescape=select_autoescape(default_for_string=True, default=True),
        undefined=StrictUndefined,
        auto_reload=False,
        trim_blocks=True,
        lstrip_blocks=True,
    )


class _Printed:
    """:class:`Totals` as the template prints them: amounts in the unit, the net in words."""

    def __init__(self, sums: Totals, unit: str) -> None:
        self.sums = sums
        self.unit = unit

    @property
    def lines(self) -> int:
        return self.sums.lines

    @property
    def earned(self) -> str:
        return format_amount(self.sums.earned, self.unit)

    @property
    def owed(self) -> str:
        return format_amount(self.sums.owed, self.unit)

    @property
    def net(self) -> str:
        return format_amount(self.sums.net, self.unit)

    @property
    def net_words(self) -> str:
        """``you receive 12.00`` / ``you pay 12.00``: the net said, not signed."""
        return net_words(self.sums.net, self.unit)

    @property
    def held(self) -> str:
        return format_amount(self.sums.held, self.unit)


class _Totals(_Printed):
    """The statement's totals, added up while the lines stream and read after the last one;
    ``payable`` is what a settlement today moves: every line but the pending ones."""

    def __init__(self, unit: str) -> None:
        super().__init__(Totals(), unit)
        self.payable = _Printed(Totals(), unit)
        self.has_held = False

    def add(self, line: StatementLine) -> None:
        self.sums.add(line)
        if line.status != LineStatus.PENDING.value:
            self.payable.sums.add(line)
        self.has_held = self.has_held or line.held


_ROW = (
    '<tr{held}><td class="nowrap">{date}</td><td class="order">{order}</td><td>{deal}<br>'
    '<span class="terms">{terms}</span></td><td>{partner}</td><td>{reason}</td>{base}'
    '<td class="num">{amount}</td><td>{status}</td><td class="id">{entry}<br>{version}</td>'
    "</tr>\n"
)
"""The shipped line (``{{ line }}`` in statement.html): one row of the lines table, built here
because 20,000 of them must render within a second; a shop's own statement.html can lay a
line out from its fields instead (``line.date``, ``line.order``, ...)."""


class Row(NamedTuple):
    """One line as the template prints it: its fields as text, and the shipped row's HTML."""

    date: str
    order: str
    deal: str
    terms: str
    partner: str
    reason: str
    base: str  # empty for swap credits, which have none
    amount: str
    status: str
    held: bool
    entry: str
    version: str
    credits: bool

    def __html__(self) -> str:
        """The row, every text escaped (autoescaping calls this for ``{{ line }}``)."""
        escape = html.escape
        return _ROW.format(
            held=' class="held"' if self.held else "",
            date=escape(self.date),
            order=escape(self.order),
            deal=escape(self.deal),
            terms=escape(self.terms),
            partner=escape(self.partner),
            reason=escape(self.reason),
            base="" if self.credits else f'<td class="num">{escape(self.base)}</td>',
            amount=escape(self.amount),
            status=escape(self.status),
            entry=escape(self.entry),
            version=escape(self.version),
        )


def _row(line: StatementLine, totals: _Totals) -> Row:
    """Amounts come from the ledger already rounded to the unit (the one rounding rule ran when
    each entry was booked), so they are printed as they are."""
    totals.add(line)
    return Row(
        line.date,
        line.order,
        line.deal,
        line.terms,
        ("from " if line.incoming else "to ") + line.counterparty,
        line.reason,
        "" if line.base is None else f"{line.base:f}",
        f"{line.amount:f}",
        line.status,
        line.held,
        line.entry,
        line.agreement_version,
        line.unit == CREDIT,
    )


def _lines(
    conn: Connection,
    agreement: Agreement,
    member: str,
    period: str,
    *,
    credits: bool,
    as_of: datetime,
    settled: bool,
    terms: Terms,
    held: dict,
    totals: _Totals,
) -> Iterator[Row]:
    config = agreement.settings
    chunks = member_chunks(conn, period, member, credits=credits, chunk=CHUNK)
    for entries, history in chunks:
        for line in statement_lines(
            member,
            entries,
            history,
            timezone=config.timezone,
            holdback_days=config.holdback_days,
            as_of=as_of,
            held=held,
            terms=terms,
            settled=settled,
        ):
            yield _row(line, totals)


@dataclass(frozen=True)
class _Named:
    id: str
    name: str
    version: str = ""


def _context(
    conn: Connection, agreement: Agreement, member: str, period: str, as_of: datetime
) -> dict[str, Any]:
    config = agreement.settings
    zone = ZoneInfo(config.timezone)
    settlement = settlements.load_settlement(conn, period)
    today = as_of.astimezone(zone).date()
    transfers = []
    for transfer, payment in settlements.transfers_with_payments(conn, period, member):
        status = transfer_status(transfer, payment, today)
        said = status.value
        if status is TransferStatus.PAID and payment is not None:
            said = (
                f"paid {payment.paid_at.astimezone(zone):%Y-%m-%d}, reference {payment.reference}"
            )
        transfers.append(
            {
                "id": transfer.id,
                "payer": transfer.payer,
                "payee": transfer.payee,
                "amount": format_amount(transfer.amount, transfer.unit),
                "due_on": transfer.due_on.isoformat(),
                "status": said,
            }
        )
    swaps = []
    for b in settlement.swap_balances if settlement else ():
        if member in (b.owed_by, b.owed_to):
            swaps.append(
                f"Carried forward: {b.owed_by} owes {b.owed_to} "
                f"{format_amount(b.carried_forward, CREDIT)} credit(s) (brought forward "
                f"{format_amount(b.brought_forward, CREDIT)}, this period "
                f"{format_amount(b.this_period, CREDIT)})."
            )
    terms = Terms(conn, agreement)
    held = member_held_lines(conn, member)
    totals, credit_totals = _Totals(agreement.currency), _Totals(CREDIT)
    shared = {"as_of": as_of, "settled": settlement is not None, "terms": terms, "held": held}
    return {
        "alliance": _Named("", config.name, agreement.version),
        "member": _Named(member, agreement.members[member].name),
        "period": period,
        "currency": agreement.currency,
        "timezone": config.timezone,
        "prepared": f"{as_of.astimezone(zone):%Y-%m-%d %H:%M}",
        "holdback_days": config.holdback_days,
        "payment_due_days": config.payment_due_days,
        "settles_on": settlement_day(
            period, config.timezone, config.holdback_days, config.settlement_day
        ).isoformat(),
        "settlement": None
        if settlement is None
        else {
            "settled_at": f"{settlement.settled_at.astimezone(zone):%Y-%m-%d %H:%M}",
            "settled_by": settlement.settled_by,
            "due_on": settlement.due_on.isoformat(),
            "forced": settlement.forced,
        },
        "transfers": transfers,
        "swap_balances": swaps,
        "lines": _lines(conn, agreement, member, period, credits=False, totals=totals, **shared),
        "credit_lines": _lines(
            conn, agreement, member, period, credits=True, totals=credit_totals, **shared
        ),
        "totals": totals,
        "credit_totals": credit_totals,
    }


def statement_html(
    engine: Engine,
    agreement: Agreement,
    member: str,
    period: str,
    *,
    as_of: datetime,
    template_dir: str | Path | None = None,
) -> Iterator[str]:
    """The member's statement as HTML, in pieces as it is rendered (join them, or write each)."""
    template = _environment(str(template_dir) if template_dir else None).get_template(TEMPLATE)
    with engine.connect() as conn:
        fragments = template.generate(**_context(conn, agreement, member, period, as_of))
        while piece := list(islice(fragments, PIECE)):
            yield "".join(piece)


def statement_pdf(
    engine: Engine,
    agreement: Agreement,
    member: str,
    period: str,
    *,
    as_of: datetime,
    template_dir: str | Path | None = None,
) -> bytes:
    """The same statement as a PDF (A4), rendered from its HTML by WeasyPrint."""
    from weasyprint import HTML
    from weasyprint.urls import URLFetcher

    html = "".join(
        statement_html(engine, agreement, member, period, as_of=as_of, template_dir=template_dir)
    )
    fetcher = URLFetcher(allowed_protocols=["data"])
    return HTML(string=html, url_fetcher=fetcher, media_type="print").write_pdf()


def write_statements(
    engine: Engine,
    agreement: Agreement,
    period: str,
    directory: Path,
    *,
    as_of: datetime,
    formats: tuple[str, ...] = FORMATS,
    members: list[str] | None = None,
    template_dir: str | Path | None = None,
) -> list[Path]:
    """Every member's (or ``members``') statement of ``period`` into ``directory``, as
    ``statement-<period>-<member>.html`` and ``.pdf``; returns the files written."""
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for member in members or list(agreement.members):
        stem = directory / f"statement-{period}-{member}"
        if "html" in formats:
            path = stem.with_suffix(".html")
            with path.open("w", encoding="utf-8") as out:
                for piece in statement_html(
                    engine, agreement, member, period, as_of=as_of, template_dir=template_dir
                ):
                    out.write(piece)
            written.append(path)
        if "pdf" in formats:
            path = stem.with_suffix(".pdf")
            path.write_bytes(
                statement_pdf(
                    engine, agreement, member, period, as_of=as_of, template_dir=template_dir
                )
            )
            written.append(path)
    return written
