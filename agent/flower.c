/* flower.c -- Flower HTTP API client; see include/flower.h. */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "flower.h"
#include "http.h"
#include "util.h"

#define FLOWER_MAX_BODY	(4u << 20)

struct fcall {
	struct flower	 *f;
	struct fcall	 *next;		/* waiting its turn */
	const char	 *method;	/* static */
	char		 *path;
	double		  deadline;
	http_cb		 *done;
	char		 *worker;
	char		 *queue;
	int		  add;
	flower_status_cb *status_cb;
	flower_snap_cb	 *snap_cb;
	flower_done_cb	 *done_cb;
	void		 *arg;
};

static void
fcall_free(struct fcall *c)
{
	free(c->path);
	free(c->worker);
	free(c->queue);
	free(c);
}

#define NOAPI_BODY	"api is not available when auth is enabled"
#define READONLY_BODY	"Read only mode is enabled"
#define UNAUTH_BODY	"FLOWER_UNAUTHENTICATED_API environment variable is required"

/* Does the body start with text (ignoring a trailing newline)? */
static int
body_is(const char *body, size_t len, const char *text)
{
	size_t	n = strlen(text);

	return len >= n && memcmp(body, text, n) == 0;
}

enum flower_err
flower_classify(const char *url, const char *what, long status,
    const char *body, size_t len, char *err, size_t errlen)
{
	char		*raw, *ex;
	size_t		 n;
	enum flower_err	 e;

	if (status == 200)
		return FLOWER_OK;
	/* first line of a text body, bounded, cut between characters */
	raw = xmalloc(len + 1);
	memcpy(raw, body, len);
	raw[len] = '\0';
	ex = utf8_excerpt(raw, 160);
	free(raw);
	n = strlen(ex);
	if (status == 405 && body_is(body, len, NOAPI_BODY)) {
		snprintf(err, errlen, "Flower %s: %s: HTTP 405: %s: this is "
		    "Flower 1.x, which turns its API off whenever it has any "
		    "authentication; upgrade Flower to 2.x, or use --control "
		    "broker (Celery remote control over the broker)", url, what,
		    ex);
		e = FLOWER_ENOAPI;
	} else if (status == 403 && body_is(body, len, READONLY_BODY)) {
		snprintf(err, errlen, "Flower %s: %s: HTTP 403: %s: this "
		    "Flower runs with --read-only and cannot cancel or add "
		    "consumers; run one without --read-only, or use --control "
		    "broker (Celery remote control over the broker)", url, what,
		    ex);
		e = FLOWER_EREADONLY;
	} else if (status == 401 && body_is(body, len, UNAUTH_BODY)) {
		snprintf(err, errlen, "Flower %s: %s: HTTP 401: Flower has no "
		    "authentication configured, so it keeps its API closed; "
		    "start Flower with FLOWER_UNAUTHENTICATED_API=true, or "
		    "configure --basic_auth in Flower and give it here with "
		    "--flower-user and --flower-password-file", url, what);
		e = FLOWER_EAUTH;
	} else if (status == 401) {
		snprintf(err, errlen, "Flower %s: %s: HTTP 401 Unauthorized%s%s;"
		    " give credentials with --flower-user and "
		    "--flower-password-file (or check them)", url, what,
		    n ? ": " : "", ex);
		e = FLOWER_EAUTH;
	} else if (status == 404) {
		snprintf(err, errlen, "Flower %s: %s: HTTP 404: %s", url, what,
		    ex);
		e = FLOWER_EUNKNOWN;
	} else if (status == 403) {
		snprintf(err, errlen, "Flower %s: %s: the worker did not answer "
		    "(HTTP 403: %s)", url, what, ex);
		e = FLOWER_ENOREPLY;
	} else {
		snprintf(err, errlen, "Flower %s: %s: unexpected HTTP %ld%s%s",
		    url, what, status, n ? ": " : "", ex);
		e = status >= 500 ? FLOWER_EDOWN : FLOWER_EBAD;
	}
	free(ex);
	return e;
}

