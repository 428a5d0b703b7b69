"""StatefulSets (issue 11 item 6): TYPE/NAME addressing, the drain and the
rolling update of a StatefulSet of real Celery workers, OnDelete refused,
the partition honoured."""
import json

from conftest import make_world
from test_safety import finish
from world import NS, deployment, statefulset, wait_for

STS_PATH = "/apis/apps/v1/namespaces/%s/statefulsets/" % NS
DEP_PATH = "/apis/apps/v1/namespaces/%s/deployments/" % NS


def sts_patches(w, name):
    return [r for r in w.kube_requests() if r["method"] == "PATCH" and r["path"].startswith(STS_PATH + name)]


def dep_patches(w, name):
    return [r for r in w.kube_requests() if r["method"] == "PATCH" and r["path"].startswith(DEP_PATH + name)]


def live(w, name):
    """{pod name: pod} of the workload's live pods."""
    return {p["name"]: p for p in w.pods(name) if not p["terminating"]}


def sts_status(w, name):
    code, obj, _ = w.kube_api("GET", STS_PATH + name)
    assert code == 200, obj
    return obj


def drain_busy(w, n, seconds):
    """n tasks on the StatefulSet's queue, both workers busy, then the drain
    of statefulset/airflow-worker: each task exactly once, nothing unacked.
    (the run, the tasks that had started before it)"""
    ids = w.enqueue("airflow-worker", n, seconds)
    w.wait_started(ids, 2)
    started, _ = w.ledger()
    p = w.run("statefulset/airflow-worker")
    assert p.returncode == 0, p.stderr
    w.wait_done(ids, timeout=60)
    w.assert_exactly_once(ids)
    assert w.unacked() == 0
    return p, ids, started


def no_keys(w, target):
    for k in ("lease", "journal"):
        assert not w.r().exists("drain-and-rollout:%s:%s:%s" % (k, NS, target)), k


def test_statefulset_busy_workers_drained_and_rolled_out(request):
    """A 2-replica StatefulSet whose two workers are busy: every task exactly
    once, nothing in unacked, both replacement workers (same pod names, new
    pods) consume the queue; the PATCH is kubectl's, on the StatefulSet."""
    w = make_world(request, [deployment("ecal-bulk")],
                   statefulsets=[statefulset("airflow-worker", 2)])
    before = live(w, "airflow-worker")
    assert sorted(before) == ["airflow-worker-0", "airflow-worker-1"]
    # --handover is for Deployments: refused before anything changes
    p = w.run("--handover", "sts/airflow-worker")
    assert p.returncode == 3, p.stderr
    assert "--handover works on Deployments only" in p.stderr
    assert [r for r in w.kube_requests() if r["method"] != "GET"] == []
    no_keys(w, "statefulset/airflow-worker")
    p, ids, started = drain_busy(w, 6, 4.0)        # grace period is 3 s
    after = live(w, "airflow-worker")
    assert sorted(after) == ["airflow-worker-0", "airflow-worker-1"]
    for name in after:
        assert after[name]["uid"] != before[name]["uid"], name + " was not replaced"
        assert w.consumes("airflow-worker@" + name, "airflow-worker"), name
    (patch,) = sts_patches(w, "airflow-worker")
    assert patch["path"] == STS_PATH + "airflow-worker?fieldManager=drain-and-rollout&timeout=10s"
    assert patch["content_type"] == "application/strategic-merge-patch+json"
    ann = json.loads(patch["body"])["spec"]["template"]["metadata"]["annotations"]
    assert list(ann) == ["kubectl.kubernetes.io/restartedAt"]
    done_at = w.r(15).hmget("ledger:done_at", ids)
    # the restart came after every task that had started was done
    assert max(float(t) for i, t in zip(ids, done_at) if i in started) <= patch["t"]
    assert dep_patches(w, "ecal-bulk") == []
    assert "rolled out and verified" in p.stderr
    assert "partitioned roll out complete: 2 new pods have been updated" in p.stderr
    st = sts_status(w, "airflow-worker")["status"]
    assert st["currentRevision"] == st["updateRevision"] and st["updatedReplicas"] == 2
    no_keys(w, "statefulset/airflow-worker")


