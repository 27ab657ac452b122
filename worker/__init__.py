"""Running the pipeline in the background: job functions, RQ queues and schedules, and the
single-process runner. Arrives with the sync-worker issue; today ``alliance import-orders``
and the demo call the same ingest path (``connector.woocommerce.ingest``) directly."""
