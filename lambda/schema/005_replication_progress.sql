-- How far the recovery region's storage has confirmed the writer's log: what a processor
-- needs to wait for, after its ledger commit, before it answers 201 with zero data loss
-- (the zero-loss wait). written_lsn is the writer's log position now (after a commit: at or
-- past that commit); confirmed_lsn is the lowest position every other region's storage has
-- confirmed, NULL when no other region is replicating (the home region then runs with
-- regional durability only). A commit is in both regions once confirmed_lsn >= the
-- written_lsn read right after it.
--
-- Both positions are returned as text, whatever type the source column has: a PostgreSQL
-- LSN ('16/B374D848') or a plain number ('131031557'). payments.ledger.lsn_position reads
-- either and refuses anything else. The Aurora User Guide shows highest_lsn_written as a plain
-- number ("aurora_global_db_status", Examples; "Monitoring Aurora PostgreSQL-based global
-- databases") and names no column type: a declared pg_lsn made this migration fail there
-- (42P13). This file was changed in place for that reason: as first written it could not
-- apply on Aurora, and it had been applied to no Aurora cluster.
--
-- One implementation is chosen here, when the migration is applied:
-- * Aurora (the function aurora_global_db_status() exists): its per-region
--   highest_lsn_written; the primary cluster's row has durability_lag_in_msec = -1
--   ("aurora_global_db_status", Aurora User Guide). On paper: the primary's and the
--   secondaries' values are positions in one number space (the page calls them all the
--   highest LSN on that cluster). No secondary row (none is replicating): confirmed_lsn is
--   NULL; no primary row: written_lsn is NULL, which the zero-loss wait takes as no
--   confirmation;
-- * plain PostgreSQL (the local model): pg_stat_replication on the primary, the flush
--   position each streaming standby reports. Reading it needs pg_read_all_stats, which the
--   migrate step grants the migrator there ("Monitoring Database Activity", PostgreSQL).
-- Either way payments_app may only EXECUTE it: SECURITY DEFINER, search_path fixed.
DO $migration$
BEGIN
    IF to_regproc('aurora_global_db_status') IS NOT NULL THEN
        EXECUTE $function$
            CREATE FUNCTION replication_progress()
            RETURNS TABLE (written_lsn text, confirmed_lsn text)
            LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp
            AS $body$
                SELECT (max(s.highest_lsn_written)
                            FILTER (WHERE s.durability_lag_in_msec = -1))::text,
                       (min(s.highest_lsn_written)
                            FILTER (WHERE s.durability_lag_in_msec <> -1))::text
                FROM aurora_global_db_status() AS s
            $body$
        $function$;
    ELSE
        EXECUTE $function$
            CREATE FUNCTION replication_progress()
            RETURNS TABLE (written_lsn text, confirmed_lsn text)
            LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp
            AS $body$
                SELECT pg_current_wal_lsn()::text,
                       (SELECT min(r.flush_lsn) FROM pg_stat_replication AS r
                        WHERE r.state = 'streaming')::text
            $body$
        $function$;
    END IF;
END
$migration$;

REVOKE ALL ON FUNCTION replication_progress() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION replication_progress() TO payments_app;
