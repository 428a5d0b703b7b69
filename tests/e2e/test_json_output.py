"""-o json: every command prints one JSON document on stdout, and nothing
else there: its schema version, the command, the exit status (the
process's), the target it acted on, and each deployment's outcome (the
state it reached, its workers, a message, seconds to the millisecond),
also when the command fails (an unknown deployment, a lease held by
another run, a usage error). drain-and-rollout(1), JSON OUTPUT."""
import json
import os
import subprocess

import pytest

from conftest import applied_patches
from world import NS, free_port, wait_for

pytestmark = pytest.mark.xdist_group("json_output")

DEP = "ecal-bulk"
LEASE = "drain-and-rollout:lease:%s:%s" % (NS, DEP)
ENTRY_KEYS = {"deployment", "namespace", "outcome", "exit_code", "state", "seconds",
              "message", "workers"}


def target_of(w):
    return {"context": "%s/api-dials-test:%d/operator" % (NS, w.kube_port),
            "cluster": "api-dials-test:%d" % w.kube_port,
            "kubeconfig": "kubeconfig %s" % w.kubeconfig,
            "server": "https://127.0.0.1:%d" % w.kube_port, "namespace": NS,
            "redis": "127.0.0.1:%d" % w.redis_port, "redis_db": 0,
            "flower": "127.0.0.1:%d" % w.flower_port}


def run_json(w, command, *args, target=True, env=None):
    """Run with -o json: stdout is exactly one document, carrying the
    version, the command, the process's exit status and the target."""
    p = w.run(*args, "-o", "json", env=env)
    doc = json.loads(p.stdout)          # the whole of stdout: nothing else
    assert doc["version"] == 1, doc
    assert doc["command"] == command, doc
    assert doc["exit_status"] == p.returncode, (doc, p.stderr)
    assert isinstance(doc["dry_run"], bool)
    if target:
        assert doc["target"] == target_of(w), doc["target"]
    for d in doc["deployments"]:
        assert ENTRY_KEYS <= set(d), d
        assert d["namespace"] == NS
        assert isinstance(d["seconds"], (int, float)) and d["seconds"] >= 0
        assert round(d["seconds"], 3) == d["seconds"], d["seconds"]   # to the ms
        assert isinstance(d["workers"], list) and isinstance(d["exit_code"], int)
    return p, doc


def one(doc, name=DEP):
    (d,) = [d for d in doc["deployments"] if d["deployment"] == name]
    return d


def test_dry_run_and_status(shared_world):
    w = shared_world
    p, doc = run_json(w, "drain", DEP, "--dry-run")
    assert p.returncode == 0 and doc["dry_run"] is True and doc["error"] is None
    d = one(doc)
    assert (d["outcome"], d["state"], d["exit_code"]) == ("dry-run", "resolve", 0), d
    (wk,) = d["workers"]
    assert wk["name"] == w.worker_of(DEP) and wk["queues"] == [DEP], wk
    assert d["message"] == "dry run: nothing changed"

    p, doc = run_json(w, "status", "--status", DEP)
    assert p.returncode == 0, p.stderr
    d = one(doc)
    assert (d["outcome"], d["state"]) == ("dry-run", "resolve"), d
    assert d["message"] == "status shown"
    assert [x["name"] for x in d["workers"]] == [w.worker_of(DEP)]
    assert doc["runs"] == [] and doc["held"] == [], doc

    p, doc = run_json(w, "status", "--status")
    assert p.returncode == 0 and doc["deployments"] == [], doc
    assert doc["runs"] == [] and isinstance(doc["history"], list), doc


def test_recover_undrain_and_completion(shared_world):
    w = shared_world
    p, doc = run_json(w, "recover", "--recover", DEP)
    assert p.returncode == 0, p.stderr
    d = one(doc)
    assert (d["outcome"], d["message"]) == ("nothing-to-do", "nothing to recover"), d

    p, doc = run_json(w, "undrain", "--undrain", DEP, "--queues", DEP)
    assert p.returncode == 0, p.stderr
    d = one(doc)
    assert d["outcome"] == "ok" and d["message"] == "consumers restored", d
    assert d["state"] is not None
    assert w.consumes(w.worker_of(DEP), DEP)

    p, doc = run_json(w, "complete-deployments", "--complete-deployments")
    assert p.returncode == 0 and DEP in doc["names"], doc


