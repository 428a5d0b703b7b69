"""End to end: workers that appear while a run drains (an autoscaler or
`oc scale` adding a replica, a pod that was Pending at RESOLVE and comes
up). Every worker of a pod the run stops is drained first: the census of
the pods just before the restart PATCH (in place) or RETIRE (--handover)."""
import json
import signal
import time
import urllib.error

import pytest

from test_handover import PLAIN_POOL, fresh as handover_world, live_pods
from test_safety import finish, wait_journal_state, wait_lease_gone
from world import HERE as WORLD_DIR, NS, python_c, wait_for

DEP = "ecal-bulk"
JOURNAL = "drain-and-rollout:journal:%s:%s" % (NS, DEP)


def fresh(request):
    """One worker (one process, prefetching 4) with a 2 s grace period."""
    return handover_world(request, pool=PLAIN_POOL)


def restart_patches(w):
    """The restart PATCHes the API server took (not the scale ones)."""
    return [r for r in w.kube_requests() if r["method"] == "PATCH" and r.get("status") == 200
            and r["path"].split("?")[0].endswith("/deployments/" + DEP)
            and "restartedAt" in r["body"]]


def consuming_new_pods(w, old, n):
    pods = [p for p in live_pods(w) if p["name"] not in old]
    return len(pods) == n and all(w.consumes(p["hostname"], DEP) for p in pods) and pods


def scaled_while_draining(w, late_seconds):
    """The only worker runs a 12 s task; the run drains it; a task of
    late_seconds is queued (the old worker no longer fetches: it waits for
    the new replica) and the Deployment is scaled from 1 to 2 (kubectl
    scale: the scale subresource, as an HPA or KEDA scales). Returns the
    agent, its args, the tasks (the late one last), the old pods' names
    and the added pod, once it exists."""
    ids = w.enqueue(DEP, 1, 12.0, tag="long")
    w.wait_started(ids, 1)
    args = (DEP,)
    p = w.spawn(*args)
    wait_journal_state(w, "drain")
    late = w.enqueue(DEP, 1, late_seconds, tag="late")
    old = {x["name"] for x in w.pods(DEP)}
    r = w.kubectl("scale", "deployment/" + DEP, "--replicas=2")
    assert r.returncode == 0, r.stderr
    (added,) = wait_for(lambda: [x for x in w.pods(DEP) if x["name"] not in old], 10,
                        "the new replica")
    return p, args, ids + late, old, added


@pytest.mark.long(50)
def test_replica_added_while_draining_is_drained_before_the_restart(request):
    """The Deployment is scaled from 1 to 2 while its only worker drains;
    the new replica takes a task from the queue. The run drains it too
    before the restart: every task runs once, one restart PATCH, both new
    replicas consume, exit 0."""
    w = fresh(request)
    p, args, ids, old, added = scaled_while_draining(w, 15.0)
    w.wait_started(ids[-1:], 1, timeout=30)
    code, err = finish(w, p, args)
    assert code == 0, err
    w.wait_done(ids, timeout=40)
    w.assert_exactly_once(ids)
    assert len(restart_patches(w)) == 1, restart_patches(w)
    wait_for(lambda: consuming_new_pods(w, old | {added["name"]}, 2), 30,
             "two new replicas consuming")
    assert "appeared after the drain began" in err, err


@pytest.mark.long(50)
def test_newcomer_that_does_not_answer_at_first_is_asked_again(request):
    """A replica added while the only worker drains comes online, but its
    first two refreshes (its queues, read before its cancel) are answered
    404 "Unknown worker" (Flower's inspect got no answer from a worker that
    has just started): the run asks again, drains it and restarts: every
    task once, exit 0; not a failed run."""
    w = fresh(request)
    p, args, ids, old, added = scaled_while_draining(w, 6.0)
    w.flower_test("POST", "/_test/fail", {
        "path_contains": "refresh=1&workername=ecal-bulk%40" + added["name"], "status": 404,
        "count": 2,
        "body": "Unknown worker '%s'" % added["hostname"]})
    w.wait_started(ids[-1:], 1, timeout=30)
    code, err = finish(w, p, args)
    assert code == 0, err
    assert err.count("Unknown worker") == 2 and "asking again" in err, err
    assert "worker %s appeared after the drain began" % added["hostname"] in err, err
    w.wait_done(ids, timeout=40)
    w.assert_exactly_once(ids)
    assert len(restart_patches(w)) == 1, restart_patches(w)
    refreshes = [q["status"] for q in w.flower_test("GET", "/_test/requests")
                 if added["name"] in q["path"] and "refresh=1" in q["path"]]
    assert refreshes[:3] == [404, 404, 200], refreshes


@pytest.mark.long(35)
def test_pod_whose_worker_never_comes_up_is_not_stopped(request):
    """A replica added while the drain runs whose container runs but whose
    worker never comes online: it may be about to hold tasks, so the run
    does not restart it on a guess. At --drain-timeout it restores the old
    worker's consumers and sends no restart (exit 5)."""
    w = fresh(request)
    # the task outlasts the scale below on a loaded machine: the replica is
    # added while the drain runs, not after the restart
    ids = w.enqueue(DEP, 1, 12.0, tag="short")
    w.wait_started(ids, 1)
    args = (DEP, "--drain-timeout", "25s")
    p = w.spawn(*args)
    wait_journal_state(w, "drain")
    w.kube_test("POST", "break", {"deployment": DEP})
    try:
        r = w.kubectl("scale", "deployment/" + DEP, "--replicas=2")
        assert r.returncode == 0, r.stderr
        wait_for(lambda: [x for x in w.pods(DEP) if x["broken"]], 10, "the added replica")
    finally:
        w.kube_test("DELETE", "break", {"deployment": DEP})  # pods created from now on work
    code, err = finish(w, p, args)
    assert code == 5, err
    assert not restart_patches(w), restart_patches(w)
    assert "runs but no worker is online there yet" in err, err
    w.wait_done(ids)
    w.assert_exactly_once(ids)
    (old,) = [x for x in live_pods(w)]
    wait_for(lambda: w.consumes(old["hostname"], DEP), 15, "the old worker consuming again")


