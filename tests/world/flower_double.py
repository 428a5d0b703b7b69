#!/usr/bin/python3
"""A strict test double of Flower 2.0.1's HTTP API, backed by real Celery.

Every worker call goes through real Celery remote control on the real broker
(`app.control.inspect(...)`, `app.control.broadcast(...)`), and worker/task
state comes from a real Celery event receiver, exactly as Flower 2.0.1 does it.
Answers copy Flower 2.0.1 / Tornado 6.2: status codes, bodies, content types,
`Server: TornadoServer/6.2`, `Etag` on GET 200.

Behaviour copied from Flower 2.0.1's source (mher/flower):
  flower/api/__init__.py   BaseApiHandler.prepare: 401 + text when neither basic
                           auth nor FLOWER_UNAUTHENTICATED_API; write_error writes
                           the HTTPError's log_message (or nothing).
  flower/views/__init__.py BaseHandler.get_current_user: preemptive Basic only, 401
                           with an empty body and no challenge; get_argument():
                           default=[] (so a missing `queue` is NOT a 400: Flower
                           sends queue=[] to the worker), xhtml_escape of values,
                           strtobool for type=bool, 400 "Invalid argument '%s' of
                           type '%s'"; get_active_queue_names().
  flower/api/workers.py    ListWorkers.get: refresh / status / workername logic,
                           stale cache after a failed refresh, 404 Unknown worker.
  flower/api/control.py    ControlHandler.is_worker (= name in the inspector cache),
                           error_reason, add/cancel consumer: synchronous
                           broadcast(reply=True) (it blocks Tornado's IOLoop: modelled
                           here by the LOOP lock), 403 "Failed to ...: reason".
  flower/api/tasks.py      ListTasks (limit, offset, workername, taskname, state,
                           sort_by, received_start/end), GetQueueLengths;
                           BaseTaskHandler.write_error: errors have an EMPTY body.
  flower/utils/tasks.py    iter_tasks / sort_tasks.
  flower/inspector.py      Inspector: the 8 inspect methods each in the default
                           executor (min(32, cpus+4) threads) with inspect_timeout,
                           cache updated per method with timestamp = time.time().
  flower/events.py         Events thread: EventReceiver.capture(wakeup=True) into a
                           celery State, enable_events() every 5 s.
Other versions (--version; captures in fixtures/flower/v1.2.0 and v2.1.0):
  1.2   BaseApiHandler.prepare: with any auth configured (--basic-auth) every
        API call answers 405 text/plain "api is not available when auth is
        enabled"; without auth the API is open (no FLOWER_UNAUTHENTICATED_API)
        and every answer carries the Access-Control-Allow-* headers.
  2.0   as above (the default).
  2.1   --read-only: cancel and add-consumer answer 403 "Read only mode is
        enabled". Inspections are coalesced: a refresh of one worker joins an
        inspection of that worker, or of all workers, already in flight and
        answers from it, so its data can predate a cancel sent meanwhile.
Not Flower (asked for by the project): --purge-offline-workers removes offline
workers from the event state AND the inspector cache (Flower 2.0.1 applies
purge_offline_workers only to its HTML dashboard); the /_test/ controls.

Run: BROKER_URL=redis://127.0.0.1:P/0 /usr/bin/python3 tests/world/flower_double.py \
        --port PORT [--basic-auth user:pass[,user2:pass2]] [--unauthenticated-api]
        [--purge-offline-workers SECONDS] [--inspect-timeout 1.0] [--ready-file F]
        [--executor-workers N] [--address 127.0.0.1] [--queues-length-config-only]
        [--version 1.2|2.0|2.1] [--read-only]
"""
import argparse
import base64
import collections
import hashlib
import hmac
import json
import logging
import os
import re
import signal
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor, wait as futures_wait
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl, unquote

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import etl  # noqa: E402  (the project's Celery app; reads BROKER_URL)
from celery.events import EventReceiver  # noqa: E402

log = logging.getLogger("flower_double")

