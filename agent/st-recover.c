/*
 * st-recover.c -- the journal of a run that died, and --recover.
 *
 * A recovery takes the lease, reads the journal and picks up where the dead
 * run was: before the restart, it re-adds the consumers the journal lists
 * (RESTORE); after it (the deployment's restartedAt annotation is the one the
 * journal wrote before the PATCH), it waits for the rollout and verifies
 * (ROLLOUT, VERIFY). Then the journal is removed.
 */
#include <hiredis/hiredis.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "broker.h"
#include "landed.h"
#include "podworkers.h"
#include "runpriv.h"

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
		run_abort(r, "cannot read the journal: %s; nothing was changed",
		    err);
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
		run_abort(r, "cannot read the journal: %s; nothing was changed",
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

static json_t *
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

static const char *
jstr(struct run *r, const char *field)
{
	const char	*v = json_string_value(json_object_get(r->journal, field));

	return v ? v : "";
}

/*
 * By when the interrupted run's last attempt of a PATCH of the Deployment
 * went out at the latest (wall clock; 0: none can have): the journal's
 * patch_last, the deadline of the state that sent it (RESTART, DETACH's
 * pause, INFLIGHT's). A journal without it (an older version) was in
 * "restart" or "detach", both retried for a minute from its update.
 */
static double
patch_last(struct run *r)
{
	const char	*st = jstr(r, "state");

	if (json_object_get(r->journal, "patch_last") != NULL)
		return strtod(jstr(r, "patch_last"), NULL);
	if (strcmp(st, "restart") != 0 && strcmp(st, "detach") != 0)
		return 0;
	return strtod(jstr(r, "updated"), NULL) + 60;
}

static void	recover_deployment(enum kube_err, json_t *, const char *,
		    void *);

static void
waited(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct run	*r = w->data;
	struct op	*o = r->wait_op;

	(void)loop;
	(void)revents;
	r->wait_op = NULL;
	deploy_info_free(&r->dep);
	kube_get_deployment(&r->ctx->kube, r->name, r->state_deadline,
	    recover_deployment, o);
}

/* Read the Deployment again in secs, the state's time limit extended. */
static void
recover_wait(struct run *r, double secs)
{
	struct ev_loop	*loop = r->ctx->loop;

	r->state_len = secs + deadline_request(r);
	r->state_deadline = ev_now(loop) + r->state_len;
	ev_timer_stop(loop, &r->timeout);
	ev_timer_set(&r->timeout, r->state_len, 0.);
	ev_timer_start(loop, &r->timeout);
	r->wait_op = op_new(r, 0, 0);
	ev_timer_init(&r->wait, waited, secs, 0.);
	r->wait.data = r;
	ev_timer_start(loop, &r->wait);
}

static void
recover_deployment(enum kube_err e, json_t *obj, const char *err, void *arg)
{
	struct run	*r = op_done(arg, NULL, NULL);
	const char	*st, *ra;
	int		 restarted;
	size_t		 i;
	double		 rt, last, wait;
	enum patch_fate	 fate;

	if (r == NULL || run_deployment(r, e, obj, err) == -1)
		return;
	st = jstr(r, "state");
	ra = jstr(r, "restarted_at");
	rt = strtod(jstr(r, "request_timeout"), NULL);
	last = patch_last(r);
	/* last is when the last attempt's bytes went out at the latest (its
	 * state's deadline cuts every attempt short); the value before the
	 * run is not journaled: never foreign */
	fate = patch_fate(ra, r->dep.restarted_at, r->dep.restarted_at,
	    last > 0, now_wall() -
	    last, patch_window(0, kube_write_timeout(rt > 0 ? rt :
	    r->ctx->o->request_timeout)), 0, &wait);
	restarted = fate == PATCH_LANDED;
	if (fate == PATCH_WAIT) {
		log_info("%s: the interrupted run (state %s) may have left a "
		    "PATCH of the Deployment in flight; waiting %.0fs, until "
		    "the API server has applied it or given up on it", r->name,
		    st, ceil(wait));
		recover_wait(r, wait);
		return;
	}
	if (restarted) {
		free(r->restarted_at);
		r->restarted_at = xstrdup(ra);
		r->restart_sent = 1;
	}
	if (handover_recover(r, restarted))
		return;
	if (restarted) {
		free(r->restarted_at);
		r->restarted_at = xstrdup(ra);
		r->restart_sent = 1;
		if (strcmp(jstr(r, "held"), "1") == 0) {
			/* it held the rollout (paused) for the old
			 * template's workers: ROLLOUT drains them again,
			 * then resumes */
			log_info("%s: the interrupted run (state %s) held the "
			    "rollout (paused) to drain workers of the old "
			    "template; draining them, then resuming", r->name,
			    st);
			run_jump(r, ST_ROLLOUT, OUT_OK);
			run_next(r, IN_HOLD);
			return;
		}
		/* drained before the restart */
		for (i = 0; i < r->nw; i++)
			r->w[i].drained = 1;
		log_info("%s: the interrupted run (state %s) had restarted the "
		    "rollout; waiting for it and verifying", r->name, st);
		run_jump(r, ST_ROLLOUT, OUT_OK);
	} else {
		log_info("%s: the interrupted run (state %s) had not restarted "
		    "the rollout; re-adding the consumers it cancelled",
		    r->name, st);
		run_jump(r, ST_RESTORE, OUT_OK);
	}
}

/* The journal, read under the lease: what the dead run left to finish. */
static void
recover_journal(struct run *r)
{
	json_t	*ws, *pods, *p;
	size_t	 i;

	if (r->journal == NULL) {
		log_info("%s: no interrupted run to recover", r->name);
		run_next(r, IN_NOTHING);
		return;
	}
	if (strcmp(jstr(r, "state"), "drained") == 0) {
		log_info("%s: left drained on purpose by --drain-only; give its "
		    "queues back with --undrain", r->name);
		run_next(r, IN_NOTHING);
		return;
	}
	ws = journal_json(r, "workers");
	run_workers_load(r, ws, 1);
	json_decref(ws);
	pods = journal_json(r, "old_pods");
	json_array_foreach(pods, i, p)
		if (json_is_string(p))
			strv_add(&r->old_pods, json_string_value(p));
	json_decref(pods);
	kube_get_deployment(&r->ctx->kube, r->name, r->state_deadline,
	    recover_deployment, op_new(r, 0, 0));
}

/*
 * The lease first, then the journal: a run that holds the lease (alive,
 * or a --recover started a moment earlier) owns the journal, which this
 * one must not even read.
 */
static void
recover_locked(struct run *r, int ok)
{
	if (ok != 1) {
		run_next(r, ok == 0 ? IN_LOCKED : IN_FAIL);
		return;
	}
	journal_read(r, recover_journal);
}

void
recover_resolve(struct run *r)
{
	if (r->ctx->redis_err[0] != '\0') {
		run_abort(r, "cannot read the journal: %s; nothing was changed",
		    r->ctx->redis_err);
		return;
	}
	lease_take(r, recover_locked);
}
