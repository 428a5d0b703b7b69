"""--status --watch follows the runs in flight (the one a timer started)
until none is: without a terminal a line per change (the deployment in its
state, what it waits for), never the same line every refresh; it ends by
itself, exit 0, once the run has finished, and at once when nothing is in
flight. It changes nothing."""
import fcntl
import os
import pty
import re
import signal
import struct
import subprocess
import termios
import time

import pytest

from conftest import applied_patches, make_world, read_terminal
from world import NS, deployment, wait_for

pytestmark = pytest.mark.xdist_group("status_watch")

DEP = "ecal-bulk"
JOURNAL = "drain-and-rollout:journal:%s:%s" % (NS, DEP)
STAMP = r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ "


def test_nothing_in_flight_ends_at_once(shared_world):
    w = shared_world
    t = time.monotonic()
    assert w.run("--status").returncode == 0
    status = time.monotonic() - t           # a plain --status, for scale
    t = time.monotonic()
    p = w.run("--status", "--watch")
    took = time.monotonic() - t
    assert p.returncode == 0, p.stderr
    assert p.stdout == "no run in flight in namespace %s\n" % NS, p.stdout
    assert took < status + 2, "%.1fs to say nothing is in flight (--status: %.1fs)" % (
        took, status)
    # -w is its short form; it is --status's only
    p = w.run("--status", "-w", DEP)
    assert p.returncode == 0 and "no run in flight" in p.stdout, p.stderr
    p = w.run(DEP, "--watch")
    assert p.returncode == 2 and "-w/--watch does not apply to drain" in p.stderr, p.stderr
    p = w.run("--status", "--watch", "-o", "json")
    assert p.returncode == 2 and "--watch prints lines" in p.stderr, p.stderr


def test_follows_a_drain_to_its_end(shared_world):
    w = shared_world
    # long enough to be still running when the drain starts, also under
    # valgrind on a loaded machine
    ids = w.enqueue(DEP, 1, 15.0)
    w.wait_started(ids, 1)
    drain = w.spawn(DEP)
    try:
        wait_for(lambda: w.r().hget(JOURNAL, "state") == "drain", 120, "the drain")
        watch = w.spawn("--status", "--watch")
        out, err = watch.communicate(timeout=120)
        assert watch.returncode == 0, err
        # it ended by itself, once the run had finished
        assert drain.poll() is not None, "the watch ended while the run was in flight"
    finally:
        if drain.poll() is None:
            drain.wait(timeout=120)
    assert drain.returncode == 0, drain.stderr.read()
    lines = out.splitlines()
    draining = [l for l in lines if re.match(
        STAMP + r"%s +drain +draining: waiting for running and prefetched tasks "
        r"\(holder [^)]+\), for \d" % DEP, l)]
    assert len(draining) == 1, out          # once, not every 2 s
    assert any(re.match(STAMP + "%s: no longer in flight$" % DEP, l) for l in lines), out
    assert lines[-1] == "no run in flight in namespace %s" % NS, out
    # a line per change only: no line twice
    keys = [re.sub(r", for \S+$", "", re.sub("^" + STAMP, "", l)) for l in lines]
    assert len(keys) == len(set(keys)), out
    w.wait_done(ids)
    w.assert_exactly_once(ids)
    assert len(applied_patches(w)) == 1