SERVER = "TornadoServer/6.2"
CT_HTML = "text/html; charset=UTF-8"
CT_JSON = "application/json; charset=UTF-8"
UNAUTH_API_MSG = ("FLOWER_UNAUTHENTICATED_API environment variable is required "
                  "to enable API without authentication")
NO_API_WITH_AUTH_MSG = "api is not available when auth is enabled"   # 1.x
READ_ONLY_MSG = "Read only mode is enabled"                           # 2.1
CORS_1X = [("Access-Control-Allow-Origin", "*"),
           ("Access-Control-Allow-Headers",
            "x-requested-with,access-control-allow-origin,authorization,content-type"),
           ("Access-Control-Allow-Methods", " PUT, DELETE, OPTIONS, POST, GET, PATCH")]
HUGE_SIZE = 64 * 1024 * 1024
GARBAGE = b'{"ecal-bulk@'
_MISSING = object()

# Tornado's IOLoop is single-threaded: everything Flower does outside its
# executor (handlers, control broadcasts, event-state updates) is serialised.
LOOP = threading.Lock()


class HTTPError(Exception):
    def __init__(self, status, log_message=None):
        super().__init__(status, log_message)
        self.status = status
        self.log_message = log_message


def strtobool(val):
    val = str(val).lower()
    if val in ("y", "yes", "t", "true", "on", "1"):
        return 1
    if val in ("n", "no", "f", "false", "off", "0"):
        return 0
    raise ValueError("invalid truth value %r" % (val,))


def xhtml_escape(value):
    return (value.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
            .replace('"', "&quot;").replace("'", "&#39;"))


def json_encode(value):
    return json.dumps(value).replace("</", "<\\/")


_CONTROL_CHARS = re.compile(r"[\x00-\x08\x0e-\x1f]")


# --------------------------------------------------------------------------
# Flower's application state
# --------------------------------------------------------------------------
class World:
    METHODS = ("stats", "active_queues", "registered", "scheduled",
               "active", "reserved", "revoked", "conf")

    def __init__(self, opts):
        self.opts = opts
        self.capp = etl.app
        self.state = self.capp.events.State()
        self.counter = collections.defaultdict(collections.Counter)
        self.workers = collections.defaultdict(dict)  # Flower's inspector cache
        self.executor = ThreadPoolExecutor(max_workers=opts.executor_workers)
        self.receiver_ready = threading.Event()
        self.stopping = threading.Event()
        self.first_offline = {}
        self.inflight = {}  # 2.1: workername (None: all) -> its inspection's futures

    # ---- inspector (flower/inspector.py) ----
    def inspect(self, workername=None):
        if self.opts.version == "2.1":
            # join an inspection of this worker, or of all workers, in flight
            for key in ((workername, None) if workername else (None,)):
                futures = self.inflight.get(key)
                if futures and not all(f.done() for f in futures):
                    return futures
        futures = [self.executor.submit(self._inspect, m, workername) for m in self.METHODS]
        if self.opts.version == "2.1":
            self.inflight[workername] = futures
        return futures

    def _inspect(self, method, workername):
        try:
            destination = [workername] if workername else None
            insp = self.capp.control.inspect(timeout=self.opts.inspect_timeout,
                                             destination=destination)
            result = getattr(insp, method)()
        except Exception as exc:  # Flower lets it die inside the future
            log.warning("Inspect method %s raised %r", method, exc)
            return
        if result is None or "error" in result:
            log.warning("Inspect method %s failed", method)
            return
        with LOOP:
            for worker, response in result.items():
                if response is not None:
                    info = self.workers[worker]
                    info[method] = response
                    info["timestamp"] = time.time()

    # ---- events (flower/events.py) ----
    def run_events(self):
        world = self

        class Receiver(EventReceiver):
            def on_consume_ready(self, *args, **kwargs):
                super().on_consume_ready(*args, **kwargs)
                world.receiver_ready.set()

        try_interval = 1
        while not self.stopping.is_set():
            try:
                try_interval *= 2
                with self.capp.connection() as conn:
                    recv = Receiver(conn, handlers={"*": self.on_event}, app=self.capp)
                    try_interval = 1
                    recv.capture(limit=None, timeout=None, wakeup=True)
            except Exception as exc:
                log.error("Failed to capture events: '%s', trying again in %s seconds.",
                          exc, try_interval)
                self.stopping.wait(try_interval)

    def on_event(self, event):
        with LOOP:
            self.counter[event["hostname"]][event["type"]] += 1
            self.state.event(event)

    def run_periodic(self):
        next_enable = 0.0
        while not self.stopping.wait(0.5):
            now = time.time()
            if now >= next_enable:
                next_enable = now + 5.0
                self.executor.submit(self._enable_events)
            if self.opts.purge_offline_workers is not None:
                self.purge(now)

    def _enable_events(self):
        try:
            self.capp.control.enable_events()
        except Exception as exc:
            log.debug("Failed to enable events: %r", exc)

    def purge(self, now):
        limit = self.opts.purge_offline_workers
        with LOOP:
            for name, worker in list(self.state.workers.items()):
                if worker.alive:
                    self.first_offline.pop(name, None)
                    continue
                first = self.first_offline.setdefault(name, now)
                ref = max(worker.heartbeats) if worker.heartbeats else (worker.timestamp or first)
                if now - ref > limit:
                    log.info("purging offline worker %s", name)
                    try:
                        del self.state.workers[name]
                    except KeyError:
                        pass
                    self.counter.pop(name, None)
                    self.workers.pop(name, None)
                    self.first_offline.pop(name, None)

    def is_worker(self, workername):
        return bool(workername) and workername in self.workers

    def active_queue_names(self):
        queues = set()
        for _, info in ([] if self.opts.queues_length_config_only else self.workers.items()):
            for q in info.get("active_queues", []):
                queues.add(q["name"])
        if not queues:
            conf = self.capp.conf
            queues = {conf.task_default_queue} | {q.name for q in conf.task_queues or [] if q.name}
        return sorted(queues)


