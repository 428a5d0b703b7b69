"""Patch application, as kube-apiserver does it for a Deployment: RFC 7386
merge patch, strategic merge (maps merge, lists replace, containers merge by
name), RFC 6902 JSON patch, then the validation of the patched object."""
import copy
import json
import time

from kube.status import (st_bad_request, st_conflict, st_invalid, st_not_found, st_unsupported_media,
                         status_obj)


class Rejected(Exception):
    """A patch the API server refuses; .status is its Status object."""

    def __init__(self, status):
        super().__init__(status["message"])
        self.status = status


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


def decode_patch(ct, raw):
    """The body of a PATCH (Content-Type ct) as the API server decodes it, or
    Rejected (415, 400)."""
    if ct not in ("application/strategic-merge-patch+json", "application/merge-patch+json",
                  "application/json-patch+json"):
        raise Rejected(st_unsupported_media(ct))
    try:
        patch = json.loads(raw.decode("utf-8"))
    except (ValueError, UnicodeDecodeError) as e:
        raise Rejected(st_bad_request("error decoding patch: %s" % e))
    if ct == "application/json-patch+json":
        if not isinstance(patch, list):
            raise Rejected(st_bad_request(
                "json: cannot unmarshal %s into Go value of type jsonpatch.Patch" % type(patch).__name__))
    elif not isinstance(patch, dict):
        raise Rejected(st_bad_request(
            "json: cannot unmarshal %s into Go value of type map[string]interface {}"
            % ("array" if isinstance(patch, list) else type(patch).__name__)))
    return patch


def apply_patch(cur, ct, patch, current_rv, resource, name):
    """cur (a rendered object) with the decoded patch applied, checked as the API
    server checks any object: a resourceVersion precondition, the name; or
    Rejected."""
    try:
        if ct == "application/json-patch+json":
            res = json_patch(cur, patch)
        else:
            res = merge_patch(cur, patch)
    except (ValueError, IndexError, KeyError, TypeError) as e:
        code = 422 if ct == "application/json-patch+json" else 400
        st = st_bad_request(str(e)) if code == 400 else status_obj(
            422, "Invalid", str(e))
        raise Rejected(st)
    if not isinstance(res, dict) or not isinstance(res.get("metadata"), dict) \
            or not isinstance(res.get("spec"), dict):
        raise Rejected(st_bad_request("the patch produced an invalid object"))
    md = res["metadata"]
    prv = (patch.get("metadata") or {}).get("resourceVersion") if isinstance(patch, dict) else None
    if prv is not None and str(prv) != current_rv:
        raise Rejected(st_conflict(resource, "apps", name))
    if md.get("name") != name or md.get("namespace") != cur["metadata"]["namespace"]:
        raise Rejected(st_bad_request("the name of the object (%s) does not match the name on the "
                                      "URL (%s)" % (md.get("name"), name)))
    return res


def check_workload(kind, name, md, spec, selector):
    """What the API server checks in any workload's patched object (a Deployment,
    a StatefulSet): template labels that match the selector, replicas,
    annotations of strings, containers. Rejected if not."""
    tl = ((spec.get("template") or {}).get("metadata") or {}).get("labels") or {}
    if any(tl.get(k) != v for k, v in selector["matchLabels"].items()):
        raise Rejected(st_invalid(kind, "apps", name, "spec.template.metadata.labels",
                                  "Invalid value: %s: `selector` does not match template `labels`"
                                  % json.dumps(tl)))
    reps = spec.get("replicas")
    if not isinstance(reps, int) or isinstance(reps, bool) or reps < 0:
        raise Rejected(st_invalid(kind, "apps", name, "spec.replicas",
                                  "Invalid value: %s: must be greater than or equal to 0"
                                  % json.dumps(reps)))
    ann = md.get("annotations")
    if ann is not None and (not isinstance(ann, dict) or
                            any(not isinstance(v, str) for v in ann.values())):
        raise Rejected(st_bad_request("json: cannot unmarshal into Go struct field "
                                      "ObjectMeta.metadata.annotations of type string"))
    tann = ((spec.get("template") or {}).get("metadata") or {}).get("annotations")
    if tann is not None and (not isinstance(tann, dict) or
                             any(not isinstance(v, str) for v in tann.values())):
        raise Rejected(st_bad_request(
            "json: cannot unmarshal into Go struct field ObjectMeta.spec.template.metadata."
            "annotations of type string"))
    try:
        containers = spec["template"]["spec"]["containers"]
        assert isinstance(containers, list) and containers and all(
            isinstance(c, dict) and c.get("image") and c.get("name") for c in containers)
    except (KeyError, TypeError, AssertionError):
        raise Rejected(st_invalid(kind, "apps", name, "spec.template.spec.containers",
                                  "Required value"))


