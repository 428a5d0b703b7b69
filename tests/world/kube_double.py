#!/usr/bin/python3
"""A strict Kubernetes API server double with a simulated Deployment controller.

Every pod of a `worker: true` Deployment is a REAL Celery worker process
(tests/world/etl.py); other pods run a sleep.  The double serves HTTPS with its
own CA (plain HTTP is also accepted on the same port, for the /_test/ control
endpoints), authenticates a bearer token or a client certificate signed by its
CA, and answers like kube-apiserver 1.32 (Status objects, reasons, messages).

    /usr/bin/python3 tests/world/kube_double.py --port PORT --cert-dir DIR \
        --token TOKEN --namespace cms-dials-prod \
        --broker-url redis://127.0.0.1:P/0 --config world.json [--ready-file F]

Python 3 standard library only. The double is the package kube/ beside this
file, each module one part of what it simulates:
  kube/api.py          the API surface: the routing table and its handlers (list, watch)
  kube/patch.py        patch application (merge, strategic merge, JSON patch) and validation
  kube/controllers.py  the Deployment and ReplicaSet controllers, the garbage collector
  kube/writes.py       POST/DELETE of ReplicaSets, DELETE/PATCH of pods
  kube/statefulsets.py StatefulSets: the object, its controller (OrderedReady, partition,
                       OnDelete), its PATCH; world.json's "statefulsets"
  kube/kubelet.py      the pod lifecycle (processes, readiness, deletion, crash loops)
  kube/cluster.py      the objects' store, resource versions, watch events, the control loop
  kube/objects.py      Pod, ReplicaSet, Deployment
  kube/status.py       Status objects; kube/tables.py  Tables for kubectl get
  kube/selectors.py    label and field selectors
  kube/server.py       HTTPS + plain HTTP on one port, auth, the request log
  kube/testctl.py      the /_test/ controls below
  kube/certs.py        the CA and certificates

Served API (bearer token or client cert; errors are kube-apiserver Status objects):
  GET  /version /api /apis /apis/apps /apis/apps/v1 /api/v1        discovery (non-aggregated)
  GET  /apis/apps/v1/namespaces/NS/deployments[/NAME]              (labelSelector, fieldSelector,
       watch=true&resourceVersion=&timeoutSeconds=&allowWatchBookmarks=&sendInitialEvents=)
  PATCH /apis/apps/v1/namespaces/NS/deployments/NAME               strategic-merge / merge / json patch
  GET, PATCH, PUT .../deployments/NAME/scale                        the scale subresource (kubectl scale,
                                                                   an HPA): spec.replicas
  GET  /apis/apps/v1/namespaces/NS/statefulsets[/NAME]             (same list/watch options)
  PATCH /apis/apps/v1/namespaces/NS/statefulsets/NAME              (same patch types)
  GET  /api/v1/namespaces/NS/pods[/NAME]                           (same list/watch options)
  DELETE /api/v1/namespaces/NS/pods/NAME                           DeleteOptions gracePeriodSeconds
  PATCH /api/v1/namespaces/NS/pods/NAME                            labels, annotations, ownerReferences
  GET  /apis/apps/v1/namespaces/NS/replicasets[/NAME]              (same list/watch options)
  POST /apis/apps/v1/namespaces/NS/replicasets                     validated, defaulted, 201
  DELETE /apis/apps/v1/namespaces/NS/replicasets/NAME              propagationPolicy Orphan|Background|
                                                                   Foreground (body or query)
  GET  /api/v1/namespaces/NS
  GET  /apis/image.openshift.io/v1/namespaces/NS/imagestreamtags/S:T, .../imagestreams/S   kube/images.py:
       world.json's "imagestreams"; a pod's imageID is what its image names at its creation;
       a Deployment's unpaused image.openshift.io/triggers follow their tag (a rollout)
  `Accept: ...;as=Table` gets a meta.k8s.io/v1 Table, as `kubectl get` wants.

Test control (plain HTTP or HTTPS on the same port, no auth):
  GET/DELETE /_test/requests      request log: t, method, path, content_type, body, auth, status, ...
  POST/GET/DELETE /_test/faults   {"method", "path_prefix", "status": 409|429|500|503|504, "count", "retry_after",
                                   "delay": seconds before serving (past the request's timeout: 504, not applied);
                                   "applied": true: served first, then the answer lost: "drop": true (connection
                                   closed), "delay" (held; past the timeout: 504, applied), "status" (instead)}
  POST /_test/watch               {"compact": true}: history compacted up to now (a watch from an older
                                   resourceVersion: 200, an ERROR event, Status code 410 reason Expired);
                                   {"close": true[, "abort": true]}: open watches end now (cleanly, or dropped);
                                   {"restore": true}: etcd restored from a backup, resourceVersions start again
                                   lower (a watch from a later one: 200, after 3 s an ERROR event, Status code
                                   504 reason Timeout, cause ResourceVersionTooLarge)
  POST /_test/recreate-deployment {"deployment": D}: deleted (orphans) and created again: DELETED, ADDED with
                                   a new uid, generation 1; "close"/"abort"/"compact" as /_test/watch, the
                                   watches dropped before the events, the history compacted after them
  POST/DELETE /_test/forbid       {"verb": "get|list|watch|patch|create|delete|*",
                                   "resource": "deployments|pods|replicasets|*"}; {"verb": "update",
                                  "resource": "deployments/finalizers"}: a POSTed ReplicaSet whose
                                  ownerReference has blockOwnerDeletion is refused (403), as
                                  OwnerReferencesPermissionEnforcement does
  POST/DELETE /_test/break        {"deployment": X}: X's new pods never become Ready
  POST /_test/kill-pod            {"pod": NAME, "signal": "KILL"|"TERM"|...}
  POST/DELETE /_test/pod-state    {"deployment": X, "state": S}: X's new pods are created in state S
                                  (POD_FAULTS); {"pod": NAME, "state": "CrashLoopBackOff"}: a live
                                  pod's container starts crashing; {"pod": NAME, "state":
                                  "Running"}: that pod's container starts at last (scheduled,
                                  pulled, fixed); DELETE: new pods run again
  GET  /_test/pods[?all=1]        pods (all=1: also deleted ones, with exit_code, sigkilled, ...)
  POST /_test/token               {"token": NEW}: rotate the accepted bearer token;
                                  {"token": T, "add": true, "expires_in": S}: accept T too
                                  (until S seconds from now, if given); {"expire": T}: T
                                  expires now (401 from then on, as an expired token gets)
  GET  /_test/state               resourceVersion, all deployments and statefulsets
  POST /_test/quota               {"pods": N, "name": Q}: ResourceQuota Q admits at most N pods
                                  (creations beyond: "exceeded quota"); DELETE: no quota
  POST /_test/import              {"stream": S, "tag": T, "from": REF}: a new image (digest) in S:T,
                                  as oc import-image; unpaused image triggers on it fire (images.py)
"""