# --------------------------------------------------------------------------
# /_test/ controls
# --------------------------------------------------------------------------
class TestControl:
    def __init__(self):
        self.lock = threading.Lock()
        self.requests = []
        self.delay = 0.0
        self.fail_status = 500
        self.fail_count = 0
        self.fail_body = b""
        self.garbage = 0
        self.huge = 0
        self.hold = []      # [path substring, seconds, count]
        self.fail_paths = []    # [path substring, status, body, count], in order

    def take_hold(self, path):
        """Seconds to hold the answer to path after performing it."""
        with self.lock:
            for h in self.hold:
                if h[0] in path and h[2] > 0:
                    h[2] -= 1
                    return h[1]
        return 0.0

    def take_fail(self, path):
        """The (status, body) to answer instead of performing the request:
        the first rule for a path like this one that is left, else the
        global failure's."""
        with self.lock:
            for f in self.fail_paths:
                if f[0] in path and f[3] > 0:
                    f[3] -= 1
                    return f[1], f[2]
            if self.fail_count > 0:
                self.fail_count -= 1
                return self.fail_status, self.fail_body
        return None

    def take_json_mangle(self):
        with self.lock:
            if self.garbage > 0:
                self.garbage -= 1
                return "garbage"
            if self.huge > 0:
                self.huge -= 1
                return "huge"
        return None

    def record(self, t, method, path):
        """Logged in arrival order; "status" is null until the answer is sent."""
        entry = {"t": t, "method": method, "path": path, "status": None}
        with self.lock:
            self.requests.append(entry)
        return entry


# --------------------------------------------------------------------------
# HTTP
# --------------------------------------------------------------------------
class Response:
    def __init__(self, status=200, body=b"", content_type=CT_HTML, is_json=False):
        self.status = status
        self.body = body
        self.content_type = content_type
        self.is_json = is_json
        self.headers = {}


