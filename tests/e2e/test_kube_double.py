"""Conformance tests for tests/world/kube_double.py, using the REAL kubectl.

Run: /usr/bin/python3 -m pytest tests/e2e/test_kube_double.py

Starts a real redis-server and the Kubernetes double (whose worker pods are real
Celery workers running tests/world/etl.py), then drives it with kubectl v1.32
and with raw HTTPS requests.
"""
import json
import os
import signal
import ssl
import subprocess
import time
import urllib.error
import urllib.request

import pytest
import redis
from world import free_port

HERE = os.path.dirname(os.path.abspath(__file__))
WORLD = os.path.normpath(os.path.join(HERE, "..", "world"))
DOUBLE = os.environ.get("KUBE_DOUBLE") or os.path.join(WORLD, "kube_double.py")  # override: mutation tests
PY = "/usr/bin/python3"
KUBECTL = "/usr/bin/kubectl"
NS = "cms-dials-prod"
TOKEN = "sha256~test-token-0123456789"
DEP_PATH = "/apis/apps/v1/namespaces/%s/deployments" % NS

WORLD_CFG = {"deployments": [
    {"name": "ecal-bulk", "labels": {"app.kubernetes.io/part-of": "ecal-etl"}, "worker": True,
     "queues": ["ecal-bulk"], "replicas": 1, "terminationGracePeriodSeconds": 3,
     "progressDeadlineSeconds": 600},
    {"name": "common-redbeat", "worker": False, "replicas": 1, "terminationGracePeriodSeconds": 2,
     "progressDeadlineSeconds": 600},
    {"name": "ecal-priority", "worker": False, "replicas": 1, "terminationGracePeriodSeconds": 1,
     "progressDeadlineSeconds": 5},
]}


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


def stop_proc(proc, timeout=10):
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def wait_gone(world, name, timeout=30):
    """The pod once deleted (its record from /_test/pods?all=1)."""
    deadline = time.time() + timeout
    while True:
        p = [p for p in world.pods(all=True) if p["name"] == name][0]
        if p["gone"]:
            return p
        assert time.time() < deadline, p
        time.sleep(0.1)


def write_kubeconfig(path, port, ca, token=None, cert=None, key=None):
    user = "    token: %s\n" % token if token else \
        "    client-certificate: %s\n    client-key: %s\n" % (cert, key)
    with open(path, "w") as f:
        f.write("apiVersion: v1\nkind: Config\nclusters:\n- name: dials\n  cluster:\n"
                "    server: https://127.0.0.1:%d\n    certificate-authority: %s\n"
                "users:\n- name: drainer\n  user:\n%s"
                "contexts:\n- name: dials\n  context:\n    cluster: dials\n    user: drainer\n"
                "    namespace: %s\ncurrent-context: dials\n" % (port, ca, user, NS))
    return path