def test_type_name_addresses_the_right_object(request):
    """A Deployment and a StatefulSet both named airflow-worker: statefulset/,
    sts/ and statefulsets/ name the StatefulSet, a bare name, deployment/,
    deploy/ and deployments/ the Deployment; their leases are distinct; an
    unknown type is a usage error that sends nothing."""
    w = make_world(request, [deployment("airflow-worker", queues=["dep-q"])],
                   statefulsets=[statefulset("airflow-worker", 1, queues=["sts-q"],
                                             selector={"app": "airflow-worker-sts"})])
    sts0 = live(w, "airflow-worker")
    dep0 = {n: p for n, p in sts0.items() if n != "airflow-worker-0"}     # the Deployment's pod
    assert len(dep0) == 1
    # a bad type: exit 2, no request
    w.kube_test("DELETE", "/_test/requests")
    for bad in ("daemonset/airflow-worker", "replicaset/airflow-worker", "statefulset.apps/airflow-worker"):
        p = w.run(bad)
        assert p.returncode == 2, (bad, p.stderr)
    # a known type with a name Kubernetes would refuse: a usage error too
    for bad in ("statefulset/", "sts/Airflow", "sts/a/b"):
        p = w.run(bad)
        assert p.returncode == 2 and "not a valid StatefulSet name" in p.stderr, (bad, p.stderr)
    p = w.run("daemonset/airflow-worker")
    assert 'unknown type "daemonset"' in p.stderr
    p = w.run("--undrain", "pod/airflow-worker")
    assert p.returncode == 2, p.stderr
    assert w.kube_requests() == []
    # someone else holds the Deployment's lease (its key unchanged by this
    # change): the StatefulSet of the same name is not blocked by it
    w.r().set("drain-and-rollout:lease:%s:airflow-worker" % NS, "other-host:1:abcd", px=60000)
    p = w.run("sts/airflow-worker")
    assert p.returncode == 0, p.stderr
    assert len(sts_patches(w, "airflow-worker")) == 1 and dep_patches(w, "airflow-worker") == []
    p = w.run("deploy/airflow-worker")
    assert p.returncode == 4, p.stderr
    assert dep_patches(w, "airflow-worker") == []
    w.r().delete("drain-and-rollout:lease:%s:airflow-worker" % NS)
    # the StatefulSet's pod was replaced, the Deployment's was not
    now = live(w, "airflow-worker")
    assert set(dep0) <= set(now)
    assert now["airflow-worker-0"]["uid"] != sts0["airflow-worker-0"]["uid"]
    # --dry-run, each spelling: the right object's GET, nothing changed
    for arg, path in (("statefulsets/airflow-worker", STS_PATH), ("deployments/airflow-worker", DEP_PATH),
                      ("airflow-worker", DEP_PATH)):
        w.kube_test("DELETE", "/_test/requests")
        p = w.run("--dry-run", arg)
        assert p.returncode == 0, (arg, p.stderr)
        gets = [r["path"] for r in w.kube_requests() if r["method"] == "GET" and "/apis/apps/" in r["path"]]
        assert gets and all(g.startswith(path + "airflow-worker") for g in gets), (arg, gets)
        assert not [r for r in w.kube_requests() if r["method"] == "PATCH"]
    # the bare name drains and restarts the Deployment, and only it
    p = w.run("deployment/airflow-worker")
    assert p.returncode == 0, p.stderr
    assert len(dep_patches(w, "airflow-worker")) == 1 and sts_patches(w, "airflow-worker") == []
    assert not (set(dep0) & set(live(w, "airflow-worker")))
    assert live(w, "airflow-worker")["airflow-worker-0"]["uid"] == now["airflow-worker-0"]["uid"]
    # --status names the StatefulSet: its workers, not the Deployment's
    p = w.run("--status", "statefulset/airflow-worker")
    assert p.returncode == 0, p.stderr
    assert "airflow-worker@airflow-worker-0" in p.stdout + p.stderr
    assert not [n for n in live(w, "airflow-worker") if n != "airflow-worker-0" and n in p.stdout + p.stderr]
    # --hold and --release on the StatefulSet: its own annotation
    p = w.run("--hold", "statefulset/airflow-worker", "--reason", "disk check")
    assert p.returncode == 0, p.stderr
    ann = sts_status(w, "airflow-worker")["metadata"].get("annotations") or {}
    assert "drain-and-rollout/hold" in ann
    p = w.run("statefulset/airflow-worker")
    assert p.returncode == 3, p.stderr
    p = w.run("airflow-worker", "--dry-run")
    assert p.returncode == 0, p.stderr          # the Deployment is not held
    p = w.run("--release", "sts/airflow-worker")
    assert p.returncode == 0, p.stderr
    assert "drain-and-rollout/hold" not in (sts_status(w, "airflow-worker")["metadata"].get("annotations") or {})
    no_keys(w, "statefulset/airflow-worker")
    no_keys(w, "airflow-worker")