@pytest.mark.xdist_group("status_watch_batch")
def test_follows_a_batch_to_its_end(request):
    """A nightly batch (-l, one at a time): between one run's end and the
    next one's lease there is no lease at all while the next one resolves
    (here 2.5 s: its GET of the Deployment answered late, a slow API
    server); the watch follows the second run too and ends after the
    batch."""
    lab = {"tier": "nightly"}
    w = make_world(request, [deployment("ecal-bulk", labels=lab),
                             deployment("csc-bulk", labels=lab)])
    ids = w.enqueue("ecal-bulk", 1, 6.0) + w.enqueue("csc-bulk", 1, 6.0, tag="c")
    w.wait_started(ids, 2)
    batch = w.spawn("-l", "tier=nightly", "--max-parallel", "1")
    try:
        first = wait_for(lambda: [d for d in ("ecal-bulk", "csc-bulk") if w.r().hget(
            "drain-and-rollout:journal:%s:%s" % (NS, d), "state") == "drain"], 60, "a drain")
        (second,) = {"ecal-bulk", "csc-bulk"} - set(first)
        # its first task ends while the first run drains: one more, longer,
        # keeps the second run in flight for several of the watch's polls
        ids += w.enqueue(second, 1, 12.0, tag="s")
        w.kube_test("POST", "/_test/faults", {
            "method": "GET", "count": 1, "delay": 2.5,
            "path_prefix": "/apis/apps/v1/namespaces/%s/deployments/%s" % (NS, second)})
        watch = w.spawn("--status", "--watch")
        out, err = watch.communicate(timeout=180)
        assert watch.returncode == 0, err
        assert batch.poll() is not None, "the watch ended while the batch went on:\n" + out
    finally:
        if batch.poll() is None:
            batch.wait(timeout=180)
    assert batch.returncode == 0, batch.stderr.read()
    for d in ("ecal-bulk", "csc-bulk"):
        assert re.search(r"^%s%s +(drain|restart|rollout|verify) " % (STAMP, d), out, re.M), out
        assert re.search(r"^%s%s: no longer in flight$" % (STAMP, d), out, re.M), out
    assert out.splitlines()[-1] == "no run in flight in namespace %s" % NS, out
    w.wait_done(ids)
    w.assert_exactly_once(ids)


def test_ctrl_c_ends_it(shared_world):
    """A run that stays in flight (its lease renewed by hand, as a run on
    another host would): the watch follows it until SIGINT, which ends it
    (exit 8, interrupted) without touching the lease or the journal."""
    w = shared_world
    lease = "drain-and-rollout:lease:%s:%s" % (NS, DEP)
    w.r().set(lease, "ops-host-7:4242:1795700000:0123abcd", px=60000)
    w.r().hset(JOURNAL, mapping={"holder": "ops-host-7:4242", "state": "rollout",
                                 "started": "%.3f" % (time.time() - 65)})
    try:
        watch = w.spawn("--status", "--watch")
        first = watch.stdout.readline()
        assert re.match(STAMP + r"%s +rollout +waiting for the rollout \(holder "
                        r"ops-host-7:4242\), for [1-9]m\d\d?s$" % DEP, first), first
        watch.send_signal(signal.SIGINT)
        out, err = watch.communicate(timeout=10)
        assert watch.returncode == 8, err
        assert "nothing was changed" in err
        assert w.r().exists(lease) and w.r().hget(JOURNAL, "state") == "rollout"
    finally:
        w.r().delete(lease, JOURNAL)


@pytest.mark.xdist_group("status_watch_redis")
def test_redis_restarting_is_waited_out(request):
    """Redis stops under the watch: it says so and reads again, never
    taking a run it cannot read for a run ended; once Redis is back it
    follows the run to its end."""
    w = make_world(request, persistent_redis=True)
    lease = "drain-and-rollout:lease:%s:%s" % (NS, DEP)
    w.r().set(lease, "ops-host-7:4242:1795700000:0123abcd", px=120000)
    w.r().hset(JOURNAL, mapping={"holder": "ops-host-7:4242", "state": "drain",
                                 "started": "%.3f" % time.time()})
    watch = w.spawn("--status", "--watch")
    try:
        assert " drain " in watch.stdout.readline()
        w._stop("redis")
        down = time.monotonic()
        wait_for(lambda: "cannot read the runs in flight" in watch.stderr.readline(), 30,
                 "the watch to say Redis cannot be read")
        # down longer than the 10 s grace: a run not read is not a run ended
        wait_for(lambda: watch.poll() is not None or time.monotonic() - down > 12, 30,
                 "the watch to end, or 12 s of Redis down")
        assert watch.poll() is None, watch.communicate()
        w.start_redis()
        wait_for(lambda: "reading the runs in flight again" in watch.stderr.readline(), 60,
                 "the watch to read again")
        w.r().delete(lease, JOURNAL)
        out, err = watch.communicate(timeout=30)
    finally:
        if watch.poll() is None:
            watch.kill()
    assert watch.returncode == 0, err
    lines = out.splitlines()
    assert re.match(STAMP + "%s: no longer in flight$" % DEP, lines[0]), out
    assert lines[1:] == ["no run in flight in namespace %s" % NS], out


