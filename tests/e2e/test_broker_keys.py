"""End to end: Celery transport options that rename the broker's keys
(issue 11, item 4): kombu's global_keyprefix and custom priority_steps, with
real Celery workers configured through the world's ETL_* variables (etl.py).
Settings go to the agent through DRAIN_* variables and flags."""
import os
import re

import pytest

from conftest import make_world, patches
from world import NS, deployment, wait_for

PREFIX = "dials:"
TEN = ",".join(str(i) for i in range(10))
SEP = "\x06\x16"


def prefixed_world(request, **env):
    return make_world(request, [deployment("ecal-bulk")],
                      celery_env=dict({"ETL_KEY_PREFIX": PREFIX}, **env))


def backlog_of(plan):
    """The backlog and unacked count of a --dry-run's plan (its stdout)."""
    m = re.search(r"backlog ecal-bulk=(-?\d+), unacked (-?\d+)", plan)
    assert m, "no backlog in: " + plan
    return int(m.group(1)), int(m.group(2))


def lists_of(w, queue, steps, prefix=""):
    return [prefix + (queue if s == 0 else "%s%s%d" % (queue, SEP, s)) for s in steps]


def busy_with_backlog(w, priorities):
    """One long task running, three prefetched, the rest on the queue's
    lists: stable for several seconds. Returns the task ids."""
    ids = w.enqueue("ecal-bulk", 1, 9.0, tag="long")
    w.wait_started(ids, 1)
    ids += w.enqueue("ecal-bulk", len(priorities), 0.2, tag="p", priorities=priorities)
    wait_for(lambda: w.r().hlen(w.key_prefix + "unacked") >= 4, 15,
             "the long task running and three prefetched")
    return ids


@pytest.mark.long
@pytest.mark.parametrize("control", ["flower", "broker"])
def test_prefixed_keys_drain_with_events_zero_loss(request, control):
    """global_keyprefix: the agent follows the prefixed event channel, counts
    the prefixed queue and unacked, controls the workers (through Flower, or
    over the broker's prefixed pidbox), and nothing is lost."""
    w = prefixed_world(request)
    r0 = w.r()
    assert not r0.exists("ecal-bulk") and not r0.exists("unacked")
    old = w.worker_of("ecal-bulk")
    ids = w.enqueue("ecal-bulk", 8, 3.0)
    w.wait_started(ids, 1)
    queued, unacked = wait_for(lambda: (r0.llen(PREFIX + "ecal-bulk"), r0.hlen(PREFIX + "unacked"))
                               if r0.llen(PREFIX + "ecal-bulk") > 0 and r0.hlen(PREFIX + "unacked") > 0
                               else None, 10, "tasks queued and held under the prefix")
    assert r0.llen("ecal-bulk") == 0 and r0.hlen("unacked") == 0
    env = w.env(DRAIN_BROKER_KEY_PREFIX=PREFIX)
    p = w.run("ecal-bulk", "--dry-run", "--control", control, env=env)
    assert p.returncode == 0, p.stderr
    backlog, unacked_seen = backlog_of(p.stdout)
    # a task finishes every 3 s: the counts may move by one between reads
    assert abs(backlog - queued) <= 1 and abs(unacked_seen - unacked) <= 1, \
        (backlog, queued, unacked_seen, unacked, p.stderr)
    p = w.run("ecal-bulk", "--control", control, env=env)
    assert p.returncode == 0, p.stderr
    assert "polling" not in p.stderr, "Celery events were not followed:\n" + p.stderr
    if control == "broker":
        assert "Celery remote control on the broker" in p.stderr, p.stderr
    w.wait_done(ids, timeout=60)
    w.assert_exactly_once(ids)
    assert w.unacked() == 0 and r0.hlen(PREFIX + "unacked") == 0
    assert r0.llen(PREFIX + "ecal-bulk") == 0
    new = w.worker_of("ecal-bulk")
    assert new is not None and new != old and w.consumes(new, "ecal-bulk")
    assert len(patches(w)) == 1
    # the agent's own keys are not prefixed, and are gone
    assert not r0.keys(PREFIX + "drain-and-rollout:*")
    assert not r0.exists("drain-and-rollout:lease:%s:ecal-bulk" % NS)
    # nothing of Celery's was written without the prefix
    stray = [k for k in r0.keys() if not k.startswith(PREFIX)
             and not k.startswith("drain-and-rollout:")]
    assert stray == [], stray


