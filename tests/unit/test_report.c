/*
 * test_report.c -- outcome_message() (include/report.h): what the summary
 * line and the "message" of a JSON report say of a run.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "stub_cmd.h"

#include "report.h"

static void
test_outcome_message(void **state)
{
	static const struct {
		enum fsm_outcome	 o;
		const char		*err, *want;
	} t[] = {
		/* what it did: no error, or an error of an outcome that is
		 * not a failure (kept for the log) */
		{ OUT_OK, "", "did" },
		{ OUT_OK, NULL, "did" },
		{ OUT_OK, "a warning kept", "did" },
		{ OUT_DRY_RUN, "x", "did" },
		{ OUT_NOTHING, "x", "did" },
		{ OUT_DRAINED, "x", "did" },
		/* a skip says why */
		{ OUT_SKIPPED, "outside the window", "outside the window" },
		{ OUT_SKIPPED, "", "did" },
		/* a failure: its error, when it has one */
		{ OUT_LOCKED, "held by h:1", "held by h:1" },
		{ OUT_PREFLIGHT, "not found", "not found" },
		{ OUT_PREFLIGHT, "", "did" },
		{ OUT_ABORTED, "timeout", "timeout" },
		{ OUT_LEASE_LOST, "lost", "lost" },
	};
	size_t	i;

	(void)state;
	for (i = 0; i < sizeof t / sizeof t[0]; i++)
		if (strcmp(outcome_message(t[i].o, t[i].err, "did"),
		    t[i].want) != 0)
			fail_msg("row %zu: \"%s\", want \"%s\"", i,
			    outcome_message(t[i].o, t[i].err, "did"), t[i].want);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_outcome_message),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
