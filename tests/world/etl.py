"""The Celery app every test worker runs: the shape of the DIALS ETL workers.

Each execution of `ingest` is recorded in a ledger on the broker's Redis, in
database LEDGER_DB (default 15), so a test can prove that every task ran
exactly once:
  HINCRBY ledger:started <task id> 1   when the task body starts
  HINCRBY ledger:done    <task id> 1   when it returns
  HSET    ledger:done_at <task id> T   the time it returned (benchmarks)
  HSET    ledger:started_at <task id> T  the time it started (queue downtime)
  HSET    ledger:worker <task id> W  the worker that ran it (last start)
A task cut by SIGKILL has a `started` entry and no `done` entry.

WORKER_SHUTDOWN_SECONDS (default 0): once the worker has stopped consuming
and said it goes offline, its process takes that long to exit (cleanup to
do), so its pod stays Terminating meanwhile.

Transport options that rename the broker's keys, from the environment the
world gives the pods, the Flower double and the enqueueing code:
  ETL_KEY_PREFIX      kombu's global_keyprefix (e.g. "dials:")
  ETL_PRIORITY_STEPS  kombu's priority_steps, comma-separated (e.g. 0,1,...,9)
  ETL_SENTINEL_MASTER kombu's master_name, for a BROKER_URL of sentinel:// URLs
  LEDGER_URL          the ledger's Redis (else the broker's, database LEDGER_DB)
"""
import os
import time

import redis
from celery import Celery
from celery.signals import worker_shutdown

BROKER_URL = os.environ.get("BROKER_URL", "redis://127.0.0.1:6379/0")
LEDGER_DB = int(os.environ.get("LEDGER_DB", "15"))

app = Celery("etl", broker=BROKER_URL)
app.conf.broker_transport_options = {"visibility_timeout": 21600}
if os.environ.get("ETL_KEY_PREFIX"):
    app.conf.broker_transport_options["global_keyprefix"] = os.environ["ETL_KEY_PREFIX"]
if BROKER_URL.startswith("sentinel://"):
    app.conf.broker_transport_options["master_name"] = os.environ["ETL_SENTINEL_MASTER"]
if os.environ.get("ETL_PRIORITY_STEPS"):
    app.conf.broker_transport_options["priority_steps"] = [
        int(x) for x in os.environ["ETL_PRIORITY_STEPS"].split(",")]
app.conf.task_track_started = True
app.conf.task_serializer = "json"
app.conf.accept_content = ["json"]
app.conf.worker_hijack_root_logger = True

_ledger = None
SHUTDOWN_SECONDS = float(os.environ.get("WORKER_SHUTDOWN_SECONDS", "0"))


@worker_shutdown.connect
def _slow_shutdown(**kw):
    if SHUTDOWN_SECONDS > 0:
        time.sleep(SHUTDOWN_SECONDS)


def ledger():
    global _ledger
    if _ledger is None and os.environ.get("LEDGER_URL"):
        _ledger = redis.Redis.from_url(os.environ["LEDGER_URL"])
    elif _ledger is None:
        base = BROKER_URL.rsplit("/", 1)[0]
        _ledger = redis.Redis.from_url(f"{base}/{LEDGER_DB}")
    return _ledger


@app.task(name="ingest", bind=True)
def ingest(self, seconds, tag):
    ledger().hincrby("ledger:started", self.request.id, 1)
    ledger().hset("ledger:started_at", self.request.id, repr(time.time()))
    ledger().hset("ledger:worker", self.request.id, self.request.hostname or "?")
    time.sleep(float(seconds))
    pipe = ledger().pipeline()
    pipe.hincrby("ledger:done", self.request.id, 1)
    pipe.hset("ledger:done_at", self.request.id, repr(time.time()))
    pipe.execute()
    return tag
