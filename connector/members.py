"""Every member's store at once: sync them one by one, and report how each is doing.

One member's failure (wrong keys, a store that is down) is recorded against that member and
the others carry on; the CLI, the demo and the worker all go through here.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import Enum

from sqlalchemy import Connection, Engine

from alliance.agreement import Agreement
from alliance.errors import AllianceError, ConfigError
from alliance.services import sync_records as records
from alliance.settings import Settings
from connector.connect import open_store
from connector.errors import NotConfigured, StoreError
from connector.http import HttpPolicy
from connector.store_connections import connected_environ
from connector.storefront import Access
from connector.sync import Progress, SyncReport, sync_member

ProgressFactory = Callable[[str], Progress | None]


def policy_from(settings: Settings) -> HttpPolicy:
    return HttpPolicy(
        connect_timeout=settings.connect_timeout,
        read_timeout=settings.read_timeout,
        attempts=settings.http_attempts,
    )


def sync_members(
    engine: Engine,
    agreement: Agreement,
    settings: Settings,
    *,
    members: Iterable[str] | None = None,
    full: bool = False,
    progress: ProgressFactory | None = None,
    environ: Mapping[str, str] | None = None,
) -> list[SyncReport]:
    """Sync the named members (default: all) in turn; each report says how it went."""
    return [
        sync_one(
            engine,
            agreement,
            settings,
            member_id,
            full=full,
            progress=progress(member_id) if progress else None,
            environ=environ,
        )
        for member_id in (members or agreement.members)
    ]


def sync_one(
    engine: Engine,
    agreement: Agreement,
    settings: Settings,
    member_id: str,
    *,
    full: bool = False,
    progress: Progress | None = None,
    environ: Mapping[str, str] | None = None,
    guard: Callable[[Connection], None] | None = None,
    clock: Callable[[], datetime] | None = None,
) -> SyncReport:
    """One member's sync, with its store opened from the settings and the environment;
    ``clock`` (default: the current time) stamps it and judges dates in the future."""
    secret = settings.require_secret()
    member = agreement.members[member_id]
    try:
        credentials = connected_environ(engine, agreement, settings, environ)
        store = open_store(member, credentials, policy=policy_from(settings))
    except ConfigError as exc:
        return _config_failure(engine, member_id, exc)
    try:
        return sync_member(
            engine,
            agreement,
            store,
            secret=secret,
            full=full,
            overlap=timedelta(seconds=settings.sync_overlap_seconds),
            progress=progress,
            guard=guard,
            **({"clock": clock} if clock is not None else {}),
        )
    finally:
        store.close()


def _config_failure(engine: Engine, member: str, exc: ConfigError) -> SyncReport:
    with engine.begin() as conn:
        records.record_attempt(conn, member, datetime.now(UTC))
        records.record_failure(conn, member, kind="config", message=str(exc), needs_attention=True)
    report = SyncReport(member)
    detail = str(exc).removeprefix(f"{member}: ")
    report.error = NotConfigured(member, "configuration", detail)
    return report


class Condition(str, Enum):
    """How ``alliance members`` judges a member. The live check decides when there is one."""

    OK = "ok"  # reachable, and the key reads and writes
    LIMITED = "limited"  # a read-only key: syncing works, writing to the store does not
    FAILING = "failing"  # no key, unreachable, a refused key or certificate: syncing fails
    NOT_CHECKED = "not checked"  # --no-check: only the last sync's outcome is known


LIMITED_NOTE = (
    "read-only key: syncing works; gift packs and webhook registration need a read/write key "
    "(WooCommerce > Settings > Advanced > REST API)"
)


@dataclass(frozen=True)
class MemberStatus:
    """One row of ``alliance members``."""

    member: str
    name: str
    url: str
    access: Access | None
    state: records.SyncState
    quarantined: int
    orders_behind: int | None
    failure: AllianceError | None = None
    """What stopped the live check before the key could be judged: no key, a bad certificate."""

    @property
    def since_last_success(self) -> timedelta | None:
        """How long ago the last sync succeeded (``since sync`` in the table); None: never."""
        if self.state.last_success_at is None:
            return None
        return datetime.now(UTC) - self.state.last_success_at

    @property
    def condition(self) -> Condition:
        if self.failure is not None:
            return Condition.FAILING
        if self.access is None:
            return Condition.NOT_CHECKED
        if not self.access.can_read:
            return Condition.FAILING
        return Condition.OK if self.access.can_write else Condition.LIMITED

    @property
    def healthy(self) -> bool:
        """Limited counts as healthy (syncing works). The live check decides, so a fixed key is
        healthy before the next sync; without a check, the last sync's outcome decides. Reports
        say ``needs_attention`` for ``not healthy``: one judgement, never two."""
        if self.condition is Condition.NOT_CHECKED:
            return not self.state.needs_attention and not self.state.last_error
        return self.condition is not Condition.FAILING

    @property
    def problem(self) -> str | None:
        """What the live check found wrong or limited, in words to act on; None when all is well."""
        if self.failure is not None:
            return self.own(str(self.failure))
        if self.condition is Condition.FAILING and self.access is not None:
            return self.own(self.access.problem or "the key cannot read orders")
        if self.condition is Condition.LIMITED:
            return LIMITED_NOTE
        return None

    def own(self, message: str) -> str:
        """A message without the ``member: `` it starts with: the row names the member."""
        return message.removeprefix(f"{self.member}: ")


def member_statuses(
    engine: Engine,
    agreement: Agreement,
    settings: Settings,
    *,
    check: bool = True,
    environ: Mapping[str, str] | None = None,
) -> list[MemberStatus]:
    """Stored sync state per member, plus (with ``check``) a live look at each store."""
    with engine.connect() as conn:
        states = records.load_states(conn)
        quarantine = records.quarantine_counts(conn)
    policy = HttpPolicy(
        connect_timeout=settings.connect_timeout, read_timeout=settings.read_timeout, attempts=1
    )
    credentials = connected_environ(engine, agreement, settings, environ) if check else {}
    statuses = []
    for member_id, member in agreement.members.items():
        state = states.get(member_id, records.SyncState(member_id))
        access: Access | None = None
        behind: int | None = None
        failure: AllianceError | None = None
        if check:
            try:
                store = open_store(member, credentials, policy=policy)
            except ConfigError as exc:  # no request was made: say why, not "unreachable"
                failure = exc
            else:
                try:
                    access = store.check_access()
                    if access.can_read and state.orders_bookmark is not None:
                        behind = store.list_orders(
                            modified_after=state.orders_bookmark, per_page=1
                        ).total
                except StoreError as exc:  # a refused certificate: the key was never judged
                    if access is None:
                        failure = exc
                finally:
                    store.close()
        statuses.append(
            MemberStatus(
                member=member_id,
                name=member.name,
                url=member.url,
                access=access,
                state=state,
                quarantined=quarantine.get(member_id, 0),
                orders_behind=behind,
                failure=failure,
            )
        )
    return statuses
