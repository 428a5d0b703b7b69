/*
 * st-inflight.c -- INFLIGHT (fsm.h): the restart PATCH (or --handover's
 * pause) failed, hit its state's deadline or was interrupted, and may
 * have been applied, or still be: an attempt handed to the API server is
 * processed until the timeout its query carries (kube_write_timeout()).
 * Restoring the consumers (or resuming) then would let it land on workers
 * that consume again. So: cancel the request, read the Deployment, and
 * wait until no attempt can land any more; patch_fate() (landed.h)
 * decides whether the restart landed (follow the rollout) or nothing
 * did (restore, or give the pods back).
 */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>

#include "landed.h"
#include "runpriv.h"

struct iread {
	struct op	*op;
	double		 sent;		/* ev_now the read was sent */
};

static void	inflight_read(struct run *);

/* Seconds after an attempt's send by which the server applied or dropped
 * it. */
static double
inflight_window(struct run *r)
{
	return patch_window(r->ctx->o->request_timeout,
	    kube_write_timeout(r->ctx->o->request_timeout));
}

static const char *
what(struct run *r)
{
	return r->patch_pause ? "pause" : "restart";
}

static void
waited(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct run	*r = w->data;

	(void)loop;
	(void)revents;
	(void)op_done(r->wait_op, NULL, NULL);
	r->wait_op = NULL;
	inflight_read(r);
}

static void
inflight_wait(struct run *r, double secs)
{
	r->wait_op = op_new(r, 0, 0);
	ev_timer_init(&r->wait, waited, secs, 0.);
	r->wait.data = r;
	ev_timer_start(r->ctx->loop, &r->wait);
}

/* The fate decided: go on. */
static void
inflight_decided(struct run *r, enum patch_fate f)
{
	r->patch_last = 0;	/* nothing of ours can land any more */
	if (f == PATCH_LANDED && !r->patch_pause) {
		r->restart_sent = 1;
		if (r->ctx->interrupted || r->fsm.pending == OUT_INTERRUPTED) {
			log_warn("%s: the restart PATCH was applied (restartedAt "
			    "%s) although the run was interrupted: the rollout "
			    "goes on", r->name, r->restarted_at);
			run_next(r, IN_INTERRUPT);
			return;
		}
		/* what failed was the answer, not the restart */
		log_warn("%s: %s; but the restart PATCH was applied "
		    "(restartedAt %s): following the rollout", r->name,
		    r->err[0] ? r->err : "the restart PATCH failed",
		    r->restarted_at);
		r->err[0] = '\0';
		run_next(r, IN_OK);
		return;
	}
	if (r->patch.last_sent > 0)
		log_info("%s: no attempt of the %s PATCH can land any more%s; "
		    "%s", r->name, what(r), f == PATCH_LANDED ? " (it was "
		    "applied)" : " (none was applied)", r->fsm.handover ?
		    "giving the old pods back" : "re-adding the cancelled "
		    "consumers");
	run_next(r, IN_FAIL);
}

static void
inflight_got(enum kube_err e, json_t *obj, const char *err, void *arg)
{
	struct iread		*rd = arg;
	double			 sent = rd->sent, wait;
	struct run		*r = op_done(rd->op, NULL, NULL);
	struct deploy_info	 d;
	char			 sub[256];
	enum patch_fate		 f;

	free(rd);
	if (r == NULL)
		return;
	if (e == KUBE_OK && deploy_parse(obj, &d, sub, sizeof sub) == -1)
		err = sub;
	if (e != KUBE_OK || err == sub) {
		run_fail(r, "cannot tell whether the %s PATCH of %s was applied: "
		    "%s", what(r), r->name, err);
		run_next(r, IN_TIMEOUT);
		return;
	}
	f = patch_fate(r->patch_pause ? "true" : r->restarted_at,
	    r->patch_pause ? (d.paused ? "true" : "false") : d.restarted_at,
	    r->patch.last_sent > 0, sent - r->patch.last_sent,
	    inflight_window(r), r->patch_pause, &wait);
	deploy_info_free(&d);
	if (f != PATCH_WAIT) {
		inflight_decided(r, f);
		return;
	}
	log_info("%s: the %s PATCH is not applied yet, and its last attempt "
	    "may still be; reading the Deployment again in %.1fs, when the "
	    "API server has applied it or given up on it", r->name, what(r),
	    wait);
	inflight_wait(r, wait);
}

static void
inflight_read(struct run *r)
{
	struct iread	*rd = xcalloc(1, sizeof *rd);

	rd->op = op_new(r, 0, 0);
	rd->sent = ev_now(r->ctx->loop);
	kube_get_deployment(&r->ctx->kube, r->name, r->state_deadline,
	    inflight_got, rd);
}

static void
state_inflight(struct run *r)
{
	struct op	*o = kube_write_cancel(&r->patch);

	if (o != NULL) {
		log_info("%s: cancelled the %s PATCH still in flight", r->name,
		    what(r));
		(void)op_done(o, NULL, NULL);
	}
	if (r->patch.last_sent <= 0) {
		/* no attempt went out: none can land */
		inflight_decided(r, PATCH_LOST);
		return;
	}
	inflight_read(r);
}

/* The wait (at most the window) and a read. */
static double
inflight_deadline(struct run *r)
{
	return inflight_window(r) + deadline_request(r);
}

const struct state st_inflight = { "inflight", inflight_deadline,
	state_inflight, NULL };