def test_on_delete_refused_nothing_changed(request):
    """kubectl rollout status refuses OnDelete; so does the drain, before
    anything changes: exit 3, no PATCH, the workers keep consuming."""
    w = make_world(request, [deployment("ecal-bulk")],
                   statefulsets=[statefulset("airflow-worker", 2, strategy="OnDelete")])
    before = live(w, "airflow-worker")
    w.kube_test("DELETE", "/_test/requests")
    p = w.run("statefulset/airflow-worker")
    assert p.returncode == 3, p.stderr
    assert "OnDelete" in p.stderr and "nothing was changed" in p.stderr
    assert "delete its pods by hand" in p.stderr and "RollingUpdate" in p.stderr
    assert [r for r in w.kube_requests() if r["method"] != "GET"] == []
    for name in before:
        assert w.consumes("airflow-worker@" + name, "airflow-worker"), name
    assert {n: p["uid"] for n, p in live(w, "airflow-worker").items()} == \
        {n: p["uid"] for n, p in before.items()}
    no_keys(w, "statefulset/airflow-worker")
    # --drain-only is still possible (no restart), and --undrain gives back
    p = w.run("--drain-only", "statefulset/airflow-worker")
    assert p.returncode == 0, p.stderr
    assert not w.consumes("airflow-worker@airflow-worker-0", "airflow-worker")
    p = w.run("--undrain", "sts/airflow-worker")
    assert p.returncode == 0, p.stderr
    for name in before:
        assert w.consumes("airflow-worker@" + name, "airflow-worker"), name
    assert sts_patches(w, "airflow-worker") == []


def test_partition_honoured(request):
    """partition 1: the rollout replaces airflow-worker-1 only; the drain leaves
    airflow-worker-0 alone (it keeps consuming, its tasks run on), the new -1
    consumes, every task exactly once."""
    w = make_world(request, [deployment("ecal-bulk")],
                   statefulsets=[statefulset("airflow-worker", 2, partition=1)])
    before = live(w, "airflow-worker")
    rev0 = sts_status(w, "airflow-worker")["status"]["currentRevision"]
    p, _, _ = drain_busy(w, 6, 3.0)
    after = live(w, "airflow-worker")
    assert after["airflow-worker-0"]["uid"] == before["airflow-worker-0"]["uid"]
    assert after["airflow-worker-1"]["uid"] != before["airflow-worker-1"]["uid"]
    # no worker left without its consumers
    assert w.consumes("airflow-worker@airflow-worker-0", "airflow-worker")
    assert w.consumes("airflow-worker@airflow-worker-1", "airflow-worker")
    assert "below the partition" in p.stderr
    assert "partitioned roll out complete: 1 new pods have been updated" in p.stderr
    st = sts_status(w, "airflow-worker")["status"]
    assert st["currentRevision"] == rev0 != st["updateRevision"] and st["updatedReplicas"] == 1
    no_keys(w, "statefulset/airflow-worker")
    # a partition at or above replicas: nothing would roll; refused, unchanged
    code, obj, _ = w.kube_api("PATCH", STS_PATH + "airflow-worker", json.dumps(
        {"spec": {"updateStrategy": {"rollingUpdate": {"partition": 2}}}}), "application/merge-patch+json")
    assert code == 200, obj

    def observed():
        o = sts_status(w, "airflow-worker")
        return o["status"].get("observedGeneration") == o["metadata"]["generation"]
    wait_for(observed, 10, "the new partition observed by the controller")
    w.kube_test("DELETE", "/_test/requests")
    p = w.run("statefulset/airflow-worker")
    assert p.returncode == 3, p.stderr
    assert "partition" in p.stderr and "nothing was changed" in p.stderr
    assert [r for r in w.kube_requests() if r["method"] != "GET"] == []
    assert w.consumes("airflow-worker@airflow-worker-1", "airflow-worker")


