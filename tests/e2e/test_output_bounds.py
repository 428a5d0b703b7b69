"""Secrets stay secret, output is never silently empty, the metrics file
is well-formed and safe to write, and bounds hold (issue 9, items 7-10)."""
import base64
import http.server
import json
import os
import resource
import stat
import subprocess
import threading

import pytest

from conftest import Hook, check_prometheus_text, make_world, patches, webhook
from world import HERE, NS, python_c, wait_for

# one module-scoped world: its tests run on one pytest-xdist worker, in file order
pytestmark = pytest.mark.xdist_group("output_bounds")

FPW = "Fl0wer-url-s3cret"


def everything(p, w=None):
    out = p.stdout + p.stderr
    if w is not None:
        out += "\n".join(json.dumps(e) for e in w.r().xrange("drain-and-rollout:history"))
    return out


# ---- 7. secrets stay secret -------------------------------------------------

def test_flower_url_userinfo_becomes_the_credentials_and_never_shows(request, tmp_path):
    w = make_world(request, flower_auth="ops:" + FPW)
    host = w.flower_url.split("//", 1)[1]
    # in the environment (or the configuration file): taken as the credentials
    env = w.env(DRAIN_FLOWER_URL="http://ops:%s@%s" % (FPW, host))
    p = w.run("ecal-bulk", "--dry-run", "--control", "flower", "-v", env=env)
    assert p.returncode == 0, p.stderr
    assert FPW not in everything(p)
    # a wrong password: the error names the URL without it, everywhere
    srv, url = webhook()
    (tmp_path / "hook").write_text(url)
    env = w.env(DRAIN_FLOWER_URL="http://ops:Wr0ng-%s@%s/" % (FPW, host))
    p = w.run("ecal-bulk", "--control", "flower", "-o", "json", "-v",
              "--notify-url-file", str(tmp_path / "hook"), env=env)
    srv.shutdown()
    assert p.returncode == 3, p.stderr
    (d,) = json.loads(p.stdout)["deployments"]
    assert "HTTP 401" in d["error"] and "Flower %s:" % w.flower_url in d["error"]
    assert len(Hook.posts) == 1 and "HTTP 401" in Hook.posts[0][1]["text"]
    out = everything(p, w) + json.dumps(Hook.posts)
    assert FPW not in out and "ops:" not in out
    # on the command line (ps shows it): refused; with separate credentials too
    p = w.run("ecal-bulk", "--dry-run", "--flower-url", "http://ops:%s@%s" % (FPW, host))
    assert p.returncode == 2 and "ps" in p.stderr and FPW not in p.stderr
    p = w.run("ecal-bulk", "--dry-run", "--flower-user", "ops", env=w.env(
        DRAIN_FLOWER_URL="http://ops:%s@%s" % (FPW, host)))
    assert p.returncode == 2 and "once" in p.stderr and FPW not in p.stderr
    p = w.run("ecal-bulk", "--dry-run", "--flower-url", w.flower_url + "/?token=" + FPW)
    assert p.returncode == 2 and "query" in p.stderr
    assert patches(w) == []


class Flaky(http.server.BaseHTTPRequestHandler):
    """A webhook that answers 503 to the first POST, then 200."""
    posts = []

    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        Flaky.posts.append(json.loads(body))
        self.send_response(503 if len(Flaky.posts) == 1 else 200)
        self.end_headers()

    def log_message(self, *a):
        pass


def test_webhook_url_never_logged_on_retries(shared_world, tmp_path):
    Flaky.posts = []
    srv = http.server.HTTPServer(("127.0.0.1", 0), Flaky)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    (tmp_path / "hook").write_text("http://127.0.0.1:%d/hooks/T0KEN-abc?key=K3Y\n"
                                   % srv.server_port)
    os.chmod(tmp_path / "hook", 0o600)
    p = shared_world.run("nosuch-bulk", "-v", "--notify-url-file", str(tmp_path / "hook"))
    srv.shutdown()
    assert p.returncode == 3
    assert len(Flaky.posts) == 2, p.stderr          # retried once, then delivered
    assert "retrying POST" in p.stderr
    assert "T0KEN" not in p.stderr and "K3Y" not in p.stderr and "/hooks" not in p.stderr


