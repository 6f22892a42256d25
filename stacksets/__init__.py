"""The rollout tool: deploys the built templates to two regions with CloudFormation StackSets.

    payments-dr {plan,deploy,status,drift,destroy} --config FILE [--local] [--output json]
    (or python -m stacksets ...)
"""
