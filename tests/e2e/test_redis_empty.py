"""The broker's Redis comes back empty (restarted without persistence, a
failover to a replica that had not the keys): the lease and the journal
are gone, and Celery's own keys with them. The run takes its lease again
with the same token, rewrites the journal from its memory before it acts
again, and goes on; a run that cannot (another holder) stops and prints the
--undrain command that gives its drained workers back, which works;
--status names a drained worker without a journal; --recover takes the
lease before it reads the journal; a --drain-only journal keeps its
7-day expiry.

Measured with the real worker (Celery 5.2.6, kombu 5.2.4): a worker whose
consumer was cancelled reconnects to a restarted, empty Redis in about 5 s
and does not consume that queue again (its active_queues stay empty, a
task sent meanwhile waits on the queue). The agent does not rely on it:
after a regain it confirms every worker drained anew before the restart
(lease_resume(), include/lease.h)."""
import os
import re
import shlex
import signal
import socket
import subprocess
import urllib.parse

import pytest

from conftest import applied_patches, patches
from test_safety import (DEP, JOURNAL, LEASE, assert_new_worker_consumes, finish, fresh, spawn,
                         wait_consumes, wait_journal_state)
from world import deployment as deployment_of, wait_for

OTHER = "other-host:4242:1700000000:00ff"


def printed_undrain(err):
    """The last --undrain command line the agent printed, as printed."""
    line = [l for l in err.splitlines() if re.search(r"drain-and-rollout --.* --undrain ", l)]
    assert line, "no --undrain command printed:\n" + err
    return line[-1][line[-1].index("drain-and-rollout --"):]


def undrain_argv(w, err):
    """The --undrain command the agent printed, as argv for this world's binary."""
    words = shlex.split(printed_undrain(err))
    assert words[0] == "drain-and-rollout" and "--undrain" in words and "--queues" in words, words
    return words[1:]


def in_shell(w, cmd, env=None):
    """Run a printed command line as is with /bin/sh, drain-and-rollout on
    the PATH being this world's binary."""
    from world import AGENT
    bindir = os.path.join(w.tmp, "bin")
    if not os.path.isdir(bindir):
        os.makedirs(bindir)
        os.symlink(os.path.abspath(AGENT), os.path.join(bindir, "drain-and-rollout"))
    env = dict(env or w.env())
    env["PATH"] = bindir + os.pathsep + os.environ["PATH"]
    return subprocess.run(["/bin/sh", "-c", cmd], cwd=w.tmp, env=env, stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, text=True, timeout=120)


def given_back(w, done, worker, ids):
    """done (a finished --undrain or --recover) gave the worker its queue
    back, nothing restarted, and the running task completed once."""
    assert done.returncode == 0, done.stderr
    assert wait_consumes(w, worker)
    assert patches(w) == []
    w.wait_done(ids, timeout=60)
    assert w.ledger()[1].get(ids[0]) == "1"


def draining(request, seconds, *args):
    """A world whose worker runs a task of `seconds`, and a run of DEP (with
    args) that drains it: (world, its worker, the task ids, process, args)."""
    w = fresh(request)
    worker = w.worker_of(DEP)
    ids = w.enqueue(DEP, 1, seconds, tag="busy")
    w.wait_started(ids, 1)
    p, args = spawn(w, DEP, *args)
    wait_journal_state(w, "drain")
    return w, worker, ids, p, args