import argparse
import atexit
import json
import os
import signal
import ssl
import threading

from kube.certs import ensure_certs
from kube.cluster import Cluster
from kube.server import Handler, Server
from kube.util import log


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--cert-dir", required=True)
    ap.add_argument("--token", required=True)
    ap.add_argument("--namespace", default="cms-dials-prod")
    ap.add_argument("--broker-url", required=True)
    ap.add_argument("--config", required=True)
    ap.add_argument("--ready-file")
    ap.add_argument("--verbose", action="store_true")
    args = ap.parse_args()
    args.cert_dir = os.path.abspath(args.cert_dir)
    if args.ready_file:
        args.ready_file = os.path.abspath(args.ready_file)
        try:
            os.unlink(args.ready_file)
        except OSError:
            pass
    with open(args.config) as f:
        cfg = json.load(f)
    ensure_certs(args.cert_dir)

    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    ctx.load_cert_chain(os.path.join(args.cert_dir, "server.crt"), os.path.join(args.cert_dir, "server.key"))
    ctx.load_verify_locations(os.path.join(args.cert_dir, "ca.crt"))
    ctx.verify_mode = ssl.CERT_OPTIONAL
    ctx.set_alpn_protocols(["http/1.1"])

    state = {"lock": threading.Lock(), "requests": [], "faults": [], "forbid": [], "tokens": {args.token: None},
             "stopping": False, "port": args.port, "verbose": args.verbose}
    cluster = Cluster(args, cfg)
    atexit.register(cluster.kill_all_now)

    httpd = Server(("127.0.0.1", args.port), Handler)
    httpd.ssl_ctx = ctx
    httpd.cluster = cluster
    httpd.state = state
    stop = threading.Event()

    def on_signal(signum, frame):
        stop.set()
    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGHUP, on_signal)

    threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.2}, daemon=True).start()
    ctl = threading.Thread(target=cluster.run_controller, daemon=True)
    ctl.start()
    log("listening on https://127.0.0.1:%d (namespace %s, %d deployments)"
        % (args.port, args.namespace, len(cluster.deployments)))
    while not stop.is_set():
        stop.wait(0.5)
    log("shutting down")
    state["stopping"] = True
    with cluster.cond:
        cluster.cond.notify_all()
    cluster.shutdown_pods()
    ctl.join(timeout=2)
    httpd.shutdown()
    httpd.server_close()
    log("bye")


if __name__ == "__main__":
    main()
