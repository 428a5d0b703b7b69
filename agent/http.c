/*
 * http.c -- libcurl multi on libev; see include/http.h.
 *
 * The socket callback keeps one ev_io per curl socket, the timer callback one
 * ev_timer for the multi handle; both hand events to
 * curl_multi_socket_action() and then collect finished transfers.
 */
#include <curl/curl.h>
#include <ev.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "http.h"
#include "retry.h"
#include "util.h"

/* connections to one server at once (and kept between requests) */
#define HTTP_HOST_CONNECTIONS	8
/*
 * Transfers handed to libcurl at once; the others wait, holding nothing of
 * libcurl's (a transfer holds its buffers from curl_easy_init() on). No
 * more than one server takes, so that none waits inside libcurl for a
 * connection: at 60 deployments, 16 transfers over 8 connections left
 * requests waiting there past RESOLVE's deadline.
 */
#define HTTP_MAX_ACTIVE		HTTP_HOST_CONNECTIONS

/*
 * CURLOPT_PROTOCOLS_STR needs 7.85; CURLOPT_SSLCERT_BLOB/SSLKEY_BLOB (an
 * exec plugin's certificate and key, kept off the disk) 7.71,
 * CURLOPT_PROXY_CAINFO_BLOB 7.77. Debian 12 has 7.88.
 */
#if LIBCURL_VERSION_NUM < 0x075500
#error "libcurl 7.85 or later is needed"
#endif

struct http {
	struct ev_loop	*loop;
	CURLM		*multi;
	ev_timer	 timer;
	unsigned long	 count;
	struct http_xfer *xfers;	/* live transfers */
	int		 changed;	/* http_set_changed() */
	int		 streams;	/* a stream has data for its on_data */
	int		 nactive;	/* transfers handed to libcurl */
	unsigned long	 seq;		/* of the last transfer queued */
	ev_timer	 pump;		/* starts the queued ones */
};

struct sockinfo {
	ev_io		 io;
	curl_socket_t	 fd;
	struct http	*h;
};

struct http_xfer {
	struct http	*h;
	struct http_xfer *next, *prev;
	CURL		*easy;		/* NULL while waiting to retry */
	unsigned long	 queued;	/* its place in the queue for an
					   attempt (HTTP_MAX_ACTIVE); 0: not */
	ev_timer	 backoff;
	struct curl_slist *headers, *connect_to;
	char		*proxy;
	char		*method, *url, *body, *ctype, *auth, *user, *password;
	struct http_tls	 tls;
	char		*ca_pem, *cert_pem, *key_pem;
	char		*ca_file, *cert_file, *key_file;
	double		 timeout, deadline, patience, started, first;
	int		 retry, retry_conflict, attempts, secret_url;
	size_t		 max_body;
	char		*buf;
	size_t		 len;
	int		 toobig;
	int		 stopped;	/* on_data said stop */
	int		 streaming;	/* a 2xx for on_data: buf is its part
					   not handed over yet */
	int		(*on_data)(const char *, size_t, void *);
	double		 retry_after;
	char		 errbuf[CURL_ERROR_SIZE];
	http_cb		*cb;
	void		*arg;
};

static void	check_multi(struct http *);
static int	start_attempt(struct http_xfer *);
static void	xfer_free(struct http_xfer *);
static void	slot_release(struct http *);
static void	pump_cb(struct ev_loop *, ev_timer *, int);
static void	finish(struct http_xfer *, CURLcode);

/*
 * What the streams received, to their on_data: on the loop, outside
 * libcurl's callbacks (libcurl refuses its multi calls from those), so
 * that on_data may start and cancel requests. A stream stopped by its
 * on_data ends here, as a failed transfer.
 */