@pytest.mark.parametrize("ttl,seconds", [("6s", 10.0), ("30s", 5.0)])
def test_redis_restarted_empty_mid_drain_the_run_takes_its_lease_again(request, ttl, seconds):
    """redis-server (no persistence) restarts mid-drain while the worker runs
    a task: the lease and journal are gone. The run takes the lease again,
    rewrites its journal, drains on and restarts once; the task completes
    exactly once and the new worker consumes. With a 6 s lease a renewal
    finds the lease gone mid-drain; with 30 s (renewed every 10 s) and a
    shorter task the drain usually ends first and the journal write before
    the restart finds it gone: the run drains again before it restarts."""
    w, old, ids, p, args = draining(request, seconds, "--lease-ttl", ttl, "--poll-interval", "1s")
    w.restart_redis(down=0.3)
    assert not w.r().exists(LEASE), "Redis kept its keys: not the restart this test needs"
    # the journal is back (its holder, this run) while the run drains
    wait_for(lambda: w.r().hget(JOURNAL, "holder") == "%s:%d" % (socket.gethostname(), p.pid)
             or p.poll() is not None, 30, "the journal rewritten", interval=0.1)
    rc, err = finish(w, p, args, timeout=150)
    assert rc == 0, err
    assert "lost the lease" not in err, err
    # regained and rewritten before the restart was sent
    regained = err.find("took the lease again and rewrote the journal")
    assert 0 <= regained < err.find("rollout restart sent"), err
    # the end's history entry, written under the regained lease
    assert [e for _, e in w.r().xrange("drain-and-rollout:history")
            if e.get("deployment") == DEP and e.get("outcome") == "ok"], err
    assert len(applied_patches(w)) == 1
    assert_new_worker_consumes(w, old)
    # the ledger lives in the same Redis: its "started" went with the
    # restart; "done" is written after it, once
    w.wait_done(ids, timeout=60)
    started, done = w.ledger()
    assert done.get(ids[0]) == "1", (started, done)
    assert not w.r().exists(LEASE) and not w.r().exists(JOURNAL)


def test_lease_taken_by_another_run_prints_an_undrain_command_that_works(request):
    """Redis came back empty and another run took the lease first: this run
    stops (exit 9) with its worker drained and no journal left. It must name
    the --undrain command that gives the worker its queues back, not a
    --recover that has nothing to work from; the command, run, does it."""
    w, worker, ids, p, args = draining(request, 6.0, "--lease-ttl", "3s")
    w.r().delete(JOURNAL)
    w.r().set(LEASE, OTHER, px=120000)
    rc, err = finish(w, p, args, timeout=60)
    assert rc == 9, err
    assert "other-host:4242" in err, err
    assert "--recover" not in err, err
    assert w.r().get(LEASE) == OTHER
    assert not w.consumes(worker, DEP)
    w.r().delete(LEASE)         # the other run is done, and left no journal either
    given_back(w, w.run(*undrain_argv(w, err)), worker, ids)


def test_status_lists_a_drained_worker_without_a_journal(request):
    """A worker left drained with no journal (Redis lost it): --status DEP
    names it and the command that gives its queues back (from the pod
    template's --queues), which works."""
    w = fresh(request)
    worker = w.worker_of(DEP)
    r = w.run("--drain-only", DEP)
    assert r.returncode == 0, r.stderr
    assert not w.consumes(worker, DEP)
    w.r().delete(JOURNAL)
    st = w.run("--status", DEP)
    assert st.returncode == 0, st.stdout + st.stderr
    out = st.stdout + st.stderr
    assert "%s consumes none of its queues (%s)" % (worker, DEP) in out, out
    u = w.run(*undrain_argv(w, out))
    assert u.returncode == 0, u.stderr
    assert wait_consumes(w, worker)
    st = w.run("--status", DEP)
    assert "consumes none" not in st.stdout + st.stderr, st.stdout + st.stderr


