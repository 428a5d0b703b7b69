"""Safety under concurrency, signals, crashes and faults: leases, the
journal, --recover, --status, --drain-only/--undrain, Flower and Redis going
away, Kubernetes API faults, a dying worker, and a seeded chaos run.

Every test asserts on the world, not on the agent's word alone: exit codes,
the ledger (every task ran exactly once), Redis' `unacked` hash, whether a
worker consumes a queue (asked of the worker itself over real remote
control), the PATCHes the Kubernetes double received, and the lease and
journal keys (include/run.h)."""
import http.server
import json
import os
import random
import signal
import socket
import subprocess
import threading
import time

import pytest

from conftest import (Hook, applied_patches, check_prometheus_text, interrupt_twice_mid_restore,
                      make_world, patches, webhook)
from world import NS, deployment, wait_for

DEP = "ecal-bulk"
LEASE = "drain-and-rollout:lease:%s:%s" % (NS, DEP)
JOURNAL = "drain-and-rollout:journal:%s:%s" % (NS, DEP)


# ---- helpers -----------------------------------------------------------

def fresh(request, grace=2, **kw):
    return make_world(request, [deployment(DEP, grace=grace),
                                deployment("common-redbeat", worker=False)], **kw)


def finish(w, p, args, timeout=180):
    """Wait for a spawned agent; log it like World.run() does."""
    try:
        out, err = p.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        p.kill()
        out, err = p.communicate()
        err += "\n[test: killed after %ss]" % timeout
    with open(os.path.join(w.tmp, "agent.log"), "a") as f:
        f.write("$ %s  [spawned pid %d]\n%s%s[exit %d]\n" % (" ".join(args), p.pid, out, err,
                                                           p.returncode))
    return p.returncode, err


def spawn(w, *args):
    return w.spawn(*args), args


def journal_state(w):
    try:
        return w.r().hget(JOURNAL, "state")
    except Exception:
        return None


def wait_journal_state(w, states, timeout=30):
    states = (states,) if isinstance(states, str) else states
    return wait_for(lambda: journal_state(w) in states and journal_state(w), timeout,
                    "journal state in %s" % (states,), interval=0.05)


def wait_patch(w, timeout=60):
    return wait_for(lambda: patches(w), timeout, "the PATCH", interval=0.05)


def wait_consumes(w, worker, queue=DEP, timeout=15):
    return wait_for(lambda: w.consumes(worker, queue), timeout,
                    "%s consuming %s" % (worker, queue), interval=0.5)


def wait_lease_gone(w, timeout=10):
    wait_for(lambda: not w.r().exists(LEASE), timeout, "the lease to expire", interval=0.1)


def settle(w, ids, timeout=60):
    """Every task ran exactly once and nothing is left unacknowledged."""
    w.wait_done(ids, timeout=timeout)
    w.assert_exactly_once(ids)
    wait_for(lambda: w.unacked() == 0, 15, "unacked empty")


def assert_new_worker_consumes(w, old):
    new = wait_for(lambda: w.worker_of(DEP) if w.worker_of(DEP) not in (None, old) else None,
                   30, "a new worker")
    assert wait_consumes(w, new)
    return new


# ---- 1. two concurrent runs --------------------------------------------

def test_two_concurrent_runs_one_wins_one_is_locked(request):
    w = fresh(request)
    old = w.worker_of(DEP)
    ids = w.enqueue(DEP, 1, 4.0)
    w.wait_started(ids, 1)
    a, aargs = spawn(w, DEP)
    b, bargs = spawn(w, DEP)
    ra, ea = finish(w, a, aargs)
    rb, eb = finish(w, b, bargs)
    assert sorted([ra, rb]) == [0, 4], (ra, ea, rb, eb)
    winner, loser_err = (a, eb) if ra == 0 else (b, ea)
    holder = "%s:%d" % (socket.gethostname(), winner.pid)
    assert "another run" in loser_err
    assert holder in loser_err, "the refused run must name the holder %s:\n%s" % (holder, loser_err)
    assert len(patches(w)) == 1
    settle(w, ids)
    assert_new_worker_consumes(w, old)
    assert not w.r().exists(LEASE) and not w.r().exists(JOURNAL)


def test_a_lease_without_a_journal_yet_names_its_holder(request):
    """Another run has just taken the lease and not yet written its journal
    (or an old journal of a third run is left): the refused run names the
    lease's holder from its token, not "unknown" nor the journal's."""
    w = fresh(request)
    w.r().set(LEASE, "ops-host-7:4242:1795700000:0123abcd", px=60000)
    r = w.run(DEP)
    assert r.returncode == 4, r.stderr
    assert "holder ops-host-7:4242, state unknown" in r.stderr, r.stderr
    w.r().hset(JOURNAL, mapping={"holder": "old-host:1", "state": "drain",
                                 "started": "1795600000.000"})
    r = w.run(DEP)
    assert r.returncode == 4, r.stderr
    assert "holder ops-host-7:4242, state unknown" in r.stderr, r.stderr
    w.r().hset(JOURNAL, "holder", "ops-host-7:4242")
    r = w.run(DEP)
    assert r.returncode == 4, r.stderr
    assert "holder ops-host-7:4242, state drain, since 2026-" in r.stderr, r.stderr
    assert patches(w) == []


