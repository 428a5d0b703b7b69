/*
 * test_hold.c -- holds (include/hold.h): the annotation's value as written
 * by --hold and by hand, expiry, --until.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "hold.h"
#include "util.h"

#define T0	1794995200.0	/* 2026-11-18T09:46:40Z */

static void
test_value_roundtrip(void **state)
{
	char		*v = hold_value("db \"migration\"", "alice@ops1", T0,
			    T0 + 3600), *d;
	struct hold	 h;
	json_t		*o = json_loads(v, 0, NULL);

	(void)state;
	assert_non_null(o);
	assert_string_equal(json_string_value(json_object_get(o, "until")),
	    "2026-11-18T10:46:40Z");
	json_decref(o);
	assert_int_equal(hold_parse(v, T0 + 10, &h), HOLD_ACTIVE);
	assert_string_equal(h.reason, "db \"migration\"");
	assert_string_equal(h.by, "alice@ops1");
	assert_true(h.since == T0 && h.until == T0 + 3600);
	assert_null(h.bad);
	d = hold_describe(&h);
	assert_string_equal(d, "held by alice@ops1 since 2026-11-18T09:46:40Z "
	    "until 2026-11-18T10:46:40Z: db \"migration\"");
	free(d);
	hold_free(&h);
	/* at and after "until": no hold */
	assert_int_equal(hold_parse(v, T0 + 3600, &h), HOLD_EXPIRED);
	hold_free(&h);
	free(v);
	v = hold_value("x", NULL, 0, 0);
	assert_string_equal(v, "{\"reason\":\"x\"}");
	assert_int_equal(hold_parse(v, T0, &h), HOLD_ACTIVE);
	assert_null(h.by);
	assert_true(h.until == 0 && h.since == 0);
	d = hold_describe(&h);
	assert_string_equal(d, "held until released: x");
	free(d);
	hold_free(&h);
	free(v);
}

/* Anyone who can annotate writes the hold: what is shown of it is bounded. */
static void
test_long_hold_capped(void **state)
{
	size_t		 n = 200000;
	char		*big = xmalloc(n + 1), *v, *d;
	struct hold	 h;
	json_t		*o;

	(void)state;
	memset(big, 'r', n);
	big[n] = '\0';
	big[5] = '\xff';		/* not UTF-8 */
	assert_int_equal(hold_parse(big, T0, &h), HOLD_ACTIVE);	/* by hand */
	assert_int_equal(strlen(h.reason), HOLD_TEXT_MAX + 2 + 3);
	assert_memory_equal(h.reason + 5, "\xef\xbf\xbd", 3);
	assert_string_equal(h.reason + HOLD_TEXT_MAX + 2, "...");
	hold_free(&h);
	big[5] = 'r';
	/* --hold refuses to write it (hold_text_check); kubectl does not */
	assert_null(hold_value(big, "bob", T0, 0));
	o = json_pack("{s:s,s:s}", "reason", big, "by", big);
	v = json_dumps(o, JSON_COMPACT);
	json_decref(o);
	assert_int_equal(hold_parse(v, T0, &h), HOLD_ACTIVE);
	assert_int_equal(strlen(h.reason), HOLD_TEXT_MAX + 3);
	assert_int_equal(strlen(h.by), HOLD_TEXT_MAX + 3);
	d = hold_describe(&h);
	assert_true(strlen(d) < 2 * HOLD_TEXT_MAX + 100);
	free(d);
	hold_free(&h);
	free(v);
	free(big);
}

/* What --hold writes: one line of UTF-8, bounded; anything else is
 * refused, and hold_value() never yields NULL (a removal) for a hold. */
