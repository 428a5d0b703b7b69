/*
 * broker.c -- Redis via hiredis async on libev; see include/broker.h.
 */
#include <curl/curl.h>
#include <ev.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wunused-parameter"
#include <hiredis/hiredis.h>
#include <hiredis/async.h>
#include <hiredis/adapters/libev.h>
#pragma GCC diagnostic pop

#include "broker.h"
#include "retry.h"
#include "sentinel.h"
#include "util.h"

struct conn {
	struct broker		*b;
	redisAsyncContext	*ac;
	int			 up;
	int			 sub;		/* subscriber connection */
	double			 started;	/* ev_now of the connect */
	ev_timer		 retry;
	/* failed connects in a row (retry.h's facts) */
	int			 fails;
	double			 down_since;	/* ev_now of the first */
	enum retry_class	 cls;		/* of the last */
	char			 cause[800];	/* hiredis' words */
	int			 gave_up;	/* the policy gave up: waiters
						   fail, reconnecting goes on */
	int			 want_master;	/* waits for the sentinels */
	char			 role_err[160];	/* ROLE: not the master */
};

struct bcall;

struct broker {
	struct ev_loop		*loop;
	char			*host;
	int			 port;
	int			 db;
	char			*user;
	char			*password;
	char			 where[300];
	struct conn		 cmd;
	struct conn		 subc;
	char			*pattern[BROKER_MAX_PATTERNS];
	size_t			 npatterns;
	broker_msg_cb		*msg_cb;
	broker_sub_state_cb	*state_cb;
	void			*sub_arg;
	unsigned long		 count;
	int			 closing;
	double			 timeout;	/* connect and each command */
	int			 timed_out;	/* the connection was cut */
	int			 changed;	/* broker_set_changed() */
	char			 setup_err[300]; /* AUTH or SELECT refused */
	struct bcall		*head, *tail;	/* commands sent, oldest first */
	struct bcall		*failed;	/* to fail on the loop */
	struct bcall		*held;		/* issued while reconnecting */
	int			 ever_up;	/* the command connection was up */
	unsigned long		 conn_id;	/* its connects so far */
	ev_timer		 held_watch;	/* bounds the held ones */
	ev_timer		 watch;		/* bounds head and the connect */
	ev_idle			 defer;		/* runs failed's callbacks */
	/* Sentinel (sentinel.h); sentinel 0: a redis:// URL */
	int			 sentinel;
	struct sentinel_list	 sl;
	char			*master;	/* its name */
	int			 have_master;	/* host:port is current */
	int			 resolving;	/* a round is under way */
	struct sentinel_round	 round;
	size_t			 asking;	/* the sentinel asked now */
	size_t			 last_good;	/* the last that answered */
	char			 said_host[256]; /* its answer */
	int			 said_port;
	redisAsyncContext	*sac;		/* connection to it */
	ev_timer		 ask_watch;	/* bounds its answer */
	ev_timer		 moved;		/* READONLY: reconnect both */
};

struct bcall {
	struct broker	*b;
	broker_reply_cb	*cb;
	void		*arg;
	double		 sent;		/* or held since */
	char		*cmd;		/* the command, formatted */
	size_t		 len;
	int		 resent;	/* held again after READONLY */
	struct bcall	*prev, *next;
};

static void	conn_start(struct conn *);
static void	watch_cb(struct ev_loop *, ev_timer *, int);
static void	defer_cb(struct ev_loop *, ev_idle *, int);
static void	resolve_step(struct broker *);
static void	send_held(struct broker *);
static void	fail_held(struct broker *);
static void	held_cb(struct ev_loop *, ev_timer *, int);
static void	bcall_free(struct bcall *);

/*
 * The answer to AUTH or SELECT: a refusal is kept, and every command's
 * failure says it (the commands after it would only say NOAUTH).
 */
static void
on_setup(redisAsyncContext *ac, void *r, void *priv)
{
	struct broker	*b = ((struct conn *)ac->data)->b;
	redisReply	*rep = r;
	const char	*what = priv;

	if (rep == NULL || rep->type != REDIS_REPLY_ERROR || b->closing)
		return;
	if (strcmp(what, "AUTH") == 0 &&
	    strstr(rep->str, "without any password configured") != NULL) {
		/* Redis takes the commands anyway */
		log_warn("redis %s: a password was given, but this Redis has "
		    "none (%s)", b->where, rep->str);
		return;
	}
	if (strcmp(what, "AUTH") == 0)
		snprintf(b->setup_err, sizeof b->setup_err, "redis %s: Redis "
		    "refused the password (%s): check --redis-password-file "
		    "or the password in --redis-url", b->where, rep->str);
	else
		snprintf(b->setup_err, sizeof b->setup_err, "redis %s: Redis "
		    "refused database %d (%s): check the database number in "
		    "--redis-url", b->where, b->db, rep->str);
}

