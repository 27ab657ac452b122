"""The sandbox's products: seeded, completed to full WooCommerce documents, read-only over HTTP.

A checkout prices its lines from them and the mutate fault's new orders buy them; over HTTP they
are listed and read like every other kind, from their own indexed collection.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from connector.sandbox import seed
from connector.sandbox.collection import Collection
from connector.sandbox.posts import PostState


class ProductState(PostState):
    """The store's products, kept in their own indexed collection."""

    def __init__(self, **settings: Any) -> None:
        super().__init__(**settings)
        self.product_store = Collection()

    def add_product(self, product: Mapping[str, Any]) -> dict[str, Any]:
        return self.add_products([product])[0]

    def add_products(self, products: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
        with self.lock:
            docs = []
            for product in products:
                product_id = product.get("id")
                if not isinstance(product_id, int):
                    product_id = self._new_id()
                self._claim(product_id)
                doc = seed.complete_product(
                    {**product, "id": product_id}, self.site_url, self.utc_offset, self.now()
                )
                self._links(doc, "products")
                docs.append(doc)
            self.product_store.put_many(docs)
            return docs

    def product(self, product_id: int) -> dict[str, Any] | None:
        with self.lock:
            return self.product_store.get(product_id)

    def products(self) -> list[dict[str, Any]]:
        with self.lock:
            return [self.product_store.get(i) for i in self.product_store.ids()]  # type: ignore[misc]
