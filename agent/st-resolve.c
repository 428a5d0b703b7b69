/*
 * st-resolve.c -- RESOLVE: the deployment, its pods, their Celery workers
 * and the queues those consume. Changes nothing.
 */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "broker.h"
#include "follow.h"
#include "hold.h"
#include "imgcheck.h"
#include "journal.h"
#include "podworkers.h"
#include "recover.h"
#include "report.h"
#include "runpriv.h"

static void	got_deployment(enum kube_err, json_t *, const char *, void *);
static void	got_pods(enum kube_err, json_t *, const char *, void *);
static void	got_rs(enum kube_err, json_t *, const char *, void *);
static void	got_status(enum flower_err, struct worker_status *, size_t,
		    const char *, void *);
static void	got_refresh(enum flower_err, struct worker_snap *, const char *,
		    void *);
static void	resolved(struct run *);
static void	planned(struct run *);
static void	resolve_workers(struct run *);

static void
resolve_kube(struct run *r)
{
	kube_get_deployment(&r->ctx->kube, r->name, r->state_deadline,
	    got_deployment, op_new(r, 0, 0));
}

static void
state_resolve(struct run *r)
{
	const char	*bare;

	/* a canonical target (kube.h): from the command line, or a journal */
	kube_target_split(r->name, &bare);
	if (!dns1123_subdomain(bare)) {
		run_abort(r, "\"%s\" is not a valid %s name (a DNS-1123 "
		    "subdomain: lower-case letters, digits, '-' and '.', at "
		    "most 253)",
		    bare, kube_target_kind(r->name));
		return;
	}
	if (r->fsm.handover && r->mode == RUN_DRAIN &&
	    kube_target_split(r->name, NULL)) {
		/* a StatefulSet's pods keep their names: no two at once */
		run_abort(r, "--handover works on Deployments only, not %s; "
		    "run it without --handover", r->name);
		return;
	}
	if (r->mode == RUN_RECOVER) {
		recover_resolve(r);
		return;
	}
	/* a journal left by a dead run names queues we must not forget */
	journal_read(r, resolve_kube);
}

/* --undrain: the workers get the journal's queues, or --queues. */
static void
undrain(struct run *r)
{
	size_t		 i, j;
	struct strv	 q = { 0 };
	char		*s, *tok, *save;

	for (i = 0; i < r->nw; i++) {
		struct wk *w = &r->w[i];
		strv_free(&q);
		/* its own; a worker of its name's, if its pod was replaced;
		 * every worker's */
		journal_queues(r, w->name, 0, &q);
		if (q.n == 0)
			journal_queues(r, w->name, 1, &q);
		if (q.n == 0)
			journal_queues(r, NULL, 0, &q);
		if (q.n == 0 && r->ctx->o->queues != NULL) {
			s = xstrdup(r->ctx->o->queues);
			for (tok = strtok_r(s, ",", &save); tok != NULL;
			    tok = strtok_r(NULL, ",", &save))
				strv_add(&q, tok);
			free(s);
		}
		if (q.n == 0) {
			strv_free(&q);
			run_abort(r, "no journal records the queues of %s; name "
			    "them with --queues Q1,Q2", r->name);
			return;
		}
		for (j = 0; j < q.n; j++) {
			strv_add(&w->cancelled, q.v[j]);
			if (!strv_has(&r->queues, q.v[j]))
				strv_add(&r->queues, q.v[j]);
		}
	}
	strv_free(&q);
	run_jump(r, ST_RESTORE, OUT_OK);
}

/*
 * A held deployment (hold.h) is skipped when a selector chose it, refused
 * when named (unless --ignore-hold): 1 if its hold ends the run. Only
 * drains look: --undrain, --recover and --status give workers back or
 * change nothing.
 */