def test_failures_still_emit_a_document(shared_world):
    w = shared_world
    # an unknown deployment: exit 3, its entry says why
    p, doc = run_json(w, "drain", "ecal-bluk")
    assert p.returncode == 3, p.stderr
    d = one(doc, "ecal-bluk")
    assert (d["outcome"], d["exit_code"]) == ("preflight-failed", 3), d
    assert "not found" in d["message"] and "did you mean ecal-bulk?" in d["message"], d

    # another run holds the lease: exit 4, named
    w.r().set(LEASE, "ops-host-7:4242:1795700000:0123abcd", px=60000)
    try:
        p, doc = run_json(w, "drain", DEP)
    finally:
        w.r().delete(LEASE)
    assert p.returncode == 4, p.stderr
    d = one(doc)
    assert (d["outcome"], d["exit_code"], d["state"]) == ("locked", 4, "lock"), d
    assert "ops-host-7:4242" in d["message"], d
    assert applied_patches(w) == []

    # a usage error, before any connection: no target yet, the error said
    p, doc = run_json(w, "hold", "--hold", DEP, target=False)
    assert p.returncode == 2 and doc["target"] is None, doc
    assert "--reason" in doc["error"] and doc["deployments"] == [], doc
    p, doc = run_json(w, "drain", DEP, "--drain-timeout", "30", target=False)
    assert p.returncode == 2 and "no unit" in doc["error"], doc

    # Redis not reachable: exit 3, the target names it, the error says so
    port = free_port()
    p, doc = run_json(w, "status", "--status", target=False, env=w.env(
        DRAIN_REDIS_URL="redis://127.0.0.1:%d/0" % port))
    assert p.returncode == 3 and doc["target"]["redis"] == "127.0.0.1:%d" % port, doc
    assert "127.0.0.1:%d" % port in doc["error"] and "--redis-url" in doc["error"], doc

    # a kubeconfig context that does not exist: exit 2, the error
    p, doc = run_json(w, "status", "--status", "--context", "nope", target=False)
    assert p.returncode == 2 and "nope" in doc["error"], doc


@pytest.mark.xdist_group("json_output_changes")
def test_run_hold_and_release(world):
    w = world
    p, doc = run_json(w, "drain", DEP)
    assert p.returncode == 0, p.stderr
    d = one(doc)
    assert (d["outcome"], d["state"], d["exit_code"]) == ("ok", "verify", 0), d
    assert d["message"] == "rolled out and verified"
    assert d["workers"] and all(x["drained"] for x in d["workers"]), d
    assert d["states"]["drain"] >= 0 and d["seconds"] >= d["states"]["drain"]
    assert len(applied_patches(w)) == 1

    p, doc = run_json(w, "hold", "--hold", DEP, "--reason", "db migration")
    assert p.returncode == 0, p.stderr
    d = one(doc)
    assert d["outcome"] == "ok" and d["hold"]["reason"] == "db migration", d
    assert d["hold"]["until"] is None and d["hold"]["expired"] is False
    p, doc = run_json(w, "status", "--status")
    assert [h["target"] for h in doc["held"]] == [DEP], doc
    assert doc["held"][0]["hold"]["reason"] == "db migration"
    # the entry for the refused drain of a held deployment
    p, doc = run_json(w, "drain", DEP)
    assert p.returncode == 3 and one(doc)["outcome"] == "preflight-failed", doc

    p, doc = run_json(w, "release", "--release", DEP, "--dry-run")
    assert p.returncode == 0 and one(doc)["outcome"] == "dry-run", doc
    assert one(doc)["hold"]["reason"] == "db migration"
    p, doc = run_json(w, "release", "--release", DEP)
    assert p.returncode == 0, p.stderr
    d = one(doc)
    assert d["outcome"] == "ok" and d["hold"] is None and d["message"].startswith("released")
    p, doc = run_json(w, "release", "--release", "nosuch")
    assert p.returncode == 3 and "not found" in one(doc, "nosuch")["message"], doc


def test_closed_standard_descriptors_stay_closed_to_the_agent(world):
    """-o json with standard input, output and error closed (>&- 2>&-, a
    careless cron line): what it writes there goes nowhere, not into the
    next descriptor it opens (libev's epoll, libcurl's wakeup socket, a
    connection to Redis took them). The run is not disturbed."""
    w = world
    ids = w.enqueue(DEP, 1, 6.0, tag="closed")
    w.wait_started(ids, 1)

    def close_std():
        for fd in (0, 1, 2):
            os.close(fd)
    p = subprocess.Popen(w.agent_argv((DEP, "-o", "json")), env=w.env(), stdin=subprocess.DEVNULL,
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                         preexec_fn=close_std)
    try:
        wait_for(lambda: w.r().hget("drain-and-rollout:journal:%s:%s" % (NS, DEP), "state")
                 == "drain", 60, "the drain")
        fds = {fd: os.readlink("/proc/%d/fd/%d" % (p.pid, fd)) for fd in (0, 1, 2)}
    finally:
        rc = p.wait(timeout=120)
    assert fds == {0: "/dev/null", 1: "/dev/null", 2: "/dev/null"}, fds
    assert rc == 0
    w.wait_done(ids)
    w.assert_exactly_once(ids)
    assert len(applied_patches(w)) == 1
