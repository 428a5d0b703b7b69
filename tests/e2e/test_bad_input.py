"""Bad input gets a clear error, a non-zero exit, and changes nothing: the
worker keeps consuming and no restart is sent."""
import os

import pytest

from conftest import patches
from world import NS

# one module-scoped world: its tests run on one pytest-xdist worker, in file order
pytestmark = pytest.mark.xdist_group("bad_input")


def unchanged(w):
    worker = w.worker_of("ecal-bulk")
    assert w.consumes(worker, "ecal-bulk"), "a worker was left drained"
    assert patches(w) == []
    assert not w.r().exists("drain-and-rollout:lease:%s:ecal-bulk" % NS)


@pytest.mark.valgrind
def test_unknown_deployment(shared_world):
    p = shared_world.run("nosuch-bulk")
    assert p.returncode == 3
    assert 'deployments.apps "nosuch-bulk" not found' in p.stderr
    unchanged(shared_world)


@pytest.mark.parametrize("name", ["Ecal-Bulk", "ecal_bulk", "ecal-", "x" * 64 + ".y",
                                  "csc..bulk", "x" * 254])
def test_invalid_name(shared_world, name):
    """A name Kubernetes would refuse is a usage error, before any request."""
    before = len(shared_world.kube_requests())
    p = shared_world.run(name)
    assert p.returncode == 2, p.stderr
    assert "not a valid Deployment name (a DNS-1123 subdomain" in p.stderr
    assert len(shared_world.kube_requests()) == before
    unchanged(shared_world)


def test_a_name_with_dots_is_a_deployment_name(shared_world):
    """Deployment names are DNS-1123 subdomains: dots are allowed."""
    p = shared_world.run("csc.bulk")
    assert p.returncode == 3, p.stderr
    assert 'deployments.apps "csc.bulk" not found' in p.stderr
    unchanged(shared_world)


def test_deployment_without_celery_workers(shared_world):
    p = shared_world.run("common-redbeat")
    assert p.returncode == 3
    assert "no online Celery worker" in p.stderr
    assert patches(shared_world, "common-redbeat") == []
    unchanged(shared_world)


def test_flower_unreachable(shared_world):
    p = shared_world.run("ecal-bulk", "--control", "flower",
                         "--flower-url", "http://127.0.0.1:1", "--request-timeout", "2s")
    assert p.returncode == 3
    assert "Flower http://127.0.0.1:1" in p.stderr and "port-forward" in p.stderr
    unchanged(shared_world)


def test_kubernetes_unreachable(shared_world, tmp_path):
    kc = tmp_path / "kubeconfig"
    kc.write_text(open(shared_world.kubeconfig).read().replace(
        "https://127.0.0.1:%d" % shared_world.kube_port, "https://127.0.0.1:1"))
    p = shared_world.run("ecal-bulk", "--kubeconfig", str(kc), "--request-timeout", "2s")
    assert p.returncode == 3
    assert "Kubernetes API https://127.0.0.1:1" in p.stderr
    unchanged(shared_world)


@pytest.mark.valgrind
def test_expired_token(shared_world, tmp_path):
    kc = tmp_path / "kubeconfig"
    kc.write_text(open(shared_world.kubeconfig).read().replace("sha256~e2e", "sha256~old"))
    p = shared_world.run("ecal-bulk", "--kubeconfig", str(kc))
    assert p.returncode == 3
    assert "401" in p.stderr and "log in again" in p.stderr
    unchanged(shared_world)


def test_untrusted_server_certificate(shared_world, tmp_path):
    kc = tmp_path / "kubeconfig"
    kc.write_text(open(shared_world.kubeconfig).read().replace(
        "certificate-authority: ", "certificate-authority: /etc/ssl/certs/ca-certificates.crt\n    x-old: "))
    p = shared_world.run("ecal-bulk", "--kubeconfig", str(kc))
    assert p.returncode == 3
    assert "certificate" in p.stderr.lower() or "ssl" in p.stderr.lower()
    unchanged(shared_world)


def test_malformed_kubeconfig(shared_world, tmp_path):
    kc = tmp_path / "kubeconfig"
    kc.write_text("apiVersion: v1\nclusters: [\n")
    p = shared_world.run("ecal-bulk", "--kubeconfig", str(kc))
    assert p.returncode == 2
    assert str(kc) in p.stderr and "line" in p.stderr
    unchanged(shared_world)


