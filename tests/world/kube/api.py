"""The API surface of the double, as a routing table: (path pattern, {method:
handler}). A pattern's segments are literal or {name} (any one segment, passed
to the handler); a path no pattern matches is a 404 Status, a method the
matching pattern lacks a 405. Resource routes first apply what the test
controls set up (forbidden verbs, injected faults), as an authorizer and a
failing API server would.

  GET  /version /api /apis /apis/apps /apis/apps/v1 /api/v1    discovery
  GET  /healthz /readyz /livez
  GET  /api/v1/namespaces/NS
  GET  /apis/apps/v1[/namespaces/NS]/deployments[/NAME]        get, list, watch
  PATCH /apis/apps/v1[/namespaces/NS]/deployments/NAME         patch.py
  GET, PATCH, PUT /apis/apps/v1/namespaces/NS/deployments/NAME/scale   scale.py
  GET  /apis/apps/v1[/namespaces/NS]/statefulsets[/NAME]       get, list, watch
  PATCH /apis/apps/v1[/namespaces/NS]/statefulsets/NAME        statefulsets.py
  GET  /api/v1[/namespaces/NS]/pods[/NAME]                     get, list, watch
  DELETE, PATCH /api/v1/namespaces/NS/pods/NAME                 writes.py
  GET  /apis/apps/v1[/namespaces/NS]/replicasets[/NAME]        get, list, watch
  POST /apis/apps/v1/namespaces/NS/replicasets                 writes.py
  DELETE /apis/apps/v1/namespaces/NS/replicasets/NAME          writes.py (propagationPolicy)
  GET  /apis/image.openshift.io/v1/namespaces/NS/imagestreamtags/STREAM:TAG   images.py
  GET  /apis/image.openshift.io/v1/namespaces/NS/imagestreams/STREAM         images.py
"""
import bisect
import io
import json
import re
import socket
import ssl
import time
import uuid
from urllib.parse import unquote

from kube import writes
from kube import scale
from kube.patch import Rejected, patch_deployment
from kube.selectors import field_selector_fn, label_selector_fn
from kube.statefulsets import patch_statefulset
from kube.status import (st_bad_request, st_fault, st_forbidden, st_method_not_allowed, st_not_found,
                         st_path_not_found, st_unauthorized)
from kube.tables import table


def serve(h, u):
    """Authenticate, then route the request (u: its urlsplit)."""
    kind, user = h.authenticate()
    if kind is None:
        h.send_status(st_unauthorized())
        return
    segs = [unquote(s) for s in u.path.split("/") if s]
    for pattern, methods in ROUTES:
        params = match(pattern, segs)
        if params is None:
            continue
        fn = methods.get(h.command) or methods.get("*")
        if fn is None:
            h.send_status(st_method_not_allowed())
            return
        fn(h, user=user, **params)
        return
    h.send_status(st_path_not_found())


def match(pattern, segs):
    """{name: segment} if segs match the pattern, else None."""
    pat = pattern.split("/") if pattern else []
    if len(pat) != len(segs):
        return None
    params = {}
    for p, s in zip(pat, segs):
        if p.startswith("{"):
            params[p[1:-1]] = s
        elif p != s:
            return None
    return params


def guarded(group, resource, verb, fn):
    """A resource handler behind the test controls: a forbidden verb answers 403,
    an injected fault its status; then fn(h, ns, name)."""
    def handler(h, user, ns=None, name=None):
        watch = h._q.get("watch") in ("true", "1")
        v = "watch" if verb in ("get", "list") and watch else verb
        # a short request's deadline (checked before authorization): its
        # "timeout" (a Go duration), at most the server's --request-timeout
        # (60 s), which is also the default; a watch uses timeoutSeconds
        limit = None if v == "watch" else h._q.get("timeout") or None
        if limit is not None:
            text, limit = limit, go_duration(limit)
            if limit is None:
                h.send_status(st_bad_request('invalid timeout specified in the request URL - '
                                             'time: invalid duration "%s"' % text))
                return
        if v != "watch":
            limit = min(limit, 60) if limit else 60
        with h.state["lock"]:
            forbidden = any(f["verb"] in (v, "*") and f["resource"] in (resource, "*")
                            for f in h.state["forbid"])
        if forbidden:
            h.send_status(st_forbidden(user, v, resource, group, ns or "", name))
            return
        fault = take_fault(h)
        if fault is not None and fault.get("transit"):
            # the request reaches the API server that late (a SYN or a
            # segment retransmitted, a load balancer connecting to a
            # backend): its deadline starts only then
            time.sleep(float(fault["transit"]))
        if fault is not None and fault.get("applied"):
            return serve_applied(h, fault, limit, lambda: fn(h, ns, name),
                                 (resource, group, name))
        if fault is not None and fault["delay"]:
            # the API server gives up on a request at its timeout: 504,
            # and a write it had not applied is never applied
            if limit and fault["delay"] > limit:
                time.sleep(limit)
                h.send_status(st_fault(504, resource, group, name, None))
                return
            time.sleep(fault["delay"])
        if fault is not None and fault["status"]:
            hdr = {}
            if fault.get("retry_after") is not None or fault["status"] == 429:
                hdr["Retry-After"] = str(int(fault.get("retry_after") or 1))
            h.send_status(st_fault(int(fault["status"]), resource, group, name,
                                   fault.get("retry_after")), hdr)
            return
        if v == "watch":        # a watch of one object's path watches the collection
            return do_list(h, resource, ns, True)
        return fn(h, ns, name)
    return handler


