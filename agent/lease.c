/*
 * lease.c -- LOCK: the per-deployment lease and journal in the broker's
 * Redis (key names in run.h).
 *
 * The lease is SET key token NX PX ttl, renewed every ttl/3 by a script that
 * extends it only while it still holds our token, and released by a
 * compare-and-delete script: a run never removes another run's lease.
 *
 * The lease is the authority. Every write a run makes to it and the journal
 * (journal HSET/DEL, the history entry) is one script that first checks the
 * token. A renewal or write that finds another token, or a lease TTL that
 * passes without a successful renewal (counted from when the last
 * successful one was sent), stops the run at once: IN_LOST, no cancel, no
 * PATCH, no add-consumer, no journal change. Before each action the run
 * checks that the lease is still valid (lease_check).
 *
 * The journal is written ahead of each action (journal_write with then):
 * the record naming the queues to cancel, the restartedAt annotation and
 * the old pods is acknowledged by Redis before the cancel or the PATCH is
 * sent, so a run killed at any point leaves what --recover needs.
 *
 * A lease can vanish with the journal (Redis restarted empty) or run out
 * while Redis does not answer. The run then acts no more (lease_check()
 * holds each action back as an operation of its state) and takes the lease
 * again with the same token, rewriting the journal from its memory in the
 * same script; once Redis acknowledged both it goes on (lease_resume()).
 * Another holder, or no regain within --lease-ttl, stops it
 * (lease_verdict(), include/lease.h). A run that stops so names the
 * command that gives its drained workers their queues back.
 *
 * The lease's timers live here: renewal every ttl/3 (while regaining, a
 * retry every REGAIN_EVERY seconds) and expiry (while regaining, the
 * deadline to regain by).
 */
#include <hiredis/hiredis.h>
#include <jansson.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "broker.h"
#include "cmd.h"
#include "imgcheck.h"
#include "lease.h"
#include "report.h"
#include "runpriv.h"

/* The journal's lifetime in Redis (seconds), refreshed on every write. */
#define JOURNAL_TTL	"604800"
/* While regaining a lease: seconds between attempts. */
#define REGAIN_EVERY	0.5

/*
 * KEYS lease, journal; ARGV token, ttl (ms), the journal's generation the
 * run last wrote ("" none yet): 1 if renewed; 2 if the lease is ours but
 * the journal is not that one (an older copy of the keys: renewed, but
 * to be written again); else who holds the lease now ("" nobody).
 */
static const char *renew_lua =
    "local v = redis.call('GET', KEYS[1])\n"
    "if v ~= ARGV[1] then return v or '' end\n"
    "if ARGV[3] ~= '' and redis.call('HGET', KEYS[2], 'gen') ~= ARGV[3]"
    " then return 2 end\n"
    "return redis.call('PEXPIRE', KEYS[1], ARGV[2])\n";

/*
 * KEYS lease, journal; ARGV token, lease ttl (ms), field, value...: 1, or
 * the holder.
 */
static const char *journal_lua =
    "local v = redis.call('GET', KEYS[1])\n"
    "if v ~= ARGV[1] then return v or '' end\n"
    "redis.call('HSET', KEYS[2], unpack(ARGV, 3))\n"
    "redis.call('EXPIRE', KEYS[2], " JOURNAL_TTL ")\n"
    "return 1\n";

/*
 * The same, taking the lease first if no key holds it (SET NX with the
 * run's own token): a lease that vanished is regained with the journal.
 */
static const char *regain_lua =
    "local v = redis.call('GET', KEYS[1])\n"
    "if v and v ~= ARGV[1] then return v end\n"
    "redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])\n"
    "redis.call('HSET', KEYS[2], unpack(ARGV, 3))\n"
    "redis.call('EXPIRE', KEYS[2], " JOURNAL_TTL ")\n"
    "return 1\n";

/*
 * KEYS lease, journal, history; ARGV token, what to do with the journal
 * (del, drained, keep), history field, value...: 1, or the holder.
 */
