-- The functions' role (payments_app) loses every table privilege. What it needs is four
-- functions, owned by payments_migrator and run with its rights (SECURITY DEFINER), each
-- doing one thing: record a payment, read one, write the caller's own region's heartbeat,
-- say which migrations are applied. A compromised function can record payments and nothing
-- else: it cannot move a payment's idempotency key (the column grant that ON CONFLICT ...
-- DO UPDATE needed let it UPDATE every row's key), read the ledger in bulk, or write another
-- region's heartbeat.
--
-- Each function follows "Writing SECURITY DEFINER Functions Safely" (PostgreSQL, CREATE
-- FUNCTION): a fixed search_path with pg_temp last, EXECUTE revoked from PUBLIC, granted to
-- payments_app only.

REVOKE ALL ON payments, heartbeats, schema_migrations FROM payments_app, PUBLIC;

-- No function the migrator creates from now on is executable by every role by default.
ALTER DEFAULT PRIVILEGES REVOKE EXECUTE ON FUNCTIONS FROM PUBLIC;

-- Where each region's functions connect from: the migrate step writes the two VPC CIDRs of
-- the deployment (HomeVpcCidr, RecoveryVpcCidr) on every deploy. Both regions' functions log
-- in as payments_app with one replicated secret, so the address they connect from (which
-- VPC peering does not translate) is the only thing the database knows that a caller
-- cannot choose.
CREATE TABLE region_networks (
    region   text  PRIMARY KEY CHECK (region ~ '^[a-z]{2}(-[a-z]+)+-[0-9]+$'),
    network  cidr  NOT NULL
);

-- What the functions see of a ledger row (never the source fingerprint).
CREATE TYPE recorded_payment AS (
    payment_id text, idempotency_key text, request_hash text, merchant_id text, amount numeric,
    currency text, currency_exponent smallint, description text, status text,
    correlation_id text, region text, created_at timestamptz);

CREATE FUNCTION record_payment(
    p_payment_id uuid, p_idempotency_key text, p_request_hash text, p_merchant_id text,
    p_amount numeric, p_currency text, p_currency_exponent smallint, p_description text,
    p_source_type text, p_source_fingerprint text, p_correlation_id text, p_region text)
RETURNS SETOF recorded_payment
LANGUAGE sql VOLATILE SECURITY DEFINER SET search_path = public, pg_temp
AS $$
    -- The new row, or the row already recorded for (merchant, key): a concurrent insert of
    -- the same key waits for the first to commit and returns its row. The no-op update locks
    -- that row and makes RETURNING return it; it runs with the migrator's rights only.
    INSERT INTO payments AS p (
        payment_id, idempotency_key, request_hash, merchant_id, amount, currency,
        currency_exponent, description, source_type, source_fingerprint, status,
        correlation_id, region)
    VALUES (
        p_payment_id, p_idempotency_key, p_request_hash, p_merchant_id, p_amount, p_currency,
        p_currency_exponent, p_description, p_source_type, p_source_fingerprint, 'accepted',
        p_correlation_id, p_region)
    ON CONFLICT ON CONSTRAINT payments_merchant_idempotency_key_unique
    DO UPDATE SET idempotency_key = p.idempotency_key
    RETURNING p.payment_id::text, p.idempotency_key, p.request_hash, p.merchant_id, p.amount,
              p.currency, p.currency_exponent, p.description, p.status, p.correlation_id,
              p.region, p.created_at
$$;

CREATE FUNCTION find_payment(p_merchant_id text, p_idempotency_key text)
RETURNS SETOF recorded_payment
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp
AS $$
    SELECT p.payment_id::text, p.idempotency_key, p.request_hash, p.merchant_id, p.amount,
           p.currency, p.currency_exponent, p.description, p.status, p.correlation_id,
           p.region, p.created_at
    FROM payments AS p
    WHERE p.merchant_id = p_merchant_id AND p.idempotency_key = p_idempotency_key
$$;

-- The caller names its region (the Lambda runtime's AWS_REGION) and the database checks it
-- against the address the connection comes from: a function can write its own region's
-- heartbeat only. A connection without an address (a Unix socket) is refused too.
CREATE FUNCTION write_heartbeat(p_region text)
RETURNS timestamptz
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = public, pg_temp
AS $$
DECLARE
    written timestamptz;
BEGIN
    IF NOT EXISTS (SELECT 1 FROM region_networks AS n
                   WHERE n.region = p_region AND inet_client_addr() <<= n.network) THEN
        RAISE EXCEPTION 'heartbeat refused: the connection does not come from the network '
                        'of the region it names'
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    INSERT INTO heartbeats AS h (region, written_at) VALUES (p_region, now())
    ON CONFLICT (region) DO UPDATE SET written_at = EXCLUDED.written_at
    RETURNING h.written_at INTO written;
    RETURN written;
END
$$;

CREATE FUNCTION applied_migrations()
RETURNS SETOF text
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp
AS $$
    SELECT m.version FROM schema_migrations AS m
$$;

REVOKE ALL ON FUNCTION
    record_payment(uuid, text, text, text, numeric, text, smallint, text, text, text, text, text),
    find_payment(text, text), write_heartbeat(text), applied_migrations()
    FROM PUBLIC;
GRANT EXECUTE ON FUNCTION
    record_payment(uuid, text, text, text, numeric, text, smallint, text, text, text, text, text),
    find_payment(text, text), write_heartbeat(text), applied_migrations()
    TO payments_app;
