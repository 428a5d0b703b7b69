"""The command table's argument rules (include/cmd.h): one mode at a time,
a mode's own options only with it, each with a usage error (exit 2) that
changes nothing."""
import json

from conftest import patches
from world import NS


def test_mode_rules_are_usage_errors_that_change_nothing(shared_world):
    w = shared_world
    worker = w.worker_of("ecal-bulk")
    for args, words in ((["--status", "--recover"], ["--status and --recover exclude each other"]),
                        (["--undrain", "--status", "ecal-bulk"],
                         ["--undrain and --status exclude each other"]),
                        (["--queues", "ecal-bulk", "ecal-bulk"],
                         ["--queues does not apply to drain",
                          "usage: drain-and-rollout [options] DEPLOYMENT... | -l SELECTOR"]),
                        (["--status", "-l", "app=x"],
                         ["-l/--selector does not apply to --status",
                          "usage: drain-and-rollout --status [-w] [DEPLOYMENT...]"]),
                        (["--recover", "--queues", "q", "ecal-bulk"],
                         ["--queues does not apply to --recover"]),
                        (["--undrain"], ["--undrain: name at least one deployment",
                                         "usage: drain-and-rollout --undrain"])):
        p = w.run(*args)
        assert p.returncode == 2, (args, p.stderr)
        for word in words:
            assert word in p.stderr, (args, p.stderr)
    # DRAIN_SELECTOR is the drain's: other modes ignore it, names win over it
    p = w.run("--status", env=w.env(DRAIN_SELECTOR="app=x"))
    assert p.returncode == 0, p.stderr
    assert w.consumes(worker, "ecal-bulk")
    assert patches(w) == []
    assert not w.r().exists("drain-and-rollout:lease:%s:ecal-bulk" % NS)
    assert w.worker_of("ecal-bulk") == worker


def test_recover_with_nothing_to_do_ends_changing_nothing(shared_world):
    """--recover with no journal, or with the journal of a --drain-only run
    (left drained on purpose): exit 0, "nothing to recover", and nothing
    is taken or changed: no lease, no PATCH, the worker consumes."""
    w = shared_world
    worker = w.worker_of("ecal-bulk")
    journal = "drain-and-rollout:journal:%s:ecal-bulk" % NS
    lease = "drain-and-rollout:lease:%s:ecal-bulk" % NS
    assert not w.r().exists(journal)
    p = w.run("--recover", "ecal-bulk", "-o", "json")
    assert p.returncode == 0, p.stderr
    assert "no interrupted run to recover" in p.stderr
    (d,) = json.loads(p.stdout)["deployments"]
    assert d["deployment"] == "ecal-bulk" and d["outcome"] == "nothing-to-do" and d["exit_code"] == 0
    p = w.run("--recover", "ecal-bulk")
    assert p.returncode == 0, p.stderr
    assert "nothing to recover" in p.stderr
    w.r().hset(journal, mapping={"state": "drained", "holder": "elsewhere:1"})
    try:
        p = w.run("--recover", "ecal-bulk")
        assert p.returncode == 0, p.stderr
        assert "left drained on purpose by --drain-only" in p.stderr
        assert "nothing to recover" in p.stderr
        assert w.r().hgetall(journal) == {"state": "drained", "holder": "elsewhere:1"}
    finally:
        w.r().delete(journal)
    assert not w.r().exists(lease)
    assert patches(w) == []
    assert w.consumes(worker, "ecal-bulk")
    assert w.worker_of("ecal-bulk") == worker
