/*
 * st-rollout.c -- RESTART, ROLLOUT and VERIFY: the PATCH that `oc rollout
 * restart` sends, `kubectl rollout status`'s wait, and the check that a new
 * worker consumes the deployment's queues again.
 */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "census.h"
#include "follow.h"
#include "journal.h"
#include "lease.h"
#include "podworkers.h"
#include "imgcheck.h"
#include "kwatch.h"
#include "report.h"
#include "runpriv.h"

/* ---- RESTART --------------------------------------------------------- */

static void	restart_send(struct run *);
static void	verify_template_from(struct run *, json_t *workload);
static void	rollout_seen(struct run *, json_t *);
static void	rollout_feed(struct run *, const char *, json_t *);

static long
generation(json_t *obj)
{
	return json_integer_value(json_object_get(json_object_get(obj,
	    "metadata"), "generation"));
}

static const char *
uid_of(json_t *obj)
{
	return json_string_value(json_object_get(json_object_get(obj,
	    "metadata"), "uid"));
}

/* From now on, ROLLOUT follows obj (its uid and generation). */
static void
rollout_follow(struct run *r, json_t *obj)
{
	const char	*uid = uid_of(obj);

	r->rollout_gen = generation(obj);
	free(r->rollout_uid);
	r->rollout_uid = uid != NULL ? xstrdup(uid) : NULL;
}

/* What ROLLOUT does with an object of its workload (kwatch_object()). */
static enum kwatch_use
rollout_use(struct run *r, const char *type, json_t *obj)
{
	struct kwatch_obj	 o;

	memset(&o, 0, sizeof o);
	o.deleted = strcmp(type, "DELETED") == 0;
	o.uid = uid_of(obj);
	o.generation = generation(obj);
	o.want_uid = r->rollout_uid;
	o.want_gen = r->rollout_gen;
	return kwatch_object(&o);
}

/*
 * The restart PATCH's precondition: the workload's resourceVersion DRAIN's
 * census read before the pods (in place; none when the drain was forced or
 * with --handover, whose old pods the restart does not stop).
 */
static const char *
restart_version(struct run *r)
{
	return r->fsm.handover || r->fsm.forced ? NULL : r->census_rv;
}

static void
patched(enum kube_err e, json_t *obj, const char *err, void *arg)
{
	struct run	*r = op_done(arg, NULL, NULL);
	json_t		*early;

	if (r == NULL)
		return;
	if (e == KUBE_ECONFLICT && restart_version(r) != NULL) {
		/* none of it can land: INFLIGHT reads what did, and the run
		 * looks at the pods again (landed.h patch_again()) */
		r->refused = 1;
		r->refusals++;
		log_info("%s: the restart PATCH was refused: %s changed since "
		    "its pods were counted (resourceVersion %s; %s)", r->name,
		    r->name, restart_version(r), err);
		run_next(r, IN_FAIL);
		return;
	}
	if (e != KUBE_OK) {
		run_abort(r, "%s", err);
		return;
	}
	r->restart_sent = 1;
	log_info("%s: rollout restart sent (restartedAt %s)", r->name,
	    r->restarted_at);
	/* the answer is the Deployment as restarted: ROLLOUT's first read,
	 * then what the watch saw since, if newer */
	early = r->rollout_early;
	r->rollout_early = NULL;
	if (!kube_target_split(r->name, NULL))
		rollout_follow(r, obj);
	run_next(r, IN_OK);
	if (r->rollout_gen > 0 && r->fsm.state == ST_ROLLOUT)
		rollout_seen(r, obj);
	if (early != NULL && r->rollout_gen > 0 && r->fsm.state == ST_ROLLOUT)
		rollout_feed(r, "MODIFIED", early);
	json_decref(early);
}

