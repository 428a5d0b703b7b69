/*
 * test_podworkers.c -- pods that run several workers (podworkers.h): RESOLVE's
 * verdict on the pods and workers it found, which
 * queues the new workers must consume again (VERIFY), when --handover may
 * delete an old pod, and whether a pod's worker has exited; table-driven.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "podworkers.h"
#include "util.h"
#include "worker.h"

#define MAXW	4

/* "name:q1,q2" -> a worker and its queues. */
struct wspec {
	const char	*w[MAXW];
};

static size_t
build(const struct wspec *s, struct worker_queues *out, struct strv *qs,
    char **names)
{
	size_t	 n = 0;
	char	*c, *tok, *save;

	for (n = 0; n < MAXW && s->w[n] != NULL; n++) {
		names[n] = xstrdup(s->w[n]);
		memset(&qs[n], 0, sizeof qs[n]);
		if ((c = strchr(names[n], ':')) != NULL) {
			*c++ = '\0';
			for (tok = strtok_r(c, ",", &save); tok != NULL;
			    tok = strtok_r(NULL, ",", &save))
				strv_add(&qs[n], tok);
		}
		out[n].name = names[n];
		out[n].queues = &qs[n];
	}
	return n;
}

static void
unbuild(size_t n, struct strv *qs, char **names)
{
	while (n-- > 0) {
		strv_free(&qs[n]);
		free(names[n]);
	}
}

static const struct verify_case {
	const char	*what;
	struct wspec	 old, nw;
	size_t		 missing;
	const char	*why;	/* NULL: none */
} verify_cases[] = {
	{ "one worker, consumed again",
	  { { "ecal-bulk@p1:ecal-bulk" } }, { { "ecal-bulk@p2:ecal-bulk" } },
	  0, NULL },
	{ "two workers in a pod, each pairs with its own",
	  { { "csc-bulk@p1:csc-bulk", "csc-bulk-2@p1:csc-bulk-2" } },
	  { { "csc-bulk-2@p2:csc-bulk-2", "csc-bulk@p2:csc-bulk" } }, 0, NULL },
	{ "the second new worker does not consume its queue",
	  { { "csc-bulk@p1:csc-bulk", "csc-bulk-2@p1:csc-bulk-2" } },
	  { { "csc-bulk@p2:csc-bulk", "csc-bulk-2@p2:" } }, 1,
	  "new worker csc-bulk-2@p2 does not consume csc-bulk-2 "
	  "(csc-bulk-2@p1 did)" },
	{ "the queue is consumed, but by the other worker only",
	  { { "csc-bulk@p1:csc-bulk", "csc-bulk-2@p1:csc-bulk-2" } },
	  { { "csc-bulk@p2:csc-bulk,csc-bulk-2", "csc-bulk-2@p2:x" } }, 1,
	  "new worker csc-bulk-2@p2 does not consume csc-bulk-2 "
	  "(csc-bulk-2@p1 did)" },
	{ "the second new worker is not up yet: the fallback fails",
	  { { "csc-bulk@p1:csc-bulk", "csc-bulk-2@p1:csc-bulk-2" } },
	  { { "csc-bulk@p2:csc-bulk" } }, 1,
	  "no new worker consumes csc-bulk-2 (csc-bulk-2@p1 did; no new "
	  "worker is named csc-bulk-2@...)" },
	{ "a renamed worker: any new worker will do",
	  { { "etl@p1:a,b" } }, { { "x@p2:a", "y@p2:b" } }, 0, NULL },
	{ "a renamed worker, a queue nobody consumes",
	  { { "etl@p1:a,b" } }, { { "x@p2:a" } }, 1,
	  "no new worker consumes b (etl@p1 did; no new worker is named "
	  "etl@...)" },
	{ "replicas: one new worker of the name consumes it",
	  { { "w@p1:q", "w@p2:q" } }, { { "w@p3:", "w@p4:q" } }, 0, NULL },
	{ "replicas: none does, each old worker's queue named",
	  { { "w@p1:q", "w@p2:q" } }, { { "w@p3:" } }, 2,
	  "new worker w@p3 does not consume q (w@p1 did); new worker w@p3 "
	  "does not consume q (w@p2 did)" },
	{ "an old worker that consumed nothing asks for nothing",
	  { { "w@p1:", "v@p1:q" } }, { { "v@p2:q" } }, 0, NULL },
	{ "no new worker at all",
	  { { "w@p1:q" } }, { { NULL } }, 1,
	  "no new worker consumes q (w@p1 did; no new worker is named "
	  "w@...)" },
	{ "no old worker: nothing asked",
	  { { NULL } }, { { "w@p2:q" } }, 0, NULL },
	{ "names without '@' compare whole",
	  { { "solo:q" } }, { { "solo:q" } }, 0, NULL },
	{ "a name prefix is not the same name",
	  { { "csc-bulk@p1:csc-bulk" } }, { { "csc-bulk-2@p2:csc-bulk-2" } },
	  1, "no new worker consumes csc-bulk (csc-bulk@p1 did; no new worker "
	  "is named csc-bulk@...)" },
	{ "a name without '@', renamed",
	  { { "solo:q" } }, { { "other@p:r" } }, 1,
	  "no new worker consumes q (solo did; no new worker is named "
	  "solo@...)" },
};

