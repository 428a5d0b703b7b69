"""The double's test controls (plain HTTP or HTTPS, no auth), as a routing
table: (method, path) -> handler. See kube_double.py's docstring for what
each does."""
import json
import os
import signal
import time
import uuid

from kube.util import POD_FAULTS, now_rfc3339


def serve(h, path):
    fn = ROUTES.get((h.command, path))
    if fn is None:
        return h.send_json(404, {"error": "unknown test endpoint %s %s" % (h.command, path)})
    return fn(h)


def body(h):
    if not h._body:
        return {}
    return json.loads(h._body.decode())


def get_requests(h):
    with h.state["lock"]:
        reqs = list(h.state["requests"])
    return h.send_json(200, reqs)


def delete_requests(h):
    with h.state["lock"]:
        h.state["requests"].clear()
    return h.send_json(200, {"ok": True})


def post_faults(h):
    f = body(h)
    f.setdefault("count", 1)
    f.setdefault("path_prefix", "")
    # "delay": seconds the matching requests wait before they are answered;
    # with it and no status they are then served normally.
    # "transit": seconds the request takes to reach the API server, before
    # its timeout starts (whatever the client did meanwhile).
    # "applied": true: the request is served (a write applied) first, then
    # its answer is lost: "drop": true closes the connection without one,
    # "delay" holds it, "status" replaces it (api.serve_applied)
    f["delay"] = float(f.get("delay", 0))
    f["status"] = int(f.get("status", 0 if f["delay"] or f.get("drop") else 500))
    with h.state["lock"]:
        h.state["faults"].append(f)
    return h.send_json(200, {"ok": True})


def get_faults(h):
    with h.state["lock"]:
        return h.send_json(200, list(h.state["faults"]))


def delete_faults(h):
    with h.state["lock"]:
        h.state["faults"].clear()
    return h.send_json(200, {"ok": True})


def post_forbid(h):
    f = body(h)
    f.setdefault("verb", "*")
    f.setdefault("resource", "*")
    with h.state["lock"]:
        h.state["forbid"].append({"verb": f["verb"], "resource": f["resource"]})
    return h.send_json(200, {"ok": True})


def delete_forbid(h):
    with h.state["lock"]:
        h.state["forbid"].clear()
    return h.send_json(200, {"ok": True})


def post_break(h):
    d = body(h).get("deployment")
    with h.cluster.lock:
        if d not in h.cluster.deployments:
            return h.send_json(404, {"error": "no deployment %r" % d})
        h.cluster.broken.add(d)
    return h.send_json(200, {"ok": True})


def delete_break(h):
    d = body(h).get("deployment")
    with h.cluster.lock:
        if d:
            h.cluster.broken.discard(d)
        else:
            h.cluster.broken.clear()
    return h.send_json(200, {"ok": True})


def post_side_queues(h):
    """{"deployment": D, "queues": [...]}: the side worker (sideQueues) of D's pods
    started from now on consumes these queues (a setting the image reads at start,
    changed since the running pods started)."""
    b = body(h)
    with h.cluster.lock:
        dep = h.cluster.deployments.get(b.get("deployment"))
        if dep is None or not dep.side_queues or not isinstance(b.get("queues"), list):
            return h.send_json(400, {"error": "need a deployment with a side worker and a "
                                     "queues list: %r" % b})
        dep.side_queues = list(b["queues"])
    return h.send_json(200, {"ok": True})


def post_side_gate(h):
    """{"deployment": D}: D's pods created from now on start their side worker only
    on POST /_test/side-start (a second worker slow to come up); DELETE: they start
    it at once again."""
    b = body(h)
    with h.cluster.lock:
        dep = h.cluster.deployments.get(b.get("deployment"))
        if dep is None or not dep.side_queues:
            return h.send_json(400, {"error": "need a deployment with a side worker: %r" % b})
        if h.command == "POST":
            h.cluster.side_gated.add(dep.name)
        else:
            h.cluster.side_gated.discard(dep.name)
    return h.send_json(200, {"ok": True})


