"""End to end: drain-and-rollout against real Redis, real Celery workers and
the Kubernetes and Flower doubles (the core issue)."""
import json
import shlex
import subprocess
import time

import pytest

from conftest import make_world, patches
from world import NS, wait_for


@pytest.mark.long
@pytest.mark.valgrind
@pytest.mark.parametrize("flower", ["2.0", "2.1", "1.2"])
def test_zero_loss_drain_and_rollout(request, flower):
    """Tasks longer than the grace period, running and prefetched: every one
    runs exactly once, nothing is stranded, a new pod consumes the queue;
    against each Flower version the double answers as (open API)."""
    world = make_world(request, flower_args=["--version", flower])
    old = world.worker_of("ecal-bulk")
    ids = world.enqueue("ecal-bulk", 5, 4.0)      # grace period is 3 s
    world.wait_started(ids, 1)
    p = world.run("ecal-bulk")
    assert p.returncode == 0, p.stderr
    world.wait_done(ids, timeout=30)
    world.assert_exactly_once(ids)
    assert world.unacked() == 0
    new = world.worker_of("ecal-bulk")
    assert new is not None and new != old
    assert world.consumes(new, "ecal-bulk")
    # the restart is exactly what `oc rollout restart` sends
    (patch,) = patches(world)
    assert patch["content_type"] == "application/strategic-merge-patch+json"
    body = json.loads(patch["body"])
    ann = body["spec"]["template"]["metadata"]["annotations"]
    assert list(ann) == ["kubectl.kubernetes.io/restartedAt"]
    assert time.strptime(ann["kubectl.kubernetes.io/restartedAt"], "%Y-%m-%dT%H:%M:%SZ")
    # the restart came after the last task finished
    done_at = world.r(15).hmget("ledger:done_at", ids)
    assert max(float(t) for t in done_at) <= patch["t"]
    assert "rolled out and verified" in p.stderr
    assert "worker(s) via Flower" in p.stderr, "Flower was not used:\n" + p.stderr
    assert not world.r().exists("drain-and-rollout:lease:%s:ecal-bulk" % NS)
    assert not world.r().exists("drain-and-rollout:journal:%s:ecal-bulk" % NS)


def test_control_plain_restart_loses_work(world):
    """The same load with a plain `kubectl rollout restart` (no drain) loses or
    strands work: proof that the world can detect loss."""
    ids = world.enqueue("ecal-bulk", 5, 4.0)
    world.wait_started(ids, 1)
    old = {x["name"] for x in world.pods("ecal-bulk")}
    subprocess.run(["kubectl", "--kubeconfig", world.kubeconfig, "--cache-dir",
                    world.tmp + "/kcache", "rollout", "restart", "deployment/ecal-bulk"],
                   check=True, capture_output=True)
    subprocess.run(["kubectl", "--kubeconfig", world.kubeconfig, "--cache-dir",
                    world.tmp + "/kcache", "rollout", "status", "deployment/ecal-bulk",
                    "--timeout=60s"], check=True, capture_output=True)
    # what could still finish has finished: the old pod is gone, and every
    # task is done, held in unacked by the worker that died with it
    # (redelivered only in 6 hours), or was running when it was killed
    def held():
        return {json.loads(v)[0]["headers"]["id"] for v in world.r().hvals("unacked")}

    def settled():
        if old & {x["name"] for x in world.pods("ecal-bulk")}:
            return False
        started, done = world.ledger()
        return all(i in done or i in held() or i in started for i in ids)
    wait_for(settled, 60, "the old pod gone, every task done, held or killed")
    started, done = world.ledger()
    lost = [i for i in ids if i not in done]
    assert lost, "a plain restart lost nothing: the control test cannot detect loss"
    assert world.unacked() > 0 or any(i in started for i in lost)


@pytest.mark.valgrind
def test_drain_timeout_restores_consumers_and_sends_no_restart(world):
    worker = world.worker_of("ecal-bulk")
    ids = world.enqueue("ecal-bulk", 2, 20.0, tag="long")
    world.wait_started(ids, 1)
    p = world.run("ecal-bulk", "--drain-timeout", "3s")
    assert p.returncode == 5, p.stderr
    assert "drain timed out" in p.stderr
    assert ids[0] in p.stderr, "the blocking task must be named"
    assert world.consumes(worker, "ecal-bulk")
    assert patches(world) == []
    assert world.worker_of("ecal-bulk") == worker
    assert not world.r().exists("drain-and-rollout:lease:%s:ecal-bulk" % NS)


