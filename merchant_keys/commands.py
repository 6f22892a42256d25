"""`keys`: merchant secret API keys: create (the key is shown once), list, revoke.

    payments-dr keys create --config FILE --merchant M [--label TEXT]
    payments-dr keys list   --config FILE [--merchant M]
    payments-dr keys revoke --config FILE --key-id ID

Keys live in the environment's payments global table (`<prefix>-<env>-payments`) as
`merchant-key#<key id>` records holding the SHA-256 of the key, never the key. The command
writes in the primary region by default; the global table replicates the record to the other
region within about a second, and the authorizer in either region accepts the key (its result
cache keeps a revoked key working for up to 30 s more). After a failover, pass `--region` to
write where the table is writable now. The key format and hashing are the authorizer's own
(`payments.merchant_keys`, lambda/payments/merchant_keys.py): one definition.

With `--local` it works in the rehearsed account (`payments-dr deploy --local` first): the
rehearsal keeps its account between invocations, so a key created there can be listed and
revoked by the next command.
"""

from __future__ import annotations

import argparse
import re
from datetime import UTC, datetime

from botocore.exceptions import ClientError
from payments import merchant_keys as keys

from toolkit import resource_names
from toolkit.aws import Aws, error_code
from toolkit.context import Context
from toolkit.config import shown
from toolkit.errors import RolloutError, UsageError
from toolkit.exit_codes import OK

REVOKED_NOW, ALREADY_REVOKED, NOT_FOUND = "revoked", "already_revoked", "not_found"
LISTED = ("key_id", "merchant_id", "key_status", "created_at", "revoked_at", "label")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("action", choices=("create", "list", "revoke"),
                        help="create a key (printed once), list keys, or revoke one")
    parser.add_argument("--merchant", help="merchant id (create: required; list: filter)")
    parser.add_argument("--label", default="", help="create: a note for operators, e.g. "
                                                    "'checkout backend' (no secrets)")
    parser.add_argument("--key-id", help="revoke: the key's id (16 hex digits, from list)")
    parser.add_argument("--region", help="where to read and write the table (default: the "
                                         "primary region; after a failover, the new writer's)")


def check_arguments(args: argparse.Namespace, config) -> None:
    """Bad input, refused before the STS call (exit 2): the region, a create's merchant id and
    label (the key format's own rules: `keys.new_record` refuses what it would not store), a
    revoke's key id."""
    if args.region is not None and args.region not in config.regions:
        raise UsageError(f"keys: --region {shown(args.region)} is not one of this "
                         f"environment's regions {list(config.regions)}")
    if args.action == "create":
        if not args.merchant:
            raise UsageError("keys create: --merchant is required")
        try:
            keys.new_record("0" * 16, "", args.merchant, "", args.label)
        except ValueError as error:
            raise UsageError(f"keys create: {error}") from None
    if args.action == "revoke" and not re.fullmatch(r"[0-9a-f]{16}", args.key_id or ""):
        raise UsageError("keys revoke: --key-id must be the 16 hex digits `keys list` shows")


def table_name(ctx: Context) -> str:
    return resource_names.table(ctx.config)


def now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def run(ctx: Context, args: argparse.Namespace) -> int:
    check_arguments(args, ctx.config)  # the CLI has, before any AWS call; a caller may not
    region = args.region or ctx.config.home_region
    client = ctx.aws.client("dynamodb", region)
    action = {"create": create, "list": list_keys, "revoke": revoke}[args.action]
    ctx.reporter.record("region", region)
    ctx.reporter.record("table", table_name(ctx))
    return action(ctx, args, client)


def put_key(aws: Aws, client, table: str, new: keys.NewKey, merchant: str,
            label: str = "") -> None:
    """Store `new` (from `keys.new_key`) as an active key of `merchant` in `table` (through
    `client`, a DynamoDB client of one region); only its hash is stored. ValueError for a
    merchant id or label the key format refuses, before anything is written. `payments-dr
    verify` makes its test key with this too (knowing the key id before the write, so an
    interrupted write can still be revoked)."""
    item = keys.new_record(new.key_id, keys.key_hash(new.value), merchant, now(), label)
    aws.call(client.put_item, TableName=table, Item=item,
             ConditionExpression="attribute_not_exists(pk)")