@pytest.mark.long(60)
def test_handover_pod_that_comes_up_after_resolve_is_drained_before_it_is_deleted(request):
    """--handover: a pod Pending at RESOLVE (no room on a node) is recorded
    with the old pods; its worker comes up while the old worker drains and
    takes tasks. It is drained before RETIRE deletes it: no task lost."""
    w = fresh(request)
    w.kube_test("POST", "pod-state", {"deployment": DEP, "state": "Pending"})
    try:
        r = w.kubectl("scale", "deployment/" + DEP, "--replicas=2")
        assert r.returncode == 0, r.stderr
        (late_pod,) = wait_for(lambda: [x for x in w.pods(DEP) if x["fault"] == "Pending"], 10,
                               "a Pending pod")
    finally:
        w.kube_test("DELETE", "pod-state", {"deployment": DEP})
    ids = w.enqueue(DEP, 1, 25.0, tag="long")
    w.wait_started(ids, 1)
    old = {x["name"] for x in w.pods(DEP)}
    args = (DEP, "--handover")
    p = w.spawn(*args)
    wait_journal_state(w, "drain")
    # room on a node at last: its worker starts, and consumes like the new ones
    w.kube_test("POST", "pod-state", {"pod": late_pod["name"], "state": "Running"})
    wait_for(lambda: late_pod["hostname"] in w.workers_online(), 30, "the late pod's worker online")
    # the three workers that consume take one each (BRPOP serves the
    # longest waiting first): the late one still runs its own when the
    # old worker is done
    more = w.enqueue(DEP, 3, 20.0, tag="more")
    code, err = finish(w, p, args)
    assert code == 0, err
    w.wait_done(ids + more, timeout=40)
    w.assert_exactly_once(ids + more)
    gone = [x for x in w.pods(DEP, all=True) if x["name"] == late_pod["name"]]
    assert gone and not gone[0]["sigkilled"], gone
    wait_for(lambda: consuming_new_pods(w, old, 2), 30, "two new replicas consuming")
    assert "worker %s appeared after the drain began" % late_pod["hostname"] in err, err
    assert not w.r().keys("drain-and-rollout:journal:*")


DEP_PATH = "/apis/apps/v1/namespaces/%s/deployments/%s"


def old_template_pods(w, new_hash):
    return [p for p in w.pods(DEP) if p["pod_template_hash"] != new_hash and not p["terminating"]]


def pause_patches(w):
    """The spec.paused values the API server took, in order."""
    return [json.loads(r["body"])["spec"]["paused"] for r in w.kube_requests()
            if r["method"] == "PATCH" and r.get("status") == 200
            and r["path"].split("?")[0].endswith("/deployments/" + DEP)
            and '"paused"' in r["body"] and "restartedAt" not in r["body"]]


def assert_held_and_resumed(w, err, worker):
    """The run held the rollout (paused) while it drained worker, and
    resumed it: the Deployment is not left paused."""
    assert "worker %s appeared after the drain began" % worker in err, err
    assert "paused to hold the rollout" in err, err
    assert "rollout resumed" in err, err
    pp = pause_patches(w)
    assert pp and pp[0] is True and pp[-1] is False, pp
    assert not w.deployment(DEP)["spec"].get("paused"), w.deployment(DEP)["spec"]


def wait_done_or_gone(w, ids, pod):
    """Every task done, or the pod that ran one is gone (its tasks with it)
    and every other task done (a pod's log names the tasks it received)."""
    def settled():
        done = set(w.ledger()[1])
        gone = [x for x in w.pods(DEP, all=True) if x["name"] == pod and x["gone"]]
        held = {i for i in ids if gone and i in open(gone[0]["log"]).read()}
        return set(ids) <= done or (gone and set(ids) - held <= done)
    wait_for(settled, 90, "the tasks done, or their pod gone")

def added_while_the_restart_is_in_flight(w, args):
    """The API server holds the restart PATCH 30 s; meanwhile the
    Deployment is scaled from 1 to 2 (an autoscaler): the old ReplicaSet
    gets a pod of the old template whose worker takes a 40 s task before
    the PATCH lands (and still runs it when it does). Returns the agent, the tasks, the added pod and the
    old pods (the added one included)."""
    ids = w.enqueue(DEP, 1, 3.0, tag="short")
    w.wait_started(ids, 1)
    w.kube_test("POST", "/_test/faults", {"method": "PATCH", "delay": 30, "count": 1,
                                          "path_prefix": DEP_PATH % (NS, DEP)})
    p = w.spawn(*args)
    wait_for(lambda: w.kube_test("GET", "/_test/faults")[0]["count"] == 0, 60,
             "the restart PATCH held at the API server", interval=0.05)
    old = {x["name"] for x in w.pods(DEP)}
    r = w.kubectl("scale", "deployment/" + DEP, "--replicas=2")
    assert r.returncode == 0, r.stderr
    (added,) = wait_for(lambda: [x for x in w.pods(DEP) if x["name"] not in old], 10, "the replica")
    wait_for(lambda: added["hostname"] in w.workers_online(), 30, "the added worker online")
    late = w.enqueue(DEP, 1, 40.0, tag="late")
    w.wait_started(late, 1, timeout=30)
    wait_for(lambda: running_on(w, late[0]) == added["hostname"], 20, "the added worker running it")
    assert not restart_patches(w), "the PATCH landed before the added worker took its task"
    old.add(added["name"])
    return p, ids + late, added, old


def refused_restarts(w):
    """The restart PATCHes the API server refused with 409 Conflict."""
    return [r for r in w.kube_requests() if r["method"] == "PATCH" and r.get("status") == 409
            and r["path"].split("?")[0].endswith("/deployments/" + DEP)
            and "restartedAt" in r["body"]]


