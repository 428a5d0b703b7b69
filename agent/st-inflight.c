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

#include "journal.h"
#include "landed.h"
#include "runpriv.h"

/* Seconds between the last read's own deadline and the state's. */
#define INFLIGHT_READ_SPARE	1.0

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

/* The PATCH in question is a pause: --handover's, or the held rollout's
 * (in place, fsm.held: the restart landed before it). */
static int
pausing(struct run *r)
{
	return r->patch_pause || (r->fsm.held && !r->fsm.handover);
}

static const char *
what(struct run *r)
{
	return pausing(r) ? "pause" : "restart";
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

/* The restart landed (or another's is rolling out): go on as restarted. */
static void
inflight_restarted(struct run *r)
{
	r->restart_sent = 1;
	run_next(r, r->ctx->interrupted || r->fsm.pending == OUT_INTERRUPTED ?
	    IN_INTERRUPT : IN_OK);
}

/* Refused, nothing landed, and the run was interrupted: it restores, and
 * the signal is why (the refusal failed nothing: the run would have looked
 * again). */
static void
inflight_stopped(struct run *r)
{
	run_fail(r, "interrupted by a signal");
	log_info("%s: nothing was restarted (the restart PATCH was refused); "
	    "re-adding the cancelled consumers", r->name);
	run_jump(r, ST_RESTORE, OUT_INTERRUPTED);
}

/* Refused, nothing landed: DRAIN's census again (fsm.h); unless a signal
 * came while the journal was written (the interrupt handler leaves
 * INFLIGHT alone: DRAIN would never hear of it). */
static void
inflight_again(struct run *r)
{
	if (r->ctx->interrupted) {
		inflight_stopped(r);
		return;
	}
	run_next(r, IN_MORE);
}

/* The fate decided: go on. seen: the restartedAt the Deployment shows. */
static void
inflight_decided(struct run *r, enum patch_fate f, const char *seen)
{
	int	stopping = r->ctx->interrupted ||
		    r->fsm.pending == OUT_INTERRUPTED;
	int	refused = r->refused;

	r->patch_last = 0;	/* nothing of ours can land any more */
	/* the refusal is this decision's only: a later INFLIGHT (the pause
	 * of a rollout held after this restart landed) waits for its own */
	r->refused = 0;
	if (f == PATCH_FOREIGN && !pausing(r) && !r->fsm.handover) {
		log_warn("%s: the Deployment was restarted by someone else "
		    "meanwhile (restartedAt %s, not this run's %s): its old "
		    "pods are being replaced, so their drained workers do not "
		    "get their queues back; %s", r->name, seen, r->restarted_at,
		    stopping ? "the journal is kept for --recover, which "
		    "follows that rollout" : "following that rollout");
		free(r->restarted_at);
		r->restarted_at = xstrdup(seen);
		if (!stopping)
			r->err[0] = '\0';
		/* --recover follows the restartedAt journaled */
		journal_write(r, inflight_restarted);
		return;
	}
	if (f == PATCH_LANDED && !pausing(r)) {
		if (stopping)
			log_warn("%s: the restart PATCH was applied (restartedAt "
			    "%s) although the run was interrupted: the rollout "
			    "goes on", r->name, r->restarted_at);
		else {
			/* what failed was the answer, not the restart */
			log_warn("%s: %s; but the restart PATCH was applied "
			    "(restartedAt %s): following the rollout", r->name,
			    r->err[0] ? r->err : "the restart PATCH failed",
			    r->restarted_at);
			r->err[0] = '\0';
		}
		inflight_restarted(r);
		return;
	}
	switch (patch_again(f, refused, r->refusals, stopping)) {
	case REFUSAL_AGAIN:
		log_info("%s: nothing was restarted; looking at its pods again "
		    "before the restart is sent again", r->name);
		journal_write(r, inflight_again);
		return;
	case REFUSAL_GIVE_UP:
		run_fail(r, "the restart PATCH of %s was refused %d times: "
		    "%s changed each time between the count of its pods and "
		    "the PATCH (a scale, a pod's status); nothing was "
		    "restarted; try again once it is stable", r->name,
		    r->refusals, r->name);
		break;
	case REFUSAL_STOPPED:
		inflight_stopped(r);
		return;
	case REFUSAL_NONE:
		break;
	}
	if (r->patch.last_sent > 0)
		log_info("%s: no attempt of the %s PATCH can land any more%s; "
		    "%s", r->name, what(r), f == PATCH_LANDED ? " (it was "
		    "applied)" : f == PATCH_FOREIGN ? " (the Deployment was "
		    "restarted by someone else)" : " (none was applied)",
		    r->fsm.handover ? "giving the old pods back" :
		    r->fsm.held ? "resuming the rollout it held" :
		    "re-adding the cancelled consumers");
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
		/* said here, whatever the run's first cause (a signal) was */
		log_err("%s: cannot tell whether the %s PATCH was applied: %s; "
		    "the workers stay drained and the journal is kept: run "
		    "'drain-and-rollout --recover %s' once the Kubernetes API "
		    "answers", r->name, what(r), err, r->name);
		run_fail(r, "cannot tell whether the %s PATCH of %s was applied: "
		    "%s", what(r), r->name, err);
		run_next(r, IN_TIMEOUT);
		return;
	}
	/* the pause: the run paused a Deployment that was not */
	f = patch_fate(pausing(r) ? "true" : r->restarted_at,
	    pausing(r) ? "false" : r->dep.restarted_at,
	    pausing(r) ? (d.paused ? "true" : "false") : d.restarted_at,
	    r->patch.last_sent > 0 && !r->refused, sent - r->patch.last_sent,
	    inflight_window(r), pausing(r), &wait);
	if (f != PATCH_WAIT) {
		inflight_decided(r, f, d.restarted_at);
		deploy_info_free(&d);
		return;
	}
	deploy_info_free(&d);
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
	/* it gives up just before the state does, so that its error is told */
	kube_get_deployment(&r->ctx->kube, r->name, r->state_deadline -
	    INFLIGHT_READ_SPARE, inflight_got, rd);
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
		inflight_decided(r, PATCH_LOST, NULL);
		return;
	}
	inflight_read(r);
}

/* The wait (at most the window) and a read. */
static double
inflight_deadline(struct run *r)
{
	return inflight_window(r) + deadline_request(r) + INFLIGHT_READ_SPARE;
}

const struct state st_inflight = {
	.name = "inflight",
	.deadline = inflight_deadline,
	.enter = state_inflight,
};