static void
test_verify(void **state)
{
	size_t	i, no, nn, got;

	(void)state;
	for (i = 0; i < sizeof verify_cases / sizeof verify_cases[0]; i++) {
		const struct verify_case *c = &verify_cases[i];
		struct worker_queues	 o[MAXW], n[MAXW];
		struct strv		 oq[MAXW], nq[MAXW];
		char			*on[MAXW], *nn_[MAXW], *why;

		no = build(&c->old, o, oq, on);
		nn = build(&c->nw, n, nq, nn_);
		got = verify_new_workers(o, no, n, nn, &why);
		if (got != c->missing || (c->why == NULL) != (why == NULL) ||
		    (why != NULL && strcmp(why, c->why) != 0))
			fail_msg("%s: %zu missing (%s), want %zu (%s)", c->what,
			    got, why ? why : "-", c->missing,
			    c->why ? c->why : "-");
		free(why);
		unbuild(no, oq, on);
		unbuild(nn, nq, nn_);
	}
}

static const struct done_case {
	const char		*what;
	const char		*pod;
	struct worker_done	 w[MAXW];
	size_t			 n;
	int			 want;
	struct worker_status	 ws[MAXW];	/* online now */
	size_t			 nws;
} done_cases[] = {
	{ "the pod's only worker drained", "p1",
	  { { "a@p1", 1 } }, 1, 1, { { NULL, 0 } }, 0 },
	{ "the first of two drained, the second still runs a task", "p1",
	  { { "a@p1", 1 }, { "a-2@p1", 0 } }, 2, 0, { { NULL, 0 } }, 0 },
	{ "the second drained first", "p1",
	  { { "a@p1", 0 }, { "a-2@p1", 1 } }, 2, 0, { { NULL, 0 } }, 0 },
	{ "both drained", "p1",
	  { { "a@p1", 1 }, { "a-2@p1", 1 } }, 2, 1, { { NULL, 0 } }, 0 },
	{ "another pod's busy worker does not hold this one", "p1",
	  { { "a@p1", 1 }, { "a@p2", 0 } }, 2, 1, { { NULL, 0 } }, 0 },
	{ "no worker of the run on that pod", "p3",
	  { { "a@p1", 1 }, { "a@p2", 1 } }, 2, 0, { { NULL, 0 } }, 0 },
	{ "a pod whose name another's begins with", "p1",
	  { { "a@p1", 1 }, { "a@p10", 0 } }, 2, 1, { { NULL, 0 } }, 0 },
	{ "a worker name without '@' is on no pod", "p1",
	  { { "a", 0 }, { "a@p1", 1 } }, 2, 1, { { NULL, 0 } }, 0 },
	{ "no pod", NULL, { { "a@p1", 1 } }, 1, 0, { { NULL, 0 } }, 0 },
	{ "no workers", "p1", { { NULL, 0 } }, 0, 0, { { NULL, 0 } }, 0 },
	/* the workers online now: one the run does not track holds the pod */
	{ "a second worker came up after RESOLVE: online, untracked", "p1",
	  { { "a@p1", 1 } }, 1, 0, { { "a@p1", 1 }, { "a-2@p1", 1 } }, 2 },
	{ "... offline: it holds nothing the broker would give it", "p1",
	  { { "a@p1", 1 } }, 1, 1, { { "a@p1", 1 }, { "a-2@p1", 0 } }, 2 },
	{ "every online worker of the pod is the run's, drained", "p1",
	  { { "a@p1", 1 }, { "a-2@p1", 1 } }, 2, 1,
	  { { "a-2@p1", 1 }, { "a@p1", 1 } }, 2 },
	{ "an untracked worker of another pod does not hold this one", "p1",
	  { { "a@p1", 1 } }, 1, 1, { { "a@p1", 1 }, { "a@p2", 1 } }, 2 },
	{ "... nor of a pod whose name begins with this one's", "p1",
	  { { "a@p1", 1 } }, 1, 1, { { "a-2@p10", 1 } }, 1 },
	{ "an online name without '@' is on no pod", "p1",
	  { { "a@p1", 1 } }, 1, 1, { { "a", 1 } }, 1 },
	{ "untracked online, but the run's own still drains", "p1",
	  { { "a@p1", 0 } }, 1, 0, { { "a-2@p1", 1 } }, 1 },
	{ "untracked online on a pod the run tracks nothing on", "p3",
	  { { "a@p1", 1 } }, 1, 0, { { "a@p3", 1 } }, 1 },
};

