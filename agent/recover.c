/*
 * recover.c -- --recover: RESOLVE's work for a run that died (recover.h).
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
#include "handover.h"
#include "journal.h"
#include "landed.h"
#include "lease.h"
#include "podworkers.h"
#include "recover.h"
#include "runpriv.h"

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
	const char	*st = journal_str(r, "state");

	if (json_object_get(r->journal, "patch_last") != NULL)
		return strtod(journal_str(r, "patch_last"), NULL);
	if (strcmp(st, "restart") != 0 && strcmp(st, "detach") != 0)
		return 0;
	return strtod(journal_str(r, "updated"), NULL) + 60;
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

/* ---- the choice (pure) ---------------------------------------------- */

enum recover_step
recover_start(int journal, const char *state)
{
	if (!journal)
		return RECOVER_NOTHING;
	if (state != NULL && strcmp(state, "drained") == 0)
		return RECOVER_DRAINED;
	return RECOVER_READ;
}

enum recover_step
recover_choice(enum patch_fate fate, int handover, int giving_back,
    int held, const char *state)
{
	int	restarted = fate == PATCH_LANDED;

	if (fate == PATCH_WAIT)
		return RECOVER_WAIT;
	if (!handover)
		return !restarted ? RECOVER_RESTORE : held ?
		    RECOVER_ROLLOUT_HELD : RECOVER_ROLLOUT;
	if (giving_back)
		return RECOVER_HO_GIVEBACK_AGAIN;
	if (!restarted)
		return RECOVER_HO_GIVEBACK;
	if (state != NULL && (strcmp(state, "retire") == 0 ||
	    strcmp(state, "history") == 0))
		return RECOVER_HO_RETIRE;
	return RECOVER_HO_ROLLOUT;
}

/* ---- the recovery ---------------------------------------------------- */

static void
recover_deployment(enum kube_err e, json_t *obj, const char *err, void *arg)
{
	struct run	*r = op_done(arg, NULL, NULL);
	const char	*st, *ra, *ho;
	size_t		 i;
	double		 rt, last, wait;
	enum patch_fate	 fate;
	enum recover_step step;

	if (r == NULL || run_deployment(r, e, obj, err) == -1)
		return;
	st = journal_str(r, "state");
	ra = journal_str(r, "restarted_at");
	ho = journal_str(r, "handover");
	rt = strtod(journal_str(r, "request_timeout"), NULL);
	last = patch_last(r);
	/* last is when the last attempt's bytes went out at the latest (its
	 * state's deadline cuts every attempt short); the value before the
	 * run is not journaled: never foreign */
	fate = patch_fate(ra, r->dep.restarted_at, r->dep.restarted_at,
	    last > 0, now_wall() -
	    last, patch_window(0, kube_write_timeout(rt > 0 ? rt :
	    r->ctx->o->request_timeout)), 0, &wait);
	if (fate == PATCH_LANDED) {
		free(r->restarted_at);
		r->restarted_at = xstrdup(ra);
		r->restart_sent = 1;
	}
	/* a --handover run's record: the pods it detached, its workers */
	if (fate != PATCH_WAIT && ho[0] != '\0' && handover_load(r, ho) == -1)
		return;
	step = recover_choice(fate, ho[0] != '\0', r->ho != NULL &&
	    json_object_get(r->ho, "plan") != NULL,
	    strcmp(journal_str(r, "held"), "1") == 0, st);
	switch (step) {
	case RECOVER_WAIT:
		log_info("%s: the interrupted run (state %s) may have left a "
		    "PATCH of the Deployment in flight; waiting %.0fs, until "
		    "the API server has applied it or given up on it", r->name,
		    st, ceil(wait));
		recover_wait(r, wait);
		break;
	case RECOVER_ROLLOUT_HELD:
		/* it held the rollout (paused) for the old template's
		 * workers: ROLLOUT drains them again, then resumes */
		log_info("%s: the interrupted run (state %s) held the rollout "
		    "(paused) to drain workers of the old template; draining "
		    "them, then resuming", r->name, st);
		run_jump(r, ST_ROLLOUT, OUT_OK);
		run_next(r, IN_HOLD);
		break;
	case RECOVER_ROLLOUT:
		/* drained before the restart */
		for (i = 0; i < r->nw; i++)
			r->w[i].drained = 1;
		log_info("%s: the interrupted run (state %s) had restarted the "
		    "rollout; waiting for it and verifying", r->name, st);
		run_jump(r, ST_ROLLOUT, OUT_OK);
		break;
	case RECOVER_RESTORE:
		log_info("%s: the interrupted run (state %s) had not restarted "
		    "the rollout; re-adding the consumers it cancelled",
		    r->name, st);
		run_jump(r, ST_RESTORE, OUT_OK);
		break;
	case RECOVER_HO_GIVEBACK_AGAIN:
		log_info("%s: the interrupted handover (state %s) was giving "
		    "the old pods back; finishing that", r->name, st);
		run_jump(r, ST_GIVEBACK, (enum fsm_outcome)json_integer_value(
		    json_object_get(r->ho, "pending")));
		break;
	case RECOVER_HO_GIVEBACK:
		log_info("%s: the interrupted handover (state %s) had not "
		    "restarted the rollout; giving the old pods back", r->name,
		    st);
		run_jump(r, ST_GIVEBACK, OUT_OK);
		break;
	case RECOVER_HO_RETIRE:
		log_info("%s: the interrupted handover had drained the old "
		    "workers; deleting the old pods, recreating the history",
		    r->name);
		run_jump(r, ST_RETIRE, OUT_OK);
		break;
	case RECOVER_HO_ROLLOUT:
		log_info("%s: the interrupted handover (state %s) had "
		    "restarted the rollout; finishing it", r->name, st);
		run_jump(r, ST_ROLLOUT, OUT_OK);
		break;
	default:
		break;
	}
}

/* The journal, read under the lease: what the dead run left to finish. */
static void
recover_journal(struct run *r)
{
	json_t	*ws, *pods, *p;
	size_t	 i;

	switch (recover_start(r->journal != NULL, journal_str(r, "state"))) {
	case RECOVER_NOTHING:
		log_info("%s: no interrupted run to recover", r->name);
		run_next(r, IN_NOTHING);
		return;
	case RECOVER_DRAINED:
		log_info("%s: left drained on purpose by --drain-only; give its "
		    "queues back with --undrain", r->name);
		run_next(r, IN_NOTHING);
		return;
	default:
		break;
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
		run_abort(r, "cannot read the journal: %s",
		    r->ctx->redis_err);
		return;
	}
	lease_take(r, recover_locked);
}
