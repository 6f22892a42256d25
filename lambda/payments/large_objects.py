"""Large objects the functions' role created, removed on every deploy.

PostgreSQL lets every role create large objects: ``lo_creat``, ``lo_create`` and
``lo_from_bytea`` are executable by PUBLIC ("Large Objects", Server-Side Functions), and a large
object belongs to its creator, outside any schema and any table privilege. A compromised
function could store any amount of data in the writer that way, replicated to the other region,
invisible to the ledger's grants.

The migrate step (as the master user, :func:`tidy`) does what it can:

1. It revokes EXECUTE on the functions that create a large object from PUBLIC. Only the
   functions' owner (or a superuser) can: on plain PostgreSQL, where the master is a superuser,
   this closes the door. On Aurora the master is not a superuser (``NOSUPERUSER CREATEROLE``
   with ``rds_superuser``, "Understanding the rds_superuser role", Amazon RDS User Guide) and
   does not own ``pg_catalog``'s functions, so PostgreSQL only warns ("REVOKE": a non-owner
   "will revoke only those privileges for which the user has grant options"), and the
   functions stay executable. The step reports what the app role can still execute
   (``large_object_functions_open``), so an operator sees which case the cluster is in.
2. It unlinks every large object the app role owns (``lo_unlink`` needs the owner's
   privileges: the master makes itself a member of the role first, as it does for the
   migrator) and reports how many (``large_objects_removed``). Between two deploys the role
   can still create them; the count says whether it did.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .database import Database

CREATING_FUNCTIONS = ("lo_creat", "lo_create", "lo_from_bytea", "lo_import")
"""The server-side functions that create a large object (``lo_import``, which reads a server
file, is executable only by superusers and pg_read_server_files already)."""

_EXECUTABLE_BY = ("SELECT CAST(p.oid AS regprocedure)::text FROM pg_catalog.pg_proc AS p "
                  "WHERE p.pronamespace = CAST('pg_catalog' AS regnamespace) "
                  "AND p.proname = ANY(CAST(:names AS text[])) "
                  "AND has_function_privilege(:grantee, p.oid, 'EXECUTE') ORDER BY 1")
_REMOVE = ("SELECT count(pg_catalog.lo_unlink(m.oid)) "
           "FROM pg_catalog.pg_largeobject_metadata AS m WHERE m.lomowner = CAST(:role AS regrole)")


@dataclass(frozen=True)
class Tidied:
    removed: int
    open_functions: tuple[str, ...]
    """The large-object-creating functions the role can still execute."""


def tidy(master: Database, role: str) -> Tidied:
    """Revoke what the master can, unlink what ``role`` owns, report both (idempotent)."""
    with master.transaction() as run:
        # Only what PUBLIC may still execute: a non-owner's REVOKE on a function it cannot
        # execute at all fails outright instead of warning ("REVOKE", PostgreSQL).
        for function in _executable_by(run, "public"):  # a catalog name, never input
            run(f"REVOKE EXECUTE ON FUNCTION pg_catalog.{function} FROM PUBLIC")
        run(f"GRANT {role} TO CURRENT_USER")  # lo_unlink needs the owner's privileges
        ((removed,),) = run(_REMOVE, role=role)
        still_open = _executable_by(run, role)
    return Tidied(int(removed), still_open)


def _executable_by(run, grantee: str) -> tuple[str, ...]:
    return tuple(name for (name,) in run(_EXECUTABLE_BY, names=list(CREATING_FUNCTIONS),
                                           grantee=grantee))
