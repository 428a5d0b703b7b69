"""The broker reached through Redis Sentinel, as Celery's HA set-ups do
(broker_url "sentinel://h1:26379;sentinel://h2:26379", broker_transport_options
master_name): --redis-url takes the same list and --sentinel-master the
name. The world runs a real master, its replica and three real
redis-sentinel processes; the Celery workers and the Flower double use the
sentinel URL too.

A failover mid-drain (SENTINEL FAILOVER: the replica, in sync, becomes the
master) drops every connection: the agent asks the sentinels again,
connects to the new master (ROLE says so), finds its lease and journal
there (replicated) and completes: one restart, the running task once,
nothing lost. A master gone with no replica to fail over to, past
--lease-ttl, stops the run with the --undrain command (exit 9), as for a
Redis that restarted empty (test_redis_empty)."""
import json
import signal
import socket
import time

import pytest
import redis

from conftest import applied_patches, make_world, patches
from test_redis_empty import undrain_argv
from test_safety import (DEP, JOURNAL, LEASE, assert_new_worker_consumes, finish, settle, spawn,
                         wait_consumes, wait_journal_state)
from world import StaleSentinel, deployment, wait_for


def lost(w, ids):
    """The tasks neither done once nor held in the broker's unacked hash."""
    done = w.ledger()[1]
    held = {json.loads(v)[0]["headers"]["id"] for v in w.r().hvals("unacked")}
    return [i for i in ids if done.get(i) != "1" and i not in held]


def master_flags(w):
    """The flags of the master as the first sentinel sees it."""
    m = redis.Redis(port=w.sentinel_ports[0], decode_responses=True).execute_command(
        "SENTINEL", "MASTER", w.master_name)
    m = dict(zip(m[::2], m[1::2])) if isinstance(m, list) else m
    return m["flags"]


def sentinel_world(request, sentinels=3, **kw):
    return make_world(request, [deployment(DEP, grace=2),
                                deployment("common-redbeat", worker=False)],
                      sentinels=sentinels, **kw)


def test_drain_and_rollout_through_sentinel(request):
    """Through Sentinel, with the first sentinel down (the next one is
    asked), over the broker's remote control and Celery's events (which
    kombu < 5.4 through Sentinel sends on "/{db}." channels): every task
    runs exactly once, one restart, the new worker consumes, and the run's
    keys are on the master."""
    w = sentinel_world(request)
    old = w.worker_of(DEP)
    ids = w.enqueue(DEP, 4, 2.0)
    w.wait_started(ids, 1)
    w._stop("sentinel-0")
    p = w.run(DEP, "--control", "broker", "--poll-interval", "1s")
    assert p.returncode == 0, p.stderr
    assert "cancelled the consumers of 1 worker(s) via Celery remote control on the broker" in p.stderr, p.stderr
    assert "no Celery events" not in p.stderr, p.stderr
    assert "Redis sentinel:%s db 0" % w.master_name in p.stderr.splitlines()[0], p.stderr
    port = w.sentinel_ports[1]
    assert "sentinel 127.0.0.1:%d names the master 127.0.0.1:%d" % (port, w.redis_port) \
        in p.stderr, p.stderr
    assert len(applied_patches(w)) == 1
    settle(w, ids)
    assert_new_worker_consumes(w, old)
    m = w.r()
    assert [e for _, e in m.xrange("drain-and-rollout:history")
            if e.get("deployment") == DEP and e.get("outcome") == "ok"], p.stderr
    assert not m.exists(LEASE) and not m.exists(JOURNAL)


