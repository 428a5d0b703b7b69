"""make bench: drain-and-rollout's speed and cost against the test world
(real Redis, real Celery workers, the Kubernetes and Flower doubles).

  1. drain-detection latency: from the last drained task's return to the
     restart PATCH arriving at the Kubernetes double; event mode and polling
     every 5 s (what a hand-written loop does), N drains each
  2. cost of waiting: CPU seconds and peak RSS of the agent while 15
     deployments drain at once for about a minute
  3. batch time: 15 deployments with --max-parallel 15 versus single runs
  4. Flower requests per drained worker in event mode, short and long drains

Prints a table (Markdown) for the README's Performance section.
Environment: BENCH_DRAINS (default 10), BENCH_DEPLOYMENTS (default 15).
"""
import os
import resource
import statistics
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "world"))
from world import World, deployment  # noqa: E402

N = int(os.environ.get("BENCH_DRAINS", "10"))
D = int(os.environ.get("BENCH_DEPLOYMENTS", "15"))


def patch_times(w, dep):
    return [r["t"] for r in w.kube_requests()
            if r["method"] == "PATCH" and "/deployments/%s?" % dep in r["path"]]


def proc_status(pid):
    """VmHWM and RssAnon (KiB) of a live process, from /proc."""
    out = {}
    try:
        with open("/proc/%d/status" % pid) as f:
            for line in f:
                k, _, v = line.partition(":")
                if k in ("VmHWM", "RssAnon"):
                    out[k] = int(v.split()[0])
    except OSError:
        pass
    return out


def timed_run(w, *args):
    """Run the agent; return (wall seconds, cpu seconds, peak RSS KiB,
    peak anonymous RSS KiB, exit).

    The peak comes from the agent's own VmHWM, sampled every 50 ms: the
    ru_maxrss that wait4 reports would also count this Python process,
    whose memory the child shares between vfork and exec."""
    t0 = time.time()
    p = subprocess.Popen(w.agent_argv(args), env=w.env(), stdout=subprocess.DEVNULL,
                         stderr=subprocess.PIPE, text=True)
    err = []
    t = threading.Thread(target=lambda: err.append(p.stderr.read()))
    t.start()
    hwm = anon = 0
    while True:
        pid, status, ru = os.wait4(p.pid, os.WNOHANG)
        if pid:
            break
        st = proc_status(p.pid)
        hwm = max(hwm, st.get("VmHWM", 0))
        anon = max(anon, st.get("RssAnon", 0))
        time.sleep(0.05)
    p.returncode = os.waitstatus_to_exitcode(status)
    t.join()
    p.stderr.close()
    if p.returncode != 0:
        print(err[0][-3000:], file=sys.stderr)
    return time.time() - t0, ru.ru_utime + ru.ru_stime, hwm, anon, p.returncode


def latency(w, mode_args, label):
    lat = []
    for i in range(N):
        ids = w.enqueue("ecal-bulk", 2, 1.5, tag="lat%d" % i)
        w.wait_started(ids, 1)
        before = len(patch_times(w, "ecal-bulk"))
        _, _, _, _, rc = timed_run(w, "ecal-bulk", *mode_args)
        assert rc == 0, "drain failed"
        done_at = w.r(15).hmget("ledger:done_at", ids)
        last = max(float(x) for x in done_at)
        patch = patch_times(w, "ecal-bulk")[before]
        lat.append((patch - last) * 1000)
        time.sleep(1.1)     # restartedAt has one-second resolution
    return label, lat


def main():
    rows = []
    t_start = time.time()
    w = World([deployment("ecal-bulk", grace=2)])
    w.start()
    try:
        for args, label in ((["--poll-interval", "5s"], "event mode"),
                            (["--no-events", "--poll-interval", "5s"], "polling every 5 s")):
            label, lat = latency(w, args, label)
            rows.append(("drain-detection latency, %s (ms, %d drains)" % (label, N),
                         "median %.0f, max %.0f" % (statistics.median(lat), max(lat))))
        # Flower requests per drained worker: short and long drains
        for secs in (1.0, 12.0):
            ids = w.enqueue("ecal-bulk", 2, secs, tag="req")
            w.wait_started(ids, 1)
            w.flower_test("DELETE", "/_test/requests")
            timed_run(w, "ecal-bulk")
            n = len([r for r in w.flower_test("GET", "/_test/requests")
                     if r["path"].startswith("/api/")])
            rows.append(("Flower requests per drained worker, event mode, %.0f s drain"
                         % (2 * secs), str(n)))
            time.sleep(1.1)
    finally:
        w.stop()

    names = ["bench%02d-bulk" % i for i in range(D)]
    w = World([deployment(n, grace=2) for n in names])
    w.start()
    try:
        singles = []
        for n in names:
            ids = w.enqueue(n, 2, 3.0, tag="single")
            w.wait_started(ids, 1)
            wall, _, _, _, rc = timed_run(w, n)
            assert rc == 0
            singles.append(wall)
        time.sleep(1.1)
        # every worker busy for about a minute: 1 running + 4 prefetched of 12 s
        all_ids = []
        for n in names:
            all_ids += w.enqueue(n, 5, 12.0, tag="batch")
        w.wait_started(all_ids, len(names), timeout=120)
        wall, cpu, rss, anon, rc = timed_run(w, *names, "--max-parallel", str(D))
        assert rc == 0
        w.wait_done(all_ids, timeout=60)
        w.assert_exactly_once(all_ids)
        rows.append(("cost of waiting: %d deployments draining at once, %.0f s" % (D, wall),
                     "CPU %.2f s (%.2f%% of wall), peak RSS %.1f MiB, of which %.1f MiB "
                     "anonymous (the rest: shared-library pages)"
                     % (cpu, 100 * cpu / wall, rss / 1024, anon / 1024)))
        ids = []
        for n in names:
            ids += w.enqueue(n, 2, 3.0, tag="b2")
        w.wait_started(ids, len(names), timeout=120)
        bwall, _, _, _, rc = timed_run(w, *names, "--max-parallel", str(D))
        assert rc == 0
        rows.append(("batch time, %d deployments, --max-parallel %d" % (D, D),
                     "%.1f s; longest single %.1f s (x%.2f); sum of singles %.1f s"
                     % (bwall, max(singles), bwall / max(singles), sum(singles))))
    finally:
        w.stop()
    print("\n| measure | result |\n|---|---|")
    for k, v in rows:
        print("| %s | %s |" % (k, v))
    print("\n(%.0f s in all; %s)" % (time.time() - t_start, os.uname().machine))


if __name__ == "__main__":
    main()