static const char *release_lua =
    "local v = redis.call('GET', KEYS[1])\n"
    "if v ~= ARGV[1] then return v or '' end\n"
    "redis.call('XADD', KEYS[3], 'MAXLEN', '~', '1000', '*',"
    " unpack(ARGV, 3))\n"
    "if ARGV[2] == 'del' then redis.call('DEL', KEYS[2])\n"
    "elseif ARGV[2] == 'drained' then\n"
    "  redis.call('HSET', KEYS[2], 'state', 'drained')\n"
    "  redis.call('EXPIRE', KEYS[2], " JOURNAL_TTL ")\n"
    "end\n"
    "return redis.call('DEL', KEYS[1])\n";

/* A lease taken by a run that moved on before the answer: give it back. */
static const char *drop_lua =
    "if redis.call('GET', KEYS[1]) == ARGV[1] then\n"
    "  return redis.call('DEL', KEYS[1])\n"
    "end\n"
    "return 0\n";

enum lease_verdict
lease_verdict(const char *token, const char *seen, int journal_ok,
    double now, double lost_since, double ttl)
{
	int	ours = seen != NULL && strcmp(seen, token) == 0;

	if (ours && journal_ok)
		return LEASE_KEEP;
	if (!ours && seen != NULL && seen[0] != '\0')
		return LEASE_STOP_HELD;
	if (lost_since > 0 && now >= lost_since + ttl)
		return LEASE_STOP_LATE;
	return LEASE_REGAIN;
}

enum lease_resume
lease_resume(enum fsm_state st, int waited)
{
	if (st == ST_DRAIN || (st == ST_RESTART && waited))
		return LEASE_RESUME_DRAIN;
	return waited && st != ST_END ? LEASE_RESUME_REDO : LEASE_RESUME_NONE;
}

char *
lease_key(struct ctx *c, const char *dep)
{
	return xasprintf("drain-and-rollout:lease:%s:%s", c->kube.ns, dep);
}

char *
journal_key(struct ctx *c, const char *dep)
{
	return xasprintf("drain-and-rollout:journal:%s:%s", c->kube.ns, dep);
}

static char *
new_token(struct ctx *c)
{
	unsigned char	rnd[12];
	char		hex[25];
	int		i;

	if (RAND_bytes(rnd, sizeof rnd) != 1)
		memset(rnd, 0, sizeof rnd);
	for (i = 0; i < 12; i++)
		snprintf(hex + 2 * i, 3, "%02x", rnd[i]);
	return xasprintf("%s:%.0f:%s", c->holder, now_wall(), hex);
}

struct take {
	struct op	*op;
	void		(*then)(struct run *, int);
	char		*token;		/* the token this SET NX sent */
	double		 sent;		/* ev_now it was sent */
};

static void	bg_done(redisReply *, const char *, void *);

/* Give the lease back if token still holds it (no history entry). */
static void
lease_drop(struct run *r, const char *token)
{
	struct ctx	*c = r->ctx;
	char		*k = lease_key(c, r->name);

	c->ops++;
	broker_command(c->broker, bg_done, c, "EVAL %s 1 %s %s", drop_lua, k,
	    token);
	free(k);
}

static void	lease_vanished(struct run *, const char *seen, int journal_ok,
		    double now);
static void	regain_send(struct run *);
static void	lease_renew(struct run *);

/* ---- the lease's timers ---------------------------------------------- */

static void
renew_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct run	*r = w->data;

	(void)loop;
	(void)revents;
	if (r->lease_lost_since > 0)
		regain_send(r);
	else
		lease_renew(r);
}

/*
 * No successful renewal within the lease's time: it may be gone, take it
 * again. While regaining: the time to regain it is up.
 */
static void
expiry_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct run	*r = w->data;

	(void)revents;
	lease_vanished(r, NULL, 1, r->lease_lost_since > 0 ?
	    r->lease_lost_since + r->ctx->o->lease_ttl : ev_now(loop));
}

/* Set up on the first take (a run that never takes one has them idle). */
static void
timers_init(struct run *r)
{
	if (ev_cb(&r->lease_timer) == renew_cb)
		return;
	ev_timer_init(&r->lease_timer, renew_cb, 1., 1.);
	r->lease_timer.data = r;
	ev_timer_init(&r->lease_expiry, expiry_cb, 1., 0.);
	r->lease_expiry.data = r;
}

