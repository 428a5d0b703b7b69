"""Many runs at once in one agent process: a Flower that answers slowly
is not a Flower that is down, and remote control over the broker keeps
working however many runs use it (README, Performance: the 60-deployment
run)."""
import base64
import json
import threading
import time
from urllib.parse import quote

import pytest

from conftest import applied_patches, make_world
from world import deployment, wait_for

SWITCH = "continuing with Celery remote control over the broker"
DEPS = ["ecal-bulk", "csc-bulk", "hcal-bulk", "dt-bulk"]


def pidbox_requests(w, stop, seen):
    """Every remote-control request published on the broker: (time received,
    decoded body)."""
    ps = w.r().pubsub()
    ps.subscribe("/0.celery.pidbox")
    try:
        while not stop.is_set():
            m = ps.get_message(timeout=0.1)
            if m and m["type"] == "message":
                env = json.loads(m["data"])
                seen.append((time.time(), json.loads(base64.b64decode(env["body"]))))
    finally:
        ps.close()


def busy_world(request, deps, n, seconds):
    """A world of deps, each worker busy with the first of n tasks."""
    w = make_world(request, [deployment(d, grace=2) for d in deps])
    ids = [i for d in deps for i in w.enqueue(d, n, seconds, tag=d)]
    w.wait_started(ids, len(deps))
    return w, ids


def run_flower_late(w, deps, seconds, *args):
    """The agent on all deps at once, every Flower answer `seconds` late:
    its result and the API requests Flower saw."""
    w.flower_test("POST", "/_test/delay", {"seconds": seconds})
    w.flower_test("DELETE", "/_test/requests")
    try:
        p = w.run(*deps, "--max-parallel", str(len(deps)), *args)
        reqs = [r for r in w.flower_test("GET", "/_test/requests")
                if r["path"].startswith("/api/")]
    finally:
        w.flower_test("POST", "/_test/reset", {})
    return p, reqs


def most_at_once(reqs, window):
    """The most requests that arrived within `window` seconds: each is out
    longer than that, so they were all out at once."""
    t = [r["t"] for r in reqs]
    return max(sum(1 for x in t if a - window < x <= a) for a in t)


def restarted_once_nothing_lost(w, deps, ids):
    for d in deps:
        assert len(applied_patches(w, d)) == 1
    w.wait_done(ids, timeout=60)
    w.assert_exactly_once(ids)


@pytest.mark.long(50)
def test_slow_flower_is_waited_for_not_taken_for_down(request):
    """Every Flower answer comes 5 s late (longer than the 4 s the agent
    tries to reach a Flower before going over the broker, shorter than the
    request timeout): the three runs wait for it and do everything through
    Flower; nothing goes over the broker."""
    deps = DEPS[:3]
    w, ids = busy_world(request, deps, 2, 2.0)
    old = {d: w.worker_of(d) for d in deps}
    p, reqs = run_flower_late(w, deps, 5)
    assert p.returncode == 0, p.stderr
    assert SWITCH not in p.stderr and "unreachable" not in p.stderr, p.stderr
    paths = [r["path"] for r in reqs]
    for d in deps:
        assert any("cancel-consumer/%s" % quote(old[d], safe="") in x for x in paths), \
            (d, paths)
        new = w.worker_of(d)
        assert new != old[d] and w.consumes(new, d)
        # verified through Flower too
        assert any("workername=%s" % quote(new, safe="") in x for x in paths), \
            (d, new, paths)
    restarted_once_nothing_lost(w, deps, ids)


@pytest.mark.long(35)
def test_flower_gets_at_most_four_requests_at_once(request):
    """Six runs at once, every Flower answer 1 s late: the agent has at most
    four requests out to Flower (more would only queue inside Flower, which
    serves its API from one loop, and count against the request timeout);
    the others wait their turn in the agent, and everything is done through
    Flower."""
    deps = DEPS + ["rpc-bulk", "pps-bulk"]
    w, ids = busy_world(request, deps, 1, 1.0)
    p, reqs = run_flower_late(w, deps, 1)
    assert p.returncode == 0, p.stderr
    assert SWITCH not in p.stderr, p.stderr
    assert len(reqs) >= 3 * len(deps)
    n = most_at_once(reqs, 0.9)
    assert n <= 4, "%d requests to Flower at once" % n
    restarted_once_nothing_lost(w, deps, ids)


@pytest.mark.long(35)
def test_flower_that_does_not_answer_sends_the_waiting_calls_over_the_broker(request):
    """Flower accepts and never answers (every answer 30 s late), six runs,
    --request-timeout 2s: the four requests out get no answer, Flower is
    taken for down, and the two waiting their turn go over the broker at
    once, never to Flower. Every run completes over the broker."""
    deps = DEPS + ["rpc-bulk", "pps-bulk"]
    w, ids = busy_world(request, deps, 1, 1.0)
    p, reqs = run_flower_late(w, deps, 30, "--request-timeout", "2s")
    assert p.returncode == 0, p.stderr
    assert p.stderr.count(SWITCH) == 1, p.stderr
    t = sorted(r["t"] for r in reqs)
    # four requests, each tried for the 4 s Flower is given to answer
    # (two attempts of 2 s); nothing sent once it was taken for down
    assert len(t) <= 8 and t[-1] - t[0] < 3.5, ["%.2f" % (x - t[0]) for x in t]
    n = most_at_once(reqs, 1.9)
    assert n <= 4, "%d requests to Flower at once" % n
    restarted_once_nothing_lost(w, deps, ids)