def test_sigkill_after_patch_recover_finds_the_statefulset(request):
    """The journal of a StatefulSet is keyed statefulset/NAME: --status shows
    it, a --recover without names finds it, waits for the StatefulSet's
    rollout (not a Deployment's) and verifies with the journal's old pod uids
    (the new pods have the old names)."""
    w = make_world(request, [deployment("ecal-bulk")],
                   statefulsets=[statefulset("airflow-worker", 2)])
    before = live(w, "airflow-worker")
    ids = w.enqueue("airflow-worker", 2, 1.5)
    w.wait_started(ids, 1)
    p = w.spawn("statefulset/airflow-worker", "--lease-ttl", "2s")
    wait_for(lambda: sts_patches(w, "airflow-worker") or p.poll() is not None, 60, "the PATCH",
             interval=0.02)
    assert p.poll() is None, "the run ended before its PATCH"
    p.kill()
    p.wait(timeout=10)
    journal = "drain-and-rollout:journal:%s:statefulset/airflow-worker" % NS
    assert w.r().exists(journal)
    old_pods = json.loads(w.r().hget(journal, "old_pods"))
    assert sorted(old_pods) == sorted(p["uid"] for p in before.values())
    wait_for(lambda: not w.r().exists("drain-and-rollout:lease:%s:statefulset/airflow-worker" % NS),
             10, "the dead run's lease to expire")
    st = w.run("--status")
    assert st.returncode == 0, st.stderr
    assert [ln for ln in st.stdout.splitlines()
            if ln.startswith("statefulset/airflow-worker:") and "INTERRUPTED" in ln], st.stdout
    r = w.run("--recover")
    assert r.returncode == 0, r.stderr
    assert "had restarted the rollout" in r.stderr
    assert len(sts_patches(w, "airflow-worker")) == 1, "--recover must not restart again"
    assert dep_patches(w, "ecal-bulk") == []
    w.wait_done(ids, timeout=60)
    w.assert_exactly_once(ids)
    assert w.unacked() == 0
    after = live(w, "airflow-worker")
    for name in after:
        assert after[name]["uid"] != before[name]["uid"]
        assert w.consumes("airflow-worker@" + name, "airflow-worker"), name
    no_keys(w, "statefulset/airflow-worker")


def test_replica_added_while_the_restart_is_in_flight_is_drained(request):
    """A StatefulSet of one replica; the API server holds the restart PATCH
    20 s, and meanwhile it is scaled to 2 (spec.replicas, as an autoscaler
    would): airflow-worker-1 comes up with the old revision and its worker
    takes a 25 s task. The rolling update would replace it first (the
    highest ordinal) with its task. The PATCH carries the StatefulSet's
    resourceVersion as the census read it: refused (409), the run drains
    the new worker, then restarts: every task once, one restart applied,
    both pods replaced and consuming, exit 0."""
    w = make_world(request, [deployment("ecal-bulk")],
                   statefulsets=[statefulset("airflow-worker", 1)])
    ids = w.enqueue("airflow-worker", 1, 3.0, tag="short")
    w.wait_started(ids, 1)
    w.kube_test("POST", "/_test/faults", {"method": "PATCH", "delay": 20, "status": 0, "count": 1,
                                          "path_prefix": STS_PATH + "airflow-worker?"})
    args = ("statefulset/airflow-worker", "--request-timeout", "60s")
    p = w.spawn(*args)
    wait_for(lambda: w.kube_test("GET", "/_test/faults")[0]["count"] == 0, 60,
             "the restart PATCH held at the API server", interval=0.05)
    code, obj, _ = w.kube_api("PATCH", STS_PATH + "airflow-worker", json.dumps(
        {"spec": {"replicas": 2}}), "application/merge-patch+json")
    assert code == 200, obj
    added = "airflow-worker@airflow-worker-1"
    wait_for(lambda: added in w.workers_online(), 30, "the added worker online")
    before = live(w, "airflow-worker")
    late = w.enqueue("airflow-worker", 1, 25.0, tag="late")
    w.wait_started(late, 1, timeout=30)
    assert not [q for q in sts_patches(w, "airflow-worker") if q.get("status") == 200
                and "restartedAt" in q["body"]], \
        "the PATCH landed before the added worker took its task"
    rc, err = finish(w, p, args)
    w.wait_done(ids + late, timeout=60)
    w.assert_exactly_once(ids + late)
    assert rc == 0, err
    sent = [(q["status"], json.loads(q["body"])["metadata"]["resourceVersion"])
            for q in sts_patches(w, "airflow-worker") if "restartedAt" in q["body"]]
    assert [s for s, _ in sent] == [409, 200] and sent[0][1] != sent[1][1], sent
    assert "worker %s appeared after the drain began" % added in err, err
    after = live(w, "airflow-worker")
    assert sorted(after) == ["airflow-worker-0", "airflow-worker-1"]
    for name in after:
        assert after[name]["uid"] != before[name]["uid"], name + " was not replaced"
        wait_for(lambda: w.consumes("airflow-worker@" + name, "airflow-worker"), 30,
                 name + " consuming")
