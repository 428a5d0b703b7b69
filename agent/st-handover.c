/*
 * st-handover.c -- --handover's own states (fsm.h): DETACH, RETIRE, HISTORY
 * and GIVEBACK. RESTART, ROLLOUT, VERIFY, CANCEL, DRAIN and RESTORE are the
 * in-place mode's, in another order.
 *
 * r->ho, journalled (field "handover") before the first change, records
 * what a recovery needs: {"uid": the Deployment's, "label": the run's label
 * value, "replicasets": [the old ReplicaSets as listed], "pods": [{"name",
 * "hash"}] the pods orphaned, "workers": [{"name", "queues"}]}.
 */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "report.h"
#include "runpriv.h"

#define HASH_LABEL	"pod-template-hash"
#define RUN_LABEL	"drain-and-rollout/handover"

/* ---- DETACH ---------------------------------------------------------- */

static void	detach_pause(struct run *);

static void
detach_pods(enum kube_err e, json_t *obj, const char *err, void *arg)
{
	struct run	*r = op_done(arg, NULL, NULL);
	json_t		*pods, *p, *ws, *q;
	size_t		 i, j;

	if (r == NULL)
		return;
	if (e != KUBE_OK) {
		run_fail(r, "%s", err);
		return;
	}
	pods = json_array();
	json_array_foreach(json_object_get(obj, "items"), i, p) {
		json_t *meta = json_object_get(p, "metadata");
		const char *n = json_string_value(json_object_get(meta, "name"));
		json_t *h = json_object_get(json_object_get(meta, "labels"),
		    HASH_LABEL);
		if (n == NULL || !strv_has(&r->old_pods, n))
			continue;
		json_array_append_new(pods, json_pack("{s:s,s:O}", "name", n,
		    "hash", json_is_string(h) ? h : json_null()));
	}
	json_object_set_new(r->ho, "pods", pods);
	ws = json_array();
	for (i = 0; i < r->nw; i++) {
		q = json_array();
		for (j = 0; j < r->w[i].queues.n; j++)
			json_array_append_new(q,
			    json_string(r->w[i].queues.v[j]));
		json_array_append_new(ws, json_pack("{s:s,s:o}", "name",
		    r->w[i].name, "queues", q));
	}
	json_object_set_new(r->ho, "workers", ws);
}

static void
detach_rs(enum kube_err e, json_t *obj, const char *err, void *arg)
{
	struct run	*r = op_done(arg, NULL, NULL);
	json_t		*own;

	if (r == NULL)
		return;
	if (e != KUBE_OK) {
		run_fail(r, "%s", err);
		return;
	}
	own = rs_owned(obj, json_string_value(json_object_get(r->ho, "uid")));
	json_object_set_new(r->ho, "replicasets", own);
}

static void
detach_deployment(enum kube_err e, json_t *obj, const char *err, void *arg)
{
	struct run	*r = op_done(arg, NULL, NULL);
	json_t		*uid;

	if (r == NULL)
		return;
	uid = json_object_get(json_object_get(obj, "metadata"), "uid");
	if (e != KUBE_OK) {
		run_fail(r, "%s", err);
		return;
	}
	if (!json_is_string(uid)) {
		run_fail(r, "deployment %s has no metadata.uid", r->name);
		return;
	}
	if (json_is_true(json_object_get(json_object_get(obj, "spec"),
	    "paused"))) {
		run_fail(r, "deployment %s was paused since it was resolved; "
		    "nothing was changed", r->name);
		return;
	}
	json_object_set(r->ho, "uid", uid);
	kube_list(&r->ctx->kube, "replicasets", r->dep.selector,
	    r->state_deadline, detach_rs, op_new(r, 0, 0));
	kube_list(&r->ctx->kube, "pods", r->dep.selector, r->state_deadline,
	    detach_pods, op_new(r, 0, 0));
}

static void
state_detach(struct run *r)
{
	char	label[32];

	json_decref(r->ho);
	snprintf(label, sizeof label, "%.0f", r->wall_started);
	r->ho = json_pack("{s:s}", "label", label);
	kube_get_deployment(&r->ctx->kube, r->name, r->state_deadline,
	    detach_deployment, op_new(r, 0, 0));
}