@pytest.mark.parametrize("kill", [False, True], ids=["failover", "master-killed"])
def test_failover_mid_drain_the_run_follows_the_new_master(request, kill):
    """SENTINEL FAILOVER, or the master killed (SIGKILL: the sentinels fail
    over once it is down for 1 s), while the worker drains (a task running):
    the run reconnects to the new master, keeps its lease (replicated), and
    completes: one restart, the running task once, the new worker
    consumes, the history on the new master and nothing left there.

    Measured (Celery 5.2.6): a worker whose broker connection drops clears
    its reserved (prefetched) requests: they cannot be acknowledged on the
    new connection. Their messages stay in "unacked" and kombu restores
    them after the visibility timeout (6 h here), rollout or not: Celery's
    business, as in test_safety's Redis restart. Nothing is lost: each
    queued task ran once or is still held in "unacked"."""
    w = sentinel_world(request)
    old = w.worker_of(DEP)
    ids = w.enqueue(DEP, 1, 14.0, tag="busy")
    w.wait_started(ids, 1)
    more = w.enqueue(DEP, 2, 1.0, tag="queued")
    p, args = spawn(w, DEP, "--poll-interval", "1s", "--lease-ttl", "30s")
    wait_journal_state(w, "drain")
    t0 = time.time()
    new = w.failover(kill=kill)
    assert new == w.replica_port
    # the new master holds the run's journal while it still drains
    assert w.r().hget(JOURNAL, "holder") == "%s:%d" % (socket.gethostname(), p.pid)
    rc, err = finish(w, p, args, timeout=180)
    assert rc == 0, err
    assert "the master moved from 127.0.0.1:%d to 127.0.0.1:%d" % (w.redis_port, new) in err, err
    assert "lost the lease" not in err, err
    assert time.time() - t0 < 120
    assert len(applied_patches(w)) == 1
    w.wait_done(ids, timeout=60)
    wait_for(lambda: not lost(w, more), 60, "the queued tasks run or held in unacked")
    w.assert_exactly_once(ids)
    started = w.ledger()[0]
    assert all(started.get(i, "1") == "1" for i in more), started
    assert_new_worker_consumes(w, old)
    m = w.r()
    assert m.connection_pool.connection_kwargs["port"] == new
    assert [e for _, e in m.xrange("drain-and-rollout:history")
            if e.get("deployment") == DEP and e.get("outcome") == "ok"], err
    assert not m.exists(LEASE) and not m.exists(JOURNAL)


def test_bad_sentinel_settings_fail_before_changing_anything(request):
    """An unknown master name (exit 3, naming it and what each sentinel
    said), no master name (exit 2, saying the option), every sentinel
    unreachable (exit 3 within seconds, naming each), TLS (exit 2, why),
    a password on the command line (exit 2), --sentinel-master without a
    sentinel URL (exit 2): the worker keeps consuming, no PATCH, no
    lease."""
    w = sentinel_world(request, sentinels=1)
    worker = w.worker_of(DEP)
    sp = w.sentinel_ports[0]

    p = w.run(DEP, env=w.env(DRAIN_SENTINEL_MASTER="no-such-master"))
    assert p.returncode == 3, p.stderr
    assert 'master "no-such-master" (127.0.0.1:%d: no master by that name)' % sp in p.stderr
    assert "check --sentinel-master" in p.stderr
    assert "nothing was changed" in p.stderr

    e = w.env()
    del e["DRAIN_SENTINEL_MASTER"]
    p = w.run(DEP, env=e)
    assert p.returncode == 2, p.stderr
    assert "give --sentinel-master NAME" in p.stderr

    dead = "sentinel://127.0.0.1:1;sentinel://127.0.0.1:2"
    t = time.time()
    p = w.run(DEP, env=w.env(DRAIN_REDIS_URL=dead))
    assert p.returncode == 3, p.stderr
    assert time.time() - t < 15, p.stderr
    assert "127.0.0.1:1: Connection refused; 127.0.0.1:2: Connection refused" in p.stderr

    p = w.run(DEP, env=w.env(DRAIN_REDIS_URL=w.broker_url + ";sentinels://127.0.0.1:3"))
    assert p.returncode == 2, p.stderr
    assert "hiredis 0.14 has no TLS" in p.stderr
    p = w.run(DEP, env=w.env(DRAIN_REDIS_URL="rediss://127.0.0.1:%d/0" % w.redis_port))
    assert p.returncode == 2 and "hiredis 0.14 has no TLS" in p.stderr, p.stderr

    p = w.run(DEP, "--redis-url", "sentinel://:pw@127.0.0.1:%d" % sp)
    assert p.returncode == 2 and "carries a password" in p.stderr, p.stderr

    p = w.run(DEP, env=w.env(DRAIN_REDIS_URL="redis://127.0.0.1:%d/0" % w.redis_port))
    assert p.returncode == 2 and "--sentinel-master is for a Redis reached through Sentinel" \
        in p.stderr, p.stderr

    # a password in the URL goes to the sentinel and the master; neither
    # has one here: both take the commands anyway, the master says so
    p = w.run("--status", env=w.env(DRAIN_REDIS_URL="sentinel://:pw@127.0.0.1:%d/0" % sp))
    assert p.returncode == 0, p.stderr
    assert "a password was given, but this Redis has none" in p.stderr, p.stderr

    assert patches(w) == []
    assert w.consumes(worker, DEP)
    assert not w.r().exists(LEASE) and not w.r().exists(JOURNAL)