@pytest.mark.long(90)
def test_replica_added_while_the_restart_is_in_flight_is_drained(request):
    """A replica is added between the census and the restart PATCH (the
    API server holds the PATCH 30 s; an autoscaler scales meanwhile): the
    old ReplicaSet gets a pod of the old template whose worker takes a
    40 s task. Applied, the PATCH would start the rollout, and the
    controller stops that pod as soon as a new one is ready, before any
    look of the run's can find it. The PATCH carries the Deployment's
    resourceVersion as the census read it: the API server refuses it
    (409 Conflict), the run looks at the pods again, drains the added
    worker, then restarts: every task once, one restart applied, no
    pause, two new replicas consume, exit 0."""
    w = fresh(request)
    args = (DEP, "--request-timeout", "60s")
    p, ids, added, old = added_while_the_restart_is_in_flight(w, args)
    code, err = finish(w, p, args)
    w.wait_done(ids, timeout=60)
    w.assert_exactly_once(ids)
    assert code == 0, err
    (refused,) = refused_restarts(w)
    (applied,) = restart_patches(w)
    rv = [json.loads(x["body"])["metadata"]["resourceVersion"] for x in (refused, applied)]
    assert rv[0] != rv[1], rv
    assert applied["t"] > refused["t"]
    assert "restart PATCH was refused" in err and "looking at its pods again" in err, err
    assert "worker %s appeared after the drain began" % added["hostname"] in err, err
    assert not pause_patches(w), pause_patches(w)
    assert not w.deployment(DEP)["spec"].get("paused")
    wait_for(lambda: consuming_new_pods(w, old, 2), 30, "two new replicas consuming")


@pytest.mark.long(30)
def test_restart_refused_every_time_gives_the_queues_back(request):
    """The API server refuses the restart PATCH with 409 Conflict five
    times (a Deployment that changes between every census and its PATCH):
    the run gives up, says why, restores the consumers and exits 5
    (aborted); nothing was restarted, the task ran once."""
    w = fresh(request)
    (pod,) = w.pods(DEP)
    ids = w.enqueue(DEP, 1, 3.0, tag="short")
    w.wait_started(ids, 1)
    w.kube_test("POST", "/_test/faults", {"method": "PATCH", "status": 409, "count": 5,
                                          "path_prefix": DEP_PATH % (NS, DEP)})
    r = w.run(DEP)
    assert r.returncode == 5, r.stderr
    assert "refused 5 times" in r.stderr, r.stderr
    assert r.stderr.count("looking at its pods again") == 4, r.stderr
    assert not restart_patches(w)
    assert len([q for q in w.kube_requests() if q["method"] == "PATCH"]) == 5
    assert w.consumes(pod["hostname"], DEP)
    w.wait_done(ids)
    w.assert_exactly_once(ids)
    assert not w.r().exists(JOURNAL)


def deployment_reads(w):
    """The reads of the Deployment the API server answered."""
    return [q for q in w.kube_requests() if q["method"] == "GET"
            and q["path"].split("?")[0] == DEP_PATH % (NS, DEP)]


def refused_then_read_late(w, delay, *extra):
    """A worker runs a task; the run drains it; the API server holds the
    restart PATCH 1 s, then refuses it (409), and answers the run's next
    read of the Deployment (INFLIGHT's: did anything of it land?) `delay`
    s late. Returns the agent, its args, the pod, the tasks and the reads
    of the Deployment answered, once that read is at the API server.
    extra: more arguments for the run."""
    (pod,) = w.pods(DEP)
    ids = w.enqueue(DEP, 1, 3.0, tag="short")
    w.wait_started(ids, 1)
    w.kube_test("POST", "/_test/faults", {"method": "PATCH", "status": 409, "delay": 1,
                                          "count": 1, "path_prefix": DEP_PATH % (NS, DEP) + "?"})
    args = (DEP,) + extra
    p = w.spawn(*args)

    def taken(method):
        return all(f["count"] == 0 for f in w.kube_test("GET", "/_test/faults")
                   if f["method"] == method)
    wait_for(lambda: taken("PATCH"), 30, "the restart PATCH at the API server", interval=0.05)
    w.kube_test("POST", "/_test/faults", {"method": "GET", "delay": delay, "status": 0,
                                          "count": 1, "path_prefix": DEP_PATH % (NS, DEP)})
    wait_for(lambda: taken("GET"), 30, "the run reading the Deployment", interval=0.05)
    return p, args, pod, ids, len(deployment_reads(w))


def assert_interrupted_and_restored(w, code, err, pod, ids):
    """Exit 8 for the signal, nothing restarted, the worker consumes again,
    its task ran once, no journal left."""
    assert code == 8, err
    assert "interrupted by a signal" in err.splitlines()[-1], err
    assert "restart PATCH was refused" in err, err
    assert not restart_patches(w)
    assert w.consumes(pod["hostname"], DEP)
    w.wait_done(ids)
    w.assert_exactly_once(ids)
    assert not w.r().exists(JOURNAL)


@pytest.mark.long(40)
def test_sigterm_while_a_refused_restart_is_looked_into_restores_and_says_interrupted(request):
    """SIGTERM just after the API server refused the restart PATCH (409),
    while the run reads the Deployment to tell whether anything of it
    landed (the API server answers 3 s late): nothing did, so the run
    gives the drained worker its queues back, and says it was interrupted
    (exit 8, the signal the first cause: the refusal was no failure, the
    run would have counted the pods again); nothing restarted, the task
    ran once, no journal left."""
    w = fresh(request)
    p, args, pod, ids, _ = refused_then_read_late(w, 3)
    assert refused_restarts(w)
    p.send_signal(signal.SIGTERM)
    code, err = finish(w, p, args)
    assert_interrupted_and_restored(w, code, err, pod, ids)


@pytest.mark.long(40)
def test_sigterm_while_a_refusal_is_journaled_restores_and_restarts_nothing(request):
    """The restart PATCH is refused (409) and nothing of it landed; the run
    writes its journal before it looks at the pods again, and Redis holds
    that write 6 s (CLIENT PAUSE WRITE: a failover, a slow disk); SIGTERM
    meanwhile. The signal must not be lost on the way back to the drain:
    the run restores the worker's queues and exits 8; no restart is sent
    after the signal, the task ran once, no journal left."""
    w = fresh(request)
    p, args, pod, ids, n = refused_then_read_late(w, 2)
    # the journal write that follows the read waits for Redis
    w.r().execute_command("CLIENT", "PAUSE", 6000, "WRITE")
    wait_for(lambda: len(deployment_reads(w)) > n, 10, "the read answered", interval=0.05)
    assert refused_restarts(w)
    p.send_signal(signal.SIGTERM)
    t_signal = time.time()
    code, err = finish(w, p, args)
    assert not [q for q in w.kube_requests() if q["method"] == "PATCH" and q["t"] > t_signal
                and "restartedAt" in q["body"]], "a restart sent after the signal:\n" + err
    assert_interrupted_and_restored(w, code, err, pod, ids)


