"""The sandbox's products: seeded, completed to full WooCommerce documents, read-only over HTTP.

A checkout prices its lines from them and the mutate fault's new orders buy them; over HTTP they
are listed and read like every other kind, from their own indexed collection. The images their
``images[].src`` name on this store's own site are indexed by path, so the server can answer
for them (``connector.sandbox.images``).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any
from urllib.parse import unquote, urlsplit

from connector.sandbox import seed
from connector.sandbox.collection import Collection
from connector.sandbox.posts import PostState


class ProductState(PostState):
    """The store's products, kept in their own indexed collection."""

    def __init__(self, **settings: Any) -> None:
        super().__init__(**settings)
        self.product_store = Collection()
        self._image_paths: dict[str, int] = {}
        """Unquoted path of each image on this site -> the product that names it."""

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
            self._index_images(docs)
            return docs

    def _index_images(self, docs: list[dict[str, Any]]) -> None:
        """Point each image path at its product; a product added again forgets its old ones."""
        replaced = {doc["id"] for doc in docs}
        self._image_paths = {p: i for p, i in self._image_paths.items() if i not in replaced}
        own_site = self.site_url + "/"
        for doc in docs:
            for image in doc.get("images") or ():
                src = image.get("src") if isinstance(image, Mapping) else None
                if isinstance(src, str) and src.startswith(own_site):
                    self._image_paths.setdefault(unquote(urlsplit(src).path), doc["id"])

    def image_at(self, path: str) -> tuple[int, str] | None:
        """``(product id, name)`` of the product whose image is at ``path``, else None."""
        with self.lock:
            product_id = self._image_paths.get(unquote(path))
            summary = None if product_id is None else self.product_store.peek(product_id)
            if product_id is None or summary is None:
                return None
            return product_id, str(summary.get("name") or "")

    def product(self, product_id: int) -> dict[str, Any] | None:
        with self.lock:
            return self.product_store.get(product_id)

    def products(self) -> list[dict[str, Any]]:
        with self.lock:
            return [self.product_store.get(i) for i in self.product_store.ids()]  # type: ignore[misc]
