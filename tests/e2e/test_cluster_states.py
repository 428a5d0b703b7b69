"""Cluster states kubectl already handles (issue 9, item 5): a paused
Deployment, pods being deleted, pods whose container does not run."""
from conftest import applied_patches, make_world, patches
from world import deployment, wait_for

DEP = "ecal-bulk"


def test_paused_deployment_is_refused_and_nothing_changes(world):
    r = world.kubectl("rollout", "pause", "deployment/" + DEP)
    assert r.returncode == 0, r.stderr
    worker = world.worker_of(DEP)
    world.kube_test("DELETE", "/_test/requests")
    p = world.run(DEP, "--rollout-timeout", "20s")
    assert p.returncode == 3, p.stderr
    assert "paused" in p.stderr and "oc rollout resume deployment/%s" % DEP in p.stderr, p.stderr
    assert patches(world) == []
    assert world.consumes(worker, DEP)
    # no lease, no journal left behind
    assert not world.r().keys("drain-and-rollout:lease:*")
    assert not world.r().keys("drain-and-rollout:journal:*")
    # resumed, the same run goes through
    r = world.kubectl("rollout", "resume", "deployment/" + DEP)
    assert r.returncode == 0, r.stderr
    p = world.run(DEP)
    assert p.returncode == 0, p.stderr
    new = world.worker_of(DEP)
    assert new != worker and world.consumes(new, DEP)


def test_second_run_while_the_first_runs_old_pod_terminates(request):
    """The rollout is done while the old pod is still being deleted (a pod
    with deletionTimestamp is no replica; this worker's warm shutdown takes
    8 s), so a run started right after finds it: reported and skipped, not
    refused."""
    world = make_world(request, [deployment(DEP, grace=15, shutdown=8)])
    old = [p["name"] for p in world.pods(DEP)]
    p = world.run(DEP)
    assert p.returncode == 0, p.stderr
    p2 = world.run(DEP)
    assert any(q["name"] in old and not q["gone"] for q in world.kube_test("GET", "/_test/pods?all=1")) \
        or "being deleted" in p2.stderr, "the old pod was gone before the second run: the test proves nothing"
    assert "being deleted" in p2.stderr, p2.stderr
    assert p2.returncode == 0, p2.stderr
    assert len(applied_patches(world)) == 2
    new = world.worker_of(DEP)
    assert world.consumes(new, DEP)


def test_crash_looping_deployment_can_be_rolled_out(world):
    pod = [p["name"] for p in world.pods(DEP)][0]
    world.kube_test("POST", "/_test/pod-state", {"pod": pod, "state": "CrashLoopBackOff"})
    ids = world.enqueue(DEP, 3, 0.2, tag="waiting")
    p = world.run(DEP)
    assert p.returncode == 0, p.stderr
    assert pod in p.stderr and ("CrashLoopBackOff" in p.stderr or "Error" in p.stderr), p.stderr
    assert "nothing to drain" in p.stderr
    assert len(applied_patches(world)) == 1
    new = world.worker_of(DEP)
    assert new is not None and pod not in new and world.consumes(new, DEP)
    world.wait_done(ids)
    world.assert_exactly_once(ids)


def test_running_pod_without_worker_still_blocks(world):
    """Only a pod whose container runs while its worker is unknown blocks,
    and the message names the pod, its state and what to do."""
    world.kube_test("POST", "/_test/break", {"deployment": DEP})
    pod = [p["name"] for p in world.pods(DEP)][0]
    world.kube_test("POST", "/_test/kill-pod", {"pod": pod, "signal": "KILL"})
    wait_for(lambda: [q for q in world.pods(DEP) if q["name"] != pod and q["pid"]], 30, "the replacement pod")
    new = [q["name"] for q in world.pods(DEP) if q["name"] != pod][0]
    world.kube_test("DELETE", "/_test/requests")
    p = world.run(DEP)
    assert p.returncode == 3, p.stderr
    assert "%s (Running)" % new in p.stderr and "retry when the worker is up" in p.stderr, p.stderr
    assert patches(world) == []
