"""What every run of the worker benchmark shares: fixed settings and the run context.

Kept apart so the store process, the runs and the report read the same constants without
importing each other.
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from pathlib import Path

from bench.worker_ledger import Ledger

ROOT = Path(__file__).resolve().parents[1]
SECRET = "bench-secret-bench-secret-bench-secret-0000"
ALLIANCE = [sys.executable, "-m", "alliance.cli"]
CPUS = os.cpu_count() or 1
NOISE = 0.1
"""A run in which the rest of the machine used more than this share of its cores is flagged."""


@dataclass
class Context:
    """The stores, the agreement file and the services every configuration runs against; the
    first run's ledger is kept in ``ledgers`` so every later run can be compared with it."""

    members: list[str]
    per_store: int
    config: Path
    scratch: Path
    store_pid: int
    postgres: str
    redis_url: str
    ledgers: dict[str, Ledger]
