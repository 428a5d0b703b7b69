"""make bench: drain-and-rollout's speed and cost against the test world
(real Redis, real Celery workers, the Kubernetes and Flower doubles).

  1. drain-detection latency: from the last drained task's return to the
     restart PATCH arriving at the Kubernetes double; event mode and polling
     every 5 s (what a hand-written loop does), N drains each
  2. cost of waiting: CPU seconds and peak RSS of the agent while 15
     deployments drain at once for about a minute
  3. batch time: 15 deployments with --max-parallel 15 versus single runs
  4. Flower requests per drained worker in event mode, short and long drains

  5. growth: the agent's CPU seconds (its own, from wait4), peak private
     memory (Private_Dirty and Anonymous of /proc/PID/smaps_rollup, sampled
     every 50 ms) and requests to Flower and to the Kubernetes API (also per
     deployment: a watch counts once, when it starts), for 1,
     BENCH_DEPLOYMENTS and BENCH_WIDE deployments of one replica (each worker
     busy with 2 tasks of 3 s, --max-parallel equal to the count), and for
     one Deployment of BENCH_REPLICAS replicas (2 such tasks per replica)
  6. queue downtime: with a 6 s task on the old worker and a steady stream
     (one 1 s task every 0.5 s), the largest gap between consecutive task
     starts (the ledger's started_at) across an in-place drain-and-rollout,
     and across --handover when the agent has it (a fresh world each, as
     tests/e2e/test_handover.py measures it)

Prints a table (Markdown) for the README's Performance section.
Environment (smaller values make it shorter):
  BENCH_DRAINS       drains per latency figure (default 10)
  BENCH_DEPLOYMENTS  deployments of the batch and cost-of-waiting world (default 15)
  BENCH_WIDE         deployments of the largest growth point (default 60; 0 skips
                     that world, and the replicas point with it)
  BENCH_REPLICAS     replicas of the one wide Deployment (default 8; 0 skips it)
  BENCH_STREAM       tasks of the downtime stream (default 24)
  BENCH_PARTS        which worlds, comma-separated (default all: downtime,latency,
                     batch,wide; latency is 1, 2, 4 and the 1-deployment growth
                     point, batch 3 and the BENCH_DEPLOYMENTS point)
"""
import os
import resource
import json
import statistics
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "world"))
from world import AGENT, HERE, PY, World, deployment  # noqa: E402

N = int(os.environ.get("BENCH_DRAINS", "10"))
D = int(os.environ.get("BENCH_DEPLOYMENTS", "15"))
WIDE = int(os.environ.get("BENCH_WIDE", "60"))
REPLICAS = int(os.environ.get("BENCH_REPLICAS", "8"))
STREAM = int(os.environ.get("BENCH_STREAM", "24"))
PARTS = os.environ.get("BENCH_PARTS", "downtime,latency,batch,wide").split(",")
# the growth runs: the same settings at every size; many new workers starting
# at once on two cores take longer than the default --verify-timeout
GROW_ARGS = ["--verify-timeout", "3m"]
ROWS = []


def report(row):
    """A row of the table; also printed at once (stderr), so that a later
    failure does not lose it."""
    ROWS.append(row[:2])
    print("| %s | %s |" % row[:2], file=sys.stderr, flush=True)


def patch_times(w, dep):
    return [r["t"] for r in w.kube_requests()
            if r["method"] == "PATCH" and "/deployments/%s?" % dep in r["path"]]


def proc_memory(pid):
    """VmHWM, RssAnon (/proc/PID/status) and Private_Dirty, Anonymous
    (/proc/PID/smaps_rollup) of a live process, in KiB."""
    out = {}
    for name, keys in (("status", ("VmHWM", "RssAnon")),
                       ("smaps_rollup", ("Private_Dirty", "Anonymous"))):
        try:
            with open("/proc/%d/%s" % (pid, name)) as f:
                for line in f:
                    k, _, v = line.partition(":")
                    if k in keys:
                        out[k] = int(v.split()[0])
        except OSError:
            pass
    return out


def timed_run(w, *args):
    """Run the agent; return a dict: wall and cpu seconds, the peaks (KiB)
    of VmHWM, RssAnon, Private_Dirty and Anonymous, and the exit code.

    CPU is the agent's own (wait4 on it alone: user + system). The peaks come
    from /proc, sampled every 50 ms: the ru_maxrss that wait4 reports would
    also count this Python process, whose memory the child shares between
    vfork and exec."""
    t0 = time.time()
    p = subprocess.Popen(w.agent_argv(args), env=w.env(), stdout=subprocess.DEVNULL,
                         stderr=subprocess.PIPE, text=True)
    err = []
    t = threading.Thread(target=lambda: err.append(p.stderr.read()))
    t.start()
    peak = {"VmHWM": 0, "RssAnon": 0, "Private_Dirty": 0, "Anonymous": 0}
    while True:
        pid, status, ru = os.wait4(p.pid, os.WNOHANG)
        if pid:
            break
        for k, v in proc_memory(p.pid).items():
            peak[k] = max(peak[k], v)
        time.sleep(0.05)
    p.returncode = os.waitstatus_to_exitcode(status)
    t.join()
    p.stderr.close()
    if p.returncode != 0:
        print(err[0][-3000:], file=sys.stderr)
    return dict(peak, wall=time.time() - t0, cpu=ru.ru_utime + ru.ru_stime, rc=p.returncode,
                err=err[0])


