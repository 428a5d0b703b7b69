"""Conformance tests for tests/world/kube_double.py, using the REAL kubectl.

Run: /usr/bin/python3 -m pytest tests/world/test_kube_double.py

Starts a real redis-server and the Kubernetes double (whose worker pods are real
Celery workers running tests/world/etl.py), then drives it with kubectl v1.32
and with raw HTTPS requests.
"""
import json
import re
import os
import shutil
import signal
import ssl
import subprocess
import time
import urllib.request

import pytest
import redis
from world import KUBECTL, PY, TOKEN, World, statefulset, wait_for

# one module-scoped world: its tests run on one pytest-xdist worker, in file order
pytestmark = pytest.mark.xdist_group("kube_double")

NS = "cms-dials-prod"
DEP_PATH = "/apis/apps/v1/namespaces/%s/deployments" % NS

WORLD_CFG = [
    {"name": "ecal-bulk", "labels": {"app.kubernetes.io/part-of": "ecal-etl"}, "worker": True,
     "queues": ["ecal-bulk"], "replicas": 1, "terminationGracePeriodSeconds": 3,
     "progressDeadlineSeconds": 600},
    {"name": "common-redbeat", "worker": False, "replicas": 1, "terminationGracePeriodSeconds": 2,
     "progressDeadlineSeconds": 600},
    {"name": "ecal-priority", "worker": False, "replicas": 1, "terminationGracePeriodSeconds": 1,
     "progressDeadlineSeconds": 5},
]


def pid_alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # a zombie is as good as dead
    try:
        with open("/proc/%d/stat" % pid) as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def wait_gone(world, name, timeout=30):
    """The pod once deleted (its record from /_test/pods?all=1)."""
    deadline = time.time() + timeout
    while True:
        p = [p for p in world.pods(all=True) if p["name"] == name][0]
        if p["gone"]:
            return p
        assert time.time() < deadline, p
        time.sleep(0.1)


def start_world(deployments, **kw):
    """Redis and the Kubernetes double (no Flower), checked with the real kubectl;
    kw: World()'s (statefulsets, imagestreams)."""
    assert shutil.which(KUBECTL), "kubectl is not installed: it is the conformance check of the " \
        "Kubernetes double (tests/install-deps installs it)"
    w = World(deployments, flower=False, **kw)
    try:
        w.start()
    except BaseException:
        w.stop()
        raise
    return w


def stop_world(w):
    """Stop the double, and check that it left no pod process behind."""
    kube = w.procs["kube"]
    pids = [p["pid"] for p in w.pods(all=True) if p["pid"]] if kube.poll() is None else []
    w.stop()
    deadline = time.time() + 5
    while any(pid_alive(p) for p in pids) and time.time() < deadline:
        time.sleep(0.1)
    for p in pids:       # belt and braces: never leave a worker behind
        if pid_alive(p):
            try:
                os.killpg(p, signal.SIGKILL)
            except OSError:
                pass
    return pids


@pytest.fixture(scope="module")
def world():
    w = start_world(WORLD_CFG)
    yield w
    stop_world(w)


# ---------------------------------------------------------------------------


def test_initial_state_is_ready(world):
    pods = world.pods()
    assert sorted(p["deployment"] for p in pods) == ["common-redbeat", "ecal-bulk", "ecal-priority"]
    bulk = [p for p in pods if p["deployment"] == "ecal-bulk"][0]
    assert bulk["ready"] and pid_alive(bulk["pid"])
    name = bulk["name"]
    # <deployment>-<pod-template-hash>-<5 chars>, in Kubernetes' safe alphabet
    prefix, h, suffix = name.rsplit("-", 2)
    assert prefix == "ecal-bulk" and 9 <= len(h) <= 10 and len(suffix) == 5
    assert set(h + suffix) <= set("bcdfghjklmnpqrstvwxz2456789")
    assert bulk["hostname"] == "ecal-bulk@" + name
    with open(bulk["log"]) as f:
        assert "ecal-bulk@%s ready." % name in f.read()


def test_kubectl_get_deployment_json(world):
    world.kube_test("DELETE", "requests")
    r = world.kubectl("get", "deployment", "ecal-bulk", "-o", "json")
    assert r.returncode == 0, r.stderr
    d = json.loads(r.stdout)
    assert d["kind"] == "Deployment" and d["apiVersion"] == "apps/v1"
    md = d["metadata"]
    assert md["name"] == "ecal-bulk" and md["namespace"] == NS
    assert md["labels"]["app.kubernetes.io/part-of"] == "ecal-etl"
    assert int(md["resourceVersion"]) > 0 and md["generation"] >= 1 and md["uid"]
    assert d["spec"]["replicas"] == 1
    assert d["spec"]["selector"] == {"matchLabels": {"app": "ecal-bulk"}}
    assert d["spec"]["strategy"] == {"type": "RollingUpdate",
                                     "rollingUpdate": {"maxSurge": "25%", "maxUnavailable": "25%"}}
    assert d["spec"]["template"]["spec"]["terminationGracePeriodSeconds"] == 3
    st = d["status"]
    assert st["observedGeneration"] == md["generation"]
    assert st["replicas"] == st["updatedReplicas"] == st["readyReplicas"] == st["availableReplicas"] == 1
    conds = {c["type"]: c for c in st["conditions"]}
    assert conds["Available"]["status"] == "True"
    assert conds["Available"]["reason"] == "MinimumReplicasAvailable"
    assert conds["Progressing"]["reason"] == "NewReplicaSetAvailable"
    reqs = world.kube_requests()
    gets = [q for q in reqs if q["method"] == "GET" and q["path"].startswith(DEP_PATH + "/ecal-bulk")]
    assert gets and all(q["auth"] == "bearer" and q["status"] == 200 for q in gets)


def test_pod_list_is_realistic(world):
    code, pl, _ = world.kube_api("GET", "/api/v1/namespaces/%s/pods?labelSelector=app%%3Decal-bulk" % NS)
    assert code == 200 and pl["kind"] == "PodList"
    assert len(pl["items"]) == 1
    pod = pl["items"][0]
    assert pod["metadata"]["labels"]["app"] == "ecal-bulk"
    h = pod["metadata"]["labels"]["pod-template-hash"]
    assert pod["metadata"]["name"].startswith("ecal-bulk-%s-" % h)
    assert pod["metadata"]["ownerReferences"][0]["kind"] == "ReplicaSet"
    assert pod["status"]["phase"] == "Running"
    assert {c["type"]: c["status"] for c in pod["status"]["conditions"]}["Ready"] == "True"
    assert pod["status"]["containerStatuses"][0]["ready"] is True
    # other namespaces: empty list, not an error
    code, pl, _ = world.kube_api("GET", "/api/v1/namespaces/elsewhere/pods")
    assert code == 200 and pl["items"] == []


def test_rollout_restart_sends_strategic_merge_patch(world):
    before = world.deployment("ecal-bulk")
    world.kube_test("DELETE", "requests")
    r = world.restart("ecal-bulk")
    assert r.returncode == 0, r.stderr
    assert "deployment.apps/ecal-bulk restarted" in r.stdout
    patches = [q for q in world.kube_requests() if q["method"] == "PATCH"]
    assert len(patches) == 1
    p = patches[0]
    assert p["path"] == DEP_PATH + "/ecal-bulk?fieldManager=kubectl-rollout"
    assert p["content_type"] == "application/strategic-merge-patch+json"
    assert p["status"] == 200
    ann = json.loads(p["body"])["spec"]["template"]["metadata"]["annotations"]
    assert list(ann) == ["kubectl.kubernetes.io/restartedAt"]
    assert time.strptime(ann["kubectl.kubernetes.io/restartedAt"], "%Y-%m-%dT%H:%M:%SZ")
    after = world.deployment("ecal-bulk")
    assert after["metadata"]["generation"] == before["metadata"]["generation"] + 1
    assert int(after["metadata"]["resourceVersion"]) > int(before["metadata"]["resourceVersion"])
    assert after["spec"]["template"]["metadata"]["annotations"] == ann
    world.wait_rolled_out("ecal-bulk")


