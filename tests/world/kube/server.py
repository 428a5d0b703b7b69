"""HTTP plumbing of the double: one port for HTTPS (the API) and plain HTTP
(the /_test/ control endpoints), the request log, authentication, and the
dispatch to the API's routing table (api.py) or the test controls
(testctl.py)."""
import json
import select
import socket
import ssl
import sys
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

from kube import api, testctl
from kube.status import st_bad_request, st_internal
from kube.util import SERVICE_ACCOUNT, log


class Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 64

    def finish_request(self, request, client_address):
        # One port for HTTPS (API) and plain HTTP (/_test/ control): peek the first byte.
        try:
            request.settimeout(10)
            first = request.recv(1, socket.MSG_PEEK)
            if not first:
                return
            if first[0] == 0x16:
                request = self.ssl_ctx.wrap_socket(request, server_side=True)
            request.settimeout(None)
        except (OSError, ssl.SSLError) as e:
            log("connection from %s dropped: %s" % (client_address, e))
            try:
                request.close()
            except OSError:
                pass
            return
        self.RequestHandlerClass(request, client_address, self)

    def handle_error(self, request, client_address):
        exc = sys.exc_info()[1]
        if isinstance(exc, (BrokenPipeError, ConnectionResetError, ssl.SSLError, socket.timeout)):
            return
        super().handle_error(request, client_address)


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "kube-apiserver-double"
    sys_version = ""

    @property
    def cluster(self):
        return self.server.cluster

    @property
    def state(self):
        return self.server.state

    def log_message(self, fmt, *a):
        if self.state.get("verbose"):
            log("%s %s" % (self.address_string(), fmt % a))

    # ---- plumbing ----
    def send_response(self, code, message=None):
        self._status = code
        super().send_response(code, message)

    def read_body(self):
        n = int(self.headers.get("Content-Length") or 0)
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            data = b""
            while True:
                line = self.rfile.readline()
                size = int(line.strip().split(b";")[0], 16)
                if size == 0:
                    self.rfile.readline()
                    break
                data += self.rfile.read(size)
                self.rfile.readline()
            return data
        return self.rfile.read(n) if n > 0 else b""

    def send_json(self, code, obj, headers=None):
        data = (json.dumps(obj) + "\n").encode() if not isinstance(obj, bytes) else obj
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Audit-Id", str(uuid.uuid4()))
        self.send_header("Cache-Control", "no-cache, private")
        for k, v in (headers or {}).items():
            self.send_header(k, str(v))
        self.send_header("Content-Length", str(len(data)))
        if not getattr(self, "_recorded", True) and not getattr(self, "_defer_record", False):
            # in the log before the client can read the answer: a test that
            # reads the log once the agent has exited sees every request
            self.record(self.auth_kind_for_log())
            self._recorded = True
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)
        self.wfile.flush()

    def send_status(self, st, headers=None):
        self.send_json(st["code"], st, headers)

    def record(self, auth):
        body = self._body.decode("utf-8", "replace") if self._body else ""
        entry = {"t": self._t, "method": self.command, "path": self.path,
                 "content_type": self.headers.get("Content-Type"), "body": body, "auth": auth,
                 "status": getattr(self, "_status", None), "note": getattr(self, "_note", None),
                 "accept": self.headers.get("Accept"), "user_agent": self.headers.get("User-Agent")}
        with self.state["lock"]:
            self.state["requests"].append(entry)

    def do_GET(self):
        self.dispatch()

    do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = do_OPTIONS = do_GET

    # ---- auth ----
    def authenticate(self):
        """-> (kind, user) or (None, None)."""
        h = self.headers.get("Authorization")
        if h:
            parts = h.split(None, 1)
            if len(parts) == 2 and parts[0].lower() == "bearer":
                with self.state["lock"]:
                    exp = self.state["tokens"].get(parts[1].strip(), 0)
                if exp is None or exp > time.time():
                    return "bearer", "system:serviceaccount:%s:%s" % (self.cluster.ns, SERVICE_ACCOUNT)
            return None, None
        if isinstance(self.connection, ssl.SSLSocket):
            try:
                cert = self.connection.getpeercert()
            except (ValueError, ssl.SSLError):
                cert = None
            if cert:
                cn = "unknown"
                for rdn in cert.get("subject", ()):
                    for k, v in rdn:
                        if k == "commonName":
                            cn = v
                return "cert", cn
        return None, None

    def auth_kind_for_log(self):
        h = self.headers.get("Authorization")
        if h:
            return "bearer" if h.lower().startswith("bearer") else "other"
        if isinstance(self.connection, ssl.SSLSocket):
            try:
                if self.connection.getpeercert():
                    return "cert"
            except (ValueError, ssl.SSLError):
                pass
        return "none"

    # ---- dispatch ----
    def dispatch(self):
        self._t = time.time()
        self._status = None
        self._note = None
        self._recorded = False
        try:
            self._body = self.read_body()
        except (ValueError, OSError):
            self._body = b""
            self.send_status(st_bad_request("unable to read request body"))
            self.close_connection = True
            return
        u = urlsplit(self.path)
        self._q = {k: v[-1] for k, v in parse_qs(u.query, keep_blank_values=True).items()}
        if u.path.startswith("/_test/") or u.path == "/_test":
            self._recorded = True       # not logged
            try:
                testctl.serve(self, u.path)
            except Exception as e:
                self.send_json(500, {"error": repr(e)})
            return
        auth_log = self.auth_kind_for_log()
        try:
            api.serve(self, u)
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True
        except Exception as e:
            import traceback
            traceback.print_exc()
            if self._status is None:
                self.send_status(st_internal(repr(e)))
        finally:
            if not getattr(self, "_recorded", False):
                self.record(auth_log)


    def peer_closed(self):
        # While a watch streams, the client sends nothing: readable means EOF/close_notify.
        try:
            r, _, _ = select.select([self.connection], [], [], 0)
        except (OSError, ValueError):
            return True
        return bool(r)

    def write_chunk(self, data):
        self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
        self.wfile.flush()