static int
run_held(struct run *r, struct json_t *deployment)
{
	struct hold	 h;
	enum hold_state	 st;
	char		*d;
	int		 stop = 0;

	if (r->mode != RUN_DRAIN ||
	    (st = hold_of(deployment, now_wall(), &h)) == HOLD_NONE)
		return 0;
	d = hold_describe(&h);
	if (st == HOLD_EXPIRED)
		log_info("%s: its hold has expired, so it holds no more (%s)",
		    r->name, d);
	else if (r->from_selector) {
		run_fail(r, "%s", d);
		run_next(r, IN_SKIP);
		stop = 1;
	} else if (r->ctx->o->ignore_hold)
		log_warn("%s: %s; draining it anyway (--ignore-hold)", r->name,
		    d);
	else {
		run_abort(r, "deployment %s is %s; release it with --release "
		    "%s, or drain it anyway with --ignore-hold", r->name, d,
		    r->name);
		stop = 1;
	}
	free(d);
	hold_free(&h);
	return stop;
}

/* The namespace's Deployments (StatefulSets) are in: name the closest. */
static void
got_names(enum kube_err e, json_t *obj, const char *err, void *arg)
{
	struct run	*r = op_done(arg, NULL, NULL);
	struct strv	 names = { 0 }, near = { 0 };
	const char	*bare;
	json_t		*it;
	size_t		 i, len;
	char		*s;

	(void)err;
	if (r == NULL)
		return;
	kube_target_split(r->name, &bare);
	json_array_foreach(json_object_get(obj, "items"), i, it) {
		const char *n = json_string_value(json_object_get(
		    json_object_get(it, "metadata"), "name"));
		if (n != NULL)
			strv_add(&names, n);
	}
	if (e == KUBE_OK && closest_names(bare, &names, 3, &near) > 0) {
		s = strv_join(&near, ", ");
		len = strlen(r->err);	/* the cause kept, completed */
		snprintf(r->err + len, sizeof r->err - len, "; did you mean "
		    "%s?", s);
		free(s);
	} else if (e == KUBE_OK) {
		len = strlen(r->err);
		snprintf(r->err + len, sizeof r->err - len, " (no %s in "
		    "namespace %s has a name close to it: see oc get %ss; "
		    "another namespace? -n)", kube_target_kind(r->name),
		    r->ctx->kube.ns, kube_target_kind(r->name));
	}
	strv_free(&names);
	strv_free(&near);
	run_next(r, IN_FAIL);
}

static void
got_deployment(enum kube_err e, json_t *obj, const char *err, void *arg)
{
	struct run	*r = op_done(arg, NULL, NULL);
	const char	*bare;

	if (r != NULL && e == KUBE_ENOTFOUND && r->err[0] == '\0') {
		/* a typo? the names there, before failing */
		run_fail(r, "%s", err);
		kube_list(&r->ctx->kube, kube_target_split(r->name, NULL) ?
		    "statefulsets" : "deployments", NULL, r->state_deadline,
		    got_names, op_new(r, 0, 0));
		return;
	}
	if (r == NULL || run_deployment(r, e, obj, err) == -1 ||
	    run_held(r, obj))
		return;
	imgcheck_workload(r, obj);
	if (r->dep.partition > 0 && r->dep.partition >= r->dep.replicas &&
	    r->mode == RUN_DRAIN && !r->fsm.drain_only) {
		kube_target_split(r->name, &bare);
		run_abort(r, "statefulset %s: its rollingUpdate.partition (%ld) "
		    "is not below its replicas (%ld): a restart would replace no "
		    "pod; nothing was changed. Lower the partition (oc patch "
		    "statefulset %s), or drain with --drain-only", bare,
		    r->dep.partition, r->dep.replicas, bare);
		return;
	}
	if (r->dep.on_delete && r->mode == RUN_DRAIN && !r->fsm.drain_only) {
		/* `kubectl rollout status` refuses it: nothing would roll out */
		kube_target_split(r->name, &bare);
		run_abort(r, "statefulset %s has spec.updateStrategy.type "
		    "OnDelete: a restart would replace no pod (kubectl rollout "
		    "status: rollout status is only available for RollingUpdate "
		    "strategy type); nothing was changed. Drain it with "
		    "--drain-only, delete its pods by hand (oc delete pod), then "
		    "--undrain; or switch it to RollingUpdate", bare);
		return;
	}
	if (r->dep.paused && r->mode == RUN_DRAIN && !r->fsm.drain_only) {
		/* the PATCH would be taken, and never rolled out */
		run_abort(r, "deployment %s is paused: a restart would not roll "
		    "out (kubectl rollout restart refuses it too); resume it "
		    "first: oc rollout resume deployment/%s", r->name, r->name);
		return;
	}
	if (r->fsm.handover && r->mode == RUN_DRAIN) {
		/* the plan shows them; DETACH lists them again, leased */
		json_decref(r->ho_seen);
		r->ho_seen = json_pack("{s:O?}", "uid", json_object_get(
		    json_object_get(obj, "metadata"), "uid"));
		kube_list(&r->ctx->kube, "replicasets", r->dep.selector,
		    r->state_deadline, got_rs, op_new(r, 0, 0));
	}
	kube_list(&r->ctx->kube, "pods", r->dep.selector, r->state_deadline,
	    got_pods, op_new(r, 0, 0));
}