static void
state_restart(struct run *r)
{
	char	ts[32];
	size_t	i;

	r->rollout_gen = 0;
	free(r->rollout_uid);
	r->rollout_uid = NULL;
	json_decref(r->rollout_early);
	r->rollout_early = NULL;

	if (r->fsm.forced) {
		for (i = 0; i < r->nw; i++) {
			struct wk *w = &r->w[i];
			char *a, *p;
			if (w->drained || w->gone || drainset_drained(&w->tasks))
				continue;
			a = tasks_describe(&w->snap.active, now_wall());
			p = tasks_describe(&w->snap.reserved, now_wall());
			log_warn("%s: --on-timeout force: restarting %s anyway; "
			    "running tasks will be cut after the grace period: "
			    "%s; prefetched: %s", r->name, w->name, a[0] ? a :
			    "none", p[0] ? p : "none");
			free(a);
			free(p);
		}
	}
	free(r->restarted_at);
	r->restarted_at = xstrdup(rfc3339(now_wall(), ts, sizeof ts));
	/* the annotation, the old pods and until when the PATCH may go out
	 * are in Redis before it */
	run_patch_ahead(r, 0);
	journal_write(r, restart_send);
}

static void
restart_send(struct run *r)
{
	if (!lease_check(r))
		return;
	/* --handover: the same PATCH also resumes the paused Deployment */
	/* --only-stale: a paused image trigger's new image, as it would */
	kube_restart_images(&r->ctx->kube, r->name, r->restarted_at,
	    r->fsm.handover, imgcheck_images(r), restart_version(r),
	    r->state_deadline, &r->patch, patched, op_new(r, 0, 0));
}

/* ---- ROLLOUT --------------------------------------------------------- */

/* r->census in ROLLOUT (its census, below) */
enum roll_step {
	ROLL_IDLE,		/* between two polls */
	ROLL_LOOKING,		/* the census' facts being read */
	ROLL_ASKING,		/* ... and the workers online */
	ROLL_ADDING,		/* the newcomers' queues being read */
	ROLL_PAUSING,		/* the journal, then the pause */
	ROLL_PAUSING_MORE,	/* ... then drain the newcomers */
	ROLL_RESUMING,		/* the pause undone */
};

static void
got_rollout(enum kube_err e, json_t *obj, const char *err, void *arg)
{
	struct run	*r = op_done(arg, NULL, NULL);
	long		 gen;

	if (r == NULL)
		return;
	if (e != KUBE_OK) {
		if (e == KUBE_EAUTH || e == KUBE_EFORBIDDEN ||
		    e == KUBE_ENOTFOUND) {
			run_abort(r, "%s", err);
		} else
			log_warn("%s: %s (will retry)", r->name, err);
		return;
	}
	gen = generation(obj);
	/* the object as it is now: newer, or another one of that name */
	if (gen > r->rollout_gen || rollout_use(r, "MODIFIED", obj) ==
	    KWATCH_USE_REREAD)
		rollout_follow(r, obj);
	rollout_seen(r, obj);
}

/*
 * The watch's object of the run's Deployment (follow.h), RESTART's and
 * ROLLOUT's object hook: in RESTART, kept for patched(); in ROLLOUT, from
 * the PATCH's answer or the run's own first read on, as kwatch_object()
 * says: ignored if older than the restart, decided as that read would be,
 * or, deleted or another object of that name, read again (a 404 ends the
 * run).
 */
static void
rollout_feed(struct run *r, const char *type, json_t *obj)
{
	const char	*uid;

	if (kube_target_split(r->name, NULL))
		return;
	if (r->fsm.state == ST_RESTART && strcmp(type, "DELETED") != 0) {
		json_decref(r->rollout_early);
		r->rollout_early = json_incref(obj);
		return;
	}
	if (r->fsm.state != ST_ROLLOUT || r->rollout_gen == 0)
		return;
	switch (rollout_use(r, type, obj)) {
	case KWATCH_USE_IGNORE:
		return;
	case KWATCH_USE_REREAD:
		uid = uid_of(obj);
		if (strcmp(type, "DELETED") != 0)
			log_warn("%s: deployment %s was deleted and created "
			    "again during its rollout (uid %s, now %s): "
			    "following the new one", r->name, r->name,
			    r->rollout_uid, uid);
		r->rollout_gen = 0;	/* rollout_poll() reads it */
		return;
	case KWATCH_USE_DECIDE:
		rollout_seen(r, obj);
		return;
	}
}

