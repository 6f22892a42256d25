-- The functions connect as payments_app (created by the migrate function, see
-- payments/roles.py): exactly what the ledger needs, nothing more. No DELETE, no
-- TRUNCATE, no DDL: a compromised function cannot erase or reshape the ledger.
GRANT SELECT, INSERT ON payments TO payments_app;
-- ON CONFLICT ... DO UPDATE needs UPDATE; the statement only rewrites the key with itself.
GRANT UPDATE (idempotency_key) ON payments TO payments_app;
GRANT SELECT, INSERT, UPDATE ON heartbeats TO payments_app;
GRANT SELECT ON schema_migrations TO payments_app;