def store_patched(obj, md, spec):
    """Keep a checked patch's spec (a change bumps the generation), labels and
    annotations in the stored object obj; whether anything changed."""
    spec_changed = spec != obj.spec
    meta_changed = {k: md.get(k) for k in ("labels", "annotations")} != \
        {k: obj.metadata.get(k) for k in ("labels", "annotations")}
    if spec_changed:
        obj.spec = spec
        obj.metadata["generation"] += 1
        obj.generation_changed_at = time.time()
    if meta_changed:
        obj.metadata["labels"] = md.get("labels") or {}
        obj.metadata["annotations"] = md.get("annotations") or {}
    return spec_changed or meta_changed


def patch_stored(cluster, resource, ns, name, ct, patch):
    """The stored workload ns/name of cluster.<resource> ("deployments",
    "statefulsets"; the caller holds cluster.lock) and the PATCH applied to
    what it renders: (object, metadata, spec). Raises Rejected (404) if there
    is none, or as apply_patch() does."""
    obj = getattr(cluster, resource).get(name) if ns == cluster.ns else None
    if obj is None:
        raise Rejected(st_not_found(resource, "apps", name))
    res = apply_patch(obj.render(), ct, patch, obj.metadata["resourceVersion"], resource, name)
    return obj, res["metadata"], res["spec"]


def patch_deployment(cluster, ns, name, ct, raw):
    """Apply a PATCH of Deployment ns/name (Content-Type ct, body raw) as the API
    server does: the strategic-merge, merge or JSON patch, then the validation
    of the result; a spec change bumps the generation. Returns the object, or
    raises Rejected with the Status the API server answers."""
    patch = decode_patch(ct, raw)
    with cluster.lock:
        dep, md, spec = patch_stored(cluster, "deployments", ns, name, ct, patch)
        if spec.get("selector") != dep.spec["selector"]:
            raise Rejected(st_invalid("Deployment", "apps", name, "spec.selector",
                                        "Invalid value: %s: field is immutable"
                                        % json.dumps(spec.get("selector"))))
        check_workload("Deployment", name, md, spec, dep.spec["selector"])
        strat = spec.get("strategy") or {}
        if strat.get("type") not in ("RollingUpdate", "Recreate"):
            raise Rejected(st_invalid("Deployment", "apps", name, "spec.strategy.type",
                                      'Unsupported value: %s: supported values: "Recreate", "RollingUpdate"'
                                      % json.dumps(strat.get("type"))))
        if strat["type"] == "Recreate" and strat.get("rollingUpdate") is not None:
            raise Rejected(st_invalid("Deployment", "apps", name, "spec.strategy.rollingUpdate",
                                      "Forbidden: may not be specified when strategy `type` is 'Recreate'"))
        if strat["type"] == "RollingUpdate" and strat.get("rollingUpdate") is None:
            strat["rollingUpdate"] = {"maxUnavailable": "25%", "maxSurge": "25%"}     # defaulted
        if spec.get("paused") is False:
            del spec["paused"]          # omitempty, as the API server stores it
        if store_patched(dep, md, spec):
            cluster.bump_dep(dep)
        obj = dep.render()
    return obj
