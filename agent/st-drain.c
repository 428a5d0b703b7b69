/*
 * st-drain.c -- CANCEL and DRAIN: stop every worker fetching, then wait
 * until nothing runs or is prefetched.
 *
 * Event mode: the broker's Celery events (subscribed before any cancel,
 * follow.c) remove finished task ids from each worker's in-flight set,
 * seeded from one refresh after the cancel (the bookkeeping: drainset.h);
 * an empty set is confirmed with one refresh.
 * Polling mode (--no-events, events unavailable, or silent): refresh each
 * worker every --poll-interval.
 */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "census.h"
#include "events.h"
#include "follow.h"
#include "handover.h"
#include "journal.h"
#include "lease.h"
#include "recheck.h"
#include "report.h"
#include "retry.h"
#include "runpriv.h"

#define EVENT_SILENCE	7.0	/* heartbeats come every 2 s */
/* r->census: DRAIN's last look at the pods before they are stopped */
enum census_step {
	CENSUS_NONE,		/* not begun, or to begin again */
	CENSUS_READING,		/* in place: the workload's version */
	CENSUS_LISTING,		/* the pods and the workers being read */
	CENSUS_ADDING,		/* the newcomers' queues being read */
	CENSUS_WAITING,		/* a worker not known yet: look again soon */
};
#define CENSUS_AGAIN	1.0	/* seconds between two looks */

static void	cancelled(enum flower_err, const char *, void *);
static void	checked(enum flower_err, struct worker_snap *, const char *,
		    void *);
static void	cancel_settled(struct run *);
static void	confirm(struct run *, size_t wi);
static void	drain_check(struct run *);
static void	drain_step(struct run *, int poll);
static void	status_checked(enum flower_err, struct worker_status *, size_t,
		    const char *, void *);
static void	pods_checked(enum kube_err, json_t *, const char *, void *);
static int	census_step(struct run *);
static void	cancel_again(struct run *, size_t wi);

/* ---- CANCEL ---------------------------------------------------------- */

static void	cancel_send(struct run *);

/* The journal names every queue to cancel before the first cancel. */
static void
state_cancel(struct run *r)
{
	size_t	i, j;

	r->census = CENSUS_NONE;
	if (r->fsm.shed)
		handover_shed_workers(r);
	for (i = 0; i < r->nw; i++) {
		struct wk *w = &r->w[i];
		w->rechecks = 0;
		w->cancel_asks = 0;
		for (j = 0; j < w->queues.n; j++)
			if (!strv_has(&w->cancelled, w->queues.v[j]))
				strv_add(&w->cancelled, w->queues.v[j]);
	}
	journal_write(r, cancel_send);
}

static void
cancel_send(struct run *r)
{
	size_t	i, j;

	if (!lease_check(r))
		return;
	r->step = 1;		/* settled when every cancel is answered */
	for (i = 0; i < r->nw; i++) {
		struct wk *w = &r->w[i];
		if (w->drained || w->gone)	/* back for newcomers */
			continue;
		for (j = 0; j < w->queues.n; j++)
			ctl_consumer(&r->ctx->ctl, 0, w->name, w->queues.v[j],
			    r->state_deadline, cancelled, op_new(r, i, j));
	}
}

/*
 * Step 1: every cancel answered: check each worker (step 2). Step 2: every
 * check in: on to DRAIN.
 */
static void
cancel_settled(struct run *r)
{
	size_t	i;

	if (r->step == 1 && r->err[0] == '\0') {
		log_info("%s: cancelled the consumers of %zu worker(s) via %s",
		    r->name, r->nw, ctl_via_name(&r->ctx->ctl));
		r->step = 2;
		for (i = 0; i < r->nw; i++)
			if (!r->w[i].drained && !r->w[i].gone)
				ctl_refresh(&r->ctx->ctl, r->w[i].name,
				    r->state_deadline, checked,
				    op_new(r, i, 0));
		if (r->pending > 0)
			return;
	}
	if (r->step >= 1)
		run_next(r, r->err[0] ? IN_FAIL : IN_OK);
}

/*
 * Remember a task the drain waits for (the JSON report lists them): an
 * object by id (a hash table; it keeps the order of insertion).
 */
