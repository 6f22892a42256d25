"""One test payment per region, with a merchant key made for it and revoked afterwards.

The key belongs to a dedicated test merchant, `verify-<environment>`, and is made and revoked
with the `keys` command's own functions (merchant_keys/commands.py), in one region's replica of
the global table; before paying in the other region the check waits until that region's replica
has the key (the authorizer there reads its own replica, and would cache a refusal for 30 s).
The secret key is held in memory only: never printed, recorded or logged. The payments stay in
the ledger as any payment does (find them by the merchant id); each is sent once and retried
once with the same Idempotency-Key, which must replay it.
"""

from __future__ import annotations

import uuid
from typing import Any

from payments.merchant_keys import new_key, record_key

from merchant_keys import commands as key_admin
from toolkit import resource_names as names
from toolkit.config import Config
from verify import network
from verify.checks import Outcome, failed, passed
from verify.observe import Observations

KEY_LABEL = "payments-dr verify test payment"
REPLICATION_WAIT_SECONDS = 10.0  # global tables replicate in about a second
POLL_SECONDS = 0.5
AMOUNT, CURRENCY = "1.00", "USD"


def merchant_id(config: Config) -> str:
    return f"verify-{config.environment}"


class VerifyKey:
    """The test merchant's key: made on first use in `region`, revoked by `revoke()`."""

    def __init__(self, config: Config, observed: Observations, region: str):
        self.config, self.observed, self.region = config, observed, region
        self.merchant = merchant_id(config)
        self.table = names.table(config)
        self.key_id: str | None = None
        self._secret: str | None = None
        self.revoked: str | None = None

    def secret(self) -> str:
        if self._secret is None:
            new = new_key(self.config.environment)
            self.key_id = new.key_id  # known before the write: an interrupted one is revoked
            key_admin.put_key(self.observed.aws, self._client(self.region), self.table, new,
                              self.merchant, KEY_LABEL)
            self._secret = new.value
        return self._secret

    def readable_in(self, region: str) -> bool:
        """Whether `region`'s replica has the key, waiting up to REPLICATION_WAIT_SECONDS."""
        client, clock = self._client(region), self.observed.aws.clock
        started = clock.now()
        while True:
            found = self.observed.aws.call(client.get_item, TableName=self.table,
                                           Key={"pk": {"S": record_key(str(self.key_id))}},
                                           ProjectionExpression="key_status").get("Item")
            if found is not None:
                return True
            if clock.now() - started >= REPLICATION_WAIT_SECONDS:
                return False
            clock.sleep(POLL_SECONDS)

    def revoke(self) -> str | None:
        """Revoke the key if one was made (REVOKED_NOW, ALREADY_REVOKED or NOT_FOUND)."""
        if self.key_id is not None and self.revoked is None:
            self.revoked = key_admin.revoke_key(self.observed.aws, self._client(self.region),
                                                self.table, self.key_id)
        return self.revoked

    def to_json(self) -> dict[str, Any]:
        return {"merchant_id": self.merchant, "key_id": self.key_id, "region": self.region,
                "revoked": self.revoked}

    def _client(self, region: str) -> Any:
        return self.observed.client("dynamodb", region)


def payment_body(region: str) -> dict[str, Any]:
    """A small payment with a vault token (letters only: no digit run a card scan could match)."""
    token = "tok_verify_" + uuid.uuid4().hex.translate(str.maketrans("0123456789", "ghijklmnop"))
    return {"amount": AMOUNT, "currency": CURRENCY,
            "source": {"type": "card_token", "token": token},
            "description": f"payments-dr verify test payment in {region}"}


def pay_and_replay(config: Config, key: VerifyKey, region: str) -> Outcome:
    """POST /process on the region's own host with the test key, then the same request again:
    201, then 201 replayed with the same payment id."""
    secret = key.secret()
    if region != key.region and not key.readable_in(region):
        return failed(f"the test key written in {key.region} was not in {region}'s table "
                      f"replica after {REPLICATION_WAIT_SECONDS:.0f} s: the global table is "
                      "not replicating")
    url = f"https://{names.health_host(config, region)}/process"
    body = payment_body(region)
    headers = {"Authorization": f"Bearer {secret}", "Idempotency-Key": str(uuid.uuid4())}
    first = network.post_json(url, body, headers)
    if first.status != 201:
        return failed(f"POST {url} answered {first.status}: {_error(first)}")
    paid = first.body
    problems = [f"{field} is {paid.get(field)!r}, expected {value!r}" for field, value in
                (("status", "accepted"), ("region", region), ("merchant_id", key.merchant),
                 ("amount", AMOUNT), ("currency", CURRENCY)) if paid.get(field) != value]
    if problems:
        return failed(f"POST {url} answered 201, but " + "; ".join(problems))
    again = network.post_json(url, body, headers)
    if (again.status, again.headers.get("idempotent-replayed"), again.body.get("payment_id")) \
            != (201, "true", paid.get("payment_id")):
        return failed(f"payment {paid.get('payment_id')} was recorded, but the retry with its "
                      f"Idempotency-Key answered {again.status} (idempotent-replayed: "
                      f"{again.headers.get('idempotent-replayed')}, payment "
                      f"{again.body.get('payment_id')}): {_error(again)}")
    return passed(f"payment {paid['payment_id']} ({AMOUNT} {CURRENCY}, merchant {key.merchant}) "
                  f"recorded by {region} (201), and the retry replayed it")


def _error(response: network.Response) -> str:
    error = response.body.get("error") or {}
    if not isinstance(error, dict) or not error:
        return "no error body"
    return f"{error.get('code')}: {error.get('message')}"
