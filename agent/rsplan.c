/*
 * rsplan.c -- pure: how many old pods the Deployment controller would stop
 * once a failed --handover gives the old ReplicaSets back (kube.h), as
 * k8s.io/kubernetes/pkg/controller/deployment does it: rolling.go
 * (reconcileNewReplicaSet, reconcileOldReplicaSets,
 * cleanupUnhealthyReplicas, scaleDownOldReplicaSetsForRollingUpdate),
 * recreate.go (old ReplicaSets to 0), util/deployment_util.go
 * (ResolveFenceposts, MaxUnavailable, NewRSNewReplicas).
 */
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kube.h"
#include "util.h"

#define HASH_LABEL	"pod-template-hash"

/* intstr.GetScaledValueFromIntOrPercent; a missing value is the default. */
static int
scaled(json_t *v, const char *dflt, long total, int round_up, long *out,
    char *err, size_t errlen)
{
	const char	*s;
	char		*end;
	long		 p;

	if (json_is_integer(v)) {
		*out = (long)json_integer_value(v);
		return 0;
	}
	s = v == NULL || json_is_null(v) ? dflt : json_string_value(v);
	if (s == NULL || s[0] == '\0' || s[strlen(s) - 1] != '%') {
		snprintf(err, errlen, "maxSurge/maxUnavailable is neither a "
		    "number nor a percentage");
		return -1;
	}
	p = strtol(s, &end, 10);
	if (end != s + strlen(s) - 1 || p < 0) {
		snprintf(err, errlen, "invalid percentage \"%s\"", s);
		return -1;
	}
	*out = round_up ? (long)ceil((double)p * total / 100.0) :
	    (long)floor((double)p * total / 100.0);
	return 0;
}

static int
is_recreate(json_t *deployment)
{
	const char	*t = json_string_value(json_object_get(json_object_get(
			    json_object_get(deployment, "spec"), "strategy"),
			    "type"));

	return t != NULL && strcmp(t, "Recreate") == 0;
}

static long
spec_replicas(json_t *obj)
{
	json_t	*v = json_object_get(json_object_get(obj, "spec"), "replicas");

	return json_is_integer(v) ? (long)json_integer_value(v) : 1;
}

int
deploy_fenceposts(json_t *deployment, long *surge, long *unavailable,
    char *err, size_t errlen)
{
	json_t	*ru = json_object_get(json_object_get(json_object_get(
		    deployment, "spec"), "strategy"), "rollingUpdate");
	long	 r = spec_replicas(deployment);

	*surge = *unavailable = 0;
	if (is_recreate(deployment) || r == 0)
		return 0;
	if (scaled(json_object_get(ru, "maxSurge"), "25%", r, 1, surge, err,
	    errlen) == -1 || scaled(json_object_get(ru, "maxUnavailable"),
	    "25%", r, 0, unavailable, err, errlen) == -1)
		return -1;
	if (*surge == 0 && *unavailable == 0)
		*unavailable = 1;
	if (*unavailable > r)		/* MaxUnavailable() */
		*unavailable = r;
	return 0;
}

static long
lmin(long a, long b)
{
	return a < b ? a : b;
}

long
rollout_old_stops(int recreate, long replicas, long surge, long unavailable,
    struct rs_scale nw, struct rs_scale *old, size_t nold, long *stops)
{
	long	 total = 0, all, min_avail, max_down, done, avail, down, d;
	size_t	 i;
	int	 rounds;

