/*
 * test_window.c -- window_parse(), window_inside_at(), window_inside() and
 * window_next_open() (include/window.h): what --window accepts, and
 * whether an instant is inside, across midnight and across the nights the
 * clocks change (Europe/Zurich).
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "window.h"

#define ALL	0x7fu
#define WEEK	0x3eu	/* Mon-Fri */

static void
test_parse(void **state)
{
	static const struct {
		const char	*s;
		int		 ok;
		unsigned	 days;
		int		 start, end;
		const char	*err;	/* in the error */
	} t[] = {
		{ "01:00-05:00", 1, ALL, 60, 300, NULL },
		{ "  22:30-02:15 ", 1, ALL, 1350, 135, NULL },
		{ "00:00-24:00", 1, ALL, 0, 1440, NULL },
		{ "Mon-Fri 01:00-05:00", 1, WEEK, 60, 300, NULL },
		{ "sat,SUN 02:00-06:00", 1, 0x41, 120, 360, NULL },
		{ "Monday,Wednesday-Thursday 01:00-02:00", 1, 0x1a, 60, 120,
		  NULL },
		{ "Fri-Mon 23:00-01:00", 1, 0x63, 1380, 60, NULL },
		{ "Sun 00:00-00:01", 1, 0x01, 0, 1, NULL },
		{ "", 1, 0, 0, 0, NULL },
		{ "   ", 1, 0, 0, 0, NULL },
		{ "01:00-01:00", 0, 0, 0, 0, "empty" },
		{ "1:00-05:00", 0, 0, 0, 0, "HH:MM" },
		{ "01:00-5:00", 0, 0, 0, 0, "HH:MM" },
		{ "01:60-05:00", 0, 0, 0, 0, "HH:MM" },
		{ "24:00-05:00", 0, 0, 0, 0, "HH:MM" },
		{ "01:00-24:01", 0, 0, 0, 0, "HH:MM" },
		{ "25:00-05:00", 0, 0, 0, 0, "HH:MM" },
		{ "01:00", 0, 0, 0, 0, "HH:MM" },
		{ "01:00-05:00x", 0, 0, 0, 0, "HH:MM" },
		{ "01h-05h", 0, 0, 0, 0, "HH:MM" },
		{ "Mon-Fry 01:00-05:00", 0, 0, 0, 0, "unknown days" },
		{ "Mo 01:00-05:00", 0, 0, 0, 0, "unknown days" },
		{ "Sat, 01:00-05:00", 0, 0, 0, 0, "unknown days" },
		{ "Sat,,Sun 01:00-05:00", 0, 0, 0, 0, "unknown days" },
		{ ",Sun 01:00-05:00", 0, 0, 0, 0, "unknown days" },
		{ "Mon-Fri 01:00-05:00 extra", 0, 0, 0, 0, "HH:MM" },
		{ "Mon-Tue-Wed 01:00-05:00", 0, 0, 0, 0, "unknown days" },
		{ "Monday,Tuesday,Wednesday,Thursday,Friday,Saturday,Sunday "
		  "01:00-05:00", 0, 0, 0, 0, "too long" },
	};
	struct window	w;
	char		err[256];
	size_t		i;
	int		rc;

	(void)state;
	for (i = 0; i < sizeof t / sizeof t[0]; i++) {
		err[0] = '\0';
		memset(&w, 0x5a, sizeof w);
		rc = window_parse(t[i].s, &w, err, sizeof err);
		if (rc != (t[i].ok ? 0 : -1))
			fail_msg("\"%s\": rc %d (%s)", t[i].s, rc, err);
		if (!t[i].ok) {
			if (strstr(err, t[i].err) == NULL ||
			    strstr(err, "expected [DAYS ]HH:MM-HH:MM") == NULL)
				fail_msg("\"%s\": error \"%s\"", t[i].s, err);
			continue;
		}
		if (t[i].days == 0) {
			assert_int_equal(w.set, 0);
			continue;
		}
		if (w.set != 1 || w.days != t[i].days ||
		    w.start != t[i].start || w.end != t[i].end)
			fail_msg("\"%s\": set %d days %#x %d-%d", t[i].s, w.set,
			    w.days, w.start, w.end);
	}
}

