"""Log output for the long-running commands (``worker``, ``run``): one line per job, as text or
as JSON, with one timestamp format.

Job lines carry their counts as ``fields`` (see :func:`worker.jobs.log_job`); with
``--log-format json`` each becomes a key, so machines can read them, and every line on stderr
is one JSON object. At INFO only the job lines (and our own notices) are shown: RQ's own lines
(about six per job), Alembic's migration lines at every start and the sync's own summary (the
job line says the same) are DEBUG, shown with ``--log-level debug``. Warnings and errors always
show. Nothing personal and no secret is ever in them: jobs log counts, member ids, order ids and
typed error messages.
"""

from __future__ import annotations

import json
import logging
import sys
from datetime import UTC, datetime

LOG_FORMATS = ("text", "json")
LOG_LEVELS = ("info", "debug")

QUIET_LOGGERS = ("rq", "alembic", "alliance.sync")
"""Loggers whose lines below WARNING are DEBUG under a worker: RQ's bookkeeping, Alembic's
migrations, and the sync's summary (the job's own line carries its counts)."""


def utc_time(created: float) -> str:
    """The one timestamp format: ISO 8601, UTC, milliseconds: ``2026-12-07T23:11:54.153Z``."""
    moment = datetime.fromtimestamp(created, UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


class QuietLibraries(logging.Filter):
    """Make the :data:`QUIET_LOGGERS`' lines below WARNING, and the lines a job's own line
    repeats, DEBUG lines: dropped unless the handler shows DEBUG (then labelled DEBUG)."""

    def __init__(self, level: int) -> None:
        super().__init__()
        self.level = level

    def filter(self, record: logging.LogRecord) -> bool:
        repeated = (record.name, record.msg) in REPEATED_BY_JOB_LINES
        if not repeated and (record.levelno >= logging.WARNING or not _quiet(record.name)):
            return True
        record.levelno, record.levelname = logging.DEBUG, "DEBUG"
        return self.level <= logging.DEBUG


REPEATED_BY_JOB_LINES = frozenset({("alliance.sync", "%s: sync stopped: %s")})
"""(logger, message template) of lines a job's own line repeats: DEBUG under a worker."""


def _quiet(name: str) -> bool:
    return any(name == q or name.startswith(q + ".") for q in QUIET_LOGGERS)


class TextFormatter(logging.Formatter):
    """``<time> LEVEL logger: message``; a traceback only at DEBUG (otherwise its last line)."""

    def __init__(self, level: int) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s: %(message)s")
        self.level = level

    def formatTime(self, record: logging.LogRecord, datefmt: str | None = None) -> str:
        return utc_time(record.created)

    def formatException(self, ei: object) -> str:
        text = super().formatException(ei)  # type: ignore[arg-type]
        return text if self.level <= logging.DEBUG else text.strip().splitlines()[-1]


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, and a job line's fields."""

    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": utc_time(record.created),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        fields = getattr(record, "fields", None)
        if isinstance(fields, dict):
            entry.update({"job": getattr(record, "job", None), **fields})
        if record.exc_info:
            entry["error"] = self.formatException(record.exc_info).splitlines()[-1]
        return json.dumps(entry, ensure_ascii=False, default=str)


def configure_logging(log_format: str = "text", level: int | str = logging.INFO) -> None:
    """Send every log line to stderr in ``log_format``; ``level`` ``debug`` adds the quiet
    loggers' lines. Python warnings become log lines too, so JSON output stays pure."""
    if isinstance(level, str):
        level = logging.DEBUG if level.lower() == "debug" else logging.INFO
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter() if log_format == "json" else TextFormatter(level))
    handler.addFilter(QuietLibraries(level))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    for name in QUIET_LOGGERS:  # as configured by the library itself, if it did: ours rule
        quiet = logging.getLogger(name)
        quiet.handlers[:] = []
        quiet.propagate = True
        quiet.setLevel(logging.NOTSET)
    logging.captureWarnings(True)