def test_a_killed_run_ends_the_watch_saying_recover(request):
    """The run followed is SIGKILLed mid-drain: its lease expires, its
    journal stays. The watch ends (nothing is in flight) but not as if the
    run had ended: it names the run INTERRUPTED and --recover, exit 9 (a
    worker is left without consumers), as --status does; --recover then
    gives the worker its queue back."""
    w = make_world(request, [deployment(DEP, grace=2),
                             deployment("common-redbeat", worker=False)])
    worker = w.worker_of(DEP)
    ids = w.enqueue(DEP, 1, 15.0)
    w.wait_started(ids, 1)
    drain = w.spawn(DEP, "--lease-ttl", "3s")
    wait_for(lambda: w.r().hget(JOURNAL, "state") == "drain", 120, "the drain")
    watch = w.spawn("--status", "--watch")
    wait_for(lambda: w.r().exists("drain-and-rollout:lease:%s:%s" % (NS, DEP)), 10,
             "the lease")
    drain.kill()
    drain.wait()
    out, err = watch.communicate(timeout=60)
    assert watch.returncode == 9, (out, err)
    assert re.search(STAMP + "%s: no longer in flight; INTERRUPTED in state drain .*"
                     "--recover %s$" % (DEP, DEP), out, re.M), out
    assert "--recover" in out.splitlines()[-1], out
    assert "INTERRUPTED" in w.run("--status").stdout
    r = w.run("--recover", DEP)
    assert r.returncode == 0, r.stderr
    assert w.consumes(worker, DEP)
    w.wait_done(ids, timeout=60)
    w.assert_exactly_once(ids)


def screen_of(raw, cols):
    """The rows a terminal of cols columns shows after raw: it wraps at
    the last column; ESC[1A goes up a row, ESC[2K clears the row."""
    rows, r, c, i = [[]], 0, 0, 0
    while i < len(raw):
        if raw.startswith("\033[1A", i):
            r, i = max(0, r - 1), i + 4
            continue
        if raw.startswith("\033[2K", i):
            rows[r], i = [], i + 4
            continue
        ch, i = raw[i], i + 1
        if ch == "\r":
            c = 0
        elif ch == "\n":
            r, c = r + 1, 0
        else:
            if c >= cols:
                r, c = r + 1, 0
            while len(rows) <= r:
                rows.append([])
            row = rows[r]
            row.extend(" " * (c + 1 - len(row)))
            row[c] = ch
            c += 1
        while len(rows) <= r:
            rows.append([])
    return ["".join(x).rstrip() for x in rows]


def test_a_narrow_terminal_is_redrawn_in_place(shared_world):
    """On a terminal of 20 columns every line the watch redraws fits one
    row, so that redrawing leaves nothing behind: after a run ended, the
    'looking again' line of the grace period leaves no piece on the
    screen."""
    w = shared_world
    cols = 20
    ids = w.enqueue(DEP, 1, 6.0, tag="narrow")
    w.wait_started(ids, 1)
    drain = w.spawn(DEP)
    wait_for(lambda: w.r().hget(JOURNAL, "state") == "drain", 120, "the drain")
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 24, cols, 0, 0))
    watch = subprocess.Popen(w.agent_argv(("--status", "--watch")), env=w.env(TERM="xterm"),
                             stdin=subprocess.DEVNULL, stdout=slave, stderr=subprocess.PIPE)
    os.close(slave)
    raw = read_terminal(master)
    assert watch.wait(timeout=120) == 0, watch.stderr.read()
    drain.wait(timeout=120)
    assert drain.returncode == 0
    out = raw.decode()
    assert "no run in flight;" in out, out    # the grace period was drawn
    screen = [row for row in screen_of(out, cols) if row]
    assert not [row for row in screen if "again" in row or "batch" in row], screen
    last = "no run in flight in namespace %s" % NS
    assert "".join(screen).replace(" ", "").endswith(last.replace(" ", "")), screen
    w.wait_done(ids)
    w.assert_exactly_once(ids)
