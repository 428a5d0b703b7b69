"""The platform's conventions: what a Unix user expects of a command; and
the program's own (one event loop)."""
import fcntl
import glob
import os
import pty
import re
import signal
import struct
import subprocess
import termios

from conftest import applied_patches, make_world, read_terminal
from world import AGENT, NS, ROOT, deployment, wait_for

DEP = "ecal-bulk"
JOURNAL = "drain-and-rollout:journal:%s:%s" % (NS, DEP)


def test_nohup_a_sighup_ignored_at_start_stays_ignored(request):
    """`nohup drain-and-rollout ...`: the SSH session that closes sends a
    SIGHUP the run must not take for an interrupt; it drains, restarts and
    verifies as if nothing happened."""
    w = make_world(request, [deployment(DEP, grace=2),
                             deployment("common-redbeat", worker=False)])
    worker = w.worker_of(DEP)
    ids = w.enqueue(DEP, 1, 6.0)
    w.wait_started(ids, 1)
    args = (DEP,)
    p = subprocess.Popen(w.agent_argv(args), env=w.env(), stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, text=True,
                         preexec_fn=lambda: signal.signal(signal.SIGHUP, signal.SIG_IGN))
    wait_for(lambda: w.r().hget(JOURNAL, "state") == "drain", 60, "the drain", interval=0.05)
    wait_for(lambda: not w.consumes(worker, DEP), 15, "the consumer cancelled", interval=0.2)
    p.send_signal(signal.SIGHUP)
    out, err = p.communicate(timeout=180)
    with open(os.path.join(w.tmp, "agent.log"), "a") as f:
        f.write("$ %s  [nohup]\n%s%s[exit %d]\n" % (" ".join(args), out, err, p.returncode))
    assert p.returncode == 0, err
    assert "signal" not in err, err
    assert len(applied_patches(w)) == 1
    w.wait_done(ids)
    w.assert_exactly_once(ids)


def run_with_stderr_in(path, env_extra, *args):
    env = dict(os.environ, **env_extra)
    with open(path, "w") as f:
        rc = subprocess.run([AGENT] + list(args), stdout=subprocess.DEVNULL, stderr=f,
                            env=env, timeout=30).returncode
    with open(path) as f:
        return rc, f.read()


def test_journald_lines_carry_their_priority_and_no_timestamp(tmp_path):
    """Under systemd, stderr is the journal's stream (JOURNAL_STREAM names its
    device and inode): each line starts with its syslog priority, so that
    `journalctl -p err` finds the errors, and has no timestamp of its own."""
    path = str(tmp_path / "stderr")
    open(path, "w").close()
    st = os.stat(path)
    rc, err = run_with_stderr_in(path, {"JOURNAL_STREAM": "%d:%d" % (st.st_dev, st.st_ino)},
                                 "--drain-timeout", "soon", DEP)
    assert rc == 2, err
    first = err.splitlines()[0]
    assert first.startswith("<3>error: "), err
    assert not re.search(r"\d{4}-\d\d-\d\dT", err), err
    # another stream (a pipe, a file the journal did not open): timestamps
    rc, err = run_with_stderr_in(path, {"JOURNAL_STREAM": "%d:%d" % (st.st_dev, st.st_ino + 1)},
                                 "--drain-timeout", "soon", DEP)
    assert rc == 2, err
    assert "<3>" not in err and re.match(r"\d{4}-\d\d-\d\dT\S+ error: ", err), err


ESC = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
LIVE = re.compile(r"^%s {2,}\S" % DEP)
ELAPSED = re.compile(r"(\d+\.\ds|\d+m\d\ds|\d+h\d\dm)$")


def drain_only_on_a_terminal(w, cols, env_extra):
    """--drain-only of a busy worker with stderr on a terminal of cols
    columns: the raw bytes it wrote, and --undrain after it."""
    ids = w.enqueue(DEP, 1, 4.0)
    w.wait_started(ids, 1)
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 24, cols, 0, 0))
    env = dict(w.env(), **env_extra)
    p = subprocess.Popen(w.agent_argv(("--drain-only", DEP)), env=env, stdin=subprocess.DEVNULL,
                         stdout=slave, stderr=slave)
    os.close(slave)
    raw = read_terminal(master)
    rc = p.wait(timeout=120)
    with open(os.path.join(w.tmp, "agent.log"), "a") as f:
        f.write("$ --drain-only %s  [on a terminal]\n%s[exit %d]\n" % (
            DEP, raw.decode("utf-8", "replace"), rc))
    assert rc == 0, raw
    assert w.run("--undrain", DEP).returncode == 0
    w.wait_done(ids)
    return raw.decode("utf-8")


def test_live_status_fits_the_terminal_and_follows_no_color_and_dumb(request):
    w = make_world(request, [deployment(DEP, grace=2),
                             deployment("common-redbeat", worker=False)])
    cols = 72
    out = drain_only_on_a_terminal(w, cols, {"TERM": "xterm"})
    live = [l for l in ESC.sub("", out).replace("\r", "").split("\n") if LIVE.match(l)]
    assert live, out
    assert any("task(s) left" in l and "..." in l for l in live), live
    for l in live:
        assert len(l) <= cols - 1, l
        assert ELAPSED.search(l), l
    assert "\x1b[1m" in out and "\x1b[1A" in out
    out = drain_only_on_a_terminal(w, cols, {"TERM": "xterm", "NO_COLOR": "1"})
    assert "\x1b[1m" not in out and "\x1b[1A" in out, out
    out = drain_only_on_a_terminal(w, cols, {"TERM": "dumb"})
    assert "\x1b[" not in out, out


def loop_runs(agent_dir):
    """{file: how many calls run the libev loop} in agent_dir/*.c, comments
    and strings left out (ev_loop() is libev 3's name of ev_run())."""
    runs = {}
    for path in sorted(glob.glob(os.path.join(agent_dir, "*.c"))):
        with open(path) as f:
            code = re.sub(r"/\*.*?\*/|//[^\n]*|\"(?:\\.|[^\"\\\n])*\"|'(?:\\.|[^'\\\n])*'",
                          " ", f.read(), flags=re.S)
        n = len(re.findall(r"\bev_(?:run|loop)\s*\(", code))
        if n:
            runs[os.path.basename(path)] = n
    return runs


def test_one_event_loop():
    """The program runs its libev loop once, in main.c (cmd.h): a command
    waits for an answer through a callback on that loop, never by running
    the loop again inside one of its steps. A nested loop delivers every
    other event (a signal, a timer, another reply) inside code not ready
    for it."""
    assert loop_runs(os.path.join(ROOT, "agent")) == {"main.c": 1}
