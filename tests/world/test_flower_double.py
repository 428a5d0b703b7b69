"""End-to-end tests of tests/world/flower_double.py against a real Redis and a
real Celery worker, checked against the Flower 2.0.1 captures in
shared/fixtures/flower/.

Run: /usr/bin/python3 -m pytest tests/world/test_flower_double.py

The tests of this module share one worker and run in file order: busy ->
cancel -> drained -> add-consumer -> ... -> SIGKILL of the worker last.
"""
import base64
import http.client
import json
import os
import signal
import time

import pytest
import redis
from world import FLOWER_DOUBLE, HERE, PY, World, fixture_path, free_port, wait_for

# one module-scoped world: its tests run on one pytest-xdist worker, in file order
pytestmark = pytest.mark.xdist_group("flower_double")

WORKER = "ecal-bulk@pod-aaa"
QUEUE = "ecal-bulk"


def fixture_json(name):
    with open(fixture_path("flower", name)) as f:
        return json.load(f)


def fixture_text(name):
    with open(fixture_path("flower", name)) as f:
        return f.read()


# ---------------------------------------------------------------------------
# shape comparison: key sets and JSON types, recursively, not values
# ---------------------------------------------------------------------------
# dicts whose keys are data (task names, config settings, task kwargs)
FREE_FORM = {"conf", "total", "kwargs", "transport_options", "broker_transport_options"}


def jtype(v):
    if v is None:
        return "null"
    if isinstance(v, bool):
        return "bool"
    if isinstance(v, (int, float)):
        return "number"
    if isinstance(v, str):
        return "string"
    if isinstance(v, list):
        return "array"
    if isinstance(v, dict):
        return "object"
    return type(v).__name__


def shape_diff(ref, got, path="$", lenient=()):
    """Differences between the shape of `got` and the captured `ref`."""
    out = []
    key = path.rsplit(".", 1)[-1]
    if ref is None or got is None or key in lenient:
        return out  # null in a capture says nothing about the type
    if jtype(ref) != jtype(got):
        return ["%s: %s in capture, %s here" % (path, jtype(ref), jtype(got))]
    if isinstance(ref, dict):
        if key in FREE_FORM:
            return out
        if set(ref) != set(got) - EXTRA_OK:
            out.append("%s: keys differ: missing %s, extra %s" % (
                path, sorted(set(ref) - set(got)), sorted(set(got) - set(ref))))
        for k in set(ref) & set(got):
            out += shape_diff(ref[k], got[k], path + "." + k, lenient)
    elif isinstance(ref, list) and ref and got:
        for i, item in enumerate(got):
            out += shape_diff(ref[0], item, "%s[%d]" % (path, i), lenient)
    return out


# --worker here runs with --max-tasks-per-child=1 (as in DIALS); the capture's
# worker had none, so that one value is "N/A" (string) there and 1 (int) here.
# A task's args/kwargs: the capture's `active` entry holds their repr strings,
# while the real Celery 5.2.6 worker here answers the decoded list/dict (as in
# `reserved`): a client must accept both.
LENIENT = ("max-tasks-per-child", "args", "kwargs")
# stats.autoscaler exists only on a worker started with --autoscale (as here and
# in DIALS); the captures' worker had none.
EXTRA_OK = {"autoscaler"}


def one_worker(doc):
    """{worker name: info} -> info (names differ between captures)."""
    assert isinstance(doc, dict) and len(doc) == 1, doc
    return next(iter(doc.values()))


def assert_shape(ref, got):
    diff = shape_diff(ref, got, lenient=LENIENT)
    assert not diff, "shape differs from the Flower capture:\n" + "\n".join(diff)