static void
detach_done(enum kube_err e, json_t *obj, const char *err, void *arg)
{
	struct run	*r = op_done(arg, NULL, NULL);

	(void)obj;
	if (r != NULL && e != KUBE_OK && !(e == KUBE_ENOTFOUND && r->step >= 2))
		run_fail(r, "%s", err);
}

/* Step 0: read; 1: journalled, pausing; 2: deleting; 3: relabelling. */
static void
detach_settled(struct run *r)
{
	json_t	*rs, *p, *labels;
	size_t	 i;

	if (r->err[0] != '\0') {
		run_next(r, IN_FAIL);
		return;
	}
	switch (r->step) {
	case 0:
		if (json_array_size(json_object_get(r->ho, "replicasets")) == 0) {
			run_abort(r, "deployment %s owns no ReplicaSet (a "
			    "handover needs its Deployment controller); "
			    "nothing was changed", r->name);
			return;
		}
		r->step = 1;
		r->ho_pending = 1;
		/* the ReplicaSets and pods are in Redis before any change */
		journal_write(r, detach_pause);
		return;
	case 1:
		r->step = 2;
		json_array_foreach(json_object_get(r->ho, "replicasets"), i, rs) {
			const char *n = json_string_value(json_object_get(
			    json_object_get(rs, "metadata"), "name"));
			kube_delete(&r->ctx->kube, "replicasets", n ? n : "",
			    1, r->state_deadline, detach_done, op_new(r, 0, 0));
		}
		log_info("%s: paused; deleting %zu ReplicaSet(s), their pods "
		    "orphaned", r->name, json_array_size(json_object_get(r->ho,
		    "replicasets")));
		return;
	case 2:
		r->step = 3;
		json_array_foreach(json_object_get(r->ho, "pods"), i, p) {
			json_t *h = json_object_get(p, "hash");
			char *v;
			labels = json_pack("{s:O}", RUN_LABEL,
			    json_object_get(r->ho, "label"));
			if (json_is_string(h)) {
				v = xasprintf("handover-%s", json_string_value(h));
				json_object_set_new(labels, HASH_LABEL,
				    json_string(v));
				free(v);
			}
			kube_pod_labels(&r->ctx->kube, json_string_value(
			    json_object_get(p, "name")), labels,
			    r->state_deadline, detach_done, op_new(r, 0, 0));
			json_decref(labels);
		}
		return;
	default:
		log_info("%s: %zu old pod(s) detached; they keep consuming "
		    "until the new workers do", r->name,
		    json_array_size(json_object_get(r->ho, "pods")));
		run_next(r, IN_OK);
	}
}

static void
detach_pause(struct run *r)
{
	if (!lease_check(r))
		return;
	kube_pause(&r->ctx->kube, r->name, 1, r->state_deadline, detach_done,
	    op_new(r, 0, 0));
}

const struct state st_detach = { "detach", deadline_minute, state_detach,
	detach_settled };

/* ---- RETIRE ---------------------------------------------------------- */

static void
retired(enum kube_err e, json_t *obj, const char *err, void *arg)
{
	struct run	*r = op_done(arg, NULL, NULL);

	(void)obj;
	if (r != NULL && e != KUBE_OK && e != KUBE_ENOTFOUND)
		run_fail(r, "%s", err);
}

static void
retired_one(enum kube_err e, json_t *obj, const char *err, void *arg)
{
	struct run	*r = op_done(arg, NULL, NULL);

	(void)obj;
	/* RETIRE deletes it again */
	if (r != NULL && e != KUBE_OK && e != KUBE_ENOTFOUND)
		log_warn("%s: %s (retried once all are drained)", r->name, err);
}

