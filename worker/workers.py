"""RQ's workers, made to leave promptly when their work is done, and to tell a failed job
in one line.

RQ listens for commands on a pub/sub channel in a thread that waits up to 60 s for a message;
redis-py 8.2 made ``PubSubWorkerThread.stop()`` wait for that thread, so every worker (a burst
worker with nothing left, or one told to stop) sat out the rest of that 60 s wait before
exiting: two burst workers finished a complete ledger in 11 s and exited after 72 s. Here the
thread waits at most :data:`PUBSUB_WAIT_SECONDS`, so stopping costs at most that; a wake-up
per second on an idle connection costs nothing measurable.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from rq import SimpleWorker, Worker
from rq.job import Job
from rq.job_lifecycle import call_exception_handlers, format_exc_info

from worker.jobs import LAST_ERROR, failure_text, log_failed_job

PUBSUB_WAIT_SECONDS = 1.0
"""How long the command listener waits for a message before checking whether to stop."""


class _PromptStop:
    """Subscribes to the worker's command channel like RQ does, with a short wait; and says
    a failed job in one line (``log_failed_job``), its traceback at DEBUG."""

    def handle_exception(self, job: Job, *exc_info: Any) -> None:
        started = job.started_at
        if started is not None and started.tzinfo is None:
            started = started.replace(tzinfo=UTC)  # RQ keeps UTC
        seconds = (datetime.now(UTC) - started).total_seconds() if started else None
        log_failed_job(job, exc_info[1], seconds)
        job.meta[LAST_ERROR] = failure_text(exc_info[1])  # RQ keeps no error for a retry
        job.save_meta()
        self.log.debug(  # type: ignore[attr-defined]
            "Worker %s: job %s: exception raised while executing\n%s",
            self.name,  # type: ignore[attr-defined]
            job.id,
            format_exc_info(exc_info),
        )
        call_exception_handlers(self._exc_handlers, job, *exc_info)  # type: ignore[attr-defined]

    def subscribe(self) -> None:
        self.log.info(  # type: ignore[attr-defined]
            "Worker %s: subscribing to channel %s",
            self.name,  # type: ignore[attr-defined]
            self.pubsub_channel_name,  # type: ignore[attr-defined]
        )
        self.pubsub = self.connection.pubsub()  # type: ignore[attr-defined]
        self.pubsub.subscribe(**{self.pubsub_channel_name: self.handle_payload})  # type: ignore[attr-defined]
        self.pubsub_thread = self.pubsub.run_in_thread(
            sleep_time=PUBSUB_WAIT_SECONDS,
            daemon=True,
            exception_handler=self._pubsub_exception_handler,  # type: ignore[attr-defined]
        )


class PromptSimpleWorker(_PromptStop, SimpleWorker):
    """RQ's ``SimpleWorker`` (jobs in the worker's own process), leaving promptly."""


class PromptForkWorker(_PromptStop, Worker):
    """RQ's forking ``Worker`` (each job in a child process), leaving promptly."""