def serve_applied(h, fault, limit, call, what):
    """A fault after the request was served: the write is applied (its answer
    kept aside), then the answer is lost: the connection closed without one
    ("drop"), or held "delay" seconds (past the request's timeout the API
    server answers 504 then, the write applied all the same), or replaced by
    "status" (a 504 or 500 for a write that landed)."""
    real, h.wfile = h.wfile, io.BytesIO()
    h._defer_record = True      # logged with the answer the client gets
    try:
        call()
        answer = h.wfile.getvalue()
    finally:
        h.wfile = real
        h._defer_record = False
    h._note = "applied, then " + ("dropped" if fault.get("drop") else
                                  "status %d" % fault["status"] if fault["status"] else
                                  "answered %gs late" % fault["delay"])
    if fault.get("drop"):
        # in the log before the client sees the connection end: its retry
        # would otherwise be logged first
        h.record(h.auth_kind_for_log())
        h._recorded = True
        h.close_connection = True
        try:
            h.connection.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        return
    if fault["delay"]:
        if limit and fault["delay"] > limit:
            time.sleep(limit)
            h.send_status(st_fault(504, what[0], what[1], what[2], None))
            return
        time.sleep(fault["delay"])
    if fault["status"]:
        h.send_status(st_fault(int(fault["status"]), what[0], what[1], what[2],
                               fault.get("retry_after")))
        return
    if not h._recorded:
        h.record(h.auth_kind_for_log())
        h._recorded = True
    real.write(answer)
    real.flush()


def resource_routes(prefix, group, resource, get, patch, create=None, delete=None):
    """The collection and object routes of a resource, cluster-wide and namespaced
    (create and delete: namespaced only)."""
    def lst(h, ns, name):
        return do_list(h, resource, ns, False)

    def rejected(h, ns, name):
        h.send_status(st_method_not_allowed())
    routes = []
    for base in ("%s/%s" % (prefix, resource), "%s/namespaces/{ns}/%s" % (prefix, resource)):
        namespaced = "{ns}" in base
        g = guarded(group, resource, "list", lst)
        coll = {"GET": g, "HEAD": g}
        if create and namespaced:
            coll["POST"] = guarded(group, resource, "create", create)
        routes.append((base, coll))
        g = guarded(group, resource, "get", get)
        one = {"GET": g, "HEAD": g, "PATCH": guarded(group, resource, "patch", patch or rejected)}
        if delete and namespaced:
            one["DELETE"] = guarded(group, resource, "delete", delete)
        routes.append((base + "/{name}", one))
    return routes


def discovery(h, user, **_):
    h.send_json(200, discovery_doc(h, "/" + "/".join(s for s in h.path.split("?")[0].split("/") if s)))


def health(h, user, **_):
    h.send_response(200)
    h.send_header("Content-Type", "text/plain; charset=utf-8")
    h.send_header("Content-Length", "2")
    h.end_headers()
    h.wfile.write(b"ok")


def namespace(h, user, name):
    namespace_get(h, name)


GO_UNITS = {"ns": 1e-9, "us": 1e-6, "µs": 1e-6, "ms": 1e-3, "s": 1, "m": 60, "h": 3600}


def go_duration(text):
    """Seconds of a Go time.ParseDuration string ("10s", "1m30s"), or None."""
    m = re.fullmatch(r"([0-9]*\.?[0-9]+(ns|us|µs|ms|s|m|h))+", text)
    if m is None:
        return None
    return sum(float(n) * GO_UNITS[u] for n, u in
               re.findall(r"([0-9]*\.?[0-9]+)(ns|us|µs|ms|s|m|h)", text))


