"""Fixtures for the worker: a real Redis on a dedicated DB number, and a small alliance of
sandbox stores wired through the environment, as `alliance worker` would see it."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest

from connector.sandbox.server import SandboxHandle, start_sandbox
from tests.conftest import EXAMPLE, SECRET
from tests.e2e.support import flushed_redis
from tests.factories import shop_orders

BASE = datetime(2026, 11, 12, 1, 0, tzinfo=UTC)
COUPONS = {"li": "WANG-LOVES-LI", "wang": "LI-FRIENDS", "zhang": "WANG-TOYS"}


@pytest.fixture
def redis_url(worker_id: str) -> Iterator[str]:
    """A Redis DB claimed for this test alone (tests/e2e/support.py ``flushed_redis``)."""
    with flushed_redis(worker_id) as (url, _client):
        yield url


@dataclass
class Alliance:
    config: Path
    database_url: str
    stores: dict[str, SandboxHandle]
    env: dict[str, str]


@pytest.fixture
def alliance(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Alliance]:
    """li, wang and zhang on sandbox stores (zhao has no keys: it needs attention)."""
    with (
        start_sandbox(orders=shop_orders(1001, 60, COUPONS["li"], BASE)) as li,
        start_sandbox(orders=shop_orders(2001, 150, COUPONS["wang"], BASE)) as wang,
        start_sandbox(orders=shop_orders(3001, 30, COUPONS["zhang"], BASE)) as zhang,
    ):
        stores = {"li": li, "wang": wang, "zhang": zhang}
        text = EXAMPLE.read_text(encoding="utf-8")
        for member, handle in stores.items():
            text = text.replace(f'url = "https://{member}.example"', f'url = "{handle.url}"')
        config = tmp_path / "alliance.toml"
        config.write_text(text, encoding="utf-8")
        database_url = f"sqlite:///{tmp_path / 'alliance.db'}"
        env = {
            "ALLIANCE_CONFIG": str(config),
            "ALLIANCE_DATABASE_URL": database_url,
            "ALLIANCE_SECRET": SECRET,
            "ALLIANCE_HTTP_ATTEMPTS": "1",
            "ZHAO_WC_KEY": "",
            "ZHAO_WC_SECRET": "",
        }
        for member, handle in stores.items():
            env[f"{member.upper()}_WC_KEY"] = handle.key.consumer_key
            env[f"{member.upper()}_WC_SECRET"] = handle.key.consumer_secret
        for name, value in env.items():
            monkeypatch.setenv(name, value)
        monkeypatch.delenv("ALLIANCE_REDIS_URL", raising=False)
        yield Alliance(config, database_url, stores, env)
