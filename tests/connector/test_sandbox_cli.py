"""``sandbox serve`` as a real process: it serves a seed file, stops cleanly, refuses bad input."""

from __future__ import annotations

import json
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import woocommerce

from tests.connector.sandbox_fixtures import store_orders

ROOT = Path(__file__).resolve().parents[2]
RUN = [
    sys.executable,
    "-c",
    "from alliance.cli.sandbox_commands import sandbox; sandbox()",
    "serve",
]


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*RUN, *args], cwd=ROOT, capture_output=True, text=True, timeout=30, check=False
    )


def test_serve_answers_a_real_request_and_exits_cleanly(tmp_path: Path) -> None:
    seed = tmp_path / "seed.json"
    seed.write_text(json.dumps({"orders": store_orders(), "coupons": [{"code": "SAVE10"}]}))
    process = subprocess.Popen(
        [*RUN, "--port", "0", "--seed", str(seed), "--faults", "slow:0.01"],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        lines: dict[str, str] = {}
        deadline = time.monotonic() + 20
        while "Faults" not in lines and time.monotonic() < deadline:
            line = process.stdout.readline()  # type: ignore[union-attr]
            if not line:
                break
            name, _, value = line.partition(":")
            lines[name.strip()] = value.strip()
        store = lines["Sandbox store"]
        assert re.fullmatch(r"http://127\.0\.0\.1:[1-9]\d*", store), store  # the bound port
        assert lines["API root"] == f"{store}/wp-json/wc/v3"
        assert lines["Faults"] == "slow:0.01"
        key, secret = lines["Consumer key"], lines["Consumer secret"]
        assert key.startswith("ck_") and secret.startswith("cs_")
        client = woocommerce.API(lines["Sandbox store"], key, secret, version="wc/v3", timeout=10)
        answer = client.get("orders", params={"per_page": 100})
        assert answer.status_code == 200
        assert answer.headers["X-WP-Total"] == "4"
        assert client.get("coupons").json()[0]["code"] == "save10"
    finally:
        process.send_signal(signal.SIGTERM)
        out, err = process.communicate(timeout=10)
    assert process.returncode == 0, err
    assert "Sandbox store stopped." in out
    assert "Traceback" not in err


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (None, "no such seed file"),
        ("{not json", "not JSON"),
        ('"an order"', "expected a list of orders"),
        ('[{"id": "1001"}]', "orders[0] has no integer id"),
        ('{"orders": [], "refunds": []}', "unknown key(s) refunds"),
    ],
)
def test_a_bad_seed_file_exits_2_naming_the_file(
    tmp_path: Path, content: str | None, message: str
) -> None:
    seed = tmp_path / "seed.json"
    if content is not None:
        seed.write_text(content)
    result = _run("--port", "0", "--seed", str(seed))
    assert result.returncode == 2
    assert str(seed) in result.stderr
    assert message in result.stderr
    assert "Traceback" not in result.stderr


def test_bad_keys_and_faults_are_usage_errors() -> None:
    keys = _run("--port", "0", "--consumer-key", "key", "--consumer-secret", "secret")
    assert keys.returncode == 2
    assert "ck_" in keys.stderr
    faults = _run("--port", "0", "--faults", "teapot")
    assert faults.returncode == 2
    assert "bad fault rule 'teapot'" in faults.stderr