def counted_run(w, *args):
    """timed_run, plus the requests the agent made to Flower's API and to the
    Kubernetes API (the doubles' request logs, cleared before the run)."""
    w.flower_test("DELETE", "/_test/requests")
    w.kube_test("DELETE", "/_test/requests")
    m = timed_run(w, *args)
    m["flower"] = len([r for r in w.flower_test("GET", "/_test/requests")
                       if r["path"].startswith("/api/")])
    m["kube"] = len([r for r in w.kube_requests() if not r["path"].startswith("/_test/")])
    return m


def enqueue_many(w, queues, n, seconds, tag):
    """n tasks of `seconds` on each queue, from one process."""
    code = ("import json\n"
            "from etl import ingest\n"
            "print(json.dumps([ingest.apply_async(args=[%r, '%s-%%s-%%d' %% (q, i)], queue=q).id\n"
            "                  for q in %r for i in range(%d)]))\n") % (seconds, tag, list(queues), n)
    out = subprocess.run([PY, "-c", code], cwd=HERE, env=w.celery_environ(),
                         stdout=subprocess.PIPE, check=True, text=True).stdout
    return json.loads(out.strip().splitlines()[-1])


def grow(w, names, workers, label):
    """One growth point: every worker of `names` busy with 2 tasks of 3 s
    (one running, one prefetched), then one run with --max-parallel equal to
    the count. (measure, result, the run's figures); a failed run is a row
    that says so, with its figures."""
    ids = enqueue_many(w, names, 2 * workers // len(names), 3.0, "grow")
    w.wait_started(ids, workers, timeout=120)
    m = counted_run(w, *names, "--max-parallel", str(len(names)), *GROW_ARGS)
    w.wait_done(ids, timeout=120)
    w.assert_exactly_once(ids)
    time.sleep(1.1)     # restartedAt has one-second resolution
    figures = ("CPU %.2f s; peak private %.1f MiB (Private_Dirty; Anonymous %.1f MiB); "
               "Flower requests %d (%.1f per worker); Kubernetes requests %d (%.1f per "
               "deployment); wall %.1f s"
               % (m["cpu"], m["Private_Dirty"] / 1024, m["Anonymous"] / 1024, m["flower"],
                  m["flower"] / workers, m["kube"], m["kube"] / len(names), m["wall"]))
    if "continuing with Celery remote control over the broker" in m["err"]:
        figures += "; switched to remote control over the broker"
    if m["rc"] != 0:
        # said, not hidden: the figures are those of the failed run
        errs = [l for l in m["err"].splitlines() if " error: " in l or "broker" in l]
        figures = "FAILED, exit %d (%s; first error: %s); %s" % (
            m["rc"], "%d error lines" % len(errs), errs[0] if errs else "none", figures)
    return ("growth: %s, %d worker(s) draining 2 tasks of 3 s" % (label, workers),
            figures, m)


def downtime(w, dep, *args):
    """A 6 s task running on the old worker, then the agent and the stream at
    once. The largest gap between consecutive task starts (seconds), from the
    stream's first start to the last start, as tests/e2e/test_handover.py
    measures it (the old worker prefetched the first tasks, or none of them:
    then the window opens on the new worker); and the same from the stream's
    first enqueue on (the longest any of it waited for a start)."""
    ids = w.enqueue(dep, 1, 6.0, tag="long")
    w.wait_started(ids, 1)
    p = subprocess.Popen(w.agent_argv((dep,) + args), env=w.env(),
                         stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    s = w.stream(dep, STREAM)
    out, _ = s.communicate(timeout=120)
    t0, sids = json.loads(out.strip().splitlines()[-1])
    _, err = p.communicate(timeout=600)
    assert p.returncode == 0, err[-3000:]
    ids += sids
    w.wait_done(ids, timeout=240)
    w.assert_exactly_once(ids)
    at = [float(t) for t in w.r(15).hmget("ledger:started_at", ids)]
    first = min(at[1:])
    time.sleep(1.1)

    def largest(t):
        starts = sorted(x for x in at if x >= t)
        return max(b - a for a, b in zip([t] + starts, starts))
    return largest(first), largest(t0)


def has_handover():
    p = subprocess.run([AGENT, "--help"], stdout=subprocess.PIPE,
                       stderr=subprocess.STDOUT, text=True)
    return "--handover" in p.stdout


def latency(w, mode_args, label):
    lat = []
    for i in range(N):
        ids = w.enqueue("ecal-bulk", 2, 1.5, tag="lat%d" % i)
        w.wait_started(ids, 1)
        before = len(patch_times(w, "ecal-bulk"))
        assert timed_run(w, "ecal-bulk", *mode_args)["rc"] == 0, "drain failed"
        done_at = w.r(15).hmget("ledger:done_at", ids)
        last = max(float(x) for x in done_at)
        patch = patch_times(w, "ecal-bulk")[before]
        lat.append((patch - last) * 1000)
        time.sleep(1.1)     # restartedAt has one-second resolution
    return label, lat


def main():
    t_start = time.time()
    if "downtime" in PARTS:
        # a fresh world per mode; workers without DIALS' new process per task
        # (--max-tasks-per-child=1), which alone pauses a worker up to 5 s
        # between tasks, drain or not, and would hide the time nobody consumes
        modes = [((), "in place")]
        modes.append((("--handover",), "`--handover`") if has_handover() else (None, "`--handover`"))
        for args, label in modes:
            key = ("queue downtime, %s: largest gap between task starts (6 s task running, "
                   "one 1 s task every 0.5 s)" % label)
            if args is None:
                report((key, "not measured: this agent has no --handover"))
                continue
            w = World([deployment("ecal-bulk", grace=2, pool=["--concurrency=1"])])
            w.start()
            try:
                report((key, "%.2f s; %.2f s from the stream's first enqueue"
                        % downtime(w, "ecal-bulk", *args)))
            finally:
                w.stop()
    if "latency" in PARTS:
        w = World([deployment("ecal-bulk", grace=2)])
        w.start()
        try:
            for args, label in ((["--poll-interval", "5s"], "event mode"),
                                (["--no-events", "--poll-interval", "5s"], "polling every 5 s")):
                label, lat = latency(w, args, label)
                report(("drain-detection latency, %s (ms, %d drains)" % (label, N),
                             "median %.0f, max %.0f" % (statistics.median(lat), max(lat))))
            # Flower requests per drained worker: short and long drains
            for secs in (1.0, 12.0):
                ids = w.enqueue("ecal-bulk", 2, secs, tag="req")
                w.wait_started(ids, 1)
                n = counted_run(w, "ecal-bulk")["flower"]
                report(("Flower requests per drained worker, event mode, %.0f s drain"
                             % (2 * secs), str(n)))
                time.sleep(1.1)
            report(grow(w, ["ecal-bulk"], 1, "1 deployment"))
        finally:
            w.stop()

    if "batch" in PARTS:
        names = ["bench%02d-bulk" % i for i in range(D)]
        w = World([deployment(n, grace=2) for n in names])
        w.start()
        try:
            singles = []
            for n in names:
                ids = w.enqueue(n, 2, 3.0, tag="single")
                w.wait_started(ids, 1)
                m = timed_run(w, n)
                assert m["rc"] == 0
                singles.append(m["wall"])
            time.sleep(1.1)
            # every worker busy for about a minute: 1 running + 4 prefetched of 12 s
            all_ids = []
            for n in names:
                all_ids += w.enqueue(n, 5, 12.0, tag="batch")
            w.wait_started(all_ids, len(names), timeout=120)
            m = timed_run(w, *names, "--max-parallel", str(D))
            assert m["rc"] == 0
            wall, cpu, rss, anon = m["wall"], m["cpu"], m["VmHWM"], m["RssAnon"]
            w.wait_done(all_ids, timeout=60)
            w.assert_exactly_once(all_ids)
            report(("cost of waiting: %d deployments draining at once, %.0f s" % (D, wall),
                         "CPU %.2f s (%.2f%% of wall), peak RSS %.1f MiB, of which %.1f MiB "
                         "anonymous (the rest: shared-library pages)"
                         % (cpu, 100 * cpu / wall, rss / 1024, anon / 1024)))
            # batch time, measured on growth point 2 (the same load: 2 tasks of 3 s each)
            g = grow(w, names, D, "%d deployments" % D)
            report(g)
            bwall = g[2]["wall"]
            report(("batch time, %d deployments, --max-parallel %d" % (D, D),
                         "%.1f s; longest single %.1f s (x%.2f); sum of singles %.1f s"
                         % (bwall, max(singles), bwall / max(singles), sum(singles))))
        finally:
            w.stop()

    if WIDE and "wide" in PARTS:
        wide = ["wide%02d-bulk" % i for i in range(WIDE)]
        deps = [deployment(n, grace=2) for n in wide]
        if REPLICAS:
            deps.append(dict(deployment("fleet-bulk", grace=2), replicas=REPLICAS))
        w = World(deps)
        w.start(timeout=600)
        try:
            report(grow(w, wide, WIDE, "%d deployments" % WIDE))
            if REPLICAS:
                report(grow(w, ["fleet-bulk"], REPLICAS,
                                   "1 Deployment of %d replicas" % REPLICAS))
        finally:
            w.stop()
    finish(t_start)


def finish(t_start):
    print("\n| measure | result |\n|---|---|")
    for k, v in ROWS:
        print("| %s | %s |" % (k, v))
    print("\n(%.0f s in all; %s)" % (time.time() - t_start, os.uname().machine))
    if any(v.startswith("FAILED") for _, v in ROWS):
        sys.exit(1)


if __name__ == "__main__":
    main()
