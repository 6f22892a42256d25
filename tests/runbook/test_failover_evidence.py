"""What counts as evidence that a region is lost (`dr failover` unforced), and what refuses:
a region that answers with its database check ok (its writer is alive), a 200 whatever its
body, /health bodies that are not JSON objects; no answer counts only after 30 s of asking; a
re-run right after an interrupted failover does not call it again. Every combination of home
and lost region, us-east-1 either side."""

from __future__ import annotations

import functools
import http.server
import threading

import pytest

from runbook import decide as runbook
from runbook import loop
from runbook.aws_adapter import AwsAdapter, http_health
from runbook.timeline import Timeline
from tests.runbook.fakes import Cloud, FakeAws
from tests.runbook.test_runbook import environment, failover_cases


@pytest.mark.parametrize("home, recovery, lost", failover_cases())
def test_failover_is_refused_when_the_lost_regions_writer_answers_writable(
        example_config, home, recovery, lost):
    config = environment(example_config, home, recovery)
    cloud = Cloud(home, recovery)
    cloud.route53[lost] = False          # Route 53 probes /health, which answers 503
    healthy_answer = cloud.health

    def health(url):
        if url.startswith(f"https://{lost}."):
            # The region answers: DynamoDB is failing there, its database took a write.
            return 503, {"status": "unhealthy", "region": lost,
                         "checks": {"database": "ok", "dynamodb": "failing", "s3": "ok"}}
        return healthy_answer(url)

    to = config.recovery_region if lost == config.home_region else config.home_region
    cloud.writer = cloud.preferred = lost
    adapter = AwsAdapter(FakeAws(cloud), config, failed=lost, get=health)
    result = loop.run(adapter, functools.partial(runbook.failover, to=to),
                      Timeline.open("failover", None, adapter.now), poll=10)
    assert result.outcome == "refused", result.message
    assert cloud.writes() == []


class _Answer(http.server.BaseHTTPRequestHandler):
    body = b"<html>OK</html>"

    def do_GET(self):  # noqa: N802 (http.server's hook)
        self.send_response(200)
        self.send_header("Content-Type", "text/html")
        self.end_headers()
        self.wfile.write(self.body)

    def log_message(self, *args):
        pass


@pytest.fixture
def local_server():
    server = http.server.HTTPServer(("127.0.0.1", 0), _Answer)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/health"
    server.shutdown()


def test_a_200_that_is_not_json_is_still_a_200(local_server):
    status, _ = http_health(local_server)
    assert status == 200


@pytest.mark.parametrize("body", [b"null", b"[]", b'"ok"'])
def test_a_json_body_that_is_not_an_object_is_read_not_crashed_on(body):
    from runbook.aws_adapter import writable_from
    import json

    assert writable_from(json.loads(body)) is None


class _LateCloud(Cloud):
    """DescribeGlobalClusters shows a started move one observation late (the eventual
    consistency the kernel's settle polls exist for)."""

    hide = 0

    def _start_move(self, kind, region, target):
        result = super()._start_move(kind, region, target)
        self.hide = 1
        return result

    def rds_describe_global_clusters(self, region, GlobalClusterIdentifier):
        if self.hide and self.move:
            self.hide -= 1
            (move, status), self.move, self.status = (self.move, self.status), None, "available"
            try:
                return super().rds_describe_global_clusters(region, GlobalClusterIdentifier)
            finally:
                self.move, self.status = move, status
        return super().rds_describe_global_clusters(region, GlobalClusterIdentifier)


def test_a_rerun_right_after_an_interrupted_failover_does_not_call_it_again(example_config,
                                                                           tmp_path):
    from tests.runbook.test_runbook import InterruptAfterAct

    cloud = _LateCloud("us-east-1", "us-west-2")
    cloud.down.add("us-east-1")
    cloud.route53["us-east-1"] = False
    path = tmp_path / "failover.json"
    decide = functools.partial(runbook.failover, to="us-west-2")
    first = InterruptAfterAct(FakeAws(cloud), example_config, failed="us-east-1",
                              get=cloud.health)
    with pytest.raises(KeyboardInterrupt):
        loop.run(first, decide, Timeline.open("failover us-west-2", path, first.now), poll=10)
    second = AwsAdapter(FakeAws(cloud), example_config, failed="us-east-1", get=cloud.health)
    result = loop.run(second, decide, Timeline.open("failover us-west-2", path, second.now),
                      poll=10)
    assert [w[2] for w in cloud.writes()] == ["failover_global_cluster"]
    assert result.outcome == "done", result.message


# --- the rule itself, in both directions, either region lost ------------------------------------
def _state(lost: str, status: int, writable: bool | None, route53: bool | None):
    """The lost region as observed: its /health status (0: no answer after the retries) and
    database check, and its Route 53 check (None: not asked, as when us-east-1 is lost)."""
    from runbook.state import DrState, Member

    to = "us-west-2" if lost == "us-east-1" else "us-east-1"
    return DrState(home="us-east-1", recovery="us-west-2", global_cluster="g",
                   members=(Member(lost, "a", True), Member(to, "b", False, "connected")),
                   healthy={lost: status == 200, to: True}, writable={lost: writable, to: True},
                   health_status={lost: status, to: 200},
                   health_checks={} if route53 is None else {lost: route53}), to


