"""Lambda entry point of the migrate function (handler ``migrate_handler.handler``): create or
update the database roles, then apply pending migrations. Not behind the API; the rollout
tool invokes it after each deploy. By hand, with the function's environment:
``python migrate_handler.py`` from ``lambda/``."""

import json
from typing import Any

from payments import logs, schema_deploy

log = logs.get_logger("migrate")


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    outcome = schema_deploy.run(schema_deploy.MigrateConfig.from_environ())
    log.info("schema deployed", extra={"fields": outcome})
    return outcome


if __name__ == "__main__":
    print(json.dumps(handler({}, None)))
