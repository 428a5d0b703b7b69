/*
 * test_lease.c -- the lease's decisions (include/lease.h): lease_verdict()
 * for every kind of answer (and our lease with a journal not ours) before
 * and after the time to regain, and
 * lease_resume() for every state, with and without an action waiting.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "lease.h"
#include "stub_cmd.h"

#define TOK	"host:42:1700000000:00ff"
#define OTHER	"other:7:1700000001:abcd"

struct verdict_case {
	const char		*seen;
	int			 journal_ok;
	double			 now, lost_since;
	enum lease_verdict	 want;
};

static void
test_verdict(void **state)
{
	/* --lease-ttl 30 throughout */
	static const struct verdict_case cases[] = {
		/* ours, with our journal: kept, whenever */
		{ TOK,	1, 100, 0,   LEASE_KEEP },
		{ TOK,	1, 200, 100, LEASE_KEEP },
		/* no key: regained, until lost_since + ttl */
		{ "",	1, 100, 0,   LEASE_REGAIN },
		{ "",	1, 129, 100, LEASE_REGAIN },
		{ "",	1, 130, 100, LEASE_STOP_LATE },
		{ "",	1, 500, 100, LEASE_STOP_LATE },
		/* no answer: the same */
		{ NULL,	1, 100, 0,   LEASE_REGAIN },
		{ NULL,	1, 129.9, 100, LEASE_REGAIN },
		{ NULL,	1, 130, 100, LEASE_STOP_LATE },
		/* another run's token: stopped, early or late */
		{ OTHER, 1, 100, 0,  LEASE_STOP_HELD },
		{ OTHER, 1, 110, 100, LEASE_STOP_HELD },
		{ OTHER, 1, 500, 100, LEASE_STOP_HELD },
		/* a token that merely starts like ours is another's */
		{ "host:42:1700000000:00f", 1, 100, 0, LEASE_STOP_HELD },
		{ TOK "0", 1, 100, 0, LEASE_STOP_HELD },
		/* ours, but not the journal it wrote last (a replica's older
		 * copy): written again, until lost_since + ttl */
		{ TOK,	0, 100, 0,   LEASE_REGAIN },
		{ TOK,	0, 129, 100, LEASE_REGAIN },
		{ TOK,	0, 130, 100, LEASE_STOP_LATE },
		/* the journal flag speaks of our lease only */
		{ OTHER, 0, 100, 0,  LEASE_STOP_HELD },
		{ "",	0, 100, 0,   LEASE_REGAIN },
		{ NULL,	0, 130, 100, LEASE_STOP_LATE },
	};
	size_t	i;

	(void)state;
	for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		const struct verdict_case *c = &cases[i];
		if (lease_verdict(TOK, c->seen, c->journal_ok, c->now,
		    c->lost_since, 30) != c->want)
			fail_msg("case %zu (seen %s, journal %d, now %g, since "
			    "%g)", i, c->seen ? c->seen : "NULL", c->journal_ok,
			    c->now, c->lost_since);
	}
}

struct resume_case {
	enum fsm_state		 st;
	int			 waited;
	enum lease_resume	 want;
};

static void
test_resume(void **state)
{
	static const struct resume_case cases[] = {
		/* before the restart: drain again, whatever waited */
		{ ST_DRAIN,	0, LEASE_RESUME_DRAIN },
		{ ST_DRAIN,	1, LEASE_RESUME_DRAIN },
		/* RESTART: its PATCH waited (not sent): drain again first;
		 * nothing waited: the PATCH is out, leave it be */
		{ ST_RESTART,	1, LEASE_RESUME_DRAIN },
		{ ST_RESTART,	0, LEASE_RESUME_NONE },
		/* any other state: enter again if its action waited */
		{ ST_RESOLVE,	1, LEASE_RESUME_REDO },
		{ ST_LOCK,	1, LEASE_RESUME_REDO },
		{ ST_CANCEL,	1, LEASE_RESUME_REDO },
		{ ST_ROLLOUT,	1, LEASE_RESUME_REDO },
		{ ST_VERIFY,	1, LEASE_RESUME_REDO },
		{ ST_RESTORE,	1, LEASE_RESUME_REDO },
		{ ST_DETACH,	1, LEASE_RESUME_REDO },
		{ ST_RETIRE,	1, LEASE_RESUME_REDO },
		{ ST_HISTORY,	1, LEASE_RESUME_REDO },
		{ ST_GIVEBACK,	1, LEASE_RESUME_REDO },
		{ ST_RESOLVE,	0, LEASE_RESUME_NONE },
		{ ST_LOCK,	0, LEASE_RESUME_NONE },
		{ ST_CANCEL,	0, LEASE_RESUME_NONE },
		{ ST_ROLLOUT,	0, LEASE_RESUME_NONE },
		{ ST_VERIFY,	0, LEASE_RESUME_NONE },
		{ ST_RESTORE,	0, LEASE_RESUME_NONE },
		{ ST_DETACH,	0, LEASE_RESUME_NONE },
		{ ST_RETIRE,	0, LEASE_RESUME_NONE },
		{ ST_HISTORY,	0, LEASE_RESUME_NONE },
		{ ST_GIVEBACK,	0, LEASE_RESUME_NONE },
		/* an ended run does nothing */
		{ ST_END,	0, LEASE_RESUME_NONE },
		{ ST_END,	1, LEASE_RESUME_NONE },
	};
	size_t	i;

	(void)state;
	for (i = 0; i < sizeof cases / sizeof cases[0]; i++)
		if (lease_resume(cases[i].st, cases[i].waited) != cases[i].want)
			fail_msg("case %zu (%s, waited %d)", i,
			    fsm_state_name(cases[i].st), cases[i].waited);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_verdict),
		cmocka_unit_test(test_resume),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
