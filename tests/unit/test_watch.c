/*
 * test_watch.c -- the decisions of --status --watch (include/watch.h):
 * the holder and time of a lease token, what is in flight, a run's line
 * and time, and when a line is printed again without a terminal.
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
#include "watch.h"

static void
test_token(void **state)
{
	static const struct {
		const char	*token, *holder;
		double		 since;
	} t[] = {
		{ "ops-host-7:4242:1795700000:0123abcd", "ops-host-7:4242",
		  1795700000 },
		{ "h:1:1795700000.5:ff", "h:1", 1795700000.5 },
		/* a host name with colons (an IPv6 address) */
		{ "fe80::1:99:1795700000:ab", "fe80::1:99", 1795700000 },
		/* not a token of ours: its own holder, no time */
		{ "someone", "someone", 0 },
		{ "a:b", "a:b", 0 },
		{ "h:1:soon:ff", "h:1:soon:ff", 0 },
		{ ":1795700000:ff", ":1795700000:ff", 0 },
		{ "", "", 0 },
	};
	char	holder[64];
	double	since;
	size_t	i;

	(void)state;
	for (i = 0; i < sizeof t / sizeof t[0]; i++) {
		watch_token(t[i].token, holder, sizeof holder, &since);
		if (strcmp(holder, t[i].holder) != 0 || since != t[i].since)
			fail_msg("row %zu: \"%s\" %f, want \"%s\" %f", i, holder,
			    since, t[i].holder, t[i].since);
	}
}

static void
test_in_flight_and_gone(void **state)
{
	const struct watch_run	runs[] = {
		{ "a", "h:1:100:ff", "drain", NULL, 0 },
		{ "b", NULL, "drained", NULL, 0 },	/* left by --drain-only */
		{ "statefulset/c", "h:2:100:ff", NULL, NULL, 0 },
	};
	static const struct {
		size_t		 n;		/* of runs */
		const char	*target;
		size_t		 flying;
		int		 gone;
	} t[] = {
		{ 0, "a", 0, 1 },
		{ 1, "a", 1, 0 },
		{ 2, "b", 1, 1 },		/* a journal without a lease */
		{ 3, "statefulset/c", 2, 0 },
		{ 3, "c", 2, 1 },		/* the Deployment c is not it */
		{ 3, "z", 2, 1 },
	};
	size_t	i;

	(void)state;
	for (i = 0; i < sizeof t / sizeof t[0]; i++) {
		if (watch_in_flight(runs, t[i].n) != t[i].flying)
			fail_msg("row %zu: in flight %zu, want %zu", i,
			    watch_in_flight(runs, t[i].n), t[i].flying);
		if (watch_gone(t[i].target, runs, t[i].n) != t[i].gone)
			fail_msg("row %zu: gone %d", i, !t[i].gone);
	}
}

static void
test_key_and_elapsed(void **state)
{
	static const struct {
		struct watch_run	 r;
		double			 now;
		const char		*key;
		double			 elapsed;
	} t[] = {
		{ { "ecal-bulk", "h:1:1000:ff", "drain", "h:1", 940 }, 1000,
		  "ecal-bulk                drain    draining: waiting for "
		  "running and prefetched tasks (holder h:1)", 60 },
		/* the lease taken, no journal yet: its token says */
		{ { "x", "h:2:990:ff", NULL, NULL, 0 }, 1000,
		  "x                        lock     taking the lease (holder "
		  "h:2)", 10 },
		{ { "x", "h:2:990:ff", "rollout", NULL, 0 }, 1000,
		  "x                        rollout  waiting for the rollout "
		  "(holder h:2)", 10 },
		/* a state a newer version wrote */
		{ { "x", "h:3:990:ff", "bake", "h:3", 995 }, 1000,
		  "x                        bake     in a state this version "
		  "does not know (holder h:3)", 5 },
		/* a clock ahead of ours, a token without a time */
		{ { "x", "odd", "verify", NULL, 2000 }, 1000,
		  "x                        verify   verifying that a new worker "
		  "consumes the queues (holder odd)", 0 },
		{ { "x", "odd", "verify", NULL, 0 }, 1000,
		  "x                        verify   verifying that a new worker "
		  "consumes the queues (holder odd)", 0 },
	};
	char	buf[512], head[64], body[256];
	size_t	i;

	(void)state;
	for (i = 0; i < sizeof t / sizeof t[0]; i++) {
		watch_key(&t[i].r, buf, sizeof buf);
		if (strcmp(buf, t[i].key) != 0)
			fail_msg("row %zu: \"%s\", want \"%s\"", i, buf,
			    t[i].key);
		watch_parts(&t[i].r, head, sizeof head, body, sizeof body);
		if (strlen(head) != 33 || strncmp(buf, head, 33) != 0 ||
		    strcmp(buf + 34, body) != 0)
			fail_msg("row %zu: parts \"%s\" \"%s\"", i, head,
			    body);
		if (watch_elapsed(&t[i].r, t[i].now) != t[i].elapsed)
			fail_msg("row %zu: elapsed %f, want %f", i,
			    watch_elapsed(&t[i].r, t[i].now), t[i].elapsed);
	}
}