def test_rollout_status_waits_for_new_pod_and_old_gone(world):
    old = world.pods("ecal-bulk")
    assert len(old) == 1 and old[0]["ready"]
    old = old[0]
    world.kube_test("DELETE", "requests")
    # the controller held until kubectl watches: the PATCH is stored, not
    # observed yet, and kubectl sees every step of the rollout (on a loaded
    # machine the controller could observe it, or finish the rollout, before
    # this test or kubectl looks)
    world.kube_test("POST", "deployment-controller", {"deployment": "ecal-bulk", "running": False})
    p = None
    try:
        r = world.restart("ecal-bulk")
        assert r.returncode == 0, r.stderr
        d = world.deployment("ecal-bulk")
        assert d["status"]["observedGeneration"] < d["metadata"]["generation"]
        p = subprocess.Popen([KUBECTL, "--kubeconfig", world.kubeconfig, "-n", NS, "rollout",
                              "status", "deployment/ecal-bulk", "--timeout=60s"],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        wait_for(lambda: [q for q in world.kube_requests() if "watch=true" in q["path"]], 30,
                 "kubectl rollout status watching")
        world.kube_test("POST", "deployment-controller", {"deployment": "ecal-bulk", "running": True})
        out, err = p.communicate(timeout=90)
    finally:
        world.kube_test("POST", "deployment-controller", {"deployment": "ecal-bulk", "running": True})
        if p is not None and p.poll() is None:
            p.kill()
            p.wait()
    done_at = time.time()
    assert p.returncode == 0, out + err
    assert 'deployment "ecal-bulk" successfully rolled out' in out
    assert "old replicas are pending termination" in out
    new = [p for p in world.pods("ecal-bulk") if not p["terminating"]]
    assert len(new) == 1 and new[0]["name"] != old["name"] and new[0]["ready"]
    assert new[0]["pod_template_hash"] != old["pod_template_hash"]
    assert new[0]["ready_at"] <= done_at
    # a pod being deleted is no replica (the ReplicaSet controller's FilterActivePods):
    # the rollout is done once the old pod's deletion has started, not when it is gone
    gone = wait_gone(world, old["name"])
    assert gone["sigtermed"] and not gone["sigkilled"] and gone["exit_code"] == 0
    assert gone["deletion_requested"] <= done_at
    assert gone["deletion_requested"] >= new[0]["ready_at"]     # surge: new pod ready first
    assert not pid_alive(old["pid"])
    d = world.deployment("ecal-bulk")
    assert d["status"]["observedGeneration"] == d["metadata"]["generation"]
    reqs = world.kube_requests()
    watches = [q for q in reqs if "watch=true" in q["path"]]
    assert watches and "fieldSelector=metadata.name%3Decal-bulk" in watches[0]["path"]



def rollout_status_through(w, control, note):
    """kubectl rollout status of ecal-bulk, its rollout held (no controller)
    until `control` was POSTed to /_test/watch once kubectl's watch lasted,
    and a watch was answered with `note`: the requests of the Deployments
    after that one."""
    w.kube_test("DELETE", "requests")
    w.kube_test("POST", "deployment-controller", {"deployment": "ecal-bulk", "running": False})
    r = w.restart("ecal-bulk")
    assert r.returncode == 0, r.stderr
    p = subprocess.Popen([KUBECTL, "--kubeconfig", w.kubeconfig, "-n", NS, "rollout", "status",
                          "deployment/ecal-bulk", "--timeout=90s"],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        def watching():
            return [q for q in w.kube_requests() if "watch=true" in q["path"]
                    and "metadata.name%3Decal-bulk" in q["path"]]
        first = wait_for(watching, 30, "kubectl rollout status watching")[0]
        # client-go relists after a watch shorter than a second without events ("very
        # short watch"); one that lasted is resumed from its resourceVersion
        wait_for(lambda: time.time() - first["t"] > 1.5, 10, "the watch to last")
        w.kube_test("POST", "watch", control)
        def watching_again():
            reqs = [q for q in w.kube_requests() if q["path"].startswith(DEP_PATH)]
            i = [n for n, q in enumerate(reqs) if q.get("note") == note]
            after = reqs[i[0] + 1:] if i else []
            lists = [n for n, q in enumerate(after) if "watch=true" not in q["path"]]
            return lists and any("watch=true" in q["path"] for q in after[lists[0] + 1:])
        # the rollout goes on only once kubectl, answered `note`, listed and
        # watches again: resumed earlier, the rollout could be complete in
        # that list, and kubectl would end without watching again
        wait_for(watching_again, 30, "kubectl answered %s, listing and watching again" % note)
        w.kube_test("POST", "deployment-controller", {"deployment": "ecal-bulk", "running": True})
        out, err = p.communicate(timeout=120)
    finally:
        w.kube_test("POST", "deployment-controller", {"deployment": "ecal-bulk", "running": True})
        if p.poll() is None:
            p.kill()
            p.wait()
    assert p.returncode == 0, out + err
    assert 'deployment "ecal-bulk" successfully rolled out' in out
    reqs = [q for q in w.kube_requests() if q["path"].startswith(DEP_PATH)]
    i = [n for n, q in enumerate(reqs) if q.get("note") == note]
    assert i, "\n".join("%s %s" % (q["path"], q.get("note")) for q in reqs)
    return reqs[i[0] + 1:]


def test_rollout_status_through_a_closed_watch_and_410_gone(world):
    """kubectl rollout status follows the rollout with an informer (list, then watch). The
    double ends the open watch mid-rollout and compacts its history: kubectl's next watch,
    from the resourceVersion it had, gets HTTP 200 and one ERROR event whose Status has code
    410 (reason Expired), which kubectl takes as such: it lists again, watches from the
    list's resourceVersion, and still sees the rollout through."""
    after = rollout_status_through(world, {"compact": True, "close": True}, "410 Expired")
    relist = [i for i, q in enumerate(after) if "watch=true" not in q["path"]]
    assert relist, [q["path"] for q in after]
    assert any("watch=true" in q["path"] for q in after[relist[0] + 1:]), [q["path"] for q in after]
    # the double's stream itself: the ERROR event, a Status, and the end of the stream
    ctx = ssl.create_default_context(cafile=os.path.join(world.certs, "ca.crt"))
    req = urllib.request.Request("https://127.0.0.1:%d%s?watch=1&resourceVersion=1&timeoutSeconds=5"
                                 % (world.kube_port, DEP_PATH), headers={"Authorization": "Bearer " + TOKEN})
    t0 = time.time()
    with urllib.request.urlopen(req, context=ctx, timeout=10) as resp:
        assert resp.status == 200 and resp.headers["Transfer-Encoding"] == "chunked"
        lines = [json.loads(ln) for ln in resp.read().decode().splitlines() if ln.strip()]
    assert time.time() - t0 < 4
    assert lines == [{"type": "ERROR", "object": {
        "kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
        "message": lines[0]["object"]["message"], "reason": "Expired", "code": 410}}]
    assert lines[0]["object"]["message"].startswith("too old resource version: 1 (")


def test_rollout_status_through_an_etcd_restored_from_a_backup():
    """The API server comes back on an etcd restored from a backup: its
    resourceVersions start again lower. kubectl rollout status' next watch,
    from the resourceVersion it had, waits 3 s and gets HTTP 200 and one
    ERROR event, a Status of code 504 with the cause ResourceVersionTooLarge;
    client-go lists again (a list from that resourceVersion: 504 too), then
    watches from the list's, and sees the rollout through. Also: a Deployment
    deleted and created again (/_test/recreate-deployment) is another object
    of that name for kubectl: a new uid, generation 1."""
    w = start_world(WORLD_CFG)
    try:
        after = rollout_status_through(w, {"restore": True, "close": True}, "504 ResourceVersionTooLarge")
        lists = [n for n, q in enumerate(after) if "watch=true" not in q["path"]]
        assert lists, [q["path"] for q in after]
        assert any("watch=true" in q["path"] for q in after[lists[-1] + 1:]), [q["path"] for q in after]
        # the stream itself
        code, st, _ = w.kube_api("GET", DEP_PATH + "?watch=1&resourceVersion=999999&timeoutSeconds=5")
        assert code == 200 and st["type"] == "ERROR", st
        assert st["object"]["code"] == 504 and st["object"]["reason"] == "Timeout"
        assert st["object"]["details"]["causes"][0]["reason"] == "ResourceVersionTooLarge"
        # deleted and created again: another object for kubectl
        get = ["get", "deployment", "ecal-bulk", "-o", "jsonpath={.metadata.uid} {.metadata.generation}"]
        uid0 = w.kubectl(*get).stdout.split()[0]
        w.kube_test("POST", "recreate-deployment", {"deployment": "ecal-bulk"})
        uid, gen = w.kubectl(*get).stdout.split()
        assert uid != uid0 and gen == "1"
        r = w.kubectl("rollout", "status", "deployment/ecal-bulk", "--timeout=60s")
        assert r.returncode == 0 and "successfully rolled out" in r.stdout, r.stdout + r.stderr
    finally:
        stop_world(w)


def test_wrong_token_is_unauthorized(world):
    bad = world.write_kubeconfig(token="nope", path=os.path.join(world.tmp, "bad-kubeconfig"))
    r = world.kubectl("get", "deployment", "ecal-bulk", "-o", "json", kubeconfig=bad)
    assert r.returncode != 0
    assert "Unauthorized" in r.stderr
    code, st, _ = world.kube_api("GET", DEP_PATH + "/ecal-bulk", token="nope")
    assert code == 401
    assert st == {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
                  "message": "Unauthorized", "reason": "Unauthorized", "code": 401}
    code, st, _ = world.kube_api("GET", DEP_PATH + "/ecal-bulk", token=None)
    assert code == 401


def test_not_found(world):
    r = world.kubectl("get", "deployment", "nosuch", "-o", "json")
    assert r.returncode != 0
    assert 'Error from server (NotFound): deployments.apps "nosuch" not found' in r.stderr
    code, st, _ = world.kube_api("GET", DEP_PATH + "/nosuch")
    assert code == 404 and st["reason"] == "NotFound"
    assert st["details"] == {"name": "nosuch", "group": "apps", "kind": "deployments"}
    code, st, _ = world.kube_api("GET", "/apis/apps/v1/namespaces/other/deployments/ecal-bulk")
    assert code == 404
    code, st, _ = world.kube_api("GET", "/apis/apps/v1/namespaces/other/deployments")
    assert code == 200 and st["items"] == []


def test_client_certificate_auth(world):
    kc = world.write_kubeconfig(path=os.path.join(world.tmp, "cert-kubeconfig"),
                                cert=os.path.join(world.certs, "client.crt"),
                                key=os.path.join(world.certs, "client.key"))
    world.kube_test("DELETE", "requests")
    r = world.kubectl("get", "deployment", "ecal-bulk", "-o", "json", kubeconfig=kc)
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["metadata"]["name"] == "ecal-bulk"
    assert {q["auth"] for q in world.kube_requests()} == {"cert"}


def test_token_rotation(world):
    world.kube_test("POST", "token", {"token": "rotated"})
    try:
        r = world.kubectl("get", "deployment", "ecal-bulk", "-o", "json")
        assert r.returncode != 0 and "Unauthorized" in r.stderr
        code, _, _ = world.kube_api("GET", DEP_PATH + "/ecal-bulk", token="rotated")
        assert code == 200
    finally:
        world.kube_test("POST", "token", {"token": TOKEN})
    assert world.kubectl("get", "deployment", "ecal-bulk", "-o", "json").returncode == 0


def test_strict_patch_handling(world):
    path = DEP_PATH + "/ecal-bulk?fieldManager=test"
    gen = world.deployment("ecal-bulk")["metadata"]["generation"]
    code, st, _ = world.kube_api("PATCH", path, "{}", "application/json")
    assert code == 415 and st["reason"] == "UnsupportedMediaType"
    code, st, _ = world.kube_api("PATCH", path, "{not json", "application/strategic-merge-patch+json")
    assert code == 400 and st["reason"] == "BadRequest" and st["kind"] == "Status"
    code, st, _ = world.kube_api("PATCH", path, "[1, 2]", "application/strategic-merge-patch+json")
    assert code == 400 and st["reason"] == "BadRequest"
    code, st, _ = world.kube_api("DELETE", DEP_PATH + "/ecal-bulk")
    assert code == 405 and st["reason"] == "MethodNotAllowed"
    code, st, _ = world.kube_api("GET", "/apis/batch/v1/namespaces/%s/jobs" % NS)
    assert code == 404 and st["kind"] == "Status"
    # a metadata-only patch does not bump the generation
    code, obj, _ = world.kube_api("PATCH", path, '{"metadata":{"annotations":{"x":"y"}}}',
                             "application/merge-patch+json")
    assert code == 200 and obj["metadata"]["annotations"]["x"] == "y"
    assert obj["metadata"]["generation"] == gen


def test_fault_applied_then_answer_lost(world):
    """"applied": the write lands, its answer does not: kubectl sees a 504
    (or a dropped connection) for a restart that happened all the same."""
    world.kube_test("POST", "faults", {"method": "PATCH", "path_prefix": DEP_PATH + "/ecal-bulk",
                                       "applied": True, "status": 504, "count": 1})
    r = world.restart("ecal-bulk")
    assert r.returncode != 0 and "Timeout" in r.stderr, r.stderr
    ann = world.deployment("ecal-bulk")["spec"]["template"]["metadata"]["annotations"]
    assert "kubectl.kubernetes.io/restartedAt" in ann, ann
    last = [q for q in world.kube_requests() if q["method"] == "PATCH"][-1]
    assert last["status"] == 504 and last["note"] == "applied, then status 504", last
    # dropped: no answer at all, the object changed
    world.kube_test("POST", "faults", {"method": "PATCH", "path_prefix": DEP_PATH + "/ecal-bulk",
                                       "applied": True, "drop": True, "count": 1})
    r = world.kubectl("annotate", "deployment/ecal-bulk", "dropped=yes")
    assert r.returncode != 0, r.stdout
    assert world.deployment("ecal-bulk")["metadata"]["annotations"].get("dropped") == "yes"
    # held past the request's timeout: 504 at the timeout, applied
    world.kube_test("POST", "faults", {"method": "PATCH", "path_prefix": DEP_PATH + "/ecal-bulk",
                                       "applied": True, "delay": 3, "count": 1})
    t = time.monotonic()
    r = world.kubectl("--request-timeout=1s", "annotate", "deployment/ecal-bulk", "held=yes")
    assert r.returncode != 0
    assert time.monotonic() - t < 2.9
    assert world.deployment("ecal-bulk")["metadata"]["annotations"].get("held") == "yes"
    # "transit": the request reaches the server 2 s late; its 2 s timeout
    # starts then, so the write lands (held 1.5 s) after kubectl gave up
    world.kube_test("POST", "faults", {"method": "PATCH", "path_prefix": DEP_PATH + "/ecal-bulk",
                                       "transit": 2, "delay": 1.5, "count": 1})
    r = world.kubectl("--request-timeout=2s", "annotate", "deployment/ecal-bulk", "transit=yes")
    assert r.returncode != 0, r.stdout
    assert "transit" not in world.deployment("ecal-bulk")["metadata"]["annotations"]
    wait_for(lambda: world.deployment("ecal-bulk")["metadata"]["annotations"].get("transit") ==
             "yes", 5, "the write that arrived late applied")
    world.kube_test("DELETE", "faults")


def test_patch_with_a_stale_resource_version_is_a_conflict(world):
    """A PATCH whose body names metadata.resourceVersion is applied only to
    that version of the object (the API server's precondition, which the
    run's restart PATCH carries): kubectl patch with a version the object
    has moved past (a scale since) gets 409 Conflict and changes nothing;
    with the current one it is applied."""
    rv = world.deployment("ecal-bulk")["metadata"]["resourceVersion"]
    r = world.kubectl("scale", "deployment/ecal-bulk", "--replicas=2")
    assert r.returncode == 0, r.stderr
    try:
        body = {"metadata": {"resourceVersion": rv, "annotations": {"stale": "no"}}}
        r = world.kubectl("patch", "deployment/ecal-bulk", "--type", "strategic", "-p",
                          json.dumps(body))
        assert r.returncode != 0, r.stdout
        assert 'Error from server (Conflict): Operation cannot be fulfilled on deployments.apps ' \
            '"ecal-bulk": the object has been modified; please apply your changes to the latest ' \
            'version and try again' in r.stderr, r.stderr
        assert "stale" not in world.deployment("ecal-bulk")["metadata"]["annotations"]
        # every status write moves the version too: the scale settled first
        d = wait_for(lambda: (lambda x: x["status"].get("availableReplicas") == 2 and x)(
            world.deployment("ecal-bulk")), 30, "two available replicas")
        body["metadata"]["resourceVersion"] = d["metadata"]["resourceVersion"]
        r = world.kubectl("patch", "deployment/ecal-bulk", "--type", "strategic", "-p",
                          json.dumps(body))
        assert r.returncode == 0, r.stderr
        assert world.deployment("ecal-bulk")["metadata"]["annotations"]["stale"] == "no"
    finally:
        world.kubectl("annotate", "deployment/ecal-bulk", "stale-")
        world.kubectl("scale", "deployment/ecal-bulk", "--replicas=1")
        wait_for(lambda: world.deployment("ecal-bulk")["status"].get("replicas") == 1, 30,
                 "one replica again")


def test_faults_and_forbidden_are_not_applied(world):
    gen = world.deployment("ecal-bulk")["metadata"]["generation"]
    world.kube_test("POST", "faults", {"method": "PATCH", "path_prefix": DEP_PATH + "/ecal-bulk",
                                 "status": 409, "count": 1})
    r = world.restart("ecal-bulk")
    assert r.returncode != 0
    assert 'Operation cannot be fulfilled on deployments.apps "ecal-bulk": the object has been modified' \
        in r.stderr
    world.kube_test("POST", "faults", {"method": "PATCH", "path_prefix": DEP_PATH + "/ecal-bulk",
                                 "status": 500, "count": 1})
    r = world.restart("ecal-bulk")
    assert r.returncode != 0 and "Internal error occurred" in r.stderr
    world.kube_test("POST", "faults", {"method": "GET", "path_prefix": DEP_PATH + "/ecal-bulk",
                                 "status": 429, "count": 1, "retry_after": 1})
    code, st, hdr = world.kube_api("GET", DEP_PATH + "/ecal-bulk")
    assert code == 429 and st["reason"] == "TooManyRequests" and hdr.get("Retry-After") == "1"
    world.kube_test("DELETE", "faults")
    # a delay alone holds the request, then serves it
    world.kube_test("POST", "faults", {"method": "GET", "path_prefix": DEP_PATH + "/ecal-bulk",
                                 "delay": 1, "count": 1})
    t = time.monotonic()
    code, obj, _ = world.kube_api("GET", DEP_PATH + "/ecal-bulk")
    assert code == 200 and obj["metadata"]["name"] == "ecal-bulk"
    assert time.monotonic() - t >= 1
    # past the timeout the client asked for: 504, and the write never lands
    world.kube_test("POST", "faults", {"method": "PATCH", "path_prefix": DEP_PATH + "/ecal-bulk",
                                 "delay": 2, "count": 1})
    code, st, _ = world.kube_api("PATCH", DEP_PATH + "/ecal-bulk?timeout=1s",
                                 '{"metadata":{"annotations":{"late":"yes"}}}',
                                 "application/merge-patch+json")
    assert code == 504 and st["reason"] == "Timeout", st
    time.sleep(1.5)
    assert "late" not in world.deployment("ecal-bulk")["metadata"].get("annotations", {})
    code, st, _ = world.kube_api("GET", DEP_PATH + "/ecal-bulk?timeout=soon")
    assert code == 400 and st["message"] == ('invalid timeout specified in the request URL - '
                                           'time: invalid duration "soon"'), st
    # kubectl --request-timeout sends it as a Go duration
    r = world.kubectl("--request-timeout=1m30s", "get", "deployment", "ecal-bulk")
    assert r.returncode == 0, r.stderr
    assert any("timeout=1m30s" in q["path"] for q in world.kube_requests()), "kubectl sent no timeout"
    world.kube_test("POST", "forbid", {"verb": "patch", "resource": "deployments"})
    try:
        r = world.restart("ecal-bulk")
        assert r.returncode != 0
        assert ('deployments.apps "ecal-bulk" is forbidden: User "system:serviceaccount:cms-dials-prod:drainer" '
                'cannot patch resource "deployments" in API group "apps" in the namespace "cms-dials-prod"') \
            in r.stderr
    finally:
        world.kube_test("DELETE", "forbid")
    assert world.deployment("ecal-bulk")["metadata"]["generation"] == gen


def test_progress_deadline_exceeded(world):
    world.kube_test("POST", "break", {"deployment": "ecal-priority"})
    try:
        r = world.restart("ecal-priority")
        assert r.returncode == 0, r.stderr
        t0 = time.time()
        r = world.kubectl("rollout", "status", "deployment/ecal-priority", "--timeout=60s")
        assert r.returncode != 0
        assert 'deployment "ecal-priority" exceeded its progress deadline' in r.stderr
        assert time.time() - t0 >= 4
        d = world.deployment("ecal-priority")
        prog = [c for c in d["status"]["conditions"] if c["type"] == "Progressing"][0]
        assert prog["status"] == "False" and prog["reason"] == "ProgressDeadlineExceeded"
        assert prog["message"].endswith("has timed out progressing.")
        # the old pod keeps serving (maxUnavailable 0), the new one is not ready
        pods = world.pods("ecal-priority")
        assert len(pods) == 2 and sorted(p["ready"] for p in pods) == [False, True]
    finally:
        world.kube_test("DELETE", "break")


def test_sigkill_after_grace_period(world):
    led = redis.Redis(port=world.redis_port, db=15)
    old = world.pods("ecal-bulk")[0]
    env = dict(os.environ, BROKER_URL=world.broker_url)
    out = subprocess.run([PY, "-c", "import etl; print(etl.ingest.apply_async(args=[10, 'x'], "
                                    "queue='ecal-bulk').id)"],
                         cwd=os.path.dirname(os.path.abspath(__file__)), env=env, capture_output=True, text=True, timeout=30)
    assert out.returncode == 0, out.stderr
    task_id = out.stdout.strip()
    deadline = time.time() + 15
    while not led.hexists("ledger:started", task_id):
        assert time.time() < deadline, "the worker never started the task"
        time.sleep(0.1)
    r = world.restart("ecal-bulk")
    assert r.returncode == 0, r.stderr
    world.wait_rolled_out("ecal-bulk", timeout=60)
    gone = wait_gone(world, old["name"])
    assert gone["sigtermed"] and gone["sigkilled"]
    assert gone["exit_code"] == -signal.SIGKILL
    # SIGKILL came after the grace period (3 s), not before, and well before the task would end
    assert 2.9 <= gone["exited_at"] - gone["deletion_requested"] < 6
    assert not pid_alive(old["pid"])
    assert led.hexists("ledger:started", task_id)
    assert not led.hexists("ledger:done", task_id)


def test_crashed_pod_is_replaced(world):
    old = world.pods("common-redbeat")[0]
    world.kube_test("POST", "kill-pod", {"pod": old["name"], "signal": "KILL"})
    deadline = time.time() + 10
    while True:
        pods = world.pods("common-redbeat")
        if len(pods) == 1 and pods[0]["name"] != old["name"] and pods[0]["ready"]:
            break
        assert time.time() < deadline, pods
        time.sleep(0.1)
    assert pods[0]["pod_template_hash"] == old["pod_template_hash"]
    assert not pid_alive(old["pid"])


def test_shutdown_leaves_no_processes():
    w = start_world([
        {"name": "muon-bulk", "worker": True, "queues": ["muon-bulk"], "replicas": 1,
         "terminationGracePeriodSeconds": 3},
        {"name": "flower", "worker": False, "replicas": 2}])
    try:
        pids = [p["pid"] for p in w.pods()]
        assert len(pids) == 3 and all(pid_alive(p) for p in pids)
    finally:
        w._stop("kube", timeout=15)
        rc = w.procs["kube"].returncode
        w.stop()
    assert rc == 0
    deadline = time.time() + 3
    while any(pid_alive(p) for p in pids) and time.time() < deadline:
        time.sleep(0.1)
    assert not [p for p in pids if pid_alive(p)]


def kubectl_pods(world, dep):
    """`kubectl get pods -l app=DEP`: {name: (READY, STATUS, RESTARTS)} from its table."""
    r = world.kubectl("get", "pods", "-l", "app=" + dep)
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    assert lines[0].split() == ["NAME", "READY", "STATUS", "RESTARTS", "AGE"], r.stdout
    out = {}
    for line in lines[1:]:
        cells = line.split()
        out[cells[0]] = (cells[1], cells[2], " ".join(cells[3:-1]))
    return out


def pod_json(world, name):
    r = world.kubectl("get", "pod", name, "-o", "json")
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout)


def test_rollout_pause_and_resume(world):
    """kubectl rollout pause sets spec.paused; the controller then observes new generations
    but rolls nothing out, and says so in the Progressing condition; kubectl rollout restart
    refuses a paused Deployment; resume rolls out what was patched meanwhile."""
    old = world.pods("ecal-bulk")
    world.kube_test("DELETE", "requests")
    r = world.kubectl("rollout", "pause", "deployment/ecal-bulk")
    assert r.returncode == 0 and "deployment.apps/ecal-bulk paused" in r.stdout, r.stderr
    p = [q for q in world.kube_requests() if q["method"] == "PATCH"][0]
    assert json.loads(p["body"]) == {"spec": {"paused": True}}
    assert p["path"].endswith("?fieldManager=kubectl-rollout")
    time.sleep(0.6)
    d = world.deployment("ecal-bulk")
    assert d["spec"]["paused"] is True
    assert d["status"]["observedGeneration"] == d["metadata"]["generation"]
    prog = [c for c in d["status"]["conditions"] if c["type"] == "Progressing"][0]
    assert (prog["status"], prog["reason"], prog["message"]) == (
        "Unknown", "DeploymentPaused", "Deployment is paused")
    r = world.restart("ecal-bulk")
    assert r.returncode != 0
    assert "can't restart paused deployment (run rollout resume first)" in r.stderr
    # the API takes the restart PATCH (what kubectl refuses client-side) ...
    code, d, _ = world.kube_api("PATCH", DEP_PATH + "/ecal-bulk?fieldManager=test",
                           json.dumps({"spec": {"template": {"metadata": {"annotations": {
                               "kubectl.kubernetes.io/restartedAt": "2026-11-26T10:00:00Z"}}}}}),
                           "application/strategic-merge-patch+json")
    assert code == 200
    time.sleep(1.0)
    # ... and rolls nothing out
    d = world.deployment("ecal-bulk")
    assert d["status"]["observedGeneration"] == d["metadata"]["generation"]
    assert d["status"].get("updatedReplicas", 0) == 0
    assert [p["name"] for p in world.pods("ecal-bulk")] == [p["name"] for p in old]
    r = world.kubectl("rollout", "status", "deployment/ecal-bulk", "--timeout=2s")
    assert r.returncode != 0 and "0 out of 1 new replicas have been updated" in r.stdout, r.stdout
    world.kube_test("DELETE", "requests")
    r = world.kubectl("rollout", "resume", "deployment/ecal-bulk")
    assert r.returncode == 0 and "deployment.apps/ecal-bulk resumed" in r.stdout, r.stderr
    p = [q for q in world.kube_requests() if q["method"] == "PATCH"][0]
    assert json.loads(p["body"]) == {"spec": {"paused": None}}
    assert "paused" not in world.deployment("ecal-bulk")["spec"]
    world.wait_rolled_out("ecal-bulk", timeout=60)
    new = [p for p in world.pods("ecal-bulk") if not p["terminating"]]
    assert len(new) == 1 and new[0]["name"] != old[0]["name"]


def test_pod_with_a_sidecar_that_exits():
    """A pod of two containers, the worker's first: containerStatuses sorted by name, as
    the kubelet sorts them; the sidecar that exits shows terminated, then CrashLoopBackOff
    with its restartCount one more and the pod not ready, then runs again; kubectl get
    pods prints READY, STATUS and RESTARTS from them."""
    w = start_world([{"name": "shipped", "worker": False, "replicas": 1,
                      "terminationGracePeriodSeconds": 1, "sidecar": "log-shipper"}])
    try:
        name = wait_for(lambda: [p["name"] for p in w.pods("shipped") if p["ready"]], 15,
                        "the pod ready")[0]
        o = pod_json(w, name)
        assert [c["name"] for c in o["spec"]["containers"]] == ["shipped", "log-shipper"]
        assert [c["name"] for c in o["status"]["containerStatuses"]] == ["log-shipper", "shipped"]
        assert all("running" in c["state"] and c["ready"] for c in o["status"]["containerStatuses"])
        assert kubectl_pods(w, "shipped")[name] == ("2/2", "Running", "0")
        t0 = time.time()
        w.kube_test("POST", "sidecar-exit", {"pod": name})
        code, o, _ = w.kube_api("GET", "/api/v1/namespaces/%s/pods/%s" % (NS, name))
        assert code == 200, o
        side, main = o["status"]["containerStatuses"]
        if time.time() < t0 + 1.0:          # read within the second it stays terminated
            assert side["state"]["terminated"]["exitCode"] == 1 and side["restartCount"] == 0
        assert not side["ready"]
        assert "running" in main["state"] and main["ready"]
        seen = wait_for(lambda: (lambda t: t if t[1] == "CrashLoopBackOff" else None)(
            kubectl_pods(w, "shipped")[name]), 5, "the sidecar in CrashLoopBackOff")
        assert seen[0] == "1/2" and seen[2].startswith("1 (") and seen[2].endswith(" ago)"), seen
        o = pod_json(w, name)
        side = o["status"]["containerStatuses"][0]
        assert side["state"]["waiting"]["reason"] == "CrashLoopBackOff"
        assert side["lastState"]["terminated"]["reason"] == "Error" and side["restartCount"] == 1
        ready = {c["type"]: c for c in o["status"]["conditions"]}["Ready"]
        assert ready["status"] == "False"
        assert ready["message"] == "containers with unready status: [log-shipper]"
        seen = wait_for(lambda: (lambda t: t if t[1] == "Running" else None)(
            kubectl_pods(w, "shipped")[name]), 20, "the sidecar running again")
        assert seen[0] == "2/2" and seen[2].startswith("1 ("), seen
        assert [p["name"] for p in w.pods("shipped")] == [name]     # restarted in place
    finally:
        stop_world(w)


def test_container_restarted_in_place():
    """/_test/restart-container, as the kubelet after a failed liveness probe: the
    container gets SIGTERM, exits, and starts again in the same pod (same name and
    uid, a new process); restartCount one more, lastState terminated; kubectl get
    pods prints RESTARTS "1 (... ago)" and the pod Running, ready again once its
    worker is."""
    w = start_world([{"name": "restarted", "worker": True, "queues": ["restarted"],
                      "replicas": 1, "terminationGracePeriodSeconds": 3}])
    try:
        (pod,) = wait_for(lambda: [p for p in w.pods("restarted") if p["ready"]], 30,
                          "the pod ready")
        assert kubectl_pods(w, "restarted")[pod["name"]] == ("1/1", "Running", "0")
        w.kube_test("POST", "restart-container", {"pod": pod["name"]})
        (again,) = wait_for(lambda: [p for p in w.pods("restarted") if p["ready"]
                                     and p["restart_count"] == 1], 60, "the pod ready again")
        assert (again["name"], again["uid"]) == (pod["name"], pod["uid"])
        assert again["pid"] != pod["pid"] and not pid_alive(pod["pid"])
        seen = kubectl_pods(w, "restarted")[pod["name"]]
        assert seen[:2] == ("1/1", "Running") and seen[2].startswith("1 ("), seen
        cs = pod_json(w, pod["name"])["status"]["containerStatuses"][0]
        assert cs["restartCount"] == 1 and "running" in cs["state"], cs
        assert cs["lastState"]["terminated"]["reason"] in ("Completed", "Error"), cs
    finally:
        stop_world(w)


def test_pods_whose_container_does_not_run():
    """Pending, ContainerCreating, ImagePullBackOff and CrashLoopBackOff as the API shows
    them and as kubectl get pods prints them."""
    states = ["Pending", "ContainerCreating", "ImagePullBackOff"]
    w = start_world([{"name": "s%d" % i, "worker": False, "replicas": 1,
                      "terminationGracePeriodSeconds": 1} for i in range(4)])
    try:
        for i, st in enumerate(states):
            dep = "s%d" % i
            w.kube_test("POST", "pod-state", {"deployment": dep, "state": st})
            w.kube_test("POST", "kill-pod", {"pod": w.pods(dep)[0]["name"], "signal": "KILL"})
        crash = w.pods("s3")[0]["name"]
        w.kube_test("POST", "pod-state", {"pod": crash, "state": "CrashLoopBackOff"})
        # the ReplicaSets replace the killed pods with pods in those states
        deadline = time.time() + 15
        while not all(len(w.pods("s%d" % i)) == 1 and w.pods("s%d" % i)[0]["fault"] == st
                      for i, st in enumerate(states)):
            assert time.time() < deadline, w.pods()
            time.sleep(0.1)
        time.sleep(2.5)     # ErrImagePull has become ImagePullBackOff; the crash loop waits
        names = {i: w.pods("s%d" % i)[0]["name"] for i in range(4)}
        assert names[3] == crash        # restarted in place, not replaced
        seen = {i: kubectl_pods(w, "s%d" % i)[names[i]] for i in range(4)}
        assert seen[0] == ("0/1", "Pending", "0")
        assert seen[1] == ("0/1", "ContainerCreating", "0")
        assert seen[2] == ("0/1", "ImagePullBackOff", "0")
        assert seen[3][:2] == ("0/1", "CrashLoopBackOff")
        # 1 restart, or more if the test was slower than the 10 s back-off
        assert re.match(r"^[1-9][0-9]* \(.+ ago\)$", seen[3][2]), seen[3]
        pend = pod_json(w, names[0])
        assert pend["status"]["phase"] == "Pending" and "containerStatuses" not in pend["status"]
        assert "nodeName" not in pend["spec"] and "podIP" not in pend["status"]
        assert [(c["type"], c["status"], c["reason"]) for c in pend["status"]["conditions"]] == [
            ("PodScheduled", "False", "Unschedulable")]
        for i, reason in ((1, "ContainerCreating"), (2, "ImagePullBackOff")):
            o = pod_json(w, names[i])
            cs = o["status"]["containerStatuses"][0]
            assert o["status"]["phase"] == "Pending"
            assert cs["state"] == {"waiting": cs["state"]["waiting"]} and \
                cs["state"]["waiting"]["reason"] == reason
            assert not cs["ready"] and not cs["started"] and "containerID" not in cs and cs["imageID"] == ""
        assert pod_json(w, names[2])["status"]["containerStatuses"][0]["state"]["waiting"]["message"] == \
            'Back-off pulling image "registry.cern.ch/cmsdials/s2:1.4.2"'
        o = pod_json(w, names[3])
        cs = o["status"]["containerStatuses"][0]
        assert o["status"]["phase"] == "Running" and cs["restartCount"] >= 1
        assert cs["state"]["waiting"]["reason"] == "CrashLoopBackOff"
        assert re.match(r"back-off (10|20|40)s restarting failed container=s3 pod=",
                        cs["state"]["waiting"]["message"]), cs["state"]["waiting"]
        assert cs["lastState"]["terminated"]["reason"] == "Error"
        assert cs["lastState"]["terminated"]["exitCode"] == 1
        assert not cs["ready"] and not cs["started"]
        ready = {c["type"]: c["status"] for c in o["status"]["conditions"]}
        assert ready["Ready"] == "False" and ready["PodReadyToStartContainers"] == "True"
        # the crash-looping pod's process is gone; the deployments are unavailable
        assert not pid_alive(w.pods("s3")[0]["pid"])
        d = w.deployment("s3")
        assert d["status"].get("availableReplicas", 0) == 0 and d["status"]["replicas"] == 1
        # a restart replaces the crash-looping pod; with the fault cleared, the new one runs
        w.kube_test("DELETE", "pod-state", {})
        r = w.restart("s3")
        assert r.returncode == 0, r.stderr
        w.wait_rolled_out("s3", timeout=30)
        wait_gone(w, crash)
        assert [p["ready"] for p in w.pods("s3")] == [True]
    finally:
        stop_world(w)


# ---- ReplicaSets as objects, and the controllers' facts (issue 10) ----------------------

RS_PATH = "/apis/apps/v1/namespaces/%s/replicasets" % NS
POD_PATH = "/api/v1/namespaces/%s/pods" % NS
REV = "deployment.kubernetes.io/revision"
RS_DEPS = ["r-get", "r-orphan", "r-newest", "r-saturated", "r-adopt", "r-rev", "r-history",
           "r-recreate", "r-quota", "r-background", "r-release", "r-new-paused", "r-three", "r-handover",
           "r-proportional", "r-giveback", "r-giveback-recreate", "r-scale"]


@pytest.fixture(scope="module")
def rsworld():
    cfg = [{"name": n, "worker": False, "replicas": 1, "terminationGracePeriodSeconds": 2}
           for n in RS_DEPS]
    cfg[RS_DEPS.index("r-recreate")]["replicas"] = 2
    cfg[RS_DEPS.index("r-three")].update(replicas=3, maxSurge=1, maxUnavailable=0)
    cfg[RS_DEPS.index("r-giveback")].update(replicas=2, maxSurge=1, maxUnavailable=1)
    cfg[RS_DEPS.index("r-giveback-recreate")].update(replicas=2, strategy="Recreate")
    w = start_world(cfg)
    yield w
    stop_world(w)


def rss(w, dep):
    """The ReplicaSets of DEP (label selector app=DEP), oldest revision first."""
    code, rl, _ = w.kube_api("GET", RS_PATH + "?labelSelector=app%%3D%s" % dep)
    assert code == 200 and rl["kind"] == "ReplicaSetList", rl
    return sorted(rl["items"], key=lambda rs: int(rs["metadata"].get("annotations", {}).get(REV, "0")))


def api_pods(w, dep):
    code, pl, _ = w.kube_api("GET", POD_PATH + "?labelSelector=app%%3D%s" % dep)
    assert code == 200
    return pl["items"]


def live(w, dep):
    return [p for p in w.pods(dep) if not p["terminating"]]


def patch_dep(w, dep, body, ct="application/strategic-merge-patch+json"):
    code, obj, _ = w.kube_api("PATCH", DEP_PATH + "/" + dep, json.dumps(body), ct)
    assert code == 200, obj
    return obj


def pause(w, dep):
    r = w.kubectl("rollout", "pause", "deployment/" + dep)
    assert r.returncode == 0, r.stderr


def orphan_all(w, dep):
    """kubectl delete rs --cascade=orphan of every ReplicaSet of DEP; -> their names."""
    names = [rs["metadata"]["name"] for rs in rss(w, dep)]
    r = w.kubectl("delete", "rs", *names, "--cascade=orphan")
    assert r.returncode == 0, r.stderr
    wait_for(lambda: not rss(w, dep), 10, "the ReplicaSets of %s gone" % dep)
    return names


def post_rs(w, obj):
    return w.kube_api("POST", RS_PATH, json.dumps(obj), "application/json")


def rs_manifest(src, **over):
    """A ReplicaSet to POST, from one the API returned."""
    md = {k: src["metadata"][k] for k in ("name", "labels", "annotations", "ownerReferences")
          if k in src["metadata"]}
    o = {"apiVersion": "apps/v1", "kind": "ReplicaSet", "metadata": md,
         "spec": {"replicas": src["spec"]["replicas"], "selector": src["spec"]["selector"],
                  "template": src["spec"]["template"]}}
    for k, v in over.items():
        if k == "replicas":
            o["spec"]["replicas"] = v
        else:
            md[k] = v
    return o


def test_kubectl_get_rs_and_owner_references(rsworld):
    w = rsworld
    d = w.deployment("r-get")
    (rs,) = rss(w, "r-get")
    md, spec = rs["metadata"], rs["spec"]
    h = md["labels"]["pod-template-hash"]
    assert md["name"] == "r-get-" + h
    assert md["labels"] == {"app": "r-get", "pod-template-hash": h}
    assert spec["selector"] == {"matchLabels": {"app": "r-get", "pod-template-hash": h}}
    assert spec["template"]["metadata"]["labels"] == md["labels"]
    assert md["annotations"][REV] == d["metadata"]["annotations"][REV] == "1"
    assert md["annotations"]["deployment.kubernetes.io/desired-replicas"] == "1"
    assert md["annotations"]["deployment.kubernetes.io/max-replicas"] == "2"     # 1 + maxSurge 25%
    assert md["ownerReferences"] == [{"apiVersion": "apps/v1", "kind": "Deployment", "name": "r-get",
                                      "uid": d["metadata"]["uid"], "controller": True,
                                      "blockOwnerDeletion": True}]
    assert rs["status"]["replicas"] == rs["status"]["readyReplicas"] == rs["status"]["availableReplicas"] == 1
    (pod,) = api_pods(w, "r-get")
    assert pod["metadata"]["ownerReferences"] == [{"apiVersion": "apps/v1", "kind": "ReplicaSet",
                                                   "name": md["name"], "uid": md["uid"], "controller": True,
                                                   "blockOwnerDeletion": True}]
    r = w.kubectl("get", "rs", "-l", "app=r-get")
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    assert lines[0].split() == ["NAME", "DESIRED", "CURRENT", "READY", "AGE"]
    assert lines[1].split()[:4] == [md["name"], "1", "1", "1"]
    r = w.kubectl("get", "rs", md["name"], "-o", "json")
    assert r.returncode == 0 and json.loads(r.stdout)["metadata"]["uid"] == md["uid"], r.stderr
    r = w.kubectl("get", "rs", "-o", "wide", "-l", "app=r-get")
    assert "app=r-get,pod-template-hash=" + h in r.stdout, r.stdout


def test_delete_rs_orphan_keeps_pods_running(rsworld):
    """delete rs --cascade=orphan: pods stay running without ownerReferences; a paused
    Deployment with no ReplicaSet left creates none; on resume it creates one for its
    template (revision: one above the others, none left: 1), which adopts the orphan
    unless its labels no longer match (then nobody stops it)."""
    w = rsworld
    (old,) = live(w, "r-orphan")
    pause(w, "r-orphan")
    w.kube_test("DELETE", "requests")
    (name,) = orphan_all(w, "r-orphan")
    dels = [q for q in w.kube_requests() if q["method"] == "DELETE"]
    assert dels and dels[0]["path"] == RS_PATH + "/" + name
    assert json.loads(dels[0]["body"])["propagationPolicy"] == "Orphan"
    time.sleep(1.0)
    (pod,) = api_pods(w, "r-orphan")
    assert pod["metadata"]["name"] == old["name"] and "ownerReferences" not in pod["metadata"]
    assert pid_alive(old["pid"]) and not rss(w, "r-orphan")
    assert [p["name"] for p in live(w, "r-orphan")] == [old["name"]]     # paused: nothing created
    # make the orphan unadoptable, then resume
    r = w.kubectl("label", "pod", old["name"], "pod-template-hash=handover-1", "--overwrite")
    assert r.returncode == 0, r.stderr
    r = w.kubectl("rollout", "resume", "deployment/r-orphan")
    assert r.returncode == 0, r.stderr
    w.kubectl("rollout", "status", "deployment/r-orphan", "--timeout=30s")
    (rs,) = rss(w, "r-orphan")
    assert rs["metadata"]["name"] == name and rs["metadata"]["annotations"][REV] == "1"
    pods = {p["metadata"]["name"]: p for p in api_pods(w, "r-orphan")}
    assert len(pods) == 2 and "ownerReferences" not in pods[old["name"]]["metadata"]
    time.sleep(1.0)
    assert pid_alive(old["pid"]) and not [p for p in w.pods("r-orphan") if p["terminating"]]
    r = w.kubectl("delete", "pod", old["name"], "--grace-period=1")
    assert r.returncode == 0, r.stderr
    gone = wait_gone(w, old["name"])
    assert gone["sigtermed"] and not gone["sigkilled"]


def test_paused_with_no_active_rs_scales_the_newest(rsworld):
    """Delete only the active ReplicaSet of a paused Deployment: the newest history
    ReplicaSet (an older template) comes back to full size."""
    w = rsworld
    assert w.restart("r-newest").returncode == 0
    w.wait_rolled_out("r-newest")
    first, second = rss(w, "r-newest")
    assert first["spec"]["replicas"] == 0 and second["spec"]["replicas"] == 1
    assert [first["metadata"]["annotations"][REV], second["metadata"]["annotations"][REV]] == ["1", "2"]
    pause(w, "r-newest")
    r = w.kubectl("delete", "rs", second["metadata"]["name"], "--cascade=orphan")
    assert r.returncode == 0, r.stderr
    wait_for(lambda: rss(w, "r-newest")[0]["spec"]["replicas"] == 1, 10, "the history ReplicaSet scaled up")
    (back,) = rss(w, "r-newest")
    assert back["metadata"]["name"] == first["metadata"]["name"]
    wait_for(lambda: len(live(w, "r-newest")) == 2, 10, "a pod of the old template")
    hashes = sorted(p["pod_template_hash"] for p in live(w, "r-newest"))
    assert hashes == sorted([first["metadata"]["labels"]["pod-template-hash"],
                             second["metadata"]["labels"]["pod-template-hash"]])
    assert w.deployment("r-newest")["spec"]["paused"] is True


def test_paused_scales_old_to_zero_once_new_is_saturated(rsworld):
    """Paused, with the template changed and a ReplicaSet of that template present:
    once it is saturated the old one is scaled to 0 (pausing keeps no old pod alive)."""
    w = rsworld
    (old,) = live(w, "r-saturated")
    pause(w, "r-saturated")
    d = patch_dep(w, "r-saturated", {"spec": {"template": {"metadata": {"annotations": {"v": "2"}}}}})
    time.sleep(1.0)
    (cur,) = rss(w, "r-saturated")             # paused: no new ReplicaSet
    tmpl = json.loads(json.dumps(d["spec"]["template"]))
    tmpl["metadata"]["labels"]["pod-template-hash"] = "hand2"
    code, new, _ = post_rs(w, {"apiVersion": "apps/v1", "kind": "ReplicaSet", "metadata": {
        "name": "r-saturated-hand2", "labels": tmpl["metadata"]["labels"],
        "annotations": {"deployment.kubernetes.io/desired-replicas": "1"}},
        "spec": {"replicas": 1, "selector": {"matchLabels": tmpl["metadata"]["labels"]}, "template": tmpl}})
    assert code == 201, new
    wait_for(lambda: [rs["spec"]["replicas"] for rs in rss(w, "r-saturated")] == [0, 2 - 1], 15,
             "the old ReplicaSet at 0")
    by_name = {rs["metadata"]["name"]: rs for rs in rss(w, "r-saturated")}
    assert by_name[cur["metadata"]["name"]]["spec"]["replicas"] == 0
    n = by_name["r-saturated-hand2"]
    assert n["metadata"]["ownerReferences"][0]["uid"] == d["metadata"]["uid"]      # adopted
    assert n["metadata"]["annotations"][REV] == "2"            # one above the others
    wait_gone(w, old["name"])
    assert [p["pod_template_hash"] for p in live(w, "r-saturated")] == ["hand2"]


def test_paused_scaling_is_proportional(rsworld):
    """Paused with two active ReplicaSets, neither saturated: a change of replicas is
    spread over them in proportion (sync.go scale(): replicas+maxSurge, rounding half up,
    the newer first, the leftover to the first)."""
    w = rsworld
    pause(w, "r-proportional")
    d = patch_dep(w, "r-proportional", {"spec": {"template": {"metadata": {"annotations": {"v": "2"}}}}})
    tmpl = json.loads(json.dumps(d["spec"]["template"]))
    tmpl["metadata"]["labels"]["pod-template-hash"] = "prop2"
    code, o, _ = post_rs(w, {"apiVersion": "apps/v1", "kind": "ReplicaSet", "metadata": {
        "name": "r-proportional-prop2", "labels": tmpl["metadata"]["labels"]},
        "spec": {"replicas": 1, "selector": {"matchLabels": tmpl["metadata"]["labels"]}, "template": tmpl}})
    assert code == 201, o
    wait_for(lambda: len([p for p in live(w, "r-proportional") if p["ready"]]) == 2, 10, "2 pods")
    time.sleep(0.5)
    assert [rs["spec"]["replicas"] for rs in rss(w, "r-proportional")] == [1, 1]     # not saturated
    patch_dep(w, "r-proportional", {"spec": {"replicas": 4}})
    # allowed 4 + maxSurge 1 = 5: the new one 1 * 5 / 2 (its max-replicas unknown: status.replicas)
    # rounds to 3, +2; the old one 1 * 5 / 2 (max-replicas 2) would add 2, 1 is left
    wait_for(lambda: [rs["spec"]["replicas"] for rs in rss(w, "r-proportional")] == [2, 3], 10,
             "proportional scaling")
    for rs in rss(w, "r-proportional"):
        assert rs["metadata"]["annotations"]["deployment.kubernetes.io/desired-replicas"] == "4"
        assert rs["metadata"]["annotations"]["deployment.kubernetes.io/max-replicas"] == "5"
    wait_for(lambda: len(live(w, "r-proportional")) == 5, 10, "5 pods")


def test_rs_adopts_unowned_pods_and_scales_them(rsworld):
    """A ReplicaSet adopts running unowned pods its selector matches and scales them to
    its replicas (the excess pod is deleted)."""
    w = rsworld
    patch_dep(w, "r-adopt", {"spec": {"replicas": 2}})
    wait_for(lambda: len([p for p in live(w, "r-adopt") if p["ready"]]) == 2, 15, "2 pods")
    pause(w, "r-adopt")
    (src,) = rss(w, "r-adopt")
    orphan_all(w, "r-adopt")
    pods = live(w, "r-adopt")
    assert len(pods) == 2 and all(pid_alive(p["pid"]) for p in pods)
    # a ReplicaSet no Deployment selects (its own labels differ), selecting the orphans
    m = rs_manifest(src, name="standalone", labels={"team": "x"}, replicas=1)
    del m["metadata"]["ownerReferences"]
    del m["metadata"]["annotations"]
    code, rs, _ = post_rs(w, m)
    assert code == 201 and rs["metadata"]["name"] == "standalone", rs
    wait_for(lambda: len(live(w, "r-adopt")) == 1, 10, "the excess pod deleted")
    (kept,) = live(w, "r-adopt")
    assert kept["name"] in [p["name"] for p in pods] and pid_alive(kept["pid"])
    (kp,) = [p for p in api_pods(w, "r-adopt") if p["metadata"]["name"] == kept["name"]]
    assert kp["metadata"]["ownerReferences"][0]["name"] == "standalone"
    assert kp["metadata"]["ownerReferences"][0]["uid"] == rs["metadata"]["uid"]
    code, got, _ = w.kube_api("GET", RS_PATH + "/standalone")
    assert code == 200 and "ownerReferences" not in got["metadata"]       # not adopted by r-adopt
    assert got["status"]["replicas"] == 1
    r = w.kubectl("delete", "rs", "standalone")          # background: its pod goes too
    assert r.returncode == 0, r.stderr
    wait_gone(w, kept["name"])


def test_revision_raised_when_a_higher_one_appears(rsworld):
    """The new ReplicaSet's revision is one above the others', raised again when a higher
    one appears; the Deployment's revision follows."""
    w = rsworld
    (cur,) = rss(w, "r-rev")
    assert cur["metadata"]["annotations"][REV] == "1"
    hist = json.loads(json.dumps(cur))
    tmpl = hist["spec"]["template"]
    tmpl["metadata"]["labels"]["pod-template-hash"] = "hist7"
    tmpl["metadata"].setdefault("annotations", {})["old"] = "yes"
    code, o, _ = post_rs(w, rs_manifest(hist, name="r-rev-hist7", labels=tmpl["metadata"]["labels"],
                                         annotations={REV: "7"}, replicas=0) | {
        "spec": {"replicas": 0, "selector": {"matchLabels": tmpl["metadata"]["labels"]}, "template": tmpl}})
    assert code == 201, o
    wait_for(lambda: w.deployment("r-rev")["metadata"]["annotations"][REV] == "8", 10, "revision 8")
    byname = {rs["metadata"]["name"]: rs for rs in rss(w, "r-rev")}
    assert byname[cur["metadata"]["name"]]["metadata"]["annotations"][REV] == "8"
    assert byname[cur["metadata"]["name"]]["metadata"]["annotations"][
        "deployment.kubernetes.io/revision-history"] == "1"
    r = w.kubectl("rollout", "history", "deployment/r-rev")
    assert r.returncode == 0, r.stderr
    assert [ln.split()[0] for ln in r.stdout.splitlines()[2:] if ln.strip()] == ["7", "8"], r.stdout


def test_rollout_history_and_undo(rsworld):
    w = rsworld
    for _ in range(2):
        assert w.restart("r-history").returncode == 0
        w.wait_rolled_out("r-history")
    r = w.kubectl("rollout", "history", "deployment/r-history")
    assert r.returncode == 0, r.stderr
    assert r.stdout.splitlines()[0].strip() == "deployment.apps/r-history"
    assert r.stdout.splitlines()[1].split() == ["REVISION", "CHANGE-CAUSE"]
    assert [ln.split() for ln in r.stdout.splitlines()[2:] if ln.strip()] == [
        ["1", "<none>"], ["2", "<none>"], ["3", "<none>"]]
    first = rss(w, "r-history")[0]
    w.kube_test("DELETE", "requests")
    r = w.kubectl("rollout", "undo", "deployment/r-history", "--to-revision=1")
    assert r.returncode == 0 and "deployment.apps/r-history rolled back" in r.stdout, r.stderr
    (p,) = [q for q in w.kube_requests() if q["method"] == "PATCH"]
    assert p["content_type"] == "application/json-patch+json" and p["status"] == 200
    w.wait_rolled_out("r-history")
    revs = {rs["metadata"]["name"]: rs["metadata"]["annotations"][REV] for rs in rss(w, "r-history")}
    assert revs[first["metadata"]["name"]] == "4" and sorted(revs.values()) == ["2", "3", "4"]
    assert [p["pod_template_hash"] for p in live(w, "r-history")] == [
        first["metadata"]["labels"]["pod-template-hash"]]
    pause(w, "r-history")
    r = w.kubectl("rollout", "undo", "deployment/r-history")
    assert r.returncode != 0 and "you cannot rollback a paused deployment" in r.stderr, r.stderr


def test_rolling_update_of_three_replicas(rsworld):
    """maxSurge 1, maxUnavailable 0: never more than 4 pods, never fewer than 3 ready;
    the old ReplicaSet steps down as new pods become available."""
    w = rsworld
    old = {p["name"] for p in live(w, "r-three")}
    assert len(old) == 3
    assert w.restart("r-three").returncode == 0
    seen, sizes = set(), set()
    deadline = time.time() + 30
    while True:
        pods = live(w, "r-three")
        assert len(pods) <= 4, pods
        assert sum(1 for p in pods if p["ready"]) >= 3, pods
        sizes.add(tuple(rs["spec"]["replicas"] for rs in rss(w, "r-three")))
        seen |= {p["name"] for p in pods}
        if not old & {p["name"] for p in pods} and len(pods) == 3:
            break
        assert time.time() < deadline, (pods, sizes)
        time.sleep(0.05)
    w.wait_rolled_out("r-three")
    new_rs = rss(w, "r-three")[1]
    assert new_rs["metadata"]["annotations"]["deployment.kubernetes.io/max-replicas"] == "4"
    assert [rs["spec"]["replicas"] for rs in rss(w, "r-three")] == [0, 3]
    assert len(seen - old) == 3 and all(sum(sz) <= 4 for sz in sizes), sizes


def test_recreate_waits_for_old_pods_gone(rsworld):
    w = rsworld
    code, st, _ = w.kube_api("PATCH", DEP_PATH + "/r-recreate", json.dumps(
        {"spec": {"strategy": {"type": "Recreate"}}}), "application/strategic-merge-patch+json")
    assert code == 422 and st["message"] == (
        'Deployment.apps "r-recreate" is invalid: spec.strategy.rollingUpdate: Forbidden: may not be '
        "specified when strategy `type` is 'Recreate'"), st
    patch_dep(w, "r-recreate", {"spec": {"strategy": {"type": "Recreate", "rollingUpdate": None}}})
    time.sleep(0.5)
    old = live(w, "r-recreate")
    assert len(old) == 2
    assert w.restart("r-recreate").returncode == 0
    w.wait_rolled_out("r-recreate")
    new = live(w, "r-recreate")
    assert len(new) == 2 and not {p["name"] for p in new} & {p["name"] for p in old}
    gone = [wait_gone(w, p["name"]) for p in old]
    assert min(p["created"] for p in new) >= max(g["deleted_at"] for g in gone)
    assert [rs["spec"]["replicas"] for rs in rss(w, "r-recreate")] == [0, 2]
    assert rss(w, "r-recreate")[1]["metadata"]["annotations"]["deployment.kubernetes.io/max-replicas"] == "2"


def stuck_with_old_pods_detached(w, dep):
    """Paused, the ReplicaSet deleted (Orphan), its pods relabelled, then restarted and
    resumed while new pods crash: the new ReplicaSet at the Deployment's replicas, none
    available, the old pods unowned. -> (old ReplicaSet, old pods, its hash)."""
    old = live(w, dep)
    (rs,) = rss(w, dep)
    h = rs["metadata"]["labels"]["pod-template-hash"]
    pause(w, dep)
    orphan_all(w, dep)
    for p in old:
        r = w.kubectl("label", "pod", p["name"], "pod-template-hash=handover-" + h, "--overwrite")
        assert r.returncode == 0, r.stderr
    w.kube_test("POST", "pod-state", {"deployment": dep, "state": "CrashLoopBackOff"})
    patch_dep(w, dep, {"spec": {"paused": False, "template": {"metadata": {"annotations": {
        "kubectl.kubernetes.io/restartedAt": "2026-11-26T00:00:00Z"}}}}})
    wait_for(lambda: [x["spec"]["replicas"] for x in rss(w, dep)] == [2], 10, "the new ReplicaSet at 2")
    return rs, old, h


def give_back(w, rs, pods, h, replicas):
    """As a failed --handover does: the pods relabelled back, the ReplicaSet created again."""
    for p in pods:
        r = w.kubectl("label", "pod", p["name"], "pod-template-hash=" + h, "--overwrite")
        assert r.returncode == 0, r.stderr
    code, obj, _ = post_rs(w, rs_manifest(rs, replicas=replicas))
    assert code == 201, obj


def test_stuck_rollout_scales_old_given_back_down(rsworld):
    """A rollout whose new pods are never available, its old ReplicaSet given back:
    RollingUpdate (2 replicas, maxUnavailable 1) scales it from 2 to 1 at once
    (reconcileOldReplicaSets), stopping one old pod; given back with 1, the other
    kept out, nothing is stopped. Recreate scales it to 0: every old pod stops."""
    w = rsworld
    try:
        rs, old, h = stuck_with_old_pods_detached(w, "r-giveback")
        name = rs["metadata"]["name"]
        give_back(w, rs, old[:1], h, 1)
        time.sleep(2.0)
        assert [p["name"] for p in live(w, "r-giveback") if p["name"] in {o["name"] for o in old}] == \
            [p["name"] for p in old]
        assert [x for x in rss(w, "r-giveback") if x["metadata"]["name"] == name][0]["spec"]["replicas"] == 1
        assert not [p for p in w.pods("r-giveback", all=True) if p["name"] in {o["name"] for o in old}
                    and (p["sigtermed"] or p["terminating"])]
        # given back with all its replicas: one old pod stops
        r = w.kubectl("delete", "rs", name, "--cascade=orphan")
        assert r.returncode == 0, r.stderr
        wait_for(lambda: name not in [x["metadata"]["name"] for x in rss(w, "r-giveback")], 10, "gone")
        give_back(w, rs, old, h, 2)
        wait_for(lambda: [x for x in rss(w, "r-giveback") if x["metadata"]["name"] == name
                          and x["spec"]["replicas"] == 1], 10, "the old ReplicaSet scaled to 1")
        # an idle worker may stop between two looks: stopping or gone, one of them
        wait_for(lambda: len([p for p in w.pods("r-giveback", all=True) if p["name"] in {o["name"] for o in old}
                              and (p["terminating"] or p["gone"])]) == 1, 10, "one old pod stopping")
        assert len([p for p in live(w, "r-giveback") if p["name"] in {o["name"] for o in old}]) == 1
        rs, old, h = stuck_with_old_pods_detached(w, "r-giveback-recreate")
        give_back(w, rs, old, h, 2)
        wait_for(lambda: [x for x in rss(w, "r-giveback-recreate")
                          if x["metadata"]["name"] == rs["metadata"]["name"]
                          and x["spec"]["replicas"] == 0], 10, "the old ReplicaSet scaled to 0")
        wait_for(lambda: all(p["terminating"] or p["gone"] for p in w.pods("r-giveback-recreate", all=True)
                             if p["name"] in {o["name"] for o in old}), 10, "every old pod stopping")
    finally:
        # no crash-looping pod left to the module's other tests (their pod counts)
        w.kube_test("DELETE", "pod-state", {})
        for dep in ("r-giveback", "r-giveback-recreate"):
            for p in w.pods(dep):
                if p["fault"] and not p["terminating"]:
                    w.kube_api("DELETE", POD_PATH + "/" + p["name"])
        for dep in ("r-giveback", "r-giveback-recreate"):
            w.wait_rolled_out(dep)
        wait_for(lambda: not [p for p in w.pods("r-giveback") + w.pods("r-giveback-recreate")
                              if p["fault"] or p["terminating"]], 30, "the crashing pods replaced")


def test_quota_refuses_new_pods(rsworld):
    w = rsworld
    n = len(w.pods())
    w.kube_test("POST", "quota", {"pods": n, "name": "compute-resources"})
    try:
        (old,) = live(w, "r-quota")
        assert w.restart("r-quota").returncode == 0
        wait_for(lambda: len(rss(w, "r-quota")) == 2 and rss(w, "r-quota")[1]["status"].get("conditions"),
                 10, "the new ReplicaSet's failure")
        new = rss(w, "r-quota")[1]
        (c,) = new["status"]["conditions"]
        assert (c["type"], c["status"], c["reason"]) == ("ReplicaFailure", "True", "FailedCreate")
        pre = 'pods "%s-' % new["metadata"]["name"]
        assert c["message"].startswith(pre), c
        assert c["message"].endswith('" is forbidden: exceeded quota: compute-resources, requested: pods=1, '
                                     'used: pods=%d, limited: pods=%d' % (n, n)), c
        assert new["spec"]["replicas"] == 1 and new["status"]["replicas"] == 0
        assert [p["name"] for p in live(w, "r-quota")] == [old["name"]]
        # syncRolloutStatus copies it into the Deployment's conditions
        dc = wait_for(lambda: [d for d in w.deployment("r-quota")["status"].get("conditions") or []
                               if d["type"] == "ReplicaFailure"], 10, "the Deployment's ReplicaFailure")
        assert (dc[0]["status"], dc[0]["reason"], dc[0]["message"]) == ("True", "FailedCreate",
                                                                     c["message"])
    finally:
        w.kube_test("DELETE", "quota")
    w.wait_rolled_out("r-quota")
    assert "conditions" not in rss(w, "r-quota")[1]["status"]
    assert "ReplicaFailure" not in [d["type"] for d in w.deployment("r-quota")["status"]["conditions"]]


def test_delete_rs_background_and_pod_delete_grace(rsworld):
    w = rsworld
    (old,) = live(w, "r-background")
    (rs,) = rss(w, "r-background")
    w.kube_test("DELETE", "requests")
    r = w.kubectl("delete", "rs", rs["metadata"]["name"])
    assert r.returncode == 0, r.stderr
    d = [q for q in w.kube_requests() if q["method"] == "DELETE"][0]
    assert json.loads(d["body"])["propagationPolicy"] == "Background"
    gone = wait_gone(w, old["name"])
    assert gone["sigtermed"]
    # the Deployment creates its ReplicaSet again (same name, new object) and a pod
    wait_for(lambda: [p for p in live(w, "r-background") if p["ready"]], 10, "a new pod")
    (again,) = rss(w, "r-background")
    assert again["metadata"]["name"] == rs["metadata"]["name"] and again["metadata"]["uid"] != rs["metadata"]["uid"]
    # DELETE of a pod: the grace period given, SIGTERM now (the sleep ends on it)
    (p,) = live(w, "r-background")
    code, obj, _ = w.kube_api("DELETE", POD_PATH + "/" + p["name"],
                              json.dumps({"kind": "DeleteOptions", "apiVersion": "v1", "gracePeriodSeconds": 7}),
                              "application/json")
    assert code == 200 and obj["metadata"]["deletionGracePeriodSeconds"] == 7, obj
    assert wait_gone(w, p["name"])["sigtermed"]
    # Foreground: the ReplicaSet stays (deletionTimestamp, finalizer) until its pods are gone
    (p,) = live(w, "r-background")
    code, obj, _ = w.kube_api("DELETE", RS_PATH + "/" + again["metadata"]["name"],
                              json.dumps({"propagationPolicy": "Foreground"}), "application/json")
    assert code == 200 and obj["metadata"]["finalizers"] == ["foregroundDeletion"], obj
    assert obj["metadata"]["deletionTimestamp"]
    gone = wait_gone(w, p["name"])
    code, o, _ = w.kube_api("GET", RS_PATH + "/" + again["metadata"]["name"])
    assert code == 404 or o["metadata"]["uid"] != again["metadata"]["uid"]
    wait_for(lambda: [q for q in live(w, "r-background") if q["ready"]], 10, "a new pod")
    code, st, _ = w.kube_api("DELETE", POD_PATH + "/nosuch")
    assert code == 404 and st["message"] == 'pods "nosuch" not found'
    code, st, _ = w.kube_api("DELETE", RS_PATH + "/" + rs["metadata"]["name"] + "?propagationPolicy=Bogus")
    assert code == 422 and 'Unsupported value: "Bogus"' in st["message"]


def test_pod_relabelled_is_released_and_replaced(rsworld):
    w = rsworld
    (old,) = live(w, "r-release")
    r = w.kubectl("label", "pod", old["name"], "pod-template-hash=gone", "--overwrite")
    assert r.returncode == 0, r.stderr
    wait_for(lambda: len(live(w, "r-release")) == 2, 10, "a replacement")
    by = {p["metadata"]["name"]: p for p in api_pods(w, "r-release")}
    assert "ownerReferences" not in by[old["name"]]["metadata"]
    assert pid_alive(old["pid"])
    code, st, _ = w.kube_api("PATCH", POD_PATH + "/" + old["name"],
                             json.dumps({"spec": {"nodeName": "elsewhere"}}), "application/merge-patch+json")
    assert code == 422 and "pod updates may not change fields" in st["message"]
    code, st, _ = w.kube_api("PATCH", POD_PATH + "/" + old["name"],
                             json.dumps({"metadata": {"labels": {"n": 1}}}), "application/merge-patch+json")
    assert code == 400 and "ObjectMeta.metadata.labels of type string" in st["message"], st


def test_new_rs_scaled_while_paused_and_post_validation(rsworld):
    """Paused, all ReplicaSets orphaned: a ReplicaSet POSTed with the Deployment's template
    is its new one, and (none being active) is scaled to its replicas; POST validation."""
    w = rsworld
    pause(w, "r-new-paused")
    (src,) = rss(w, "r-new-paused")
    orphan_all(w, "r-new-paused")
    (orphan,) = live(w, "r-new-paused")
    r = w.kubectl("label", "pod", orphan["name"], "pod-template-hash=away", "--overwrite")
    assert r.returncode == 0, r.stderr
    m = rs_manifest(src, replicas=0)
    code, st, _ = post_rs(w, dict(m, spec=dict(m["spec"], selector={"matchLabels": {"app": "other"}})))
    assert code == 422 and st["reason"] == "Invalid", st
    assert st["message"].startswith('ReplicaSet.apps "%s" is invalid: spec.template.metadata.labels: '
                                    'Invalid value: map[string]string{"app":"r-new-paused", '
                                    '"pod-template-hash":' % src["metadata"]["name"]), st["message"]
    assert st["message"].endswith("`selector` does not match template `labels`")
    code, st, _ = post_rs(w, dict(m, metadata={}))
    assert code == 422 and "metadata.name: Required value: name or generateName is required" in st["message"]
    code, st, _ = post_rs(w, dict(m, metadata=dict(m["metadata"], resourceVersion="123")))
    assert code == 500 and st["message"] == \
        "Internal error occurred: resourceVersion should not be set on objects to be created", st
    w.kube_test("POST", "forbid", {"verb": "update", "resource": "deployments/finalizers"})
    try:
        code, st, _ = post_rs(w, m)
        assert code == 403 and "cannot set blockOwnerDeletion if an ownerReference refers to a resource you " \
            "can't set finalizers on" in st["message"], st
    finally:
        w.kube_test("DELETE", "forbid")
    code, rs, _ = post_rs(w, m)
    assert code == 201, rs
    code, st, _ = post_rs(w, m)
    assert code == 409 and st["reason"] == "AlreadyExists"
    wait_for(lambda: [p for p in live(w, "r-new-paused") if p["ready"] and p["name"] != orphan["name"]], 10,
             "the new ReplicaSet's pod")
    (got,) = rss(w, "r-new-paused")
    assert got["spec"]["replicas"] == 1 and got["metadata"]["uid"] == rs["metadata"]["uid"]
    assert w.deployment("r-new-paused")["spec"]["paused"] is True


def test_scale_subresource_and_a_pod_that_starts_late(rsworld):
    """kubectl scale (a PATCH of deployments/NAME/scale, as an HPA or KEDA
    scales): the Scale object, the new replica in the current ReplicaSet,
    PUT's resourceVersion precondition, a bad count refused; then a pod
    created Pending that gets its container started later."""
    w, dep = rsworld, "r-scale"
    path = DEP_PATH + "/%s/scale" % dep
    code, sc, _ = w.kube_api("GET", path)
    assert code == 200 and sc["kind"] == "Scale" and sc["apiVersion"] == "autoscaling/v1", sc
    assert sc["spec"] == {"replicas": 1} and sc["status"]["selector"] == "app=%s" % dep, sc
    (rs,) = rss(w, dep)
    r = w.kubectl("scale", "deployment/" + dep, "--replicas=2")
    assert r.returncode == 0 and "scaled" in r.stdout, r.stderr
    assert [q for q in w.kube_requests() if q["method"] == "PATCH" and q["path"].startswith(path)]
    wait_for(lambda: len([p for p in live(w, dep) if p["ready"]]) == 2, 15, "two ready pods")
    assert {p["owner"] for p in live(w, dep)} == {rs["metadata"]["name"]}
    r = w.kubectl("get", "deployment/" + dep, "--subresource=scale", "-o", "json")
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["spec"]["replicas"] == 2
    stale = dict(sc, spec={"replicas": 3})
    code, st, _ = w.kube_api("PUT", path, json.dumps(stale), "application/json")
    assert code == 409 and st["reason"] == "Conflict", st
    code, st, _ = w.kube_api("PATCH", path, '{"spec":{"replicas":-1}}', "application/merge-patch+json")
    assert code == 422 and st["reason"] == "Invalid", st
    assert w.deployment(dep)["spec"]["replicas"] == 2
    w.kube_test("POST", "pod-state", {"deployment": dep, "state": "Pending"})
    try:
        r = w.kubectl("scale", "deployment/" + dep, "--replicas=3")
        assert r.returncode == 0, r.stderr
        (late,) = wait_for(lambda: [p for p in live(w, dep) if p["fault"] == "Pending"], 10,
                           "a Pending pod")
    finally:
        w.kube_test("DELETE", "pod-state", {"deployment": dep})
    assert kubectl_pods(w, dep)[late["name"]] == ("0/1", "Pending", "0")
    w.kube_test("POST", "pod-state", {"pod": late["name"], "state": "Running"})
    wait_for(lambda: [p for p in live(w, dep) if p["name"] == late["name"] and p["ready"]], 10,
             "the late pod running")
    assert kubectl_pods(w, dep)[late["name"]] == ("1/1", "Running", "0")


def test_handover_sequence(rsworld):
    """The facts together, as --handover uses them: pause, orphan every ReplicaSet, make
    the orphans unadoptable, one PATCH (restart + resume): the new ReplicaSet is created
    at full size while the old pod runs on, untouched; the history recreated (same names,
    templates, revisions, owner) raises the new one's revision above it, so rollout
    history and undo see what they see after a plain rollout."""
    w = rsworld
    assert w.restart("r-handover").returncode == 0
    w.wait_rolled_out("r-handover")
    saved = rss(w, "r-handover")
    assert [rs["metadata"]["annotations"][REV] for rs in saved] == ["1", "2"]
    (old,) = live(w, "r-handover")
    pause(w, "r-handover")
    orphan_all(w, "r-handover")
    code, o, _ = w.kube_api("PATCH", POD_PATH + "/" + old["name"], json.dumps(
        {"metadata": {"labels": {"pod-template-hash": "handover-old", "drain-and-rollout/run": "r1"}}}),
        "application/merge-patch+json")
    assert code == 200 and o["metadata"]["labels"]["drain-and-rollout/run"] == "r1", o
    patch_dep(w, "r-handover", {"spec": {"paused": False, "template": {"metadata": {"annotations": {
        "kubectl.kubernetes.io/restartedAt": "2026-11-26T12:00:00Z"}}}}})
    w.kubectl("rollout", "status", "deployment/r-handover", "--timeout=30s")
    (new,) = rss(w, "r-handover")
    assert new["metadata"]["generation"] == 1 and new["spec"]["replicas"] == 1      # created at full size
    assert new["metadata"]["annotations"][REV] == "1"
    assert pid_alive(old["pid"]) and old["name"] in [p["name"] for p in live(w, "r-handover")]
    for rs in saved:
        code, o, _ = post_rs(w, rs_manifest(rs, replicas=0))
        assert code == 201, o
    wait_for(lambda: w.deployment("r-handover")["metadata"]["annotations"][REV] == "3", 10, "revision 3")
    r = w.kubectl("rollout", "history", "deployment/r-handover")
    assert [ln.split()[0] for ln in r.stdout.splitlines()[2:] if ln.strip()] == ["1", "2", "3"], r.stdout
    assert [rs["spec"]["replicas"] for rs in rss(w, "r-handover")] == [0, 0, 1]
    time.sleep(0.5)
    assert pid_alive(old["pid"]) and len(live(w, "r-handover")) == 2
    code, _, _ = w.kube_api("DELETE", POD_PATH + "/" + old["name"])
    assert code == 200 and wait_gone(w, old["name"])["sigtermed"]
    r = w.kubectl("rollout", "undo", "deployment/r-handover")
    assert r.returncode == 0, r.stderr
    w.wait_rolled_out("r-handover")
    revs = {rs["metadata"]["name"]: rs["metadata"]["annotations"][REV] for rs in rss(w, "r-handover")}
    assert revs[saved[1]["metadata"]["name"]] == "4"
    assert [p["pod_template_hash"] for p in live(w, "r-handover")] == [
        saved[1]["metadata"]["labels"]["pod-template-hash"]]


def test_delete_pod_sigkill_after_the_grace_given(world):
    """DELETE of a pod whose worker is busy: SIGTERM, then SIGKILL once the grace period
    the DELETE gave (1 s, not the pod's 3 s) is over; its ReplicaSet replaces it."""
    led = redis.Redis(port=world.redis_port, db=15)
    world.wait_rolled_out("ecal-bulk", timeout=60)
    (old,) = [p for p in world.pods("ecal-bulk") if not p["terminating"]]
    env = dict(os.environ, BROKER_URL=world.broker_url)
    out = subprocess.run([PY, "-c", "import etl; print(etl.ingest.apply_async(args=[10, 'x'], "
                                    "queue='ecal-bulk').id)"],
                         cwd=os.path.dirname(os.path.abspath(__file__)), env=env, capture_output=True,
                         text=True, timeout=30)
    assert out.returncode == 0, out.stderr
    wait_for(lambda: led.hexists("ledger:started", out.stdout.strip()), 15, "the task started")
    world.kube_test("DELETE", "requests")
    r = world.kubectl("delete", "pod", old["name"], "--grace-period=1", "--wait=false")
    assert r.returncode == 0, r.stderr
    (d,) = [q for q in world.kube_requests() if q["method"] == "DELETE"]
    assert json.loads(d["body"])["gracePeriodSeconds"] == 1
    gone = wait_gone(world, old["name"])
    assert gone["sigtermed"] and gone["sigkilled"] and gone["exit_code"] == -signal.SIGKILL
    assert 0.9 <= gone["exited_at"] - gone["deletion_requested"] < 2.5
    world.wait_rolled_out("ecal-bulk", timeout=60)


def test_watch_replicasets_through_an_orphan_delete(rsworld):
    """A watch of ReplicaSets from a list's resourceVersion: the DELETE with Orphan shows as
    MODIFIED (deletionTimestamp, finalizer orphan), then DELETED; the pod's as MODIFIED
    without ownerReferences."""
    w = rsworld
    pause(w, "r-get")
    code, rl, _ = w.kube_api("GET", RS_PATH + "?labelSelector=app%3Dr-get")
    (rs,) = rl["items"]
    rv = rl["metadata"]["resourceVersion"]
    r = w.kubectl("delete", "rs", rs["metadata"]["name"], "--cascade=orphan")
    assert r.returncode == 0, r.stderr
    ctx = ssl.create_default_context(cafile=os.path.join(w.certs, "ca.crt"))

    def watch(path):
        req = urllib.request.Request("https://127.0.0.1:%d%s?watch=true&resourceVersion=%s&timeoutSeconds=1"
                                     "&labelSelector=app%%3Dr-get" % (w.kube_port, path, rv),
                                     headers={"Authorization": "Bearer " + TOKEN})
        with urllib.request.urlopen(req, context=ctx, timeout=10) as resp:
            return [json.loads(ln) for ln in resp.read().decode().splitlines() if ln.strip()]
    evs = watch(RS_PATH)
    assert [(e["type"], e["object"]["kind"]) for e in evs] == [("MODIFIED", "ReplicaSet"), ("DELETED", "ReplicaSet")]
    assert evs[0]["object"]["metadata"]["finalizers"] == ["orphan"]
    assert evs[0]["object"]["metadata"]["deletionTimestamp"]
    pev = [e for e in watch(POD_PATH) if e["type"] == "MODIFIED"]
    assert pev and "ownerReferences" not in pev[-1]["object"]["metadata"]


# ---- StatefulSets (kube/statefulsets.py), against the real kubectl --------

STS_PATH = "/apis/apps/v1/namespaces/%s/statefulsets" % NS


@pytest.fixture(scope="module")
def sts_world():
    w = start_world([WORLD_CFG[1]],
                    statefulsets=[statefulset("airflow-worker", 2), statefulset("celery-beat", 1)])
    yield w
    stop_world(w)


def sts(world, name):
    code, obj, _ = world.kube_api("GET", "%s/%s" % (STS_PATH, name))
    assert code == 200, obj
    return obj


def sts_patch(world, name, patch):
    code, obj, _ = world.kube_api("PATCH", "%s/%s" % (STS_PATH, name), json.dumps(patch),
                                  "application/merge-patch+json")
    assert code == 200, obj
    return obj


def sts_restart(world, name):
    """kubectl rollout restart statefulset/NAME, past the last restart's second."""
    ann = sts(world, name)["spec"]["template"]["metadata"].get("annotations") or {}
    last = ann.get("kubectl.kubernetes.io/restartedAt")
    while last == time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()):
        time.sleep(0.05)
    r = world.kubectl("rollout", "restart", "statefulset/" + name)
    assert r.returncode == 0, r.stderr
    assert "statefulset.apps/%s restarted" % name in r.stdout
    return r