@pytest.mark.valgrind
def test_dry_run_changes_nothing(world):
    worker = world.worker_of("ecal-bulk")
    # the first task runs long enough to be running when the plan is made,
    # also under valgrind on a loaded machine; two short ones wait behind it
    ids = world.enqueue("ecal-bulk", 1, 20.0)
    world.wait_started(ids, 1)
    ids += world.enqueue("ecal-bulk", 2, 0.5)
    wait_for(lambda: world.unacked() >= 2, 30, "two tasks prefetched")
    p = world.run("ecal-bulk", "--dry-run")
    assert p.returncode == 0, p.stderr
    # the plan is the output of --dry-run
    assert worker in p.stdout
    assert "1 running" in p.stdout and "prefetched" in p.stdout
    assert "backlog ecal-bulk=" in p.stdout
    assert patches(world) == []
    assert world.consumes(worker, "ecal-bulk")
    assert not world.r().keys("drain-and-rollout:*")
    world.wait_done(ids, timeout=30)
    world.assert_exactly_once(ids)


def test_rollout_failure_gives_old_worker_its_consumers_back(request):
    from conftest import make_world
    from world import deployment
    w = make_world(request, [deployment("ecal-bulk", pds=4)])
    worker = w.worker_of("ecal-bulk")
    w.kube_test("POST", "/_test/break", {"deployment": "ecal-bulk"})
    p = w.run("ecal-bulk")
    assert p.returncode == 6, p.stderr
    assert "exceeded its progress deadline" in p.stderr
    assert len(patches(w)) == 1
    # the old pod survives a stuck rollout (maxUnavailable 0): it works again
    assert w.consumes(worker, "ecal-bulk")


def test_on_timeout_force_restarts_and_names_the_cut_task(world):
    long_ = world.enqueue("ecal-bulk", 1, 30.0, tag="cut")
    world.wait_started(long_, 1)
    old = world.worker_of("ecal-bulk")
    p = world.run("ecal-bulk", "--drain-timeout", "2s", "--on-timeout", "force")
    assert p.returncode == 0, p.stderr
    assert "--on-timeout force" in p.stderr and long_[0] in p.stderr
    assert len(patches(world)) == 1
    new = world.worker_of("ecal-bulk")
    assert new != old and world.consumes(new, "ecal-bulk")


def test_redis_password_on_the_command_line_is_refused(world):
    p = world.run("--redis-url", "redis://:hunter2@127.0.0.1:%d/0" % world.redis_port,
                  "--dry-run", "ecal-bulk")
    assert p.returncode == 2
    assert "--redis-password-file" in p.stderr and "hunter2" not in p.stderr


CANCEL_403 = "Failed to cancel 'ecal-bulk' consumer from '%s' worker: Unknown reason"


def cancel_requests(world):
    return [r for r in world.flower_test("GET", "/_test/requests")
            if "/api/worker/queue/cancel-consumer/" in r["path"]]


def test_a_cancel_the_worker_did_not_answer_is_asked_again(world):
    """Flower answers a cancel-consumer the worker did not reply to with 403
    (a worker just online, its remote control not listening yet): the run
    asks again, as it would an add-consumer, and the drain goes on; every
    task once."""
    worker = world.worker_of("ecal-bulk")
    ids = world.enqueue("ecal-bulk", 3, 2.0)
    world.wait_started(ids, 1)
    world.flower_test("DELETE", "/_test/requests")
    world.flower_test("POST", "/_test/fail", {
        "path_contains": "cancel-consumer", "status": 403, "count": 2,
        "body": CANCEL_403 % worker})
    p = world.run("ecal-bulk")
    assert p.returncode == 0, p.stderr
    assert "did not answer the cancel of ecal-bulk" in p.stderr, p.stderr
    statuses = [r["status"] for r in cancel_requests(world)]
    assert statuses == [403, 403, 200], statuses
    world.wait_done(ids, timeout=30)
    world.assert_exactly_once(ids)
    assert len(patches(world)) == 1