static void
test_pod_done(void **state)
{
	size_t	i;
	int	got;

	(void)state;
	for (i = 0; i < sizeof done_cases / sizeof done_cases[0]; i++) {
		const struct done_case *c = &done_cases[i];
		got = pod_workers_done(c->pod, c->w, c->n, c->ws, c->nws);
		if (got != c->want)
			fail_msg("%s: %d, want %d", c->what, got, c->want);
	}
}

static void
test_undrainable(void **state)
{
	static const struct {
		const char		*what;
		const char		*need[3];
		struct worker_status	 ws[4];
		size_t			 n;
		const char		*missing, *offline;	/* joined "," */
	} t[] = {
		{ "one online worker a pod", { "p1", "p2" },
		  { { "a@p1", 1 }, { "a@p2", 1 } }, 2, "", "" },
		{ "a pod with no worker", { "p1", "p2" },
		  { { "a@p1", 1 } }, 1, "p2", "" },
		{ "a pod whose only worker is offline", { "p1" },
		  { { "a@p1", 0 } }, 1, "p1", "" },
		{ "two workers, both online", { "p1" },
		  { { "a@p1", 1 }, { "a-2@p1", 1 } }, 2, "", "" },
		{ "two workers, the second offline", { "p1" },
		  { { "a@p1", 1 }, { "a-2@p1", 0 } }, 2, "", "a-2@p1" },
		{ "two workers, the first offline", { "p1" },
		  { { "a@p1", 0 }, { "a-2@p1", 1 } }, 2, "", "a@p1" },
		{ "offline workers of pods not needed are not counted", { "p1" },
		  { { "a@p1", 1 }, { "a@p9", 0 }, { "a-2@p9", 1 } }, 3, "", "" },
		{ "a pod whose name another's begins with", { "p1" },
		  { { "a@p1", 1 }, { "a-2@p10", 0 } }, 2, "", "" },
		{ "a name without '@' is on no pod", { "p1" },
		  { { "a", 0 }, { "a@p1", 1 } }, 2, "", "" },
		{ "nothing needed", { NULL }, { { "a@p1", 0 } }, 1, "", "" },
	};
	size_t	i, k, added;

	(void)state;
	for (i = 0; i < sizeof t / sizeof t[0]; i++) {
		struct strv	need = { 0 }, m = { 0 }, o = { 0 };
		char		*ms, *os;

		for (k = 0; k < 3 && t[i].need[k] != NULL; k++)
			strv_add(&need, t[i].need[k]);
		added = pods_undrainable(&need, t[i].ws, t[i].n, &m, &o);
		ms = strv_join(&m, ",");
		os = strv_join(&o, ",");
		if (strcmp(ms, t[i].missing) != 0 ||
		    strcmp(os, t[i].offline) != 0 || added != m.n + o.n)
			fail_msg("%s: missing %s offline %s (%zu)", t[i].what, ms,
			    os, added);
		free(ms);
		free(os);
		strv_free(&need);
		strv_free(&m);
		strv_free(&o);
	}
}

static void
test_same_name(void **state)
{
	static const struct { const char *a, *b; int want; } t[] = {
		{ "csc-bulk@p1", "csc-bulk@p2", 1 },
		{ "csc-bulk@p1", "csc-bulk-2@p1", 0 },
		{ "csc-bulk-2@p1", "csc-bulk@p1", 0 },
		{ "solo", "solo@p", 1 },
		{ "solo", "solo", 1 },
		{ "solo", "sol", 0 },
		{ "@p1", "@p2", 1 },
	};
	size_t	i;

	(void)state;
	for (i = 0; i < sizeof t / sizeof t[0]; i++)
		if (worker_same_name(t[i].a, t[i].b) != t[i].want)
			fail_msg("%s %s: want %d", t[i].a, t[i].b, t[i].want);
}

