/*
 * journal.c -- a run's journal in the broker's Redis: its one home (key,
 * fields, writes and reads); see journal.h.
 */
#include <hiredis/hiredis.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "broker.h"
#include "journal.h"
#include "lease.h"
#include "podworkers.h"
#include "runpriv.h"
#include "sentinel.h"

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

char *
journal_key(struct ctx *c, const char *dep)
{
	return xasprintf("drain-and-rollout:journal:%s:%s", c->kube.ns, dep);
}

/* The generation of the run's last journal write ("" none yet). */
char *
journal_generation(struct run *r)
{
	if (r->journal_gen == 0)
		return xstrdup("");
	return xasprintf("%s/%lu", r->lease_token ? r->lease_token : "",
	    r->journal_gen);
}

/*
 * The journal: what --recover and --status need, all from the run's
 * memory, sent with script (journal_lua or regain_lua: the same
 * arguments). Its one writer.
 */
void
journal_send(struct run *r, const char *script, broker_reply_cb *cb,
    void *arg)
{
	struct ctx	*c = r->ctx;
	json_t		*ws = run_workers_json(r, 1), *pods = json_array();
	char		*k = journal_key(c, r->name), *lk, *wj, *pj, *hj, *gen,
			 now[32], st[32], rt[32], ttl[32], pl[32] = "";
	size_t		 i;

	r->journal_gen++;
	gen = journal_generation(r);

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
	int		 tries;		/* writes of this record so far */
	unsigned long	 conn;		/* the connection that took it */
	int		 same;		/* ROLE came on that one too */
	int		 replicas;	/* ROLE's replicas; -1: unknown */
};

static void	journal_written(redisReply *, const char *, void *);

/* ROLE after a write-ahead record: the master's replicas now. */
static void
role_got(redisReply *rep, const char *err, void *arg)
{
	struct jw	*j = arg;
	struct run	*r = j->op->r;

	(void)err;
	j->same = rep != NULL && broker_conn_id(r->ctx->broker) == j->conn;
	j->replicas = -1;
	if (rep != NULL && rep->type == REDIS_REPLY_ARRAY &&
	    rep->elements >= 3 && rep->element[0]->type == REDIS_REPLY_STRING
	    && sentinel_role_master(rep->element[0]->str) &&
	    rep->element[2]->type == REDIS_REPLY_ARRAY)
		j->replicas = (int)rep->element[2]->elements;
}

/* WAIT's answer: act, write the record again, or stop (sentinel.h). */
static void
wait_got(redisReply *rep, const char *err, void *arg)
{
	struct jw	*j = arg;
	struct run	*owner = j->op->r, *r;
	long long	 acked = rep != NULL && rep->type == REDIS_REPLY_INTEGER ?
			    rep->integer : -1;
	int		 same = j->same && rep != NULL &&
			    broker_conn_id(owner->ctx->broker) == j->conn;
	int		 replicas;

	if (j->op->gen != owner->gen || owner->fsm.state == ST_END) {
		(void)op_done(j->op, NULL, NULL);
		free(j);
		return;
	}
	switch (sentinel_wait_verdict(same, j->replicas, acked, j->tries)) {
	case SENT_WAIT_GO:
		r = op_done(j->op, NULL, NULL);
		if (r != NULL)
			j->then(r);
		free(j);
		return;
	case SENT_WAIT_AGAIN:
		log_warn("%s: the broker's master changed (or did not answer) "
		    "before a replica acknowledged the journal%s%s: writing it "
		    "again", owner->name, err ? ": " : "", err ? err : "");
		j->tries++;
		journal_send(owner, journal_lua, journal_written, j);
		return;
	case SENT_WAIT_STOP:
		break;
	}
	replicas = j->replicas;
	r = op_done(j->op, NULL, NULL);
	free(j);
	if (r == NULL)
		return;
	if (acked < 0 || !same || replicas < 0)
		run_abort(r, "the journal could not be written on the broker's "
		    "master and acknowledged by a replica (%s); stopped before "
		    "the %s", err ? err : "the master kept changing",
		    fsm_state_name(r->fsm.state));
	else
		run_abort(r, "no replica of the broker's master acknowledged "
		    "the journal within %gs (%d replica(s) connected): a "
		    "failover now would lose it; stopped before the %s (check "
		    "the replication: INFO replication on the master)",
		    broker_timeout(r->ctx->broker) / 2, replicas,
		    fsm_state_name(r->fsm.state));
}

