"""``alliance serve``: the real server process (granian) answers tracked links, tells visitors
apart by the address its trusted proxy forwards, and stops cleanly on Ctrl-C."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import time
from datetime import UTC
from pathlib import Path

import pytest
import requests
from sqlalchemy import select

from alliance.storage.database import open_database
from alliance.storage.schema import clicks
from tests.conftest import EXAMPLE, SECRET
from tests.e2e.support import ALLIANCE
from widgets.links import LinkClaim, link_key, sign_link
from widgets.visitors import visitor_key, visitor_key_secret

pytestmark = pytest.mark.slow

BROWSER = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 Chrome/126.0 Safari/537.36"


def _serve(tmp_path: Path, *options: str) -> tuple[subprocess.Popen[bytes], str]:
    """``alliance serve --port 0`` and the address it prints, once ``/healthz`` answers there."""
    env = {
        **os.environ,
        "ALLIANCE_CONFIG": str(EXAMPLE),
        "ALLIANCE_DATABASE_URL": f"sqlite:///{tmp_path / 'alliance.db'}",
        "ALLIANCE_SECRET": SECRET,
    }
    env.pop("ALLIANCE_TRUSTED_PROXIES", None)
    command = [str(ALLIANCE), "serve", "--port", "0", *options]
    server = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    first = server.stdout.readline().decode()  # type: ignore[union-attr]
    found = re.match(r"serving on (http://127\.0\.0\.1:(\d+)) ", first)
    if found is None or found[2] == "0":
        server.kill()
        pytest.fail(f"alliance serve did not print the port it serves on: {first!r}")
    base = found[1]
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            if requests.get(f"{base}/healthz", timeout=1).ok:
                return server, base
        except requests.ConnectionError:
            time.sleep(0.05)  # the port is held: refused only until the workers listen
        assert server.poll() is None, server.stdout.read().decode()  # type: ignore[union-attr]
    server.kill()
    pytest.fail("alliance serve did not answer /healthz within 30 s")


def _stop(server: subprocess.Popen[bytes]) -> int:
    server.send_signal(signal.SIGINT)
    try:
        return server.wait(timeout=20)
    finally:
        if server.poll() is None:
            server.kill()


@pytest.mark.parametrize(
    ("trusted", "counted_as"),
    [(None, "198.51.100.23"), ("10.9.9.9", "127.0.0.1")],
    ids=["behind its trusted proxy", "forwarded by a stranger"],
)
def test_serve_records_clicks_under_the_address_a_trusted_proxy_forwards(
    tmp_path: Path, trusted: str | None, counted_as: str
) -> None:
    server, base = _serve(tmp_path, *(["--trusted-proxies", trusted] if trusted else []))
    try:
        claim = LinkClaim("li", "wang", "205", "article", "li-wang")
        token = sign_link(link_key(SECRET.encode()), claim)
        answer = requests.get(
            f"{base}/r/{token}",
            headers={"User-Agent": BROWSER, "X-Forwarded-For": "198.51.100.23"},
            allow_redirects=False,
            timeout=10,
        )
        assert answer.status_code == 302
        assert answer.headers["location"].startswith("https://wang.example")
        missing = requests.get(f"{base}/r/not-a-token", timeout=10)
        assert missing.status_code == 404 and "location" not in missing.headers
    finally:
        assert _stop(server) == 0
    engine = open_database(f"sqlite:///{tmp_path / 'alliance.db'}")
    with engine.connect() as conn:
        stored = conn.execute(select(clicks.c.visitor_key, clicks.c.clicked_at)).all()
    engine.dispose()
    assert len(stored) == 1
    day = stored[0].clicked_at.astimezone(UTC).date()
    secret = visitor_key_secret(SECRET.encode())
    assert stored[0].visitor_key == visitor_key(secret, counted_as, BROWSER, day)
