"""The Deployment and ReplicaSet controllers and the garbage collector, as
kube-controller-manager runs them (k8s.io/kubernetes/pkg/controller/deployment:
sync.go, rolling.go, recreate.go, util/deployment_util.go; replicaset; the
ControllerRefManager's adoption and release; garbage collection by
ownerReferences):

- a Deployment owns the ReplicaSets its selector matches (adopting orphans,
  releasing those that no longer match); its "new" ReplicaSet is the oldest
  whose template equals its own (ignoring pod-template-hash), created as
  NAME-HASH with revision max(other revisions)+1, raised again whenever a
  higher revision appears among the others;
- paused (or on a scaling event) it only scales (sync): the one active
  ReplicaSet, or when none is active the new one or else the newest, to
  spec.replicas; old ones to 0 once the new one is saturated; otherwise
  proportionally within replicas+maxSurge;
- RollingUpdate (maxSurge, maxUnavailable) and Recreate (old to 0, wait for
  their pods to be gone, then the new one);
- a ReplicaSet adopts the unowned active pods its selector matches, releases
  those that no longer match, creates or deletes pods to its replicas (a
  namespace quota may refuse a pod: condition ReplicaFailure/FailedCreate);
- the garbage collector finishes DELETEs: Orphan removes the dependents'
  ownerReferences, Foreground deletes them first, and dependents whose owners
  are all gone are deleted (Background)."""
import copy
import math
import time

from kube.objects import App, Pod, ReplicaSet, controller_of
from kube.selectors import selector_matches
from kube.util import log, now_rfc3339, scaled_value, template_hash

REVISION = "deployment.kubernetes.io/revision"
REVISION_HISTORY = "deployment.kubernetes.io/revision-history"
DESIRED = "deployment.kubernetes.io/desired-replicas"
MAX_REPLICAS = "deployment.kubernetes.io/max-replicas"
NOT_COPIED = {"kubectl.kubernetes.io/last-applied-configuration", REVISION, REVISION_HISTORY, DESIRED,
              MAX_REPLICAS, "deprecated.deployment.rollback.to"}


def strip_hash(tmpl):
    """The template without its pod-template-hash label (and empty or null metadata
    fields, which Go compares as unset); shares what it does not change."""
    md = dict(tmpl.get("metadata") or {})
    if md.get("creationTimestamp") is None:
        md.pop("creationTimestamp", None)
    labels = {k: v for k, v in (md.get("labels") or {}).items() if k != "pod-template-hash"}
    md["labels"] = labels
    for k in ("labels", "annotations"):
        if not md.get(k):
            md.pop(k, None)
    return dict(tmpl, metadata=md)


def equal_ignore_hash(a, b):
    return strip_hash(a) == strip_hash(b)


def rolling(dep):
    return dep.spec.get("strategy", {}).get("type", "RollingUpdate") == "RollingUpdate"


def surge_unavailable(dep):
    """(maxSurge, maxUnavailable) resolved as ResolveFenceposts does."""
    if not rolling(dep):
        return 0, 0
    r = dep.spec["replicas"]
    ru = dep.spec["strategy"].get("rollingUpdate") or {}
    s = scaled_value(ru.get("maxSurge", "25%"), r, True)
    u = scaled_value(ru.get("maxUnavailable", "25%"), r, False)
    if s == 0 and u == 0:
        u = 1
    return s, min(u, r) if r > 0 else 0


def by_created(rss, newest_first=False):
    return sorted(rss, key=lambda rs: (rs.created, rs.name), reverse=newest_first)