/*
 * Look at the old template's pods (ROLLOUT's census) unless a look or any
 * other request of the run is still out: objects of the watch may come
 * faster than a look takes.
 */
static void
roll_look(struct run *r)
{
	if (r->census != ROLL_IDLE || r->pending > 0)
		return;
	r->census = ROLL_LOOKING;
	census_gather(r, 1, 0);		/* the workers if census_ask() says */
}

/* The workload as it is now: kubectl rollout status' decision on it. */
static void
rollout_seen(struct run *r, json_t *obj)
{
	char			 msg[300];
	enum rollout_state	 st;

	st = kube_target_split(r->name, NULL) ?
	    sts_rollout_status(obj, msg, sizeof msg) :
	    rollout_status(obj, msg, sizeof msg);
	if (r->fsm.handover && replica_failure(obj) != NULL &&
	    r->err[0] == '\0') {
		/* the old pods still run: the new ones find no room */
		run_abort(r, "the new pods of %s were not created: %s (a "
		    "handover needs room for %ld more pod(s) while the old "
		    "ones drain: a namespace quota?)", r->name,
		    replica_failure(obj), r->dep.replicas);
		return;
	}
	if (strcmp(msg, r->last_line) != 0) {
		log_info("%s: %s", r->name, msg);
		snprintf(r->last_line, sizeof r->last_line, "%s", msg);
	}
	if (st == ROLLOUT_DONE && !r->fsm.held) {
		verify_template_from(r, obj);
		run_next(r, IN_OK);
	} else if (st == ROLLOUT_FAILED) {
		run_abort(r, "%s", msg);
	} else if (!kube_target_split(r->name, NULL)) {
		rollout_watch(r->ctx);	/* follow it from now on */
		if (!r->fsm.handover) {
			/* the old template's pods, before the controller
			 * stops them */
			json_decref(r->census_dep);
			r->census_dep = json_incref(obj);
			roll_look(r);
		}
	}
}

/*
 * ROLLOUT's census (census_rollout()): until the rollout is complete, each
 * poll lists the pods and the ReplicaSets, and asks which workers are
 * online when a pod of the old template may run one the last answer did
 * not see, or that answer is 5 s old (census_ask(); the run's own pods,
 * drained, need no answer at every look); a worker of the old template
 * this run has not drained (a replica added by a scale while the restart
 * was in flight, or by proportional scaling during the rollout) is drained
 * with the rollout held: the Deployment paused (the journal says so
 * first), the worker cancelled and drained (CANCEL, DRAIN), then resumed.
 * A pod whose worker is not known yet holds it too.
 */

/* The rollout stops pod p: it is of the old template. */
static int
roll_stops(struct run *r, const struct pod_info *p)
{
	return p->tmpl != NULL && r->census_tmpl != NULL &&
	    strcmp(p->tmpl, r->census_tmpl) != 0;
}

static void
paused_cb(enum kube_err e, json_t *obj, const char *err, void *arg)
{
	struct run	*r = op_done(arg, NULL, NULL);

	(void)obj;
	if (r == NULL)
		return;
	if (e != KUBE_OK) {
		run_abort(r, "cannot pause deployment %s to hold its rollout: "
		    "%s", r->name, err);
		return;
	}
	if (!r->pause_sent)
		log_info("%s: paused to hold the rollout (oc rollout pause): "
		    "the controller stops no pod of the old template until the "
		    "run resumes it", r->name);
	r->pause_sent = 1;
}

static void
pause_send(struct run *r)
{
	if (!lease_check(r))
		return;
	/* tracked: a failure while held goes to INFLIGHT, which cancels
	 * it and resumes only once none of it can land */
	kube_pause(&r->ctx->kube, r->name, 1, r->state_deadline, &r->patch,
	    paused_cb, op_new(r, 0, 0));
}