static void
timer_at(struct run *r, ev_timer *t, double after, double every)
{
	ev_timer_stop(r->ctx->loop, t);
	ev_timer_set(t, after > 0 ? after : 0., every);
	ev_timer_start(r->ctx->loop, t);
}

/* The lease holds until sent + ttl unless renewed: arm the expiry. */
static void
lease_valid(struct run *r, double sent)
{
	struct ctx	*c = r->ctx;

	r->lease_until = sent + c->o->lease_ttl;
	timer_at(r, &r->lease_expiry, r->lease_until - ev_now(c->loop), 0.);
}

/* "host:pid" of a lease token "host:pid:time:random". */
static void
holder_of(const char *token, char *out, size_t len)
{
	const char	*p;
	int		 n = 0;

	snprintf(out, len, "%s", token);
	for (p = token + strlen(token); p > token; p--)
		if (*(p - 1) == ':' && ++n == 2) {
			snprintf(out, len, "%.*s", (int)(p - 1 - token), token);
			break;
		}
}

/* An action held back by a regain is no longer waited for. */
static void
unwait(struct run *r)
{
	struct op	*o = r->lease_wait_op;

	r->lease_wait_op = NULL;
	if (o != NULL)
		(void)op_done(o, NULL, NULL);
}

/*
 * The workers this run cancelled and did not give back: the command that
 * gives them their queues back (a journal may be gone with the lease, so
 * --recover may have nothing to work from).
 */
static void
undrain_hint(struct run *r)
{
	struct strv	 names = { 0 }, qs = { 0 };
	size_t		 i, j;
	char		*n, *cmd;

	for (i = 0; i < r->nw; i++) {
		struct wk *w = &r->w[i];
		if (w->gone || w->cancelled.n == 0)
			continue;
		strv_add(&names, w->name);
		for (j = 0; j < w->cancelled.n; j++)
			if (!strv_has(&qs, w->cancelled.v[j]))
				strv_add(&qs, w->cancelled.v[j]);
	}
	if (names.n > 0) {
		n = strv_join(&names, ", ");
		cmd = run_undrain_command(r, &qs);
		log_err("%s: worker(s) %s may be left without consumers%s; once "
		    "no other run holds the lease, give them their queues back "
		    "with: %s", r->name, n, r->restart_sent ? " (unless the "
		    "rollout replaced them)" : "", cmd);
		free(cmd);
		free(n);
	}
	strv_free(&names);
	strv_free(&qs);
}

/* The lease is gone for good (holder: who holds it now, NULL not regained). */
void
lease_lost(struct run *r, const char *holder)
{
	struct ctx	*c = r->ctx;
	char		 h[256], why[300];

	if (r->fsm.state == ST_END)
		return;
	r->lease_held = 0;
	r->lease_lost_since = 0;
	unwait(r);
	ev_timer_stop(c->loop, &r->lease_timer);
	ev_timer_stop(c->loop, &r->lease_expiry);
	if (holder == NULL || holder[0] == '\0')
		snprintf(why, sizeof why, "not held, and not taken again within "
		    "--lease-ttl: Redis did not answer; who holds it now is "
		    "unknown");
	else {
		holder_of(holder, h, sizeof h);
		snprintf(why, sizeof why, "now held by %s", h);
	}
	if (r->err[0] != '\0')
		log_err("%s: %s", r->name, r->err);
	snprintf(r->err, sizeof r->err, "lost the lease of deployment %s (%s);"
	    " stopped at once", r->name, why);
	undrain_hint(r);
	run_next(r, IN_LOST);
}

/*
 * Redis says the lease is not ours (seen: the holder's token, "" none),
 * or ours with a journal not the last we wrote (journal_ok 0), or did not
 * answer in time (NULL): regain it, or stop (lease_verdict()).
 */
