"""Signals at the loop's end: once every run has ended, only the summary's
webhook and the removal of the remote-control reply queue are left. A
webhook that never answers keeps the agent at most its deadline; a signal
then (once, twice) does not change what the runs did: the exit status is
the runs', -o json still prints its one document, and nothing sends the
operator to --recover for a run that needs none. drain-and-rollout(1),
EXIT STATUS, JSON OUTPUT."""
import json
import signal
import socket
import threading
import time

import pytest

from conftest import applied_patches, interrupt_twice_mid_restore, make_world
from world import NS, deployment, wait_for

pytestmark = pytest.mark.xdist_group("exit_signals")

DEP = "ecal-bulk"
LEASE = "drain-and-rollout:lease:%s:%s" % (NS, DEP)
JOURNAL = "drain-and-rollout:journal:%s:%s" % (NS, DEP)


class SilentHook:
    """A webhook that takes the POST and never answers (a chat service
    hanging); posted is set once a whole request arrived."""

    def __init__(self):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(8)
        self.posted = threading.Event()
        self.conns = []
        threading.Thread(target=self.serve, daemon=True).start()

    @property
    def url(self):
        return "http://127.0.0.1:%d/hooks/abc" % self.sock.getsockname()[1]

    def serve(self):
        while True:
            try:
                c, _ = self.sock.accept()
            except OSError:
                return
            self.conns.append(c)
            threading.Thread(target=self.read, args=(c,), daemon=True).start()

    def read(self, c):
        data = b""
        while b"\r\n\r\n" not in data:
            got = c.recv(65536)
            if not got:
                return
            data += got
        self.posted.set()

    def close(self):
        self.sock.close()
        for c in self.conns:
            c.close()


@pytest.fixture
def hook(request, tmp_path):
    h = SilentHook()
    request.addfinalizer(h.close)
    h.file = tmp_path / "hook"
    h.file.write_text(h.url + "\n")
    h.file.chmod(0o600)
    return h


def finish(w, p, timeout=90):
    out, err = p.communicate(timeout=timeout)
    with open("%s/agent.log" % w.tmp, "a") as f:
        f.write("[spawned]\n%s%s[exit %d]\n" % (out, err, p.returncode))
    return out, err


@pytest.mark.parametrize("signals", [1, 2], ids=["one", "two"])
def test_signals_while_the_webhook_hangs_keep_the_runs_outcome(request, hook, signals):
    """The run restarted its Deployment (exit 0); the webhook then hangs.
    SIGTERM once: the agent still waits for the webhook (bounded by its
    deadline); twice: it exits at once. Either way the exit status is the
    run's (0), the JSON document says so, and no run is left to --recover."""
    w = make_world(request, [deployment(DEP, grace=2),
                             deployment("common-redbeat", worker=False)])
    p = w.spawn(DEP, "-o", "json", "--notify-url-file", str(hook.file),
                "--notify-on-success")
    wait_for(hook.posted.is_set, 120, "the webhook's POST", interval=0.1)
    for _ in range(signals):
        p.send_signal(signal.SIGTERM)
        time.sleep(0.2)     # two signals, not one coalesced (not a synchronisation)
    t0 = time.time()
    out, err = finish(w, p, timeout=60)
    assert p.returncode == 0, err
    if signals == 2:
        assert time.time() - t0 < 3, "the second signal must exit at once"
    doc = json.loads(out)
    assert doc["exit_status"] == p.returncode, (doc, err)
    (d,) = doc["deployments"]
    assert d["outcome"] == "ok", d
    assert "--recover" not in err, err
    assert len(applied_patches(w)) == 1
    assert not w.r().exists(JOURNAL)
    st = w.run("--status")
    assert "INTERRUPTED" not in st.stdout, st.stdout



def test_second_signal_mid_restore_still_prints_the_document(request):
    """-o json: a second SIGINT while RESTORE's add-consumer is held exits
    at once, 9, and still prints the one document: exit_status the
    process's, the run abandoned in RESTORE (restore-failed), its cause."""
    w = make_world(request, [deployment(DEP, grace=2),
                             deployment("common-redbeat", worker=False)])
    worker = w.worker_of(DEP)
    ids = w.enqueue(DEP, 1, 8.0)
    w.wait_started(ids, 1)
    p = w.spawn(DEP, "-o", "json", "--lease-ttl", "2s")
    wait_for(lambda: w.r().hget(JOURNAL, "state") == "drain", 30, "the drain", interval=0.05)
    interrupt_twice_mid_restore(w, p)
    out, err = finish(w, p, timeout=30)
    assert p.returncode == 9, err
    doc = json.loads(out)
    assert doc["exit_status"] == 9, (doc, err)
    (d,) = doc["deployments"]
    assert (d["outcome"], d["exit_code"]) == ("restore-failed", 9), d
    assert "signal" in d["error"], d
    w.flower_test("POST", "/_test/reset", {})
    wait_for(lambda: not w.r().exists(LEASE), 10, "the lease to expire", interval=0.1)
    r = w.run("--recover", DEP)
    assert r.returncode == 0, r.stderr
    assert w.consumes(worker, DEP)
    w.wait_done(ids, timeout=30)
    w.assert_exactly_once(ids)


def test_sigterm_on_a_recover_that_wrote_nothing_keeps_the_journal(request):
    """A run SIGKILLed mid-drain leaves its journal (the worker drained).
    --recover takes the lease and reads the Deployment, which the API server
    answers late; SIGTERM then: the recovery wrote nothing and changed
    nothing, so the dead run's journal must stay (a run interrupted before
    its first write does not remove a journal it did not write): --status
    still shows it INTERRUPTED, and a --recover later gives the worker its
    queue back."""
    w = make_world(request, [deployment(DEP, grace=2),
                             deployment("common-redbeat", worker=False)])
    worker = w.worker_of(DEP)
    ids = w.enqueue(DEP, 1, 8.0)
    w.wait_started(ids, 1)
    p = w.spawn(DEP, "--lease-ttl", "2s")
    wait_for(lambda: w.r().hget(JOURNAL, "state") == "drain", 30, "the drain", interval=0.05)
    wait_for(lambda: not w.consumes(worker, DEP), 15, "the worker drained", interval=0.2)
    p.kill()
    p.wait()
    wait_for(lambda: not w.r().exists(LEASE), 10, "the lease to expire", interval=0.1)
    w.kube_test("POST", "/_test/faults", {
        "method": "GET", "count": 1, "delay": 4,
        "path_prefix": "/apis/apps/v1/namespaces/%s/deployments/%s" % (NS, DEP)})
    rec = w.spawn("--recover", DEP)
    wait_for(lambda: w.r().exists(LEASE), 15, "the recovery's lease", interval=0.05)
    rec.send_signal(signal.SIGTERM)
    out, err = finish(w, rec, timeout=60)
    assert rec.returncode == 8, err
    assert w.r().hget(JOURNAL, "state") == "drain", "the dead run's journal was removed"
    assert not w.r().exists(LEASE)
    assert "INTERRUPTED" in w.run("--status").stdout
    assert not w.consumes(worker, DEP)
    r = w.run("--recover", DEP)
    assert r.returncode == 0, r.stderr
    assert w.consumes(worker, DEP)
    assert not w.r().exists(JOURNAL)
    w.wait_done(ids, timeout=30)
    w.assert_exactly_once(ids)