static void
streams_deliver(struct http *h)
{
	struct http_xfer	*x;
	char			*buf;
	size_t			 len;
	int			 stop;

	while (h->streams) {
		h->streams = 0;
		for (x = h->xfers; x != NULL; x = x->next) {
			if (!x->streaming || x->len == 0 || x->easy == NULL)
				continue;
			buf = x->buf;
			len = x->len;
			x->buf = NULL;
			x->len = 0;
			stop = x->on_data(buf, len, x->arg);
			free(buf);
			if (stop) {
				x->stopped = 1;
				finish(x, CURLE_WRITE_ERROR);
			}
			/* the list may have changed: look again */
			h->streams = 1;
			break;
		}
	}
}

static void
timer_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct http	*h = w->data;
	int		 running;

	(void)loop;
	(void)revents;
	curl_multi_socket_action(h->multi, CURL_SOCKET_TIMEOUT, 0, &running);
	streams_deliver(h);
	check_multi(h);
}

static int
multi_timer_cb(CURLM *multi, long timeout_ms, void *arg)
{
	struct http	*h = arg;

	(void)multi;
	ev_timer_stop(h->loop, &h->timer);
	if (timeout_ms >= 0) {
		ev_timer_set(&h->timer, timeout_ms / 1000.0, 0.);
		ev_timer_start(h->loop, &h->timer);
	}
	return 0;
}

static void
io_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	struct sockinfo	*si = w->data;
	struct http	*h = si->h;
	int		 action = 0, running;

	(void)loop;
	if (revents & EV_READ)
		action |= CURL_CSELECT_IN;
	if (revents & EV_WRITE)
		action |= CURL_CSELECT_OUT;
	curl_multi_socket_action(h->multi, si->fd, action, &running);
	streams_deliver(h);
	check_multi(h);
}

static int
sock_cb(CURL *e, curl_socket_t s, int what, void *cbp, void *sockp)
{
	struct http	*h = cbp;
	struct sockinfo	*si = sockp;
	int		 kind;

	(void)e;
	if (what == CURL_POLL_REMOVE) {
		if (si != NULL) {
			ev_io_stop(h->loop, &si->io);
			free(si);
		}
		curl_multi_assign(h->multi, s, NULL);
		return 0;
	}
	kind = ((what & CURL_POLL_IN) ? EV_READ : 0) |
	    ((what & CURL_POLL_OUT) ? EV_WRITE : 0);
	if (si == NULL) {
		si = xcalloc(1, sizeof *si);
		si->fd = s;
		si->h = h;
		ev_io_init(&si->io, io_cb, s, kind);
		si->io.data = si;
		curl_multi_assign(h->multi, s, si);
	} else {
		ev_io_stop(h->loop, &si->io);
		ev_io_set(&si->io, s, kind);
	}
	ev_io_start(h->loop, &si->io);
	return 0;
}

struct http *
http_new(struct ev_loop *loop)
{
	struct http	*h = xcalloc(1, sizeof *h);
	static int	 inited;

	if (!inited) {
		curl_global_init(CURL_GLOBAL_DEFAULT);
		inited = 1;
	}
	h->loop = loop;
	h->multi = curl_multi_init();
	ev_timer_init(&h->timer, timer_cb, 0., 0.);
	h->timer.data = h;
	ev_timer_init(&h->pump, pump_cb, 0., 0.);
	h->pump.data = h;
	curl_multi_setopt(h->multi, CURLMOPT_SOCKETFUNCTION, sock_cb);
	curl_multi_setopt(h->multi, CURLMOPT_SOCKETDATA, h);
	curl_multi_setopt(h->multi, CURLMOPT_TIMERFUNCTION, multi_timer_cb);
	curl_multi_setopt(h->multi, CURLMOPT_TIMERDATA, h);
	/*
	 * Memory grows with the connections, not with the requests: each
	 * one holds a TLS session (libcurl 7.88 makes an OpenSSL context per
	 * connection) and each transfer a receive buffer. Many runs at once
	 * send their requests at once: a few connections per server, reused,
	 * serve them in turn (the others wait in libcurl, not connected), and
	 * no more than that stay open between requests.
	 */
	curl_multi_setopt(h->multi, CURLMOPT_MAX_HOST_CONNECTIONS,
	    (long)HTTP_HOST_CONNECTIONS);
	curl_multi_setopt(h->multi, CURLMOPT_MAXCONNECTS,
	    (long)HTTP_HOST_CONNECTIONS);
	return h;
}

