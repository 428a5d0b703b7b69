"""kubeconfig reach: exec credential plugins (as client-go runs them),
proxy-url, tls-server-name, insecure-skip-tls-verify with a CA.

The plugins are small Python scripts the tests write into a temporary
directory and put on $PATH; each run appends what it saw (argv, env,
KUBERNETES_EXEC_INFO, whether stdin was a terminal) to a log beside it."""
import json
import os
import select
import socket
import socketserver
import ssl
import subprocess
import sys
import threading
import time

import pytest

from conftest import patches
from world import NS, TOKEN, wait_for

PLUGIN = r'''#!%(py)s
import datetime, json, os, sys, time, urllib.request
HERE = os.path.dirname(os.path.abspath(__file__))
mode = sys.argv[1]
with open(os.path.join(HERE, "runs"), "a") as f:
    f.write(json.dumps({"argv": sys.argv[1:], "pid": os.getpid(),
                        "info": os.environ.get("KUBERNETES_EXEC_INFO"),
                        "plugin_env": os.environ.get("PLUGIN_ENV"),
                        "home": os.environ.get("HOME"),
                        "stdin_tty": os.isatty(0)}) + "\n")
with open(os.path.join(HERE, "runs")) as f:
    n = len(f.readlines())
API = json.loads(os.environ["KUBERNETES_EXEC_INFO"])["apiVersion"]
status = {}
if mode == "token":
    status["token"] = sys.argv[2]
elif mode == "cert":
    certs = sys.argv[2]
    status["clientCertificateData"] = open(os.path.join(certs, "client.crt")).read()
    status["clientKeyData"] = open(os.path.join(certs, "client.key")).read()
elif mode == "issue":       # a token the double accepts for ttl seconds (0: until expired)
    port, ttl = sys.argv[2], float(sys.argv[3])
    tok = "exec-tok-%%d" %% n
    body = {"token": tok, "add": True}
    if ttl:
        body["expires_in"] = ttl
        exp = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(seconds=ttl)
        status["expirationTimestamp"] = exp.strftime("%%Y-%%m-%%dT%%H:%%M:%%SZ")
    urllib.request.urlopen(urllib.request.Request(
        "http://127.0.0.1:%%s/_test/token" %% port, data=json.dumps(body).encode(),
        method="POST", headers={"Content-Type": "application/json"}), timeout=10).read()
    status["token"] = tok
elif mode == "garbage":
    print("token: %%s" %% sys.argv[2])
    sys.exit(0)
elif mode == "fail":
    print("error: you must be logged in to the server", file=sys.stderr)
    sys.exit(1)
elif mode == "hang":
    time.sleep(1000)
print(json.dumps({"kind": "ExecCredential", "apiVersion": API, "status": status}))
'''


def write_plugin(w):
    d = os.path.join(w.tmp, "bin")
    os.makedirs(d, exist_ok=True)
    p = os.path.join(d, "drain-test-plugin")
    with open(p, "w") as f:
        f.write(PLUGIN % {"py": sys.executable})
    os.chmod(p, 0o755)
    try:
        os.unlink(os.path.join(d, "runs"))
    except OSError:
        pass
    return d


def runs(w):
    try:
        with open(os.path.join(w.tmp, "bin", "runs")) as f:
            return [json.loads(l) for l in f]
    except FileNotFoundError:
        return []


def yaml_str(s):
    return json.dumps(s)        # a JSON string is a YAML double-quoted scalar


def kubeconfig(w, path, user, cluster_extra="", server=None, ca=True):
    """The world's kubeconfig with another user body and cluster fields."""
    server = server or "https://127.0.0.1:%d" % w.kube_port
    ca_line = "    certificate-authority: %s\n" % os.path.join(w.certs, "ca.crt") if ca else ""
    with open(path, "w") as f:
        f.write("apiVersion: v1\nkind: Config\n"
                "clusters:\n- name: dials\n  cluster:\n    server: %s\n%s%s"
                "contexts:\n- name: ctx\n  context: {cluster: dials, user: op, namespace: %s}\n"
                "current-context: ctx\n"
                "users:\n- name: op\n  user:\n%s" % (server, ca_line, cluster_extra, NS, user))
    return str(path)


