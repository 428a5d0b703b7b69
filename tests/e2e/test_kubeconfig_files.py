"""Which kubeconfig files are read, and how, as client-go (kubectl, oc) reads
them: --kubeconfig alone; else the files of $KUBECONFIG merged, missing
ones skipped, none existing an error (never ~/.kube/config); relative paths
against the file that wrote them. Each test compares with the real
`kubectl config view --minify` (or a real kubectl request) on the same
files."""
import base64
import json
import os
import pwd
import subprocess
import sys

import pytest

from conftest import patches
from world import NS, TOKEN

DEAD = "https://127.0.0.1:1"        # nothing listens there: a wrong pick fails


def view(env, *args):
    """`kubectl config view --minify --raw -o json` with env: (rc, config or stderr)."""
    p = subprocess.run(["kubectl", "config", "view", "--minify", "--raw", "-o", "json"] +
                       list(args), env=env, capture_output=True, text=True, timeout=60)
    return p.returncode, (json.loads(p.stdout) if p.returncode == 0 else p.stderr)


def kubectl_get(w, env):
    """The real kubectl reading the deployment with the same environment."""
    return subprocess.run(["kubectl", "--cache-dir", os.path.join(w.tmp, "kcache"), "-n", NS,
                           "get", "deployment", "ecal-bulk", "-o", "name"],
                          env=env, capture_output=True, text=True, timeout=60)


def write(path, text):
    os.makedirs(os.path.dirname(str(path)), exist_ok=True)
    with open(str(path), "w") as f:
        f.write(text)
    return str(path)


def server(w):
    return "https://127.0.0.1:%d" % w.kube_port


def ca(w):
    return os.path.join(w.certs, "ca.crt")


def api_requests(w):
    return [r for r in w.kube_requests() if not r["path"].startswith("/_test")]


def used_the_cluster(w):
    """The agent's requests all reached the double with the token, in NS."""
    reqs = api_requests(w)
    assert reqs, "no request reached the API server"
    assert all(r["auth"] == "bearer" and r["status"] == 200 for r in reqs), reqs
    assert all("/namespaces/%s/" % NS in r["path"] for r in reqs), [r["path"] for r in reqs]


def unchanged(w):
    worker = w.worker_of("ecal-bulk")
    assert w.consumes(worker, "ecal-bulk"), "a worker was left drained"
    assert patches(w) == []
    assert not w.r().exists("drain-and-rollout:lease:%s:ecal-bulk" % NS)


def home_kubeconfig(w, home):
    """A valid ~/.kube/config in home: it must not be used."""
    os.makedirs(os.path.join(str(home), ".kube"), exist_ok=True)
    return w.write_kubeconfig(path=os.path.join(str(home), ".kube", "config"))


def test_kubeconfig_list_merged_as_kubectl(shared_world, tmp_path):
    """Several files with overlapping names: each context, cluster and user
    comes from the first file that defines its name (a later entry is
    ignored whole), current-context from the first file that sets one; a
    missing file and a repeated one change nothing. kubectl picks the same."""
    w = shared_world
    a = write(tmp_path / "a" / "config",
              "apiVersion: v1\nkind: Config\ncurrent-context: \"\"\n"
              "contexts:\n- name: ops\n  context: {cluster: dials, user: op, namespace: %s}\n"
              % NS)
    b = write(tmp_path / "b" / "config",
              "apiVersion: v1\nkind: Config\ncurrent-context: ops\n"
              "contexts:\n- name: ops\n  context: {cluster: decoy, user: decoy, namespace: other}\n"
              "clusters:\n- name: dials\n  cluster: {server: \"%s\", certificate-authority: %s}\n"
              "- name: decoy\n  cluster: {server: \"%s\"}\n"
              "users:\n- name: decoy\n  user: {token: sha256~decoy}\n" % (server(w), ca(w), DEAD))
    c = write(tmp_path / "c" / "config",
              "apiVersion: v1\nkind: Config\ncurrent-context: decoy\n"
              "clusters:\n- name: dials\n  cluster: {server: \"%s\", insecure-skip-tls-verify: true}\n"
              "users:\n- name: op\n  user: {token: \"%s\"}\n" % (DEAD, TOKEN))
    d = write(tmp_path / "d" / "config",
              "users:\n- name: op\n  user: {token: sha256~last-file}\n")
    kubeconfig = ":".join([str(tmp_path / "missing"), a, "", b, c, d, a])
    env = w.env(KUBECONFIG=kubeconfig, HOME=str(tmp_path / "home"))
    home_kubeconfig(w, tmp_path / "home")

    rc, cfg = view(env)
    assert rc == 0, cfg
    assert cfg["current-context"] == "ops"
    assert cfg["contexts"][0]["context"] == {"cluster": "dials", "user": "op", "namespace": NS}
    assert cfg["clusters"][0]["cluster"] == {"server": server(w), "certificate-authority": ca(w)}
    assert cfg["users"][0]["user"] == {"token": TOKEN}
    assert kubectl_get(w, env).returncode == 0

    w.kube_test("DELETE", "/_test/requests")
    p = w.run("ecal-bulk", "--dry-run", env=env)
    assert p.returncode == 0, p.stderr
    used_the_cluster(w)
    unchanged(w)


