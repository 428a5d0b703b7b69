"""End to end: a write of the agent's own whose answer is lost or late.

The restart PATCH (or --handover's pause) may land after the agent gave up
on it (a signal, a 504 for a write the API server applied): the run never
restores consumers, nor resumes, while one may still land, and afterwards
the Deployment and the workers agree. A ReplicaSet create retried after
its first attempt landed finds its own object (409): that is success.

The Kubernetes double's faults: "delay" holds a request and then applies it
(the PATCH lands late); "applied" applies it and loses the answer."""
import signal
import time

from conftest import applied_patches, patches
from test_handover import (JOURNAL, LEASE, assert_handed_over, busy_crashing, controller_uid,
                           fresh as fresh_handover, old_state, pod_objects)
from test_safety import (assert_new_worker_consumes, finish, fresh, recover_follows_the_rollout,
                         settle, wait_lease_gone)
from world import NS, wait_for

DEP = "ecal-bulk"
DEP_PATH = "/apis/apps/v1/namespaces/%s/deployments/%s" % (NS, DEP)
RESTARTED_AT = "kubectl.kubernetes.io/restartedAt"


def restarted_at(w):
    return (w.deployment(DEP)["spec"]["template"]["metadata"].get("annotations") or {}).get(
        RESTARTED_AT)


def wait_fault_taken(w):
    """The request the fault matches is at the API server, held there."""
    wait_for(lambda: w.kube_test("GET", "/_test/faults")[0]["count"] == 0, 60,
             "the request at the API server", interval=0.05)


def sigterm_while_held(w, held, *args):
    """The API server holds the next `held` PATCHes of the Deployment 2.5 s
    each, then applies them; the agent (4 s request timeout) gets SIGTERM
    while it holds the last. Returns (exit, stderr)."""
    w.kube_test("POST", "/_test/faults", {"method": "PATCH", "delay": 2.5, "count": held,
                                          "path_prefix": DEP_PATH})
    args = (DEP, "--request-timeout", "4s") + args
    p = w.spawn(*args)
    wait_fault_taken(w)
    p.send_signal(signal.SIGTERM)
    return finish(w, p, args, timeout=60)


def busy_and_signalled(request, tag, fault, *extra, before_signal=None):
    """A busy worker; the API server takes the restart PATCH with `fault`
    (the double's fault fields); SIGTERM once it has it (after
    before_signal(w)). Returns (w, old worker, task ids, process, args)."""
    w = fresh(request)
    old = w.worker_of(DEP)
    ids = w.enqueue(DEP, 2, 1.5, tag=tag)
    w.wait_started(ids, 1)
    w.kube_test("POST", "/_test/faults", dict(fault, method="PATCH", path_prefix=DEP_PATH))
    args = (DEP, "--request-timeout", "4s") + extra
    p = w.spawn(*args)
    wait_fault_taken(w)
    if before_signal is not None:
        before_signal(w)
    p.send_signal(signal.SIGTERM)
    return w, old, ids, p, args


def past_our_second(w):
    """The run's restartedAt (from its journal), once the clock has left its
    second: a restart by kubectl now has another value."""
    ours = w.r().hget(JOURNAL, "restarted_at")
    wait_for(lambda: time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()) != ours, 3,
             "a second past the run's restartedAt", interval=0.05)
    return ours


def in_inflight(w):
    wait_for(lambda: w.r().hget(JOURNAL, "state") == "inflight", 10, "the run in INFLIGHT",
             interval=0.05)


def assert_restart_landed_journal_kept(w, code, err):
    """Once the held restart has landed: exit 8, the journal kept for
    --recover with the restartedAt the Deployment now shows."""
    # the double records a held PATCH once it has served it
    wait_for(lambda: [q for q in applied_patches(w) if RESTARTED_AT in q["body"]], 15,
             "the held restart applied")
    assert code == 8, err
    journal = w.r().hgetall(JOURNAL)
    assert journal.get("restarted_at") == restarted_at(w), \
        "the restart landed: the journal must be kept for --recover: %r\n%s" % (journal, err)


def test_sigterm_while_the_restart_lands_late_keeps_the_run_restarted(request):
    """The API server holds the restart PATCH 2.5 s, then applies it (within
    the 4 s timeout it was sent with); SIGTERM meanwhile. The run must not
    give the drained worker its queues back and drop its journal: it waits
    until the PATCH landed or cannot any more, sees it landed, stops with
    the journal kept (exit 8), and --recover follows the rollout. Every task
    runs once."""
    w = fresh(request)
    old = w.worker_of(DEP)
    before = restarted_at(w)
    ids = w.enqueue(DEP, 2, 1.5, tag="late")
    w.wait_started(ids, 1)
    code, err = sigterm_while_held(w, 1)
    assert_restart_landed_journal_kept(w, code, err)
    assert restarted_at(w) != before
    assert "the restart PATCH was applied" in err
    assert "--recover" in err
    recover_follows_the_rollout(w, old, ids)


