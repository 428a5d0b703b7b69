"""Ready for operations: JSON report, metrics, notifications, the
configuration file, and secrets that never show."""
import fcntl
import json
import os
import pty
import re
import select
import struct
import subprocess
import termios
import time

from conftest import Hook, check_prometheus_text, make_world, patches, webhook
from world import TOKEN


def test_json_report_metrics_and_success_notification(world, tmp_path):
    srv, url = webhook()
    (tmp_path / "hook").write_text(url + "\n")
    metrics = tmp_path / "drain.prom"
    # the running task outlasts the agent's start even on a loaded machine
    ids = world.enqueue("ecal-bulk", 1, 6.0) + world.enqueue("ecal-bulk", 2, 2.0)
    world.wait_started(ids, 1)
    p = world.run("ecal-bulk", "-o", "json", "--metrics-file", str(metrics),
                  "--notify-url-file", str(tmp_path / "hook"), "--notify-on-success")
    srv.shutdown()
    assert p.returncode == 0, p.stderr
    rep = json.loads(p.stdout)          # stdout is the report and nothing else
    (d,) = rep["deployments"]
    assert d["deployment"] == "ecal-bulk" and d["outcome"] == "ok" and d["exit_code"] == 0
    assert set(d["states"]) >= {"resolve", "lock", "cancel", "drain", "restart",
                                "rollout", "verify"}
    assert d["states"]["drain"] > 1.0
    (w,) = d["workers"]
    assert w["queues"] == ["ecal-bulk"]
    waited = {t["id"] for t in w["tasks"]}
    assert ids[0] in waited             # the running task was waited for
    assert d["new_worker"] and d["new_worker"] != w["name"]
    text = metrics.read_text()
    fams = check_prometheus_text(text)
    assert set(fams) == {"drain_and_rollout_" + f for f in (
        "outcome", "skipped_outside_window", "last_success_timestamp_seconds",
        "possibly_lost_tasks", "state_seconds", "worker_drained")}
    assert 'drain_and_rollout_outcome{namespace="cms-dials-prod",deployment="ecal-bulk",outcome="ok"} 1' in text
    assert "drain_and_rollout_last_success_timestamp_seconds{" in text
    assert 'state="drain"}' in text
    assert 'drain_and_rollout_possibly_lost_tasks{namespace="cms-dials-prod",deployment="ecal-bulk"} 0' in text
    assert ('drain_and_rollout_worker_drained{namespace="cms-dials-prod",deployment="ecal-bulk",'
            'worker="%s"} 1' % w["name"]) in text
    assert d["new_workers"] == [d["new_worker"]]
    assert not [f for f in os.listdir(tmp_path) if ".tmp" in f]
    assert len(Hook.posts) == 1
    ctype, body = Hook.posts[0]
    assert ctype == "application/json" and "OK" in body["text"] and "ecal-bulk" in body["text"]


def test_failure_notifies_and_success_does_not_by_default(world, tmp_path):
    srv, url = webhook()
    (tmp_path / "hook").write_text(url)
    p = world.run("ecal-bulk", "--dry-run", "--notify-url-file", str(tmp_path / "hook"))
    assert p.returncode == 0 and Hook.posts == []
    long_ = world.enqueue("ecal-bulk", 1, 15.0)
    world.wait_started(long_, 1)
    p = world.run("ecal-bulk", "--drain-timeout", "2s", "--notify-url-file",
                  str(tmp_path / "hook"))
    assert p.returncode == 5
    p2 = world.run("ecal-bulk", "--notify-url-file", str(tmp_path / "hook"))
    srv.shutdown()
    assert p2.returncode == 0, p2.stderr    # the second run rolls out
    assert len(Hook.posts) == 1
    text = Hook.posts[0][1]["text"]
    assert "FAILED" in text and "ecal-bulk" in text and "timed out" in text


def run_on_terminal(w, args, cols, timeout=120):
    """Run the agent with stdout and stderr on a pseudo-terminal COLS wide;
    return (exit status, everything it wrote)."""
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 24, cols, 0, 0))
    p = subprocess.Popen(w.agent_argv(args), env=w.env(), stdin=subprocess.DEVNULL,
                         stdout=slave, stderr=slave)
    os.close(slave)
    out = b""
    end = time.time() + timeout
    try:
        while time.time() < end:
            if not select.select([master], [], [], 0.5)[0]:
                continue
            try:
                data = os.read(master, 65536)
            except OSError:             # EIO: the agent closed the terminal
                break
            if not data:
                break
            out += data
    finally:
        os.close(master)
    return p.wait(timeout=10), out.decode("utf-8", "replace")


