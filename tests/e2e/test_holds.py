"""Holds (drain-and-rollout(1), HOLDS): a Deployment annotated
drain-and-rollout/hold is skipped by selector runs, refused when named
unless --ignore-hold; --hold and --release set and remove the annotation
with a JSON merge PATCH; --status lists the holds. The annotation written by
the real kubectl is read the same way (a conformance check of the double)."""
import json
import os
import subprocess

from conftest import make_world, patches
from world import NS, deployment, statefulset

LABEL = "app.kubernetes.io/part-of=ecal-etl"
HOLD = "drain-and-rollout/hold"


def two(request):
    lab = {"app.kubernetes.io/part-of": "ecal-etl"}
    return make_world(request, [deployment("ecal-bulk", labels=lab),
                                deployment("ecal-priority", labels=lab)])


def kubectl(w, *args):
    return subprocess.run(["kubectl", "--kubeconfig", w.kubeconfig, "--cache-dir",
                           os.path.join(w.tmp, "kcache"), "-n", NS] + list(args),
                          capture_output=True, text=True, timeout=90)


def dep(w, name="ecal-bulk"):
    p = kubectl(w, "get", "deployment", name, "-o", "json")
    assert p.returncode == 0, p.stderr
    return json.loads(p.stdout)


def hold_of(w, name="ecal-bulk"):
    return (dep(w, name)["metadata"].get("annotations") or {}).get(HOLD)


def status_forbidden(w, resource):
    """--status while the account may not list resource: it fails (exit 3)
    and says so, the rest shown."""
    w.kube_test("POST", "/_test/forbid", {"verb": "list", "resource": resource})
    try:
        p = w.run("--status")
    finally:
        w.kube_test("DELETE", "/_test/forbid")
    assert p.returncode == 3, p.stderr
    assert "cannot list the %s to show their holds" % resource in p.stderr
    return p


def cancels(w, worker):
    return [r for r in w.flower_test("GET", "/_test/requests")
            if "cancel-consumer" in r["path"] and worker in r["path"]]


def untouched(w, worker, npatches):
    """The held deployment: its worker still consumes, was never told to
    cancel, no restart PATCH, no lease."""
    assert w.worker_of("ecal-bulk") == worker, "the held deployment was restarted"
    assert w.consumes(worker, "ecal-bulk"), "the held worker was left drained"
    assert cancels(w, worker) == []
    assert len(patches(w)) == npatches
    assert all("template" not in json.dumps(json.loads(p["body"])) for p in patches(w))
    assert not w.r().exists("drain-and-rollout:lease:%s:ecal-bulk" % NS)


def test_hold_is_a_merge_patch_of_the_annotation_and_a_selector_run_skips_it(request):
    w = two(request)
    before = dep(w)
    p = w.run("--hold", "ecal-bulk", "--reason", "db migration tonight", "--until", "8h")
    assert p.returncode == 0, p.stderr
    assert "db migration tonight" in p.stderr and "--release ecal-bulk" in p.stderr
    (pt,) = patches(w)
    assert pt["content_type"] == "application/merge-patch+json" and pt["status"] == 200
    body = json.loads(pt["body"])
    assert list(body) == ["metadata"] and list(body["metadata"]) == ["annotations"]
    value = json.loads(body["metadata"]["annotations"][HOLD])
    assert value["reason"] == "db migration tonight" and "@" in value["by"]
    assert value["until"].endswith("Z") and value["since"].endswith("Z")
    after = dep(w)
    assert json.loads(after["metadata"]["annotations"][HOLD]) == value
    # metadata only: no new generation, no rollout
    assert after["metadata"]["generation"] == before["metadata"]["generation"]
    assert after["spec"]["template"] == before["spec"]["template"]

    worker = w.worker_of("ecal-bulk")
    ids = w.enqueue("ecal-bulk", 4, 1.5)
    w.wait_started(ids, 1)
    w.flower_test("DELETE", "/_test/requests")
    p = w.run("-l", LABEL, "-o", "json")
    assert p.returncode == 0, p.stderr
    out = {d["deployment"]: d for d in json.loads(p.stdout)["deployments"]}
    assert out["ecal-priority"]["outcome"] == "ok"
    held = out["ecal-bulk"]
    assert held["outcome"] == "skipped" and held["exit_code"] == 0
    assert "held by" in held["error"] and "db migration tonight" in held["error"]
    assert "ecal-bulk: skipped (held by" in p.stderr
    untouched(w, worker, 1)
    assert len(patches(w, "ecal-priority")) == 1
    w.wait_done(ids)
    w.assert_exactly_once(ids)       # the held worker kept working