def json_response(value, status=200):
    return Response(status, json_encode(value).encode(), CT_JSON, is_json=True)


class Request:
    def __init__(self, method, path, query, headers, body):
        self.method = method
        self.path = path
        self.headers = headers
        self.arguments = collections.defaultdict(list)
        for k, v in parse_qsl(query, keep_blank_values=True):
            self.arguments[k].append(v)
        ctype = headers.get("Content-Type", "")
        if method in ("POST", "PUT", "PATCH") and ctype.startswith("application/x-www-form-urlencoded"):
            for k, v in parse_qsl(body.decode("latin-1"), keep_blank_values=True):
                self.arguments[k].append(v)

    def get_argument(self, name, default=_MISSING, type=None):
        """flower.views.BaseHandler.get_argument over tornado's."""
        if default is _MISSING:
            default = []  # Flower's signature: def get_argument(self, name, default=[], ...)
        values = self.arguments.get(name)
        if values:
            arg = _CONTROL_CHARS.sub(" ", values[-1]).strip()
        else:
            arg = default
        if arg and isinstance(arg, str):
            arg = xhtml_escape(arg)
        if type is not None:
            try:
                arg = strtobool(str(arg)) if type is bool else type(arg)
            except (ValueError, TypeError):
                if arg is None and default is None:
                    return arg
                raise HTTPError(400, "Invalid argument '%s' of type '%s'" % (arg, type.__name__))
        return arg


