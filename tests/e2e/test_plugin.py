"""drain-and-rollout as a kubectl/oc plugin (make install's
kubectl-drain_and_rollout, run by the real kubectl), and its shell
completion (--completion bash), against the test world."""
import os
import re
import shutil
import socket
import subprocess
import time

import pytest

from conftest import patches
from world import AGENT, KUBECTL, NS, ROOT


@pytest.fixture(scope="module")
def bindir(tmp_path_factory):
    if shutil.which("make") is None:
        pytest.fail("make is not installed (tests/install-deps installs it)")
    dest = tmp_path_factory.mktemp("destdir")
    # the binary under test, as built: -o, never rebuilt here
    p = subprocess.run(["make", "-C", ROOT, "--no-print-directory", "-o", AGENT, "install",
                        "BIN=%s" % AGENT, "DESTDIR=%s" % dest, "PREFIX=/usr"],
                       capture_output=True, text=True, timeout=300)
    assert p.returncode == 0, p.stdout + p.stderr
    return dest / "usr" / "bin"


def test_make_install_links_the_kubectl_plugin(bindir):
    link = bindir / "kubectl-drain_and_rollout"
    assert link.is_symlink() and os.readlink(link) == "drain-and-rollout"
    assert os.access(link, os.X_OK)


def test_kubectl_runs_the_plugin_with_its_global_flags(world, bindir):
    env = world.env(PATH="%s:%s" % (bindir, os.environ["PATH"]))
    del env["KUBECONFIG"]           # only the flags say where the cluster is
    ctx = "%s/api-dials-test:%d/operator" % (NS, world.kube_port)
    p = subprocess.run([KUBECTL, "drain-and-rollout", "--kubeconfig", world.kubeconfig,
                        "--context", ctx, "-n", NS, "--request-timeout", "5s",
                        "--dry-run", "ecal-bulk"],
                       env=env, capture_output=True, text=True, timeout=120)
    assert p.returncode == 0, p.stdout + p.stderr
    assert "ecal-bulk: dry run: nothing changed" in p.stderr, p.stderr
    assert "kubectl-drain_and_rollout" not in p.stdout + p.stderr
    assert patches(world, "ecal-bulk") == []
    # the namespace flag means kubectl's: another namespace has no such deployment
    p = subprocess.run([KUBECTL, "drain-and-rollout", "--kubeconfig", world.kubeconfig,
                        "--namespace=elsewhere", "--dry-run", "ecal-bulk"],
                       env=env, capture_output=True, text=True, timeout=120)
    assert p.returncode == 3, p.stdout + p.stderr
    assert "elsewhere" in p.stderr
    # a usage error names the program, not the link kubectl ran
    p = subprocess.run([KUBECTL, "drain-and-rollout", "--drain-timeot", "1m"],
                       env=env, capture_output=True, text=True, timeout=60)
    assert p.returncode == 2 and "--drain-timeout" in p.stderr, p.stderr
    assert "kubectl-drain_and_rollout" not in p.stderr


def complete(line, env, timeout=60):
    """What bash completes at the end of the command line typed after the
    program's name, with the script --completion bash prints sourced:
    COMP_LINE, COMP_POINT, and COMP_WORDS split as bash splits them (at
    blanks, and at = and : as COMP_WORDBREAKS says); (replies, stderr,
    seconds)."""
    script = subprocess.run([AGENT, "--completion", "bash"], capture_output=True,
                            text=True, timeout=30)
    assert script.returncode == 0, script.stderr
    line = AGENT + " " + line
    words = re.findall(r"[^\s=:]+|[=:]", line) + ([""] if line[-1] == " " else [])
    prog = ("source /dev/stdin\n"
            "COMP_LINE=$1; COMP_POINT=${#1}; shift\n"
            "COMP_WORDS=(\"$@\"); COMP_CWORD=$(($# - 1))\n"
            "_drain_and_rollout\n"
            "printf '%s\\n' \"${COMPREPLY[@]}\"\n")
    t = time.monotonic()
    p = subprocess.run(["bash", "--norc", "-c", prog, "bash", line] + words,
                       input=script.stdout, env=env, capture_output=True, text=True,
                       timeout=timeout)
    assert p.returncode == 0, p.stderr
    return [w for w in p.stdout.splitlines() if w], p.stderr, time.monotonic() - t


