"""``alliance demo --serve`` prints the dashboard's address and a sign-in token per member and
for the admin; li's token opens li's overview, whose trends span the months the demo added."""

from __future__ import annotations

import re

import httpx
import pytest

from tests.e2e.test_demo_site import served_demo

TOKEN_LINE = re.compile(r"^  (\w+)\s+(dash_\S+)$")


@pytest.mark.slow
def test_the_served_demo_prints_tokens_that_open_each_members_dashboard(tmp_path) -> None:
    with served_demo(tmp_path / "demo") as (base, process):
        tokens: dict[str, str] = {}
        said = []
        while "admin" not in tokens:
            line = process.stdout.readline()  # type: ignore[union-attr]
            assert line, "".join(said)
            said.append(line)
            found = TOKEN_LINE.match(line.rstrip("\n"))
            if found:
                tokens[found[1]] = found[2]
        assert any(f"{base}/dashboard/sign-in" in line for line in said), "".join(said)
        assert set(tokens) == {"li", "wang", "zhang", "zhao", "admin"}

        with httpx.Client(base_url=base, timeout=15, follow_redirects=True) as browser:
            form = browser.get("/dashboard/sign-in").text
            csrf = re.search(r'name="csrf" value="([^"]+)"', form)[1]
            signed = browser.post("/dashboard/sign-in", data={"token": tokens["li"], "csrf": csrf})
            assert signed.status_code == 200 and str(signed.url).endswith("/dashboard/members/li")
            overview = signed.text
            assert "Li&#39;s Organic Baby Clothes" in overview or "Li's Organic" in overview
            assert overview.count("<svg") >= 6  # a trend per figure
            chart = overview.split('aria-label="Orders partners brought"')[1].split("</svg>")[0]
            bars = re.findall(r'height="([\d.]+)"[^>]*><title>([^<]+)</title>', chart)
            traded = {label for height, label in bars if float(height) > 0}
            assert len(traded) >= 6, bars  # the story's three months and the earlier ones
            wang = browser.get("/dashboard/members/wang/statements")
            assert wang.status_code in (403, 404)
