/*
 * test_util.c -- duration_parse(), duration_fmt() and dns1123_label()
 * (include/util.h): what --timeout, --drain-timeout and deployment names
 * accept and reject; rfc3339_parse() (what --until and holds read).
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <math.h>

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

static void
test_dns1123_subdomain(void **state)
{
	static const struct {
		const char	*s;
		int		 want;
	} t[] = {
		{ "ecal-bulk", 1 },
		{ "csc.bulk", 1 },		/* Kubernetes takes dots */
		{ "a.b.c", 1 },
		{ "0.1", 1 },
		{ "a-1.b-2", 1 },
		{ "", 0 },
		{ ".", 0 },
		{ "csc.", 0 },
		{ ".csc", 0 },
		{ "csc..bulk", 0 },
		{ "csc.-bulk", 0 },		/* a label starts alphanumeric */
		{ "csc-.bulk", 0 },		/* and ends so */
		{ "Csc.bulk", 0 },
		{ "csc.Bulk", 0 },
		{ "csc_bulk", 0 },
		{ "csc/bulk", 0 },
		{ "csc bulk", 0 },
		{ "csc.b\xc3\xa9", 0 },
	};
	char	s[300];
	size_t	i;

	(void)state;
	for (i = 0; i < sizeof t / sizeof t[0]; i++)
		if (dns1123_subdomain(t[i].s) != t[i].want)
			fail_msg("dns1123_subdomain(\"%s\") != %d", t[i].s,
			    t[i].want);
	/* 253 bytes at most, 63 a label */
	memset(s, 'a', 253);
	for (i = 63; i < 253; i += 64)
		s[i] = '.';
	s[253] = '\0';
	assert_true(dns1123_subdomain(s));
	s[253] = 'a';
	s[254] = '\0';
	assert_false(dns1123_subdomain(s));
	memset(s, 'a', 64);
	s[64] = '\0';
	assert_false(dns1123_subdomain(s));	/* one label of 64 */
}

static void
test_line_fit(void **state)
{
	static const struct {
		const char	*head, *body, *tail;
		size_t		 cols;
		const char	*want;
	} t[] = {
		/* fits: as is */
		{ "ecal-bulk drain 2 left", "(1 running, 1 prefetched)", "3m05s",
		  80, "ecal-bulk drain 2 left (1 running, 1 prefetched) 3m05s" },
		/* exactly cols - 1 */
		{ "ab", "cd", "ef", 9, "ab cd ef" },
		/* fits in cols - 1 */
		{ "ab", "cdefghij", "kl", 15, "ab cdefghij kl" },
		/* one column short: the body's middle goes */
		{ "ab", "cdefghij", "kl", 14, "ab cd...ij kl" },
		{ "ab", "cdefghij", "kl", 13, "ab cd...j kl" },
		/* the least body: "c...j" */
		{ "ab", "cdefghij", "kl", 12, "ab c...j kl" },
		/* no room for the body: head and tail */
		{ "ab", "cdefghij", "kl", 11, "ab kl" },
		/* then the head's end */
		{ "abcdefgh", "ij", "3m05s", 10, "abc 3m05s" },
		/* only the tail */
		{ "abcdefgh", "ij", "3m05s", 7, "3m05s" },
		{ "abcdefgh", "ij", "3m05s", 4, "3m0" },
		{ "abcdefgh", "ij", "3m05s", 1, "" },
		{ "abcdefgh", "ij", "3m05s", 0, "" },
		/* an empty body */
		{ "ab", "", "kl", 80, "ab kl" },
		{ "abcdefgh", "", "kl", 8, "abcd kl" },
	};
	char	out[64];
	size_t	i, n;

	(void)state;
	for (i = 0; i < sizeof t / sizeof t[0]; i++) {
		memset(out, 'X', sizeof out);
		n = line_fit(out, sizeof out, t[i].head, t[i].body, t[i].tail,
		    t[i].cols);
		if (strcmp(out, t[i].want) != 0 || n != strlen(out))
			fail_msg("line_fit(%s|%s|%s, %zu) = \"%s\" (%zu), want "
			    "\"%s\"", t[i].head, t[i].body, t[i].tail,
			    t[i].cols, out, n, t[i].want);
		if (t[i].cols > 0 && strlen(out) > t[i].cols - 1)
			fail_msg("line %zu: %zu bytes for %zu columns", i,
			    strlen(out), t[i].cols);
	}
	/* a buffer shorter than the line: cut, terminated */
	n = line_fit(out, 6, "abcdefgh", "ij", "kl", 80);
	assert_true(strlen(out) <= 5);
	(void)n;
}

static void
test_journal_stream_is(void **state)
{
	static const struct {
		const char		*value;
		unsigned long long	 dev, ino;
		int			 want;
	} t[] = {
		{ "8:12345", 8, 12345, 1 },
		{ "64769:3042", 64769, 3042, 1 },
		{ "8:12345", 8, 12346, 0 },	/* another file */
		{ "9:12345", 8, 12345, 0 },	/* another device */
		{ NULL, 8, 12345, 0 },		/* not run by systemd */
		{ "", 8, 12345, 0 },
		{ "8", 8, 12345, 0 },
		{ "8:", 8, 12345, 0 },
		{ ":12345", 8, 12345, 0 },
		{ "8:12345x", 8, 12345, 0 },
		{ "8:-12345", 8, 12345, 0 },
		{ "-8:12345", 8, 12345, 0 },
		{ " 8:12345", 8, 12345, 0 },
		{ "99999999999999999999999:1", 8, 1, 0 },	/* overflow */
	};
	size_t	i;

	(void)state;
	for (i = 0; i < sizeof t / sizeof t[0]; i++)
		if (journal_stream_is(t[i].value, t[i].dev, t[i].ino) !=
		    t[i].want)
			fail_msg("journal_stream_is(\"%s\", %llu, %llu) != %d",
			    t[i].value ? t[i].value : "(null)", t[i].dev,
			    t[i].ino, t[i].want);
}

