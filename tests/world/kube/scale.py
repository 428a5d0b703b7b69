"""A Deployment's scale subresource, as kube-apiserver serves it (what
`kubectl scale`, an HPA or KEDA use): GET, PATCH (merge, strategic merge or
JSON patch) and PUT of /apis/apps/v1/namespaces/NS/deployments/NAME/scale,
an autoscaling/v1 Scale whose spec.replicas is the Deployment's. A change
is a scaling event for the Deployment controller."""
import json

from kube.patch import Rejected, apply_patch, decode_patch, store_patched
from kube.status import st_bad_request, st_conflict, st_invalid, st_not_found


def render_scale(dep):
    """The autoscaling/v1 Scale of a Deployment (the caller holds the lock)."""
    md = dep.metadata
    sel = dep.spec["selector"].get("matchLabels") or {}
    return {"kind": "Scale", "apiVersion": "autoscaling/v1",
            "metadata": {"name": md["name"], "namespace": md["namespace"], "uid": md["uid"],
                         "resourceVersion": md["resourceVersion"],
                         "creationTimestamp": md["creationTimestamp"]},
            "spec": {"replicas": dep.spec.get("replicas", 1)},
            "status": {"replicas": dep.status.get("replicas", 0),
                       "selector": ",".join("%s=%s" % kv for kv in sorted(sel.items()))}}


def _deployment(cluster, ns, name):
    dep = cluster.deployments.get(name) if ns == cluster.ns else None
    if dep is None:
        raise Rejected(st_not_found("deployments", "apps", name))
    return dep


def _store(cluster, dep, name, res):
    reps = (res.get("spec") or {}).get("replicas")
    if not isinstance(reps, int) or isinstance(reps, bool) or reps < 0:
        raise Rejected(st_invalid("Scale", "autoscaling", name, "spec.replicas",
                                  "Invalid value: %s: must be greater than or equal to 0"
                                  % json.dumps(reps)))
    spec = dict(dep.spec, replicas=reps)
    if store_patched(dep, dep.metadata, spec):
        cluster.bump_dep(dep)
    return render_scale(dep)


def get_scale(cluster, ns, name):
    with cluster.lock:
        return render_scale(_deployment(cluster, ns, name))


def patch_scale(cluster, ns, name, ct, raw):
    patch = decode_patch(ct, raw)
    with cluster.lock:
        dep = _deployment(cluster, ns, name)
        res = apply_patch(render_scale(dep), ct, patch, dep.metadata["resourceVersion"],
                          "deployments", name)
        return _store(cluster, dep, name, res)


def put_scale(cluster, ns, name, raw):
    try:
        obj = json.loads(raw.decode("utf-8"))
    except (ValueError, UnicodeDecodeError) as e:
        raise Rejected(st_bad_request("error decoding the body: %s" % e))
    if not isinstance(obj, dict) or not isinstance(obj.get("metadata"), dict):
        raise Rejected(st_bad_request("the body is not a Scale object"))
    with cluster.lock:
        dep = _deployment(cluster, ns, name)
        rv = obj["metadata"].get("resourceVersion")
        if rv is not None and str(rv) != dep.metadata["resourceVersion"]:
            raise Rejected(st_conflict("deployments", "apps", name))
        if obj["metadata"].get("name") not in (None, name):
            raise Rejected(st_bad_request("the name of the object (%s) does not match the name on "
                                          "the URL (%s)" % (obj["metadata"].get("name"), name)))
        return _store(cluster, dep, name, obj)
