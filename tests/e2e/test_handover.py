"""End to end: --handover (issue 10). The new workers take the queues before
the old ones stop: real Celery workers, real Redis, the Kubernetes double's
Deployment and ReplicaSet controllers (ReplicaSets as objects, orphaning,
adoption, paused Deployments)."""
import json
import os
import signal
import sys
import time

import pytest

from conftest import applied_patches, make_world, patches
from test_safety import finish, wait_journal_state
from world import NS, deployment, wait_for

DEP = "ecal-bulk"
LEASE = "drain-and-rollout:lease:%s:%s" % (NS, DEP)
JOURNAL = "drain-and-rollout:journal:%s:%s" % (NS, DEP)
REVISION = "deployment.kubernetes.io/revision"


# ---- helpers -----------------------------------------------------------

PLAIN_POOL = ["--concurrency=1"]


def fresh(request, replicas=1, strategy=None, grace=2, pool=None):
    d = deployment(DEP, grace=grace, pool=pool)
    d["replicas"] = replicas
    w = make_world(request, [d, deployment("common-redbeat", worker=False)])
    if strategy is not None:
        r = w.kubectl("patch", "deployment/" + DEP, "--type=merge", "-p", json.dumps(
            {"spec": {"strategy": {"type": strategy, "rollingUpdate": None}}}))
        assert r.returncode == 0, r.stderr
        assert w.deployment(DEP)["spec"]["strategy"]["type"] == strategy
    wait_for(lambda: len(live_pods(w)) == replicas and w.all_workers_online(), 60,
             "%d worker(s) online" % replicas)
    return w


def live_pods(w):
    return [p for p in w.pods(DEP) if p.get("ready") and not p.get("terminating")]


def replicasets(w):
    code, obj, _ = w.kube_api("GET", "/apis/apps/v1/namespaces/%s/replicasets" % NS)
    assert code == 200, obj
    return [rs for rs in obj["items"] if rs["metadata"]["name"].startswith(DEP + "-")]


def pod_objects(w):
    code, obj, _ = w.kube_api("GET", "/api/v1/namespaces/%s/pods" % NS)
    assert code == 200, obj
    return [p for p in obj["items"] if p["metadata"]["name"].startswith(DEP + "-")]


def active_rs(w):
    return [rs for rs in replicasets(w) if rs["spec"].get("replicas", 0) > 0]


def controller_uid(obj):
    for ref in obj["metadata"].get("ownerReferences") or []:
        if ref.get("controller"):
            return ref.get("uid")
    return None


def stream_ids(p):
    out, _ = p.communicate(timeout=120)
    return json.loads(out.strip().splitlines()[-1])[1]


def largest_gap(w, ids, t0, t1):
    """The largest gap between consecutive task starts in [t0, t1]."""
    at = w.r(15).hmget("ledger:started_at", ids)
    starts = sorted(float(t) for t in at if t is not None and t0 <= float(t) <= t1)
    assert len(starts) >= 2, "no tasks started in the window"
    return max(b - a for a, b in zip([t0] + starts, starts + [t1]))


def settle(w, ids, timeout=90):
    w.wait_done(ids, timeout=timeout)
    w.assert_exactly_once(ids)
    wait_for(lambda: w.unacked() == 0, 15, "unacked empty")


def assert_handed_over(w, old_pods, old_rs):
    """No pod of the old template left; the old ReplicaSets exist again with
    0 replicas, owned by the Deployment, with their revision; the new
    workers consume; journal and lease gone."""
    dep = w.deployment(DEP)
    uid = dep["metadata"]["uid"]
    wait_for(lambda: not [p for p in w.pods(DEP) if p["name"] in old_pods], 60,
             "the old pods gone")
    rs_now = {rs["metadata"]["name"]: rs for rs in replicasets(w)}
    for name, rev in old_rs.items():
        assert name in rs_now, "ReplicaSet %s not recreated: %s" % (name, sorted(rs_now))
        rs = rs_now[name]
        assert rs["spec"]["replicas"] == 0, rs["spec"]
        assert controller_uid(rs) == uid
        assert rs["metadata"]["annotations"].get(REVISION) == rev
    # the controller raises the new ReplicaSet's revision above the history's
    wait_for(lambda: [rs for rs in replicasets(w) if rs["spec"].get("replicas", 0) > 0
                      and int(rs["metadata"]["annotations"][REVISION]) >
                      max(int(r) for r in old_rs.values())], 15,
             "the new ReplicaSet's revision above the old ones")
    for p in live_pods(w):
        assert p["name"] not in old_pods
        assert w.consumes(p["hostname"], DEP)
    h = w.kubectl("rollout", "history", "deployment/" + DEP)
    assert h.returncode == 0, h.stderr
    for rev in old_rs.values():
        assert any(l.split()[:1] == [rev] for l in h.stdout.splitlines()), h.stdout
    assert not w.r().exists(JOURNAL) and not w.r().exists(LEASE)


