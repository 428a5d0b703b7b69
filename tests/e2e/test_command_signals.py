"""A signal while a command waits for Redis or Kubernetes. Every wait is a
step on the program's one loop (cmd.h): the signal is never delivered
inside a command's step. Outside the runs a command has changed nothing
and a signal keeps its default action (the process ends at once, killed by
it); --status --watch handles SIGINT/SIGTERM itself (exit 8); within the
runs of --status DEPLOYMENT the runs' handler ends them (exit 8).
drain-and-rollout(1), EXIT STATUS."""
import signal
import socket
import time

import pytest

from world import NS, wait_for

pytestmark = pytest.mark.xdist_group("command_signals")

DEP = "ecal-bulk"
DEPLOYMENTS = "/apis/apps/v1/namespaces/%s/deployments" % NS


class MuteRedis:
    """A Redis that takes the connection and never answers (a frozen
    server: SIGSTOPped, or a DEBUG SLEEP)."""

    def __init__(self):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(8)
        self.conns = []

    @property
    def url(self):
        return "redis://127.0.0.1:%d/0" % self.sock.getsockname()[1]

    def wait_asked(self, timeout=30):
        """Until a client connected and sent its first command (from its
        loop: it waits for the answer)."""
        self.sock.settimeout(timeout)
        c, _ = self.sock.accept()
        self.conns.append(c)
        c.settimeout(timeout)
        return c.recv(4096)

    def close(self):
        for c in self.conns:
            c.close()
        self.sock.close()


@pytest.fixture
def mute_redis():
    m = MuteRedis()
    yield m
    m.close()


def fault_taken(w):
    """The Kubernetes double holds the request the fault delays."""
    return all(f["count"] == 0 for f in w.kube_test("GET", "/_test/faults"))


def signalled(w, p, sig, args, timeout=10):
    """Send sig; the exit status and stderr, once it ended (in time)."""
    t0 = time.monotonic()
    p.send_signal(sig)
    out, err = p.communicate(timeout=timeout)
    took = time.monotonic() - t0
    with open("%s/agent.log" % w.tmp, "a") as f:
        f.write("$ %s  [%s]\n%s%s[exit %d]\n" % (" ".join(args), sig.name, out, err,
                                                 p.returncode))
    return p.returncode, err, took


@pytest.mark.parametrize("watch", [False, True], ids=["status", "watch"])
def test_sigterm_while_status_waits_for_redis(shared_world, mute_redis, watch):
    """--status (or --status --watch) connected to a Redis that does not
    answer, waiting up to --request-timeout (60 s): SIGTERM ends it at
    once. --status, which changed nothing, is ended by the signal (its
    default action, no handler runs, no crash); --watch says so and exits
    8."""
    w = shared_world
    args = ("--status", "--request-timeout", "60s") + (("--watch",) if watch else ())
    p = w.spawn(*args, env=w.env(DRAIN_REDIS_URL=mute_redis.url))
    try:
        assert mute_redis.wait_asked(), "the agent closed its connection"
    except socket.timeout:
        p.kill()
        raise AssertionError("the agent never asked: %s" % (p.communicate(),))
    assert p.poll() is None, p.communicate()
    rc, err, took = signalled(w, p, signal.SIGTERM, args)
    assert took < 5, (took, err)
    if watch:
        assert rc == 8, err
        assert "signal 15: stopped following the runs; nothing was changed" in err, err
    else:
        assert rc == -signal.SIGTERM, (rc, err)
    assert "ERROR: AddressSanitizer" not in err and "runtime error" not in err, err


def test_sigterm_while_status_waits_for_the_holds(shared_world):
    """--status lists the held Deployments last; the API server holds that
    list (20 s): SIGTERM ends it at once, killed by the signal (nothing was
    changed), not after the list's answer."""
    w = shared_world
    w.kube_test("DELETE", "/_test/faults")
    w.kube_test("POST", "/_test/faults", {"method": "GET", "count": 1, "delay": 20,
                                          "path_prefix": DEPLOYMENTS})
    args = ("--status",)
    p = w.spawn(*args)
    try:
        wait_for(lambda: fault_taken(w) or p.poll() is not None, 30,
                 "--status's list of the Deployments held by the API server", interval=0.05)
        assert p.poll() is None, p.communicate()
        rc, err, took = signalled(w, p, signal.SIGTERM, args)
    finally:
        w.kube_test("DELETE", "/_test/faults")
    assert rc == -signal.SIGTERM, (rc, err)
    assert took < 5, (took, err)


def test_sigterm_while_status_runs_wait_for_kubernetes(shared_world):
    """--status DEPLOYMENT shows the workers with a run that changes
    nothing; the API server holds its read of the Deployment (20 s):
    SIGTERM is the runs' interrupt, exit 8, well before that read's
    answer."""
    w = shared_world
    w.kube_test("DELETE", "/_test/faults")
    w.kube_test("POST", "/_test/faults", {"method": "GET", "count": 1, "delay": 20,
                                          "path_prefix": "%s/%s" % (DEPLOYMENTS, DEP)})
    args = ("--status", "--request-timeout", "3s", DEP)
    p = w.spawn(*args)
    try:
        wait_for(lambda: fault_taken(w) or p.poll() is not None, 30,
                 "the run's read of the Deployment held by the API server", interval=0.05)
        assert p.poll() is None, p.communicate()
        rc, err, took = signalled(w, p, signal.SIGTERM, args, timeout=30)
    finally:
        w.kube_test("DELETE", "/_test/faults")
    assert rc == 8, err
    assert "signal 15" in err, err
    assert took < 15, (took, err)
    assert "ERROR: AddressSanitizer" not in err and "runtime error" not in err, err
