/*
 * test_census.c -- which pods an action may stop (include/census.h): every
 * branch of census_pod(), census_decide() and census_newcomer(), table-driven.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "census.h"

#define N(a)	(sizeof (a) / sizeof (a)[0])

/* The workers the rows below see; pod "p" is the one judged. */
#define W_NEW	{ "d@p", 1, 0, 0, 0 }	/* online, untracked */
#define W_BUSY	{ "d@p", 1, 1, 0, 0 }	/* tracked, not drained */
#define W_DONE	{ "d@p", 1, 1, 1, 0 }	/* tracked, drained */
#define W_GONE	{ "d@p", 0, 1, 1, 0 }	/* tracked, vanished */
#define W_OFF	{ "d@p", 0, 0, 0, 0 }	/* offline, untracked */
#define W_ELSE	{ "d@q", 1, 0, 0, 0 }	/* a newcomer on another pod */
#define W_BAD	{ "no-at", 1, 0, 0, 0 }	/* a name that names no pod */
/* tracked and drained (or vanished), but its container restarted since */
#define W_AGAIN	{ "d@p", 1, 1, 1, 1 }	/* ... online again: consumes */
#define W_DOWN	{ "d@p", 0, 1, 1, 1 }	/* ... not online (yet) */

struct prow {
	const char		*what;
	struct census_pod	 pod;
	struct census_worker	 ws[3];
	size_t			 nw;
	enum census_verdict	 want;
};

static const struct prow prows[] = {
	{ "not stopped by the action", { "p", 0, 0, 1 }, { W_NEW }, 1,
	    CV_SPARED },
	{ "new template, even terminating", { "p", 0, 1, 0 }, { W_BUSY }, 1,
	    CV_SPARED },
	{ "being deleted", { "p", 1, 1, 1 }, { W_NEW }, 1, CV_LEAVING },
	{ "no container runs", { "p", 1, 0, 0 }, { W_NEW }, 1, CV_IDLE },
	{ "online untracked worker", { "p", 1, 0, 1 }, { W_NEW }, 1,
	    CV_NEWCOMER },
	{ "newcomer beside a drained worker", { "p", 1, 0, 1 },
	    { W_DONE, W_NEW }, 2, CV_NEWCOMER },
	{ "newcomer beside a busy worker", { "p", 1, 0, 1 },
	    { W_BUSY, W_NEW }, 2, CV_NEWCOMER },
	{ "tracked, not drained", { "p", 1, 0, 1 }, { W_BUSY }, 1, CV_BUSY },
	{ "busy beside drained", { "p", 1, 0, 1 }, { W_DONE, W_BUSY }, 2,
	    CV_BUSY },
	{ "tracked and drained", { "p", 1, 0, 1 }, { W_DONE }, 1, CV_DRAINED },
	{ "tracked and vanished", { "p", 1, 0, 1 }, { W_GONE }, 1,
	    CV_DRAINED },
	{ "drained, its container restarted, online again", { "p", 1, 0, 1 },
	    { W_AGAIN }, 1, CV_NEWCOMER },
	{ "restarted beside a drained worker", { "p", 1, 0, 1 },
	    { W_DONE, W_AGAIN }, 2, CV_NEWCOMER },
	{ "restarted, not online (yet)", { "p", 1, 0, 1 }, { W_DOWN }, 1,
	    CV_DRAINED },
	{ "restarted, its pod being deleted", { "p", 1, 1, 1 }, { W_AGAIN },
	    1, CV_LEAVING },
	{ "drained, an offline stranger", { "p", 1, 0, 1 }, { W_DONE, W_OFF },
	    2, CV_DRAINED },
	{ "no worker known", { "p", 1, 0, 1 }, { { 0 } }, 0, CV_UNKNOWN },
	{ "only an offline worker", { "p", 1, 0, 1 }, { W_OFF }, 1,
	    CV_UNKNOWN },
	{ "workers of other pods only", { "p", 1, 0, 1 }, { W_ELSE, W_BAD },
	    2, CV_UNKNOWN },
	{ "no pod name", { NULL, 1, 0, 1 }, { W_NEW }, 1, CV_UNKNOWN },
};

