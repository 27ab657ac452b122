"""``alliance check`` warns, without failing, about what would break later from here: no
``links_base_url``, members whose store keys are unset, and (``--online``) a
``links_base_url`` that does not answer as the web app."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from click.testing import CliRunner

from alliance.cli import main
from tests.conftest import EXAMPLE

BASE = 'links_base_url = "https://go.parenting.example"\n'
KEYS = {
    f"{m}_WC_{part}": "set" for m in ("LI", "WANG", "ZHANG", "ZHAO") for part in ("KEY", "SECRET")
}


def agreement_with(tmp_path: Path, base: str | None) -> Path:
    text = EXAMPLE.read_text(encoding="utf-8")
    assert BASE in text
    path = tmp_path / "alliance.toml"
    path.write_text(text.replace(BASE, f'links_base_url = "{base}"\n' if base else ""))
    return path


def check(path: Path, *args: str, **env: str | None):
    return CliRunner().invoke(main, ["check", str(path), *args], env={**KEYS, **env})


def warnings(result) -> list[str]:
    return [line for line in result.stderr.splitlines() if line.startswith("warning: ")]


def test_a_complete_environment_gets_no_warning(tmp_path: Path) -> None:
    result = check(agreement_with(tmp_path, "https://go.parenting.example"))
    assert result.exit_code == 0 and warnings(result) == []


def test_unset_keys_are_named_per_member_and_the_check_still_passes(tmp_path: Path) -> None:
    result = check(agreement_with(tmp_path, "https://go.parenting.example"), LI_WC_SECRET=None)
    assert result.exit_code == 0 and "The agreement is valid." in result.stdout
    assert warnings(result) == [
        "warning: LI_WC_SECRET is not set here: `alliance sync` cannot read li's store from "
        "this environment unless the store was connected through the app (alliance members "
        "connect li)"
    ]


def test_a_missing_links_base_url_is_a_warning(tmp_path: Path) -> None:
    result = check(agreement_with(tmp_path, None))
    assert result.exit_code == 0
    (said,) = warnings(result)
    assert "links_base_url is not set" in said and "works only on this machine" in said


class _App(BaseHTTPRequestHandler):
    status = 200

    def do_GET(self) -> None:
        self.send_response(self.status if self.path == "/healthz" else 404)
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def app_at() -> Iterator[Callable[[int], str]]:
    servers = []

    def start(status: int) -> str:
        handler = type("Handler", (_App,), {"status": status})
        server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        return f"http://127.0.0.1:{server.server_address[1]}"

    yield start
    for server in servers:
        server.shutdown()
        server.server_close()


def test_online_checks_that_links_base_url_answers_as_the_app(tmp_path: Path, app_at) -> None:
    healthy = check(agreement_with(tmp_path, app_at(200)), "--online")
    assert healthy.exit_code == 0 and warnings(healthy) == []

    other = app_at(503)
    wrong = check(agreement_with(tmp_path, other), "--online")
    assert warnings(wrong) == [
        f"warning: links_base_url {other} answered {other}/healthz with HTTP 503, not the "
        "alliance app's health check: is `alliance serve` behind that address?"
    ]

    server = ThreadingHTTPServer(("127.0.0.1", 0), _App)  # a port that is then closed
    closed = f"http://127.0.0.1:{server.server_address[1]}"
    server.server_close()
    down = check(agreement_with(tmp_path, closed), "--online")
    assert down.exit_code == 0
    (said,) = warnings(down)
    assert said.startswith(f"warning: links_base_url {closed} cannot be reached from here")


def test_a_store_connected_through_the_app_needs_no_key_variables(tmp_path: Path) -> None:
    from alliance.services.key_vault import KeyVault
    from alliance.services.store_connections import save_connection
    from alliance.storage.database import open_database
    from tests.connector.test_connect_storage import KEYS_SECRET, connection

    path = agreement_with(tmp_path, "https://go.parenting.example")
    engine = open_database(f"sqlite:///{tmp_path / 'alliance.db'}")  # next to the agreement
    save_connection(engine, KeyVault(KEYS_SECRET), connection())  # wang's store
    engine.dispose()
    unset = {"WANG_WC_KEY": None, "WANG_WC_SECRET": None, "ZHAO_WC_KEY": None}
    result = check(path, ALLIANCE_DATABASE_URL=None, ALLIANCE_CONFIG=None, **unset)
    assert result.exit_code == 0
    assert [w.split(" is not set")[0] for w in warnings(result)] == ["warning: ZHAO_WC_KEY"]
