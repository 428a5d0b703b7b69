"""The test world: a real redis-server, the Kubernetes API double (pods are
real Celery workers), the Flower API double, a kubeconfig for the agent, and
helpers to load work and read the ledger (see etl.py).

Used by the end-to-end tests (tests/e2e/), the doubles' conformance tests
(tests/world/test_*.py), the benchmarks and the demo (tests/demo.sh).
Everything binds to 127.0.0.1 on free ports (under pytest-xdist, each worker
has its own port range) in a temporary directory of its own; stop() ends
every process. The shared material (../shared from the repository's root) is
found through fixture_path().
"""
import atexit
import hashlib
import json
import os
import random
import ssl
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request

import redis

from kube.launch import Launcher

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.normpath(os.path.join(HERE, "..", ".."))
SHARED = os.path.normpath(os.path.join(ROOT, "..", "shared"))
PY = "/usr/bin/python3"
KUBECTL = "kubectl"
NS = "cms-dials-prod"
TOKEN = "sha256~e2e-token-4f2a9c"
AGENT = os.environ.get("DRAIN_BIN", os.path.join(ROOT, "drain-and-rollout"))
# The failed tests of this process, counted by tests/conftest.py, and the
# worlds alive: a world that stops with no test failed meanwhile removes its
# directory; one that saw a failure is kept for its logs, its path named in
# the failure's report.
FAILED = [0]
LIVE = []

# overrides for mutation tests of the doubles
KUBE_DOUBLE = os.environ.get("KUBE_DOUBLE") or os.path.join(HERE, "kube_double.py")
FLOWER_DOUBLE = os.environ.get("FLOWER_DOUBLE") or os.path.join(HERE, "flower_double.py")


def fixture_path(*parts):
    """A file of the shared fixtures, ../shared/fixtures from the repository's
    root. A missing one is an error (a test that needs it fails), never a
    reason to skip."""
    p = os.path.join(SHARED, "fixtures", *parts)
    if not os.path.exists(p):
        raise AssertionError("%s is missing: the shared material belongs at %s (../shared from the "
                             "repository's root)" % (os.path.join("fixtures", *parts), SHARED))
    return p


# where in its range this process starts: two suites run at once (two
# worktrees) walk their workers' ranges from different places
_next_port = [random.randrange(1000)]


def free_port():
    """A port nothing listens on. Under pytest-xdist each worker takes ports from
    its own range (below the kernel's ephemeral range), so that parallel worlds
    never pick the same one; otherwise the kernel picks."""
    wid = os.environ.get("PYTEST_XDIST_WORKER", "")
    if not wid.startswith("gw"):
        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        p = s.getsockname()[1]
        s.close()
        return p
    base = 20000 + (int(wid[2:]) % 12) * 1000
    for _ in range(1000):
        p = base + _next_port[0] % 1000
        _next_port[0] += 1
        s = socket.socket()
        try:
            s.bind(("127.0.0.1", p))
            return p
        except OSError:
            continue
        finally:
            s.close()
    raise AssertionError("no free port in %d-%d" % (base, base + 999))


def wait_for(pred, timeout, what, interval=0.1):
    end = time.time() + timeout
    while time.time() < end:
        v = pred()
        if v:
            return v
        time.sleep(interval)
    raise AssertionError("timed out after %.0fs waiting for %s" % (timeout, what))


def deployment(name, queues=None, grace=3, worker=True, labels=None, pds=600, shutdown=0,
               pool=None, side=None, sidecar=None, side_gate=False):
    """shutdown: seconds the worker's warm shutdown takes (its pod stays Terminating).
    pool: the Celery worker's pool options (default DIALS': --concurrency=1
    --autoscale=1,0 --max-tasks-per-child=1, whose new process per task makes
    the worker itself pause up to 5 s between tasks now and then).
    side: queues of a second worker, NAME-2@POD, in the same container (the pod's
    process starts both, kube/kubelet.py and podinit.py).
    side_gate: the side worker of the pods created while the gate is set (from
    the start; /_test/side-gate, DELETE to lift it) starts only on
    /_test/side-start {"pod": P} (a second worker slow to come up).
    sidecar: the name of a second container in the pod, after the worker's (a log
    shipper; /_test/sidecar-exit makes it exit)."""
    d = {"name": name, "worker": worker, "queues": queues or [name],
         "replicas": 1, "terminationGracePeriodSeconds": grace,
         "progressDeadlineSeconds": pds, "shutdownSeconds": shutdown,
         "labels": labels or {"app.kubernetes.io/part-of": name.split("-")[0] + "-etl"}}
    if pool is not None:
        d["poolArgs"] = pool
    if side:
        d["sideQueues"] = side
    if sidecar:
        d["sidecar"] = sidecar
    if side_gate:
        d["sideGate"] = True
    return d