/* AUTH, if there is a password (to Redis, and to a sentinel: cb NULL). */
static void
auth(struct broker *b, redisAsyncContext *ac, redisCallbackFn *cb)
{
	if (b->password == NULL)
		return;
	if (b->user != NULL)
		redisAsyncCommand(ac, cb, "AUTH", "AUTH %s %s", b->user,
		    b->password);
	else
		redisAsyncCommand(ac, cb, "AUTH", "AUTH %s", b->password);
}

static void
auth_select(struct conn *c)
{
	struct broker	*b = c->b;
	char		 db[16];

	auth(b, c->ac, on_setup);
	if (!c->sub && b->db != 0) {
		snprintf(db, sizeof db, "%d", b->db);
		redisAsyncCommand(c->ac, on_setup, "SELECT", "SELECT %s", db);
	}
}

/*
 * A connect failed: the policy (retry.h) says when to try again; when it
 * gives up, those waiting for the connection fail at once with the cause,
 * and the connection is still tried again, at the longest interval.
 */
static void
connect_failed_as(struct conn *c, const char *cause, int cls)
{
	struct broker		*b = c->b;
	struct retry_facts	 f;
	struct retry_decision	 d;
	double			 now = ev_now(b->loop);

	if (c->fails++ == 0)
		c->down_since = now;
	if (b->sentinel)	/* the master may have moved: ask again */
		b->have_master = 0;
	snprintf(c->cause, sizeof c->cause, "%s", cause && *cause ? cause :
	    "cannot connect");
	c->cls = cls >= 0 ? (enum retry_class)cls : retry_class_of(c->cause);
	memset(&f, 0, sizeof f);
	f.changed = b->changed;
	f.cls = c->cls;
	f.attempts = c->fails;
	f.spent = now - c->down_since;
	f.left = -1;
	f.jitter = (double)random() / RAND_MAX;
	d = retry_decide(&f);
	if (d.wait < 0) {
		c->gave_up = 1;
		d.wait = 5;
		if (!c->sub)
			fail_held(b);
	}
	if (d.loud && !c->sub)
		log_warn("redis %s: cannot connect: %s; retrying in %.1fs "
		    "(attempt %d)", b->where, c->cause, d.wait, c->fails + 1);
	else
		log_debug("redis %s: connect failed: %s; retrying in %.1fs",
		    b->where, c->cause, d.wait);
	ev_timer_set(&c->retry, d.wait, 0.);
	if (!b->closing)
		ev_timer_start(b->loop, &c->retry);
}

static void
connect_failed(struct conn *c, const char *cause)
{
	char	buf[400];

	if (c->b->sentinel && c->b->host != NULL) {	/* name the master */
		snprintf(buf, sizeof buf, "master %s:%d: %s", c->b->host,
		    c->b->port, cause && *cause ? cause : "cannot connect");
		cause = buf;
	}
	connect_failed_as(c, cause, -1);
}

static void
on_pmessage(redisAsyncContext *ac, void *r, void *priv)
{
	struct broker	*b = priv;
	redisReply	*rep = r;

	(void)ac;
	if (rep == NULL || b->closing)
		return;
	if (rep->type == REDIS_REPLY_ERROR) {
		log_warn("redis %s: cannot subscribe to %s: %s", b->where,
		    b->pattern[0], rep->str);
		if (b->state_cb != NULL)
			b->state_cb(0, b->sub_arg);
		return;
	}
	if (rep->type != REDIS_REPLY_ARRAY)
		return;
	if (rep->elements == 4 && strcmp(rep->element[0]->str, "pmessage") == 0
	    && b->msg_cb != NULL)
		b->msg_cb(rep->element[2]->str, rep->element[3]->str,
		    rep->element[3]->len, b->sub_arg);
	else if (rep->elements == 3 &&
	    strcmp(rep->element[0]->str, "psubscribe") == 0 &&
	    rep->element[2]->type == REDIS_REPLY_INTEGER &&
	    rep->element[2]->integer == (long long)b->npatterns &&
	    b->state_cb != NULL)	/* the last pattern is subscribed */
		b->state_cb(1, b->sub_arg);
}

static void
psubscribe(struct conn *c)
{
	struct broker	*b = c->b;
	const char	*argv[1 + BROKER_MAX_PATTERNS] = { "PSUBSCRIBE" };
	size_t		 i;

	if (b->npatterns == 0)
		return;
	for (i = 0; i < b->npatterns; i++)
		argv[1 + i] = b->pattern[i];
	redisAsyncCommandArgv(c->ac, on_pmessage, b, 1 + (int)b->npatterns,
	    argv, NULL);
}

static void
conn_up(struct conn *c)
{
	c->up = 1;
	c->fails = 0;
	c->gave_up = 0;
	if (!c->sub) {
		c->b->ever_up = 1;
		c->b->conn_id++;
		send_held(c->b);
	}
}

/*
 * Through Sentinel, a node is used once ROLE says it is the master (a
 * sentinel may name the old one during a failover); an error reply (a
 * refused AUTH) is left to the commands to say, as without Sentinel.
 */