void
handover_drained(struct run *r, size_t wi)
{
	const char	*pod = worker_pod(r->w[wi].name);
	json_t		*p;
	size_t		 i;

	json_array_foreach(json_object_get(r->ho, "pods"), i, p) {
		const char *n = json_string_value(json_object_get(p, "name"));
		if (pod == NULL || n == NULL || strcmp(n, pod) != 0)
			continue;
		if (!lease_check(r))
			return;
		log_info("%s: deleting old pod %s, which holds nothing",
		    r->name, pod);
		kube_delete(&r->ctx->kube, "pods", pod, 0, r->state_deadline,
		    retired_one, op_new(r, 0, 0));
	}
}

static void
state_retire(struct run *r)
{
	json_t	*p;
	size_t	 i;

	if (!lease_check(r))
		return;
	json_array_foreach(json_object_get(r->ho, "pods"), i, p)
		kube_delete(&r->ctx->kube, "pods", json_string_value(
		    json_object_get(p, "name")), 0, r->state_deadline, retired,
		    op_new(r, 0, 0));
}

static void
retire_settled(struct run *r)
{
	if (r->err[0] == '\0')
		log_info("%s: deleted the %zu drained old pod(s)", r->name,
		    json_array_size(json_object_get(r->ho, "pods")));
	run_next(r, r->err[0] ? IN_FAIL : IN_OK);
}

const struct state st_retire = { "retire", deadline_minute, state_retire,
	retire_settled };

/* ---- HISTORY and GIVEBACK: the old ReplicaSets again ----------------- */

static void
created(enum kube_err e, json_t *obj, const char *err, void *arg)
{
	struct run	*r = op_done(arg, NULL, NULL);

	(void)obj;
	if (r != NULL && e != KUBE_OK) {
		run_fail(r, "%s", err);
		r->bad = 1;
	}
}

/* Create the journalled ReplicaSets the list does not have. */
static void
rs_listed(enum kube_err e, json_t *obj, const char *err, void *arg)
{
	struct run	*r = op_done(arg, NULL, NULL);
	json_t		*rs, *have, *m;
	size_t		 i, j;

	if (r == NULL)
		return;
	if (e != KUBE_OK) {
		run_fail(r, "%s", err);
		r->bad = 1;
		return;
	}
	json_array_foreach(json_object_get(r->ho, "replicasets"), i, rs) {
		const char *n = json_string_value(json_object_get(
		    json_object_get(rs, "metadata"), "name"));
		int found = 0;
		json_array_foreach(json_object_get(obj, "items"), j, have) {
			const char *hn = json_string_value(json_object_get(
			    json_object_get(have, "metadata"), "name"));
			if (n != NULL && hn != NULL && strcmp(n, hn) == 0)
				found = 1;
		}
		if (found || n == NULL)
			continue;
		/* history: 0 replicas; given back: as many as it had */
		m = rs_recreate(rs, r->fsm.state == ST_HISTORY ? 0 :
		    json_integer_value(json_object_get(json_object_get(rs,
		    "spec"), "replicas")));
		kube_create_replicaset(&r->ctx->kube, m, r->state_deadline,
		    created, op_new(r, 0, 0));
		json_decref(m);
	}
}

static void
rs_recreate_all(struct run *r)
{
	kube_list(&r->ctx->kube, "replicasets", r->dep.selector,
	    r->state_deadline, rs_listed, op_new(r, 0, 0));
}

static void
state_history(struct run *r)
{
	r->bad = 0;
	if (!lease_check(r))
		return;
	rs_recreate_all(r);
}

static void
history_settled(struct run *r)
{
	if (!r->bad) {
		log_info("%s: the old ReplicaSet(s) exist again with 0 "
		    "replicas (oc rollout history)", r->name);
		r->ho_pending = 0;
	}
	run_next(r, r->bad ? IN_FAIL : IN_OK);
}

const struct state st_history = { "history", deadline_minute, state_history,
	history_settled };

static void
giveback_done(enum kube_err e, json_t *obj, const char *err, void *arg)
{
	struct run	*r = op_done(arg, NULL, NULL);

	(void)obj;
	if (r != NULL && e != KUBE_OK && e != KUBE_ENOTFOUND) {
		run_fail(r, "%s", err);
		r->bad = 1;
	}
}