static void
test_inside_at(void **state)
{
	static const struct {
		const char	*w;
		int		 wday, minute, inside;
	} t[] = {
		{ "", 3, 720, 1 },			/* no window */
		{ "01:00-05:00", 1, 59, 0 },
		{ "01:00-05:00", 1, 60, 1 },		/* start: inside */
		{ "01:00-05:00", 1, 299, 1 },
		{ "01:00-05:00", 1, 300, 0 },		/* end: outside */
		{ "22:00-02:00", 3, 1319, 0 },
		{ "22:00-02:00", 3, 1320, 1 },
		{ "22:00-02:00", 3, 1439, 1 },
		{ "22:00-02:00", 4, 0, 1 },
		{ "22:00-02:00", 4, 119, 1 },
		{ "22:00-02:00", 4, 120, 0 },
		{ "00:00-24:00", 0, 0, 1 },
		{ "00:00-24:00", 6, 1439, 1 },
		{ "Mon-Fri 01:00-05:00", 0, 120, 0 },	/* Sunday */
		{ "Mon-Fri 01:00-05:00", 1, 120, 1 },
		{ "Mon-Fri 01:00-05:00", 5, 120, 1 },
		{ "Mon-Fri 01:00-05:00", 6, 120, 0 },
		/* across midnight: the days name the night's first day */
		{ "Fri 22:00-02:00", 5, 1380, 1 },
		{ "Fri 22:00-02:00", 6, 60, 1 },	/* Saturday morning */
		{ "Fri 22:00-02:00", 5, 60, 0 },	/* Friday morning */
		{ "Fri 22:00-02:00", 6, 1380, 0 },
		{ "Sat,Sun 23:00-01:00", 1, 30, 1 },	/* Sunday's night */
		{ "Sat,Sun 23:00-01:00", 6, 30, 0 },	/* Friday's night */
		{ "Sun 23:00-01:00", 1, 30, 1 },	/* wraps Sat->Sun too */
		{ "Sat 23:00-01:00", 0, 30, 1 },
	};
	struct window	w;
	char		err[256];
	size_t		i;

	(void)state;
	for (i = 0; i < sizeof t / sizeof t[0]; i++) {
		assert_int_equal(window_parse(t[i].w, &w, err, sizeof err), 0);
		if (window_inside_at(&w, t[i].wday, t[i].minute) !=
		    t[i].inside)
			fail_msg("\"%s\" day %d minute %d: want %d", t[i].w,
			    t[i].wday, t[i].minute, t[i].inside);
	}
}

/* An instant, from UTC "2026-03-29 00:59:59". */
static time_t
utc(const char *s)
{
	struct tm	tm = { 0 };

	if (strptime(s, "%Y-%m-%d %H:%M:%S", &tm) == NULL)
		fail_msg("bad time %s", s);
	return timegm(&tm);
}

/*
 * Europe/Zurich: 2026-03-29 02:00 CET -> 03:00 CEST (01:00 UTC);
 * 2026-10-25 03:00 CEST -> 02:00 CET (01:00 UTC). A Sunday, both.
 */