/* "did you mean": the nearest names, within a distance, best first. */
static void
test_closest_names(void **state)
{
	static const char *names[] = { "ecal-bulk", "ecal-priority",
	    "common-redbeat", "csc-bulk", "ecal-bulk-2" };
	static const struct {
		const char	*name;
		size_t		 max;
		const char	*want;	/* joined by "," */
	} cases[] = {
		/* a swap of neighbours is one edit; ecal-bulk-2: three */
		{ "ecal-bluk", 3, "ecal-bulk,ecal-bulk-2" },
		{ "ecal-bluk", 1, "ecal-bulk" },
		{ "ecal_bulk", 1, "ecal-bulk" },		/* max */
		{ "ecal-bulk", 3, "ecal-bulk-2,csc-bulk" },	/* itself: not offered */
		{ "bulk", 3, "csc-bulk,ecal-bulk,ecal-bulk-2" }, /* contained */
		{ "ecal-priority-x", 3, "ecal-priority" },
		{ "zzzzzzzz", 3, "" },			/* nothing near */
		{ "common-redbat", 3, "common-redbeat" },
		{ "csc-bulk", 0, "" },			/* max 0 */
		{ "", 3, "" },				/* empty name */
	};
	struct strv	cands = { 0 }, out;
	size_t		i, n;
	char		*got;

	(void)state;
	for (i = 0; i < sizeof names / sizeof names[0]; i++)
		strv_add(&cands, names[i]);
	for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		memset(&out, 0, sizeof out);
		n = closest_names(cases[i].name, &cands, cases[i].max, &out);
		got = strv_join(&out, ",");
		if (strcmp(got, cases[i].want) != 0 || n != out.n)
			fail_msg("%s: got \"%s\", want \"%s\"", cases[i].name,
			    got, cases[i].want);
		free(got);
		strv_free(&out);
	}
	memset(&out, 0, sizeof out);
	strv_free(&cands);
	assert_int_equal(closest_names("x", &cands, 3, &out), 0);
}

/* seconds_ms(): to the millisecond; nothing negative or not finite. */
static void
test_seconds_ms(void **state)
{
	static const struct {
		double	in, want;
	} t[] = {
		{ 0, 0 }, { 1.23456, 1.235 }, { 1.2344, 1.234 }, { 59.9996, 60 },
		{ 0.0004, 0 }, { 0.0005, 0.001 }, { -3, 0 }, { 86400.1234, 86400.123 },
	};
	size_t	i;

	(void)state;
	for (i = 0; i < sizeof t / sizeof t[0]; i++)
		if (fabs(seconds_ms(t[i].in) - t[i].want) > 1e-9)
			fail_msg("seconds_ms(%g) = %.6f, want %g", t[i].in,
			    seconds_ms(t[i].in), t[i].want);
	assert_true(seconds_ms(NAN) == 0 && seconds_ms(INFINITY) == 0);
}

#define RFC_T0	1794995200.0	/* 2026-11-18T09:46:40Z */

static void
test_rfc3339_parse(void **state)
{
	double	t;

	(void)state;
	assert_int_equal(rfc3339_parse("2026-11-18T09:46:40Z", &t), 0);
	assert_true(t == RFC_T0);
	assert_int_equal(rfc3339_parse("2026-11-18t10:46:40.5+01:00", &t), 0);
	assert_true(t == RFC_T0 + 0.5);
	assert_int_equal(rfc3339_parse("2026-11-18T04:16:40-05:30", &t), 0);
	assert_true(t == RFC_T0);
	assert_int_equal(rfc3339_parse("2026-11-18T09:46:40z", &t), 0);
	assert_true(t == RFC_T0);
	assert_int_equal(rfc3339_parse("2026-11-18 09:46:40Z", &t), -1);
	assert_int_equal(rfc3339_parse("2026-11-18T09:46:40", &t), -1);
	assert_int_equal(rfc3339_parse("2026-11-18T09:46Z", &t), -1);
	assert_int_equal(rfc3339_parse("2026-13-18T09:46:40Z", &t), -1);
	assert_int_equal(rfc3339_parse("2026-11-18T09:46:40.Z", &t), -1);
	assert_int_equal(rfc3339_parse("2026-11-18T09:46:40+0100", &t), -1);
	assert_int_equal(rfc3339_parse("2026-11-18T09:46:40Zjunk", &t), -1);
	assert_int_equal(rfc3339_parse("", &t), -1);
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
		cmocka_unit_test(test_journal_stream_is),
		cmocka_unit_test(test_line_fit),
		cmocka_unit_test(test_dns1123_subdomain),
		cmocka_unit_test(test_closest_names),
		cmocka_unit_test(test_seconds_ms),
		cmocka_unit_test(test_rfc3339_parse),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
