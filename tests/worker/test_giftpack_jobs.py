"""Gift-pack jobs: queued per trigger order by the sync (or webhook) that books it, worked by
RQ on a real Redis; done in process by ``alliance run``; revoked after a sync sees a refund."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest
from redis import Redis
from rq import Queue

from alliance.giftpacks import PackStatus, gift_code, gift_code_key
from alliance.services import giftpacks as packs
from alliance.storage.database import open_database
from connector.fixtures.products import woo_product
from connector.sandbox.server import SandboxHandle, start_sandbox
from tests.conftest import SECRET
from tests.connector.giftpack_support import PRODUCTS, SALE, agreement_text, li_orders
from worker import jobs
from worker.keys import GIFTPACK_QUEUE, QUEUES, giftpack_job_id
from worker.runner import Runner
from worker.workers import PromptSimpleWorker


@dataclass
class Stores:
    stores: dict[str, SandboxHandle]
    database_url: str

    def packs(self) -> dict[str, PackStatus]:
        engine = open_database(self.database_url)
        with engine.connect() as conn:
            found = {p.trigger_order_id: p.status for p in packs.packs(conn)}
        engine.dispose()
        return found

    def notes(self, order_id: int) -> int:
        return sum(n["customer_note"] for n in self.stores["li"].state.notes(order_id))


@pytest.fixture
def stores(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Stores]:
    with (
        start_sandbox(orders=li_orders()) as li,
        start_sandbox(products=[woo_product(p, name=n, price=c, modified=SALE)
                                for p, n, c in PRODUCTS["wang"]]) as wang,
        start_sandbox() as zhang,
        start_sandbox() as zhao,
    ):  # fmt: skip
        handles = {"li": li, "wang": wang, "zhang": zhang, "zhao": zhao}
        config = tmp_path / "alliance.toml"
        config.write_text(agreement_text(handles, None), encoding="utf-8")
        url = f"sqlite:///{tmp_path / 'alliance.db'}"
        env = {"ALLIANCE_CONFIG": str(config), "ALLIANCE_DATABASE_URL": url,
               "ALLIANCE_SECRET": SECRET, "ALLIANCE_HTTP_ATTEMPTS": "1"}  # fmt: skip
        for member, handle in handles.items():
            env[f"{member.upper()}_WC_KEY"] = handle.key.consumer_key
            env[f"{member.upper()}_WC_SECRET"] = handle.key.consumer_secret
        for name, value in env.items():
            monkeypatch.setenv(name, value)
        monkeypatch.delenv("ALLIANCE_REDIS_URL", raising=False)
        jobs.provide_gift_links(None)
        try:
            yield Stores(handles, url)
        finally:
            jobs.close_engines()


def work(redis: Redis) -> None:
    PromptSimpleWorker(list(QUEUES), connection=redis).work(burst=True, with_scheduler=False)


def test_a_sync_queues_one_gift_pack_job_per_trigger_order_and_rq_issues_them(
    stores: Stores, redis_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ALLIANCE_REDIS_URL", redis_url)
    redis = Redis.from_url(redis_url)
    jobs.sync_member_job("li")
    queued = Queue(GIFTPACK_QUEUE, connection=redis).get_job_ids()
    assert sorted(queued) == [giftpack_job_id("li", 1001), giftpack_job_id("li", 1002)]
    assert jobs.queue_gift_packs(redis, "li", ["1001"]) == 0  # queued already: not twice
    work(redis)
    assert stores.packs() == {"1001": PackStatus.ISSUED, "1002": PackStatus.ISSUED}
    assert stores.notes(1001) == 1 and stores.notes(1002) == 1
    assert len(stores.stores["wang"].state.coupons()) == 2
    jobs.sync_member_job("wang")  # a partner's sync queues nothing: it triggers no promotion
    jobs.sync_member_job("li")  # nothing left to do for li's orders
    assert Queue(GIFTPACK_QUEUE, connection=redis).count == 0


def test_a_webhook_order_at_the_trigger_member_queues_its_gift_pack_job(
    stores: Stores, redis_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ALLIANCE_REDIS_URL", redis_url)
    redis = Redis.from_url(redis_url)
    jobs.process_order_job("li", 1001)
    assert Queue(GIFTPACK_QUEUE, connection=redis).get_job_ids() == [giftpack_job_id("li", 1001)]
    outcome = jobs.issue_gift_packs_job("li", "1001")
    assert (outcome["status"], outcome["planned"], outcome["issued"]) == ("ok", 1, 1)
    assert stores.packs() == {"1001": PackStatus.ISSUED}


def test_alliance_run_issues_after_each_sync_and_revokes_after_a_refund(stores: Stores) -> None:
    runner = Runner(jobs.context().settings)
    runner.run(cycles=1)
    assert all("fetched" in r for r in runner.results)  # sync results stay sync results
    assert [r["member"] for r in runner.gift_pack_results] == ["li"]
    assert stores.packs() == {"1001": PackStatus.ISSUED, "1002": PackStatus.ISSUED}

    stores.stores["li"].state.update_order(1001, {"status": "cancelled"})
    runner.gift_pack_results.clear()
    runner.run(cycles=1)
    assert stores.packs() == {"1001": PackStatus.REVOKED, "1002": PackStatus.ISSUED}
    assert runner.gift_pack_results[0]["revoking"] == 1
    key = gift_code_key(SECRET.encode())
    wang = {c["code"]: c for c in stores.stores["wang"].state.coupons()}
    revoked = wang[gift_code(key, "newborn-gift-pack", "li/1001", "wang", "RPA").lower()]
    standing = wang[gift_code(key, "newborn-gift-pack", "li/1002", "wang", "RPA").lower()]
    now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S")
    assert revoked["date_expires_gmt"] <= now < standing["date_expires_gmt"]


def test_a_job_for_a_member_not_in_the_agreement_does_nothing(stores: Stores) -> None:
    assert jobs.issue_gift_packs_job("chen", "1")["status"] == "unknown member"
