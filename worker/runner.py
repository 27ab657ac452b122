"""``alliance run``: the whole schedule in one process, no Redis, on the default SQLite.

The same job functions as the RQ workers, one after the other: every member's sync each
interval (a store that fails is tried again next time), each followed by its gift-pack work
(trigger orders it booked, packs still open), and the settlement check after the first round
and then once a day (it settles the previous month on its settlement day).
Ctrl-C (or SIGTERM) asks it to stop; it stops between jobs, never inside one; a second
Ctrl-C stops at once (a booked page is committed whole or not at all either way).
"""

from __future__ import annotations

import logging
import signal
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from types import FrameType
from typing import Any

from alliance.settings import Settings
from worker import jobs

log = logging.getLogger("alliance.run")


class Runner:
    def __init__(
        self,
        settings: Settings,
        *,
        clock: Callable[[], float] = time.monotonic,
        now: Callable[[], datetime] | None = None,
    ):
        self.settings = settings
        self.clock = clock
        self.now = now  # the syncs' clock (default: the current time); the demo sets its own
        self.stopping = threading.Event()
        self.results: list[dict[str, Any]] = []
        self.gift_pack_results: list[dict[str, Any]] = []  # apart: they are not syncs
        self.settlement_results: list[dict[str, Any]] = []  # apart too

    def request_stop(self, signum: int | None = None, _frame: FrameType | None = None) -> None:
        if self.stopping.is_set():
            raise KeyboardInterrupt  # asked twice: stop now
        log.info("stopping after the current job (press Ctrl-C again to stop at once)")
        self.stopping.set()

    def install_signal_handlers(self) -> None:
        signal.signal(signal.SIGINT, self.request_stop)
        signal.signal(signal.SIGTERM, self.request_stop)

    def run(self, *, cycles: int | None = None) -> list[dict[str, Any]]:
        """Run the schedule until asked to stop (or for ``cycles`` rounds)."""
        interval = self.settings.sync_interval_minutes * 60
        last_day = ""
        done = 0
        while not self.stopping.is_set():
            started = self.clock()
            self.cycle()
            done += 1
            if _day() != last_day and not self.stopping.is_set():
                last_day = _day()
                self.settlement_results.append(
                    jobs.settle_period_job(settings=self.settings, clock=self.now)
                )
            if cycles is not None and done >= cycles:
                break
            self.stopping.wait(max(0.0, interval - (self.clock() - started)))
        return self.results

    def cycle(self) -> None:
        """One sync of every member, through the same job function the workers run."""
        for member in jobs.context(self.settings).agreement.members:
            if self.stopping.is_set():
                return
            try:
                outcome = jobs.sync_member_job(
                    member, settings=self.settings, clock=self.now, follow_up=False
                )
                self.results.append(outcome)
            except jobs.SyncFailed as exc:  # retried at the next interval
                self.results.append({"member": member, "status": "failed", "error": str(exc)})
            self.gift_packs(member)

    def gift_packs(self, member: str) -> None:
        """The member's gift-pack work, in this process, right after its sync (a partner store
        that was down is tried again here, every round, until its coupons exist)."""
        ctx = jobs.context(self.settings)
        if not jobs.gift_pack_orders(ctx, member):
            return
        outcome = jobs.issue_gift_packs_job(member, settings=self.settings, clock=self.now)
        self.gift_pack_results.append(outcome)


def _day() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%d")