def post_side_start(h):
    """{"pod": P}: P's gated side worker starts (side-gate)."""
    b = body(h)
    with h.cluster.lock:
        pod = next((p for p in h.cluster.pods if p.name == b.get("pod")), None)
        if pod is None or not pod.side_gate or not pod.alive():
            return h.send_json(400, {"error": "need a live pod whose side worker waits: %r" % b})
        open(h.cluster.side_gate_path(pod), "w").close()
    return h.send_json(200, {"ok": True})


def post_restart_container(h):
    """{"pod": P}: the kubelet restarts P's container in place (a failed liveness
    probe): SIGTERM, SIGKILL after the grace period, started again, restartCount
    one more (kubelet.restart_container)."""
    b = body(h)
    with h.cluster.lock:
        pod = next((p for p in h.cluster.pods if p.name == b.get("pod")), None)
        if pod is None or not pod.alive() or pod.terminating or pod.restarting:
            return h.send_json(400, {"error": "need a live pod: %r" % b})
        h.cluster.restart_container(pod)
    return h.send_json(200, {"ok": True})


def post_sidecar_exit(h):
    """{"pod": P}: P's sidecar container (its Deployment's "sidecar") exits with status 1;
    the kubelet restarts it after the back-off (kubelet.sidecar_exit)."""
    b = body(h)
    with h.cluster.lock:
        pod = next((p for p in h.cluster.pods if p.name == b.get("pod")), None)
        if pod is None or len(pod.spec["containers"]) < 2 or pod.terminating:
            return h.send_json(400, {"error": "need a live pod with a sidecar: %r" % b})
        h.cluster.sidecar_exit(pod)
    return h.send_json(200, {"ok": True})


def post_pod_state(h):
    b = body(h)
    st = b.get("state")
    if st == "Running" and b.get("pod"):
        # a pod whose container did not run gets it started (scheduled at
        # last, its image pulled, its crash fixed): the kubelet starts it
        with h.cluster.lock:
            pod = next((p for p in h.cluster.pods if p.name == b["pod"]), None)
            if pod is None or pod.terminating or not pod.fault:
                return h.send_json(400, {"error": "only a live pod whose container does not run "
                                         "can start running"})
            pod.start_requested = True
        return h.send_json(200, {"ok": True})
    if st not in POD_FAULTS:
        return h.send_json(400, {"error": "state must be one of %s, or Running for a pod"
                                 % (POD_FAULTS,)})
    with h.cluster.lock:
        if b.get("pod"):
            pod = next((p for p in h.cluster.pods if p.name == b["pod"]), None)
            if pod is None or pod.terminating or st != "CrashLoopBackOff":
                return h.send_json(400, {"error": "a live pod can only start crashing "
                                         "(CrashLoopBackOff)"})
            h.cluster.set_fault(pod, st)
        elif b.get("deployment") in h.cluster.deployments:
            h.cluster.pod_faults[b["deployment"]] = st
        else:
            return h.send_json(404, {"error": "no pod or deployment in %r" % b})
    return h.send_json(200, {"ok": True})


def delete_pod_state(h):
    b = body(h)
    with h.cluster.lock:
        if b.get("deployment"):
            h.cluster.pod_faults.pop(b["deployment"], None)
        else:
            h.cluster.pod_faults.clear()
    return h.send_json(200, {"ok": True})


def post_deployment_controller(h):
    """{"deployment": D, "running": false}: the Deployment controller stops managing D (as
    with kube-controller-manager --controllers=-deployment); true: again."""
    b = body(h)
    with h.cluster.lock:
        if b.get("deployment") not in h.cluster.deployments:
            return h.send_json(404, {"error": "no deployment %r" % b.get("deployment")})
        if b.get("running", True):
            h.cluster.unmanaged.discard(b["deployment"])
        else:
            h.cluster.unmanaged.add(b["deployment"])
    return h.send_json(200, {"ok": True})


def post_kill_pod(h):
    b = body(h)
    sig = str(b.get("signal", "KILL")).upper()
    if not sig.startswith("SIG"):
        sig = "SIG" + sig
    with h.cluster.lock:
        pod = next((p for p in h.cluster.pods if p.name == b.get("pod")), None)
        if pod is None or not pod.alive():
            return h.send_json(404, {"error": "no live pod %r" % b.get("pod")})
        if sig == "SIGKILL":
            h.cluster.killpg(pod)
        else:
            os.kill(pod.pid, getattr(signal, sig))
    return h.send_json(200, {"ok": True, "pid": pod.pid})