class DeploymentController:
    """Mixed into Cluster."""

    def dep_ref(self, dep):
        return {"apiVersion": "apps/v1", "kind": "Deployment", "name": dep.name,
                "uid": dep.metadata["uid"], "controller": True, "blockOwnerDeletion": True}

    def claim_replicasets(self, dep):
        """getReplicaSetsForDeployment: ClaimReplicaSets (adopt, release)."""
        uid = dep.metadata["uid"]
        out = []
        for rs in sorted(self.owned("rs:" + uid) + self.owned("rs:None"), key=lambda r: r.name):
            ref = controller_of(rs.owner_refs)
            matches = selector_matches(dep.spec["selector"], rs.labels)
            if ref is not None:
                if ref.get("uid") != uid:
                    continue
                if matches:
                    out.append(rs)
                else:
                    rs.owner_refs = [r for r in rs.owner_refs if r.get("uid") != uid]
                    log("replicaset %s released by deployment %s" % (rs.name, dep.name))
                    self.bump_rs(rs)
            elif matches and rs.deletion_ts is None:
                rs.owner_refs.append(self.dep_ref(dep))
                log("replicaset %s adopted by deployment %s" % (rs.name, dep.name))
                self.bump_rs(rs)
                out.append(rs)
        return out

    def dep_rss(self, dep):
        return self.owned("rs:" + dep.metadata["uid"])

    def find_new(self, dep, rss):
        """FindNewReplicaSet: the oldest whose template equals the Deployment's."""
        want = strip_hash(dep.spec["template"])
        for rs in by_created(rss):
            if strip_hash(rs.template) == want:
                return rs
        return None

    def set_dep_revision(self, dep, rev):
        if dep.metadata["annotations"].get(REVISION) != rev:
            dep.metadata["annotations"][REVISION] = rev
            self.bump_dep(dep)

    def set_new_rs_annotations(self, dep, rs, new_revision, exists):
        """SetNewReplicaSetAnnotations: copy the Deployment's annotations, raise the
        revision (keeping the old one in revision-history)."""
        changed = False
        for k, v in dep.metadata["annotations"].items():
            if k in NOT_COPIED or rs.annotations.get(k) == v:
                continue
            rs.annotations[k] = v
            changed = True
        old = rs.annotations.get(REVISION)
        old_i = rs.revision() if old is not None else 0
        if old_i < int(new_revision):
            rs.annotations[REVISION] = new_revision
            changed = True
            if old is not None:
                hist = rs.annotations.get(REVISION_HISTORY)
                rs.annotations[REVISION_HISTORY] = old if not hist else hist + "," + old
        if not exists:
            s, _ = surge_unavailable(dep)
            rs.annotations[DESIRED] = str(dep.spec["replicas"])
            rs.annotations[MAX_REPLICAS] = str(dep.spec["replicas"] + s)
            changed = True
        return changed

    def sync_revision(self, dep, rss, create, t):
        """getAllReplicaSetsAndSyncRevision -> (new or None, olds)."""
        new = self.find_new(dep, rss)
        olds = [rs for rs in rss if rs is not new]
        new_revision = str(max([rs.revision() for rs in olds] + [0]) + 1)
        if new is not None:
            if self.set_new_rs_annotations(dep, new, new_revision, True):
                self.bump_rs(new)
            self.set_dep_revision(dep, new.annotations.get(REVISION, ""))
            return new, olds
        if not create:
            return None, olds
        tmpl = copy.deepcopy(dep.spec["template"])
        h = template_hash(tmpl) if not dep.collision_count else template_hash([tmpl, dep.collision_count])
        tmpl.setdefault("metadata", {})
        tmpl["metadata"]["labels"] = dict(tmpl["metadata"].get("labels") or {}, **{"pod-template-hash": h})
        sel = copy.deepcopy(dep.spec["selector"])
        sel.setdefault("matchLabels", {})["pod-template-hash"] = h
        name = "%s-%s" % (dep.name, h)
        existing = self.replicasets.get(name)
        if existing is not None:
            # AlreadyExists: ours if it is controlled by this Deployment with this template
            if (controller_of(existing.owner_refs) or {}).get("uid") == dep.metadata["uid"] and \
                    equal_ignore_hash(existing.template, dep.spec["template"]):
                return existing, olds
            dep.collision_count += 1
            log("deployment %s: hash collision with replicaset %s" % (dep.name, name))
            return None, olds
        rs = ReplicaSet(name, tmpl["metadata"]["labels"], {}, [self.dep_ref(dep)], sel, tmpl, 0)
        rs.replicas = self.new_rs_new_replicas(dep, olds + [rs], rs)
        self.set_new_rs_annotations(dep, rs, new_revision, False)
        self.replicasets[name] = rs
        self.bump_rs(rs, "ADDED")
        log("deployment %s: created replicaset %s (revision %s, %d replicas)"
            % (dep.name, name, new_revision, rs.replicas))
        dep.progress_at = t
        self.set_dep_revision(dep, new_revision)
        return rs, olds

    def new_rs_new_replicas(self, dep, all_rss, new):
        replicas = dep.spec["replicas"]
        if not rolling(dep):
            return replicas
        s, _ = surge_unavailable(dep)
        current = sum(rs.replicas for rs in all_rss)
        if current >= replicas + s:
            return new.replicas
        return new.replicas + max(0, min(replicas + s - current, replicas - new.replicas))

    def scale_rs(self, dep, rs, n, t):
        """scaleReplicaSet: the size and the desired/max-replicas annotations."""
        s, _ = surge_unavailable(dep)
        ann = {DESIRED: str(dep.spec["replicas"]), MAX_REPLICAS: str(dep.spec["replicas"] + s)}
        size_changed = rs.replicas != n
        ann_changed = any(rs.annotations.get(k) != v for k, v in ann.items())
        if not (size_changed or ann_changed):
            return False
        if size_changed:
            log("deployment %s: scaled replicaset %s from %d to %d" % (dep.name, rs.name, rs.replicas, n))
            rs.replicas = n
            rs.generation += 1
            dep.progress_at = t
        rs.annotations.update(ann)
        self.bump_rs(rs)
        return size_changed

    def is_saturated(self, dep, rs):
        r = dep.spec["replicas"]
        return rs is not None and rs.replicas == r and rs.annotations.get(DESIRED) == str(r) \
            and len(self.rs_available(rs)) == r

    def scale(self, dep, new, olds, t):
        """sync.go scale()."""
        replicas = dep.spec["replicas"]
        olds_desc = by_created(olds, newest_first=True)
        if new is not None or olds:
            active = [rs for rs in olds_desc + ([new] if new else []) if rs.replicas > 0]
            pick = None
            if not active:
                pick = new if new is not None else olds_desc[0]
            elif len(active) == 1:
                pick = active[0]
            if pick is not None:
                if pick.replicas != replicas:
                    self.scale_rs(dep, pick, replicas, t)
                return
        if self.is_saturated(dep, new):
            for rs in olds:
                if rs.replicas > 0:
                    self.scale_rs(dep, rs, 0, t)
            return
        if not rolling(dep):
            return
        all_active = [rs for rs in olds + ([new] if new else []) if rs.replicas > 0]
        s, _ = surge_unavailable(dep)
        allowed = replicas + s if replicas > 0 else 0
        to_add = allowed - sum(rs.replicas for rs in all_active)
        if to_add == 0:
            return
        if to_add > 0:      # ReplicaSetsBySizeNewer
            all_active.sort(key=lambda rs: (rs.replicas, rs.created), reverse=True)
        else:               # ReplicaSetsBySizeOlder
            all_active.sort(key=lambda rs: (-rs.replicas, rs.created))
        added, sizes = 0, {}
        for rs in all_active:
            prop = 0
            if to_add != 0 and rs.replicas != 0 and to_add != added:
                if replicas == 0:
                    frac = -rs.replicas
                else:
                    try:
                        annotated = int(rs.annotations.get(MAX_REPLICAS, ""))
                    except ValueError:
                        annotated = dep.status.get("replicas", 0)
                    # integer.RoundToInt32: halves away from zero
                    frac = (int(math.floor(rs.replicas * (replicas + s) / float(annotated) + 0.5)) - rs.replicas
                            if annotated else 0)
                allowed_left = to_add - added
                prop = min(frac, allowed_left) if to_add > 0 else max(frac, allowed_left)
            sizes[rs.name] = rs.replicas + prop
            added += prop
        if added != to_add and all_active:
            first = all_active[0].name
            sizes[first] = max(0, sizes[first] + to_add - added)
        for rs in all_active:
            self.scale_rs(dep, rs, sizes[rs.name], t)

    def cleanup_deployment(self, dep, olds):
        limit = dep.spec.get("revisionHistoryLimit", 10)
        cleanable = [rs for rs in olds if rs.deletion_ts is None]
        diff = len(cleanable) - limit
        if diff <= 0:
            return
        cleanable.sort(key=lambda rs: (rs.revision(), rs.created))
        for rs in cleanable[:diff]:
            if rs.status.get("replicas", 0) != 0 or rs.replicas != 0 or \
                    rs.generation > rs.status.get("observedGeneration", 0):
                continue
            log("deployment %s: deleting old replicaset %s (revisionHistoryLimit)" % (dep.name, rs.name))
            self.delete_replicaset(rs, "Background")

    def complete(self, dep, new):
        replicas = dep.spec["replicas"]
        total = sum(len(self.rs_active(rs)) for rs in self.dep_rss(dep))
        return new is not None and len(self.rs_active(new)) == replicas and total == replicas and \
            len(self.rs_available(new)) == replicas

    def reconcile_deployment(self, dep, t, observe):
        """syncDeployment."""
        rss = self.claim_replicasets(dep)
        if observe:
            dep.observed_generation = dep.metadata["generation"]
            dep.progress_at = max(dep.progress_at, dep.generation_changed_at)
        if dep.spec.get("paused"):
            # sync(): no new ReplicaSet for a new template, but the scaling goes on
            new, olds = self.sync_revision(dep, rss, False, t)
            self.scale(dep, new, olds, t)
            self.cleanup_deployment(dep, olds)
            dep.paused_seen = True
            return
        if dep.paused_seen:
            dep.paused_seen = False          # resumed: the progress deadline starts again
            dep.progress_at = t
        new, olds = self.sync_revision(dep, rss, False, t)
        if any(rs.annotations.get(DESIRED) not in (None, str(dep.spec["replicas"]))
               for rs in olds + ([new] if new else []) if rs.replicas > 0):
            self.scale(dep, new, olds, t)       # a scaling event
            return
        if rolling(dep):
            self.rollout_rolling(dep, rss, t)
        else:
            self.rollout_recreate(dep, rss, t)

    def rollout_rolling(self, dep, rss, t):
        new, olds = self.sync_revision(dep, rss, True, t)
        if new is None:
            return
        all_rss = olds + [new]
        replicas = dep.spec["replicas"]
        # reconcileNewReplicaSet
        if new.replicas > replicas:
            self.scale_rs(dep, new, replicas, t)
            return
        if new.replicas < replicas:
            n = self.new_rs_new_replicas(dep, all_rss, new)
            if self.scale_rs(dep, new, n, t):
                return
        # reconcileOldReplicaSets
        active_olds = [rs for rs in olds if rs.replicas > 0]
        if active_olds:
            _, max_unavail = surge_unavailable(dep)
            all_count = sum(rs.replicas for rs in all_rss)
            min_avail = replicas - max_unavail
            new_unavail = new.replicas - len(self.rs_available(new))
            max_down = all_count - min_avail - new_unavail
            if max_down > 0:
                done = 0
                # cleanupUnhealthyReplicas
                for rs in by_created(active_olds):
                    if done >= max_down:
                        break
                    if rs.replicas == 0:
                        continue
                    avail = len(self.rs_available(rs))
                    if avail == rs.replicas:
                        continue
                    d = min(max_down - done, rs.replicas - avail)
                    if d > 0:
                        self.scale_rs(dep, rs, rs.replicas - d, t)
                        done += d
                # scaleDownOldReplicaSetsForRollingUpdate
                avail = sum(len(self.rs_available(rs)) for rs in all_rss)
                total_down = avail - min_avail
                scaled = 0
                for rs in by_created(active_olds):
                    if scaled >= total_down:
                        break
                    if rs.replicas == 0:
                        continue
                    d = min(rs.replicas, total_down - scaled)
                    self.scale_rs(dep, rs, rs.replicas - d, t)
                    scaled += d
                if done + max(scaled, 0) > 0:
                    return
        if self.complete(dep, new):
            self.cleanup_deployment(dep, olds)

    def rollout_recreate(self, dep, rss, t):
        new, olds = self.sync_revision(dep, rss, False, t)
        scaled = False
        for rs in olds:
            if rs.replicas > 0:
                self.scale_rs(dep, rs, 0, t)
                scaled = True
        if scaled:
            return
        # oldPodsRunning: an old ReplicaSet's pod that is not Failed/Succeeded, even terminating
        if any(p for rs in olds for p in self.rs_pods(rs) if not (p.exit_code is not None and not p.terminating)):
            return
        if new is None:
            new, olds = self.sync_revision(dep, rss, True, t)
            if new is None:
                return
        self.scale_rs(dep, new, dep.spec["replicas"], t)
        if self.complete(dep, new):
            self.cleanup_deployment(dep, olds)

    def update_status(self, dep, t):
        rss = self.dep_rss(dep)
        new = self.find_new(dep, rss)
        replicas = dep.spec["replicas"]
        pods = [p for rs in rss for p in self.rs_active(rs)]
        # the ReplicaSet controller counts active pods only (FilterActivePods): a pod
        # being deleted is no replica, so a rollout is done while old pods terminate
        total = len(pods)
        updated = len(self.rs_active(new)) if new else 0
        ready = sum(1 for p in pods if p.ready and p.exit_code is None)
        available = ready
        counts = (total, updated, ready, available, dep.observed_generation)
        if dep.last_counts is not None and counts != dep.last_counts:
            dep.progress_at = max(dep.progress_at, t)
        dep.last_counts = counts
        max_unavail = scaled_value(dep.spec["strategy"].get("rollingUpdate", {}).get("maxUnavailable", "25%"),
                                   replicas, False) if rolling(dep) else 0
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
        # syncRolloutStatus: a ReplicaSet's ReplicaFailure (the new one's first) is copied
        # into the Deployment's conditions, and removed with it
        failure = next((c for rs in ([new] if new else []) + [r for r in rss if r is not new]
                        for c in rs.status.get("conditions") or []
                        if c["type"] == "ReplicaFailure"), None)
        if failure is not None:
            new_conds.append({"type": "ReplicaFailure", "status": failure["status"],
                              "lastUpdateTime": failure["lastTransitionTime"],
                              "lastTransitionTime": failure["lastTransitionTime"],
                              "reason": failure["reason"], "message": failure["message"]})
        dep.cond_progressing = dep.progress_at
        status = {"observedGeneration": dep.observed_generation, "replicas": total,
                  "updatedReplicas": updated, "readyReplicas": ready, "availableReplicas": available}
        if total - available > 0:
            status["unavailableReplicas"] = total - available
        for k in ("replicas", "updatedReplicas", "readyReplicas", "availableReplicas"):
            if status[k] == 0:
                del status[k]
        status["conditions"] = new_conds
        if dep.collision_count:
            status["collisionCount"] = dep.collision_count
        if status != dep.status:
            dep.status = status
            self.bump_dep(dep)