# ---------------------------------------------------------------------------
# processes
# ---------------------------------------------------------------------------
class Double:
    """One Flower double of the world, and HTTP requests to it."""

    def __init__(self, w, name, *args):
        self.w = w
        self.name = name
        self.port = free_port()
        self.ready = os.path.join(w.tmp, name + ".ready")
        # no FLOWER_UNAUTHENTICATED_API from the environment: each double says what it wants
        w._spawn(name, [PY, FLOWER_DOUBLE, "--port", str(self.port), "--ready-file", self.ready] + list(args),
                 env={"BROKER_URL": w.broker_url, "FLOWER_UNAUTHENTICATED_API": ""})
        self.proc = w.procs[name]

    def wait_ready(self, timeout=20):
        wait_for(lambda: os.path.exists(self.ready) or self.proc.poll() is not None, timeout,
                 what="ready file of the double")
        assert os.path.exists(self.ready), "double died:\n" + self.w.log(self.name)

    def request(self, method, path, body=None, headers=None, timeout=30):
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
        try:
            hdrs = dict(headers or {})
            data = None
            if body is not None:
                data = json.dumps(body).encode()
                hdrs["Content-Type"] = "application/json"
            t0 = time.time()
            conn.request(method, path, body=data, headers=hdrs)
            r = conn.getresponse()
            raw = r.read()
            return r.status, dict(r.getheaders()), raw, time.time() - t0
        finally:
            conn.close()

    def get_json(self, path, **kw):
        status, hdrs, raw, _ = self.request("GET", path, **kw)
        assert status == 200, (path, status, raw[:300])
        assert hdrs["Content-Type"] == "application/json; charset=UTF-8"
        return json.loads(raw)


@pytest.fixture(scope="module")
def world():
    """Redis, one real Celery worker (no Kubernetes), and four Flower doubles."""
    w = World([], flower=False)
    saved_broker = os.environ.get("BROKER_URL")
    try:
        w.start_redis()
        worker = w._spawn("worker", [PY, "-m", "celery", "-A", "etl", "worker", "--concurrency=1",
                                     "--autoscale=1,0", "--max-tasks-per-child=1", "--hostname=" + WORKER,
                                     "--queues=" + QUEUE, "-E", "-l", "INFO", "--without-gossip",
                                     "--without-mingle"], env={"BROKER_URL": w.broker_url}, cwd=HERE)
        wait_for(lambda: " ready." in w.log("worker") or worker.poll() is not None, 30,
                 what="celery worker")
        assert worker.poll() is None, w.log("worker")

        doubles = {
            "open": Double(w, "open", "--unauthenticated-api"),
            "basic": Double(w, "basic", "--basic-auth", "ops:s3cret"),
            "noauth": Double(w, "noauth"),
            "purge": Double(w, "purge", "--unauthenticated-api", "--purge-offline-workers", "3"),
            # other Flower versions (fixtures/flower/v1.2.0, v2.1.0)
            "v12": Double(w, "v12", "--version", "1.2"),
            "v12auth": Double(w, "v12auth", "--version", "1.2", "--basic-auth", "ops:s3cret"),
            "v21": Double(w, "v21", "--version", "2.1", "--unauthenticated-api"),
            "v21ro": Double(w, "v21ro", "--version", "2.1", "--read-only",
                            "--basic-auth", "ops:s3cret"),
        }
        for d in doubles.values():
            d.wait_ready()

        os.environ["BROKER_URL"] = w.broker_url
        import importlib
        import etl
        importlib.reload(etl)  # pick up this test's BROKER_URL
        etl.app.conf.broker_url = w.broker_url
        yield {"w": w, "tmp": w.tmp, "worker": worker, "etl": etl, "redis": redis.Redis(port=w.redis_port),
               "redis_port": w.redis_port, **doubles}
    finally:
        for name in ("v21ro", "v21", "v12auth", "v12", "purge", "noauth", "basic", "open",
                     "worker"):
            w._stop(name, timeout=5)
        w.stop()
        if saved_broker is None:
            os.environ.pop("BROKER_URL", None)
        else:
            os.environ["BROKER_URL"] = saved_broker


def refresh(d, name=WORKER):
    return d.get_json("/api/workers?refresh=1&workername=" + name)


def enqueue(etl, n, seconds=3):
    return [etl.ingest.apply_async(args=[seconds, "x%d" % i], queue=QUEUE).id for i in range(n)]


