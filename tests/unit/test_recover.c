/*
 * test_recover.c -- --recover's choice (include/recover.h): recover_start()
 * for every kind of journal, recover_choice() for every fate of the
 * journalled PATCH, with and without a --handover record, its plan and
 * every state it may have died in.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "recover.h"
#include "stub_cmd.h"

struct start_case {
	int			 journal;
	const char		*state;
	enum recover_step	 want;
};

static void
test_start(void **state)
{
	static const struct start_case cases[] = {
		{ 0, NULL,	RECOVER_NOTHING },
		{ 0, "drained",	RECOVER_NOTHING },	/* no journal wins */
		{ 1, "drained",	RECOVER_DRAINED },
		{ 1, "drain",	RECOVER_READ },
		{ 1, "restart",	RECOVER_READ },
		{ 1, "",	RECOVER_READ },
		{ 1, NULL,	RECOVER_READ },
		{ 1, "drainedx", RECOVER_READ },	/* exactly "drained" */
	};
	size_t	i;

	(void)state;
	for (i = 0; i < sizeof cases / sizeof cases[0]; i++)
		if (recover_start(cases[i].journal, cases[i].state) !=
		    cases[i].want)
			fail_msg("case %zu (journal %d, state %s)", i,
			    cases[i].journal, cases[i].state ? cases[i].state :
			    "NULL");
}

struct choice_case {
	enum patch_fate		 fate;
	int			 handover, plan, held;
	const char		*state;
	enum recover_step	 want;
};

static void
test_choice(void **state)
{
	static const struct choice_case cases[] = {
		/* a PATCH that may still land is waited for, whatever else */
		{ PATCH_WAIT,	 0, 0, 0, "restart",  RECOVER_WAIT },
		{ PATCH_WAIT,	 1, 0, 0, "detach",   RECOVER_WAIT },
		{ PATCH_WAIT,	 1, 1, 0, "giveback", RECOVER_WAIT },
		/* in place: restarted or not */
		{ PATCH_LANDED,	 0, 0, 0, "rollout",  RECOVER_ROLLOUT },
		{ PATCH_LANDED,	 0, 0, 0, "retire",   RECOVER_ROLLOUT },
		{ PATCH_LOST,	 0, 0, 0, "restart",  RECOVER_RESTORE },
		{ PATCH_FOREIGN, 0, 0, 0, "drain",	   RECOVER_RESTORE },
		{ PATCH_LOST,	 0, 0, 0, NULL,	   RECOVER_RESTORE },
		/* in place, the rollout held: drained again, resumed; held
		 * means nothing unless restarted, nor to --handover */
		{ PATCH_LANDED,	 0, 0, 1, "rollout",  RECOVER_ROLLOUT_HELD },
		{ PATCH_LANDED,	 0, 0, 1, "drain",    RECOVER_ROLLOUT_HELD },
		{ PATCH_LOST,	 0, 0, 1, "rollout",  RECOVER_RESTORE },
		{ PATCH_WAIT,	 0, 0, 1, "rollout",  RECOVER_WAIT },
		{ PATCH_LANDED,	 1, 0, 1, "rollout",  RECOVER_HO_ROLLOUT },
		/* --handover: a GIVEBACK that had its plan is finished */
		{ PATCH_LANDED,	 1, 1, 0, "giveback", RECOVER_HO_GIVEBACK_AGAIN },
		{ PATCH_LOST,	 1, 1, 0, "giveback", RECOVER_HO_GIVEBACK_AGAIN },
		/* not restarted: the pods given back */
		{ PATCH_LOST,	 1, 0, 0, "detach",   RECOVER_HO_GIVEBACK },
		{ PATCH_FOREIGN, 1, 0, 0, "retire",   RECOVER_HO_GIVEBACK },
		/* restarted: drained (RETIRE, HISTORY) or not yet */
		{ PATCH_LANDED,	 1, 0, 0, "retire",   RECOVER_HO_RETIRE },
		{ PATCH_LANDED,	 1, 0, 0, "history",  RECOVER_HO_RETIRE },
		{ PATCH_LANDED,	 1, 0, 0, "drain",	   RECOVER_HO_ROLLOUT },
		{ PATCH_LANDED,	 1, 0, 0, "rollout",  RECOVER_HO_ROLLOUT },
		{ PATCH_LANDED,	 1, 0, 0, NULL,	   RECOVER_HO_ROLLOUT },
	};
	size_t	i;

	(void)state;
	for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		const struct choice_case *c = &cases[i];
		if (recover_choice(c->fate, c->handover, c->plan, c->held,
		    c->state) !=
		    c->want)
			fail_msg("case %zu (%s, handover %d, plan %d, state "
			    "%s)", i, patch_fate_name(c->fate), c->handover,
			    c->plan, c->state ? c->state : "NULL");
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_start),
		cmocka_unit_test(test_choice),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