def test_secret_and_config_files_must_be_regular(shared_world, tmp_path):
    fifo = str(tmp_path / "fifo")
    os.mkfifo(fifo)
    for args in (["--flower-user", "ops", "--flower-password-file", fifo],
                 ["--redis-password-file", fifo], ["--notify-url-file", fifo],
                 ["--config", fifo], ["--kubeconfig", fifo]):
        try:
            p = shared_world.run("ecal-bulk", "--dry-run", *args, timeout=20)
        except subprocess.TimeoutExpired:
            pytest.fail("%s: hangs on a FIFO" % args)
        assert p.returncode == 2, (args, p.stderr)
        assert "not a regular file" in p.stderr, (args, p.stderr)
    p = shared_world.run("ecal-bulk", "--dry-run", "--redis-password-file", str(tmp_path))
    assert p.returncode == 2 and "not a regular file" in p.stderr


def test_readable_secret_file_warned_about(shared_world, tmp_path):
    pw = tmp_path / "pw"
    pw.write_text("\n")                 # empty: no password, as before
    for mode, word in ((0o640, "group"), (0o604, "every user")):
        os.chmod(pw, mode)
        p = shared_world.run("ecal-bulk", "--dry-run", "--redis-password-file", str(pw))
        assert p.returncode == 0, p.stderr
        assert "%s can be read by its %s" % (pw, word) in p.stderr, p.stderr
    os.chmod(pw, 0o600)
    p = shared_world.run("ecal-bulk", "--dry-run", "--redis-password-file", str(pw))
    assert p.returncode == 0 and "can be read" not in p.stderr


def test_no_core_dumps(shared_world):
    shared_world.flower_test("POST", "/_test/delay", {"seconds": 3})
    try:
        p = subprocess.Popen(shared_world.agent_argv(["ecal-bulk", "--dry-run"]),
                             env=shared_world.env(), stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True,
                             preexec_fn=lambda: resource.setrlimit(
                                 resource.RLIMIT_CORE,
                                 (resource.RLIM_INFINITY, resource.RLIM_INFINITY)))
        def core_limit():               # set at start-up; then it waits for Flower
            with open("/proc/%d/limits" % p.pid) as f:
                return [l.split()[4:6] for l in f if l.startswith("Max core file size")]
        core = wait_for(lambda: core_limit() == [["0", "0"]] and core_limit(), 10,
                        "the core file size limit 0")
        p.communicate(timeout=60)
    finally:
        shared_world.flower_test("POST", "/_test/reset", {})
    assert core == [["0", "0"]], core


# ---- 8. output is never silently empty --------------------------------------

@pytest.mark.parametrize("body,encoding,shown", [
    ("\u8b66\u544a" * 60, "utf-8", "\u8b66\u544a" * 26 + "\u8b66"),   # 3-byte characters
    ("\u00e9chec de l'authentification", "latin-1", "\ufffdchec de l'auth"),
])
def test_multibyte_error_body_still_reported(shared_world, tmp_path, body, encoding, shown):
    srv, url = webhook()
    (tmp_path / "hook").write_text(url)
    shared_world.flower_test("POST", "/_test/fail", {"status": 401, "count": 50, "body": body,
                                                     "encoding": encoding})
    # bytes: what the agent writes is checked, not decoded on the way
    p = subprocess.run(shared_world.agent_argv(["ecal-bulk", "common-redbeat", "--control",
                                                "flower", "-o", "json", "--notify-url-file",
                                                str(tmp_path / "hook")]),
                       env=shared_world.env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       timeout=120)
    shared_world.flower_test("POST", "/_test/reset", {})
    srv.shutdown()
    assert p.returncode == 3, p.stderr
    rep = json.loads(p.stdout)
    assert [d["deployment"] for d in rep["deployments"]] == ["ecal-bulk", "common-redbeat"]
    errors = "".join(d.get("error") or "" for d in rep["deployments"])
    assert "HTTP 401" in errors and shown in errors, errors
    assert len(Hook.posts) == 1, "no notification"
    text = Hook.posts[0][1]["text"]
    assert "ecal-bulk" in text and "common-redbeat" in text and shown in text
    assert shown in p.stderr.decode("utf-8")    # the log is UTF-8 too


