"""StatefulSets, as kube-apiserver stores them and kube-controller-manager's
StatefulSet controller runs them (pkg/controller/statefulset):

  - pods NAME-0..NAME-(N-1), labelled controller-revision-hash (the revision
    NAME-HASH of the template they were made from),
    statefulset.kubernetes.io/pod-name and apps.kubernetes.io/pod-index,
    owned by the StatefulSet; spec.hostname is the pod's name;
  - podManagementPolicy OrderedReady: a missing pod is created only once
    every lower ordinal is Running and Ready, one at a time;
  - updateStrategy RollingUpdate: from the highest ordinal down to
    rollingUpdate.partition, one pod at a time, the pod of an old revision
    is deleted and recreated (same name) at the update revision, and the
    next one waits until the replacement is Running and Ready; ordinals
    below the partition keep (and are recreated at) the current revision;
  - updateStrategy OnDelete: nothing is replaced; a pod deleted by someone
    else comes back at the update revision;
  - status: observedGeneration, replicas (pods created, terminating ones
    too), readyReplicas, availableReplicas (minReadySeconds 0), and, of the
    pods not being deleted, currentReplicas and updatedReplicas;
    currentRevision becomes updateRevision once a RollingUpdate has every
    pod updated and ready (completeRollingUpdate).

Each pod of a `worker: true` StatefulSet is a real Celery worker with
hostname NAME@POD, as for Deployments (the kubelet, kubelet.py, runs it).
Configured in world.json's "statefulsets" list: name, replicas, worker,
queues, updateStrategy ("RollingUpdate" or "OnDelete"), partition,
terminationGracePeriodSeconds, shutdownSeconds, labels, selector (its
matchLabels and the template's labels; default app: NAME).
"""
import copy
import json

from kube.objects import Deployment, Pod, Workload
from kube.patch import Rejected, check_workload, decode_patch, patch_stored, store_patched
from kube.status import st_invalid
from kube.util import OBSERVE_DELAY, log, template_hash

POD_NAME_LABEL = "statefulset.kubernetes.io/pod-name"
POD_INDEX_LABEL = "apps.kubernetes.io/pod-index"
REVISION_LABEL = "controller-revision-hash"


class Revision:
    """A ControllerRevision of a StatefulSet: the template its pods are made from.
    Pod() (objects.py) reads .template and .name, and takes controller_ref_to() as
    its owner: the StatefulSet."""

    def __init__(self, sts, template):
        self.sts = sts
        self.template = copy.deepcopy(template)
        self.hash = template_hash(template)
        self.name = "%s-%s" % (sts.name, self.hash)      # the label's value

    def controller_ref_to(self):
        return {"apiVersion": "apps/v1", "kind": "StatefulSet", "name": self.sts.name,
                "uid": self.sts.metadata["uid"], "controller": True, "blockOwnerDeletion": True}


class StatefulSet(Workload):
    RESOURCE, KIND = "statefulsets", "StatefulSet"

    def __init__(self, cfg, ns):
        d = Deployment(cfg, ns)     # the same pod template and worker settings
        self.name, self.worker, self.queues = d.name, d.worker, d.queues
        self.shutdown_seconds = d.shutdown_seconds
        self.pool_args = d.pool_args
        self.side_queues = d.side_queues
        selector = cfg.get("selector") or {"app": self.name}
        template = d.spec["template"]
        template["metadata"]["labels"] = dict(selector)
        self.created = d.created
        self.metadata = {
            "name": self.name, "namespace": ns, "uid": d.metadata["uid"], "resourceVersion": "0",
            "generation": 1, "creationTimestamp": d.metadata["creationTimestamp"],
            "labels": d.metadata["labels"],
        }
        strategy = cfg.get("updateStrategy", "RollingUpdate")
        if strategy == "RollingUpdate":
            us = {"type": "RollingUpdate", "rollingUpdate": {"partition": int(cfg.get("partition", 0))}}
        else:
            us = {"type": strategy}
        self.spec = {
            "replicas": int(cfg.get("replicas", 1)),
            "selector": {"matchLabels": dict(selector)},
            "template": template,
            "serviceName": cfg.get("serviceName", self.name),
            "podManagementPolicy": "OrderedReady",
            "updateStrategy": us,
            "revisionHistoryLimit": 10,
            "persistentVolumeClaimRetentionPolicy": {"whenDeleted": "Retain", "whenScaled": "Retain"},
        }
        self.status = {"replicas": 0, "availableReplicas": 0}
        self.observed_generation = 0
        self.generation_changed_at = self.created
        self.progress_at = self.created        # the kubelet sets it; unused here
        self.revisions = {}                     # hash -> Revision
        self.current = None                     # Revision
        self.update = None                      # Revision