static void
xfer_free(struct http_xfer *x)
{
	struct http	*h = x->h;

	if (x->easy != NULL) {
		curl_multi_remove_handle(h->multi, x->easy);
		curl_easy_cleanup(x->easy);
		x->easy = NULL;
		slot_release(h);
	}
	ev_timer_stop(h->loop, &x->backoff);
	if (x->prev != NULL)
		x->prev->next = x->next;
	else
		h->xfers = x->next;
	if (x->next != NULL)
		x->next->prev = x->prev;
	curl_slist_free_all(x->headers);
	curl_slist_free_all(x->connect_to);
	free(x->proxy);
	free(x->method);
	free(x->url);
	free(x->body);
	free(x->ctype);
	if (x->auth != NULL)
		explicit_bzero(x->auth, strlen(x->auth));
	free(x->auth);
	free(x->user);
	if (x->password != NULL)
		explicit_bzero(x->password, strlen(x->password));
	free(x->password);
	free(x->ca_pem);
	free(x->cert_pem);
	if (x->key_pem != NULL)
		explicit_bzero(x->key_pem, x->tls.key_pem_len);
	free(x->key_pem);
	free(x->ca_file);
	free(x->cert_file);
	free(x->key_file);
	free(x->buf);
	free(x);
}

void
http_free(struct http *h)
{
	if (h == NULL)
		return;
	while (h->xfers != NULL)
		xfer_free(h->xfers);
	ev_timer_stop(h->loop, &h->timer);
	ev_timer_stop(h->loop, &h->pump);
	curl_multi_cleanup(h->multi);
	free(h);
}

void
http_set_changed(struct http *h, int changed)
{
	h->changed = changed;
}

unsigned long
http_count(const struct http *h)
{
	return h->count;
}

static size_t
write_cb(char *p, size_t sz, size_t n, void *arg)
{
	struct http_xfer	*x = arg;
	size_t			 len = sz * n;
	long			 status = 0;

	if (x->on_data != NULL && !x->streaming) {
		curl_easy_getinfo(x->easy, CURLINFO_RESPONSE_CODE, &status);
		x->streaming = status >= 200 && status <= 299;
	}
	if (x->streaming)
		x->h->streams = 1;	/* streams_deliver(), on the loop */
	if (x->len + len > x->max_body) {
		x->toobig = 1;
		return 0;	/* aborts the transfer */
	}
	x->buf = xrealloc(x->buf, x->len + len + 1);
	memcpy(x->buf + x->len, p, len);
	x->len += len;
	x->buf[x->len] = '\0';
	return len;
}

static size_t
header_cb(char *p, size_t sz, size_t n, void *arg)
{
	struct http_xfer	*x = arg;
	size_t			 len = sz * n;
	char			 line[128];

	if (len < sizeof line && strncasecmp(p, "Retry-After:", 12) == 0) {
		memcpy(line, p + 12, len - 12);
		line[len - 12] = '\0';
		x->retry_after = atof(line);	/* delta-seconds form only */
	}
	return len;
}

static char *
dupn(const char *p, size_t n)
{
	char	*s;

	if (p == NULL)
		return NULL;
	s = xmalloc(n + 1);
	memcpy(s, p, n);
	s[n] = '\0';
	return s;
}

static char *
dupz(const char *p)
{
	return p ? xstrdup(p) : NULL;
}

/*
 * A CA, client certificate or key: a file (fopt), or PEM bytes in memory
 * (bopt); either may be NULL.
 */
