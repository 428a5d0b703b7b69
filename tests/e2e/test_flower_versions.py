"""End to end: the Flowers operators have (issue 11, item 3), as the Flower
double answers for each version (fixtures/flower/v1.2.0, v2.1.0): what the
agent says about each, --control auto going on over the broker when
Flower's API cannot control workers, and 2.1's coalesced inspections."""
import os
import threading
import time
import urllib.request

from conftest import make_world, patches

SWITCH = "continuing with Celery remote control over the broker"


def world_with(request, *flower_args, auth=None, unauthenticated_api=True):
    return make_world(request, flower_args=list(flower_args), flower_auth=auth,
                      flower_unauthenticated_api=unauthenticated_api)


def agent_env(w):
    """Credentials for a Flower with basic auth."""
    pw = os.path.join(w.tmp, "flower-pw")
    with open(pw, "w") as f:
        f.write(w.flower_auth.split(":", 1)[1] + "\n")
    return w.env(DRAIN_FLOWER_USER=w.flower_auth.split(":", 1)[0],
                 DRAIN_FLOWER_PASSWORD_FILE=pw)


def flower_requests(w, method=None, part=""):
    return [r for r in w.flower_test("GET", "/_test/requests")
            if (method is None or r["method"] == method) and part in r["path"]]


def refused_with_control_flower(w, rc, says, never, env=None):
    """--control flower against a Flower that cannot control: exit rc, the
    message says every phrase of `says` and none of `never`, and nothing
    changed."""
    worker = w.worker_of("ecal-bulk")
    p = w.run("ecal-bulk", "--control", "flower", env=env)
    assert p.returncode == rc, p.stderr
    for phrase in says:
        assert phrase in p.stderr, (phrase, p.stderr)
    for phrase in never:
        assert phrase not in p.stderr, (phrase, p.stderr)
    assert patches(w) == [] and w.consumes(worker, "ecal-bulk")


def drain_over_broker_after_switch(w, env):
    old = w.worker_of("ecal-bulk")
    ids = w.enqueue("ecal-bulk", 5, 3.0)
    w.wait_started(ids, 1)
    p = w.run("ecal-bulk", env=env)
    assert p.returncode == 0, p.stderr
    assert p.stderr.count(SWITCH) == 1, p.stderr
    w.wait_done(ids, timeout=60)
    w.assert_exactly_once(ids)
    assert w.unacked() == 0
    new = w.worker_of("ecal-bulk")
    assert new != old and w.consumes(new, "ecal-bulk")
    assert len(patches(w)) == 1
    return p


def test_v12_with_auth_auto_drains_over_the_broker(request):
    """Flower 1.x with auth has no API (405 to everything): like a Flower
    that is down, said once, and the drain loses nothing."""
    w = world_with(request, "--version", "1.2", auth="ops:s3cret")
    p = drain_over_broker_after_switch(w, agent_env(w))
    assert "api is not available when auth is enabled" in p.stderr
    assert "Flower 1.x" in p.stderr
    # one call found the API closed; nothing more was asked of Flower
    assert len(flower_requests(w)) == 1, flower_requests(w)


def test_v12_with_auth_control_flower_says_what_to_do(request):
    w = world_with(request, "--version", "1.2", auth="ops:s3cret")
    refused_with_control_flower(
        w, 3, ["HTTP 405: api is not available when auth is enabled",
               "upgrade Flower to 2.x, or use --control broker"],
        ["give credentials"], env=agent_env(w))


def test_v21_read_only_auto_drains_over_the_broker(request):
    """Flower 2.1 --read-only refuses cancel (403): the cancel is made over
    the broker, said once; Flower is not asked to change consumers again."""
    w = world_with(request, "--version", "2.1", "--read-only")
    p = drain_over_broker_after_switch(w, w.env())
    assert "Read only mode is enabled" in p.stderr and "--read-only" in p.stderr
    assert len(flower_requests(w, "POST", "cancel-consumer")) == 1
    assert flower_requests(w, "POST", "add-consumer") == []


def test_v21_read_only_control_flower_changes_nothing(request):
    w = world_with(request, "--version", "2.1", "--read-only")
    refused_with_control_flower(
        w, 5, ["HTTP 403: Read only mode is enabled",
               "without --read-only, or use --control broker"],
        ["did not answer"])
    # the refused cancel is not "restored" through the same read-only Flower
    assert flower_requests(w, "POST", "add-consumer") == []


def test_flower_without_unauthenticated_api_says_so(request):
    """Flower 2.x with no auth and FLOWER_UNAUTHENTICATED_API unset: 401 with
    its own text; giving credentials would not help."""
    w = make_world(request, flower=False)
    w.flower_unauthenticated_api = False
    w.start_flower()
    refused_with_control_flower(
        w, 3, ["FLOWER_UNAUTHENTICATED_API=true",
               "Flower has no authentication configured"], ["check them"])


class Dashboard:
    """Someone watching Flower's dashboard: refreshes of every worker back
    to back, so an inspection of all workers is nearly always in flight."""

    def __init__(self, w):
        self.w = w
        self.stop = threading.Event()
        self.t = threading.Thread(target=self.run, daemon=True)

    def run(self):
        while not self.stop.is_set():
            try:
                urllib.request.urlopen(self.w.flower_url + "/api/workers?refresh=1",
                                       timeout=10).read()
            except OSError:
                time.sleep(0.1)

    def __enter__(self):
        self.t.start()
        return self

    def __exit__(self, *exc):
        self.stop.set()
        self.t.join()


def test_v21_coalesced_refresh_does_not_abort_the_drain(request):
    """Flower 2.1's refresh after the cancel joins the dashboard's
    inspection and still lists the queue. The agent checks again instead of
    aborting."""
    w = world_with(request, "--version", "2.1")
    with Dashboard(w):
        old = w.worker_of("ecal-bulk")
        ids = w.enqueue("ecal-bulk", 4, 3.0)
        w.wait_started(ids, 1)
        p = w.run("ecal-bulk")
    assert p.returncode == 0, p.stderr
    assert "still lists ecal-bulk right after the cancel" in p.stderr, \
        "no refresh joined an inspection begun before the cancel:\n" + p.stderr
    w.wait_done(ids, timeout=60)
    w.assert_exactly_once(ids)
    assert w.unacked() == 0
    new = w.worker_of("ecal-bulk")
    assert new != old and w.consumes(new, "ecal-bulk")


def test_v21_coalesced_refresh_does_not_fail_the_restore(request):
    """The same after add-consumer: a drain that times out restores the
    consumers, and a refresh answered from before the add is checked again,
    not taken for a worker left without consumers (exit 9)."""
    w = world_with(request, "--version", "2.1")
    worker = w.worker_of("ecal-bulk")
    ids = w.enqueue("ecal-bulk", 1, 12.0, tag="long")
    w.wait_started(ids, 1)
    with Dashboard(w):
        p = w.run("ecal-bulk", "--drain-timeout", "3s")
    assert p.returncode == 5, p.stderr
    assert "drain timed out" in p.stderr
    assert "still does not consume" not in p.stderr, p.stderr
    assert patches(w) == [] and w.consumes(worker, "ecal-bulk")
    assert w.worker_of("ecal-bulk") == worker
