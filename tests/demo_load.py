"""Load and check the demo world (tests/demo.sh): put tasks on the queues,
then wait for them and check the ledger."""
import json
import sys
import time

sys.path.insert(0, __file__.rsplit("/", 1)[0] + "/world")
from world import World  # noqa: E402


def world_from(env_file):
    env = dict(l.strip().split("=", 1) for l in open(env_file) if "=" in l)
    w = World(tmp=env["KUBECONFIG"].rsplit("/", 1)[0])
    w.broker_url = env["DRAIN_REDIS_URL"]
    w.redis_port = int(w.broker_url.rsplit(":", 1)[1].split("/")[0])
    return w


def main(env_file, ids_file, what):
    w = world_from(env_file)
    if what == "load":
        ids = w.enqueue("ecal-bulk", 6, 5.0) + w.enqueue("tracker-priority", 6, 5.0)
        json.dump(ids, open(ids_file, "w"))
        return 0
    ids = json.load(open(ids_file))
    end = time.time() + 120
    while time.time() < end and not all(i in w.ledger()[1] for i in ids):
        time.sleep(0.5)
    started, done = w.ledger()
    once = sum(1 for i in ids if done.get(i) == "1" and started.get(i) == "1")
    print("%d of %d tasks ran exactly once; %d unacknowledged message(s) in Redis"
          % (once, len(ids), w.unacked()))
    return 0 if once == len(ids) and w.unacked() == 0 else 1


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:]))
