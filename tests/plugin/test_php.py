"""The plugin's PHP without WordPress: every file parses (``php -l``), PHPUnit passes on its
pure functions, and its order reference is the one the app reads (``widgets.order_refs``)."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from widgets.order_refs import order_ref, order_ref_key, read_order_ref

ROOT = Path(__file__).resolve().parents[2]
PLUGIN = ROOT / "plugin" / "shop-alliance"
PHP_FILES = sorted(PLUGIN.rglob("*.php"))
HOW = "run `bash scripts/wordpress.sh` as root (Debian's php-cli and phpunit)"


def php() -> str:
    found = shutil.which("php")
    if found is None:
        pytest.fail(f"php is missing: {HOW}")
    return found


@pytest.mark.parametrize("path", PHP_FILES, ids=lambda p: str(p.relative_to(PLUGIN)))
def test_every_php_file_parses(path: Path) -> None:
    done = subprocess.run([php(), "-l", str(path)], capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stdout + done.stderr


@pytest.mark.parametrize("path", PHP_FILES, ids=lambda p: str(p.relative_to(PLUGIN)))
def test_every_php_file_refuses_to_run_outside_wordpress(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    guard = "WP_UNINSTALL_PLUGIN" if path.name == "uninstall.php" else "ABSPATH"
    assert f"defined( '{guard}' ) || exit;" in text


def test_phpunit_passes_on_the_pure_functions() -> None:
    phpunit = shutil.which("phpunit")
    if phpunit is None:
        pytest.fail(f"phpunit is missing: {HOW}")
    tests = Path(__file__).with_name("phpunit")
    done = subprocess.run(
        [phpunit, "--do-not-cache-result", "--bootstrap", str(tests / "bootstrap.php"), str(tests)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "OK (" in done.stdout


def test_block_json_renders_on_the_server_without_a_build() -> None:
    block = json.loads((PLUGIN / "blocks" / "partner-block" / "block.json").read_text())
    assert block["name"] == "shop-alliance/partner-block"
    assert block["render"] == "file:./render.php"
    assert (PLUGIN / "blocks" / "partner-block" / "render.php").is_file()
    assert (PLUGIN / "blocks" / "partner-block" / "editor.asset.php").is_file()
    assert "import " not in (PLUGIN / "blocks" / "partner-block" / "editor.js").read_text()


def php_order_ref(secret: str, member: str, order_id: int) -> str:
    code = (
        "define('ABSPATH', '/');"
        f"require {json.dumps(str(PLUGIN / 'includes' / 'functions.php'))};"
        "echo shop_alliance_order_reference($argv[1], $argv[2], $argv[3]);"
    )
    done = subprocess.run(
        [php(), "-r", code, "--", secret, member, str(order_id)],
        capture_output=True,
        text=True,
        check=True,
    )
    return done.stdout


@settings(max_examples=15, deadline=None)
@given(
    secret=st.text(st.characters(min_codepoint=33, max_codepoint=126), min_size=1, max_size=40),
    order_id=st.integers(min_value=1, max_value=10**12),
)
def test_the_plugins_order_reference_is_the_one_the_app_reads(secret: str, order_id: int) -> None:
    made = php_order_ref(secret, "li", order_id)
    assert made == order_ref(secret, "li", str(order_id))
    assert read_order_ref(order_ref_key(secret), "li", made) == str(order_id)