static void
waited_add(struct wk *w, const char *id, const char *name, const char *state)
{
	if (w->waited == NULL)
		w->waited = json_object();
	if (json_object_get(w->waited, id) != NULL)
		return;
	json_object_set_new(w->waited, id, json_pack("{s:s,s:s}", "name", name,
	    "state", state));
}

/*
 * Flower refused the call itself (no API, read-only, credentials): nothing
 * reached the worker, whose consumer is not to be restored.
 */
static void
uncancel(struct wk *w, const char *queue)
{
	struct strv	keep = { NULL, 0 };
	size_t		i;

	for (i = 0; i < w->cancelled.n; i++)
		if (strcmp(w->cancelled.v[i], queue) != 0)
			strv_add(&keep, w->cancelled.v[i]);
	strv_free(&w->cancelled);
	w->cancelled = keep;
}

/* The wait before asking worker o->wi again to cancel queue o->qi is over. */
static void
cancel_retry(int revents, void *arg)
{
	struct op	*o = arg;
	struct run	*r = o->r;

	(void)revents;
	if (o->gen == r->gen && r->err[0] == '\0' && lease_check(r))
		ctl_consumer(&r->ctx->ctl, 0, r->w[o->wi].name,
		    r->w[o->wi].queues.v[o->qi], r->state_deadline, cancelled,
		    op_new(r, o->wi, o->qi));
	op_done(o, NULL, NULL);
}

static void
cancelled(enum flower_err e, const char *err, void *arg)
{
	size_t		 wi, qi;
	struct run	*r = op_done(arg, &wi, &qi);
	struct wk	*w;
	double		 wait;

	if (r == NULL)
		return;
	w = &r->w[wi];
	if (e == FLOWER_ENOREPLY && r->err[0] == '\0') {
		wait = retry_cancel(++w->cancel_asks, run_time_left(r),
		    (double)random() / RAND_MAX);
		if (wait >= 0) {
			log_warn("%s: worker %s did not answer the cancel of "
			    "%s (%s); asking it again in %.1fs (attempt %d of "
			    "%d)", r->name, w->name, w->queues.v[qi], err, wait,
			    w->cancel_asks + 1, CANCEL_ASKS);
			ev_once(r->ctx->loop, -1, 0, wait, cancel_retry,
			    op_new(r, wi, qi));
			return;
		}
	}
	if (e == FLOWER_ENOAPI || e == FLOWER_EREADONLY || e == FLOWER_EAUTH)
		uncancel(&r->w[wi], r->w[wi].queues.v[qi]);
	if (e != FLOWER_OK)
		run_fail(r, "%s", err);
}

/* The refresh after the cancel: no queue may be left; seed the sets. */
static void
checked(enum flower_err e, struct worker_snap *s, const char *err, void *arg)
{
	size_t		 wi;
	struct run	*r = op_done(arg, &wi, NULL);
	struct wk	*w;
	char		*q;

	if (r == NULL)
		return;
	w = &r->w[wi];
	if (e != FLOWER_OK)
		run_fail(r, "%s", err);
	else {
		worker_snap_move(&w->snap, s);
		q = strv_join(&w->snap.queues, ", ");
		if (w->snap.queues.n > 0 && refresh_again(r, wi, checked)) {
			log_info("%s: worker %s still lists %s right after the "
			    "cancel (an answer begun before it?); checking "
			    "again", r->name, w->name, q);
			free(q);
			return;
		}
		if (w->snap.queues.n > 0)
			run_fail(r, "worker %s still consumes %s after the "
			    "cancel (checked %d times over %.0fs)", w->name, q,
			    w->rechecks + 1, w->rechecks * RECHECK_GAP);
		free(q);
		drainset_seed(&w->tasks, &w->snap);
		for (size_t i = 0; i < w->snap.active.n; i++)
			waited_add(w, w->snap.active.v[i].id,
			    w->snap.active.v[i].name, "running");
		for (size_t i = 0; i < w->snap.reserved.n; i++)
			waited_add(w, w->snap.reserved.v[i].id,
			    w->snap.reserved.v[i].name, "prefetched");
		if (w->snap.scheduled.n > 0) {
			char *d = tasks_describe(&w->snap.scheduled, now_wall());
			log_warn("%s: worker %s holds %zu task(s) with an ETA: %s;"
			    " not waited for: the worker's warm shutdown puts "
			    "them back on the queue", r->name, w->name,
			    w->snap.scheduled.n, d);
			free(d);
		}
	}
}