def test_workers_another_run_just_cancelled_are_locked_not_idle(request):
    """A run that finds no queue consumed because another run has just
    cancelled them reports that run's lease (exit 4, naming it), not
    "nothing to drain"; with no lease held it refuses (exit 3) and leaves a
    journal it did not write alone."""
    w = fresh(request)
    worker = w.worker_of(DEP)
    # as an operator does: Flower knows a worker only once it has asked it
    # (a worker up after Flower's first inspection is 404 until a refresh)
    w.flower_test("GET", "/api/workers?refresh=1&workername=%s" % worker)
    url = "/api/worker/queue/cancel-consumer/%s?queue=%s" % (worker, DEP)
    w.flower_test("POST", url)
    wait_for(lambda: not w.consumes(worker, DEP), 10, "the consumer cancelled")
    w.r().set(LEASE, "other-token", px=60000)
    w.r().hset(JOURNAL, mapping={"state": "drain", "holder": "other-host:4242",
                                 "workers": json.dumps([{"name": "ecal-bulk@gone-pod",
                                                         "queues": []}])})
    p = w.run(DEP)
    assert p.returncode == 4, p.stderr
    assert "another run" in p.stderr
    w.r().delete(LEASE)
    p = w.run(DEP)
    assert p.returncode == 3, p.stderr
    assert "nothing to drain" in p.stderr
    assert w.r().hget(JOURNAL, "holder") == "other-host:4242"
    assert not w.r().exists(LEASE)
    assert patches(w) == []


# ---- 2. SIGTERM mid-drain ---------------------------------------------

@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGHUP], ids=["SIGTERM", "SIGHUP"])
def test_signal_mid_drain_restores_and_sends_no_restart(request, sig):
    """SIGHUP (an SSH session closing) is handled like SIGTERM."""
    w = fresh(request)
    worker = w.worker_of(DEP)
    ids = w.enqueue(DEP, 1, 8.0)
    w.wait_started(ids, 1)
    p, args = spawn(w, DEP)
    wait_journal_state(w, "drain")
    wait_for(lambda: not w.consumes(worker, DEP), 15, "the worker drained", interval=0.5)
    p.send_signal(sig)
    rc, err = finish(w, p, args, timeout=60)
    assert rc == 8, err
    assert "interrupted" in err
    assert w.consumes(worker, DEP)
    assert patches(w) == []
    assert not w.r().exists(LEASE)
    assert not w.r().exists(JOURNAL)
    assert w.worker_of(DEP) == worker
    settle(w, ids, timeout=30)


class AnsweringHook(Hook):
    """A webhook that takes a second to answer (a chat service far away), and
    keeps a POST only if the agent is still there for the answer."""
    answered = []

    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        time.sleep(1.0)     # the answer's latency, not a synchronisation
        try:
            gone = self.connection.recv(1, socket.MSG_PEEK | socket.MSG_DONTWAIT) == b""
        except BlockingIOError:
            gone = False
        if not gone:
            AnsweringHook.answered.append((self.headers.get("Content-Type"), json.loads(body)))
        self.send_response(200)
        self.end_headers()


@pytest.mark.parametrize("interrupt", [False, True], ids=["ended", "SIGTERM"])
def test_the_webhook_is_posted_at_exit(request, tmp_path, interrupt):
    """The webhook is the loop's last operation, with the removal of the
    remote-control reply queue (--control broker): the agent exits only
    once the webhook answered, after a run that ended, or one a SIGTERM
    stopped (its workers restored first)."""
    w = fresh(request)
    AnsweringHook.answered = []
    srv = http.server.HTTPServer(("127.0.0.1", 0), AnsweringHook)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    url = "http://127.0.0.1:%d/hooks/abc" % srv.server_port
    (tmp_path / "hook").write_text(url + "\n")
    worker = w.worker_of(DEP)
    bindings = "_kombu.binding.reply.celery.pidbox"
    before = w.r().smembers(bindings)
    ids = w.enqueue(DEP, 1, 8.0 if interrupt else 2.0)
    w.wait_started(ids, 1)
    p, args = spawn(w, DEP, "--control", "broker", "--notify-url-file",
                    str(tmp_path / "hook"), "--notify-on-success")
    if interrupt:
        wait_journal_state(w, "drain")
        wait_for(lambda: not w.consumes(worker, DEP), 15, "the worker drained",
                 interval=0.2)
        p.send_signal(signal.SIGTERM)
    rc, err = finish(w, p, args, timeout=120)
    srv.shutdown()
    assert rc == (8 if interrupt else 0), err
    assert len(AnsweringHook.answered) == 1, (AnsweringHook.answered, err)
    ctype, body = AnsweringHook.answered[0]
    assert ctype == "application/json"
    text = body["text"]
    assert DEP in text, text
    if interrupt:
        assert "FAILED" in text and "interrupted" in text, text
        assert w.consumes(worker, DEP)
        assert patches(w) == []
    else:
        assert "OK" in text, text
        assert len(applied_patches(w)) == 1
    assert not w.r().exists(LEASE)
    # the reply queue's binding is gone with the agent
    assert not w.r().smembers(bindings) - before, err
    settle(w, ids, timeout=60)


# ---- 3. a second SIGINT exits at once, --recover finishes -------------

