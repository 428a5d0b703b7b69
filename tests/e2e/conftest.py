"""Fixtures for the end-to-end tests: a fresh test world per test (or per
module where the tests change nothing), see tests/world/world.py."""
import os
import sys

import pytest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "world"))

from world import World, deployment  # noqa: E402


def make_world(request, deployments=None, **kw):
    w = World(deployments or [deployment("ecal-bulk"),
                              deployment("common-redbeat", worker=False)], **kw)
    try:
        w.start()
    except BaseException:
        w.stop()
        raise
    request.addfinalizer(w.stop)
    return w


@pytest.fixture
def world(request):
    return make_world(request)


@pytest.fixture(scope="module")
def shared_world(request):
    return make_world(request)


def patches(w, deployment="ecal-bulk"):
    return [r for r in w.kube_requests()
            if r["method"] == "PATCH" and "/deployments/%s" % deployment in r["path"]]
