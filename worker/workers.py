"""RQ's workers, made to leave promptly when their work is done.

RQ listens for commands on a pub/sub channel in a thread that waits up to 60 s for a message;
redis-py 8.2 made ``PubSubWorkerThread.stop()`` wait for that thread, so every worker (a burst
worker with nothing left, or one told to stop) sat out the rest of that 60 s wait before
exiting: two burst workers finished a complete ledger in 11 s and exited after 72 s. Here the
thread waits at most :data:`PUBSUB_WAIT_SECONDS`, so stopping costs at most that; a wake-up
per second on an idle connection costs nothing measurable.
"""

from __future__ import annotations

from rq import SimpleWorker, Worker

PUBSUB_WAIT_SECONDS = 1.0
"""How long the command listener waits for a message before checking whether to stop."""


class _PromptStop:
    """Subscribes to the worker's command channel like RQ does, with a short wait."""

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