def test_broker_control_pings_once_for_all_runs(request):
    """Over the broker, a status is a broadcast ping that every worker
    answers: one per run would grow the workers' work and the replies with
    the square of the runs (60 runs, 120 workers: 7200 replies a second,
    and no new worker ever seen). Four runs at once share one ping at a
    time, and all of them drain, restart and verify."""
    w, ids = busy_world(request, DEPS, 2, 2.0)
    old = {d: w.worker_of(d) for d in DEPS}
    stop, seen = threading.Event(), []
    t = threading.Thread(target=pidbox_requests, args=(w, stop, seen), daemon=True)
    t.start()
    try:
        p = w.run(*DEPS, "--control", "broker", "--max-parallel", str(len(DEPS)))
    finally:
        stop.set()
        t.join()
    assert p.returncode == 0, p.stderr
    # the agent's requests: those answered on the reply queue of its cancels
    mine = {b["reply_to"]["routing_key"] for _, b in seen if b["method"] == "cancel_consumer"}
    assert len(mine) == 1, mine
    pings = sorted(t for t, b in seen if b["method"] == "ping"
                   and b["reply_to"]["routing_key"] in mine and not b["destination"])
    assert pings, "no ping"
    gaps = [b - a for a, b in zip(pings, pings[1:])]
    assert all(g > 0.5 for g in gaps), \
        "broadcast pings out at once: %d pings, gaps %s" % (len(pings), ["%.2f" % g for g in gaps])
    for d in DEPS:
        new = w.worker_of(d)
        assert new != old[d] and w.consumes(new, d)
        assert "new worker %s consumes %s" % (new, d) in p.stderr
    restarted_once_nothing_lost(w, DEPS, ids)


# 100000 replies pushed at once, in Redis: late answers to calls that ended
PILE = """
for i = 1, tonumber(ARGV[2]) do redis.call('LPUSH', KEYS[1], ARGV[1]) end
return redis.call('LLEN', KEYS[1])
"""


def test_broker_replies_behind_a_pile_of_late_ones_are_read_in_time(request):
    """The reply queue holds 100000 late replies (to calls that have ended,
    as when many runs broadcast at once) when the agent's next calls go
    out: their answers, queued behind the pile, are still read within the
    calls' 2 s, and the dry run lists the worker."""
    w = make_world(request, [deployment("ecal-bulk")])
    worker = w.worker_of("ecal-bulk")
    r = w.r()
    ps = r.pubsub()
    ps.subscribe("/0.celery.pidbox")
    stop, piled = threading.Event(), []
    late = json.dumps({
        "body": base64.b64encode(json.dumps({"gone@pod-gone": {"ok": "pong"}}).encode()).decode(),
        "content-encoding": "utf-8", "content-type": "application/json",
        "headers": {"ticket": "00000000-0000-4000-8000-000000000000", "clock": 1},
        "properties": {"delivery_mode": 1, "priority": 0, "body_encoding": "base64",
                       "delivery_tag": "x", "delivery_info": {"exchange": "reply.celery.pidbox",
                                                              "routing_key": "x"}}})

    def pile():
        while not stop.is_set():
            m = ps.get_message(timeout=0.1)
            if not m or m["type"] != "message":
                continue
            req = json.loads(base64.b64decode(json.loads(m["data"])["body"]))
            if req["method"] == "ping" and not piled:
                key = "%s.reply.celery.pidbox" % req["reply_to"]["routing_key"]
                piled.append(r.eval(PILE, 1, key, late, 100000))

    t = threading.Thread(target=pile, daemon=True)
    t.start()
    try:
        p = w.run("ecal-bulk", "--dry-run", "--control", "broker", "-o", "json")
    finally:
        stop.set()
        t.join()
        ps.close()
    assert piled and piled[0] >= 100000, piled
    assert p.returncode == 0, p.stderr
    plan = json.loads(p.stdout)
    assert worker in json.dumps(plan), p.stdout


def test_a_worker_slow_to_answer_the_broadcast_ping_is_asked_again(request):
    """--control broker: the broadcast ping collects answers for a second. A
    worker that answers later (a loaded node; here stopped until the agent
    pings again) is not taken for absent: the agent pings again, 3 times in
    all, before it refuses; the dry run lists the worker. On a loaded
    machine the single ping refused (exit 3, "no online Celery worker")."""
    w = make_world(request, [deployment("ecal-bulk")])
    worker = w.worker_of("ecal-bulk")
    (pod,) = [q for q in w.pods("ecal-bulk") if q["ready"]]
    ps = w.r().pubsub()
    ps.subscribe("/0.celery.pidbox")
    pings = []

    def count():
        m = ps.get_message(timeout=0.1)
        while m:
            if m["type"] == "message":
                req = json.loads(base64.b64decode(json.loads(m["data"])["body"]))
                if req["method"] == "ping":
                    pings.append(time.time())
            m = ps.get_message(timeout=0)
        return len(pings) >= 2
    w.kube_test("POST", "/_test/kill-pod", {"pod": pod["name"], "signal": "STOP"})
    try:
        p = w.spawn("ecal-bulk", "--dry-run", "--control", "broker", "-o", "json")
        wait_for(count, 30, "the agent pinging again")
    finally:
        w.kube_test("POST", "/_test/kill-pod", {"pod": pod["name"], "signal": "CONT"})
        ps.close()
    out, err = p.communicate(timeout=60)
    assert p.returncode == 0, err
    assert "asking again (2 of 3)" in err, err
    assert worker in out, out
