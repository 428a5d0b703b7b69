"""The platform's conventions: what a Unix user expects of a command."""
import os
import signal
import subprocess

from conftest import applied_patches, make_world
from world import NS, deployment, wait_for

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
