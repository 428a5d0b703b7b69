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

#include "journal.h"
#include "lease.h"
#include "handover.h"
#include "podworkers.h"
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
	json_t		*pods, *p;
	size_t		 i;

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
		if (n == NULL)
			continue;
		if (!strv_has(&r->old_pods, n)) {
			/* created since RESOLVE: detached (and drained) too */
			log_info("%s: pod %s appeared since the pods were "
			    "resolved; detached with the others", r->name, n);
			strv_add(&r->old_pods, n);
		}
		json_array_append_new(pods, json_pack("{s:s,s:O}", "name", n,
		    "hash", json_is_string(h) ? h : json_null()));
	}
	json_object_set_new(r->ho, "pods", pods);
	json_object_set_new(r->ho, "workers", run_workers_json(r, 0));
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

/* The recorded pods leave their ReplicaSets: none adopts them any more. */
static void
detach_relabel(struct run *r)
{
	json_t	*p, *labels;
	size_t	 i;

	if (!lease_check(r))
		return;
	json_array_foreach(json_object_get(r->ho, "pods"), i, p) {
		json_t *h = json_object_get(p, "hash");
		char *v;
		labels = json_pack("{s:O}", RUN_LABEL,
		    json_object_get(r->ho, "label"));
		if (json_is_string(h)) {
			v = xasprintf("handover-%s", json_string_value(h));
			json_object_set_new(labels, HASH_LABEL, json_string(v));
			free(v);
		}
		kube_pod_labels(&r->ctx->kube, json_string_value(
		    json_object_get(p, "name")), labels, r->state_deadline,
		    detach_done, op_new(r, 0, 0));
		json_decref(labels);
	}
}

/*
 * Step 0: read; 1: journalled, pausing; 2: deleting; 3: the pods listed
 * again; 4: journalled, relabelling. The list of step 0 was read before the
 * pause: a replica added meanwhile (an autoscaler) is orphaned with the
 * others, so the pods are listed again once their ReplicaSets are deleted
 * (no pod of theirs can be created after) and every one is recorded
 * before it is relabelled: RETIRE drains and deletes it with the others.
 */
static void
detach_settled(struct run *r)
{
	json_t	*rs;
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
		run_patch_ahead(r, 1);
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
		kube_list(&r->ctx->kube, "pods", r->dep.selector,
		    r->state_deadline, detach_pods, op_new(r, 0, 0));
		return;
	case 3:
		r->step = 4;
		journal_write(r, detach_relabel);
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
	kube_pause(&r->ctx->kube, r->name, 1, r->state_deadline, &r->patch,
	    detach_done, op_new(r, 0, 0));
}

const struct state st_detach = {
	.name = "detach",
	.deadline = deadline_minute,
	.enter = state_detach,
	.settled = detach_settled,
	.journal_ahead = 1,
};

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

const struct state st_retire = {
	.name = "retire",
	.deadline = deadline_minute,
	.enter = state_retire,
	.settled = retire_settled,
};

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
		/* history: 0 replicas; given back: as many as the plan keeps */
		m = rs_recreate(rs, r->fsm.state == ST_HISTORY ? 0 :
		    json_integer_value(json_object_get(json_object_get(
		    json_object_get(r->ho, "plan"), "replicas"), n)));
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
	if (!r->bad && r->fsm.shed)
		r->ho_pending = 0;
	else if (!r->bad) {
		log_info("%s: the old ReplicaSet(s) exist again with 0 "
		    "replicas (oc rollout history)", r->name);
		r->ho_pending = 0;
	}
	run_next(r, r->bad ? IN_FAIL : IN_OK);
}

const struct state st_history = {
	.name = "history",
	.deadline = deadline_minute,
	.enter = state_history,
	.settled = history_settled,
};

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

/* What GIVEBACK reads before its plan: ho_seen[seen_keys[wi]] = obj. */
static const char *const seen_keys[] = { "deployment", "replicasets", "pods" };

static void
giveback_seen(enum kube_err e, json_t *obj, const char *err, void *arg)
{
	size_t		 wi;
	struct run	*r = op_done(arg, &wi, NULL);

	if (r == NULL)
		return;
	if (e != KUBE_OK) {
		run_fail(r, "%s", err);
		r->bad = 1;
		return;
	}
	json_object_set(r->ho_seen, seen_keys[wi], obj);
}

/* The pods the plan keeps are relabelled back (no ReplicaSet exists to
 * adopt them yet); those it sheds stay detached. */
static void
giveback_relabel(struct run *r)
{
	json_t	*p, *labels;
	size_t	 i;

	if (!lease_check(r))
		return;
	r->step = 1;
	json_array_foreach(json_object_get(r->ho, "pods"), i, p) {
		json_t *h = json_object_get(p, "hash");
		const char *n = json_string_value(json_object_get(p, "name"));
		if (handover_shed_has(r, n))
			continue;
		labels = json_pack("{s:n}", RUN_LABEL);
		if (json_is_string(h))
			json_object_set(labels, HASH_LABEL, h);
		kube_pod_labels(&r->ctx->kube, n, labels, r->state_deadline,
		    giveback_done, op_new(r, 0, 0));
		json_decref(labels);
	}
}

