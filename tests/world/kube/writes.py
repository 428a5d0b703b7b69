"""The writes of the API besides Deployment PATCH (patch.py), as kube-apiserver
answers them: POST of a ReplicaSet (defaulting, validation), DELETE of a
ReplicaSet (DeleteOptions: propagationPolicy Orphan, Background, Foreground;
preconditions) and of a pod (gracePeriodSeconds), PATCH of a pod's metadata
(labels, annotations, ownerReferences)."""
import copy
import json

from kube.objects import ReplicaSet
from kube.patch import json_patch, merge_patch
from kube.status import (st_bad_request, st_conflict, st_internal, st_not_found, st_unsupported_media,
                         status_obj)
from kube.util import rand_suffix

POLICIES = ("Foreground", "Background", "Orphan")


def go_map(m):
    return "map[string]string{%s}" % ", ".join('"%s":"%s"' % kv for kv in sorted((m or {}).items()))


def st_invalid_many(kind, group, name, causes):
    """422 Invalid with one or more (field, type, detail) causes, as field.ErrorList renders."""
    msgs = ["%s: %s" % (f, d) for f, d in causes]
    text = msgs[0] if len(msgs) == 1 else "[%s]" % ", ".join(msgs)
    return status_obj(422, "Invalid", '%s.%s "%s" is invalid: %s' % (kind, group, name, text),
                      {"name": name, "group": group, "kind": kind,
                       "causes": [{"reason": "FieldValueInvalid" if "Invalid value" in d else
                                   "FieldValueRequired", "message": d, "field": f} for f, d in causes]})


def read_json(h):
    if not h._body:
        return None
    try:
        return json.loads(h._body.decode("utf-8"))
    except (ValueError, UnicodeDecodeError) as e:
        raise ValueError("couldn't get version/kind; json parse error: %s" % e)


def parsed(h, fn):
    """(fn(h), None), or (None, the 400 Status) when the body does not parse."""
    try:
        return fn(h), None
    except ValueError as e:
        return None, st_bad_request(str(e))


def bad_meta_maps(md):
    """The 400 Status for labels or annotations that are not maps of strings, or None."""
    for k in ("labels", "annotations"):
        v = md.get(k)
        if v is not None and (not isinstance(v, dict) or any(not isinstance(x, str) for x in v.values())):
            return st_bad_request("json: cannot unmarshal into Go struct field ObjectMeta.metadata.%s of type "
                                  "string" % k)
    return None


def block_owner_deletion_refused(h, ns, name, refs):
    """OwnerReferencesPermissionEnforcement (enabled on OpenShift): an ownerReference with
    blockOwnerDeletion needs update on the owner's finalizers, which POST /_test/forbid
    {"verb": "update", "resource": "deployments/finalizers"} takes away."""
    with h.state["lock"]:
        denied = {f["resource"] for f in h.state["forbid"] if f["verb"] in ("update", "*")}
    for r in refs:
        res = r.get("kind", "").lower() + "s/finalizers"
        if r.get("blockOwnerDeletion") and (res in denied or "*" in denied):
            user = h.authenticate()[1]
            return status_obj(403, "Forbidden", (
                'replicasets.apps "%s" is forbidden: cannot set blockOwnerDeletion if an ownerReference refers '
                'to a resource you can\'t set finalizers on: User "%s" cannot update resource "%s" in API group '
                '"apps" in the namespace "%s"' % (name, user, res, ns)),
                {"name": name, "group": "apps", "kind": "replicasets"})
    return None


