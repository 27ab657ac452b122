"""Shelves are read once per catalog version: a cold block does not rebuild every product,
and a product a sync adds, changes or takes out of stock still shows in the next slot."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

import pytest
from sqlalchemy import Engine, delete
from starlette.applications import Starlette
from starlette.testclient import TestClient

from alliance.storage.schema import products
from tests.widgets.test_blocks import Cards, make_app, product, seed, seed_partners
from widgets.rotation import ROTATION_SECONDS
from widgets.shelves import ShelfCache, catalog_version, shelf_cache_of

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")  # TestClient on httpx


LATER = datetime(2027, 1, 5, 10, 0, tzinfo=UTC)
"""A modification after every seeded product's (the store bumps it on each edit)."""


class Clock:
    """The app's clock: a new rotation slot on every ``turn``."""

    def __init__(self) -> None:
        self.now = 1_800_000_000.0

    def __call__(self) -> float:
        return self.now

    def turn(self) -> None:
        self.now += ROTATION_SECONDS


class Ticker:
    """Real time for the shelf cache, moved by hand."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def setup(sqlite_engine: Engine, agreement) -> tuple[Starlette, Clock, Ticker, ShelfCache]:
    app = make_app(sqlite_engine, agreement)
    clock, ticker = Clock(), Ticker()
    app.state.clock = clock
    cache = app.state.shelf_cache = ShelfCache(check_every=5.0, clock=ticker)
    return app, clock, ticker, cache


def names(client: TestClient, count: int = 6) -> list[str]:
    answer = client.get("/w/li/product", params={"count": str(count)})
    assert answer.status_code == 200
    return Cards(answer.text).names


def test_cold_blocks_in_new_slots_read_the_shelves_once(setup, sqlite_engine) -> None:
    app, clock, _ticker, cache = setup
    seed_partners(sqlite_engine)
    with TestClient(app) as client:
        shown = set()
        for _slot in range(6):
            shown.update(names(client))
            clock.turn()
    assert cache.loads == 1  # six cold renders, one read of the catalog
    assert len(shown) > 6  # the rotation still moves across the shelves


def test_a_changed_catalog_shows_in_the_next_slot_after_the_version_check(
    setup, sqlite_engine
) -> None:
    app, clock, ticker, cache = setup
    seed_partners(sqlite_engine, per_member=1)
    with TestClient(app) as client:
        before = names(client)
        seed(sqlite_engine, product("wang", 250, name="Brand new wash"))  # a sync, elsewhere
        clock.turn()
        assert "Brand new wash" not in names(client)  # within the check interval: kept
        ticker.now += 5.0
        clock.turn()
        assert "Brand new wash" in names(client)
        seed(
            sqlite_engine,
            product("wang", 250, name="Brand new wash", stock_status="outofstock", modified=LATER),
        )
        ticker.now += 5.0
        clock.turn()
        assert "Brand new wash" not in names(client)  # out of stock: off the shelf
        with sqlite_engine.begin() as conn:
            conn.execute(delete(products).where(products.c.member == "zhao"))
        ticker.now += 5.0
        clock.turn()
        after = names(client)
    assert before and cache.loads == 4
    assert not any(name.startswith("zhao") for name in after)


def test_a_new_agreement_reads_the_shelves_again(setup, sqlite_engine, agreement) -> None:
    app, clock, _ticker, cache = setup
    seed_partners(sqlite_engine)
    with TestClient(app) as client:
        names(client)
        app.state.agreement = replace(agreement)  # reloaded: an equal, new object
        clock.turn()
        names(client)
    assert cache.loads == 2


def test_the_version_changes_with_every_add_change_and_removal(sqlite_engine) -> None:
    def version():
        with sqlite_engine.connect() as conn:
            return catalog_version(conn)

    empty = version()
    seed(sqlite_engine, product("wang", 1, name="a"))
    one = version()
    seed(sqlite_engine, product("wang", 1, name="a, renamed", modified=LATER))
    changed = version()
    with sqlite_engine.begin() as conn:
        conn.execute(delete(products))
    assert len({empty, one, changed}) == 3 and version() == empty


def test_the_app_makes_its_cache_on_first_use(sqlite_engine, agreement) -> None:
    app = make_app(sqlite_engine, agreement)
    assert shelf_cache_of(app.state) is shelf_cache_of(app.state)