def test_recover_takes_the_lease_before_reading_the_journal(request):
    """Another run holds the lease: --recover is refused naming it, whatever
    the journal says (here a --drain-only journal, and none at all), and
    changes nothing."""
    w = fresh(request)
    w.r().set(LEASE, OTHER, px=120000)
    r = w.run("--recover", DEP)
    assert r.returncode == 3, r.stderr
    assert "another run (holder other-host:4242" in r.stderr, r.stderr
    w.r().hset(JOURNAL, mapping={"holder": "other-host:4242", "state": "drained",
                                 "started": "1795600000.000",
                                 "workers": '[{"name":"x@y","queues":["%s"]}]' % DEP})
    r = w.run("--recover", DEP)
    assert r.returncode == 3, r.stderr
    assert "another run (holder other-host:4242" in r.stderr, r.stderr
    assert w.r().get(LEASE) == OTHER
    assert w.r().hget(JOURNAL, "state") == "drained"
    assert patches(w) == []


def test_drain_only_journal_keeps_its_seven_day_expiry(request):
    """The --drain-only run marks its journal drained at the end: that write
    gives it its 7 days again (else --status forgets the drained worker
    7 days after the drain began, not after it ended)."""
    w = fresh(request)
    ids = w.enqueue(DEP, 1, 5.0, tag="busy")
    w.wait_started(ids, 1)
    p, args = spawn(w, "--drain-only", DEP)
    wait_journal_state(w, "drain")
    w.r().expire(JOURNAL, 1000)     # as if the drain had begun long ago
    rc, err = finish(w, p, args, timeout=90)
    assert rc == 0, err
    assert w.r().hget(JOURNAL, "state") == "drained"
    assert w.r().ttl(JOURNAL) > 7 * 86400 - 60, w.r().ttl(JOURNAL)


def test_redis_paused_longer_than_the_lease_the_run_takes_it_again(request):
    """Redis stops answering (SIGSTOP) mid-drain for longer than --lease-ttl,
    less than twice it: the lease runs out unrenewed, the run acts no more,
    takes it again once Redis answers, and finishes with one restart."""
    w, old, ids, p, args = draining(request, 12.0, "--lease-ttl", "5s", "--poll-interval", "1s")
    pid = w.procs["redis"].pid
    os.kill(pid, signal.SIGSTOP)
    try:
        p.wait(timeout=5.5)     # frozen for 5.5 s, unless the agent gives up first
    except subprocess.TimeoutExpired:
        pass
    finally:
        os.kill(pid, signal.SIGCONT)
    rc, err = finish(w, p, args, timeout=150)
    assert rc == 0, err
    assert "took the lease again" in err, err
    assert len(applied_patches(w)) == 1
    assert_new_worker_consumes(w, old)
    w.wait_done(ids, timeout=60)
    w.assert_exactly_once(ids)


def test_redis_gone_longer_than_the_lease_stops_with_the_undrain_command(request):
    """Redis is down (stopped) mid-drain and stays down past the lease and the
    time to regain it: the run stops (exit 9) naming the --undrain command;
    once Redis is back (empty), that command gives the worker its queue."""
    w, worker, ids, p, args = draining(request, 30.0, "--lease-ttl", "3s",
                                       "--request-timeout", "2s")
    w._stop("redis")
    try:
        rc, err = finish(w, p, args, timeout=90)
    finally:
        w.start_redis()
    assert rc == 9, err
    undrain = undrain_argv(w, err)
    assert "not taken again within --lease-ttl" in err, err
    assert "--recover" not in err, err
    assert patches(w) == []
    wait_for(w.all_workers_online, 60, "the worker back on the restarted Redis")
    u = w.run(*undrain)
    assert u.returncode == 0, u.stderr
    assert wait_consumes(w, worker, timeout=30)


def test_sigterm_while_the_lease_is_regained_restores_once_it_is_back(request):
    """SIGTERM lands while Redis is frozen and the lease has run out: the
    run acts no more until it holds the lease again, then restores the
    consumers (exit 8); nothing restarted, the worker consumes, the task
    done once."""
    w, worker, ids, p, args = draining(request, 8.0, "--lease-ttl", "3s")
    pid = w.procs["redis"].pid
    os.kill(pid, signal.SIGSTOP)
    try:
        try:
            p.wait(timeout=3.5)     # past the lease, not past the time to regain it
        except subprocess.TimeoutExpired:
            p.send_signal(signal.SIGTERM)
    finally:
        os.kill(pid, signal.SIGCONT)
    rc, err = finish(w, p, args, timeout=60)
    assert rc == 8, err
    assert "took the lease again" in err, err
    assert patches(w) == []
    assert wait_consumes(w, worker)
    w.wait_done(ids, timeout=60)
    w.assert_exactly_once(ids)
    assert not w.r().exists(LEASE) and not w.r().exists(JOURNAL)