class StatefulSetController:
    """Mixed into Cluster: uses its pods, statefulsets, spawn(), terminate_pod()
    and bump_sts(); the kubelet's pod_lifecycle() runs the pods."""

    def sts_pods(self, sts):
        return sorted((p for p in self.pods if p.dep is sts), key=lambda p: p.ordinal)

    def sts_revision(self, sts):
        h = template_hash(sts.spec["template"])
        rev = sts.revisions.get(h)
        if rev is None:
            rev = sts.revisions[h] = Revision(sts, sts.spec["template"])
        return rev

    def tick_statefulsets(self, t):
        for sts in self.statefulsets.values():
            if sts.metadata["generation"] > sts.observed_generation and (
                    t - sts.generation_changed_at >= OBSERVE_DELAY or sts.observed_generation == 0):
                sts.observed_generation = sts.metadata["generation"]
                sts.update = self.sts_revision(sts)
                if sts.current is None:
                    sts.current = sts.update
            if sts.update is not None:
                self.reconcile_statefulset(sts)
                self.update_sts_status(sts)

    def partition(self, sts):
        us = sts.spec["updateStrategy"]
        if us.get("type") != "RollingUpdate":
            return None
        return (us.get("rollingUpdate") or {}).get("partition", 0)

    def new_sts_pod(self, sts, ordinal):
        part = self.partition(sts)
        # newVersionedStatefulSetPod: below the partition, the current revision
        rev = sts.current if part is not None and ordinal < part else sts.update
        pod = Pod(sts, rev, broken=sts.name in self.broken, fault=self.pod_faults.get(sts.name))
        pod.ordinal = ordinal
        pod.sts_rev = rev
        pod.name = "%s-%d" % (sts.name, ordinal)
        pod.generate_name = sts.name + "-"
        pod.hostname = "%s@%s" % (sts.name, pod.name)
        pod.labels.update({REVISION_LABEL: rev.name, POD_NAME_LABEL: pod.name, POD_INDEX_LABEL: str(ordinal)})
        pod.spec["hostname"] = pod.name
        pod.spec["subdomain"] = sts.spec["serviceName"]
        self.create_pod(pod)
        log("statefulset %s: created pod %s at revision %s" % (sts.name, pod.name, rev.name))

    def reconcile_statefulset(self, sts):
        """One step of StatefulSetControl.UpdateStatefulSet (OrderedReady)."""
        replicas = sts.spec["replicas"]
        pods = self.sts_pods(sts)
        by_ord = {p.ordinal: p for p in pods}
        # create or wait, in ordinal order: nothing past a pod not Running and Ready
        for o in range(replicas):
            p = by_ord.get(o)
            if p is None:
                self.new_sts_pod(sts, o)
                return
            if p.terminating or not p.ready or p.exit_code is not None:
                return
        # scale down: the highest ordinal first, one at a time
        extra = [p for p in pods if p.ordinal >= replicas]
        if extra:
            if not any(p.terminating for p in extra):
                self.terminate_pod(extra[-1])
            return
        part = self.partition(sts)
        if part is None:
            return                      # OnDelete: whoever deletes the pods updates them
        for p in reversed(pods):
            if p.ordinal < part:
                break
            if p.sts_rev is not sts.update:
                log("statefulset %s: rolling %s to %s" % (sts.name, p.name, sts.update.name))
                self.terminate_pod(p)
                return

    def update_sts_status(self, sts):
        pods = self.sts_pods(sts)
        live = [p for p in pods if not p.terminating]
        ready = sum(1 for p in pods if p.ready and not p.terminating and p.exit_code is None)
        st = {"observedGeneration": sts.observed_generation, "replicas": len(pods),
              "readyReplicas": ready, "availableReplicas": ready,
              "currentReplicas": sum(1 for p in live if p.sts_rev is sts.current),
              "updatedReplicas": sum(1 for p in live if p.sts_rev is sts.update),
              "currentRevision": sts.current.name, "updateRevision": sts.update.name,
              "collisionCount": 0}
        # completeRollingUpdate
        if self.partition(sts) is not None and st["updatedReplicas"] == st["replicas"] \
                and st["readyReplicas"] == st["replicas"]:
            sts.current = sts.update
            st["currentReplicas"] = st["updatedReplicas"]
            st["currentRevision"] = sts.update.name
        for k in ("readyReplicas", "currentReplicas", "updatedReplicas"):     # omitempty
            if st[k] == 0:
                del st[k]
        if st != sts.status:
            sts.status = st
            self.bump_sts(sts)

    def statefulsets_ready(self):
        return all(s.status.get("availableReplicas", 0) >= s.spec["replicas"]
                   and s.status.get("replicas", 0) == s.spec["replicas"] for s in self.statefulsets.values())