@pytest.mark.parametrize("lost", ["us-east-1", "us-west-2"])
@pytest.mark.parametrize("status, writable, route53, runs", [
    (0, None, None, True),        # no answer (after 30 s of asking), Route 53 not asked
    (503, False, None, True),     # answers with its database check failing
    (502, None, False, True),     # no database check, Route 53's check failing
    (503, True, False, False),    # the writer just committed a heartbeat: alive
    (500, True, None, False),
    (200, True, None, False),
    (502, None, None, False),     # an answer that proves neither: no evidence
    (0, None, True, False),       # Route 53's checkers reach it
    (503, False, True, False),
])
def test_what_counts_as_evidence_of_loss(lost, status, writable, route53, runs):
    from toolkit import kernel

    state, to = _state(lost, status, writable, route53)
    decision = runbook.failover(state, to)
    assert isinstance(decision, kernel.Step if runs else kernel.Refuse), decision


class _Probe:
    """A /health host that is silent for `silent` asks, then answers `answer`."""

    def __init__(self, cloud, lost, silent, answer=(503, {"checks": {"database": "ok"}})):
        self.cloud, self.lost, self.silent, self.answer, self.asked = cloud, lost, silent, \
            answer, 0

    def __call__(self, url):
        if not url.startswith(f"https://{self.lost}."):
            return self.cloud.health(url)
        self.asked += 1
        return (0, {}) if self.asked <= self.silent else self.answer


@pytest.mark.parametrize("home, recovery, lost", failover_cases())
def test_no_answer_counts_only_after_30_seconds_of_asking(example_config, home, recovery,
                                                          lost):
    """When Route 53 is not asked (us-east-1 lost), the silent region is asked 4 times over
    30 s; while Route 53's checkers find it failing (3 x 10 s already), once."""
    from runbook.aws_adapter import NO_ANSWER_INTERVAL_SECONDS, NO_ANSWER_RETRIES

    config = environment(example_config, home, recovery)
    to = recovery if lost == home else home
    silent = Cloud(home, recovery)
    silent.down.add(lost)
    silent.route53[lost] = False
    silent.writer = silent.preferred = lost
    probe = _Probe(silent, lost, silent=10 ** 6)
    adapter = AwsAdapter(FakeAws(silent), config, failed=lost, get=probe)
    state = adapter.observe()
    asks = NO_ANSWER_RETRIES + 1 if lost == "us-east-1" else 1
    assert (probe.asked, state.health_status[lost]) == (asks, 0)
    assert adapter.now() == (asks - 1) * NO_ANSWER_INTERVAL_SECONDS
    adapter.observe()
    assert probe.asked == asks + 1  # once per observation after that
    assert runbook.failover(state, to).action == "failover_global_cluster"


@pytest.mark.parametrize("home, recovery", [("us-east-1", "us-west-2"),
                                            ("us-west-2", "us-east-1")])
def test_a_region_that_answers_while_it_is_asked_again_is_not_lost(example_config, home,
                                                                   recovery):
    """us-east-1 lost (Route 53 not asked): silent twice, then it answers with its database
    check ok: refused, nothing written."""
    config = environment(example_config, home, recovery)
    lost, to = "us-east-1", "us-west-2"
    late = Cloud(home, recovery)
    late.writer = late.preferred = lost
    probe = _Probe(late, lost, silent=2)
    adapter = AwsAdapter(FakeAws(late), config, failed=lost, get=probe)
    result = loop.run(adapter, functools.partial(runbook.failover, to=to),
                      Timeline.open("failover", None, adapter.now), poll=10)
    assert result.outcome == "refused" and probe.asked == 3, result.message
    assert "database check ok" in result.message and late.writes() == []


@pytest.mark.parametrize("body, status", [(b"<html>Bad gateway</html>", 502), (b"[1]", 503)])
def test_an_error_answer_is_its_status_whatever_its_body(status, body):
    class Error(_Answer):
        def do_GET(self):  # noqa: N802 (http.server's hook)
            self.send_response(status)
            self.end_headers()
            self.wfile.write(body)

    server = http.server.HTTPServer(("127.0.0.1", 0), Error)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        assert http_health(f"http://127.0.0.1:{server.server_address[1]}/health") == \
            (status, {})
    finally:
        server.shutdown()


def test_nothing_listening_is_no_answer():
    import socket

    with socket.socket() as unused:
        unused.bind(("127.0.0.1", 0))
        port = unused.getsockname()[1]
    assert http_health(f"http://127.0.0.1:{port}/health") == (0, {})


class _InterruptBeforeTheCall(AwsAdapter):
    def act(self, step):
        raise KeyboardInterrupt  # Ctrl-C after the step was logged, before the call left


def test_a_resumed_call_that_never_reached_aws_is_made_by_the_next_run(example_config,
                                                                       tmp_path):
    """The re-run cannot know whether the interrupted call reached AWS: it waits its polls,
    stops naming it, and only the run after that makes the call (once)."""
    cloud = Cloud("us-east-1", "us-west-2")
    cloud.down.add("us-east-1")
    cloud.route53["us-east-1"] = False
    path = tmp_path / "failover.json"
    decide = functools.partial(runbook.failover, to="us-west-2")

    def attempt(adapter_class):
        adapter = adapter_class(FakeAws(cloud), example_config, failed="us-east-1",
                                get=cloud.health)
        return loop.run(adapter, decide, Timeline.open("failover us-west-2", path, adapter.now),
                        poll=10)

    with pytest.raises(KeyboardInterrupt):
        attempt(_InterruptBeforeTheCall)
    second = attempt(AwsAdapter)
    assert second.outcome == "stuck" and cloud.writes() == []
    assert "started by an interrupted run" in second.message
    third = attempt(AwsAdapter)
    assert third.outcome == "done", third.message
    assert [w[2] for w in cloud.writes()] == ["failover_global_cluster"]