def test_live_block_on_a_terminal_fits_its_width(world):
    ids = world.enqueue("ecal-bulk", 2, 3.0)
    world.wait_started(ids, 1)
    rc, out = run_on_terminal(world, ["ecal-bulk"], cols=60)
    assert rc == 0, out
    live = [l for l in out.replace("\r", "").split("\n") if "\033[1m" in l]
    visible = [re.sub(r"\033\[[0-9;]*[A-Za-z]", "", l) for l in live]
    assert [v for v in visible if v.startswith("ecal-bulk ") and "task(s) left" in v], \
        "no live drain line in:\n" + out
    for v in visible:
        assert len(v) <= 59, "live line wider than the terminal: %r" % v
    assert "\033[1A\033[2K" in out           # the block is redrawn in place
    world.wait_done(ids)
    world.assert_exactly_once(ids)


def test_configuration_file(world, tmp_path):
    cfg = tmp_path / "drain.conf"
    env = world.env()
    cfg.write_text("# nightly\nDRAIN_FLOWER_URL=%s\nDRAIN_REDIS_URL=\"%s\"\nKUBECONFIG=%s\n"
                   "DRAIN_DRAIN_TIMEOUT=5m\n" % (env["DRAIN_FLOWER_URL"], env["DRAIN_REDIS_URL"],
                                                env["KUBECONFIG"]))
    bare = {k: v for k, v in env.items() if k not in ("DRAIN_FLOWER_URL", "DRAIN_REDIS_URL",
                                                       "KUBECONFIG")}
    p = world.run("--config", str(cfg), "--dry-run", "ecal-bulk", env=bare)
    assert p.returncode == 0, p.stderr
    # flags win over the file
    p = world.run("--config", str(cfg), "--dry-run", "--flower-url", "http://127.0.0.1:1",
                  "--control", "flower", "--request-timeout", "2s", "ecal-bulk", env=bare)
    assert p.returncode == 3 and "127.0.0.1:1" in p.stderr
    cfg.write_text("FLOWER=http://x\n")
    p = world.run("--config", str(cfg), "ecal-bulk", env=bare)
    assert p.returncode == 2 and "unknown key FLOWER" in p.stderr


def test_secrets_never_show(request, tmp_path):
    w = make_world(request, flower_auth="ops:Fl0wer-s3cret-pw")
    w.r().execute_command("ACL", "SETUSER", "drainer", "on", ">R3dis-s3cret-pw", "~*", "&*",
                          "+@all")
    (tmp_path / "fpw").write_text("Fl0wer-s3cret-pw\n")
    (tmp_path / "rpw").write_text("R3dis-s3cret-pw\n")
    srv, url = webhook()
    (tmp_path / "hook").write_text(url)
    env = w.env(DRAIN_REDIS_URL="redis://drainer@127.0.0.1:%d/0" % w.redis_port,
                DRAIN_REDIS_PASSWORD_FILE=str(tmp_path / "rpw"),
                DRAIN_FLOWER_USER="ops", DRAIN_FLOWER_PASSWORD_FILE=str(tmp_path / "fpw"))
    metrics = tmp_path / "m.prom"
    outs = []
    ids = w.enqueue("ecal-bulk", 2, 1.0)
    for args in (["--dry-run", "-v"], ["-v", "-o", "json", "--metrics-file", str(metrics),
                                       "--notify-url-file", str(tmp_path / "hook"),
                                       "--notify-on-success"],
                 ["--status", "-v"], ["--kubeconfig", "/nonexistent"]):
        p = w.run("ecal-bulk", *args, env=env)
        outs.append(p.stdout + p.stderr)
        if args[0] == "-v":
            assert p.returncode == 0, p.stderr
    bad = dict(env, DRAIN_FLOWER_PASSWORD_FILE=str(tmp_path / "rpw"))   # wrong password
    p = w.run("ecal-bulk", "--control", "flower", env=bad)
    assert p.returncode == 3
    outs.append(p.stdout + p.stderr)
    srv.shutdown()
    outs.append(metrics.read_text())
    outs += [json.dumps(b) for _, b in Hook.posts]
    outs.append(open(os.path.join(w.tmp, "agent.log")).read())
    everything = "\n".join(outs)
    for secret in ("Fl0wer-s3cret-pw", "R3dis-s3cret-pw", TOKEN, "hooks/abc"):
        assert secret not in everything, secret
    w.wait_done(ids, timeout=30)
    w.assert_exactly_once(ids)
    assert len(patches(w)) == 1
