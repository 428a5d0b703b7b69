"""First contact: every run names what it is about to act on (the context,
the API server, the namespace, Redis and Flower) before anything else;
before anything changed, a server that cannot be reached fails within a
few seconds with its cause and the next step; the common mistakes (a typo,
a wrong Redis database or password) say what to check. Each run here
changes nothing: the worker keeps consuming, no PATCH, no lease.

The time bounds are sanity bounds on behaviour (failing fast instead of
waiting a whole deadline in silence), deliberately loose."""
import json
import re
import subprocess
import time

import pytest

from conftest import applied_patches, patches
from world import NS, free_port, wait_for

pytestmark = pytest.mark.xdist_group("first_contact")

FAST = 8.0      # seconds; the deadline a silent retry loop used to take is 10-27 s


def unchanged(w):
    worker = w.worker_of("ecal-bulk")
    assert w.consumes(worker, "ecal-bulk"), "a worker was left drained"
    assert patches(w) == []
    assert not w.r().exists("drain-and-rollout:lease:%s:ecal-bulk" % NS)


def timed(w, *args, env=None):
    t = time.monotonic()
    p = w.run(*args, env=env)
    return p, time.monotonic() - t


def first_line(text):
    """The first line, without the timestamp of a log line."""
    line = text.splitlines()[0] if text else ""
    return re.sub(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ ", "", line)


def context_of(w):
    return "%s/api-dials-test:%d/operator" % (NS, w.kube_port)


def test_api_server_refused(shared_world, tmp_path):
    w = shared_world
    port = free_port()
    kc = tmp_path / "kubeconfig"
    kc.write_text(open(w.kubeconfig).read().replace(
        "https://127.0.0.1:%d" % w.kube_port, "https://127.0.0.1:%d" % port))
    p, took = timed(w, "ecal-bulk", "--kubeconfig", str(kc))
    assert p.returncode == 3, p.stderr
    assert took < FAST, "%.1fs before the refused API server was reported" % took
    # the run named its target first, with the server it tried
    assert first_line(p.stderr).startswith("target: context %s" % context_of(w)), p.stderr
    assert "API https://127.0.0.1:%d" % port in first_line(p.stderr)
    # the cause and the next step, in the summary on stdout and in the log
    assert "Couldn't connect" in p.stdout and "oc login" in p.stdout, p.stdout
    assert "Couldn't connect" in p.stderr and "oc login" in p.stderr
    unchanged(w)


def test_flower_not_listening(shared_world):
    w = shared_world
    port = free_port()
    p, took = timed(w, "ecal-bulk", "--control", "flower",
                    env=w.env(DRAIN_FLOWER_URL="http://127.0.0.1:%d" % port))
    assert p.returncode == 3, p.stderr
    assert took < FAST, "%.1fs before the missing Flower was reported" % took
    assert first_line(p.stderr).startswith("target: "), p.stderr
    assert "Flower 127.0.0.1:%d" % port in first_line(p.stderr)
    assert "Couldn't connect" in p.stdout, p.stdout
    assert "'oc port-forward svc/flower %d'" % port in p.stdout, p.stdout
    unchanged(w)


def test_redis_not_listening(shared_world):
    w = shared_world
    port = free_port()
    p, took = timed(w, "ecal-bulk", env=w.env(DRAIN_REDIS_URL="redis://127.0.0.1:%d/0" % port))
    assert p.returncode == 3, p.stderr
    assert took < FAST, "%.1fs before the missing Redis was reported" % took
    assert first_line(p.stderr).startswith("target: "), p.stderr
    assert "Redis 127.0.0.1:%d db 0" % port in first_line(p.stderr)
    assert "Connection refused" in p.stdout and "check --redis-url" in p.stdout, p.stdout
    assert "'oc port-forward svc/redis %d'" % port in p.stdout, p.stdout
    unchanged(w)


def test_wrong_redis_password(shared_world):
    """A Redis that refuses the password says so (not NOAUTH), naming
    --redis-password-file; the password is never printed."""
    w = shared_world
    port = free_port()
    redis = subprocess.Popen(["redis-server", "--port", str(port), "--bind", "127.0.0.1",
                              "--save", "", "--appendonly", "no", "--requirepass", "right-one"],
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_for(lambda: subprocess.run(["redis-cli", "-p", str(port), "PING"],
                                        capture_output=True, text=True).stdout.strip() != "",
                 10, "the password-protected redis-server", interval=0.05)
        p, took = timed(w, "ecal-bulk", env=w.env(
            DRAIN_REDIS_URL="redis://:wrong-one@127.0.0.1:%d/0" % port))
    finally:
        redis.terminate()
        redis.wait()
    assert p.returncode == 3, p.stderr
    assert took < FAST
    assert first_line(p.stderr).startswith("target: "), p.stderr
    assert "Redis refused the password" in p.stdout, p.stdout
    assert "--redis-password-file" in p.stdout
    assert "NOAUTH" not in p.stdout
    assert "wrong-one" not in p.stdout + p.stderr
    unchanged(w)


def test_two_contexts_the_run_names_the_one_it_uses(shared_world, tmp_path):
    """With two contexts, the run says which one it uses (and its
    namespace) before anything else: current-context, or --context."""
    w = shared_world
    text = open(w.kubeconfig).read()
    ctx = context_of(w)
    # a second context, staging (another namespace), the current one
    staging = text.replace("current-context: %s" % ctx, "current-context: staging").replace(
        "contexts:\n", "contexts:\n- name: staging\n  context:\n"
        "    cluster: api-dials-test:%d\n    namespace: staging-ns\n"
        "    user: operator/api-dials-test:%d\n" % (w.kube_port, w.kube_port), 1)
    kc = tmp_path / "kubeconfig"
    kc.write_text(staging)
    p = w.run("ecal-bulk", "--dry-run", "--kubeconfig", str(kc))
    assert p.returncode == 3, p.stderr     # not in staging-ns
    assert first_line(p.stderr).startswith("target: context staging (cluster api-dials-test:%d"
                                           % w.kube_port), p.stderr
    assert "namespace staging-ns" in first_line(p.stderr)
    assert first_line(p.stdout).startswith("target: context staging"), p.stdout
    p = w.run("ecal-bulk", "--dry-run", "--kubeconfig", str(kc), "--context", ctx)
    assert p.returncode == 0, p.stderr
    assert first_line(p.stderr).startswith("target: context %s" % ctx), p.stderr
    assert "namespace %s" % NS in first_line(p.stderr)
    unchanged(w)


def test_dry_run_plan_is_its_output(shared_world):
    """--dry-run > plan.txt keeps the plan: the target, the workers and
    their tasks on stdout; stderr keeps the log."""
    w = shared_world
    worker = w.worker_of("ecal-bulk")
    ids = w.enqueue("ecal-bulk", 2, 4.0)
    w.wait_started(ids, 1)
    p = w.run("ecal-bulk", "--dry-run")
    assert p.returncode == 0, p.stderr
    out = p.stdout.splitlines()
    assert out[0].startswith("target: context %s" % context_of(w)), p.stdout
    for part in ("API https://127.0.0.1:%d" % w.kube_port, "namespace %s" % NS,
                 "Redis 127.0.0.1:%d db 0" % w.redis_port,
                 "Flower 127.0.0.1:%d" % w.flower_port):
        assert part in out[0], (part, out[0])
    assert any("plan: drain 1 worker(s)" in l for l in out), p.stdout
    assert any(worker in l and "1 running" in l for l in out), p.stdout
    assert "plan:" not in p.stderr
    w.wait_done(ids)
    unchanged(w)


def test_json_dry_run_has_the_tasks_and_the_target(shared_world):
    w = shared_world
    ids = w.enqueue("ecal-bulk", 2, 4.0)
    w.wait_started(ids, 1)
    p = w.run("ecal-bulk", "--dry-run", "-o", "json")
    assert p.returncode == 0, p.stderr
    doc = json.loads(p.stdout)
    assert doc["target"] == {
        "context": context_of(w), "cluster": "api-dials-test:%d" % w.kube_port,
        "kubeconfig": "kubeconfig %s" % w.kubeconfig,
        "server": "https://127.0.0.1:%d" % w.kube_port, "namespace": NS,
        "redis": "127.0.0.1:%d" % w.redis_port, "redis_db": 0,
        "flower": "127.0.0.1:%d" % w.flower_port}, doc["target"]
    (d,) = doc["deployments"]
    (wk,) = d["workers"]
    running = [t["id"] for t in wk["tasks"] if t["state"] == "running"]
    assert running and set(running) <= set(ids), wk["tasks"]
    assert all(t["name"] == "ingest" for t in wk["tasks"])
    assert "unacked" in d
    w.wait_done(ids)
    unchanged(w)


def test_unknown_deployment_suggests_a_close_name(shared_world):
    w = shared_world
    p, took = timed(w, "ecal-bluk")
    assert p.returncode == 3, p.stderr
    assert 'deployments.apps "ecal-bluk" not found; did you mean ecal-bulk?' in p.stdout, p.stdout
    assert first_line(p.stderr).startswith("target: ")
    unchanged(w)


def test_redis_db_without_workers_names_db_and_prefix(shared_world):
    """A Redis database no Celery worker uses (db 5 instead of 0) would show
    an empty backlog: refused before anything changed, naming the database
    number and --broker-key-prefix."""
    w = shared_world
    p = w.run("ecal-bulk", env=w.env(DRAIN_REDIS_URL="redis://127.0.0.1:%d/5" % w.redis_port))
    assert p.returncode == 3, p.stderr
    assert "Redis 127.0.0.1:%d db 5" % w.redis_port in first_line(p.stderr)
    assert "no Celery worker uses it" in p.stdout, p.stdout
    assert "database number in --redis-url" in p.stdout and "--broker-key-prefix" in p.stdout
    assert w.r(5).keys("*") == []
    unchanged(w)


def test_recover_with_nothing_to_do_says_so(shared_world):
    w = shared_world
    p = w.run("--recover", "ecal-bulk", "-o", "json")
    assert p.returncode == 0, p.stderr
    doc = json.loads(p.stdout)
    assert doc["deployments"][0]["outcome"] == "nothing-to-do", doc
    assert doc["target"]["namespace"] == NS
    p = w.run("--recover", "ecal-bulk")
    assert p.returncode == 0, p.stderr
    assert re.match(r"ecal-bulk\s+nothing-to-do\s", p.stdout), p.stdout
    unchanged(w)


@pytest.mark.xdist_group("first_contact_changes")
def test_retries_after_a_change_are_visible(world):
    """Once something changed, patience stays (the restart PATCH is retried
    through two HTTP 500s and applied once), but without a terminal each
    retry is a log line naming the request, the cause and the attempt."""
    w = world
    path = "/apis/apps/v1/namespaces/%s/deployments/ecal-bulk" % NS
    w.kube_test("POST", "/_test/faults", {"method": "PATCH", "path_prefix": path,
                                          "status": 500, "count": 2})
    p = w.run("ecal-bulk")
    assert p.returncode == 0, p.stderr
    assert first_line(p.stderr).startswith("target: "), p.stderr
    retries = [l for l in p.stderr.splitlines()
               if "warning: retrying PATCH https://127.0.0.1:%d%s in " % (w.kube_port, path) in l]
    assert len(retries) == 2, p.stderr
    for n, line in enumerate(retries, 2):
        assert line.endswith("(attempt %d): HTTP 500" % n), line
    assert [f["count"] for f in w.kube_test("GET", "/_test/faults")] == [0]
    assert len(applied_patches(w)) == 1, patches(w)