/* ---- the census: every worker of the old pods drained? --------------- */

/*
 * Just before the action that stops the old pods (RESTART's PATCH in place,
 * RETIRE with --handover), DRAIN lists the pods again and the workers the
 * broker (or Flower) knows: a replica added meanwhile (an autoscaler, oc
 * scale), a pod that was Pending or crash-looping at RESOLVE and whose
 * worker came up, must not be stopped with its tasks. census_decide()
 * (census.h) says what to do; a newcomer is recorded in the journal and
 * cancelled (back to CANCEL, IN_MORE), a worker not known yet is waited
 * for within the drain's time limit (then the run restores, as a drain
 * that times out does).
 */

/* Whether the action after DRAIN stops pod p. */
static int
census_stops(struct run *r, const struct pod_info *p)
{
	const char	*bare;
	json_t		*h;
	size_t		 i;
	long		 o;

	if (r->fsm.handover) {
		/* RETIRE deletes the pods DETACH recorded */
		json_array_foreach(json_object_get(r->ho, "pods"), i, h) {
			const char *n = json_string_value(json_object_get(h,
			    "name"));
			if (n != NULL && strcmp(n, p->name) == 0)
				return 1;
		}
		return 0;
	}
	/* a StatefulSet's restart leaves the pods below its partition */
	if (kube_target_split(r->name, &bare) && r->dep.partition > 0) {
		o = sts_pod_ordinal(bare, p->name);
		return !(o >= 0 && o < r->dep.partition);
	}
	return 1;
}

static void
census_wait_cb(int revents, void *arg)
{
	(void)revents;
	(void)op_done(arg, NULL, NULL);		/* settles: drain_check() */
}

/* Look again in a moment (a counted op holds the state meanwhile). */
static void
census_later(struct run *r, const char *why)
{
	if (strcmp(why, r->last_line) != 0) {
		log_info("%s: %s; looking again", r->name, why);
		snprintf(r->last_line, sizeof r->last_line, "%s", why);
	}
	r->census = CENSUS_WAITING;
	ev_once(r->ctx->loop, -1, 0, CENSUS_AGAIN, census_wait_cb,
	    op_new(r, 0, 0));
}

/* Pods stopped with nothing to drain are named, never stopped silently. */
static void
census_say_idle(struct run *r, const struct census_pod *pods,
    const enum census_verdict *v, size_t np)
{
	const struct pod_info	*p;
	size_t			 i;

	for (i = 0; i < np; i++) {
		p = pod_list_find(&r->census_pods, pods[i].name);
		if (v[i] == CV_IDLE)
			log_info("%s: pod %s (%s) runs no container: it holds "
			    "no task; stopped with the others", r->name,
			    pods[i].name, p != NULL ? p->state : "?");
	}
}

/* Why census_decide() waits, in words (the first pod that makes it). */
static void
census_why(struct run *r, const struct census_pod *pods,
    const enum census_verdict *v, size_t np, char *out, size_t len)
{
	size_t	i;

	for (i = 0; i < np; i++) {
		const struct pod_info *p = pod_list_find(&r->census_pods,
		    pods[i].name);
		if (v[i] == CV_UNKNOWN) {
			snprintf(out, len, "pod %s (%s) runs but no worker is "
			    "online there yet: not stopping it before its "
			    "worker is known and drained", pods[i].name,
			    p != NULL ? p->state : "?");
			return;
		}
		if (v[i] == CV_BUSY) {
			snprintf(out, len, "a worker of pod %s is not drained "
			    "yet", pods[i].name);
			return;
		}
	}
	snprintf(out, len, "waiting");
}