static void
test_text_check(void **state)
{
	char		 big[HOLD_TEXT_MAX + 2], err[256];
	static const struct {
		const char	*text;
		const char	*why;	/* NULL: accepted */
	} t[] = {
		{ "db migration", NULL },
		{ "caf\xc3\xa9 \xf0\x9f\x98\x80", NULL },	/* UTF-8 */
		{ "x", NULL },
		{ "caf\xe9", "--reason is not valid UTF-8 (byte 4 of 4, 0xe9)" },
		{ "\xff", "--reason is not valid UTF-8 (byte 1 of 1, 0xff)" },
		{ "ab\xc3", "--reason is not valid UTF-8 (byte 3 of 3, 0xc3)" },
		{ "a\xed\xa0\x80", "not valid UTF-8 (byte 2" },	/* surrogate */
		{ "", "--reason is empty" },
		{ NULL, "--reason is empty" },
		{ "two\nlines", "control character (byte 4, 0x0a)" },
		{ "esc\x1b[2J", "control character (byte 4, 0x1b)" },
		{ "del\x7f", "control character (byte 4, 0x7f)" },
		{ "tab\there", "control character (byte 4, 0x09)" },
	};
	size_t		 i;
	char		*v;

	(void)state;
	for (i = 0; i < sizeof t / sizeof t[0]; i++) {
		err[0] = '\0';
		if (t[i].why == NULL) {
			assert_int_equal(hold_text_check("--reason", t[i].text,
			    err, sizeof err), 0);
			v = hold_value(t[i].text, t[i].text, T0, 0);
			assert_non_null(v);
			free(v);
			continue;
		}
		assert_int_equal(hold_text_check("--reason", t[i].text, err,
		    sizeof err), -1);
		if (strstr(err, t[i].why) == NULL)
			fail_msg("%zu: \"%s\" lacks \"%s\"", i, err, t[i].why);
		assert_null(hold_value(t[i].text, NULL, T0, 0));
		if (t[i].text != NULL)	/* by NULL: not said */
			assert_null(hold_value("ok", t[i].text, T0, 0));
	}
	/* the bound: HOLD_TEXT_MAX bytes, not one more */
	memset(big, 'r', sizeof big - 1);
	big[HOLD_TEXT_MAX] = '\0';
	assert_int_equal(hold_text_check("--reason", big, err, sizeof err), 0);
	big[HOLD_TEXT_MAX] = 'r';
	big[HOLD_TEXT_MAX + 1] = '\0';
	assert_int_equal(hold_text_check("--reason", big, err, sizeof err), -1);
	assert_non_null(strstr(err, "501 bytes long; at most 500"));
	assert_null(hold_value(big, NULL, T0, 0));
}

/* A hold is never ignored because it is badly written. */
static void
test_hand_written(void **state)
{
	struct hold	 h;
	char		*d;
	static const char *texts[] = {
		"disk full on node 7", "{\"by\":\"bob\"}", "{\"reason\":\"\"}",
		"{\"reason\":3}", "[\"x\"]", "{\"reason\":\"a\",\"reason\":\"b\"}",
	};
	size_t		 i;

	(void)state;
	for (i = 0; i < sizeof texts / sizeof texts[0]; i++) {
		assert_int_equal(hold_parse(texts[i], T0, &h), HOLD_ACTIVE);
		assert_string_equal(h.reason, texts[i]);
		assert_true(h.until == 0);
		hold_free(&h);
	}
	assert_int_equal(hold_parse(NULL, T0, &h), HOLD_NONE);
	assert_null(h.reason);
	assert_int_equal(hold_parse("", T0, &h), HOLD_ACTIVE);
	assert_string_equal(h.reason, "(no reason given)");
	hold_free(&h);
	/* an unreadable "until" holds until released, and says so */
	assert_int_equal(hold_parse("{\"reason\":\"r\",\"until\":\"tomorrow\"}",
	    T0, &h), HOLD_ACTIVE);
	assert_true(h.until == 0);
	assert_non_null(h.bad);
	d = hold_describe(&h);
	assert_non_null(strstr(d, "until released (\"until\" is not an RFC "
	    "3339 time): r"));
	free(d);
	hold_free(&h);
	assert_int_equal(hold_parse("{\"reason\":\"r\",\"until\":12}", T0, &h),
	    HOLD_ACTIVE);
	hold_free(&h);
}

