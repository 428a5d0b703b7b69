#!/usr/bin/python3
"""A strict Kubernetes API server double with a simulated Deployment controller.

Every pod of a `worker: true` Deployment is a REAL Celery worker process
(tests/world/etl.py); other pods run a sleep.  The double serves HTTPS with its
own CA (plain HTTP is also accepted on the same port, for the /_test/ control
endpoints), authenticates a bearer token or a client certificate signed by its
CA, and answers like kube-apiserver 1.32 (Status objects, reasons, messages).

    /usr/bin/python3 tests/world/kube_double.py --port PORT --cert-dir DIR \
        --token TOKEN --namespace cms-dials-prod \
        --broker-url redis://127.0.0.1:P/0 --config world.json [--ready-file F]

Python 3 standard library only.

Served API (bearer token or client cert; errors are kube-apiserver Status objects):
  GET  /version /api /apis /apis/apps /apis/apps/v1 /api/v1        discovery (non-aggregated)
  GET  /apis/apps/v1/namespaces/NS/deployments[/NAME]              (labelSelector, fieldSelector,
       watch=true&resourceVersion=&timeoutSeconds=&allowWatchBookmarks=&sendInitialEvents=)
  PATCH /apis/apps/v1/namespaces/NS/deployments/NAME               strategic-merge / merge / json patch
  GET  /api/v1/namespaces/NS/pods[/NAME]                           (same list/watch options)
  GET  /api/v1/namespaces/NS
  `Accept: ...;as=Table` gets a meta.k8s.io/v1 Table, as `kubectl get` wants.

Test control (plain HTTP or HTTPS on the same port, no auth):
  GET/DELETE /_test/requests      request log: t, method, path, content_type, body, auth, status, ...
  POST/GET/DELETE /_test/faults   {"method", "path_prefix", "status": 409|429|500|503|504, "count", "retry_after"}
  POST/DELETE /_test/forbid       {"verb": "get|list|watch|patch|*", "resource": "deployments|pods|*"}
  POST/DELETE /_test/break        {"deployment": X}: X's new pods never become Ready
  POST /_test/kill-pod            {"pod": NAME, "signal": "KILL"|"TERM"|...}
  POST/DELETE /_test/pod-state    {"deployment": X, "state": S}: X's new pods are created in state S
                                  (POD_FAULTS); {"pod": NAME, "state": "CrashLoopBackOff"}: a live
                                  pod's container starts crashing; DELETE: new pods run again
  GET  /_test/pods[?all=1]        pods (all=1: also deleted ones, with exit_code, sigkilled, ...)
  POST /_test/token               {"token": NEW}: rotate the accepted bearer token
  GET  /_test/state               resourceVersion and all deployments
"""
import argparse
import atexit
import bisect
import copy
import datetime
import hashlib
import json
import math
import os
import random
import select
import signal
import socket
import ssl
import subprocess
import sys
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, unquote, urlsplit

WORLD_DIR = os.path.dirname(os.path.abspath(__file__))
SAFE_ALPHABET = "bcdfghjklmnpqrstvwxz2456789"
TICK = 0.1
OBSERVE_DELAY = 0.2      # generation -> observedGeneration lag
REPLACE_DELAY = 1.0      # a crashed pod is replaced after this long
CRASH_BACKOFF = 10       # kubelet's back-off: 10 s, doubled per restart, at most 300 s
# Pod states whose container does not run, as the API shows them (POST /_test/pod-state):
#   Pending            unschedulable: phase Pending, PodScheduled False, no containerStatuses
#   ContainerCreating  phase Pending, state.waiting.reason ContainerCreating
#   ImagePullBackOff   phase Pending, state.waiting ErrImagePull, then ImagePullBackOff
#   CrashLoopBackOff   phase Running, restarted in place: state.terminated reason Error for a
#                      second after each exit, then state.waiting CrashLoopBackOff until the
#                      next restart (lastState the exit, restartCount counting)
POD_FAULTS = ("Pending", "ContainerCreating", "ImagePullBackOff", "CrashLoopBackOff")
SERVICE_ACCOUNT = "drainer"


def log(msg):
    sys.stderr.write("kube_double: %s %s\n" % (time.strftime("%H:%M:%S"), msg))
    sys.stderr.flush()