/*
 * Hold the rollout: recorded (fsm.held, the journal, with the newcomers
 * to drain), then paused; more: then drain them.
 */
static void
roll_hold(struct run *r, int more)
{
	if (!r->fsm.held)
		run_next(r, IN_HOLD);
	r->census = more ? ROLL_PAUSING_MORE : ROLL_PAUSING;
	journal_write(r, pause_send);
}

static void
resumed_cb(enum kube_err e, json_t *obj, const char *err, void *arg)
{
	struct run	*r = op_done(arg, NULL, NULL);

	(void)obj;
	if (r == NULL)
		return;
	if (e != KUBE_OK) {
		run_abort(r, "cannot resume deployment %s (oc rollout resume "
		    "deployment/%s): %s", r->name, r->name, err);
		return;
	}
	log_info("%s: every worker of the old template is drained: rollout "
	    "resumed", r->name);
	r->pause_sent = 0;
	r->census = ROLL_IDLE;
	if (r->fsm.pending == OUT_INTERRUPTED)
		run_fail(r, "interrupted by a signal (the workers of the old "
		    "template drained and the rollout resumed first)");
	run_next(r, IN_RESUMED);
	if (r->fsm.state == ST_ROLLOUT)
		journal_write(r, NULL);		/* held no more */
}

static void
roll_resume(struct run *r)
{
	if (!lease_check(r))
		return;
	r->census = ROLL_RESUMING;
	kube_pause(&r->ctx->kube, r->name, 0, r->state_deadline, NULL,
	    resumed_cb, op_new(r, 0, 0));
}

/* The first pod that makes census_rollout() hold or give up, in words. */
static const char *
roll_unknown(struct run *r, const struct census_pod *pods,
    const enum census_verdict *v, size_t np)
{
	size_t	i;

	for (i = 0; i < np; i++)
		if (v[i] == CV_UNKNOWN)
			return pods[i].name;
	(void)r;
	return "?";
}

static void
roll_decide(struct run *r, int asked)
{
	struct census_pod	*pods;
	struct census_worker	*ws;
	enum census_verdict	*v;
	size_t			 nws, np = r->census_pods.n;
	const char		*t;
	double			 now = ev_now(r->ctx->loop), held;
	char			 why[sizeof r->last_line];

	r->census = ROLL_IDLE;
	if (r->census_failed) {
		log_info("%s: %s; looking again", r->name, r->last_line);
		return;
	}
	t = census_new_template(r->census_dep, r->census_rs);
	if (t == NULL) {
		snprintf(r->last_line, sizeof r->last_line, "the new "
		    "ReplicaSet of %s is not listed yet", r->name);
		return;
	}
	if (!r->fsm.held && json_is_true(json_object_get(json_object_get(
	    r->census_dep, "spec"), "paused"))) {
		/* someone else's pause (oc rollout pause): theirs to undo */
		snprintf(why, sizeof why, "deployment %s was paused by someone "
		    "else: waiting for it to be resumed (oc rollout resume "
		    "deployment/%s)", r->name, r->name);
		if (strcmp(why, r->last_line) != 0)
			log_warn("%s: %s", r->name, why);
		snprintf(r->last_line, sizeof r->last_line, "%s", why);
		return;
	}
	free(r->census_tmpl);
	r->census_tmpl = xstrdup(t);
	census_facts(r, roll_stops, &pods, &ws, &nws);
	if (!asked && census_ask(pods, (const char *const *)
	    r->census_marks.v, np, (const char *const *)r->census_known.v,
	    r->census_known.n, r->census_asked > 0 ? now - r->census_asked :
	    -1)) {
		r->census = ROLL_ASKING;
		census_ask_workers(r);
		free(pods);
		free(ws);
		return;
	}
	v = xcalloc(np + 1, sizeof *v);
	held = r->held_since > 0 ? now - r->held_since : 0;
	switch (census_rollout(pods, np, ws, nws, r->fsm.forced,
	    r->fsm.pending == OUT_INTERRUPTED, held, r->ctx->o->drain_timeout,
	    v)) {
	case CR_ROLL:
		if (asked) {
			size_t i;
			r->census_asked = now;
			strv_free(&r->census_known);
			for (i = 0; i < np; i++)
				strv_add(&r->census_known,
				    r->census_marks.v[i]);
		}
		r->held_since = 0;
		if (r->fsm.held)
			roll_resume(r);
		break;
	case CR_HOLD:
		strv_free(&r->census_known);	/* ask again */
		if (r->held_since == 0)
			r->held_since = now;
		snprintf(why, sizeof why, "pod %s of the old template runs "
		    "but no worker is online there yet: the rollout held until "
		    "its worker is known and drained", roll_unknown(r, pods, v,
		    np));
		if (strcmp(why, r->last_line) != 0)
			log_info("%s: %s", r->name, why);
		snprintf(r->last_line, sizeof r->last_line, "%s", why);
		if (!r->fsm.held)
			roll_hold(r, 0);
		break;
	case CR_DRAIN:
		strv_free(&r->census_known);
		r->held_since = 0;
		/* held from now on: an interrupt lets the drain finish */
		if (!r->fsm.held)
			run_next(r, IN_HOLD);
		r->census = ROLL_ADDING;
		census_add(r, pods, np, ws, nws);
		if (r->pending == 0)	/* only workers of the run's own */
			roll_hold(r, 1);
		break;
	case CR_GIVEUP:
		run_abort(r, "pod %s of the old template runs, but no worker "
		    "has been online there for %s: cannot tell whether it holds "
		    "tasks; the rollout is resumed and will stop it",
		    roll_unknown(r, pods, v, np), duration_fmt(held, r->tmp,
		    sizeof r->tmp));
		break;
	}
	free(pods);
	free(ws);
	free(v);
}