static void
set_file_or_pem(CURL *e, CURLoption fopt, const char *file, CURLoption bopt,
    char *pem, size_t len)
{
	struct curl_blob	blob;

	if (file != NULL)
		curl_easy_setopt(e, fopt, file);
	if (pem == NULL)
		return;
	blob.data = pem;
	blob.len = len;
	blob.flags = CURL_BLOB_NOCOPY;
	curl_easy_setopt(e, bopt, &blob);
}

/* The options that verify the server, and their twins for an HTTPS proxy. */
static const struct verify_opts {
	CURLoption	peer, host, cainfo, cainfo_blob;
} server_verify = {
	CURLOPT_SSL_VERIFYPEER, CURLOPT_SSL_VERIFYHOST, CURLOPT_CAINFO,
	CURLOPT_CAINFO_BLOB,
}, proxy_verify = {
	CURLOPT_PROXY_SSL_VERIFYPEER, CURLOPT_PROXY_SSL_VERIFYHOST,
	CURLOPT_PROXY_CAINFO, CURLOPT_PROXY_CAINFO_BLOB,
};

/* Verification as x's TLS settings say: off, or against its CA. */
static void
set_verify(struct http_xfer *x, CURL *e, const struct verify_opts *o)
{
	if (x->tls.insecure) {
		curl_easy_setopt(e, o->peer, 0L);
		curl_easy_setopt(e, o->host, 0L);
	}
	set_file_or_pem(e, o->cainfo, x->ca_file, o->cainfo_blob, x->ca_pem,
	    x->tls.ca_pem_len);
}

static void
set_tls(struct http_xfer *x, CURL *e)
{
	set_verify(x, e, &server_verify);
	set_file_or_pem(e, CURLOPT_SSLCERT, x->cert_file, CURLOPT_SSLCERT_BLOB,
	    x->cert_pem, x->tls.cert_pem_len);
	set_file_or_pem(e, CURLOPT_SSLKEY, x->key_file, CURLOPT_SSLKEY_BLOB,
	    x->key_pem, x->tls.key_pem_len);
	if (x->connect_to != NULL)
		curl_easy_setopt(e, CURLOPT_CONNECT_TO, x->connect_to);
	if (x->proxy == NULL)
		return;
	curl_easy_setopt(e, CURLOPT_PROXY, x->proxy);
	curl_easy_setopt(e, CURLOPT_NOPROXY, "");
	set_verify(x, e, &proxy_verify);
}

/*
 * tls-server-name: libcurl has no option to verify a certificate against
 * another name than the URL's host, so the URL names server_name and
 * CURLOPT_CONNECT_TO sends the connection to the real host and port.
 */
static void
set_server_name(struct http_xfer *x, const char *name)
{
	CURLU	*u = curl_url();
	char	*scheme = NULL, *host = NULL, *port = NULL, *url = NULL;
	char	*s;

	if (u == NULL || curl_url_set(u, CURLUPART_URL, x->url, 0) !=
	    CURLUE_OK ||
	    curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK ||
	    strcmp(scheme, "https") != 0 ||
	    curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_PORT, &port, CURLU_DEFAULT_PORT) !=
	    CURLUE_OK ||
	    curl_url_set(u, CURLUPART_HOST, name, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_URL, &url, 0) != CURLUE_OK)
		goto out;
	s = xasprintf("%s:%s:%s:%s", name, port, host, port);
	x->connect_to = curl_slist_append(NULL, s);
	free(s);
	s = xasprintf("Host: %s%s%s", host, strcmp(port, "443") ? ":" : "",
	    strcmp(port, "443") ? port : "");
	x->headers = curl_slist_append(x->headers, s);
	free(s);
	free(x->url);
	x->url = xstrdup(url);
out:
	curl_free(scheme);
	curl_free(host);
	curl_free(port);
	curl_free(url);
	curl_url_cleanup(u);
}

static void	backoff_cb(struct ev_loop *, ev_timer *, int);

/* The next attempt of x, in wait seconds, on the loop. */
static void
backoff_start(struct http_xfer *x, double wait)
{
	ev_timer_set(&x->backoff, wait, 0.);
	x->backoff.data = x;
	ev_set_cb(&x->backoff, backoff_cb);
	ev_timer_start(x->h->loop, &x->backoff);
}