@pytest.mark.long(30)
def test_sigkill_back_in_the_drain_after_a_refusal_then_recover_restores(request):
    """SIGKILL once the run, its restart PATCH refused (409), is back in the
    drain and reads the Deployment for its census: the journal says it
    drains, no PATCH of it can land (patch_last empty), its restartedAt is
    not the Deployment's. --recover gives the worker its queues back and
    restarts nothing: exit 0, the task ran once, no journal left."""
    w = fresh(request)
    p, args, pod, ids, _ = refused_then_read_late(w, 2, "--lease-ttl", "2s")
    # the census' read of the Deployment, after INFLIGHT's, held 8 s
    w.kube_test("POST", "/_test/faults", {"method": "GET", "delay": 8, "status": 0, "count": 1,
                                          "path_prefix": DEP_PATH % (NS, DEP)})
    wait_for(lambda: all(f["count"] == 0 for f in w.kube_test("GET", "/_test/faults")), 30,
             "the census' read at the API server", interval=0.05)
    journal = w.r().hgetall(JOURNAL)
    p.send_signal(signal.SIGKILL)
    finish(w, p, args)
    assert refused_restarts(w)
    assert journal["state"] == "drain" and journal["patch_last"] == "", journal
    ann = w.deployment(DEP)["spec"]["template"]["metadata"].get("annotations") or {}
    assert journal["restarted_at"] != ann.get("kubectl.kubernetes.io/restartedAt"), journal
    wait_lease_gone(w)
    r = w.run("--recover", DEP)
    assert r.returncode == 0, r.stderr
    assert "had not restarted the rollout" in r.stderr, r.stderr
    assert not restart_patches(w)
    assert w.consumes(pod["hostname"], DEP)
    w.wait_done(ids)
    w.assert_exactly_once(ids)
    assert not w.r().exists(JOURNAL)


def wait_held_drain(w, p, args):
    """The journal says the run holds the rollout and drains the newcomer."""
    try:
        wait_for(lambda: w.r().hget(JOURNAL, "held") == "1" and w.r().hget(JOURNAL, "state")
                 == "drain", 60, "the rollout held, the newcomer draining", interval=0.2)
    except AssertionError as e:
        journal = w.r().hgetall(JOURNAL)
        p.send_signal(signal.SIGKILL)
        raise AssertionError("%s; journal %s; agent: %s" % (e, journal, finish(w, p, args)[1]))
    assert w.deployment(DEP)["spec"].get("paused") is True


@pytest.mark.long(90)
def test_sigterm_while_a_newcomer_drains_in_the_rollout(request):
    """SIGTERM while the run holds the rollout (paused) and drains a worker
    of the old template that runs a task (held_mid_rollout()): stopping
    now would lose that task (resumed) or leave the Deployment paused. The
    run finishes the drain, resumes the rollout, then exits 8
    (interrupted); the controller finishes the rollout once its new pods
    find room; every task runs once; the three new replicas consume."""
    w = fresh(request)
    args = (DEP,)
    p, ids, added, old_hash, pending = held_mid_rollout(w, args)
    wait_held_drain(w, p, args)
    p.send_signal(signal.SIGTERM)
    code, err = finish(w, p, args)
    assert code == 8, err
    assert "finishing their drain, then resuming the rollout" in err, err
    assert_held_and_resumed(w, err, added["hostname"])
    start_pending(w, pending)
    w.wait_done(ids, timeout=60)
    w.assert_exactly_once(ids)
    new_replicas_consume(w, old_hash)
    assert len(restart_patches(w)) == 1, restart_patches(w)


@pytest.mark.long(90)
def test_sigkill_while_a_newcomer_drains_in_the_rollout_then_recover(request):
    """SIGKILL while the run holds the rollout and drains a worker of the
    old template (held_mid_rollout()): the Deployment stays paused and the
    journal says so (written before the pause). The new pods find room
    meanwhile (paused: the controller stops no old pod). --recover drains
    that worker (again), resumes the rollout, verifies: exit 0, every task
    once."""
    w = fresh(request)
    args = (DEP, "--lease-ttl", "2s")
    p, ids, added, old_hash, pending = held_mid_rollout(w, args)
    wait_held_drain(w, p, args)
    p.send_signal(signal.SIGKILL)
    finish(w, p, args)
    assert w.deployment(DEP)["spec"].get("paused") is True
    wait_lease_gone(w)
    start_pending(w, pending)
    r = w.run("--recover", DEP)
    assert r.returncode == 0, r.stderr
    assert "held the rollout (paused)" in r.stderr, r.stderr
    assert "rollout resumed" in r.stderr, r.stderr
    assert not w.deployment(DEP)["spec"].get("paused")
    w.wait_done(ids, timeout=60)
    w.assert_exactly_once(ids)
    new_replicas_consume(w, old_hash)
    assert not w.r().exists(JOURNAL)
    assert len(restart_patches(w)) == 1, restart_patches(w)


@pytest.mark.long(70)
def test_newcomer_not_drained_in_time_during_the_rollout_is_named(request):
    """The worker of the old template found during the rollout
    (held_mid_rollout()) runs a 40 s task, longer than --drain-timeout
    (10 s): the run cannot drain it. It resumes the rollout (the Deployment
    is not left paused; no consumer is given back to pods the rollout
    stops), names the worker and its task, and exits 6; never 0 with a
    lost task. The rollout then completes once its new pods find room."""
    w = fresh(request)
    args = (DEP, "--drain-timeout", "10s")
    p, ids, added, old_hash, pending = held_mid_rollout(w, args)
    code, err = finish(w, p, args)
    assert code == 6, err
    late = ids[-1]
    assert "drain timed out" in err and added["hostname"] in err and late in err, err
    assert "paused to hold the rollout" in err and "rollout resumed" in err, err
    assert not w.deployment(DEP)["spec"].get("paused")
    assert len(restart_patches(w)) == 1, restart_patches(w)
    start_pending(w, pending)
    new_replicas_consume(w, old_hash)


