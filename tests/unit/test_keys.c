/*
 * test_keys.c -- Celery's Redis key names (include/keys.h) as kombu 5.2's
 * Redis transport makes them: global_keyprefix on every key and fanout
 * channel, priority_steps deciding a queue's lists ("Q", "Q\x06\x16N").
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "keys.h"

static void
assert_steps(const char *s, const int *want, size_t n)
{
	struct prio_steps	st;
	char			err[200] = "";
	size_t			i;

	if (keys_parse_steps(s, &st, err, sizeof err) != 0)
		fail_msg("keys_parse_steps(\"%s\"): %s", s, err);
	assert_int_equal(st.n, n);
	for (i = 0; i < n; i++)
		assert_int_equal(st.v[i], want[i]);
}

static void
assert_steps_rejected(const char *s, const char *why)
{
	struct prio_steps	st;
	char			err[200] = "";

	if (keys_parse_steps(s, &st, err, sizeof err) != -1)
		fail_msg("keys_parse_steps(\"%s\") accepted", s);
	if (strstr(err, why) == NULL)
		fail_msg("keys_parse_steps(\"%s\"): \"%s\" lacks \"%s\"", s, err,
		    why);
}

static void
test_parse_steps(void **state)
{
	static const int dflt[] = { 0, 3, 6, 9 };
	static const int ten[] = { 0, 1, 2, 3, 4, 5, 6, 7, 8, 9 };
	static const int odd[] = { 1, 5 };

	(void)state;
	assert_steps("0,3,6,9", dflt, 4);
	assert_steps(" 0, 3 ,6,9 ", dflt, 4);
	assert_steps("[0, 3, 6, 9]", dflt, 4);
	assert_steps("0,1,2,3,4,5,6,7,8,9", ten, 10);
	assert_steps("1,5", odd, 2);
	assert_steps_rejected("", "expected a number");
	assert_steps_rejected("0,,3", "expected a number");
	assert_steps_rejected("0,3,", "expected a number");
	assert_steps_rejected("-1,3", "expected a number");
	assert_steps_rejected("3,0", "ascending");
	assert_steps_rejected("0,3,3", "ascending");
	assert_steps_rejected("0,3x", "unexpected");
	assert_steps_rejected("[0,3", "missing ']'");
	assert_steps_rejected("0,3]", "unexpected");
	assert_steps_rejected("0,256", "out of range");
	assert_steps_rejected("99999999999999999999", "out of range");
}

static void
free_lists(char **l, size_t n)
{
	while (n > 0)
		free(l[--n]);
}

/* The single keys and channels: unacked, the pidbox channel, the events. */
static void
assert_names(const struct keys *k, const char *unacked, const char *pidbox,
    const char *events)
{
	char	*s;

	s = keys_name(k, "unacked");
	assert_string_equal(s, unacked);
	free(s);
	s = keys_fanout(k, "celery.pidbox");
	assert_string_equal(s, pidbox);
	free(s);
	s = keys_fanout_pattern(k, "celeryev");
	assert_string_equal(s, events);
	free(s);
}

static void
test_default_names(void **state)
{
	struct keys	k;
	char		*l[KEYS_MAX_STEPS];
	size_t		 n;

	(void)state;
	keys_init(&k, NULL, NULL, 0);
	n = keys_queue_lists(&k, "ecal-bulk", l);
	assert_int_equal(n, 4);
	assert_string_equal(l[0], "ecal-bulk");
	assert_string_equal(l[1], "ecal-bulk\x06\x16" "3");
	assert_string_equal(l[2], "ecal-bulk\x06\x16" "6");
	assert_string_equal(l[3], "ecal-bulk\x06\x16" "9");
	free_lists(l, n);
	assert_names(&k, "unacked", "/0.celery.pidbox", "/0.celeryev/*");
	keys_free(&k);
}

