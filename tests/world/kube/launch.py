"""The kubelet's side of tests/world/launcher.py: a pod's Celery worker
started as a fork of the test runner's launcher (Celery imported once)
rather than a new `python3 -m celery` process. LaunchedProc answers as the
subprocess.Popen the kubelet uses otherwise (pid, returncode, poll, wait)."""
import json
import os
import queue
import socket
import subprocess
import threading
import time

from kube.util import log


class LaunchedProc:
    def __init__(self, client, pid, args):
        self.client = client
        self.pid = pid
        self.args = args
        self.returncode = None

    def poll(self):
        if self.returncode is None:
            self.returncode = self.client.exit_status(self.pid)
        return self.returncode

    def wait(self, timeout=None):
        end = None if timeout is None else time.time() + timeout
        while self.poll() is None:
            if end is not None and time.time() >= end:
                raise subprocess.TimeoutExpired(self.args, timeout)
            time.sleep(0.01)
        return self.returncode


class Launcher:
    """One connection to the launcher at path; thread-safe."""

    def __init__(self, path):
        self.path = path
        self.sock = None
        self.lock = threading.Lock()
        self.answers = queue.Queue()
        self.exits = {}
        self.exits_lock = threading.Lock()
        self.closed = False

    def connect(self):
        end = time.time() + 30          # the launcher imports Celery first
        while True:
            s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            try:
                s.connect(self.path)
                break
            except OSError:
                s.close()
                if time.time() >= end:
                    raise
                time.sleep(0.02)
        self.sock = s
        threading.Thread(target=self.read, daemon=True).start()

    def read(self):
        buf = b""
        while True:
            try:
                data = self.sock.recv(65536)
            except OSError:
                data = b""
            if not data:
                self.closed = True
                self.answers.put({"error": "the launcher closed the connection"})
                return
            buf += data
            while b"\n" in buf:
                line, buf = buf.split(b"\n", 1)
                msg = json.loads(line)
                if "exit" in msg:
                    with self.exits_lock:
                        self.exits[msg["exit"]] = msg["status"]
                else:
                    if "pid" in msg:    # a reused pid: its old exit is not this one's
                        with self.exits_lock:
                            self.exits.pop(msg["pid"], None)
                    self.answers.put(msg)

    def exit_status(self, pid):
        with self.exits_lock:
            return self.exits.get(pid)

    def spawn(self, cmd, cwd, env, log_path, err_path=None):
        """cmd: ["/usr/bin/python3", "-m", "celery", ARGS...],
        ["/usr/bin/python3", "-c", CODE] or ["/usr/bin/python3", SCRIPT, ARGS...]."""
        if cmd[1:3] == ["-m", "celery"]:
            req = {"argv": cmd[3:]}
        elif cmd[1] == "-c":
            req = {"code": cmd[2], "argv": cmd[3:]}
        else:
            req = {"script": cmd[1], "argv": cmd[2:]}
        req.update(env=env, cwd=cwd, log=log_path, errlog=err_path)
        with self.lock:
            if self.sock is None or self.closed:
                if self.sock is not None:       # the launcher exited: start again
                    self.sock.close()
                    self.answers = queue.Queue()
                    self.closed = False
                self.connect()
            self.sock.sendall((json.dumps(req) + "\n").encode())
            msg = self.answers.get(timeout=30)
        if "error" in msg:
            raise OSError("launcher: " + msg["error"])
        return LaunchedProc(self, msg["pid"], cmd)


_launcher = None


def launcher():
    """The launcher named by POD_LAUNCHER (a socket path), or None."""
    global _launcher
    path = os.environ.get("POD_LAUNCHER")
    if not path:
        return None
    if _launcher is None:
        _launcher = Launcher(path)
        log("pods' workers start from the launcher at %s" % path)
    return _launcher