static void
test_done(void **state)
{
	static const struct {
		size_t	flying;
		int	seen;
		double	quiet;
		int	want;
	} t[] = {
		{ 0, 0, 0, 1 },		/* none at the start: at once */
		{ 1, 1, 0, 0 },
		{ 3, 1, 0, 0 },
		{ 0, 1, 0, 0 },		/* the next of a batch may come */
		{ 0, 1, WATCH_GRACE - 0.01, 0 },
		{ 0, 1, WATCH_GRACE, 1 },
		{ 0, 1, WATCH_GRACE + 60, 1 },
		{ 2, 1, WATCH_GRACE + 60, 0 },	/* never while one flies */
	};
	size_t	i;

	(void)state;
	for (i = 0; i < sizeof t / sizeof t[0]; i++)
		if (watch_done(t[i].flying, t[i].seen, t[i].quiet) != t[i].want)
			fail_msg("row %zu: done %d", i, !t[i].want);
}

static void
test_changed(void **state)
{
	struct strv	shown = { 0 };
	static const struct {
		const char	*key;
		int		 want;
	} t[] = {
		{ "a drain draining (holder h:1)", 0 },
		{ "a rollout waiting for the rollout (holder h:1)", 1 },
		{ "b drain draining (holder h:1)", 1 },
		{ "", 1 },
	};
	size_t	i;

	(void)state;
	assert_int_equal(watch_changed(&shown, "anything"), 1);	/* first */
	strv_add(&shown, "a drain draining (holder h:1)");
	for (i = 0; i < sizeof t / sizeof t[0]; i++)
		if (watch_changed(&shown, t[i].key) != t[i].want)
			fail_msg("row %zu: changed %d", i, !t[i].want);
	strv_free(&shown);
}

/* What became of a run a refresh read: its lease, then its journal. */
static void
test_fate(void **state)
{
	static const struct {
		const char	*token, *st;
		enum watch_fate	 want;
	} t[] = {
		{ "h:1:1700000000:ab", "drain", WATCH_FLYING },
		{ "h:1:1700000000:ab", NULL, WATCH_FLYING },
		{ "h:1:1700000000:ab", "drained", WATCH_FLYING },
		{ NULL, NULL, WATCH_ENDED },
		{ NULL, "drained", WATCH_DRAINED },
		{ NULL, "drain", WATCH_INTERRUPTED },
		{ NULL, "restart", WATCH_INTERRUPTED },
		{ NULL, "lock", WATCH_INTERRUPTED },
	};
	size_t	i;

	(void)state;
	for (i = 0; i < sizeof t / sizeof t[0]; i++) {
		struct watch_run r = { "ecal-bulk", t[i].token, t[i].st, NULL,
		    0 };
		if (watch_fate(&r) != t[i].want)
			fail_msg("row %zu: got %d, want %d", i, watch_fate(&r),
			    t[i].want);
	}
	assert_int_equal(watch_exit(0), 0);
	assert_int_equal(watch_exit(1), 9);
	assert_int_equal(watch_exit(3), 9);
}

/* The targets left interrupted, refresh after refresh. */
static void
test_left(void **state)
{
	static const struct watch_run r1[] = {
		{ "a", NULL, "drain", NULL, 0 },	/* interrupted */
		{ "b", "h:1:1700000000:ab", "drain", NULL, 0 },
		{ "c", NULL, NULL, NULL, 0 },		/* ended */
		{ "d", NULL, "drained", NULL, 0 },
	}, r2[] = {
		/* a took its lease again; b interrupted now */
		{ "a", "h:1:1700000000:ab", "drain", NULL, 0 },
		{ "b", NULL, "restart", NULL, 0 },
	}, r3[] = {
		{ "e", NULL, "lock", NULL, 0 },
	};
	struct strv	left = { 0 };

	(void)state;
	watch_left(&left, r1, 4);
	assert_int_equal(left.n, 1);
	assert_string_equal(left.v[0], "a");
	watch_left(&left, r1, 4);		/* the same again: once */
	assert_int_equal(left.n, 1);
	watch_left(&left, r2, 2);
	assert_int_equal(left.n, 1);
	assert_string_equal(left.v[0], "b");
	watch_left(&left, r3, 1);		/* b not read now: stays */
	assert_int_equal(left.n, 2);
	assert_true(strv_has(&left, "b") && strv_has(&left, "e"));
	watch_left(&left, NULL, 0);
	assert_int_equal(left.n, 2);
	strv_free(&left);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_token),
		cmocka_unit_test(test_in_flight_and_gone),
		cmocka_unit_test(test_key_and_elapsed),
		cmocka_unit_test(test_changed),
		cmocka_unit_test(test_done),
		cmocka_unit_test(test_fate),
		cmocka_unit_test(test_left),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