def exec_user(args, api="client.authentication.k8s.io/v1", mode="Never", extra=""):
    return ("    exec:\n      apiVersion: %s\n      command: drain-test-plugin\n"
            "      args: [%s]\n      env: [{name: PLUGIN_ENV, value: \"from kubeconfig\"}]\n"
            "%s%s" % (api, ", ".join(yaml_str(a) for a in args),
                      "      interactiveMode: %s\n" % mode if mode else "", extra))


def agent(w, kc, *args, timeout=240):
    env = w.env(PATH=os.path.join(w.tmp, "bin") + ":" + os.environ["PATH"])
    return w.run(*args, "--kubeconfig", kc, env=env, timeout=timeout)


def unchanged(w):
    worker = w.worker_of("ecal-bulk")
    assert w.consumes(worker, "ecal-bulk"), "a worker was left drained"
    assert patches(w) == []
    assert not w.r().exists("drain-and-rollout:lease:%s:ecal-bulk" % NS)


def kube_api_requests(w):
    return [r for r in w.kube_requests() if not r["path"].startswith("/_test")]


# ---- exec credential plugins ------------------------------------------------

def test_exec_plugin_token_runs_once_per_run(world, tmp_path):
    """A plugin's token drives a whole drain; the plugin runs once, without
    a shell, with its args, env and KUBERNETES_EXEC_INFO, stdin not a tty."""
    write_plugin(world)
    kc = kubeconfig(world, tmp_path / "kc", exec_user(["token", TOKEN, "$HOME", "a b"]))
    ids = world.enqueue("ecal-bulk", 3, 2.0)
    world.wait_started(ids, 1)
    world.kube_test("DELETE", "/_test/requests")
    p = agent(world, kc, "ecal-bulk", "-v", "-o", "json")
    assert p.returncode == 0, p.stderr
    world.wait_done(ids, timeout=30)
    world.assert_exactly_once(ids)
    (run,) = runs(world)
    assert run["argv"] == ["token", TOKEN, "$HOME", "a b"]     # no shell expanded them
    assert run["plugin_env"] == "from kubeconfig"
    assert run["home"] == world.tmp                             # the agent's environment too
    assert run["stdin_tty"] is False
    assert json.loads(run["info"]) == {"kind": "ExecCredential",
                                       "apiVersion": "client.authentication.k8s.io/v1",
                                       "spec": {"interactive": False}}
    reqs = kube_api_requests(world)
    assert len(reqs) >= 5 and all(r["auth"] == "bearer" and r["status"] < 400 for r in reqs), reqs
    assert len(patches(world)) == 1
    assert TOKEN not in p.stdout + p.stderr


def test_exec_plugin_client_certificate(shared_world, tmp_path):
    """clientCertificateData/clientKeyData reach libcurl (in memory) and the
    double verifies the certificate against its CA."""
    w = shared_world
    write_plugin(w)
    kc = kubeconfig(w, tmp_path / "kc", exec_user(["cert", w.certs],
                    api="client.authentication.k8s.io/v1beta1", mode=None))
    w.kube_test("DELETE", "/_test/requests")
    p = agent(w, kc, "ecal-bulk", "--dry-run", "-v")
    assert p.returncode == 0, p.stderr
    reqs = kube_api_requests(w)
    assert reqs and all(r["auth"] == "cert" and r["status"] == 200 for r in reqs), reqs
    assert len(runs(w)) == 1
    assert "PRIVATE KEY" not in p.stdout + p.stderr
    unchanged(w)


def test_exec_plugin_untrusted_client_certificate(shared_world, tmp_path):
    """A certificate the cluster's CA did not sign is refused by the double."""
    w = shared_world
    write_plugin(w)
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
                    "-subj", "/O=system:masters/CN=intruder", "-keyout", str(tmp_path / "client.key"),
                    "-out", str(tmp_path / "client.crt")], check=True, capture_output=True)
    kc = kubeconfig(w, tmp_path / "kc", exec_user(["cert", str(tmp_path)]))
    w.kube_test("DELETE", "/_test/requests")
    p = agent(w, kc, "ecal-bulk", "--dry-run", "--request-timeout", "2s")
    assert p.returncode == 3, p.stderr
    assert kube_api_requests(w) == []
    assert "PRIVATE KEY" not in p.stdout + p.stderr
    unchanged(w)