/*
 * Step 0: the pods relabelled back (no ReplicaSet exists to adopt them
 * yet); 1: the ReplicaSets created again, which adopt them; 2: resumed.
 */
static void
state_giveback(struct run *r)
{
	json_t	*p, *labels;
	size_t	 i;

	r->bad = 0;
	if (!r->ho_pending) {
		/* DETACH stopped before its journal record: nothing changed */
		r->step = -1;
		return;
	}
	if (!lease_check(r))
		return;
	json_array_foreach(json_object_get(r->ho, "pods"), i, p) {
		json_t *h = json_object_get(p, "hash");
		labels = json_pack("{s:n}", RUN_LABEL);
		if (json_is_string(h))
			json_object_set(labels, HASH_LABEL, h);
		kube_pod_labels(&r->ctx->kube, json_string_value(
		    json_object_get(p, "name")), labels, r->state_deadline,
		    giveback_done, op_new(r, 0, 0));
		json_decref(labels);
	}
}

static void
giveback_settled(struct run *r)
{
	size_t	i;

	if (r->bad) {
		run_next(r, IN_FAIL);
		return;
	}
	if (r->step < 0) {
		run_next(r, IN_OK);
		return;
	}
	switch (r->step++) {
	case 0:
		rs_recreate_all(r);
		return;
	case 1:
		kube_pause(&r->ctx->kube, r->name, 0, r->state_deadline,
		    giveback_done, op_new(r, 0, 0));
		return;
	default:
		break;
	}
	r->ho_pending = 0;
	log_info("%s: the old pods are owned by their ReplicaSet(s) again",
	    r->name);
	/* a recovery may find consumers cancelled: RESTORE re-adds them */
	for (i = 0; i < r->nw; i++)
		if (r->w[i].cancelled.n > 0) {
			run_jump(r, ST_RESTORE, r->fsm.pending);
			return;
		}
	run_next(r, IN_OK);
}

const struct state st_giveback = { "giveback", deadline_minute,
	state_giveback, giveback_settled };

/* ---- recovery -------------------------------------------------------- */

int
handover_recover(struct run *r, int restarted)
{
	const char	*v = json_string_value(json_object_get(r->journal,
			    "handover"));
	json_t		*w, *q;
	size_t		 i, j;

	if (v == NULL || v[0] == '\0')
		return 0;
	json_decref(r->ho);
	if ((r->ho = json_loads(v, 0, NULL)) == NULL) {
		run_abort(r, "the journal's handover record is not JSON; "
		    "nothing was changed");
		return 1;
	}
	r->fsm.handover = 1;
	r->ho_pending = 1;
	json_array_foreach(json_object_get(r->ho, "workers"), i, w) {
		const char *n = json_string_value(json_object_get(w, "name"));
		struct wk *k;
		if (n == NULL)
			continue;
		if ((k = run_worker(r, n)) == NULL)
			k = run_add_worker(r, n);
		json_array_foreach(json_object_get(w, "queues"), j, q)
			if (json_is_string(q) && !strv_has(&k->queues,
			    json_string_value(q))) {
				strv_add(&k->queues, json_string_value(q));
				if (!strv_has(&r->queues, json_string_value(q)))
					strv_add(&r->queues,
					    json_string_value(q));
			}
	}
	v = json_string_value(json_object_get(r->journal, "state"));
	if (!restarted) {
		log_info("%s: the interrupted handover (state %s) had not "
		    "restarted the rollout; giving the old pods back", r->name,
		    v ? v : "?");
		run_jump(r, ST_GIVEBACK, OUT_OK);
	} else if (v != NULL && (strcmp(v, "retire") == 0 ||
	    strcmp(v, "history") == 0)) {
		log_info("%s: the interrupted handover had drained the old "
		    "workers; deleting the old pods, recreating the history",
		    r->name);
		run_jump(r, ST_RETIRE, OUT_OK);
	} else {
		log_info("%s: the interrupted handover (state %s) had "
		    "restarted the rollout; finishing it", r->name, v ? v : "?");
		run_jump(r, ST_ROLLOUT, OUT_OK);
	}
	return 1;
}