static void
census_decided(struct run *r)
{
	struct census_pod	*pods;
	struct census_worker	*ws;
	enum census_verdict	*v;
	size_t			 nws, np = r->census_pods.n;
	char			 why[sizeof r->last_line];

	census_facts(r, census_stops, &pods, &ws, &nws);
	v = xcalloc(np + 1, sizeof *v);
	switch (census_decide(pods, np, ws, nws, v)) {
	case CA_GO:
		r->census = CENSUS_NONE;
		r->last_line[0] = '\0';
		census_old_pods(r, pods, np);
		census_say_idle(r, pods, v, np);
		log_info("%s: looked at the pods again: every worker of the "
		    "pods to stop is drained", r->name);
		run_next(r, IN_OK);
		break;
	case CA_DRAIN:
		r->census = CENSUS_ADDING;
		census_add(r, pods, np, ws, nws);
		break;
	case CA_WAIT:
		census_why(r, pods, v, np, why, sizeof why);
		census_later(r, why);
		break;
	}
	free(pods);
	free(ws);
	free(v);
}

/*
 * Called by drain_step() when every worker is drained and nothing is in
 * flight: 0 if the action may go ahead (no census: --drain-only stops
 * nothing); else the census has work under way, or has moved the run on.
 */
static int
census_step(struct run *r)
{
	/* after the restart, ROLLOUT's census looks at the pods */
	if (r->fsm.drain_only || r->fsm.midroll)
		return 0;
	switch (r->census) {
	case CENSUS_NONE:
	case CENSUS_WAITING:
		/* in place, the workload first: the restart PATCH applies
		 * only to the version whose pods this census sees (a scale
		 * after this read makes it 409: landed.h patch_again()) */
		if (!r->fsm.handover) {
			r->census = CENSUS_READING;
			census_read_version(r);
			return 1;
		}
		r->census = CENSUS_LISTING;
		census_gather(r, 0, 1);
		return 1;
	case CENSUS_READING:
		if (r->census_failed) {
			census_later(r, r->last_line);
			return 1;
		}
		r->census = CENSUS_LISTING;
		census_gather(r, 0, 1);
		return 1;
	case CENSUS_LISTING:
		if (r->census_failed)
			census_later(r, r->last_line);
		else
			census_decided(r);
		return 1;
	case CENSUS_ADDING:
		r->census = CENSUS_NONE;
		if (r->err[0] != '\0') {
			run_next(r, IN_FAIL);
			return 1;
		}
		if (r->fsm.handover)	/* recovery knows them too */
			json_object_set_new(r->ho, "workers",
			    run_workers_json(r, 0));
		run_next(r, IN_MORE);
		return 1;
	}
	return 0;
}

/* ---- DRAIN ----------------------------------------------------------- */

static void
state_drain(struct run *r)
{
	struct ctx	*c = r->ctx;

	r->polling = c->o->no_events || !c->events_up;
	r->pod_checking = 0;
	r->census = CENSUS_NONE;
	free(r->census_rv);	/* a forced restart has no census */
	r->census_rv = NULL;
	r->last_line[0] = '\0';
	if (r->polling && !c->o->no_events && !r->said_polling) {
		log_warn("%s: no Celery events from the broker; polling every "
		    "%.0fs instead", r->name, c->o->poll_interval);
		r->said_polling = 1;
	}
	report_progress(r, 1);
	r->last_progress = ev_now(c->loop);
	run_tick_every(r, r->polling ? c->o->poll_interval : 1.0,
	    r->polling ? c->o->poll_interval : 1.0);
	drain_step(r, r->polling);
}

/*
 * One --drain-timeout for the whole drain: a DRAIN entered again for
 * workers that appeared mid-run (IN_MORE) has what the first ones left.
 */
static double
drain_deadline(struct run *r)
{
	double	left = r->ctx->o->drain_timeout - r->t_state[ST_DRAIN];

	/* workers found during the rollout: a --drain-timeout of their own */
	if (r->ctx->o->drain_timeout <= 0 || r->fsm.midroll)
		return r->ctx->o->drain_timeout;
	return left > 1 ? left : 1;
}


static int
all_drained(struct run *r)
{
	size_t	i;

	for (i = 0; i < r->nw; i++)
		if (!r->w[i].drained && !r->w[i].gone)
			return 0;
	return 1;
}

/*
 * Move on once every worker is drained; else confirm the workers whose
 * in-flight set is empty (event mode) or, on a polling tick, every worker.
 */
static void
drain_check(struct run *r)
{
	drain_step(r, 0);
}

