"""The newborn gift pack on four sandbox stores: Li's orders trigger packs, Wang, Zhang and Zhao
receive the coupons; the example agreement pointed at the stores, a real database, real HTTP."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from sqlalchemy import Engine

from alliance.agreement import Agreement
from alliance.agreement.parse import parse_agreement
from alliance.giftpacks import CouponState, PackStatus
from alliance.services import giftpacks as packs
from alliance.storage.database import open_database
from connector.fixtures.orders import woo_order
from connector.fixtures.products import woo_product
from connector.giftpacks import IssueReport, issue_gift_packs
from connector.http import HttpPolicy, StoreClient
from connector.sandbox.server import SandboxHandle, start_sandbox
from connector.sync import SyncReport, sync_member
from connector.woocommerce.store import WooCommerceStore
from tests.conftest import EXAMPLE, SECRET

KEY = SECRET.encode()
LINKS = "https://go.parenting.example"
SALE = datetime(2026, 12, 5, 2, 0, tzinfo=UTC)
PARTNERS = ("wang", "zhang", "zhao")
PRODUCTS = {
    "li": [(101, "Organic cotton gift set", Decimal("320.00"))],
    "wang": [(501, "Organic baby wash", Decimal("59.00")), (502, "Baby lotion", Decimal("45.00"))],
    "zhang": [(601, "Wooden stacking rings", Decimal("88.00"))],
    "zhao": [(701, "Newborn photo shoot", Decimal("899.00"))],
}


def li_order(order_id: int, items: str = "320.00", **kw: Any) -> dict[str, Any]:
    """An order at Li's for ``items`` (one line), shipping 10, paid a minute after creation."""
    kw.setdefault("created", SALE + timedelta(minutes=order_id % 100))
    lines = [(101, "Organic cotton gift set", 1, Decimal(items))]
    return woo_order(order_id, lines=lines, **kw)


def li_orders() -> list[dict[str, Any]]:
    """Two that qualify (1001, 1002), and three that do not."""
    return [
        li_order(1001),
        li_order(1002, "450.00", status="completed"),
        li_order(1003, "120.00"),  # under the threshold
        li_order(1004, "500.00", status="on-hold"),  # not paid
        li_order(1005, "350.00", created=datetime(2026, 11, 20, tzinfo=UTC)),  # before it starts
    ]


def agreement_text(stores: dict[str, SandboxHandle], extra: Callable[[str], str] | None) -> str:
    text = EXAMPLE.read_text(encoding="utf-8")
    for member, handle in stores.items():
        text = text.replace(f'url = "https://{member}.example"', f'url = "{handle.url}"')
    return extra(text) if extra is not None else text


def without_zhao(text: str) -> str:
    """The agreement after Zhao left: its member table, its deals and its reward are gone."""
    text = re.sub(r"\[members\.zhao\].*?(?=\n# Deals)", "", text, flags=re.S)
    text = re.sub(r"\[\[deals\]\]\nid = \"li-zhao\".*?(?=\n\[\[deals\]\])", "", text, flags=re.S)
    text = re.sub(r"\[\[deals\]\]\nid = \"zhang-zhao\".*?(?=\n\[\[promotions\]\])", "", text,
                  flags=re.S)  # fmt: skip
    return re.sub(r"\n  \{ member = \"zhao\".*?\},", "", text)


def without_promotion(text: str) -> str:
    return text[: text.index("[[promotions]]")]


@dataclass
class GiftAlliance:
    """Four stores, the agreement pointing at them, and a database."""

    directory: Path
    stores: dict[str, SandboxHandle]
    engine: Engine
    agreement: Agreement
    now: datetime | None = None  # None: the real time
    opened: list[WooCommerceStore] = field(default_factory=list)

    def clock(self) -> datetime:
        return self.now or datetime.now(UTC)

    def reconfigure(self, extra: Callable[[str], str] | None) -> None:
        """The members changed the agreement (a partner left, a promotion ended)."""
        self.agreement = parse_agreement(agreement_text(self.stores, extra), "alliance.toml")

    def store(self, member: str) -> WooCommerceStore:
        handle = self.stores[member]
        client = StoreClient(member, policy=HttpPolicy(attempts=1, read_timeout=10),
                             verify=True, sleep=lambda _s: None)  # fmt: skip
        url = self.agreement.members[member].url
        store = WooCommerceStore(
            member, url, handle.key.consumer_key, handle.key.consumer_secret, client=client
        )
        self.opened.append(store)
        return store

    def sync(self, *members: str) -> list[SyncReport]:
        return [
            sync_member(self.engine, self.agreement, self.store(m), secret=KEY, clock=self.clock)
            for m in members
        ]

    def issue(self, **options: Any) -> IssueReport:
        options.setdefault("link_for", link_for)
        return issue_gift_packs(
            self.engine,
            self.agreement,
            secret=KEY,
            open_store=self.store,
            clock=self.clock,
            **options,
        )

    def packs(self) -> list[packs.GiftPack]:
        with self.engine.connect() as conn:
            return packs.packs(conn)

    def pack(self, order_id: int) -> packs.GiftPack:
        (found,) = [p for p in self.packs() if p.trigger_order_id == str(order_id)]
        return found

    def coupons(self, member: str) -> dict[str, dict[str, Any]]:
        """The store's coupons by code."""
        return {c["code"]: c for c in self.stores[member].state.coupons()}

    def notes(self, order_id: int) -> list[str]:
        """Li's customer notes on an order, oldest first."""
        notes = self.stores["li"].state.notes(order_id)
        return [n["note"] for n in reversed(notes) if n["customer_note"]]

    def states(self, order_id: int) -> dict[str, CouponState]:
        return {c.member: c.state for c in self.pack(order_id).coupons}

    def status(self, order_id: int) -> PackStatus:
        return self.pack(order_id).status


def link_for(source: str, target: str, promotion: str) -> str:
    """A stand-in for the web app's signed link (the CLI hands in the real one)."""
    return f"{LINKS}/r/{source}-{target}-{promotion}"


@contextmanager
def gift_alliance(
    directory: Path,
    *,
    database_url: str | None = None,
    orders: list[dict[str, Any]] | None = None,
    extra: Callable[[str], str] | None = None,
    coupons: dict[str, list[dict[str, Any]]] | None = None,
) -> Iterator[GiftAlliance]:
    """Li with its orders, the partners with their products; every store synced once."""
    with ExitStack() as stack:
        stores = {}
        for member, items in PRODUCTS.items():
            products = [woo_product(pid, name=name, price=price, modified=SALE)
                        for pid, name, price in items]  # fmt: skip
            stores[member] = stack.enter_context(
                start_sandbox(
                    orders=(orders if orders is not None else li_orders())
                    if member == "li"
                    else (),
                    products=products,
                    coupons=(coupons or {}).get(member, ()),
                )
            )
        url = database_url or f"sqlite:///{directory / 'alliance.db'}"
        engine = open_database(url)
        stack.callback(engine.dispose)
        agreement = parse_agreement(agreement_text(stores, extra), "alliance.toml")
        alliance = GiftAlliance(directory, stores, engine, agreement)
        stack.callback(lambda: [s.close() for s in alliance.opened])
        alliance.sync(*stores)
        yield alliance