static void
lease_vanished(struct run *r, const char *seen, int journal_ok, double now)
{
	struct ctx	*c = r->ctx;

	if (r->fsm.state == ST_END || r->lease_token == NULL)
		return;
	switch (lease_verdict(r->lease_token, seen, journal_ok, now,
	    r->lease_lost_since, c->o->lease_ttl)) {
	case LEASE_KEEP:
		return;
	case LEASE_STOP_HELD:
		lease_lost(r, seen);
		return;
	case LEASE_STOP_LATE:
		lease_lost(r, NULL);
		return;
	case LEASE_REGAIN:
		break;
	}
	if (r->lease_lost_since > 0)
		return;			/* already regaining */
	r->lease_held = 0;
	r->lease_lost_since = now;
	r->lease_attempts = 0;
	log_warn("%s: the lease %s; acting no more until it is taken again, "
	    "with the journal rewritten (for up to %.0fs)", r->name,
	    !journal_ok ? "is ours but the journal is not the one this run "
	    "wrote last (the broker's Redis failed over to a replica with an "
	    "older copy?)" : seen != NULL ? "is gone (the broker's Redis "
	    "restarted without its data?)" : "was not renewed in time (Redis "
	    "does not answer)", c->o->lease_ttl);
	timer_at(r, &r->lease_expiry, now + c->o->lease_ttl - ev_now(c->loop),
	    0.);
	timer_at(r, &r->lease_timer, 0., REGAIN_EVERY);
}

int
lease_check(struct run *r)
{
	if (r->mode == RUN_UNDRAIN && r->lease_token == NULL)
		return 1;
	if (r->lease_held && ev_now(r->ctx->loop) < r->lease_until)
		return 1;
	if (r->lease_held)
		lease_vanished(r, NULL, 1, ev_now(r->ctx->loop));
	if (r->lease_lost_since > 0 && r->fsm.state != ST_END) {
		/* the state waits: it enters again once the lease is back */
		if (r->lease_wait_op != NULL && r->lease_wait_op->gen != r->gen)
			unwait(r);
		if (r->lease_wait_op == NULL)
			r->lease_wait_op = op_new(r, 0, 0);
		return 0;
	}
	lease_lost(r, NULL);
	return 0;
}

/* KEYS lease, journal: {the lease's token or "", the journal's fields}. */
static const char *holder_lua =
    "return {redis.call('GET', KEYS[1]) or '', "
    "redis.call('HGETALL', KEYS[2])}\n";

/*
 * Who holds the lease: its token names the holder ("host:pid"), even before
 * that run has written its journal; the journal's state and start are
 * shown when the journal is that holder's.
 */
static void
holder_read(redisReply *rep, const char *err, void *arg)
{
	struct take	*t = arg;
	struct run	*r = op_done(t->op, NULL, NULL);
	void		(*then)(struct run *, int) = t->then;
	const char	*h = NULL, *st = NULL, *since = NULL, *jh = NULL;
	char		 ts[32], lh[256];
	redisReply	*j = NULL;
	size_t		 i;

	free(t->token);
	free(t);
	if (r == NULL)
		return;
	if (rep != NULL && rep->type == REDIS_REPLY_ARRAY &&
	    rep->elements == 2 && rep->element[1]->type == REDIS_REPLY_ARRAY) {
		if (rep->element[0]->type == REDIS_REPLY_STRING &&
		    rep->element[0]->str[0] != '\0') {
			holder_of(rep->element[0]->str, lh, sizeof lh);
			h = lh;
		}
		j = rep->element[1];
	}
	for (i = 0; j != NULL && i + 1 < j->elements; i += 2) {
		const char *k = j->element[i]->str, *v = j->element[i + 1]->str;
		if (k == NULL || v == NULL)
			continue;
		if (strcmp(k, "holder") == 0)
			jh = v;
		else if (strcmp(k, "state") == 0)
			st = v;
		else if (strcmp(k, "started") == 0)
			since = v;
	}
	if (h == NULL)
		h = jh;
	else if (jh == NULL || strcmp(jh, h) != 0)
		st = since = NULL;	/* a journal left by another run */
	run_fail(r, "deployment %s is being handled by another run (holder %s,"
	    " state %s, since %s); wait for it, or see --status", r->name,
	    h ? h : "unknown", st ? st : "unknown",
	    since ? rfc3339(atof(since), ts, sizeof ts) : "unknown");
	(void)err;
	then(r, 0);
}

