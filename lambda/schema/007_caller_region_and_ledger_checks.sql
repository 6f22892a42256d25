-- record_payment believed whatever the caller passed (review 18, F9). Two changes:
--
-- 1. The region a payment is recorded for must be the region whose VPC CIDR the connection
--    comes from, the rule write_heartbeat already applied (004): both regions' functions log
--    in as payments_app with one replicated secret, and the address they connect from (which
--    VPC peering does not translate) is the only thing a caller cannot choose. The check moves
--    into one function: write_heartbeat calls it, and a trigger calls it for every row
--    payments_app inserts into the ledger, whichever function inserts it (record_payment
--    today). A BEFORE INSERT trigger also fires for INSERT ... ON CONFLICT DO UPDATE, so a
--    retry that finds the row already recorded is checked too. Rows the migrator or the
--    master write (a repair, a restore) are theirs to vouch for.
-- 2. The ledger's columns carry the rules the API validates (lambda/payments/validation.py,
--    models.py), so a caller of record_payment that skips the API cannot store what the API
--    refuses: an idempotency key of 8-128 of A-Z a-z 0-9 . _ : - starting with a letter or
--    digit, a merchant id of 1-64 of the same, a source type of 1-32 of a-z 0-9 _ starting
--    with a letter, a source fingerprint that is a SHA-256 hex digest, a correlation id of
--    1-128 characters (API Gateway's request id is a 36-character UUID) and an AWS region name.
--
-- The constraints are added NOT VALID: the new rows are checked from this commit on, without
-- a scan of the ledger under the ACCESS EXCLUSIVE lock this transaction holds (every payment
-- would wait for it). The migrate step validates them right after the migrations commit, one
-- constraint per transaction (ALTER TABLE ... VALIDATE CONSTRAINT takes SHARE UPDATE
-- EXCLUSIVE, which lets payments in: PostgreSQL "ALTER TABLE"), and reports the result
-- (payments.constraint_validation). Every row the API wrote already satisfies them.

CREATE FUNCTION require_caller_region(p_region text)
RETURNS void
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = public, pg_temp
AS $$
BEGIN
    -- A connection without an address (a Unix socket) is refused too.
    IF NOT EXISTS (SELECT 1 FROM region_networks AS n
                   WHERE n.region = p_region AND inet_client_addr() <<= n.network) THEN
        RAISE EXCEPTION 'refused: the connection does not come from the network of the region '
                        'it names'
            USING ERRCODE = 'insufficient_privilege';
    END IF;
END
$$;
REVOKE ALL ON FUNCTION require_caller_region(text) FROM PUBLIC;

CREATE OR REPLACE FUNCTION write_heartbeat(p_region text)
RETURNS timestamptz
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = public, pg_temp
AS $$
DECLARE
    written timestamptz;
BEGIN
    PERFORM require_caller_region(p_region);
    INSERT INTO heartbeats AS h (region, written_at) VALUES (p_region, now())
    ON CONFLICT (region) DO UPDATE SET written_at = EXCLUDED.written_at
    RETURNING h.written_at INTO written;
    RETURN written;
END
$$;

CREATE FUNCTION require_inserted_payment_region()
RETURNS trigger
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = public, pg_temp
AS $$
BEGIN
    IF session_user = 'payments_app' THEN
        PERFORM require_caller_region(NEW.region);
    END IF;
    RETURN NEW;
END
$$;
REVOKE ALL ON FUNCTION require_inserted_payment_region() FROM PUBLIC;

CREATE TRIGGER payments_region_is_the_callers
    BEFORE INSERT ON payments
    FOR EACH ROW EXECUTE FUNCTION require_inserted_payment_region();

ALTER TABLE payments
    ADD CONSTRAINT payments_idempotency_key_format
        CHECK (idempotency_key ~ '^[A-Za-z0-9][A-Za-z0-9._:-]{7,127}$') NOT VALID,
    ADD CONSTRAINT payments_merchant_id_format
        CHECK (merchant_id ~ '^[A-Za-z0-9][A-Za-z0-9._:-]{0,63}$') NOT VALID,
    ADD CONSTRAINT payments_source_type_format
        CHECK (source_type ~ '^[a-z][a-z0-9_]{0,31}$') NOT VALID,
    ADD CONSTRAINT payments_source_fingerprint_sha256
        CHECK (source_fingerprint ~ '^[0-9a-f]{64}$') NOT VALID,
    ADD CONSTRAINT payments_correlation_id_length
        CHECK (length(correlation_id) BETWEEN 1 AND 128) NOT VALID,
    ADD CONSTRAINT payments_region_name
        CHECK (region ~ '^[a-z]{2}(-[a-z]+)+-[0-9]+$') NOT VALID;
