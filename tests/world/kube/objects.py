"""The objects the double keeps: Pods, ReplicaSets, Deployments."""
import copy
import random
import time
import uuid

from kube.util import now_rfc3339, rand_suffix

# how DIALS runs each worker: one task at a time, a new process per task
DIALS_POOL = ["--concurrency=1", "--autoscale=1,0", "--max-tasks-per-child=1"]


class Pod:
    """A pod its ReplicaSet created: its own copy of the template (labels, annotations,
    spec) and ownerReferences, which PATCH and the garbage collector change; dep is the
    application it runs (the Deployment whose selector its labels matched)."""

    def __init__(self, dep, rs, broken, fault=None):
        self.dep = dep
        self.name = "%s-%s" % (rs.name, rand_suffix())
        self.generate_name = rs.name + "-"
        tmd = rs.template.get("metadata") or {}
        self.labels = dict(tmd.get("labels") or {})
        self.annotations = dict(tmd.get("annotations") or {})
        self.spec = copy.deepcopy(rs.template["spec"])
        self.owner_refs = [rs.controller_ref_to()]
        self.grace = None          # the grace period of its deletion
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
        self.start_requested = False    # the test control: the container starts
        # the side worker starts only once the file side_gate_path() exists
        # (POST /_test/side-start): until then the pod runs its main worker alone
        self.side_gate = False
        # the kubelet restarting its container in place (POST
        # /_test/restart-container, as after a failed liveness probe): SIGTERM
        # sent, SIGKILL due at restart_kill_at; started again once it exited
        self.restarting = False
        self.restart_kill_at = None
        self.last_exit = None           # (exit code, started, finished) of the container before
        if fault == "CrashLoopBackOff":
            self.crash_started = self.created
            self.crash_exit = self.created + 0.5
            self.crash_next = self.crash_exit + 1.0
        self.rv = 0
        self.ip = "10.128.%d.%d" % (random.randint(0, 255), random.randint(2, 254))
        # a sidecar container (its Deployment's "sidecar"): modelled, no process;
        # once it exits (kubelet.sidecar_exit): terminated, then CrashLoopBackOff,
        # then running again after the back-off, its restartCount one more
        self.sidecar_restarts = 0
        self.sidecar_exit_at = None
        self.sidecar_waiting = False
        self.sidecar_started_at = None
        self.sidecar_last_exit = None
        self.sidecar_was_ready = False

    def alive(self):
        return self.proc is not None and self.exit_code is None and not self.fault

    @property
    def hostnames(self):
        """Its Celery workers' names: NAME@POD, and NAME-2@POD when its
        Deployment runs a side worker in the same container (sideQueues)."""
        side = getattr(self.dep, "side_queues", None)
        if not side:
            return [self.hostname]
        name, pod = self.hostname.split("@", 1)
        return [self.hostname, "%s-2@%s" % (name, pod)]


def controller_of(refs):
    """The ownerReference with controller: true (metav1.GetControllerOf), or None."""
    return next((r for r in refs or [] if r.get("controller")), None)


class App:
    """What a pod of a ReplicaSet no Deployment selects runs: a sleep."""

    def __init__(self, name):
        self.name = name
        self.worker = False
        self.queues = []
        self.side_queues = []
        self.shutdown_seconds = 0.0
        self.pool_args = DIALS_POOL
        self.progress_at = 0


