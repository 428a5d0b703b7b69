"""For every test: a failed test keeps the test worlds alive meanwhile
(tests/world/world.py) and names their directories in its report."""
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