def test_exec_plugin_rerun_on_401(world, tmp_path):
    """The API starts refusing the plugin's token mid-drain (it expired
    early): the agent runs the plugin again once and carries on."""
    write_plugin(world)
    kc = kubeconfig(world, tmp_path / "kc", exec_user(["issue", str(world.kube_port), "0"]))
    ids = world.enqueue("ecal-bulk", 2, 4.0)
    world.wait_started(ids, 1)
    world.kube_test("DELETE", "/_test/requests")
    env = world.env(PATH=os.path.join(world.tmp, "bin") + ":" + os.environ["PATH"])
    proc = world.spawn("ecal-bulk", "--kubeconfig", kc, env=env)
    lease = "drain-and-rollout:lease:%s:ecal-bulk" % NS
    wait_for(lambda: world.r().exists(lease), 30, "the drain to start (its lease)", interval=0.05)
    world.kube_test("POST", "/_test/token", {"expire": "exec-tok-1"})
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 0, err
    world.wait_done(ids, timeout=30)
    world.assert_exactly_once(ids)
    assert len(runs(world)) == 2
    statuses = [r["status"] for r in kube_api_requests(world)]
    assert 401 in statuses and statuses[-1] == 200, statuses
    assert statuses.count(401) == 1
    # one restart applied (a PATCH refused with 401 was not applied)
    assert [r["status"] for r in patches(world) if r["status"] != 401] == [200]
    assert "exec-tok" not in out + err


def test_exec_plugin_refreshed_before_expiry(world, tmp_path):
    """A token that expires every 3 s is fetched again before it expires:
    no request is refused, and not once per request."""
    write_plugin(world)
    kc = kubeconfig(world, tmp_path / "kc", exec_user(["issue", str(world.kube_port), "3"]))
    ids = world.enqueue("ecal-bulk", 2, 5.0)
    world.wait_started(ids, 1)
    world.kube_test("DELETE", "/_test/requests")
    p = agent(world, kc, "ecal-bulk")
    assert p.returncode == 0, p.stderr
    world.wait_done(ids, timeout=30)
    world.assert_exactly_once(ids)
    reqs = kube_api_requests(world)
    assert all(r["status"] < 400 for r in reqs), [r["status"] for r in reqs]
    n = len(runs(world))
    assert 2 <= n < len(reqs), (n, len(reqs))


def test_exec_plugin_refused_twice_says_log_in(shared_world, tmp_path):
    w = shared_world
    write_plugin(w)
    kc = kubeconfig(w, tmp_path / "kc", exec_user(["token", "sha256~revoked-token"]))
    w.kube_test("DELETE", "/_test/requests")
    p = agent(w, kc, "ecal-bulk")
    assert p.returncode == 3, p.stderr
    assert "401" in p.stderr and "log in again" in p.stderr and "drain-test-plugin" in p.stderr
    assert len(runs(w)) == 2
    assert [r["status"] for r in kube_api_requests(w)] == [401, 401]
    assert "revoked-token" not in p.stdout + p.stderr
    unchanged(w)


@pytest.mark.parametrize("args,words", [
    (["garbage", "sha256~secret-in-garbage"], ["not an ExecCredential", "not JSON"]),
    (["fail"], ["exec: executable drain-test-plugin failed with exit code 1"]),
])
def test_exec_plugin_bad_run(shared_world, tmp_path, args, words):
    w = shared_world
    write_plugin(w)
    kc = kubeconfig(w, tmp_path / "kc", exec_user(args))
    w.kube_test("DELETE", "/_test/requests")
    p = agent(w, kc, "ecal-bulk", "-o", "json")
    assert p.returncode == 3, p.stderr
    for word in words:
        assert word in p.stderr, p.stderr
    assert "getting credentials" in p.stderr
    assert "secret-in-garbage" not in p.stdout + p.stderr
    assert len(runs(w)) == 1
    assert kube_api_requests(w) == []
    unchanged(w)


def test_exec_plugin_missing_shows_install_hint(shared_world, tmp_path):
    w = shared_world
    user = exec_user([]).replace("drain-test-plugin", "drain-no-such-plugin") + \
        "      installHint: |\n        Install it with: dnf install drain-plugin\n"
    kc = kubeconfig(w, tmp_path / "kc", user)
    p = agent(w, kc, "ecal-bulk")
    assert p.returncode == 3, p.stderr
    assert "exec: executable drain-no-such-plugin not found" in p.stderr
    assert "Install it with: dnf install drain-plugin" in p.stderr
    assert "client-go credential plugin that is not installed" in p.stderr
    unchanged(w)


