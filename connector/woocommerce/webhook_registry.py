"""The webhooks the alliance registers in a connected store (``/wc/v3/webhooks``).

Each topic gets a webhook of its own with a secret of its own (random, plain ASCII: the store
keys its HMAC with the secret after HTML-entity decoding, so no ``&``). Registering is undone
on failure, so a store never keeps half of them; unregistering deletes by id and counts a
webhook the store no longer has as gone.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterable

from connector.errors import NotFound
from connector.woocommerce.store import WooCommerceStore

TOPICS = ("order.created", "order.updated", "order.deleted", "product.updated")
"""What the alliance listens to: orders to book (a trashed or deleted order is reversed),
and products for the partner blocks."""

WEBHOOK_NAME = "Shop Alliance: {topic}"


def delivery_url(app_url: str, member: str) -> str:
    return f"{app_url.rstrip('/')}/webhooks/woocommerce/{member}"


def new_secret() -> str:
    return secrets.token_urlsafe(32)


def register_webhooks(
    store: WooCommerceStore, url: str, topics: Iterable[str] = TOPICS
) -> list[tuple[int, str, str]]:
    """Create one active webhook per topic; ``(id, topic, secret)`` each. Raises the store's
    error after deleting the ones already made (a read-only key fails on the first)."""
    made: list[tuple[int, str, str]] = []
    try:
        for topic in topics:
            secret = new_secret()
            reply = store._request(
                "POST",
                "webhooks",
                data={
                    "name": WEBHOOK_NAME.format(topic=topic),
                    "topic": topic,
                    "delivery_url": url,
                    "secret": secret,
                    "status": "active",
                },
            )
            made.append((int(reply.data["id"]), topic, secret))
    except Exception:
        unregister_webhooks(store, [webhook_id for webhook_id, _, _ in made], quiet=True)
        raise
    return made


def unregister_webhooks(store: WooCommerceStore, ids: Iterable[int], *, quiet: bool = False) -> int:
    """Delete these webhooks (``force=true``: webhooks have no trash); how many were deleted.
    One the store no longer has counts as done; ``quiet`` swallows every other failure."""
    deleted = 0
    for webhook_id in ids:
        try:
            store._request("DELETE", f"webhooks/{int(webhook_id)}", params={"force": "true"})
            deleted += 1
        except NotFound:
            continue
        except Exception:
            if not quiet:
                raise
    return deleted


def listed_webhooks(store: WooCommerceStore) -> list[dict]:
    """The store's webhooks as ``GET /webhooks`` lists them (the secrets are never listed)."""
    data = store._request("GET", "webhooks", params={"per_page": 100}).data
    return [hook for hook in data if isinstance(hook, dict)] if isinstance(data, list) else []