static void
drain_step(struct run *r, int poll)
{
	size_t	i;

	if (r->fsm.state != ST_DRAIN)
		return;
	if (r->census == CENSUS_ADDING) {
		/* newcomers: nothing is sent to them before the journal */
		if (r->pending == 0)
			census_step(r);
		return;
	}
	if (all_drained(r)) {
		if (r->pending == 0 && !census_step(r)) {
			report_progress(r, 1);
			run_next(r, IN_OK);
		}
		return;
	}
	r->census = CENSUS_NONE;	/* looked at again once drained */
	for (i = 0; i < r->nw; i++) {
		struct wk *w = &r->w[i];
		if (w->drained || w->gone || w->confirming)
			continue;
		if (poll || (!r->polling && drainset_drained(&w->tasks)))
			confirm(r, i);
	}
}

static void
vanished(struct run *r, struct wk *w, const char *why)
{
	char	*a = tasks_describe(&w->snap.active, now_wall());
	char	*p = tasks_describe(&w->snap.reserved, now_wall());

	w->gone = 1;
	w->nlost = drainset_inflight(&w->tasks);
	if (w->nlost > 0) {
		w->lost = xasprintf("running: %s; prefetched: %s", a[0] ? a :
		    "none", p[0] ? p : "none");
		log_err("%s: worker %s vanished (%s) while holding %zu "
		    "task(s), possibly lost: %s", r->name, w->name, why,
		    w->nlost, w->lost);
		if (r->fsm.midroll && r->lost_why[0] == '\0')
			snprintf(r->lost_why, sizeof r->lost_why, "worker %s "
			    "of the old template vanished (%s) before its "
			    "drain during the rollout ended (a scale-down "
			    "deletes the old ReplicaSet's pods, paused or "
			    "not), holding %zu task(s), possibly lost: %s",
			    w->name, why, w->nlost, w->lost);
		run_next(r, IN_VANISHED);
	} else
		log_warn("%s: worker %s vanished (%s); it held no task",
		    r->name, w->name, why);
	free(a);
	free(p);
}

/*
 * Celery says a worker is silent or offline. That alone does not make it
 * gone: while the broker or Flower fails, a live worker cannot answer,
 * and restarting its pod would cut the task it runs. Kubernetes decides:
 * the worker has vanished only if its pod is gone, being deleted, exited
 * or restarted (pod_gone_why()).
 */
static void
suspect(struct run *r, struct wk *w)
{
	w->suspect = 1;
	if (r->pod_checking)
		return;
	r->pod_checking = 1;
	kube_list(&r->ctx->kube, "pods", r->dep.selector, r->state_deadline,
	    pods_checked, op_new(r, 0, 0));
}

static void
pods_checked(enum kube_err e, json_t *obj, const char *err, void *arg)
{
	struct run	*r = op_done(arg, NULL, NULL);
	struct pod_info	 then;
	struct pod_list	 pl;
	const char	*pod, *why;
	char		 sub[256];
	size_t		 i;

	if (r == NULL)
		return;
	r->pod_checking = 0;
	if (e == KUBE_OK && pods_parse(obj, &pl, sub, sizeof sub) == -1)
		err = sub;
	if (e != KUBE_OK || err == sub) {
		log_warn("%s: cannot ask Kubernetes whether the silent "
		    "worker's pod still runs (%s); still waiting", r->name,
		    err);
		drain_check(r);
		return;
	}
	for (i = 0; i < r->nw; i++) {
		struct wk *w = &r->w[i];
		if (!w->suspect || w->gone || w->drained)
			continue;
		w->suspect = 0;
		pod = worker_pod(w->name);
		why = pod_gone_why(pod_list_find(&pl, pod),
		    worker_pod_then(r, w, &then));
		if (why != NULL)
			vanished(r, w, why);
		else
			log_warn("%s: worker %s does not answer, but its pod %s "
			    "runs: the broker or Flower may be failing; still "
			    "waiting for its tasks", r->name, w->name, pod);
	}
	pod_list_free(&pl);
	drain_check(r);
}