static void
test_pod_verdicts(void **state)
{
	size_t	i;

	(void)state;
	for (i = 0; i < N(prows); i++) {
		enum census_verdict v = census_pod(&prows[i].pod, prows[i].ws,
		    prows[i].nw);
		if (v != prows[i].want)
			fail_msg("%s: got %s, want %s", prows[i].what,
			    census_verdict_name(v),
			    census_verdict_name(prows[i].want));
	}
}

/* census_decide() over several pods: the most urgent verdict decides. */
struct drow {
	const char		*what;
	struct census_pod	 pods[3];
	size_t			 np;
	enum census_action	 want;
	enum census_verdict	 verdicts[3];
};

static const struct census_worker dws[] = {
	{ "d@a", 1, 1, 1, 0 },	/* a: drained */
	{ "d@b", 1, 0, 0, 0 },	/* b: newcomer */
	{ "d@c", 1, 1, 0, 0 },	/* c: busy */
	/* d: nobody */
};

static const struct drow drows[] = {
	{ "no pod", { { 0 } }, 0, CA_GO, { 0 } },
	{ "all drained, idle, leaving, spared",
	    { { "a", 1, 0, 1 }, { "d", 1, 0, 0 }, { "b", 0, 0, 1 } }, 3,
	    CA_GO, { CV_DRAINED, CV_IDLE, CV_SPARED } },
	{ "a newcomer", { { "a", 1, 0, 1 }, { "b", 1, 0, 1 } }, 2, CA_DRAIN,
	    { CV_DRAINED, CV_NEWCOMER } },
	{ "a newcomer beats a wait",
	    { { "d", 1, 0, 1 }, { "b", 1, 0, 1 }, { "c", 1, 0, 1 } }, 3,
	    CA_DRAIN, { CV_UNKNOWN, CV_NEWCOMER, CV_BUSY } },
	{ "a wait after a newcomer stays a drain",
	    { { "b", 1, 0, 1 }, { "d", 1, 0, 1 } }, 2, CA_DRAIN,
	    { CV_NEWCOMER, CV_UNKNOWN } },
	{ "a worker not known yet", { { "a", 1, 0, 1 }, { "d", 1, 0, 1 } }, 2,
	    CA_WAIT, { CV_DRAINED, CV_UNKNOWN } },
	{ "a worker still draining", { { "c", 1, 0, 1 } }, 1, CA_WAIT,
	    { CV_BUSY } },
	{ "a leaving newcomer pod", { { "b", 1, 1, 1 } }, 1, CA_GO,
	    { CV_LEAVING } },
};

static void
test_decide(void **state)
{
	enum census_verdict	v[3];
	size_t			i, j;

	(void)state;
	for (i = 0; i < N(drows); i++) {
		memset(v, 0xff, sizeof v);
		if (census_decide(drows[i].pods, drows[i].np, dws, N(dws), v) !=
		    drows[i].want)
			fail_msg("%s: wrong action", drows[i].what);
		for (j = 0; j < drows[i].np; j++)
			if (v[j] != drows[i].verdicts[j])
				fail_msg("%s: pod %zu is %s", drows[i].what, j,
				    census_verdict_name(v[j]));
		/* the verdicts are optional */
		assert_int_equal(census_decide(drows[i].pods, drows[i].np, dws,
		    N(dws), NULL), drows[i].want);
	}
}

/*
 * census_rollout(): the same workers (dws); stopped = of the old template.
 * Every branch: drain (newcomer; busy unless forced), give up (unknown
 * past the limit), hold (unknown; no limit), roll.
 */
struct rrow {
	const char		*what;
	struct census_pod	 pods[3];
	size_t			 np;
	int			 forced, interrupted;
	double			 held, limit;
	enum census_roll	 want;
	enum census_verdict	 verdicts[3];
};