/* An attempt could not even start: x fails, on the loop. */
static void
start_failed(struct http_xfer *x)
{
	struct http_resp	 resp;

	memset(&resp, 0, sizeof resp);
	resp.err = HTTP_EOTHER;
	resp.errmsg = "cannot start request";
	resp.attempts = x->attempts;
	resp.started = x->started;
	x->cb(&resp, x->arg);
	xfer_free(x);
}

/*
 * An attempt of x now, or, with HTTP_MAX_ACTIVE transfers out, once one
 * of them is done (pump_cb). -1 if it could not start.
 */
static int
attempt(struct http_xfer *x)
{
	if (x->h->nactive >= HTTP_MAX_ACTIVE) {
		x->queued = ++x->h->seq;
		return 0;
	}
	return start_attempt(x);
}

/* A transfer is done with libcurl: the next queued one may start. */
static void
slot_release(struct http *h)
{
	struct http_xfer	*x;

	h->nactive--;
	for (x = h->xfers; x != NULL; x = x->next)
		if (x->queued) {
			ev_timer_start(h->loop, &h->pump);
			return;
		}
}

static void
pump_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct http		*h = w->data;
	struct http_xfer	*x, *first;

	(void)loop;
	(void)revents;
	while (h->nactive < HTTP_MAX_ACTIVE) {
		first = NULL;
		for (x = h->xfers; x != NULL; x = x->next)
			if (x->queued && (first == NULL ||
			    x->queued < first->queued))
				first = x;
		if (first == NULL)
			return;
		first->queued = 0;
		if (start_attempt(first) == -1)
			start_failed(first);
	}
}

static int
start_attempt(struct http_xfer *x)
{
	CURL	*e;
	double	 tmo = x->timeout, ctmo;

	if ((e = curl_easy_init()) == NULL)
		return -1;
	free(x->buf);
	x->buf = NULL;
	x->len = 0;
	x->toobig = 0;
	x->stopped = 0;
	x->streaming = 0;
	x->retry_after = 0;
	x->errbuf[0] = '\0';
	x->attempts++;
	x->h->count++;
	x->started = ev_now(x->h->loop);
	if (x->deadline > 0 && x->deadline - x->started < tmo)
		tmo = x->deadline - x->started;
	if (tmo < 0.2)
		tmo = 0.2;
	ctmo = tmo < 5 ? tmo : 5;
	if (x->patience > 0 && x->patience - x->started < ctmo)
		ctmo = x->patience - x->started;
	if (ctmo < 0.2)
		ctmo = 0.2;
	curl_easy_setopt(e, CURLOPT_URL, x->url);
	curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, x->method);
	if (strcmp(x->method, "GET") == 0)
		curl_easy_setopt(e, CURLOPT_HTTPGET, 1L);
	else {
		curl_easy_setopt(e, CURLOPT_POSTFIELDS, x->body ? x->body : "");
		curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE,
		    (long)(x->body ? strlen(x->body) : 0));
	}
	curl_easy_setopt(e, CURLOPT_HTTPHEADER, x->headers);
	/* the receive buffer: API answers are small, and 16 KB each adds up */
	curl_easy_setopt(e, CURLOPT_BUFFERSIZE, 4096L);
	curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, write_cb);
	curl_easy_setopt(e, CURLOPT_WRITEDATA, x);
	curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, header_cb);
	curl_easy_setopt(e, CURLOPT_HEADERDATA, x);
	curl_easy_setopt(e, CURLOPT_ERRORBUFFER, x->errbuf);
	curl_easy_setopt(e, CURLOPT_PRIVATE, x);
	curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, (long)(tmo * 1000));
	curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, (long)(ctmo * 1000));
	curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(e, CURLOPT_USERAGENT, "drain-and-rollout/" VERSION);
	if (x->user != NULL) {
		curl_easy_setopt(e, CURLOPT_HTTPAUTH, (long)CURLAUTH_BASIC);
		curl_easy_setopt(e, CURLOPT_USERNAME, x->user);
		curl_easy_setopt(e, CURLOPT_PASSWORD,
		    x->password ? x->password : "");
	}
	set_tls(x, e);
	x->easy = e;
	if (curl_multi_add_handle(x->h->multi, e) != CURLM_OK) {
		curl_easy_cleanup(e);
		x->easy = NULL;
		return -1;
	}
	x->h->nactive++;
	return 0;
}

