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
 */
#include <hiredis/hiredis.h>
#include <jansson.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "broker.h"
#include "report.h"
#include "runpriv.h"

/* 1 if renewed; else who holds the lease now ("" nobody). */
static const char *renew_lua =
    "local v = redis.call('GET', KEYS[1])\n"
    "if v == ARGV[1] then\n"
    "  return redis.call('PEXPIRE', KEYS[1], ARGV[2])\n"
    "end\n"
    "return v or ''\n";

/* KEYS lease, journal; ARGV token, field, value...: 1, or the holder. */
static const char *journal_lua =
    "local v = redis.call('GET', KEYS[1])\n"
    "if v ~= ARGV[1] then return v or '' end\n"
    "redis.call('HSET', KEYS[2], unpack(ARGV, 2))\n"
    "redis.call('EXPIRE', KEYS[2], 604800)\n"
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
    "end\n"
    "return redis.call('DEL', KEYS[1])\n";

/* A lease taken by a run that moved on before the answer: give it back. */
static const char *drop_lua =
    "if redis.call('GET', KEYS[1]) == ARGV[1] then\n"
    "  return redis.call('DEL', KEYS[1])\n"
    "end\n"
    "return 0\n";

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

/* The lease holds until sent + ttl unless renewed: arm the expiry. */
static void
lease_valid(struct run *r, double sent)
{
	struct ctx	*c = r->ctx;

	r->lease_until = sent + c->o->lease_ttl;
	ev_timer_stop(c->loop, &r->lease_expiry);
	ev_timer_set(&r->lease_expiry, r->lease_until - ev_now(c->loop) > 0 ?
	    r->lease_until - ev_now(c->loop) : 0., 0.);
	ev_timer_start(c->loop, &r->lease_expiry);
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

void
lease_lost(struct run *r, const char *holder)
{
	struct ctx	*c = r->ctx;
	char		 h[256], why[300];

	if (r->fsm.state == ST_END)
		return;
	r->lease_held = 0;
	ev_timer_stop(c->loop, &r->lease_timer);
	ev_timer_stop(c->loop, &r->lease_expiry);
	if (holder == NULL)
		snprintf(why, sizeof why, "no successful renewal within "
		    "--lease-ttl; who holds it now is unknown");
	else if (holder[0] == '\0')
		snprintf(why, sizeof why, "it expired; nobody holds it now");
	else {
		holder_of(holder, h, sizeof h);
		snprintf(why, sizeof why, "now held by %s", h);
	}
	if (r->err[0] != '\0')
		log_err("%s: %s", r->name, r->err);
	snprintf(r->err, sizeof r->err, "lost the lease of deployment %s (%s);"
	    " stopped at once", r->name, why);
	run_next(r, IN_LOST);
}

int
lease_check(struct run *r)
{
	if (r->mode == RUN_UNDRAIN && r->lease_token == NULL)
		return 1;
	if (r->lease_held && ev_now(r->ctx->loop) < r->lease_until)
		return 1;
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
	struct ctx	*c = owner->ctx;
	struct run	*r = op_done(t->op, NULL, NULL);
	char		*jk, *lk;

	if (r == NULL || r->fsm.state == ST_END) {
		/* taken for a run that moved on meanwhile: give it back */
		if (rep != NULL && rep->type == REDIS_REPLY_STATUS) {
			jk = lease_key(c, owner->name);
			c->ops++;
			broker_command(c->broker, bg_done, c, "EVAL %s 1 %s %s",
			    drop_lua, jk, t->token);
			free(jk);
		}
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
	lease_valid(r, t->sent);
	ev_timer_set(&r->lease_timer, r->ctx->o->lease_ttl / 3,
	    r->ctx->o->lease_ttl / 3);
	ev_timer_start(r->ctx->loop, &r->lease_timer);
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
locked(struct run *r, int ok)
{
	if (ok == 1 && r->idle)
		run_idle(r);
	else
		run_next(r, ok == 1 ? IN_OK : ok == 0 ? IN_LOCKED : IN_FAIL);
}

static void
state_lock(struct run *r)
{
	lease_take(r, locked);
}

const struct state st_lock = { "lock", deadline_request, state_lock, NULL };

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
	else
		lease_lost(r, rep->type == REDIS_REPLY_STRING ? rep->str : NULL);
}

void
lease_renew(struct run *r)
{
	struct ctx	*c = r->ctx;
	struct renew	*n;
	char		*k, ttl[32];

	if (!r->lease_held || r->fsm.state == ST_END)
		return;
	k = lease_key(c, r->name);
	snprintf(ttl, sizeof ttl, "%.0f", c->o->lease_ttl * 1000);
	n = xcalloc(1, sizeof *n);
	n->r = r;
	n->sent = ev_now(c->loop);
	c->ops++;
	broker_command(c->broker, renewed, n, "EVAL %s 1 %s %s %s", renew_lua,
	    k, r->lease_token, ttl);
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

struct jw {
	struct op	*op;
	void		(*then)(struct run *);
};

static void
journal_written(redisReply *rep, const char *err, void *arg)
{
	struct jw	*j = arg;
	struct run	*owner = j->op->r;
	struct run	*r = op_done(j->op, NULL, NULL);
	void		(*then)(struct run *) = j->then;

	free(j);
	if (rep != NULL && rep->type == REDIS_REPLY_INTEGER &&
	    rep->integer == 1) {
		if (r != NULL && then != NULL)
			then(r);
		return;
	}
	if (rep != NULL) {		/* the lease is not ours */
		lease_lost(owner, rep->type == REDIS_REPLY_STRING ? rep->str :
		    NULL);
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
	struct ctx	*c = r->ctx;
	json_t		*ws = run_workers_json(r, 1), *pods = json_array();
	char		*k = journal_key(c, r->name), *lk, *wj, *pj, *hj, now[32],
			 st[32], rt[32], pl[32] = "";
	struct jw	*j;
	size_t		 i;

	for (i = 0; i < r->old_pods.n; i++)
		json_array_append_new(pods, json_string(r->old_pods.v[i]));
	wj = json_dumps(ws, JSON_COMPACT);
	pj = json_dumps(pods, JSON_COMPACT);
	hj = r->ho != NULL ? json_dumps(r->ho, JSON_COMPACT) : NULL;
	snprintf(now, sizeof now, "%.3f", now_wall());
	snprintf(st, sizeof st, "%.3f", r->wall_started);
	snprintf(rt, sizeof rt, "%g", c->o->request_timeout);
	if (r->patch_last > 0)
		snprintf(pl, sizeof pl, "%.3f", r->patch_last);
	lk = lease_key(c, r->name);
	j = xcalloc(1, sizeof *j);
	j->op = then != NULL ? op_new(r, 0, 0) : op_new_bg(r);
	j->then = then;
	broker_command(c->broker, journal_written, j, "EVAL %s 2 %s %s %s "
	    "state %s holder %s started %s updated %s workers %s old_pods %s "
	    "restarted_at %s handover %s request_timeout %s patch_last %s",
	    journal_lua, lk, k, r->lease_token ? r->lease_token : "",
	    fsm_state_name(r->fsm.state), c->holder, st, now, wj, pj,
	    r->restarted_at ? r->restarted_at : "", hj ? hj : "", rt, pl);
	json_decref(ws);
	json_decref(pods);
	free(wj);
	free(pj);
	free(hj);
	free(lk);
	free(k);
}

/*
 * At the end: history entry, journal removed (or kept for --recover),
 * lease released: one script, only while the lease is still ours.
 */
void
lease_release(struct run *r)
{
	struct ctx	*c = r->ctx;
	char		*k, *jk, d[32], st[32];
	const char	*keep;

	ev_timer_stop(c->loop, &r->lease_timer);
	ev_timer_stop(c->loop, &r->lease_expiry);
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
	snprintf(d, sizeof d, "%.3f", ev_now(c->loop) - r->started);
	snprintf(st, sizeof st, "%.3f", r->wall_started);
	/*
	 * A run that ends with workers possibly drained (restore failed, or
	 * interrupted after the restart: the rollout may still fail) keeps
	 * its journal for --recover; one that changed nothing (refused once
	 * it had the lease) wrote none, and leaves a dead run's alone.
	 */
	keep = r->fsm.outcome == OUT_DRAINED ? "drained" :
	    r->fsm.outcome == OUT_RESTORE_FAILED || r->ho_pending ||
	    r->fsm.outcome == OUT_PREFLIGHT ||
	    (r->fsm.outcome == OUT_INTERRUPTED && r->restart_sent) ? "keep" :
	    "del";
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
	k = lease_key(c, r->name);
	jk = journal_key(c, r->name);
	c->ops++;
	broker_command(c->broker, bg_done, c, "EVAL %s 3 %s %s "
	    "drain-and-rollout:history %s %s deployment %s namespace %s "
	    "outcome %s started %s seconds %s holder %s error %s", release_lua,
	    k, jk, r->lease_token, keep, r->name, c->kube.ns,
	    fsm_outcome_name(r->fsm.outcome), st, d, c->holder,
	    r->err[0] ? r->err : "-");
	free(k);
	free(jk);
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