def test_second_sigint_exits_at_once_and_recover_restores(request):
    w = fresh(request)
    worker = w.worker_of(DEP)
    ids = w.enqueue(DEP, 1, 8.0)
    w.wait_started(ids, 1)
    p, args = spawn(w, DEP, "--lease-ttl", "2s")
    wait_journal_state(w, "drain")
    # the second SIGINT while the restore the first started is in progress
    interrupt_twice_mid_restore(w, p)
    t0 = time.time()
    rc, err = finish(w, p, args, timeout=30)
    assert time.time() - t0 < 2, "the second signal must exit at once"
    # the restore had not ended: a worker may be left without consumers
    assert rc == 9, err
    assert "second signal" in err
    assert w.r().exists(JOURNAL), "the journal must be left for --recover"
    w.flower_test("POST", "/_test/reset", {})
    wait_lease_gone(w)
    assert "INTERRUPTED" in w.run("--status").stdout
    r = w.run("--recover", DEP)
    assert r.returncode == 0, r.stderr
    assert w.consumes(worker, DEP)
    assert not w.r().exists(JOURNAL)
    assert not w.r().exists(LEASE)
    assert patches(w) == []
    settle(w, ids, timeout=30)


# ---- 4. SIGKILL mid-drain: --status, --recover; or a normal run --------

def killed_mid_drain(w, tag):
    """A run (lease 2 s) SIGKILLed while it drains; returns the task ids."""
    worker = w.worker_of(DEP)
    ids = w.enqueue(DEP, 2, 3.0, tag=tag)
    w.wait_started(ids, 1)
    p, args = spawn(w, DEP, "--lease-ttl", "2s")
    wait_journal_state(w, "drain")
    p.send_signal(signal.SIGKILL)
    finish(w, p, args, timeout=10)
    assert w.r().exists(JOURNAL)
    assert not w.consumes(worker, DEP), "the dead run left the worker drained"
    wait_lease_gone(w)
    return ids


def test_sigkill_mid_drain_status_then_recover(request):
    w = fresh(request)
    worker = w.worker_of(DEP)
    ids = killed_mid_drain(w, "killed")
    st = w.run("--status")
    assert st.returncode == 0, st.stderr
    line = [l for l in st.stdout.splitlines() if l.startswith(DEP + ":")]
    assert line and "INTERRUPTED" in line[0], st.stdout
    r = w.run("--recover", DEP)
    assert r.returncode == 0, r.stderr
    assert "had not restarted" in r.stderr
    assert w.consumes(worker, DEP)
    assert not w.r().exists(JOURNAL) and not w.r().exists(LEASE)
    assert patches(w) == []
    settle(w, ids, timeout=30)


def test_sigkill_mid_drain_then_a_normal_run_takes_over(request):
    """A normal run after the dead run's lease expired is not refused: it
    reads the dead run's journal (st-resolve.c: "a journal left by a dead
    run names queues we must not forget"), drains and restarts with those
    queues although the worker consumes none of them now."""
    w = fresh(request)
    worker = w.worker_of(DEP)
    ids = killed_mid_drain(w, "killed")
    r = w.run(DEP)
    assert r.returncode == 0, r.stderr
    assert len(applied_patches(w)) == 1
    settle(w, ids, timeout=30)
    assert_new_worker_consumes(w, worker)
    assert not w.r().exists(JOURNAL) and not w.r().exists(LEASE)


# ---- 5. SIGKILL after the PATCH ----------------------------------------

def test_sigkill_after_patch_recover_waits_and_verifies(request):
    w = fresh(request)
    old = w.worker_of(DEP)
    ids = w.enqueue(DEP, 2, 1.5)
    w.wait_started(ids, 1)
    p, args = spawn(w, DEP, "--lease-ttl", "2s")
    wait_patch(w)
    p.send_signal(signal.SIGKILL)
    finish(w, p, args, timeout=10)
    assert w.r().exists(JOURNAL)
    wait_lease_gone(w)
    recover_follows_the_rollout(w, old, ids)


def recover_follows_the_rollout(w, old, ids):
    """--recover of a run that had restarted: no second restart, a new
    worker consumes, every task once, journal and lease gone."""
    r = w.run("--recover", DEP)
    assert r.returncode == 0, r.stderr
    assert "had restarted the rollout" in r.stderr
    assert len(patches(w)) == 1, "--recover must not restart again"
    assert_new_worker_consumes(w, old)
    settle(w, ids, timeout=30)
    assert not w.r().exists(JOURNAL) and not w.r().exists(LEASE)


@pytest.mark.parametrize("held", [4, 7])
@pytest.mark.long(35)
def test_sigkill_with_the_restart_in_flight_recover_waits_for_it(request, held):
    """The API server holds the restart PATCH (4 s: then applies it; 7 s:
    past the 5 s timeout the agent asked for, so it answers 504 and never
    applies it) and the agent is SIGKILLed meanwhile. --recover, run as
    soon as the lease (2 s) is gone, before either, waits for that PATCH
    to land or be dropped: what it says it found is what the Deployment
    shows, and nothing is lost either way."""
    w = fresh(request)
    old = w.worker_of(DEP)
    ids = w.enqueue(DEP, 2, 1.5)
    w.wait_started(ids, 1)
    w.kube_test("POST", "/_test/faults", {
        "method": "PATCH", "delay": held, "count": 1,
        "path_prefix": "/apis/apps/v1/namespaces/%s/deployments/%s" % (NS, DEP)})
    p, args = spawn(w, DEP, "--lease-ttl", "2s", "--request-timeout", "5s")
    # the server has the PATCH (its fault taken) and holds it
    wait_for(lambda: w.kube_test("GET", "/_test/faults")[0]["count"] == 0, 30,
             "the PATCH at the API server", interval=0.05)
    p.send_signal(signal.SIGKILL)
    finish(w, p, args, timeout=10)
    journal = w.r().hgetall(JOURNAL)
    assert journal.get("state") == "restart", journal
    wait_lease_gone(w)
    r = w.run("--recover", DEP)
    assert r.returncode == 0, r.stderr
    # the held PATCH answered: applied after 4 s, or dropped with a 504 at 5 s
    wait_for(lambda: patches(w), 30, "the held PATCH answered", interval=0.1)
    restarted = w.deployment(DEP)["spec"]["template"]["metadata"].get(
        "annotations", {}).get("kubectl.kubernetes.io/restartedAt")
    if held == 4:
        assert restarted == journal["restarted_at"]
        assert "had restarted the rollout" in r.stderr
        assert_new_worker_consumes(w, old)
    else:
        assert restarted != journal["restarted_at"]
        assert [q["status"] for q in patches(w)] == [504]
        assert "had not restarted" in r.stderr
        assert w.consumes(old, DEP)
    assert "may have left a PATCH of the Deployment in flight" in r.stderr
    assert "timeout=5s" in patches(w)[0]["path"]
    settle(w, ids, timeout=30)
    assert not w.r().exists(JOURNAL) and not w.r().exists(LEASE)