# ---------------------------------------------------------------------------
# auth (fixtures/flower/auth_401.txt)
# ---------------------------------------------------------------------------
def test_basic_auth_401_has_empty_body_and_no_challenge(world):
    d = world["basic"]
    for hdrs in ({}, {"Authorization": "Basic " + base64.b64encode(b"ops:wrong").decode()},
                 {"Authorization": "Bearer abc"}, {"Authorization": "Basic !!!"}):
        status, h, raw, _ = d.request("GET", "/api/workers?status=true", headers=hdrs)
        assert status == 401, hdrs
        assert raw == b""
        assert "WWW-Authenticate" not in h
        assert h["Content-Type"] == "text/html; charset=UTF-8"
        assert h["Server"] == "TornadoServer/6.2"
        assert h["Content-Length"] == "0"
    good = {"Authorization": "Basic " + base64.b64encode(b"ops:s3cret").decode()}
    assert d.get_json("/api/workers?status=true", headers=good) == {WORKER: True}
    status, _, _, _ = d.request("POST", "/api/worker/queue/cancel-consumer/nosuch@pod?queue=q")
    assert status == 401
    status, _, raw, _ = d.request("POST", "/api/worker/queue/cancel-consumer/nosuch@pod?queue=q",
                                  headers=good)
    assert (status, raw) == (404, b"Unknown worker 'nosuch@pod'")


def test_no_auth_configured_401_text(world):
    text = fixture_text("auth_401.txt")
    expected = "FLOWER_UNAUTHENTICATED_API environment variable is required to enable API without authentication"
    assert expected in text
    d = world["noauth"]
    for method, path in (("GET", "/api/workers"), ("POST", "/api/worker/queue/cancel-consumer/%s?queue=%s" % (WORKER, QUEUE))):
        status, h, raw, _ = d.request(method, path)
        assert status == 401
        assert raw.decode() == expected
        assert h["Content-Length"] == "96"
        assert h["Content-Type"] == "text/html; charset=UTF-8"
        assert "WWW-Authenticate" not in h
    # the worker was not touched by the refused cancel
    assert [q["name"] for q in refresh(world["open"])[WORKER]["active_queues"]] == [QUEUE]
    status, _, raw, _ = d.request("GET", "/healthcheck")
    assert (status, raw) == (200, b"OK")


# ---------------------------------------------------------------------------
# other Flower versions (fixtures/flower/v1.2.0, v2.1.0)
# ---------------------------------------------------------------------------
GOOD = {"Authorization": "Basic " + base64.b64encode(b"ops:s3cret").decode()}
CANCEL = "/api/worker/queue/cancel-consumer/%s?queue=%s" % (WORKER, QUEUE)
ADD = "/api/worker/queue/add-consumer/%s?queue=%s" % (WORKER, QUEUE)


def capture(name, nth=0):
    """The nth HTTP answer of a capture file: (status, {header: value}, body).
    The captures' Date values were removed; their worker is w1@pod1 on q1."""
    sections, cur = [], None
    for line in fixture_text(name).split("\n"):
        if line.startswith("HTTP/1.1 "):
            cur = {"status": int(line.split()[1]), "headers": {}, "body": None}
            sections.append(cur)
        elif cur is None or line.startswith("#"):
            cur = None if line.startswith("#") else cur
        elif cur["body"] is None and line == "":
            cur["body"] = []
        elif cur["body"] is None:
            k, _, v = line.partition(":")
            cur["headers"][k] = v.strip()
        else:
            cur["body"].append(line)
    c = sections[nth]
    return c["status"], c["headers"], "\n".join(c["body"] or []).rstrip("\n").encode()


def assert_like_capture(answer, name, nth=0, subst=None):
    status, hdrs, raw, _ = answer
    want_status, want_hdrs, want_body = capture(name, nth)
    for a, b in (subst or {}).items():
        want_body = want_body.replace(a.encode(), b.encode())
    assert status == want_status, (name, status, raw)
    assert raw == want_body, (name, raw, want_body)
    for k, v in want_hdrs.items():
        if k == "Date":
            assert k in hdrs
        elif k == "Content-Length":
            assert hdrs[k] == str(len(raw))
        else:
            assert hdrs.get(k, "").strip() == v, (name, k, hdrs.get(k), v)
    assert "Etag" not in hdrs or status == 200
    if status != 200 or "Access-Control-Allow-Origin" not in want_hdrs:
        assert "Access-Control-Allow-Origin" not in hdrs, (name, hdrs)