def old_state(w):
    return ({p["name"] for p in w.pods(DEP)},
            {rs["metadata"]["name"]: rs["metadata"]["annotations"][REVISION]
             for rs in replicasets(w)})


# ---- the queue's downtime: handover vs in-place -------------------------

def run_under_stream(w, *args):
    """A 6 s task running on the old worker, then the agent and a steady
    stream (one 1 s task every 0.5 s) at once. Returns (exit, stderr, ids,
    the largest gap between consecutive task starts from the stream's first
    start on: the old worker prefetched the first ones, the rest wait for
    whoever consumes)."""
    ids = w.enqueue(DEP, 1, 6.0, tag="long")
    w.wait_started(ids, 1)
    p = w.spawn(DEP, *args)
    s = w.stream(DEP, 24)
    sids = stream_ids(s)
    code, err = finish(w, p, (DEP,) + args)
    ids += sids
    # one worker runs about one of these a second or slower (a child
    # process per task): the backlog outlasts the run
    settle(w, ids, timeout=180)
    first = min(float(t) for t in w.r(15).hmget("ledger:started_at", sids))
    last = max(float(t) for t in w.r(15).hmget("ledger:started_at", ids))
    return code, err, ids, largest_gap(w, ids, first, last)


@pytest.mark.long(60)
def test_handover_stream_gap_and_history(request):
    """Every task exactly once, nothing unacked, no old pod left, the
    previous revision kept at 0 replicas, and the largest gap between task
    starts at most 2.5 s; the same load in place, for comparison.

    The workers run one task at a time without DIALS' new process per task
    (--max-tasks-per-child=1): that alone pauses a worker up to 5 s between
    tasks now and then, with or without any drain, and would hide what is
    measured here, the time nobody consumes the queue."""
    w = fresh(request, pool=PLAIN_POOL)
    old_pods, old_rs = old_state(w)
    code, err, ids, gap = run_under_stream(w, "--handover")
    assert code == 0, err
    assert_handed_over(w, old_pods, old_rs)
    # one PATCH of the Deployment's template: the annotation and resumed
    restarts = [json.loads(p["body"]) for p in applied_patches(w)
                if "template" in p["body"]]
    assert len(restarts) == 1
    assert restarts[0]["spec"]["paused"] is False
    assert list(restarts[0]["spec"]["template"]["metadata"]["annotations"]) == [
        "kubectl.kubernetes.io/restartedAt"]
    assert not w.deployment(DEP)["spec"].get("paused")
    # the same load in place
    w2 = fresh(request, pool=PLAIN_POOL)
    code2, err2, _, gap_inplace = run_under_stream(w2)
    assert code2 == 0, err2
    report = "queue downtime: handover %.2fs, in-place %.2fs\n" % (gap, gap_inplace)
    sys.stderr.write(report)
    assert gap <= 2.5, "handover left the queue unconsumed for %.2fs (in-place: %.2fs)" % (
        gap, gap_inplace)


# ---- a rollout that fails gives every old worker back -------------------

def busy_crashing(request, tag):
    """One old worker busy with 2 s tasks; the new pods will crash."""
    w = fresh(request)
    old_pods, old_rs = old_state(w)
    worker = w.worker_of(DEP)
    ids = w.enqueue(DEP, 3, 2.0, tag=tag)
    w.wait_started(ids, 1)
    w.kube_test("POST", "/_test/pod-state", {"deployment": DEP, "state": "CrashLoopBackOff"})
    return w, old_pods, old_rs, worker, ids