static void
lease_taken(redisReply *rep, const char *err, void *arg)
{
	struct take	*t = arg;
	struct run	*owner = t->op->r;
	struct run	*r = op_done(t->op, NULL, NULL);
	char		*jk, *lk;

	if (r == NULL || r->fsm.state == ST_END) {
		/* taken for a run that moved on meanwhile: give it back */
		if (rep != NULL && rep->type == REDIS_REPLY_STATUS)
			lease_drop(owner, t->token);
		free(t->token);
		free(t);
		return;
	}
	if (rep == NULL) {
		free(r->lease_token);
		r->lease_token = NULL;
		run_fail(r, "cannot take the lease: %s", err);
		t->then(r, -1);
		free(t->token);
		free(t);
		return;
	}
	if (rep->type == REDIS_REPLY_NIL) {
		free(r->lease_token);
		r->lease_token = NULL;
		jk = journal_key(r->ctx, r->name);
		lk = lease_key(r->ctx, r->name);
		t->op = op_new(r, 0, 0);
		broker_command(r->ctx->broker, holder_read, t, "EVAL %s 2 %s %s",
		    holder_lua, lk, jk);
		free(lk);
		free(jk);
		return;
	}
	r->lease_held = 1;
	timers_init(r);
	lease_valid(r, t->sent);
	timer_at(r, &r->lease_timer, r->ctx->o->lease_ttl / 3,
	    r->ctx->o->lease_ttl / 3);
	t->then(r, 1);
	free(t->token);
	free(t);
}

void
lease_take(struct run *r, void (*then)(struct run *, int))
{
	struct ctx	*c = r->ctx;
	char		*k = lease_key(c, r->name), ttl[32];
	struct take	*t = xcalloc(1, sizeof *t);

	free(r->lease_token);
	r->lease_token = new_token(c);
	snprintf(ttl, sizeof ttl, "%.0f", c->o->lease_ttl * 1000);
	t->op = op_new(r, 0, 0);
	t->then = then;
	t->token = xstrdup(r->lease_token);
	t->sent = ev_now(c->loop);
	broker_command(c->broker, lease_taken, t, "SET %s %s NX PX %s", k,
	    r->lease_token, ttl);
	free(k);
}

static void
lock_done(struct run *r)
{
	run_next(r, IN_OK);
}

static void
locked(struct run *r, int ok)
{
	if (ok == 1 && r->idle)
		run_idle(r);
	else if (ok == 1)	/* --pause-triggers, the lease held */
		imgcheck_pause(r, lock_done);
	else
		run_next(r, ok == 0 ? IN_LOCKED : IN_FAIL);
}

static void
state_lock(struct run *r)
{
	lease_take(r, locked);
}

const struct state st_lock = { "lock", deadline_request, state_lock, NULL };

/* The generation of the run's last journal write ("" none yet). */
static char *
journal_gen(struct run *r)
{
	if (r->journal_gen == 0)
		return xstrdup("");
	return xasprintf("%s/%lu", r->lease_token ? r->lease_token : "",
	    r->journal_gen);
}

struct renew {
	struct run	*r;
	double		 sent;
};

static void
renewed(redisReply *rep, const char *err, void *arg)
{
	struct renew	*n = arg;
	struct run	*r = n->r;
	double		 sent = n->sent;

	free(n);
	r->ctx->ops--;
	if (!r->lease_held || r->fsm.state == ST_END)
		return;
	if (rep == NULL)
		log_warn("%s: cannot renew the lease: %s", r->name, err);
	else if (rep->type == REDIS_REPLY_INTEGER && rep->integer == 1)
		lease_valid(r, sent);
	else if (rep->type == REDIS_REPLY_INTEGER && rep->integer == 2)
		lease_vanished(r, r->lease_token, 0, ev_now(r->ctx->loop));
	else
		lease_vanished(r, rep->type == REDIS_REPLY_STRING ? rep->str :
		    NULL, 1, ev_now(r->ctx->loop));
}