static void
on_role(redisAsyncContext *ac, void *r, void *priv)
{
	struct conn	*c = priv;
	struct broker	*b = c->b;
	redisReply	*rep = r;
	const char	*role = NULL;

	if (rep == NULL || b->closing || ac != c->ac)
		return;
	if (rep->type == REDIS_REPLY_ARRAY && rep->elements > 0 &&
	    rep->element[0]->type == REDIS_REPLY_STRING)
		role = rep->element[0]->str;
	if (rep->type == REDIS_REPLY_ERROR || sentinel_role_master(role)) {
		conn_up(c);
		if (c->sub)
			psubscribe(c);
		return;
	}
	snprintf(c->role_err, sizeof c->role_err, "%s:%d is a %s, not the "
	    "master (a failover under way?)", b->host, b->port,
	    role != NULL ? role : "node that does not say its role");
	log_debug("redis %s: %s", b->where, c->role_err);
	b->have_master = 0;
	/* the sentinel that named it may have missed a failover */
	b->last_good = sentinel_first(b->last_good, b->sl.n, 1);
	redisAsyncDisconnect(ac);	/* on_disconnect retries */
}

static void
on_connect(const redisAsyncContext *ac, int status)
{
	struct conn	*c = ac->data;
	struct broker	*b = c->b;

	if (status != REDIS_OK) {
		c->ac = NULL;	/* hiredis frees it */
		connect_failed(c, ac->errstr);
		return;
	}
	log_debug("redis %s: connected%s", b->where, c->sub ?
	    " (subscriber)" : "");
	if (!b->sentinel)	/* else once ROLE says master (on_role) */
		conn_up(c);
}

static void
on_disconnect(const redisAsyncContext *ac, int status)
{
	struct conn	*c = ac->data;
	struct broker	*b = c->b;

	(void)status;
	c->ac = NULL;
	if (b->closing)
		return;
	if (b->sentinel)	/* the master may have moved: ask again */
		b->have_master = 0;
	if (c->role_err[0] != '\0') {
		char cause[sizeof c->role_err];

		memcpy(cause, c->role_err, sizeof cause);
		c->role_err[0] = '\0';
		connect_failed_as(c, cause, RETRY_TRANSIENT);
		return;
	}
	if (c->up)
		log_warn("redis %s: connection lost%s; reconnecting", b->where,
		    c->sub ? " (events)" : "");
	c->up = 0;
	if (c->sub && b->state_cb != NULL)
		b->state_cb(0, b->sub_arg);
	ev_timer_set(&c->retry, 0.2, 0.);
	ev_timer_start(b->loop, &c->retry);
}

static void
retry_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct conn	*c = w->data;

	(void)loop;
	(void)revents;
	conn_start(c);
}

static void
conn_start(struct conn *c)
{
	struct broker	*b = c->b;

	char		 cause[160] = "";

	ev_timer_stop(b->loop, &c->retry);
	if (b->sentinel && !b->have_master) {	/* ask the sentinels first */
		c->want_master = 1;
		if (!b->resolving) {
			b->resolving = 1;
			memset(&b->round, 0, sizeof b->round);
			b->round.n = b->sl.n;
			b->round.first = sentinel_first(b->last_good,
			    b->sl.n, 0);
			resolve_step(b);
		}
		return;
	}
	b->setup_err[0] = '\0';
	c->role_err[0] = '\0';
	c->ac = redisAsyncConnect(b->host, b->port);
	if (c->ac == NULL || c->ac->err) {
		if (c->ac != NULL) {
			snprintf(cause, sizeof cause, "%s", c->ac->errstr);
			redisAsyncFree(c->ac);
		}
		c->ac = NULL;
		connect_failed(c, cause);
		return;
	}
	c->ac->data = c;
	c->started = ev_now(b->loop);
	if (!c->sub)
		ev_timer_start(b->loop, &b->watch);
	redisLibevAttach(b->loop, c->ac);
	redisAsyncSetConnectCallback(c->ac, on_connect);
	redisAsyncSetDisconnectCallback(c->ac, on_disconnect);
	auth_select(c);
	if (b->sentinel)
		redisAsyncCommand(c->ac, on_role, c, "ROLE");
	else if (c->sub)
		psubscribe(c);
}

/* ---- Sentinel: which master (sentinel.h decides) ---------------------- */

/* The sentinel asked said something: note it and take the next step. */
static void
ask_done(struct broker *b, enum sentinel_said said, const char *why)
{
	b->round.said[b->asking] = said;
	if (said == SENT_FAILED)
		snprintf(b->round.why[b->asking], sizeof b->round.why[0], "%s",
		    why != NULL && *why ? why : "connection lost");
	ev_timer_stop(b->loop, &b->ask_watch);
	resolve_step(b);
}

