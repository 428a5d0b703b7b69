"""The simulated cluster: its objects, resource versions and watch events, and
the control loop that runs the controllers (controllers.py) and the kubelet
(kubelet.py) every TICK."""
import os
import signal
import threading
import time

from kube.controllers import DeploymentController, ReplicaSetController
from kube.images import Images
from kube.kubelet import Kubelet
from kube.objects import Deployment, controller_of
from kube.util import OBSERVE_DELAY, TICK, log
from kube.statefulsets import StatefulSet, StatefulSetController


class Cluster(DeploymentController, ReplicaSetController, StatefulSetController, Kubelet, Images):
    def __init__(self, args, cfg):
        self.args = args
        self.ns = args.namespace
        self.lock = threading.RLock()
        self.cond = threading.Condition(self.lock)
        self.rv = 1000
        self.events = []          # (rv, resource, ns, type, obj)
        self.event_rvs = []
        self.deployments = {}
        self.replicasets = {}     # name -> ReplicaSet
        self.quota = None         # {"pods": N, "name": Q}: the namespace's pod quota
        self.pods = []            # live pods (incl. terminating, failed-not-yet-removed)
        self.gone_pods = []       # history for /_test/pods?all=1
        self.broken = set()
        # Deployments the Deployment controller leaves alone (POST /_test/deployment-controller):
        # kube-controller-manager run with --controllers=-deployment, or down
        self.unmanaged = set()
        self.pod_faults = {}      # deployment -> state its new pods get
        # deployments whose new pods start their side worker only when told
        # (POST /_test/side-start): a second worker slow to come up
        self.side_gated = set()
        self.stopping = False
        self.pod_dir = os.path.join(args.cert_dir, "pods")
        os.makedirs(self.pod_dir, exist_ok=True)
        self.all_ready_once = False
        for d in cfg.get("deployments", []):
            dep = Deployment(d, self.ns)
            self.deployments[dep.name] = dep
            if d.get("sideGate"):
                self.side_gated.add(dep.name)
            self.bump_dep(dep, "ADDED")
        self.statefulsets = {}
        for d in cfg.get("statefulsets", []):
            sts = StatefulSet(d, self.ns)
            self.statefulsets[sts.name] = sts
            self.bump_sts(sts, "ADDED")
        self.init_images(cfg)

    # ---- resource versions & events ----
    def next_rv(self):
        self.rv += 1
        return self.rv

    def restore_rvs(self, start):
        """The API server comes back on an etcd restored from a backup:
        resourceVersions start again at `start`, below those it gave, the
        objects renumbered from there; the watch history is gone."""
        with self.cond:
            self.rv = start
            self.events, self.event_rvs = [], []
            self._owned_rv = None
            for w in list(self.deployments.values()) + list(self.statefulsets.values()):
                w.metadata["resourceVersion"] = str(self.next_rv())
            for o in list(self.replicasets.values()) + list(self.pods):
                o.rv = self.next_rv()

    def emit(self, resource, typ, obj, rv):
        with self.cond:
            self.events.append((rv, resource, self.ns, typ, obj))
            self.event_rvs.append(rv)
            self.cond.notify_all()

    def bump_workload(self, obj, typ="MODIFIED"):
        """A Deployment or StatefulSet changed: a resourceVersion, the watchers told."""
        rv = self.next_rv()
        obj.metadata["resourceVersion"] = str(rv)
        self.emit(obj.RESOURCE, typ, obj.render(), rv)

    bump_dep = bump_sts = bump_workload

    def bump_rs(self, rs, typ="MODIFIED"):
        rs.rv = self.next_rv()
        self.emit("replicasets", typ, rs.render(self.ns), rs.rv)

    def bump_pod(self, pod, typ="MODIFIED"):
        pod.rv = self.next_rv()
        self.emit("pods", typ, self.render_pod(pod), pod.rv)

    # ---- controller ----
    def owned(self, uid):
        """The pods (or, uid "rs:" + UID, the ReplicaSets) whose controller ownerReference
        is uid (None: no controller), from an index rebuilt whenever anything changed
        (every change bumps the resource version)."""
        if getattr(self, "_owned_rv", None) != self.rv:
            idx = {}
            for p in self.pods:
                idx.setdefault((controller_of(p.owner_refs) or {}).get("uid"), []).append(p)
            for rs in self.replicasets.values():
                idx.setdefault("rs:%s" % (controller_of(rs.owner_refs) or {}).get("uid"), []).append(rs)
            self._owned, self._owned_rv = idx, self.rv
        return list(self._owned.get(uid, ()))

    def rs_pods(self, rs):
        """The pods rs controls (its controller ownerReference), terminating ones too."""
        return self.owned(rs.uid)

    def rs_active(self, rs):
        return [p for p in self.rs_pods(rs) if not p.terminating]

    def rs_available(self, rs):
        return [p for p in self.rs_active(rs) if p.ready and p.exit_code is None]

    def tick(self):
        with self.lock:
            if self.stopping:
                return
            t = time.time()
            self.pod_lifecycle(t)
            self.collect_garbage()
            for dep in self.deployments.values():
                if dep.name in self.unmanaged:
                    continue
                if dep.metadata["generation"] > dep.observed_generation:
                    if t - dep.generation_changed_at >= OBSERVE_DELAY or dep.observed_generation == 0:
                        self.reconcile_deployment(dep, t, observe=True)
                else:
                    self.reconcile_deployment(dep, t, observe=False)
            self.reconcile_replicasets(t)
            for dep in self.deployments.values():
                if dep.name not in self.unmanaged:
                    self.update_status(dep, t)
            self.tick_statefulsets(t)
            if not self.all_ready_once and self.statefulsets_ready() and all(
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