def live_pods(world, name):
    return {p["name"]: p for p in world.pods(name) if not p["terminating"]}


def test_sts_get_and_pods(sts_world):
    r = sts_world.kubectl("get", "sts")
    assert r.returncode == 0, r.stderr
    lines = [ln.split() for ln in r.stdout.splitlines()]
    assert lines[0] == ["NAME", "READY", "AGE"]
    assert [ln[:2] for ln in lines[1:]] == [["airflow-worker", "2/2"], ["celery-beat", "1/1"]]
    r = sts_world.kubectl("get", "statefulset", "airflow-worker", "-o", "json")
    assert r.returncode == 0, r.stderr
    o = json.loads(r.stdout)
    assert o["kind"] == "StatefulSet" and o["spec"]["replicas"] == 2
    assert o["spec"]["updateStrategy"] == {"type": "RollingUpdate", "rollingUpdate": {"partition": 0}}
    assert o["spec"]["podManagementPolicy"] == "OrderedReady"
    st = o["status"]
    assert st["observedGeneration"] == o["metadata"]["generation"]
    assert st["replicas"] == st["readyReplicas"] == st["currentReplicas"] == st["updatedReplicas"] \
        == st["availableReplicas"] == 2
    assert st["currentRevision"] == st["updateRevision"]
    assert st["currentRevision"].startswith("airflow-worker-")
    r = sts_world.kubectl("get", "pods", "-l", "app=airflow-worker")
    assert r.returncode == 0, r.stderr
    rows = [ln.split() for ln in r.stdout.splitlines()[1:]]
    assert [(x[0], x[1], x[2]) for x in rows] == [("airflow-worker-0", "1/1", "Running"),
                                                  ("airflow-worker-1", "1/1", "Running")]
    r = sts_world.kubectl("get", "pod", "airflow-worker-1", "-o", "json")
    md = json.loads(r.stdout)["metadata"]
    assert md["labels"] == {"app": "airflow-worker", "apps.kubernetes.io/pod-index": "1",
                            "controller-revision-hash": st["currentRevision"],
                            "statefulset.kubernetes.io/pod-name": "airflow-worker-1"}
    assert md["generateName"] == "airflow-worker-"
    owner = md["ownerReferences"][0]
    assert owner["kind"] == "StatefulSet" and owner["name"] == "airflow-worker"
    assert owner["uid"] == o["metadata"]["uid"] and owner["controller"] is True
    # each pod a real Celery worker named NAME@POD
    p = live_pods(sts_world, "airflow-worker")["airflow-worker-1"]
    assert p["hostname"] == "airflow-worker@airflow-worker-1" and pid_alive(p["pid"])
    with open(p["log"]) as f:
        assert "airflow-worker@airflow-worker-1 ready." in f.read()
    # list (a StatefulSetList) and watch
    code, lst, _ = sts_world.kube_api("GET", STS_PATH + "?labelSelector=app%3Dairflow-worker")
    assert code == 200 and lst["kind"] == "StatefulSetList"
    assert [i["metadata"]["name"] for i in lst["items"]] == ["airflow-worker"]