def test_handover_new_pods_crash_gives_the_old_pods_back(request):
    w, old_pods, old_rs, worker, ids = busy_crashing(request, "crash")
    p = w.run(DEP, "--handover", "--rollout-timeout", "15s")
    assert p.returncode == 6, p.stderr
    settle(w, ids)
    # the old pod never stopped: it consumes and is owned again
    assert w.worker_of(DEP) == worker or worker in {q["hostname"] for q in live_pods(w)}
    assert w.consumes(worker, DEP)
    rs_now = {rs["metadata"]["name"]: rs for rs in replicasets(w)}
    uid = w.deployment(DEP)["metadata"]["uid"]
    for pod in pod_objects(w):
        if pod["metadata"]["name"] in old_pods:
            owner = [r for r in pod["metadata"].get("ownerReferences") or []
                     if r.get("controller")]
            assert owner and owner[0]["name"] in old_rs, pod["metadata"]
            assert "drain-and-rollout/handover" not in pod["metadata"]["labels"]
            assert controller_uid(rs_now[owner[0]["name"]]) == uid
    assert set(old_rs) <= set(rs_now)
    assert not w.deployment(DEP)["spec"].get("paused")
    assert not w.r().exists(JOURNAL) and not w.r().exists(LEASE)


def test_handover_quota_says_the_new_pods_were_not_created(request):
    """A quota that leaves no room for the new pods: exit 6, said as such,
    the old worker consuming and owned again."""
    w = fresh(request)
    worker = w.worker_of(DEP)
    w.kube_test("POST", "/_test/quota", {"pods": 2})    # redbeat + the old worker
    p = w.run(DEP, "--handover", "--rollout-timeout", "20s")
    assert p.returncode == 6, p.stderr
    assert "were not created" in p.stderr and "quota" in p.stderr, p.stderr
    assert w.consumes(worker, DEP)
    assert not w.r().exists(JOURNAL)


# ---- a failed rollout: what the controller would stop is drained first ---

def set_strategy(w, strategy):
    r = w.kubectl("patch", "deployment/" + DEP, "--type=merge", "-p",
                  json.dumps({"spec": {"strategy": strategy}}))
    assert r.returncode == 0, r.stderr


def agent_deleted_pods(w):
    return {r["path"].split("?")[0].rsplit("/", 1)[-1] for r in w.kube_requests()
            if r["method"] == "DELETE" and "/pods/" in r["path"]}


def assert_old_pods_stopped_by_the_agent_only(w, old_pods):
    """Every old pod that stopped was deleted by the agent, once drained (the
    ledger shows nothing lost); none was stopped by a controller."""
    deleted = agent_deleted_pods(w)
    stopped = [p for p in w.pods(DEP, all=True) if p["name"] in old_pods
               and (p["terminating"] or p["gone"] or p["sigtermed"])]
    for p in stopped:
        assert p["name"] in deleted, "old pod %s was stopped by a controller: %s" % (p["name"], p)
    return stopped


@pytest.mark.long(35)
def test_handover_rolling_failure_drains_what_the_controller_would_stop(request):
    """2 replicas, RollingUpdate maxUnavailable 1, new pods crash, both old
    workers busy: resumed with the old ReplicaSet back at 2 the controller
    would stop one old pod at once. That one is drained and deleted first,
    the ReplicaSet recreated with 1: exit 6, every task exactly once, the
    other old worker consumes, owned, and the controller stops nothing
    more."""
    w, ids, old_pods, old_rs = rolling_busy_crashing(request)
    p = w.run(DEP, "--handover", "--rollout-timeout", "10s")
    assert p.returncode == 6, p.stderr
    assert_one_old_pod_shed(w, ids, old_pods, old_rs)
    assert "would stop 1 old pod" in p.stderr, p.stderr


def rolling_busy_crashing(request):
    """2 replicas, RollingUpdate maxSurge 1 maxUnavailable 1, both old
    workers busy with 8 s tasks, the new pods crash."""
    w = fresh(request, replicas=2)
    set_strategy(w, {"type": "RollingUpdate",
                     "rollingUpdate": {"maxSurge": 1, "maxUnavailable": 1}})
    old_pods, old_rs = old_state(w)
    ids = w.enqueue(DEP, 6, 8.0, tag="busy")
    w.wait_started(ids, 2)
    w.kube_test("POST", "/_test/pod-state", {"deployment": DEP, "state": "CrashLoopBackOff"})
    return w, ids, old_pods, old_rs


