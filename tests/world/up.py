"""Start the test world and keep it up until SIGINT/SIGTERM.

  /usr/bin/python3 tests/world/up.py [--dir DIR] [--env-file F] [DEPLOYMENT...]

Writes the agent's settings (DRAIN_FLOWER_URL, DRAIN_REDIS_URL, KUBECONFIG)
as a KEY=VALUE file for drain-and-rollout --config, and prints them.
"""
import argparse
import signal
import sys
import time

from world import World, deployment


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--dir", default=None)
    ap.add_argument("--env-file", default=None)
    ap.add_argument("deployments", nargs="*", default=["ecal-bulk"])
    a = ap.parse_args()
    deps = [deployment(d) for d in a.deployments]
    deps.append(deployment("common-redbeat", worker=False))
    w = World(deps, tmp=a.dir)
    stop = []
    signal.signal(signal.SIGTERM, lambda *_: stop.append(1))
    signal.signal(signal.SIGINT, lambda *_: stop.append(1))
    try:
        w.start()
        env = w.env()
        lines = ["%s=%s" % (k, env[k]) for k in ("DRAIN_FLOWER_URL", "DRAIN_REDIS_URL", "KUBECONFIG")]
        if a.env_file:
            with open(a.env_file, "w") as f:
                f.write("\n".join(lines) + "\n")
        print("\n".join(lines), flush=True)
        while not stop:
            time.sleep(0.2)
    finally:
        w.stop()


if __name__ == "__main__":
    sys.exit(main())