static void
rollout_settled(struct run *r)
{
	switch (r->census) {
	case ROLL_LOOKING:
	case ROLL_ASKING:
		roll_decide(r, r->census == ROLL_ASKING);
		break;
	case ROLL_ADDING:
		if (r->err[0] != '\0') {
			/* a newcomer not known: the rollout goes on as it
			 * would (RESTORE held gives no consumer back to the
			 * old workers it stops) and the run fails */
			if (!r->fsm.held)
				run_next(r, IN_HOLD);
			run_next(r, IN_FAIL);
			break;
		}
		roll_hold(r, 1);
		break;
	case ROLL_PAUSING_MORE:
		/* the newcomers tracked, the rollout held: drain them */
		r->census = ROLL_IDLE;
		if (r->err[0] == '\0')
			run_next(r, IN_MORE);
		break;
	default:
		r->census = ROLL_IDLE;
		break;
	}
}

/*
 * A read of the Deployment, unless the last one is still out or, once read,
 * the Deployments' watch follows it: then each tick looks at the old
 * template's pods again (a worker there may come online with no change of
 * the Deployment).
 */
static void
rollout_poll(struct run *r)
{
	if (r->pending > 0)
		return;
	if (r->rollout_gen > 0 && !kube_target_split(r->name, NULL) &&
	    rollout_watched(r->ctx)) {
		if (r->census_dep != NULL && !r->fsm.handover)
			roll_look(r);
		return;
	}
	kube_get_deployment(&r->ctx->kube, r->name, r->state_deadline,
	    got_rollout, op_new(r, 0, 0));
}

static void
state_rollout(struct run *r)
{
	r->last_line[0] = '\0';
	r->census = ROLL_IDLE;
	r->held_since = 0;
	strv_free(&r->census_known);
	r->census_asked = 0;
	run_tick_every(r, 0.3, 1.0);
}

/*
 * The controller reports ProgressDeadlineExceeded itself; our own bound is
 * a backstop a little beyond it.
 */
static double
rollout_deadline(struct run *r)
{
	return r->ctx->o->rollout_timeout > 0 ? r->ctx->o->rollout_timeout :
	    r->dep.progress_deadline + r->dep.grace + 30;
}