def test_restart_answered_504_after_it_landed_follows_the_rollout(request):
    """Every attempt of the restart PATCH is applied and answered 504 (the
    API server's handler timed out after the write): the run's retries end
    in an error, yet the Deployment restarted. The run reads it, sees its
    own restartedAt, and follows the rollout to a verified end (exit 0)
    instead of giving the old worker its queues back while it is stopped."""
    w = fresh(request)
    old = w.worker_of(DEP)
    ids = w.enqueue(DEP, 2, 1.5, tag="gw")
    w.wait_started(ids, 1)
    w.kube_test("POST", "/_test/faults", {"method": "PATCH", "applied": True, "status": 504,
                                          "count": 1000, "path_prefix": DEP_PATH})
    r = w.run(DEP, "--request-timeout", "3s", timeout=150)
    sent = patches(w)
    assert sent and all(q["status"] == 504 and q["note"] == "applied, then status 504"
                        for q in sent), sent
    assert r.returncode == 0, r.stderr
    assert "but the restart PATCH was applied" in r.stderr
    assert restarted_at(w) is not None
    assert_new_worker_consumes(w, old)
    settle(w, ids, timeout=30)
    assert not w.r().exists(JOURNAL) and not w.r().exists(LEASE)


def test_restart_applied_after_the_client_gave_up_follows_the_rollout(request):
    """Every attempt of the restart PATCH is held 2.8 s, past the agent's
    2.5 s request timeout but within the 3 s the API server was asked to
    wait, then applied: the agent sees only timeouts until the state's
    deadline. It waits until the last attempt can no longer land, reads
    its own restartedAt, and follows the rollout (exit 0)."""
    w = fresh(request)
    old = w.worker_of(DEP)
    ids = w.enqueue(DEP, 2, 1.5, tag="gu")
    w.wait_started(ids, 1)
    w.kube_test("POST", "/_test/faults", {"method": "PATCH", "delay": 2.8, "count": 1000,
                                          "path_prefix": DEP_PATH})
    r = w.run(DEP, "--request-timeout", "2.5s", timeout=150)
    assert all("timeout=3s" in q["path"] for q in patches(w))
    assert r.returncode == 0, r.stderr
    assert "but the restart PATCH was applied" in r.stderr
    assert_new_worker_consumes(w, old)
    settle(w, ids, timeout=30)
    assert not w.r().exists(JOURNAL) and not w.r().exists(LEASE)


def test_handover_sigterm_while_the_pause_lands_late_leaves_it_resumed(request):
    """--handover: the API server holds the pause PATCH 2.5 s, then applies
    it; SIGTERM meanwhile. GIVEBACK's resume must come after the pause can
    no longer land: the Deployment ends unpaused, the old worker consumes,
    owned by its ReplicaSet again; the tasks run once."""
    w = fresh_handover(request)
    worker = w.worker_of(DEP)
    ids = w.enqueue(DEP, 2, 1.0, tag="pause")
    w.wait_started(ids, 1)
    code, err = sigterm_while_held(w, 1, "--handover")
    assert code == 8, err
    # the held pause has been applied by now
    wait_for(lambda: [q for q in patches(w) if '"paused":true' in q["body"].replace(" ", "")
                      and q["status"] == 200], 15, "the held pause applied")
    assert not w.deployment(DEP)["spec"].get("paused"), \
        "a pause that landed after the resume leaves the Deployment paused for good\n" + err
    assert w.consumes(worker, DEP)
    for pod in pod_objects(w):
        assert controller_uid(pod) is not None, pod["metadata"]
    settle(w, ids)
    assert not w.r().exists(JOURNAL) and not w.r().exists(LEASE)


def test_handover_sigterm_while_the_restart_lands_late_then_recover(request):
    """--handover: the API server holds the pause and then the restart
    PATCH 2.5 s each, applying both; SIGTERM while it holds the restart.
    The run must not give the pods back while the restart may land: it sees
    it landed, stops with the journal kept (exit 8), and one --recover
    finishes the handover. Every task runs once."""
    w = fresh_handover(request)
    old_pods, old_rs = old_state(w)
    ids = w.enqueue(DEP, 2, 1.0, tag="hr")
    w.wait_started(ids, 1)
    code, err = sigterm_while_held(w, 2, "--handover")
    assert_restart_landed_journal_kept(w, code, err)
    r = w.run("--recover", DEP)
    assert r.returncode == 0, r.stderr
    settle(w, ids)
    assert len([q for q in applied_patches(w) if RESTARTED_AT in q["body"]]) == 1
    assert_handed_over(w, old_pods, old_rs)


