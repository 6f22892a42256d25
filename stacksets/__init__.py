"""The rollout tool: deploys the built templates to two regions with CloudFormation StackSets.

    python -m stacksets {plan,deploy,status,drift,destroy} --config FILE [--local] [--output json]
"""