static void
on_sentinel_connect(const redisAsyncContext *ac, int status)
{
	struct broker	*b = ac->data;

	if (status == REDIS_OK || b->closing || ac != b->sac)
		return;
	b->sac = NULL;		/* hiredis frees it */
	ask_done(b, SENT_FAILED, ac->errstr);
}

static void
on_sentinel_disconnect(const redisAsyncContext *ac, int status)
{
	struct broker	*b = ac->data;

	(void)status;
	if (b->closing || ac != b->sac)
		return;
	b->sac = NULL;
	ask_done(b, SENT_FAILED, ac->errstr);
}

static void
on_sentinel_reply(redisAsyncContext *ac, void *r, void *priv)
{
	struct broker		*b = priv;
	redisReply		*rep = r;
	enum sentinel_reply_kind kind = SENT_REPLY_OTHER;
	enum sentinel_said	 said;
	const char		*s0 = NULL, *s1 = NULL;
	char			 why[160] = "";

	if (b->closing || ac != b->sac)
		return;
	b->sac = NULL;
	if (rep == NULL) {
		ask_done(b, SENT_FAILED, ac->errstr);
		return;
	}
	if (rep->type == REDIS_REPLY_NIL)
		kind = SENT_REPLY_NIL;
	else if (rep->type == REDIS_REPLY_ERROR) {
		kind = SENT_REPLY_ERROR;
		s0 = rep->str;
	} else if (rep->type == REDIS_REPLY_ARRAY && rep->elements == 2 &&
	    rep->element[0]->type == REDIS_REPLY_STRING &&
	    rep->element[1]->type == REDIS_REPLY_STRING) {
		kind = SENT_REPLY_PAIR;
		s0 = rep->element[0]->str;
		s1 = rep->element[1]->str;
	}
	said = sentinel_reply(kind, s0, s1, b->said_host, sizeof b->said_host,
	    &b->said_port, why, sizeof why);
	redisAsyncDisconnect(ac);	/* once this callback returns */
	ask_done(b, said, why);
}

static void
ask_watch_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct broker		*b = w->data;
	redisAsyncContext	*ac = b->sac;
	char			 why[80];

	(void)loop;
	(void)revents;
	b->sac = NULL;
	if (ac != NULL)
		redisAsyncFree(ac);	/* its callbacks see it is not b->sac */
	snprintf(why, sizeof why, "no answer within %gs", b->timeout);
	ask_done(b, SENT_FAILED, why);
}

static void
ask(struct broker *b, size_t i)
{
	const struct sentinel_addr	*a = &b->sl.s[i];
	redisAsyncContext		*ac;
	char				 why[160] = "cannot connect";

	b->asking = i;
	ac = redisAsyncConnect(a->host, a->port);
	if (ac == NULL || ac->err) {
		if (ac != NULL) {
			snprintf(why, sizeof why, "%s", ac->errstr);
			redisAsyncFree(ac);
		}
		ask_done(b, SENT_FAILED, why);
		return;
	}
	ac->data = b;
	b->sac = ac;
	redisLibevAttach(b->loop, ac);
	redisAsyncSetConnectCallback(ac, on_sentinel_connect);
	redisAsyncSetDisconnectCallback(ac, on_sentinel_disconnect);
	auth(b, ac, NULL);	/* a sentinel without a password refuses it */
	redisAsyncCommand(ac, on_sentinel_reply, b,
	    "SENTINEL get-master-addr-by-name %s", b->master);
	ev_timer_set(&b->ask_watch, b->timeout, 0.);
	ev_timer_start(b->loop, &b->ask_watch);
}

/* The round's next step: ask on, connect to the master named, or fail. */
static void
resolve_step(struct broker *b)
{
	struct sentinel_step	 st = sentinel_next(&b->round);
	struct conn		*cs[2] = { &b->cmd, &b->subc };
	const struct sentinel_addr *a = &b->sl.s[st.ask];
	char			 cause[1024];
	size_t			 i;

	if (st.move == SENT_ASK) {
		ask(b, st.ask);
		return;
	}
	b->resolving = 0;
	if (st.move == SENT_USE) {
		b->last_good = st.ask;
		if (b->host == NULL)
			log_info("redis %s: sentinel %s:%d names the master "
			    "%s:%d", b->where, a->host, a->port, b->said_host,
			    b->said_port);
		else if (strcmp(b->host, b->said_host) != 0 ||
		    b->port != b->said_port)
			log_warn("redis %s: the master moved from %s:%d to "
			    "%s:%d (sentinel %s:%d)", b->where, b->host,
			    b->port, b->said_host, b->said_port, a->host,
			    a->port);
		free(b->host);
		b->host = xstrdup(b->said_host);
		b->port = b->said_port;
		b->have_master = 1;
	} else
		sentinel_explain(&b->round, &b->sl, b->master, cause,
		    sizeof cause);
	for (i = 0; i < 2; i++) {
		if (!cs[i]->want_master)
			continue;
		cs[i]->want_master = 0;
		if (st.move == SENT_USE)
			conn_start(cs[i]);
		else
			connect_failed_as(cs[i], cause, st.cls);
	}
}