class ReplicaSet:
    """An apps/v1 ReplicaSet as the API stores it: metadata (labels, annotations,
    ownerReferences), spec (replicas, selector, template) and the status its
    controller writes."""

    def __init__(self, name, labels, annotations, owner_refs, selector, template, replicas):
        self.name = name
        self.uid = str(uuid.uuid4())
        self.created = time.time()
        self.labels = dict(labels or {})
        self.annotations = dict(annotations or {})
        self.owner_refs = copy.deepcopy(owner_refs or [])
        self.selector = copy.deepcopy(selector)
        self.template = copy.deepcopy(template)
        self.replicas = replicas
        self.generation = 1
        self.rv = 0
        self.status = {"replicas": 0}
        self.deleting = None       # propagationPolicy of a pending DELETE
        self.deletion_ts = None
        self.gone = False

    @property
    def hash(self):
        return (self.template.get("metadata") or {}).get("labels", {}).get("pod-template-hash", "")

    def controller_ref_to(self):
        return {"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": self.name, "uid": self.uid,
                "controller": True, "blockOwnerDeletion": True}

    def revision(self):
        try:
            return int(self.annotations.get("deployment.kubernetes.io/revision", "0"))
        except ValueError:
            return 0

    def render(self, ns, with_kind=True):
        o = {}
        if with_kind:
            o["kind"] = "ReplicaSet"
            o["apiVersion"] = "apps/v1"
        md = {"name": self.name, "namespace": ns, "uid": self.uid, "resourceVersion": str(self.rv),
              "generation": self.generation, "creationTimestamp": now_rfc3339(self.created)}
        if self.labels:
            md["labels"] = dict(self.labels)
        if self.annotations:
            md["annotations"] = dict(self.annotations)
        if self.owner_refs:
            md["ownerReferences"] = copy.deepcopy(self.owner_refs)
        if self.deletion_ts is not None:
            md["deletionTimestamp"] = now_rfc3339(self.deletion_ts)
            md["deletionGracePeriodSeconds"] = 0
            md["finalizers"] = ["orphan" if self.deleting == "Orphan" else "foregroundDeletion"]
        o["metadata"] = md
        o["spec"] = {"replicas": self.replicas, "selector": copy.deepcopy(self.selector),
                     "template": copy.deepcopy(self.template)}
        o["status"] = copy.deepcopy(self.status)
        return o


class Workload:
    """What Deployments and StatefulSets (statefulsets.py) share: their
    resource, kind and rendering; cluster.bump_workload() emits them."""
    RESOURCE = KIND = None

    def render(self, with_kind=True):
        o = {}
        if with_kind:
            o["kind"] = self.KIND
            o["apiVersion"] = "apps/v1"
        o["metadata"] = copy.deepcopy(self.metadata)
        o["spec"] = copy.deepcopy(self.spec)
        o["status"] = copy.deepcopy(self.status)
        return o


class Deployment(Workload):
    RESOURCE, KIND = "deployments", "Deployment"

    def __init__(self, cfg, ns):
        self.name = cfg["name"]
        self.worker = bool(cfg.get("worker", False))
        self.queues = cfg.get("queues") or [self.name]
        self.shutdown_seconds = float(cfg.get("shutdownSeconds", 0))     # WORKER_SHUTDOWN_SECONDS
        # the worker pool's options: DIALS' unless the world says otherwise
        self.pool_args = list(cfg.get("poolArgs") or DIALS_POOL)
        grace = int(cfg.get("terminationGracePeriodSeconds", 30))
        labels = {"app": self.name}
        labels.update(cfg.get("labels") or {})
        # a second worker in the same container: NAME-2@POD on these queues
        self.side_queues = list(cfg.get("sideQueues") or [])
        if self.worker and self.side_queues:
            args = ["sh", "-c", " & ".join(
                " ".join(["celery", "-A", "etl", "worker"] + self.pool_args + [
                    "--hostname=%s@%%h" % n, "--queues=%s" % ",".join(q)])
                for n, q in ((self.name, self.queues),
                             (self.name + "-2", self.side_queues))) + " & wait"]
        elif self.worker:
            args = ["celery", "-A", "etl", "worker"] + self.pool_args + [
                    "--hostname=%s@%%h" % self.name, "--queues=%s" % ",".join(self.queues)]
        if self.worker:
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
            "annotations": dict({"deployment.kubernetes.io/revision": "1"}, **(cfg.get("annotations") or {})),
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
        if cfg.get("sidecar"):     # a second container beside the worker's (a log shipper)
            self.spec["template"]["spec"]["containers"].append({
                "name": cfg["sidecar"], "image": "registry.cern.ch/cmsdials/%s:2.0.1" % cfg["sidecar"],
                "args": ["sleep", "infinity"], "resources": {},
                "terminationMessagePath": "/dev/termination-log",
                "terminationMessagePolicy": "File", "imagePullPolicy": "IfNotPresent"})
        if cfg.get("strategy") == "Recreate":         # else RollingUpdate, maxSurge/maxUnavailable
            self.spec["strategy"] = {"type": "Recreate"}
        else:
            ru = self.spec["strategy"]["rollingUpdate"]
            for k in ("maxSurge", "maxUnavailable"):
                if k in cfg:
                    ru[k] = cfg[k]
        self.status = {}
        self.observed_generation = 0
        self.generation_changed_at = self.created
        self.progress_at = self.created
        self.collision_count = 0
        self.cond_progressing = None
        self.last_counts = None
        self.paused_seen = False