@pytest.mark.long
def test_priority_steps_backlog_and_broker_control(request):
    """priority_steps = list(range(10)): messages sit on ten lists per queue;
    --dry-run counts all of them, the drain over the broker loses nothing."""
    # a plain pool: DIALS' (a new process per task, pauses of up to 5 s)
    # made the 21 tasks' run 100 s, and it is not what this test is about
    w = make_world(request, [deployment("ecal-bulk", pool=["--concurrency=1"])],
                   celery_env={"ETL_PRIORITY_STEPS": TEN})
    r0 = w.r()
    ids = busy_with_backlog(w, list(range(10)) * 2)
    lens = {k: r0.llen(k) for k in lists_of(w, "ecal-bulk", range(10))}
    queued = sum(lens.values())
    odd = [k for k, n in lens.items() if n and k[-1] not in "0369"]
    assert odd, "no message on a list outside kombu's default steps: %r" % lens
    p = w.run("ecal-bulk", "--dry-run", env=w.env(DRAIN_PRIORITY_STEPS=TEN))
    assert p.returncode == 0, p.stderr
    backlog, unacked = backlog_of(p.stdout)
    assert backlog == queued, (backlog, lens, p.stderr)
    assert unacked == r0.hlen("unacked"), p.stderr
    old = w.worker_of("ecal-bulk")
    p = w.run("ecal-bulk", "--control", "broker", "--priority-steps", TEN)
    assert p.returncode == 0, p.stderr
    assert "polling" not in p.stderr, p.stderr
    w.wait_done(ids, timeout=60)
    w.assert_exactly_once(ids)
    assert w.unacked() == 0
    assert sum(r0.llen(k) for k in lists_of(w, "ecal-bulk", range(10))) == 0
    new = w.worker_of("ecal-bulk")
    assert new != old and w.consumes(new, "ecal-bulk")


def test_priority_steps_are_checked(request):
    w = make_world(request, [deployment("ecal-bulk")])
    for bad, why in (("3,0", "ascending"), ("0,x", "expected a number"),
                     ("0,3,", "expected a number")):
        p = w.run("ecal-bulk", "--dry-run", "--priority-steps", bad)
        assert p.returncode == 2, p.stderr
        assert why in p.stderr and "--priority-steps" in p.stderr, p.stderr
        p = w.run("ecal-bulk", "--dry-run", env=w.env(DRAIN_PRIORITY_STEPS=bad))
        assert p.returncode == 2 and "DRAIN_PRIORITY_STEPS" in p.stderr, p.stderr
        conf = os.path.join(w.tmp, "drain.conf")
        with open(conf, "w") as f:
            f.write("DRAIN_PRIORITY_STEPS=%s\n" % bad)
        p = w.run("ecal-bulk", "--dry-run", "--config", conf)
        assert p.returncode == 2 and "DRAIN_PRIORITY_STEPS" in p.stderr, p.stderr
    assert patches(w) == []


def test_settings_from_the_configuration_file(request):
    """DRAIN_BROKER_KEY_PREFIX and DRAIN_PRIORITY_STEPS in --config: the
    prefixed backlog on ten lists is counted."""
    w = prefixed_world(request, ETL_PRIORITY_STEPS=TEN)
    r0 = w.r()
    busy_with_backlog(w, [1, 2, 4, 5, 7, 8])
    queued = sum(r0.llen(k) for k in lists_of(w, "ecal-bulk", range(10), PREFIX))
    assert queued > 0
    conf = os.path.join(w.tmp, "drain.conf")
    with open(conf, "w") as f:
        f.write('DRAIN_BROKER_KEY_PREFIX="%s"\nDRAIN_PRIORITY_STEPS=%s\n' % (PREFIX, TEN))
    p = w.run("ecal-bulk", "--dry-run", "--config", conf)
    assert p.returncode == 0, p.stderr
    assert backlog_of(p.stdout) == (queued, r0.hlen(PREFIX + "unacked")), p.stdout