def test_v12_with_auth_has_no_api(world):
    d = world["v12auth"]
    for method, path in (("GET", "/api/workers?status=true"),
                         ("GET", "/api/workers?refresh=1&workername=" + WORKER),
                         ("POST", CANCEL), ("POST", ADD), ("GET", "/api/tasks"),
                         ("GET", "/api/queues/length")):
        for hdrs in ({}, GOOD):
            assert_like_capture(d.request(method, path, headers=hdrs),
                                "v1.2.0/api_with_auth_405.txt")
    assert [q["name"] for q in refresh(world["open"])[WORKER]["active_queues"]] == [QUEUE]


def test_v12_without_auth_is_open_with_cors_headers(world):
    d = world["v12"]     # no FLOWER_UNAUTHENTICATED_API: 1.x has no such gate
    ans = d.request("GET", "/api/workers?status=true")
    assert ans[0] == 200 and json.loads(ans[2]) == {WORKER: True}
    assert ans[1]["Access-Control-Allow-Origin"] == "*"
    info = refresh(d)[WORKER]
    assert_shape(one_worker(fixture_json("v1.2.0/GET_api_workers_refresh_one_idle.json")), info)
    assert_like_capture(d.request("POST", CANCEL), "v1.2.0/POST_cancel_consumer_200.txt",
                        subst={"q1": QUEUE})
    assert refresh(d)[WORKER]["active_queues"] == []
    assert_like_capture(d.request("POST", ADD), "v1.2.0/POST_add_consumer_200.txt",
                        subst={"q1": QUEUE})
    assert [q["name"] for q in refresh(d)[WORKER]["active_queues"]] == [QUEUE]


def test_v21_read_only_refuses_consumer_changes(world):
    d = world["v21ro"]
    for method, path in (("GET", "/api/workers?status=true"), ("POST", CANCEL)):
        assert_like_capture(d.request(method, path), "v2.1.0/auth_401.txt")
    assert_like_capture(d.request("POST", CANCEL, headers=GOOD),
                        "v2.1.0/POST_cancel_consumer_read_only_403.txt")
    assert_like_capture(d.request("POST", ADD, headers=GOOD),
                        "v2.1.0/POST_add_consumer_read_only_403.txt")
    # reads still work, and the worker was not touched
    assert d.get_json("/api/workers?status=true", headers=GOOD) == {WORKER: True}
    info = d.get_json("/api/workers?refresh=1&workername=" + WORKER, headers=GOOD)[WORKER]
    ref = one_worker(fixture_json("v2.1.0/GET_api_workers_refresh_one_idle.json"))
    # stats come from the worker, not from Flower: the capture's worker ran a
    # kombu whose connection info has no "alternates"; Celery 5.2.6 here has
    ref["stats"]["broker"].setdefault("alternates", [])
    assert_shape(ref, info)
    assert [q["name"] for q in info["active_queues"]] == [QUEUE]


def _refresh_during_all_workers_inspection(d):
    """An all-workers refresh in flight (1 s: it waits the inspect timeout),
    a cancel, then a refresh of the worker: (its queues, its duration)."""
    import threading
    t = threading.Thread(target=lambda: d.request("GET", "/api/workers?refresh=1"))
    t.start()
    time.sleep(0.4)          # the worker has answered that inspection
    status, _, raw, _ = d.request("POST", CANCEL)
    assert status == 200, raw
    status, _, raw, took = d.request("GET", "/api/workers?refresh=1&workername=" + WORKER)
    t.join()
    assert status == 200, raw
    return [q["name"] for q in json.loads(raw)[WORKER]["active_queues"]], took


