/*
 * handover.c -- what --handover's record (r->ho, st-handover.c) means to
 * the states that are not its own, and to the end of a run: DRAIN deletes
 * each old pod once every worker on it is drained; CANCEL after a GIVEBACK
 * keeps only the workers of the pods shed; a recovery picks up the
 * record. See handover.h.
 */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "handover.h"
#include "lease.h"
#include "podworkers.h"
#include "runpriv.h"

/* ---- DRAIN: an old pod whose workers are drained is deleted ---------- */

static void
retired_one(enum kube_err e, json_t *obj, const char *err, void *arg)
{
	struct run	*r = op_done(arg, NULL, NULL);

	(void)obj;
	/* RETIRE deletes it again */
	if (r != NULL && e != KUBE_OK && e != KUBE_ENOTFOUND)
		log_warn("%s: %s (retried once all are drained)", r->name, err);
}

/*
 * Whether every worker of the run on pod holds nothing and no other worker
 * is online there (ws, nws: NULL, 0 before the broker was asked;
 * podworkers.h).
 */
static int
handover_pod_done(struct run *r, const char *pod,
    const struct worker_status *ws, size_t nws)
{
	struct worker_done	*wd = xcalloc(r->nw + 1, sizeof *wd);
	size_t			 i;
	int			 done;

	for (i = 0; i < r->nw; i++) {
		wd[i].name = r->w[i].name;
		wd[i].done = r->w[i].drained || r->w[i].gone;
	}
	done = pod_workers_done(pod, wd, r->nw, ws, nws);
	free(wd);
	return done;
}

/* Whether DETACH recorded pod among the old pods RETIRE deletes. */
static int
handover_old_pod(struct run *r, const char *pod)
{
	json_t	*p;
	size_t	 i;

	json_array_foreach(json_object_get(r->ho, "pods"), i, p) {
		const char *n = json_string_value(json_object_get(p, "name"));
		if (pod != NULL && n != NULL && strcmp(n, pod) == 0)
			return 1;
	}
	return 0;
}

/*
 * The workers online now, for the pod of worker wi, drained: deleted only
 * if no worker the run does not track runs there (one that came up after
 * RESOLVE); else the census before RETIRE drains it first.
 */
static void
handover_looked(enum flower_err e, struct worker_status *ws, size_t n,
    const char *err, void *arg)
{
	size_t		 wi;
	struct run	*r = op_done(arg, &wi, NULL);
	const char	*pod;

	if (r == NULL || r->fsm.state != ST_DRAIN) {
		worker_status_free(ws, n);
		return;
	}
	pod = worker_pod(r->w[wi].name);
	if (e != FLOWER_OK)
		log_warn("%s: cannot tell which workers run in old pod %s (%s): "
		    "it is deleted with the others, after the last look at "
		    "the pods", r->name, pod, err);
	else if (!handover_pod_done(r, pod, ws, n))
		log_warn("%s: old pod %s runs a worker this run has not drained "
		    "(it came up after the run began): not deleting the pod "
		    "yet; that worker is drained first", r->name, pod);
	else if (lease_check(r)) {
		log_info("%s: deleting old pod %s, which holds nothing (every "
		    "worker of it drained)", r->name, pod);
		kube_delete(&r->ctx->kube, "pods", pod, 0, r->state_deadline,
		    retired_one, op_new(r, 0, 0));
	}
	worker_status_free(ws, n);
}

void
handover_drained(struct run *r, size_t wi)
{
	const char	*pod = worker_pod(r->w[wi].name);

	if (!handover_pod_done(r, pod, NULL, 0) || !handover_old_pod(r, pod))
		return;		/* another worker of the pod still drains */
	ctl_status(&r->ctx->ctl, r->state_deadline, handover_looked,
	    op_new(r, wi, 0));
}

/* ---- the pods a GIVEBACK shed --------------------------------------- */

int
handover_shed_has(struct run *r, const char *pod)
{
	json_t	*p;
	size_t	 i;

	if (pod == NULL)
		return 0;
	json_array_foreach(json_object_get(json_object_get(r->ho, "plan"),
	    "shed"), i, p)
		if (json_is_string(p) && strcmp(json_string_value(p), pod) == 0)
			return 1;
	return 0;
}

void
handover_shed_workers(struct run *r)
{
	size_t	i, n = 0;

	for (i = 0; i < r->nw; i++) {
		if (!handover_shed_has(r, worker_pod(r->w[i].name))) {
			log_info("%s: worker %s keeps consuming (its pod is "
			    "owned again)", r->name, r->w[i].name);
			wk_free(&r->w[i]);
			continue;
		}
		if (n != i)
			r->w[n] = r->w[i];
		n++;
	}
	r->nw = n;
}

void
handover_shed_end(struct run *r)
{
	const char	*cause = json_string_value(json_object_get(r->ho,
			    "error"));
	char		*s;

	if (!r->fsm.shed || cause == NULL)
		return;
	if (r->err[0] == '\0') {
		snprintf(r->err, sizeof r->err, "%s", cause);
		return;
	}
	s = xasprintf("%s; then, draining the old pods the controller would "
	    "stop: %s", cause, r->err);
	snprintf(r->err, sizeof r->err, "%s", s);
	free(s);
}

/* ---- recovery -------------------------------------------------------- */

int
handover_load(struct run *r, const char *record)
{
	json_decref(r->ho);
	if ((r->ho = json_loads(record, 0, NULL)) == NULL) {
		run_abort(r, "the journal's handover record is not JSON; "
		    "nothing was changed");
		return -1;
	}
	r->fsm.handover = 1;
	r->ho_pending = 1;
	run_workers_load(r, json_object_get(r->ho, "workers"), 0);
	return 0;
}