def test_kubeconfig_all_missing_is_an_error(world, tmp_path):
    """KUBECONFIG with a typo in a nightly unit: no file of it exists. The
    run stops with exit 2 naming KUBECONFIG, touching nothing, even though
    ~/.kube/config is valid; kubectl does not use that file either."""
    w = world
    home_kubeconfig(w, tmp_path / "home")
    kubeconfig = "%s:%s" % (tmp_path / "kube" / "confg", tmp_path / "other")
    env = w.env(KUBECONFIG=kubeconfig, HOME=str(tmp_path / "home"))
    rc, out = view(env)
    assert rc != 0 and "current-context must exist" in out, out
    w.kube_test("DELETE", "/_test/requests")
    p = w.run("ecal-bulk", env=env)
    assert p.returncode == 2, p.stderr
    assert "KUBECONFIG=%s: none of its files exists" % kubeconfig in p.stderr, p.stderr
    assert ".kube/config" not in p.stderr
    assert api_requests(w) == []
    unchanged(w)


def test_kubeconfig_flag_names_one_file_that_must_exist(shared_world, tmp_path):
    """--kubeconfig names exactly one file: missing, it is an error naming
    the option, whatever KUBECONFIG and ~/.kube/config hold."""
    w = shared_world
    home_kubeconfig(w, tmp_path / "home")
    missing = str(tmp_path / "nope" / "config")
    env = w.env(HOME=str(tmp_path / "home"))      # KUBECONFIG: the world's, valid
    k = subprocess.run(["kubectl", "--kubeconfig", missing, "-n", NS, "get", "deployments"],
                       env=env, capture_output=True, text=True, timeout=60)
    assert k.returncode != 0 and "stat %s: no such file or directory" % missing in k.stderr, \
        k.stderr
    w.kube_test("DELETE", "/_test/requests")
    p = w.run("ecal-bulk", "--kubeconfig", missing, env=env)
    assert p.returncode == 2, p.stderr
    assert "--kubeconfig %s: No such file or directory" % missing in p.stderr, p.stderr
    assert api_requests(w) == []
    unchanged(w)


PLUGIN = """#!%s
import json, sys
print(json.dumps({"kind": "ExecCredential", "apiVersion": "client.authentication.k8s.io/v1",
                  "status": {"token": sys.argv[1]}}))
"""


