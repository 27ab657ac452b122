"""The listing walk on its own: it always ends, even against a store that never stops."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta

import pytest

from connector.errors import BadResponse
from connector.pages import ChangedPage, ListingDone, ListingWalk
from connector.storefront import Page

START = datetime(2026, 11, 1, tzinfo=UTC)


class EndlessStore:
    """A broken store: every page is full and newer than the last, whatever it is asked."""

    member = "li"

    def __init__(self, claimed_total: int) -> None:
        self.claimed_total = claimed_total
        self.ids = itertools.count(1)
        self.calls = 0

    def list_orders(self, **_query: object) -> Page:
        self.calls += 1
        documents = []
        for _ in range(100):
            n = next(self.ids)
            moment = START + timedelta(seconds=n)
            documents.append({"id": n, "date_modified_gmt": moment.strftime("%Y-%m-%dT%H:%M:%S")})
        return Page(documents, 1, self.claimed_total, self.claimed_total // 100 + 1)


def test_a_store_that_never_stops_sending_pages_is_refused() -> None:
    store = EndlessStore(claimed_total=250)
    walk = ListingWalk(store, per_page=100)
    with pytest.raises(BadResponse, match="kept sending full pages"):
        for _event in walk.events({"orders": None}):
            pass
    assert store.calls == 3 * 3 + 50  # three times what it claims to hold, plus slack


class FiniteStore:
    """250 orders, one a second, listed oldest change first after ``modified_after``."""

    member = "li"

    def __init__(self) -> None:
        self.orders = [
            {"id": n, "date_modified_gmt": f"{START + timedelta(seconds=n):%Y-%m-%dT%H:%M:%S}"}
            for n in range(1, 251)
        ]

    def list_orders(self, *, modified_after: datetime | None, **_query: object) -> Page:
        bound = "" if modified_after is None else f"{modified_after:%Y-%m-%dT%H:%M:%S}"
        matching = [o for o in self.orders if o["date_modified_gmt"] > bound]
        return Page(matching[:100], 1, len(matching), len(matching) // 100 + 1)


def test_a_finite_listing_ends_with_its_newest_modification() -> None:
    events = list(ListingWalk(FiniteStore(), per_page=100).events({"orders": None}))
    pages = [e for e in events if isinstance(e, ChangedPage)]
    ids = {d["id"] for p in pages for d in p.documents or []}
    assert ids == set(range(1, 251))
    assert len(pages) == 3  # re-anchored twice, one second back each time
    assert events[-1] == ListingDone("orders", START + timedelta(seconds=250))
