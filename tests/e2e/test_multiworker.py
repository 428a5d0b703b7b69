"""End to end: pods that run two Celery workers in one container (NAME@POD on
queue NAME and NAME-2@POD on queue NAME-2, world.deployment(side=...)): the
drain waits for both, --handover deletes a pod only once both are drained,
VERIFY pairs each new worker with the old one of its name, and --undrain and
--recover give each worker back its own queues."""
import json
import os
import signal
import time

import pytest

from conftest import applied_patches, make_world
from test_safety import finish
from world import NS, deployment, wait_for

DEP = "csc-bulk"
SIDE = "csc-bulk-2"
JOURNAL = "drain-and-rollout:journal:%s:%s" % (NS, DEP)
LEASE = "drain-and-rollout:lease:%s:%s" % (NS, DEP)
# a short --verify-timeout: a verify that cannot succeed ends in seconds
VERIFY = ("--verify-timeout", "20s")


def fresh(request, grace=3):
    w = make_world(request, [deployment(DEP, grace=grace, side=[SIDE]),
                             deployment("common-redbeat", worker=False)])
    wait_for(lambda: len(live(w)) == 1 and w.all_workers_online(), 60,
             "the pod's two workers online")
    return w


def live(w):
    return [p for p in w.pods(DEP) if p.get("ready") and not p.get("terminating")]


def workers(pod):
    """(main worker, side worker) of a pod of the test world."""
    main, side = pod["hostnames"]
    assert main == "%s@%s" % (DEP, pod["name"]) and side == "%s@%s" % (SIDE, pod["name"])
    return main, side


def busy_pod(w, short=3.0, long=10.0):
    """A task on each worker of the pod, the side worker's the longer one;
    returns (the pod, [main task, side task]) once both run."""
    pod = live(w)[0]
    ids = w.enqueue(DEP, 1, short, tag="main") + w.enqueue(SIDE, 1, long, tag="side")
    w.wait_started(ids, 2)
    return pod, ids


def assert_own_queues(w, pod, timeout=20):
    """Each worker of the pod consumes its own queue, and only it."""
    main, side = workers(pod)
    wait_for(lambda: w.queues_of(main) == [DEP], timeout, "%s consuming %s alone" % (main, DEP),
             interval=0.5)
    wait_for(lambda: w.queues_of(side) == [SIDE], timeout, "%s consuming %s alone" % (side, SIDE),
             interval=0.5)


def new_pod(w, old):
    return wait_for(lambda: next((p for p in live(w) if p["name"] != old["name"]), None), 30,
                    "a new pod")


def settle(w, ids, timeout=60):
    w.wait_done(ids, timeout=timeout)
    w.assert_exactly_once(ids)
    wait_for(lambda: w.unacked() == 0, 15, "unacked empty")


def killed_in_drain(w, args):
    """The agent run with args, SIGKILLed once its journal says it drains; returns
    once its lease has expired."""
    p = w.spawn(*args)
    try:
        wait_for(lambda: w.r().hget(JOURNAL, "state") == "drain", 60, "the journal in state drain",
                 interval=0.05)
    finally:
        p.send_signal(signal.SIGKILL)
        finish(w, p, args, timeout=10)
    wait_for(lambda: not w.r().exists(LEASE), 10, "the lease to expire")


def test_in_place_waits_for_both_workers_and_verifies_each(request, tmp_path):
    w = fresh(request)
    old = workers(live(w)[0])
    for args in (("--dry-run", DEP), ("--status", DEP)):
        p = w.run(*args)
        assert p.returncode == 0, p.stderr
        for name in old:
            assert name in p.stdout + p.stderr, (args, name, p.stdout + p.stderr)
    pod, ids = busy_pod(w)
    metrics = tmp_path / "drain.prom"
    p = w.run(DEP, "-o", "json", "--metrics-file", str(metrics), *VERIFY)
    assert p.returncode == 0, p.stderr
    settle(w, ids)
    assert len([q for q in applied_patches(w, DEP) if "restartedAt" in q["body"]]) == 1
    nw = new_pod(w, pod)
    assert_own_queues(w, nw)
    for name in workers(nw):
        assert "new worker %s consumes" % name in p.stderr, p.stderr
    (d,) = json.loads(p.stdout)["deployments"]
    assert {x["name"]: x["queues"] for x in d["workers"]} == {old[0]: [DEP], old[1]: [SIDE]}
    assert all(x["drained"] for x in d["workers"])
    waited = {x["name"]: [t["id"] for t in x["tasks"]] for x in d["workers"]}
    assert waited[old[1]] == [ids[1]], waited       # the side worker's longer task
    assert waited[old[0]] in ([ids[0]], []), waited  # the short one may end before the cancel
    assert sorted(d["new_workers"]) == sorted(workers(nw))
    text = metrics.read_text()
    for name in old:
        assert ('drain_and_rollout_worker_drained{namespace="%s",deployment="%s",worker="%s"} 1'
                % (NS, DEP, name)) in text, text
    assert not w.r().exists(JOURNAL) and not w.r().exists(LEASE)