static void
lease_renew(struct run *r)
{
	struct ctx	*c = r->ctx;
	struct renew	*n;
	char		*k, *jk, *gen, ttl[32];

	if (!r->lease_held || r->fsm.state == ST_END)
		return;
	k = lease_key(c, r->name);
	jk = journal_key(c, r->name);
	gen = journal_gen(r);
	snprintf(ttl, sizeof ttl, "%.0f", c->o->lease_ttl * 1000);
	n = xcalloc(1, sizeof *n);
	n->r = r;
	n->sent = ev_now(c->loop);
	c->ops++;
	broker_command(c->broker, renewed, n, "EVAL %s 2 %s %s %s %s %s",
	    renew_lua, k, jk, r->lease_token, ttl, gen);
	free(gen);
	free(jk);
	free(k);
}

static void
bg_done(redisReply *rep, const char *err, void *arg)
{
	struct ctx	*c = arg;

	c->ops--;
	if (rep == NULL)
		log_warn("%s", err);
}

/*
 * The journal: what --recover and --status need, all from the run's
 * memory, sent with script (journal_lua or regain_lua: the same
 * arguments). Its one writer.
 */
static void
journal_send(struct run *r, const char *script, broker_reply_cb *cb,
    void *arg)
{
	struct ctx	*c = r->ctx;
	json_t		*ws = run_workers_json(r, 1), *pods = json_array();
	char		*k = journal_key(c, r->name), *lk, *wj, *pj, *hj, *gen,
			 now[32], st[32], rt[32], ttl[32], pl[32] = "";
	size_t		 i;

	r->journal_gen++;
	gen = journal_gen(r);

	for (i = 0; i < r->old_pods.n; i++)
		json_array_append_new(pods, json_string(r->old_pods.v[i]));
	wj = json_dumps(ws, JSON_COMPACT);
	pj = json_dumps(pods, JSON_COMPACT);
	hj = r->ho != NULL ? json_dumps(r->ho, JSON_COMPACT) : NULL;
	snprintf(now, sizeof now, "%.3f", now_wall());
	snprintf(st, sizeof st, "%.3f", r->wall_started);
	snprintf(rt, sizeof rt, "%g", c->o->request_timeout);
	snprintf(ttl, sizeof ttl, "%.0f", c->o->lease_ttl * 1000);
	if (r->patch_last > 0)
		snprintf(pl, sizeof pl, "%.3f", r->patch_last);
	lk = lease_key(c, r->name);
	broker_command(c->broker, cb, arg, "EVAL %s 2 %s %s %s %s "
	    "state %s holder %s started %s updated %s workers %s old_pods %s "
	    "restarted_at %s handover %s request_timeout %s patch_last %s "
	    "held %s gen %s", script, lk, k, r->lease_token ?
	    r->lease_token : "", ttl, fsm_state_name(r->fsm.state), c->holder,
	    st, now, wj, pj, r->restarted_at ? r->restarted_at : "", hj ? hj :
	    "", rt, pl, r->fsm.held ? "1" : "0", gen);
	free(gen);
	json_decref(ws);
	json_decref(pods);
	free(wj);
	free(pj);
	free(hj);
	free(lk);
	free(k);
}

struct jw {
	struct op	*op;
	void		(*then)(struct run *);
};

static void
journal_written(redisReply *rep, const char *err, void *arg)
{
	struct jw	*j = arg;
	struct run	*owner = j->op->r;
	struct run	*r;
	void		(*then)(struct run *) = j->then;

	if (rep != NULL && !(rep->type == REDIS_REPLY_INTEGER &&
	    rep->integer == 1)) {
		/* the lease is not ours: regained (then the state enters
		 * again, this write-ahead included) or lost */
		lease_vanished(owner, rep->type == REDIS_REPLY_STRING ?
		    rep->str : NULL, 1, ev_now(owner->ctx->loop));
		if (then != NULL && j->op->gen == owner->gen)
			(void)lease_check(owner);
		(void)op_done(j->op, NULL, NULL);
		free(j);
		return;
	}
	r = op_done(j->op, NULL, NULL);
	free(j);
	if (rep != NULL) {
		if (r != NULL && then != NULL)
			then(r);
		return;
	}
	if (r == NULL)
		return;
	if (then == NULL) {
		log_warn("%s: cannot update the journal: %s", r->name, err);
		return;
	}
	/* write-ahead: no record, no action */
	run_abort(r, "cannot write the journal before acting: %s; stopped "
	    "before the %s", err, fsm_state_name(r->fsm.state));
}