def test_handover_history_create_retried_after_it_landed(request):
    """HISTORY recreates the old ReplicaSet; the API server creates it and
    the connection drops before the answer. The retry is answered 409
    AlreadyExists: the object there is the one the run meant (same name,
    template hash, owner), so the run ends as if the first create had been
    answered: handed over, exit 0."""
    w = fresh_handover(request)
    old_pods, old_rs = old_state(w)
    ids = w.enqueue(DEP, 2, 1.0, tag="hist")
    w.wait_started(ids, 1)
    w.kube_test("POST", "/_test/faults", {
        "method": "POST", "applied": True, "drop": True, "count": 1,
        "path_prefix": "/apis/apps/v1/namespaces/%s/replicasets" % NS})
    r = w.run(DEP, "--handover")
    creates = [q for q in w.kube_requests() if q["method"] == "POST"
               and "/replicasets" in q["path"]]
    assert [q["note"] for q in creates][:1] == ["applied, then dropped"], creates
    assert [q["status"] for q in creates][1:] == [409], creates
    assert r.returncode == 0, r.stderr
    assert "already created by an earlier attempt" in r.stderr
    settle(w, ids)
    assert_handed_over(w, old_pods, old_rs)


def test_handover_giveback_create_retried_after_it_landed(request):
    """The new pods crash: GIVEBACK recreates the old ReplicaSet to adopt
    the old pod again; that create lands, its answer is lost, the retry is
    answered 409. The run gives the pods back as if it had been answered:
    exit 6 (the rollout failed), the Deployment resumed, the old worker
    consuming, owned by its ReplicaSet; not exit 9 with the Deployment
    left paused."""
    w, old_pods, old_rs, worker, ids = busy_crashing(request, "gb")
    w.kube_test("POST", "/_test/faults", {
        "method": "POST", "applied": True, "drop": True, "count": 1,
        "path_prefix": "/apis/apps/v1/namespaces/%s/replicasets" % NS})
    r = w.run(DEP, "--handover", "--rollout-timeout", "15s")
    creates = [q for q in w.kube_requests() if q["method"] == "POST"
               and "/replicasets" in q["path"]]
    assert [q["status"] for q in creates][1:2] == [409], creates
    assert r.returncode == 6, r.stderr
    assert not w.deployment(DEP)["spec"].get("paused")
    assert w.consumes(worker, DEP)
    rs_now = {rs["metadata"]["name"] for rs in w.kube_api(
        "GET", "/apis/apps/v1/namespaces/%s/replicasets" % NS)[1]["items"]}
    assert set(old_rs) <= rs_now
    for pod in pod_objects(w):
        if pod["metadata"]["name"] in old_pods:
            assert controller_uid(pod) is not None, pod["metadata"]
    settle(w, ids)
    assert not w.r().exists(JOURNAL) and not w.r().exists(LEASE)


def test_restart_reaching_the_api_server_late_is_waited_for(request):
    """The restart PATCH takes 3 s to reach the API server (a retransmitted
    SYN or segment, a load balancer connecting to a restarting backend),
    which then holds it 3.5 s and applies it, within the 4 s its query
    asked for; SIGTERM meanwhile. The run cannot know when its request
    arrived, only that it went out by its own 4 s limit: it must wait until
    an attempt that arrived that late can no longer land (here: it does),
    not restore the consumers and drop the journal 5 s after the send."""
    w, old, ids, p, args = busy_and_signalled(request, "transit", {"transit": 3.0, "delay": 3.5})
    code, err = finish(w, p, args, timeout=60)
    assert_restart_landed_journal_kept(w, code, err)
    recover_follows_the_rollout(w, old, ids)


def test_second_sigterm_while_the_restart_is_in_flight_exits_9_then_recover(request):
    """SIGTERM while the API server holds the restart PATCH (it applies it
    2.5 s later), then SIGTERM again while the run waits in INFLIGHT: the
    run exits at once, its worker drained and its journal left. Its exit
    status must say a worker may be left without consumers (9), not that
    the consumers were restored (8); --recover then follows the restart
    that landed, and every task runs once."""
    w, old, ids, p, args = busy_and_signalled(request, "twice", {"delay": 2.5},
                                              "--lease-ttl", "2s")
    in_inflight(w)
    p.send_signal(signal.SIGTERM)
    code, err = finish(w, p, args, timeout=60)
    assert w.r().exists(JOURNAL), err
    assert not w.consumes(old, DEP), "the second signal left the worker drained"
    assert code == 9, "a worker is left without consumers: exit 9, not %d\n%s" % (code, err)
    assert "--recover" in err
    wait_lease_gone(w)
    # --recover, from the journal of a run that died in INFLIGHT, waits for
    # the held restart and follows it
    recover_follows_the_rollout(w, old, ids)


