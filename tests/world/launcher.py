"""Starts the test worlds' Celery workers as forks of one process that has
Celery imported already, as a fork server does.

A worker started with `python3 -m celery -A etl worker ...` spends 0.5 s of
CPU importing Celery before it does anything; a test world starts two or more
of them, and that was most of the test suite's CPU. One launcher per test
runner (World starts it on first use) imports Celery once; the Kubernetes
double of every world of that runner asks it to start a pod's worker, and the
launcher forks. The child becomes what `python3 -m celery ARGS` would be: its
own session (the kubelet's killpg), the pod's environment, working
directory, standard input /dev/null and the pod's log as standard output and
error, Python's default signal dispositions, then Celery's command line run as
`-m celery` runs it (runpy). It imports etl.py itself, after its environment
is set. It is the real Celery worker; only the import is shared.

The Flower double (a Python script importing Celery too) starts the same way,
and so do the tests' one-off `python3 -c` programs that use etl.py (an
enqueue, a remote-control inspection: World.python_c()).

Protocol, one JSON line each way, on a Unix socket (the path is argv[1]):
  request  {"argv": ["-A", "etl", "worker", ...], "env": {...}, "cwd": DIR,
            "log": PATH}          python3 -m celery ARGV
           ("errlog": PATH: standard error apart)
           {"script": PATH, "argv": [...], ...}   python3 PATH ARGV
           {"code": CODE, "argv": [], ...}        python3 -c CODE
  answer   {"pid": N} or {"error": why}
  notice   {"exit": N, "status": S}   S as subprocess.Popen.returncode
                                      (negative: the signal that killed it)
A connection's notices name only the processes it started. When a connection
closes (its Kubernetes double exited), the launcher SIGKILLs what it started
and is still running: the pods die with their kubelet, as the exec path's
PR_SET_PDEATHSIG does. The launcher exits when its standard input closes (the
test runner is gone), killing every pod first. Each child has
PR_SET_PDEATHSIG=SIGKILL towards the launcher.
"""
import atexit
import ctypes
import json
import os
import runpy
import selectors
import signal
import socket
import sys
import threading
import traceback

# what a worker imports before it reads its configuration (measured with
# python3 -X importtime): the rest is a few milliseconds
import celery.bin.celery  # noqa: F401
import celery.apps.worker  # noqa: F401
import celery.worker.consumer  # noqa: F401
import celery.concurrency.prefork  # noqa: F401
import celery.concurrency.asynpool  # noqa: F401
import celery.events  # noqa: F401
import kombu.transport.redis  # noqa: F401
import redis  # noqa: F401

PR_SET_PDEATHSIG = 1
libc = ctypes.CDLL(None, use_errno=True)


class Conn:
    def __init__(self, sock):
        self.sock = sock
        self.buf = b""
        self.pids = set()

    def send(self, obj):
        try:
            self.sock.sendall((json.dumps(obj) + "\n").encode())
        except OSError:
            pass


