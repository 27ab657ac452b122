"""Shared pieces of the connect-your-store tests: the app over HTTPS in a thread, a sandbox
store that trusts it, and a look at every stored byte for a plaintext secret."""

from __future__ import annotations

import dataclasses
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import trustme
import uvicorn
from sqlalchemy import Engine, func, select
from starlette.applications import Starlette

from alliance.agreement import Agreement
from alliance.services.sync_records import load_states
from alliance.settings import Settings
from alliance.storage.schema import ledger_entries, metadata
from connector.fixtures.orders import woo_order
from connector.sandbox.seed import generate_orders, generate_products
from connector.sandbox.server import SandboxHandle, start_sandbox
from tests.conftest import EXAMPLE, SECRET
from widgets.app import create_app

KEYS_SECRET = "keys-secret-for-the-connect-tests-0123456789"
MEMBER = "wang"


def test_settings(database_url: str = "sqlite://", **changes: object) -> Settings:
    base = Settings(
        config_path=EXAMPLE,
        database_url=database_url,
        secret=SECRET,
        http_attempts=1,
        keys_secret=KEYS_SECRET,
    )
    return dataclasses.replace(base, **changes)


def with_store(agreement: Agreement, url: str, member: str = MEMBER) -> Agreement:
    moved = dataclasses.replace(agreement.members[member], url=url)
    return dataclasses.replace(agreement, members={**agreement.members, member: moved})


@dataclass
class HttpsApp:
    """A real uvicorn server over TLS (a throw-away CA) on a free port, in a thread."""

    app: Starlette
    directory: Path

    def __post_init__(self) -> None:
        ca = trustme.CA(organization_name="connect tests")
        self.ca_path = str(self.directory / "app-ca.pem")
        ca.cert_pem.write_to_path(self.ca_path)
        pem = str(self.directory / "app-cert.pem")
        ca.issue_cert("127.0.0.1").private_key_and_cert_chain_pem.write_to_path(pem)
        config = uvicorn.Config(
            self.app,
            host="127.0.0.1",
            port=0,
            log_level="warning",
            lifespan="on",
            ssl_certfile=pem,
            ssl_keyfile=pem,
        )
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self) -> HttpsApp:
        self.thread.start()
        wait_for(lambda: self.server.started, "uvicorn did not start")
        port = self.server.servers[0].sockets[0].getsockname()[1]
        self.url = f"https://127.0.0.1:{port}"
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)


def wait_for(condition: Callable[[], object], what: str, timeout: float = 15) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, what
        time.sleep(0.02)


@dataclass
class Connectable:
    store: SandboxHandle
    app: HttpsApp
    agreement: Agreement
    settings: Settings
    engine: Engine


@contextmanager
def connectable(
    engine: Engine, agreement: Agreement, directory: Path, **app_options: object
) -> Iterator[Connectable]:
    """Wang's sandbox store (no key for the alliance yet) and the app over HTTPS, trusted by
    the store; nothing in the environment."""
    orders = [*generate_orders(6, seed=15, start=7001), referred(7101), referred(7102)]
    with start_sandbox(orders=orders, products=generate_products()) as store:
        moved = with_store(agreement, store.url)
        settings = test_settings()
        app = create_app(settings, agreement=moved, engine=engine, environ={}, **app_options)
        with HttpsApp(app, directory) as server:
            store.trust_callbacks(server.ca_path)
            yield Connectable(store, server, moved, settings, engine)


REFERRED_AT = datetime(2026, 11, 20, 3, 0, tzinfo=UTC)


def referred(order_id: int) -> dict:
    """A paid order at Wang's with Li's referral coupon: it books a commission for Li."""
    return woo_order(
        order_id,
        status="processing",
        created=REFERRED_AT,
        modified=REFERRED_AT,
        coupons=[("LI-FRIENDS", Decimal("5.00"))],
    )


def commission(engine: Engine, order_id: int, member: str = MEMBER) -> int:
    """What the ledger holds for an order, net, in minor units."""
    with engine.connect() as conn:
        total = conn.execute(
            select(func.coalesce(func.sum(ledger_entries.c.amount_minor), 0)).where(
                ledger_entries.c.source_ref == f"{member}/{order_id}"
            )
        )
        return int(total.scalar_one())


def first_sync_done(engine: Engine, member: str = MEMBER) -> bool:
    with engine.connect() as conn:
        state = load_states(conn).get(member)
    return state is not None and state.last_success_at is not None


def stored_text(engine: Engine) -> str:
    """Every row of every table as text, plus the SQLite files' bytes (WAL included)."""
    parts = []
    with engine.connect() as conn:
        for table in metadata.sorted_tables:
            parts.extend(repr(tuple(row)) for row in conn.execute(select(table)))
    if engine.dialect.name == "sqlite" and engine.url.database:
        database = Path(engine.url.database)
        for path in database.parent.glob(database.name + "*"):
            parts.append(path.read_bytes().decode("latin-1"))
    return "\n".join(parts)