def assert_one_old_pod_shed(w, ids, old_pods, old_rs):
    """Every task exactly once; one old pod deleted by the agent, none
    stopped by a controller, not even seconds later; the other consumes,
    owned by its ReplicaSet, recreated with 1 replica."""
    settle(w, ids, timeout=150)
    time.sleep(3)       # the controller has had many syncs: nothing more to stop
    stopped = assert_old_pods_stopped_by_the_agent_only(w, old_pods)
    assert len(stopped) == 1, stopped
    kept = [q for q in w.pods(DEP) if q["name"] in old_pods and not q["terminating"]]
    assert len(kept) == 1, kept
    assert not kept[0]["sigtermed"] and kept[0]["owner"] in old_rs, kept[0]
    assert w.consumes(kept[0]["hostname"], DEP)
    uid = w.deployment(DEP)["metadata"]["uid"]
    rs_now = {rs["metadata"]["name"]: rs for rs in replicasets(w)}
    assert set(old_rs) <= set(rs_now)
    assert rs_now[kept[0]["owner"]]["spec"]["replicas"] == 1
    assert controller_uid(rs_now[kept[0]["owner"]]) == uid
    for pod in pod_objects(w):
        assert "drain-and-rollout/handover" not in pod["metadata"]["labels"]
    assert not w.deployment(DEP)["spec"].get("paused")
    assert not w.r().exists(JOURNAL) and not w.r().exists(LEASE)


@pytest.mark.long(45)
@pytest.mark.parametrize("kill_in", ["rollout", "drain"])
def test_handover_rolling_failure_sigkill_then_recover(request, kill_in):
    """SIGKILL while the rollout runs (--recover waits for it, it fails,
    gives back) or while the old pod the controller would stop drains
    (--recover finishes that): either way exit 6, the same state as an
    uninterrupted run."""
    w, ids, old_pods, old_rs = rolling_busy_crashing(request)
    args = (DEP, "--handover", "--lease-ttl", "2s", "--rollout-timeout",
            "60s" if kill_in == "rollout" else "8s")
    p = w.spawn(*args)
    wait_journal_state(w, kill_in, timeout=60)
    p.send_signal(signal.SIGKILL)
    finish(w, p, args, timeout=10)
    wait_for(lambda: not w.r().exists(LEASE), 10, "the lease to expire")
    r = w.run("--recover", DEP, "--rollout-timeout", "8s")
    assert r.returncode == 6, r.stderr
    assert_one_old_pod_shed(w, ids, old_pods, old_rs)


@pytest.mark.long(40)
def test_handover_recreate_failure_drains_every_old_worker(request):
    """Recreate: resumed, the controller would stop every old pod. All are
    drained and deleted first, the old ReplicaSet recreated with 0: exit 6,
    nothing lost (the tasks not yet fetched wait in the queue; once the new
    pods run they do them, each exactly once)."""
    w = fresh(request, replicas=2, strategy="Recreate")
    old_pods, old_rs = old_state(w)
    ids = w.enqueue(DEP, 6, 8.0, tag="busy")
    w.wait_started(ids, 2)
    w.kube_test("POST", "/_test/pod-state", {"deployment": DEP, "state": "CrashLoopBackOff"})
    p = w.run(DEP, "--handover", "--rollout-timeout", "10s")
    assert p.returncode == 6, p.stderr
    wait_for(lambda: w.unacked() == 0, 30, "unacked empty")
    stopped = assert_old_pods_stopped_by_the_agent_only(w, old_pods)
    assert sorted(q["name"] for q in stopped) == sorted(old_pods)
    started, done = w.ledger()
    assert all(done.get(i) == "1" for i in ids if i in started), (started, done)
    rs_now = {rs["metadata"]["name"]: rs for rs in replicasets(w)}
    for name in old_rs:
        assert rs_now[name]["spec"]["replicas"] == 0, rs_now[name]["spec"]
    assert not w.r().exists(JOURNAL) and not w.r().exists(LEASE)
    # the new pods run again: the rest of the queue is done, each task once
    w.kube_test("DELETE", "/_test/pod-state", {"deployment": DEP})
    for q in w.pods(DEP):
        code, obj, _ = w.kube_api("DELETE", "/api/v1/namespaces/%s/pods/%s" % (NS, q["name"]))
        assert code == 200, obj
    settle(w, ids, timeout=150)
    assert "would stop 2 old pod" in p.stderr, p.stderr