def test_handover_deletes_the_pod_once_both_workers_are_drained(request):
    w = fresh(request)
    pod, ids = busy_pod(w)
    p = w.run(DEP, "--handover", *VERIFY)
    assert p.returncode == 0, p.stderr
    settle(w, ids)
    # the old pod's DELETE came after the side worker's task ended
    done_at = float(w.r(15).hget("ledger:done_at", ids[1]))
    deletes = [r for r in w.kube_requests() if r["method"] == "DELETE"
               and r["path"].split("?")[0].endswith("/pods/" + pod["name"])]
    assert deletes, "the old pod was never deleted"
    assert min(r["t"] for r in deletes) >= done_at, \
        "pod %s deleted %.1fs before its second worker's task ended" % (
            pod["name"], done_at - min(r["t"] for r in deletes))
    gone = [q for q in w.pods(DEP, all=True) if q["name"] == pod["name"]][0]
    assert not gone["sigkilled"], gone
    nw = new_pod(w, pod)
    assert_own_queues(w, nw)
    assert not w.r().exists(JOURNAL) and not w.r().exists(LEASE)


def test_verify_fails_when_the_second_new_worker_does_not_consume_its_queue(request):
    w = fresh(request)
    pod = live(w)[0]
    # the new pods' side worker will consume another queue
    w.kube_test("POST", "/_test/side-queues", {"deployment": DEP, "queues": ["csc-other"]})
    p = w.run(DEP, *VERIFY)
    assert p.returncode == 7, p.stderr
    nw = new_pod(w, pod)
    _, side = workers(nw)
    assert "new worker %s does not consume %s (%s@%s did)" % (side, SIDE, SIDE, pod["name"]) \
        in p.stderr, p.stderr


def test_undrain_gives_each_worker_its_own_queues(request):
    """--drain-only, then the pod replaced (new worker names): --undrain gives
    each new worker the queues of the old worker of its name, not all."""
    w = fresh(request)
    pod = live(w)[0]
    p = w.run(DEP, "--drain-only")
    assert p.returncode == 0, p.stderr
    main, side = workers(pod)
    assert w.queues_of(main) == [] and w.queues_of(side) == []
    code, obj, _ = w.kube_api("DELETE", "/api/v1/namespaces/%s/pods/%s" % (NS, pod["name"]))
    assert code == 200, obj
    nw = new_pod(w, pod)
    wait_for(lambda: w.all_workers_online(), 60, "the new pod's workers online")
    # Flower takes add-consumer only for workers its inspector has seen
    # (404 Unknown worker before): a refresh of all of them, as its dashboard does
    wait_for(lambda: set(workers(nw)) <= set(w.flower_get("/api/workers?refresh=1")), 30,
             "Flower inspecting the new workers")
    p = w.run("--undrain", DEP)
    assert p.returncode == 0, p.stderr
    assert_own_queues(w, nw)
    assert not w.r().exists(JOURNAL)


def test_recover_gives_each_worker_its_own_queues(request):
    w = fresh(request)
    pod, ids = busy_pod(w, short=2.0, long=6.0)
    args = (DEP, "--lease-ttl", "2s")
    killed_in_drain(w, args)
    r = w.run("--recover", DEP)
    assert r.returncode == 0, r.stderr
    settle(w, ids)
    assert_own_queues(w, pod)
    assert not applied_patches(w, DEP)


