"""Images (drain-and-rollout(1), IMAGES): --only-stale rolls only a workload
whose pods run another image than its reference now names (an ImageStreamTag
read from the API, a digest); an up-to-date one is reported and left alone
(no lease, no PATCH); an unknown one is skipped unless --stale-unknown roll.
An unpaused image trigger is warned about (OpenShift would roll the
Deployment itself, no drain); --pause-triggers pauses it."""
import json

import pytest

from conftest import make_world, patches
from world import NS, deployment, wait_for

REG = "image-registry.openshift-image-registry.svc:5000"
ETL = "%s/%s/etl:latest" % (REG, NS)
STREAMS = [{"name": "etl", "lookupPolicyLocal": True,
            "tags": {"latest": "registry.cern.ch/cms-dqmdc/dials-etl:1.4.2"}}]
TRIGGERS = "image.openshift.io/triggers"
LEASE = "drain-and-rollout:lease:%s:%s"


def dep(name, image=None, annotations=None):
    d = deployment(name)
    if image is not None:
        d["image"] = image
    if annotations:
        d["annotations"] = annotations
    return d


def trigger(paused=None, container="worker", tag="etl:latest"):
    t = {"from": {"kind": "ImageStreamTag", "name": tag},
         "fieldPath": 'spec.template.spec.containers[?(@.name=="%s")].image' % container}
    if paused is not None:
        t["paused"] = paused
    return t


def ist(w, name="etl:latest"):
    code, obj, _ = w.kube_api("GET", "/apis/image.openshift.io/v1/namespaces/%s/imagestreamtags/%s"
                              % (NS, name))
    assert code == 200, obj
    return obj["image"]["metadata"]["name"]


def running(w, name):
    """The digest each pod of name runs (status.containerStatuses[].imageID)."""
    code, obj, _ = w.kube_api("GET", "/api/v1/namespaces/%s/pods?labelSelector=app%%3D%s" % (NS, name))
    assert code == 200, obj
    return [cs["imageID"].split("@")[1] for p in obj["items"]
            if "deletionTimestamp" not in p["metadata"] for cs in p["status"]["containerStatuses"]]


def untouched(w, name, worker):
    """Nothing done: no PATCH, no consumer cancelled, the same worker, no lease."""
    assert patches(w, name) == []
    assert not [r for r in w.flower_test("GET", "/_test/requests") if "cancel-consumer" in r["path"]]
    assert w.worker_of(name) == worker
    assert w.consumes(worker, name)


def test_only_stale_leaves_an_up_to_date_deployment_and_rolls_it_after_an_import(request):
    w = make_world(request, [dep("ecal-bulk", ETL)], imagestreams=STREAMS)
    worker = w.worker_of("ecal-bulk")
    assert running(w, "ecal-bulk") == [ist(w)]
    w.r().config_set("notify-keyspace-events", "KA")
    sub = w.r().pubsub()
    sub.psubscribe("__keyspace@0__:" + LEASE % (NS, "*"))
    p = w.run("--only-stale", "ecal-bulk")
    assert p.returncode == 0, p.stderr
    cur = ist(w)[7:19]
    assert "ecal-bulk: image: running %s, current %s: up to date" % (cur, cur) in p.stderr
    assert "ecal-bulk: up to date (running %s, current %s): nothing changed" % (cur, cur) in p.stderr
    untouched(w, "ecal-bulk", worker)
    # no lease was ever taken
    events = [m for m in iter(lambda: sub.get_message(timeout=0.2), None) if m["type"] == "pmessage"]
    assert events == [], events

    # a release: the tag moves, the pod still runs the old image
    old = ist(w)
    new = w.kube_test("POST", "/_test/import", {"stream": "etl", "tag": "latest",
                                                  "from": "registry.cern.ch/cms-dqmdc/dials-etl:1.5.0"})["image"]
    assert new != old and ist(w) == new and running(w, "ecal-bulk") == [old]
    ids = w.enqueue("ecal-bulk", 3, 1.0)
    w.wait_started(ids, 1)
    p = w.run("--only-stale", "-o", "json", "ecal-bulk")
    assert p.returncode == 0, p.stderr
    out = json.loads(p.stdout)["deployments"][0]
    assert out["outcome"] == "ok"
    assert out["image"]["verdict"] == "stale"
    assert out["image"]["running"] == old[7:19] and out["image"]["current"] == new[7:19]
    assert len(patches(w, "ecal-bulk")) == 1
    assert running(w, "ecal-bulk") == [new]
    # that run took the lease: the subscription sees one being taken
    events = [m for m in iter(lambda: sub.get_message(timeout=0.2), None) if m["type"] == "pmessage"]
    assert any(m["data"] == "set" for m in events), events
    w.wait_done(ids)
    w.assert_exactly_once(ids)
    # now up to date again
    p = w.run("--only-stale", "ecal-bulk")
    assert p.returncode == 0 and "up to date (running %s" % new[7:19] in p.stderr, p.stderr
    assert len(patches(w, "ecal-bulk")) == 1