def take_fault(h):
    with h.state["lock"]:
        for f in h.state["faults"]:
            if f["count"] <= 0:
                continue
            if f.get("method") and f["method"].upper() != h.command:
                continue
            if not h.path.startswith(f.get("path_prefix", "")):
                continue
            f["count"] -= 1
            return dict(f)
    return None


def discovery_doc(h, path):
    if path == "/version":
        return {"major": "1", "minor": "32", "gitVersion": "v1.32.4",
                "gitCommit": "59526cd4867447956156ae3a602fcbac10a2c335", "gitTreeState": "clean",
                "buildDate": "2025-04-22T16:02:27Z", "goVersion": "go1.23.6", "compiler": "gc",
                "platform": "linux/amd64"}
    if path == "/api":
        return {"kind": "APIVersions", "versions": ["v1"], "serverAddressByClientCIDRs": [
            {"clientCIDR": "0.0.0.0/0", "serverAddress": "127.0.0.1:%d" % h.state["port"]}]}
    apps_group = {"name": "apps", "versions": [{"groupVersion": "apps/v1", "version": "v1"}],
                  "preferredVersion": {"groupVersion": "apps/v1", "version": "v1"}}
    image_group = {"name": IMAGE_GROUP, "versions": [{"groupVersion": IMAGE_GROUP + "/v1", "version": "v1"}],
                   "preferredVersion": {"groupVersion": IMAGE_GROUP + "/v1", "version": "v1"}}
    if path == "/apis":
        return {"kind": "APIGroupList", "apiVersion": "v1", "groups": [apps_group, image_group]}
    if path == "/apis/apps":
        return dict({"kind": "APIGroup", "apiVersion": "v1"}, **apps_group)
    if path == "/apis/" + IMAGE_GROUP:
        return dict({"kind": "APIGroup", "apiVersion": "v1"}, **image_group)
    if path == "/apis/%s/v1" % IMAGE_GROUP:
        return {"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": IMAGE_GROUP + "/v1",
                "resources": [{"name": "imagestreams", "singularName": "imagestream", "namespaced": True,
                               "kind": "ImageStream", "verbs": ["get"], "shortNames": ["is"],
                               "categories": ["all"]},
                              {"name": "imagestreamtags", "singularName": "imagestreamtag",
                               "namespaced": True, "kind": "ImageStreamTag", "verbs": ["get"],
                               "shortNames": ["istag"]}]}
    if path == "/apis/apps/v1":
        return {"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": "apps/v1",
                "resources": [{"name": "deployments", "singularName": "deployment", "namespaced": True,
                               "kind": "Deployment", "verbs": ["get", "list", "patch", "watch"],
                               "shortNames": ["deploy"], "categories": ["all"],
                               "storageVersionHash": "8aSe+NMegvE="},
                              {"name": "deployments/scale", "singularName": "", "namespaced": True,
                               "group": "autoscaling", "version": "v1", "kind": "Scale",
                               "verbs": ["get", "patch", "update"]}]
                + [{"name": "replicasets", "singularName": "replicaset", "namespaced": True,
                    "kind": "ReplicaSet", "verbs": ["create", "delete", "get", "list", "watch"],
                    "shortNames": ["rs"], "categories": ["all"], "storageVersionHash": "P1RzHs8/mWQ="},
                   {"name": "statefulsets", "singularName": "statefulset", "namespaced": True,
                    "kind": "StatefulSet", "verbs": ["get", "list", "patch", "watch"],
                    "shortNames": ["sts"], "categories": ["all"], "storageVersionHash": "H+vl74LkKdo="}]}
    if path == "/api/v1":
        return {"kind": "APIResourceList", "groupVersion": "v1",
                "resources": [{"name": "pods", "singularName": "pod", "namespaced": True, "kind": "Pod",
                               "verbs": ["delete", "get", "list", "patch", "watch"], "shortNames": ["po"],
                               "categories": ["all"], "storageVersionHash": "xPOwRZ+Yhw8="}]}
    return None


def namespace_get(h, name):
    if name != h.cluster.ns:
        h.send_status(st_not_found("namespaces", "", name))
        return
    h.send_json(200, {"kind": "Namespace", "apiVersion": "v1",
                      "metadata": {"name": name, "uid": "5b0c43a2-5f5d-4e7c-9d3e-7b0a1c2d3e4f",
                                   "resourceVersion": "42", "creationTimestamp": "2024-01-01T00:00:00Z",
                                   "labels": {"kubernetes.io/metadata.name": name}},
                      "spec": {"finalizers": ["kubernetes"]}, "status": {"phase": "Active"}})