def revoke_key(aws: Aws, client, table: str, key_id: str) -> str:
    """Revoke a key: REVOKED_NOW, ALREADY_REVOKED or NOT_FOUND."""
    try:
        aws.call(client.update_item, TableName=table,
                 Key={"pk": {"S": keys.record_key(key_id)}},
                 UpdateExpression="SET key_status = :revoked, revoked_at = :now",
                 ConditionExpression="attribute_exists(pk) AND key_status = :active",
                 ExpressionAttributeValues={":revoked": {"S": keys.REVOKED},
                                            ":active": {"S": keys.ACTIVE},
                                            ":now": {"S": now()}})
    except ClientError as error:
        if error_code(error) != "ConditionalCheckFailedException":
            raise
        existing = aws.call(client.get_item, TableName=table,
                            Key={"pk": {"S": keys.record_key(key_id)}},
                            ProjectionExpression="key_status").get("Item")
        return NOT_FOUND if existing is None else ALREADY_REVOKED
    return REVOKED_NOW


def create(ctx: Context, args: argparse.Namespace, client) -> int:
    new = keys.new_key(ctx.config.environment)
    put_key(ctx.aws, client, table_name(ctx), new, args.merchant, args.label)
    ctx.reporter.record("key_id", new.key_id)
    ctx.reporter.record("merchant_id", args.merchant)
    ctx.reporter.record("secret_key", new.value)
    ctx.reporter.record("result", "created")
    if ctx.reporter.mode == "text":
        ctx.reporter.info(f"created key {new.key_id} for merchant {args.merchant}")
        ctx.reporter.info(f"secret key (shown once, not stored): {new.value}")
        ctx.reporter.info("The merchant sends it as `Authorization: Bearer <secret key>`.")
    return OK


def list_keys(ctx: Context, args: argparse.Namespace, client) -> int:
    expression = "begins_with(pk, :prefix)"
    values = {":prefix": {"S": keys.RECORD_PREFIX}}
    if args.merchant:
        expression += " AND merchant_id = :merchant"
        values[":merchant"] = {"S": args.merchant}
    found = []
    # A scan over the table: an operator command, run rarely; the hash is never read.
    paginator = client.get_paginator("scan")
    for page in paginator.paginate(TableName=table_name(ctx), FilterExpression=expression,
                                   ExpressionAttributeValues=values,
                                   ProjectionExpression=", ".join(LISTED)):
        for item in page.get("Items", []):
            found.append({name: item[name]["S"] for name in LISTED if name in item})
    found.sort(key=lambda key: (key.get("merchant_id", ""), key.get("created_at", "")))
    ctx.reporter.record("keys", found)
    ctx.reporter.record("result", "listed")
    if ctx.reporter.mode == "text":
        for key in found:
            revoked = f"  revoked {key['revoked_at']}" if "revoked_at" in key else ""
            ctx.reporter.info(f"{key['key_id']}  {key['merchant_id']}  {key['key_status']}  "
                              f"created {key['created_at']}{revoked}  {key.get('label', '')}")
        ctx.reporter.info(f"{len(found)} key(s)")
    return OK


def revoke(ctx: Context, args: argparse.Namespace, client) -> int:
    outcome = revoke_key(ctx.aws, client, table_name(ctx), args.key_id)
    if outcome == NOT_FOUND:
        raise RolloutError(f"keys revoke: no key {args.key_id} in {table_name(ctx)} "
                           f"({ctx.reporter.document.get('region')}); `keys list` shows the "
                           "keys there")
    if outcome == ALREADY_REVOKED:
        ctx.reporter.info(f"key {args.key_id} was already revoked")
        ctx.reporter.record("result", "already_revoked")
        return OK
    ctx.reporter.info(f"revoked key {args.key_id}; the authorizers' cache forgets it within "
                      "30 s")
    ctx.reporter.record("result", "revoked")
    return OK