	for (i = 0; i < nold; i++) {
		stops[i] = 0;
		if (old[i].available > old[i].replicas)
			old[i].available = old[i].replicas;
	}
	if (recreate) {
		for (i = 0; i < nold; i++) {
			stops[i] = old[i].replicas;
			total += old[i].replicas;
			old[i].replicas = old[i].available = 0;
		}
		return total;
	}
	/* the new pods never become available: the state the rollout left */
	for (rounds = 0; rounds < 1000; rounds++) {
		/* reconcileNewReplicaSet */
		if (nw.replicas > replicas) {
			nw.replicas = replicas;
			continue;
		}
		if (nw.replicas < replicas) {
			long cur = nw.replicas, n;
			for (i = 0; i < nold; i++)
				cur += old[i].replicas;
			n = cur >= replicas + surge ? nw.replicas :
			    nw.replicas + lmin(replicas + surge - cur,
			    replicas - nw.replicas);
			if (n != nw.replicas) {
				nw.replicas = n;
				continue;
			}
		}
		if (nw.available > nw.replicas)
			nw.available = nw.replicas;
		/* reconcileOldReplicaSets */
		all = nw.replicas;
		for (i = 0; i < nold; i++)
			all += old[i].replicas;
		if (all == nw.replicas)
			break;
		min_avail = replicas - unavailable;
		max_down = all - min_avail - (nw.replicas - nw.available);
		if (max_down <= 0)
			break;
		/* cleanupUnhealthyReplicas: the unavailable ones first */
		done = 0;
		for (i = 0; i < nold && done < max_down; i++) {
			if (old[i].replicas == 0 ||
			    old[i].available == old[i].replicas)
				continue;
			d = lmin(max_down - done, old[i].replicas -
			    old[i].available);
			old[i].replicas -= d;
			stops[i] += d;
			done += d;
		}
		/* scaleDownOldReplicaSetsForRollingUpdate */
		avail = nw.available;
		for (i = 0; i < nold; i++)
			avail += old[i].available;
		down = 0;
		for (i = 0; avail > min_avail && i < nold &&
		    down < avail - min_avail; i++) {
			if (old[i].replicas == 0)
				continue;
			d = lmin(old[i].replicas, avail - min_avail - down);
			old[i].replicas -= d;
			if (old[i].available > old[i].replicas)
				old[i].available = old[i].replicas;
			stops[i] += d;
			down += d;
		}
		if (done + down == 0)
			break;
	}
	for (i = 0; i < nold; i++)
		total += stops[i];
	return total;
}

/* The template without its pod-template-hash label (a new object). */
static json_t *
bare_template(json_t *obj)
{
	json_t	*t = json_deep_copy(json_object_get(json_object_get(obj,
		    "spec"), "template")), *md, *labels;

	if (t == NULL)
		return json_object();
	md = json_object_get(t, "metadata");
	labels = json_object_get(md, "labels");
	json_object_del(labels, HASH_LABEL);
	if (labels != NULL && json_object_size(labels) == 0)
		json_object_del(md, "labels");
	if (json_is_null(json_object_get(md, "creationTimestamp")))
		json_object_del(md, "creationTimestamp");
	if (md != NULL && json_object_size(md) == 0)
		json_object_del(t, "metadata");
	return t;
}

static int
same_template(json_t *a, json_t *b)
{
	json_t	*x = bare_template(a), *y = bare_template(b);
	int	 eq = json_equal(x, y);

	json_decref(x);
	json_decref(y);
	return eq;
}

static const char *
meta_str(json_t *obj, const char *key)
{
	return json_string_value(json_object_get(json_object_get(obj,
	    "metadata"), key));
}

static const char *
rs_hash(json_t *rs)
{
	return json_string_value(json_object_get(json_object_get(
	    json_object_get(rs, "metadata"), "labels"), HASH_LABEL));
}

/* by creationTimestamp (RFC 3339 UTC: ordered as strings), then name */
static int
older(json_t *a, json_t *b)
{
	const char	*ta = meta_str(a, "creationTimestamp");
	const char	*tb = meta_str(b, "creationTimestamp");
	int		 c = strcmp(ta ? ta : "", tb ? tb : "");

	if (c == 0)
		c = strcmp(meta_str(a, "name") ? meta_str(a, "name") : "",
		    meta_str(b, "name") ? meta_str(b, "name") : "");
	return c < 0;
}

static int
pod_live(const struct pod_info *p)
{
	return p != NULL && !p->terminating && !p->exited;
}

/* old_pods[i] as listed if it has the hash and runs (and is ready), or NULL. */
static const struct pod_info *
old_pod(json_t *old_pods, size_t i, const struct pod_list *pods,
    const char *hash, int ready)
{
	json_t			*p = json_array_get(old_pods, i);
	const struct pod_info	*pi = pod_list_find(pods, json_string_value(
				    json_object_get(p, "name")));
	const char		*ph = json_string_value(json_object_get(p,
				    "hash"));

	if (hash == NULL || ph == NULL || strcmp(hash, ph) != 0 ||
	    !pod_live(pi) || (ready && !pi->ready))
		return NULL;
	return pi;
}

