-- How far the recovery region's storage has confirmed the writer's log: what a processor
-- needs to wait for, after its ledger commit, before it answers 201 with zero data loss
-- (the zero-loss wait). written_lsn is the writer's log position now (after a commit: at or
-- past that commit); confirmed_lsn is the lowest position every other region's storage has
-- confirmed, NULL when no other region is replicating (the home region then runs with
-- regional durability only). A commit is in both regions once confirmed_lsn >= the
-- written_lsn read right after it.
--
-- One implementation is chosen here, when the migration is applied:
-- * Aurora (the function aurora_global_db_status() exists): its per-region
--   highest_lsn_written; the primary cluster's row has durability_lag_in_msec = -1
--   ("aurora_global_db_status", Aurora User Guide);
-- * plain PostgreSQL (the local model): pg_stat_replication on the primary, the flush
--   position each streaming standby reports. Reading it needs pg_read_all_stats, which the
--   migrate step grants the migrator there ("Monitoring Database Activity", PostgreSQL).
-- Either way payments_app may only EXECUTE it: SECURITY DEFINER, search_path fixed.
DO $migration$
BEGIN
    IF to_regproc('aurora_global_db_status') IS NOT NULL THEN
        EXECUTE $function$
            CREATE FUNCTION replication_progress()
            RETURNS TABLE (written_lsn pg_lsn, confirmed_lsn pg_lsn)
            LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp
            AS $body$
                SELECT max(s.highest_lsn_written) FILTER (WHERE s.durability_lag_in_msec = -1),
                       min(s.highest_lsn_written) FILTER (WHERE s.durability_lag_in_msec <> -1)
                FROM aurora_global_db_status() AS s
            $body$
        $function$;
    ELSE
        EXECUTE $function$
            CREATE FUNCTION replication_progress()
            RETURNS TABLE (written_lsn pg_lsn, confirmed_lsn pg_lsn)
            LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp
            AS $body$
                SELECT pg_current_wal_lsn(),
                       (SELECT min(r.flush_lsn) FROM pg_stat_replication AS r
                        WHERE r.state = 'streaming')
            $body$
        $function$;
    END IF;
END
$migration$;

REVOKE ALL ON FUNCTION replication_progress() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION replication_progress() TO payments_app;
