"""A container's entrypoint that runs several Celery workers (as an image that
starts a main worker and a side worker does, or `celery multi` in the
foreground): the pod's one process, which starts each command given (separated
by "--") and passes SIGTERM, SIGINT and SIGQUIT on to every one of them, as
tini or dumb-init do. It exits once all have exited, with the first non-zero
status among them (a signal as 128+N). A command that exits while no signal
came (a worker that died on its own) takes the container down: the others get
SIGTERM, as the kubelet would see the container exit anyway.
SIGKILL, after the grace period, reaches them all: they are in the pod's
process group (the kubelet's killpg).
With PODINIT_GATE set (a file's path), the commands after the first start only
once that file exists (a second worker slow to come up), and never after a
signal came."""
import os
import signal
import subprocess
import sys
import time


def main(argv):
    cmds, cur = [], []
    for a in argv:
        if a == "--":
            if cur:
                cmds.append(cur)
            cur = []
        else:
            cur.append(a)
    if cur:
        cmds.append(cur)
    gate = os.environ.get("PODINIT_GATE")
    later = cmds[1:] if gate else []
    procs = [subprocess.Popen(c) for c in (cmds[:1] if gate else cmds)]
    signalled = []

    def forward(sig, _frame):
        signalled.append(sig)
        for p in procs:
            if p.poll() is None:
                try:
                    p.send_signal(sig)
                except ProcessLookupError:
                    pass
    for s in (signal.SIGTERM, signal.SIGINT, signal.SIGQUIT):
        signal.signal(s, forward)
    status = 0
    left = list(procs)
    while left:
        if later and not signalled and os.path.exists(gate):
            started = [subprocess.Popen(c) for c in later]
            procs.extend(started)
            left.extend(started)
            later = []
        try:
            pid, st = os.waitpid(-1, os.WNOHANG if later else 0)
        except ChildProcessError:
            break
        except InterruptedError:
            continue
        if pid == 0:
            time.sleep(0.1)
            continue
        p = next((p for p in left if p.pid == pid), None)
        if p is None:
            continue
        left.remove(p)
        p.returncode = os.waitstatus_to_exitcode(st)
        code = p.returncode if p.returncode >= 0 else 128 - p.returncode
        if status == 0:
            status = code
        if not signalled and left:
            forward(signal.SIGTERM, None)
        later = []              # the container is going down
    return status


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
