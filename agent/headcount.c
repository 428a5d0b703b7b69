/*
 * headcount.c -- the driver's side of the census (census.h): the facts it
 * gathers (the pods, the workers online, the ReplicaSets) and what it does
 * with newcomers, for DRAIN (st-drain.c) and ROLLOUT (st-rollout.c).
 */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "census.h"
#include "runpriv.h"

void
census_gather(struct run *r, int replicasets, int workers)
{
	r->census_failed = 0;
	kube_list(&r->ctx->kube, "pods", r->dep.selector, r->state_deadline,
	    census_pods_cb, op_new(r, 0, 0));
	if (workers)
		census_ask_workers(r);
	if (replicasets)
		kube_list(&r->ctx->kube, "replicasets", r->dep.selector,
		    r->state_deadline, census_rs_cb, op_new(r, 0, 0));
}

static void
census_version_cb(enum kube_err e, json_t *obj, const char *err, void *arg)
{
	struct run	*r = op_done(arg, NULL, NULL);
	const char	*rv;

	if (r == NULL)
		return;
	rv = json_string_value(json_object_get(json_object_get(obj,
	    "metadata"), "resourceVersion"));
	if (e != KUBE_OK || rv == NULL || rv[0] == '\0') {
		r->census_failed = 1;
		snprintf(r->last_line, sizeof r->last_line, "cannot read %s: %s",
		    r->name, e != KUBE_OK ? err : "no metadata.resourceVersion "
		    "in the answer");
		return;
	}
	r->census_rv = xstrdup(rv);
}

void
census_read_version(struct run *r)
{
	r->census_failed = 0;
	free(r->census_rv);
	r->census_rv = NULL;
	kube_get_deployment(&r->ctx->kube, r->name, r->state_deadline,
	    census_version_cb, op_new(r, 0, 0));
}

void
census_ask_workers(struct run *r)
{
	ctl_status(&r->ctx->ctl, r->state_deadline, census_status_cb,
	    op_new(r, 0, 0));
}

void
census_rs_cb(enum kube_err e, json_t *obj, const char *err, void *arg)
{
	struct run	*r = op_done(arg, NULL, NULL);

	if (r == NULL)
		return;
	json_decref(r->census_rs);
	r->census_rs = NULL;
	if (e != KUBE_OK) {
		r->census_failed = 1;
		snprintf(r->last_line, sizeof r->last_line, "cannot list the "
		    "ReplicaSets of %s: %s", r->name, err);
		return;
	}
	r->census_rs = json_incref(obj);
}

void
census_pods_cb(enum kube_err e, json_t *obj, const char *err, void *arg)
{
	struct run	*r = op_done(arg, NULL, NULL);
	char		 sub[256];

	if (r == NULL)
		return;
	pod_list_free(&r->census_pods);
	if (e == KUBE_OK && pods_parse(obj, &r->census_pods, sub,
	    sizeof sub) == -1)
		err = sub;
	if (e != KUBE_OK || err == sub) {
		r->census_failed = 1;
		snprintf(r->last_line, sizeof r->last_line, "cannot list the "
		    "pods of %s to check that every worker was drained: %s",
		    r->name, err);
	}
}

void
census_status_cb(enum flower_err e, struct worker_status *ws, size_t n,
    const char *err, void *arg)
{
	struct run	*r = op_done(arg, NULL, NULL);

	if (r == NULL || e != FLOWER_OK) {
		if (r != NULL) {
			r->census_failed = 1;
			snprintf(r->last_line, sizeof r->last_line, "cannot "
			    "tell which workers run in the pods of %s: %s",
			    r->name, err);
		}
		worker_status_free(ws, n);
		return;
	}
	worker_status_free(r->census_ws, r->census_nws);
	r->census_ws = ws;
	r->census_nws = n;
}

const struct pod_info *
worker_pod_then(struct run *r, const struct wk *w, struct pod_info *then)
{
	const struct pod_info	*p = pod_list_find(&r->pods0, worker_pod(w->name));

	if (!w->pod_seen)
		return p;
	memset(then, 0, sizeof *then);
	if (p != NULL)
		*then = *p;		/* borrowed; only read */
	then->uid = w->pod_uid;
	then->restarts = w->pod_restarts;
	return then;
}

/* A newcomer's queues, read as RESOLVE reads them: what CANCEL cancels. */
static void	census_refreshed(enum flower_err, struct worker_snap *,
		    const char *, void *);

/* A newcomer's queues read again (its op: wi, the attempt in qi). */
static void
census_refresh_later(int revents, void *arg)
{
	size_t		 wi, tries;
	struct run	*r = op_done(arg, &wi, &tries);

	(void)revents;
	if (r != NULL)
		ctl_refresh(&r->ctx->ctl, r->w[wi].name, r->state_deadline,
		    census_refreshed, op_new(r, wi, tries));
}