def default_template(t):
    """The defaults the API server fills into a pod template."""
    md = t.setdefault("metadata", {})
    md.setdefault("creationTimestamp", None)
    spec = t.setdefault("spec", {})
    for c in spec.get("containers") or []:
        if not isinstance(c, dict):
            continue
        c.setdefault("resources", {})
        c.setdefault("terminationMessagePath", "/dev/termination-log")
        c.setdefault("terminationMessagePolicy", "File")
        img = str(c.get("image", ""))
        tag = img.rsplit(":", 1)[1] if ":" in img.rsplit("/", 1)[-1] else "latest"
        c.setdefault("imagePullPolicy", "Always" if tag == "latest" else "IfNotPresent")
    spec.setdefault("restartPolicy", "Always")
    spec.setdefault("terminationGracePeriodSeconds", 30)
    spec.setdefault("dnsPolicy", "ClusterFirst")
    spec.setdefault("securityContext", {})
    spec.setdefault("schedulerName", "default-scheduler")


def rs_create(h, ns, name):
    c = h.cluster
    obj, st = parsed(h, read_json)
    if st is not None:
        return h.send_status(st)
    if not isinstance(obj, dict):
        return h.send_status(st_bad_request("the body of the request was not a ReplicaSet"))
    if obj.get("kind", "ReplicaSet") != "ReplicaSet" or obj.get("apiVersion", "apps/v1") != "apps/v1":
        return h.send_status(st_bad_request("the API version in the data (%s) does not match the expected "
                                           "API version (apps/v1)" % obj.get("apiVersion")))
    md = obj.get("metadata") or {}
    if md.get("namespace") not in (None, "", ns):
        return h.send_status(st_bad_request("the namespace of the provided object does not match the "
                                            "namespace sent on the request"))
    spec = copy.deepcopy(obj.get("spec") or {})
    tmpl = spec.get("template") or {}
    if isinstance(tmpl, dict):
        default_template(tmpl)
    rname = md.get("name") or ""
    causes = []
    if not rname and not md.get("generateName"):
        causes.append(("metadata.name", "Required value: name or generateName is required"))
    sel = spec.get("selector")
    tl = ((tmpl.get("metadata") or {}).get("labels") or {}) if isinstance(tmpl, dict) else {}
    if not sel or not isinstance(sel, dict) or not (sel.get("matchLabels") or sel.get("matchExpressions")):
        causes.append(("spec.selector", "Required value"))
    else:
        from kube.selectors import selector_matches
        if not selector_matches(sel, tl):
            causes.append(("spec.template.metadata.labels",
                           "Invalid value: %s: `selector` does not match template `labels`" % go_map(tl)))
    reps = spec.get("replicas", 1)
    if not isinstance(reps, int) or isinstance(reps, bool) or reps < 0:
        causes.append(("spec.replicas", "Invalid value: %s: must be greater than or equal to 0"
                       % json.dumps(reps)))
    containers = (tmpl.get("spec") or {}).get("containers") if isinstance(tmpl, dict) else None
    if not isinstance(containers, list) or not containers or not all(
            isinstance(x, dict) and x.get("name") and x.get("image") for x in containers):
        causes.append(("spec.template.spec.containers", "Required value"))
    if bad_meta_maps(md):
        return h.send_status(bad_meta_maps(md))
    refs = md.get("ownerReferences") or []
    if not isinstance(refs, list) or any(not isinstance(r, dict) or not r.get("uid") or not r.get("name")
                                         or not r.get("kind") or not r.get("apiVersion") for r in refs):
        causes.append(("metadata.ownerReferences", "Invalid value: uid, name, kind and apiVersion must be set"))
    elif sum(1 for r in refs if r.get("controller")) > 1:
        causes.append(("metadata.ownerReferences", "Invalid value: Only one reference can have Controller "
                       "set to true"))
    if causes:
        return h.send_status(st_invalid_many("ReplicaSet", "apps", rname or md.get("generateName", ""), causes))
    if md.get("resourceVersion"):
        return h.send_status(st_internal("resourceVersion should not be set on objects to be created"))
    st = block_owner_deletion_refused(h, ns, rname or md.get("generateName", ""), refs)
    if st is not None:
        return h.send_status(st)
    with c.lock:
        if not rname:
            rname = md["generateName"] + rand_suffix()
        if ns != c.ns:
            return h.send_status(st_not_found("namespaces", "", ns))
        if rname in c.replicasets:
            return h.send_status(status_obj(409, "AlreadyExists", 'replicasets.apps "%s" already exists' % rname,
                                            {"name": rname, "group": "apps", "kind": "replicasets"}))
        rs = ReplicaSet(rname, md.get("labels") or tl, md.get("annotations"), refs, sel, tmpl, reps)
        c.replicasets[rname] = rs
        c.bump_rs(rs, "ADDED")
        out = rs.render(c.ns)
    h.send_json(201, out)