/* Classify a response; on error fill err and return the class. */
static enum flower_err
classify(struct flower *f, const struct http_resp *r, const char *what,
    char *err, size_t errlen)
{
	char	d[256];

	if (r->err != HTTP_OK) {
		if (r->err == HTTP_ETOOBIG) {
			snprintf(err, errlen, "Flower %s: %s: answer larger "
			    "than %u bytes", f->url, what, FLOWER_MAX_BODY);
			return FLOWER_EBAD;
		}
		if (r->err == HTTP_ETLS)
			snprintf(err, errlen, "Flower %s: %s: %s (its "
			    "certificate is not trusted: check --flower-url's "
			    "scheme and host)", f->url, what,
			    http_describe(r, d, sizeof d));
		else
			snprintf(err, errlen, "Flower %s: %s: %s (is Flower "
			    "running and 'oc port-forward svc/flower %d' up? "
			    "check --flower-url)", f->url, what,
			    http_describe(r, d, sizeof d),
			    http_url_port(f->url));
		return FLOWER_EDOWN;
	}
	return flower_classify(f->url, what, r->status, r->body, r->len, err,
	    errlen);
}

static void	send_next(struct flower *);

/*
 * A request is answered: its owner is told (and may take Flower for down),
 * then the next one waiting goes out.
 */
static void
answered(const struct http_resp *r, void *arg)
{
	struct fcall	*c = arg;
	struct flower	*f = c->f;

	f->inflight--;
	c->done(r, c);
	send_next(f);
}

static void
send_next(struct flower *f)
{
	struct http_req	 req;
	struct fcall	*c;
	char		*url;

	while (f->inflight < FLOWER_INFLIGHT && (c = f->waiting) != NULL) {
		if ((f->waiting = c->next) == NULL)
			f->waiting_tail = NULL;
		url = xasprintf("%s%s", f->url, c->path);
		memset(&req, 0, sizeof req);
		req.method = c->method;
		req.url = url;
		req.user = f->user;
		req.password = f->password;
		req.timeout = f->timeout;
		req.deadline = c->deadline;
		if (f->patience > 0)	/* counted from now, not the wait */
			req.patience = now_wall() + f->patience;
		/* Reads are safe to repeat, and so are consumer changes. */
		req.retry = 1;
		req.max_body = FLOWER_MAX_BODY;
		f->inflight++;
		if (http_do(f->http, &req, answered, c) == NULL) {
			struct http_resp r = { .err = HTTP_EOTHER,
			    .errmsg = "cannot start request", .body = (char *)"" };
			answered(&r, c);
		}
		free(url);
	}
}

/*
 * At most FLOWER_INFLIGHT requests are out; the others wait here, in
 * order, and their timeout starts when they are sent.
 */
static void
request(struct flower *f, const char *method, const char *path,
    double deadline, http_cb *cb, struct fcall *c)
{
	c->method = method;
	c->path = xstrdup(path);
	c->deadline = deadline;
	c->done = cb;
	if (f->waiting_tail != NULL)
		f->waiting_tail->next = c;
	else
		f->waiting = c;
	f->waiting_tail = c;
	send_next(f);
}

void
flower_drop_waiting(struct flower *f)
{
	struct fcall		*c;
	struct http_resp	 r = { .err = HTTP_ECONNECT, .errmsg =
	    "not sent: Flower is taken for down", .body = (char *)"" };

	while ((c = f->waiting) != NULL) {
		if ((f->waiting = c->next) == NULL)
			f->waiting_tail = NULL;
		c->done(&r, c);
	}
}

