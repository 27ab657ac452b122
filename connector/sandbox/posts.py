"""What every kind of sandbox document shares, as WordPress posts do: clock, ids, links, meta.

Orders, refunds, products and coupons are all posts in WordPress, so they draw from one id
sequence, stamp dates from one clock (whole seconds, site-local and GMT) and keep ``meta_data``
the same way. :class:`PostState` holds those, with the one re-entrant lock that guards the
whole store; the order, coupon and product states build on it.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from connector.fixtures.orders import woo_date


class PostState:
    """The lock, the clock and the id sequence of one sandbox store."""

    def __init__(
        self,
        *,
        site_url: str = "http://127.0.0.1",
        clock: Callable[[], datetime] | None = None,
        utc_offset_hours: int = 8,
    ) -> None:
        self.lock = threading.RLock()
        self.site_url = site_url.rstrip("/")
        self.api_root = self.site_url + "/wp-json/wc/v3"
        self.utc_offset = timedelta(hours=utc_offset_hours)
        self._clock = clock or (lambda: datetime.now(UTC))
        self._next_id = 1

    # -- time and ids ------------------------------------------------------------------------

    def now(self) -> datetime:
        """The clock, in UTC, to the second (WooCommerce keeps whole seconds)."""
        moment = self._clock()
        moment = moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
        return moment.replace(microsecond=0)

    def stamp(self, doc: dict[str, Any], name: str, moment: datetime | None) -> None:
        """Set ``name`` (site-local) and ``name_gmt`` (UTC) from one moment."""
        doc[name] = woo_date(moment, self.utc_offset)
        doc[f"{name}_gmt"] = woo_date(moment)

    def _new_id(self) -> int:
        """Orders, refunds, products and coupons are all posts: one id sequence, as WordPress."""
        with self.lock:
            self._next_id += 1
            return self._next_id - 1

    def _claim(self, doc_id: int) -> None:
        self._next_id = max(self._next_id, doc_id + 1)

    # -- links and meta ----------------------------------------------------------------------

    def _links(self, doc: dict[str, Any], collection: str) -> None:
        doc["_links"] = {
            "self": [{"href": f"{self.api_root}/{collection}/{doc['id']}"}],
            "collection": [{"href": f"{self.api_root}/{collection}"}],
        }

    def _merge_meta(self, doc: dict[str, Any], changes: Iterable[Mapping[str, Any]]) -> None:
        """``meta_data`` writes: by id if given, else replacing the value of the same key."""
        meta = doc.setdefault("meta_data", [])
        for change in changes:
            target = next(
                (
                    m
                    for m in meta
                    if ("id" in change and m.get("id") == change["id"])
                    or m["key"] == change.get("key")
                ),
                None,
            )
            if target is None:
                meta.append(
                    {
                        "id": doc["id"] * 1000 + 100 + len(meta),
                        "key": change.get("key"),
                        "value": change.get("value"),
                    }
                )
            else:
                target["value"] = change.get("value")