def delete_options(h):
    """DeleteOptions from the body and the query -> dict, or raises ValueError."""
    try:
        opts = read_json(h) or {}
    except ValueError as e:
        raise ValueError(str(e))
    if not isinstance(opts, dict):
        raise ValueError("the body of the request was not DeleteOptions")
    q = h._q
    if "propagationPolicy" in q:
        opts["propagationPolicy"] = q["propagationPolicy"]
    if "gracePeriodSeconds" in q:
        try:
            opts["gracePeriodSeconds"] = int(q["gracePeriodSeconds"])
        except ValueError:
            raise ValueError('invalid gracePeriodSeconds "%s"' % q["gracePeriodSeconds"])
    if "orphanDependents" in q:
        opts["orphanDependents"] = q["orphanDependents"] == "true"
    return opts


def precondition_failed(opts, uid, rv):
    pre = opts.get("preconditions") or {}
    if pre.get("uid") and pre["uid"] != uid:
        return "Precondition failed: UID in precondition: %s, UID in object meta: %s" % (pre["uid"], uid)
    if pre.get("resourceVersion") and pre["resourceVersion"] != rv:
        return ("Precondition failed: ResourceVersion in precondition: %s, ResourceVersion in object meta: %s"
                % (pre["resourceVersion"], rv))
    return None


def deleter(resource, group, lookup, check, act):
    """A DELETE handler: the DeleteOptions (check(opts): a Status refusing them, or
    None), the object (404), its preconditions (409), then act(cluster, obj, opts) -> the
    answer (200)."""
    def handler(h, ns, name):
        c = h.cluster
        opts, st = parsed(h, delete_options)
        if st is None:
            st = check(opts)
        if st is not None:
            return h.send_status(st)
        with c.lock:
            obj = lookup(c, name) if ns == c.ns else None
            if obj is None:
                return h.send_status(st_not_found(resource, group, name))
            err = precondition_failed(opts, obj.uid, str(obj.rv))
            if err:
                d = dict({"name": name}, **({"group": group} if group else {}))
                d["kind"] = resource
                return h.send_status(status_obj(409, "Conflict", err, d))
            out = act(c, obj, opts)
        h.send_json(200, out)
    return handler


def rs_policy(opts):
    policy = opts.get("propagationPolicy")
    if policy is None and opts.get("orphanDependents") is not None:
        policy = "Orphan" if opts["orphanDependents"] else "Background"
    opts["propagationPolicy"] = policy = policy or "Background"    # apps/v1 ReplicaSets: DeleteDependents
    if policy not in POLICIES:
        return status_obj(
            422, "Invalid", 'DeleteOptions.meta.k8s.io "" is invalid: propagationPolicy: Unsupported value: '
            '"%s": supported values: "Foreground", "Background", "Orphan"' % policy)
    return None


def rs_delete_now(c, rs, opts):
    c.delete_replicaset(rs, opts["propagationPolicy"])
    if rs.gone:
        return {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success",
                "details": {"name": rs.name, "group": "apps", "kind": "replicasets", "uid": rs.uid}}
    return rs.render(c.ns)


def pod_grace(opts):
    grace = opts.get("gracePeriodSeconds")
    if grace is not None and (not isinstance(grace, int) or isinstance(grace, bool)):
        return st_bad_request("gracePeriodSeconds must be an integer")
    return None


def pod_delete_now(c, pod, opts):
    grace = opts.get("gracePeriodSeconds")
    c.terminate_pod(pod, None if grace is None else max(0, grace))
    return c.render_pod(pod)