def test_a_worker_that_never_answers_its_cancel_is_restored(world):
    """A worker that answers no cancel at all: asked a bounded number of
    times, then the run restores (exit 5) and restarts nothing."""
    worker = world.worker_of("ecal-bulk")
    world.flower_test("DELETE", "/_test/requests")
    world.flower_test("POST", "/_test/fail", {
        "path_contains": "cancel-consumer", "status": 403, "count": 99,
        "body": CANCEL_403 % worker})
    p = world.run("ecal-bulk")
    world.flower_test("POST", "/_test/reset")
    assert p.returncode == 5, p.stderr
    assert "the worker did not answer" in p.stderr, p.stderr
    assert len(cancel_requests(world)) == 4     # CANCEL_ASKS
    assert patches(world) == []
    assert world.consumes(worker, "ecal-bulk")
    assert world.worker_of("ecal-bulk") == worker


def test_a_worker_flower_counts_offline_while_its_pod_runs_gets_its_queue_back(world):
    """The drain times out while the worker cannot answer (SIGSTOPped, as
    while its broker connection hangs): Flower counts it offline once its
    heartbeats expire, and its add-consumer gets no reply. Its pod runs, so
    it is not gone: asked again, it takes its queue back once it answers,
    and its task ends once. Taking Flower's "offline" for gone left it
    without consumers ("nothing to restore")."""
    worker = world.worker_of("ecal-bulk")
    (pod,) = [q for q in world.pods("ecal-bulk") if q["ready"]]
    ids = world.enqueue("ecal-bulk", 1, 20.0, tag="long")
    world.wait_started(ids, 1)
    p = world.spawn("ecal-bulk", "--drain-timeout", "6s")
    stopped = False
    try:
        wait_for(lambda: world.r().hget("drain-and-rollout:journal:%s:ecal-bulk" % NS,
                                        "state") == "drain", 30, "the drain", interval=0.05)
        world.kube_test("POST", "/_test/kill-pod", {"pod": pod["name"], "signal": "STOP"})
        stopped = True
        wait_for(lambda: worker not in world.workers_online(), 20, "Flower counting it offline")

        def asked_after_no_reply():
            reqs = world.flower_test("GET", "/_test/requests")
            t = [r["t"] for r in reqs if "add-consumer" in r["path"] and r["status"] == 403]
            return t and [r for r in reqs if "status=true" in r["path"] and r["t"] > t[0]
                          and r["status"] == 200]
        wait_for(asked_after_no_reply, 30, "an add-consumer unanswered, then the list read")
    finally:
        if stopped:
            world.kube_test("POST", "/_test/kill-pod", {"pod": pod["name"], "signal": "CONT"})
    out, err = p.communicate(timeout=120)
    assert p.returncode == 5, err
    assert "nothing to restore" not in err, err
    assert "runs (its pod does) but did not take its consumers back" in err, err
    assert world.consumes(worker, "ecal-bulk"), err
    assert patches(world) == []
    world.wait_done(ids, timeout=60)
    world.assert_exactly_once(ids)


def stopped_in_drain(world, *args):
    """A long task, the run started with args; once it drains, the worker's
    container is SIGSTOPped (hung: it answers nothing)."""
    worker = world.worker_of("ecal-bulk")
    (pod,) = [q for q in world.pods("ecal-bulk") if q["ready"]]
    ids = world.enqueue("ecal-bulk", 1, 20.0, tag="long")
    world.wait_started(ids, 1)
    p = world.spawn("ecal-bulk", *args)
    wait_for(lambda: world.r().hget("drain-and-rollout:journal:%s:ecal-bulk" % NS,
                                    "state") == "drain", 30, "the drain", interval=0.05)
    world.kube_test("POST", "/_test/kill-pod", {"pod": pod["name"], "signal": "STOP"})
    return worker, pod, ids, p


def run_printed_undrain(world, err, worker):
    """Run the --undrain command the agent printed for worker."""
    line = [l for l in err.splitlines() if worker in l and "give them back with: " in l]
    assert line, "no --undrain command printed for %s:\n%s" % (worker, err)
    words = shlex.split(line[-1].split("give them back with: ", 1)[1].split(" (or run")[0])
    assert words[0] == "drain-and-rollout" and "--undrain" in words, words
    return world.run(*words[1:])