# ---- 9. metrics file --------------------------------------------------------

def test_metrics_escaped_written_exclusively_and_kept(world, tmp_path):
    metrics = tmp_path / "drain.prom"
    victim = tmp_path / "victim"
    victim.write_text("precious\n")
    ids = world.enqueue("ecal-bulk", 1, 2.0)
    world.wait_started(ids, 1)
    p = world.spawn("ecal-bulk", "--metrics-file", str(metrics))
    # where a predictable temporary name would be written through
    os.symlink(str(victim), "%s.tmp.%d" % (metrics, p.pid))
    out, err = p.communicate(timeout=120)
    assert p.returncode == 0, err
    assert victim.read_text() == "precious\n", "the metrics went through a symlink"
    assert stat.S_ISREG(os.lstat(metrics).st_mode)
    fams = check_prometheus_text(metrics.read_text())
    ok = '{namespace="%s",deployment="ecal-bulk"}' % NS
    assert ok in fams["drain_and_rollout_last_success_timestamp_seconds"]
    assert sorted(os.listdir(tmp_path)) == sorted(["drain.prom", "victim",
                                                    "drain.prom.tmp.%d" % p.pid])
    world.wait_done(ids)
    world.assert_exactly_once(ids)
    # --status shows; it does not touch the file
    before = metrics.read_bytes()
    p = world.run("--status", "ecal-bulk", "--metrics-file", str(metrics))
    assert p.returncode == 0, p.stderr
    assert metrics.read_bytes() == before
    # a name that would inject a sample is no Kubernetes name: refused
    # before anything (exit 2), the file and its last success kept (label
    # escaping itself: prom_label_escape() in test_output.c)
    bad = 'x"} 1\nevil_metric 2'
    p = world.run(bad, "--metrics-file", str(metrics))
    assert p.returncode == 2, p.stderr
    assert metrics.read_bytes() == before
    assert "evil_metric" not in metrics.read_text()
    assert len(patches(world)) == 1


# ---- 10. bounds -------------------------------------------------------------

@pytest.mark.parametrize("ns", ["..", "", "Cms-dials-prod", "cms-*", "a/b", "x" * 64, "-x"])
def test_namespace_is_a_dns_label(shared_world, ns):
    r = shared_world.r()
    key = "drain-and-rollout:journal:%s:ecal-bulk" % NS
    r.hset(key, mapping={"state": "drained", "holder": "h:1", "workers": "[]"})
    try:
        p = shared_world.run("--status", "-n", ns)
        assert p.returncode == 2, (ns, p.stdout, p.stderr)
        assert "DNS-1123" in p.stderr
        assert "ecal-bulk" not in p.stdout      # no other namespace's journal
        p = shared_world.run("ecal-bulk", "-n", ns)
        assert p.returncode == 2, (ns, p.stderr)
    finally:
        r.delete(key)
    assert patches(shared_world) == []


