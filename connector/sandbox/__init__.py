"""A sandbox WooCommerce store: a real HTTP server imitating the REST API v3 the connector uses.

Tests, the demo and the benchmarks talk to it exactly as they would to a real store; see
``server.start_sandbox``.
"""