def find_pod(c, ns, name):
    return next((p for p in c.pods if p.name == name), None) if ns == c.ns else None


rs_delete = deleter("replicasets", "apps", lambda c, name: c.replicasets.get(name), rs_policy, rs_delete_now)
pod_delete = deleter("pods", "", lambda c, name: find_pod(c, c.ns, name), pod_grace, pod_delete_now)


def pod_patch(h, ns, name):
    """PATCH of a pod: only its metadata's labels, annotations and ownerReferences
    change (status is a subresource; the spec is immutable but for a few fields)."""
    c = h.cluster
    ct = (h.headers.get("Content-Type") or "").split(";")[0].strip().lower()
    if ct not in ("application/strategic-merge-patch+json", "application/merge-patch+json",
                  "application/json-patch+json"):
        return h.send_status(st_unsupported_media(ct))
    try:
        patch = json.loads(h._body.decode("utf-8"))
    except (ValueError, UnicodeDecodeError) as e:
        return h.send_status(st_bad_request("error decoding patch: %s" % e))
    if (ct == "application/json-patch+json") != isinstance(patch, list) or \
            not isinstance(patch, (list, dict)):
        return h.send_status(st_bad_request("json: cannot unmarshal %s into Go value of type %s" % (
            type(patch).__name__, "jsonpatch.Patch" if ct == "application/json-patch+json"
            else "map[string]interface {}")))
    with c.lock:
        pod = find_pod(c, ns, name)
        if pod is None:
            return h.send_status(st_not_found("pods", "", name))
        cur = c.render_pod(pod)
        try:
            res = json_patch(cur, patch) if ct == "application/json-patch+json" else merge_patch(cur, patch)
        except (ValueError, IndexError, KeyError, TypeError) as e:
            return h.send_status(st_bad_request(str(e)) if ct != "application/json-patch+json"
                                 else status_obj(422, "Invalid", str(e)))
        md = res.get("metadata") if isinstance(res, dict) else None
        if not isinstance(md, dict):
            return h.send_status(st_bad_request("the patch produced an invalid object"))
        prv = (patch.get("metadata") or {}).get("resourceVersion") if isinstance(patch, dict) else None
        if prv is not None and str(prv) != str(pod.rv):
            return h.send_status(st_conflict("pods", "", name))
        if md.get("name") != name or md.get("uid") != pod.uid:
            return h.send_status(st_bad_request("the name of the object (%s) does not match the name on the "
                                                "URL (%s)" % (md.get("name"), name)))
        if res.get("spec") != cur["spec"]:
            return h.send_status(status_obj(
                422, "Invalid", 'Pod "%s" is invalid: spec: Forbidden: pod updates may not change fields '
                'other than `spec.containers[*].image`,`spec.initContainers[*].image`,'
                '`spec.activeDeadlineSeconds`,`spec.tolerations` (only additions to existing tolerations),'
                '`spec.terminationGracePeriodSeconds` (allow it to be set to 1 if it was previously negative)'
                % name, {"name": name, "kind": "Pod"}))
        if bad_meta_maps(md):
            return h.send_status(bad_meta_maps(md))
        refs = md.get("ownerReferences") or []
        if not isinstance(refs, list) or any(not isinstance(r, dict) or not r.get("uid") for r in refs) or \
                sum(1 for r in refs if r.get("controller")) > 1:
            return h.send_status(status_obj(422, "Invalid", 'Pod "%s" is invalid: metadata.ownerReferences: '
                                            'Invalid value' % name, {"name": name, "kind": "Pod"}))
        new = (md.get("labels") or {}, md.get("annotations") or {}, refs)
        if new != (pod.labels, pod.annotations, pod.owner_refs):
            pod.labels, pod.annotations, pod.owner_refs = copy.deepcopy(new)
            c.bump_pod(pod)
        out = c.render_pod(pod)
    h.send_json(200, out)
