"""Fixtures for the end-to-end tests: a fresh test world per test (or per
module where the tests change nothing), see tests/world/world.py."""
import http.server
import json
import os
import re
import signal
import sys
import threading

import pytest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "world"))

from world import World, deployment, wait_for  # noqa: E402


def pytest_configure(config):
    config.addinivalue_line("markers", "long(seconds=30): takes that long or more; started first")
    config.addinivalue_line("markers", "valgrind: also run under valgrind memcheck by tests/run --valgrind "
                            "(make test-valgrind)")


def pytest_collection_modifyitems(config, items):
    """The longest work first, so that the parallel run does not end on it:
    the tests marked long (longest first), then the module-wide groups
    (each run by one worker, in file order); the rest keep their order."""
    def key(item):
        long = item.get_closest_marker("long")
        if long is not None:
            return (0, -(long.args[0] if long.args else 30))
        return (1 if item.get_closest_marker("xdist_group") else 2, 0)
    items.sort(key=key)


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


def applied_patches(w, deployment="ecal-bulk"):
    """The PATCHes the API server took (200)."""
    return [p for p in patches(w, deployment) if p.get("status") == 200]


class Hook(http.server.BaseHTTPRequestHandler):
    """A notification webhook: keeps each POST's (Content-Type, JSON body)."""
    posts = []

    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        Hook.posts.append((self.headers.get("Content-Type"), json.loads(body)))
        self.send_response(200)
        self.end_headers()

    def log_message(self, *a):
        pass


def webhook():
    Hook.posts = []
    srv = http.server.HTTPServer(("127.0.0.1", 0), Hook)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    return srv, "http://127.0.0.1:%d/hooks/abc" % srv.server_port


SAMPLE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)'
                    r'(\{(?:[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\n]|\\.)*",?)*\})? (\S+)$')


def check_prometheus_text(text):
    """As strict as node_exporter's textfile collector: each family's HELP
    then TYPE, then its samples and only its samples, no family twice, no
    series twice, values that parse, a final newline. Returns the
    {name: {labels: value}} it read."""
    assert text.endswith("\n"), "no final newline"
    fams, series, current = {}, set(), None
    for n, line in enumerate(text.splitlines(), 1):
        if line.startswith("# HELP "):
            name = line.split()[2]
            assert name not in fams, "line %d: family %s twice" % (n, name)
            fams[name] = {}
            current = None
            helped = name
        elif line.startswith("# TYPE "):
            _, _, name, kind = line.split()
            assert name == helped and kind in ("gauge", "counter", "untyped"), \
                "line %d: TYPE %s after HELP %s" % (n, name, helped)
            current = name
        else:
            m = SAMPLE.match(line)
            assert m, "line %d: not a sample: %r" % (n, line)
            assert m.group(1) == current, "line %d: %s among %s's samples" % (
                n, m.group(1), current)
            assert (m.group(1), m.group(2)) not in series, "line %d: series twice" % n
            series.add((m.group(1), m.group(2)))
            fams[current][m.group(2) or ""] = float(m.group(3))
    return fams


def read_terminal(master):
    """Every byte written to a pseudo-terminal until the program on it
    exited (EIO: the terminal closed); closes master."""
    raw = b""
    while True:
        try:
            chunk = os.read(master, 65536)
        except OSError:		# EIO: the program exited, the terminal closed
            break
        if not chunk:
            break
        raw += chunk
    os.close(master)
    return raw


def interrupt_twice_mid_restore(w, p):
    """SIGINT, then SIGINT again while the restore it started is in
    progress: Flower holds its add-consumer for 3 s."""
    w.flower_test("POST", "/_test/delay", {"seconds": 3})
    p.send_signal(signal.SIGINT)
    wait_for(lambda: [r for r in w.flower_test("GET", "/_test/requests")
                      if "/add-consumer/" in r["path"] and r["status"] is None], 10,
             "the restore's add-consumer at Flower", interval=0.05)
    p.send_signal(signal.SIGINT)