static const struct rrow rrows[] = {
	{ "no pod", { { 0 } }, 0, 0, 0, 0, 10, CR_ROLL, { 0 } },
	{ "old pods drained, idle, leaving; new ones spared",
	    { { "a", 1, 0, 1 }, { "d", 1, 0, 0 }, { "b", 0, 0, 1 } }, 3, 0, 0,
	    0, 10, CR_ROLL, { CV_DRAINED, CV_IDLE, CV_SPARED } },
	{ "a newcomer of the old template", { { "a", 1, 0, 1 },
	    { "b", 1, 0, 1 } }, 2, 0, 0, 0, 10, CR_DRAIN,
	    { CV_DRAINED, CV_NEWCOMER } },
	{ "a newcomer, even forced, even past the limit",
	    { { "d", 1, 0, 1 }, { "b", 1, 0, 1 } }, 2, 1, 0, 99, 10, CR_DRAIN,
	    { CV_UNKNOWN, CV_NEWCOMER } },
	{ "a worker of the run not drained (a recovery)",
	    { { "c", 1, 0, 1 } }, 1, 0, 0, 0, 10, CR_DRAIN, { CV_BUSY } },
	{ "... forced: stopped anyway", { { "c", 1, 0, 1 } }, 1, 1, 0, 0, 10,
	    CR_ROLL, { CV_BUSY } },
	{ "a worker not known yet: hold", { { "a", 1, 0, 1 },
	    { "d", 1, 0, 1 } }, 2, 0, 0, 5, 10, CR_HOLD,
	    { CV_DRAINED, CV_UNKNOWN } },
	{ "... at the limit: still held", { { "d", 1, 0, 1 } }, 1, 0, 0, 10, 10,
	    CR_HOLD, { CV_UNKNOWN } },
	{ "... past the limit: give up", { { "d", 1, 0, 1 } }, 1, 0, 0, 11, 10,
	    CR_GIVEUP, { CV_UNKNOWN } },
	{ "interrupted: an unknown pod does not hold", { { "d", 1, 0, 1 } }, 1,
	    0, 1, 0, 10, CR_ROLL, { CV_UNKNOWN } },
	{ "interrupted, past the limit: rolls too", { { "d", 1, 0, 1 } }, 1,
	    0, 1, 99, 10, CR_ROLL, { CV_UNKNOWN } },
	{ "interrupted: a newcomer is still drained", { { "b", 1, 0, 1 } },
	    1, 0, 1, 0, 10, CR_DRAIN, { CV_NEWCOMER } },
	{ "... no limit: held", { { "d", 1, 0, 1 } }, 1, 0, 0, 1e6, 0, CR_HOLD,
	    { CV_UNKNOWN } },
	{ "a new pod whose worker is not known: spared",
	    { { "d", 0, 0, 1 } }, 1, 0, 0, 0, 10, CR_ROLL, { CV_SPARED } },
	{ "a new pod's online worker is no newcomer",
	    { { "b", 0, 0, 1 } }, 1, 0, 0, 0, 10, CR_ROLL, { CV_SPARED } },
	{ "an old newcomer pod being deleted", { { "b", 1, 1, 1 } }, 1, 0, 0, 0,
	    10, CR_ROLL, { CV_LEAVING } },
};

static void
test_rollout(void **state)
{
	enum census_verdict	v[3];
	size_t			i, j;

	(void)state;
	for (i = 0; i < N(rrows); i++) {
		const struct rrow *r = &rrows[i];
		memset(v, 0xff, sizeof v);
		if (census_rollout(r->pods, r->np, dws, N(dws), r->forced,
		    r->interrupted, r->held, r->limit, v) != r->want)
			fail_msg("%s: wrong action", r->what);
		for (j = 0; j < r->np; j++)
			if (v[j] != r->verdicts[j])
				fail_msg("%s: pod %zu is %s", r->what, j,
				    census_verdict_name(v[j]));
		assert_int_equal(census_rollout(r->pods, r->np, dws, N(dws),
		    r->forced, r->interrupted, r->held, r->limit, NULL),
		    r->want);
	}
	assert_string_equal(census_roll_name(CR_ROLL), "roll");
	assert_string_equal(census_roll_name(CR_HOLD), "hold");
	assert_string_equal(census_roll_name(CR_DRAIN), "drain");
	assert_string_equal(census_roll_name(CR_GIVEUP), "give-up");
	assert_string_equal(census_roll_name((enum census_roll)9), "?");
}