def test_no_master_for_longer_than_the_lease_stops_with_the_undrain_command(request):
    """The master dies mid-drain and the sentinels have no replica to fail
    over to: past --lease-ttl the run stops (exit 9), sends no restart, and
    names the --undrain command, which gives the worker its queue back once
    the master is back (through the sentinels, as the run was)."""
    w = sentinel_world(request, sentinels=1)
    worker = w.worker_of(DEP)
    ids = w.enqueue(DEP, 1, 30.0, tag="busy")
    w.wait_started(ids, 1)
    w._stop("redis-replica")
    p, args = spawn(w, DEP, "--lease-ttl", "3s", "--request-timeout", "2s")
    wait_journal_state(w, "drain")
    w._stop("redis")
    try:
        rc, err = finish(w, p, args, timeout=90)
    finally:
        w._start_redis_at("redis", w.redis_port)
    assert rc == 9, err
    assert "not taken again within --lease-ttl" in err, err
    assert "--recover" not in err, err
    assert patches(w) == []
    undrain = undrain_argv(w, err)
    wait_for(w.all_workers_online, 60, "the worker back on the restarted master")
    u = w.run(*undrain)
    assert u.returncode == 0, u.stderr
    assert wait_consumes(w, worker, timeout=30)


@pytest.mark.long(35)
def test_a_record_the_replica_missed_is_not_acted_on(request):
    """Replication is asynchronous: the master acknowledges a write before
    its replica has it. The replica's link stalls (its master's stream no
    longer arrives), a run takes the lease and writes its journal, which
    only the master holds; then the master dies and Sentinel promotes the
    replica. A run that cancelled the consumers on the strength of that
    journal leaves on the new master neither lease nor journal: --recover
    has nothing to work from, and a second run is admitted while the first
    one drains. So a write-ahead record is acted on only once a replica
    acknowledged it (WAIT): here none does, and the run stops before the
    cancel, nothing changed; after the failover a run completes."""
    w = sentinel_world(request, replication_link=True)
    w.link.freeze()
    worker = w.worker_of(DEP)
    ids = w.enqueue(DEP, 1, 12.0, tag="busy")
    w.wait_started(ids, 1)
    p, args = spawn(w, DEP, "--poll-interval", "1s", "--request-timeout", "4s")
    # the run stops, or it cancelled the worker's consumers
    wait_for(lambda: p.poll() is not None or not w.consumes(worker, DEP), 60,
             "the run to stop or to cancel the consumers")
    w.failover(kill=True)
    m = w.r()
    if p.poll() is None:
        # the run goes on acting: the new master must hold what it acts on
        lease, journal = m.get(LEASE), m.hgetall(JOURNAL)
        assert lease and worker in journal.get("workers", ""), \
            "the run drains %s; the new master holds the lease %r and the journal %r" % (
                worker, lease, journal)
    rc, err = finish(w, p, args, timeout=120)
    assert rc != 0, err
    assert "no replica of the broker's master acknowledged the journal" in err, err
    assert "stopped before the cancel" in err, err
    assert patches(w) == []
    assert wait_consumes(w, worker, timeout=60)     # nothing changed
    # after the failover (the new master has no replica), once Flower hears
    # the worker's heartbeats again: a run completes
    wait_for(lambda: worker in w.workers_online(), 60, "the worker online in Flower")
    p = w.run(DEP, "--poll-interval", "1s")
    assert p.returncode == 0, p.stderr
    assert len(applied_patches(w)) == 1
    w.wait_done(ids, timeout=60)
    w.assert_exactly_once(ids)
    assert_new_worker_consumes(w, worker)


