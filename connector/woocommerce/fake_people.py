"""Fake but complete WooCommerce customers, for tests of the data firewall.

A checkout fills every personal field (name, address, email, phone, IP address, browser,
note), and the firewall must drop all of them. :func:`fake_customer` gives a plausible shopper
for realistic orders; :func:`distinctive_customer` marks every personal field with a tag so a
test can scan storage and logs for leaks; :data:`PERSONAL_STRINGS` lists the fields that must
never get through. Nothing here is a real person.
"""

from __future__ import annotations

import random
from typing import Any

PERSONAL_STRINGS = (
    "first_name", "last_name", "company", "address_1", "address_2", "city", "postcode",
    "email", "phone", "ip_address", "user_agent", "note",
)  # fmt: skip
"""Customer-dict keys whose values identify a person: none may ever reach storage or logs.

``country`` and ``state`` are coarse region, kept on purpose (DESIGN.md, the data firewall).
"""

_FIRST = ("Mei", "Wei", "Lan", "Jun", "Xiu", "Hao", "Ying", "Lei", "Anna", "Tom", "Sofia", "Ravi")
_LAST = ("Wang", "Li", "Zhang", "Liu", "Chen", "Yang", "Zhao", "Huang", "Smith", "Garcia")
_STREETS = ("Huaihai Road", "Nanjing West Road", "Jianguo Road", "Wensan Road", "Tianhe Road")
_CITIES = (
    ("Shanghai", "CN10", "200031"),
    ("Beijing", "CN2", "100022"),
    ("Hangzhou", "CN12", "310012"),
    ("Nanjing", "CN11", "210008"),
    ("Guangzhou", "CN20", "510620"),
)
_AGENTS = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 Mobile/15E148",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 Chrome/131.0 Safari/537.36",
    "Mozilla/5.0 (Linux; Android 14) AppleWebKit/537.36 Chrome/131.0 Mobile Safari/537.36",
)


def fake_customer(rng: random.Random) -> dict[str, Any]:
    """A plausible shopper: every personal field filled, as a checkout fills it."""
    first, last = rng.choice(_FIRST), rng.choice(_LAST)
    city, state, postcode = rng.choice(_CITIES)
    return {
        "customer_id": rng.choice((0, 0, rng.randrange(2, 5000))),
        "first_name": first,
        "last_name": last,
        "company": rng.choice(("", "", f"{last} Trading Co.")),
        "address_1": f"{rng.randrange(1, 999)} {rng.choice(_STREETS)}",
        "address_2": rng.choice(("", f"Apt {rng.randrange(1, 40)}0{rng.randrange(1, 9)}")),
        "city": city,
        "state": state,
        "postcode": postcode,
        "country": "CN",
        "email": f"{first}.{last}{rng.randrange(10, 99)}@example.com".lower(),
        "phone": f"+86 13{rng.randrange(10)} {rng.randrange(10**4):04} {rng.randrange(10**4):04}",
        "ip_address": f"203.0.113.{rng.randrange(1, 255)}",
        "user_agent": rng.choice(_AGENTS),
        "note": rng.choice(("", "", "Please ring the bell twice.", "Gift wrap, no invoice.")),
    }


def distinctive_customer(tag: str) -> dict[str, Any]:
    """A customer whose every personal field contains ``tag``, for leak scans of storage/logs."""
    return {
        "customer_id": 4242,
        "first_name": f"{tag}-first",
        "last_name": f"{tag}-last",
        "company": f"{tag}-company",
        "address_1": f"1 {tag}-street",
        "address_2": f"{tag}-flat 2",
        "city": f"{tag}-city",
        "state": "CN10",
        "postcode": f"{tag}-postcode",
        "country": "CN",
        "email": f"{tag}-mail@example.com",
        "phone": f"+86 {tag}-phone",
        "ip_address": f"203.0.113.9-{tag}-ip",
        "user_agent": f"Mozilla/5.0 {tag}-agent",
        "note": f"{tag}-note: leave at the door",
    }