def test_exec_plugin_hanging_is_killed(shared_world, tmp_path):
    w = shared_world
    write_plugin(w)
    kc = kubeconfig(w, tmp_path / "kc", exec_user(["hang"]))
    t0 = time.time()
    # 5 s: a loaded machine may take 2 s to start the plugin's Python
    # before it records its pid
    p = agent(w, kc, "ecal-bulk", "--request-timeout", "5s", timeout=60)
    took = time.time() - t0
    assert p.returncode == 3, p.stderr
    assert "did not finish within 5 s" in p.stderr, p.stderr
    assert took < 20, took
    (run,) = runs(w)
    with pytest.raises(ProcessLookupError):
        os.kill(run["pid"], 0)
    unchanged(w)


def test_exec_plugin_always_needs_a_terminal(shared_world, tmp_path):
    w = shared_world
    write_plugin(w)
    kc = kubeconfig(w, tmp_path / "kc", exec_user(["token", TOKEN], mode="Always"))
    p = agent(w, kc, "ecal-bulk")
    assert p.returncode == 3, p.stderr
    assert "exec plugin cannot support interactive mode: standard input is not a terminal" \
        in p.stderr
    assert runs(w) == []
    unchanged(w)


@pytest.mark.parametrize("mode,tty", [("IfAvailable", True), ("Always", True),
                                       ("Never", False)])
def test_exec_plugin_gets_the_terminal(shared_world, tmp_path, mode, tty):
    """On a terminal, IfAvailable and Always hand the plugin the user's
    stdin (for a prompt) and say interactive; Never gives it none."""
    import pty
    w = shared_world
    write_plugin(w)
    kc = kubeconfig(w, tmp_path / "kc", exec_user(["token", TOKEN], mode=mode))
    env = w.env(PATH=os.path.join(w.tmp, "bin") + ":" + os.environ["PATH"])
    master, slave = pty.openpty()
    try:
        p = subprocess.run(w.agent_argv(["ecal-bulk", "--dry-run", "--kubeconfig", kc]),
                           env=env, stdin=slave, capture_output=True, text=True, timeout=120)
    finally:
        os.close(slave)
        os.close(master)
    assert p.returncode == 0, p.stderr
    (run,) = runs(w)
    assert run["stdin_tty"] is tty
    assert json.loads(run["info"])["spec"] == {"interactive": tty}


def dry_run_no_tty(w, kc):
    """A --dry-run of ecal-bulk with kc, the test plugin on $PATH, no terminal."""
    env = w.env(PATH=os.path.join(w.tmp, "bin") + ":" + os.environ["PATH"])
    return subprocess.run(w.agent_argv(["ecal-bulk", "--dry-run", "--kubeconfig", kc]), env=env,
                          stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=120)


def infos_of_kubectl_and_agent(w, kc, tmp_path):
    """The KUBERNETES_EXEC_INFO the real kubectl, then the agent, gave the
    test plugin of kc, without a terminal."""
    env = w.env(PATH=os.path.join(w.tmp, "bin") + ":" + os.environ["PATH"])
    k = subprocess.run(["kubectl", "--kubeconfig", kc, "--cache-dir", str(tmp_path / "kcache"),
                        "get", "deployment", "ecal-bulk"], env=env, stdin=subprocess.DEVNULL,
                       capture_output=True, text=True, timeout=60)
    assert k.returncode == 0, k.stderr
    p = dry_run_no_tty(w, kc)
    assert p.returncode == 0, p.stderr
    r = runs(w)
    return json.loads(r[0]["info"]), json.loads(r[-1]["info"])


def test_exec_info_as_kubectl_sends_it(shared_world, tmp_path):
    """Conformance: KUBERNETES_EXEC_INFO with provideClusterInfo is what the
    real kubectl gives the same plugin."""
    w = shared_world
    write_plugin(w)
    kc = kubeconfig(w, tmp_path / "kc",
                    exec_user(["token", TOKEN], mode="IfAvailable",
                              extra="      provideClusterInfo: true\n"),
                    cluster_extra="    tls-server-name: localhost\n")
    kubectl_info, agent_info = infos_of_kubectl_and_agent(w, kc, tmp_path)
    assert agent_info == kubectl_info
    assert agent_info["spec"]["cluster"]["tls-server-name"] == "localhost"
    assert agent_info["spec"]["cluster"]["certificate-authority-data"]