def add_consumer(w, worker, queue):
    """Remote control's add_consumer, as kombu re-declaring a consumer on
    reconnection would: the worker's replies ([] while it is not back)."""
    from celery import Celery
    app = Celery("etl", broker=w.broker_url)
    try:
        return app.control.add_consumer(queue, destination=[worker], reply=True, timeout=2)
    except Exception:       # Redis still coming back
        return []
    finally:
        app.close()


def test_a_worker_that_consumes_again_after_the_broker_restart_is_drained_again(request):
    """The other answer Celery could give: after Redis restarted empty, the
    worker consumes its queue again (here re-added by hand once it is back,
    as a re-declaring consumer would) and takes a task. The run must see it
    consuming, cancel again and wait for that task too: one restart, every
    task done exactly once."""
    w, old, ids, p, args = draining(request, 8.0, "--lease-ttl", "6s", "--poll-interval", "1s")
    w.restart_redis(down=0.3)
    wait_for(lambda: add_consumer(w, old, DEP), 30, "the worker back, consuming again",
             interval=0.5)
    later = w.enqueue(DEP, 1, 3.0, tag="after-restart")
    rc, err = finish(w, p, args, timeout=150)
    assert rc == 0, err
    assert "took the lease again" in err, err
    assert len(applied_patches(w)) == 1
    assert_new_worker_consumes(w, old)
    w.wait_done(ids + later, timeout=60)
    w.assert_exactly_once(ids + later)


def active_queues(w, worker):
    """The worker's own answer: its queues, or None while it does not answer."""
    from celery import Celery
    app = Celery("etl", broker=w.broker_url)
    try:
        r = app.control.inspect(destination=[worker], timeout=2).active_queues() or {}
        return [q["name"] for q in r[worker]] if worker in r else None
    except Exception:       # Redis still coming back
        return None
    finally:
        app.close()


def test_celery_keeps_a_cancelled_consumer_cancelled_across_an_empty_redis(request):
    """The fact the agent was measured against (no agent here): Celery
    5.2.6's worker, its consumer cancelled, reconnects to a Redis restarted
    empty and does not consume that queue again; a task sent meanwhile
    waits on the queue. Should a Celery upgrade change this, the agent
    still confirms every worker anew after taking its lease again (see
    test_a_worker_that_consumes_again_after_the_broker_restart_is_drained_again)."""
    w = fresh(request)
    worker = w.worker_of(DEP)
    from celery import Celery
    app = Celery("etl", broker=w.broker_url)
    try:
        assert app.control.cancel_consumer(DEP, destination=[worker], reply=True, timeout=3)
    finally:
        app.close()
    assert active_queues(w, worker) == []
    w.restart_redis(down=0.3)
    wait_for(lambda: active_queues(w, worker) is not None, 30, "the worker back on Redis",
             interval=0.5)
    ids = w.enqueue(DEP, 1, 0.5, tag="probe")
    wait_for(lambda: w.r().llen(DEP) == 1, 10, "the probe task on its queue")
    # it answers, and still consumes nothing, for several answers in a row
    for _ in range(3):
        assert active_queues(w, worker) == []
    assert ids[0] not in w.ledger()[0] and w.r().llen(DEP) == 1