/* --handover: the ReplicaSets DETACH would delete, or a refusal. */
static void
got_rs(enum kube_err e, json_t *obj, const char *err, void *arg)
{
	struct run	*r = op_done(arg, NULL, NULL);
	json_t		*own;

	if (r == NULL)
		return;
	if (e != KUBE_OK) {
		run_abort(r, "%s", err);
		return;
	}
	own = rs_owned(obj, json_string_value(json_object_get(r->ho_seen,
	    "uid")));
	if (json_array_size(own) == 0) {
		json_decref(own);
		run_abort(r, "deployment %s owns no ReplicaSet (a handover needs "
		    "its Deployment controller); nothing was changed", r->name);
		return;
	}
	json_object_set_new(r->ho_seen, "replicasets", own);
}

/*
 * A StatefulSet's rolling update leaves the pods below its partition alone:
 * a restart does not touch them, so neither does the drain (their workers
 * keep consuming). They stay in old_pods, so VERIFY does not take them for
 * new ones. --drain-only and --undrain take every pod.
 */
static void
below_partition(struct run *r, struct pod_list *pl)
{
	const char	*bare;
	size_t		 i, j;
	long		 o;

	if (!kube_target_split(r->name, &bare) || r->dep.partition <= 0 ||
	    r->mode != RUN_DRAIN || r->fsm.drain_only)
		return;
	for (i = j = 0; i < pl->n; i++) {
		o = sts_pod_ordinal(bare, pl->v[i].name);
		if (o >= 0 && o < r->dep.partition) {
			log_info("%s: pod %s is below the partition (%ld): the "
			    "rollout leaves it and its worker alone", r->name,
			    pl->v[i].name, r->dep.partition);
			free(pl->v[i].name);
			free(pl->v[i].uid);
			free(pl->v[i].tmpl);
			free(pl->v[i].state);
			continue;
		}
		pl->v[j++] = pl->v[i];
	}
	pl->n = j;
}

static void
got_pods(enum kube_err e, json_t *obj, const char *err, void *arg)
{
	struct run	*r = op_done(arg, NULL, NULL);
	struct pod_list	 pl;
	char		 sub[256];
	size_t		 i;

	if (r == NULL)
		return;
	if (e != KUBE_OK) {
		run_abort(r, "%s", err);
		return;
	}
	if (pods_parse(obj, &pl, sub, sizeof sub) == -1) {
		run_abort(r, "pods of %s: %s", r->name, sub);
		return;
	}
	for (i = 0; i < pl.n; i++)
		strv_add(&r->old_pods, pod_identity(&pl.v[i],
		    kube_target_split(r->name, NULL)));
	below_partition(r, &pl);
	pod_list_free(&r->pods0);
	r->pods0 = pl;
	if (r->old_pods.n == 0) {
		if (r->from_selector) {
			run_fail(r, "no pods");
			run_next(r, IN_SKIP);
			return;
		}
		run_abort(r, "deployment %s has no pods (selector %s); nothing "
		    "to drain (is it scaled to 0?)", r->name, r->dep.selector);
		return;
	}
	/* --only-stale: an image up to date ends the run here */
	imgcheck_pods(r, obj, resolve_workers);
}

static void
resolve_workers(struct run *r)
{
	r->pings++;
	ctl_status(&r->ctx->ctl, r->state_deadline, got_status, op_new(r, 0, 0));
}