const struct state st_restart = {
	.name = "restart",
	.deadline = deadline_request,
	.enter = state_restart,
	.object = rollout_feed,
	.journal_ahead = 1,
};
const struct state st_rollout = {
	.name = "rollout",
	.deadline = rollout_deadline,
	.enter = state_rollout,
	.settled = rollout_settled,
	.tick = rollout_poll,
	.object = rollout_feed,
};

/* ---- VERIFY ---------------------------------------------------------- */

/* This poll's answers of the new workers, dropped. */
static void
verify_snaps_free(struct run *r)
{
	size_t	i;

	for (i = 0; i < r->nverify_snaps; i++)
		worker_snap_free(&r->verify_snaps[i]);
	free(r->verify_snaps);
	r->verify_snaps = NULL;
	r->nverify_snaps = 0;
}

static void
verified(enum flower_err e, struct worker_snap *s, const char *err, void *arg)
{
	size_t		 wi;
	struct run	*r = op_done(arg, &wi, NULL);

	if (r == NULL)
		return;
	if (e != FLOWER_OK)
		snprintf(r->last_line, sizeof r->last_line, "%s", err);
	else if (wi < r->nverify_snaps)
		worker_snap_move(&r->verify_snaps[wi], s);
}

/*
 * Every new worker's refresh is in: verify_new_workers() decides on those
 * that answered (one that did not can only make a queue look unconsumed:
 * asked again on the next tick).
 */
static void
verify_settled(struct run *r)
{
	struct worker_queues	*o, *n;
	size_t			 i, nn = 0;
	char			*why, *q;
	int			 ok;

	o = xcalloc(r->nw + 1, sizeof *o);
	n = xcalloc(r->nverify_snaps + 1, sizeof *n);
	for (i = 0; i < r->nverify_snaps; i++)
		if (r->verify_snaps[i].name != NULL) {
			n[nn].name = r->verify_snaps[i].name;
			n[nn++].queues = &r->verify_snaps[i].queues;
		}
	if (nn == 0) {		/* none asked, or none answered */
		free(o);
		free(n);
		verify_snaps_free(r);
		return;
	}
	for (i = 0; i < r->nw; i++) {
		o[i].name = r->w[i].name;
		o[i].queues = &r->w[i].queues;
	}
	if (!(ok = verify_new_workers(o, r->nw, n, nn, &why) == 0)) {
		snprintf(r->last_line, sizeof r->last_line, "%s", why);
		free(why);
	} else {
		free(r->new_worker);
		r->new_worker = xstrdup(n[0].name);
		for (i = 0; i < nn; i++) {
			strv_add(&r->new_workers, n[i].name);
			q = strv_join(n[i].queues, ", ");
			log_info("%s: new worker %s consumes %s", r->name,
			    n[i].name, q);
			free(q);
		}
	}
	free(o);
	free(n);
	verify_snaps_free(r);
	if (ok)
		run_next(r, IN_OK);
}

/* Ask every online worker of a new pod which queues it consumes. */
static void
verify_status(enum flower_err e, struct worker_status *ws, size_t n,
    const char *err, void *arg)
{
	struct run	*r = op_done(arg, NULL, NULL);
	size_t		 i, k;
	const char	*pod;

	if (r == NULL) {
		worker_status_free(ws, n);
		return;
	}
	if (e != FLOWER_OK) {
		snprintf(r->last_line, sizeof r->last_line, "%s", err);
		worker_status_free(ws, n);
		return;
	}
	verify_snaps_free(r);
	r->verify_snaps = xcalloc(n + 1, sizeof *r->verify_snaps);
	r->nverify_snaps = n;	/* those not asked stay empty: no answer */
	for (i = k = 0; i < n; i++) {
		pod = worker_pod(ws[i].name);
		if (!ws[i].online || pod == NULL || !strv_has(&r->new_pods, pod))
			continue;
		ctl_refresh(&r->ctx->ctl, ws[i].name, r->state_deadline, verified,
		    op_new(r, k++, 0));
	}
	if (k == 0)
		snprintf(r->last_line, sizeof r->last_line, "no online worker of "
		    "a new pod of %s yet", r->name);
	worker_status_free(ws, n);
}