def restarted_with_new_pods_pending(w, args):
    """A 3 s task runs on the one worker; the run starts with the pods the
    Deployment gets from now on Pending (no room on a node) until the
    caller lifts that (DELETE pod-state): the restart's new pod stays
    Pending, so the rollout stays half-way (maxUnavailable 0: the
    controller stops no old pod). Returns the agent, the task, the old
    template's hash, the old pods' names and the Pending pod."""
    ids = w.enqueue(DEP, 1, 3.0, tag="short")
    w.wait_started(ids, 1)
    (old_hash,) = {x["pod_template_hash"] for x in w.pods(DEP)}
    old = {x["name"] for x in w.pods(DEP)}
    w.kube_test("POST", "pod-state", {"deployment": DEP, "state": "Pending"})
    try:
        p = w.spawn(*args)
        (pending,) = wait_for(lambda: [x for x in w.pods(DEP) if x["fault"] == "Pending"], 60,
                              "the new pod Pending")
    except BaseException:
        w.kube_test("DELETE", "pod-state", {"deployment": DEP})
        raise
    return p, ids, old_hash, old, pending


def scaled_mid_rollout(w, args):
    """The run restarts the Deployment; its new pod finds no room (Pending),
    so the rollout stays half-way; then the Deployment is scaled from 1 to
    3: proportional scaling adds a pod of the OLD template, whose worker
    consumes and takes a 20 s task. Returns the agent, the tasks, the added
    pod, the old template's hash and the Pending pod (still Pending)."""
    p, ids, old_hash, old, pending = restarted_with_new_pods_pending(w, args)
    w.kube_test("DELETE", "pod-state", {"deployment": DEP})
    r = w.kubectl("scale", "deployment/" + DEP, "--replicas=3")
    assert r.returncode == 0, r.stderr
    (added,) = wait_for(lambda: [x for x in w.pods(DEP) if x["name"] not in old
                                 and x["pod_template_hash"] == old_hash], 10,
                        "a pod of the old template added by proportional scaling")
    wait_for(lambda: added["hostname"] in w.workers_online(), 30, "its worker online")
    late = w.enqueue(DEP, 4, 20.0, tag="late")
    w.wait_started(late, 2, timeout=40)     # one each: the added worker runs one
    return p, ids + late, added, old_hash, pending


def new_replicas_consume(w, old_hash, n=3):
    wait_for(lambda: len([x for x in live_pods(w) if x["pod_template_hash"] != old_hash
                          and w.consumes(x["hostname"], DEP)]) == n, 40,
             "%d new replicas consuming" % n)


def scaled_pending_mid_rollout(w, args):
    """As scaled_mid_rollout(), but the two pods the scale adds (one of each
    template: proportional scaling) are Pending too: nothing of the old
    template runs that the run has not drained, so it does not hold the
    rollout yet. Returns the agent, the task, the added pod of the old
    template (Pending), the old template's hash and the new template's two
    pods (Pending: start_pending() lets the rollout go on)."""
    p, ids, old_hash, old, first = restarted_with_new_pods_pending(w, args)

    def added_two():
        pods = [x for x in w.pods(DEP) if x["name"] not in old | {first["name"]}]
        return len(pods) == 2 and pods
    try:
        r = w.kubectl("scale", "deployment/" + DEP, "--replicas=3")
        assert r.returncode == 0, r.stderr
        both = wait_for(added_two, 10, "the two pods the scale adds")
    finally:
        w.kube_test("DELETE", "pod-state", {"deployment": DEP})
    assert all(x["fault"] == "Pending" for x in both), both
    (added,) = [x for x in both if x["pod_template_hash"] == old_hash]
    return p, ids, added, old_hash, [first] + [x for x in both if x is not added]


def start_with_a_task(w, added, seconds):
    """A task of that many seconds is queued while no worker consumes (the
    run cancelled the old one; the others are Pending), then the added pod
    of the old template starts: its worker takes the task at its first
    fetch, before the run can find it online and cancel it. Returns the
    task."""
    late = w.enqueue(DEP, 1, seconds, tag="late")
    w.kube_test("POST", "pod-state", {"pod": added["name"], "state": "Running"})
    w.wait_started(late, 1, timeout=40)
    wait_for(lambda: running_on(w, late[0]) == added["hostname"], 20, "the added worker running it")
    return late


def held_mid_rollout(w, args, seconds=40.0):
    """The rollout half-way with its new pods Pending, the Deployment
    scaled from 1 to 3 (scaled_pending_mid_rollout()), then the added pod
    of the old template starts with a task of that many seconds
    (start_with_a_task()): the run's census holds the rollout (pauses the
    Deployment) and drains that worker. Returns the agent, the tasks (that
    one last), the added pod, the old template's hash and the new
    template's Pending pods."""
    p, ids, added, old_hash, pending = scaled_pending_mid_rollout(w, args)
    return p, ids + start_with_a_task(w, added, seconds), added, old_hash, pending


def start_pending(w, pods):
    """The Pending pods start (room on a node at last): the rollout can go on."""
    for x in pods:
        w.kube_test("POST", "pod-state", {"pod": x["name"], "state": "Running"})


@pytest.mark.long(70)
def test_scaled_during_the_rollout_old_replicaset_pod_is_drained(request):
    """The Deployment is scaled from 1 to 3 after the restart PATCH, while
    the old and the new ReplicaSet both have replicas: the Deployment
    controller adds replicas to both, proportionally (sync.go scale()),
    so a pod of the OLD template appears and its worker consumes. The
    rollout then stops it: the run must drain it before."""
    w = fresh(request)
    args = (DEP,)
    p, ids, added, old_hash, pending = scaled_mid_rollout(w, args)
    w.kube_test("POST", "pod-state", {"pod": pending["name"], "state": "Running"})
    code, err = finish(w, p, args)
    wait_done_or_gone(w, ids, added["name"])
    w.assert_exactly_once(ids)
    assert code == 0, err
    assert len(restart_patches(w)) == 1, restart_patches(w)
    assert_held_and_resumed(w, err, added["hostname"])
    new_replicas_consume(w, old_hash)


