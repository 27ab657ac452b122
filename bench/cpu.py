"""Where the CPU went during a benchmark run, read from /proc (no extra packages).

Used by ``bench/worker.py`` to show what limits more workers on a small machine: the worker
processes, the store process, PostgreSQL, Redis, the benchmark itself and the rest.
"""

from __future__ import annotations

import os
import resource
from dataclasses import dataclass, fields
from pathlib import Path

TICK = os.sysconf("SC_CLK_TCK")


def _proc_stat(pid: str) -> list[str] | None:
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return text[text.rindex(")") + 2 :].split()  # fields from the 3rd (state) on


def _seconds(stat: list[str]) -> float:
    """utime + stime + cutime + cstime (fields 14-17): the process and its reaped children."""
    return sum(int(v) for v in stat[11:15]) / TICK


def _named(names: tuple[str, ...]) -> float:
    """CPU seconds of every process with one of these names (PostgreSQL's backends are reaped
    by the postmaster, so the exited ones stay counted in its children's time)."""
    total = 0.0
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            name = (entry / "comm").read_text().strip()
        except OSError:
            continue
        if name in names and (stat := _proc_stat(entry.name)) is not None:
            total += _seconds(stat)
    return total


def busy_seconds() -> float:
    """Busy CPU seconds of the machine, all cores: user, nice, system, irq, softirq, steal."""
    values = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    return (sum(values[:8]) - values[3] - values[4]) / TICK


@dataclass
class Cpu:
    """CPU seconds: our children (the workers, or ``alliance run``), the store process,
    PostgreSQL, Redis, this process, and the whole machine."""

    workers: float = 0.0
    store: float = 0.0
    postgres: float = 0.0
    redis: float = 0.0
    bench: float = 0.0
    machine: float = 0.0

    @classmethod
    def now(cls, store_pid: int) -> Cpu:
        children = resource.getrusage(resource.RUSAGE_CHILDREN)
        own = resource.getrusage(resource.RUSAGE_SELF)
        return cls(
            workers=children.ru_utime + children.ru_stime,
            store=_seconds(_proc_stat(str(store_pid)) or ["0"] * 15),
            postgres=_named(("postgres",)),
            redis=_named(("redis-server",)),
            bench=own.ru_utime + own.ru_stime,
            machine=busy_seconds(),
        )

    def __sub__(self, other: Cpu) -> Cpu:
        return Cpu(*(getattr(self, f.name) - getattr(other, f.name) for f in fields(self)))

    @property
    def other(self) -> float:
        """Busy time nobody above accounts for: the kernel's network work, other processes."""
        return self.machine - self.workers - self.store - self.postgres - self.redis - self.bench
