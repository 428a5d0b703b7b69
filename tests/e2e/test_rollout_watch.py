"""The rollout is followed by a watch of the Deployments, not by polling
each one (README, Performance: requests per deployment that do not grow
with the rollout's length); a watch that breaks, is refused or answers
410 Gone falls back to relisting or polling, and nothing is lost."""
import time

from conftest import applied_patches, make_world
from world import wait_for

DEP = "ecal-bulk"
DEP_PATH = "/apis/apps/v1/namespaces/cms-dials-prod/deployments"


def controller(w, running):
    w.kube_test("POST", "/_test/deployment-controller", {"deployment": DEP, "running": running})


def dep_requests(w):
    """The agent's reads of the Deployments after its restart PATCH: the GETs
    of the Deployment, and the watches."""
    reqs = w.kube_requests()
    i = max(n for n, q in enumerate(reqs) if q["method"] == "PATCH" and DEP_PATH + "/" + DEP in q["path"])
    after = [q for q in reqs[i + 1:] if q["method"] == "GET" and q["path"].startswith(DEP_PATH)]
    gets = [q for q in after if q["path"].split("?")[0] == DEP_PATH + "/" + DEP]
    watches = [q for q in after if "watch=1" in q["path"] or "watch=true" in q["path"]]
    return gets, watches


def held_rollout(request, seconds, timeout="3m"):
    """A world whose worker is busy, the agent started on it with the
    Deployment controller stopped: the rollout waits until the restart
    PATCH is `seconds` old, then goes on. (world, task ids, agent)."""
    w = make_world(request)
    ids = w.enqueue(DEP, 2, 2.0, tag="watch")
    w.wait_started(ids, 1)
    controller(w, False)
    request.addfinalizer(lambda: controller(w, True))
    w.kube_test("DELETE", "/_test/requests")
    p = w.spawn(DEP, "--rollout-timeout", timeout)
    request.addfinalizer(lambda: p.poll() is None and p.kill())
    t = wait_for(lambda: [q["t"] for q in applied_patches(w, DEP)], 60, "the restart PATCH")[0]
    wait_for(lambda: time.time() - t > seconds, seconds + 5, "the rollout to wait")
    return w, ids, p


def finished(w, ids, p):
    out, err = p.communicate(timeout=180)
    assert p.returncode == 0, err
    assert "successfully rolled out" in err, err
    w.wait_done(ids, timeout=60)
    w.assert_exactly_once(ids)
    new = w.worker_of(DEP)
    assert new and w.consumes(new, DEP)
    return err


def test_a_long_rollout_costs_no_more_requests(request):
    """A rollout held 8 s: the agent reads the Deployment once after its
    PATCH and then follows the watch (polling read it every second)."""
    w, ids, p = held_rollout(request, 8)
    assert p.poll() is None, "the rollout did not wait"
    controller(w, True)
    finished(w, ids, p)
    gets, watches = dep_requests(w)
    assert len(gets) <= 2, ["%.1f %s" % (q["t"], q["path"]) for q in gets]
    assert 1 <= len(watches) <= 2, [q["path"] for q in watches]


def test_a_broken_watch_and_410_gone_relist_and_nothing_is_lost(request):
    """The double drops the open watch mid-rollout and compacts its history:
    the agent's next watch, from its resourceVersion, gets 410 Gone (an ERROR
    event); it relists (a watch without resourceVersion: the current state
    first), and the rollout still completes, the tasks run once."""
    w, ids, p = held_rollout(request, 2)
    wait_for(lambda: dep_requests(w)[1], 30, "the agent's watch")
    w.kube_test("POST", "/_test/watch", {"compact": True, "close": True, "abort": True})
    wait_for(lambda: [q for q in dep_requests(w)[1] if q.get("note") == "410 Expired"], 30,
             "the watch from the old resourceVersion")
    wait_for(lambda: len(dep_requests(w)[1]) >= 3, 30, "the relist")
    controller(w, True)
    finished(w, ids, p)
    gets, watches = dep_requests(w)
    i = [n for n, q in enumerate(watches) if q.get("note") == "410 Expired"][0]
    assert "resourceVersion=" in watches[i]["path"]
    assert "resourceVersion=" not in watches[i + 1]["path"], [q["path"] for q in watches]
    assert len(gets) <= 2, ["%.1f %s" % (q["t"], q["path"]) for q in gets]