def test_failover_to_a_replica_without_the_journal_rewrites_it(request):
    """A failover to a replica that had the lease (this run's own token) but
    not yet the journal: every renewal still succeeds, so nothing tells the
    run its journal is gone. It must see it (the journal is not the one it
    wrote) and write it again while it drains: SIGKILLed then, --recover
    gives the worker its queue back; the running task completes once."""
    w, worker, ids, p, args = draining(request, 12.0, "--lease-ttl", "6s", "--poll-interval", "1s")
    r = w.r()
    lease, pttl = r.dump(LEASE), r.pttl(LEASE)
    assert lease is not None and pttl > 0
    w.restart_redis(down=0.3)
    w.r().restore(LEASE, pttl, lease)       # the replica's copy: the lease, no journal
    # within a renewal or two (every 2 s), the journal is back, this run's
    wait_for(lambda: w.r().hget(JOURNAL, "holder") == "%s:%d" % (socket.gethostname(), p.pid)
             or p.poll() is not None, 6, "the journal written again while the run drains",
             interval=0.1)
    assert p.poll() is None, "the run ended"
    p.send_signal(signal.SIGKILL)
    finish(w, p, args, timeout=10)
    assert not w.consumes(worker, DEP), "the killed run left the worker drained"
    wait_for(lambda: not w.r().exists(LEASE), 10, "the dead run's lease gone")
    given_back(w, w.run("--recover", DEP), worker, ids)


def test_status_while_redis_is_down_says_so_within_the_request_timeout(request):
    """--status DEP while the broker's Redis is down: it cannot read the
    lease and journal. It must say it cannot tell, not "no run in flight"
    (a run may be draining), and fail (exit 3) after waiting for Redis once
    (--request-timeout), not once per thing it reads."""
    import time
    w = fresh(request)
    w._stop("redis")
    try:
        t0 = time.monotonic()
        st = w.run("--status", "--request-timeout", "3s", DEP, timeout=60)
        took = time.monotonic() - t0
    finally:
        w.start_redis()
    out = st.stdout + st.stderr
    assert st.returncode == 3, out
    assert "no run in flight" not in out, out
    assert "%s: unknown whether a run is in flight: cannot read the broker's Redis" % DEP in out, out
    assert took < 3 + 2.5, (took, out)


@pytest.mark.long(60)
def test_a_second_run_while_the_first_regains_does_not_act(request):
    """Redis comes back empty mid-drain and, before the draining run finds
    its lease gone (renewed every 10 s), a second run starts for the same
    Deployment (a timer, an operator). It finds the worker consuming
    nothing and no lease: it must not restart while the first run's task
    runs, and must fail (nothing to drain is not a success). The first run
    then takes its lease again and finishes with one restart; or, if the
    second held the lease at that moment, stops (exit 9) with an --undrain
    command that works. Either way the task runs once and a worker
    consumes at the end."""
    w, old, ids, p, args = draining(request, 15.0, "--lease-ttl", "30s", "--poll-interval", "1s")
    w.restart_redis(down=0.3)
    wait_for(w.all_workers_online, 30, "the worker back on the restarted Redis")
    b = w.run(DEP)
    assert b.returncode != 0, b.stderr
    assert patches(w) == [], b.stderr
    assert p.poll() is None, "the first run ended before the second was done"
    rc, err = finish(w, p, args, timeout=150)
    if rc == 9:
        assert patches(w) == [], err
        w.r().delete(LEASE)
        u = w.run(*undrain_argv(w, err))
        assert u.returncode == 0, u.stderr
        assert wait_consumes(w, old)
    else:
        assert rc == 0, err
        assert len(applied_patches(w)) == 1, err
        assert_new_worker_consumes(w, old)
    w.wait_done(ids, timeout=60)
    assert w.ledger()[1].get(ids[0]) == "1"


