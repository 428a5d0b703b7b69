"""Shared helpers of the Kubernetes double: time, names, hashes, constants."""
import datetime
import json
import math
import os
import random
import sys
import time

WORLD_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))   # tests/world: the pods' cwd
SAFE_ALPHABET = "bcdfghjklmnpqrstvwxz2456789"
TICK = 0.1
OBSERVE_DELAY = 0.2      # generation -> observedGeneration lag
REPLACE_DELAY = 1.0      # a crashed pod is replaced after this long
CRASH_BACKOFF = 10       # kubelet's back-off: 10 s, doubled per restart, at most 300 s
# Pod states whose container does not run, as the API shows them (POST /_test/pod-state):
#   Pending            unschedulable: phase Pending, PodScheduled False, no containerStatuses
#   ContainerCreating  phase Pending, state.waiting.reason ContainerCreating
#   ImagePullBackOff   phase Pending, state.waiting ErrImagePull, then ImagePullBackOff
#   CrashLoopBackOff   phase Running, restarted in place: state.terminated reason Error for a
#                      second after each exit, then state.waiting CrashLoopBackOff until the
#                      next restart (lastState the exit, restartCount counting)
POD_FAULTS = ("Pending", "ContainerCreating", "ImagePullBackOff", "CrashLoopBackOff")
SERVICE_ACCOUNT = "drainer"


def log(msg):
    sys.stderr.write("kube_double: %s %s\n" % (time.strftime("%H:%M:%S"), msg))
    sys.stderr.flush()


def now_rfc3339(t=None):
    if t is None:
        t = time.time()
    return datetime.datetime.fromtimestamp(int(t), datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def fnv32a(data):
    h = 0x811C9DC5
    for b in data:
        h ^= b
        h = (h * 0x01000193) & 0xFFFFFFFF
    return h


def safe_encode(s):
    return "".join(SAFE_ALPHABET[ord(c) % len(SAFE_ALPHABET)] for c in s)


def template_hash(template):
    h = fnv32a(json.dumps(template, sort_keys=True, separators=(",", ":")).encode())
    return safe_encode(str(h))


def rand_suffix(n=5):
    return "".join(random.choice(SAFE_ALPHABET) for _ in range(n))


def scaled_value(v, total, round_up):
    if isinstance(v, int):
        return v
    s = str(v)
    if s.endswith("%"):
        x = int(s[:-1]) * total / 100.0
        return int(math.ceil(x)) if round_up else int(math.floor(x))
    return int(s)

