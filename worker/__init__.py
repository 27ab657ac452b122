"""Running the pipeline in the background: job functions (``jobs``), RQ queues and their
schedule (``queues``, ``schedule``), per-member locks with fencing (``locks``), and the
single-process runner (``runner``) for an alliance with no Redis."""