@pytest.mark.long(60)
def test_redis_restarted_empty_mid_rollout_then_sigkill_then_recover(request):
    """Redis restarts empty after the restart was sent (ROLLOUT): the run
    writes the journal again, restarted_at included; SIGKILLed right after,
    --recover finds that journal, waits for the rollout and ends with a
    consuming new worker; the task done once."""
    w, old, ids, p, args = draining(request, 3.0, "--lease-ttl", "6s", "--poll-interval", "1s")
    wait_journal_state(w, ("rollout", "verify"), timeout=60)
    # the drain waited for the task: done once (the ledger goes with Redis)
    assert w.ledger()[1].get(ids[0]) == "1"
    w.restart_redis(down=0.3)
    wait_for(lambda: w.r().hget(JOURNAL, "restarted_at") or p.poll() is not None, 10,
             "the journal rewritten with the restart", interval=0.05)
    assert p.poll() is None, "the run ended before it was killed"
    p.send_signal(signal.SIGKILL)
    finish(w, p, args, timeout=10)
    wait_for(lambda: not w.r().exists(LEASE), 10, "the dead run's lease gone")
    rec = w.run("--recover", DEP)
    assert rec.returncode == 0, rec.stderr
    assert len(applied_patches(w)) == 1, rec.stderr
    assert_new_worker_consumes(w, old)
    assert w.ledger()[1].get(ids[0]) is None, "the task ran again"


@pytest.mark.long(60)
def test_the_printed_undrain_command_works_verbatim_in_a_shell(request):
    """A StatefulSet of two workers whose queues have characters a shell
    reads (`$(...)`): another run takes the lease mid-drain, the
    run stops (exit 9) and prints the --undrain command. That line, given
    as is to /bin/sh (drain-and-rollout on the PATH), gives each worker
    every one of its queues back."""
    from conftest import make_world
    from world import NS, statefulset
    sts, queues = "web-worker", ["web-worker", "night$(touch pwned)"]
    w = make_world(request, [deployment_of("ecal-bulk")],
                   statefulsets=[statefulset(sts, 2, queues=queues)])
    workers = sorted(p["hostname"] for p in w.pods(sts) if p.get("ready"))
    assert len(workers) == 2
    ids = w.enqueue(sts, 1, 8.0, tag="busy")
    w.wait_started(ids, 1)
    target = "statefulset/" + sts
    lease = "drain-and-rollout:lease:%s:%s" % (NS, target)
    journal = "drain-and-rollout:journal:%s:%s" % (NS, target)
    p, args = spawn(w, "--drain-only", "--lease-ttl", "3s", target)
    wait_for(lambda: w.r().hget(journal, "state") == "drain" or p.poll() is not None, 30,
             "the drain", interval=0.05)
    w.r().delete(journal)
    w.r().set(lease, OTHER, px=120000)
    rc, err = finish(w, p, args, timeout=60)
    assert rc == 9, err
    assert all(not any(w.consumes(x, q) for q in queues) for x in workers), err
    w.r().delete(lease)
    cmd = printed_undrain(err)
    u = in_shell(w, cmd)
    assert u.returncode == 0, cmd + "\n" + u.stderr
    assert not os.path.exists(os.path.join(w.tmp, "pwned")), cmd
    for x in workers:
        for q in queues:
            assert wait_for(lambda: w.consumes(x, q), 20, "%s consuming %s" % (x, q)), cmd
    w.wait_done(ids, timeout=60)
    assert w.ledger()[1].get(ids[0]) == "1"