/*
 * Step 0: the Deployment, its ReplicaSets and pods read (giveback_plan():
 * how many old pods the controller would stop once resumed), the plan
 * journalled; 1: the pods it keeps relabelled back; 2: the ReplicaSets
 * created again with the plan's replicas, which adopt them; 3: resumed.
 * Then the pods it sheds are drained (fsm.shed), still detached.
 */
static void
state_giveback(struct run *r)
{
	r->bad = 0;
	if (!r->ho_pending) {
		/* DETACH stopped before its journal record: nothing changed */
		r->step = -1;
		return;
	}
	if (!lease_check(r))
		return;
	if (json_object_get(r->ho, "plan") != NULL) {
		/* planned before an interruption: the same plan */
		giveback_relabel(r);
		return;
	}
	json_decref(r->ho_seen);
	r->ho_seen = json_object();
	kube_get_deployment(&r->ctx->kube, r->name, r->state_deadline,
	    giveback_seen, op_new(r, 0, 0));
	kube_list(&r->ctx->kube, "replicasets", r->dep.selector,
	    r->state_deadline, giveback_seen, op_new(r, 1, 0));
	kube_list(&r->ctx->kube, "pods", r->dep.selector, r->state_deadline,
	    giveback_seen, op_new(r, 2, 0));
}

static void
giveback_plan_made(struct run *r)
{
	struct pod_list	 pl = { 0 };
	json_t		*plan = NULL, *rs;
	char		 err[512];

	err[0] = '\0';
	rs = rs_owned(json_object_get(r->ho_seen, "replicasets"),
	    json_string_value(json_object_get(r->ho, "uid")));
	if (pods_parse(json_object_get(r->ho_seen, "pods"), &pl, err,
	    sizeof err) == 0)
		plan = giveback_plan(json_object_get(r->ho_seen, "deployment"),
		    rs, json_object_get(r->ho, "replicasets"),
		    json_object_get(r->ho, "pods"), &pl, err, sizeof err);
	pod_list_free(&pl);
	json_decref(rs);
	json_decref(r->ho_seen);
	r->ho_seen = NULL;
	if (plan == NULL) {
		run_fail(r, "cannot tell which old pods the Deployment "
		    "controller would stop: %s", err);
		r->bad = 1;
		run_next(r, IN_FAIL);
		return;
	}
	if (json_integer_value(json_object_get(plan, "stops")) > 0) {
		char *s = json_dumps(json_object_get(plan, "shed"),
		    JSON_COMPACT);
		log_info("%s: resumed, the Deployment controller would stop "
		    "%lld old pod(s) of the rollout that did not finish: "
		    "draining %s first, detached", r->name, (long long)
		    json_integer_value(json_object_get(plan, "stops")), s);
		free(s);
	}
	json_object_set_new(r->ho, "plan", plan);
	json_object_set_new(r->ho, "pending", json_integer(r->fsm.pending));
	/* the plan is in Redis before a pod is given back */
	journal_write(r, giveback_relabel);
}

/* The handover record names only the pods (and workers) still detached. */
static void
giveback_keep_shed(struct run *r)
{
	json_t	*pods = json_array(), *ws = json_array(), *p;
	size_t	 i;

	json_array_foreach(json_object_get(r->ho, "pods"), i, p)
		if (handover_shed_has(r, json_string_value(json_object_get(p, "name"))))
			json_array_append(pods, p);
	json_array_foreach(json_object_get(r->ho, "workers"), i, p) {
		const char *pod = worker_pod(json_string_value(
		    json_object_get(p, "name")));
		if (handover_shed_has(r, pod))
			json_array_append(ws, p);
	}
	json_object_set_new(r->ho, "pods", pods);
	json_object_set_new(r->ho, "workers", ws);
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
		giveback_plan_made(r);
		return;
	case 1:
		rs_recreate_all(r);
		return;
	case 2:
		kube_pause(&r->ctx->kube, r->name, 0, r->state_deadline, NULL,
		    giveback_done, op_new(r, 0, 0));
		return;
	default:
		break;
	}
	if (json_array_size(json_object_get(json_object_get(r->ho, "plan"),
	    "shed")) > 0) {
		giveback_keep_shed(r);
		r->fsm.shed = 1;
		/* the cause stays the run's; the drain starts without it */
		if (r->err[0] != '\0')
			json_object_set_new(r->ho, "error", json_string(r->err));
		r->err[0] = '\0';
		log_info("%s: the other old pods are owned by their "
		    "ReplicaSet(s) again", r->name);
	} else {
		r->ho_pending = 0;
		log_info("%s: the old pods are owned by their ReplicaSet(s) "
		    "again", r->name);
	}
	/* a recovery may find consumers cancelled: RESTORE re-adds them */
	for (i = 0; i < r->nw; i++)
		if (r->w[i].cancelled.n > 0) {
			run_jump(r, ST_RESTORE, r->fsm.pending);
			return;
		}
	run_next(r, IN_OK);
}

const struct state st_giveback = {
	.name = "giveback",
	.deadline = deadline_minute,
	.enter = state_giveback,
	.settled = giveback_settled,
};