/*
 * census_ask(): only a running pod of the old template, not being deleted,
 * makes a look ask for the workers online: if the last answer did not
 * cover its mark, or is CENSUS_ASK_EVERY seconds old.
 */
static void
test_ask(void **state)
{
	static const char *const known[] = { "a 1", "b 1" };
	static const struct {
		const char		*what;
		struct census_pod	 pods[2];
		const char		*marks[2];
		size_t			 np, nknown;
		double			 age;
		int			 want;
	} rows[] = {
		{ "no pod", { { 0 } }, { 0 }, 0, 2, 1, 0 },
		{ "no pod, none asked yet", { { 0 } }, { 0 }, 0, 0, -1, 0 },
		{ "old pods as last answered", { { "a", 1, 0, 1 },
		    { "b", 1, 0, 1 } }, { "a 1", "b 1" }, 2, 2, 1, 0 },
		{ "... an answer that old", { { "a", 1, 0, 1 } }, { "a 1" }, 1,
		    2, CENSUS_ASK_EVERY, 1 },
		{ "... just younger", { { "a", 1, 0, 1 } }, { "a 1" }, 1, 2,
		    CENSUS_ASK_EVERY - 0.1, 0 },
		{ "nothing asked yet", { { "a", 1, 0, 1 } }, { "a 1" }, 1, 0,
		    -1, 1 },
		{ "an old pod added", { { "a", 1, 0, 1 }, { "c", 1, 0, 1 } },
		    { "a 1", "c 1" }, 2, 2, 1, 1 },
		{ "an old pod's container restarted", { { "a", 1, 0, 1 } },
		    { "a 2" }, 1, 2, 1, 1 },
		{ "an old pod without a mark", { { "a", 1, 0, 1 } }, { NULL },
		    1, 2, 1, 1 },
		{ "a new pod: none of the rollout's, however old", { { "n", 0,
		    0, 1 } }, { "n 1" }, 1, 2, 99, 0 },
		{ "an old pod being deleted", { { "c", 1, 1, 1 } }, { "c 1" },
		    1, 2, 99, 0 },
		{ "an old pod with no container running", { { "c", 1, 0, 0 } },
		    { "c 1" }, 1, 2, 99, 0 },
	};
	size_t	i;

	(void)state;
	for (i = 0; i < N(rows); i++)
		if (census_ask(rows[i].pods, rows[i].marks, rows[i].np, known,
		    rows[i].nknown, rows[i].age) != rows[i].want)
			fail_msg("%s: want %d", rows[i].what, rows[i].want);
}

/* Which workers to add: only online, untracked ones on a newcomer pod. */
static void
test_newcomer(void **state)
{
	static const struct census_pod pods[] = {
		{ "a", 1, 0, 1 }, { "b", 1, 0, 1 }, { "s", 0, 0, 1 },
		{ "t", 1, 1, 1 }, { "i", 1, 0, 0 },
	};
	static const struct {
		struct census_worker	w;
		int			want;
	} rows[] = {
		{ { "d@b", 1, 0, 0, 0 }, 1 },	/* online, untracked, stopped */
		{ { "e@b", 1, 0, 0, 0 }, 1 },	/* a second worker there */
		{ { "d@a", 1, 1, 1, 0 }, 0 },	/* tracked */
		{ { "d@a", 1, 1, 1, 1 }, 1 },	/* tracked, restarted, online */
		{ { "d@b", 0, 1, 1, 1 }, 0 },	/* ... offline */
		{ { "d@b", 0, 0, 0, 0 }, 0 },	/* offline */
		{ { "d@s", 1, 0, 0, 0 }, 0 },	/* spared pod */
		{ { "d@t", 1, 0, 0, 0 }, 0 },	/* leaving pod */
		{ { "d@i", 1, 0, 0, 0 }, 0 },	/* idle pod */
		{ { "d@x", 1, 0, 0, 0 }, 0 },	/* a pod not listed */
		{ { "x", 1, 0, 0, 0 }, 0 },	/* names no pod */
	};
	size_t	i;

	(void)state;
	for (i = 0; i < N(rows); i++)
		if (census_newcomer(pods, N(pods), &rows[i].w) != rows[i].want)
			fail_msg("worker %s: want %d", rows[i].w.name,
			    rows[i].want);
}