# ---- deployments, statefulsets, replicasets ----
def stored_get(resource, render=lambda obj, cluster: obj.render()):
    """The GET of one object of cluster.<resource> (a dict by name)."""
    def get(h, ns, name):
        with h.cluster.lock:
            obj = getattr(h.cluster, resource).get(name) if ns == h.cluster.ns else None
            obj = render(obj, h.cluster) if obj else None
        send_object(h, resource, "apps", name, obj)
    return get


def patch_handler(patch_fn):
    """The PATCH of patch_fn(cluster, ns, name, content type, body), which
    returns the object or raises Rejected."""
    def patch(h, ns, name):
        ct = (h.headers.get("Content-Type") or "").split(";")[0].strip().lower()
        try:
            obj = patch_fn(h.cluster, ns, name, ct, h._body)
        except Rejected as e:
            h.send_status(e.status)
            return
        h.send_json(200, obj)
    return patch


dep_get, dep_patch = stored_get("deployments"), patch_handler(patch_deployment)
sts_get, sts_patch = stored_get("statefulsets"), patch_handler(patch_statefulset)


def scale_routes():
    """deployments/NAME/scale (scale.py): get, patch and update of the subresource."""
    def answer(h, fn):
        try:
            obj = fn()
        except Rejected as e:
            h.send_status(e.status)
            return
        h.send_json(200, obj)

    def get(h, ns, name):
        answer(h, lambda: scale.get_scale(h.cluster, ns, name))

    def patch(h, ns, name):
        ct = (h.headers.get("Content-Type") or "").split(";")[0].strip().lower()
        answer(h, lambda: scale.patch_scale(h.cluster, ns, name, ct, h._body))

    def put(h, ns, name):
        answer(h, lambda: scale.put_scale(h.cluster, ns, name, h._body))
    g = guarded("apps", "deployments/scale", "get", get)
    return [("apis/apps/v1/namespaces/{ns}/deployments/{name}/scale",
             {"GET": g, "HEAD": g, "PATCH": guarded("apps", "deployments/scale", "patch", patch),
              "PUT": guarded("apps", "deployments/scale", "update", put)})]
rs_get = stored_get("replicasets", lambda rs, cluster: rs.render(cluster.ns))


# ---- pods ----
def pod_get(h, ns, name):
    with h.cluster.lock:
        pod = next((p for p in h.cluster.pods if p.name == name), None) if ns == h.cluster.ns else None
        obj = h.cluster.render_pod(pod) if pod else None
    send_object(h, "pods", "", name, obj)


def send_object(h, resource, group, name, obj):
    """One object (None: not found), or its Table when kubectl asks for one."""
    if obj is None:
        h.send_status(st_not_found(resource, group, name))
    elif "as=Table" in (h.headers.get("Accept") or ""):
        h.send_json(200, table(resource, [obj], obj["metadata"]["resourceVersion"]))
    else:
        h.send_json(200, obj)


# ---- images (images.py) ----
IMAGE_GROUP = "image.openshift.io"


def ist_get(h, ns, name):
    stream, sep, tag = name.partition(":")
    if not sep or not stream or not tag:
        h.send_status(st_bad_request('imagestreamtags.image.openshift.io "%s" is invalid: name must be '
                                     'of the form <stream_name>:<tag>' % name))
        return
    with h.cluster.lock:
        obj = h.cluster.render_ist(stream, tag) if ns == h.cluster.ns else None
    send_object(h, "imagestreamtags", IMAGE_GROUP, name, obj)


def is_get(h, ns, name):
    with h.cluster.lock:
        obj = h.cluster.render_is(name) if ns == h.cluster.ns else None
    send_object(h, "imagestreams", IMAGE_GROUP, name, obj)


def image_routes():
    """GET of one ImageStreamTag, one ImageStream (namespaced)."""
    routes = []
    for resource, fn in (("imagestreamtags", ist_get), ("imagestreams", is_get)):
        g = guarded(IMAGE_GROUP, resource, "get", fn)
        routes.append(("apis/image.openshift.io/v1/namespaces/{ns}/%s/{name}" % resource,
                       {"GET": g, "HEAD": g}))
    return routes