static void
status_done(const struct http_resp *r, void *arg)
{
	struct fcall		*c = arg;
	char			 err[512] = "", sub[256];
	enum flower_err		 e;
	struct worker_status	*ws = NULL;
	size_t			 n = 0;

	e = classify(c->f, r, "listing workers", err, sizeof err);
	if (e == FLOWER_OK && flower_parse_status(r->body, r->len, &ws, &n,
	    sub, sizeof sub) == -1) {
		snprintf(err, sizeof err, "Flower %s: bad answer to "
		    "/api/workers?status=true: %s", c->f->url, sub);
		e = FLOWER_EBAD;
	}
	c->status_cb(e, ws, n, err, c->arg);
	fcall_free(c);
}

void
flower_status(struct flower *f, double deadline, flower_status_cb *cb,
    void *arg)
{
	struct fcall	*c = xcalloc(1, sizeof *c);

	c->f = f;
	c->status_cb = cb;
	c->arg = arg;
	request(f, "GET", "/api/workers?status=true", deadline, status_done, c);
}

static void
refresh_done(const struct http_resp *r, void *arg)
{
	struct fcall		*c = arg;
	char			 err[512] = "", sub[256], what[300];
	enum flower_err		 e;
	struct worker_snap	 s;

	memset(&s, 0, sizeof s);
	snprintf(what, sizeof what, "refreshing worker %s", c->worker);
	e = classify(c->f, r, what, err, sizeof err);
	if (e == FLOWER_OK && flower_parse_workers(r->body, r->len, c->worker,
	    &s, sub, sizeof sub) == -1) {
		snprintf(err, sizeof err, "Flower %s: bad answer refreshing "
		    "worker %s: %s", c->f->url, c->worker, sub);
		e = FLOWER_EBAD;
	}
	c->snap_cb(e, e == FLOWER_OK ? &s : NULL, err, c->arg);
	worker_snap_free(&s);
	fcall_free(c);
}

void
flower_refresh(struct flower *f, const char *worker, double deadline,
    flower_snap_cb *cb, void *arg)
{
	struct fcall	*c = xcalloc(1, sizeof *c);
	char		*w = http_escape(worker), *path;

	c->f = f;
	c->worker = xstrdup(worker);
	c->snap_cb = cb;
	c->arg = arg;
	path = xasprintf("/api/workers?refresh=1&workername=%s", w);
	request(f, "GET", path, deadline, refresh_done, c);
	free(path);
	free(w);
}

static void
consumer_done(const struct http_resp *r, void *arg)
{
	struct fcall	*c = arg;
	char		 err[512] = "", what[300];
	enum flower_err	 e;
	json_t		*root, *m;
	json_error_t	 je;

	snprintf(what, sizeof what, "%s consumer of %s on %s",
	    c->add ? "adding" : "cancelling", c->queue, c->worker);
	e = classify(c->f, r, what, err, sizeof err);
	if (e == FLOWER_OK) {
		root = json_loadb(r->body, r->len, 0, &je);
		m = json_object_get(root, "message");
		if (!json_is_string(m)) {
			snprintf(err, sizeof err, "Flower %s: %s: answer has no "
			    "\"message\"", c->f->url, what);
			e = FLOWER_EBAD;
		}
		json_decref(root);
	}
	c->done_cb(e, err, c->arg);
	fcall_free(c);
}

void
flower_consumer(struct flower *f, int add, const char *worker,
    const char *queue, double deadline, flower_done_cb *cb, void *arg)
{
	struct fcall	*c = xcalloc(1, sizeof *c);
	char		*w = http_escape(worker), *q = http_escape(queue), *path;

	c->f = f;
	c->worker = xstrdup(worker);
	c->queue = xstrdup(queue);
	c->add = add;
	c->done_cb = cb;
	c->arg = arg;
	path = xasprintf("/api/worker/queue/%s-consumer/%s?queue=%s",
	    add ? "add" : "cancel", w, q);
	request(f, "POST", path, deadline, consumer_done, c);
	free(path);
	free(w);
	free(q);
}