/* Whether the worker the run cancelled is still the process there. */
static void
test_restarted(void **state)
{
	static const struct {
		const char	*what;
		const char	*uid0;
		long		 r0;
		const char	*uid;
		long		 r;
		int		 want;
	} t[] = {
		{ "same pod, same count", "u1", 0, "u1", 0, 0 },
		{ "its container restarted", "u1", 0, "u1", 1, 1 },
		{ "restarted twice", "u1", 1, "u1", 3, 1 },
		{ "a lower count (a stale list)", "u1", 2, "u1", 1, 0 },
		{ "replaced under the same name (StatefulSet)", "u1", 0, "u2",
		    0, 1 },
		{ "uid not known then", NULL, 0, "u2", 0, 0 },
		{ "uid not known now", "u1", 0, NULL, 0, 0 },
		{ "uid not known, restarted", NULL, 0, NULL, 1, 1 },
	};
	size_t	i;

	(void)state;
	for (i = 0; i < N(t); i++)
		if (census_restarted(t[i].uid0, t[i].r0, t[i].uid, t[i].r) !=
		    t[i].want)
			fail_msg("%s: want %d", t[i].what, t[i].want);
}

/* The new pods' template: every branch of census_new_template(). */
#define DEP(rev) "{\"kind\": \"Deployment\", \"metadata\": {\"uid\": " \
	"\"u1\", \"annotations\": {" rev "}}}"
#define REV(n)	"\"deployment.kubernetes.io/revision\": \"" n "\""
#define RS(owner, ctl, rev, hash) "{\"metadata\": {\"ownerReferences\": " \
	"[{\"uid\": \"" owner "\", \"controller\": " ctl "}], " \
	"\"annotations\": {" rev "}, \"labels\": {" hash "}}}"
#define HASH(h)	"\"pod-template-hash\": \"" h "\""

