"""Statements as documents (HTML printable on A4, the same as PDF), on SQLite and PostgreSQL:
every line cited, totals and transfers, no customer data, hostile text inert, streamed in
chunks without changing a byte, and overridable by a shop's own template."""

from __future__ import annotations

import re
import shutil
import subprocess
from datetime import timedelta
from decimal import Decimal

import pytest

from alliance.audit import Actor
from alliance.services import statement_documents
from alliance.services.disputes import open_dispute
from alliance.services.settlement import record_payment, settle
from alliance.services.statement_documents import statement_html, statement_pdf, write_statements
from alliance.storage import repository as repo
from connector.fixtures.orders import distinctive_customer, woo_order
from connector.woocommerce.ingest import ingest_orders
from tests.conftest import SECRET
from tests.factories import utc

TAG = "zq7unique"
SOLD = utc(2026, 11, 5, 2)
SETTLE = utc(2026, 12, 15, 1)
ME = Actor("bookkeeper@rpa", "alliance settle --period 2026-11")


def book(engine, agreement) -> None:
    """Wang's store, Li's coupon on each order, a customer whose every field has TAG:
    #11, items 1018.40 (total 1028.40 with shipping): 10% is 101.84; then 101.84 of the total
    is refunded, so the base is 1018.40 x 926.56 / 1028.40 = 917.55 and 10% of it 91.76: the
    refund line is -100.85 and -10.08. #12 (a hostile number), items 200.00: 20.00.
    Li earns 101.84 - 10.08 + 20.00 = 111.76."""
    person = distinctive_customer(TAG)
    coupon = [("LI-FRIENDS", Decimal("0"))]
    documents = [
        woo_order(11, created=SOLD, lines=[(201, "Wash", 1, Decimal("1018.40"))], coupons=coupon,
                  customer=person),
        woo_order(12, created=SOLD + timedelta(days=1), lines=[(202, "Oil", 2, Decimal("100.00"))],
                  coupons=coupon, customer=person, number="<script>alert(1)</script>"),
        woo_order(11, created=SOLD, modified=SOLD + timedelta(days=3),
                  lines=[(201, "Wash", 1, Decimal("1018.40"))], coupons=coupon, customer=person,
                  refunds=[Decimal("101.84")]),
    ]  # fmt: skip
    for document in documents:
        result = ingest_orders(
            engine, agreement, [document], member="wang", secret=SECRET.encode(), now=SETTLE
        )
        assert not result.rejected


def html_of(engine, agreement, member="li", **kw) -> str:
    return "".join(statement_html(engine, agreement, member, "2026-11", as_of=SETTLE, **kw))


def test_the_html_cites_every_line_the_totals_and_the_transfers(engine, agreement):
    book(engine, agreement)
    settled = settle(engine, agreement, "2026-11", now=SETTLE, actor=ME).settlement
    record_payment(engine, agreement, settled.transfers[0].id, "ICBC-7", now=SETTLE, actor=ME)
    html = html_of(engine, agreement)
    assert "Refined Parenting Alliance" in html and "Li&#39;s Organic Baby Clothes" in html
    rows = re.findall(r"<tr(?: class=\"held\")?><td class=\"nowrap\">2026-11-\d\d</td>.*?</tr>",
                      html)  # fmt: skip
    assert len(rows) == 3  # the sale of #11, its partial refund, the sale of #12
    assert "partial refund" in rows[1] and "-100.85" in rows[1] and "-10.08" in rows[1]
    terms = '<td>li-wang<br><span class="terms">10%</span></td>'
    assert all(terms in row and agreement.version in row for row in rows)
    with engine.connect() as conn:
        ids = {e.id for e in repo.entries_in_period(conn, "2026-11")}
    assert all(any(entry in row for entry in ids) for row in rows)  # each cites its entry
    assert "you receive 111.76" in html and "net: you receive 111.76 CNY" in html
    assert settled.transfers[0].id in html and "paid 2026-12-15, reference ICBC-7" in html
    assert "Transfers are due by 2026-12-25" in html


def test_no_customer_data_reaches_a_statement_and_hostile_text_stays_text(engine, agreement):
    book(engine, agreement)
    html = html_of(engine, agreement) + html_of(engine, agreement, "wang")
    assert TAG not in html
    assert "<script>alert(1)</script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html


def test_a_disputed_line_is_marked_and_left_out_of_the_totals(engine, agreement):
    book(engine, agreement)
    with engine.connect() as conn:
        (entry,) = [e for e in repo.entries_in_period(conn, "2026-11") if e.amount == 20]
    open_dispute(engine, agreement, entry.id, "not ours", now=SETTLE, actor=ME)
    html = html_of(engine, agreement)
    (held,) = re.findall(r'<tr class="held">.*?</tr>', html)
    assert "disputed" in held and entry.id in held
    assert "net: you receive 91.76 CNY" in html and "not in the totals): 20.00 CNY" in html