json_t *
giveback_plan(json_t *deployment, json_t *rs_now, json_t *old_rss,
    json_t *old_pods, const struct pod_list *pods, char *err, size_t errlen)
{
	json_t		 *plan, *reps, *shed, *rs, *p, *nrs = NULL;
	json_t		**sorted;
	struct rs_scale	  nw = { 0, 0 }, *old;
	long		 *stops, surge, unav, live, keep, want;
	size_t		  n = json_array_size(old_rss), i, j, k;
	int		  pass;

	if (deploy_fenceposts(deployment, &surge, &unav, err, errlen) == -1)
		return NULL;
	plan = json_pack("{s:o,s:o,s:i}", "replicas", json_object(), "shed",
	    json_array(), "stops", 0);
	reps = json_object_get(plan, "replicas");
	shed = json_object_get(plan, "shed");
	sorted = xcalloc(n + 1, sizeof *sorted);
	old = xcalloc(n + 1, sizeof *old);
	stops = xcalloc(n + 1, sizeof *stops);
	json_array_foreach(old_rss, i, rs) {
		for (j = i; j > 0 && older(rs, sorted[j - 1]); j--)
			sorted[j] = sorted[j - 1];
		sorted[j] = rs;
	}
	for (i = 0; i < n; i++) {
		rs = sorted[i];
		json_object_set_new(reps, meta_str(rs, "name") ?
		    meta_str(rs, "name") : "", json_integer(spec_replicas(rs)));
	}
	/* the template in force is an old one: nothing rolls out */
	for (i = 0; i < n; i++)
		if (same_template(sorted[i], deployment))
			goto out;
	/* the new ReplicaSet: the oldest other one with the template */
	json_array_foreach(rs_now, i, rs) {
		const char *nm = meta_str(rs, "name");
		int journalled = 0;
		json_array_foreach(old_rss, j, p)
			if (nm != NULL && meta_str(p, "name") != NULL &&
			    strcmp(nm, meta_str(p, "name")) == 0)
				journalled = 1;
		if (!journalled && same_template(rs, deployment) &&
		    (nrs == NULL || older(rs, nrs)))
			nrs = rs;
	}
	if (nrs != NULL) {
		json_t *av = json_object_get(json_object_get(nrs, "status"),
		    "availableReplicas");
		nw.replicas = spec_replicas(nrs);
		nw.available = json_is_integer(av) ?
		    (long)json_integer_value(av) : 0;
	}
	for (i = 0; i < n; i++) {
		const char *h = rs_hash(sorted[i]);
		old[i].replicas = spec_replicas(sorted[i]);
		for (j = 0; j < json_array_size(old_pods); j++)
			if (old_pod(old_pods, j, pods, h, 1) != NULL)
				old[i].available++;
	}
	rollout_old_stops(is_recreate(deployment), spec_replicas(deployment),
	    surge, unav, nw, old, n, stops);
	for (i = 0; i < n; i++) {
		const char *h = rs_hash(sorted[i]);
		if (stops[i] == 0)
			continue;
		want = spec_replicas(sorted[i]) - stops[i];
		json_object_set_new(reps, meta_str(sorted[i], "name"),
		    json_integer(want));
		/* the ReplicaSet keeps `want` of its live pods; the rest stop */
		live = 0;
		for (j = 0; j < json_array_size(old_pods); j++)
			if (old_pod(old_pods, j, pods, h, 0) != NULL)
				live++;
		keep = live - want;
		/* the not ready first, as the ReplicaSet controller would */
		for (pass = 0; pass < 2 && keep > 0; pass++)
			for (k = json_array_size(old_pods); k > 0 && keep > 0;
			    k--) {
				const struct pod_info *pi = old_pod(old_pods,
				    k - 1, pods, h, 0);
				if (pi == NULL || !!pi->ready != pass)
					continue;
				json_array_append_new(shed,
				    json_string(pi->name));
				keep--;
			}
	}
	json_object_set_new(plan, "stops", json_integer(
	    (json_int_t)json_array_size(shed)));
out:
	free(sorted);
	free(old);
	free(stops);
	return plan;
}