def test_named_held_deployment_is_refused_then_ignore_hold_and_release(world):
    worker = world.worker_of("ecal-bulk")
    p = world.run("--dry-run", "--hold", "ecal-bulk", "--reason", "vendor upgrade")
    assert p.returncode == 0 and "nothing changed" in p.stderr, p.stderr
    assert patches(world) == [] and hold_of(world) is None
    assert world.run("--hold", "ecal-bulk", "--reason", "vendor upgrade").returncode == 0
    world.flower_test("DELETE", "/_test/requests")
    for args in (["ecal-bulk"], ["--dry-run", "ecal-bulk"], ["--drain-only", "ecal-bulk"]):
        p = world.run(*args)
        assert p.returncode == 3, (args, p.stderr)
        assert "ecal-bulk is held by" in p.stderr and "vendor upgrade" in p.stderr
        assert "--ignore-hold" in p.stderr and "--release ecal-bulk" in p.stderr
        untouched(world, worker, 1)
    # --undrain and --status are not drains: a hold does not stop them
    assert world.run("--status", "ecal-bulk").returncode == 0

    ids = world.enqueue("ecal-bulk", 3, 1.5)
    world.wait_started(ids, 1)
    p = world.run("--ignore-hold", "ecal-bulk")
    assert p.returncode == 0, p.stderr
    assert "draining it anyway (--ignore-hold)" in p.stderr
    assert len(patches(world)) == 2
    world.wait_done(ids)
    world.assert_exactly_once(ids)
    assert json.loads(hold_of(world))["reason"] == "vendor upgrade"   # still held

    p = world.run("--release", "--dry-run", "ecal-bulk")
    assert p.returncode == 0 and "would be released" in p.stderr, p.stderr
    assert len(patches(world)) == 2 and hold_of(world) is not None
    p = world.run("--release", "ecal-bulk")
    assert p.returncode == 0, p.stderr
    assert "released" in p.stderr and "vendor upgrade" in p.stderr
    rel = patches(world)[-1]
    assert rel["content_type"] == "application/merge-patch+json"
    assert json.loads(rel["body"]) == {"metadata": {"annotations": {HOLD: None}}}
    assert hold_of(world) is None
    p = world.run("--release", "ecal-bulk")
    assert p.returncode == 0 and "not held" in p.stderr
    assert len(patches(world)) == 3                      # nothing to remove: no PATCH
    p = world.run("ecal-bulk")
    assert p.returncode == 0, p.stderr
    assert len(patches(world)) == 4


def test_status_lists_the_holds(request):
    w = two(request)
    p = w.run("--status")
    assert p.returncode == 0, p.stderr
    assert "no deployment held in namespace %s" % NS in p.stdout
    assert w.run("--hold", "ecal-priority", "--reason", "flaky node",
                 "--until", "2099-01-01T00:00:00Z").returncode == 0
    p = w.run("--status")
    assert p.returncode == 0, p.stderr
    lines = [l for l in p.stdout.splitlines() if "ecal-priority" in l]
    assert "held deployments:" in p.stdout
    assert len(lines) == 1 and "until 2099-01-01T00:00:00Z" in lines[0] \
        and "flaky node" in lines[0] and "held by" in lines[0], p.stdout
    assert "ecal-bulk " not in p.stdout
    # named: only those
    p = w.run("--status", "ecal-bulk")
    assert p.returncode == 0, p.stderr
    assert "none of the deployments named is held" in p.stdout and "flaky" not in p.stdout
    lists = [r for r in w.kube_requests() if r["method"] == "GET" and
             r["path"].split("?")[0].endswith("/namespaces/%s/deployments" % NS)]
    assert lists and all("labelSelector" not in r["path"] for r in lists)