def test_malformed_json_from_flower(shared_world):
    shared_world.flower_test("POST", "/_test/garbage", {"count": 3})
    p = shared_world.run("ecal-bulk", "--control", "flower")
    shared_world.flower_test("POST", "/_test/reset", {})
    assert p.returncode == 3
    assert "malformed JSON" in p.stderr
    unchanged(shared_world)


def test_oversized_json_from_flower(shared_world):
    shared_world.flower_test("POST", "/_test/huge", {"count": 3})
    p = shared_world.run("ecal-bulk", "--control", "flower")
    shared_world.flower_test("POST", "/_test/reset", {})
    assert p.returncode == 3
    assert "larger than" in p.stderr
    unchanged(shared_world)


def test_bad_options(shared_world):
    for args, word in ((["--drain-timeout", "soon", "ecal-bulk"], "invalid duration"),
                       (["--on-timeout", "maybe", "ecal-bulk"], "abort or force"),
                       (["--redis-url", "http://x", "ecal-bulk"], "redis://"),
                       (["--max-parallel", "0", "ecal-bulk"], "--max-parallel"),
                       ([], "usage")):
        p = shared_world.run(*args)
        assert p.returncode == 2, (args, p.stderr)
        assert word in p.stderr, (args, p.stderr)
    unchanged(shared_world)


def test_typos_and_bare_numbers_are_refused(shared_world, tmp_path):
    """A misspelt configuration key or option is an error naming the closest
    one; a duration without its unit, -v with -q and -n=NS are refused: exit
    2 before anything is reached or changed, where they used to be taken
    (or silently ignored) for a drain."""
    conf = tmp_path / "drain.conf"
    conf.write_text("# nightly\nDRAIN_DRAIN_TIMEUOT=1h\n")
    for args, words in (
            (["--config", str(conf)],
             ["%s:2: unknown key DRAIN_DRAIN_TIMEUOT (did you mean "
              "DRAIN_DRAIN_TIMEOUT?)" % conf]),
            (["--drain-timout", "1h"],
             ["unknown option --drain-timout (did you mean --drain-timeout?)"]),
            (["--drain-timeout", "30"],
             ['--drain-timeout: "30" has no unit: say 30s or 30m']),
            (["-v", "-q"], ["-q (--quiet) and -v (--verbose) exclude each other"]),
            (["-n=%s" % NS], ["-n=%s: a short option's value follows it without '=': "
                              "-n %s" % (NS, NS)])):
        p = shared_world.run("ecal-bulk", "--dry-run", *args)
        assert p.returncode == 2, (args, p.returncode, p.stderr)
        for w in words:
            assert w in p.stderr, (args, p.stderr)
        assert "resolving" not in p.stderr and len(p.stderr.splitlines()) == 1, p.stderr
    env = shared_world.env(DRAIN_LEASE_TTL="30")
    p = shared_world.run("ecal-bulk", "--dry-run", env=env)
    assert p.returncode == 2 and 'DRAIN_LEASE_TTL: "30" has no unit' in p.stderr, p.stderr
    unchanged(shared_world)


def test_forbidden_patch_restores(world):
    world.kube_test("POST", "/_test/forbid", {"verb": "patch", "resource": "deployments"})
    p = world.run("ecal-bulk")
    assert p.returncode == 5, p.stderr
    assert "403" in p.stderr and "cannot patch" in p.stderr
    world.kube_test("DELETE", "/_test/forbid")
    assert world.consumes(world.worker_of("ecal-bulk"), "ecal-bulk")


def test_flower_basic_auth(request):
    from conftest import make_world
    w = make_world(request, flower_auth="ops:s3cret")
    p = w.run("ecal-bulk", "--dry-run", "--control", "flower")
    assert p.returncode == 3
    assert "401" in p.stderr and "--flower-user" in p.stderr
    pw = os.path.join(w.tmp, "flower-password")
    with open(pw, "w") as f:
        f.write("s3cret\n")
    p = w.run("ecal-bulk", "--dry-run", "--control", "flower", "--flower-user", "ops",
              "--flower-password-file", pw)
    assert p.returncode == 0, p.stderr
    assert "s3cret" not in p.stdout + p.stderr