class Api:
    """The Flower 2.0.1 API handlers. Called with LOOP held."""

    def __init__(self, world, opts):
        self.world = world
        self.opts = opts
        self.basic_auth = []
        if opts.basic_auth:
            self.basic_auth = [c for c in opts.basic_auth.split(",") if c]
        self.routes = [
            (re.compile(r"/api/workers$"), "workers", ("GET",), self.list_workers),
            (re.compile(r"/api/worker/queue/add-consumer/(.+)$"), "control", ("POST",), self.add_consumer),
            (re.compile(r"/api/worker/queue/cancel-consumer/(.+)$"), "control", ("POST",), self.cancel_consumer),
            (re.compile(r"/api/tasks$"), "tasks", ("GET",), self.list_tasks),
            (re.compile(r"/api/task/types$"), "tasks", ("GET",), self.task_types),
            (re.compile(r"/api/queues/length$"), "tasks", ("GET",), self.queue_lengths),
        ]

    # ---- auth (BaseApiHandler.prepare, BaseHandler.get_current_user) ----
    def prepare(self):
        if self.opts.version == "1.2":
            if self.basic_auth:
                raise HTTPError(405, NO_API_WITH_AUTH_MSG)
            return
        if not self.basic_auth and not self.opts.unauthenticated_api:
            raise HTTPError(401, UNAUTH_API_MSG)

    def authenticate(self, req):
        if not self.basic_auth:
            return
        auth_header = req.headers.get("Authorization", "")
        try:
            basic, credentials = auth_header.split()
            credentials = base64.b64decode(credentials.encode()).decode()
            if basic != "Basic":
                raise HTTPError(401)
            for stored in self.basic_auth:
                if hmac.compare_digest(stored, credentials):
                    break
            else:
                raise HTTPError(401)
        except ValueError:
            raise HTTPError(401)

    def dispatch(self, req):
        for pattern, kind, methods, func in self.routes:
            m = pattern.match(req.path)
            if not m:
                continue
            try:
                if req.method not in ("GET", "HEAD", "POST", "DELETE", "PATCH", "PUT", "OPTIONS"):
                    raise HTTPError(405)
                args = [unquote(g) for g in m.groups()]
                self.prepare()
                if req.method not in methods:
                    raise HTTPError(405)
                self.authenticate(req)  # @web.authenticated
                return func(req, *args)
            except HTTPError as exc:
                if exc.log_message == NO_API_WITH_AUTH_MSG:  # 1.x: before any handler
                    return Response(exc.status, exc.log_message.encode(), "text/plain")
                if kind == "tasks":  # BaseTaskHandler.write_error: status only
                    return Response(exc.status)
                body = (exc.log_message or "").encode()
                return Response(exc.status, body)
            except Exception:
                log.exception("Uncaught exception in %s %s", req.method, req.path)
                return Response(500)
        return not_found()

    # ---- flower/api/workers.py ----
    def list_workers(self, req):
        w = self.world
        refresh = req.get_argument("refresh", default=False, type=bool)
        status = req.get_argument("status", default=False, type=bool)
        workername = req.get_argument("workername", default=None)

        if refresh:
            futures = w.inspect(workername)
            LOOP.release()  # `await asyncio.wait(...)`: the IOLoop serves others meanwhile
            try:
                futures_wait(futures)
            finally:
                LOOP.acquire()

        if status:
            return json_response({name: worker.alive for name, worker in w.state.workers.items()})

        if w.workers and not refresh and workername in w.workers:
            return json_response({workername: w.workers[workername]})

        if workername and not w.is_worker(workername):
            raise HTTPError(404, "Unknown worker '%s'" % workername)

        if workername:
            return json_response({workername: w.workers[workername]})
        return json_response(w.workers)

    # ---- flower/api/control.py ----
    def error_reason(self, workername, response):
        for r in response:
            try:
                return r[workername].get("error", "Unknown reason")
            except KeyError:
                pass
        log.error("Failed to extract error reason from '%s'", response)
        return "Unknown reason"

    def _consumer(self, req, workername, command, failure):
        w = self.world
        if self.opts.read_only:
            raise HTTPError(403, READ_ONLY_MSG)
        if not w.is_worker(workername):
            raise HTTPError(404, "Unknown worker '%s'" % workername)
        queue = req.get_argument("queue")
        log.info("%s '%s' on worker '%s'", command, queue, workername)
        # Synchronous, on the IOLoop, as in Flower: the whole server waits.
        response = w.capp.control.broadcast(command, arguments={"queue": queue},
                                            destination=[workername], reply=True)
        if response and "ok" in response[0][workername]:
            return json_response({"message": response[0][workername]["ok"]})
        log.error(response)
        return Response(403, (failure % (queue, workername, self.error_reason(workername, response))).encode())

    def add_consumer(self, req, workername):
        return self._consumer(req, workername, "add_consumer",
                              "Failed to add '%s' consumer to '%s' worker: %s")

    def cancel_consumer(self, req, workername):
        return self._consumer(req, workername, "cancel_consumer",
                              "Failed to cancel '%s' consumer from '%s' worker: %s")

    # ---- flower/api/tasks.py ----
    def list_tasks(self, req):
        limit = req.get_argument("limit", None)
        offset = req.get_argument("offset", default=0, type=int)
        worker = req.get_argument("workername", None)
        type_ = req.get_argument("taskname", None)
        state = req.get_argument("state", None)
        received_start = req.get_argument("received_start", None)
        received_end = req.get_argument("received_end", None)
        sort_by = req.get_argument("sort_by", None)

        limit = limit and int(limit)
        offset = max(offset, 0)
        worker = worker if worker != "All" else None
        type_ = type_ if type_ != "All" else None
        state = state if state != "All" else None

        result = []
        for task_id, task in iter_tasks(self.world.state, limit=limit, offset=offset,
                                        sort_by=sort_by, type=type_, worker=worker, state=state,
                                        received_start=received_start, received_end=received_end):
            task = task.as_dict()
            wk = task.pop("worker", None)
            if wk is not None:
                task["worker"] = wk.hostname
            result.append((task_id, task))
        return json_response(collections.OrderedDict(result))

    def task_types(self, req):
        return json_response({"task-types": self.world.state.task_types()})

    def queue_lengths(self, req):
        import redis
        names = self.world.active_queue_names()
        opts = self.world.capp.conf.broker_transport_options or {}
        sep = opts.get("sep", "\x06\x16")
        steps = opts.get("priority_steps", [0, 3, 6, 9])
        prefix = opts.get("global_keyprefix", "")
        url = self.world.capp.conf.broker_url
        if url.startswith("sentinel://"):   # kombu's master_name, asked of its sentinels
            import redis.sentinel
            r = redis.sentinel.Sentinel(
                [(u.split("//")[1].split(":")[0], int(u.split(":")[2].split("/")[0]))
                 for u in url.split(";") if u]).master_for(opts["master_name"])
        else:
            r = redis.Redis.from_url(url)
        try:
            queues = []
            for name in names:
                keys = [prefix + (name if not pri else "%s%s%s" % (name, sep, pri)) for pri in steps]
                queues.append({"name": name, "messages": sum(r.llen(k) for k in keys)})
        finally:
            r.close()
        return json_response({"active_queues": queues})


