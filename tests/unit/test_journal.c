/*
 * test_journal.c -- what a run's end does with the lease and the journal
 * (include/journal.h): journal_fate() for every outcome, with pods still
 * detached and after the restart; journal_at_end() for every lease and
 * journal state; journal_end_arg() for each.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "journal.h"
#include "stub_cmd.h"

struct fate_case {
	enum fsm_outcome	 o;
	int			 ho_pending, restart_sent;
	enum journal_end	 want;
};

static void
test_fate(void **state)
{
	static const struct fate_case cases[] = {
		{ OUT_DRAINED,		0, 0, JOURNAL_END_DRAINED },
		{ OUT_DRAINED,		1, 1, JOURNAL_END_DRAINED },
		{ OUT_RESTORE_FAILED,	0, 0, JOURNAL_END_KEEP },
		{ OUT_LEASE_LOST,	0, 0, JOURNAL_END_KEEP },
		{ OUT_PREFLIGHT,	0, 0, JOURNAL_END_KEEP },
		/* interrupted: kept only after the restart */
		{ OUT_INTERRUPTED,	0, 1, JOURNAL_END_KEEP },
		{ OUT_INTERRUPTED,	0, 0, JOURNAL_END_DEL },
		/* pods still detached keep it, whatever the outcome */
		{ OUT_OK,		1, 0, JOURNAL_END_KEEP },
		{ OUT_ABORTED,		1, 0, JOURNAL_END_KEEP },
		{ OUT_INTERRUPTED,	1, 0, JOURNAL_END_KEEP },
		/* the rest: removed */
		{ OUT_OK,		0, 0, JOURNAL_END_DEL },
		{ OUT_OK,		0, 1, JOURNAL_END_DEL },
		{ OUT_ABORTED,		0, 0, JOURNAL_END_DEL },
		{ OUT_VERIFY_FAILED,	0, 1, JOURNAL_END_DEL },
		{ OUT_ROLLOUT_FAILED,	0, 1, JOURNAL_END_DEL },
		{ OUT_DRY_RUN,		0, 0, JOURNAL_END_DEL },
		{ OUT_NOTHING,		0, 0, JOURNAL_END_DEL },
		{ OUT_SKIPPED,		0, 0, JOURNAL_END_DEL },
		{ OUT_LOCKED,		0, 0, JOURNAL_END_DEL },
	};
	size_t	i;

	(void)state;
	for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		const struct fate_case *c = &cases[i];
		if (journal_fate(c->o, c->ho_pending, c->restart_sent) !=
		    c->want)
			fail_msg("case %zu (%s, ho_pending %d, restart_sent "
			    "%d)", i, fsm_outcome_name(c->o), c->ho_pending,
			    c->restart_sent);
	}
}

struct end_case {
	struct journal_end_facts f;
	enum journal_end	 want;
};

static void
test_at_end(void **state)
{
	/* outcome, token, held, undrain, written, ho_pending, restart_sent */
	static const struct end_case cases[] = {
		/* no token: only a finished --undrain removes the journal */
		{ { OUT_OK, 0, 0, 1, 0, 0, 0 }, JOURNAL_END_DROP_UNLOCKED },
		{ { OUT_ABORTED, 0, 0, 1, 0, 0, 0 }, JOURNAL_END_NONE },
		{ { OUT_OK, 0, 0, 0, 0, 0, 0 }, JOURNAL_END_NONE },
		{ { OUT_PREFLIGHT, 0, 0, 0, 0, 0, 0 }, JOURNAL_END_NONE },
		/* a token not held (never taken, lost): nothing */
		{ { OUT_LOCKED, 1, 0, 0, 0, 0, 0 }, JOURNAL_END_NONE },
		{ { OUT_LEASE_LOST, 1, 0, 0, 1, 0, 1 }, JOURNAL_END_NONE },
		{ { OUT_OK, 1, 0, 1, 0, 0, 0 }, JOURNAL_END_NONE },
		/* held, nothing done, nothing written: as it is */
		{ { OUT_NOTHING, 1, 1, 0, 0, 0, 0 }, JOURNAL_END_AS_IS },
		/* held, nothing done, but written: the history, removed */
		{ { OUT_NOTHING, 1, 1, 0, 1, 0, 0 }, JOURNAL_END_DEL },
		/* held: journal_fate() */
		{ { OUT_OK, 1, 1, 0, 1, 0, 1 }, JOURNAL_END_DEL },
		{ { OUT_DRAINED, 1, 1, 0, 1, 0, 0 }, JOURNAL_END_DRAINED },
		{ { OUT_INTERRUPTED, 1, 1, 0, 1, 0, 1 }, JOURNAL_END_KEEP },
		{ { OUT_INTERRUPTED, 1, 1, 0, 1, 0, 0 }, JOURNAL_END_DEL },
		/* interrupted before its first write: a dead run's journal
		 * (a --recover's, a drain's in LOCK) stays for --recover */
		{ { OUT_INTERRUPTED, 1, 1, 0, 0, 0, 0 }, JOURNAL_END_KEEP },
		{ { OUT_INTERRUPTED, 1, 1, 1, 0, 0, 0 }, JOURNAL_END_KEEP },
		{ { OUT_INTERRUPTED, 1, 0, 0, 0, 0, 0 }, JOURNAL_END_NONE },
		{ { OUT_PREFLIGHT, 1, 1, 0, 0, 0, 0 }, JOURNAL_END_KEEP },
		{ { OUT_OK, 1, 1, 0, 1, 1, 1 }, JOURNAL_END_KEEP },
		{ { OUT_RESTORE_FAILED, 1, 1, 1, 1, 0, 0 }, JOURNAL_END_KEEP },
	};
	size_t	i;

	(void)state;
	for (i = 0; i < sizeof cases / sizeof cases[0]; i++)
		if (journal_at_end(&cases[i].f) != cases[i].want)
			fail_msg("case %zu (%s)", i,
			    fsm_outcome_name(cases[i].f.outcome));
}

static void
test_end_arg(void **state)
{
	(void)state;
	assert_string_equal(journal_end_arg(JOURNAL_END_DEL), "del");
	assert_string_equal(journal_end_arg(JOURNAL_END_KEEP), "keep");
	assert_string_equal(journal_end_arg(JOURNAL_END_DRAINED), "drained");
	assert_null(journal_end_arg(JOURNAL_END_NONE));
	assert_null(journal_end_arg(JOURNAL_END_DROP_UNLOCKED));
	assert_null(journal_end_arg(JOURNAL_END_AS_IS));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fate),
		cmocka_unit_test(test_at_end),
		cmocka_unit_test(test_end_arg),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