struct http_xfer *
http_do(struct http *h, const struct http_req *r, http_cb *cb, void *arg)
{
	struct http_xfer	*x = xcalloc(1, sizeof *x);
	char			*hdr;

	x->h = h;
	x->method = xstrdup(r->method);
	x->url = xstrdup(r->url);
	x->body = dupz(r->body);
	x->user = dupz(r->user);
	x->password = dupz(r->password);
	x->timeout = r->timeout > 0 ? r->timeout : 10;
	x->deadline = r->deadline;
	x->patience = r->patience;
	x->first = ev_now(h->loop);
	x->retry = r->retry;
	if (x->retry && x->deadline <= 0)
		x->deadline = ev_now(h->loop) + 30;
	x->retry_conflict = r->retry_conflict;
	x->secret_url = r->secret_url;
	x->on_data = r->on_data;
	x->max_body = r->max_body ? r->max_body : HTTP_MAX_BODY;
	x->cb = cb;
	x->arg = arg;
	ev_timer_init(&x->backoff, NULL, 0., 0.);
	if (r->tls != NULL) {
		x->tls = *r->tls;
		x->ca_file = dupz(r->tls->ca_file);
		x->cert_file = dupz(r->tls->cert_file);
		x->key_file = dupz(r->tls->key_file);
		x->ca_pem = dupn(r->tls->ca_pem, r->tls->ca_pem_len);
		x->cert_pem = dupn(r->tls->cert_pem, r->tls->cert_pem_len);
		x->key_pem = dupn(r->tls->key_pem, r->tls->key_pem_len);
	}
	x->headers = curl_slist_append(NULL, "Accept: application/json");
	x->headers = curl_slist_append(x->headers, "Expect:");
	if (r->content_type != NULL) {
		hdr = xasprintf("Content-Type: %s", r->content_type);
		x->headers = curl_slist_append(x->headers, hdr);
		free(hdr);
	}
	if (r->bearer != NULL) {
		x->auth = xasprintf("Authorization: Bearer %s", r->bearer);
		x->headers = curl_slist_append(x->headers, x->auth);
	}
	x->proxy = dupz(r->proxy);
	if (r->tls != NULL && r->tls->server_name != NULL)
		set_server_name(x, r->tls->server_name);
	x->next = h->xfers;
	if (h->xfers != NULL)
		h->xfers->prev = x;
	h->xfers = x;
	if (attempt(x) == -1) {
		/* try once more on the loop; the callback never runs in here */
		backoff_start(x, 0.);
	}
	return x;
}

void
http_cancel(struct http_xfer *x)
{
	if (x != NULL)
		xfer_free(x);
}

double
http_last_start(const struct http_xfer *x)
{
	return x->started;
}

static void
backoff_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct http_xfer	*x = w->data;

	(void)loop;
	(void)revents;
	if (attempt(x) == -1)
		start_failed(x);
}

