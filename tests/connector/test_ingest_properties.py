"""Properties: whatever JSON value lands in one order, only that order can be refused.

Any value in any field of one order (or the field deleted) is booked or refused as
:class:`OrderDataError`; nothing else is raised, and the other orders of the batch are booked,
by ``import-orders``' path and by the page path the sync takes.
"""

from __future__ import annotations

import itertools
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine, select

from alliance.agreement.parse import load_agreement
from alliance.errors import OrderDataError
from alliance.storage.database import open_database
from alliance.storage.schema import orders
from connector.fixtures.orders import woo_order
from connector.woocommerce.ingest import book_prepared, ingest_orders, prepare_page
from tests.conftest import EXAMPLE, SECRET
from tests.connector.test_mapping_properties import PATHS, _replaced, json_values

KEY = SECRET.encode()
NOW = datetime(2026, 12, 7, 12, 0, tzinfo=UTC)
PROPERTY = settings(
    max_examples=150,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
AGREEMENT = load_agreement(EXAMPLE)
_ids = itertools.count(10**12)


@pytest.fixture(scope="module")
def database(tmp_path_factory: pytest.TempPathFactory) -> Engine:
    engine = open_database(f"sqlite:///{tmp_path_factory.mktemp('ingest') / 'alliance.db'}")
    yield engine
    engine.dispose()


def _batch(path: tuple[Any, ...], value: Any, delete: bool) -> tuple[list[Any], set[str]]:
    """Two good orders around one odd one, with ids no other example uses."""
    good = [woo_order(next(_ids)), woo_order(next(_ids))]
    odd = _replaced(path, value, delete)
    if path != ("id",):
        odd["id"] = next(_ids)
    return [good[0], odd, good[1]], {str(order["id"]) for order in good}


def _booked(engine: Engine, ids: set[str]) -> set[str]:
    with engine.connect() as conn:
        query = select(orders.c.external_id).where(orders.c.external_id.in_(ids))
        return set(conn.execute(query).scalars())


def _only_order_errors(rejected: list[Any]) -> None:
    assert len(rejected) <= 1
    for error in rejected:
        assert isinstance(error, OrderDataError)
        assert error.order and error.field and error.message
        assert str(error).isprintable()


@PROPERTY
@given(st.sampled_from(PATHS), json_values, st.booleans())
def test_one_odd_order_never_stops_an_import_batch(
    database: Engine, path: tuple[Any, ...], value: Any, delete: bool
) -> None:
    documents, good = _batch(path, value, delete)
    result = ingest_orders(database, AGREEMENT, documents, member="wang", secret=KEY, now=NOW)
    _only_order_errors(result.rejected)
    assert _booked(database, good) == good


@PROPERTY
@given(st.sampled_from(PATHS), json_values, st.booleans())
def test_one_odd_order_never_stops_a_synced_page(
    database: Engine, path: tuple[Any, ...], value: Any, delete: bool
) -> None:
    documents, good = _batch(path, value, delete)
    with database.connect() as reader:
        batch = prepare_page(reader, documents, member="wang", secret=KEY, now=NOW)
    result = book_prepared(database, AGREEMENT, batch)
    _only_order_errors(result.rejected)
    assert _booked(database, good) == good


def test_the_example_agreement_is_the_one_the_properties_book_under(example_path: Path) -> None:
    assert load_agreement(example_path).version == AGREEMENT.version