def test_only_stale_unknown_reference_is_skipped_unless_stale_unknown_roll(request):
    w = make_world(request, [dep("ecal-bulk"),                 # registry.cern.ch/...:1.4.2
                             # a short name no ImageStream has: pulled from docker.io
                             dep("ecal-priority", "etl-tools:7"),
                             dep("ecal-express", ETL)], imagestreams=STREAMS)
    workers = {d: w.worker_of(d) for d in ("ecal-bulk", "ecal-priority", "ecal-express")}
    p = w.run("--only-stale", "-o", "json", "ecal-bulk", "ecal-priority")
    assert p.returncode == 0, p.stderr
    out = {d["deployment"]: d for d in json.loads(p.stdout)["deployments"]}
    w.kube_test("POST", "/_test/forbid", {"verb": "get", "resource": "imagestreamtags"})
    try:
        p = w.run("--only-stale", "-o", "json", "ecal-express")
    finally:
        w.kube_test("DELETE", "/_test/forbid")
    assert p.returncode == 0, p.stderr
    out.update({d["deployment"]: d for d in json.loads(p.stdout)["deployments"]})
    assert all(o["image"]["verdict"] == "unknown" and o["exit_code"] == 0 for o in out.values()), out
    assert "external registry" in out["ecal-bulk"]["image"]["why"]
    assert "not found (404)" in out["ecal-priority"]["image"]["why"]
    assert "forbidden (403)" in out["ecal-express"]["image"]["why"]
    assert "get on imagestreamtags in API group image.openshift.io" in p.stderr
    assert "ecal-express: image unknown, not rolled (" in p.stderr and "--stale-unknown roll" in p.stderr
    for d, wk in workers.items():
        untouched(w, d, wk)

    ids = w.enqueue("ecal-bulk", 3, 1.0)
    w.wait_started(ids, 1)
    p = w.run("--only-stale", "--stale-unknown", "roll", "ecal-bulk")
    assert p.returncode == 0, p.stderr
    assert "rolled out and verified" in p.stderr
    assert len(patches(w, "ecal-bulk")) == 1 and w.worker_of("ecal-bulk") != workers["ecal-bulk"]
    w.wait_done(ids)
    w.assert_exactly_once(ids)
    assert w.run("--only-stale", "--stale-unknown", "maybe", "ecal-bulk").returncode == 2


def test_dry_run_and_status_show_the_running_and_current_digests(request):
    w = make_world(request, [dep("ecal-bulk", "etl:latest")], imagestreams=STREAMS)  # a short name
    old = ist(w)
    assert running(w, "ecal-bulk") == [old]
    new = w.kube_test("POST", "/_test/import", {"stream": "etl", "tag": "latest",
                                                  "from": "registry.cern.ch/cms-dqmdc/dials-etl:1.5.0"})["image"]
    for args in (["--dry-run"], ["--status"]):
        p = w.run("--only-stale", *args, "ecal-bulk")
        assert p.returncode == 0, (args, p.stderr)
        assert "ecal-bulk: image: running %s, current %s: stale (pod ecal-bulk-" % (
            old[7:19], new[7:19]) in p.stderr, (args, p.stderr)
    assert patches(w, "ecal-bulk") == []