def test_sts_rollout_restart_ordered_from_highest_ordinal(sts_world):
    w = sts_world
    before = live_pods(w, "airflow-worker")
    rev0 = sts(w, "airflow-worker")["status"]["currentRevision"]
    w.kube_test("DELETE", "requests")
    sts_restart(w, "airflow-worker")
    patches = [q for q in w.kube_requests() if q["method"] == "PATCH"]
    assert len(patches) == 1
    assert patches[0]["path"] == STS_PATH + "/airflow-worker?fieldManager=kubectl-rollout"
    assert patches[0]["content_type"] == "application/strategic-merge-patch+json"
    assert list(json.loads(patches[0]["body"])["spec"]["template"]["metadata"]["annotations"]) == \
        ["kubectl.kubernetes.io/restartedAt"]
    r = w.kubectl("rollout", "status", "statefulset/airflow-worker", "--timeout=60s")
    done_at = time.time()
    assert r.returncode == 0, r.stdout + r.stderr
    assert r.stdout.splitlines()[-1] == "partitioned roll out complete: 2 new pods have been updated..."
    o = sts(w, "airflow-worker")
    st = o["status"]
    assert st["updateRevision"] != rev0 and st["currentRevision"] == st["updateRevision"]
    assert st["updatedReplicas"] == st["currentReplicas"] == st["readyReplicas"] == 2
    after = live_pods(w, "airflow-worker")
    assert sorted(after) == ["airflow-worker-0", "airflow-worker-1"]
    assert all(after[n]["uid"] != before[n]["uid"] and after[n]["ready"] for n in after)
    assert all(after[n]["ready_at"] <= done_at for n in after)
    old = {p["uid"]: p for p in w.pods("airflow-worker", all=True) if p["gone"]}
    old0, old1 = old[before["airflow-worker-0"]["uid"]], old[before["airflow-worker-1"]["uid"]]
    # OrderedReady, highest ordinal first: -1 deleted, its replacement Ready, then -0
    assert old1["deletion_requested"] < old0["deletion_requested"]
    assert after["airflow-worker-1"]["ready_at"] <= old0["deletion_requested"]
    assert old1["sigtermed"] and old1["exit_code"] == 0 and not pid_alive(old1["pid"])
    # kubectl rollout status watched the StatefulSet
    watches = [q for q in w.kube_requests() if q["path"].startswith(STS_PATH) and "watch=true" in q["path"]]
    assert watches and "fieldSelector=metadata.name%3Dairflow-worker" in watches[0]["path"]