@pytest.mark.long(90)
def test_scaled_up_twice_then_down_during_the_rollout_with_a_slow_api_server(request):
    """A cluster at its worst during the rollout: the API server answers
    every pod list 2 s late, the Deployment is scaled from 1 to 3, then to
    4 while the run holds the rollout, then down to 2 (the new ReplicaSet
    saturated, the controller scales the old one to 0 even paused). Each
    old-template pod the scaling adds is held for and drained, or deleted by
    the scale-down holding nothing (held: its worker never consumed); the
    rollout is resumed and completes: every task once, exit 0, the
    Deployment not left paused, two new replicas consume, no pod of the old
    template is left."""
    w = fresh(request)
    ids = w.enqueue(DEP, 1, 3.0, tag="short")
    w.wait_started(ids, 1)
    (old_hash,) = {x["pod_template_hash"] for x in w.pods(DEP)}
    w.kube_test("POST", "pod-state", {"deployment": DEP, "state": "Pending"})
    args = (DEP,)
    p = w.spawn(*args)
    try:
        wait_for(lambda: [x for x in w.pods(DEP) if x["fault"] == "Pending"], 60,
                 "the new pod Pending")
    finally:
        w.kube_test("DELETE", "pod-state", {"deployment": DEP})
    w.kube_test("POST", "/_test/faults", {"method": "GET", "delay": 2, "count": 30,
                                          "path_prefix": "/api/v1/namespaces/%s/pods" % NS})
    for n in (3, 4, 2):
        r = w.kubectl("scale", "deployment/" + DEP, "--replicas=%d" % n)
        assert r.returncode == 0, r.stderr
        if n != 2:      # the scale-down may delete what held it: resumed at once
            wait_for(lambda: w.deployment(DEP)["spec"].get("paused") is True, 30,
                     "the rollout held")
    # the pods the scale-down deletes are gone before the late tasks come: a
    # worker the run never saw online, stopped by the controller with a task,
    # is what no run can see (man page, CAVEATS)
    def scaled_down():
        # the controller has seen the last scale, brought the old
        # ReplicaSet to it, and the pods it deletes are gone
        d = w.deployment(DEP)
        if d["status"].get("observedGeneration", 0) < d["metadata"]["generation"]:
            return False
        code, rsl, _ = w.kube_api("GET", "/apis/apps/v1/namespaces/%s/replicasets" % NS)
        (rs,) = [x for x in rsl["items"]
                 if x["metadata"]["labels"].get("pod-template-hash") == old_hash]
        pods = w.pods(DEP)
        return not [x for x in pods if x.get("terminating")] and rs["spec"]["replicas"] == len(
            [x for x in pods if x["pod_template_hash"] == old_hash])
    wait_for(scaled_down, 60, "the scale-down done, the pods it deletes gone")
    late = w.enqueue(DEP, 4, 10.0, tag="late")
    w.wait_started(late, 1, timeout=40)
    for x in w.pods(DEP):
        if x["fault"] == "Pending":
            try:
                w.kube_test("POST", "pod-state", {"pod": x["name"], "state": "Running"})
            except urllib.error.HTTPError:
                # being deleted since it was listed (the run resumed, the
                # controller scaled its ReplicaSet down): nothing to start
                if [y for y in w.pods(DEP) if y["name"] == x["name"] and not y.get("terminating")]:
                    raise
    code, err = finish(w, p, args)
    assert code == 0, err
    assert "paused to hold the rollout" in err and "rollout resumed" in err, err
    assert not w.deployment(DEP)["spec"].get("paused")
    w.wait_done(ids + late, timeout=60)
    w.assert_exactly_once(ids + late)
    assert len(restart_patches(w)) == 1, restart_patches(w)
    new_replicas_consume(w, old_hash, 2)
    assert not [x for x in live_pods(w) if x["pod_template_hash"] == old_hash]


@pytest.mark.long(60)
def test_drained_worker_whose_container_restarts_is_drained_again(request, mode=()):
    """Two replicas: one worker is drained while the other still runs a
    long task; then the drained worker's container restarts in the same
    pod (a crash, an OOM kill, a liveness probe): its new process has the
    same name and consumes again, and takes a task. The census must not
    take it for the drained one: it is cancelled and drained again before
    the restart stops its pod."""
    w = handover_world(request, replicas=2, pool=PLAIN_POOL)
    short = w.enqueue(DEP, 1, 2.0, tag="short")
    w.wait_started(short, 1)
    long_ = w.enqueue(DEP, 1, 25.0, tag="long")
    w.wait_started(long_, 1)
    old = {x["name"] for x in w.pods(DEP)}
    # the pod whose worker ran the short task, not the long one (its log says)
    (crashed,) = wait_for(lambda: [x for x in w.pods(DEP) if long_[0] not in open(x["log"]).read()]
                          if any(long_[0] in open(x["log"]).read() for x in w.pods(DEP)) else None,
                          10, "the short task's pod")
    args = (DEP,) + mode
    p = w.spawn(*args)
    seen = []
    for line in p.stderr:       # until the agent has it drained
        seen.append(line)
        if "worker %s is drained" % crashed["hostname"] in line:
            break
    w.kube_test("POST", "pod-state", {"pod": crashed["name"], "state": "CrashLoopBackOff"})
    w.kube_test("POST", "pod-state", {"pod": crashed["name"], "state": "Running"})
    wait_for(lambda: crashed["hostname"] in w.workers_online(), 30, "its worker back online")
    late = w.enqueue(DEP, 1, 20.0, tag="late")
    w.wait_started(late, 1, timeout=30)
    code, err = finish(w, p, args)
    err = "".join(seen) + err
    w.wait_done(short + long_ + late, timeout=60)
    w.assert_exactly_once(short + long_ + late)
    assert code == 0, err
    assert len(restart_patches(w)) == 1, restart_patches(w)
    wait_for(lambda: consuming_new_pods(w, old, 2), 30, "two new replicas consuming")


