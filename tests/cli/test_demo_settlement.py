"""The demo's statements on a machine without WeasyPrint's system libraries: the HTML is
written and the demo says how to get the PDFs, instead of failing at the end of its story."""

from __future__ import annotations

import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import Engine

from alliance.agreement.parse import load_agreement
from alliance.cli.demo import EXAMPLE
from alliance.cli.demo_settlement import _write_statements
from alliance.services.reporting import record_agreement


def test_without_weasyprint_the_statements_are_html_and_the_fix_is_named(
    sqlite_engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    agreement = load_agreement(EXAMPLE)
    record_agreement(sqlite_engine, agreement)
    monkeypatch.setitem(sys.modules, "weasyprint", None)  # importing it now fails
    now = datetime(2026, 12, 7, 10, 0, tzinfo=UTC)

    written = tmp_path / "statements"
    said = _write_statements(sqlite_engine, agreement, "2026-11", written, now=now)

    assert sorted(p.name for p in written.iterdir()) == [
        f"statement-2026-11-{m}.html" for m in ("li", "wang", "zhang", "zhao")
    ]
    assert said.startswith(f"4 statement files of 2026-11 (HTML) written to {written}/")
    assert "sudo bash scripts/system-deps.sh" in said
