/*
 * lease.c -- LOCK: the per-deployment lease and journal in the broker's
 * Redis (key names in run.h).
 *
 * The lease is SET key token NX PX ttl, renewed every ttl/3 by a script that
 * extends it only while it still holds our token, and released by a
 * compare-and-delete script: a run never removes another run's lease. The
 * journal is written before each state's action, so a run killed at any
 * point leaves what --recover needs.
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

static const char *renew_lua =
    "if redis.call('GET', KEYS[1]) == ARGV[1] then\n"
    "  return redis.call('PEXPIRE', KEYS[1], ARGV[2])\n"
    "end\n"
    "return 0\n";

static const char *release_lua =
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
};

static void
holder_read(redisReply *rep, const char *err, void *arg)
{
	struct take	*t = arg;
	struct run	*r = op_done(t->op, NULL, NULL);
	void		(*then)(struct run *, int) = t->then;
	const char	*h = NULL, *st = NULL, *since = NULL;
	char		 ts[32];
	size_t		 i;

	free(t);
	if (r == NULL)
		return;
	for (i = 0; rep != NULL && rep->type == REDIS_REPLY_ARRAY &&
	    i + 1 < rep->elements; i += 2) {
		const char *k = rep->element[i]->str;
		if (strcmp(k, "holder") == 0)
			h = rep->element[i + 1]->str;
		else if (strcmp(k, "state") == 0)
			st = rep->element[i + 1]->str;
		else if (strcmp(k, "started") == 0)
			since = rep->element[i + 1]->str;
	}
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
	struct run	*r = op_done(t->op, NULL, NULL);
	char		*jk;

	if (r == NULL) {
		free(t);
		return;
	}
	if (rep == NULL) {
		free(r->lease_token);
		r->lease_token = NULL;
		run_fail(r, "cannot take the lease: %s", err);
		t->then(r, -1);
		free(t);
		return;
	}
	if (rep->type == REDIS_REPLY_NIL) {
		free(r->lease_token);
		r->lease_token = NULL;
		jk = journal_key(r->ctx, r->name);
		t->op = op_new(r, 0, 0);
		broker_command(r->ctx->broker, holder_read, t, "HGETALL %s", jk);
		free(jk);
		return;
	}
	ev_timer_set(&r->lease_timer, r->ctx->o->lease_ttl / 3,
	    r->ctx->o->lease_ttl / 3);
	ev_timer_start(r->ctx->loop, &r->lease_timer);
	t->then(r, 1);
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
	broker_command(c->broker, lease_taken, t, "SET %s %s NX PX %s", k,
	    r->lease_token, ttl);
	free(k);
}

static void
locked(struct run *r, int ok)
{
	run_next(r, ok == 1 ? IN_OK : ok == 0 ? IN_LOCKED : IN_FAIL);
}

void
state_lock(struct run *r)
{
	lease_take(r, locked);
}

static void
renewed(redisReply *rep, const char *err, void *arg)
{
	struct run	*r = arg;

	r->ctx->ops--;
	if (rep == NULL)
		log_warn("%s: cannot renew the lease: %s", r->name, err);
	else if (rep->type == REDIS_REPLY_INTEGER && rep->integer == 0)
		log_err("%s: the lease was lost (expired or taken); another run "
		    "may act on this deployment", r->name);
}

void
lease_renew(struct run *r)
{
	struct ctx	*c = r->ctx;
	char		*k, ttl[32];

	if (r->lease_token == NULL || r->fsm.state == ST_END)
		return;
	k = lease_key(c, r->name);
	snprintf(ttl, sizeof ttl, "%.0f", c->o->lease_ttl * 1000);
	c->ops++;
	broker_command(c->broker, renewed, r, "EVAL %s 1 %s %s %s", renew_lua,
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

/* Journal: what --recover and --status need, before each action. */
void
journal_write(struct run *r)
{
	struct ctx	*c = r->ctx;
	json_t		*ws = json_array(), *pods = json_array(), *q;
	char		*k = journal_key(c, r->name), *wj, *pj, now[32], st[32];
	size_t		 i, j;

	for (i = 0; i < r->nw; i++) {
		q = json_array();
		for (j = 0; j < r->w[i].cancelled.n; j++)
			json_array_append_new(q,
			    json_string(r->w[i].cancelled.v[j]));
		json_array_append_new(ws, json_pack("{s:s,s:o}", "name",
		    r->w[i].name, "queues", q));
	}
	for (i = 0; i < r->old_pods.n; i++)
		json_array_append_new(pods, json_string(r->old_pods.v[i]));
	wj = json_dumps(ws, JSON_COMPACT);
	pj = json_dumps(pods, JSON_COMPACT);
	snprintf(now, sizeof now, "%.3f", now_wall());
	snprintf(st, sizeof st, "%.3f", r->wall_started);
	c->ops += 2;
	broker_command(c->broker, bg_done, c, "HSET %s state %s holder %s "
	    "started %s updated %s workers %s old_pods %s restarted_at %s",
	    k, fsm_state_name(r->fsm.state), c->holder, st, now, wj, pj,
	    r->restarted_at ? r->restarted_at : "");
	/* the journal outlives the lease long enough for --recover */
	broker_command(c->broker, bg_done, c, "EXPIRE %s 604800", k);
	json_decref(ws);
	json_decref(pods);
	free(wj);
	free(pj);
	free(k);
}

/* At the end: history entry, journal removed, lease released. */
void
lease_release(struct run *r)
{
	struct ctx	*c = r->ctx;
	char		*k, d[32], st[32];

	ev_timer_stop(c->loop, &r->lease_timer);
	if (r->lease_token == NULL) {
		/* --undrain: the journal of a finished --drain-only goes */
		if (r->mode == RUN_UNDRAIN && r->fsm.outcome == OUT_OK)
			journal_drop_unlocked(r);
		return;
	}
	snprintf(d, sizeof d, "%.3f", ev_now(c->loop) - r->started);
	snprintf(st, sizeof st, "%.3f", r->wall_started);
	c->ops++;
	broker_command(c->broker, bg_done, c, "XADD drain-and-rollout:history "
	    "MAXLEN ~ 1000 * deployment %s namespace %s outcome %s started %s "
	    "seconds %s holder %s error %s", r->name, c->kube.ns,
	    fsm_outcome_name(r->fsm.outcome), st, d, c->holder,
	    r->err[0] ? r->err : "-");
	/*
	 * A run that ends with workers possibly drained (restore failed, or
	 * a second signal) keeps its journal for --recover.
	 */
	if (r->fsm.outcome == OUT_DRAINED) {
		k = journal_key(c, r->name);
		c->ops++;
		broker_command(c->broker, bg_done, c, "HSET %s state drained", k);
		free(k);
	} else if (r->fsm.outcome != OUT_RESTORE_FAILED) {
		k = journal_key(c, r->name);
		c->ops++;
		broker_command(c->broker, bg_done, c, "DEL %s", k);
		free(k);
	}
	k = lease_key(c, r->name);
	c->ops++;
	broker_command(c->broker, bg_done, c, "EVAL %s 1 %s %s", release_lua,
	    k, r->lease_token);
	free(k);
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