/* Journal: what --recover and --status need, before each action. */
void
journal_write(struct run *r, void (*then)(struct run *))
{
	struct jw	*j = xcalloc(1, sizeof *j);

	j->op = then != NULL ? op_new(r, 0, 0) : op_new_bg(r);
	j->then = then;
	journal_send(r, journal_lua, journal_written, j);
}

/* ---- regaining a vanished lease -------------------------------------- */

struct regain {
	struct run	*r;
	char		*token;		/* the token it sent */
	double		 sent;
};

static void	release_send(struct run *, const char *token, const char *keep);
static const char *journal_fate(struct run *);

/* The lease and the journal are back: go on (lease_resume()). */
static void
resume(struct run *r)
{
	int	waited = r->lease_wait_op != NULL &&
		    r->lease_wait_op->gen == r->gen;
	size_t	i;

	unwait(r);
	switch (lease_resume(r->fsm.state, waited)) {
	case LEASE_RESUME_NONE:
		break;
	case LEASE_RESUME_REDO:
		run_jump(r, r->fsm.state, r->fsm.pending);
		break;
	case LEASE_RESUME_DRAIN:
		log_info("%s: a worker may consume again after the broker's "
		    "restart: confirming every worker drained anew", r->name);
		for (i = 0; i < r->nw; i++) {
			r->w[i].drained = 0;
			r->w[i].confirming = 0;
			r->w[i].suspect = 0;
			r->w[i].rechecks = 0;
		}
		run_jump(r, ST_DRAIN, r->fsm.pending);
		break;
	}
}

static void
regained(redisReply *rep, const char *err, void *arg)
{
	struct regain	*g = arg;
	struct run	*r = g->r;
	struct ctx	*c = r->ctx;

	c->ops--;
	r->lease_regaining = 0;
	if (r->fsm.state == ST_END || r->lease_lost_since == 0) {
		/* the run ended meanwhile: what it took is given back */
		if (rep != NULL && rep->type == REDIS_REPLY_INTEGER)
			release_send(r, g->token, journal_fate(r));
	} else if (rep == NULL) {
		/* once, then every 10 s or so: Redis may be down a while */
		if (r->lease_attempts++ % 20 == 0)
			log_warn("%s: cannot take the lease again yet: %s; "
			    "retrying", r->name, err);
	} else if (rep->type != REDIS_REPLY_INTEGER)
		lease_vanished(r, rep->type == REDIS_REPLY_STRING ? rep->str :
		    NULL, 1, ev_now(c->loop));
	else {
		r->lease_held = 1;
		r->lease_lost_since = 0;
		lease_valid(r, g->sent);
		timer_at(r, &r->lease_timer, c->o->lease_ttl / 3,
		    c->o->lease_ttl / 3);
		log_info("%s: took the lease again and rewrote the journal "
		    "(state %s); going on", r->name,
		    fsm_state_name(r->fsm.state));
		resume(r);
	}
	free(g->token);
	free(g);
}

/* One attempt at a time: SET NX with the same token, and the journal. */
static void
regain_send(struct run *r)
{
	struct regain	*g;

	if (r->lease_regaining || r->fsm.state == ST_END)
		return;
	g = xcalloc(1, sizeof *g);
	g->r = r;
	g->token = xstrdup(r->lease_token);
	g->sent = ev_now(r->ctx->loop);
	r->lease_regaining = 1;
	r->ctx->ops++;
	journal_send(r, regain_lua, regained, g);
}

/* ---- the end --------------------------------------------------------- */