/*
 * Which pods need a worker drained: a pod being deleted belongs to a worker
 * in warm shutdown that is leaving anyway, and a pod whose containers do not
 * run holds no task; both are skipped (pod_skipped() says so, once the
 * workers are known). Every other pod must run an online worker, or the
 * restart would kill work nobody can drain.
 */
static int
pod_needs_worker(const struct pod_info *p)
{
	return !p->terminating && p->running;
}

static void
pod_skipped(struct run *r, const struct pod_info *p)
{
	if (p->terminating)
		log_info("%s: pod %s is being deleted (its worker is leaving "
		    "anyway); skipped", r->name, p->name);
	else if (!p->running)
		log_info("%s: pod %s: %s: no container runs, nothing to drain "
		    "there", r->name, p->name, p->state);
}

static void
got_status(enum flower_err e, struct worker_status *ws, size_t n,
    const char *err, void *arg)
{
	struct run		*r = op_done(arg, NULL, NULL);
	size_t			 i;
	const char		*pod;
	const struct pod_info	*p;
	struct strv		 offline = { 0 }, missing = { 0 };
	struct strv		 need = { 0 }, nopod = { 0 }, silent = { 0 };
	struct strv		 online = { 0 };
	char			*s;
	int			 pods;
	enum resolve_verdict	 v;

	if (r == NULL) {
		worker_status_free(ws, n);
		return;
	}
	if (e != FLOWER_OK) {
		run_abort(r, "%s", err);
		return;
	}
	for (i = 0; i < r->pods0.n; i++)
		if (pod_needs_worker(&r->pods0.v[i]))
			strv_add(&need, r->pods0.v[i].name);
	for (i = 0; i < n; i++) {
		pod = worker_pod(ws[i].name);
		if (pod == NULL || !strv_has(&need, pod))
			continue;
		if (!ws[i].online) {
			strv_add(&offline, ws[i].name);
			continue;
		}
		strv_add(&online, ws[i].name);
	}
	/* every pod that runs must have online workers, all of them */
	pods_undrainable(&need, ws, n, &nopod, &silent);
	worker_status_free(ws, n);
	for (i = 0; i < nopod.n; i++) {
		p = pod_list_find(&r->pods0, nopod.v[i]);
		s = xasprintf("%s (%s)", nopod.v[i], p->state);
		strv_add(&missing, s);
		free(s);
	}
	v = resolve_verdict(&(struct resolve_facts){ .workers = r->nw +
	    online.n, .need = need.n, .missing = missing.n, .silent = silent.n,
	    .from_selector = r->from_selector, .drain = r->mode == RUN_DRAIN,
	    .undrain = r->mode == RUN_UNDRAIN, .pinged = r->ctx->ctl.via ==
	    VIA_BROKER, .pings = r->pings });
	if (v != RESOLVE_PING_AGAIN) {
		for (i = 0; i < r->pods0.n; i++)	/* said once */
			pod_skipped(r, &r->pods0.v[i]);
		for (i = 0; i < online.n; i++)
			run_add_worker(r, online.v[i]);
	}
	switch (v) {
	case RESOLVE_PING_AGAIN:
		s = strv_join(&missing, ", ");
		log_info("%s: no worker answered the broadcast ping from pod(s) "
		    "%s within a second; asking again (%d of %d)", r->name, s,
		    r->pings + 1, RESOLVE_PINGS);
		free(s);
		resolve_workers(r);
		break;
	case RESOLVE_SKIP:
		run_fail(r, "no Celery worker known to %s",
		    ctl_via_name(&r->ctx->ctl));
		run_next(r, IN_SKIP);
		break;
	case RESOLVE_NO_WORKER:
		s = strv_join(&missing, ", ");
		run_abort(r, "deployment %s has no online Celery worker known to "
		    "%s (pods: %s%s); is it a Celery worker deployment? If it "
		    "is, retry when the worker is up (see oc logs)",
		    r->name, ctl_via_name(&r->ctx->ctl), s, offline.n ?
		    "; offline workers seen" : "");
		free(s);
		break;
	case RESOLVE_PODS_WITHOUT:
	case RESOLVE_SILENT:
		pods = missing.n > 0;
		s = strv_join(pods ? &missing : &silent, ", ");
		run_abort(r, "%s %s of %s%s %s%s; refusing to restart what cannot "
		    "be drained: retry when %s up (see oc logs), or delete a "
		    "stuck pod", pods ? "pod(s)" : "worker(s)", s, r->name,
		    pods ? " run but no online Celery worker known to" :
		    ": offline for", ctl_via_name(&r->ctx->ctl), pods ? "" :
		    " while their pod runs another worker", pods ?
		    "the worker is" : "they are");
		free(s);
		break;
	case RESOLVE_NOT_RUNNING:
		run_abort(r, "deployment %s has no running Celery worker (no "
		    "pod's container runs)", r->name);
		break;
	case RESOLVE_UNDRAIN:
		undrain(r);
		break;
	case RESOLVE_NOTHING:
		log_info("%s: no pod runs a worker: nothing to drain, the "
		    "restart goes ahead", r->name);
		r->step = 1;
		resolved(r);
		break;
	case RESOLVE_REFRESH:
		r->step = 1;	/* settled when every refresh is in */
		for (i = 0; i < r->nw; i++)
			ctl_refresh(&r->ctx->ctl, r->w[i].name, r->state_deadline,
			    got_refresh, op_new(r, i, 0));
		break;
	}
	strv_free(&need);
	strv_free(&offline);
	strv_free(&missing);
	strv_free(&nopod);
	strv_free(&silent);
	strv_free(&online);
}