static void
census_refreshed(enum flower_err e, struct worker_snap *s, const char *err,
    void *arg)
{
	size_t		 wi, tries;
	struct run	*r = op_done(arg, &wi, &tries);
	double		 left;

	if (r == NULL)
		return;
	left = r->state_deadline > 0 ? r->state_deadline -
	    ev_now(r->ctx->loop) : -1;
	if (e != FLOWER_OK && census_refresh_again(e, (int)tries, left)) {
		/* just online, it may not answer yet */
		log_info("%s: worker %s: %s; asking again in %.0fs", r->name,
		    r->w[wi].name, err, CENSUS_REFRESH_EVERY);
		ev_once(r->ctx->loop, -1, 0, CENSUS_REFRESH_EVERY,
		    census_refresh_later, op_new(r, wi, tries + 1));
		return;
	}
	(void)run_take_queues(r, wi, e, s, err);
}

/* The pod the run cancelled w on is now p (NULL: not known). */
static void
census_rebase(struct wk *w, const struct pod_info *p)
{
	if (p == NULL)
		return;
	free(w->pod_uid);
	w->pod_uid = p->uid != NULL ? xstrdup(p->uid) : NULL;
	w->pod_restarts = p->restarts;
	w->pod_seen = 1;
}

/*
 * Whether w's process is not the one the run cancelled (census_restarted()):
 * its pod is compared with the one RESOLVE listed, or, for a worker added
 * later, with the one the census saw when it added it.
 */
static int
census_worker_restarted(struct run *r, struct wk *w)
{
	const char		*pod = worker_pod(w->name);
	const struct pod_info	*now;

	if (pod == NULL)
		return 0;
	now = pod_list_find(&r->census_pods, pod);
	if (!w->pod_seen) {
		census_rebase(w, pod_list_find(&r->pods0, pod));
		if (!w->pod_seen)
			census_rebase(w, now);	/* nothing older known */
	}
	return now != NULL && w->pod_seen && census_restarted(w->pod_uid,
	    w->pod_restarts, now->uid, now->restarts);
}

void
census_facts(struct run *r, int (*stops)(struct run *,
    const struct pod_info *), struct census_pod **pods,
    struct census_worker **ws, size_t *nws)
{
	size_t		 i, n = 0;
	struct wk	*w;
	char		 mark[512];

	*pods = xcalloc(r->census_pods.n + 1, sizeof **pods);
	strv_free(&r->census_marks);
	for (i = 0; i < r->census_pods.n; i++) {
		const struct pod_info *p = &r->census_pods.v[i];
		(*pods)[i] = (struct census_pod){ p->name, stops(r, p),
		    p->terminating, p->running };
		snprintf(mark, sizeof mark, "%s %s %ld %d", p->name,
		    p->uid != NULL ? p->uid : "-", p->restarts, p->ready);
		strv_add(&r->census_marks, mark);	/* census_ask() */
	}
	*ws = xcalloc(r->census_nws + r->nw + 1, sizeof **ws);
	for (i = 0; i < r->census_nws; i++) {
		w = run_worker(r, r->census_ws[i].name);
		(*ws)[n++] = (struct census_worker){ r->census_ws[i].name,
		    r->census_ws[i].online, w != NULL, w != NULL &&
		    (w->drained || w->gone), w != NULL &&
		    census_worker_restarted(r, w) };
	}
	for (i = 0; i < r->nw; i++) {	/* ours the broker no longer lists */
		size_t j;
		for (j = 0; j < r->census_nws; j++)
			if (strcmp(r->census_ws[j].name, r->w[i].name) == 0)
				break;
		if (j == r->census_nws)
			(*ws)[n++] = (struct census_worker){ r->w[i].name, 0,
			    1, r->w[i].drained || r->w[i].gone, 0 };
	}
	*nws = n;
}

void
census_old_pods(struct run *r, const struct census_pod *pods, size_t np)
{
	const struct pod_info	*p;
	size_t			 i;
	int			 sts = kube_target_split(r->name, NULL);

	for (i = 0; i < np; i++) {
		p = pod_list_find(&r->census_pods, pods[i].name);
		if (pods[i].stopped && p != NULL &&
		    !strv_has(&r->old_pods, pod_identity(p, sts)))
			strv_add(&r->old_pods, pod_identity(p, sts));
	}
}

void
census_add(struct run *r, const struct census_pod *pods, size_t np,
    const struct census_worker *ws, size_t nws)
{
	size_t		 i, wi;
	struct wk	*w;

	census_old_pods(r, pods, np);
	for (i = 0; i < nws; i++) {
		if (!census_newcomer(pods, np, &ws[i]))
			continue;
		if ((w = run_worker(r, ws[i].name)) != NULL) {
			log_warn("%s: worker %s restarted after the run "
			    "cancelled it (its container restarted: a new "
			    "process, consuming its queues again): draining it "
			    "again before its pod is stopped", r->name,
			    ws[i].name);
			w->drained = w->gone = w->suspect = 0;
		} else {
			log_warn("%s: worker %s appeared after the drain began "
			    "(a replica added, or its pod came up late): "
			    "draining it too before its pod is stopped",
			    r->name, ws[i].name);
			w = run_add_worker(r, ws[i].name);
		}
		wi = (size_t)(w - r->w);
		census_rebase(w, pod_list_find(&r->census_pods,
		    worker_pod(ws[i].name)));
		ctl_refresh(&r->ctx->ctl, ws[i].name, r->state_deadline,
		    census_refreshed, op_new(r, wi, 1));
	}
}