def statefulset(name, replicas=2, queues=None, grace=3, strategy="RollingUpdate", partition=0,
                selector=None, shutdown=0):
    """A StatefulSet of Celery workers (kube/statefulsets.py)."""
    return {"name": name, "worker": True, "queues": queues or [name], "replicas": replicas,
            "terminationGracePeriodSeconds": grace, "updateStrategy": strategy, "partition": partition,
            "selector": selector or {"app": name}, "shutdownSeconds": shutdown}


class _Listener:
    """A TCP server on a free port of 127.0.0.1; each connection goes to
    self._serve(sock) in a thread of its own."""

    def __init__(self):
        self.socks = []
        self.srv = socket.socket()
        self.srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.srv.bind(("127.0.0.1", free_port()))
        self.srv.listen(8)
        self.port = self.srv.getsockname()[1]
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while True:
            try:
                c, _ = self.srv.accept()
            except OSError:
                return
            self.socks.append(c)
            threading.Thread(target=self._serve, args=(c,), daemon=True).start()

    def close(self):
        self.srv.close()
        for s in self.socks:
            s.close()


class ReplicationLink(_Listener):
    """The network between the replica and its master, as a TCP relay:
    freeze() drops what the master sends from then on, as a link that
    stalls does (the replica falls behind; replication is asynchronous, so
    the master acknowledges its clients' writes all the same)."""

    def __init__(self, master_port):
        self.master_port = master_port
        self.frozen = threading.Event()
        super().__init__()

    def _serve(self, c):
        try:
            u = socket.create_connection(("127.0.0.1", self.master_port))
        except OSError:
            c.close()
            return
        self.socks.append(u)
        threading.Thread(target=self._pipe, args=(u, c, True), daemon=True).start()
        self._pipe(c, u, False)

    def _pipe(self, src, dst, from_master):
        try:
            while True:
                d = src.recv(65536)
                if not d:
                    break
                if not (from_master and self.frozen.is_set()):
                    dst.sendall(d)
        except OSError:
            pass
        for s in (src, dst):
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def freeze(self):
        self.frozen.set()


class StaleSentinel(_Listener):
    """A sentinel cut off from the others when they failed the master over
    (a partition, a pod that was paused): it still names the master it
    knew, as redis-sentinel answers SENTINEL GET-MASTER-ADDR-BY-NAME (an
    array of host and port); PING and AUTH as a sentinel without a
    password answer them."""

    def __init__(self, name, host, port):
        self.name, self.host, self.port_named = name, host, port
        self.asked = 0
        super().__init__()

    @staticmethod
    def _bulk(s):
        return b"$%d\r\n%s\r\n" % (len(s), s.encode())

    def _answer(self, argv):
        cmd = [a.lower() for a in argv[:2]]
        if cmd[:1] == ["ping"]:
            return b"+PONG\r\n"
        if cmd[:1] == ["auth"]:
            return (b"-ERR AUTH <password> called without any password configured "
                    b"for the default user. Are you sure your configuration is correct?\r\n")
        if cmd == ["sentinel", "get-master-addr-by-name"] and len(argv) == 3:
            self.asked += 1
            if argv[2] != self.name:
                return b"*-1\r\n"
            return b"*2\r\n" + self._bulk(self.host) + self._bulk(str(self.port_named))
        return b"-ERR unknown command '%s'\r\n" % argv[0].encode()

    def _serve(self, c):
        f = c.makefile("rb")
        try:
            while True:
                line = f.readline()
                if not line.startswith(b"*"):
                    break
                argv = []
                for _ in range(int(line[1:])):
                    n = int(f.readline()[1:])
                    argv.append(f.read(n + 2)[:-2].decode())
                c.sendall(self._answer(argv))
        except (OSError, ValueError):
            pass
        c.close()



CERT_FILES = ("ca.crt", "ca.key", "server.crt", "server.key", "client.crt", "client.key")


def seed_certs(d):
    """The Kubernetes double's CA, server and client certificates, made once
    for every world of this user (three RSA keys are 2 s of CPU, most of
    what a world costs) and copied into d, where the double finds them."""
    with open(os.path.join(HERE, "kube", "certs.py"), "rb") as f:
        version = hashlib.sha256(f.read()).hexdigest()[:12]
    src = os.path.join(tempfile.gettempdir(), "drain-world-certs-%d-%s" % (os.getuid(), version))
    if not all(os.path.exists(os.path.join(src, n)) for n in CERT_FILES):
        from kube.certs import ensure_certs
        made = tempfile.mkdtemp(prefix="drain-world-certs-")
        ensure_certs(made)
        try:
            os.rename(made, src)        # atomic: another world may make them too
        except OSError:
            shutil.rmtree(made, ignore_errors=True)
    os.makedirs(d, exist_ok=True)
    for n in CERT_FILES:
        shutil.copy2(os.path.join(src, n), os.path.join(d, n))


