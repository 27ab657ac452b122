"""Render the given-versus-received view: a table for shop owners, JSON for machines.

Counts are integers and the click-through rate a decimal string (JSON) or a percentage
(table), left out (``-``, ``null``) where no cards were shown; every name goes through
``printable`` before it reaches a terminal. Days are the alliance's (its timezone, named in
the title), as in statements.
"""

from __future__ import annotations

import json
from decimal import ROUND_HALF_UP, Decimal
from typing import Any
from zoneinfo import ZoneInfo

from alliance.exchange import ExchangeView, Flow, MemberExchange, PartnerExchange
from alliance.report import printable, table_lines

RATE_PLACES = Decimal("0.0001")
"""The JSON rate's precision: a hundredth of a percent."""

_COLUMNS = ["partner", "cards", "clicks", "invalid", "CTR", "cards", "clicks", "invalid", "CTR"]


def _plural(n: int, noun: str) -> str:
    return f"{n:,} more {noun}{'' if n == 1 else 's'}"


def balance_line(pair: PartnerExchange) -> str:
    """Who sends more to whom, in cards shown and valid clicks, in one sentence."""
    m, p = printable(pair.member), printable(pair.partner)
    cards, clicks = pair.card_balance, pair.click_balance
    if cards == 0 and clicks == 0:
        return f"even: {m} and {p} showed and sent each other as much"
    if cards * clicks < 0:  # one way in cards, the other in clicks
        card_from, card_to = (m, p) if cards > 0 else (p, m)
        click_from, click_to = (m, p) if clicks > 0 else (p, m)
        return (
            f"{card_from} shows {card_to} {_plural(abs(cards), 'card')}; "
            f"{click_from} sends {click_to} {_plural(abs(clicks), 'valid click')}"
        )
    giver, taker = (m, p) if cards > 0 or clicks > 0 else (p, m)
    parts = [_plural(abs(cards), "card") if cards else "cards even"]
    parts.append(_plural(abs(clicks), "valid click") if clicks else "valid clicks even")
    return f"{giver} sends more to {taker}: {', '.join(parts)}"


def _rate(flow: Flow) -> Decimal | None:
    rate = flow.click_through_rate
    return None if rate is None else rate.quantize(RATE_PLACES, ROUND_HALF_UP)


def _percent(flow: Flow) -> str:
    rate = _rate(flow)
    return "-" if rate is None else f"{rate * 100:.2f}%"


def _cells(flow: Flow) -> list[str]:
    return [f"{flow.cards:,}", f"{flow.valid_clicks:,}", f"{flow.invalid_clicks:,}", _percent(flow)]


def _reasons(flow: Flow) -> str:
    return ", ".join(f"{printable(reason)} {n:,}" for reason, n in flow.invalid)


FLUSH_NOTE = "cards shown are added to the database every {seconds} s by `alliance serve`"
"""Said under every table, with when they were last added: a block shown since is not in the
counts yet."""


def flush_note(view: ExchangeView) -> str:
    """How fresh the cards are: when the web app last added them, in the alliance's time."""
    said = FLUSH_NOTE.format(seconds=FLUSH_SECONDS)
    at = view.cards_flushed_at
    if at is None:
        return f"{said}; none have been added yet"
    local = at.astimezone(ZoneInfo(view.window.timezone))
    return f"{said}; last at {local:%Y-%m-%d %H:%M:%S}, and those shown since are not counted yet"


FLUSH_SECONDS = 30
"""How often the web app adds its cards to the database (``widgets.app``: the same figure)."""


def days_of(view: ExchangeView) -> str:
    """``days in Asia/Shanghai``: whose midnights cut the window."""
    return f"days in {view.window.timezone}"


