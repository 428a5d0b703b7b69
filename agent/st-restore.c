/*
 * st-restore.c -- RESTORE: give every worker that still exists the consumers
 * this run cancelled, and check that it consumes them again. A worker whose
 * pod no longer runs it (Kubernetes says so) has nothing to restore.
 */
#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lease.h"
#include "recheck.h"
#include "report.h"
#include "retry.h"
#include "runpriv.h"

static flower_done_cb readded;

/*
 * Worker w may be left without the consumers the run cancelled: say so at
 * once, naming it and the command that gives them back (the run's error
 * keeps the cause that made it restore, so this one would not be seen),
 * and fail the run (exit 9).
 */
static void
restore_lost(struct run *r, struct wk *w, const char *fmt, ...)
{
	va_list	 ap;
	char	 why[512];
	char	*cmd = run_undrain_command(r, &w->cancelled);

	va_start(ap, fmt);
	vsnprintf(why, sizeof why, fmt, ap);
	va_end(ap);
	log_err("%s: %s; worker %s may be left without consumers: once it "
	    "answers, give them back with: %s (or run drain-and-rollout "
	    "--recover)", r->name, why, w->name, cmd);
	free(w->undrain);
	w->undrain = cmd;		/* -o json */
	run_fail(r, "%s", why);
	r->bad = 1;
}

static void
rechecked(enum flower_err e, struct worker_snap *s, const char *err, void *arg)
{
	size_t		 wi, i;
	struct run	*r = op_done(arg, &wi, NULL);
	struct wk	*w;
	int		 ok = 1;

	if (r == NULL)
		return;
	w = &r->w[wi];
	if (e == FLOWER_EUNKNOWN) {
		w->gone = 1;
	} else if (e != FLOWER_OK) {
		restore_lost(r, w, "cannot check that %s consumes again: %s",
		    w->name, err);
	} else {
		for (i = 0; i < w->cancelled.n; i++)
			if (!strv_has(&s->queues, w->cancelled.v[i]))
				break;
		if (i < w->cancelled.n && refresh_again(r, wi, rechecked)) {
			log_info("%s: worker %s does not list %s yet right after "
			    "add-consumer (an answer begun before it?); checking "
			    "again", r->name, w->name, w->cancelled.v[i]);
			return;
		}
		for (i = 0; i < w->cancelled.n && ok; i++)	/* said once */
			if (!strv_has(&s->queues, w->cancelled.v[i])) {
				restore_lost(r, w, "worker %s still does not "
				    "consume %s after add-consumer", w->name,
				    w->cancelled.v[i]);
				ok = 0;
			}
		if (ok) {
			char *q = strv_join(&w->cancelled, ", ");
			log_info("%s: worker %s consumes %s again", r->name,
			    w->name, q);
			free(q);
		}
	}
}

/* Worker wi's add-consumer of every queue this run cancelled. */
static void
readd(struct run *r, size_t wi)
{
	struct wk	*w = &r->w[wi];
	size_t		 j;

	w->confirming = 0;
	w->asked++;
	for (j = 0; j < w->cancelled.n; j++)
		ctl_consumer(&r->ctx->ctl, 1, w->name, w->cancelled.v[j],
		    r->state_deadline, readded, op_new(r, wi, j));
}

/* The wait before asking worker o->wi again is over. */
static void
readd_again(int revents, void *arg)
{
	struct op	*o = arg;

	(void)revents;
	if (o->gen == o->r->gen)
		readd(o->r, o->wi);
	op_done(o, NULL, NULL);
}

/* Flower's list of workers (or the ping's answers), for restore_decide() */
static void
restore_status(enum flower_err e, struct worker_status *ws, size_t n,
    const char *err, void *arg)
{
	struct run	*r = op_done(arg, NULL, NULL);

	if (r == NULL) {
		worker_status_free(ws, n);
		return;
	}
	worker_status_free(r->census_ws, r->census_nws);
	r->census_ws = NULL;
	r->census_nws = 0;
	r->census_listed = e == FLOWER_OK;
	if (e == FLOWER_OK) {
		r->census_ws = ws;
		r->census_nws = n;
	} else {
		snprintf(r->last_line, sizeof r->last_line, "%s", err);
		worker_status_free(ws, n);
	}
}

/* The Deployment's pods, for restore_decide(): Kubernetes has the word. */
static void
restore_pods(enum kube_err e, json_t *obj, const char *err, void *arg)
{
	struct run	*r = op_done(arg, NULL, NULL);
	char		 sub[256];

	if (r == NULL)
		return;
	pod_list_free(&r->census_pods);
	r->census_pods_ok = e == KUBE_OK && pods_parse(obj, &r->census_pods,
	    sub, sizeof sub) == 0;
	if (!r->census_pods_ok)
		log_warn("%s: cannot ask Kubernetes whether the pods of the "
		    "workers that did not take their consumers back still "
		    "run: %s", r->name, e == KUBE_OK ? sub : err);
}

/*
 * Each worker whose add-consumer failed: gone, asked again, or the run
 * fails (retry_readd()), from the list of workers and the pods.
 */