class ReplicaSetController:
    """Mixed into Cluster: keeps each ReplicaSet's active pods at its replicas."""

    def app_of(self, rs):
        """The Deployment whose pods these are (its owner, else one whose selector
        matches the template's labels), for what the pod's process runs."""
        ref = controller_of(rs.owner_refs)
        labels = (rs.template.get("metadata") or {}).get("labels") or {}
        for dep in self.deployments.values():
            if ref is not None and ref.get("uid") == dep.metadata["uid"]:
                return dep
        for dep in self.deployments.values():
            if selector_matches(dep.spec["selector"], labels):
                return dep
        return App(rs.name)

    def claim_pods(self, rs):
        """claimPods: adopt unowned active pods the selector matches, release owned
        ones it no longer matches."""
        for pod in self.owned(rs.uid) + self.owned(None):
            if pod.terminating or (pod.exit_code is not None and not pod.terminating):
                continue
            ref = controller_of(pod.owner_refs)
            matches = selector_matches(rs.selector, pod.labels)
            if ref is not None:
                if ref.get("uid") == rs.uid and not matches and rs.deletion_ts is None:
                    pod.owner_refs = [r for r in pod.owner_refs if r.get("uid") != rs.uid]
                    log("pod %s released by replicaset %s" % (pod.name, rs.name))
                    self.bump_pod(pod)
            elif matches and rs.deletion_ts is None:
                pod.owner_refs.append(rs.controller_ref_to())
                log("pod %s adopted by replicaset %s" % (pod.name, rs.name))
                self.bump_pod(pod)

    def quota_refuses(self, name):
        """The admission of a new pod under the namespace's pod quota: None or the error."""
        if self.quota is None:
            return None
        used = sum(1 for p in self.pods if not (p.exit_code is not None and not p.terminating))
        if used + 1 > self.quota["pods"]:
            return ('pods "%s" is forbidden: exceeded quota: %s, requested: pods=1, used: pods=%d, '
                    'limited: pods=%d' % (name, self.quota["name"], used, self.quota["pods"]))
        return None

    def manage_replicas(self, rs):
        """-> the error of a failed pod creation, or None."""
        active = self.rs_active(rs)
        if len(active) < rs.replicas:
            app = self.app_of(rs)
            for _ in range(rs.replicas - len(active)):
                pod = Pod(app, rs, broken=app.name in self.broken, fault=self.pod_faults.get(app.name))
                pod.side_gate = app.name in self.side_gated and bool(app.side_queues)
                err = self.quota_refuses(pod.name)
                if err is not None:
                    log("replicaset %s: %s" % (rs.name, err))
                    return err      # slowStartBatch stops at the first failure
                self.create_pod(pod)
        elif len(active) > rs.replicas:
            # delete not-ready first, then the newest
            victims = sorted(active, key=lambda p: (p.ready, -p.created))
            for pod in victims[:len(active) - rs.replicas]:
                self.terminate_pod(pod)
        return None

    def sync_replicaset(self, rs, t):
        self.claim_pods(rs)
        err = self.manage_replicas(rs) if rs.deletion_ts is None else None
        active = self.rs_active(rs)
        tl = (rs.template.get("metadata") or {}).get("labels") or {}
        st = {"replicas": len(active),
              "fullyLabeledReplicas": sum(1 for p in active if all(p.labels.get(k) == v for k, v in tl.items())),
              "readyReplicas": sum(1 for p in active if p.ready and p.exit_code is None),
              "availableReplicas": len(self.rs_available(rs)),
              "observedGeneration": rs.generation}
        for k in ("fullyLabeledReplicas", "readyReplicas", "availableReplicas"):
            if st[k] == 0:
                del st[k]
        conds = [c for c in rs.status.get("conditions") or [] if c["type"] != "ReplicaFailure"]
        failure = next((c for c in rs.status.get("conditions") or [] if c["type"] == "ReplicaFailure"), None)
        if err is not None:
            conds.append(failure or {"type": "ReplicaFailure", "status": "True",
                                     "lastTransitionTime": now_rfc3339(t),
                                     "reason": "FailedCreate" if len(active) < rs.replicas else "FailedDelete",
                                     "message": err})
        if conds:
            st["conditions"] = conds
        if st != rs.status:
            rs.status = st
            self.bump_rs(rs)

    def reconcile_replicasets(self, t):
        for rs in sorted(self.replicasets.values(), key=lambda r: r.created):
            self.sync_replicaset(rs, t)

    # ---- the garbage collector ----
    def delete_replicaset(self, rs, policy):
        """DELETE of a ReplicaSet: Background removes it now (its pods follow), Orphan
        and Foreground leave it with a deletionTimestamp and a finalizer until the
        garbage collector is done with its pods."""
        if rs.deletion_ts is not None:
            return
        rs.deleting = policy
        if policy == "Background":
            self.remove_replicaset(rs)
        else:
            rs.deletion_ts = time.time()
            self.bump_rs(rs)

    def remove_replicaset(self, rs):
        rs.gone = True
        self.replicasets.pop(rs.name, None)
        self.bump_rs(rs, "DELETED")
        log("replicaset %s deleted (%s)" % (rs.name, rs.deleting))

    def collect_garbage(self):
        for rs in list(self.replicasets.values()):
            if rs.deleting == "Orphan":
                for pod in self.pods:
                    if any(r.get("uid") == rs.uid for r in pod.owner_refs):
                        pod.owner_refs = [r for r in pod.owner_refs if r.get("uid") != rs.uid]
                        log("pod %s orphaned" % pod.name)
                        self.bump_pod(pod)
                self.remove_replicaset(rs)
            elif rs.deleting == "Foreground":
                left = [p for p in self.pods if any(r.get("uid") == rs.uid for r in p.owner_refs)]
                for p in left:
                    self.terminate_pod(p)
                if not left:
                    self.remove_replicaset(rs)
        # dependents whose owners are all gone
        dep_uids = {d.metadata["uid"] for d in self.deployments.values()}
        for rs in list(self.replicasets.values()):
            if rs.owner_refs and rs.deletion_ts is None and \
                    not any(r.get("uid") in dep_uids for r in rs.owner_refs):
                rs.deleting = "Background"
                self.remove_replicaset(rs)
        rs_uids = {rs.uid for rs in self.replicasets.values()}
        rs_uids |= {s.metadata["uid"] for s in self.statefulsets.values()}     # statefulsets.py
        for pod in self.pods:
            if pod.owner_refs and not pod.terminating and not any(r.get("uid") in rs_uids for r in pod.owner_refs):
                self.terminate_pod(pod)
