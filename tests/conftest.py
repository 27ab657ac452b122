"""Shared fixtures: the example agreement, domain orders, and real databases.

PostgreSQL tests use a throw-away database on 127.0.0.1:5432 (override with
``ALLIANCE_TEST_POSTGRES_URL``), created for the session and dropped at the end.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import settings
from sqlalchemy import Engine, create_engine, text

from alliance.agreement import Agreement
from alliance.agreement.parse import load_agreement
from alliance.storage.database import open_database

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "examples" / "alliance.toml"
SECRET = "test-secret-that-is-long-enough-for-alliance-0123456789"
POSTGRES_ADMIN_URL = os.environ.get(
    "ALLIANCE_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)

settings.register_profile("shared-cpu", deadline=None)
settings.load_profile("shared-cpu")
"""No per-example deadline: on two shared cores (and under mutmut) an example's time says
nothing about the code, so a deadline only made green runs fail at random."""


@pytest.fixture(scope="session")
def example_path() -> Path:
    return EXAMPLE


@pytest.fixture(scope="session")
def agreement() -> Agreement:
    return load_agreement(EXAMPLE)


@pytest.fixture
def sqlite_engine(tmp_path: Path) -> Iterator[Engine]:
    engine = open_database(f"sqlite:///{tmp_path / 'alliance.db'}")
    yield engine
    engine.dispose()


@pytest.fixture(scope="session")
def postgres_server_url() -> Iterator[str]:
    """A fresh database on the real PostgreSQL server for this test session."""
    name = f"alliance_test_{uuid.uuid4().hex[:10]}"
    admin = create_engine(POSTGRES_ADMIN_URL, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    except Exception as exc:
        pytest.fail(f"PostgreSQL at {POSTGRES_ADMIN_URL} is needed for these tests: {exc}")
    url = POSTGRES_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    yield url
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture
def postgres_engine(postgres_server_url: str) -> Iterator[Engine]:
    engine = open_database(postgres_server_url)
    yield engine
    with engine.begin() as conn:  # TRUNCATE: the append-only tables refuse DELETE
        from alliance.storage.schema import metadata

        names = ", ".join(f'"{table.name}"' for table in metadata.sorted_tables)
        conn.execute(text(f"TRUNCATE {names}"))
    engine.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def engine(request: pytest.FixtureRequest) -> Engine:
    """The same test on the embedded default and on PostgreSQL."""
    return request.getfixturevalue(f"{request.param}_engine")
