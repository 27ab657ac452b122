"""Application services: what the wings ask of the domain that needs the database.

Each loads through ``alliance.storage``, calls the pure core (agreement, attribution,
commission, ledger, statements) and persists the outcome: booking orders and clicks, statements
and balances, and what the alliance remembers of each member's syncs (bookmarks, quarantine,
fences) and catalog. The connector, the worker and the web app come here, not to storage.
"""
