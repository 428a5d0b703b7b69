"""Event-driven drains, the polling fallback, and batches of deployments."""
import json
import threading

from conftest import make_world, patches
from world import deployment, fixture_path


def test_polling_mode_zero_loss(world):
    old = world.worker_of("ecal-bulk")
    ids = world.enqueue("ecal-bulk", 5, 3.0)
    world.wait_started(ids, 1)
    p = world.run("ecal-bulk", "--no-events", "--poll-interval", "1s")
    assert p.returncode == 0, p.stderr
    world.wait_done(ids, timeout=30)
    world.assert_exactly_once(ids)
    assert world.unacked() == 0
    new = world.worker_of("ecal-bulk")
    assert new != old and world.consumes(new, "ecal-bulk")


def test_event_mode_uses_a_bounded_number_of_flower_requests(world):
    ids = world.enqueue("ecal-bulk", 5, 2.0)
    world.wait_started(ids, 1)
    world.flower_test("DELETE", "/_test/requests")
    p = world.run("ecal-bulk")
    assert p.returncode == 0, p.stderr
    world.assert_exactly_once(ids)
    reqs = [r for r in world.flower_test("GET", "/_test/requests")
            if r["path"].startswith("/api/")]
    # status + refresh to resolve, cancel + refresh, one confirmation,
    # then status + refresh per verification poll: independent of how long
    # the ~10 s drain lasted (polling every 2 s would be 5+ more)
    assert len(reqs) <= 10, "\n".join(r["path"] for r in reqs)
    assert "polling" not in p.stderr


def test_drain_without_events_is_detected_by_polling(world):
    """The agent's Redis account may not subscribe to events (an ACL): it says
    so, polls, and still sees the drain finish."""
    world.r().execute_command("ACL", "SETUSER", "drainer", "on", ">pw", "~*", "&*", "+@all",
                              "-psubscribe", "-subscribe")
    url = "redis://drainer:pw@127.0.0.1:%d/0" % world.redis_port
    ids = world.enqueue("ecal-bulk", 4, 2.0)
    world.wait_started(ids, 1)
    p = world.run("ecal-bulk", "--poll-interval", "1s", env=world.env(DRAIN_REDIS_URL=url))
    assert p.returncode == 0, p.stderr
    assert "polling every 1s" in p.stderr
    world.assert_exactly_once(ids)
    assert world.unacked() == 0


def test_events_still_arriving_as_the_agent_exits_are_dropped(world):
    """Celery events keep coming after the last run ended, while the agent
    removes its reply queue from the broker: none of them reaches a run
    already freed (a use after free that crashed one exit in seven on a
    loaded machine). A flood of real task events makes one arrive then
    every time."""
    with open(fixture_path("celery", "event_task_multi.json")) as f:
        ev = json.load(f)
    stop = threading.Event()

    def flood():
        r = world.r()
        while not stop.is_set():
            pipe = r.pipeline(transaction=False)
            for _ in range(50):
                pipe.publish(ev["redis_key_or_channel"], ev["raw_envelope"])
            pipe.execute()

    t = threading.Thread(target=flood, daemon=True)
    t.start()
    try:
        p = world.run("ecal-bulk", "--control", "broker")
    finally:
        stop.set()
        t.join()
    assert p.returncode == 0, p.stderr
    assert world.consumes(world.worker_of("ecal-bulk"), "ecal-bulk")


def test_batch_one_failure_does_not_stop_the_others(request):
    w = make_world(request, [deployment("ecal-bulk"), deployment("csc-bulk"),
                             deployment("hcal-bulk")])
    ids = w.enqueue("ecal-bulk", 3, 1.5) + w.enqueue("hcal-bulk", 3, 1.5)
    long_ = w.enqueue("csc-bulk", 1, 60.0, tag="long")
    w.wait_started(long_, 1)
    csc = w.worker_of("csc-bulk")
    p = w.run("ecal-bulk", "csc-bulk", "hcal-bulk", "--drain-timeout", "15s",
              "--max-parallel", "3", "-o", "json")
    assert p.returncode == 5, p.stderr
    report = {d["deployment"]: d for d in json.loads(p.stdout)["deployments"]}
    assert report["ecal-bulk"]["outcome"] == "ok"
    assert report["hcal-bulk"]["outcome"] == "ok"
    assert report["csc-bulk"]["outcome"] == "aborted"
    assert long_[0] in report["csc-bulk"]["error"]
    assert w.consumes(csc, "csc-bulk")
    assert patches(w, "csc-bulk") == []
    assert len(patches(w, "ecal-bulk")) == 1 and len(patches(w, "hcal-bulk")) == 1
    w.wait_done(ids, timeout=30)
    w.assert_exactly_once(ids)


def test_selector_skips_deployments_without_workers(request):
    lab = {"app.kubernetes.io/part-of": "ecal-etl"}
    w = make_world(request, [deployment("ecal-bulk", labels=lab),
                             deployment("ecal-priority", labels=lab),
                             deployment("ecal-redbeat", worker=False, labels=lab),
                             deployment("csc-bulk")])
    p = w.run("-l", "app.kubernetes.io/part-of=ecal-etl", "-o", "json")
    assert p.returncode == 0, p.stderr
    out = {d["deployment"]: d["outcome"] for d in json.loads(p.stdout)["deployments"]}
    assert out == {"ecal-bulk": "ok", "ecal-priority": "ok", "ecal-redbeat": "skipped"}
    assert patches(w, "csc-bulk") == [] and patches(w, "ecal-redbeat") == []