def _member_table(view: ExchangeView, mine: MemberExchange) -> list[str]:
    me = printable(mine.member)
    w = view.window
    title = f"Given and received by {me}, {w.first} to {w.last} ({days_of(view)})"
    if mine.is_empty:
        return [title, "", f"Nothing shown or clicked between {me} and its partners yet."]
    rows = [[printable(p.partner), *_cells(p.given), *_cells(p.received)] for p in mine.partners]
    rows.append(["total", *_cells(mine.given), *_cells(mine.received)])
    widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(_COLUMNS)]
    span = sum(widths[1:5]) + 2 * 3
    groups = " " * widths[0] + "  " + " given ".center(span, "-")
    groups += "  " + " received ".center(sum(widths[5:]) + 2 * 3, "-")
    table = table_lines(_COLUMNS, rows, right=set(range(1, 9)))
    out = [
        title,
        f"given: {me}'s pages showed the partner's products and sent it clicks; "
        "received: the other way round",
        "",
        groups,
        *table[:-1],
        table[1],
        table[-1],
    ]
    invalid = [
        (direction, printable(p.partner), _reasons(flow))
        for p in mine.partners
        for direction, flow in (("to", p.given), ("from", p.received))
        if flow.invalid
    ]
    if invalid:
        width = max(len(f"{d} {name}") for d, name, _ in invalid)
        out += ["", "Invalid clicks (never paid), by reason:"]
        out += [f"  {f'{d} {name}':<{width}}  {reasons}" for d, name, reasons in invalid]
    unrated = [
        f"{direction} {printable(p.partner)} {flow.clicks_without_cards:,}"
        for p in mine.partners
        for direction, flow in (("to", p.given), ("from", p.received))
        if flow.clicks_without_cards
    ]
    if unrated:
        out += ["", f"Valid clicks from links without a block (not in CTR): {', '.join(unrated)}"]
    out += ["", "Balance:", *(f"  {balance_line(p)}" for p in mine.partners)]
    out += [
        "",
        "clicks: valid ones (invalid ones are counted apart and never paid); CTR: valid clicks",
        "from the placements that showed cards, per card shown; '-' where no cards were shown.",
        flush_note(view) + ".",
    ]
    return out


def exchange_table(view: ExchangeView) -> str:
    """Every member's section, or one sentence when nothing happened in the window."""
    w = view.window
    if view.is_empty:
        alone = len(view.members) == 1
        subject = f" for {printable(view.members[0].member)}" if alone else ""
        return (
            f"Nothing shown or clicked{subject} between {w.first} and {w.last} yet "
            f"({days_of(view)}); {flush_note(view)}."
        )
    sections = [_member_table(view, m) for m in view.members]
    return "\n\n".join("\n".join(lines) for lines in sections)


def _flow_dict(flow: Flow) -> dict[str, Any]:
    rate = _rate(flow)
    return {
        "cards": flow.cards,
        "valid_clicks": flow.valid_clicks,
        "clicks_without_cards": flow.clicks_without_cards,
        "invalid_clicks": flow.invalid_clicks,
        "invalid_by_reason": flow.invalid_by_reason,
        "click_through_rate": None if rate is None else str(rate),
    }


def exchange_json(view: ExchangeView) -> str:
    """``{"from","to","days","members":[{"member","partners":[{"partner","given","received",
    "balance"}],"totals":{"given","received"}}]}``; ``days``: the timezone whose days the
    window counts; rates as decimal strings or null."""
    data = {
        "from": view.window.first.isoformat(),
        "to": view.window.last.isoformat(),
        "days": view.window.timezone,
        "cards_flushed_at": (
            view.cards_flushed_at.isoformat() if view.cards_flushed_at is not None else None
        ),
        "members": [
            {
                "member": m.member,
                "partners": [
                    {
                        "partner": p.partner,
                        "given": _flow_dict(p.given),
                        "received": _flow_dict(p.received),
                        "balance": {
                            "cards": p.card_balance,
                            "valid_clicks": p.click_balance,
                            "summary": balance_line(p),
                        },
                    }
                    for p in m.partners
                ],
                "totals": {"given": _flow_dict(m.given), "received": _flow_dict(m.received)},
            }
            for m in view.members
        ],
    }
    return json.dumps(data, ensure_ascii=False, indent=2)