static void
test_hold_of(void **state)
{
	struct hold	 h;
	json_t		*d;

	(void)state;
	d = json_loads("{\"metadata\":{\"name\":\"x\",\"annotations\":"
	    "{\"drain-and-rollout/hold\":\"{\\\"reason\\\":\\\"r\\\","
	    "\\\"until\\\":\\\"2026-11-18T09:46:40Z\\\"}\"}}}", 0, NULL);
	assert_non_null(d);
	assert_int_equal(hold_of(d, T0 - 1, &h), HOLD_ACTIVE);
	assert_string_equal(h.reason, "r");
	hold_free(&h);
	assert_int_equal(hold_of(d, T0, &h), HOLD_EXPIRED);
	hold_free(&h);
	json_decref(d);
	d = json_loads("{\"metadata\":{\"annotations\":{\"other\":\"v\"}}}", 0,
	    NULL);
	assert_int_equal(hold_of(d, T0, &h), HOLD_NONE);
	json_decref(d);
	d = json_loads("{\"metadata\":{\"annotations\":{\"drain-and-rollout/"
	    "hold\":7}}}", 0, NULL);
	assert_int_equal(hold_of(d, T0, &h), HOLD_NONE);
	json_decref(d);
	assert_int_equal(hold_of(NULL, T0, &h), HOLD_NONE);
}

static void
test_until_parse(void **state)
{
	double	u;
	char	err[256];

	(void)state;
	assert_int_equal(hold_until_parse("8h", T0, &u, err, sizeof err), 0);
	assert_true(u == T0 + 8 * 3600);
	assert_int_equal(hold_until_parse("2026-11-19T06:00:00Z", T0, &u, err,
	    sizeof err), 0);
	assert_true(u > T0);
	assert_int_equal(hold_until_parse("tomorrow", T0, &u, err, sizeof err),
	    -1);
	assert_non_null(strstr(err, "RFC 3339"));
	assert_int_equal(hold_until_parse("2026-11-18T09:46:40Z", T0, &u, err,
	    sizeof err), -1);
	assert_non_null(strstr(err, "has passed"));
	assert_int_equal(hold_until_parse("0s", T0, &u, err, sizeof err), -1);
}

/* hold_json(): what -o json shows of a hold. */
static void
test_hold_json(void **state)
{
	static const struct {
		const char	*value;
		int		 st;
		const char	*want;
	} t[] = {
		{ "{\"reason\":\"db\",\"by\":\"a@h\",\"since\":"
		  "\"2026-11-26T17:00:00Z\",\"until\":\"2026-11-27T06:00:00Z\"}",
		  HOLD_ACTIVE, "{\"reason\": \"db\", \"by\": \"a@h\", "
		  "\"since\": \"2026-11-26T17:00:00Z\", \"until\": "
		  "\"2026-11-27T06:00:00Z\", \"expired\": false, "
		  "\"unreadable\": null}" },
		{ "{\"reason\":\"db\"}", HOLD_EXPIRED, "{\"reason\": \"db\", "
		  "\"by\": null, \"since\": null, \"until\": null, "
		  "\"expired\": true, \"unreadable\": null}" },
		{ "vendor upgrade", HOLD_ACTIVE, "{\"reason\": \"vendor "
		  "upgrade\", \"by\": null, \"since\": null, \"until\": null, "
		  "\"expired\": false, \"unreadable\": null}" },
		{ "{\"reason\":\"x\",\"until\":\"soon\"}", HOLD_ACTIVE,
		  "{\"reason\": \"x\", \"by\": null, \"since\": null, "
		  "\"until\": null, \"expired\": false, \"unreadable\": "
		  "\"\\\"until\\\" is not an RFC 3339 time\"}" },
	};
	struct hold	 h;
	json_t		*j;
	char		*s;
	size_t		 i;

	(void)state;
	for (i = 0; i < sizeof t / sizeof t[0]; i++) {
		hold_parse(t[i].value, 0, &h);
		j = hold_json(&h, (enum hold_state)t[i].st);
		s = json_dumps(j, JSON_PRESERVE_ORDER);
		if (strcmp(s, t[i].want) != 0)
			fail_msg("row %zu: %s, want %s", i, s, t[i].want);
		free(s);
		json_decref(j);
		hold_free(&h);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_value_roundtrip),
		cmocka_unit_test(test_hand_written),
		cmocka_unit_test(test_long_hold_capped),
		cmocka_unit_test(test_text_check),
		cmocka_unit_test(test_hold_of),
		cmocka_unit_test(test_until_parse),
		cmocka_unit_test(test_hold_json),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