def test_status_lists_the_statefulset_holds(request):
    """A hold on a StatefulSet is listed as the target to --release, with
    the Deployments'; a --status that names only Deployments does not list
    the StatefulSets, and one that cannot list them says so and fails."""
    w = make_world(request, [deployment("ecal-bulk")],
                   statefulsets=[statefulset("airflow-worker", 1)])
    p = w.run("--status")
    assert p.returncode == 0, p.stderr
    assert "no statefulset held in namespace %s" % NS in p.stdout, p.stdout
    assert w.run("--hold", "sts/airflow-worker", "--reason", "disk check",
                 "--until", "2099-01-01T00:00:00Z").returncode == 0
    sts_lists = lambda: [r for r in w.kube_requests() if r["method"] == "GET" and
                         r["path"].split("?")[0].endswith("/namespaces/%s/statefulsets" % NS)]
    for args in ([], ["statefulset/airflow-worker"], ["ecal-bulk", "statefulsets/airflow-worker"]):
        p = w.run("--status", *args)
        assert p.returncode == 0, (args, p.stderr)
        lines = [l for l in p.stdout.splitlines() if "airflow-worker" in l and "disk check" in l]
        assert "held statefulsets:" in p.stdout, (args, p.stdout)
        assert len(lines) == 1 and lines[0].split()[0] == "statefulset/airflow-worker" \
            and "until 2099-01-01T00:00:00Z" in lines[0] and "held by" in lines[0], (args, p.stdout)
    assert "none of the deployments named is held" in p.stdout    # and the Deployment named
    n = len(sts_lists())
    assert n == 4 and all("labelSelector" not in r["path"] for r in sts_lists())
    # only a Deployment named: no StatefulSet listed, none shown
    p = w.run("--status", "ecal-bulk")
    assert p.returncode == 0, p.stderr
    assert "disk check" not in p.stdout and "statefulset" not in p.stdout
    assert len(sts_lists()) == n
    # a Deployment of the same name is not the StatefulSet
    p = w.run("--status", "airflow-worker")
    assert "none of the deployments named is held" in p.stdout and "disk check" not in p.stdout
    # the account cannot list statefulsets: the rest is shown, exit 3
    p = status_forbidden(w, "statefulsets")
    assert "no deployment held in namespace %s" % NS in p.stdout
    assert "403" in p.stderr and "on statefulsets for --status" in p.stderr
    assert "disk check" not in p.stdout


def test_status_without_list_permission_shows_the_rest_and_fails(world):
    p = status_forbidden(world, "deployments")
    assert "no run in flight or interrupted" in p.stdout
    assert "403" in p.stderr and "list on deployments" in p.stderr
    assert "held" not in p.stdout


def test_holds_written_by_kubectl_and_expired_holds(world):
    # a hand-written hold: the value is the reason, with no end
    p = kubectl(world, "annotate", "deployment/ecal-bulk", HOLD + "=disk full on node 7")
    assert p.returncode == 0, p.stderr
    p = world.run("ecal-bulk")
    assert p.returncode == 3 and "disk full on node 7" in p.stderr, p.stderr
    assert "until released" in p.stderr
    assert patches(world)[-1]["content_type"] == "application/merge-patch+json"  # kubectl's
    npatches = len(patches(world))
    # an expired hold is no hold, and the run says so
    p = kubectl(world, "annotate", "--overwrite", "deployment/ecal-bulk",
                HOLD + '={"reason":"old","until":"2020-01-01T00:00:00Z"}')
    assert p.returncode == 0, p.stderr
    p = world.run("--status")
    assert "EXPIRED, no hold" in p.stdout and "old" in p.stdout, p.stdout
    p = world.run("--dry-run", "ecal-bulk")
    assert p.returncode == 0, p.stderr
    assert "hold has expired" in p.stderr and "until 2020-01-01T00:00:00Z" in p.stderr
    # removed by kubectl: the agent sees no hold
    p = kubectl(world, "annotate", "deployment/ecal-bulk", HOLD + "-")
    assert p.returncode == 0, p.stderr
    assert hold_of(world) is None
    p = world.run("--release", "ecal-bulk")
    assert p.returncode == 0 and "not held" in p.stderr
    assert len(patches(world)) == npatches + 2            # kubectl's two