EXEC_EXTENSION = """\
    extensions:
    - name: other.example.com/thing
      extension: {ignored: true}
    - name: client.authentication.k8s.io/exec
      extension:
        audience: dials
        quoted: "123"
        single: 'yes'
        num: 42
        neg: -7
        hex: 0x1F
        octal: 0o17
        oldoctal: 017
        binary: 0b101
        under: 1_000
        eight: 08
        f: 1.5
        whole: 2.0
        exp: 1e3
        half: .5
        plushalf: +.5
        ufloat: 1_000.5
        lead: _1
        dotunder: ._5
        twice: 0x0x10
        "yes": yes
        off_: Off
        nothing: ~
        empty:
        date: 2026-11-26
        version: 1.2.3
        list: [a, 1, true, null, "", -0.25]
        nested: {k: {deep: [x, {y: z}]}}
        block: |
          line one
          line two
        folded: >
          one
          two
        anchor: &a {shared: [1, two]}
        alias: *a
        3: three
        true: t
        url: https://sso.example.com/realms/dials?x=1&y=<2>
"""


def test_exec_info_cluster_config_is_the_exec_extension(shared_world, tmp_path):
    """Conformance: with provideClusterInfo, the cluster's extension named
    client.authentication.k8s.io/exec reaches the plugin as
    spec.cluster.config, converted from YAML as the real kubectl converts
    it (YAML 1.1 scalars, aliases, keys); without provideClusterInfo the
    plugin gets no cluster, and a bad extension is refused."""
    w = shared_world
    write_plugin(w)
    kc = kubeconfig(w, tmp_path / "kc",
                    exec_user(["token", TOKEN], mode="Never",
                              extra="      provideClusterInfo: true\n"),
                    cluster_extra=EXEC_EXTENSION)
    kubectl_info, agent_info = infos_of_kubectl_and_agent(w, kc, tmp_path)
    config = agent_info["spec"]["cluster"]["config"]
    assert config == kubectl_info["spec"]["cluster"]["config"], (config, kubectl_info)
    assert agent_info == kubectl_info
    # what kubectl makes of it, spelled out (1.0 == 1 in Python: types too)
    assert config["audience"] == "dials" and config["quoted"] == "123" and config["single"] == "yes"
    assert [(config[k], type(config[k])) for k in ("num", "neg", "hex", "octal", "oldoctal",
                                                   "binary", "under", "eight")] == \
        [(v, int) for v in (42, -7, 31, 15, 15, 5, 1000, 8)]
    assert config["f"] == 1.5 and config["exp"] == 1000 and config["half"] == 0.5
    assert config["plushalf"] == 0.5 and config["ufloat"] == 1000.5
    assert [config[k] for k in ("lead", "dotunder", "twice")] == ["_1", "._5", "0x0x10"]
    assert config["whole"] == 2 and config["yes"] is True and config["off_"] is False
    assert config["nothing"] is None and config["empty"] is None
    assert config["date"] == "2026-11-26" and config["version"] == "1.2.3"
    assert config["list"] == ["a", 1, True, None, "", -0.25]
    assert config["nested"] == {"k": {"deep": ["x", {"true": "z"}]}}   # YAML 1.1: y is true
    assert config["block"] == "line one\nline two\n" and config["folded"] == "one two\n"
    assert config["anchor"] == config["alias"] == {"shared": [1, "two"]}
    assert config["3"] == "three" and config["true"] == "t"
    assert config["url"] == "https://sso.example.com/realms/dials?x=1&y=<2>"
    # without provideClusterInfo: no cluster at all
    write_plugin(w)
    kc = kubeconfig(w, tmp_path / "kc2", exec_user(["token", TOKEN], mode="Never"),
                    cluster_extra=EXEC_EXTENSION)
    p = dry_run_no_tty(w, kc)
    assert p.returncode == 0, p.stderr
    (run,) = runs(w)
    assert "cluster" not in json.loads(run["info"])["spec"]
    # what JSON cannot hold, and an alias bomb: refused before any request
    bomb = "".join("        l%d: &l%d [*l%d, *l%d, *l%d, *l%d]\n" % (i, i, i - 1, i - 1, i - 1, i - 1)
                   for i in range(1, 12))
    for ext, word in (("        x: .inf\n", '".inf", which JSON cannot hold'),
                      ("        ? [a]\n        : b\n", "key that is not a scalar"),
                      ("        l0: &l0 [x]\n" + bomb, "too deep or too large")):
        write_plugin(w)
        w.kube_test("DELETE", "/_test/requests")
        kc = kubeconfig(w, tmp_path / "kc3", exec_user(["token", TOKEN], mode="Never",
                                                       extra="      provideClusterInfo: true\n"),
                        cluster_extra="    extensions:\n    - name: client.authentication.k8s.io/exec\n"
                        "      extension:\n" + ext)
        p = dry_run_no_tty(w, kc)
        assert p.returncode == 2 and word in p.stderr, (ext, p.stderr)
        assert runs(w) == [] and kube_api_requests(w) == []