_launcher = {"proc": None, "dir": None, "lock": threading.Lock()}


def pod_launcher():
    """The socket of this process's pod launcher (launcher.py: the pods'
    Celery workers start as its forks), started on first use and again if it
    died; it exits when this process does (its standard input closes)."""
    with _launcher["lock"]:
        p = _launcher["proc"]
        if p is None or p.poll() is not None:
            if _launcher["dir"] is None:
                _launcher["dir"] = tempfile.mkdtemp(prefix="drain-launcher-")
                atexit.register(shutil.rmtree, _launcher["dir"], True)
            sock = os.path.join(_launcher["dir"], "sock")
            if os.path.exists(sock):
                os.unlink(sock)
            p = _launcher["proc"] = subprocess.Popen(
                [PY, "-u", os.path.join(HERE, "launcher.py"), sock], cwd=HERE,
                stdin=subprocess.PIPE, start_new_session=True)
        return os.path.join(_launcher["dir"], "sock")


def launcher_client():
    """This process's connection to its pod launcher (kube/launch.py)."""
    path = pod_launcher()
    with _launcher["lock"]:
        # one for good: Launcher.spawn() connects again to a launcher
        # started anew (the socket's path stays)
        if _launcher.get("client") is None:
            _launcher["client"] = Launcher(path)
        return _launcher["client"]


def python_c(code, cwd, env, timeout=60):
    """`python3 -c code` (code using etl.py: Celery is imported already) as a
    fork of the pod launcher: a subprocess.CompletedProcess with its
    standard output and error."""
    files = []
    for _ in range(2):
        fd, path = tempfile.mkstemp(prefix="python-c-")
        os.close(fd)
        files.append(path)
    try:
        p = launcher_client().spawn([PY, "-c", code], cwd, env, files[0], files[1])
        try:
            rc = p.wait(timeout)
        except subprocess.TimeoutExpired:
            os.killpg(p.pid, signal.SIGKILL)
            raise
        text = []
        for path in files:
            with open(path, errors="replace") as f:
                text.append(f.read())
    finally:
        for path in files:
            os.unlink(path)
    return subprocess.CompletedProcess([PY, "-c", code], rc, text[0], text[1])


_enqueuer = {"proc": None, "lock": threading.Lock()}


def enqueuer_send(req):
    """One request to this process's enqueuer (started on first use, and
    again if it died); the tasks' ids."""
    with _enqueuer["lock"]:
        p = _enqueuer["proc"]
        if p is None or p.poll() is not None:
            p = _enqueuer["proc"] = subprocess.Popen(
                [PY, os.path.join(HERE, "enqueuer.py")], cwd=HERE, stdin=subprocess.PIPE,
                stdout=subprocess.PIPE, text=True)
        p.stdin.write(json.dumps(req) + "\n")
        p.stdin.flush()
        line = p.stdout.readline()
    if not line:
        raise RuntimeError("the enqueuer exited (exit %s)" % p.poll())
    out = json.loads(line)
    if isinstance(out, dict):
        raise RuntimeError("enqueue: " + out["error"])
    return out