/*
 * Through Sentinel, a write-ahead record acknowledged by the master is
 * acted on once a replica has it too (sentinel_wait_verdict()): ROLE and
 * WAIT on the connection that took it.
 */
static void
wait_replicas(struct run *r, struct jw *j)
{
	struct broker	*b = r->ctx->broker;

	j->conn = broker_conn_id(b);
	j->same = 0;
	j->replicas = -1;
	broker_command(b, role_got, j, "ROLE");
	broker_command(b, wait_got, j, "WAIT 1 %d",
	    (int)(broker_timeout(b) * 500));
}

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
	if (rep != NULL && then != NULL && broker_sentinel(owner->ctx->broker)) {
		wait_replicas(owner, j);
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
	j->tries = 1;
	journal_send(r, journal_lua, journal_written, j);
}

/* Remove the journal unless a run holds the deployment's lease. */
void
journal_drop_unlocked(struct run *r)
{
	struct ctx	*c = r->ctx;
	char		*lk = lease_key(c, r->name), *jk = journal_key(c, r->name);

	c->ops++;
	broker_command(c->broker, run_bg_reply, c, "EVAL %s 2 %s %s",
	    "if redis.call('EXISTS', KEYS[1]) == 0 then "
	    "return redis.call('DEL', KEYS[2]) end return 0", lk, jk);
	free(lk);
	free(jk);
}

struct jread {
	struct op	*op;
	void		(*then)(struct run *);
};

static void
journal_got(redisReply *rep, const char *err, void *arg)
{
	struct jread	*j = arg;
	struct run	*r = op_done(j->op, NULL, NULL);
	void		(*then)(struct run *) = j->then;
	size_t		 i;
	json_t		*o;

	free(j);
	if (r == NULL)
		return;
	json_decref(r->journal);
	r->journal = NULL;
	if (rep == NULL) {
		/* it may name queues a dead run cancelled: do not guess */
		run_abort(r, "cannot read the journal: %s", err);
		return;
	} else if (rep->type == REDIS_REPLY_ARRAY && rep->elements > 0) {
		o = json_object();
		for (i = 0; i + 1 < rep->elements; i += 2)
			json_object_set_new(o, rep->element[i]->str,
			    json_string(rep->element[i + 1]->str));
		r->journal = o;
	}
	then(r);
}

void
journal_read(struct run *r, void (*then)(struct run *))
{
	struct jread	*j;
	char		*k;

	if (r->ctx->redis_err[0] != '\0') {
		run_abort(r, "cannot read the journal: %s",
		    r->ctx->redis_err);
		return;
	}
	j = xcalloc(1, sizeof *j);
	j->op = op_new(r, 0, 0);
	j->then = then;
	k = journal_key(r->ctx, r->name);
	broker_command(r->ctx->broker, journal_got, j, "HGETALL %s", k);
	free(k);
}

json_t *
journal_json(struct run *r, const char *field)
{
	const char	*v;

	v = json_string_value(json_object_get(r->journal, field));
	return v ? json_loads(v, 0, NULL) : NULL;
}

void
journal_queues(struct run *r, const char *name, int like, struct strv *out)
{
	json_t	*ws = journal_json(r, "workers"), *w, *q;
	size_t	 i, j;

	json_array_foreach(ws, i, w) {
		const char *n = json_string_value(json_object_get(w, "name"));
		if (n == NULL || (name != NULL && (like ?
		    !worker_same_name(n, name) : strcmp(n, name) != 0)))
			continue;
		json_array_foreach(json_object_get(w, "queues"), j, q)
			if (json_is_string(q) && !strv_has(out,
			    json_string_value(q)))
				strv_add(out, json_string_value(q));
	}
	json_decref(ws);
}