/*
 * Only a pod of the new template is a new one: a replica an autoscaler
 * added to an old ReplicaSet is not. The workload as ROLLOUT saw it done
 * names it (a StatefulSet) or, with the ReplicaSets, says which it is
 * (census_new_template()).
 */
static void
verify_template_from(struct run *r, json_t *workload)
{
	const char	*t = census_new_template(workload, NULL);

	json_decref(r->rolled);
	r->rolled = census_template_facts(workload);
	free(r->new_tmpl);
	r->new_tmpl = t != NULL ? xstrdup(t) : NULL;
}

static int
verify_new_template(struct run *r, const struct pod_info *p)
{
	return r->new_tmpl != NULL && p->tmpl != NULL &&
	    strcmp(p->tmpl, r->new_tmpl) == 0;
}

static void	verify_pods(enum kube_err, json_t *, const char *, void *);

static void
verify_rs(enum kube_err e, json_t *obj, const char *err, void *arg)
{
	struct run	*r = op_done(arg, NULL, NULL);
	const char	*t;

	if (r == NULL)
		return;
	if (e != KUBE_OK) {
		snprintf(r->last_line, sizeof r->last_line, "%s", err);
		return;
	}
	if ((t = census_new_template(r->rolled, obj)) == NULL) {
		snprintf(r->last_line, sizeof r->last_line, "the new "
		    "ReplicaSet of %s is not listed yet", r->name);
		return;
	}
	r->new_tmpl = xstrdup(t);
	kube_list(&r->ctx->kube, "pods", r->dep.selector, r->state_deadline,
	    verify_pods, op_new(r, 0, 0));
}

static void
verify_pods(enum kube_err e, json_t *obj, const char *err, void *arg)
{
	struct run	*r = op_done(arg, NULL, NULL);
	struct pod_list	 pl;
	char		 sub[256];
	size_t		 i;

	if (r == NULL)
		return;
	if (e != KUBE_OK) {
		snprintf(r->last_line, sizeof r->last_line, "%s", err);
		return;
	}
	if (pods_parse(obj, &pl, sub, sizeof sub) == -1) {
		snprintf(r->last_line, sizeof r->last_line, "pods of %s: %s",
		    r->name, sub);
		return;
	}
	strv_free(&r->new_pods);
	for (i = 0; i < pl.n; i++)
		if (pl.v[i].ready && !pl.v[i].terminating &&
		    !strv_has(&r->old_pods, pod_identity(&pl.v[i],
		    kube_target_split(r->name, NULL))) &&
		    verify_new_template(r, &pl.v[i]))
			strv_add(&r->new_pods, pl.v[i].name);
	pod_list_free(&pl);
	if (r->new_pods.n == 0) {
		snprintf(r->last_line, sizeof r->last_line, "no new ready pod "
		    "of %s yet", r->name);
		return;
	}
	ctl_status(&r->ctx->ctl, r->state_deadline, verify_status,
	    op_new(r, 0, 0));
}

/* A poll of the new pods, unless the last one is still out. */
static void
verify_poll(struct run *r)
{
	if (r->pending > 0)
		return;
	if (r->new_tmpl == NULL)	/* a Deployment's: read first */
		kube_list(&r->ctx->kube, "replicasets", r->dep.selector,
		    r->state_deadline, verify_rs, op_new(r, 0, 0));
	else
		kube_list(&r->ctx->kube, "pods", r->dep.selector,
		    r->state_deadline, verify_pods, op_new(r, 0, 0));
}

static void
state_verify(struct run *r)
{
	r->last_line[0] = '\0';
	run_tick_every(r, 0.01, 1.0);
}

static double
verify_deadline(struct run *r)
{
	return r->ctx->o->verify_timeout;
}

const struct state st_verify = {
	.name = "verify",
	.deadline = verify_deadline,
	.enter = state_verify,
	.settled = verify_settled,
	.tick = verify_poll,
};