class World:
    def __init__(self, deployments=None, flower=True, flower_auth=None, tmp=None,
                 persistent_redis=False, celery_env=None, flower_args=None,
                 flower_unauthenticated_api=True, statefulsets=None, imagestreams=None,
                 sentinels=0, replication_link=False):
        self.tmp = tmp or tempfile.mkdtemp(prefix="drain-world-")
        self.own_tmp = tmp is None
        self.failed_at_start = FAILED[0]
        LIVE.append(self)
        # persistent_redis: append-only file, so restart_redis() keeps the data
        self.persistent_redis = persistent_redis
        os.makedirs(self.tmp, exist_ok=True)
        self.deployments = deployments or [deployment("ecal-bulk")]
        self.statefulsets = statefulsets or []
        self.imagestreams = imagestreams or []     # kube/images.py
        self.flower_auth = flower_auth
        self.want_flower = flower
        # ETL_* settings of the Celery app (etl.py) for the pods, the Flower
        # double and the enqueueing code; key_prefix: its global_keyprefix
        self.celery_env = dict(celery_env or {})
        self.key_prefix = self.celery_env.get("ETL_KEY_PREFIX", "")
        # extra arguments of the Flower double (--version, --read-only, ...)
        self.flower_args = list(flower_args or [])
        self.flower_version = (self.flower_args[self.flower_args.index("--version") + 1]
                               if "--version" in self.flower_args else "2.0")
        # without auth: as FLOWER_UNAUTHENTICATED_API=true (else 401)
        self.flower_unauthenticated_api = flower_unauthenticated_api
        self.procs = {}
        self.logs = {}
        self.redis_port = free_port()
        self.kube_port = free_port()
        self.flower_port = free_port()
        self.broker_url = "redis://127.0.0.1:%d/0" % self.redis_port
        # sentinels=N: the broker is a master (redis_port) with a replica,
        # watched by N real redis-sentinel processes; everybody (workers,
        # the Flower double, the agent) reaches it through them, as Celery
        # does with broker_url "sentinel://...;sentinel://..." and
        # broker_transport_options master_name. The ledger then lives in a
        # Redis of its own, out of the failovers.
        self.sentinel_ports = [free_port() for _ in range(sentinels)]
        # replication_link: the replica reaches its master through a
        # ReplicationLink (self.link), which a test can freeze
        self.want_link = replication_link
        self.link = None
        self.master_name = "etl-broker" if sentinels else None
        if sentinels:
            self.replica_port = free_port()
            self.ledger_port = free_port()
            self.broker_url = ";".join("sentinel://127.0.0.1:%d/0" % p
                                       for p in self.sentinel_ports)
            self.celery_env.setdefault("ETL_SENTINEL_MASTER", self.master_name)
            self.celery_env.setdefault("LEDGER_URL", "redis://127.0.0.1:%d/15" % self.ledger_port)
        self.flower_url = "http://127.0.0.1:%d" % self.flower_port
        self.kubeconfig = os.path.join(self.tmp, "kubeconfig")
        self.certs = os.path.join(self.tmp, "certs")

    # ---- processes -----------------------------------------------------
    def _spawn(self, name, argv, env=None, cwd=None, launch=False):
        """launch: a Python script importing Celery, started as a fork of the
        pod launcher (launcher.py) rather than a process of its own."""
        log = open(os.path.join(self.tmp, name + ".log"), "ab")
        e = dict(os.environ)
        e.update(env or {})
        if launch:
            p = launcher_client().spawn(argv, cwd or os.getcwd(), e, log.name)
        else:
            p = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, env=e,
                                 cwd=cwd, start_new_session=True)
        self.procs[name] = p
        self.logs[name] = log
        return p

    def start(self, timeout=60):
        """timeout: for every pod to be ready (a world of many workers needs more)."""
        seed_certs(self.certs)
        self.start_redis()
        with open(os.path.join(self.tmp, "world.json"), "w") as f:
            json.dump({"deployments": self.deployments, "statefulsets": self.statefulsets,
                       "imagestreams": self.imagestreams}, f)
        ready = os.path.join(self.tmp, "kube.ready")
        self._spawn("kube", [PY, KUBE_DOUBLE,
                             "--port", str(self.kube_port), "--cert-dir", self.certs,
                             "--token", TOKEN, "--namespace", NS,
                             "--broker-url", self.broker_url,
                             "--config", os.path.join(self.tmp, "world.json"),
                             "--ready-file", ready],
                    env=dict(self.celery_env, POD_LAUNCHER=pod_launcher()))
        if self.want_flower:
            self.start_flower()
        wait_for(lambda: os.path.exists(ready) or self.procs["kube"].poll() is not None,
                 timeout, "the Kubernetes double")
        assert self.procs["kube"].poll() is None, self.log("kube")
        self.write_kubeconfig()
        # every worker known and online in Flower
        if self.want_flower:
            wait_for(lambda: self.all_workers_online(), max(30, timeout // 2), "workers online in Flower")
        return self

    def start_redis(self):
        self._start_redis_at("redis", self.redis_port)
        if self.sentinel_ports:
            self._start_sentinels()

    def _start_redis_at(self, name, port, *extra):
        old = self.logs.pop(name, None)
        if old is not None:
            old.close()
        self._spawn(name, ["redis-server", "--port", str(port),
                           "--bind", "127.0.0.1", "--save", "",
                           "--appendonly", "yes" if self.persistent_redis else "no",
                           "--appendfsync", "always" if self.persistent_redis else "everysec",
                           "--appendfilename", "%s.aof" % name,
                           "--dbfilename", "%s.rdb" % name,
                           "--dir", self.tmp] + list(extra))
        wait_for(lambda: self._redis_ping(port), 10, name, interval=0.02)

    # ---- Sentinel (World(sentinels=N)) -------------------------------------
    def _start_sentinels(self):
        upstream = self.redis_port
        if self.want_link and self.link is None:
            self.link = ReplicationLink(self.redis_port)
        if self.link is not None:
            upstream = self.link.port
        self._start_redis_at("redis-replica", self.replica_port,
                             "--replicaof", "127.0.0.1", str(upstream))
        self._start_redis_at("redis-ledger", self.ledger_port)
        quorum = len(self.sentinel_ports) // 2 + 1
        for i, port in enumerate(self.sentinel_ports):
            conf = os.path.join(self.tmp, "sentinel-%d.conf" % i)
            with open(conf, "w") as f:      # sentinel rewrites its file
                f.write("port %d\nbind 127.0.0.1\ndir %s\n"
                        "sentinel monitor %s 127.0.0.1 %d %d\n"
                        "sentinel down-after-milliseconds %s 1000\n"
                        "sentinel failover-timeout %s %d\n"
                        "sentinel parallel-syncs %s 1\n"
                        % (port, self.tmp, self.master_name, self.redis_port, quorum,
                           self.master_name, self.master_name,
                           # through a link, the replica names another
                           # master port: the sentinels "fix" it after
                           # this time; a failover is as quick either way
                           180000 if self.link is not None else 4000,
                           self.master_name))
            self._spawn("sentinel-%d" % i, ["redis-sentinel", conf])
        wait_for(lambda: self._replica_synced(self.replica_port), 20, "the replica in sync")
        wait_for(lambda: all(self._sentinel_ready(p) for p in self.sentinel_ports), 30,
                 "the sentinels to know the master, its replica and each other")

    def _replica_synced(self, port):
        try:
            info = redis.Redis(port=port).info("replication")
        except redis.exceptions.ConnectionError:
            return False
        return info.get("master_link_status") == "up"

    def _sentinel_ready(self, port):
        try:
            s = redis.Redis(port=port, decode_responses=True)
            m = s.execute_command("SENTINEL", "MASTER", self.master_name)
            m = dict(zip(m[::2], m[1::2])) if isinstance(m, list) else m
            return (int(m["num-slaves"]) >= 1 and
                    int(m["num-other-sentinels"]) >= len(self.sentinel_ports) - 1)
        except (redis.exceptions.ConnectionError, redis.exceptions.ResponseError):
            return False

    def master_port(self):
        """The master's port, as the first sentinel that answers says."""
        if not self.sentinel_ports:
            return self.redis_port
        for p in self.sentinel_ports:
            try:
                addr = redis.Redis(port=p, decode_responses=True).execute_command(
                    "SENTINEL", "GET-MASTER-ADDR-BY-NAME", self.master_name)
                if addr:
                    return int(addr[1])
            except redis.exceptions.ConnectionError:
                continue
        raise AssertionError("no sentinel answers")

    def failover(self, kill=False, timeout=30):
        """SENTINEL FAILOVER: the replica becomes the master, the master its
        replica; kill=True: SIGKILL the master instead, the sentinels find it
        down (1 s) and fail over. Returns the new master's port once the
        sentinels name it and it says so (ROLE)."""
        old = self.master_port()
        new = self.replica_port if old == self.redis_port else self.redis_port
        if kill:
            self._stop("redis" if old == self.redis_port else "redis-replica", signal.SIGKILL)
        else:
            redis.Redis(port=self.sentinel_ports[0]).execute_command(
                "SENTINEL", "FAILOVER", self.master_name)
        wait_for(lambda: self.master_port() == new and
                 redis.Redis(port=new).execute_command("ROLE")[0] == b"master",
                 timeout, "the failover to port %d" % new)
        return new

    def restart_redis(self, down=0.3):
        """Stop redis-server (SIGTERM: a clean shutdown, the append-only file
        is flushed) and start it again on the same port after `down` seconds.
        Without persistent_redis=True every key is lost."""
        self._stop("redis")
        time.sleep(down)
        self.start_redis()

    def _redis_ping(self, port=None):
        try:
            return redis.Redis(port=port or self.redis_port).ping()
        except redis.exceptions.ConnectionError:
            return False

    def start_flower(self):
        ready = os.path.join(self.tmp, "flower.ready")
        if os.path.exists(ready):
            os.unlink(ready)
        args = [PY, FLOWER_DOUBLE, "--port", str(self.flower_port),
                "--ready-file", ready, "--purge-offline-workers", "120"]
        if "--executor-workers" not in self.flower_args:
            # every inspect method of the first inspection at once (Flower
            # on a machine of 4 cores or more): it ends after one timeout
            args += ["--executor-workers", "8"]
        if self.flower_auth:
            args += ["--basic-auth", self.flower_auth]
        elif self.flower_unauthenticated_api:
            args += ["--unauthenticated-api"]
        args += self.flower_args
        self._spawn("flower", args, env=dict(self.celery_env, BROKER_URL=self.broker_url),
                    cwd=HERE, launch=True)
        wait_for(lambda: os.path.exists(ready) or self.procs["flower"].poll() is not None,
                 30, "the Flower double")
        assert self.procs["flower"].poll() is None, self.log("flower")

    def stop_flower(self):
        self._stop("flower")

    def _stop(self, name, sig=signal.SIGTERM, timeout=10):
        p = self.procs.get(name)
        if p is None or p.poll() is not None:
            return
        try:
            os.killpg(p.pid, sig)
        except ProcessLookupError:
            return
        try:
            p.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(p.pid, signal.SIGKILL)
            p.wait()

    def stop(self):
        for name in ("flower", "kube", "redis") + tuple(
                n for n in self.procs if n.startswith(("sentinel-", "redis-"))):
            self._stop(name, timeout=15)
        if self.link is not None:
            self.link.close()
        for log in self.logs.values():
            log.close()
        if self in LIVE:
            LIVE.remove(self)
            if self.own_tmp and FAILED[0] == self.failed_at_start:
                shutil.rmtree(self.tmp, ignore_errors=True)

    def log(self, name):
        try:
            with open(os.path.join(self.tmp, name + ".log"), errors="replace") as f:
                return f.read()[-6000:]
        except OSError:
            return ""

    def write_kubeconfig(self, token=TOKEN, path=None, cert=None, key=None):
        """The agent's kubeconfig (an operator's, as oc login writes it): a token, or
        with cert and key a client certificate instead."""
        if cert is not None:
            token = None
        with open(path or self.kubeconfig, "w") as f:
            f.write("""apiVersion: v1
kind: Config
clusters:
- name: api-dials-test:%d
  cluster:
    server: https://127.0.0.1:%d
    certificate-authority: %s
contexts:
- name: %s/api-dials-test:%d/operator
  context:
    cluster: api-dials-test:%d
    namespace: %s
    user: operator/api-dials-test:%d
current-context: %s/api-dials-test:%d/operator
users:
- name: operator/api-dials-test:%d
  user:
%s""" % (self.kube_port, self.kube_port, os.path.join(self.certs, "ca.crt"), NS,
                self.kube_port, self.kube_port, NS, self.kube_port, NS, self.kube_port,
                self.kube_port, "    token: %s\n" % token if token else
                "    client-certificate: %s\n    client-key: %s\n" % (cert, key)))
        return path or self.kubeconfig

    # ---- the agent -------------------------------------------------------
    def env(self, **extra):
        e = {k: v for k, v in os.environ.items() if not k.startswith("DRAIN_")}
        e.update({"DRAIN_FLOWER_URL": self.flower_url, "DRAIN_REDIS_URL": self.broker_url,
                  "KUBECONFIG": self.kubeconfig, "HOME": self.tmp})
        if self.master_name:
            e["DRAIN_SENTINEL_MASTER"] = self.master_name
        e.update(extra)
        return e

    def agent_argv(self, args):
        wrap = os.environ.get("DRAIN_WRAPPER", "")
        return (wrap.split() if wrap else []) + [AGENT] + list(args)

    def run(self, *args, timeout=240, env=None):
        p = subprocess.run(self.agent_argv(args), env=env or self.env(), timeout=timeout,
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        with open(os.path.join(self.tmp, "agent.log"), "a") as f:
            f.write("$ %s\n%s%s[exit %d]\n" % (" ".join(args), p.stdout, p.stderr, p.returncode))
        return p

    def spawn(self, *args, env=None):
        return subprocess.Popen(self.agent_argv(args), env=env or self.env(),
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)

    # ---- Redis, work and the ledger ---------------------------------------
    def r(self, db=0):
        """The broker's Redis (through Sentinel: its master now); the
        ledger's database with sentinels=N is in a Redis of its own."""
        if self.sentinel_ports and db == 15:
            return redis.Redis(port=self.ledger_port, db=db, decode_responses=True)
        return redis.Redis(port=self.master_port(), db=db, decode_responses=True)

    def celery_environ(self):
        return dict(os.environ, BROKER_URL=self.broker_url, **self.celery_env)

    def enqueue(self, queue, n, seconds, eta=None, tag="t", priorities=None):
        """priorities: a list, task i gets priorities[i % len] (kombu puts
        it on the list of its priority step). Sent by this runner's
        enqueuer process (enqueuer.py), as the DIALS code sends them."""
        return enqueuer_send({"env": self.celery_environ(), "queue": queue, "n": n,
                              "seconds": seconds, "eta": eta, "tag": tag,
                              "priorities": priorities})

    def stream(self, queue, n, every=0.5, seconds=1.0, tag="s"):
        """A steady stream: n tasks of `seconds`, one every `every` s, from one
        process (Popen; its stdout ends with [its start time, the ids], in JSON)."""
        code = ("import json, time\n"
                "from etl import ingest\n"
                "ids = []\n"
                "t0 = time.time()\n"
                "for i in range(%d):\n"
                "    time.sleep(max(0, t0 + i * %r - time.time()))\n"
                "    ids.append(ingest.apply_async(args=[%r, '%s-%%d' %% i], queue=%r).id)\n"
                "print(json.dumps([t0, ids]))\n") % (n, every, seconds, tag, queue)
        return subprocess.Popen([PY, "-c", code], cwd=HERE, env=self.celery_environ(),
                                stdout=subprocess.PIPE, text=True)

    def ledger(self):
        l = self.r(15)
        return l.hgetall("ledger:started"), l.hgetall("ledger:done")

    def wait_started(self, ids, n, timeout=30):
        wait_for(lambda: sum(1 for i in ids if i in self.ledger()[0]) >= n, timeout,
                 "%d task(s) started" % n)

    def wait_done(self, ids, timeout=120):
        # DIALS' pool (a process per task) may pause up to 5 s before each
        # task: never less than that for all of them (a lost task never ends)
        timeout = max(timeout, 30 + 6 * len(ids))
        try:
            wait_for(lambda: all(i in self.ledger()[1] for i in ids), timeout, "all tasks done")
        except AssertionError as e:
            raise AssertionError("%s:\n%s" % (e, self.tasks_not_done(ids))) from None

    def tasks_not_done(self, ids):
        """Where each of ids that has not ended stands, in words."""
        l = self.r(15)
        started, done = self.ledger()
        at, by = l.hgetall("ledger:started_at"), l.hgetall("ledger:worker")
        lines = []
        for i in ids:
            if i in done:
                continue
            if i in started:
                lines.append("  %s: started %s time(s), last %.1fs ago on %s" % (
                    i, started[i], time.time() - float(at.get(i, 0)), by.get(i, "?")))
            else:
                lines.append("  %s: never started" % i)
        try:
            online = ", ".join(sorted(self.workers_online()))
        except Exception as e:      # no Flower in this world, or it is down
            online = "unknown (%s)" % e
        lines.append("  online workers: %s; unacked %d" % (online, self.unacked()))
        return "\n".join(lines)

    def unacked(self):
        return self.r().hlen(self.key_prefix + "unacked")

    def assert_exactly_once(self, ids):
        started, done = self.ledger()
        missing = [i for i in ids if done.get(i) != "1"]
        twice = [i for i in ids if started.get(i, "1") != "1"]
        assert not missing, "tasks not run exactly once: %s (done=%s)" % (missing, {i: done.get(i) for i in missing})
        assert not twice, "tasks started more than once: %s" % twice

    # ---- the doubles: their APIs and test controls -------------------------
    def _http(self, url, method="GET", body=None, headers=None, raw=None, errors=False):
        """JSON in and out; errors=True returns (status, JSON, headers) for any
        answer instead of raising on an HTTP error."""
        hdr = dict(headers or {})
        data = raw
        if body is not None:
            data = json.dumps(body).encode()
            hdr.setdefault("Content-Type", "application/json")
        req = urllib.request.Request(url, method=method, data=data, headers=hdr)
        ctx = None
        if url.startswith("https:"):
            ctx = ssl.create_default_context(cafile=os.path.join(self.certs, "ca.crt"))
        try:
            with urllib.request.urlopen(req, context=ctx, timeout=30) as resp:
                out = resp.read()
                status, rh = resp.status, dict(resp.headers)
        except urllib.error.HTTPError as e:
            if not errors:
                raise
            out, status, rh = e.read(), e.code, dict(e.headers)
        doc = json.loads(out) if out else None
        return (status, doc, rh) if errors else doc

    def kube_test(self, method, path, body=None):
        """The Kubernetes double's test controls: path "/_test/pods" or "pods"."""
        if not path.startswith("/"):
            path = "/_test/" + path
        return self._http("https://127.0.0.1:%d%s" % (self.kube_port, path), method, body)

    def kube_api(self, method, path, body=None, content_type=None, token=TOKEN):
        """The Kubernetes API itself (bearer token): (status, JSON, headers)."""
        hdr = {"Authorization": "Bearer " + token} if token else {}
        if content_type:
            hdr["Content-Type"] = content_type
        return self._http("https://127.0.0.1:%d%s" % (self.kube_port, path), method, headers=hdr,
                          raw=body.encode() if isinstance(body, str) else body, errors=True)

    def kubectl(self, *args, kubeconfig=None, timeout=90):
        """The real kubectl against the double."""
        return subprocess.run([KUBECTL, "--kubeconfig", kubeconfig or self.kubeconfig,
                               "--cache-dir", os.path.join(self.tmp, "kcache"), "-n", NS] + list(args),
                              capture_output=True, text=True, timeout=timeout)

    def flower_test(self, method, path, body=None):
        return self._http(self.flower_url + path, method, body)

    def pods(self, deployment=None, all=False):
        """The double's pods (all=True: also deleted ones)."""
        pods = self.kube_test("GET", "/_test/pods?all=1" if all else "/_test/pods")
        return [p for p in pods if deployment is None or p.get("deployment") == deployment]

    def kube_requests(self):
        return self.kube_test("GET", "/_test/requests")

    def deployment(self, name):
        code, obj, _ = self.kube_api("GET", "/apis/apps/v1/namespaces/%s/deployments/%s" % (NS, name))
        assert code == 200, obj
        return obj

    def restart(self, name):
        """`kubectl rollout restart`. kubectl refuses ("if restart has already been triggered within
        the past second") when restartedAt would not change, so step past the last restart's second."""
        ann = self.deployment(name)["spec"]["template"]["metadata"].get("annotations") or {}
        last = ann.get("kubectl.kubernetes.io/restartedAt")
        while last == time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()):
            time.sleep(0.05)
        return self.kubectl("rollout", "restart", "deployment/" + name)

    def wait_rolled_out(self, name, timeout=30):
        """kubectl rollout status, then the old pods' deletion to end (the rollout is done
        while they terminate), so that what follows starts from a quiet deployment."""
        r = self.kubectl("rollout", "status", "deployment/" + name, "--timeout=%ds" % timeout)
        assert r.returncode == 0, r.stdout + r.stderr
        wait_for(lambda: not any(p["terminating"] for p in self.pods(name)), timeout,
                 "the old pods of %s gone" % name)
        return r

    def flower_get(self, path):
        hdr = {}
        if self.flower_auth:
            import base64
            hdr["Authorization"] = "Basic " + base64.b64encode(self.flower_auth.encode()).decode()
        return self._http(self.flower_url + path, headers=hdr)

    def workers_online(self):
        if self.flower_version == "1.2" and self.flower_auth:
            return self.workers_pinged()     # Flower 1.x has no API with auth
        return {w for w, up in self.flower_get("/api/workers?status=true").items() if up}

    def workers_pinged(self):
        """The workers that answer a real remote-control ping."""
        code = ("import json\nfrom etl import app\n"
                "print(json.dumps(list(app.control.inspect(timeout=1).ping() or {})))\n")
        out = python_c(code, HERE, self.celery_environ()).stdout
        return set(json.loads(out.strip().splitlines()[-1]))

    def all_workers_online(self):
        workers = {d["name"] for d in self.deployments + self.statefulsets if d.get("worker")}
        want = {h for p in self.pods()
                if p.get("deployment") in workers and p.get("ready") and not p.get("terminating")
                for h in (p.get("hostnames") or [p.get("hostname")])[:1 if p.get("side_waiting") else None]}
        want.discard(None)
        try:
            online = self.workers_online()
        except Exception:
            return False
        return want and want <= online

    def worker_of(self, deployment):
        """The Celery worker name of the deployment's (single) live pod."""
        for p in self.pods(deployment):
            if p.get("ready") and not p.get("terminating"):
                return p.get("hostname")
        return None

    def queues_of(self, worker):
        """The queues the worker consumes, sorted, or None if it does not answer:
        asked of the worker itself (real remote control), not of the agent."""
        code = ("import json\nfrom etl import app\n"
                "r = app.control.inspect(destination=[%r], timeout=2).active_queues() or {}\n"
                "print(json.dumps(sorted(q['name'] for q in r.get(%r, []))))\n") % (worker, worker)
        out = python_c(code, HERE, self.celery_environ()).stdout
        try:
            return json.loads(out.strip().splitlines()[-1])
        except (IndexError, ValueError):
            return None

    def consumes(self, worker, queue):
        return queue in (self.queues_of(worker) or [])