# ---- the dry run shows the ReplicaSets; none owned is refused at once ----

def test_handover_dry_run_shows_the_replicasets(request):
    w = fresh(request)
    r = w.restart(DEP)
    assert r.returncode == 0, r.stderr
    w.wait_rolled_out(DEP)
    rss = {rs["metadata"]["name"]: rs for rs in replicasets(w)}
    assert len(rss) == 2
    w.kube_test("DELETE", "/_test/requests")
    p = w.run(DEP, "--handover", "--dry-run", "-o", "json")
    assert p.returncode == 0, p.stderr
    assert "plan (--handover)" in p.stderr, p.stderr
    line = next(l for l in p.stderr.splitlines() if "plan (--handover)" in l)
    assert "propagation Orphan" in line, line
    for name, rs in rss.items():
        assert "%s (revision %s, %d replica" % (
            name, rs["metadata"]["annotations"][REVISION], rs["spec"]["replicas"]) in line, line
    (d,) = json.loads(p.stdout)["deployments"]
    assert d["outcome"] == "dry-run"
    assert sorted((x["name"], x["revision"], x["replicas"]) for x in d["handover"]["replicasets"]) == \
        sorted((n, rs["metadata"]["annotations"][REVISION], rs["spec"]["replicas"])
               for n, rs in rss.items())
    assert [q for q in w.kube_requests() if q["method"] != "GET"] == []
    assert sorted(rs["metadata"]["uid"] for rs in replicasets(w)) == sorted(
        rs["metadata"]["uid"] for rs in rss.values())
    # in place, the plan names no ReplicaSet
    p = w.run(DEP, "--dry-run", "-o", "json")
    assert p.returncode == 0, p.stderr
    assert "plan (--handover)" not in p.stderr
    assert "handover" not in json.loads(p.stdout)["deployments"][0]


def test_handover_refuses_a_deployment_that_owns_no_replicaset(request):
    """Its Deployment controller is not running and its ReplicaSet was
    deleted, its pods orphaned: refused while resolving (exit 3), nothing
    taken or changed."""
    w = fresh(request)
    worker = w.worker_of(DEP)
    w.kube_test("POST", "/_test/deployment-controller", {"deployment": DEP, "running": False})
    (rs,) = replicasets(w)
    r = w.kubectl("delete", "rs", rs["metadata"]["name"], "--cascade=orphan")
    assert r.returncode == 0, r.stderr
    wait_for(lambda: replicasets(w) == [], 10, "the ReplicaSet gone")
    w.kube_test("DELETE", "/_test/requests")
    p = w.run(DEP, "--handover")
    assert p.returncode == 3, p.stderr
    assert "owns no ReplicaSet" in p.stderr and "nothing was changed" in p.stderr, p.stderr
    assert [q for q in w.kube_requests() if q["method"] != "GET"] == []
    assert not w.r().exists(JOURNAL) and not w.r().exists(LEASE)
    assert w.consumes(worker, DEP)


# ---- N replicas, Recreate ------------------------------------------------

@pytest.mark.parametrize("replicas,strategy", [(2, None), (1, "Recreate")])
def test_handover_replicas_and_strategies(request, replicas, strategy):
    w = fresh(request, replicas=replicas, strategy=strategy)
    old_pods, old_rs = old_state(w)
    ids = w.enqueue(DEP, 2 * replicas + 2, 2.0, tag="n")
    w.wait_started(ids, replicas)
    p = w.run(DEP, "--handover")
    assert p.returncode == 0, p.stderr
    settle(w, ids)
    assert len(live_pods(w)) == replicas
    assert_handed_over(w, old_pods, old_rs)


def test_handover_refuses_a_paused_deployment(request):
    w = fresh(request)
    r = w.kubectl("rollout", "pause", "deployment/" + DEP)
    assert r.returncode == 0, r.stderr
    rs_before = replicasets(w)
    p = w.run(DEP, "--handover")
    assert p.returncode == 3, p.stderr
    assert "paused" in p.stderr
    assert [rs["metadata"]["uid"] for rs in replicasets(w)] == [
        rs["metadata"]["uid"] for rs in rs_before]
    assert not [q for q in patches(w) if "drain-and-rollout" in q["path"]]


# ---- SIGKILL after each step, then one --recover ------------------------