def now_rfc3339(t=None):
    if t is None:
        t = time.time()
    return datetime.datetime.fromtimestamp(int(t), datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def fnv32a(data):
    h = 0x811C9DC5
    for b in data:
        h ^= b
        h = (h * 0x01000193) & 0xFFFFFFFF
    return h


def safe_encode(s):
    return "".join(SAFE_ALPHABET[ord(c) % len(SAFE_ALPHABET)] for c in s)


def template_hash(template):
    h = fnv32a(json.dumps(template, sort_keys=True, separators=(",", ":")).encode())
    return safe_encode(str(h))


def rand_suffix(n=5):
    return "".join(random.choice(SAFE_ALPHABET) for _ in range(n))


def scaled_value(v, total, round_up):
    if isinstance(v, int):
        return v
    s = str(v)
    if s.endswith("%"):
        x = int(s[:-1]) * total / 100.0
        return int(math.ceil(x)) if round_up else int(math.floor(x))
    return int(s)


# --------------------------------------------------------------------------
# Status objects (as kube-apiserver renders them)
# --------------------------------------------------------------------------

def status_obj(code, reason, message, details=None):
    o = {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
         "message": message, "reason": reason}
    if details is not None:
        o["details"] = details
    o["code"] = code
    return o


def st_unauthorized():
    return status_obj(401, "Unauthorized", "Unauthorized")


def res_qualified(resource, group):
    return "%s.%s" % (resource, group) if group else resource


def st_not_found(resource, group, name):
    d = {"name": name}
    if group:
        d["group"] = group
    d["kind"] = resource
    return status_obj(404, "NotFound", '%s "%s" not found' % (res_qualified(resource, group), name), d)


def st_path_not_found():
    return status_obj(404, "NotFound", "the server could not find the requested resource", {})


def st_method_not_allowed():
    return status_obj(405, "MethodNotAllowed", "the server does not allow this method on the requested resource", {})


def st_forbidden(user, verb, resource, group, ns, name):
    rq = res_qualified(resource, group)
    subj = '%s "%s"' % (rq, name) if name else rq
    msg = '%s is forbidden: User "%s" cannot %s resource "%s" in API group "%s" in the namespace "%s"' % (
        subj, user, verb, resource, group, ns)
    d = {}
    if name:
        d["name"] = name
    if group:
        d["group"] = group
    d["kind"] = resource
    return status_obj(403, "Forbidden", msg, d)


def st_conflict(resource, group, name):
    d = {"name": name}
    if group:
        d["group"] = group
    d["kind"] = resource
    return status_obj(409, "Conflict",
                      'Operation cannot be fulfilled on %s "%s": the object has been modified; '
                      'please apply your changes to the latest version and try again'
                      % (res_qualified(resource, group), name), d)


def st_too_many(retry_after):
    return status_obj(429, "TooManyRequests", "Too many requests, please try again later.",
                      {"retryAfterSeconds": int(retry_after)})


def st_internal(msg="injected fault"):
    return status_obj(500, "InternalError", "Internal error occurred: %s" % msg, {"causes": [{"message": msg}]})


def st_unavailable(retry_after=None):
    d = {} if retry_after is None else {"retryAfterSeconds": int(retry_after)}
    return status_obj(503, "ServiceUnavailable", "the server is currently unable to handle the request", d)


def st_bad_request(msg):
    return status_obj(400, "BadRequest", msg)


def st_unsupported_media(ct):
    return status_obj(415, "UnsupportedMediaType",
                      "the body of the request was in an unknown format - accepted media types include: "
                      "application/json-patch+json, application/merge-patch+json, "
                      "application/apply-patch+yaml, application/strategic-merge-patch+json")


def st_invalid(kind, group, name, field, msg):
    return status_obj(422, "Invalid", '%s.%s "%s" is invalid: %s: %s' % (kind, group, name, field, msg),
                      {"name": name, "group": group, "kind": kind,
                       "causes": [{"reason": "FieldValueInvalid", "message": msg, "field": field}]})


def st_fault(code, resource, group, name, retry_after):
    if code == 409:
        return st_conflict(resource, group, name or "")
    if code == 429:
        return st_too_many(retry_after or 1)
    if code == 500:
        return st_internal()
    if code == 503:
        return st_unavailable(retry_after)
    if code == 504:
        return status_obj(504, "Timeout", "Timeout: request did not complete within requested timeout - "
                          "context deadline exceeded", {})
    if code == 401:
        return st_unauthorized()
    if code == 404:
        return st_not_found(resource, group, name or "")
    return status_obj(code, "InternalError", "injected fault %d" % code)


# --------------------------------------------------------------------------
# Patching
# --------------------------------------------------------------------------

def merge_patch(target, patch):
    """RFC 7386 merge patch; also used for strategic merge (dicts merge, lists replace,
    except that containers are merged by name)."""
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    if not isinstance(target, dict):
        target = {}
    out = dict(target)
    for k, v in patch.items():
        if k.startswith("$"):       # strategic-merge directives ($patch, $retainKeys...)
            continue
        if v is None:
            out.pop(k, None)
        elif k == "containers" and isinstance(v, list) and isinstance(out.get(k), list):
            merged = [copy.deepcopy(c) for c in out[k]]
            for pc in v:
                if not isinstance(pc, dict) or "name" not in pc:
                    raise ValueError("containers: merge key \"name\" missing")
                for i, c in enumerate(merged):
                    if c.get("name") == pc["name"]:
                        merged[i] = merge_patch(c, pc)
                        break
                else:
                    merged.append(copy.deepcopy(pc))
            out[k] = merged
        else:
            out[k] = merge_patch(out.get(k), v)
    return out


def _ptr(path):
    if path == "":
        return []
    if not path.startswith("/"):
        raise ValueError("invalid JSON pointer %r" % path)
    return [p.replace("~1", "/").replace("~0", "~") for p in path[1:].split("/")]


def json_patch(doc, ops):
    doc = copy.deepcopy(doc)
    if not isinstance(ops, list):
        raise ValueError("json patch must be an array")
    for op in ops:
        if not isinstance(op, dict) or "op" not in op or "path" not in op:
            raise ValueError("invalid json patch operation")
        parts = _ptr(op["path"])
        if not parts:
            raise ValueError("cannot patch the document root")
        parent = doc
        for p in parts[:-1]:
            if isinstance(parent, list):
                parent = parent[int(p)]
            elif isinstance(parent, dict) and p in parent:
                parent = parent[p]
            else:
                raise ValueError("doc is missing path: %s" % op["path"])
        last = parts[-1]
        o = op["op"]
        if o in ("add", "replace"):
            if "value" not in op:
                raise ValueError("missing value")
            if isinstance(parent, list):
                if last == "-":
                    parent.append(op["value"])
                elif o == "add":
                    parent.insert(int(last), op["value"])
                else:
                    parent[int(last)] = op["value"]
            else:
                if o == "replace" and last not in parent:
                    raise ValueError("replace operation does not apply: doc is missing key: %s" % op["path"])
                parent[last] = op["value"]
        elif o == "remove":
            if isinstance(parent, list):
                parent.pop(int(last))
            elif last in parent:
                del parent[last]
            else:
                raise ValueError("remove operation does not apply: doc is missing path: %s" % op["path"])
        elif o == "test":
            cur = parent[int(last)] if isinstance(parent, list) else parent.get(last)
            if cur != op.get("value"):
                raise ValueError("testing value %s failed" % op["path"])
        else:
            raise ValueError("Unexpected kind: %s" % o)
    return doc


# --------------------------------------------------------------------------
# The simulated cluster
# --------------------------------------------------------------------------

class Pod:
    def __init__(self, dep, rs, broken, fault=None):
        self.dep = dep
        self.rs = rs
        self.name = "%s-%s" % (rs.name, rand_suffix())
        self.uid = str(uuid.uuid4())
        self.created = time.time()
        self.hostname = "%s@%s" % (dep.name, self.name)
        self.broken = broken
        self.proc = None
        self.pid = None
        self.log_path = None
        self.log_off = 0
        self.ready = False
        self.ready_at = None
        self.started_at = None
        self.terminating = False
        self.deletion_requested = None
        self.kill_at = None
        self.sigkilled = False
        self.sigtermed = False
        self.exit_code = None
        self.exited_at = None
        self.failed_at = None      # died while not terminating
        self.deleted_at = None
        self.restart_count = 0
        # a container that does not run (see POD_FAULTS): its state, and the
        # crash loop's last start, exit and next restart
        self.fault = fault
        self.crash_started = self.crash_exit = self.crash_next = None
        self.crash_waiting = False
        if fault == "CrashLoopBackOff":
            self.crash_started = self.created
            self.crash_exit = self.created + 0.5
            self.crash_next = self.crash_exit + 1.0
        self.rv = 0
        self.ip = "10.128.%d.%d" % (random.randint(0, 255), random.randint(2, 254))

    def alive(self):
        return self.proc is not None and self.exit_code is None and not self.fault


class ReplicaSet:
    def __init__(self, dep, h, template, replicas):
        self.dep = dep
        self.hash = h
        self.name = "%s-%s" % (dep.name, h)
        self.uid = str(uuid.uuid4())
        self.template = copy.deepcopy(template)
        self.replicas = replicas


class Deployment:
    def __init__(self, cfg, ns):
        self.name = cfg["name"]
        self.worker = bool(cfg.get("worker", False))
        self.queues = cfg.get("queues") or [self.name]
        self.shutdown_seconds = float(cfg.get("shutdownSeconds", 0))     # WORKER_SHUTDOWN_SECONDS
        grace = int(cfg.get("terminationGracePeriodSeconds", 30))
        labels = {"app": self.name}
        labels.update(cfg.get("labels") or {})
        if self.worker:
            args = ["celery", "-A", "etl", "worker", "--concurrency=1", "--autoscale=1,0",
                    "--max-tasks-per-child=1", "--hostname=%s@%%h" % self.name,
                    "--queues=%s" % ",".join(self.queues)]
            image = cfg.get("image", "registry.cern.ch/cmsdials/etl-worker:1.4.2")
        else:
            args = ["sleep", "infinity"]
            image = cfg.get("image", "registry.cern.ch/cmsdials/%s:1.4.2" % self.name)
        self.created = time.time()
        self.metadata = {
            "name": self.name,
            "namespace": ns,
            "uid": str(uuid.uuid4()),
            "resourceVersion": "0",
            "generation": 1,
            "creationTimestamp": now_rfc3339(self.created),
            "labels": labels,
            "annotations": {"deployment.kubernetes.io/revision": "1"},
        }
        self.spec = {
            "replicas": int(cfg.get("replicas", 1)),
            "selector": {"matchLabels": {"app": self.name}},
            "template": {
                "metadata": {"creationTimestamp": None, "labels": {"app": self.name}},
                "spec": {
                    "containers": [{
                        "name": cfg.get("container", "worker" if self.worker else self.name),
                        "image": image,
                        "args": args,
                        "resources": {},
                        "terminationMessagePath": "/dev/termination-log",
                        "terminationMessagePolicy": "File",
                        "imagePullPolicy": "IfNotPresent",
                    }],
                    "restartPolicy": "Always",
                    "terminationGracePeriodSeconds": grace,
                    "dnsPolicy": "ClusterFirst",
                    "securityContext": {},
                    "schedulerName": "default-scheduler",
                },
            },
            "strategy": {"type": "RollingUpdate",
                         "rollingUpdate": {"maxUnavailable": "25%", "maxSurge": "25%"}},
            "revisionHistoryLimit": 10,
            "progressDeadlineSeconds": int(cfg.get("progressDeadlineSeconds", 600)),
        }
        self.status = {}
        self.observed_generation = 0
        self.generation_changed_at = self.created
        self.progress_at = self.created
        self.rs = {}            # hash -> ReplicaSet
        self.revision = 0
        self.cond_progressing = None
        self.last_counts = None
        self.paused_seen = False

    def render(self, with_kind=True):
        o = {}
        if with_kind:
            o["kind"] = "Deployment"
            o["apiVersion"] = "apps/v1"
        o["metadata"] = copy.deepcopy(self.metadata)
        o["spec"] = copy.deepcopy(self.spec)
        o["status"] = copy.deepcopy(self.status)
        return o


class Cluster:
    def __init__(self, args, cfg):
        self.args = args
        self.ns = args.namespace
        self.lock = threading.RLock()
        self.cond = threading.Condition(self.lock)
        self.rv = 1000
        self.events = []          # (rv, resource, ns, type, obj)
        self.event_rvs = []
        self.deployments = {}
        self.pods = []            # live pods (incl. terminating, failed-not-yet-removed)
        self.gone_pods = []       # history for /_test/pods?all=1
        self.broken = set()
        self.pod_faults = {}      # deployment -> state its new pods get
        self.stopping = False
        self.pod_dir = os.path.join(args.cert_dir, "pods")
        os.makedirs(self.pod_dir, exist_ok=True)
        self.all_ready_once = False
        for d in cfg.get("deployments", []):
            dep = Deployment(d, self.ns)
            self.deployments[dep.name] = dep
            self.bump_dep(dep, "ADDED")

    # ---- resource versions & events ----
    def next_rv(self):
        self.rv += 1
        return self.rv

    def emit(self, resource, typ, obj, rv):
        with self.cond:
            self.events.append((rv, resource, self.ns, typ, obj))
            self.event_rvs.append(rv)
            self.cond.notify_all()

    def bump_dep(self, dep, typ="MODIFIED"):
        rv = self.next_rv()
        dep.metadata["resourceVersion"] = str(rv)
        self.emit("deployments", typ, dep.render(), rv)

    def bump_pod(self, pod, typ="MODIFIED"):
        pod.rv = self.next_rv()
        self.emit("pods", typ, self.render_pod(pod), pod.rv)

    # ---- pods ----
    def render_pod(self, pod, with_kind=True):
        tmpl = pod.rs.template
        tspec = tmpl["spec"]
        c0 = tspec["containers"][0]
        md = {
            "name": pod.name,
            "generateName": pod.rs.name + "-",
            "namespace": self.ns,
            "uid": pod.uid,
            "resourceVersion": str(pod.rv),
            "creationTimestamp": now_rfc3339(pod.created),
            "labels": dict(tmpl["metadata"].get("labels") or {}, **{"pod-template-hash": pod.rs.hash}),
        }
        ann = tmpl["metadata"].get("annotations")
        if ann:
            md["annotations"] = dict(ann)
        if pod.terminating:
            grace = tspec.get("terminationGracePeriodSeconds", 30)
            md["deletionTimestamp"] = now_rfc3339(pod.deletion_requested + grace)
            md["deletionGracePeriodSeconds"] = grace
        md["ownerReferences"] = [{"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": pod.rs.name,
                                  "uid": pod.rs.uid, "controller": True, "blockOwnerDeletion": True}]
        spec = copy.deepcopy(tspec)
        spec["nodeName"] = "worker-node-1.cms-dials.cern.ch"
        spec["serviceAccountName"] = SERVICE_ACCOUNT
        spec["serviceAccount"] = SERVICE_ACCOUNT
        spec["enableServiceLinks"] = True
        spec["priority"] = 0
        ready = pod.ready and not pod.terminating
        running = pod.alive()
        start = now_rfc3339(pod.started_at or pod.created)

        def cond(t, ok, ts):
            return {"type": t, "status": "True" if ok else "False", "lastProbeTime": None,
                    "lastTransitionTime": now_rfc3339(ts)}
        ready_ts = pod.ready_at if ready else (pod.deletion_requested or pod.failed_at or pod.created)
        conditions = [
            cond("PodReadyToStartContainers", running, pod.started_at or pod.created),
            cond("Initialized", True, pod.created),
            cond("Ready", ready, ready_ts),
            cond("ContainersReady", ready, ready_ts),
            cond("PodScheduled", True, pod.created),
        ]
        for c in conditions:
            if c["type"] in ("Ready", "ContainersReady") and not ready:
                c["reason"] = "ContainersNotReady"
                c["message"] = "containers with unready status: [%s]" % c0["name"]
        cs = {"name": c0["name"], "image": c0["image"],
              "imageID": c0["image"].rsplit(":", 1)[0] + "@sha256:" + hashlib.sha256(c0["image"].encode()).hexdigest(),
              "containerID": "cri-o://" + hashlib.sha256(pod.uid.encode()).hexdigest(),
              "ready": ready, "restartCount": pod.restart_count, "started": running}
        if running:
            cs["state"] = {"running": {"startedAt": start}}
        elif pod.exit_code is not None:
            code = pod.exit_code if pod.exit_code >= 0 else 128 - pod.exit_code
            cs["state"] = {"terminated": {"exitCode": code, "reason": "Completed" if code == 0 else "Error",
                                          "startedAt": start, "finishedAt": now_rfc3339(pod.exited_at),
                                          "containerID": cs["containerID"]}}
        else:
            cs["state"] = {"waiting": {"reason": "ContainerCreating"}}
        phase = "Running" if pod.proc is not None else "Pending"
        if pod.exit_code is not None and not pod.terminating:
            phase = "Failed"
        status = {"phase": phase, "conditions": conditions, "hostIP": "10.0.0.11",
                  "hostIPs": [{"ip": "10.0.0.11"}], "podIP": pod.ip, "podIPs": [{"ip": pod.ip}],
                  "startTime": now_rfc3339(pod.created), "containerStatuses": [cs], "qosClass": "BestEffort"}
        if pod.fault:
            self.render_fault(pod, spec, status, cs)
        o = {}
        if with_kind:
            o["kind"] = "Pod"
            o["apiVersion"] = "v1"
        o.update({"metadata": md, "spec": spec, "status": status})
        return o

    def render_fault(self, pod, spec, status, cs):
        """The status of a pod whose container does not run (POD_FAULTS)."""
        t = time.time()
        conds = {c["type"]: c for c in status["conditions"]}
        c0 = spec["containers"][0]
        if pod.fault == "Pending":
            spec.pop("nodeName", None)
            status.clear()
            status.update({"phase": "Pending", "conditions": [{
                "type": "PodScheduled", "status": "False", "lastProbeTime": None,
                "lastTransitionTime": now_rfc3339(pod.created), "reason": "Unschedulable",
                "message": "0/3 nodes are available: 3 Insufficient memory. preemption: 0/3 nodes are "
                           "available: 3 No preemption victims found for incoming pod."}],
                "qosClass": "BestEffort"})
            return
        cs["ready"] = cs["started"] = False
        conds["PodReadyToStartContainers"]["status"] = "True"       # the sandbox runs
        if pod.fault in ("ContainerCreating", "ImagePullBackOff"):
            status["phase"] = "Pending"
            cs["imageID"] = ""
            cs.pop("containerID", None)
            cs["restartCount"] = 0
            if pod.fault == "ContainerCreating":
                conds["PodReadyToStartContainers"]["status"] = "False"
                for k in ("podIP", "podIPs"):
                    status.pop(k, None)
                cs["state"] = {"waiting": {"reason": "ContainerCreating"}}
            elif not pod.crash_waiting:
                cs["state"] = {"waiting": {"reason": "ErrImagePull", "message": (
                    "initializing source docker://%s: reading manifest %s in %s: manifest unknown"
                    % (c0["image"], c0["image"].rsplit(":", 1)[-1], c0["image"].rsplit(":", 1)[0]))}}
            else:
                cs["state"] = {"waiting": {"reason": "ImagePullBackOff",
                                           "message": 'Back-off pulling image "%s"' % c0["image"]}}
            return
        # CrashLoopBackOff: the pod runs, its container keeps exiting with status 1
        status["phase"] = "Running"
        exited = {"terminated": {"exitCode": 1, "reason": "Error",
                                 "startedAt": now_rfc3339(pod.crash_started),
                                 "finishedAt": now_rfc3339(pod.crash_exit), "containerID": cs["containerID"]}}
        if pod.crash_waiting:
            back = min(300, CRASH_BACKOFF * 2 ** max(0, pod.restart_count - 1))
            cs["state"] = {"waiting": {"reason": "CrashLoopBackOff", "message": (
                "back-off %ds restarting failed container=%s pod=%s_%s(%s)"
                % (back, c0["name"], pod.name, self.ns, pod.uid))}}
            cs["lastState"] = exited
        else:
            cs["state"] = exited

    def crash_loop(self, pod, t):
        """kubelet restarting a crashing container in place."""
        if pod.terminating:
            return
        if not pod.crash_waiting and t - pod.crash_exit >= 1.0:
            pod.crash_waiting = True
            self.bump_pod(pod)
        if t >= pod.crash_next:
            pod.restart_count += 1
            pod.crash_started = pod.crash_exit = t      # starts and exits at once
            pod.crash_next = t + min(300, CRASH_BACKOFF * 2 ** (pod.restart_count - 1))
            pod.crash_waiting = False
            self.bump_pod(pod)

    def set_fault(self, pod, fault):
        """An existing pod's container starts crashing: its process is killed, kubelet
        restarts it in place (CrashLoopBackOff)."""
        self.killpg(pod)
        if pod.proc is not None:
            try:
                pod.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                pass
        t = time.time()
        pod.fault = fault
        pod.ready = False
        pod.crash_started = pod.started_at or pod.created
        pod.crash_exit = t
        pod.crash_next = t + 1.0
        pod.crash_waiting = False
        log("pod %s: container crashing (%s)" % (pod.name, fault))
        self.bump_pod(pod)

    def spawn(self, pod):
        """Start the pod's process. Only ever called from the controller thread
        (PR_SET_PDEATHSIG is tied to the forking thread)."""
        if pod.fault:
            log("pod %s created (%s)" % (pod.name, pod.fault))
            return
        pod.log_path = os.path.join(self.pod_dir, pod.name + ".log")
        logf = open(pod.log_path, "ab")
        env = dict(os.environ)
        env["BROKER_URL"] = self.args.broker_url
        env["HOSTNAME"] = pod.name
        env["PYTHONUNBUFFERED"] = "1"
        env["WORKER_SHUTDOWN_SECONDS"] = repr(pod.dep.shutdown_seconds)
        if pod.dep.worker and not pod.broken:
            cmd = ["/usr/bin/python3", "-m", "celery", "-A", "etl", "worker", "--concurrency=1",
                   "--autoscale=1,0", "--max-tasks-per-child=1", "--hostname=%s" % pod.hostname,
                   "--queues=%s" % ",".join(pod.dep.queues), "-E", "-l", "INFO",
                   "--without-gossip", "--without-mingle"]
        else:
            cmd = ["/bin/sleep", "1000000"]
        if os.path.exists("/usr/bin/setpriv"):
            cmd = ["/usr/bin/setpriv", "--pdeathsig", "KILL", "--"] + cmd
        pod.proc = subprocess.Popen(cmd, cwd=WORLD_DIR, env=env, stdin=subprocess.DEVNULL,
                                    stdout=logf, stderr=subprocess.STDOUT, start_new_session=True,
                                    close_fds=True)
        logf.close()
        pod.pid = pod.proc.pid
        pod.started_at = time.time()
        log("pod %s started pid %d%s" % (pod.name, pod.pid, " (broken)" if pod.broken else ""))
        if not pod.dep.worker and not pod.broken:
            pod.ready = True
            pod.ready_at = time.time()

    def check_ready(self, pod):
        if pod.ready or pod.broken or not pod.dep.worker or not pod.alive():
            return False
        try:
            with open(pod.log_path, "rb") as f:
                f.seek(max(0, pod.log_off - 64))
                data = f.read()
                pod.log_off = f.tell()
        except OSError:
            return False
        if (pod.hostname + " ready.").encode() in data:
            pod.ready = True
            pod.ready_at = time.time()
            log("pod %s ready" % pod.name)
            return True
        return False

    def terminate_pod(self, pod):
        if pod.terminating:
            return
        pod.terminating = True
        pod.deletion_requested = time.time()
        grace = pod.rs.template["spec"].get("terminationGracePeriodSeconds", 30)
        pod.kill_at = pod.deletion_requested + grace
        if pod.alive():
            try:
                os.kill(pod.pid, signal.SIGTERM)
                pod.sigtermed = True
            except ProcessLookupError:
                pass
        log("pod %s terminating (SIGTERM, grace %ss)" % (pod.name, grace))
        self.bump_pod(pod)

    def killpg(self, pod, sig=signal.SIGKILL):
        if pod.pid:
            try:
                os.killpg(pod.pid, sig)
            except (ProcessLookupError, PermissionError):
                pass

    def remove_pod(self, pod):
        self.killpg(pod)          # leftovers of the container (pool children)
        pod.deleted_at = time.time()
        self.pods.remove(pod)
        self.gone_pods.append(pod)
        self.bump_pod(pod, "DELETED")
        log("pod %s deleted (exit %s%s)" % (pod.name, pod.exit_code, ", SIGKILLed after grace" if pod.sigkilled else ""))

    # ---- controller ----
    def dep_pods(self, dep):
        return [p for p in self.pods if p.dep is dep]

    def rs_active(self, rs):
        return [p for p in self.pods if p.rs is rs and not p.terminating]

    def rs_available(self, rs):
        return [p for p in self.rs_active(rs) if p.ready and p.exit_code is None]

    def tick(self):
        with self.lock:
            if self.stopping:
                return
            t = time.time()
            for dep in self.deployments.values():
                h = template_hash(dep.spec["template"])   # the current template's ReplicaSet
                self.pod_lifecycle(dep, t)
                if dep.metadata["generation"] > dep.observed_generation:
                    if t - dep.generation_changed_at >= OBSERVE_DELAY or dep.observed_generation == 0:
                        self.reconcile_deployment(dep, h, t, observe=True)
                else:
                    self.reconcile_deployment(dep, h, t, observe=False)
                self.reconcile_replicasets(dep)
                self.update_status(dep, h, t)
            if not self.all_ready_once and all(
                    d.status.get("availableReplicas", 0) >= d.spec["replicas"]
                    and d.status.get("replicas", 0) == d.spec["replicas"] for d in self.deployments.values()):
                self.all_ready_once = True
                self.write_ready_file()

    def write_ready_file(self):
        if self.args.ready_file:
            tmp = self.args.ready_file + ".tmp"
            with open(tmp, "w") as f:
                f.write("%d\n" % self.args.port)
            os.rename(tmp, self.args.ready_file)
            log("all initial pods ready; wrote %s" % self.args.ready_file)

    def pod_lifecycle(self, dep, t):
        for pod in list(self.dep_pods(dep)):
            if pod.fault:
                if pod.terminating:       # no container runs: nothing to stop
                    pod.exit_code = 0 if pod.exit_code is None else pod.exit_code
                    pod.exited_at = pod.exited_at or t
                    self.remove_pod(pod)
                elif pod.fault == "CrashLoopBackOff":
                    self.crash_loop(pod, t)
                elif pod.fault == "ImagePullBackOff" and not pod.crash_waiting and t - pod.created >= 2:
                    pod.crash_waiting = True      # ErrImagePull -> ImagePullBackOff
                    self.bump_pod(pod)
                continue
            if pod.proc is not None and pod.exit_code is None:
                rc = pod.proc.poll()
                if rc is not None:
                    pod.exit_code = rc
                    pod.exited_at = t
                    if not pod.terminating:
                        pod.failed_at = t
                        pod.ready = False
                        log("pod %s process died on its own (rc %s)" % (pod.name, rc))
                    self.bump_pod(pod)
            if self.check_ready(pod):
                if not pod.terminating:
                    dep.progress_at = t
                self.bump_pod(pod)
            if pod.terminating and pod.exit_code is None and pod.kill_at is not None and t >= pod.kill_at:
                pod.sigkilled = True
                log("pod %s still alive after grace: SIGKILL" % pod.name)
                self.killpg(pod)
                pod.kill_at = None
            if pod.terminating and pod.exit_code is not None:
                self.remove_pod(pod)
            elif pod.failed_at is not None and t - pod.failed_at >= REPLACE_DELAY:
                self.remove_pod(pod)   # the ReplicaSet then creates a replacement

    def reconcile_deployment(self, dep, h, t, observe):
        tmpl = dep.spec["template"]
        replicas = dep.spec["replicas"]
        new = dep.rs.get(h)
        changed = False
        if dep.spec.get("paused") and dep.rs:
            # the controller's sync() for a paused Deployment: the generation is
            # observed, no ReplicaSet is created for a new template, nothing rolls out
            if observe:
                dep.observed_generation = dep.metadata["generation"]
            dep.paused_seen = True
            return
        if dep.paused_seen:
            dep.paused_seen = False          # resumed: the progress deadline starts again
            dep.progress_at = t
        if new is None:
            first = not dep.rs
            new = ReplicaSet(dep, h, tmpl, replicas if first else 0)
            dep.rs[h] = new
            dep.revision += 1
            dep.metadata["annotations"]["deployment.kubernetes.io/revision"] = str(dep.revision)
            dep.progress_at = t
            changed = True
        if observe:
            dep.observed_generation = dep.metadata["generation"]
            dep.progress_at = max(dep.progress_at, dep.generation_changed_at)
            changed = True
        olds = [rs for hh, rs in dep.rs.items() if hh != h]
        max_surge = scaled_value(dep.spec["strategy"]["rollingUpdate"]["maxSurge"], replicas, True)
        max_unavail = scaled_value(dep.spec["strategy"]["rollingUpdate"]["maxUnavailable"], replicas, False)
        if max_surge == 0 and max_unavail == 0:
            max_unavail = 1
        # reconcileNewReplicaSet
        if new.replicas > replicas:
            new.replicas = replicas
            dep.progress_at = t
        elif new.replicas < replicas:
            current = sum(rs.replicas for rs in dep.rs.values())
            up = min(replicas + max_surge - current, replicas - new.replicas)
            if up > 0:
                new.replicas += up
                dep.progress_at = t
        # reconcileOldReplicaSets
        old_count = sum(rs.replicas for rs in olds)
        if old_count > 0:
            all_count = sum(rs.replicas for rs in dep.rs.values())
            min_avail = replicas - max_unavail
            new_unavail = new.replicas - len(self.rs_available(new))
            max_down = all_count - min_avail - new_unavail
            if max_down > 0:
                # cleanupUnhealthyReplicas
                for rs in olds:
                    if max_down <= 0:
                        break
                    unhealthy = rs.replicas - len(self.rs_available(rs))
                    d = min(unhealthy, max_down, rs.replicas)
                    if d > 0:
                        rs.replicas -= d
                        max_down -= d
                        dep.progress_at = t
                # scaleDownOldReplicaSetsForRollingUpdate
                avail = sum(len(self.rs_available(rs)) for rs in dep.rs.values())
                total_down = avail - min_avail
                for rs in olds:
                    if total_down <= 0:
                        break
                    d = min(rs.replicas, total_down)
                    if d > 0:
                        rs.replicas -= d
                        total_down -= d
                        dep.progress_at = t

    def reconcile_replicasets(self, dep):
        for rs in list(dep.rs.values()):
            active = self.rs_active(rs)
            if len(active) < rs.replicas:
                for _ in range(rs.replicas - len(active)):
                    pod = Pod(dep, rs, broken=dep.name in self.broken,
                              fault=self.pod_faults.get(dep.name))
                    self.pods.append(pod)
                    try:
                        self.spawn(pod)
                    except OSError as e:
                        log("spawn failed: %s" % e)
                    self.bump_pod(pod, "ADDED")
            elif len(active) > rs.replicas:
                # delete not-ready first, then the newest
                victims = sorted(active, key=lambda p: (p.ready, -p.created))
                for pod in victims[:len(active) - rs.replicas]:
                    self.terminate_pod(pod)

    def update_status(self, dep, h, t):
        new = dep.rs.get(h)
        replicas = dep.spec["replicas"]
        pods = self.dep_pods(dep)
        # the ReplicaSet controller counts active pods only (FilterActivePods): a pod
        # being deleted is no replica, so a rollout is done while old pods terminate
        total = sum(1 for p in pods if not p.terminating)
        updated = len(self.rs_active(new)) if new else 0
        ready = sum(1 for p in pods if p.ready and not p.terminating and p.exit_code is None)
        available = ready
        counts = (total, updated, ready, available, dep.observed_generation)
        if dep.last_counts is not None and counts != dep.last_counts:
            dep.progress_at = max(dep.progress_at, t)
        dep.last_counts = counts
        max_unavail = scaled_value(dep.spec["strategy"]["rollingUpdate"]["maxUnavailable"], replicas, False)
        rs_name = new.name if new else dep.name
        # Available condition
        if available >= replicas - max_unavail:
            av = ("True", "MinimumReplicasAvailable", "Deployment has minimum availability.")
        else:
            av = ("False", "MinimumReplicasUnavailable", "Deployment does not have minimum availability.")
        complete = (updated == replicas and total == replicas and available == replicas
                    and dep.observed_generation >= dep.metadata["generation"])
        if dep.spec.get("paused"):
            pr = ("Unknown", "DeploymentPaused", "Deployment is paused")
        elif complete:
            pr = ("True", "NewReplicaSetAvailable", 'ReplicaSet "%s" has successfully progressed.' % rs_name)
        elif t - dep.progress_at > dep.spec.get("progressDeadlineSeconds", 600):
            pr = ("False", "ProgressDeadlineExceeded", 'ReplicaSet "%s" has timed out progressing.' % rs_name)
        else:
            pr = ("True", "ReplicaSetUpdated", 'ReplicaSet "%s" is progressing.' % rs_name)
        conds = dep.status.get("conditions") or []
        old = {c["type"]: c for c in conds}

        def mk(typ, tup, progress_update):
            prev = old.get(typ)
            c = {"type": typ, "status": tup[0], "lastUpdateTime": now_rfc3339(t),
                 "lastTransitionTime": now_rfc3339(t), "reason": tup[1], "message": tup[2]}
            if prev is not None:
                if prev["status"] == tup[0]:
                    c["lastTransitionTime"] = prev["lastTransitionTime"]
                if prev["status"] == tup[0] and prev["reason"] == tup[1] and prev["message"] == tup[2] \
                        and not progress_update:
                    c["lastUpdateTime"] = prev["lastUpdateTime"]
            return c
        progressed = dep.cond_progressing is None or dep.progress_at > dep.cond_progressing
        new_conds = [mk("Available", av, False),
                     mk("Progressing", pr, progressed and pr[1] == "ReplicaSetUpdated")]
        dep.cond_progressing = dep.progress_at
        status = {"observedGeneration": dep.observed_generation, "replicas": total,
                  "updatedReplicas": updated, "readyReplicas": ready, "availableReplicas": available}
        if total - available > 0:
            status["unavailableReplicas"] = total - available
        for k in ("replicas", "updatedReplicas", "readyReplicas", "availableReplicas"):
            if status[k] == 0:
                del status[k]
        status["conditions"] = new_conds
        if status != dep.status:
            dep.status = status
            self.bump_dep(dep)

    def run_controller(self):
        while not self.stopping:
            try:
                self.tick()
            except Exception as e:  # keep the controller alive, but say so
                import traceback
                traceback.print_exc()
                log("controller error: %s" % e)
            time.sleep(TICK)

    def shutdown_pods(self):
        with self.lock:
            self.stopping = True
            pods = list(self.pods)
        for p in pods:
            if p.alive():
                try:
                    os.kill(p.pid, signal.SIGTERM)
                except ProcessLookupError:
                    pass
        deadline = time.time() + 3
        while time.time() < deadline and any(p.proc and p.proc.poll() is None for p in pods):
            time.sleep(0.05)
        for p in pods + self.gone_pods:
            self.killpg(p)
            if p.proc:
                try:
                    p.proc.wait(timeout=1)
                except Exception:
                    pass

    def kill_all_now(self):
        for p in list(self.pods) + list(self.gone_pods):
            self.killpg(p)


# --------------------------------------------------------------------------
# HTTP
# --------------------------------------------------------------------------

class Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 64

    def finish_request(self, request, client_address):
        # One port for HTTPS (API) and plain HTTP (/_test/ control): peek the first byte.
        try:
            request.settimeout(10)
            first = request.recv(1, socket.MSG_PEEK)
            if not first:
                return
            if first[0] == 0x16:
                request = self.ssl_ctx.wrap_socket(request, server_side=True)
            request.settimeout(None)
        except (OSError, ssl.SSLError) as e:
            log("connection from %s dropped: %s" % (client_address, e))
            try:
                request.close()
            except OSError:
                pass
            return
        self.RequestHandlerClass(request, client_address, self)

    def handle_error(self, request, client_address):
        exc = sys.exc_info()[1]
        if isinstance(exc, (BrokenPipeError, ConnectionResetError, ssl.SSLError, socket.timeout)):
            return
        super().handle_error(request, client_address)


def label_selector_fn(sel):
    """Equality-based label selector: k=v, k==v, k!=v, k, !k, comma-AND."""
    if not sel:
        return lambda labels: True
    terms = []
    for part in sel.split(","):
        part = part.strip()
        if not part:
            continue
        if "!=" in part:
            k, v = part.split("!=", 1)
            terms.append(("ne", k.strip(), v.strip()))
        elif "==" in part:
            k, v = part.split("==", 1)
            terms.append(("eq", k.strip(), v.strip()))
        elif "=" in part:
            k, v = part.split("=", 1)
            terms.append(("eq", k.strip(), v.strip()))
        elif part.startswith("!"):
            terms.append(("absent", part[1:].strip(), None))
        elif " in " in part or " notin " in part or "(" in part:
            raise ValueError("unable to parse requirement: %s" % part)
        else:
            terms.append(("exists", part, None))

    def f(labels):
        labels = labels or {}
        for op, k, v in terms:
            if op == "eq" and labels.get(k) != v:
                return False
            if op == "ne" and labels.get(k) == v:
                return False
            if op == "exists" and k not in labels:
                return False
            if op == "absent" and k in labels:
                return False
        return True
    return f


def field_selector_fn(sel, resource):
    if not sel:
        return lambda obj: True
    terms = []
    for part in sel.split(","):
        if not part:
            continue
        neg = "!=" in part
        k, v = part.split("!=" if neg else ("==" if "==" in part else "="), 1)
        k = k.strip()
        allowed = {"metadata.name", "metadata.namespace"}
        if resource == "pods":
            allowed |= {"status.phase", "spec.nodeName"}
        if k not in allowed:
            raise ValueError('"%s" is not a known field selector: only "metadata.name", "metadata.namespace"' % k)
        terms.append((k, v.strip(), neg))

    def get(obj, path):
        for p in path.split("."):
            obj = (obj or {}).get(p)
        return obj

    def f(obj):
        for k, v, neg in terms:
            if (get(obj, k) == v) == neg:
                return False
        return True
    return f


def human_age(ts):
    try:
        t = datetime.datetime.strptime(ts, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=datetime.timezone.utc).timestamp()
    except (TypeError, ValueError):
        return "<unknown>"
    d = max(0, int(time.time() - t))
    if d < 120:
        return "%ds" % d
    if d < 600:
        return "%dm%ds" % (d // 60, d % 60) if d % 60 else "%dm" % (d // 60)
    if d < 3 * 3600:
        return "%dm" % (d // 60)
    return "%dh" % (d // 3600)


def pod_columns(o):
    """READY, STATUS and RESTARTS of a pod as kube-apiserver's table printer renders them
    (printPod, k8s.io/kubernetes/pkg/printers/internalversion/printers.go; no init containers)."""
    st = o["status"]
    cstats = st.get("containerStatuses") or []
    reason = st.get("reason") or st.get("phase") or "Unknown"
    restarts, ready, running, last = 0, 0, False, None
    for c in reversed(cstats):
        restarts += c.get("restartCount", 0)
        lt = (c.get("lastState") or {}).get("terminated")
        if lt and lt.get("finishedAt"):
            last = max(last or "", lt["finishedAt"])
        state = c.get("state") or {}
        w, term = state.get("waiting"), state.get("terminated")
        if w and w.get("reason"):
            reason = w["reason"]
        elif term and term.get("reason"):
            reason = term["reason"]
        elif term:
            reason = "Signal:%d" % term["signal"] if term.get("signal") else "ExitCode:%d" % term.get("exitCode", 0)
        elif c.get("ready") and "running" in state:
            running = True
            ready += 1
    if reason == "Completed" and running:
        reason = "Running"
    if o["metadata"].get("deletionTimestamp"):
        reason = "Terminating"
    rs = str(restarts)
    if last is not None:
        rs = "%d (%s ago)" % (restarts, human_age(last))
    return "%d/%d" % (ready, len(o["spec"]["containers"])), reason, rs


def table(resource, items, rv):
    """meta.k8s.io/v1 Table, what `kubectl get` asks for (Accept: ...;as=Table)."""
    def col(name, typ="string", fmt="", prio=0, desc=""):
        return {"name": name, "type": typ, "format": fmt, "description": desc or name, "priority": prio}
    rows = []
    if resource == "deployments":
        cols = [col("Name", fmt="name"), col("Ready"), col("Up-to-date", "string"), col("Available", "string"),
                col("Age"), col("Containers", prio=1), col("Images", prio=1), col("Selector", prio=1)]
        for o in items:
            st, sp = o["status"], o["spec"]
            cs = sp["template"]["spec"]["containers"]
            rows.append([o["metadata"]["name"], "%d/%d" % (st.get("readyReplicas", 0), sp["replicas"]),
                         st.get("updatedReplicas", 0), st.get("availableReplicas", 0),
                         human_age(o["metadata"]["creationTimestamp"]), ",".join(c["name"] for c in cs),
                         ",".join(c["image"] for c in cs),
                         ",".join("%s=%s" % kv for kv in sp["selector"]["matchLabels"].items())])
    else:
        cols = [col("Name", fmt="name"), col("Ready"), col("Status"), col("Restarts", "string"), col("Age"),
                col("IP", prio=1), col("Node", prio=1), col("Nominated Node", prio=1),
                col("Readiness Gates", prio=1)]
        for o in items:
            st = o["status"]
            ready, status, restarts = pod_columns(o)
            rows.append([o["metadata"]["name"], ready, status, restarts,
                         human_age(o["metadata"]["creationTimestamp"]),
                         st.get("podIP", "<none>"), o["spec"].get("nodeName", "<none>"), "<none>", "<none>"])
    out = []
    for o, cells in zip(items, rows):
        md = copy.deepcopy(o["metadata"])
        out.append({"cells": cells, "object": {"kind": "PartialObjectMetadata", "apiVersion": "meta.k8s.io/v1",
                                               "metadata": md}})
    return {"kind": "Table", "apiVersion": "meta.k8s.io/v1", "metadata": {"resourceVersion": str(rv)},
            "columnDefinitions": cols, "rows": out}


def make_handler(cluster, state):
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        server_version = "kube-apiserver-double"
        sys_version = ""

        def log_message(self, fmt, *a):
            if state.get("verbose"):
                log("%s %s" % (self.address_string(), fmt % a))

        # ---- plumbing ----
        def send_response(self, code, message=None):
            self._status = code
            super().send_response(code, message)

        def read_body(self):
            n = int(self.headers.get("Content-Length") or 0)
            if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
                data = b""
                while True:
                    line = self.rfile.readline()
                    size = int(line.strip().split(b";")[0], 16)
                    if size == 0:
                        self.rfile.readline()
                        break
                    data += self.rfile.read(size)
                    self.rfile.readline()
                return data
            return self.rfile.read(n) if n > 0 else b""

        def send_json(self, code, obj, headers=None):
            data = (json.dumps(obj) + "\n").encode() if not isinstance(obj, bytes) else obj
            self.send_response(code)
            self.send_header("Content-Type", "application/json")
            self.send_header("Audit-Id", str(uuid.uuid4()))
            self.send_header("Cache-Control", "no-cache, private")
            for k, v in (headers or {}).items():
                self.send_header(k, str(v))
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(data)
            self.wfile.flush()

        def send_status(self, st, headers=None):
            self.send_json(st["code"], st, headers)

        def record(self, auth):
            body = self._body.decode("utf-8", "replace") if self._body else ""
            entry = {"t": self._t, "method": self.command, "path": self.path,
                     "content_type": self.headers.get("Content-Type"), "body": body, "auth": auth,
                     "status": getattr(self, "_status", None),
                     "accept": self.headers.get("Accept"), "user_agent": self.headers.get("User-Agent")}
            with state["lock"]:
                state["requests"].append(entry)

        def do_GET(self):
            self.dispatch()

        do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = do_OPTIONS = do_GET

        # ---- auth ----
        def authenticate(self):
            """-> (kind, user) or (None, None)."""
            h = self.headers.get("Authorization")
            if h:
                parts = h.split(None, 1)
                if len(parts) == 2 and parts[0].lower() == "bearer":
                    with state["lock"]:
                        tok = state["token"]
                    if parts[1].strip() == tok:
                        return "bearer", "system:serviceaccount:%s:%s" % (cluster.ns, SERVICE_ACCOUNT)
                return None, None
            if isinstance(self.connection, ssl.SSLSocket):
                try:
                    cert = self.connection.getpeercert()
                except (ValueError, ssl.SSLError):
                    cert = None
                if cert:
                    cn = "unknown"
                    for rdn in cert.get("subject", ()):
                        for k, v in rdn:
                            if k == "commonName":
                                cn = v
                    return "cert", cn
            return None, None

        def auth_kind_for_log(self):
            h = self.headers.get("Authorization")
            if h:
                return "bearer" if h.lower().startswith("bearer") else "other"
            if isinstance(self.connection, ssl.SSLSocket):
                try:
                    if self.connection.getpeercert():
                        return "cert"
                except (ValueError, ssl.SSLError):
                    pass
            return "none"

        # ---- dispatch ----
        def dispatch(self):
            self._t = time.time()
            self._status = None
            self._recorded = False
            try:
                self._body = self.read_body()
            except (ValueError, OSError):
                self._body = b""
                self.send_status(st_bad_request("unable to read request body"))
                self.close_connection = True
                return
            u = urlsplit(self.path)
            self._q = {k: v[-1] for k, v in parse_qs(u.query, keep_blank_values=True).items()}
            if u.path.startswith("/_test/") or u.path == "/_test":
                try:
                    self.test_api(u.path)
                except Exception as e:
                    self.send_json(500, {"error": repr(e)})
                return
            auth_log = self.auth_kind_for_log()
            try:
                self.api(u)
            except (BrokenPipeError, ConnectionResetError):
                self.close_connection = True
            except Exception as e:
                import traceback
                traceback.print_exc()
                if self._status is None:
                    self.send_status(st_internal(repr(e)))
            finally:
                if not getattr(self, "_recorded", False):
                    self.record(auth_log)

        def api(self, u):
            kind, user = self.authenticate()
            if kind is None:
                self.send_status(st_unauthorized())
                return
            path = u.path.rstrip("/") or "/"
            segs = [unquote(s) for s in path.split("/") if s]
            m = self.command
            # discovery
            disc = self.discovery(path)
            if disc is not None:
                if m not in ("GET", "HEAD"):
                    self.send_status(st_method_not_allowed())
                else:
                    self.send_json(200, disc)
                return
            if path in ("/healthz", "/readyz", "/livez"):
                data = b"ok"
                self.send_response(200)
                self.send_header("Content-Type", "text/plain; charset=utf-8")
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(data)
                return
            # resource routing
            group, resource, ns, name, sub = None, None, None, None, None
            if segs[:3] == ["apis", "apps", "v1"]:
                group, rest = "apps", segs[3:]
            elif segs[:2] == ["api", "v1"]:
                group, rest = "", segs[2:]
            else:
                self.send_status(st_path_not_found())
                return
            if rest[:1] == ["namespaces"] and len(rest) >= 3:
                ns, rest = rest[1], rest[2:]
            elif rest[:1] == ["namespaces"] and len(rest) == 2 and group == "":
                # GET /api/v1/namespaces/NS
                return self.namespace_get(rest[1])
            if not rest:
                self.send_status(st_path_not_found())
                return
            resource = rest[0]
            name = rest[1] if len(rest) > 1 else None
            sub = rest[2] if len(rest) > 2 else None
            if len(rest) > 3 or (group == "apps" and resource != "deployments") or \
                    (group == "" and resource != "pods") or sub is not None:
                self.send_status(st_path_not_found())
                return
            # verb
            watch = self._q.get("watch") in ("true", "1")
            if m in ("GET", "HEAD"):
                verb = "watch" if watch else ("get" if name else "list")
            elif m == "PATCH" and name:
                verb = "patch"
            else:
                self.send_status(st_method_not_allowed())
                return
            # forbid mode
            with state["lock"]:
                forbidden = any(f["verb"] in (verb, "*") and f["resource"] in (resource, "*")
                                for f in state["forbid"])
            if forbidden:
                self.send_status(st_forbidden(user, verb, resource, group, ns or "", name))
                return
            # faults
            fault = self.take_fault()
            if fault is not None:
                hdr = {}
                if fault.get("retry_after") is not None or fault["status"] == 429:
                    hdr["Retry-After"] = str(int(fault.get("retry_after") or 1))
                self.send_status(st_fault(int(fault["status"]), resource, group, name,
                                          fault.get("retry_after")), hdr)
                return
            if resource == "deployments":
                if verb == "get":
                    return self.dep_get(ns, name)
                if verb == "patch":
                    return self.dep_patch(ns, name)
                return self.do_list("deployments", ns, watch)
            else:
                if verb == "get":
                    return self.pod_get(ns, name)
                if verb == "patch":
                    self.send_status(st_method_not_allowed())
                    return
                return self.do_list("pods", ns, watch)

        def take_fault(self):
            with state["lock"]:
                for f in state["faults"]:
                    if f["count"] <= 0:
                        continue
                    if f.get("method") and f["method"].upper() != self.command:
                        continue
                    if not self.path.startswith(f.get("path_prefix", "")):
                        continue
                    f["count"] -= 1
                    return dict(f)
            return None

        def discovery(self, path):
            if path == "/version":
                return {"major": "1", "minor": "32", "gitVersion": "v1.32.4",
                        "gitCommit": "59526cd4867447956156ae3a602fcbac10a2c335", "gitTreeState": "clean",
                        "buildDate": "2025-04-22T16:02:27Z", "goVersion": "go1.23.6", "compiler": "gc",
                        "platform": "linux/amd64"}
            if path == "/api":
                return {"kind": "APIVersions", "versions": ["v1"], "serverAddressByClientCIDRs": [
                    {"clientCIDR": "0.0.0.0/0", "serverAddress": "127.0.0.1:%d" % state["port"]}]}
            apps_group = {"name": "apps", "versions": [{"groupVersion": "apps/v1", "version": "v1"}],
                          "preferredVersion": {"groupVersion": "apps/v1", "version": "v1"}}
            if path == "/apis":
                return {"kind": "APIGroupList", "apiVersion": "v1", "groups": [apps_group]}
            if path == "/apis/apps":
                return dict({"kind": "APIGroup", "apiVersion": "v1"}, **apps_group)
            if path == "/apis/apps/v1":
                return {"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": "apps/v1",
                        "resources": [{"name": "deployments", "singularName": "deployment", "namespaced": True,
                                       "kind": "Deployment", "verbs": ["get", "list", "patch", "watch"],
                                       "shortNames": ["deploy"], "categories": ["all"],
                                       "storageVersionHash": "8aSe+NMegvE="}]}
            if path == "/api/v1":
                return {"kind": "APIResourceList", "groupVersion": "v1",
                        "resources": [{"name": "pods", "singularName": "pod", "namespaced": True, "kind": "Pod",
                                       "verbs": ["get", "list", "watch"], "shortNames": ["po"],
                                       "categories": ["all"], "storageVersionHash": "xPOwRZ+Yhw8="}]}
            return None

        def namespace_get(self, name):
            if self.command not in ("GET", "HEAD"):
                self.send_status(st_method_not_allowed())
                return
            if name != cluster.ns:
                self.send_status(st_not_found("namespaces", "", name))
                return
            self.send_json(200, {"kind": "Namespace", "apiVersion": "v1",
                                 "metadata": {"name": name, "uid": "5b0c43a2-5f5d-4e7c-9d3e-7b0a1c2d3e4f",
                                              "resourceVersion": "42", "creationTimestamp": "2024-01-01T00:00:00Z",
                                              "labels": {"kubernetes.io/metadata.name": name}},
                                 "spec": {"finalizers": ["kubernetes"]}, "status": {"phase": "Active"}})

        # ---- deployments ----
        def dep_get(self, ns, name):
            with cluster.lock:
                dep = cluster.deployments.get(name) if ns == cluster.ns else None
                obj = dep.render() if dep else None
            if obj is None:
                self.send_status(st_not_found("deployments", "apps", name))
            elif "as=Table" in (self.headers.get("Accept") or ""):
                self.send_json(200, table("deployments", [obj], obj["metadata"]["resourceVersion"]))
            else:
                self.send_json(200, obj)

        def dep_patch(self, ns, name):
            ct = (self.headers.get("Content-Type") or "").split(";")[0].strip().lower()
            if ct not in ("application/strategic-merge-patch+json", "application/merge-patch+json",
                          "application/json-patch+json"):
                self.send_status(st_unsupported_media(ct))
                return
            try:
                patch = json.loads(self._body.decode("utf-8"))
            except (ValueError, UnicodeDecodeError) as e:
                self.send_status(st_bad_request("error decoding patch: %s" % e))
                return
            if ct == "application/json-patch+json":
                if not isinstance(patch, list):
                    self.send_status(st_bad_request(
                        "json: cannot unmarshal %s into Go value of type jsonpatch.Patch" % type(patch).__name__))
                    return
            elif not isinstance(patch, dict):
                self.send_status(st_bad_request(
                    "json: cannot unmarshal %s into Go value of type map[string]interface {}"
                    % ("array" if isinstance(patch, list) else type(patch).__name__)))
                return
            with cluster.lock:
                dep = cluster.deployments.get(name) if ns == cluster.ns else None
                if dep is None:
                    self.send_status(st_not_found("deployments", "apps", name))
                    return
                cur = dep.render()
                try:
                    if ct == "application/json-patch+json":
                        res = json_patch(cur, patch)
                    else:
                        res = merge_patch(cur, patch)
                except (ValueError, IndexError, KeyError, TypeError) as e:
                    code = 422 if ct == "application/json-patch+json" else 400
                    st = st_bad_request(str(e)) if code == 400 else status_obj(
                        422, "Invalid", str(e))
                    self.send_status(st)
                    return
                if not isinstance(res, dict) or not isinstance(res.get("metadata"), dict) \
                        or not isinstance(res.get("spec"), dict):
                    self.send_status(st_bad_request("the patch produced an invalid object"))
                    return
                md, spec = res["metadata"], res["spec"]
                prv = (patch.get("metadata") or {}).get("resourceVersion") if isinstance(patch, dict) else None
                if prv is not None and str(prv) != dep.metadata["resourceVersion"]:
                    self.send_status(st_conflict("deployments", "apps", name))
                    return
                if md.get("name") != name or md.get("namespace") != ns:
                    self.send_status(st_bad_request("the name of the object (%s) does not match the name on the "
                                                    "URL (%s)" % (md.get("name"), name)))
                    return
                if spec.get("selector") != dep.spec["selector"]:
                    self.send_status(st_invalid("Deployment", "apps", name, "spec.selector",
                                                "Invalid value: %s: field is immutable"
                                                % json.dumps(spec.get("selector"))))
                    return
                tl = ((spec.get("template") or {}).get("metadata") or {}).get("labels") or {}
                if any(tl.get(k) != v for k, v in dep.spec["selector"]["matchLabels"].items()):
                    self.send_status(st_invalid("Deployment", "apps", name, "spec.template.metadata.labels",
                                                "Invalid value: %s: `selector` does not match template `labels`"
                                                % json.dumps(tl)))
                    return
                reps = spec.get("replicas")
                if not isinstance(reps, int) or isinstance(reps, bool) or reps < 0:
                    self.send_status(st_invalid("Deployment", "apps", name, "spec.replicas",
                                                "Invalid value: %s: must be greater than or equal to 0"
                                                % json.dumps(reps)))
                    return
                ann = md.get("annotations")
                if ann is not None and (not isinstance(ann, dict) or
                                        any(not isinstance(v, str) for v in ann.values())):
                    self.send_status(st_bad_request("json: cannot unmarshal into Go struct field "
                                                    "ObjectMeta.metadata.annotations of type string"))
                    return
                tann = ((spec.get("template") or {}).get("metadata") or {}).get("annotations")
                if tann is not None and (not isinstance(tann, dict) or
                                         any(not isinstance(v, str) for v in tann.values())):
                    self.send_status(st_bad_request(
                        "json: cannot unmarshal into Go struct field ObjectMeta.spec.template.metadata."
                        "annotations of type string"))
                    return
                try:
                    containers = spec["template"]["spec"]["containers"]
                    assert isinstance(containers, list) and containers and all(
                        isinstance(c, dict) and c.get("image") and c.get("name") for c in containers)
                except (KeyError, TypeError, AssertionError):
                    self.send_status(st_invalid("Deployment", "apps", name, "spec.template.spec.containers",
                                                "Required value"))
                    return
                if spec.get("paused") is False:
                    del spec["paused"]          # omitempty, as the API server stores it
                spec_changed = spec != dep.spec
                meta_changed = {k: md.get(k) for k in ("labels", "annotations")} != \
                    {k: dep.metadata.get(k) for k in ("labels", "annotations")}
                if spec_changed:
                    dep.spec = spec
                    dep.metadata["generation"] += 1
                    dep.generation_changed_at = time.time()
                if meta_changed:
                    dep.metadata["labels"] = md.get("labels") or {}
                    dep.metadata["annotations"] = md.get("annotations") or {}
                if spec_changed or meta_changed:
                    cluster.bump_dep(dep)
                obj = dep.render()
            self.send_json(200, obj)

        # ---- pods ----
        def pod_get(self, ns, name):
            with cluster.lock:
                pod = next((p for p in cluster.pods if p.name == name), None) if ns == cluster.ns else None
                obj = cluster.render_pod(pod) if pod else None
            if obj is None:
                self.send_status(st_not_found("pods", "", name))
            elif "as=Table" in (self.headers.get("Accept") or ""):
                self.send_json(200, table("pods", [obj], obj["metadata"]["resourceVersion"]))
            else:
                self.send_json(200, obj)

        # ---- list / watch ----
        def current_objects(self, resource):
            if resource == "deployments":
                return [d.render() for _, d in sorted(cluster.deployments.items())]
            return [cluster.render_pod(p) for p in sorted(cluster.pods, key=lambda p: p.name)]

        def do_list(self, resource, ns, watch):
            try:
                lsel = label_selector_fn(self._q.get("labelSelector", ""))
                fsel = field_selector_fn(self._q.get("fieldSelector", ""), resource)
            except ValueError as e:
                self.send_status(st_bad_request(str(e)))
                return

            def match(obj, obj_ns):
                if ns is not None and obj_ns != ns:
                    return False
                return lsel(obj["metadata"].get("labels")) and fsel(obj)
            if watch:
                return self.do_watch(resource, match)
            with cluster.lock:
                items = [o for o in self.current_objects(resource) if match(o, cluster.ns)]
                rv = str(cluster.rv)
            if "as=Table" in (self.headers.get("Accept") or ""):
                return self.send_json(200, table(resource, items, rv))
            for o in items:
                o.pop("kind", None)
                o.pop("apiVersion", None)
            kind, api = ("DeploymentList", "apps/v1") if resource == "deployments" else ("PodList", "v1")
            self.send_json(200, {"kind": kind, "apiVersion": api, "metadata": {"resourceVersion": rv},
                                 "items": items})

        def peer_closed(self):
            # While a watch streams, the client sends nothing: readable means EOF/close_notify.
            try:
                r, _, _ = select.select([self.connection], [], [], 0)
            except (OSError, ValueError):
                return True
            return bool(r)

        def write_chunk(self, data):
            self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
            self.wfile.flush()

        def do_watch(self, resource, match):
            q = self._q
            try:
                timeout = float(q.get("timeoutSeconds") or 1800)
            except ValueError:
                self.send_status(st_bad_request("invalid timeoutSeconds"))
                return
            rv_param = q.get("resourceVersion", "")
            send_initial = q.get("sendInitialEvents") == "true"
            bookmarks = q.get("allowWatchBookmarks") == "true"
            with cluster.lock:
                if rv_param not in ("", "0"):
                    try:
                        start = int(rv_param)
                    except ValueError:
                        self.send_status(st_bad_request('invalid resource version: "%s"' % rv_param))
                        return
                else:
                    start = cluster.rv
                initial = []
                if rv_param in ("", "0") or send_initial:
                    initial = [o for o in self.current_objects(resource) if match(o, cluster.ns)]
                    if send_initial and rv_param not in ("", "0"):
                        start = cluster.rv
                idx = bisect.bisect_right(cluster.event_rvs, start)
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Audit-Id", str(uuid.uuid4()))
            self.send_header("Cache-Control", "no-cache, private")
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            self.wfile.flush()
            self.record(self.auth_kind_for_log())      # a watch is logged when it starts
            self._recorded = True
            deadline = time.time() + timeout
            try:
                for o in initial:
                    self.write_chunk((json.dumps({"type": "ADDED", "object": o}) + "\n").encode())
                if send_initial:
                    bm_kind = "Deployment" if resource == "deployments" else "Pod"
                    bm = {"kind": bm_kind, "apiVersion": "apps/v1" if resource == "deployments" else "v1",
                          "metadata": {"resourceVersion": str(start),
                                       "annotations": {"k8s.io/initial-events-end": "true"}}}
                    self.write_chunk((json.dumps({"type": "BOOKMARK", "object": bm}) + "\n").encode())
                last_bookmark = time.time()
                while True:
                    out = []
                    with cluster.cond:
                        while idx >= len(cluster.events) and not state["stopping"]:
                            rem = deadline - time.time()
                            if rem <= 0:
                                break
                            cluster.cond.wait(min(rem, 0.5))
                            if bookmarks and time.time() - last_bookmark > 10:
                                break
                            if self.peer_closed():
                                raise BrokenPipeError("watch client went away")
                        while idx < len(cluster.events):
                            ev = cluster.events[idx]
                            idx += 1
                            if ev[1] == resource and match(ev[4], ev[2]):
                                out.append(ev)
                        cur_rv = cluster.rv
                    for ev in out:
                        self.write_chunk((json.dumps({"type": ev[3], "object": ev[4]}) + "\n").encode())
                    if bookmarks and time.time() - last_bookmark > 10:
                        last_bookmark = time.time()
                        bm = {"kind": "Deployment" if resource == "deployments" else "Pod",
                              "apiVersion": "apps/v1" if resource == "deployments" else "v1",
                              "metadata": {"resourceVersion": str(cur_rv)}}
                        self.write_chunk((json.dumps({"type": "BOOKMARK", "object": bm}) + "\n").encode())
                    if state["stopping"] or time.time() >= deadline:
                        break
                self.wfile.write(b"0\r\n\r\n")
                self.wfile.flush()
            except (BrokenPipeError, ConnectionResetError, ssl.SSLError, OSError):
                self.close_connection = True

        # ---- /_test/ ----
        def test_json_body(self):
            if not self._body:
                return {}
            return json.loads(self._body.decode())

        def test_api(self, path):
            m = self.command
            if path == "/_test/requests":
                if m == "GET":
                    with state["lock"]:
                        reqs = list(state["requests"])
                    return self.send_json(200, reqs)
                if m == "DELETE":
                    with state["lock"]:
                        state["requests"].clear()
                    return self.send_json(200, {"ok": True})
            elif path == "/_test/faults":
                if m == "POST":
                    f = self.test_json_body()
                    f.setdefault("count", 1)
                    f.setdefault("path_prefix", "")
                    f["status"] = int(f.get("status", 500))
                    with state["lock"]:
                        state["faults"].append(f)
                    return self.send_json(200, {"ok": True})
                if m == "GET":
                    with state["lock"]:
                        return self.send_json(200, list(state["faults"]))
                if m == "DELETE":
                    with state["lock"]:
                        state["faults"].clear()
                    return self.send_json(200, {"ok": True})
            elif path == "/_test/forbid":
                if m == "POST":
                    f = self.test_json_body()
                    f.setdefault("verb", "*")
                    f.setdefault("resource", "*")
                    with state["lock"]:
                        state["forbid"].append({"verb": f["verb"], "resource": f["resource"]})
                    return self.send_json(200, {"ok": True})
                if m == "DELETE":
                    with state["lock"]:
                        state["forbid"].clear()
                    return self.send_json(200, {"ok": True})
            elif path == "/_test/break":
                if m == "POST":
                    d = self.test_json_body().get("deployment")
                    with cluster.lock:
                        if d not in cluster.deployments:
                            return self.send_json(404, {"error": "no deployment %r" % d})
                        cluster.broken.add(d)
                    return self.send_json(200, {"ok": True})
                if m == "DELETE":
                    d = self.test_json_body().get("deployment")
                    with cluster.lock:
                        if d:
                            cluster.broken.discard(d)
                        else:
                            cluster.broken.clear()
                    return self.send_json(200, {"ok": True})
            elif path == "/_test/pod-state":
                b = self.test_json_body()
                if m == "POST":
                    st = b.get("state")
                    if st not in POD_FAULTS:
                        return self.send_json(400, {"error": "state must be one of %s" % (POD_FAULTS,)})
                    with cluster.lock:
                        if b.get("pod"):
                            pod = next((p for p in cluster.pods if p.name == b["pod"]), None)
                            if pod is None or pod.terminating or st != "CrashLoopBackOff":
                                return self.send_json(400, {"error": "a live pod can only start crashing "
                                                            "(CrashLoopBackOff)"})
                            cluster.set_fault(pod, st)
                        elif b.get("deployment") in cluster.deployments:
                            cluster.pod_faults[b["deployment"]] = st
                        else:
                            return self.send_json(404, {"error": "no pod or deployment in %r" % b})
                    return self.send_json(200, {"ok": True})
                if m == "DELETE":
                    with cluster.lock:
                        if b.get("deployment"):
                            cluster.pod_faults.pop(b["deployment"], None)
                        else:
                            cluster.pod_faults.clear()
                    return self.send_json(200, {"ok": True})
            elif path == "/_test/kill-pod" and m == "POST":
                b = self.test_json_body()
                sig = str(b.get("signal", "KILL")).upper()
                if not sig.startswith("SIG"):
                    sig = "SIG" + sig
                with cluster.lock:
                    pod = next((p for p in cluster.pods if p.name == b.get("pod")), None)
                    if pod is None or not pod.alive():
                        return self.send_json(404, {"error": "no live pod %r" % b.get("pod")})
                    if sig == "SIGKILL":
                        cluster.killpg(pod)
                    else:
                        os.kill(pod.pid, getattr(signal, sig))
                return self.send_json(200, {"ok": True, "pid": pod.pid})
            elif path == "/_test/pods" and m == "GET":
                with cluster.lock:
                    pods = list(cluster.pods)
                    if self._q.get("all") in ("1", "true"):
                        pods = list(cluster.gone_pods) + pods
                    out = [{"name": p.name, "deployment": p.dep.name, "pid": p.pid, "ready": p.ready,
                            "terminating": p.terminating, "hostname": p.hostname,
                            "pod_template_hash": p.rs.hash, "broken": p.broken,
                            "created": p.created, "ready_at": p.ready_at,
                            "deletion_requested": p.deletion_requested, "sigtermed": p.sigtermed,
                            "sigkilled": p.sigkilled, "exit_code": p.exit_code, "exited_at": p.exited_at,
                            "deleted_at": p.deleted_at, "log": p.log_path, "fault": p.fault,
                            "restart_count": p.restart_count,
                            "gone": p.deleted_at is not None} for p in pods]
                return self.send_json(200, out)
            elif path == "/_test/token" and m == "POST":
                tok = self.test_json_body().get("token")
                if not tok:
                    return self.send_json(400, {"error": "token required"})
                with state["lock"]:
                    state["token"] = tok
                return self.send_json(200, {"ok": True})
            elif path == "/_test/state" and m == "GET":
                with cluster.lock:
                    return self.send_json(200, {"rv": cluster.rv, "deployments": [
                        d.render() for d in cluster.deployments.values()]})
            return self.send_json(404, {"error": "unknown test endpoint %s %s" % (m, path)})
    return Handler


# --------------------------------------------------------------------------
# Certificates
# --------------------------------------------------------------------------

def run_openssl(args, cwd):
    subprocess.run(["openssl"] + args, cwd=cwd, check=True, stdout=subprocess.DEVNULL,
                   stderr=subprocess.PIPE)


def ensure_certs(d):
    os.makedirs(d, exist_ok=True)
    p = lambda n: os.path.join(d, n)  # noqa: E731
    if not (os.path.exists(p("ca.crt")) and os.path.exists(p("ca.key"))):
        run_openssl(["req", "-x509", "-new", "-newkey", "rsa:2048", "-nodes", "-keyout", "ca.key",
                     "-out", "ca.crt", "-days", "3650", "-subj", "/CN=kube-double-ca",
                     "-addext", "basicConstraints=critical,CA:TRUE",
                     "-addext", "keyUsage=critical,keyCertSign,cRLSign"], d)
    for name, subj, ext in (
            ("server", "/CN=kube-apiserver",
             "basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\n"
             "extendedKeyUsage=serverAuth\nsubjectAltName=IP:127.0.0.1,DNS:localhost\n"),
            ("client", "/O=system:masters/CN=operator",
             "basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\n"
             "extendedKeyUsage=clientAuth\n")):
        if os.path.exists(p(name + ".crt")) and os.path.exists(p(name + ".key")):
            continue
        with open(p(name + ".ext"), "w") as f:
            f.write(ext)
        run_openssl(["req", "-new", "-newkey", "rsa:2048", "-nodes", "-keyout", name + ".key",
                     "-out", name + ".csr", "-subj", subj], d)
        run_openssl(["x509", "-req", "-in", name + ".csr", "-CA", "ca.crt", "-CAkey", "ca.key",
                     "-set_serial", str(random.randint(1, 2 ** 62)), "-out", name + ".crt",
                     "-days", "3650", "-sha256", "-extfile", name + ".ext"], d)
        for junk in (name + ".csr", name + ".ext"):
            try:
                os.unlink(p(junk))
            except OSError:
                pass
    for k in ("ca.key", "server.key", "client.key"):
        os.chmod(p(k), 0o600)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--cert-dir", required=True)
    ap.add_argument("--token", required=True)
    ap.add_argument("--namespace", default="cms-dials-prod")
    ap.add_argument("--broker-url", required=True)
    ap.add_argument("--config", required=True)
    ap.add_argument("--ready-file")
    ap.add_argument("--verbose", action="store_true")
    args = ap.parse_args()
    args.cert_dir = os.path.abspath(args.cert_dir)
    if args.ready_file:
        args.ready_file = os.path.abspath(args.ready_file)
        try:
            os.unlink(args.ready_file)
        except OSError:
            pass
    with open(args.config) as f:
        cfg = json.load(f)
    ensure_certs(args.cert_dir)

    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    ctx.load_cert_chain(os.path.join(args.cert_dir, "server.crt"), os.path.join(args.cert_dir, "server.key"))
    ctx.load_verify_locations(os.path.join(args.cert_dir, "ca.crt"))
    ctx.verify_mode = ssl.CERT_OPTIONAL
    ctx.set_alpn_protocols(["http/1.1"])

    state = {"lock": threading.Lock(), "requests": [], "faults": [], "forbid": [], "token": args.token,
             "stopping": False, "port": args.port, "verbose": args.verbose}
    cluster = Cluster(args, cfg)
    atexit.register(cluster.kill_all_now)

    httpd = Server(("127.0.0.1", args.port), make_handler(cluster, state))
    httpd.ssl_ctx = ctx
    stop = threading.Event()

    def on_signal(signum, frame):
        stop.set()
    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGHUP, on_signal)

    threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.2}, daemon=True).start()
    ctl = threading.Thread(target=cluster.run_controller, daemon=True)
    ctl.start()
    log("listening on https://127.0.0.1:%d (namespace %s, %d deployments)"
        % (args.port, args.namespace, len(cluster.deployments)))
    while not stop.is_set():
        stop.wait(0.5)
    log("shutting down")
    state["stopping"] = True
    with cluster.cond:
        cluster.cond.notify_all()
    cluster.shutdown_pods()
    ctl.join(timeout=2)
    httpd.shutdown()
    httpd.server_close()
    log("bye")


if __name__ == "__main__":
    main()