class World:
    def __init__(self, tmp, port, redis_port, double):
        self.tmp = tmp
        self.port = port
        self.redis_port = redis_port
        self.double = double
        self.certs = os.path.join(tmp, "certs")
        self.broker = "redis://127.0.0.1:%d/0" % redis_port
        self.kubeconfig = write_kubeconfig(os.path.join(tmp, "kubeconfig"), port,
                                           os.path.join(self.certs, "ca.crt"), token=TOKEN)
        self.ssl = ssl.create_default_context(cafile=os.path.join(self.certs, "ca.crt"))

    # kubectl
    def kubectl(self, *args, kubeconfig=None, timeout=90):
        cmd = [KUBECTL, "--kubeconfig", kubeconfig or self.kubeconfig,
               "--cache-dir", os.path.join(self.tmp, "kcache"), "-n", NS] + list(args)
        return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)

    # control API (plain HTTP on the same port)
    def ctl(self, method, path, body=None):
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request("http://127.0.0.1:%d/_test/%s" % (self.port, path), data=data,
                                     method=method)
        with urllib.request.urlopen(req, timeout=10) as r:
            return json.loads(r.read())

    def pods(self, dep=None, all=False):
        ps = self.ctl("GET", "pods?all=1" if all else "pods")
        return [p for p in ps if dep is None or p["deployment"] == dep]

    def requests(self):
        return self.ctl("GET", "requests")

    # raw API
    def api(self, method, path, body=None, content_type=None, token=TOKEN):
        headers = {}
        if token:
            headers["Authorization"] = "Bearer " + token
        if content_type:
            headers["Content-Type"] = content_type
        data = body.encode() if isinstance(body, str) else body
        req = urllib.request.Request("https://127.0.0.1:%d%s" % (self.port, path), data=data,
                                     method=method, headers=headers)
        try:
            with urllib.request.urlopen(req, timeout=10, context=self.ssl) as r:
                return r.status, json.loads(r.read()), dict(r.headers)
        except urllib.error.HTTPError as e:
            return e.code, json.loads(e.read()), dict(e.headers)

    def deployment(self, name):
        code, obj, _ = self.api("GET", "%s/%s" % (DEP_PATH, name))
        assert code == 200, obj
        return obj

    def restart(self, name):
        """`kubectl rollout restart`. kubectl refuses ("if restart has already been triggered within
        the past second") when restartedAt would not change, so step past the last restart's second."""
        ann = self.deployment(name)["spec"]["template"]["metadata"].get("annotations") or {}
        last = ann.get("kubectl.kubernetes.io/restartedAt")
        while last == time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()):
            time.sleep(0.05)
        return self.kubectl("rollout", "restart", "deployment/" + name)

    def wait_rolled_out(self, name, timeout=30):
        """kubectl rollout status, then the old pods' deletion to end (the rollout is done
        while they terminate), so that the next test starts from a quiet deployment."""
        r = self.kubectl("rollout", "status", "deployment/" + name, "--timeout=%ds" % timeout)
        assert r.returncode == 0, r.stdout + r.stderr
        deadline = time.time() + timeout
        while any(p["terminating"] for p in self.pods(name)):
            assert time.time() < deadline, self.pods(name)
            time.sleep(0.1)
        return r


def start_double(tmp, redis_port, cfg, token=TOKEN):
    port = free_port()
    os.makedirs(tmp, exist_ok=True)
    cfg_path = os.path.join(tmp, "world.json")
    with open(cfg_path, "w") as f:
        json.dump(cfg, f)
    ready = os.path.join(tmp, "ready")
    logf = open(os.path.join(tmp, "double.log"), "wb")
    proc = subprocess.Popen([PY, DOUBLE, "--port", str(port), "--cert-dir", os.path.join(tmp, "certs"),
                             "--token", token, "--namespace", NS,
                             "--broker-url", "redis://127.0.0.1:%d/0" % redis_port,
                             "--config", cfg_path, "--ready-file", ready],
                            stdout=logf, stderr=subprocess.STDOUT)
    logf.close()
    deadline = time.time() + 40
    while not os.path.exists(ready):
        if proc.poll() is not None or time.time() > deadline:
            stop_proc(proc)
            with open(os.path.join(tmp, "double.log")) as f:
                pytest.fail("kube double did not become ready:\n" + f.read())
        time.sleep(0.1)
    with open(ready) as f:
        assert f.read().strip() == str(port)
    return proc, port


