/*
 * test_rsplan.c -- rsplan.c's pure plans (include/kube.h): a Deployment's
 * fenceposts (maxSurge, maxUnavailable), how many old pods the controller
 * stops at each step of a rollout, and GIVEBACK's plan.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "kube.h"

static json_t *
strategy_dep(long replicas, const char *type, json_t *ru)
{
	json_t	*st = json_pack("{s:s}", "type", type);

	if (ru != NULL)
		json_object_set_new(st, "rollingUpdate", ru);
	return json_pack("{s:{s:s},s:{s:I,s:o,s:{s:{s:{s:s},s:{s:s}}}}}",
	    "metadata", "name", "x", "spec", "replicas", (json_int_t)replicas,
	    "strategy", st, "template", "metadata", "labels", "app", "x",
	    "annotations", "kubectl.kubernetes.io/restartedAt", "new");
}

static void
test_fenceposts(void **state)
{
	long	 s, u;
	char	 err[128];
	json_t	*d;
	const struct {
		long replicas;
		const char *surge, *unav;	/* NULL: unset */
		long want_s, want_u;
	} cases[] = {
		{ 1, NULL, NULL, 1, 0 },	/* 25%: up 1, down 0 */
		{ 2, NULL, NULL, 1, 0 },
		{ 4, NULL, NULL, 1, 1 },
		{ 10, NULL, NULL, 3, 2 },
		{ 10, "0", "0", 0, 1 },		/* both 0: 1 unavailable */
		{ 2, "1", "1", 1, 1 },
		{ 3, "50%", "50%", 2, 1 },
		{ 2, "0%", "100%", 0, 2 },
		{ 2, "0", "5", 0, 2 },		/* at most replicas */
	};
	size_t	 i;

	(void)state;
	for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		json_t *ru = json_object();
		if (cases[i].surge != NULL)
			json_object_set_new(ru, "maxSurge",
			    strchr(cases[i].surge, '%') ?
			    json_string(cases[i].surge) :
			    json_integer(atol(cases[i].surge)));
		if (cases[i].unav != NULL)
			json_object_set_new(ru, "maxUnavailable",
			    strchr(cases[i].unav, '%') ?
			    json_string(cases[i].unav) :
			    json_integer(atol(cases[i].unav)));
		d = strategy_dep(cases[i].replicas, "RollingUpdate", ru);
		assert_int_equal(deploy_fenceposts(d, &s, &u, err, sizeof err),
		    0);
		if (s != cases[i].want_s || u != cases[i].want_u)
			fail_msg("case %zu: surge %ld unavailable %ld, want "
			    "%ld %ld", i, s, u, cases[i].want_s,
			    cases[i].want_u);
		json_decref(d);
	}
	d = strategy_dep(3, "Recreate", NULL);
	assert_int_equal(deploy_fenceposts(d, &s, &u, err, sizeof err), 0);
	assert_int_equal(s, 0);
	assert_int_equal(u, 0);
	json_decref(d);
	d = strategy_dep(3, "RollingUpdate", json_pack("{s:s}",
	    "maxUnavailable", "two"));
	assert_int_equal(deploy_fenceposts(d, &s, &u, err, sizeof err), -1);
	assert_non_null(strstr(err, "percentage"));
	json_decref(d);
}