/* The class of a finished attempt (retry.h): what the policy is given. */
static enum retry_class
retry_class(const struct http_xfer *x, CURLcode rc, enum http_err err,
    long status)
{
	if (!x->retry)
		return RETRY_FINAL;
	if (rc == CURLE_COULDNT_CONNECT || rc == CURLE_COULDNT_RESOLVE_HOST ||
	    rc == CURLE_COULDNT_RESOLVE_PROXY)
		return RETRY_UNREACHABLE;
	if (err == HTTP_ETLS)
		return RETRY_TLS;
	if (err == HTTP_ECONNECT || err == HTTP_ETIMEOUT)
		return RETRY_TRANSIENT;
	if (err != HTTP_OK)
		return RETRY_FINAL;
	return status == 429 || status == 500 || status == 502 ||
	    status == 503 || status == 504 ||
	    (status == 409 && x->retry_conflict) ? RETRY_TRANSIENT :
	    RETRY_FINAL;
}

/* Schedule another attempt if the policy says so; returns 1 if scheduled. */
static int
schedule_retry(struct http_xfer *x, enum retry_class cls,
    const struct http_resp *resp)
{
	double			 now = ev_now(x->h->loop), left = -1;
	struct retry_facts	 f;
	struct retry_decision	 d;
	char			*shown, desc[256];

	if (x->deadline > 0)
		left = x->deadline - 0.2 - now;
	if (x->patience > 0 && (left < 0 || x->patience - now < left))
		left = x->patience - now;
	if (left < 0 && (x->deadline > 0 || x->patience > 0))
		left = 0;
	memset(&f, 0, sizeof f);
	f.changed = x->h->changed;
	f.cls = cls;
	f.attempts = x->attempts;
	f.spent = now - x->first;
	f.left = left;
	f.retry_after = x->retry_after;
	f.jitter = (double)random() / RAND_MAX;
	d = retry_decide(&f);
	shown = x->secret_url ? xstrdup("(URL not shown)") :
	    http_url_shown(x->url);
	http_describe(resp, desc, sizeof desc);
	if (d.wait < 0)
		log_debug("giving up %s %s after %d attempt(s) in %.1fs: %s "
		    "(%s)", x->method, shown, x->attempts, f.spent, desc,
		    d.why);
	else if (d.loud)
		log_warn("retrying %s %s in %.1fs (attempt %d): %s",
		    x->method, shown, d.wait, x->attempts + 1, desc);
	else
		log_debug("retrying %s %s in %.1fs (attempt %d): %s",
		    x->method, shown, d.wait, x->attempts + 1, desc);
	free(shown);
	if (d.wait < 0)
		return 0;
	backoff_start(x, d.wait);
	return 1;
}

static void
finish(struct http_xfer *x, CURLcode rc)
{
	struct http_resp	 resp;
	long			 status = 0;
	enum retry_class	 cls;

	memset(&resp, 0, sizeof resp);
	curl_easy_getinfo(x->easy, CURLINFO_RESPONSE_CODE, &status);
	resp.seconds = ev_now(x->h->loop) - x->started;
	curl_multi_remove_handle(x->h->multi, x->easy);
	curl_easy_cleanup(x->easy);
	x->easy = NULL;
	slot_release(x->h);
	switch (rc) {
	case CURLE_OK:
		resp.err = HTTP_OK;
		break;
	case CURLE_WRITE_ERROR:
		resp.err = x->toobig ? HTTP_ETOOBIG : HTTP_EOTHER;
		break;
	case CURLE_COULDNT_CONNECT:
	case CURLE_COULDNT_RESOLVE_HOST:
	case CURLE_COULDNT_RESOLVE_PROXY:
	case CURLE_SEND_ERROR:
	case CURLE_RECV_ERROR:
	case CURLE_GOT_NOTHING:
		resp.err = HTTP_ECONNECT;
		break;
	case CURLE_OPERATION_TIMEDOUT:
		resp.err = HTTP_ETIMEOUT;
		break;
	case CURLE_SSL_CONNECT_ERROR:
	case CURLE_PEER_FAILED_VERIFICATION:
	case CURLE_SSL_CERTPROBLEM:
	case CURLE_SSL_CACERT_BADFILE:
	case CURLE_SSL_CIPHER:
		resp.err = HTTP_ETLS;
		break;
	default:
		resp.err = HTTP_EOTHER;
		break;
	}
	if (resp.err == HTTP_ETOOBIG)
		resp.errmsg = "response body too large";
	else if (rc == CURLE_WRITE_ERROR && x->stopped)
		resp.errmsg = "stopped by the receiver";
	else if (resp.err != HTTP_OK)
		resp.errmsg = x->errbuf[0] ? x->errbuf : curl_easy_strerror(rc);
	resp.status = resp.err == HTTP_OK ? status : 0;
	cls = retry_class(x, rc, resp.err, resp.status);
	if (cls != RETRY_FINAL && schedule_retry(x, cls, &resp))
		return;
	resp.body = x->buf ? x->buf : (char *)"";
	resp.len = x->len;
	resp.attempts = x->attempts;
	resp.started = x->started;
	x->cb(&resp, x->arg);
	xfer_free(x);
}