@pytest.fixture(scope="module")
def redis_server(tmp_path_factory):
    port = free_port()
    d = tmp_path_factory.mktemp("redis")
    proc = subprocess.Popen(["redis-server", "--port", str(port), "--save", "", "--appendonly", "no",
                             "--bind", "127.0.0.1", "--dir", str(d)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    r = redis.Redis(port=port)
    deadline = time.time() + 10
    while True:
        try:
            r.ping()
            break
        except redis.exceptions.ConnectionError:
            if time.time() > deadline or proc.poll() is not None:
                stop_proc(proc)
                pytest.fail("redis-server did not start")
            time.sleep(0.05)
    yield port
    stop_proc(proc)


@pytest.fixture(scope="module")
def world(tmp_path_factory, redis_server):
    tmp = str(tmp_path_factory.mktemp("kube"))
    proc, port = start_double(tmp, redis_server, WORLD_CFG)
    w = World(tmp, port, redis_server, proc)
    yield w
    pids = [p["pid"] for p in w.pods(all=True) if p["pid"]] if proc.poll() is None else []
    stop_proc(proc, timeout=15)
    deadline = time.time() + 5
    while any(pid_alive(p) for p in pids) and time.time() < deadline:
        time.sleep(0.1)
    for p in pids:       # belt and braces: never leave a worker behind
        if pid_alive(p):
            try:
                os.killpg(p, signal.SIGKILL)
            except OSError:
                pass


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
    world.ctl("DELETE", "requests")
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
    reqs = world.requests()
    gets = [q for q in reqs if q["method"] == "GET" and q["path"].startswith(DEP_PATH + "/ecal-bulk")]
    assert gets and all(q["auth"] == "bearer" and q["status"] == 200 for q in gets)


def test_pod_list_is_realistic(world):
    code, pl, _ = world.api("GET", "/api/v1/namespaces/%s/pods?labelSelector=app%%3Decal-bulk" % NS)
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
    code, pl, _ = world.api("GET", "/api/v1/namespaces/elsewhere/pods")
    assert code == 200 and pl["items"] == []


def test_rollout_restart_sends_strategic_merge_patch(world):
    before = world.deployment("ecal-bulk")
    world.ctl("DELETE", "requests")
    r = world.restart("ecal-bulk")
    assert r.returncode == 0, r.stderr
    assert "deployment.apps/ecal-bulk restarted" in r.stdout
    patches = [q for q in world.requests() if q["method"] == "PATCH"]
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
    world.ctl("DELETE", "requests")
    r = world.restart("ecal-bulk")
    assert r.returncode == 0, r.stderr
    # right after the PATCH the controller has not observed the new generation yet
    d = world.deployment("ecal-bulk")
    assert d["status"]["observedGeneration"] < d["metadata"]["generation"]
    r = world.kubectl("rollout", "status", "deployment/ecal-bulk", "--timeout=60s")
    done_at = time.time()
    assert r.returncode == 0, r.stdout + r.stderr
    assert 'deployment "ecal-bulk" successfully rolled out' in r.stdout
    assert "old replicas are pending termination" in r.stdout
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
    reqs = world.requests()
    watches = [q for q in reqs if "watch=true" in q["path"]]
    assert watches and "fieldSelector=metadata.name%3Decal-bulk" in watches[0]["path"]


def test_wrong_token_is_unauthorized(world):
    bad = write_kubeconfig(os.path.join(world.tmp, "bad-kubeconfig"), world.port,
                           os.path.join(world.certs, "ca.crt"), token="nope")
    r = world.kubectl("get", "deployment", "ecal-bulk", "-o", "json", kubeconfig=bad)
    assert r.returncode != 0
    assert "Unauthorized" in r.stderr
    code, st, _ = world.api("GET", DEP_PATH + "/ecal-bulk", token="nope")
    assert code == 401
    assert st == {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
                  "message": "Unauthorized", "reason": "Unauthorized", "code": 401}
    code, st, _ = world.api("GET", DEP_PATH + "/ecal-bulk", token=None)
    assert code == 401


def test_not_found(world):
    r = world.kubectl("get", "deployment", "nosuch", "-o", "json")
    assert r.returncode != 0
    assert 'Error from server (NotFound): deployments.apps "nosuch" not found' in r.stderr
    code, st, _ = world.api("GET", DEP_PATH + "/nosuch")
    assert code == 404 and st["reason"] == "NotFound"
    assert st["details"] == {"name": "nosuch", "group": "apps", "kind": "deployments"}
    code, st, _ = world.api("GET", "/apis/apps/v1/namespaces/other/deployments/ecal-bulk")
    assert code == 404
    code, st, _ = world.api("GET", "/apis/apps/v1/namespaces/other/deployments")
    assert code == 200 and st["items"] == []


def test_client_certificate_auth(world):
    kc = write_kubeconfig(os.path.join(world.tmp, "cert-kubeconfig"), world.port,
                          os.path.join(world.certs, "ca.crt"),
                          cert=os.path.join(world.certs, "client.crt"),
                          key=os.path.join(world.certs, "client.key"))
    world.ctl("DELETE", "requests")
    r = world.kubectl("get", "deployment", "ecal-bulk", "-o", "json", kubeconfig=kc)
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["metadata"]["name"] == "ecal-bulk"
    assert {q["auth"] for q in world.requests()} == {"cert"}


def test_token_rotation(world):
    world.ctl("POST", "token", {"token": "rotated"})
    try:
        r = world.kubectl("get", "deployment", "ecal-bulk", "-o", "json")
        assert r.returncode != 0 and "Unauthorized" in r.stderr
        code, _, _ = world.api("GET", DEP_PATH + "/ecal-bulk", token="rotated")
        assert code == 200
    finally:
        world.ctl("POST", "token", {"token": TOKEN})
    assert world.kubectl("get", "deployment", "ecal-bulk", "-o", "json").returncode == 0


def test_strict_patch_handling(world):
    path = DEP_PATH + "/ecal-bulk?fieldManager=test"
    gen = world.deployment("ecal-bulk")["metadata"]["generation"]
    code, st, _ = world.api("PATCH", path, "{}", "application/json")
    assert code == 415 and st["reason"] == "UnsupportedMediaType"
    code, st, _ = world.api("PATCH", path, "{not json", "application/strategic-merge-patch+json")
    assert code == 400 and st["reason"] == "BadRequest" and st["kind"] == "Status"
    code, st, _ = world.api("PATCH", path, "[1, 2]", "application/strategic-merge-patch+json")
    assert code == 400 and st["reason"] == "BadRequest"
    code, st, _ = world.api("DELETE", DEP_PATH + "/ecal-bulk")
    assert code == 405 and st["reason"] == "MethodNotAllowed"
    code, st, _ = world.api("GET", "/apis/batch/v1/namespaces/%s/jobs" % NS)
    assert code == 404 and st["kind"] == "Status"
    # a metadata-only patch does not bump the generation
    code, obj, _ = world.api("PATCH", path, '{"metadata":{"annotations":{"x":"y"}}}',
                             "application/merge-patch+json")
    assert code == 200 and obj["metadata"]["annotations"]["x"] == "y"
    assert obj["metadata"]["generation"] == gen


def test_faults_and_forbidden_are_not_applied(world):
    gen = world.deployment("ecal-bulk")["metadata"]["generation"]
    world.ctl("POST", "faults", {"method": "PATCH", "path_prefix": DEP_PATH + "/ecal-bulk",
                                 "status": 409, "count": 1})
    r = world.restart("ecal-bulk")
    assert r.returncode != 0
    assert 'Operation cannot be fulfilled on deployments.apps "ecal-bulk": the object has been modified' \
        in r.stderr
    world.ctl("POST", "faults", {"method": "PATCH", "path_prefix": DEP_PATH + "/ecal-bulk",
                                 "status": 500, "count": 1})
    r = world.restart("ecal-bulk")
    assert r.returncode != 0 and "Internal error occurred" in r.stderr
    world.ctl("POST", "faults", {"method": "GET", "path_prefix": DEP_PATH + "/ecal-bulk",
                                 "status": 429, "count": 1, "retry_after": 1})
    code, st, hdr = world.api("GET", DEP_PATH + "/ecal-bulk")
    assert code == 429 and st["reason"] == "TooManyRequests" and hdr.get("Retry-After") == "1"
    world.ctl("DELETE", "faults")
    world.ctl("POST", "forbid", {"verb": "patch", "resource": "deployments"})
    try:
        r = world.restart("ecal-bulk")
        assert r.returncode != 0
        assert ('deployments.apps "ecal-bulk" is forbidden: User "system:serviceaccount:cms-dials-prod:drainer" '
                'cannot patch resource "deployments" in API group "apps" in the namespace "cms-dials-prod"') \
            in r.stderr
    finally:
        world.ctl("DELETE", "forbid")
    assert world.deployment("ecal-bulk")["metadata"]["generation"] == gen


def test_progress_deadline_exceeded(world):
    world.ctl("POST", "break", {"deployment": "ecal-priority"})
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
        world.ctl("DELETE", "break")


def test_sigkill_after_grace_period(world):
    led = redis.Redis(port=world.redis_port, db=15)
    old = world.pods("ecal-bulk")[0]
    env = dict(os.environ, BROKER_URL=world.broker)
    out = subprocess.run([PY, "-c", "import etl; print(etl.ingest.apply_async(args=[10, 'x'], "
                                    "queue='ecal-bulk').id)"],
                         cwd=WORLD, env=env, capture_output=True, text=True, timeout=30)
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
    world.ctl("POST", "kill-pod", {"pod": old["name"], "signal": "KILL"})
    deadline = time.time() + 10
    while True:
        pods = world.pods("common-redbeat")
        if len(pods) == 1 and pods[0]["name"] != old["name"] and pods[0]["ready"]:
            break
        assert time.time() < deadline, pods
        time.sleep(0.1)
    assert pods[0]["pod_template_hash"] == old["pod_template_hash"]
    assert not pid_alive(old["pid"])


def test_shutdown_leaves_no_processes(tmp_path, redis_server):
    cfg = {"deployments": [
        {"name": "muon-bulk", "worker": True, "queues": ["muon-bulk"], "replicas": 1,
         "terminationGracePeriodSeconds": 3},
        {"name": "flower", "worker": False, "replicas": 2}]}
    proc, port = start_double(str(tmp_path), redis_server, cfg)
    try:
        with urllib.request.urlopen("http://127.0.0.1:%d/_test/pods" % port, timeout=10) as r:
            pods = json.loads(r.read())
        pids = [p["pid"] for p in pods]
        assert len(pids) == 3 and all(pid_alive(p) for p in pids)
    finally:
        stop_proc(proc, timeout=15)
    assert proc.returncode == 0
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
    world.ctl("DELETE", "requests")
    r = world.kubectl("rollout", "pause", "deployment/ecal-bulk")
    assert r.returncode == 0 and "deployment.apps/ecal-bulk paused" in r.stdout, r.stderr
    p = [q for q in world.requests() if q["method"] == "PATCH"][0]
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
    code, d, _ = world.api("PATCH", DEP_PATH + "/ecal-bulk?fieldManager=test",
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
    world.ctl("DELETE", "requests")
    r = world.kubectl("rollout", "resume", "deployment/ecal-bulk")
    assert r.returncode == 0 and "deployment.apps/ecal-bulk resumed" in r.stdout, r.stderr
    p = [q for q in world.requests() if q["method"] == "PATCH"][0]
    assert json.loads(p["body"]) == {"spec": {"paused": None}}
    assert "paused" not in world.deployment("ecal-bulk")["spec"]
    world.wait_rolled_out("ecal-bulk", timeout=60)
    new = [p for p in world.pods("ecal-bulk") if not p["terminating"]]
    assert len(new) == 1 and new[0]["name"] != old[0]["name"]


def test_pods_whose_container_does_not_run(tmp_path, redis_server):
    """Pending, ContainerCreating, ImagePullBackOff and CrashLoopBackOff as the API shows
    them and as kubectl get pods prints them."""
    states = ["Pending", "ContainerCreating", "ImagePullBackOff"]
    cfg = {"deployments": [{"name": "s%d" % i, "worker": False, "replicas": 1,
                            "terminationGracePeriodSeconds": 1} for i in range(4)]}
    proc, port = start_double(str(tmp_path), redis_server, cfg)
    try:
        w = World(str(tmp_path), port, redis_server, proc)
        for i, st in enumerate(states):
            dep = "s%d" % i
            w.ctl("POST", "pod-state", {"deployment": dep, "state": st})
            w.ctl("POST", "kill-pod", {"pod": w.pods(dep)[0]["name"], "signal": "KILL"})
        crash = w.pods("s3")[0]["name"]
        w.ctl("POST", "pod-state", {"pod": crash, "state": "CrashLoopBackOff"})
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
        assert seen[3][2].startswith("1 (") and seen[3][2].endswith(" ago)"), seen[3]
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
        assert o["status"]["phase"] == "Running" and cs["restartCount"] == 1
        assert cs["state"]["waiting"]["reason"] == "CrashLoopBackOff"
        assert cs["state"]["waiting"]["message"].startswith("back-off 10s restarting failed container=s3 pod=")
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
        w.ctl("DELETE", "pod-state", {})
        r = w.restart("s3")
        assert r.returncode == 0, r.stderr
        w.wait_rolled_out("s3", timeout=30)
        wait_gone(w, crash)
        assert [p["ready"] for p in w.pods("s3")] == [True]
    finally:
        stop_proc(proc, timeout=15)