def test_the_printed_undrain_command_names_the_context_it_ran_in(request):
    """An operator's kubeconfig has two clusters; its current-context is the
    other one, and the run was given --context. The run loses its lease
    mid-drain (another run took it): the --undrain command it prints must
    name that context, or, run as printed, it works on the other cluster
    (here: one that does not answer) and the worker stays drained."""
    import yaml
    w = fresh(request)
    worker = w.worker_of(DEP)
    with open(w.kubeconfig) as f:
        kc = yaml.safe_load(f)
    ours = kc["current-context"]
    kc["clusters"].append({"name": "elsewhere", "cluster": {"server": "https://127.0.0.1:9"}})
    kc["contexts"].append({"name": "elsewhere", "context": {
        "cluster": "elsewhere", "namespace": kc["contexts"][0]["context"]["namespace"],
        "user": kc["users"][0]["name"]}})
    kc["current-context"] = "elsewhere"
    two = os.path.join(w.tmp, "kubeconfig-two")
    with open(two, "w") as f:
        yaml.safe_dump(kc, f)
    env = w.env(KUBECONFIG=two)
    ids = w.enqueue(DEP, 1, 6.0, tag="busy")
    w.wait_started(ids, 1)
    args = ("--context", ours, "--lease-ttl", "3s", DEP)
    p = w.spawn(*args, env=env)
    wait_journal_state(w, "drain")
    w.r().delete(JOURNAL)
    w.r().set(LEASE, OTHER, px=120000)
    rc, err = finish(w, p, args, timeout=60)
    assert rc == 9, err
    assert not w.consumes(worker, DEP)
    w.r().delete(LEASE)
    cmd = printed_undrain(err)
    u = in_shell(w, cmd, env=env)
    assert u.returncode == 0, cmd + "\n" + u.stderr
    assert wait_consumes(w, worker)
    w.wait_done(ids, timeout=60)
    assert w.ledger()[1].get(ids[0]) == "1"


@pytest.mark.long(60)
def test_redis_restarted_empty_twice_in_a_row(request):
    """Redis restarts empty, and again right after the run took its lease
    back: the run takes it again each time (the second loss counted anew,
    not from the first) and finishes with one restart; the task done once."""
    w, old, ids, p, args = draining(request, 14.0, "--lease-ttl", "4s", "--poll-interval", "1s")
    me = "%s:%d" % (socket.gethostname(), p.pid)
    for _ in range(2):
        w.restart_redis(down=0.3)
        wait_for(lambda: w.r().hget(JOURNAL, "holder") == me or p.poll() is not None, 20,
                 "the journal rewritten", interval=0.1)
        assert p.poll() is None, "the run ended"
    rc, err = finish(w, p, args, timeout=150)
    assert rc == 0, err
    assert err.count("took the lease again and rewrote the journal") >= 2, err
    assert len(applied_patches(w)) == 1
    assert_new_worker_consumes(w, old)
    w.wait_done(ids, timeout=60)
    assert w.ledger()[1].get(ids[0]) == "1"


def test_undrain_asks_an_online_worker_again_whose_add_consumer_failed(request):
    """Right after a Redis restart, Flower's first broadcast can go out on
    its pooled broker connection that is gone (HTTP 500: kombu retries the
    publish, not the wait for the reply) and the next reach the worker
    before its own connection is back (no answer: 403 "Unknown reason"),
    while Flower lists it online. --undrain asks it again after a short
    wait, and it consumes: exit 0."""
    w = fresh(request)
    worker = w.worker_of(DEP)
    r = w.run("--drain-only", DEP)
    assert r.returncode == 0, r.stderr
    assert not w.consumes(worker, DEP)
    path = "add-consumer/" + urllib.parse.quote(worker, safe="")    # as sent
    w.flower_test("POST", "/_test/fail", {"status": 500, "path_contains": path})
    w.flower_test("POST", "/_test/fail", {
        "status": 403, "path_contains": path,
        "body": "Failed to add '%s' consumer to '%s' worker: Unknown reason" % (DEP, worker)})
    u = w.run("--undrain", DEP)
    assert u.returncode == 0, u.stderr
    adds = [x["status"] for x in w.flower_test("GET", "/_test/requests") if path in x["path"]]
    assert adds == [500, 403, 200], adds
    assert "asking it again" in u.stderr, u.stderr
    assert wait_consumes(w, worker)
    assert patches(w) == []
    assert not w.r().exists(JOURNAL)