def test_v21_refresh_joins_an_inspection_in_flight(world):
    d = world["v21"]
    try:
        queues, took = _refresh_during_all_workers_inspection(d)
        assert queues == [QUEUE], "2.1 answered from a new inspection: %r" % queues
        assert took > 0.3, "did not wait for the inspection in flight: %.2fs" % took
        # once that inspection is over, a refresh sees the cancel
        assert refresh(d)[WORKER]["active_queues"] == []
    finally:
        assert d.request("POST", ADD)[0] == 200
    # Celery adds the consumer just after answering add_consumer (call_soon)
    wait_for(lambda: [q["name"] for q in refresh(d)[WORKER]["active_queues"]] == [QUEUE],
             10, "the queue consumed again")
    # Flower 2.0 starts a new inspection for the refresh: it sees the cancel,
    # unless the worker answered it before running the cancel it had just
    # acknowledged (Celery's call_soon, both in one batch on a loaded
    # machine); 2.1, which joins the inspection in flight, never does
    d = world["open"]
    seen = []
    for _ in range(3):
        try:
            queues, _ = _refresh_during_all_workers_inspection(d)
            seen.append(queues)
        finally:
            assert d.request("POST", ADD)[0] == 200
        if queues == []:
            break
        wait_for(lambda: [q["name"] for q in refresh(d)[WORKER]["active_queues"]] == [QUEUE],
                 10, "the queue consumed again")
    assert seen[-1] == [], seen


# ---------------------------------------------------------------------------
# workers
# ---------------------------------------------------------------------------
def test_status_true_maps_known_workers_online(world):
    assert world["open"].get_json("/api/workers?status=true") == {WORKER: True}


def test_unknown_worker_404(world):
    d = world["open"]
    status, h, raw, el = d.request("POST", "/api/worker/queue/cancel-consumer/nosuch@pod?queue=ecal-bulk")
    assert status == 404
    assert raw.decode() == fixture_text("POST_cancel_consumer_404.txt").strip()
    assert el < 0.5
    status, _, raw, _ = d.request("POST", "/api/worker/queue/add-consumer/nosuch@pod?queue=ecal-bulk")
    assert (status, raw) == (404, b"Unknown worker 'nosuch@pod'")
    # a refresh of an unknown worker waits out the inspect timeout, then 404
    status, _, raw, el = d.request("GET", "/api/workers?refresh=1&workername=nosuch@pod")
    assert (status, raw) == (404, b"Unknown worker 'nosuch@pod'")
    assert el >= 0.9


def test_control_endpoints_are_post_only(world):
    status, _, raw, _ = world["open"].request(
        "GET", "/api/worker/queue/cancel-consumer/%s?queue=%s" % (WORKER, QUEUE))
    assert (status, raw) == (405, b"")


def test_refresh_busy_worker(world):
    d = world["open"]
    world["ids"] = enqueue(world["etl"], 5, seconds=3)

    def busy():
        info = refresh(d)[WORKER]
        return info if len(info["active"]) == 1 and len(info["reserved"]) == 4 else None
    info = wait_for(busy, 10, interval=0.2, what="1 active + 4 reserved")
    ref = fixture_json("GET_api_workers_refresh_one_busy.json")
    assert_shape(one_worker(ref), info)
    assert info["stats"]["prefetch_count"] == 4
    assert {t["id"] for t in info["active"] + info["reserved"]} == set(world["ids"])
    assert abs(info["timestamp"] - time.time()) < 2
    assert [q["name"] for q in info["active_queues"]] == [QUEUE]


def test_tasks_lists_started_task(world):
    d = world["open"]

    def started():
        got = d.get_json("/api/tasks?workername=%s&state=STARTED" % WORKER)
        return got or None
    got = wait_for(started, 8, what="a STARTED task in /api/tasks")
    assert len(got) == 1
    (tid, task), = got.items()
    assert tid in world["ids"]
    ref = fixture_json("GET_api_tasks_state_STARTED.json")
    assert_shape(next(iter(ref.values())), task)
    assert list(task) == list(next(iter(ref.values())))  # same keys, same order
    assert task["state"] == "STARTED" and task["name"] == "ingest"
    assert task["worker"] == WORKER and task["uuid"] == tid
    assert d.get_json("/api/tasks?workername=other@pod&state=STARTED") == {}
    assert len(d.get_json("/api/tasks?limit=2")) == 2
    status, _, raw, _ = d.request("GET", "/api/tasks?limit=x")
    assert (status, raw) == (500, b"")


