"""The Deployment and ReplicaSet controllers, as kube-controller-manager runs
them: rolling updates (maxSurge, maxUnavailable), paused Deployments, the
Deployment's status and conditions (progress deadline), and each
ReplicaSet's pods."""
from kube.objects import Pod, ReplicaSet
from kube.util import log, now_rfc3339, scaled_value


class DeploymentController:
    """Mixed into Cluster."""

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


class ReplicaSetController:
    """Mixed into Cluster: keeps each ReplicaSet's active pods at its replicas."""

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
