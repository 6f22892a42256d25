-- Idempotency keys belong to a merchant: two merchants may use the same key
-- independently, and one merchant can never learn another's key by a 409.
-- The unique constraint stays the last line of defence against a duplicate
-- payment when two regions accept the same request at once: the single
-- writer of the global database arbitrates (INSERT ... ON CONFLICT).
ALTER TABLE payments DROP CONSTRAINT payments_idempotency_key_unique;
ALTER TABLE payments
    ADD CONSTRAINT payments_merchant_idempotency_key_unique UNIQUE (merchant_id, idempotency_key);

-- One row per region whose health check proved it can write: the proof is a
-- committed write through the same endpoint as the payments. Replicated to the
-- secondary like every row, so the newest heartbeat a secondary holds is the
-- time of its last replicated transaction (the RPO a failover would lose).
CREATE TABLE heartbeats (
    region       text         PRIMARY KEY CHECK (region ~ '^[a-z]{2}(-[a-z]+)+-[0-9]+$'),
    written_at   timestamptz  NOT NULL
);