# ---- list / watch ----
KINDS = {"deployments": ("Deployment", "apps/v1"), "pods": ("Pod", "v1"),
         "replicasets": ("ReplicaSet", "apps/v1"), "statefulsets": ("StatefulSet", "apps/v1")}


def current_objects(h, resource):
    if resource == "deployments":
        return [d.render() for _, d in sorted(h.cluster.deployments.items())]
    if resource == "statefulsets":
        return [d.render() for _, d in sorted(h.cluster.statefulsets.items())]
    if resource == "replicasets":
        return [rs.render(h.cluster.ns) for _, rs in sorted(h.cluster.replicasets.items())]
    return [h.cluster.render_pod(p) for p in sorted(h.cluster.pods, key=lambda p: p.name)]


def do_list(h, resource, ns, watch):
    try:
        lsel = label_selector_fn(h._q.get("labelSelector", ""))
        fsel = field_selector_fn(h._q.get("fieldSelector", ""), resource)
    except ValueError as e:
        h.send_status(st_bad_request(str(e)))
        return

    def match(obj, obj_ns):
        if ns is not None and obj_ns != ns:
            return False
        return lsel(obj["metadata"].get("labels")) and fsel(obj)
    if watch:
        return do_watch(h, resource, match)
    with h.cluster.lock:
        start = too_large_rv(h)
        if start is not None:
            return h.send_json(504, too_large_status(start, h.cluster.rv))
        items = [o for o in current_objects(h, resource) if match(o, h.cluster.ns)]
        rv = str(h.cluster.rv)
    if "as=Table" in (h.headers.get("Accept") or ""):
        return h.send_json(200, table(resource, items, rv))
    for o in items:
        o.pop("kind", None)
        o.pop("apiVersion", None)
    kind, api = KINDS[resource]
    h.send_json(200, {"kind": kind + "List", "apiVersion": api, "metadata": {"resourceVersion": rv},
                      "items": items})


def too_large_rv(h):
    """A list's or watch's resourceVersion the server has not reached (its
    etcd restored from a backup): the watch cache waits up to 3 s for it,
    then it is too large: returned; else None. The cluster's lock held."""
    try:
        start = int(h._q.get("resourceVersion") or 0)
    except ValueError:
        return None
    until = time.time() + 3
    while start > h.cluster.rv and time.time() < until:
        h.cluster.cond.wait(0.2)
    return start if start > h.cluster.rv else None


def too_large_status(start, cur):
    return {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
            "message": "Too large resource version: %d, current: %d" % (start, cur),
            "reason": "Timeout", "details": {"causes": [{
                "reason": "ResourceVersionTooLarge",
                "message": "Too large resource version"}], "retryAfterSeconds": 1},
            "code": 504}