def test_a_long_hold_is_shown_bounded(world):
    """Anyone who can annotate writes a hold: a reason of 100 kB written by
    kubectl is shown cut (drain-and-rollout(1): 500 bytes), in --status, in
    the log and in the JSON report, and still holds."""
    reason = "disk full on node 7 " + "x" * 100000
    p = kubectl(world, "annotate", "deployment/ecal-bulk", HOLD + "=" + reason)
    assert p.returncode == 0, p.stderr
    p = world.run("--status")
    assert p.returncode == 0, p.stderr
    (line,) = [l for l in p.stdout.splitlines() if "disk full on node 7" in l]
    assert line.endswith("x...") and len(line) < 700, len(line)
    p = world.run("ecal-bulk", "-o", "json")
    assert p.returncode == 3 and "disk full on node 7" in p.stderr, p.stderr
    assert len(p.stderr) < 3000 and len(p.stdout) < 5000, (len(p.stderr), len(p.stdout))
    (d,) = json.loads(p.stdout)["deployments"]
    assert "disk full on node 7" in d["error"] and "x..." in d["error"]
    p = world.run("--dry-run", "--ignore-hold", "ecal-bulk")
    assert p.returncode == 0, p.stderr
    (line,) = [l for l in p.stderr.splitlines() if "--ignore-hold" in l]
    assert "x..." in line and len(line) < 700, len(line)
    assert patches(world)[-1]["content_type"] == "application/merge-patch+json"  # kubectl's only


def test_a_bad_reason_never_removes_a_hold(world):
    """A reason that is not UTF-8 (a Latin-1 terminal), too long, or on
    several lines is refused with exit 2 before anything is sent: the hold
    in place stays, and a drain still refuses the Deployment."""
    assert world.run("--hold", "ecal-bulk", "--reason", "vendor upgrade").returncode == 0
    assert len(patches(world)) == 1
    for reason, word in (("caf\udce9", "--reason is not valid UTF-8 (byte 4 of 4, 0xe9)"),
                         ("r" * 501, "--reason is 501 bytes long; at most 500"),
                         ("two\nlines", "--reason holds a control character")):
        # not world.run(): its log is UTF-8 text
        p = subprocess.run(world.agent_argv(("--hold", "ecal-bulk", "--reason", reason)),
                           env=world.env(), capture_output=True, timeout=90,
                           text=True, errors="replace")
        assert p.returncode == 2, (reason[:20], p.returncode, p.stderr)
        assert word in p.stderr and "nothing changed" in p.stderr, p.stderr
        assert len(patches(world)) == 1, "a bad --hold sent a PATCH"
        assert json.loads(hold_of(world))["reason"] == "vendor upgrade"
    p = world.run("--dry-run", "ecal-bulk")
    assert p.returncode == 3 and "ecal-bulk is held by" in p.stderr, p.stderr


def test_bad_hold_commands(shared_world):
    w = shared_world
    for args, word in ((["--hold", "ecal-bulk"], "--reason"),
                       (["--hold", "ecal-bulk", "--reason", ""], "--reason"),
                       (["--hold", "ecal-bulk", "csc-bulk", "--reason", "x"], "at most 1"),
                       (["--hold", "--reason", "x"], "name at least one"),
                       (["--hold", "ecal-bulk", "--reason", "x", "--until", "soon"],
                        "RFC 3339"),
                       (["--hold", "ecal-bulk", "--reason", "x", "--until",
                         "2020-01-01T00:00:00Z"], "has passed"),
                       (["--release", "ecal-bulk", "--reason", "x"],
                        "--reason does not apply to --release"),
                       (["ecal-bulk", "--until", "8h"], "--until does not apply to drain"),
                       (["--status", "--ignore-hold"], "--ignore-hold does not apply"),
                       (["--hold", "--release", "ecal-bulk"], "exclude each other")):
        p = w.run(*args)
        assert p.returncode == 2, (args, p.stderr)
        assert word in p.stderr, (args, p.stderr)
    p = w.run("--hold", "nosuch-bulk", "--reason", "x")
    assert p.returncode == 3 and 'deployments.apps "nosuch-bulk" not found' in p.stderr
    p = w.run("--hold", "Ecal_Bulk", "--reason", "x")
    assert p.returncode == 2 and "DNS-1123" in p.stderr
    assert patches(w) == [] and hold_of(w) is None
    assert w.consumes(w.worker_of("ecal-bulk"), "ecal-bulk")