static void
test_worker_container(void **state)
{
	static const char *const two[] = { "worker", "istio-proxy" };
	static const char *const hole[] = { NULL, "celery" };
	static const struct {
		const char		*what, *annotation;
		const char *const	*names;
		size_t			 n;
		const char		*want;
	} t[] = {
		{ "the annotation names the second", "istio-proxy", two, 2,
		  "istio-proxy" },
		{ "the annotation names the first", "worker", two, 2, "worker" },
		{ "no annotation: the first", NULL, two, 2, "worker" },
		{ "an empty annotation: the first", "", two, 2, "worker" },
		{ "an annotation naming no container: the first", "celery", two,
		  2, "worker" },
		{ "a container without a name is skipped", "celery", hole, 2,
		  "celery" },
		{ "no containers", "worker", NULL, 0, NULL },
	};
	size_t		 i;
	const char	*got;

	(void)state;
	for (i = 0; i < sizeof t / sizeof t[0]; i++) {
		got = worker_container(t[i].annotation, t[i].names, t[i].n);
		if ((got == NULL) != (t[i].want == NULL) ||
		    (got != NULL && strcmp(got, t[i].want) != 0))
			fail_msg("%s: %s, want %s", t[i].what, got ? got : "NULL",
			    t[i].want ? t[i].want : "NULL");
	}
}

static const struct exit_case {
	const char		*what;
	const char		*phase;
	struct container_state	 cs[MAXW];
	size_t			 n;
	const char		*worker;
	int			 exited;
	long			 restarts;
} exit_cases[] = {
	{ "a running worker", "Running",
	  { { "worker", 0, 0 } }, 1, "worker", 0, 0 },
	{ "its container terminated", "Running",
	  { { "worker", 1, 0 } }, 1, "worker", 1, 0 },
	{ "a sidecar terminated, the worker runs", "Running",
	  { { "log-shipper", 1, 3 }, { "worker", 0, 0 } }, 2, "worker", 0, 0 },
	{ "the worker terminated beside a running sidecar", "Running",
	  { { "worker", 1, 2 }, { "proxy", 0, 5 } }, 2, "worker", 1, 2 },
	{ "phase Failed", "Failed",
	  { { "worker", 0, 0 } }, 1, "worker", 1, 0 },
	{ "phase Succeeded", "Succeeded",
	  { { "worker", 0, 1 } }, 1, "worker", 1, 1 },
	{ "phase Failed, no status", "Failed", { { NULL, 0, 0 } }, 0,
	  "worker", 1, 0 },
	{ "no status yet (Pending)", "Pending", { { NULL, 0, 0 } }, 0,
	  "worker", 0, 0 },
	{ "the worker's container has no status yet", "Running",
	  { { "proxy", 1, 0 } }, 1, "worker", 0, 0 },
	{ "a status without a name is not the worker's", "Running",
	  { { NULL, 1, 4 }, { "worker", 0, 1 } }, 2, "worker", 0, 1 },
	{ "a negative restartCount counts 0", "Running",
	  { { "worker", 0, -2 } }, 1, "worker", 0, 0 },
	{ "unknown worker container: one of two terminated", "Running",
	  { { "a", 1, 1 }, { "b", 0, 2 } }, 2, NULL, 0, 3 },
	{ "unknown worker container: all terminated", "Running",
	  { { "a", 1, 1 }, { "b", 1, 0 } }, 2, NULL, 1, 1 },
	{ "unknown worker container, no status", "Running",
	  { { NULL, 0, 0 } }, 0, NULL, 0, 0 },
	{ "no phase", NULL, { { "worker", 0, 0 } }, 1, "worker", 0, 0 },
};

static void
test_exited(void **state)
{
	size_t	i;
	long	restarts;
	int	got;

	(void)state;
	for (i = 0; i < sizeof exit_cases / sizeof exit_cases[0]; i++) {
		const struct exit_case *c = &exit_cases[i];
		got = pod_worker_exited(c->phase, c->cs, c->n, c->worker,
		    &restarts);
		if (got != c->exited || restarts != c->restarts)
			fail_msg("%s: exited %d restarts %ld, want %d %ld",
			    c->what, got, restarts, c->exited, c->restarts);
	}
}

struct resolve_case {
	struct resolve_facts	 f;
	enum resolve_verdict	 want;
};

