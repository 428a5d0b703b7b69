"""--window: no Deployment is started outside it, a run in flight finishes.

The window is set in UTC (TZ=UTC for the agent) around the real clock: the
product has no fake clock. Windows have minute resolution, so a test that
needs the window to close during a run makes it end at the next minute
boundary and keeps the first drain busy past it."""
import json
import time

import pytest

from conftest import check_prometheus_text, make_world, patches
from world import deployment

LAB = {"app.kubernetes.io/part-of": "ecal-etl"}


def hhmm(t):
    return time.strftime("%H:%M", time.gmtime(t))


@pytest.mark.long(80)
def test_window_closing_during_a_batch_finishes_the_run_and_skips_the_rest(request, tmp_path):
    w = make_world(request, [deployment("ecal-bulk", labels=LAB),
                             deployment("ecal-priority", labels=LAB)])
    prio = w.worker_of("ecal-priority")
    metrics = tmp_path / "all.prom"
    now = time.time()
    # the window closes at the next minute boundary at least 25 s away (the
    # worker picks the task up and the agent starts well before), and the
    # task keeps ecal-bulk's drain going 6 s past it
    end = (int(now) // 60 + 1) * 60
    if end - now < 25:
        end += 60
    window = "%s-%s" % (hhmm(end - 120), hhmm(end))
    ids = w.enqueue("ecal-bulk", 1, end - now + 6)
    w.wait_started(ids, 1)
    assert time.time() < end - 12, "the machine is too slow for this window"
    p = w.run("-l", "app.kubernetes.io/part-of=ecal-etl", "--max-parallel", "1",
              "--window", window, "-o", "json", "--metrics-file", str(metrics),
              env=w.env(TZ="UTC"))
    assert time.time() > end
    assert p.returncode == 0, p.stderr
    out = {d["deployment"]: d for d in json.loads(p.stdout)["deployments"]}
    assert out["ecal-bulk"]["outcome"] == "ok"      # never cut by the window
    assert out["ecal-priority"]["outcome"] == "skipped"
    assert "outside the window %s" % window in out["ecal-priority"]["error"]
    assert "ecal-priority: skipped (outside the window %s (local time, TZ UTC); " \
        "it opens " % window in p.stderr
    w.wait_done(ids, timeout=30)
    w.assert_exactly_once(ids)
    assert len(patches(w, "ecal-bulk")) == 1
    assert patches(w, "ecal-priority") == []
    assert w.worker_of("ecal-priority") == prio and w.consumes(prio, "ecal-priority")
    text = metrics.read_text()
    fams = check_prometheus_text(text)
    assert "drain_and_rollout_skipped_outside_window" in fams
    assert 'drain_and_rollout_skipped_outside_window{namespace="cms-dials-prod",' \
        'deployment="ecal-priority"} 1' in text
    assert 'drain_and_rollout_skipped_outside_window{namespace="cms-dials-prod",' \
        'deployment="ecal-bulk"} 0' in text


def test_run_outside_the_window_changes_nothing_and_says_when_it_opens(world):
    old = world.worker_of("ecal-bulk")
    now = time.time()
    opens = (int(now) // 60 + 120) * 60          # in two hours, to the minute
    window = "%s-%s" % (hhmm(opens), hhmm(opens + 3600))
    env = world.env(TZ="UTC", DRAIN_WINDOW=window)
    p = world.run("ecal-bulk", env=env)
    assert p.returncode == 0, p.stderr
    when = time.strftime("%a %Y-%m-%d %H:%M UTC", time.gmtime(opens))
    assert "outside the window %s (local time, TZ UTC); it opens %s" % (window, when) in p.stderr
    assert "1 deployment not started; nothing changed for it; the next run inside " \
        "the window starts it (by hand now: --window \"\")" in p.stderr
    assert "ecal-bulk: skipped (outside the window" in p.stderr
    reqs = [r for r in world.kube_requests() if r["method"] != "GET"]
    assert reqs == []
    assert world.worker_of("ecal-bulk") == old and world.consumes(old, "ecal-bulk")
    # the undo commands are never held back by the window
    p = world.run("--undrain", "ecal-bulk", "--queues", "ecal-bulk", env=env)
    assert "outside the window" not in p.stderr
    # a flag wins over the configured window: "" is none
    p = world.run("ecal-bulk", "--window", "", "--dry-run", env=env)
    assert p.returncode == 0 and "outside the window" not in p.stderr, p.stderr


def test_bad_window_is_refused_naming_where_it_came_from(world):
    for args, env, where in ((["--window", "25:00-26:00"], {}, "--window"),
                             ([], {"DRAIN_WINDOW": "Mon-Fry 01:00-05:00"}, "DRAIN_WINDOW"),
                             (["--window", "01:00-01:00"], {}, "--window")):
        p = world.run("ecal-bulk", *args, env=world.env(**env))
        assert p.returncode == 2, p.stderr
        assert where in p.stderr and "expected [DAYS ]HH:MM-HH:MM" in p.stderr, p.stderr
    assert [r for r in world.kube_requests() if r["method"] != "GET"] == []


def test_nightly_timers_fire_inside_the_example_window():
    """The units' example configuration sets the window, and every nightly
    timer fires inside it, even at its latest random delay."""
    import glob
    import os
    import re
    from world import ROOT
    conf = open(os.path.join(ROOT, "systemd", "drain-and-rollout.conf.example")).read()
    (win,) = re.findall(r"^DRAIN_WINDOW=(\d\d):(\d\d)-(\d\d):(\d\d)$", conf, re.M)
    start, end = int(win[0]) * 60 + int(win[1]), int(win[2]) * 60 + int(win[3])
    timers = glob.glob(os.path.join(ROOT, "systemd", "*.timer"))
    assert timers
    for t in timers:
        text = open(t).read()
        (h, m) = re.findall(r"^OnCalendar=\*-\*-\* (\d\d):(\d\d)$", text, re.M)[0]
        (delay,) = re.findall(r"^RandomizedDelaySec=(\d+)m$", text, re.M)
        at = int(h) * 60 + int(m)
        assert start <= at and at + int(delay) < end, t