static void
test_prefixed_names(void **state)
{
	struct keys		k;
	struct prio_steps	st;
	char			*l[KEYS_MAX_STEPS], *s, err[100], want[64];
	size_t			 n, i;

	(void)state;
	assert_int_equal(keys_parse_steps("0,1,2,3,4,5,6,7,8,9", &st, err,
	    sizeof err), 0);
	keys_init(&k, "dials:", &st, 3);
	n = keys_queue_lists(&k, "q", l);
	assert_int_equal(n, 10);
	assert_string_equal(l[0], "dials:q");
	for (i = 1; i < n; i++) {
		snprintf(want, sizeof want, "dials:q\x06\x16%zu", i);
		assert_string_equal(l[i], want);
	}
	free_lists(l, n);
	assert_names(&k, "dials:unacked", "dials:/3.celery.pidbox",
	    "dials:/3.celeryev/*");
	s = keys_name(&k, "_kombu.binding.reply.celery.pidbox");
	assert_string_equal(s, "dials:_kombu.binding.reply.celery.pidbox");
	free(s);
	keys_free(&k);
}

/* Steps without 0: kombu never uses the bare queue name. */
static void
test_steps_without_zero(void **state)
{
	struct keys		k;
	struct prio_steps	st = { { 1, 5 }, 2 };
	char			*l[KEYS_MAX_STEPS];
	size_t			 n;

	(void)state;
	keys_init(&k, "", &st, 0);
	n = keys_queue_lists(&k, "q", l);
	assert_int_equal(n, 2);
	assert_string_equal(l[0], "q\x06\x16" "1");
	assert_string_equal(l[1], "q\x06\x16" "5");
	free_lists(l, n);
	keys_free(&k);
}

/* A prefix with glob characters matches only itself in PSUBSCRIBE. */
static void
test_pattern_escapes_prefix(void **state)
{
	struct keys	k;
	char		*s;

	(void)state;
	keys_init(&k, "a*b?[c]\\d", NULL, 0);
	s = keys_fanout_pattern(&k, "celeryev");
	assert_string_equal(s, "a\\*b\\?\\[c\\]\\\\d/0.celeryev/*");
	free(s);
	s = keys_fanout(&k, "celeryev");
	assert_string_equal(s, "a*b?[c]\\d/0.celeryev");
	free(s);
	keys_free(&k);
}

/*
 * The fanout channels and patterns: one, or, through Sentinel, also kombu
 * < 5.4's literal "{db}" one (measured: kombu 5.2.4 publishes
 * "/{db}.celeryev/worker.heartbeat").
 */
static void
test_fanouts(void **state)
{
	static const struct {
		const char	*prefix;
		int		 db, sentinel;
		size_t		 n;
		const char	*chan[2], *pat[2];
	} t[] = {
		{ "", 0, 0, 1, { "/0.celery.pidbox" }, { "/0.celeryev/*" } },
		{ "dials:", 3, 0, 1, { "dials:/3.celery.pidbox" },
		  { "dials:/3.celeryev/*" } },
		{ "", 0, 1, 2, { "/0.celery.pidbox", "/{db}.celery.pidbox" },
		  { "/0.celeryev/*", "/{db}.celeryev/*" } },
		{ "a*", 2, 1, 2, { "a*/2.celery.pidbox", "a*/{db}.celery.pidbox" },
		  { "a\\*/2.celeryev/*", "a\\*/{db}.celeryev/*" } },
	};
	struct keys	k;
	char		*out[2];
	size_t		 i, j, n;

	(void)state;
	for (i = 0; i < sizeof t / sizeof t[0]; i++) {
		keys_init(&k, t[i].prefix, NULL, t[i].db);
		k.sentinel_fanout = t[i].sentinel;
		n = keys_fanouts(&k, "celery.pidbox", out);
		assert_int_equal(n, t[i].n);
		for (j = 0; j < n; j++) {
			assert_string_equal(out[j], t[i].chan[j]);
			free(out[j]);
		}
		n = keys_fanout_patterns(&k, "celeryev", out);
		assert_int_equal(n, t[i].n);
		for (j = 0; j < n; j++) {
			assert_string_equal(out[j], t[i].pat[j]);
			free(out[j]);
		}
		keys_free(&k);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_steps),
		cmocka_unit_test(test_default_names),
		cmocka_unit_test(test_prefixed_names),
		cmocka_unit_test(test_steps_without_zero),
		cmocka_unit_test(test_pattern_escapes_prefix),
		cmocka_unit_test(test_fanouts),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