static void
test_inside_zurich(void **state)
{
	static const struct {
		const char	*w, *t;	/* t in UTC */
		int		 inside;
		const char	*open;	/* window_next_open(), UTC */
	} t[] = {
		/* winter: UTC+1 */
		{ "01:00-05:00", "2026-12-07 23:59:59", 0, "2026-12-08 00:00:00" },
		{ "01:00-05:00", "2026-12-08 00:00:00", 1, "2026-12-08 00:00:00" },
		{ "01:00-05:00", "2026-12-08 03:59:59", 1, "2026-12-08 03:59:59" },
		{ "01:00-05:00", "2026-12-08 04:00:00", 0, "2026-12-09 00:00:00" },
		/* summer: UTC+2 */
		{ "01:00-05:00", "2026-07-01 23:00:00", 1, "2026-07-01 23:00:00" },
		{ "01:00-05:00", "2026-07-01 03:00:00", 0, "2026-07-01 23:00:00" },
		/* the night the clocks go forward: 02:00-03:00 does not exist */
		{ "01:00-05:00", "2026-03-29 00:59:59", 1, "2026-03-29 00:59:59" },
		{ "01:00-05:00", "2026-03-29 01:00:00", 1, "2026-03-29 01:00:00" },
		{ "01:00-05:00", "2026-03-29 02:59:59", 1, "2026-03-29 02:59:59" },
		{ "01:00-05:00", "2026-03-29 03:00:00", 0, "2026-03-29 23:00:00" },
		{ "02:00-02:30", "2026-03-29 00:30:00", 0, "2026-03-30 00:00:00" },
		{ "02:00-04:00", "2026-03-29 00:30:00", 0, "2026-03-29 01:00:00" },
		{ "Sun 02:00-02:30", "2026-03-29 00:30:00", 0,
		  "2026-04-05 00:00:00" },
		/* the night they go back: 02:00-03:00 twice */
		{ "02:00-02:30", "2026-10-25 00:10:00", 1, "2026-10-25 00:10:00" },
		{ "02:00-02:30", "2026-10-25 00:40:00", 0, "2026-10-25 01:00:00" },
		{ "02:00-02:30", "2026-10-25 01:10:00", 1, "2026-10-25 01:10:00" },
		{ "02:00-02:30", "2026-10-25 01:30:00", 0, "2026-10-26 01:00:00" },
		{ "01:00-05:00", "2026-10-25 03:59:59", 1, "2026-10-25 03:59:59" },
		{ "01:00-05:00", "2026-10-25 04:00:00", 0, "2026-10-26 00:00:00" },
		/* across midnight, days: Friday 2026-12-11 */
		{ "Fri 22:00-02:00", "2026-12-12 00:30:00", 1,
		  "2026-12-12 00:30:00" },
		{ "Fri 22:00-02:00", "2026-12-12 01:00:00", 0,
		  "2026-12-18 21:00:00" },
		{ "Mon-Fri 01:00-05:00", "2026-12-12 00:30:00", 0,
		  "2026-12-14 00:00:00" },
		/* an instant between minutes opens at the next minute */
		{ "01:00-05:00", "2026-12-07 23:59:30", 0, "2026-12-08 00:00:00" },
	};
	struct window	w;
	char		err[256], buf[256];
	size_t		i;
	time_t		open;
	const char	*old = getenv("TZ");
	char		*saved = old ? strdup(old) : NULL;

	(void)state;
	setenv("TZ", "Europe/Zurich", 1);
	tzset();
	for (i = 0; i < sizeof t / sizeof t[0]; i++) {
		assert_int_equal(window_parse(t[i].w, &w, err, sizeof err), 0);
		if (window_inside(&w, utc(t[i].t)) != t[i].inside)
			fail_msg("\"%s\" at %s UTC: want inside %d", t[i].w,
			    t[i].t, t[i].inside);
		assert_int_equal(window_next_open(&w, utc(t[i].t), &open), 0);
		if (open != utc(t[i].open))
			fail_msg("\"%s\" at %s UTC: opens %ld, want %s UTC",
			    t[i].w, t[i].t, (long)(open - utc(t[i].open)),
			    t[i].open);
	}
	assert_int_equal(window_parse("Mon-Fri 01:00-05:00", &w, err,
	    sizeof err), 0);
	window_describe(&w, utc("2026-12-12 12:00:00"), "Europe/Zurich", buf,
	    sizeof buf);
	assert_string_equal(buf, "outside the window Mon-Fri 01:00-05:00 "
	    "(local time, TZ Europe/Zurich); it opens Mon 2026-12-14 01:00 CET");
	window_describe(&w, utc("2026-12-12 12:00:00"), NULL, buf, sizeof buf);
	assert_non_null(strstr(buf, "(local time); it opens Mon"));
	if (saved != NULL) {
		setenv("TZ", saved, 1);
		free(saved);
	} else
		unsetenv("TZ");
	tzset();
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse),
		cmocka_unit_test(test_inside_at),
		cmocka_unit_test(test_inside_zurich),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
