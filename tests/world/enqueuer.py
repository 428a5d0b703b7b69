"""Sends the tests' tasks, as `ingest.apply_async` does in the DIALS code.

Importing Celery costs 0.4 s of CPU, more than an agent's whole run; a test
runner starts this once (World.enqueue) and asks it for every enqueue of
every world. Each request is one JSON line on stdin:
  {"env": the environment etl.py reads (BROKER_URL, ETL_*, LEDGER_URL),
   "queue", "n", "seconds", "eta" (seconds from now, or null), "tag",
   "priorities" (a list, task i gets priorities[i % len], or null)}
and each answer one JSON line on stdout: the task ids, or {"error": why}.
etl.py is loaded anew for each request (its app is built from the
environment), and its connections are closed after it: a world that ends
keeps nothing of this process.
"""
import datetime
import importlib
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))


def send(etl, req):
    ids = []
    prios = req.get("priorities")
    for i in range(int(req["n"])):
        kw = {}
        if req.get("eta") is not None:
            kw["eta"] = (datetime.datetime.now(datetime.timezone.utc) +
                         datetime.timedelta(seconds=req["eta"] or 0))
        if prios:
            kw["priority"] = prios[i % len(prios)]
        ids.append(etl.ingest.apply_async(args=[req["seconds"], "%s-%d" % (req["tag"], i)],
                                          queue=req["queue"], **kw).id)
    return ids


def main():
    etl = None
    for line in sys.stdin:
        try:
            req = json.loads(line)
            os.environ.clear()
            os.environ.update(req["env"])
            if etl is None:
                import etl
            else:
                etl = importlib.reload(etl)
            try:
                out = send(etl, req)
            finally:
                etl.app.close()
        except Exception as e:      # said to the test, which raises it
            out = {"error": "%s: %s" % (type(e).__name__, e)}
        sys.stdout.write(json.dumps(out) + "\n")
        sys.stdout.flush()


if __name__ == "__main__":
    main()