@pytest.mark.parametrize("kill_in", ["restart", "rollout", "verify", "drain", "history"])
def test_handover_sigkill_then_recover(request, kill_in):
    """journal state "restart": DETACH done (the PATCH may not be sent);
    "rollout": RESTART done; "drain": mid-drain. One --recover finishes the
    handover or gives the pods back; every task once, the worker consumes."""
    w = fresh(request)
    old_pods, old_rs = old_state(w)
    worker = w.worker_of(DEP)
    ids = w.enqueue(DEP, 3, 3.0, tag="k")
    w.wait_started(ids, 1)
    args = (DEP, "--handover", "--lease-ttl", "2s")
    if kill_in == "restart":
        # the state lasts one PATCH: the double holds the Deployment's
        # PATCHes (pause, then restart) 2 s each, so the kill lands in it;
        # --recover waits for the one in flight (3 s timeout: not long)
        args += ("--request-timeout", "3s")
        w.kube_test("POST", "/_test/faults", {
            "method": "PATCH", "delay": 2, "count": 2,
            "path_prefix": "/apis/apps/v1/namespaces/%s/deployments/%s" % (NS, DEP)})
    if kill_in == "history":
        # the state lasts one ReplicaSet create, held 2 s so that the kill
        # lands in it
        w.kube_test("POST", "/_test/faults", {
            "method": "POST", "delay": 2, "count": 1,
            "path_prefix": "/apis/apps/v1/namespaces/%s/replicasets" % NS})
    p = w.spawn(*args)
    try:
        # three tasks drained, a rollout: a loaded machine takes its time
        wait_journal_state(w, kill_in, timeout=120)
    except AssertionError:
        p.kill()
        finish(w, p, args, timeout=10)	# its log names where it was
        raise
    p.send_signal(signal.SIGKILL)
    finish(w, p, args, timeout=10)
    assert w.r().exists(JOURNAL)
    wait_for(lambda: not w.r().exists(LEASE), 10, "the lease to expire")
    r = w.run("--recover", DEP)
    assert r.returncode == 0, r.stderr
    settle(w, ids)
    restarted = [q for q in applied_patches(w) if "restartedAt" in q["body"]]
    assert len(restarted) <= 1, "--recover must not restart again"
    if restarted:
        assert_handed_over(w, old_pods, old_rs)
    else:
        # given back: the old worker consumes, owned by its ReplicaSet
        assert "giving the old pods back" in r.stderr
        assert w.consumes(worker, DEP)
        assert {rs["metadata"]["name"] for rs in active_rs(w)} <= set(old_rs)
        assert not w.deployment(DEP)["spec"].get("paused")
    for pod in pod_objects(w):
        assert "drain-and-rollout/handover" not in pod["metadata"]["labels"]
        assert controller_uid(pod) is not None, pod["metadata"]
    assert not w.r().exists(JOURNAL) and not w.r().exists(LEASE)


def test_handover_and_drain_only_exclude_each_other(request):
    w = fresh(request)
    p = w.run(DEP, "--handover", "--drain-only")
    assert p.returncode == 2, p.stderr
    assert "exclude" in p.stderr
    assert patches(w) == []


@pytest.mark.parametrize("term_in", ["rollout", "drain"])
def test_handover_sigterm_then_recover(request, term_in):
    """SIGTERM in ROLLOUT ends at once (exit 8, the journal kept); mid-drain
    the old worker gets its consumers back first (RESTORE), still detached.
    Either way one --recover finishes the handover."""
    w = fresh(request)
    old_pods, old_rs = old_state(w)
    worker = w.worker_of(DEP)
    ids = w.enqueue(DEP, 3, 3.0, tag="t")
    w.wait_started(ids, 1)
    args = (DEP, "--handover")
    p = w.spawn(*args)
    wait_journal_state(w, term_in)
    p.send_signal(signal.SIGTERM)
    code, err = finish(w, p, args, timeout=60)
    assert code == 8, err
    assert w.r().exists(JOURNAL), "the journal must be left for --recover"
    assert "--recover" in err
    if term_in == "drain":
        assert w.consumes(worker, DEP), "an interrupted drain gives the consumers back"
    r = w.run("--recover", DEP)
    assert r.returncode == 0, r.stderr
    settle(w, ids)
    assert len([q for q in applied_patches(w) if "restartedAt" in q["body"]]) == 1
    assert_handed_over(w, old_pods, old_rs)