def test_sts_partition(sts_world):
    w = sts_world
    sts_patch(w, "airflow-worker", {"spec": {"updateStrategy": {"rollingUpdate": {"partition": 1}}}})
    r = w.kubectl("rollout", "status", "statefulset/airflow-worker", "--timeout=30s")
    assert r.returncode == 0, r.stdout + r.stderr
    before = live_pods(w, "airflow-worker")
    rev0 = sts(w, "airflow-worker")["status"]["currentRevision"]
    sts_restart(w, "airflow-worker")
    r = w.kubectl("rollout", "status", "statefulset/airflow-worker", "--timeout=60s")
    assert r.returncode == 0, r.stdout + r.stderr
    # what it waited for depends on when it looked; only these, in kubectl's words
    assert set(r.stdout.splitlines()[:-1]) <= {
        "Waiting for statefulset spec update to be observed...", "Waiting for 1 pods to be ready...",
        "Waiting for partitioned roll out to finish: 0 out of 1 new pods have been updated..."}, r.stdout
    assert r.stdout.splitlines()[-1] == "partitioned roll out complete: 1 new pods have been updated..."
    time.sleep(1)
    after = live_pods(w, "airflow-worker")
    assert after["airflow-worker-0"]["uid"] == before["airflow-worker-0"]["uid"]     # below the partition
    assert after["airflow-worker-1"]["uid"] != before["airflow-worker-1"]["uid"]
    st = sts(w, "airflow-worker")["status"]
    assert st["currentRevision"] == rev0 != st["updateRevision"]
    assert st["updatedReplicas"] == 1 and st["currentReplicas"] == 1
    # partition 0 again: the rest rolls
    sts_patch(w, "airflow-worker", {"spec": {"updateStrategy": {"rollingUpdate": {"partition": 0}}}})
    r = w.kubectl("rollout", "status", "statefulset/airflow-worker", "--timeout=60s")
    assert r.returncode == 0, r.stdout + r.stderr
    st = sts(w, "airflow-worker")["status"]
    assert st["currentRevision"] == st["updateRevision"] and st["updatedReplicas"] == 2
    assert live_pods(w, "airflow-worker")["airflow-worker-0"]["uid"] != before["airflow-worker-0"]["uid"]