/*
 * What the end does with the journal: "drained" (--drain-only), "keep"
 * or "del". A run that ends with workers possibly drained (restore failed,
 * stopped without its lease, or interrupted after the restart: the rollout
 * may still fail) keeps it for --recover; one that changed nothing (refused
 * once it had the lease) wrote none, and leaves a dead run's alone.
 */
static const char *
journal_fate(struct run *r)
{
	enum fsm_outcome	o = r->fsm.outcome;

	if (o == OUT_DRAINED)
		return "drained";
	if (o == OUT_RESTORE_FAILED || o == OUT_LEASE_LOST || r->ho_pending ||
	    o == OUT_PREFLIGHT || (o == OUT_INTERRUPTED && r->restart_sent))
		return "keep";
	return "del";
}

/* History entry, journal kept, dropped or marked (keep), lease released. */
static void
release_send(struct run *r, const char *token, const char *keep)
{
	struct ctx	*c = r->ctx;
	char		*k = lease_key(c, r->name), *jk = journal_key(c, r->name);
	char		 d[32], st[32];

	snprintf(d, sizeof d, "%.3f", r->finished - r->started);
	snprintf(st, sizeof st, "%.3f", r->wall_started);
	c->ops++;
	broker_command(c->broker, bg_done, c, "EVAL %s 3 %s %s "
	    "drain-and-rollout:history %s %s deployment %s namespace %s "
	    "outcome %s started %s seconds %s holder %s error %s", release_lua,
	    k, jk, token, keep, r->name, c->kube.ns,
	    fsm_outcome_name(r->fsm.outcome), st, d, c->holder,
	    r->err[0] ? r->err : "-");
	free(k);
	free(jk);
}

/*
 * At the end: history entry, journal removed (or kept for --recover),
 * lease released: one script, only while the lease is still ours.
 */
void
lease_release(struct run *r)
{
	struct ctx	*c = r->ctx;
	const char	*keep;

	ev_timer_stop(c->loop, &r->lease_timer);
	ev_timer_stop(c->loop, &r->lease_expiry);
	unwait(r);
	r->lease_lost_since = 0;	/* a regain in flight gives it back */
	if (r->lease_token == NULL) {
		/* --undrain: the journal of a finished --drain-only goes */
		if (r->mode == RUN_UNDRAIN && r->fsm.outcome == OUT_OK)
			journal_drop_unlocked(r);
		return;
	}
	if (!r->lease_held) {		/* never taken, or lost */
		free(r->lease_token);
		r->lease_token = NULL;
		return;
	}
	r->lease_held = 0;
	if (r->fsm.outcome == OUT_NOTHING && r->journal_gen == 0) {
		/* nothing done, nothing written (--recover found a drained
		 * or no journal): no history, the journal as it is */
		lease_drop(r, r->lease_token);
		free(r->lease_token);
		r->lease_token = NULL;
		return;
	}
	keep = journal_fate(r);
	if (r->ho_pending)
		log_warn("%s: the old pods are still detached from their "
		    "ReplicaSets (--handover): the journal is kept; run "
		    "drain-and-rollout --recover to finish the handover or "
		    "give them back", r->name);
	else if (r->fsm.outcome == OUT_INTERRUPTED && r->restart_sent)
		log_warn("%s: interrupted after the restart: the journal is "
		    "kept; run drain-and-rollout --recover to wait for the "
		    "rollout (the old workers get their queues back if it "
		    "fails)", r->name);
	release_send(r, r->lease_token, keep);
	free(r->lease_token);
	r->lease_token = NULL;
}

/* Remove the journal unless a run holds the deployment's lease. */
void
journal_drop_unlocked(struct run *r)
{
	struct ctx	*c = r->ctx;
	char		*lk = lease_key(c, r->name), *jk = journal_key(c, r->name);

	c->ops++;
	broker_command(c->broker, bg_done, c, "EVAL %s 2 %s %s",
	    "if redis.call('EXISTS', KEYS[1]) == 0 then "
	    "return redis.call('DEL', KEYS[2]) end return 0", lk, jk);
	free(lk);
	free(jk);
}