static void
restore_decide(struct run *r)
{
	struct readd_facts	 f;
	struct readd_decision	 d;
	struct pod_info		 then;
	const char		*gone;
	size_t			 i, j;
	int			 known;

	for (i = 0; i < r->nw; i++) {
		struct wk *w = &r->w[i];
		if (w->gone || !w->confirming)	/* confirming: add failed */
			continue;
		memset(&f, 0, sizeof f);
		f.listed = r->census_listed;
		f.online = -1;
		for (j = 0; f.listed && j < r->census_nws; j++)
			if (strcmp(r->census_ws[j].name, w->name) == 0)
				f.online = r->census_ws[j].online;
		known = r->census_pods_ok && worker_pod(w->name) != NULL;
		gone = known ? pod_gone_why(pod_list_find(&r->census_pods,
		    worker_pod(w->name)), worker_pod_then(r, w, &then)) : NULL;
		f.pod_runs = known ? gone == NULL : -1;
		f.asked = w->asked;
		f.pinged = r->ctx->ctl.via == VIA_BROKER;
		f.left = run_time_left(r);
		f.jitter = (double)random() / RAND_MAX;
		d = retry_readd(&f);
		if (d.verdict == READD_GONE) {
			log_info("%s: worker %s is gone (%s); nothing to "
			    "restore", r->name, w->name, gone);
			w->gone = 1;
		} else if (d.verdict == READD_AGAIN) {
			log_warn("%s: worker %s %s but did not take its "
			    "consumers back; asking it again in %.1fs (attempt "
			    "%d of %d)", r->name, w->name, f.online == 1 ?
			    "is online" : f.pod_runs == 1 ? "runs (its pod "
			    "does)" : "may run (its pod could not be listed)",
			    d.wait, w->asked + 1, READD_ASKS);
			w->confirming = 0;
			r->step = 0;	/* once answered: step 0 again */
			ev_once(r->ctx->loop, -1, 0, d.wait, readd_again,
			    op_new(r, i, 0));
		} else {
			restore_lost(r, w, "could not re-add the consumers of "
			    "%s (%s; asked %d time%s)", w->name, f.listed ||
			    f.pod_runs == 1 ? d.why : r->last_line, w->asked,
			    w->asked == 1 ? "" : "s");
		}
	}
}

static void
readded(enum flower_err e, const char *err, void *arg)
{
	size_t		 wi;
	struct run	*r = op_done(arg, &wi, NULL);

	if (r == NULL)
		return;
	if (e != FLOWER_OK) {
		r->w[wi].confirming = 1;	/* check whether it is gone */
		log_debug("%s: %s", r->name, err);
	}
}

/*
 * How long the pods are listed for: a request's time at most, so that an
 * API server down (retried until the deadline) does not keep an online
 * worker from being asked again before RESTORE's deadline.
 */
static double
restore_patience(struct run *r)
{
	double	until = ev_now(r->ctx->loop) + r->ctx->o->request_timeout;

	return r->state_deadline > 0 && r->state_deadline < until ?
	    r->state_deadline : until;
}

/*
 * Step 0: every add-consumer answered; if one failed, ask which workers
 * are online and list the pods (step 3), then decide (restore_decide(): a
 * worker asked again goes back to step 0). Then check that each worker
 * consumes again (step 2). Then the outcome.
 */
static void
restore_settled(struct run *r)
{
	size_t	i;
	int	failed = 0;

	if (r->step == 0) {
		for (i = 0; i < r->nw; i++)
			failed |= r->w[i].confirming && !r->w[i].gone;
		r->step = 1;
		if (failed) {
			r->step = 3;
			ctl_status(&r->ctx->ctl, r->state_deadline,
			    restore_status, op_new(r, 0, 0));
			kube_list(&r->ctx->kube, "pods", r->dep.selector,
			    restore_patience(r), restore_pods, op_new(r, 0, 0));
			return;
		}
	}
	if (r->step == 3) {
		r->step = 1;
		restore_decide(r);	/* asked again: step 0 */
		if (r->pending > 0)
			return;
	}
	if (r->step == 1) {
		r->step = 2;
		for (i = 0; i < r->nw && !r->bad; i++) {
			struct wk *w = &r->w[i];
			if (w->gone || w->cancelled.n == 0)
				continue;
			ctl_refresh(&r->ctx->ctl, w->name, r->state_deadline,
			    rechecked, op_new(r, i, 0));
		}
		if (r->pending > 0)
			return;
	}
	run_next(r, r->bad ? IN_FAIL : IN_OK);
}

static void
resumed(enum kube_err e, json_t *obj, const char *err, void *arg)
{
	struct run	*r = op_done(arg, NULL, NULL);

	(void)obj;
	if (r == NULL)
		return;
	if (e != KUBE_OK) {
		run_fail(r, "cannot resume deployment %s, paused to hold its "
		    "rollout: %s; resume it with oc rollout resume "
		    "deployment/%s (or run --recover)", r->name, err, r->name);
		r->bad = 1;
		return;
	}
	log_warn("%s: rollout resumed: the controller stops the pods of the "
	    "old template now, each worker in warm shutdown; a worker not "
	    "drained loses its running tasks (named above)", r->name);
}

static void
state_restore(struct run *r)
{
	size_t	i;

	r->bad = 0;
	if (!lease_check(r))
		return;
	if (r->fsm.held) {
		/*
		 * The rollout was held for workers of the old template and
		 * goes on once resumed, stopping their pods: consumers given
		 * back would only take tasks for them to lose.
		 */
		r->step = 2;
		kube_pause(&r->ctx->kube, r->name, 0, r->state_deadline, NULL,
		    resumed, op_new(r, 0, 0));
		return;
	}
	for (i = 0; i < r->nw; i++) {
		struct wk *w = &r->w[i];
		w->confirming = 0;
		w->rechecks = 0;
		w->asked = 0;
		if (!w->gone)
			readd(r, i);
	}
}

const struct state st_restore = {
	.name = "restore",
	.deadline = deadline_minute,
	.enter = state_restore,
	.settled = restore_settled,
};