const char *
journal_str(struct run *r, const char *field)
{
	const char	*v = json_string_value(json_object_get(r->journal, field));

	return v ? v : "";
}

/* ctx_journals()'s SCAN, cursor by cursor. */
struct journals_scan {
	struct ctx	*c;
	struct strv	*out;
	char		*pattern;
	void		(*done)(const char *err, void *arg);
	void		*arg;
};

static void
journals_end(struct journals_scan *s, const char *err)
{
	void	(*done)(const char *, void *) = s->done;
	void	*arg = s->arg;

	free(s->pattern);
	free(s);
	done(err, arg);
}

static void
journals_got(redisReply *rep, const char *err, void *arg)
{
	struct journals_scan	*s = arg;
	const char		*cursor, *k;
	size_t			 i;

	if (rep == NULL || rep->type != REDIS_REPLY_ARRAY ||
	    rep->elements != 2) {
		journals_end(s, err != NULL ? err : "");
		return;
	}
	cursor = rep->element[0]->str;
	for (i = 0; i < rep->element[1]->elements; i++) {
		k = strrchr(rep->element[1]->element[i]->str, ':');
		if (k != NULL && !strv_has(s->out, k + 1))
			strv_add(s->out, k + 1);
	}
	if (strcmp(cursor, "0") == 0)
		journals_end(s, NULL);
	else
		ctx_redis(s->c, journals_got, s, "SCAN", cursor, "MATCH",
		    s->pattern, "COUNT", "500", (char *)NULL);
}

void
ctx_journals(struct ctx *c, struct strv *out,
    void (*done)(const char *err, void *arg), void *arg)
{
	struct journals_scan	*s = xcalloc(1, sizeof *s);
	char			*prefix = journal_key(c, "");
	char			*esc = redis_glob_escape(prefix);

	s->c = c;
	s->out = out;
	s->pattern = xasprintf("%s*", esc);
	s->done = done;
	s->arg = arg;
	free(prefix);
	free(esc);
	ctx_redis(c, journals_got, s, "SCAN", "0", "MATCH", s->pattern,
	    "COUNT", "500", (char *)NULL);
}

/* ---- the journal at a run's end (pure) ------------------------------ */

enum journal_end
journal_fate(enum fsm_outcome o, int ho_pending, int restart_sent)
{
	if (o == OUT_DRAINED)
		return JOURNAL_END_DRAINED;
	if (o == OUT_RESTORE_FAILED || o == OUT_LEASE_LOST || ho_pending ||
	    o == OUT_PREFLIGHT || (o == OUT_INTERRUPTED && restart_sent))
		return JOURNAL_END_KEEP;
	return JOURNAL_END_DEL;
}

enum journal_end
journal_at_end(const struct journal_end_facts *f)
{
	if (!f->token)		/* --undrain: a finished --drain-only's goes */
		return f->undrain && f->outcome == OUT_OK ?
		    JOURNAL_END_DROP_UNLOCKED : JOURNAL_END_NONE;
	if (!f->held)		/* never taken, or lost */
		return JOURNAL_END_NONE;
	if (f->outcome == OUT_NOTHING && !f->written)
		return JOURNAL_END_AS_IS;
	/* interrupted before its first write: a journal there is a dead
	 * run's (a --recover's, or a drain's that read it), for --recover */
	if (f->outcome == OUT_INTERRUPTED && !f->written)
		return JOURNAL_END_KEEP;
	return journal_fate(f->outcome, f->ho_pending, f->restart_sent);
}

const char *
journal_end_arg(enum journal_end e)
{
	switch (e) {
	case JOURNAL_END_DEL:
		return "del";
	case JOURNAL_END_KEEP:
		return "keep";
	case JOURNAL_END_DRAINED:
		return "drained";
	default:
		return NULL;
	}
}