static void
confirmed(enum flower_err e, struct worker_snap *s, const char *err,
    void *arg)
{
	size_t		 wi;
	struct run	*r = op_done(arg, &wi, NULL);
	struct wk	*w;
	double		 prev;

	if (r == NULL)
		return;
	w = &r->w[wi];
	w->confirming = 0;
	if (e == FLOWER_OK) {
		prev = w->snap.timestamp;
		if (s->timestamp != 0 && s->timestamp == prev) {
			/*
			 * Flower's stale cache: the worker did not answer.
			 * Is it still online?
			 */
			log_warn("%s: %s did not answer (stale data); checking "
			    "whether it is still online", r->name, w->name);
			ctl_status(&r->ctx->ctl, r->state_deadline,
			    status_checked, op_new(r, 0, 0));
			drain_check(r);
			return;
		}
		worker_snap_move(&w->snap, s);
		drainset_seed(&w->tasks, &w->snap);
		if (worker_drained(&w->snap)) {
			w->drained = 1;
			log_info("%s: worker %s is drained", r->name, w->name);
			if (r->fsm.handover)
				handover_drained(r, wi);
		} else if (w->snap.queues.n > 0) {
			log_warn("%s: worker %s consumes again (someone re-added "
			    "its consumers?); cancelling again", r->name,
			    w->name);
			cancel_again(r, wi);
		}
	} else if (e == FLOWER_EUNKNOWN || e == FLOWER_ENOREPLY) {
		suspect(r, w);
	} else
		log_warn("%s: %s", r->name, err);
	drain_check(r);
}

static void
confirm(struct run *r, size_t wi)
{
	r->w[wi].confirming = 1;
	ctl_refresh(&r->ctx->ctl, r->w[wi].name, r->state_deadline, confirmed,
	    op_new(r, wi, 0));
}

static void
recancelled(enum flower_err e, const char *err, void *arg)
{
	struct run	*r = op_done(arg, NULL, NULL);

	if (r == NULL)
		return;
	if (e != FLOWER_OK)
		log_warn("%s: %s", r->name, err);
	drain_check(r);		/* a confirmation may be waiting on it */
}

static void
cancel_again(struct run *r, size_t wi)
{
	struct wk	*w = &r->w[wi];
	size_t		 j;

	if (!lease_check(r))
		return;
	for (j = 0; j < w->snap.queues.n; j++) {
		if (!strv_has(&w->cancelled, w->snap.queues.v[j]))
			strv_add(&w->cancelled, w->snap.queues.v[j]);
		ctl_consumer(&r->ctx->ctl, 0, w->name, w->snap.queues.v[j],
		    r->state_deadline, recancelled, op_new(r, wi, j));
	}
}

static void
status_checked(enum flower_err e, struct worker_status *ws, size_t n,
    const char *err, void *arg)
{
	struct run	*r = op_done(arg, NULL, NULL);
	size_t		 i, j;
	int		 online;

	if (r == NULL || e != FLOWER_OK) {
		if (r != NULL)
			log_warn("%s: %s", r->name, err);
		worker_status_free(ws, n);
		return;
	}
	for (i = 0; i < r->nw; i++) {
		struct wk *w = &r->w[i];
		if (w->gone || w->drained)
			continue;
		online = 0;
		for (j = 0; j < n; j++)
			if (strcmp(ws[j].name, w->name) == 0)
				online = ws[j].online;
		if (!online)
			suspect(r, w);
	}
	worker_status_free(ws, n);
	drain_check(r);
}

static void
drain_tick(struct run *r)
{
	struct ctx	*c = r->ctx;
	double		 now = ev_now(c->loop);
	size_t		 i;

	if (!r->polling) {
		for (i = 0; i < r->nw; i++) {
			struct wk *w = &r->w[i];
			double last = w->last_event > r->t_enter ?
			    w->last_event : r->t_enter;
			if (w->drained || w->gone || now - last < EVENT_SILENCE)
				continue;
			log_warn("%s: no Celery events from %s for %.0fs; "
			    "polling every %.0fs instead", r->name, w->name,
			    now - last, c->o->poll_interval);
			r->polling = 1;
			run_tick_every(r, 0.01, c->o->poll_interval);
			return;
		}
	}
	if (now - r->last_progress >= c->o->progress_interval) {
		r->last_progress = now;
		backlog_read(r, NULL);
		report_progress(r, 0);
	}
	if (r->polling)
		drain_step(r, 1);
}