/* RESOLVE's verdict: every branch, in its order. */
static void
test_resolve_verdict(void **state)
{
	/* workers, need, missing, silent, from_selector, drain, undrain,
	   pinged, pings */
	static const struct resolve_case cases[] = {
		/* a ping left a pod without a worker: again, 3 times in all */
		{ { 0, 2, 2, 0, 0, 1, 0, 1, 1 }, RESOLVE_PING_AGAIN },
		{ { 1, 2, 1, 0, 1, 1, 0, 1, 2 }, RESOLVE_PING_AGAIN },
		{ { 0, 1, 1, 0, 1, 1, 0, 1, 3 }, RESOLVE_SKIP },
		{ { 1, 2, 1, 0, 0, 1, 0, 1, 3 }, RESOLVE_PODS_WITHOUT },
		{ { 2, 2, 0, 0, 0, 1, 0, 1, 1 }, RESOLVE_REFRESH },
		{ { 0, 0, 0, 0, 0, 1, 0, 1, 1 }, RESOLVE_NOTHING },
		{ { 0, 2, 2, 0, 0, 1, 0, 0, 1 }, RESOLVE_NO_WORKER },
		/* no online worker on pods that need one */
		{ { 0, 2, 2, 0, 1, 1, 0, 0, 1 }, RESOLVE_SKIP },
		{ { 0, 1, 1, 0, 1, 0, 1, 0, 1 }, RESOLVE_SKIP },
		{ { 0, 2, 2, 0, 0, 1, 0, 0, 1 }, RESOLVE_NO_WORKER },
		{ { 0, 1, 1, 1, 0, 0, 1, 0, 1 }, RESOLVE_NO_WORKER },
		/* a pod without a worker refuses any mode */
		{ { 2, 3, 1, 0, 0, 1, 0, 0, 1 }, RESOLVE_PODS_WITHOUT },
		{ { 2, 3, 1, 0, 1, 0, 1, 0, 1 }, RESOLVE_PODS_WITHOUT },
		{ { 2, 3, 1, 1, 0, 1, 0, 0, 1 }, RESOLVE_PODS_WITHOUT },
		{ { 1, 2, 1, 0, 0, 0, 0, 0, 1 }, RESOLVE_PODS_WITHOUT },
		/* a silent worker refuses a drain only */
		{ { 2, 2, 0, 1, 0, 1, 0, 0, 1 }, RESOLVE_SILENT },
		{ { 2, 2, 0, 1, 1, 1, 0, 0, 1 }, RESOLVE_SILENT },
		{ { 2, 2, 0, 1, 0, 0, 1, 0, 1 }, RESOLVE_UNDRAIN },
		{ { 2, 2, 0, 1, 0, 0, 0, 0, 1 }, RESOLVE_REFRESH },
		/* no pod needs a worker */
		{ { 0, 0, 0, 0, 0, 0, 1, 0, 1 }, RESOLVE_NOT_RUNNING },
		{ { 0, 0, 0, 0, 0, 0, 0, 0, 1 }, RESOLVE_NOT_RUNNING },
		{ { 0, 0, 0, 0, 1, 0, 0, 0, 1 }, RESOLVE_NOT_RUNNING },
		{ { 0, 0, 0, 0, 0, 1, 0, 0, 1 }, RESOLVE_NOTHING },
		{ { 0, 0, 0, 0, 1, 1, 0, 0, 1 }, RESOLVE_NOTHING },
		/* workers on every pod */
		{ { 3, 2, 0, 0, 0, 0, 1, 0, 1 }, RESOLVE_UNDRAIN },
		{ { 3, 2, 0, 0, 0, 1, 0, 0, 1 }, RESOLVE_REFRESH },
		{ { 1, 1, 0, 0, 1, 1, 0, 0, 1 }, RESOLVE_REFRESH },
		{ { 1, 1, 0, 0, 0, 0, 0, 0, 1 }, RESOLVE_REFRESH },
	};
	size_t	i;

	(void)state;
	for (i = 0; i < sizeof cases / sizeof cases[0]; i++)
		if (resolve_verdict(&cases[i].f) != cases[i].want)
			fail_msg("case %zu: %d, want %d", i,
			    resolve_verdict(&cases[i].f), cases[i].want);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_verify),
		cmocka_unit_test(test_pod_done),
		cmocka_unit_test(test_undrainable),
		cmocka_unit_test(test_resolve_verdict),
		cmocka_unit_test(test_same_name),
		cmocka_unit_test(test_worker_container),
		cmocka_unit_test(test_exited),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