def do_watch(h, resource, match):
    q = h._q
    try:
        timeout = float(q.get("timeoutSeconds") or 1800)
    except ValueError:
        h.send_status(st_bad_request("invalid timeoutSeconds"))
        return
    rv_param = q.get("resourceVersion", "")
    send_initial = q.get("sendInitialEvents") == "true"
    bookmarks = q.get("allowWatchBookmarks") == "true"
    with h.cluster.lock:
        if rv_param not in ("", "0"):
            try:
                start = int(rv_param)
            except ValueError:
                h.send_status(st_bad_request('invalid resource version: "%s"' % rv_param))
                return
        else:
            start = h.cluster.rv
        initial = []
        if rv_param in ("", "0") or send_initial:
            initial = [o for o in current_objects(h, resource) if match(o, h.cluster.ns)]
            if send_initial and rv_param not in ("", "0"):
                start = h.cluster.rv
        idx = bisect.bisect_right(h.cluster.event_rvs, start)
        # etcd compacts its history (every 5 minutes): a watch from a
        # resourceVersion older than the compaction is told so in the stream,
        # as the API server does: HTTP 200, one ERROR event with a Status of
        # code 410 (reason Expired), end of the stream
        with h.state["lock"]:
            compacted = h.state.get("compacted", 0)
            epoch = h.state.get("watch_epoch", 0)
        expired = rv_param not in ("", "0") and start < compacted
        if expired:
            initial, send_initial = [], False
            h._note = "410 Expired"
        # a resourceVersion the server has not reached: said in the stream
        # (cacher's newErrWatcher): HTTP 200, one ERROR event, 504
        # ResourceVersionTooLarge, end of the stream
        too_large = None if expired else too_large_rv(h)
        cur = h.cluster.rv
        if too_large is not None:
            initial, send_initial = [], False
            h._note = "504 ResourceVersionTooLarge"
    h.send_response(200)
    h.send_header("Content-Type", "application/json")
    h.send_header("Audit-Id", str(uuid.uuid4()))
    h.send_header("Cache-Control", "no-cache, private")
    h.send_header("Transfer-Encoding", "chunked")
    h.end_headers()
    h.wfile.flush()
    h.record(h.auth_kind_for_log())      # a watch is logged when it starts
    h._recorded = True
    deadline = time.time() + timeout
    try:
        if too_large is not None:
            h.write_chunk((json.dumps({"type": "ERROR", "object": too_large_status(start, cur)})
                           + "\n").encode())
            h.wfile.write(b"0\r\n\r\n")
            h.wfile.flush()
            return
        if expired:
            h.write_chunk((json.dumps({"type": "ERROR", "object": {
                "kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
                "message": "too old resource version: %d (%d)" % (start, compacted),
                "reason": "Expired", "code": 410}}) + "\n").encode())
            h.wfile.write(b"0\r\n\r\n")
            h.wfile.flush()
            return
        for o in initial:
            h.write_chunk((json.dumps({"type": "ADDED", "object": o}) + "\n").encode())
        if send_initial:
            bm_kind, bm_api = KINDS[resource]
            bm = {"kind": bm_kind, "apiVersion": bm_api,
                  "metadata": {"resourceVersion": str(start),
                               "annotations": {"k8s.io/initial-events-end": "true"}}}
            h.write_chunk((json.dumps({"type": "BOOKMARK", "object": bm}) + "\n").encode())
        last_bookmark = time.time()
        while True:
            out = []
            with h.cluster.cond:
                while idx >= len(h.cluster.events) and not h.state["stopping"]:
                    rem = deadline - time.time()
                    if rem <= 0 or h.state.get("watch_epoch", 0) != epoch:
                        break
                    h.cluster.cond.wait(min(rem, 0.5))
                    if bookmarks and time.time() - last_bookmark > 10:
                        break
                    if h.peer_closed():
                        raise BrokenPipeError("watch client went away")
                while idx < len(h.cluster.events):
                    ev = h.cluster.events[idx]
                    idx += 1
                    if ev[1] == resource and match(ev[4], ev[2]):
                        out.append(ev)
                cur_rv = h.cluster.rv
                dropped = h.state.get("watch_epoch", 0) != epoch and h.state.get("watch_abort")
            if dropped:
                # /_test/watch dropped the open watches (a proxy or a node
                # gone): what was in flight is lost with the connection
                h.close_connection = True
                h.connection.shutdown(socket.SHUT_RDWR)
                return
            for ev in out:
                h.write_chunk((json.dumps({"type": ev[3], "object": ev[4]}) + "\n").encode())
            if bookmarks and time.time() - last_bookmark > 10:
                last_bookmark = time.time()
                bm = {"kind": KINDS[resource][0], "apiVersion": KINDS[resource][1],
                      "metadata": {"resourceVersion": str(cur_rv)}}
                h.write_chunk((json.dumps({"type": "BOOKMARK", "object": bm}) + "\n").encode())
            if h.state.get("watch_epoch", 0) != epoch:
                # /_test/watch closed the open watches cleanly (the end of
                # the chunked stream, as at timeoutSeconds or an API server
                # shutting down)
                break
            if h.state["stopping"] or time.time() >= deadline:
                break
        h.wfile.write(b"0\r\n\r\n")
        h.wfile.flush()
    except (BrokenPipeError, ConnectionResetError, ssl.SSLError, OSError):
        h.close_connection = True


GET = lambda fn: {"GET": fn, "HEAD": fn}  # noqa: E731


ROUTES = (
    [(p, GET(discovery)) for p in ("version", "api", "apis", "apis/apps", "apis/apps/v1", "api/v1",
                                   "apis/image.openshift.io", "apis/image.openshift.io/v1")]
    + [(p, {"*": health}) for p in ("healthz", "readyz", "livez")]
    + [("api/v1/namespaces/{name}", GET(namespace))]
    + resource_routes("apis/apps/v1", "apps", "deployments", dep_get, dep_patch)
    + scale_routes()
    + resource_routes("api/v1", "", "pods", pod_get, writes.pod_patch, delete=writes.pod_delete)
    + resource_routes("apis/apps/v1", "apps", "replicasets", rs_get, None,
                      create=writes.rs_create, delete=writes.rs_delete)
    + resource_routes("apis/apps/v1", "apps", "statefulsets", sts_get, sts_patch)
    + image_routes()
)