def test_sts_on_delete(sts_world):
    w = sts_world
    o = sts_patch(w, "celery-beat", {"spec": {"updateStrategy": {"type": "OnDelete", "rollingUpdate": None}}})
    assert o["spec"]["updateStrategy"] == {"type": "OnDelete"}
    r = w.kubectl("rollout", "status", "statefulset/celery-beat", "--timeout=10s")
    assert r.returncode == 1
    assert "rollout status is only available for RollingUpdate strategy type" in r.stderr
    before = live_pods(w, "celery-beat")
    sts_restart(w, "celery-beat")
    time.sleep(1.5)
    st = sts(w, "celery-beat")["status"]
    assert st["observedGeneration"] == sts(w, "celery-beat")["metadata"]["generation"]
    assert st["currentRevision"] != st["updateRevision"]
    assert st.get("updatedReplicas", 0) == 0 and st["currentReplicas"] == 1
    assert live_pods(w, "celery-beat")["celery-beat-0"]["uid"] == before["celery-beat-0"]["uid"]
    # a pod that goes away comes back at the update revision
    w.kube_test("POST", "/_test/kill-pod", {"pod": "celery-beat-0", "signal": "KILL"})
    wait_for_ready = time.time() + 30
    while True:
        now = live_pods(w, "celery-beat").get("celery-beat-0")
        if now and now["uid"] != before["celery-beat-0"]["uid"] and now["ready"]:
            break
        assert time.time() < wait_for_ready, now
        time.sleep(0.1)
    time.sleep(0.5)
    st = sts(w, "celery-beat")["status"]
    assert st["updatedReplicas"] == 1 and st.get("currentReplicas", 0) == 0
    # an invalid strategy is refused as the API server does
    code, obj, _ = w.kube_api("PATCH", STS_PATH + "/celery-beat", json.dumps(
        {"spec": {"updateStrategy": {"type": "Sometimes"}}}), "application/merge-patch+json")
    assert code == 422 and obj["reason"] == "Invalid"
    code, obj, _ = w.kube_api("PATCH", STS_PATH + "/celery-beat", json.dumps(
        {"spec": {"serviceName": "other"}}), "application/merge-patch+json")
    assert code == 422 and "Forbidden" in obj["message"]