# ---- 5b. write-ahead journal, the lease, signals, Redis silent -----------

def test_sigkill_after_the_cancel_before_its_answer_recover_gives_queues_back(request):
    """The cancel is performed but its answer held back 4 s; the agent is
    SIGKILLed in that window. The journal named the queues before the
    cancel was sent, so one --recover gives them back."""
    w = fresh(request)
    worker = w.worker_of(DEP)
    ids = w.enqueue(DEP, 2, 3.0, tag="wal")
    w.wait_started(ids, 1)
    w.flower_test("POST", "/_test/hold", {"path_contains": "cancel-consumer", "seconds": 4})
    p, args = spawn(w, DEP, "--lease-ttl", "2s")
    wait_for(lambda: [r for r in w.flower_test("GET", "/_test/requests")
                      if "cancel-consumer" in r["path"] and r.get("held")],
             60, "the cancel performed, its answer held", interval=0.05)
    p.send_signal(signal.SIGKILL)
    finish(w, p, args, timeout=10)
    w.flower_test("POST", "/_test/reset", {})
    assert not w.consumes(worker, DEP), "the cancel was performed"
    assert DEP in (w.r().hget(JOURNAL, "workers") or ""), w.r().hgetall(JOURNAL)
    wait_lease_gone(w)
    r = w.run("--recover", DEP)
    assert r.returncode == 0, r.stderr
    assert w.consumes(worker, DEP), "--recover did not give the queue back: " + r.stderr
    assert patches(w) == []
    assert not w.r().exists(JOURNAL) and not w.r().exists(LEASE)
    settle(w, ids, timeout=30)


def test_lease_overwritten_mid_drain_stops_without_acting(request):
    """Another holder takes the lease (and writes its journal) while the run
    drains: the run stops at once (exit 9, naming that holder), sends no
    PATCH, and leaves the other holder's lease and journal as they are."""
    w = fresh(request)
    ids = w.enqueue(DEP, 1, 8.0, tag="lease")
    w.wait_started(ids, 1)
    p, args = spawn(w, DEP, "--lease-ttl", "3s")
    wait_journal_state(w, "drain")
    other = "other-host:4242:1700000000:0123456789abcdef01234567"
    r = w.r()
    r.set(LEASE, other, px=120000)
    r.delete(JOURNAL)
    r.hset(JOURNAL, mapping={"state": "lock", "holder": "other-host:4242",
                             "started": "1700000000.000", "workers": "[]"})
    theirs = r.hgetall(JOURNAL)
    rc, err = finish(w, p, args, timeout=60)
    assert rc == 9, err
    assert "other-host:4242" in err, err
    assert patches(w) == []
    assert r.get(LEASE) == other
    assert r.hgetall(JOURNAL) == theirs
    assert r.xlen("drain-and-rollout:history") == 0, "history written without the lease"
    w.wait_done(ids, timeout=30)
    w.assert_exactly_once(ids)


def silent_server():
    """A TCP server that accepts connections and never answers."""
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(64)
    conns = []

    def accept():
        while True:
            try:
                conns.append(srv.accept()[0])
            except OSError:
                return
    threading.Thread(target=accept, daemon=True).start()
    return srv, conns


def test_redis_that_never_answers_fails_before_changing_anything(request):
    w = fresh(request)
    worker = w.worker_of(DEP)
    srv, conns = silent_server()
    port = srv.getsockname()[1]
    request.addfinalizer(srv.close)
    env = w.env(DRAIN_REDIS_URL="redis://127.0.0.1:%d/0" % port)
    for args in ([DEP], ["--status"], ["--status", DEP]):
        t0 = time.time()
        try:
            p = subprocess.run(w.agent_argv(args + ["--request-timeout", "2s"]), env=env,
                               timeout=45, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               text=True)
        except subprocess.TimeoutExpired:
            raise AssertionError("%s hung against a Redis that never answers" % args)
        assert p.returncode == 3, (args, p.returncode, p.stderr)
        assert "redis 127.0.0.1:%d" % port in p.stderr, (args, p.stderr)
        assert time.time() - t0 < 30, args
    assert conns, "the agent never connected"
    assert patches(w) == []
    assert w.consumes(worker, DEP)


