"""A sandbox WooCommerce store: a real HTTP server imitating the REST API v3 the connector uses.

Tests, the demo and the benchmarks talk to it exactly as they would to a real store; see
``server.start_sandbox``. Beyond the API a test (or the demo) can act as a shopper and as the
network: ``handle.state.checkout(payload)`` redeems coupon codes as a customer's checkout does,
``handle.state.sent_emails()`` lists the customer-note emails the store sent,
``handle.faults`` injects host failures, and ``handle.down()`` / ``handle.up()`` take the store
off the network and back.
"""
