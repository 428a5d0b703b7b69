/*
 * test_kwatch.c -- kwatch_decide() (include/kwatch.h): after each way a watch
 * ends, resume, relist or poll, and when; kwatch_object(): what a follower
 * does with each object of its workload; kwatch_error(): which ERROR
 * events relist.
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
		int		 lasted;
	} t[] = {
		/* the server's timeout, or a close after events: resume */
		{ KWATCH_END_CLOSED, 1, 1, 0, KWATCH_RESUME, 0, 0, 0 },
		{ KWATCH_END_CLOSED, 1, 1, 2, KWATCH_RESUME, 0, 0, 0 },
		/* no resourceVersion known: relist */
		{ KWATCH_END_CLOSED, 1, 0, 0, KWATCH_RELIST, 0, 0, 0 },
		{ KWATCH_END_BROKEN, 0, 0, 0, KWATCH_RELIST, 0.5, 1, 0 },
		/* broken at once: backoff, doubled */
		{ KWATCH_END_BROKEN, 0, 1, 0, KWATCH_RESUME, 0.5, 1, 0 },
		{ KWATCH_END_BROKEN, 0, 1, 1, KWATCH_RESUME, 1.0, 2, 0 },
		{ KWATCH_END_CLOSED, 0, 1, 1, KWATCH_RESUME, 1.0, 2, 0 },
		/* a broken stream after events: resume now */
		{ KWATCH_END_BROKEN, 1, 1, 2, KWATCH_RESUME, 0, 0, 0 },
		/* too many in a row: poll, try again later */
		{ KWATCH_END_BROKEN, 0, 1, 2, KWATCH_POLL, KWATCH_RETRY_SECS, 0,
		    0 },
		{ KWATCH_END_CLOSED, 0, 1, 2, KWATCH_POLL, KWATCH_RETRY_SECS, 0,
		    0 },
		/* 410 Gone: relist at once, then backoff, then poll */
		{ KWATCH_END_EXPIRED, 0, 1, 0, KWATCH_RELIST, 0, 1, 0 },
		{ KWATCH_END_EXPIRED, 1, 1, 0, KWATCH_RELIST, 0, 0, 0 },
		{ KWATCH_END_EXPIRED, 0, 0, 1, KWATCH_RELIST, 1.0, 2, 0 },
		{ KWATCH_END_EXPIRED, 0, 1, 2, KWATCH_POLL, KWATCH_RETRY_SECS, 0,
		    0 },
		/* not allowed to watch: poll for good */
		{ KWATCH_END_REFUSED, 0, 1, 0, KWATCH_POLL, -1, 1, 0 },
		{ KWATCH_END_REFUSED, 1, 0, 5, KWATCH_POLL, -1, 0, 0 },
		/* lasted its timeoutSeconds, ended by the server: progress */
		{ KWATCH_END_CLOSED, 0, 1, 2, KWATCH_RESUME, 0, 0, 1 },
		/* lasted, silent, cut by the client's timeout (a buffering
		 * proxy): a failure, in the end polling */
		{ KWATCH_END_BROKEN, 0, 1, 0, KWATCH_RESUME, 0.5, 1, 1 },
		{ KWATCH_END_BROKEN, 0, 1, 2, KWATCH_POLL, KWATCH_RETRY_SECS, 0,
		    1 },
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
		f.lasted = t[i].lasted;
		n = kwatch_decide(&f);
		print_message("case %zu\n", i);
		assert_int_equal(n.act, t[i].act);
		assert_true(n.wait == t[i].wait);
		assert_int_equal(n.failures, t[i].kept);
	}
}

static void
test_object(void **state)
{
	static const struct {
		int		 deleted;
		const char	*uid;
		long		 gen;
		const char	*want_uid;
		long		 want_gen;
		enum kwatch_use	 use;
	} t[] = {
		/* the restarted object, as recent or newer: decide */
		{ 0, "a", 5, "a", 5, KWATCH_USE_DECIDE },
		{ 0, "a", 6, "a", 5, KWATCH_USE_DECIDE },
		/* from before the restart: ignored */
		{ 0, "a", 4, "a", 5, KWATCH_USE_IGNORE },
		/* deleted: read again, whatever its generation */
		{ 1, "a", 5, "a", 5, KWATCH_USE_REREAD },
		{ 1, "a", 4, "a", 5, KWATCH_USE_REREAD },
		/* created again: another uid, whatever its generation */
		{ 0, "b", 1, "a", 5, KWATCH_USE_REREAD },
		{ 0, "b", 7, "a", 5, KWATCH_USE_REREAD },
		/* a uid not known on either side: the generation decides */
		{ 0, NULL, 4, "a", 5, KWATCH_USE_IGNORE },
		{ 0, "b", 5, NULL, 5, KWATCH_USE_DECIDE },
		{ 0, NULL, 6, NULL, 5, KWATCH_USE_DECIDE },
	};
	struct kwatch_obj	 o;
	size_t			 i;

	(void)state;
	for (i = 0; i < sizeof t / sizeof t[0]; i++) {
		memset(&o, 0, sizeof o);
		o.deleted = t[i].deleted;
		o.uid = t[i].uid;
		o.generation = t[i].gen;
		o.want_uid = t[i].want_uid;
		o.want_gen = t[i].want_gen;
		print_message("case %zu\n", i);
		assert_int_equal(kwatch_object(&o), t[i].use);
	}
}

static void
test_error(void **state)
{
	static const struct {
		long		 code;
		const char	*cause;
		enum kwatch_end	 end;
	} t[] = {
		{ 410, NULL, KWATCH_END_EXPIRED },
		{ 410, "anything", KWATCH_END_EXPIRED },
		{ 504, "ResourceVersionTooLarge", KWATCH_END_EXPIRED },
		{ 504, NULL, KWATCH_END_BROKEN },
		{ 504, "Timeout", KWATCH_END_BROKEN },
		{ 500, "ResourceVersionTooLarge", KWATCH_END_BROKEN },
		{ 500, NULL, KWATCH_END_BROKEN },
		{ 0, NULL, KWATCH_END_BROKEN },
	};
	size_t	i;

	(void)state;
	for (i = 0; i < sizeof t / sizeof t[0]; i++) {
		print_message("case %zu\n", i);
		assert_int_equal(kwatch_error(t[i].code, t[i].cause), t[i].end);
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
		cmocka_unit_test(test_object),
		cmocka_unit_test(test_error),
		cmocka_unit_test(test_names),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
