"""ARNs built with pseudo parameters, never with a literal partition.

`arn:aws:` is wrong in aws-cn and aws-us-gov; every ARN here goes through `Sub` with
`${AWS::Partition}` (and `${AWS::Region}` / `${AWS::AccountId}` where they apply).
"""

from troposphere import Sub


def arn(service: str, resource: str, *, region: str = "${AWS::Region}",
        account: str = "${AWS::AccountId}", **variables) -> Sub:
    """`arn:<partition>:<service>:<region>:<account>:<resource>`; `resource` may use ${Var}."""
    text = f"arn:${{AWS::Partition}}:{service}:{region}:{account}:{resource}"
    return Sub(text, **variables) if variables else Sub(text)


def account_root() -> Sub:
    """The account principal: lets IAM policies in this account grant access (KMS, S3)."""
    return Sub("arn:${AWS::Partition}:iam::${AWS::AccountId}:root")


def service_principal(service: str, *, regional: bool = False) -> Sub | str:
    """`<service>.amazonaws.com`, or `<service>.<region>.amazonaws.com` where AWS requires the
    regional form (CloudWatch Logs in a KMS key policy)."""
    if regional:
        return Sub(f"{service}.${{AWS::Region}}.${{AWS::URLSuffix}}")
    return Sub(f"{service}.${{AWS::URLSuffix}}")