def child(req, launcher_pid, close):
    """In the forked child: become the worker, never return."""
    code = 1
    try:
        os.setsid()
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
        if os.getppid() != launcher_pid:
            os._exit(137)
        signal.set_wakeup_fd(-1)
        for s in (signal.SIGCHLD, signal.SIGTERM, signal.SIGHUP, signal.SIGQUIT, signal.SIGUSR1,
                  signal.SIGUSR2):
            signal.signal(s, signal.SIG_DFL)
        signal.signal(signal.SIGINT, signal.default_int_handler)
        for c in close:
            c.close()
        null = os.open(os.devnull, os.O_RDONLY)
        log = os.open(req["log"], os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        err = os.open(req.get("errlog") or req["log"], os.O_WRONLY | os.O_APPEND | os.O_CREAT,
                      0o644)
        os.dup2(null, 0)
        os.dup2(log, 1)
        os.dup2(err, 2)
        for fd in (null, log, err):
            os.close(fd)
        os.environ.clear()
        os.environ.update(req["env"])
        os.chdir(req["cwd"])
        script = req.get("script")
        code_ = req.get("code")
        # sys.path[0] as `python3 SCRIPT`, `python3 -c CODE` or `python3 -m
        # celery` has it
        sys.path[0] = (os.path.dirname(os.path.abspath(script)) if script else
                       "" if code_ is not None else req["cwd"])
        sys.argv = [script or ("-c" if code_ is not None else "celery")] + list(req["argv"])
        try:
            if script:
                runpy.run_path(script, run_name="__main__")
            elif code_ is not None:
                exec(compile(code_, "<string>", "exec"), {"__name__": "__main__"})
            else:
                runpy.run_module("celery.__main__", run_name="__main__", alter_sys=True)
            code = 0
        except SystemExit as e:
            if e.code is None:
                code = 0
            elif isinstance(e.code, int):
                code = e.code
            else:
                print(e.code, file=sys.stderr)
                code = 1
        except BaseException:
            traceback.print_exc()
            code = 1
        # what the interpreter does at exit
        threading._shutdown()
        atexit._run_exitfuncs()
        sys.stdout.flush()
        sys.stderr.flush()
    except BaseException:
        try:
            traceback.print_exc()
        except BaseException:
            pass
    os._exit(code)


def main():
    path = sys.argv[1]
    me = os.getpid()
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(path)
    listener.listen(64)
    rpipe, wpipe = os.pipe()
    os.set_blocking(rpipe, False)
    os.set_blocking(wpipe, False)
    signal.signal(signal.SIGCHLD, lambda *a: None)
    signal.set_wakeup_fd(wpipe)
    sel = selectors.DefaultSelector()
    sel.register(listener, selectors.EVENT_READ, "listen")
    sel.register(rpipe, selectors.EVENT_READ, "sigchld")
    sel.register(sys.stdin.fileno(), selectors.EVENT_READ, "stdin")
    conns = {}
    owner = {}                  # pid -> Conn

    def kill(pids):
        for pid in pids:
            try:
                os.killpg(pid, signal.SIGKILL)
            except OSError:
                pass

    def reap():
        while True:
            try:
                pid, st = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                return
            if pid == 0:
                return
            c = owner.pop(pid, None)
            if c is not None:
                c.pids.discard(pid)
                c.send({"exit": pid, "status": os.waitstatus_to_exitcode(st)})

    def spawn(c, req):
        try:
            pid = os.fork()
        except OSError as e:
            c.send({"error": str(e)})
            return
        if pid == 0:
            sel.close()
            child(req, me, [listener] + [x.sock for x in conns.values()] +
                  [_Fd(rpipe), _Fd(wpipe)])
        owner[pid] = c
        c.pids.add(pid)
        c.send({"pid": pid})

    while True:
        for key, _ in sel.select():
            what = key.data
            if what == "listen":
                s, _ = listener.accept()
                conns[s.fileno()] = Conn(s)
                sel.register(s, selectors.EVENT_READ, "conn")
            elif what == "sigchld":
                try:
                    while os.read(rpipe, 512):
                        pass
                except BlockingIOError:
                    pass
                reap()
            elif what == "stdin":
                if not os.read(sys.stdin.fileno(), 512):
                    kill(list(owner))
                    return
            else:
                c = conns[key.fd]
                try:
                    data = c.sock.recv(65536)
                except OSError:         # reset by a Kubernetes double that died
                    data = b""
                if not data:
                    sel.unregister(c.sock)
                    del conns[key.fd]
                    kill(c.pids)
                    c.sock.close()
                    continue
                c.buf += data
                while b"\n" in c.buf:
                    line, c.buf = c.buf.split(b"\n", 1)
                    spawn(c, json.loads(line))


class _Fd:
    """A bare descriptor the child closes."""
    def __init__(self, fd):
        self.fd = fd

    def close(self):
        try:
            os.close(self.fd)
        except OSError:
            pass


if __name__ == "__main__":
    main()