def test_cancel_consumer_then_refresh_shows_no_queue(world):
    d = world["open"]
    status, h, raw, el = d.request("POST", "/api/worker/queue/cancel-consumer/%s?queue=%s" % (WORKER, QUEUE))
    assert status == 200, raw
    assert h["Content-Type"] == "application/json; charset=UTF-8"
    body = json.loads(raw)
    assert_shape(fixture_json("POST_cancel_consumer_200.json"), body)
    assert body == {"message": "no longer consuming from ecal-bulk"}
    info = refresh(d)[WORKER]
    assert info["active_queues"] == []
    assert len(info["active"]) + len(info["reserved"]) >= 1  # prefetched work still there
    assert_shape(one_worker(fixture_json("GET_api_workers_refresh_one_after_cancel.json")), info)


def test_prefetched_tasks_drain(world):
    d = world["open"]

    def drained():
        info = refresh(d)[WORKER]
        return info if not info["active"] and not info["reserved"] else None
    info = wait_for(drained, 40, interval=0.5, what="drained worker")
    assert info["active_queues"] == [] and info["scheduled"] == []
    assert_shape(one_worker(fixture_json("GET_api_workers_refresh_one_drained.json")), info)
    ledger = world["redis"].__class__(port=world["redis_port"], db=15)
    assert {k.decode() for k in ledger.hkeys("ledger:done")} == set(world["ids"])


def test_queue_lengths_fall_back_to_app_default(world):
    # No cached worker consumes anything now (consumer cancelled): Flower 2.0.1
    # then lists the app's own default queue, as in the capture.
    d = world["open"]
    got = d.get_json("/api/queues/length")
    assert got == fixture_json("GET_api_queues_length.json") == {
        "active_queues": [{"name": "celery", "messages": 0}]}
    r = world["redis"]
    r.lpush("celery", b"{}")
    r.lpush("celery\x06\x163", b"{}")  # priority sub-lists count too
    try:
        assert d.get_json("/api/queues/length") == {"active_queues": [{"name": "celery", "messages": 2}]}
    finally:
        r.delete("celery", "celery\x06\x163")


def test_add_consumer_resumes(world):
    d = world["open"]
    status, _, raw, _ = d.request("POST", "/api/worker/queue/add-consumer/%s?queue=%s" % (WORKER, QUEUE))
    assert status == 200
    body = json.loads(raw)
    assert_shape(fixture_json("POST_add_consumer_200.json"), body)
    assert body == {"message": "add consumer ecal-bulk"}
    info = refresh(d)[WORKER]
    assert [q["name"] for q in info["active_queues"]] == [QUEUE]
    assert_shape(fixture_json("GET_api_workers_refresh_one_busy.json")[
        "ecal-bulk@pod-bbb"]["active_queues"], info["active_queues"])
    # Flower 2.0.1 lists the queues its cached workers consume
    got = d.get_json("/api/queues/length")
    assert got == {"active_queues": [{"name": QUEUE, "messages": 0}]}


def test_cached_workers_without_refresh(world):
    d = world["open"]
    fresh = refresh(d)[WORKER]
    cached = d.get_json("/api/workers?workername=" + WORKER)[WORKER]
    assert cached["timestamp"] == fresh["timestamp"]
    allw = d.get_json("/api/workers")
    assert set(allw) == {WORKER}