def test_sigterm_in_a_failing_rollout_then_recover_gives_the_old_worker_back(request):
    """SIGTERM while the new pods never become ready: the journal is kept;
    --recover waits for the rollout, sees it fail, and gives the old worker
    its queues back."""
    w = make_world(request, [deployment(DEP, grace=2, pds=8),
                             deployment("common-redbeat", worker=False)])
    old = w.worker_of(DEP)
    w.kube_test("POST", "/_test/break", {"deployment": DEP})
    p, args = spawn(w, DEP, "--lease-ttl", "2s")
    wait_journal_state(w, "rollout", timeout=60)
    p.send_signal(signal.SIGTERM)
    rc, err = finish(w, p, args, timeout=60)
    assert rc == 8, err
    assert w.r().exists(JOURNAL), "the journal must be kept for --recover"
    assert not w.consumes(old, DEP)
    wait_lease_gone(w)
    r = w.run("--recover", DEP)
    assert r.returncode == 6, r.stderr
    assert "had restarted the rollout" in r.stderr
    assert len(patches(w)) == 1, "--recover must not restart again"
    assert w.consumes(old, DEP)
    assert not w.r().exists(JOURNAL) and not w.r().exists(LEASE)


def test_broker_control_leaves_no_reply_binding(request):
    w = fresh(request)
    bindings = "_kombu.binding.reply.celery.pidbox"
    before = w.r().smembers(bindings)
    r = w.run(DEP, "--control", "broker")
    assert r.returncode == 0, r.stderr
    assert len(applied_patches(w)) == 1
    left = w.r().smembers(bindings) - before
    assert not left, "left in %s: %s" % (bindings, left)


# ---- 6. Flower down before the run ---------------------------------------

def test_flower_down_auto_uses_the_broker_and_flower_mode_fails(request):
    w = fresh(request)
    old = w.worker_of(DEP)
    w.stop_flower()
    # --control flower: fails before changing anything
    ids = w.enqueue(DEP, 2, 2.0)
    w.wait_started(ids, 1)
    r = w.run(DEP, "--control", "flower", "--request-timeout", "2s")
    assert r.returncode == 3, r.stderr
    assert patches(w) == []
    assert w.consumes(old, DEP)
    assert not w.r().keys("drain-and-rollout:lease:*")
    assert not w.r().keys("drain-and-rollout:journal:*")
    # --control auto (the default): remote control over the broker
    r = w.run(DEP)
    assert r.returncode == 0, r.stderr
    assert "remote control" in r.stderr and "broker" in r.stderr
    assert len(patches(w)) == 1
    settle(w, ids, timeout=30)
    assert_new_worker_consumes(w, old)


# ---- 7. Flower stopped mid-drain -----------------------------------------

def test_flower_stopped_mid_drain_completes_over_the_broker(request):
    w = fresh(request)
    old = w.worker_of(DEP)
    ids = w.enqueue(DEP, 3, 2.0)
    w.wait_started(ids, 1)
    p, args = spawn(w, DEP)
    wait_journal_state(w, "drain")
    w.stop_flower()
    rc, err = finish(w, p, args, timeout=120)
    assert rc == 0, err
    assert "broker" in err
    assert len(patches(w)) == 1
    settle(w, ids, timeout=30)
    assert_new_worker_consumes(w, old)


# ---- 8. Kubernetes API faults ----------------------------------------------

def test_kubernetes_faults_are_retried_and_one_patch_applies(request):
    w = fresh(request)
    old = w.worker_of(DEP)
    path = "/apis/apps/v1/namespaces/%s/deployments/%s" % (NS, DEP)
    for f in ({"method": "PATCH", "path_prefix": path, "status": 500, "count": 2},
              {"method": "PATCH", "path_prefix": path, "status": 429, "count": 2, "retry_after": 1},
              {"method": "PATCH", "path_prefix": path, "status": 409, "count": 2},
              {"method": "GET", "path_prefix": path, "status": 503, "count": 2}):
        w.kube_test("POST", "/_test/faults", f)
    ids = w.enqueue(DEP, 2, 1.5)
    w.wait_started(ids, 1)
    r = w.run(DEP)
    assert r.returncode == 0, r.stderr
    assert [f["count"] for f in w.kube_test("GET", "/_test/faults")] == [0, 0, 0, 0], \
        "every fault was hit"
    assert len(applied_patches(w)) == 1, [(p["status"]) for p in patches(w)]
    assert len(patches(w)) == 7          # 6 faulted + 1 applied
    settle(w, ids, timeout=30)
    assert_new_worker_consumes(w, old)


# ---- 9. the worker's pod is killed mid-drain ----------------------------

def test_worker_pod_killed_mid_drain_is_reported_vanished(request, tmp_path):
    """The running task of a SIGKILLed worker is lost to Celery (it was
    acknowledged when it started): that is Celery's, the agent must say so,
    name the tasks as possibly lost, and carry on. st-drain.c's vanished()
    marks the worker gone, which counts as drained: the run goes on to the
    restart and its outcome is ok (exit 0), but the webhook hears of it
    without --notify-on-success and the metrics count the task."""
    w = fresh(request)
    srv, url = webhook()
    (tmp_path / "hook").write_text(url)
    metrics = tmp_path / "drain.prom"
    worker = w.worker_of(DEP)
    pod = [p["name"] for p in w.pods(DEP) if p["hostname"] == worker][0]
    ids = w.enqueue(DEP, 1, 30.0, tag="doomed")
    w.wait_started(ids, 1)
    p, args = spawn(w, DEP, "--notify-url-file", str(tmp_path / "hook"),
                    "--metrics-file", str(metrics))
    wait_journal_state(w, "drain")
    wait_for(lambda: not w.consumes(worker, DEP), 15, "the worker drained", interval=0.5)
    w.kube_test("POST", "/_test/kill-pod", {"pod": pod, "signal": "KILL"})
    rc, err = finish(w, p, args, timeout=120)
    srv.shutdown()
    assert "vanished" in err, err
    assert "possibly lost" in err and ids[0] in err, err
    assert rc == 0, err
    assert len(Hook.posts) == 1, Hook.posts
    text = Hook.posts[0][1]["text"]
    assert "WARNING" in text and worker in text and ids[0] in text, text
    fams = check_prometheus_text(metrics.read_text())
    assert fams["drain_and_rollout_possibly_lost_tasks"] == {
        '{namespace="%s",deployment="%s"}' % (NS, DEP): 1.0}
    assert len(applied_patches(w)) == 1
    new = w.worker_of(DEP)
    assert new not in (None, worker) and w.consumes(new, DEP)
    started, done = w.ledger()
    assert started.get(ids[0]) == "1" and ids[0] not in done