def test_streaming_in_small_chunks_renders_the_same_document(engine, agreement, monkeypatch):
    book(engine, agreement)
    whole = html_of(engine, agreement)
    monkeypatch.setattr(statement_documents, "CHUNK", 1)  # each line with its own history read
    pieces = list(statement_html(engine, agreement, "li", "2026-11", as_of=SETTLE))
    assert "".join(pieces) == whole


def test_a_shop_overrides_the_template_from_its_own_folder(engine, agreement, tmp_path):
    book(engine, agreement)
    (tmp_path / "statement.html").write_text(
        "<p>{{ member.name }}: {% for line in lines %}[{{ line.order }}]{% endfor %}</p>",
        encoding="utf-8",
    )
    assert html_of(engine, agreement, template_dir=tmp_path) == (
        "<p>Li&#39;s Organic Baby Clothes: [wang#11][wang#11][wang#&lt;script&gt;alert(1)"
        "&lt;/script&gt;]</p>"
    )


def test_the_pdf_is_the_same_statement_on_a4(engine, agreement, tmp_path):
    if shutil.which("pdftotext") is None:
        pytest.fail("pdftotext is missing: run scripts/system-deps.sh (poppler-utils)")
    book(engine, agreement)
    settle(engine, agreement, "2026-11", now=SETTLE, actor=ME)
    written = write_statements(engine, agreement, "2026-11", tmp_path / "statements",
                               as_of=SETTLE, members=["li", "wang"])  # fmt: skip
    assert sorted(p.name for p in written) == [
        "statement-2026-11-li.html", "statement-2026-11-li.pdf",
        "statement-2026-11-wang.html", "statement-2026-11-wang.pdf",
    ]  # fmt: skip
    pdf = tmp_path / "statements" / "statement-2026-11-li.pdf"
    assert pdf.read_bytes().startswith(b"%PDF-")
    assert statement_pdf(engine, agreement, "li", "2026-11", as_of=SETTLE).startswith(b"%PDF-")
    info = subprocess.run(["pdfinfo", str(pdf)], capture_output=True, text=True, check=True)
    assert "595.276 x 841.89 pts (A4)" in info.stdout
    text = subprocess.run(
        ["pdftotext", "-layout", str(pdf), "-"], capture_output=True, text=True, check=True
    ).stdout
    for cited in ("Li's Organic Baby Clothes", "Refined Parenting Alliance", "wang#11",
                  "partial", "1018.40", "101.84", "-10.08", "111.76", "li-wang", "10%",
                  "approved", "Transfers that settle the period", "page 1 of 1"):  # fmt: skip
        assert cited in text, cited
    assert TAG not in text


def test_a_clawback_streams_with_the_history_from_its_closed_month(engine, agreement, monkeypatch):
    book(engine, agreement)
    settle(engine, agreement, "2026-11", now=SETTLE, actor=ME)
    refunded = woo_order(12, status="refunded", created=SOLD + timedelta(days=1),
                         modified=utc(2026, 12, 20), lines=[(202, "Oil", 2, Decimal("100.00"))],
                         coupons=[("LI-FRIENDS", Decimal("0"))], number="12")  # fmt: skip
    assert not ingest_orders(engine, agreement, [refunded], member="wang",
                             secret=SECRET.encode(), now=utc(2026, 12, 21)).rejected  # fmt: skip
    monkeypatch.setattr(statement_documents, "CHUNK", 1)
    html = "".join(statement_html(engine, agreement, "li", "2026-12", as_of=utc(2026, 12, 21)))
    (row,) = re.findall(r"<tr><td class=\"nowrap\">2026-11-06</td>.*?</tr>", html)
    assert "clawback (refund after 2026-11 closed)" in row and "-20.00" in row
    assert "clawed back" in row and "net: you pay 20.00 CNY" in html
    november = "".join(statement_html(engine, agreement, "li", "2026-11", as_of=SETTLE))
    assert november.count("clawed back</td>") == 1  # the sale it took back, in its own month


def test_payable_now_leaves_out_the_lines_still_in_their_holdback(engine, agreement):
    book(engine, agreement)
    early = SOLD + timedelta(days=5)  # every line is still pending then
    html = "".join(statement_html(engine, agreement, "li", "2026-11", as_of=early))
    assert "net: you receive 111.76 CNY" in html  # all three lines, pending or not
    payable = re.search(r"<td>payable now \(pending lines left out\)</td>(.*?)</tr>", html)[1]
    assert "you receive 0.00" in payable and "net: nothing either way (0.00) CNY" in payable
    later = html_of(engine, agreement)  # at SETTLE: every line approved
    settled = re.search(r"<td>payable now \(pending lines left out\)</td>(.*?)</tr>", later)[1]
    assert "net: you receive 111.76 CNY" in settled