def test_a_sentinel_that_missed_the_failover_is_not_asked_first_forever(request):
    """The master fails over (SENTINEL FAILOVER: the old master becomes a
    replica), but one sentinel, cut off from the others, still names the
    old master, and it is the first of the list. It answers first, ROLE
    says "slave": the next connect must ask the other sentinels, not the
    one that answered last again (that loops on the replica until the
    run gives up on Redis). The run completes through the others: one
    restart, the task once, the new worker consumes."""
    w = sentinel_world(request, sentinels=1)
    old_master = w.redis_port
    new = w.failover()
    # the sentinels made the old master a replica; the workers are back
    wait_for(lambda: redis.Redis(port=old_master).execute_command("ROLE")[0] == b"slave", 60,
             "the old master to become a replica")
    wait_for(w.all_workers_online, 60, "the workers back on the new master")
    assert wait_consumes(w, w.worker_of(DEP), timeout=60)
    stale = StaleSentinel(w.master_name, "127.0.0.1", old_master)
    request.addfinalizer(stale.close)
    url = "sentinel://127.0.0.1:%d/0;%s" % (stale.port, w.broker_url)
    worker = w.worker_of(DEP)
    ids = w.enqueue(DEP, 2, 1.0)
    # (the broker's remote control: the Flower double's own broker
    # connection may still be on the old master)
    p = w.run(DEP, "--control", "broker", "--poll-interval", "1s", "--request-timeout", "4s",
              env=w.env(DRAIN_REDIS_URL=url))
    assert p.returncode == 0, p.stderr
    assert stale.asked >= 1
    assert "the master moved from 127.0.0.1:%d to 127.0.0.1:%d" % (old_master, new) \
        in p.stderr, p.stderr
    assert len(applied_patches(w)) == 1
    w.wait_done(ids, timeout=60)
    w.assert_exactly_once(ids)
    assert_new_worker_consumes(w, worker)


def test_sigterm_during_the_failover_gives_the_worker_its_queue_back(request):
    """SIGTERM while the master is down and the sentinels fail over: the
    run restores the consumers it cancelled. Flower's own broker
    connection is on the dead master (its add-consumer fails, HTTP 500),
    the run falls back to remote control on the broker, and the worker,
    reconnecting to the new master, does not answer the broadcast ping
    within a second. Not answering a ping is not being gone: the worker
    is asked again until it takes its queue back (or the run fails,
    naming the --undrain command); it is never left without consumers."""
    w = sentinel_world(request)
    worker = w.worker_of(DEP)
    ids = w.enqueue(DEP, 1, 20.0, tag="busy")
    w.wait_started(ids, 1)
    p, args = spawn(w, DEP, "--poll-interval", "1s")
    wait_journal_state(w, "drain")
    wait_for(lambda: not w.consumes(worker, DEP), 30, "the worker drained")
    w._stop("redis", signal.SIGKILL)
    # the sentinels see it down: the failover is under way
    wait_for(lambda: "s_down" in master_flags(w), 10, "the sentinels to see the master down")
    p.send_signal(signal.SIGTERM)
    rc, err = finish(w, p, args, timeout=120)
    assert rc in (8, 9), err
    assert "is gone; nothing to restore" not in err, err
    assert patches(w) == []
    if rc == 9:     # it says how to give the queue back: that works
        u = w.run("--recover", DEP) if "run drain-and-rollout --recover" in err \
            else w.run(*undrain_argv(w, err))
        assert u.returncode == 0, u.stderr
    assert wait_consumes(w, worker, timeout=60), err
    w.wait_done(ids, timeout=60)
    w.assert_exactly_once(ids)