def test_silent_worker_whose_pod_runs_is_waited_for(request):
    """A worker that cannot answer (here SIGSTOPped for 7 s, long enough for
    Flower to count it offline: heartbeats expire after 4 s; in life, while
    the broker restarts) is not gone while Kubernetes says its pod runs:
    the agent keeps waiting, and the task it runs completes before the
    restart. Taking silence for a vanished worker would restart the pod and
    cut the task."""
    w = fresh(request)
    old = w.worker_of(DEP)
    pod = [p["name"] for p in w.pods(DEP) if p["hostname"] == old][0]
    ids = w.enqueue(DEP, 1, 12.0, tag="silent")
    w.wait_started(ids, 1)
    p, args = spawn(w, DEP, "--no-events", "--poll-interval", "1s")
    wait_journal_state(w, "drain")
    w.kube_test("POST", "/_test/kill-pod", {"pod": pod, "signal": "STOP"})
    try:
        time.sleep(7.0)
    finally:
        w.kube_test("POST", "/_test/kill-pod", {"pod": pod, "signal": "CONT"})
    rc, err = finish(w, p, args, timeout=120)
    assert rc == 0, err
    assert "does not answer, but its pod %s runs" % pod in err, err
    assert "vanished" not in err, err
    assert len(applied_patches(w)) == 1
    assert_new_worker_consumes(w, old)
    settle(w, ids)


# ---- 10. --drain-only, --status, --undrain -----------------------------

def drained_only(w):
    worker = w.worker_of(DEP)
    ids = w.enqueue(DEP, 2, 1.5)
    w.wait_started(ids, 1)
    r = w.run("--drain-only", DEP)
    assert r.returncode == 0, r.stderr
    settle(w, ids, timeout=30)
    assert not w.consumes(worker, DEP)
    assert patches(w) == []
    assert not w.r().exists(LEASE)
    assert w.r().hget(JOURNAL, "state") == "drained"
    return worker


def test_drain_only_then_status_shows_it_drained(request):
    w = fresh(request)
    worker = drained_only(w)
    st = w.run("--status", DEP)
    assert "drained" in st.stdout, st.stdout
    assert st.returncode == 0, st.stdout + st.stderr
    # --recover leaves a deliberate drain alone
    rec = w.run("--recover")
    assert rec.returncode == 0, rec.stderr
    assert not w.consumes(worker, DEP)
    assert w.r().hget(JOURNAL, "state") == "drained"


def test_drain_only_then_undrain_gives_the_queue_back(request):
    w = fresh(request)
    worker = drained_only(w)
    # work enqueued now waits; --undrain gives the queue back
    later = w.enqueue(DEP, 1, 0.5, tag="later")
    # it waits on the queue: the worker consumes nothing (asked of it)
    wait_for(lambda: w.r().llen(DEP) == 1 and w.queues_of(worker) == [], 10,
             "the task waiting on the queue, the worker consuming nothing")
    assert later[0] not in w.ledger()[0]
    u = w.run("--undrain", DEP)
    assert u.returncode == 0, u.stderr
    assert w.consumes(worker, DEP)
    wait_for(lambda: not w.r().exists(JOURNAL), 5, "the journal removed")
    settle(w, later, timeout=30)
    assert w.worker_of(DEP) == worker
    assert patches(w) == []


# ---- 11. Redis restarted mid-drain ------------------------------------------

def test_redis_restart_mid_drain(request):
    """redis-server (append-only, fsync always) is stopped cleanly mid-drain
    and restarted on the same port 0.3 s later. The agent must reconnect
    and finish. What the Celery workers themselves do on a broker restart
    (re-delivering a prefetched message, dropping a reserved request) is
    Celery's business, not the agent's: the test checks the agent's
    outcome, that nothing is left drained, and that the task running
    through the restart completed; it reports, but does not assert, the
    exactly-once property of the whole batch."""
    w = fresh(request, persistent_redis=True)
    old = w.worker_of(DEP)
    ids = w.enqueue(DEP, 1, 6.0)
    w.wait_started(ids, 1)
    p, args = spawn(w, DEP, "--poll-interval", "1s")
    wait_journal_state(w, "drain")
    wait_for(lambda: not w.consumes(old, DEP), 15, "the worker drained", interval=0.5)
    w.restart_redis(down=0.3)
    assert w.r().exists(LEASE) or p.poll() is not None, "the lease survived the restart"
    rc, err = finish(w, p, args, timeout=150)
    assert rc == 0, err
    assert len(applied_patches(w)) == 1
    assert_new_worker_consumes(w, old)
    w.wait_done(ids, timeout=30)
    assert not w.r().exists(LEASE) and not w.r().exists(JOURNAL)