def test_a_watch_closed_by_the_server_is_resumed(request):
    """The double ends the open watch cleanly mid-rollout (as at its
    timeoutSeconds, or an API server shutting down): the agent watches again
    from the resourceVersion it had, and sees the rollout through."""
    w, ids, p = held_rollout(request, 2)
    wait_for(lambda: dep_requests(w)[1], 30, "the agent's watch")
    w.kube_test("POST", "/_test/watch", {"close": True})
    wait_for(lambda: len(dep_requests(w)[1]) >= 2, 30, "the watch again")
    controller(w, True)
    finished(w, ids, p)
    gets, watches = dep_requests(w)
    assert "resourceVersion=" in watches[1]["path"], [q["path"] for q in watches]
    assert len(gets) <= 2


def test_no_right_to_watch_falls_back_to_polling(request):
    """An account without the verb watch on deployments: the agent says so
    once and polls; the run completes."""
    w = make_world(request)
    ids = w.enqueue(DEP, 2, 2.0, tag="nowatch")
    w.wait_started(ids, 1)
    w.kube_test("POST", "/_test/forbid", {"verb": "watch", "resource": "deployments"})
    request.addfinalizer(lambda: w.kube_test("DELETE", "/_test/forbid"))
    p = w.spawn(DEP)
    err = finished(w, ids, p)
    assert err.count("following the rollouts by polling") == 1, err
    assert "the verb watch on deployments.apps" in err, err


def test_a_deployment_created_again_while_the_watch_was_down_is_followed(request):
    """Mid-rollout, the Deployment is deleted (orphans) and created again
    (`kubectl replace --force`) while the agent's watch is dropped, and the
    history is compacted: the agent's resume gets 410 Gone and its relist
    shows only the new object (another uid, generation 1, older than the
    restart's). It is the Deployment now: the agent says so and follows it
    to its rollout's end, before its deadline (not ignored as an event from
    before the restart)."""
    w, ids, p = held_rollout(request, 2, timeout="70s")
    wait_for(lambda: dep_requests(w)[1], 30, "the agent's watch")
    w.kube_test("POST", "/_test/recreate-deployment",
                {"deployment": DEP, "close": True, "abort": True, "compact": True})
    wait_for(lambda: [q for q in dep_requests(w)[1] if q.get("note") == "410 Expired"], 30,
             "the watch from the old resourceVersion")
    controller(w, True)
    err = finished(w, ids, p)
    assert "was deleted and created again during its rollout" in err, err


def test_an_api_server_restored_from_a_backup_is_relisted_at_once(request):
    """Mid-rollout, the API server comes back on an etcd restored from a
    backup: its resourceVersions start again lower, and the agent's watch,
    resumed from the one it had, is one the server never had (it waits 3 s,
    then an ERROR event: 504, ResourceVersionTooLarge). The agent relists at
    once, as client-go does, instead of resuming from it again until it
    gives up watching and polls; the rollout completes, the tasks run
    once."""
    w, ids, p = held_rollout(request, 2)
    wait_for(lambda: dep_requests(w)[1], 30, "the agent's watch")
    w.kube_test("POST", "/_test/watch", {"restore": True, "close": True, "abort": True})
    wait_for(lambda: [q for q in dep_requests(w)[1] if q.get("note") == "504 ResourceVersionTooLarge"],
             30, "the watch from a resourceVersion the server never had")

    def after_504():
        watches = dep_requests(w)[1]
        i = [n for n, q in enumerate(watches) if q.get("note") == "504 ResourceVersionTooLarge"][0]
        return watches[i + 1:]
    wait_for(after_504, 30, "the next watch")
    controller(w, True)
    err = finished(w, ids, p)
    assert "resourceVersion=" not in after_504()[0]["path"], [q["path"] for q in dep_requests(w)[1]]
    assert "following the rollouts by polling" not in err, err
