"""An alarm for the database failure that a failover does not fix: the functions' own role.

PostgreSQL lets a role change its own password and its own session defaults ("ALTER ROLE",
PostgreSQL documentation), and both outlast the session: a compromised or mistaken function
running ``ALTER ROLE payments_app SET default_transaction_read_only = on`` or changing its
password breaks every new connection, in both regions (one role, one replicated secret).
The health checks fail and DNS fails over, uselessly. The fix is the migrate function, which
resets both roles' passwords and settings on every run (lambda/payments/roles.py).

So the processor's and the health function's log lines are counted when they show exactly
that: the server refused the role's password, the role carries settings of its own (every
connection refuses it: lambda/payments/session_settings.py, which also pins the settings that
matter in the startup message, so a role default of `synchronous_commit = off` never takes
effect), or a writable primary hands out read-only sessions. The alarm says what to run instead
of a failover.
"""

from payments.session_settings import ROLE_SETTINGS_REFUSED
from troposphere import Template, cloudwatch

from .log_metrics import alarm_on_any_line, count_lines
from .notifications import Topic
from .service import Functions

METRIC_NAME = "DatabaseRoleRefused"
REFUSED_REASONS = (
    # lambda/payments/database.py: SQLSTATE 28P01 or 28000 at login, after one fresh try with
    # the secret read again
    "authentication failed*",
    # lambda/payments/database.py READ_ONLY_SESSION_ON_PRIMARY
    "database is read only (session setting*",
    # lambda/payments/session_settings.py: any ALTER ROLE ... SET of a managed role
    f"{ROLE_SETTINGS_REFUSED}*",
)
# The processor logs `reason` on its request line; health logs its database check under
# `checks.database` (`error`, or the server's own `read_only` and `in_recovery`). Wildcards in
# JSON string values and IS TRUE / IS FALSE: "Filter pattern syntax for metric filters,
# subscription filters, and filter log events" (CloudWatch Logs User Guide).
FILTER_PATTERN = "{ " + " || ".join(
    [f'($.reason = "{reason}")' for reason in REFUSED_REASONS]
    + [f'($.checks.database.error = "{reason}")' for reason in REFUSED_REASONS]
    + ["(($.checks.database.read_only IS TRUE) && ($.checks.database.in_recovery IS FALSE))"]
) + " }"


def add_database_role_alarm(template: Template, topic: Topic,
                            functions: Functions) -> cloudwatch.Alarm:
    for logical, log_group in functions.log_groups.items():
        count_lines(template, f"{logical}DatabaseRoleRefusedFilter", log_group, FILTER_PATTERN,
                    METRIC_NAME)
    return alarm_on_any_line(
        template, "DatabaseRoleRefusedAlarm", topic, METRIC_NAME,
        description="The database refuses the functions' own role (its password no longer "
                    "matches its secret, it gave itself settings with ALTER ROLE ... SET, or "
                    "its sessions start read only on the writer): a failover does not help. "
                    "Invoke the migrate function, which resets the role's password and "
                    "settings.",
    )