def iter_tasks(events_state, limit=None, offset=0, type=None, worker=None, state=None,
               sort_by=None, received_start=None, received_end=None):
    """flower/utils/tasks.py iter_tasks."""
    import datetime
    state_filter = state
    i = 0
    tasks = list(events_state.tasks_by_time())
    if sort_by is not None:
        keys = {"name": str, "state": str, "received": float, "started": float}
        assert sort_by.lstrip("-") in keys
        reverse = sort_by.startswith("-")
        field = sort_by.lstrip("-")
        tasks = sorted(tasks, key=lambda x: getattr(x[1], field) or keys[field](), reverse=reverse)

    def convert(x):
        return time.mktime(datetime.datetime.strptime(x, "%Y-%m-%d %H:%M").timetuple())

    for uuid, task in tasks:
        if type and task.name != type:
            continue
        if worker and task.worker and task.worker.hostname != worker:
            continue
        if state_filter and task.state != state_filter:
            continue
        if received_start and task.received and task.received < convert(received_start):
            continue
        if received_end and task.received and task.received > convert(received_end):
            continue
        if i >= offset:
            yield uuid, task
        i += 1
        if limit is not None and i == limit + offset:
            break


def not_found():
    body = (b"<html><title>404: Not Found</title>"
            b"<body>404: Not Found</body></html>")
    return Response(404, body)


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = SERVER

    def version_string(self):
        return SERVER

    def log_message(self, fmt, *args):
        log.debug("%s " + fmt, self.address_string(), *args)

    def _body(self):
        n = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(n) if n > 0 else b""

    def do_GET(self):
        self.handle_any()

    do_POST = do_PUT = do_DELETE = do_PATCH = do_HEAD = do_OPTIONS = do_GET

    def handle_any(self):
        t = time.time()
        srv = self.server
        body = self._body()
        raw_path, _, query = self.path.partition("?")
        if raw_path.startswith("/_test/"):
            return self.send(self.test_control(raw_path, body))
        if raw_path == "/healthcheck":
            return self.send(Response(200, b"OK") if self.command == "GET" else Response(405))
        if not raw_path.startswith("/api/"):
            return self.send(not_found())

        tc = srv.testctl
        entry = tc.record(t, self.command, self.path)
        if tc.delay > 0:
            time.sleep(tc.delay)
        status = None
        try:
            fail = tc.take_fail(self.path)      # its query too
            if fail is not None:
                resp = Response(fail[0], fail[1])
            else:
                req = Request(self.command, raw_path, query, self.headers, body)
                with LOOP:
                    resp = srv.api.dispatch(req)
                if resp.is_json and resp.status == 200:
                    mangle = tc.take_json_mangle()
                    if mangle == "garbage":
                        resp.body = GARBAGE
                    elif mangle == "huge":
                        resp.body = None
            status = resp.status
            with tc.lock:
                entry["status"] = status
            hold = tc.take_hold(raw_path)
            if hold > 0:        # performed; the answer comes late
                with tc.lock:
                    entry["held"] = hold
                time.sleep(hold)
            self.send(resp, etag=(self.command in ("GET", "HEAD")))
            if resp.status != status:  # 304 Not Modified
                with tc.lock:
                    entry["status"] = resp.status
        finally:
            if status is None:
                with tc.lock:
                    entry["status"] = 0

    def send(self, resp, etag=False):
        status = resp.status
        body = resp.body
        headers = [("Content-Type", resp.content_type)]
        opts = self.server.api.opts
        if opts.version == "1.2" and not opts.basic_auth:
            headers += CORS_1X
        if body is not None and etag and status == 200:
            tag = '"%s"' % hashlib.sha1(body).hexdigest()
            headers.append(("Etag", tag))
            inm = self.headers.get("If-None-Match")
            if inm and (inm.strip() == "*" or tag in [x.strip() for x in inm.split(",")]):
                status, body = 304, b""
                resp.status = 304
        try:
            self.send_response(status)
            for k, v in headers:
                if status == 304 and k == "Content-Type":
                    continue
                self.send_header(k, v)
            if status != 304:
                self.send_header("Content-Length", str(HUGE_SIZE if body is None else len(body)))
            self.end_headers()
            if self.command == "HEAD" or status == 304:
                return
            if body is None:
                self.stream_huge()
            else:
                self.wfile.write(body)
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True

    def stream_huge(self):
        head = b'{"ecal-bulk@pod-huge": {"pad": "'
        tail = b'"}}'
        self.wfile.write(head)
        remaining = HUGE_SIZE - len(head) - len(tail)
        chunk = b"x" * (1 << 20)
        while remaining > 0:
            n = min(remaining, len(chunk))
            self.wfile.write(chunk[:n])
            remaining -= n
        self.wfile.write(tail)

    def test_control(self, path, body):
        tc = self.server.testctl
        try:
            data = json.loads(body.decode() or "{}")
            if not isinstance(data, dict):
                raise ValueError("object expected")
        except ValueError as exc:
            return Response(400, ("bad JSON: %s" % exc).encode())
        m = self.command
        with tc.lock:
            if path == "/_test/requests" and m == "GET":
                return json_response([dict(r) for r in tc.requests])
            if path == "/_test/requests" and m == "DELETE":
                tc.requests.clear()
                return json_response({"ok": True})
            if path == "/_test/delay" and m == "POST":
                tc.delay = float(data.get("seconds", 0))
                return json_response({"delay": tc.delay})
            if path == "/_test/fail" and m == "POST" and "path_contains" in data:
                # a rule of its own, after the others, for the paths that
                # contain path_contains, query included (its requests are
                # not performed)
                rule = [str(data["path_contains"]), int(data.get("status", 500)),
                        str(data.get("body", "")).encode(), int(data.get("count", 1))]
                tc.fail_paths.append(rule)
                return json_response({"fail_paths": [f[:2] + [f[3]] for f in tc.fail_paths]})
            if path == "/_test/fail" and m == "POST":
                tc.fail_status = int(data.get("status", 500))
                tc.fail_count = int(data.get("count", 1))
                # "encoding": the body's bytes in another charset (e.g.
                # latin-1: bytes that are not UTF-8)
                tc.fail_body = str(data.get("body", "")).encode(data.get("encoding", "utf-8"))
                return json_response({"status": tc.fail_status, "count": tc.fail_count})
            if path == "/_test/garbage" and m == "POST":
                tc.garbage = int(data.get("count", 1))
                return json_response({"count": tc.garbage})
            if path == "/_test/huge" and m == "POST":
                tc.huge = int(data.get("count", 1))
                return json_response({"count": tc.huge})
            if path == "/_test/hold" and m == "POST":
                tc.hold.append([str(data["path_contains"]), float(data.get("seconds", 3)),
                                int(data.get("count", 1))])
                return json_response({"hold": tc.hold})
            if path == "/_test/reset" and m == "POST":
                tc.delay, tc.fail_count, tc.garbage, tc.huge = 0.0, 0, 0, 0
                tc.hold, tc.fail_paths = [], []
                return json_response({"ok": True})
            if path == "/_test/state" and m == "GET":
                w = self.server.world
                with LOOP:
                    return json_response({
                        "receiver_ready": w.receiver_ready.is_set(),
                        "inspector_workers": sorted(w.workers),
                        "event_workers": {n: x.alive for n, x in w.state.workers.items()},
                    })
        return not_found()


class Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    # Tornado listens with a backlog of 128 (tornado.netutil._DEFAULT_BACKLOG),
    # not socketserver's 5: many runs connecting at once are queued by the
    # kernel, not dropped and left to retransmit their SYN for seconds.
    request_queue_size = 128


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--address", default="127.0.0.1")
    p.add_argument("--basic-auth", default=None, help="user:pass[,user:pass]")
    p.add_argument("--unauthenticated-api", action="store_true",
                   help="as FLOWER_UNAUTHENTICATED_API=true")
    p.add_argument("--purge-offline-workers", type=float, default=120.0)
    p.add_argument("--inspect-timeout", type=float, default=1.0, help="seconds (Flower: ms/1000)")
    p.add_argument("--executor-workers", type=int, default=min(32, (os.cpu_count() or 1) + 4),
                   help="threads of the inspect executor (asyncio default: min(32, cpus+4))")
    p.add_argument("--queues-length-config-only", action="store_true",
                   help="/api/queues/length ignores the workers' active_queues (as in the "
                        "capture); Flower 2.0.1's source lists them when its cache has them")
    p.add_argument("--version", choices=("1.2", "2.0", "2.1"), default="2.0",
                   help="the Flower version to answer as (see above)")
    p.add_argument("--read-only", action="store_true", help="Flower 2.1's --read-only")
    p.add_argument("--ready-file", default=None)
    p.add_argument("--log-level", default="INFO")
    opts = p.parse_args(argv)
    if opts.read_only and opts.version != "2.1":
        p.error("--read-only exists from Flower 2.1 on")
    if not opts.unauthenticated_api:
        env = os.environ.get("FLOWER_UNAUTHENTICATED_API")
        opts.unauthenticated_api = bool(env and strtobool(env))

    logging.basicConfig(level=getattr(logging, opts.log_level.upper(), logging.INFO),
                        format="%(asctime)s flower_double %(levelname)s %(message)s")

    world = World(opts)
    srv = Server((opts.address, opts.port), Handler)
    srv.world = world
    srv.api = Api(world, opts)
    srv.testctl = TestControl()

    threading.Thread(target=world.run_events, name="events", daemon=True).start()
    threading.Thread(target=world.run_periodic, name="periodic", daemon=True).start()
    initial = world.inspect()  # Flower: app.update_workers() at start

    def on_term(signum, frame):
        world.stopping.set()
        threading.Thread(target=srv.shutdown, daemon=True).start()

    signal.signal(signal.SIGTERM, on_term)
    signal.signal(signal.SIGINT, on_term)

    def announce():
        world.receiver_ready.wait()
        futures_wait(initial)
        time.sleep(0.2)  # let the first drain subscribe the event channel
        log.info("listening on %s:%s", opts.address, srv.server_address[1])
        if opts.ready_file:
            tmp = opts.ready_file + ".tmp"
            with open(tmp, "w") as f:
                json.dump({"port": srv.server_address[1], "pid": os.getpid()}, f)
            os.replace(tmp, opts.ready_file)

    threading.Thread(target=announce, name="announce", daemon=True).start()
    try:
        srv.serve_forever(poll_interval=0.2)
    finally:
        srv.server_close()
        world.executor.shutdown(wait=False, cancel_futures=True)
    log.info("stopped")
    logging.shutdown()
    sys.stdout.flush()
    sys.stderr.flush()
    # Executor threads may sit in a broker call for up to the inspect timeout;
    # do not let interpreter shutdown join them.
    os._exit(0)


if __name__ == "__main__":
    sys.exit(main())
