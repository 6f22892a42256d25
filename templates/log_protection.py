"""CloudWatch Logs data protection on every log group a request's content can reach.

The handlers never log request bodies and scan every line they write for card numbers
(lambda/payments/logs.py), but three writers sit outside that scan: AWS WAF logs the headers
of every request it inspects (redacted fields aside, templates/waf.py), API Gateway writes
access and error-level execution logs, and the Lambda runtime writes what a crashing import
prints. A data protection policy on each of those log groups audits and masks what AWS's
managed identifier for credit card numbers finds at ingestion ("Help protect sensitive log
data with masking", CloudWatch Logs User Guide): masked at every egress point (console, Logs
Insights, metric and subscription filters) for anyone without `logs:Unmask`, and counted by
the `LogEventsWithFindings` metric (AWS/Logs).

What it does not do, by AWS's own description ("Financial information", same guide): the
`CreditCardNumber` identifier finds 13-19 digit Luhn-valid numbers with a card brand's prefix
only when a keyword (`card`, `pan`, `visa`, `credit`, ...) is within 30 characters, and log
events ingested before the policy was set stay unmasked. It is a second line, behind the
handlers' own scan and WAF's redaction; it bills per GB scanned.
"""

from __future__ import annotations

from typing import Any

from .arns import arn

POLICY_VERSION = "2021-06-01"  # the data protection policy language ("Understanding data
# protection policies", CloudWatch Logs User Guide)
CARD_NUMBERS = "CreditCardNumber"


def card_number_masking() -> dict[str, Any]:
    """A log group's `DataProtectionPolicy`: audit (metric only, no findings destination) and
    mask the managed identifier for credit card numbers. One audit statement per policy."""
    identifiers = [arn("dataprotection", f"data-identifier/{CARD_NUMBERS}", region="",
                       account="aws")]
    return {
        "Name": "card-numbers",
        "Description": "Audit and mask card numbers (PAN) in this log group",
        "Version": POLICY_VERSION,
        "Statement": [
            {"Sid": "AuditCardNumbers", "DataIdentifier": identifiers,
             "Operation": {"Audit": {"FindingsDestination": {}}}},
            {"Sid": "MaskCardNumbers", "DataIdentifier": identifiers,
             "Operation": {"Deidentify": {"MaskConfig": {}}}},
        ],
    }