# ---- proxy-url, tls-server-name, insecure-skip-tls-verify ---------------------

class Proxy(socketserver.ThreadingTCPServer):
    """A CONNECT proxy (or, with socks=True, a SOCKS5 one) that records the
    targets it was asked for; refuse=True answers 403 to CONNECT."""
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, socks=False, refuse=False, tls=None):
        self.targets, self.socks, self.refuse, self.tls = [], socks, refuse, tls
        super().__init__(("127.0.0.1", 0), ProxyHandler)
        threading.Thread(target=self.serve_forever, daemon=True).start()

    @property
    def port(self):
        return self.server_address[1]

    def __exit__(self, *exc):
        self.shutdown()
        self.server_close()


class ProxyHandler(socketserver.BaseRequestHandler):
    def handle(self):
        c = self.request
        if self.server.tls is not None:
            c = self.server.tls.wrap_socket(c, server_side=True)
        target = self.socks(c) if self.server.socks else self.connect(c)
        if target is None:
            return
        if not self.server.socks:
            self.server.targets.append(target)
        host, port = target.rsplit(":", 1)
        up = socket.create_connection((host.strip("[]"), int(port)))
        if self.server.socks:
            c.sendall(b"\x05\x00\x00\x01\x7f\x00\x00\x01\x00\x00")
        else:
            c.sendall(b"HTTP/1.1 200 Connection established\r\n\r\n")
        pipe(c, up)

    def connect(self, c):
        head = b""
        while b"\r\n\r\n" not in head:
            d = c.recv(4096)
            if not d:
                return None
            head += d
        method, target = head.split(b"\r\n")[0].split()[:2]
        if method != b"CONNECT" or self.server.refuse:
            c.sendall(b"HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n")
            return None
        return target.decode()

    def socks(self, c):
        def read(n):
            b = b""
            while len(b) < n:
                d = c.recv(n - len(b))
                if not d:
                    raise ConnectionError
                b += d
            return b
        ver, n = read(2)
        read(n)
        c.sendall(b"\x05\x00")
        ver, cmd, _, atyp = read(4)
        if atyp == 3:
            host = "name:" + read(read(1)[0]).decode()
        elif atyp == 1:
            host = "ip:" + socket.inet_ntoa(read(4))
        else:
            return None
        port = int.from_bytes(read(2), "big")
        self.server.targets.append("socks5 %s:%d" % (host, port))
        return "%s:%d" % (host.split(":", 1)[1].replace("localhost", "127.0.0.1"), port)


def pipe(a, b):
    socks = [a, b]
    try:
        while True:
            r, _, _ = select.select(socks, [], [], 30)
            if not r:
                return
            for s in r:
                d = s.recv(65536)
                if not d:
                    return
                (b if s is a else a).sendall(d)
    except OSError:
        return
    finally:
        for s in socks:
            try:
                s.close()
            except OSError:
                pass


def token_user():
    return "    token: %s\n" % TOKEN