def test_operator_restart_during_inflight_keeps_the_drained_worker_drained(request):
    """The API server holds the restart PATCH past the timeout it asked
    for (504, never applied); SIGTERM; while the run waits in INFLIGHT an
    operator runs `kubectl rollout restart`. The old pod is being replaced
    by that rollout: the run must not give its drained worker the queues
    back (it would take tasks into a pod being stopped), nor take that
    restart for its own. It stops with the journal kept (exit 8), naming
    the restart as another's; --recover follows the rollout; every task
    runs once."""
    w, old, ids, p, args = busy_and_signalled(request, "op", {"delay": 6})
    in_inflight(w)
    past_our_second(w)
    r = w.restart(DEP)
    assert r.returncode == 0, r.stderr
    theirs = restarted_at(w)
    code, err = finish(w, p, args, timeout=60)
    assert [q["status"] for q in patches(w) if q["status"] != 200] == [504], patches(w)
    assert restarted_at(w) == theirs, "the run's PATCH must not land"
    assert "re-adding the cancelled consumers" not in err and "consumes ecal-bulk again" not in err, \
        "consumers given back to a worker whose pod another rollout replaces\n" + err
    assert code == 8, err
    assert "not this run's" in err, err
    journal = w.r().hgetall(JOURNAL)
    assert journal.get("restarted_at") == theirs, (journal, err)
    r = w.run("--recover", DEP)
    assert r.returncode == 0, r.stderr
    assert_new_worker_consumes(w, old)
    settle(w, ids, timeout=30)
    assert not w.r().exists(JOURNAL) and not w.r().exists(LEASE)


def test_operator_restart_while_the_restart_fails_follows_that_rollout(request):
    """Every attempt of the run's restart PATCH is held past the timeout it
    asked for (504, never applied); meanwhile an operator runs `kubectl
    rollout restart`, which the API server applies. Once the run's
    attempts can no longer land, the Deployment shows that other restart:
    its old pods are being replaced, so the run follows that rollout to a
    verified end (exit 0) and says whose restart it was, instead of giving
    the drained worker its queues back in a pod being stopped (exit 5)."""
    w = fresh(request)
    old = w.worker_of(DEP)
    ids = w.enqueue(DEP, 2, 1.5, tag="opf")
    w.wait_started(ids, 1)
    ours_only = DEP_PATH + "?fieldManager=drain-and-rollout"
    w.kube_test("POST", "/_test/faults", {"method": "PATCH", "delay": 3, "count": 1000,
                                          "path_prefix": ours_only})
    args = (DEP, "--request-timeout", "2s")
    p = w.spawn(*args)
    wait_for(lambda: w.kube_test("GET", "/_test/faults")[0]["count"] < 1000, 60,
             "the restart at the API server", interval=0.05)
    past_our_second(w)
    r = w.restart(DEP)
    assert r.returncode == 0, r.stderr
    theirs = restarted_at(w)
    code, err = finish(w, p, args, timeout=120)
    assert not [q for q in applied_patches(w) if "drain-and-rollout" in q["path"]], patches(w)
    assert restarted_at(w) == theirs
    assert code == 0, err
    assert "not this run's" in err, err
    assert_new_worker_consumes(w, old)
    settle(w, ids, timeout=30)
    assert not w.r().exists(JOURNAL) and not w.r().exists(LEASE)


def test_deployment_unreadable_in_inflight_keeps_the_journal_then_recover(request):
    """SIGTERM while the API server holds the restart PATCH (it applies it
    2.5 s later), and from then on every GET of the Deployment is answered
    503 (the API server restarting behind its load balancer): the run
    cannot tell whether its restart landed. It must neither restore nor
    claim a restart: it stops with the worker drained and the journal
    kept (exit 9), naming --recover; once the API server answers again,
    --recover follows the restart that landed. Every task runs once."""
    w, old, ids, p, args = busy_and_signalled(
        request, "blind", {"delay": 2.5}, "--lease-ttl", "2s",
        before_signal=lambda w: w.kube_test("POST", "/_test/faults", {
            "method": "GET", "status": 503, "count": 100000, "path_prefix": DEP_PATH}))
    code, err = finish(w, p, args, timeout=90)
    w.kube_test("DELETE", "/_test/faults")
    assert code == 9, err
    assert "cannot tell whether the restart PATCH" in err and "--recover" in err, err
    assert "consumes ecal-bulk again" not in err, err
    journal = w.r().hgetall(JOURNAL)
    assert journal.get("restarted_at") == restarted_at(w), (journal, err)
    wait_lease_gone(w)
    recover_follows_the_rollout(w, old, ids)
