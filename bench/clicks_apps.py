"""The apps ``bench/clicks.py`` serves (imported by uvicorn / granian in their own processes),
the database they run on, and the tokens its clients follow."""

from __future__ import annotations

import os
import random
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

EXAMPLE = ROOT / "examples" / "alliance.toml"
SECRET = "bench-secret-bench-secret-bench-secret-0123456789"
BROWSER = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0"
LINKS = [  # (source, target, deal): every deal kind the example agreement has
    ("li", "wang", "li-wang"),  # percent: judged like every click, paid nothing
    ("li", "zhao", "li-zhao"),  # per click: judged, valid clicks booked in the ledger
    ("wang", "li", "wang-li"),
    ("wang", "zhang", "wang-zhang"),
    ("zhang", "zhao", "zhang-zhao"),  # swap
]
PRODUCTS_PER_MEMBER = 40
PLACEMENTS = ("product", "cart", "thankyou", "article")
BARE_LOCATION = (
    b"https://zhao.example/product/item-7/?utm_source=alliance&utm_medium=article"
    b"&utm_campaign=li-zhao&utm_content=AAAAAAAAAAAAAAAAAAAAAA"
)
ENV_DB = "BENCH_CLICKS_DATABASE_URL"
ENV_CLOCK = "BENCH_CLICKS_CLOCK"  # "real" | "frozen" | "jumping"

# --- the servers' apps (imported by uvicorn / granian in their own processes) ---------------


async def bare_app(scope: dict, receive: Any, send: Any) -> None:
    """The ceiling: the same 302 (Location, no-store), no work at all."""
    if scope["type"] == "lifespan":
        while (await receive())["type"] != "lifespan.shutdown":
            await send({"type": "lifespan.startup.complete"})
        return await send({"type": "lifespan.shutdown.complete"})
    headers = [(b"location", BARE_LOCATION), (b"cache-control", b"no-store")]
    await send({"type": "http.response.start", "status": 302, "headers": headers})
    await send({"type": "http.response.body", "body": b""})


class JumpingClock:
    """A clock that moves one rotation slot (60 s) per call: every block request is cold."""

    def __init__(self) -> None:
        self.now = time.time()

    def __call__(self) -> float:
        self.now += 60.0
        return self.now


def alliance_app() -> Any:
    """The real app (``widgets.app.create_app``) on the database the bench prepared."""
    from alliance.settings import Settings
    from widgets.app import create_app, tune_collector

    settings = Settings(config_path=EXAMPLE, database_url=os.environ[ENV_DB], secret=SECRET)
    app = create_app(settings)
    tune_collector()  # as `alliance serve` does
    clock = os.environ.get(ENV_CLOCK, "real")
    if clock == "frozen":  # warm blocks stay in one slot however long the run
        frozen = time.time()
        app.state.clock = lambda: frozen
    elif clock == "jumping":
        app.state.clock = JumpingClock()
    return app


# --- preparing a database -------------------------------------------------------------------


def prepare_database(url: str) -> None:
    """Migrate and seed products for every member (published, in stock, on its own store)."""
    from alliance.agreement.parse import load_agreement
    from alliance.services.catalog import upsert_products
    from alliance.storage.database import open_database
    from connector.fixtures.products import woo_product
    from connector.woocommerce.products import map_product

    agreement = load_agreement(EXAMPLE)
    engine = open_database(url)
    items = []
    for k, (member, info) in enumerate(sorted(agreement.members.items()), start=1):
        for n in range(PRODUCTS_PER_MEMBER):
            raw = woo_product(1000 * k + n, name=f"{member} item {n}", site=info.url)
            items.append(map_product(raw, member))
    with engine.begin() as conn:
        upsert_products(conn, items)
    engine.dispose()


def click_tokens() -> list[str]:
    """Signed tokens over every (link, product, placement): the paths clients cycle over."""
    from alliance.agreement.parse import load_agreement
    from widgets.links import LinkClaim, link_key, sign_link

    members = sorted(load_agreement(EXAMPLE).members)
    key = link_key(SECRET.encode())
    tokens = []
    for source, target, deal in LINKS:
        k = members.index(target) + 1
        for n in range(PRODUCTS_PER_MEMBER):
            for placement in PLACEMENTS:
                claim = LinkClaim(source, target, str(1000 * k + n), placement, deal)
                tokens.append(sign_link(key, claim))
    random.Random(5).shuffle(tokens)
    return tokens


def database_counts(url: str) -> dict[str, int]:
    from sqlalchemy import func, select

    from alliance.storage.database import create_database_engine
    from alliance.storage.schema import clicks, ledger_entries

    engine = create_database_engine(url)
    with engine.connect() as conn:
        out = {"clicks": conn.execute(select(func.count()).select_from(clicks)).scalar_one()}
        for reason, count in conn.execute(
            select(clicks.c.invalid_reason, func.count()).group_by(clicks.c.invalid_reason)
        ):
            out[f"  {reason or 'valid'}"] = count
        query = select(func.count()).select_from(ledger_entries)
        out["ledger entries"] = conn.execute(query).scalar_one()
    engine.dispose()
    return out
