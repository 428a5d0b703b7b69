/*
 * test_kwatch.c -- kwatch_decide() (include/kwatch.h): after each way a watch
 * ends, resume, relist or poll, and when.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <string.h>

#include <cmocka.h>

#include "kwatch.h"

static void
test_decide(void **state)
{
	static const struct {
		enum kwatch_end	 end;
		int		 progress, have_rv;
		unsigned	 failures;
		enum kwatch_do	 act;
		double		 wait;
		unsigned	 kept;
	} t[] = {
		/* the server's timeout, or a close after events: resume */
		{ KWATCH_END_CLOSED, 1, 1, 0, KWATCH_RESUME, 0, 0 },
		{ KWATCH_END_CLOSED, 1, 1, 2, KWATCH_RESUME, 0, 0 },
		/* no resourceVersion known: relist */
		{ KWATCH_END_CLOSED, 1, 0, 0, KWATCH_RELIST, 0, 0 },
		{ KWATCH_END_BROKEN, 0, 0, 0, KWATCH_RELIST, 0.5, 1 },
		/* broken at once: backoff, doubled */
		{ KWATCH_END_BROKEN, 0, 1, 0, KWATCH_RESUME, 0.5, 1 },
		{ KWATCH_END_BROKEN, 0, 1, 1, KWATCH_RESUME, 1.0, 2 },
		{ KWATCH_END_CLOSED, 0, 1, 1, KWATCH_RESUME, 1.0, 2 },
		/* a broken stream after events: resume now */
		{ KWATCH_END_BROKEN, 1, 1, 2, KWATCH_RESUME, 0, 0 },
		/* too many in a row: poll, try again later */
		{ KWATCH_END_BROKEN, 0, 1, 2, KWATCH_POLL, KWATCH_RETRY_SECS, 0 },
		{ KWATCH_END_CLOSED, 0, 1, 2, KWATCH_POLL, KWATCH_RETRY_SECS, 0 },
		/* 410 Gone: relist at once, then backoff, then poll */
		{ KWATCH_END_EXPIRED, 0, 1, 0, KWATCH_RELIST, 0, 1 },
		{ KWATCH_END_EXPIRED, 1, 1, 0, KWATCH_RELIST, 0, 0 },
		{ KWATCH_END_EXPIRED, 0, 0, 1, KWATCH_RELIST, 1.0, 2 },
		{ KWATCH_END_EXPIRED, 0, 1, 2, KWATCH_POLL, KWATCH_RETRY_SECS, 0 },
		/* not allowed to watch: poll for good */
		{ KWATCH_END_REFUSED, 0, 1, 0, KWATCH_POLL, -1, 1 },
		{ KWATCH_END_REFUSED, 1, 0, 5, KWATCH_POLL, -1, 0 },
	};
	struct kwatch_facts	 f;
	struct kwatch_next	 n;
	size_t			 i;

	(void)state;
	for (i = 0; i < sizeof t / sizeof t[0]; i++) {
		memset(&f, 0, sizeof f);
		f.end = t[i].end;
		f.progress = t[i].progress;
		f.have_rv = t[i].have_rv;
		f.failures = t[i].failures;
		n = kwatch_decide(&f);
		print_message("case %zu\n", i);
		assert_int_equal(n.act, t[i].act);
		assert_true(n.wait == t[i].wait);
		assert_int_equal(n.failures, t[i].kept);
	}
}

static void
test_names(void **state)
{
	(void)state;
	assert_string_equal(kwatch_do_name(KWATCH_RESUME), "resume");
	assert_string_equal(kwatch_do_name(KWATCH_RELIST), "relist");
	assert_string_equal(kwatch_do_name(KWATCH_POLL), "poll");
	assert_string_equal(kwatch_do_name((enum kwatch_do)9), "?");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_decide),
		cmocka_unit_test(test_names),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
