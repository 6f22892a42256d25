-- The reconcile step (payments.reconcile) rebuilds missing projections (receipts, status
-- items) from the ledger: it reads the rows created in a time window, page by page in
-- (created_at, payment_id) order. payments_app gets this one function to do it, and nothing
-- else: at most 1000 rows a call, none older than 7 days (ledger.RECONCILE_WINDOW_DAYS), and
-- each row as find_payment shows it (never the source fingerprint).
--
-- The index serves the window scan. On a large existing ledger this CREATE INDEX holds writes
-- for as long as it builds: create it beforehand with
--   CREATE INDEX CONCURRENTLY IF NOT EXISTS payments_created_at_idx
--       ON payments (created_at, payment_id);
-- as payments_migrator, and this statement does nothing.
CREATE INDEX IF NOT EXISTS payments_created_at_idx ON payments (created_at, payment_id);

CREATE FUNCTION payments_created_between(
    p_start timestamptz, p_end timestamptz, p_after_created timestamptz, p_after_id uuid,
    p_limit integer)
RETURNS SETOF recorded_payment
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp
AS $$
    SELECT f.*
    FROM payments AS p
    CROSS JOIN LATERAL find_payment(p.merchant_id, p.idempotency_key) AS f
    WHERE p.created_at >= greatest(p_start, now() - interval '7 days')
      AND p.created_at < p_end
      AND (p_after_created IS NULL
           OR (p.created_at, p.payment_id) > (p_after_created, p_after_id))
    ORDER BY p.created_at, p.payment_id
    LIMIT least(greatest(p_limit, 0), 1000)
$$;

REVOKE ALL ON FUNCTION payments_created_between(timestamptz, timestamptz, timestamptz, uuid,
                                                integer) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION payments_created_between(timestamptz, timestamptz, timestamptz, uuid,
                                                   integer) TO payments_app;
