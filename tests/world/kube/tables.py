"""meta.k8s.io/v1 Tables, what `kubectl get` asks for (Accept: ...;as=Table)."""
import copy
import datetime
import time


def human_age(ts):
    try:
        t = datetime.datetime.strptime(ts, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=datetime.timezone.utc).timestamp()
    except (TypeError, ValueError):
        return "<unknown>"
    d = max(0, int(time.time() - t))
    if d < 120:
        return "%ds" % d
    if d < 600:
        return "%dm%ds" % (d // 60, d % 60) if d % 60 else "%dm" % (d // 60)
    if d < 3 * 3600:
        return "%dm" % (d // 60)
    return "%dh" % (d // 3600)


def pod_columns(o):
    """READY, STATUS and RESTARTS of a pod as kube-apiserver's table printer renders them
    (printPod, k8s.io/kubernetes/pkg/printers/internalversion/printers.go; no init containers)."""
    st = o["status"]
    cstats = st.get("containerStatuses") or []
    reason = st.get("reason") or st.get("phase") or "Unknown"
    restarts, ready, running, last = 0, 0, False, None
    for c in reversed(cstats):
        restarts += c.get("restartCount", 0)
        lt = (c.get("lastState") or {}).get("terminated")
        if lt and lt.get("finishedAt"):
            last = max(last or "", lt["finishedAt"])
        state = c.get("state") or {}
        w, term = state.get("waiting"), state.get("terminated")
        if w and w.get("reason"):
            reason = w["reason"]
        elif term and term.get("reason"):
            reason = term["reason"]
        elif term:
            reason = "Signal:%d" % term["signal"] if term.get("signal") else "ExitCode:%d" % term.get("exitCode", 0)
        elif c.get("ready") and "running" in state:
            running = True
            ready += 1
    if reason == "Completed" and running:
        reason = "Running"
    if o["metadata"].get("deletionTimestamp"):
        reason = "Terminating"
    rs = str(restarts)
    if last is not None:
        rs = "%d (%s ago)" % (restarts, human_age(last))
    return "%d/%d" % (ready, len(o["spec"]["containers"])), reason, rs


def table(resource, items, rv):
    """meta.k8s.io/v1 Table, what `kubectl get` asks for (Accept: ...;as=Table)."""
    def col(name, typ="string", fmt="", prio=0, desc=""):
        return {"name": name, "type": typ, "format": fmt, "description": desc or name, "priority": prio}
    rows = []
    if resource == "deployments":
        cols = [col("Name", fmt="name"), col("Ready"), col("Up-to-date", "string"), col("Available", "string"),
                col("Age"), col("Containers", prio=1), col("Images", prio=1), col("Selector", prio=1)]
        for o in items:
            st, sp = o["status"], o["spec"]
            cs = sp["template"]["spec"]["containers"]
            rows.append([o["metadata"]["name"], "%d/%d" % (st.get("readyReplicas", 0), sp["replicas"]),
                         st.get("updatedReplicas", 0), st.get("availableReplicas", 0),
                         human_age(o["metadata"]["creationTimestamp"]), ",".join(c["name"] for c in cs),
                         ",".join(c["image"] for c in cs),
                         ",".join("%s=%s" % kv for kv in sp["selector"]["matchLabels"].items())])
    elif resource == "replicasets":
        cols = [col("Name", fmt="name"), col("Desired", "integer"), col("Current", "integer"),
                col("Ready", "integer"), col("Age"), col("Containers", prio=1), col("Images", prio=1),
                col("Selector", prio=1)]
        for o in items:
            st, sp = o["status"], o["spec"]
            cs = sp["template"]["spec"]["containers"]
            rows.append([o["metadata"]["name"], sp["replicas"], st.get("replicas", 0),
                         st.get("readyReplicas", 0), human_age(o["metadata"]["creationTimestamp"]),
                         ",".join(c["name"] for c in cs), ",".join(c["image"] for c in cs),
                         ",".join("%s=%s" % kv for kv in sorted(sp["selector"].get("matchLabels", {}).items()))])
    elif resource == "statefulsets":
        cols = [col("Name", fmt="name"), col("Ready"), col("Age"), col("Containers", prio=1),
                col("Images", prio=1)]
        for o in items:
            st, sp = o["status"], o["spec"]
            cs = sp["template"]["spec"]["containers"]
            rows.append([o["metadata"]["name"], "%d/%d" % (st.get("readyReplicas", 0), sp["replicas"]),
                         human_age(o["metadata"]["creationTimestamp"]), ",".join(c["name"] for c in cs),
                         ",".join(c["image"] for c in cs)])
    else:
        cols = [col("Name", fmt="name"), col("Ready"), col("Status"), col("Restarts", "string"), col("Age"),
                col("IP", prio=1), col("Node", prio=1), col("Nominated Node", prio=1),
                col("Readiness Gates", prio=1)]
        for o in items:
            st = o["status"]
            ready, status, restarts = pod_columns(o)
            rows.append([o["metadata"]["name"], ready, status, restarts,
                         human_age(o["metadata"]["creationTimestamp"]),
                         st.get("podIP", "<none>"), o["spec"].get("nodeName", "<none>"), "<none>", "<none>"])
    out = []
    for o, cells in zip(items, rows):
        md = copy.deepcopy(o["metadata"])
        out.append({"cells": cells, "object": {"kind": "PartialObjectMetadata", "apiVersion": "meta.k8s.io/v1",
                                               "metadata": md}})
    return {"kind": "Table", "apiVersion": "meta.k8s.io/v1", "metadata": {"resourceVersion": str(rv)},
            "columnDefinitions": cols, "rows": out}