/* A command met a replica (READONLY): reconnect both, asking again. */
static void
moved_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct broker	*b = w->data;

	(void)loop;
	(void)revents;
	if (b->cmd.ac != NULL)
		redisAsyncDisconnect(b->cmd.ac);
	if (b->subc.ac != NULL)
		redisAsyncDisconnect(b->subc.ac);
}

static int
parse_url(struct broker *b, const char *url, char *err, size_t errlen)
{
	CURLU	*u = curl_url();
	char	*scheme = NULL, *host = NULL, *port = NULL, *path = NULL;
	char	*user = NULL, *pass = NULL, *end;
	long	 v;
	int	 rc = -1;

	if (curl_url_set(u, CURLUPART_URL, url, CURLU_NON_SUPPORT_SCHEME) !=
	    CURLUE_OK) {
		snprintf(err, errlen, "invalid Redis URL (expected "
		    "redis://[:password@]host:port/db)");
		goto out;
	}
	curl_url_get(u, CURLUPART_SCHEME, &scheme, 0);
	curl_url_get(u, CURLUPART_HOST, &host, 0);
	curl_url_get(u, CURLUPART_PORT, &port, 0);
	curl_url_get(u, CURLUPART_PATH, &path, 0);
	curl_url_get(u, CURLUPART_USER, &user, CURLU_URLDECODE);
	curl_url_get(u, CURLUPART_PASSWORD, &pass, CURLU_URLDECODE);
	if (scheme != NULL && strcmp(scheme, "rediss") == 0) {
		snprintf(err, errlen, "%s", BROKER_NO_TLS);
		goto out;
	}
	if (scheme == NULL || strcmp(scheme, "redis") != 0) {
		snprintf(err, errlen, "Redis URL must start with redis:// "
		    "(or be a list of sentinel:// URLs)");
		goto out;
	}
	if (host == NULL || *host == '\0') {
		snprintf(err, errlen, "Redis URL has no host");
		goto out;
	}
	b->host = xstrdup(host);
	if (b->host[0] == '[') {	/* IPv6 literal */
		memmove(b->host, b->host + 1, strlen(b->host));
		b->host[strcspn(b->host, "]")] = '\0';
	}
	b->port = port ? atoi(port) : 6379;
	b->db = 0;
	if (path != NULL && strcmp(path, "/") != 0 && *path != '\0') {
		v = strtol(path + 1, &end, 10);
		if (*end != '\0' || v < 0 || v > 1000000) {
			snprintf(err, errlen, "Redis URL database \"%s\" is not "
			    "a number", path + 1);
			goto out;
		}
		b->db = (int)v;
	}
	if (user != NULL && *user != '\0')
		b->user = xstrdup(user);
	if (pass != NULL && *pass != '\0')
		b->password = xstrdup(pass);
	snprintf(b->where, sizeof b->where, "%s:%d/%d", b->host, b->port, b->db);
	rc = 0;
out:
	curl_free(scheme);
	curl_free(host);
	curl_free(port);
	curl_free(path);
	curl_free(user);
	if (pass != NULL)
		explicit_bzero(pass, strlen(pass));
	curl_free(pass);
	curl_url_cleanup(u);
	return rc;
}

/* A list of sentinel:// URLs (sentinel.h) and the master's name. */
static int
parse_sentinel(struct broker *b, const char *master, char *err, size_t errlen)
{
	if (master == NULL || *master == '\0') {
		snprintf(err, errlen, "the Redis URL names sentinels, but not "
		    "the master to ask them for: give --sentinel-master NAME "
		    "(DRAIN_SENTINEL_MASTER; the workers' "
		    "broker_transport_options master_name)");
		return -1;
	}
	b->sentinel = 1;
	b->master = xstrdup(master);
	b->db = b->sl.db;
	if (b->sl.user[0] != '\0')
		b->user = xstrdup(b->sl.user);
	if (b->sl.password[0] != '\0')
		b->password = xstrdup(b->sl.password);
	explicit_bzero(b->sl.password, sizeof b->sl.password);
	snprintf(b->where, sizeof b->where, "sentinel:%s/%d", master, b->db);
	return 0;
}

