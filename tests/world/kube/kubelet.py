"""The pod lifecycle, as the kubelet runs it: a pod's process (a real Celery
worker, or a sleep), readiness, graceful deletion (SIGTERM, SIGKILL after the
grace period), containers that do not run (POD_FAULTS), and the Pod object
as the API shows it in each of those states."""
import copy
import hashlib
import os
import signal
import subprocess
import time

from kube.launch import launcher
from kube.util import CRASH_BACKOFF, REPLACE_DELAY, SERVICE_ACCOUNT, WORLD_DIR, log, now_rfc3339


class Kubelet:
    """Mixed into Cluster: uses its pods, lock, ns and bump_pod()."""

    # ---- pods ----
    def render_pod(self, pod, with_kind=True):
        tspec = pod.spec
        c0 = tspec["containers"][0]
        md = {
            "name": pod.name,
            "generateName": pod.generate_name,
            "namespace": self.ns,
            "uid": pod.uid,
            "resourceVersion": str(pod.rv),
            "creationTimestamp": now_rfc3339(pod.created),
            "labels": dict(pod.labels),
        }
        if pod.annotations:
            md["annotations"] = dict(pod.annotations)
        if pod.terminating:
            md["deletionTimestamp"] = now_rfc3339(pod.deletion_requested + pod.grace)
            md["deletionGracePeriodSeconds"] = pod.grace
        if pod.owner_refs:
            md["ownerReferences"] = copy.deepcopy(pod.owner_refs)
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
              "imageID": getattr(pod, "image_ids", {}).get(c0["name"]) or
              c0["image"].rsplit(":", 1)[0] + "@sha256:" + hashlib.sha256(c0["image"].encode()).hexdigest(),
              "containerID": "cri-o://" + hashlib.sha256(pod.uid.encode()).hexdigest(),
              "ready": ready or (pod.sidecar_exit_at is not None and pod.sidecar_was_ready
                                 and not pod.terminating),
              "restartCount": pod.restart_count, "started": running}
        if running:
            cs["state"] = {"running": {"startedAt": start}}
            if pod.last_exit is not None:     # restarted in place (restart_container)
                code, started, finished = pod.last_exit
                cs["lastState"] = {"terminated": {
                    "exitCode": code, "reason": "Completed" if code == 0 else "Error",
                    "startedAt": now_rfc3339(started), "finishedAt": now_rfc3339(finished),
                    "containerID": cs["containerID"]}}
        elif pod.exit_code is not None:
            code = pod.exit_code if pod.exit_code >= 0 else 128 - pod.exit_code
            cs["state"] = {"terminated": {"exitCode": code, "reason": "Completed" if code == 0 else "Error",
                                          "startedAt": start, "finishedAt": now_rfc3339(pod.exited_at),
                                          "containerID": cs["containerID"]}}
        else:
            cs["state"] = {"waiting": {"reason": "ContainerCreating"}}
        statuses = [cs] + [self.render_sidecar(pod, c, running, start, ready_ts)
                           for c in tspec["containers"][1:]]
        if len(statuses) > 1:
            statuses.sort(key=lambda c: c["name"])      # the kubelet sorts them by name
            down = [c["name"] for c in statuses if not c["ready"]]
            for c in conditions:
                if c["type"] in ("Ready", "ContainersReady") and down:
                    c["message"] = "containers with unready status: [%s]" % " ".join(down)
        phase = "Running" if pod.proc is not None else "Pending"
        if pod.exit_code is not None and not pod.terminating:
            phase = "Failed"
        status = {"phase": phase, "conditions": conditions, "hostIP": "10.0.0.11",
                  "hostIPs": [{"ip": "10.0.0.11"}], "podIP": pod.ip, "podIPs": [{"ip": pod.ip}],
                  "startTime": now_rfc3339(pod.created), "containerStatuses": statuses, "qosClass": "BestEffort"}
        if pod.fault:
            self.render_fault(pod, spec, status, cs)
        o = {}
        if with_kind:
            o["kind"] = "Pod"
            o["apiVersion"] = "v1"
        o.update({"metadata": md, "spec": spec, "status": status})
        return o

    def render_sidecar(self, pod, c, running, start, ready_ts):
        """The status of a sidecar container (no process: it runs while the pod's
        process does, until sidecar_exit())."""
        cs = {"name": c["name"], "image": c["image"],
              "imageID": c["image"].rsplit(":", 1)[0] + "@sha256:" + hashlib.sha256(c["image"].encode()).hexdigest(),
              "containerID": "cri-o://" + hashlib.sha256((pod.uid + c["name"]).encode()).hexdigest(),
              "ready": False, "restartCount": pod.sidecar_restarts, "started": False}
        exited = None
        if pod.sidecar_exit_at is not None or pod.sidecar_restarts:
            t = pod.sidecar_exit_at or pod.sidecar_last_exit
            exited = {"terminated": {"exitCode": 1, "reason": "Error", "startedAt": start,
                                     "finishedAt": now_rfc3339(t), "containerID": cs["containerID"]}}
        if pod.sidecar_exit_at is not None and not pod.sidecar_waiting:
            cs["state"] = exited
        elif pod.sidecar_exit_at is not None:
            cs["state"] = {"waiting": {"reason": "CrashLoopBackOff", "message": (
                "back-off %ds restarting failed container=%s pod=%s_%s(%s)"
                % (CRASH_BACKOFF, c["name"], pod.name, self.ns, pod.uid))}}
            cs["lastState"] = exited
        elif running:
            cs["state"] = {"running": {"startedAt": now_rfc3339(pod.sidecar_started_at or pod.started_at)}}
            cs["ready"] = cs["started"] = not pod.terminating
            if exited:
                cs["lastState"] = exited
        else:
            cs["state"] = {"waiting": {"reason": "ContainerCreating"}}
        return cs

    def sidecar_exit(self, pod):
        """The pod's sidecar container exits with status 1: terminated, CrashLoopBackOff
        a second later, running again after the back-off (sidecar_lifecycle); the pod is
        not ready meanwhile."""
        pod.sidecar_exit_at = time.time()
        pod.sidecar_waiting = False
        pod.sidecar_was_ready = pod.ready
        pod.ready = False
        log("pod %s: sidecar exited" % pod.name)
        self.bump_pod(pod)

    def sidecar_lifecycle(self, pod, t):
        if pod.sidecar_exit_at is None or pod.terminating:
            return
        if not pod.sidecar_waiting and t - pod.sidecar_exit_at >= 1.0:
            pod.sidecar_waiting = True
            pod.sidecar_restarts += 1
            self.bump_pod(pod)
        elif pod.sidecar_waiting and t - pod.sidecar_exit_at >= 1.0 + CRASH_BACKOFF:
            pod.sidecar_last_exit = pod.sidecar_exit_at
            pod.sidecar_exit_at = None
            pod.sidecar_waiting = False
            pod.sidecar_started_at = t
            pod.ready = pod.sidecar_was_ready and pod.alive()
            if pod.ready:
                pod.ready_at = t
            self.bump_pod(pod)

    def render_fault(self, pod, spec, status, cs):
        """The status of a pod whose container does not run (POD_FAULTS)."""
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

    def create_pod(self, pod):
        """Store a new pod, start it, and tell the watchers."""
        self.pods.append(pod)
        self.resolve_pod_images(pod)
        try:
            self.spawn(pod)
        except OSError as e:
            log("spawn failed: %s" % e)
        self.bump_pod(pod, "ADDED")

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
        if pod.side_gate:
            env["PODINIT_GATE"] = self.side_gate_path(pod)
        if pod.dep.worker and not pod.broken:
            queues = [pod.dep.queues] + ([pod.dep.side_queues] if getattr(pod.dep, "side_queues", None)
                                         else [])
            workers = [["/usr/bin/python3", "-m", "celery", "-A", "etl", "worker"] + pod.dep.pool_args + [
                        "--hostname=%s" % h, "--queues=%s" % ",".join(q), "-E", "-l", "INFO",
                        "--without-gossip", "--without-mingle"] for h, q in zip(pod.hostnames, queues)]
            cmd = workers[0]
            if len(workers) > 1:          # one container, several workers (podinit.py)
                cmd = ["/usr/bin/python3", os.path.join(WORLD_DIR, "podinit.py")]
                for c in workers:
                    cmd += ["--"] + c
        else:
            cmd = ["/bin/sleep", "1000000"]
        env.pop("POD_LAUNCHER", None)
        pod.proc = None
        fork = launcher() if cmd[1:3] == ["-m", "celery"] else None
        if fork is not None:
            try:
                pod.proc = fork.spawn(cmd, WORLD_DIR, env, pod.log_path)
            except OSError as e:
                log("pod %s: %s; starting it as a process of its own" % (pod.name, e))
        if pod.proc is None:
            if os.path.exists("/usr/bin/setpriv"):
                cmd = ["/usr/bin/setpriv", "--pdeathsig", "KILL", "--"] + cmd
            pod.proc = subprocess.Popen(cmd, cwd=WORLD_DIR, env=env, stdin=subprocess.DEVNULL,
                                        stdout=logf, stderr=subprocess.STDOUT,
                                        start_new_session=True, close_fds=True)
        logf.close()
        pod.pid = pod.proc.pid
        pod.started_at = time.time()
        log("pod %s started pid %d%s" % (pod.name, pod.pid, " (broken)" if pod.broken else ""))
        if not pod.dep.worker and not pod.broken:
            pod.ready = True
            pod.ready_at = time.time()

    def side_gate_path(self, pod):
        """The file whose creation starts a gated pod's side worker (podinit.py)."""
        return os.path.join(self.pod_dir, pod.name + ".side-start")

    def check_ready(self, pod):
        if pod.ready or pod.broken or not pod.dep.worker or not pod.alive() or \
                pod.sidecar_exit_at is not None:
            return False
        try:
            with open(pod.log_path, "rb") as f:
                f.seek(max(0, pod.log_off - 64))
                data = f.read()
                pod.log_off = f.tell()
        except OSError:
            return False
        pod.ready_seen = getattr(pod, "ready_seen", set())
        pod.ready_seen.update(h for h in pod.hostnames if (h + " ready.").encode() in data)
        # a gated side worker is not waited for: the pod is ready with its main one
        want = pod.hostnames[:1] if pod.side_gate else pod.hostnames
        if pod.ready_seen >= set(want):
            pod.ready = True
            pod.ready_at = time.time()
            log("pod %s ready" % pod.name)
            return True
        return False

    def terminate_pod(self, pod, grace=None):
        """Graceful deletion: SIGTERM now, SIGKILL after the grace period (the pod's
        terminationGracePeriodSeconds unless the DELETE gave one); a second DELETE
        may only shorten it."""
        if grace is None:
            grace = pod.spec.get("terminationGracePeriodSeconds", 30)
        if pod.terminating:
            if pod.kill_at is not None and time.time() + grace < pod.kill_at:
                pod.grace = grace
                pod.kill_at = time.time() + grace
                self.bump_pod(pod)
            return
        pod.terminating = True
        pod.grace = grace
        pod.deletion_requested = time.time()
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

    def restart_container(self, pod):
        """The kubelet restarts the pod's container in place, as after a failed
        liveness probe: SIGTERM now, SIGKILL after the grace period; once it has
        exited it starts again in the same pod (same name and uid), its
        restartCount one more, not ready until its workers are."""
        pod.restarting = True
        pod.restart_kill_at = time.time() + pod.spec.get("terminationGracePeriodSeconds", 30)
        pod.ready = False
        try:
            os.kill(pod.pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
        log("pod %s: restarting its container (SIGTERM)" % pod.name)
        self.bump_pod(pod)

    def container_restarted(self, pod):
        rc = pod.proc.returncode
        pod.last_exit = (rc if rc >= 0 else 128 - rc, pod.started_at or pod.created, time.time())
        self.killpg(pod)          # leftovers of the old container (pool children)
        pod.restarting = False
        pod.restart_kill_at = None
        pod.restart_count += 1
        pod.ready_seen = set()
        try:
            self.spawn(pod)
        except OSError as e:
            log("spawn failed: %s" % e)
        log("pod %s: container restarted (restartCount %d)" % (pod.name, pod.restart_count))
        self.bump_pod(pod)

    def pod_lifecycle(self, t):
        for pod in list(self.pods):
            dep = pod.dep
            if pod.fault and pod.start_requested and not pod.terminating:
                pod.fault = None            # its container starts at last
                if pod.started_at is not None:
                    pod.restart_count += 1  # again, in the same pod: restartCount counts it
                pod.crash_waiting = False
                log("pod %s: its container starts" % pod.name)
                try:
                    self.spawn(pod)
                except OSError as e:
                    log("spawn failed: %s" % e)
                self.bump_pod(pod)
                continue
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
            if pod.restarting and not pod.terminating:
                if pod.proc.poll() is not None:
                    self.container_restarted(pod)
                elif pod.restart_kill_at is not None and t >= pod.restart_kill_at:
                    log("pod %s: container still alive after grace: SIGKILL" % pod.name)
                    self.killpg(pod)
                    pod.restart_kill_at = None
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
            self.sidecar_lifecycle(pod, t)
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
