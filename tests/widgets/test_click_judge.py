"""The click judge: a batch judged with two queries gets exactly the verdicts that judging its
clicks one at a time (each stored before the next) would give."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine

from alliance.agreement import Agreement
from alliance.clicks import Click
from alliance.storage import repository as repo
from alliance.storage.schema import clicks
from widgets.visitors import (
    BOT,
    BROWSER,
    BURST_CLICKS,
    BURST_SECONDS,
    DUPLICATE_WINDOW_HOURS,
    Candidate,
    ClickJudge,
    Verdict,
)

START = datetime(2026, 12, 2, 10, 0, tzinfo=UTC)
PER_CLICK = "li-zhao"  # per click, 24 h duplicate window
PERCENT, PER_ORDER, SWAP = "li-wang", "wang-zhang", "zhang-zhao"  # paid per order: no window
GIFT = "newborn-gift-pack"  # a promotion: its gift-pack links lead to wang, zhang and zhao
SECOND = timedelta(seconds=1)

steps = st.lists(
    st.tuples(
        st.sampled_from(["visitor-a", "visitor-b", "visitor-c"]),
        st.sampled_from(
            [
                (PER_CLICK, ""),
                (PER_CLICK, ""),
                (PERCENT, ""),
                (PER_ORDER, ""),
                (GIFT, "wang"),
                (GIFT, "zhao"),
            ]
        ),
        st.sampled_from([BROWSER, BROWSER, BROWSER, BOT]),
        st.sampled_from([0.0, 0.001, 2.0, 30.0, 59.0, 61.0, 3600.0, 86_401.0]),  # gap (s)
        st.booleans(),  # does a new batch start here?
    ),
    min_size=1,
    max_size=40,
)


def _candidates(
    drawn: list[tuple[str, tuple[str, str], str, float, bool]],
) -> list[list[Candidate]]:
    batches: list[list[Candidate]] = []
    at = START
    for visitor, (deal, target), agent, gap, new_batch in drawn:
        at += timedelta(seconds=gap)
        if new_batch or not batches:
            batches.append([])
        batches[-1].append(Candidate(deal, visitor, agent, at, target))
    return batches


def _store(engine: Engine, judged: list[tuple[Candidate, Verdict]], start: int) -> None:
    with engine.begin() as conn:
        repo.insert_clicks(
            conn,
            [
                Click(
                    id=f"c{start + n}",
                    source_member="li",
                    target_member=c.target or ("zhao" if c.deal_id == PER_CLICK else "wang"),
                    deal_id=c.deal_id,
                    clicked_at=c.at,
                    visitor_key=c.visitor,
                    agent_class=c.agent,
                    valid=v.valid,
                    invalid_reason=v.reason,
                )
                for n, (c, v) in enumerate(judged)
            ],
        )


def _run(engine: Engine, judge: ClickJudge, batches: list[list[Candidate]]) -> list[Verdict]:
    with engine.begin() as conn:
        conn.execute(clicks.delete())
    verdicts: list[Verdict] = []
    for batch in batches:
        with engine.connect() as conn:
            found = judge.judge_batch(conn, batch)
        _store(engine, list(zip(batch, found, strict=True)), len(verdicts))
        verdicts += found
    return verdicts


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(drawn=steps)
def test_batched_verdicts_equal_one_at_a_time_verdicts(
    engine: Engine, agreement: Agreement, drawn
) -> None:
    judge = ClickJudge(agreement, burst_clicks=3)
    batches = _candidates(drawn)
    batched = _run(engine, judge, batches)
    one_by_one = _run(engine, judge, [[c] for batch in batches for c in batch])
    assert batched == one_by_one


def test_reasons_bot_then_rate_then_duplicate(engine: Engine, agreement: Agreement) -> None:
    judge = ClickJudge(agreement, burst_clicks=3)
    second = SECOND
    batch = [
        Candidate(PER_CLICK, "v", BROWSER, START),  # paid
        Candidate(PER_CLICK, "v", BROWSER, START + second),  # same deal within 24 h
        Candidate(PERCENT, "v", BROWSER, START + 2 * second),  # the visitor's first on this deal
        Candidate(PER_CLICK, "v", BROWSER, START + 3 * second),  # 3 clicks in a minute
        Candidate(PER_CLICK, "w", BOT, START),  # a bot is never paid
        Candidate(PER_CLICK, "v", BROWSER, START + timedelta(hours=25)),  # a new window
    ]
    assert _run(engine, judge, [batch]) == [
        Verdict(True),
        Verdict(False, "duplicate"),
        Verdict(True),
        Verdict(False, "rate-limited"),
        Verdict(False, "bot"),
        Verdict(True),
    ]


@pytest.mark.parametrize("deal", [PER_CLICK, PERCENT, PER_ORDER, SWAP])
def test_clicks_are_judged_alike_whatever_the_deal_pays(
    engine: Engine, agreement: Agreement, deal: str
) -> None:
    judge = ClickJudge(agreement, burst_clicks=3)
    window = timedelta(hours=24 if deal == PER_CLICK else DUPLICATE_WINDOW_HOURS)
    batch = [
        Candidate(deal, "v", BROWSER, START),
        Candidate(deal, "v", BROWSER, START + SECOND),  # again within the window
        Candidate(deal, "v", BROWSER, START + 2 * SECOND),
        Candidate(deal, "v", BROWSER, START + 3 * SECOND),  # a fourth within a minute: a burst
        Candidate(deal, "curl", BOT, START),
        Candidate(deal, "googlebot", BOT, START + SECOND),
        Candidate(deal, "v", BROWSER, START + window + SECOND),  # the window has passed
    ]
    assert [v.reason or "valid" for v in _run(engine, judge, [batch])] == [
        "valid",
        "duplicate",
        "duplicate",
        "rate-limited",
        "bot",
        "bot",
        "valid",
    ]


def test_a_burst_is_more_than_ten_clicks_by_one_visitor_within_sixty_seconds(
    engine: Engine, agreement: Agreement
) -> None:
    assert (BURST_CLICKS, BURST_SECONDS) == (10, 60)
    deals = [PER_CLICK, PERCENT, PER_ORDER, SWAP, "wang-li"]
    step = timedelta(seconds=BURST_SECONDS - 1) / BURST_CLICKS
    burst = [
        Candidate(deals[n % len(deals)], "v", BROWSER, START + n * step)
        for n in range(BURST_CLICKS + 1)
    ]
    reasons = [v.reason or "valid" for v in _run(engine, ClickJudge(agreement), [burst])]
    assert reasons == ["valid"] * 5 + ["duplicate"] * 5 + ["rate-limited"]
    slower = [dataclasses.replace(c, at=START + n * 2 * step) for n, c in enumerate(burst)]
    reasons = [v.reason or "valid" for v in _run(engine, ClickJudge(agreement), [slower])]
    assert reasons == ["valid"] * 5 + ["duplicate"] * 6  # the 11th is a minute after the 1st


def test_gift_pack_clicks_are_judged_per_partner_of_the_promotion(
    engine: Engine, agreement: Agreement
) -> None:
    judge = ClickJudge(agreement, burst_clicks=5)
    batch = [
        Candidate(GIFT, "v", BROWSER, START, "wang"),
        Candidate(GIFT, "v", BROWSER, START + SECOND, "zhao"),  # another gift of the pack
        Candidate(GIFT, "v", BROWSER, START + 2 * SECOND, "wang"),  # wang's again: a duplicate
        Candidate(GIFT, "bot", BOT, START, "zhang"),
    ]
    later = [
        Candidate(GIFT, "v", BROWSER, START + timedelta(hours=2), "zhao"),  # stored: duplicate
        Candidate(GIFT, "v", BROWSER, START + timedelta(hours=2, seconds=1), "zhang"),
        Candidate(GIFT, "v", BROWSER, START + timedelta(hours=25), "wang"),  # a new window
    ]
    verdicts = _run(engine, judge, [batch, later])
    assert [v.reason or "valid" for v in verdicts] == [
        "valid", "valid", "duplicate", "bot", "duplicate", "valid", "valid",
    ]  # fmt: skip
