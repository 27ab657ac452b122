"""Several processes opening one new SQLite ledger at once (two `alliance worker --burst` on a
fresh machine) migrate it one at a time: none fails with "table already exists"."""

from __future__ import annotations

import multiprocessing
from pathlib import Path

import pytest
from sqlalchemy import inspect

from alliance.storage.database import open_database
from alliance.storage.schema import metadata


def _open(url: str) -> None:
    open_database(url).dispose()


@pytest.mark.slow
def test_processes_opening_a_new_sqlite_ledger_at_once_all_succeed(tmp_path: Path) -> None:
    spawn = multiprocessing.get_context("spawn")
    for attempt in range(2):  # the race lost 7 of 30 processes before the fix
        url = f"sqlite:///{tmp_path / f'ledger{attempt}.db'}"
        processes = [spawn.Process(target=_open, args=(url,)) for _ in range(3)]
        for process in processes:
            process.start()
        for process in processes:
            process.join(60)
        assert [p.exitcode for p in processes] == [0, 0, 0]
        engine = open_database(url)
        assert set(metadata.tables) <= set(inspect(engine).get_table_names())
        engine.dispose()