def patch_statefulset(cluster, ns, name, ct, raw):
    """A PATCH of StatefulSet ns/name, as for a Deployment (patch.py): the patch,
    the validation of what a StatefulSet forbids to change, a spec change
    bumps the generation. Returns the object or raises Rejected."""
    patch = decode_patch(ct, raw)
    with cluster.lock:
        sts, md, spec = patch_stored(cluster, "statefulsets", ns, name, ct, patch)
        # ValidateStatefulSetUpdate: only replicas, ordinals, template, updateStrategy,
        # persistentVolumeClaimRetentionPolicy and minReadySeconds may change
        fixed = {k: v for k, v in spec.items() if k not in (
            "replicas", "ordinals", "template", "updateStrategy", "persistentVolumeClaimRetentionPolicy",
            "minReadySeconds")}
        was = {k: v for k, v in sts.spec.items() if k not in (
            "replicas", "ordinals", "template", "updateStrategy", "persistentVolumeClaimRetentionPolicy",
            "minReadySeconds")}
        if fixed != was:
            raise Rejected(st_invalid("StatefulSet", "apps", name, "spec",
                                      "Forbidden: updates to statefulset spec for fields other than "
                                      "'replicas', 'ordinals', 'template', 'updateStrategy', "
                                      "'persistentVolumeClaimRetentionPolicy' and 'minReadySeconds' "
                                      "are forbidden"))
        us = spec.get("updateStrategy")
        if not isinstance(us, dict) or us.get("type") not in ("RollingUpdate", "OnDelete"):
            raise Rejected(st_invalid("StatefulSet", "apps", name, "spec.updateStrategy.type",
                                      'Unsupported value: %s: supported values: "OnDelete", '
                                      '"RollingUpdate"' % json.dumps((us or {}).get("type")
                                                                      if isinstance(us, dict) else us)))
        if us["type"] == "OnDelete" and us.get("rollingUpdate") is not None:
            raise Rejected(st_invalid("StatefulSet", "apps", name, "spec.updateStrategy.rollingUpdate",
                                      "Invalid value: \"OnDelete\": only allowed for updateStrategy "
                                      "'RollingUpdate'"))
        if us["type"] == "RollingUpdate":
            us.setdefault("rollingUpdate", {}).setdefault("partition", 0)       # defaulted
        check_workload("StatefulSet", name, md, spec, sts.spec["selector"])
        if store_patched(sts, md, spec):
            if not sts.metadata.get("annotations"):
                sts.metadata.pop("annotations", None)   # omitempty
            cluster.bump_sts(sts)
        return sts.render()