static void
got_refresh(enum flower_err e, struct worker_snap *s, const char *err,
    void *arg)
{
	size_t		 wi, i;
	struct run	*r = op_done(arg, &wi, NULL);
	struct wk	*w;

	if (r == NULL || run_take_queues(r, wi, e, s, err) == -1)
		return;
	w = &r->w[wi];
	/* queues a dead run cancelled: drain and restore them too */
	if (r->mode == RUN_DRAIN)
		journal_queues(r, w->name, 0, &w->queues);
	for (i = 0; i < w->queues.n; i++)
		if (!strv_has(&r->queues, w->queues.v[i]))
			strv_add(&r->queues, w->queues.v[i]);
	if (w->queues.n == 0)
		log_warn("%s: worker %s consumes no queue already "
		    "(drained by hand? use --undrain to give it its "
		    "queues back)", r->name, w->name);
}

/* Every worker's refresh is in. */
static void
resolved(struct run *r)
{
	if (r->step != 1)
		return;
	r->step = 2;
	if (r->err[0] != '\0') {
		run_next(r, IN_FAIL);
		return;
	}
	if (r->queues.n == 0 && r->nw > 0 && r->mode != RUN_STATUS) {
		/*
		 * Another run may have cancelled them a moment ago: its lease
		 * says so (exit 4, naming it). Said once LOCK has the lease.
		 */
		char *why = xasprintf("no worker of %s consumes any queue; "
		    "nothing to drain (see --status, --undrain)", r->name);
		if (r->mode == RUN_DRAIN && !r->fsm.dry_run) {
			free(r->refusal);
			r->refusal = why;
			run_next(r, IN_OK);
		} else {
			run_abort(r, "%s", why);
			free(why);
		}
		return;
	}
	backlog_read(r, planned);
}

static void
planned(struct run *r)
{
	if (r->pidbox_bound == 0) {
		/* the workers answered: they use another db or prefix */
		const char *p = r->ctx->o->key_prefix;
		char *m = xasprintf("Redis %s answers, but no Celery worker "
		    "uses it (no %s_kombu.binding.celery.pidbox there), so its "
		    "backlog and unacked tasks cannot be seen: check the "
		    "database number in --redis-url (the workers' broker_url) "
		    "and --broker-key-prefix (their global_keyprefix%s%s), or "
		    "whether the workers run without remote control",
		    broker_where(r->ctx->broker), p ? p : "", p ? ", now " :
		    "", p ? p : "");
		if (r->mode == RUN_STATUS)
			log_warn("%s: %s", r->name, m);
		else {
			run_abort(r, "%s", m);
			free(m);
			return;
		}
		free(m);
	}
	if (r->fsm.dry_run)
		report_progress(r, 1);
	run_next(r, IN_OK);
}

const struct state st_resolve = {
	.name = "resolve",
	.deadline = deadline_request,
	.enter = state_resolve,
	.settled = resolved,
	.journal_ahead = 1,
};