# ---- images (kube/images.py), checked with the real kubectl ---------------

IMG_REG = "image-registry.openshift-image-registry.svc:5000"
IMG_TRIGGER = json.dumps([{"from": {"kind": "ImageStreamTag", "name": "etl:latest"},
                           "fieldPath": 'spec.template.spec.containers[?(@.name=="etl-auto")].image'}])


@pytest.fixture(scope="module")
def img_world():
    deps = [{"name": "etl-reg", "worker": False, "replicas": 1, "terminationGracePeriodSeconds": 1,
             "image": "%s/%s/etl:latest" % (IMG_REG, NS)},
            {"name": "etl-short", "worker": False, "replicas": 1, "terminationGracePeriodSeconds": 1,
             "image": "etl:latest"},
            {"name": "etl-auto", "worker": False, "replicas": 1, "terminationGracePeriodSeconds": 1,
             "image": "registry.cern.ch/cms-dqmdc/dials-etl:1.4.2",
             "annotations": {"image.openshift.io/triggers": IMG_TRIGGER}}]
    w = start_world(deps, imagestreams=[
        {"name": "etl", "lookupPolicyLocal": True,
         "tags": {"latest": "registry.cern.ch/cms-dqmdc/dials-etl:1.4.2"}}])
    yield w
    stop_world(w)