@pytest.mark.long(60)
def test_handover_replica_added_before_the_pause_is_drained(request):
    """--handover: a replica is added after DETACH listed the pods and
    before the Deployment is paused (the API server holds the pause; an
    autoscaler scales meanwhile): its ReplicaSet's delete orphans it with
    the others, but DETACH did not record it. Its worker consumes and takes
    a task: it must be drained before anything stops it."""
    w = fresh(request)
    ids = w.enqueue(DEP, 1, 3.0, tag="short")
    w.wait_started(ids, 1)
    w.kube_test("POST", "/_test/faults", {"method": "PATCH", "delay": 12, "count": 1,
                                          "path_prefix": DEP_PATH % (NS, DEP)})
    old = {x["name"] for x in w.pods(DEP)}
    args = (DEP, "--handover", "--request-timeout", "40s")
    p = w.spawn(*args)
    wait_for(lambda: w.kube_test("GET", "/_test/faults")[0]["count"] == 0, 60,
             "the pause PATCH held at the API server", interval=0.05)
    r = w.kubectl("scale", "deployment/" + DEP, "--replicas=2")
    assert r.returncode == 0, r.stderr
    (added,) = wait_for(lambda: [x for x in w.pods(DEP) if x["name"] not in old], 10, "the replica")
    wait_for(lambda: added["hostname"] in w.workers_online(), 30, "the added worker online")
    late = w.enqueue(DEP, 2, 20.0, tag="late")
    w.wait_started(late, 2, timeout=30)     # one each: the added worker runs one
    old.add(added["name"])
    # the old worker drains; the added one was never cancelled: it takes more
    wait_journal_state(w, "drain", timeout=60)
    more = w.enqueue(DEP, 4, 15.0, tag="more")
    code, err = finish(w, p, args)
    wait_done_or_gone(w, ids + late + more, added["name"])
    w.assert_exactly_once(ids + late + more)
    assert code == 0, err
    assert "worker %s appeared after the drain began" % added["hostname"] in err, err
    assert len(restart_patches(w)) == 1, restart_patches(w)
    wait_for(lambda: consuming_new_pods(w, old, 2), 30, "two new replicas consuming")



def running_on(w, task_id):
    """The worker that runs task_id (asked of the workers: real remote control)."""
    code = ("import json\nfrom etl import app\n"
            "r = app.control.inspect(timeout=2).active() or {}\n"
            "print(json.dumps({k: [t['id'] for t in v] for k, v in r.items()}))\n")
    out = python_c(code, WORLD_DIR, w.celery_environ()).stdout
    active = json.loads(out.strip().splitlines()[-1])
    return next((k for k, v in active.items() if task_id in v), None)


POLL = ("--no-events", "--poll-interval", "1s")


@pytest.mark.long(100)
@pytest.mark.parametrize("mode,silent", [((), False), (POLL, False), (POLL, True)],
                         ids=["events", "polling", "then-silent"])
def test_worker_whose_container_restarts_after_its_drain_is_drained_again(request, mode, silent):
    """Two replicas; one drains at once, the other runs a long task. The idle
    one's container is restarted in place (a failed liveness probe: same pod,
    restartCount one more): its new process consumes its queues again and takes
    a task. Drained once is not drained now: the run cancels and drains it again
    before the restart PATCH. Every task once, one restart, exit 0.
    silent: once drained again, the restarted worker stops answering for a
    while (SIGSTOP, as while its broker connection hangs): its container has
    not restarted since the run cancelled it again, so it has not vanished; the
    run waits for its task. (Polling: with events, the run already waits for
    the task the restarted worker received, and drains it again only after.)"""
    # a 10 s grace: an idle worker's warm shutdown on a loaded machine may
    # take longer than 2 s, and a SIGKILL must mean a task was cut
    w = handover_world(request, replicas=2, pool=PLAIN_POOL, grace=10)
    ids = w.enqueue(DEP, 1, 30.0, tag="long")
    w.wait_started(ids, 1)
    busy = wait_for(lambda: running_on(w, ids[0]), 20, "the worker running the long task")
    (idle,) = [x for x in live_pods(w) if x["hostname"] != busy]
    args = (DEP,) + mode
    p = w.spawn(*args)
    try:
        wait_journal_state(w, "drain")
        wait_for(lambda: not w.consumes(idle["hostname"], DEP), 20, "the idle worker cancelled",
                 interval=0.5)
        w.kube_test("POST", "restart-container", {"pod": idle["name"]})
        wait_for(lambda: [x for x in w.pods(DEP) if x["name"] == idle["name"]
                          and x["restart_count"] == 1 and x["ready"]], 60, "the container restarted")
        wait_for(lambda: w.consumes(idle["hostname"], DEP), 30, "the restarted worker consuming",
                 interval=0.5)
        # silent: it outlasts the worker's silence (up to 40 s below);
        # otherwise it only has to run while the run drains it again
        again = w.enqueue(DEP, 1, 45.0 if silent else 15.0, tag="again")
        w.wait_started(again, 1)
        if silent:
            # the run has cancelled it again and checked the cancel (CANCEL,
            # then DRAIN): silent before that check, its last answer to
            # Flower (consuming) is all the run could see
            states = []

            def cancelled_again():
                states.append(w.r().hget("drain-and-rollout:journal:%s:%s" % (NS, DEP), "state"))
                return ("cancel" in states and states[-1] == "drain" and
                        w.queues_of(idle["hostname"]) == [])
            wait_for(cancelled_again, 60, "the restarted worker cancelled again", interval=0.05)
            t0 = time.time()
            w.kube_test("POST", "kill-pod", {"pod": idle["name"], "signal": "STOP"})
            try:
                # the agent finds it silent and asks Kubernetes about its pod
                wait_for(lambda: [r for r in w.kube_requests() if r["method"] == "GET"
                                  and r["t"] > t0 and r["path"].startswith(
                                      "/api/v1/namespaces/%s/pods?" % NS)], 40,
                         "the agent listing the pods")
            finally:
                w.kube_test("POST", "kill-pod", {"pod": idle["name"], "signal": "CONT"})
    finally:
        code, err = finish(w, p, args)
    assert code == 0, err
    w.wait_done(ids + again, timeout=60)
    w.assert_exactly_once(ids + again)
    assert len(restart_patches(w)) == 1, restart_patches(w)
    assert "worker %s restarted after the run cancelled it" % idle["hostname"] in err, err
    assert "vanished" not in err, err
    gone = [x for x in w.pods(DEP, all=True) if x["name"] == idle["name"]][0]
    assert not gone["sigkilled"], gone
    wait_for(lambda: consuming_new_pods(w, {busy.split("@")[1], idle["name"]}, 2), 30,
             "two new replicas consuming")