# ---- 12. chaos ---------------------------------------------------------------

class Load(threading.Thread):
    """Enqueue a 1 s task for deployment dep every ~0.5 s while fewer than 2
    tasks are queued or held by its worker (LLEN + its unacked entries).

    The worker runs one task at a time (concurrency 1, a fresh child per
    task: ~2 s a task), so unbounded 2 tasks/s would grow the backlog
    without end and every drain would wait for 4 prefetched tasks; the
    bound keeps the worker busy at every drain (a task running or
    prefetched, one queued) while cycles and the final wait stay short."""

    def __init__(self, w, seed, dep=DEP):
        super().__init__(daemon=True)
        from celery import Celery
        self.app = Celery("etl", broker=w.broker_url)
        self.app.conf.task_serializer = "json"
        self.w = w
        self.dep = dep
        self.rng = random.Random(seed)
        self.ids = []
        self.stop = threading.Event()
        self.errors = []

    def held(self, r):
        """Its queue's entries in unacked: [message, exchange, routing key]."""
        return sum(1 for v in r.hvals("unacked") if json.loads(v)[2] == self.dep)

    def run(self):
        r = self.w.r()
        n = 0
        while not self.stop.is_set():
            try:
                if r.llen(self.dep) + self.held(r) < 2:
                    res = self.app.send_task("ingest", args=[1.0, "chaos-%s-%d" % (self.dep, n)],
                                             queue=self.dep)
                    self.ids.append(res.id)
                    n += 1
            except Exception as e:      # a fault is the agent's, not the load's
                self.errors.append(repr(e))
            self.stop.wait(0.3 + 0.4 * self.rng.random())


FAULTS = ["none", "patch500", "patch429", "get503", "flower500", "flower_delay",
          "sigterm", "sigkill", "kill_cancel", "kill_restart", "kill_rollout", "sighup",
          "sigterm_rollout", "lease_overwrite"]
# two deployments cycle at once, so that one's new worker starts while the
# other drains (the Flower double's faults are global: one may hit the other's run)
CHAOS_DEPS = (DEP, "ecal-priority")

# signal faults: (the journal states to wait for, the signal, a random delay)
SIGNALS = {"sigterm": (("drain",), signal.SIGTERM, True),
           "sigkill": (("drain",), signal.SIGKILL, True),
           "sighup": (("drain",), signal.SIGHUP, True),
           # the PATCH fails twice and is retried: time to land inside RESTART
           # (the other deployment's cycle may clear the fault: then in ROLLOUT)
           "kill_restart": (("restart", "rollout"), signal.SIGKILL, False),
           "kill_rollout": (("rollout",), signal.SIGKILL, False),
           "sigterm_rollout": (("rollout",), signal.SIGTERM, False)}

# the exit statuses a faulted run may end with (besides 0: the fault came late)
FAULT_EXITS = {"sigterm": (8,), "sighup": (8,), "sigterm_rollout": (8,),
               "sigkill": (-signal.SIGKILL,), "kill_cancel": (-signal.SIGKILL,),
               "kill_restart": (-signal.SIGKILL,), "kill_rollout": (-signal.SIGKILL,),
               "lease_overwrite": (9,), "redis_stop": (9,)}
OTHER = "other-host:4242:1700000000:00ff"