def get_pods(h):
    with h.cluster.lock:
        pods = list(h.cluster.pods)
        if h._q.get("all") in ("1", "true"):
            pods = list(h.cluster.gone_pods) + pods
        out = [{"name": p.name, "deployment": p.dep.name, "uid": p.uid, "pid": p.pid, "ready": p.ready,
                "terminating": p.terminating, "hostname": p.hostname,
                "hostnames": p.hostnames,
                "side_waiting": p.side_gate and not os.path.exists(h.cluster.side_gate_path(p)),
                "pod_template_hash": p.labels.get("pod-template-hash"),
                "owner": (next((r for r in p.owner_refs if r.get("controller")), None) or {}).get("name"), "broken": p.broken,
                "created": p.created, "ready_at": p.ready_at,
                "deletion_requested": p.deletion_requested, "sigtermed": p.sigtermed,
                "sigkilled": p.sigkilled, "exit_code": p.exit_code, "exited_at": p.exited_at,
                "deleted_at": p.deleted_at, "log": p.log_path, "fault": p.fault,
                "restart_count": p.restart_count,
                "gone": p.deleted_at is not None} for p in pods]
    return h.send_json(200, out)


def post_token(h):
    b = body(h)
    tok = b.get("token")
    if b.get("expire"):
        with h.state["lock"]:
            if b["expire"] not in h.state["tokens"]:
                return h.send_json(404, {"error": "unknown token"})
            h.state["tokens"][b["expire"]] = 0
        return h.send_json(200, {"ok": True})
    if not tok:
        return h.send_json(400, {"error": "token required"})
    exp = time.time() + float(b["expires_in"]) if "expires_in" in b else None
    with h.state["lock"]:
        if not b.get("add"):
            h.state["tokens"].clear()
        h.state["tokens"][tok] = exp
    return h.send_json(200, {"ok": True})


def post_quota(h):
    """{"pods": N[, "name": Q]}: the namespace's ResourceQuota Q allows N pods (creations
    beyond are refused); {"pods": null}: no quota."""
    b = body(h)
    n = b.get("pods")
    if n is not None and (not isinstance(n, int) or n < 0):
        return h.send_json(400, {"error": "pods must be a count"})
    with h.cluster.lock:
        h.cluster.quota = None if n is None else {"pods": n, "name": b.get("name") or "pod-quota"}
    return h.send_json(200, {"ok": True})


def delete_quota(h):
    with h.cluster.lock:
        h.cluster.quota = None
    return h.send_json(200, {"ok": True})


def post_import(h):
    """{"stream": S, "tag": T, "from": REF}: a new image in S:T (oc import-image);
    the triggers that follow it fire (images.py)."""
    b = body(h)
    with h.cluster.lock:
        if b.get("stream") not in h.cluster.imagestreams:
            return h.send_json(404, {"error": "no imagestream %r" % b.get("stream")})
        digest = h.cluster.import_image(b["stream"], b.get("tag") or "latest",
                                        b.get("from") or "registry.cern.ch/cms-dqmdc/dials-etl:next")
    return h.send_json(200, {"ok": True, "image": digest})


def get_state(h):
    with h.cluster.lock:
        return h.send_json(200, {"rv": h.cluster.rv, "deployments": [
            d.render() for d in h.cluster.deployments.values()], "statefulsets": [
            s.render() for s in h.cluster.statefulsets.values()]})


def watch_control(h, f):
    """post_watch's work, the cluster's condition held."""
    if f.get("restore"):
        h.cluster.restore_rvs(100)
    with h.state["lock"]:
        if f.get("restore"):
            h.state["compacted"] = 0
        if f.get("compact"):
            # another object of the cluster changed meanwhile (they
            # always do: leases, events), then the compaction
            h.state["compacted"] = h.cluster.next_rv()
        if f.get("close"):
            h.state["watch_abort"] = bool(f.get("abort"))
            h.state["watch_epoch"] = h.state.get("watch_epoch", 0) + 1
    h.cluster.cond.notify_all()


