"""``alliance demo --serve``: the sample shop pages show partner blocks whose links work."""

from __future__ import annotations

import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

ALLIANCE = Path(sys.executable).with_name("alliance")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.mark.slow
def test_the_demo_serves_each_shops_page_with_working_partner_blocks(tmp_path: Path) -> None:
    port = free_port()
    process = subprocess.Popen(
        [str(ALLIANCE), "demo", "--dir", str(tmp_path / "demo"), "--serve", str(port)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        lines = []
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            line = process.stdout.readline()  # type: ignore[union-attr]
            lines.append(line)
            if f"http://127.0.0.1:{port}/demo/zhao" in line or not line:
                break
        assert any(f"127.0.0.1:{port}/demo/li" in line for line in lines), "".join(lines)
        base = f"http://127.0.0.1:{port}"
        page = httpx.get(f"{base}/demo/li", timeout=10)
        assert page.status_code == 200 and 'data-member="li"' in page.text
        assert '<script src="/embed.js"' in page.text
        block = httpx.get(f"{base}/w/li/thankyou", timeout=10)
        assert block.status_code == 200
        links = re.findall(r'href="([^"]*/r/[^"]+)"', block.text)
        assert len(links) >= 3  # wang's and zhao's products, the partners li sends customers to
        hop = httpx.get(links[0].replace("&amp;", "&"), timeout=10, follow_redirects=False)
        assert hop.status_code == 302
        assert "utm_source=alliance" in hop.headers["location"]
        assert "utm_medium=thankyou" in hop.headers["location"]
        process.send_signal(signal.SIGINT)
        rest, _ = process.communicate(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == 0, rest[-3000:]
    assert "Stopped." in rest