def test_test_controls(world):
    d = world["open"]
    assert d.request("DELETE", "/_test/requests")[0] == 200
    d.request("POST", "/_test/garbage", body={"count": 1})
    status, _, raw, _ = d.request("GET", "/api/workers?status=true")
    assert status == 200 and raw == b'{"ecal-bulk@'
    with pytest.raises(ValueError):
        json.loads(raw)
    assert d.get_json("/api/workers?status=true") == {WORKER: True}  # only one

    d.request("POST", "/_test/fail", body={"status": 503, "count": 2})
    assert d.request("GET", "/api/workers?status=true")[0] == 503
    assert d.request("POST", "/api/worker/queue/add-consumer/%s?queue=%s" % (WORKER, QUEUE))[0] == 503
    assert d.request("GET", "/api/workers?status=true")[0] == 200

    # rules for some paths, taken in order; other paths are served
    add = "/api/worker/queue/add-consumer/%s?queue=%s" % (WORKER, QUEUE)
    d.request("POST", "/_test/fail", body={"status": 500, "path_contains": "add-consumer/"})
    d.request("POST", "/_test/fail", body={"status": 403, "body": "no answer",
                                           "path_contains": "add-consumer/" + WORKER})
    assert d.request("GET", "/api/workers?status=true")[0] == 200
    assert d.request("POST", add)[0] == 500
    assert d.request("POST", add)[:3:2] == (403, b"no answer")
    assert d.request("POST", add)[0] == 200

    d.request("POST", "/_test/delay", body={"seconds": 0.4})
    el = d.request("GET", "/api/workers?status=true")[3]
    d.request("POST", "/_test/delay", body={"seconds": 0})
    assert el >= 0.4

    d.request("POST", "/_test/huge", body={"count": 1})
    status, h, raw, _ = d.request("GET", "/api/workers?status=true")
    assert status == 200 and int(h["Content-Length"]) == 64 * 1024 * 1024 == len(raw)
    assert raw.startswith(b'{"ecal-bulk@') and raw.endswith(b"}")

    log = d.get_json("/_test/requests")
    assert [(r["method"], r["status"]) for r in log] == [
        ("GET", 200), ("GET", 200), ("GET", 503), ("POST", 503), ("GET", 200),
        ("GET", 200), ("POST", 500), ("POST", 403), ("POST", 200), ("GET", 200), ("GET", 200)]
    assert log[3]["path"].startswith("/api/worker/queue/add-consumer/")
    assert all(set(r) == {"t", "method", "path", "status"} for r in log)
    d.request("DELETE", "/_test/requests")
    assert d.get_json("/_test/requests") == []


# ---------------------------------------------------------------------------
# after the worker is gone (fixtures/flower/after_rollout_offline_worker.json)
# ---------------------------------------------------------------------------
def test_killed_worker_403_stale_200_status_false_then_purged(world):
    d, purge = world["open"], world["purge"]
    before = refresh(d)[WORKER]
    refresh(purge)  # the purge double knows it too
    world["w"]._stop("worker", sig=signal.SIGKILL, timeout=5)

    cap = fixture_json("after_rollout_offline_worker.json")["captures"]
    status, h, raw, el = d.request("POST", "/api/worker/queue/cancel-consumer/%s?queue=%s" % (WORKER, QUEUE))
    assert status == cap["cancel_consumer_offline_worker"]["status"] == 403
    assert raw.decode() == "Failed to cancel 'ecal-bulk' consumer from 'ecal-bulk@pod-aaa' worker: Unknown reason"
    assert h["Content-Type"] == "text/html; charset=UTF-8"
    assert 0.9 <= el < 3
    status, _, raw, el = d.request("POST", "/api/worker/queue/add-consumer/%s?queue=%s" % (WORKER, QUEUE))
    assert status == 403
    assert raw.decode() == "Failed to add 'ecal-bulk' consumer to 'ecal-bulk@pod-aaa' worker: Unknown reason"

    status, _, raw, el = d.request("GET", "/api/workers?refresh=1&workername=" + WORKER)
    assert status == cap["refresh_offline_worker"]["status"] == 200
    stale = json.loads(raw)[WORKER]
    assert el >= 0.9
    assert stale["timestamp"] == before["timestamp"]
    assert [q["name"] for q in stale["active_queues"]] == [QUEUE]
    assert_shape(one_worker(json.loads(cap["refresh_offline_worker"]["body"])), stale)

    wait_for(lambda: d.get_json("/api/workers?status=true") == {WORKER: False}, 12,
             interval=0.5, what="status=true to say false")
    # --purge-offline-workers 3: gone from status, refresh and control
    wait_for(lambda: purge.get_json("/api/workers?status=true") == {}, 12, interval=0.5,
             what="purge of the offline worker")
    status, _, raw, _ = purge.request("POST", "/api/worker/queue/cancel-consumer/%s?queue=%s" % (WORKER, QUEUE))
    assert (status, raw.decode()) == (404, "Unknown worker '%s'" % WORKER)
    # the default double (purge after 120 s) still lists it, offline
    assert d.get_json("/api/workers?status=true") == {WORKER: False}


def test_sigterm_exits_cleanly(world):
    p = world["purge"].proc
    world["w"]._stop("purge", timeout=5)
    assert p.returncode == 0
