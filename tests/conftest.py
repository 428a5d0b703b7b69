"""For every test: a failed test keeps the test worlds alive meanwhile
(tests/world/world.py) and names their directories in its report. Its
report starts with the end of the agent's last run in each world: the
assertion's message follows, and a CI log that keeps only the first lines
of a failure still shows how that run ended."""
import os
import sys

import pytest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "world"))

import world  # noqa: E402


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    rep = (yield).get_result()
    if rep.failed:
        world.FAILED[0] += 1
        if world.LIVE:
            rep.sections.append(("test worlds kept", "\n".join(w.tmp for w in world.LIVE)))
            ends = [e for e in (last_run_end(w) for w in world.LIVE) if e]
            if ends and rep.longrepr is not None:
                rep.longrepr = "\n".join(ends + [str(rep.longrepr)])


def last_run_end(w, lines=25):
    """The last lines of the agent's last run in world w (its agent.log)."""
    try:
        with open(os.path.join(w.tmp, "agent.log")) as f:
            log = f.read()
    except OSError:
        return None
    # each run is "$ args\n", its output, "[exit N]\n"
    cmd, _, out = ("\n" + log).split("\n$ ")[-1].partition("\n")
    return "the agent's last run in %s: $ %s\n...\n%s\n" % (
        w.tmp, cmd, "\n".join(out.rstrip("\n").split("\n")[-lines:]))
