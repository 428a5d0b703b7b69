"""What a kubeconfig exec credential plugin gets from the agent
(drain-and-rollout(1), KUBECONFIG): descriptors 0, 1 (its stdout pipe) and
2 only, never the agent's sockets; the agent's environment without its
DRAIN_* settings, which hold URLs with passwords; and the configuration
file sets options, not the environment. The plugin below records its open
descriptors and its environment beside itself, then answers a token."""
import json
import os
import pty
import subprocess
import sys

from world import NS, TOKEN

PLUGIN = r'''#!%(py)s
import json, os, sys, time
fds = []
for fd in range(3, 1024):
    try:
        os.fstat(fd)
    except OSError:
        continue
    try:
        fds.append([fd, os.readlink("/proc/self/fd/%%d" %% fd)])
    except OSError:
        fds.append([fd, "?"])
with open(os.path.join(os.path.dirname(os.path.abspath(__file__)), "seen"), "a") as f:
    f.write(json.dumps({"fds": fds, "env": dict(os.environ)}) + "\n")
if len(sys.argv) > 2:       # a login that takes a while
    time.sleep(float(sys.argv[2]))
api = json.loads(os.environ["KUBERNETES_EXEC_INFO"])["apiVersion"]
print(json.dumps({"kind": "ExecCredential", "apiVersion": api,
                  "status": {"token": sys.argv[1]}}))
'''


def plugin_world(w, tmp_path, args=(TOKEN,), mode="Never"):
    """The plugin on a $PATH directory, a kubeconfig whose user runs it."""
    d = tmp_path / "bin"
    d.mkdir()
    p = d / "drain-fd-plugin"
    p.write_text(PLUGIN % {"py": sys.executable})
    p.chmod(0o755)
    kc = tmp_path / "kc"
    kc.write_text(
        "apiVersion: v1\nkind: Config\n"
        "clusters:\n- name: c\n  cluster:\n    server: https://127.0.0.1:%d\n"
        "    certificate-authority: %s\n"
        "contexts:\n- name: ctx\n  context: {cluster: c, user: op, namespace: %s}\n"
        "current-context: ctx\n"
        "users:\n- name: op\n  user:\n    exec:\n"
        "      apiVersion: client.authentication.k8s.io/v1\n"
        "      command: drain-fd-plugin\n      args: [%s]\n"
        "      interactiveMode: %s\n"
        % (w.kube_port, os.path.join(w.certs, "ca.crt"), NS,
           ", ".join(json.dumps(a) for a in args), mode))
    return d, kc


def seen(d):
    with open(d / "seen") as f:
        return [json.loads(l) for l in f]


def test_exec_plugin_gets_no_descriptor_and_no_setting_of_the_agent(world, tmp_path):
    """A drain, the plugin run while Redis, Flower and the API connections
    are open: it sees only 0, 1, 2; no DRAIN_* variable (the agent's own
    DRAIN_REDIS_URL, nor the configuration file's DRAIN_FLOWER_URL with its
    password); and the configuration file's value is used all the same."""
    d, kc = plugin_world(world, tmp_path)
    secret = "s3cret-flower-pw"
    flower = world.flower_url.replace("http://", "http://ops:%s@" % secret)
    conf = tmp_path / "drain.conf"
    conf.write_text("DRAIN_FLOWER_URL=%s\nDRAIN_LEASE_TTL=45s\n" % flower)
    env = world.env(PATH="%s:%s" % (d, os.environ["PATH"]))
    del env["DRAIN_FLOWER_URL"]
    ids = world.enqueue("ecal-bulk", 2, 1.0)
    world.wait_started(ids, 1)
    p = world.run("ecal-bulk", "--config", str(conf), "--kubeconfig", str(kc), "-v", env=env)
    assert p.returncode == 0, p.stderr
    world.wait_done(ids, timeout=30)
    world.assert_exactly_once(ids)
    runs = seen(d)
    assert runs, "the plugin never ran"
    for r in runs:
        assert r["fds"] == [], "the plugin inherited the agent's descriptors: %r" % r["fds"]
        drain = sorted(k for k in r["env"] if k.startswith("DRAIN_"))
        assert drain == [], "the plugin got the agent's settings: %r" % drain
        assert not any(secret in v for v in r["env"].values()), "the Flower password leaked"
        assert r["env"]["HOME"] == world.tmp            # the rest of the environment stays
    # the file's Flower URL was used (the default one is not the double)
    assert world.flower_test("GET", "/_test/requests"), "Flower was never asked"


def test_interactive_login_gets_longer_than_the_request_timeout(shared_world, tmp_path):
    """A plugin given the terminal (IfAvailable, stdin a terminal: a login
    in a browser) may take longer than --request-timeout (up to 5 minutes,
    drain-and-rollout(1)), and longer than the first state's deadline
    (10 s here): it logs in before the runs start. Without a terminal the
    same plugin is killed at --request-timeout, and Always without one is
    refused, naming it."""
    w = shared_world
    d, kc = plugin_world(w, tmp_path, args=(TOKEN, "12"), mode="IfAvailable")
    env = w.env(PATH="%s:%s" % (d, os.environ["PATH"]))
    argv = w.agent_argv(["ecal-bulk", "--dry-run", "--kubeconfig", str(kc),
                         "--request-timeout", "1s"])
    master, slave = pty.openpty()
    try:
        p = subprocess.run(argv, env=env, stdin=slave, capture_output=True, text=True,
                           timeout=120)
    finally:
        os.close(slave)
        os.close(master)
    assert p.returncode == 0, p.stderr
    assert "logging in first: the credential plugin drain-fd-plugin has the terminal" \
        in p.stderr, p.stderr
    assert len(seen(d)) == 1                    # the runs used its credential
    p = subprocess.run(argv, env=env, stdin=subprocess.DEVNULL, capture_output=True,
                       text=True, timeout=120)
    assert p.returncode == 3, p.stderr
    assert "did not finish within 1 s (--request-timeout)" in p.stderr, p.stderr
    (tmp_path / "always").mkdir()
    d2, kc2 = plugin_world(w, tmp_path / "always", mode="Always")
    p = subprocess.run(argv[:-4] + ["--kubeconfig", str(kc2)], stdin=subprocess.DEVNULL,
                       env=w.env(PATH="%s:%s" % (d2, os.environ["PATH"])),
                       capture_output=True, text=True, timeout=120)
    assert p.returncode == 3, p.stderr
    assert "exec plugin cannot support interactive mode: standard input is not a " \
        "terminal (executable drain-fd-plugin has interactiveMode Always" in p.stderr, p.stderr
    assert not (d2 / "seen").exists()