def test_bash_completion_of_options_and_deployments(world, tmp_path):
    env = world.env()
    del env["KUBECONFIG"]
    kc = world.kubeconfig
    got, err, _ = complete("--drain-t", env)
    assert got == ["--drain-timeout"] and err == ""
    got, err, _ = complete("--on-timeout f", env)
    assert got == ["force"]
    # the deployments, listed with the kubeconfig, context and namespace
    # typed so far (the context's name has a ':', which splits COMP_WORDS)
    ctx = "%s/api-dials-test:%d/operator" % (NS, world.kube_port)
    got, err, _ = complete("--kubeconfig %s --context %s -n %s ecal-" % (kc, ctx, NS), env)
    assert got == ["ecal-bulk"] and err == ""
    got, err, _ = complete("--kubeconfig=%s --context=%s --dry-run " % (kc, ctx), env)
    assert sorted(got) == ["common-redbeat", "ecal-bulk"], got
    got, err, _ = complete("--kubeconfig %s -n elsewhere ecal-" % kc, env)
    assert got == [] and err == ""
    got, err, _ = complete("--kubeconfig %s --context nosuch ecal-" % kc, env)
    assert got == [] and err == ""
    # the API server down: nothing completed, nothing printed
    down = tmp_path / "down"
    world.write_kubeconfig(path=str(down))
    text = down.read_text().replace("127.0.0.1:%d\n" % world.kube_port, "127.0.0.1:1\n")
    down.write_text(text)
    got, err, _ = complete("--kubeconfig %s ecal-" % down, env)
    assert got == [] and err == ""
    # an API server that never answers: bounded by the --request-timeout typed
    hang = socket.socket()
    hang.bind(("127.0.0.1", 0))
    hang.listen(16)
    try:
        down.write_text(text.replace("127.0.0.1:1\n", "127.0.0.1:%d\n" % hang.getsockname()[1]))
        got, err, took = complete("--kubeconfig %s --request-timeout 2s ecal-" % down, env)
    finally:
        hang.close()
    assert got == [] and err == ""
    assert took < 15, took
    assert [r for r in world.kube_requests() if r["method"] != "GET"] == []


ZSH_STUBS = r'''
compdef() { :; }
compadd() { [[ $1 == -- ]] && shift; print -rl -- "$@"; }
_files() { print -r -- FILES; }
source /dev/stdin
words=("$@"); CURRENT=$#; PREFIX=${words[CURRENT]}
_drain_and_rollout
'''


def test_zsh_completion_of_options_and_deployments(world):
    """zsh's script, its compadd stubbed to print what it is offered (zsh's
    own compadd then matches them against what is typed)."""
    if shutil.which("zsh") is None:
        pytest.fail("zsh is not installed (tests/install-deps installs it)")
    script = subprocess.run([AGENT, "--completion", "zsh"], capture_output=True,
                            text=True, timeout=30)
    assert script.returncode == 0, script.stderr
    env = world.env()
    del env["KUBECONFIG"]

    def offered(*words):
        p = subprocess.run(["zsh", "-f", "-c", ZSH_STUBS, "zsh", AGENT] + list(words),
                           input=script.stdout, env=env, capture_output=True, text=True,
                           timeout=60)
        assert p.returncode == 0 and p.stderr == "", p.stderr
        return [w for w in p.stdout.splitlines() if w]

    assert "--drain-timeout" in offered("--drain-t")
    assert offered("--control", "") == ["auto", "flower", "broker"]
    ctx = "%s/api-dials-test:%d/operator" % (NS, world.kube_port)
    assert sorted(offered("--kubeconfig", world.kubeconfig, "--context=" + ctx, "ecal-")) == \
        ["common-redbeat", "ecal-bulk"]
    assert offered("--kubeconfig", world.kubeconfig, "-n", "elsewhere", "") == []
    assert offered("--kubeconfig", "/nonexistent", "") == []