@pytest.mark.parametrize("auth", ["tokenFile", "exec", "one-file"])
def test_kubeconfig_relative_paths_as_kubectl(shared_world, tmp_path, auth):
    """Relative paths are resolved against the file that wrote them, made
    lexically shortest as client-go does: the cluster's certificate-authority
    `../certs/ca.crt` in a file reached through a symbolic link is next to
    the link, not next to its target (where a wrong CA waits); the user's
    tokenFile, or exec command `./bin/plugin`, is beside the other file
    (one-file: the user is in the first file, given by --kubeconfig)."""
    w = shared_world
    real = tmp_path / "real" / "sub"
    os.makedirs(str(real))
    os.symlink(str(real), str(tmp_path / "link"))
    write(tmp_path / "certs" / "ca.crt", open(ca(w)).read())
    os.makedirs(str(tmp_path / "real" / "certs"))
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
                    "-subj", "/CN=wrong-ca", "-keyout", str(tmp_path / "wrong.key"),
                    "-out", str(tmp_path / "real" / "certs" / "ca.crt")],
                   check=True, capture_output=True)
    write(real / "config",
          "apiVersion: v1\nkind: Config\ncurrent-context: ops\n"
          "contexts:\n- name: ops\n  context: {cluster: dials, user: op, namespace: %s}\n"
          "clusters:\n- name: dials\n  cluster:\n    server: \"%s\"\n"
          "    certificate-authority: ../certs/ca.crt\n%s" % (NS, server(w),
          "users:\n- name: op\n  user: {token: \"%s\"}\n" % TOKEN if auth == "one-file" else ""))
    if auth == "one-file":
        user = "    token: sha256~not-this-one\n"
    elif auth == "tokenFile":
        write(tmp_path / "users" / "secrets" / "token", TOKEN + "\n")
        user = "    tokenFile: secrets/token\n"
    else:
        plugin = write(tmp_path / "users" / "bin" / "plugin", PLUGIN % sys.executable)
        os.chmod(plugin, 0o755)
        user = ("    exec:\n      apiVersion: client.authentication.k8s.io/v1\n"
                "      command: ./bin/plugin\n      args: [\"%s\"]\n"
                "      interactiveMode: Never\n" % TOKEN)
    users = write(tmp_path / "users" / "config",
                  "apiVersion: v1\nkind: Config\n"
                  "clusters:\n- name: dials\n  cluster: {server: \"%s\"}\n"
                  "users:\n- name: op\n  user:\n%s" % (DEAD, user))
    env = w.env(KUBECONFIG="%s:%s" % (tmp_path / "link" / "config", users),
                HOME=str(tmp_path / "home"))
    rc, cfg = view(env, "--flatten")
    assert rc == 0, cfg
    assert base64.b64decode(cfg["clusters"][0]["cluster"]["certificate-authority-data"]) == \
        open(ca(w), "rb").read()
    k = kubectl_get(w, env)
    assert k.returncode == 0, k.stderr

    w.kube_test("DELETE", "/_test/requests")
    if auth == "one-file":
        p = w.run("ecal-bulk", "--dry-run", "--kubeconfig", str(tmp_path / "link" / "config"),
                  env=env)
    else:
        p = w.run("ecal-bulk", "--dry-run", env=env)
    assert p.returncode == 0, p.stderr
    used_the_cluster(w)
    unchanged(w)


def test_kubeconfig_context_from_merged_files(shared_world, tmp_path):
    """--context picks a context the second file defines; one that exists
    in none is refused, listing the contexts of every file."""
    w = shared_world
    a = write(tmp_path / "a",
              "current-context: broken\n"
              "contexts:\n- name: broken\n  context: {cluster: dead}\n"
              "clusters:\n- name: dead\n  cluster: {server: \"%s\"}\n" % DEAD)
    b = write(tmp_path / "b",
              "contexts:\n- name: target\n  context: {cluster: dials, user: op, namespace: %s}\n"
              "- name: broken\n  context: {cluster: dials, user: op}\n"
              "clusters:\n- name: dials\n  cluster: {server: \"%s\", certificate-authority: %s}\n"
              "users:\n- name: op\n  user: {token: \"%s\"}\n" % (NS, server(w), ca(w), TOKEN))
    env = w.env(KUBECONFIG="%s:%s" % (a, b), HOME=str(tmp_path))
    rc, cfg = view(env, "--context", "target")
    assert rc == 0, cfg
    assert cfg["contexts"][0]["context"]["namespace"] == NS
    assert cfg["clusters"][0]["cluster"]["server"] == server(w)

    w.kube_test("DELETE", "/_test/requests")
    p = w.run("ecal-bulk", "--dry-run", "--context", "target", env=env)
    assert p.returncode == 0, p.stderr
    used_the_cluster(w)

    rc, out = view(env, "--context", "nope")
    assert rc != 0, out
    w.kube_test("DELETE", "/_test/requests")
    p = w.run("ecal-bulk", "--context", "nope", env=env)
    assert p.returncode == 2, p.stderr
    assert '--context "nope" not found (contexts: broken, target)' in p.stderr, p.stderr
    assert api_requests(w) == []
    unchanged(w)


def test_kubeconfig_home_unset_said(shared_world, tmp_path):
    """A unit without HOME and without KUBECONFIG: the error says HOME is
    not set (and where else it looked), exit 2, nothing touched."""
    w = shared_world
    home = pwd.getpwuid(os.getuid()).pw_dir
    if os.path.exists(os.path.join(home, ".kube", "config")):
        pytest.skip("this user has a ~/.kube/config in the password database's home")
    env = {k: v for k, v in w.env().items()
           if k not in ("HOME", "KUBECONFIG", "KUBERNETES_SERVICE_HOST")}
    w.kube_test("DELETE", "/_test/requests")
    p = w.run("ecal-bulk", env=env)
    assert p.returncode == 2, p.stderr
    assert "KUBECONFIG and HOME are not set" in p.stderr, p.stderr
    assert os.path.join(home, ".kube", "config") in p.stderr
    assert api_requests(w) == []
    unchanged(w)
