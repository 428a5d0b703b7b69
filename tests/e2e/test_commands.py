"""The command table's argument rules (include/cmd.h): one mode at a time,
a mode's own options only with it, each with a usage error (exit 2) that
changes nothing."""
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
                          "usage: drain-and-rollout --status [DEPLOYMENT...]"]),
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