struct broker *
broker_new(struct ev_loop *loop, const char *url, const char *password,
    const char *master, char *err, size_t errlen)
{
	struct broker	*b = xcalloc(1, sizeof *b);
	int		 s;

	b->loop = loop;
	s = sentinel_parse(url, &b->sl, err, errlen);
	if (s == 0 && parse_url(b, url, err, errlen) == -1)
		s = -1;
	if (s == 0 && master != NULL && *master != '\0') {
		snprintf(err, errlen, "--sentinel-master is for a Redis reached "
		    "through Sentinel: give --redis-url as sentinel://host:26379"
		    "[;sentinel://host2:26379], or no --sentinel-master");
		s = -1;
	}
	if (s == -1 || (s == 1 && parse_sentinel(b, master, err, errlen) ==
	    -1)) {
		free(b->host);
		free(b->user);
		free(b->password);
		free(b->master);
		free(b);
		return NULL;
	}
	if (password != NULL) {
		free(b->password);
		b->password = xstrdup(password);
	}
	b->cmd.b = b;
	b->subc.b = b;
	b->subc.sub = 1;
	ev_timer_init(&b->cmd.retry, retry_cb, 0.2, 0.);
	b->cmd.retry.data = &b->cmd;
	ev_timer_init(&b->subc.retry, retry_cb, 0.2, 0.);
	b->subc.retry.data = &b->subc;
	b->timeout = 10;
	ev_timer_init(&b->watch, watch_cb, 0.1, 0.1);
	b->watch.data = b;
	ev_idle_init(&b->defer, defer_cb);
	b->defer.data = b;
	ev_timer_init(&b->ask_watch, ask_watch_cb, 1., 0.);
	ev_timer_init(&b->moved, moved_cb, 0., 0.);
	ev_timer_init(&b->held_watch, held_cb, 0.1, 0.1);
	b->ask_watch.data = b->moved.data = b->held_watch.data = b;
	conn_start(&b->cmd);
	return b;
}

void
broker_free(struct broker *b)
{
	size_t	i;

	if (b == NULL)
		return;
	b->closing = 1;
	ev_timer_stop(b->loop, &b->cmd.retry);
	ev_timer_stop(b->loop, &b->subc.retry);
	ev_timer_stop(b->loop, &b->watch);
	ev_idle_stop(b->loop, &b->defer);
	ev_timer_stop(b->loop, &b->ask_watch);
	ev_timer_stop(b->loop, &b->moved);
	ev_timer_stop(b->loop, &b->held_watch);
	while (b->held != NULL) {	/* their owners are gone */
		struct bcall *c = b->held;
		b->held = c->next;
		bcall_free(c);
	}
	if (b->sac != NULL) {
		redisAsyncContext *ac = b->sac;

		b->sac = NULL;
		redisAsyncFree(ac);
	}
	while (b->failed != NULL) {	/* their owners are gone */
		struct bcall *c = b->failed;
		b->failed = c->next;
		bcall_free(c);
	}
	if (b->cmd.ac != NULL)
		redisAsyncFree(b->cmd.ac);
	if (b->subc.ac != NULL)
		redisAsyncFree(b->subc.ac);
	free(b->host);
	free(b->user);
	if (b->password != NULL)
		explicit_bzero(b->password, strlen(b->password));
	free(b->password);
	for (i = 0; i < b->npatterns; i++)
		free(b->pattern[i]);
	free(b->master);
	free(b);
}

int
broker_sentinel(const struct broker *b)
{
	return b->sentinel;
}

unsigned long
broker_conn_id(const struct broker *b)
{
	return b->conn_id;
}

double
broker_timeout(const struct broker *b)
{
	return b->timeout;
}

int
broker_db(const struct broker *b)
{
	return b->db;
}

const char *
broker_where(const struct broker *b)
{
	return b->where;
}

void
broker_set_changed(struct broker *b, int changed)
{
	b->changed = changed;
}

int
broker_up(const struct broker *b)
{
	return b->cmd.up;
}

unsigned long
broker_count(const struct broker *b)
{
	return b->count;
}

static void	hold(struct broker *, struct bcall *);

static void
bcall_free(struct bcall *c)
{
	if (c->cmd != NULL)
		redisFreeCommand(c->cmd);
	free(c);
}

static void
on_reply(redisAsyncContext *ac, void *r, void *priv)
{
	struct bcall	*c = priv;
	redisReply	*rep = r;
	struct broker	*b = c->b;
	char		 err[300];

	if (c->prev != NULL)
		c->prev->next = c->next;
	else if (b->head == c)
		b->head = c->next;
	if (c->next != NULL)
		c->next->prev = c->prev;
	else if (b->tail == c)
		b->tail = c->prev;
	if (!c->b->closing && c->cb != NULL) {
		if (rep == NULL && b->timed_out) {
			snprintf(err, sizeof err, "redis %s: no answer within "
			    "%gs (--request-timeout)", b->where, b->timeout);
			c->cb(NULL, err, c->arg);
		} else if (rep == NULL) {
			snprintf(err, sizeof err, "redis %s: %s", c->b->where,
			    ac->errstr[0] ? ac->errstr : "connection lost");
			c->cb(NULL, err, c->arg);
		} else if (rep->type == REDIS_REPLY_ERROR &&
		    b->setup_err[0] != '\0')
			c->cb(NULL, b->setup_err, c->arg);
		else if (rep->type == REDIS_REPLY_ERROR && b->sentinel &&
		    sentinel_moved(rep->str)) {
			/* the master became a replica: find the new one */
			if (!ev_is_active(&b->moved))
				log_warn("redis %s: %s:%d is no longer the master "
				    "(%s); asking the sentinels again", b->where,
				    b->host, b->port, rep->str);
			b->have_master = 0;
			ev_timer_start(b->loop, &b->moved);
			if (!c->resent) {	/* not done: send it there */
				c->resent = 1;
				hold(b, c);
				return;
			}
			snprintf(err, sizeof err, "redis %s: %s", c->b->where,
			    rep->str);
			c->cb(NULL, err, c->arg);
		} else if (rep->type == REDIS_REPLY_ERROR &&
		    strncmp(rep->str, "NOAUTH", 6) == 0 && b->password == NULL) {
			snprintf(err, sizeof err, "redis %s: %s: this Redis "
			    "requires a password: give it with "
			    "--redis-password-file", c->b->where, rep->str);
			c->cb(NULL, err, c->arg);
		} else if (rep->type == REDIS_REPLY_ERROR) {
			snprintf(err, sizeof err, "redis %s: %s", c->b->where,
			    rep->str);
			c->cb(NULL, err, c->arg);
		} else
			c->cb(rep, NULL, c->arg);
	}
	bcall_free(c);
}