/* The event subscription is lost: poll until it is back. */
static void
drain_events_lost(struct run *r)
{
	struct ctx	*c = r->ctx;

	if (r->polling)
		return;
	log_warn("%s: lost the Celery event subscription; polling every %.0fs "
	    "until it is back", r->name, c->o->poll_interval);
	r->polling = 1;
	run_tick_every(r, 0.01, c->o->poll_interval);
}

/* An event for one of this run's workers (CANCEL, DRAIN). */
static void
drain_event(struct run *r, const struct cev *ev)
{
	struct wk	*w = run_worker(r, ev->hostname);

	if (w == NULL || w->gone)
		return;
	w->last_event = ev_now(r->ctx->loop);
	if ((r->fsm.state != ST_DRAIN && r->fsm.state != ST_CANCEL) ||
	    r->census == CENSUS_ADDING)	/* CANCEL seeds the newcomers */
		return;
	switch (ev->type) {
	case CEV_WORKER_HEARTBEAT:
		/*
		 * Nothing running and no task event for a while, yet tasks
		 * in flight: a lost event? Ask the worker once.
		 */
		if (r->fsm.state == ST_DRAIN && ev->active == 0 &&
		    !drainset_drained(&w->tasks) && !w->confirming &&
		    !w->drained &&
		    ev_now(r->ctx->loop) - w->last_task_event > EVENT_SILENCE) {
			w->last_task_event = ev_now(r->ctx->loop);
			confirm(r, (size_t)(w - r->w));
		}
		return;
	case CEV_WORKER_OFFLINE:
		if (r->fsm.state == ST_DRAIN)
			ctl_status(&r->ctx->ctl, r->state_deadline,
			    status_checked, op_new(r, 0, 0));
		return;
	case CEV_TASK_RECEIVED:
	case CEV_TASK_STARTED:
		break;
	default:
		if (!cev_task_final(ev->type))
			return;
		break;
	}
	w->last_task_event = ev_now(r->ctx->loop);
	switch (drainset_event(&w->tasks, ev->type, ev->uuid)) {
	case DS_WAITING:
		waited_add(w, ev->uuid, "?", "received after the cancel");
		w->drained = 0;
		break;
	case DS_FINISHED:
		if (r->fsm.state == ST_DRAIN && drainset_drained(&w->tasks))
			drain_check(r);
		break;
	case DS_NONE:
		break;
	}
}

/* "W: running id name for 3m; prefetched id name" for every worker. */
static char *
drain_blockers(struct run *r)
{
	char	*out = xstrdup(""), *a, *p, *n;
	size_t	 i;

	for (i = 0; i < r->nw; i++) {
		struct wk *w = &r->w[i];
		if (w->drained || w->gone)
			continue;
		a = tasks_describe(&w->snap.active, now_wall());
		p = tasks_describe(&w->snap.reserved, now_wall());
		n = xasprintf("%s%s%s: running %s; prefetched %s", out,
		    out[0] ? "; " : "", w->name, a[0] ? a : "none",
		    p[0] ? p : "none");
		free(a);
		free(p);
		free(out);
		out = n;
	}
	if (out[0] == '\0' && r->census != CENSUS_NONE && r->last_line[0]) {
		free(out);
		out = xstrdup(r->last_line);
	}
	return out;
}

/* The drain's time is up: the cause names what still holds it. */
static void
drain_timed_out(struct run *r)
{
	char	*b = drain_blockers(r);

	run_fail(r, "drain timed out after %s; still held: %s",
	    duration_fmt(r->state_len, r->tmp, sizeof r->tmp), b);
	free(b);
}

const struct state st_cancel = {
	.name = "cancel",
	.deadline = deadline_minute,
	.enter = state_cancel,
	.settled = cancel_settled,
	.event = drain_event,
	.journal_ahead = 1,
};
const struct state st_drain = {
	.name = "drain",
	.deadline = drain_deadline,
	.enter = state_drain,
	.settled = drain_check,
	.tick = drain_tick,
	.event = drain_event,
	.events_lost = drain_events_lost,
	.timed_out = drain_timed_out,
};
