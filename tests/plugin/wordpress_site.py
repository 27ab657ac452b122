"""A real WordPress for the plugin's tests: Debian's ``wordpress`` package, a database of its
own on the MariaDB at 127.0.0.1:3306 (made for the run, dropped after), served by PHP's
built-in server on a free port.

The site's root is a temporary directory: symlinks to /usr/share/wordpress, except for its own
``wp-config.php`` and ``wp-content`` (the plugin unpacked from the zip ``make plugin`` builds,
and a minimal test theme). WordPress is installed by ``site/install.php`` (``wp_install``),
with outbound HTTP blocked except to this host (``WP_HTTP_BLOCK_EXTERNAL``) and WP_DEBUG
logging to ``debug.log``, which the tests read for the plugin's warnings.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import shutil
import socket
import subprocess
import time
import uuid
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import requests

WORDPRESS = Path("/usr/share/wordpress")
ROOT = Path(__file__).resolve().parents[2]
PLUGIN = ROOT / "plugin" / "shop-alliance"
HERE = Path(__file__).resolve().parent
MYSQL = ["mysql", "-h", "127.0.0.1", "-P", "3306", "-u", "root", "--batch", "--skip-column-names"]
ADMIN_PASSWORD = "alliance-admin-password"
PHP_OPTIONS = ("-d", "opcache.enable_cli=1")
"""OPcache on, as on every production PHP (PHP's command line has it off by default)."""
ROUTER = str(HERE / "site" / "router.php")
HOW = "run `bash scripts/wordpress.sh` as root (Debian's php-cli, php-mysql and wordpress)"

CONFIG = """<?php
define( 'DB_NAME', '{db}' );
define( 'DB_USER', 'root' );
define( 'DB_PASSWORD', '' );
define( 'DB_HOST', '127.0.0.1:3306' );
define( 'DB_CHARSET', 'utf8mb4' );
define( 'DB_COLLATE', '' );
{salts}
$table_prefix = 'wp_';
define( 'WP_HOME', '{url}' );
define( 'WP_SITEURL', '{url}' );
define( 'WP_CONTENT_DIR', '{root}/wp-content' );
define( 'WP_CONTENT_URL', '{url}/wp-content' );
define( 'DISABLE_WP_CRON', true );
define( 'AUTOMATIC_UPDATER_DISABLED', true );
define( 'WP_HTTP_BLOCK_EXTERNAL', true );
define( 'WP_DEBUG', true );
define( 'WP_DEBUG_DISPLAY', false );
define( 'WP_DEBUG_LOG', '{root}/debug.log' );
define( 'FS_METHOD', 'direct' );
require_once ABSPATH . 'wp-settings.php';
"""

SALT_NAMES = (
    "AUTH_KEY", "SECURE_AUTH_KEY", "LOGGED_IN_KEY", "NONCE_KEY",
    "AUTH_SALT", "SECURE_AUTH_SALT", "LOGGED_IN_SALT", "NONCE_SALT",
)  # fmt: skip


def require_wordpress() -> None:
    """Fail (never skip) with how to install what is missing."""
    for tool in ("php", "mysql"):
        if shutil.which(tool) is None:
            pytest.fail(f"{tool} is missing: {HOW}")
    if not (WORDPRESS / "wp-settings.php").is_file():
        pytest.fail(f"WordPress is not at {WORDPRESS}: {HOW}")
    done = subprocess.run([*MYSQL, "-e", "SELECT 1"], capture_output=True, check=False)
    if done.returncode != 0:
        pytest.fail(f"MariaDB at 127.0.0.1:3306 (root, no password) is needed: {done.stderr!r}")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def build_zip(target: Path) -> Path:
    """The zip ``make plugin`` makes (the same command), as a shop owner uploads it."""
    subprocess.run(
        ["python3", "-m", "zipfile", "-c", str(target), str(PLUGIN)], check=True, cwd=ROOT
    )
    return target


@dataclass
class WordPressSite:
    root: Path
    url: str
    database: str
    pages: dict[str, int]
    server: subprocess.Popen | None = None
    session: requests.Session = field(default_factory=requests.Session)

    def page_url(self, name: str) -> str:
        return f"{self.url}/?p={self.pages[name]}"

    def get(self, path: str, **options: object) -> requests.Response:
        return self.session.get(self.url + path, timeout=30, **options)

    def post(self, path: str, data: object, **options: object) -> requests.Response:
        return self.session.post(self.url + path, data=data, timeout=30, **options)

    def log_in(self) -> None:
        self.get("/wp-login.php")  # sets the test cookie WordPress asks for
        answer = self.post(
            "/wp-login.php",
            {"log": "admin", "pwd": ADMIN_PASSWORD, "testcookie": "1", "wp-submit": "Log In"},
            allow_redirects=False,
        )
        assert answer.status_code == 302, answer.text[:500]
        assert any(c.name.startswith("wordpress_logged_in_") for c in self.session.cookies)

    def probe(self) -> dict:
        """The plugin's option and its hooks, as WordPress itself sees them."""
        done = subprocess.run(
            ["php", str(HERE / "site" / "probe.php"), str(self.root), self.url],
            capture_output=True,
            text=True,
            check=True,
        )
        return json.loads(done.stdout)

    def fire_woocommerce_hooks(self, order_id: int) -> dict[str, str]:
        """What the plugin prints on WooCommerce's product, cart and thank-you hooks."""
        done = subprocess.run(
            ["php", str(HERE / "site" / "hooks.php"), str(self.root), self.url, str(order_id)],
            capture_output=True,
            text=True,
            check=True,
        )
        return json.loads(done.stdout)

    def sql(self, statement: str) -> str:
        done = subprocess.run(
            [*MYSQL, self.database, "-e", statement], capture_output=True, text=True, check=True
        )
        return done.stdout

    def forget_cached_blocks(self) -> None:
        self.sql("DELETE FROM wp_options WHERE option_name LIKE '%transient%shop_alliance%'")

    def forget_failure(self) -> None:
        """As if the app had not failed lately: the next page asks it again."""
        self.sql("DELETE FROM wp_options WHERE option_name = 'shop_alliance_last_failure'")

    def debug_log(self) -> str:
        log = self.root / "debug.log"
        return log.read_text(encoding="utf-8", errors="replace") if log.exists() else ""

    def start(self) -> None:
        port = int(self.url.rsplit(":", 1)[1])
        env = {**os.environ, "ALLIANCE_WP_ROOT": str(self.root)}
        self.server = subprocess.Popen(
            ["php", *PHP_OPTIONS, "-S", f"127.0.0.1:{port}", "-t", str(self.root), ROUTER],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 15
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                return
            except OSError:
                assert self.server.poll() is None, "php -S exited"
                assert time.monotonic() < deadline, "php -S did not start"
                time.sleep(0.05)

    def stop(self) -> None:
        if self.server is not None and self.server.poll() is None:
            self.server.terminate()
            self.server.wait(timeout=10)


def _lay_out(root: Path, url: str, database: str, zip_path: Path | None) -> None:
    for entry in WORDPRESS.iterdir():
        if entry.name not in ("wp-config.php", "wp-content"):
            (root / entry.name).symlink_to(entry)
    content = root / "wp-content"
    (content / "plugins").mkdir(parents=True)
    (content / "uploads").mkdir()
    (content / "themes").mkdir()
    shutil.copytree(HERE / "theme", content / "themes" / "alliance-test")
    if zip_path is not None:
        with zipfile.ZipFile(zip_path) as archive:
            archive.extractall(content / "plugins")
    salts = "\n".join(f"define( '{name}', '{secrets.token_hex(32)}' );" for name in SALT_NAMES)
    config = CONFIG.replace("{db}", database).replace("{url}", url)
    (root / "wp-config.php").write_text(
        config.replace("{root}", str(root)).replace("{salts}", salts), encoding="utf-8"
    )


@contextmanager
def wordpress_site(directory: Path, *, with_plugin: bool = True) -> Iterator[WordPressSite]:
    """A freshly installed WordPress, serving; with the plugin unpacked from its zip (not yet
    active), unless ``with_plugin`` is false."""
    require_wordpress()
    root = directory / "wordpress"
    root.mkdir()
    database = f"alliance_wp_{uuid.uuid4().hex[:10]}"
    url = f"http://127.0.0.1:{free_port()}"
    subprocess.run([*MYSQL, "-e", f"CREATE DATABASE `{database}`"], check=True)
    site = None
    try:
        zip_path = build_zip(directory / "shop-alliance.zip") if with_plugin else None
        _lay_out(root, url, database, zip_path)
        installed = subprocess.run(
            ["php", str(HERE / "site" / "install.php"), str(root), url],
            capture_output=True,
            text=True,
            check=False,
        )
        assert installed.returncode == 0, installed.stdout + installed.stderr
        pages = json.loads(re.search(r"\{.*\}", installed.stdout).group())  # type: ignore[union-attr]
        site = WordPressSite(root, url, database, pages)
        site.start()
        yield site
    finally:
        if site is not None:
            site.stop()
        subprocess.run([*MYSQL, "-e", f"DROP DATABASE IF EXISTS `{database}`"], check=False)