static void
test_old_stops(void **state)
{
	struct rs_scale	 nw, old[2];
	long		 stops[2];

	(void)state;
	/* N at N, none available, old at N all available: maxUnavailable */
	nw = (struct rs_scale){ 2, 0 };
	old[0] = (struct rs_scale){ 2, 2 };
	assert_int_equal(rollout_old_stops(0, 2, 1, 1, nw, old, 1, stops), 1);
	assert_int_equal(stops[0], 1);
	assert_int_equal(old[0].replicas, 1);
	/* maxUnavailable 0 (1 replica, 25%): nothing */
	nw = (struct rs_scale){ 1, 0 };
	old[0] = (struct rs_scale){ 1, 1 };
	assert_int_equal(rollout_old_stops(0, 1, 1, 0, nw, old, 1, stops), 0);
	assert_int_equal(old[0].replicas, 1);
	/* 4 replicas, 25%: 1 of 4 */
	nw = (struct rs_scale){ 4, 0 };
	old[0] = (struct rs_scale){ 4, 4 };
	assert_int_equal(rollout_old_stops(0, 4, 1, 1, nw, old, 1, stops), 1);
	/* an old pod not ready goes first (cleanupUnhealthyReplicas), then
	 * scaleDown finds availability at the minimum */
	nw = (struct rs_scale){ 4, 0 };
	old[0] = (struct rs_scale){ 4, 3 };
	assert_int_equal(rollout_old_stops(0, 4, 1, 2, nw, old, 1, stops), 2);
	assert_int_equal(old[0].replicas, 2);
	assert_int_equal(old[0].available, 2);
	/* the new ReplicaSet not scaled up yet: it is first (surge), then
	 * the old one down to replicas - maxUnavailable */
	nw = (struct rs_scale){ 0, 0 };
	old[0] = (struct rs_scale){ 4, 4 };
	assert_int_equal(rollout_old_stops(0, 4, 1, 1, nw, old, 1, stops), 1);
	assert_int_equal(old[0].replicas, 3);
	/* new pods available: the rollout goes on, every old one stops */
	nw = (struct rs_scale){ 2, 2 };
	old[0] = (struct rs_scale){ 2, 2 };
	assert_int_equal(rollout_old_stops(0, 2, 1, 0, nw, old, 1, stops), 2);
	/* two old ReplicaSets: the oldest first */
	nw = (struct rs_scale){ 3, 0 };
	old[0] = (struct rs_scale){ 1, 1 };
	old[1] = (struct rs_scale){ 2, 2 };
	assert_int_equal(rollout_old_stops(0, 3, 0, 2, nw, old, 2, stops), 2);
	assert_int_equal(stops[0], 1);
	assert_int_equal(stops[1], 1);
	/* a history ReplicaSet at 0 stops nothing */
	nw = (struct rs_scale){ 2, 0 };
	old[0] = (struct rs_scale){ 0, 0 };
	old[1] = (struct rs_scale){ 2, 2 };
	assert_int_equal(rollout_old_stops(0, 2, 1, 1, nw, old, 2, stops), 1);
	assert_int_equal(stops[0], 0);
	assert_int_equal(stops[1], 1);
	/* Recreate: all of them */
	nw = (struct rs_scale){ 2, 0 };
	old[0] = (struct rs_scale){ 0, 0 };
	old[1] = (struct rs_scale){ 2, 2 };
	assert_int_equal(rollout_old_stops(1, 2, 0, 0, nw, old, 2, stops), 2);
	assert_int_equal(stops[1], 2);
	assert_int_equal(old[1].replicas, 0);
}

/* A ReplicaSet: name, created, hash, replicas, template annotation. */
static json_t *
rs_obj(const char *name, const char *created, const char *hash, long n,
    const char *restarted, long avail)
{
	return json_pack("{s:{s:s,s:s,s:{s:s,s:s}},s:{s:I,s:{s:{s:{s:s,s:s},"
	    "s:{s:s}}}},s:{s:I}}", "metadata", "name", name,
	    "creationTimestamp", created, "labels", "app", "x",
	    "pod-template-hash", hash, "spec", "replicas", (json_int_t)n,
	    "template", "metadata", "labels", "app", "x", "pod-template-hash",
	    hash, "annotations", "kubectl.kubernetes.io/restartedAt",
	    restarted, "status", "availableReplicas", (json_int_t)avail);
}

static json_t *
podlist(const char *names[], const int ready[], size_t n)
{
	json_t	*items = json_array();
	size_t	 i;

	for (i = 0; i < n; i++)
		json_array_append_new(items, json_pack("{s:{s:s},s:{s:s,s:[{s:s,"
		    "s:s}]}}", "metadata", "name", names[i], "status", "phase",
		    "Running", "conditions", "type", "Ready", "status",
		    ready[i] ? "True" : "False"));
	return json_pack("{s:o}", "items", items);
}