static struct bcall *
bcall_new(struct broker *b, broker_reply_cb *cb, void *arg)
{
	struct bcall	*c = xcalloc(1, sizeof *c);

	c->b = b;
	c->cb = cb;
	c->arg = arg;
	b->count++;
	return c;
}

/* Track a command sent: the watch timer bounds its wait. */
static void
sent(struct broker *b, struct bcall *c)
{
	c->sent = ev_now(b->loop);
	c->prev = b->tail;
	if (b->tail != NULL)
		b->tail->next = c;
	else
		b->head = c;
	b->tail = c;
	ev_timer_start(b->loop, &b->watch);
}

/* Callbacks of failed commands run on the loop, never inside the call. */
static void
defer_cb(struct ev_loop *loop, ev_idle *w, int revents)
{
	struct broker	*b = w->data;
	struct bcall	*c;
	char		 err[1024];

	(void)revents;
	snprintf(err, sizeof err, "redis %s: not connected%s%s", b->where,
	    b->cmd.fails ? ": " : "", b->cmd.fails ? b->cmd.cause : "");
	while ((c = b->failed) != NULL) {
		b->failed = c->next;
		if (c->cb != NULL)
			c->cb(NULL, err, c->arg);
		bcall_free(c);
	}
	ev_idle_stop(loop, w);
}

static void
fail_now(struct broker *b, struct bcall *c)
{
	struct bcall	**pp = &b->failed;

	c->next = NULL;
	while (*pp != NULL)
		pp = &(*pp)->next;
	*pp = c;
	ev_idle_start(b->loop, &b->defer);
}

/*
 * A command is sent at once when connected. While the connection is being
 * made again (it was up before, and the retry policy has not given up: a
 * Redis restarting, a Sentinel failover) it is held, and sent once
 * connected, up to the timeout; otherwise it fails on the loop. A command
 * already sent when the connection was lost is not sent again (it may
 * have been done), but one a replica refused (READONLY) is, once.
 */
static void
dispatch(struct broker *b, struct bcall *c)
{
	c->prev = c->next = NULL;
	if (b->cmd.ac != NULL && b->cmd.up &&
	    redisAsyncFormattedCommand(b->cmd.ac, on_reply, c, c->cmd, c->len)
	    == REDIS_OK)
		sent(b, c);
	else if (b->ever_up && !b->cmd.gave_up && !b->closing)
		hold(b, c);	/* also while a connection is being closed */
	else
		fail_now(b, c);
}

static void
hold(struct broker *b, struct bcall *c)
{
	struct bcall	**pp = &b->held;

	c->prev = c->next = NULL;
	c->sent = ev_now(b->loop);
	while (*pp != NULL)
		pp = &(*pp)->next;
	*pp = c;
	if (!ev_is_active(&b->held_watch))
		ev_timer_start(b->loop, &b->held_watch);
}

static void
send_held(struct broker *b)
{
	struct bcall	*c, *next;

	c = b->held;
	b->held = NULL;
	ev_timer_stop(b->loop, &b->held_watch);
	for (; c != NULL; c = next) {
		next = c->next;
		dispatch(b, c);
	}
}

static void
fail_held(struct broker *b)
{
	struct bcall	*c;

	while ((c = b->held) != NULL) {
		b->held = c->next;
		fail_now(b, c);
	}
	ev_timer_stop(b->loop, &b->held_watch);
}

/* A command held longer than the timeout fails. */
static void
held_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct broker	*b = w->data;
	struct bcall	**pp = &b->held, *c;

	(void)revents;
	while ((c = *pp) != NULL) {
		if (ev_now(loop) - c->sent >= b->timeout) {
			*pp = c->next;
			fail_now(b, c);
		} else
			pp = &c->next;
	}
	if (b->held == NULL)
		ev_timer_stop(loop, w);
}