def test_a_sidecar_that_exits_does_not_make_a_silent_worker_vanished(request):
    """A worker that cannot answer (SIGSTOPped, as while the broker restarts) in a
    pod whose sidecar container exits meanwhile (a log shipper): the worker's own
    container still runs, so the worker has not vanished; the agent keeps waiting
    and its task completes before the restart. Taking the sidecar's exit (or its
    restart) for the worker's would restart the pod and cut the task."""
    w = make_world(request, [deployment("ecal-bulk", sidecar="log-shipper"),
                             deployment("common-redbeat", worker=False)])
    wait_for(lambda: w.all_workers_online(), 60, "the worker online")
    (pod,) = [p for p in w.pods("ecal-bulk") if p["ready"]]
    ids = w.enqueue("ecal-bulk", 1, 15.0, tag="silent")
    w.wait_started(ids, 1)
    args = ("ecal-bulk", "--no-events", "--poll-interval", "1s")
    p = w.spawn(*args)
    wait_for(lambda: w.r().hget("drain-and-rollout:journal:%s:ecal-bulk" % NS, "state") == "drain",
             30, "the drain", interval=0.05)
    w.kube_test("POST", "/_test/kill-pod", {"pod": pod["name"], "signal": "STOP"})
    try:
        w.kube_test("POST", "/_test/sidecar-exit", {"pod": pod["name"]})
        # the agent finds the worker offline and asks Kubernetes about its pod
        wait_for(lambda: pod["hostname"] not in w.workers_online(), 20, "the worker offline")
        t0 = time.time()
        wait_for(lambda: [r for r in w.kube_requests() if r["method"] == "GET" and r["t"] > t0
                          and r["path"].startswith("/api/v1/namespaces/%s/pods?" % NS)],
                 20, "the agent listing the pods")
    finally:
        w.kube_test("POST", "/_test/kill-pod", {"pod": pod["name"], "signal": "CONT"})
    rc, err = finish(w, p, args, timeout=120)
    assert rc == 0, err
    assert "does not answer, but its pod %s runs" % pod["name"] in err, err
    assert "vanished" not in err, err
    assert len([q for q in applied_patches(w, "ecal-bulk") if "restartedAt" in q["body"]]) == 1
    settle(w, ids)


def worker_pids(hostname):
    """The processes of the worker named hostname (its command line names it)."""
    out = []
    for pid in os.listdir("/proc"):
        try:
            with open("/proc/%s/cmdline" % pid, "rb") as f:
                argv = f.read().split(b"\0")
            if ("--hostname=" + hostname).encode() in argv and \
                    not any(a.endswith(b"podinit.py") for a in argv):   # not the container's init
                out.append(int(pid))
        except (OSError, ValueError):
            pass
    return out


def alive(pids):
    """Those of pids that run (not exited, not a zombie)."""
    out = []
    for pid in pids:
        try:
            with open("/proc/%d/stat" % pid) as f:
                if f.read().rsplit(")", 1)[1].split()[0] != "Z":
                    out.append(pid)
        except (OSError, IndexError):
            pass
    return out


def test_world_two_workers_stop_on_the_pods_sigterm_then_sigkill(request):
    """The test world itself: the pod's two workers run in one container (one
    process group); deleting the pod sends both SIGTERM: the idle one stops, the
    busy one waits for its task until the grace period ends in SIGKILL."""
    w = fresh(request, grace=3)
    pod = live(w)[0]
    main, side = workers(pod)
    pm, ps = worker_pids(main), worker_pids(side)
    assert pm and ps and not set(pm) & set(ps)
    ids = w.enqueue(SIDE, 1, 30.0, tag="cut")
    w.wait_started(ids, 1)
    code, obj, _ = w.kube_api("DELETE", "/api/v1/namespaces/%s/pods/%s" % (NS, pod["name"]))
    assert code == 200, obj
    wait_for(lambda: not alive(pm), 10, "the idle worker stopped by SIGTERM")
    gone = [p for p in w.pods(DEP, all=True) if p["name"] == pod["name"]][0]
    assert alive(ps) and not gone["gone"], "the busy worker waits for its task"
    gone = wait_for(lambda: [p for p in w.pods(DEP, all=True) if p["name"] == pod["name"]
                             and p["gone"]], 20, "the pod gone")[0]
    assert gone["sigtermed"] and gone["sigkilled"], gone
    assert not alive(ps)
    started, done = w.ledger()
    assert started.get(ids[0]) == "1" and ids[0] not in done


