"""DB_CLUSTER_IDENTIFIERS (lambda/payments/tls.py): every function that connects to the
database is told both regions' Aurora cluster identifiers, spelled exactly as the clusters
are named, with either region as home."""

import pytest

from tests.cfn import PSEUDO_DEFAULTS, render
from tests.conftest import BASE_PARAMETERS, PRIMARY, SECONDARY
from tests.test_dashboard import resolve_subs

DATABASE_CLIENTS = ["ProcessorFunction", "HealthFunction", "MigrateFunction"]


@pytest.mark.parametrize("home, recovery", [(PRIMARY, SECONDARY), (SECONDARY, PRIMARY)])
def test_functions_know_both_clusters_by_the_identifiers_the_clusters_carry(regional, home,
                                                                            recovery):
    parameters = {**BASE_PARAMETERS, "HomeRegion": home, "RecoveryRegion": recovery,
                  "PeerRegionReady": "true"}
    defaults = {name: spec.get("Default")
                for name, spec in regional.doc["Parameters"].items()}
    clusters, listed = [], set()
    for region in (home, recovery):
        values = {**defaults, **parameters, **PSEUDO_DEFAULTS, "AWS::Region": region}
        cfn = render(regional.doc, region=region, parameters=parameters)
        clusters.append(resolve_subs(cfn.props("DbCluster")["DBClusterIdentifier"], values))
        for function in DATABASE_CLIENTS:
            variables = cfn.props(function)["Environment"]["Variables"]
            listed.add(resolve_subs(variables["DB_CLUSTER_IDENTIFIERS"], values))
    assert listed == {",".join(clusters)}, "one value in both regions: home, then recovery"
    assert clusters == [f"payments-test-{home}", f"payments-test-{recovery}"]