static void
test_giveback_plan(void **state)
{
	const char	*names[] = { "x-old-a", "x-old-b", "x-old-c" };
	const int	 ready[] = { 1, 0, 1 };
	json_t		*dep, *olds, *now, *pods, *plist, *plan;
	struct pod_list	 pl;
	char		 err[256];

	(void)state;
	dep = strategy_dep(3, "RollingUpdate", json_pack("{s:i,s:i}",
	    "maxSurge", 1, "maxUnavailable", 1));
	olds = json_pack("[o,o]", rs_obj("x-hist", "2026-01-01T00:00:00Z",
	    "hist", 0, "older", 0), rs_obj("x-old", "2026-02-01T00:00:00Z",
	    "old", 3, "previous", 3));
	now = json_pack("[o]", rs_obj("x-new", "2026-03-01T00:00:00Z", "new",
	    3, "new", 0));
	pods = json_pack("[{s:s,s:s},{s:s,s:s},{s:s,s:s}]", "name", "x-old-a",
	    "hash", "old", "name", "x-old-b", "hash", "old", "name", "x-old-c",
	    "hash", "old");
	plist = podlist(names, ready, 3);
	assert_int_equal(pods_parse(plist, &pl, err, sizeof err), 0);
	/* 3 at 3, none new available, one old not ready, maxUnavailable 1:
	 * the unready one (cleanupUnhealthyReplicas), then none: 2 left */
	plan = giveback_plan(dep, now, olds, pods, &pl, err, sizeof err);
	assert_non_null(plan);
	assert_int_equal(json_integer_value(json_object_get(plan, "stops")), 1);
	assert_string_equal(json_string_value(json_array_get(json_object_get(
	    plan, "shed"), 0)), "x-old-b");
	assert_int_equal(json_integer_value(json_object_get(json_object_get(
	    plan, "replicas"), "x-old")), 2);
	assert_int_equal(json_integer_value(json_object_get(json_object_get(
	    plan, "replicas"), "x-hist")), 0);
	json_decref(plan);
	json_decref(dep);
	/* Recreate: every live old pod, the ReplicaSet at 0 */
	dep = strategy_dep(3, "Recreate", NULL);
	plan = giveback_plan(dep, now, olds, pods, &pl, err, sizeof err);
	assert_int_equal(json_integer_value(json_object_get(plan, "stops")), 3);
	assert_int_equal(json_array_size(json_object_get(plan, "shed")), 3);
	assert_int_equal(json_integer_value(json_object_get(json_object_get(
	    plan, "replicas"), "x-old")), 0);
	json_decref(plan);
	/* the restart never applied: the template is the old one, nothing */
	json_object_set_new(json_object_get(json_object_get(json_object_get(
	    dep, "spec"), "template"), "metadata"), "annotations",
	    json_pack("{s:s}", "kubectl.kubernetes.io/restartedAt",
	    "previous"));
	plan = giveback_plan(dep, now, olds, pods, &pl, err, sizeof err);
	assert_int_equal(json_integer_value(json_object_get(plan, "stops")), 0);
	assert_int_equal(json_integer_value(json_object_get(json_object_get(
	    plan, "replicas"), "x-old")), 3);
	json_decref(plan);
	json_decref(dep);
	/* a bad strategy: NULL and why */
	dep = strategy_dep(3, "RollingUpdate", json_pack("{s:s}",
	    "maxSurge", "lots"));
	assert_null(giveback_plan(dep, now, olds, pods, &pl, err, sizeof err));
	json_decref(dep);
	pod_list_free(&pl);
	json_decref(plist);
	json_decref(pods);
	json_decref(now);
	json_decref(olds);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fenceposts),
		cmocka_unit_test(test_old_stops),
		cmocka_unit_test(test_giveback_plan),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