def pod_image_ids(w, app):
    p = w.kubectl("get", "pods", "-l", "app=" + app, "-o", "json")
    assert p.returncode == 0, p.stderr
    return [(i["spec"]["containers"][0]["image"], i["status"]["containerStatuses"][0]["imageID"])
            for i in json.loads(p.stdout)["items"] if "deletionTimestamp" not in i["metadata"]]


def test_kubectl_get_imagestreamtag_and_what_pods_run(img_world):
    w = img_world
    p = w.kubectl("get", "imagestreamtag", "etl:latest", "-o", "json")
    assert p.returncode == 0, p.stderr
    ist = json.loads(p.stdout)
    assert ist["kind"] == "ImageStreamTag" and ist["metadata"]["name"] == "etl:latest"
    assert ist["lookupPolicy"] == {"local": True}
    digest = ist["image"]["metadata"]["name"]
    assert digest.startswith("sha256:") and len(digest) == 71
    assert ist["image"]["dockerImageReference"] == "registry.cern.ch/cms-dqmdc/dials-etl@" + digest
    p = w.kubectl("get", "imagestream", "etl", "-o", "json")
    assert p.returncode == 0, p.stderr
    st = json.loads(p.stdout)["status"]
    assert st["dockerImageRepository"] == "%s/%s/etl" % (IMG_REG, NS)
    assert st["tags"][0]["items"][0]["image"] == digest
    # each pod runs what its image named at its creation: the registry's
    # pull spec; a short name resolved (lookupPolicy.local) in the pod's spec;
    # the trigger's image written into the Deployment
    assert pod_image_ids(w, "etl-reg") == [("%s/%s/etl:latest" % (IMG_REG, NS),
                                            "%s/%s/etl@%s" % (IMG_REG, NS, digest))]
    assert pod_image_ids(w, "etl-short") == [(ist["image"]["dockerImageReference"],
                                              "%s/%s/etl@%s" % (IMG_REG, NS, digest))]
    ((image, iid),) = pod_image_ids(w, "etl-auto")
    assert image == ist["image"]["dockerImageReference"] and iid.endswith("@" + digest)
    p = w.kubectl("get", "istag", "nosuch:latest")
    assert p.returncode == 1
    assert 'imagestreamtags.image.openshift.io "nosuch:latest" not found' in p.stderr
    w.kube_test("POST", "/_test/forbid", {"verb": "get", "resource": "imagestreamtags"})
    try:
        p = w.kubectl("get", "istag", "etl:latest")
    finally:
        w.kube_test("DELETE", "/_test/forbid")
    assert p.returncode == 1
    assert 'cannot get resource "imagestreamtags" in API group "image.openshift.io"' in p.stderr


def test_an_import_moves_the_tag_and_an_unpaused_trigger_rolls_out(img_world):
    w = img_world
    before = pod_image_ids(w, "etl-reg")
    gen = json.loads(w.kubectl("get", "deployment", "etl-auto", "-o", "json").stdout)["metadata"]["generation"]
    new = w.kube_test("POST", "/_test/import", {"stream": "etl", "tag": "latest",
                                                  "from": "registry.cern.ch/cms-dqmdc/dials-etl:1.5.0"})["image"]
    p = w.kubectl("get", "istag", "etl:latest", "-o", "jsonpath={.image.metadata.name}")
    assert p.returncode == 0 and p.stdout == new, p.stderr
    assert pod_image_ids(w, "etl-reg") == before          # pods keep their image
    d = json.loads(w.kubectl("get", "deployment", "etl-auto", "-o", "json").stdout)
    assert d["metadata"]["generation"] == gen + 1
    assert d["spec"]["template"]["spec"]["containers"][0]["image"].endswith("@" + new)
    r = w.kubectl("rollout", "status", "deployment/etl-auto", "--timeout=60s")
    assert r.returncode == 0, r.stderr
    # the trigger wrote the source's pull spec (referencePolicy Source)
    wait_for(lambda: [i for _, i in pod_image_ids(w, "etl-auto")] ==
             ["registry.cern.ch/cms-dqmdc/dials-etl@" + new], 30, "the trigger's new pod")