static void
check_multi(struct http *h)
{
	CURLMsg			*msg;
	int			 left;
	struct http_xfer	*x;

	while ((msg = curl_multi_info_read(h->multi, &left)) != NULL) {
		if (msg->msg != CURLMSG_DONE)
			continue;
		curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, &x);
		finish(x, msg->data.result);
	}
}

const char *
http_describe(const struct http_resp *r, char *buf, size_t len)
{
	switch (r->err) {
	case HTTP_OK:
		snprintf(buf, len, "HTTP %ld", r->status);
		break;
	case HTTP_ETOOBIG:
		snprintf(buf, len, "response body too large");
		break;
	default:
		snprintf(buf, len, "%s", r->errmsg ? r->errmsg : "error");
		break;
	}
	return buf;
}

char *
http_escape(const char *s)
{
	char	*e = curl_easy_escape(NULL, s, 0), *out;

	if (e == NULL)
		return xstrdup("");
	out = xstrdup(e);
	curl_free(e);
	return out;
}

/* How a URL is shown: with its path (http_url_shown), or its origin. */
enum url_form { URL_SHOWN, URL_ORIGIN, URL_AUTHORITY };

static char *
url_form(const char *url, enum url_form form)
{
	CURLU	*u = curl_url();
	char	*scheme = NULL, *host = NULL, *port = NULL, *path = NULL;
	char	*out;

	if (curl_url_set(u, CURLUPART_URL, url, CURLU_NON_SUPPORT_SCHEME) !=
	    CURLUE_OK || curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) !=
	    CURLUE_OK || curl_url_get(u, CURLUPART_HOST, &host, 0) !=
	    CURLUE_OK)
		out = xstrdup("(an invalid URL)");
	else {
		curl_url_get(u, CURLUPART_PORT, &port, form == URL_SHOWN ? 0 :
		    CURLU_DEFAULT_PORT);
		if (form == URL_SHOWN)
			curl_url_get(u, CURLUPART_PATH, &path, 0);
		out = xasprintf("%s%s%s%s%s%s", form == URL_AUTHORITY ? "" :
		    scheme, form == URL_AUTHORITY ? "" : "://", host,
		    port ? ":" : "", port ? port : "",
		    path && strcmp(path, "/") != 0 ? path : "");
	}
	curl_free(scheme);
	curl_free(host);
	curl_free(port);
	curl_free(path);
	curl_url_cleanup(u);
	return out;
}

char *
http_url_shown(const char *url)
{
	return url_form(url, URL_SHOWN);
}

int
http_url_port(const char *url)
{
	CURLU	*u = curl_url();
	char	*port = NULL;
	int	 n = 0;

	if (curl_url_set(u, CURLUPART_URL, url, 0) == CURLUE_OK &&
	    curl_url_get(u, CURLUPART_PORT, &port, CURLU_DEFAULT_PORT) ==
	    CURLUE_OK)
		n = atoi(port);
	curl_free(port);
	curl_url_cleanup(u);
	return n;
}

char *
http_url_origin(const char *url, int with_scheme)
{
	return url_form(url, with_scheme ? URL_ORIGIN : URL_AUTHORITY);
}