@pytest.mark.parametrize("scheme", ["http", "https"])
def test_proxy_url_http_connect(shared_world, tmp_path, scheme):
    w = shared_world
    tls = None
    if scheme == "https":      # verified with the cluster's CA, as kubectl does
        tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        tls.load_cert_chain(os.path.join(w.certs, "server.crt"), os.path.join(w.certs, "server.key"))
    with Proxy(tls=tls) as proxy:
        kc = kubeconfig(w, tmp_path / "kc", token_user(),
                        cluster_extra="    proxy-url: %s://127.0.0.1:%d\n" % (scheme, proxy.port))
        w.kube_test("DELETE", "/_test/requests")
        p = agent(w, kc, "ecal-bulk", "--dry-run")
        assert p.returncode == 0, p.stderr
        assert proxy.targets and set(proxy.targets) == {"127.0.0.1:%d" % w.kube_port}
        assert kube_api_requests(w)
    unchanged(w)


def test_proxy_url_with_tls_server_name(shared_world, tmp_path):
    """Through a proxy the tunnel still goes to the server's address, and
    the certificate is checked against tls-server-name."""
    w = shared_world
    with Proxy() as proxy:
        for name, rc in (("localhost", 0), ("api.elsewhere.example", 3)):
            kc = kubeconfig(w, tmp_path / "kc", token_user(),
                            cluster_extra="    proxy-url: http://127.0.0.1:%d\n"
                                          "    tls-server-name: %s\n" % (proxy.port, name))
            p = agent(w, kc, "ecal-bulk", "--dry-run")
            assert p.returncode == rc, p.stderr
        assert set(proxy.targets) == {"127.0.0.1:%d" % w.kube_port}, proxy.targets
    unchanged(w)


def test_proxy_url_refusing_proxy_fails(shared_world, tmp_path):
    """The proxy is not bypassed: a proxy that refuses makes the run fail."""
    w = shared_world
    with Proxy(refuse=True) as proxy:
        kc = kubeconfig(w, tmp_path / "kc", token_user(),
                        cluster_extra="    proxy-url: http://127.0.0.1:%d\n" % proxy.port)
        w.kube_test("DELETE", "/_test/requests")
        p = agent(w, kc, "ecal-bulk", "--dry-run", "--request-timeout", "2s")
        assert p.returncode == 3, p.stderr
        assert kube_api_requests(w) == []
    unchanged(w)


def test_proxy_url_socks5_resolves_at_the_proxy(shared_world, tmp_path):
    w = shared_world
    with Proxy(socks=True) as proxy:
        kc = kubeconfig(w, tmp_path / "kc", token_user(),
                        cluster_extra="    proxy-url: socks5://127.0.0.1:%d\n" % proxy.port,
                        server="https://localhost:%d" % w.kube_port)
        p = agent(w, kc, "ecal-bulk", "--dry-run")
        assert p.returncode == 0, p.stderr
        assert "socks5 name:localhost:%d" % w.kube_port in proxy.targets, proxy.targets
    unchanged(w)


def test_tls_server_name_is_verified(shared_world, tmp_path):
    """The certificate is checked against tls-server-name, not the URL's
    host: a name the certificate has works, one it lacks fails."""
    w = shared_world
    kc = kubeconfig(w, tmp_path / "kc", token_user(),
                    cluster_extra="    tls-server-name: localhost\n")
    p = agent(w, kc, "ecal-bulk", "--dry-run")
    assert p.returncode == 0, p.stderr
    kc = kubeconfig(w, tmp_path / "kc2", token_user(),
                    cluster_extra="    tls-server-name: api.elsewhere.example\n")
    w.kube_test("DELETE", "/_test/requests")
    p = agent(w, kc, "ecal-bulk", "--dry-run")
    assert p.returncode == 3, p.stderr
    assert "api.elsewhere.example" in p.stderr
    assert kube_api_requests(w) == []
    unchanged(w)


def test_insecure_with_ca_refused(shared_world, tmp_path):
    w = shared_world
    kc = kubeconfig(w, tmp_path / "kc", token_user(),
                    cluster_extra="    insecure-skip-tls-verify: true\n")
    w.kube_test("DELETE", "/_test/requests")
    p = agent(w, kc, "ecal-bulk", "--dry-run")
    assert p.returncode == 2, p.stderr
    assert "specifying a root certificates file with the insecure flag is not allowed" \
        in p.stderr
    assert kube_api_requests(w) == []
    unchanged(w)
