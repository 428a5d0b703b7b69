/*
 * test_util.c -- duration_parse(), duration_fmt() and dns1123_label()
 * (include/util.h): what --timeout, --drain-timeout and deployment names
 * accept and reject.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "util.h"

static void
assert_duration(const char *s, double want)
{
	double	v = -12345;

	if (duration_parse(s, &v) != 0)
		fail_msg("duration_parse(\"%s\") failed", s);
	if (!(v > want - 1e-9 && v < want + 1e-9))
		fail_msg("duration_parse(\"%s\") = %g, want %g", s, v, want);
}

static void
assert_duration_rejects(const char *s)
{
	double	v = -12345;

	if (duration_parse(s, &v) != -1)
		fail_msg("duration_parse(\"%s\") accepted it (%g)", s, v);
	assert_true(v == -12345);	/* untouched */
}

static void
test_duration_parse(void **state)
{
	(void)state;
	assert_duration("90s", 90);
	assert_duration("30m", 1800);
	assert_duration("1h", 3600);
	assert_duration("1h30m", 5400);
	assert_duration("1.5h", 5400);
	assert_duration("250ms", 0.25);
	assert_duration("2m30s", 150);
	assert_duration("1h0m5s", 3605);
	assert_duration("0.5s", 0.5);
	assert_duration("1500ms", 1.5);
	assert_duration("10m250ms", 600.25);
	assert_duration("720h", 30 * 86400.0);	/* the most: 30 days */
	assert_duration("0h5m", 300);		/* a zero part is fine */
}

static void
test_duration_rejects(void **state)
{
	double	v = -12345;

	(void)state;
	assert_duration_rejects("");
	assert_duration_rejects("0");
	assert_duration_rejects("0s");
	assert_duration_rejects("0h0m");
	assert_duration_rejects("-5s");
	assert_duration_rejects("+5s");
	assert_duration_rejects("5x");
	assert_duration_rejects("5d");
	assert_duration_rejects("31d");
	assert_duration_rejects("45");		/* seconds or minutes? */
	assert_duration_rejects("1.5");
	assert_duration_rejects("1h30");	/* 30 what? */
	assert_duration_rejects("5m30");
	assert_duration_rejects("721h");	/* more than 30 days */
	assert_duration_rejects("44641m");
	assert_duration_rejects("2592001");
	assert_duration_rejects("1e400s");
	assert_duration_rejects("999999999999999999999999h");
	assert_duration_rejects("m");
	assert_duration_rejects("s");
	assert_duration_rejects("ms");
	assert_duration_rejects("h1");
	assert_duration_rejects(".");
	assert_duration_rejects(".s");
	assert_duration_rejects("1.2.3s");
	assert_duration_rejects(" 5s");
	assert_duration_rejects("5s ");
	assert_duration_rejects("5 s");
	assert_duration_rejects("1h 30m");
	assert_duration_rejects("inf");
	assert_duration_rejects("nan");
	assert_duration_rejects("5S");
	assert_duration_rejects("5M");
	assert_duration_rejects("5sec");
	assert_duration_rejects("5mss");
	assert_int_equal(duration_parse(NULL, &v), -1);
	assert_true(v == -12345);
}

static void
assert_fmt(double s, const char *want)
{
	char		 buf[32];
	const char	*r;

	memset(buf, 'Z', sizeof buf);
	r = duration_fmt(s, buf, sizeof buf);
	assert_ptr_equal(r, buf);
	assert_string_equal(buf, want);
}

static void
test_duration_fmt(void **state)
{
	char	small[4];

	(void)state;
	assert_fmt(0, "0.0s");
	assert_fmt(4.2, "4.2s");
	assert_fmt(0.26, "0.3s");
	assert_fmt(9.94, "9.9s");
	assert_fmt(45, "45s");
	assert_fmt(59, "59s");
	assert_fmt(60, "1m00s");
	assert_fmt(185, "3m05s");
	assert_fmt(185.4, "3m05s");
	assert_fmt(599, "9m59s");
	assert_fmt(3600, "1h00m");
	assert_fmt(3720, "1h02m");
	assert_fmt(5400, "1h30m");
	assert_fmt(86400, "24h00m");
	assert_fmt(-3, "0.0s");		/* clock skew: never negative */
	/* a short buffer is cut, not overrun */
	memset(small, 'Z', sizeof small);
	assert_ptr_equal(duration_fmt(185, small, sizeof small), small);
	assert_string_equal(small, "3m0");
}

/* What duration_fmt prints, duration_parse reads back (to the unit). */
static void
test_duration_roundtrip(void **state)
{
	static const double	 v[] = { 60, 185, 599, 3600, 3720, 5400 };
	char			 buf[32];
	double			 back;
	size_t			 i;

	(void)state;
	for (i = 0; i < sizeof v / sizeof v[0]; i++) {
		duration_fmt(v[i], buf, sizeof buf);
		assert_int_equal(duration_parse(buf, &back), 0);
		assert_true(back == v[i]);
	}
}

static void
test_dns1123_label(void **state)
{
	char	s[80];

	(void)state;
	assert_true(dns1123_label("ecal-bulk"));
	assert_true(dns1123_label("a"));
	assert_true(dns1123_label("0"));
	assert_true(dns1123_label("tracker-priority"));
	assert_true(dns1123_label("a1-b2-c3"));
	assert_true(dns1123_label("9lives"));
	assert_true(dns1123_label("a--b"));

	assert_false(dns1123_label(""));
	assert_false(dns1123_label("Ecal-bulk"));
	assert_false(dns1123_label("ecal-Bulk"));
	assert_false(dns1123_label("ECAL"));
	assert_false(dns1123_label("-ecal"));
	assert_false(dns1123_label("ecal-"));
	assert_false(dns1123_label("-"));
	assert_false(dns1123_label("ecal_bulk"));
	assert_false(dns1123_label("ecal.bulk"));
	assert_false(dns1123_label("ecal bulk"));
	assert_false(dns1123_label("ecal/bulk"));
	assert_false(dns1123_label("ecal@bulk"));
	assert_false(dns1123_label("\xc3\xa9" "cal"));
	assert_false(dns1123_label("ecal\n"));

	/* 63 is the most */
	memset(s, 'a', 63);
	s[63] = '\0';
	assert_true(dns1123_label(s));
	s[62] = '-';
	assert_false(dns1123_label(s));
	memset(s, 'a', 64);
	s[64] = '\0';
	assert_false(dns1123_label(s));
	memset(s, 'b', 79);
	s[79] = '\0';
	assert_false(dns1123_label(s));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_duration_parse),
		cmocka_unit_test(test_duration_rejects),
		cmocka_unit_test(test_duration_fmt),
		cmocka_unit_test(test_duration_roundtrip),
		cmocka_unit_test(test_dns1123_label),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