def test_durations_have_minimums(shared_world):
    for flag, v in (("--lease-ttl", "1ms"), ("--lease-ttl", "500ms"),
                    ("--request-timeout", "100ms"), ("--poll-interval", "10ms"),
                    ("--drain-timeout", "1ms"), ("--rollout-timeout", "999ms"),
                    ("--verify-timeout", "0.5s")):
        p = shared_world.run("ecal-bulk", "--dry-run", flag, v)
        assert p.returncode == 2, (flag, v, p.stderr)
        assert "too short: at least 1.0s" in p.stderr, (flag, p.stderr)
    p = shared_world.run("ecal-bulk", "--dry-run", env=shared_world.env(DRAIN_LEASE_TTL="1ms"))
    assert p.returncode == 2 and "DRAIN_LEASE_TTL" in p.stderr
    p = shared_world.run("ecal-bulk", "--dry-run", "--lease-ttl", "1s", "--request-timeout", "1s",
                         "--poll-interval", "1s")
    assert p.returncode == 0, p.stderr


def test_broker_replies_capped_like_http_bodies(shared_world):
    """A remote-control reply larger than the HTTP body cap (8 MiB) is
    dropped in Redis and said; the run goes on without it."""
    r = shared_world.r()
    ps = r.pubsub()
    ps.subscribe("/0.celery.pidbox")
    stop = threading.Event()
    sent = []
    # the 9 MiB reply is encoded before the agent asks: built on demand, a
    # loaded machine could make it later than the agent's wait for it
    huge = base64.b64encode(json.dumps(
        {"ecal-bulk@fake-huge": {"ok": "pong", "pad": "x" * (9 << 20)}}).encode()).decode()

    def fake_worker():
        while not stop.is_set():
            m = ps.get_message(timeout=0.2)
            if not m or m["type"] != "message":
                continue
            env = json.loads(m["data"])
            req = json.loads(base64.b64decode(env["body"]))
            if req["method"] != "ping":
                continue
            reply = {"body": huge,
                     "content-encoding": "utf-8", "content-type": "application/json",
                     "headers": {"ticket": req["ticket"], "clock": 1},
                     "properties": {"delivery_mode": 1, "priority": 0,
                                    "body_encoding": "base64", "delivery_tag": "x",
                                    "delivery_info": {"exchange": "reply.celery.pidbox",
                                                      "routing_key": req["reply_to"]["routing_key"]}}}
            r.lpush("%s.reply.celery.pidbox" % req["reply_to"]["routing_key"], json.dumps(reply))
            sent.append(req["ticket"])

    t = threading.Thread(target=fake_worker, daemon=True)
    t.start()
    try:
        p = shared_world.run("ecal-bulk", "--dry-run", "--control", "broker")
    finally:
        stop.set()
        t.join()
        ps.close()
    assert sent, "the agent sent no ping"
    assert p.returncode == 0, p.stderr
    assert "dropped a remote-control reply of" in p.stderr and "more than 8388608" in p.stderr
    assert "fake-huge" not in p.stdout + p.stderr


def test_task_ids_and_args_shown_bounded(request):
    """A task with an id of 5000 characters (apply_async(task_id=...)) and
    long arguments, busy when the drain starts: drained (exactly once), and
    the id is shown cut to 200 bytes in the log and the JSON report."""
    w = make_world(request)
    big = "big-" + "x" * 5000
    code = ("from etl import ingest\n"
            "print(ingest.apply_async(args=[4, %r], queue='ecal-bulk', task_id=%r).id)\n"
            % ("a" * 5000, big))
    p = python_c(code, HERE, w.celery_environ())
    assert p.returncode == 0, p.stderr
    out = p.stdout
    assert out.strip().splitlines()[-1] == big
    w.wait_started([big], 1)
    p = w.run("ecal-bulk", "-o", "json", "-v")
    assert p.returncode == 0, p.stderr
    w.wait_done([big])
    w.assert_exactly_once([big])
    (d,) = json.loads(p.stdout)["deployments"]
    ids = [t["id"] for wk in d["workers"] for t in wk["tasks"]]
    assert ids == ["big-" + "x" * 196 + "..."], ids
    assert big not in p.stderr and "a" * 300 not in p.stderr
    assert max(len(l) for l in p.stderr.splitlines()) < 1500