def test_a_pod_whose_second_worker_is_offline_is_not_restarted(request):
    """The side worker stops answering (SIGSTOPped: Flower counts it offline once
    its heartbeats expire) while the pod's main worker is online: what the silent
    one holds cannot be drained, so the run changes nothing (exit 3) and names it."""
    w = fresh(request)
    pod = live(w)[0]
    main, side = workers(pod)
    pids = worker_pids(side)
    for pid in pids:
        os.kill(pid, signal.SIGSTOP)
    try:
        wait_for(lambda: side not in w.workers_online() and main in w.workers_online(), 30,
                 "the side worker offline, the main one online")
        p = w.run(DEP)
    finally:
        for pid in alive(pids):
            os.kill(pid, signal.SIGCONT)
    assert p.returncode == 3, p.stderr
    assert "worker(s) %s of %s: offline" % (side, DEP) in p.stderr, p.stderr
    assert not applied_patches(w, DEP)
    assert w.queues_of(main) == [DEP]
    wait_for(lambda: w.queues_of(side) == [SIDE], 20, "the side worker answering again",
             interval=0.5)


def test_handover_sigkill_mid_drain_then_recover(request):
    """--handover killed while the two workers drain; --recover finishes it from
    the journal's per-worker record: both tasks once, the old pod deleted only
    after the side worker's task ended, the new workers on their own queues."""
    w = fresh(request)
    pod, ids = busy_pod(w, short=3.0, long=14.0)
    args = (DEP, "--handover", "--lease-ttl", "2s")
    killed_in_drain(w, args)
    r = w.run("--recover", DEP, *VERIFY)
    assert r.returncode == 0, r.stderr
    settle(w, ids)
    done_at = float(w.r(15).hget("ledger:done_at", ids[1]))
    deletes = [q["t"] for q in w.kube_requests() if q["method"] == "DELETE"
               and q["path"].split("?")[0].endswith("/pods/" + pod["name"])]
    assert deletes and min(deletes) >= done_at, (deletes, done_at)
    assert_own_queues(w, new_pod(w, pod))
    assert not w.r().exists(JOURNAL) and not w.r().exists(LEASE)


# ---- a second worker that comes up after RESOLVE ---------------------------

def gated(request):
    """A pod whose side worker has not started yet (slow to come up: never
    announced, unknown to Flower and the broker); pods created later start both."""
    w = make_world(request, [deployment(DEP, grace=3, side=[SIDE], side_gate=True),
                             deployment("common-redbeat", worker=False)])
    (pod,) = wait_for(lambda: len(live(w)) == 1 and w.all_workers_online() and live(w), 60,
                      "the pod's main worker online")
    main, side = workers(pod)
    assert side not in w.workers_online()
    w.kube_test("DELETE", "side-gate", {"deployment": DEP})
    return w, pod


def run_with_late_side(w, pod, args, main_s, side_s):
    """The agent run with args while the main worker runs a task of main_s; once
    the run has begun (its journal exists), the pod's side worker starts and
    takes a task of side_s from its queue. Returns (main ids, side ids, stderr)
    of a run that ended with exit 0 having found the side worker mid-run."""
    ids = w.enqueue(DEP, 1, main_s, tag="main")
    w.wait_started(ids, 1)
    p = w.spawn(*args)
    _, side = workers(pod)
    try:
        wait_for(lambda: w.r().exists(JOURNAL), 60, "the run's journal", interval=0.05)
        w.kube_test("POST", "side-start", {"pod": pod["name"]})
        wait_for(lambda: side in w.workers_online(), 60, "the late side worker online")
        late = w.enqueue(SIDE, 1, side_s, tag="late-side")
        w.wait_started(late, 1)
    finally:
        code, err = finish(w, p, args)
    assert code == 0, err
    assert "worker %s appeared after the drain began" % side in err, err
    return ids, late, err


