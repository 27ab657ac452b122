"""The worker benchmark's agreement: every member, deals on the seed's referral coupons.

Written as TOML text (what a user writes) and checked by ``alliance check`` before any run.
"""

from __future__ import annotations

_HEADER = """[alliance]
name = "Benchmark Alliance"
currency = "CNY"
timezone = "Asia/Shanghai"
"""
_MEMBER = """
[members.{member}]
name = "Sandbox store {member}"
url = "{url}"
credentials_env = "{env}"
"""
_DEALS = """
[[deals]]
id = "{left}-{seller}-percent"
referrer = "{left}"
seller = "{seller}"
pay = "percent"
rate = "10%"
referral_coupons = ["LI-FRIENDS"]

[[deals]]
id = "{right}-{seller}-order"
referrer = "{right}"
seller = "{seller}"
pay = "per_order"
amount = "15.00"
referral_coupons = ["WANG-LOVES-LI"]
"""
_SWAP = """
[[deals]]
id = "{first}-{second}-swap"
pay = "swap"
members = ["{first}", "{second}"]
referral_coupons = {{ {first} = ["ZHANG-PHOTO"], {second} = ["ZHANG-PHOTO"] }}
"""


def agreement_text(urls: dict[str, str]) -> str:
    """Each store pays its left neighbour 10% for "li-friends" and its right neighbour 15.00
    per order for "wang-loves-li"; pairs of stores swap credits on "zhang-photo". These are
    the codes ``generate_orders`` puts on about 15% of the orders."""
    members = list(urls)
    parts = [_HEADER]
    parts += [_MEMBER.format(member=m, url=u, env=f"{m.upper()}_WC") for m, u in urls.items()]
    for n, seller in enumerate(members):
        left, right = members[n - 1], members[(n + 1) % len(members)]
        parts.append(_DEALS.format(left=left, right=right, seller=seller))
    for first, second in zip(members[::2], members[1::2], strict=False):
        parts.append(_SWAP.format(first=first, second=second))
    return "".join(parts)