def test_a_hung_worker_whose_pods_cannot_be_listed_is_not_taken_as_gone(world):
    """The worker hangs during the drain (Flower counts it offline) and the
    pods cannot be listed (HTTP 401) when the run restores: the run cannot
    tell hung from gone, so it ends with exit 9 and the --undrain command,
    which gives the queue back once the worker answers. Taking Flower's
    "offline" for gone left it without consumers while the outcome said
    'consumers restored' (exit 5)."""
    worker, pod, ids, p = stopped_in_drain(world, "--drain-timeout", "12s")
    try:
        wait_for(lambda: worker not in world.workers_online(), 20, "Flower counting it offline")
        world.kube_test("POST", "/_test/faults", {"path_prefix": "/api/v1/namespaces/%s/pods" % NS,
                                                  "method": "GET", "status": 401, "count": 1000})
        out, err = p.communicate(timeout=120)
    finally:
        world.kube_test("DELETE", "/_test/faults")
        world.kube_test("POST", "/_test/kill-pod", {"pod": pod["name"], "signal": "CONT"})
    assert p.returncode == 9, err
    assert "nothing to restore" not in err, err
    assert "cannot tell" in err, err
    u = run_printed_undrain(world, err, worker)
    assert u.returncode == 0, u.stderr
    assert world.consumes(worker, "ecal-bulk")
    assert patches(world) == []
    world.wait_done(ids, timeout=60)
    world.assert_exactly_once(ids)


def test_a_worker_that_stays_hung_is_named_with_its_undrain_command(world):
    """A worker whose pod runs but that never answers again: the asks end
    with exit 9, the run naming the worker and the --undrain command that
    gives its queue back once it answers (the cause was kept behind the
    drain's time-out, unsaid); -o json gives that command as the worker's
    "undrain"."""
    worker, pod, ids, p = stopped_in_drain(world, "--drain-timeout", "6s", "-o", "json")
    try:
        out, err = p.communicate(timeout=120)
    finally:
        world.kube_test("POST", "/_test/kill-pod", {"pod": pod["name"], "signal": "CONT"})
    assert p.returncode == 9, err
    assert "could not re-add the consumers of %s" % worker in err, err
    (d,) = json.loads(out)["deployments"]
    (w,) = d["workers"]
    assert w["name"] == worker and w["gone"] is False, w
    assert w["undrain"] and "--undrain ecal-bulk --queues ecal-bulk" in w["undrain"], w
    u = run_printed_undrain(world, err, worker)
    assert u.returncode == 0, u.stderr
    assert world.consumes(worker, "ecal-bulk")


def test_an_api_server_down_does_not_keep_an_online_worker_from_being_asked_again(world):
    """The pods cannot be listed (HTTP 503: retried) while an online
    worker's add-consumer got no reply: the pods are listed for a request's
    time, not RESTORE's whole minute, and the worker is asked again and
    takes its queue back (exit 5) within seconds."""
    worker = world.worker_of("ecal-bulk")
    ids = world.enqueue("ecal-bulk", 1, 25.0, tag="long")
    world.wait_started(ids, 1)
    p = world.spawn("ecal-bulk", "--drain-timeout", "3s", "--request-timeout", "4s")
    wait_for(lambda: world.r().hget("drain-and-rollout:journal:%s:ecal-bulk" % NS,
                                    "state") == "drain", 30, "the drain", interval=0.05)
    world.kube_test("POST", "/_test/faults", {"path_prefix": "/api/v1/namespaces/%s/pods" % NS,
                                              "method": "GET", "status": 503, "count": 1000})
    world.flower_test("POST", "/_test/fail", {
        "path_contains": "add-consumer", "status": 403, "count": 1,
        "body": "Failed to add 'ecal-bulk' consumer to '%s' worker: Unknown reason" % worker})
    try:
        out, err = p.communicate(timeout=30)
    except subprocess.TimeoutExpired:
        p.kill()
        raise AssertionError("still restoring after 30 s:\n" + p.communicate()[1])
    finally:
        world.kube_test("DELETE", "/_test/faults")
    assert p.returncode == 5, err
    assert world.consumes(worker, "ecal-bulk")
    world.wait_done(ids, timeout=60)
    world.assert_exactly_once(ids)