@pytest.mark.long(70)
def test_a_second_worker_that_comes_up_mid_drain_is_drained_before_the_restart(request):
    """In place: the pod's side worker was not up at RESOLVE (the run knows only
    the main one); it comes up while the main one drains and takes a task. The
    census before the restart finds it on a pod the run tracks: drained first,
    one restart, both tasks once, both new workers on their own queues."""
    w, pod = gated(request)
    ids, late, _ = run_with_late_side(w, pod, (DEP, *VERIFY), 25.0, 12.0)
    settle(w, ids + late)
    assert len([q for q in applied_patches(w, DEP) if "restartedAt" in q["body"]]) == 1
    assert_own_queues(w, new_pod(w, pod))


@pytest.mark.long(70)
def test_handover_keeps_a_pod_whose_untracked_second_worker_took_a_task(request):
    """--handover: the pod's side worker was not up at RESOLVE; it comes up and
    takes a task while the main one drains. The main one drained is not "every
    worker of the pod drained": the pod is not deleted before the side worker is
    drained too. (The new pods' side worker consumes another queue, so that the
    task is the late worker's.)"""
    w, pod = gated(request)
    w.kube_test("POST", "/_test/side-queues", {"deployment": DEP, "queues": ["csc-other"]})
    ids, late, _ = run_with_late_side(w, pod, (DEP, "--handover", *VERIFY), 20.0, 30.0)
    w.wait_done(ids + late, timeout=40)
    w.assert_exactly_once(ids + late)
    gone = [q for q in w.pods(DEP, all=True) if q["name"] == pod["name"]][0]
    assert not gone["sigkilled"], gone
    done_at = float(w.r(15).hget("ledger:done_at", late[0]))
    deletes = [q["t"] for q in w.kube_requests() if q["method"] == "DELETE"
               and q["path"].split("?")[0].endswith("/pods/" + pod["name"])]
    assert deletes and min(deletes) >= done_at, (deletes, done_at)
    nw = new_pod(w, pod)
    main, _ = workers(nw)
    wait_for(lambda: w.queues_of(main) == [DEP], 20, "the new main worker consuming", interval=0.5)
    assert not w.r().exists(JOURNAL) and not w.r().exists(LEASE)


def test_verify_fails_when_the_new_pod_runs_only_one_of_its_two_workers(request):
    """The new pods' side worker never comes up (crash-looping, slow: here never
    started): the old side worker's queue is consumed by no new worker. Another
    new worker's consuming is no substitute: exit 7, the queue and the missing
    worker named."""
    w = make_world(request, [deployment(DEP, grace=3, side=[SIDE], side_gate=True),
                             deployment("common-redbeat", worker=False)])
    (pod,) = wait_for(lambda: len(live(w)) == 1 and w.all_workers_online() and live(w), 60,
                      "the pod's main worker online")
    main, side = workers(pod)
    w.kube_test("POST", "side-start", {"pod": pod["name"]})    # this pod's, not the next ones'
    wait_for(lambda: side in w.workers_online(), 60, "the side worker online")
    p = w.run(DEP, *VERIFY)
    assert p.returncode == 7, p.stderr
    assert ("no new worker consumes %s (%s did; no new worker is named %s@...)"
            % (SIDE, side, SIDE)) in p.stderr, p.stderr
    nw = new_pod(w, pod)
    assert w.queues_of(workers(nw)[0]) == [DEP]
    assert not w.r().exists(LEASE)


def test_recover_after_the_pod_of_two_workers_was_replaced(request):
    """The run killed while both workers of the pod drain; the pod is then
    replaced (deleted: its ReplicaSet creates another, new worker names).
    --recover has no old worker to give queues back to: the new ones consume
    their own queues from their start; it ends with exit 0, no restart sent, the
    journal gone."""
    w = fresh(request)
    pod, ids = busy_pod(w, short=2.0, long=6.0)
    killed_in_drain(w, (DEP, "--lease-ttl", "2s"))
    settle(w, ids)      # the replacement below cuts nothing
    code, obj, _ = w.kube_api("DELETE", "/api/v1/namespaces/%s/pods/%s" % (NS, pod["name"]))
    assert code == 200, obj
    nw = new_pod(w, pod)
    wait_for(lambda: w.all_workers_online(), 60, "the new pod's workers online")
    r = w.run("--recover", DEP)
    assert r.returncode == 0, r.stderr
    assert_own_queues(w, nw)
    assert not applied_patches(w, DEP)
    assert not w.r().exists(JOURNAL) and not w.r().exists(LEASE)