def post_watch(h):
    """{"compact": true}: etcd's history is compacted up to now (a watch from an
    older resourceVersion gets 410 Gone, an ERROR event); {"close": true}: every
    open watch ends now, cleanly (the chunked stream's end), or dropped without
    it with "abort": true; {"restore": true}: the API server is back on an
    etcd restored from a backup: resourceVersions start again lower, the
    history gone (a watch from a resourceVersion it never had waits 3 s,
    then gets an ERROR event: 504, ResourceVersionTooLarge)."""
    f = body(h)
    with h.cluster.cond:
        watch_control(h, f)
    return h.send_json(200, {"ok": True})


def post_recreate_deployment(h):
    """{"deployment": D}: `kubectl delete deployment D --cascade=orphan`, then
    `kubectl create` of the same object (`kubectl replace --force` with
    orphans): DELETED, then ADDED with a new uid, generation 1 and no status;
    its ReplicaSets orphaned, then adopted by the new one (the controller).
    With "close"/"abort"/"compact" (as /_test/watch), the open watches are
    dropped first, so that they miss both events, and the history is then
    compacted past them (a watch from before gets 410 Gone: a relist shows
    only the new one)."""
    f = body(h)
    with h.cluster.cond:
        dep = h.cluster.deployments.get(f.get("deployment"))
        if dep is None:
            return h.send_json(404, {"error": "no deployment %r" % f.get("deployment")})
        watch_control(h, {"close": f.get("close"), "abort": f.get("abort")})
        old = dep.metadata["uid"]
        gone = dep.render()
        rv = h.cluster.next_rv()
        gone["metadata"]["resourceVersion"] = str(rv)
        h.cluster.emit(dep.RESOURCE, "DELETED", gone, rv)
        for rs in h.cluster.replicasets.values():
            if any(r.get("uid") == old for r in rs.owner_refs):
                rs.owner_refs = [r for r in rs.owner_refs if r.get("uid") != old]
                h.cluster.bump_rs(rs)
        t = time.time()
        dep.metadata["uid"] = str(uuid.uuid4())
        dep.metadata["generation"] = 1
        dep.metadata["creationTimestamp"] = now_rfc3339(t)
        dep.created = dep.generation_changed_at = dep.progress_at = t
        dep.status = {}
        dep.observed_generation = 0
        dep.cond_progressing = dep.last_counts = None
        h.cluster.bump_dep(dep, "ADDED")
        watch_control(h, {"compact": f.get("compact")})
    return h.send_json(200, {"ok": True, "uid": dep.metadata["uid"]})


ROUTES = {
    ("POST", "/_test/watch"): post_watch,
    ("POST", "/_test/recreate-deployment"): post_recreate_deployment,
    ("GET", "/_test/requests"): get_requests,
    ("DELETE", "/_test/requests"): delete_requests,
    ("POST", "/_test/faults"): post_faults,
    ("GET", "/_test/faults"): get_faults,
    ("DELETE", "/_test/faults"): delete_faults,
    ("POST", "/_test/forbid"): post_forbid,
    ("DELETE", "/_test/forbid"): delete_forbid,
    ("POST", "/_test/break"): post_break,
    ("DELETE", "/_test/break"): delete_break,
    ("POST", "/_test/pod-state"): post_pod_state,
    ("POST", "/_test/side-queues"): post_side_queues,
    ("POST", "/_test/sidecar-exit"): post_sidecar_exit,
    ("POST", "/_test/side-gate"): post_side_gate,
    ("DELETE", "/_test/side-gate"): post_side_gate,
    ("POST", "/_test/side-start"): post_side_start,
    ("POST", "/_test/restart-container"): post_restart_container,
    ("DELETE", "/_test/pod-state"): delete_pod_state,
    ("POST", "/_test/kill-pod"): post_kill_pod,
    ("POST", "/_test/deployment-controller"): post_deployment_controller,
    ("GET", "/_test/pods"): get_pods,
    ("POST", "/_test/token"): post_token,
    ("GET", "/_test/state"): get_state,
    ("POST", "/_test/quota"): post_quota,
    ("POST", "/_test/import"): post_import,
    ("DELETE", "/_test/quota"): delete_quota,
}