static void
test_new_template(void **state)
{
	static const struct {
		const char	*what, *workload, *rslist, *want;
	} rows[] = {
		{ "the ReplicaSet of the Deployment's revision", DEP(REV("3")),
		    "{\"items\": [" RS("u1", "true", REV("2"), HASH("old")) ", "
		    RS("u1", "true", REV("3"), HASH("new")) "]}", "new" },
		{ "not yet listed", DEP(REV("3")),
		    "{\"items\": [" RS("u1", "true", REV("2"), HASH("old")) "]}",
		    NULL },
		{ "another Deployment's", DEP(REV("3")),
		    "{\"items\": [" RS("u2", "true", REV("3"), HASH("x")) "]}",
		    NULL },
		{ "owned, not its controller", DEP(REV("3")),
		    "{\"items\": [" RS("u1", "false", REV("3"), HASH("x")) "]}",
		    NULL },
		{ "no revision on the ReplicaSet", DEP(REV("3")),
		    "{\"items\": [" RS("u1", "true", "", HASH("x")) "]}", NULL },
		{ "no hash label", DEP(REV("3")),
		    "{\"items\": [" RS("u1", "true", REV("3"), "") "]}", NULL },
		{ "no revision on the Deployment", DEP(""),
		    "{\"items\": [" RS("u1", "true", REV("3"), HASH("x")) "]}",
		    NULL },
		{ "no list", DEP(REV("3")), "null", NULL },
		{ "a StatefulSet: its updateRevision", "{\"kind\": "
		    "\"StatefulSet\", \"status\": {\"updateRevision\": "
		    "\"web-7c9\"}}", "null", "web-7c9" },
		{ "a StatefulSet not rolled yet", "{\"kind\": \"StatefulSet\", "
		    "\"status\": {}}", "null", NULL },
	};
	size_t	i;

	(void)state;
	for (i = 0; i < N(rows); i++) {
		json_t *w = json_loads(rows[i].workload, JSON_DECODE_ANY, NULL);
		json_t *l = json_loads(rows[i].rslist, JSON_DECODE_ANY, NULL);
		json_t *f;
		const char *got;
		assert_non_null(w);
		got = census_new_template(w, l);
		if ((got == NULL) != (rows[i].want == NULL) || (got != NULL &&
		    strcmp(got, rows[i].want) != 0))
			fail_msg("%s: got %s", rows[i].what, got ? got : "NULL");
		/* what a run keeps of the workload says the same */
		f = census_template_facts(w);
		got = census_new_template(f, l);
		if ((got == NULL) != (rows[i].want == NULL) || (got != NULL &&
		    strcmp(got, rows[i].want) != 0))
			fail_msg("%s, kept: got %s", rows[i].what, got ? got :
			    "NULL");
		json_decref(f);
		json_decref(w);
		json_decref(l);
	}
}

static void
test_names(void **state)
{
	(void)state;
	assert_string_equal(census_verdict_name(CV_SPARED), "spared");
	assert_string_equal(census_verdict_name(CV_NEWCOMER), "newcomer");
	assert_string_equal(census_verdict_name(CV_UNKNOWN), "unknown");
	assert_string_equal(census_verdict_name((enum census_verdict)99), "?");
}

static void
test_refresh_again(void **state)
{
	static const struct {
		const char	*what;
		enum flower_err	 e;
		int		 tries;
		double		 left;
		int		 want;
	} t[] = {
		{ "just online: unknown to Flower yet", FLOWER_EUNKNOWN, 1,
		    60, 1 },
		{ "no reply to the inspect yet", FLOWER_ENOREPLY, 2, 60, 1 },
		{ "a timeout", FLOWER_EDOWN, 1, 60, 1 },
		{ "no deadline", FLOWER_EUNKNOWN, 1, -1, 1 },
		{ "the last attempt", FLOWER_EUNKNOWN, CENSUS_REFRESH_TRIES - 1,
		    60, 1 },
		{ "attempts used up", FLOWER_EUNKNOWN, CENSUS_REFRESH_TRIES,
		    60, 0 },
		{ "no time left for another", FLOWER_EUNKNOWN, 1,
		    CENSUS_REFRESH_EVERY, 0 },
		{ "401: asking again changes nothing", FLOWER_EAUTH, 1, 60, 0 },
		{ "malformed answer", FLOWER_EBAD, 1, 60, 0 },
		{ "no API (Flower 1.x with auth)", FLOWER_ENOAPI, 1, 60, 0 },
		{ "read-only Flower", FLOWER_EREADONLY, 1, 60, 0 },
		{ "not an error", FLOWER_OK, 1, 60, 0 },
	};
	size_t	i;

	(void)state;
	for (i = 0; i < sizeof t / sizeof t[0]; i++)
		if (census_refresh_again(t[i].e, t[i].tries, t[i].left) !=
		    t[i].want)
			fail_msg("%s: got %d", t[i].what, !t[i].want);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_pod_verdicts),
		cmocka_unit_test(test_decide),
		cmocka_unit_test(test_rollout),
		cmocka_unit_test(test_ask),
		cmocka_unit_test(test_newcomer),
		cmocka_unit_test(test_restarted),
		cmocka_unit_test(test_new_template),
		cmocka_unit_test(test_names),
		cmocka_unit_test(test_refresh_again),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