@pytest.mark.long(90)
def test_scaled_down_while_held_newcomer_killed_with_its_task_is_not_success(request):
    """While the run holds the rollout (paused) and drains a worker of the
    old template that runs a 40 s task (held_mid_rollout(): two pods of
    each template, the new ones Pending), the Deployment is scaled down
    from 3 to 2: paused or not, the controller scales proportionally
    within replicas + maxSurge (3), the one replica less to the largest
    ReplicaSet, the older on a tie: the old one, from 2 to 1; of its pods
    the newest goes, the added one, with its task (2 s grace period). The
    run cannot prevent that, but it must not call the run a success: it
    names the worker and its task as possibly lost, resumes the rollout
    (not left paused), which completes once the new pods find room, and
    exits 6, never 0."""
    w = fresh(request)
    args = (DEP,)
    p, ids, added, old_hash, pending = held_mid_rollout(w, args)
    wait_held_drain(w, p, args)
    r = w.kubectl("scale", "deployment/" + DEP, "--replicas=2")
    assert r.returncode == 0, r.stderr
    wait_for(lambda: [x for x in w.pods(DEP, all=True) if x["name"] == added["name"] and x["gone"]],
             60, "the added pod deleted by the scale-down")
    deleted = [x["name"] for x in w.pods(DEP, all=True) if x["gone"] or x["terminating"]]
    assert deleted == [added["name"]], deleted
    start_pending(w, pending)
    code, err = finish(w, p, args)
    late = ids[-1]
    assert late not in w.ledger()[1], "the task was not cut: the test proves nothing"
    assert code == 6, err
    assert "possibly lost" in err and added["hostname"] in err and late in err, err
    assert not w.deployment(DEP)["spec"].get("paused")
    assert len(restart_patches(w)) == 1, restart_patches(w)
    new_replicas_consume(w, old_hash, 2)


@pytest.mark.long(150)
@pytest.mark.parametrize("restart_answer", ["answered", "lost"])
def test_held_rollout_that_fails_with_its_pause_in_flight_is_not_left_paused(request,
                                                                             restart_answer):
    """The run holds the rollout for a pod of the old template that starts
    during the rollout (scaled_pending_mid_rollout(), then
    start_with_a_task()), but its pause PATCH takes 40 s to reach the API
    server (a restarting, slow API server); meanwhile the rollout's own
    time limit (30 s from the restart: the pod starts well within it) runs
    out. Resuming at once would let the late pause land after the resume:
    the Deployment paused for good, nothing of the run left to undo it.
    The run waits until no attempt of its pause can land, then resumes:
    the Deployment is not left paused, and the run says the rollout failed
    (exit 6). "lost": the restart PATCH's answer was lost (applied, the
    connection dropped) and its retry refused (409: the first attempt had
    changed the Deployment); the run follows the rollout it started, and
    that refusal must not make it take the pause for one that cannot land
    any more."""
    w = fresh(request)
    args = (DEP, "--request-timeout", "60s", "--rollout-timeout", "30s")
    if restart_answer == "lost":
        w.kube_test("POST", "/_test/faults", {"method": "PATCH", "applied": True, "drop": True,
                                              "status": 0, "count": 1,
                                              "path_prefix": DEP_PATH % (NS, DEP) + "?"})
    p, ids, added, old_hash, pending = scaled_pending_mid_rollout(w, args)
    if restart_answer == "lost":
        assert refused_restarts(w), w.kube_requests()
    # the next PATCH of the Deployment is the pause (not the scale's, of .../scale)
    w.kube_test("POST", "/_test/faults", {"method": "PATCH", "transit": 40, "status": 0,
                                          "count": 1, "path_prefix": DEP_PATH % (NS, DEP) + "?"})
    start_with_a_task(w, added, 40.0)
    code, err = finish(w, p, args, timeout=300)
    assert code == 6, err
    # the pause reaches the API server 40 s after it was sent
    wait_for(lambda: True in pause_patches(w), 60, "the late pause applied", interval=0.5)
    assert pause_patches(w)[-1] is False, (pause_patches(w), err)
    assert not w.deployment(DEP)["spec"].get("paused"), pause_patches(w)
    assert len(restart_patches(w)) == 1, restart_patches(w)
    if restart_answer == "lost":
        assert "but the restart PATCH was applied" in err, err
        assert "nothing was restarted" not in err, err


@pytest.mark.long(90)
def test_status_shows_the_rollout_held(request):
    """An on-call engineer finds the Deployment paused while a run holds
    its rollout: --status says the run paused it and will resume it
    (text, and rollout_held in JSON); the run then ends as usual."""
    w = fresh(request)
    args = (DEP,)
    p, ids, added, old_hash, pending = held_mid_rollout(w, args, 30.0)
    wait_held_drain(w, p, args)
    st = w.run("--status", DEP)
    js = w.run("--status", DEP, "-o", "json")
    start_pending(w, pending)
    code, err = finish(w, p, args)
    assert code == 0, err
    assert "rollout held: the run paused deployment %s" % DEP in st.stdout, st.stdout
    (run,) = json.loads(js.stdout)["runs"]
    assert run["rollout_held"] is True, run
    after = w.run("--status", DEP, "-o", "json")
    assert not json.loads(after.stdout)["runs"], after.stdout