/*
 * No command waits longer than the timeout: past it, the connection is cut
 * (each pending command fails, naming the timeout) and made again. The
 * connect is bounded the same way.
 */
static void
watch_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct broker	*b = w->data;
	struct conn	*c = &b->cmd;
	redisAsyncContext *ac = c->ac;
	double		 now = ev_now(loop);

	(void)revents;
	if (ac == NULL || (b->head == NULL && c->up)) {
		ev_timer_stop(loop, w);
		return;
	}
	if ((b->head != NULL && now - b->head->sent >= b->timeout) ||
	    (!c->up && now - c->started >= b->timeout)) {
		int connecting = !c->up;
		char cause[160];

		log_warn("redis %s: no answer within %gs; reconnecting",
		    b->where, b->timeout);
		b->timed_out = 1;
		c->ac = NULL;
		c->up = 0;
		redisAsyncFree(ac);	/* pending callbacks get NULL */
		b->timed_out = 0;
		c->ac = NULL;
		c->up = 0;
		ev_timer_stop(loop, w);
		if (b->closing)
			return;
		snprintf(cause, sizeof cause, "no answer to the connect "
		    "within %gs", b->timeout);
		if (connecting)
			connect_failed(c, cause);
		else {
			ev_timer_set(&c->retry, 0.2, 0.);
			ev_timer_start(loop, &c->retry);
		}
	}
}

void
broker_set_timeout(struct broker *b, double seconds)
{
	b->timeout = seconds > 0 ? seconds : 10;
}

void
broker_vcommand(struct broker *b, broker_reply_cb *cb, void *arg,
    const char *fmt, va_list ap)
{
	struct bcall	*c = bcall_new(b, cb, arg);
	int		 len = redisvFormatCommand(&c->cmd, fmt, ap);

	if (len < 0) {
		c->cmd = NULL;
		fail_now(b, c);
		return;
	}
	c->len = (size_t)len;
	dispatch(b, c);
}

void
broker_command(struct broker *b, broker_reply_cb *cb, void *arg,
    const char *fmt, ...)
{
	va_list	ap;

	va_start(ap, fmt);
	broker_vcommand(b, cb, arg, fmt, ap);
	va_end(ap);
}

void
broker_command_argv(struct broker *b, broker_reply_cb *cb, void *arg, int argc,
    const char **argv, const size_t *lens)
{
	struct bcall	*c = bcall_new(b, cb, arg);
	int		 len = redisFormatCommandArgv(&c->cmd, argc, argv, lens);

	if (len < 0) {
		c->cmd = NULL;
		fail_now(b, c);
		return;
	}
	c->len = (size_t)len;
	dispatch(b, c);
}

struct readyw {
	struct broker	*b;
	broker_reply_cb	*cb;
	void		*arg;
	ev_timer	 poll;
	double		 until;
};

static void
ready_poll(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct readyw	*r = w->data;
	char		 err[1024];

	(void)revents;
	if (r->b->cmd.up) {
		ev_timer_stop(loop, w);
		broker_command(r->b, r->cb, r->arg, "PING");
		free(r);
		return;
	}
	if (ev_now(loop) >= r->until || r->b->cmd.gave_up) {
		ev_timer_stop(loop, w);
		if (r->b->sentinel)
			snprintf(err, sizeof err, "redis %s: cannot connect: "
			    "%s", r->b->where, r->b->cmd.fails ?
			    r->b->cmd.cause : "no answer");
		else
			snprintf(err, sizeof err, "redis %s: cannot connect: %s "
			    "(is 'oc port-forward svc/redis %d' running? check "
			    "--redis-url)", r->b->where, r->b->cmd.fails ?
			    r->b->cmd.cause : "no answer", r->b->port);
		r->cb(NULL, err, r->arg);
		free(r);
	}
}

void
broker_ready(struct broker *b, double timeout, broker_reply_cb *cb, void *arg)
{
	struct readyw	*r = xcalloc(1, sizeof *r);

	r->b = b;
	r->cb = cb;
	r->arg = arg;
	r->until = ev_now(b->loop) + timeout;
	ev_timer_init(&r->poll, ready_poll, 0., 0.02);
	r->poll.data = r;
	ev_timer_start(b->loop, &r->poll);
}

void
broker_psubscribe(struct broker *b, const char **patterns, size_t n,
    broker_msg_cb *mcb, broker_sub_state_cb *scb, void *arg)
{
	size_t	i;

	for (i = 0; i < b->npatterns; i++)
		free(b->pattern[i]);
	b->npatterns = n < BROKER_MAX_PATTERNS ? n : BROKER_MAX_PATTERNS;
	for (i = 0; i < b->npatterns; i++)
		b->pattern[i] = xstrdup(patterns[i]);
	b->msg_cb = mcb;
	b->state_cb = scb;
	b->sub_arg = arg;
	if (b->subc.ac == NULL)
		conn_start(&b->subc);
}