@pytest.mark.long(40)
def test_an_unpaused_trigger_is_warned_about_and_pause_triggers_pauses_it(request):
    operator_paused = trigger(paused="true", tag="etl:stable")
    w = make_world(request, [dep("ecal-bulk", ETL, {TRIGGERS: json.dumps([trigger(), operator_paused])}),
                             dep("ecal-priority", ETL, {TRIGGERS: json.dumps([trigger(paused="false")])})],
                   imagestreams=STREAMS)
    # what the warning is about: OpenShift rolls it out itself, no drain
    before = w.deployment("ecal-priority")["metadata"]["generation"]
    new = w.kube_test("POST", "/_test/import", {"stream": "etl", "tag": "latest",
                                                  "from": "registry.cern.ch/cms-dqmdc/dials-etl:1.5.0"})["image"]
    d = w.deployment("ecal-priority")
    assert d["metadata"]["generation"] == before + 1
    assert d["spec"]["template"]["spec"]["containers"][0]["image"].endswith("@" + new)
    # both follow the tag: OpenShift rolls both out, no drain
    for d in ("ecal-priority", "ecal-bulk"):
        wait_for(lambda: running(w, d) == [new], 60, "the trigger's rollout of " + d)
        w.wait_rolled_out(d)
        assert patches(w, d) == []
    wait_for(w.all_workers_online, 60, "the new workers online in Flower")

    for args in (["--dry-run"], ["--status"]):
        p = w.run(*args, "ecal-bulk")
        assert p.returncode == 0, p.stderr
        warn = [l for l in p.stderr.splitlines() if "OpenShift rolls it out by itself" in l]
        assert len(warn) == 1, p.stderr
        assert "ImageStreamTag etl:latest (container worker)" in warn[0]
        assert "etl:stable" not in warn[0]          # paused already
        assert "oc set triggers deployment/ecal-bulk --manual" in warn[0]
    assert patches(w, "ecal-bulk") == []

    ids = w.enqueue("ecal-bulk", 3, 1.0)
    w.wait_started(ids, 1)
    # the first pause PATCH finds the object changed (409): read again, sent again
    w.kube_test("POST", "/_test/faults", {"method": "PATCH", "status": 409, "count": 1,
                                          "path_prefix": "/apis/apps/v1/namespaces/%s/deployments/ecal-bulk" % NS})
    p = w.run("--pause-triggers", "ecal-bulk")
    assert p.returncode == 0, p.stderr
    assert "paused its image trigger(s) ImageStreamTag etl:latest (container worker)" in p.stderr
    assert [r["status"] for r in patches(w, "ecal-bulk")] == [409, 200, 200]
    assert patches(w, "ecal-bulk")[0]["body"] == patches(w, "ecal-bulk")[1]["body"]
    ann = json.loads(w.deployment("ecal-bulk")["metadata"]["annotations"][TRIGGERS])
    assert [t.get("paused") for t in ann] == [True, True]
    assert ann[1]["from"]["name"] == "etl:stable"
    pt = patches(w, "ecal-bulk")
    assert pt[0]["content_type"] == "application/merge-patch+json"
    assert "resourceVersion" in json.loads(pt[0]["body"])["metadata"]
    w.wait_done(ids)
    w.assert_exactly_once(ids)

    # an import no longer rolls it; a run (with or without the flag) never unpauses
    gen = w.deployment("ecal-bulk")["metadata"]["generation"]
    newer = w.kube_test("POST", "/_test/import", {"stream": "etl", "tag": "latest",
                                                    "from": "registry.cern.ch/cms-dqmdc/dials-etl:1.6.0"})["image"]
    assert w.deployment("ecal-bulk")["metadata"]["generation"] == gen
    assert running(w, "ecal-bulk") == [new]
    # the image now rolls through a drain: --only-stale's restart writes the
    # tag's image, as the paused trigger no longer does
    ids = w.enqueue("ecal-bulk", 3, 1.0)
    w.wait_started(ids, 1)
    first = len(patches(w, "ecal-bulk"))
    for args, rolls in ((["--only-stale"], True), (["--pause-triggers"], True), (["--only-stale"], False)):
        n = len(patches(w, "ecal-bulk"))
        p = w.run(*args, "ecal-bulk")
        assert p.returncode == 0, p.stderr
        assert "OpenShift rolls it out by itself" not in p.stderr
        ann = json.loads(w.deployment("ecal-bulk")["metadata"]["annotations"][TRIGGERS])
        assert [t.get("paused") for t in ann] == [True, True]
        if not rolls:
            assert "up to date" in p.stderr and len(patches(w, "ecal-bulk")) == n
            continue
        assert len(patches(w, "ecal-bulk")) == n + 1        # the restart only
        assert running(w, "ecal-bulk") == [newer]
    body = json.loads(patches(w, "ecal-bulk")[first]["body"])
    assert body["spec"]["template"]["spec"]["containers"] == [
        {"name": "worker", "image": "registry.cern.ch/cms-dqmdc/dials-etl@" + newer}]
    w.wait_done(ids)
    w.assert_exactly_once(ids)
    # an up-to-date Deployment whose trigger OpenShift would follow: its
    # lease is taken to pause the trigger, and nothing else is done
    worker = w.worker_of("ecal-priority")
    assert running(w, "ecal-priority") == [newer]
    p = w.run("--only-stale", "--pause-triggers", "ecal-priority")
    assert p.returncode == 0, p.stderr
    assert "ecal-priority: up to date (running %s" % newer[7:19] in p.stderr
    ann = json.loads(w.deployment("ecal-priority")["metadata"]["annotations"][TRIGGERS])
    assert [t.get("paused") for t in ann] == [True]
    (pt,) = patches(w, "ecal-priority")
    assert list(json.loads(pt["body"])["metadata"]) == ["resourceVersion", "annotations"]
    assert w.worker_of("ecal-priority") == worker
    # the journal it wrote before the pause goes with the run, and the lease
    for key in ("journal", "lease"):
        assert not w.r().exists("drain-and-rollout:%s:%s:ecal-priority" % (key, NS)), key


def test_only_stale_finishes_what_a_drain_only_run_left_drained(request):
    w = make_world(request, [dep("ecal-bulk", ETL)], imagestreams=STREAMS)
    worker = w.worker_of("ecal-bulk")
    assert w.run("--drain-only", "ecal-bulk").returncode == 0
    assert not w.consumes(worker, "ecal-bulk")
    ids = w.enqueue("ecal-bulk", 2, 0.5)
    p = w.run("--only-stale", "ecal-bulk")
    assert p.returncode == 0, p.stderr
    assert "a previous run left its journal" in p.stderr
    assert "rolled out and verified" in p.stderr
    new = w.worker_of("ecal-bulk")
    assert new != worker and w.consumes(new, "ecal-bulk")
    w.wait_done(ids)
    w.assert_exactly_once(ids)