def chaos_cycles(w, dep, cycles, rng, t_start, history, faults=FAULTS):
    """cycles drain-and-rollouts of dep, each under a fault (faults, then
    seeded choices); every outcome checked as it comes. A faulted run gets
    at most one --recover (and a normal run if nothing was restarted);
    then its worker must consume."""
    path = "/apis/apps/v1/namespaces/%s/deployments/%s" % (NS, dep)
    lease = "drain-and-rollout:lease:%s:%s" % (NS, dep)
    journal = "drain-and-rollout:journal:%s:%s" % (NS, dep)
    for i in range(cycles):
        fault = faults[i] if i < len(faults) else rng.choice(faults)
        what = "%s cycle %d (%s)" % (dep, i, fault)
        before = len(applied_patches(w, dep))
        wait_for(lambda: w.worker_of(dep), 30, "%s: a live worker" % what)
        extra = ()
        if fault in ("patch500", "kill_restart"):
            w.kube_test("POST", "/_test/faults", {"method": "PATCH", "path_prefix": path,
                                                  "status": 500, "count": 2})
        elif fault == "patch429":
            w.kube_test("POST", "/_test/faults", {"method": "PATCH", "path_prefix": path,
                                                  "status": 429, "count": 1,
                                                  "retry_after": 1})
        elif fault == "get503":
            w.kube_test("POST", "/_test/faults", {"method": "GET", "path_prefix": path,
                                                  "status": 503, "count": 2})
        elif fault == "flower500":
            w.flower_test("POST", "/_test/fail", {"status": 500, "count": 2})
        elif fault == "flower_delay":
            w.flower_test("POST", "/_test/delay", {"seconds": 0.5})
        elif fault == "kill_cancel":
            # the cancel is performed, its answer held: SIGKILL in between
            w.flower_test("POST", "/_test/hold", {"path_contains": "cancel-consumer/%s" % dep,
                                                  "seconds": 3})
        if fault in FAULT_EXITS:
            extra = ("--lease-ttl", "2s")
        # a drain that cannot end shows as exit 5 naming what it waits for
        p, args = spawn(w, dep, "--drain-timeout", "45s", *extra)
        try:
            if fault in SIGNALS:
                states, sig, delay = SIGNALS[fault]
                wait_for(lambda: w.r().hget(journal, "state") in states, 30,
                         "%s: state %s" % (what, states), interval=0.05)
                if delay:
                    time.sleep(rng.uniform(0.1, 1.0))
                p.send_signal(sig)
            elif fault == "kill_cancel":
                wait_for(lambda: [r for r in w.flower_test("GET", "/_test/requests")
                                  if "cancel-consumer/%s" % dep in r["path"] and r.get("held")],
                         30, "%s: the cancel performed, its answer held" % what, interval=0.1)
                p.send_signal(signal.SIGKILL)
            elif fault == "lease_overwrite":
                wait_for(lambda: w.r().hget(journal, "state") == "drain", 30,
                         "%s: the drain" % what, interval=0.05)
                w.r().set(lease, OTHER, px=60000)
            elif fault == "redis_stop":
                wait_for(lambda: w.r().hget(journal, "state") == "drain", 30,
                         "%s: the drain" % what, interval=0.05)
                os.kill(w.procs["redis"].pid, signal.SIGSTOP)
                try:
                    time.sleep(3.5)     # longer than the 2 s lease
                finally:
                    os.kill(w.procs["redis"].pid, signal.SIGCONT)
        except AssertionError:
            pass        # the run was quicker than the fault: it comes late
        rc, err = finish(w, p, args, timeout=120)
        if fault in ("flower500", "flower_delay"):
            w.flower_test("POST", "/_test/reset", {})
        elif fault.startswith(("patch", "get")) or fault == "kill_restart":
            w.kube_test("DELETE", "/_test/faults")
        after = rc
        assert rc == 0 or rc in FAULT_EXITS.get(fault, ()), "%s: exit %d\n%s" % (what, rc, err)
        if rc != 0:
            if fault == "lease_overwrite":
                assert "other-host:4242" in err, err
                assert w.r().get(lease) == OTHER, "%s: the other holder's lease changed" % what
                w.r().delete(lease)     # the other holder is done
            wait_for(lambda: not w.r().exists(lease), 10, "%s: the lease to expire" % what)
            if w.r().exists(journal):
                # as an operator or the systemd timer would (this deployment's journal:
                # the other deployment's run is alive and holds its lease)
                r = w.run("--recover", dep)
                after = r.returncode
                assert after == 0, "%s: --recover: %s" % (what, r.stderr)
            worker = w.worker_of(dep)
            assert worker and wait_consumes(w, worker, dep), \
                "%s: %s does not consume after --recover" % (what, worker)
            if len(applied_patches(w, dep)) == before:
                # nothing was restarted: a normal run now
                r = w.run(dep)
                after = r.returncode
                assert after == 0, "%s: the normal run after it: %s" % (what, r.stderr)
        assert len(applied_patches(w, dep)) == before + 1, \
            "%s: %d restarts" % (what, len(applied_patches(w, dep)) - before)
        assert not w.r().exists(journal), "%s: journal left" % what
        history.append((dep, i, fault, rc, after, round(time.time() - t_start)))


@pytest.mark.long(180)
def test_chaos_cycles_under_load(request):
    """Two deployments cycle at once under load, each cycle with one fault:
    Kubernetes and Flower errors, a signal or SIGKILL at each state boundary
    (inside CANCEL: after the cancel, before its answer; inside RESTART:
    while the PATCH is retried; in DRAIN and ROLLOUT), SIGHUP, the lease
    overwritten mid-drain by another holder; then, alone, Redis stopped
    (SIGSTOP) for longer than the lease TTL and resumed. At the end every
    task ran exactly once and nothing is left in unacked."""
    seed = int(os.environ.get("CHAOS_SEED", "20240611"))
    cycles = int(os.environ.get("CHAOS_CYCLES", str(2 * len(FAULTS))))
    w = make_world(request, [deployment(d, grace=2) for d in CHAOS_DEPS] +
                   [deployment("common-redbeat", worker=False)])
    loads = [Load(w, seed + k, dep) for k, dep in enumerate(CHAOS_DEPS)]
    for load in loads:
        load.start()
    t_start = time.time()
    history, errors = [], []

    def cycle(k, dep):
        try:
            chaos_cycles(w, dep, (cycles + len(CHAOS_DEPS) - 1 - k) // len(CHAOS_DEPS),
                         random.Random(seed + k), t_start, history)
        except BaseException as e:      # reported by the test's thread
            errors.append(e)
    threads = [threading.Thread(target=cycle, args=(k, dep)) for k, dep in enumerate(CHAOS_DEPS)]
    try:
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        if not errors:
            # Redis stopped for both: alone, so that no other run is disturbed
            try:
                chaos_cycles(w, DEP, 1, random.Random(seed), t_start, history,
                             faults=["redis_stop"])
            except BaseException as e:
                errors.append(e)
    finally:
        for load in loads:
            load.stop.set()
        for load in loads:
            load.join(5)
    if errors:
        raise errors[0]
    assert len(history) == cycles + 1
    for load in loads:
        assert not load.errors, load.errors
    ids = [i for load in loads for i in load.ids]
    assert len(ids) >= 30, "too little load: %d tasks" % len(ids)
    settle(w, ids, timeout=120)
    for dep in CHAOS_DEPS:
        worker = w.worker_of(dep)
        assert worker and w.consumes(worker, dep)
    assert not w.r().keys("drain-and-rollout:lease:*")
    with open(os.path.join(w.tmp, "chaos.txt"), "w") as f:
        f.write("seed %d, %d tasks\n%s\n" % (seed, len(ids), "\n".join(map(str, history))))
