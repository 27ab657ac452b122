"""The sandbox store serves an image at every URL its products' ``images[].src`` name, so partner
blocks built from a sandbox store show pictures; any other path is still its 404 page."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from xml.etree import ElementTree

import pytest
import requests

from connector.fixtures.products import woo_product
from connector.sandbox.images import MAX_AGE, SVG_TYPE
from connector.sandbox.seed import generate_products
from connector.sandbox.server import SandboxHandle, start_sandbox


@pytest.fixture(scope="module")
def store() -> Iterator[SandboxHandle]:
    with start_sandbox(products=generate_products(3)) as handle:
        handle.state.add_products(
            [
                woo_product(
                    501, name="Wash & massage set", price=Decimal("99.00"), site=handle.url
                ),
                woo_product(502, name="婴儿沐浴露", price=Decimal("59.00"), site=handle.url),
                woo_product(503, name="Photo elsewhere", image="https://cdn.example/p.jpg"),
                woo_product(504, name="No picture", image=None, site=handle.url),
            ]
        )
        yield handle


def image_urls(store: SandboxHandle) -> dict[int, str]:
    return {p["id"]: p["images"][0]["src"] for p in store.state.products() if p["images"]}


def test_every_image_a_product_names_on_the_store_loads_as_an_svg(store: SandboxHandle) -> None:
    urls = {i: url for i, url in image_urls(store).items() if url.startswith(store.url)}
    assert len(urls) == 5  # three seeded, the two of woo_product with this store's address
    for product_id, url in urls.items():
        answer = requests.get(url, timeout=10)
        assert answer.status_code == 200, url
        assert answer.headers["Content-Type"] == SVG_TYPE
        assert answer.headers["Cache-Control"] == f"public, max-age={MAX_AGE}"
        svg = ElementTree.fromstring(answer.content)  # well-formed, whatever the name holds
        assert svg.get("width") == "300" and svg.get("height") == "300"
        name = store.state.product(product_id)["name"]  # type: ignore[index]
        if product_id == 501:
            assert "Wash &amp; massage set" in answer.text and name == "Wash &amp; massage set"
        if product_id == 502:
            assert "婴儿沐浴露" in answer.text and "%" in url  # the slug is percent-encoded


def test_an_image_is_the_same_bytes_each_time_and_revalidates_with_304(
    store: SandboxHandle,
) -> None:
    url = image_urls(store)[501]
    first = requests.get(url, timeout=10)
    again = requests.get(url, timeout=10)
    assert first.content == again.content and first.headers["ETag"] == again.headers["ETag"]
    fresh = requests.get(url, headers={"If-None-Match": first.headers["ETag"]}, timeout=10)
    assert fresh.status_code == 304 and fresh.content == b""
    other = requests.get(image_urls(store)[502], timeout=10)
    assert other.headers["ETag"] != first.headers["ETag"]


def test_paths_no_product_names_still_answer_the_stores_404_page(store: SandboxHandle) -> None:
    known = image_urls(store)[501]
    for url in (
        f"{store.url}/wp-content/uploads/2026/10/nothing-here.jpg",
        known + "x",
        known.replace("/wp-content/", "/wp-admin/"),
        store.url + "/p.jpg",  # product 503's image lives on another host
    ):
        answer = requests.get(url, timeout=10)
        assert answer.status_code == 404, url
        assert answer.headers["Content-Type"].startswith("text/html")
    assert requests.post(known, timeout=10).status_code == 404  # an upload is only read


def test_a_product_added_again_serves_its_new_image_and_not_its_old_one() -> None:
    with start_sandbox() as handle:
        old = woo_product(601, name="Old name", site=handle.url)
        handle.state.add_products([old])
        old_url = old["images"][0]["src"]
        assert requests.get(old_url, timeout=10).status_code == 200
        handle.state.add_products([woo_product(601, name="New name", site=handle.url)])
        new_url = handle.state.product(601)["images"][0]["src"]  # type: ignore[index]
        assert requests.get(old_url, timeout=10).status_code == 404
        assert "New name" in requests.get(new_url, timeout=10).text
