"""Payment processing for the multi-region payment API.

Everything here is shipped inside every Lambda zip. Business rules are pure
functions over the typed models in :mod:`payments.models`; the adapters
(:mod:`payments.ledger`, :mod:`payments.idempotency`, :mod:`payments.receipts`,
:mod:`payments.status`) are the only modules that talk to AWS or PostgreSQL, and
:mod:`payments.wiring` is the only module that builds them from the environment.
"""
