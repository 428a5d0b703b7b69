/* window.c -- the maintenance window; see include/window.h. */
#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "window.h"

#define FORM	"expected [DAYS ]HH:MM-HH:MM, e.g. 01:00-05:00, " \
		"Mon-Fri 01:00-05:00 or Sat,Sun 02:00-06:00"

static const char *const day_names[7] = {
	"sunday", "monday", "tuesday", "wednesday", "thursday", "friday",
	"saturday",
};

/* The tm_wday of the n letters at s ("Mon", "monday"); -1: none. */
static int
day_of(const char *s, size_t n)
{
	int	i;

	for (i = 0; i < 7; i++)
		if ((n == 3 || n == strlen(day_names[i])) &&
		    strncasecmp(s, day_names[i], n) == 0)
			return i;
	return -1;
}

/* "HH:MM" at s, exactly 5 characters; 24:00 only if end. -1: bad. */
static int
minutes_of(const char *s, size_t n, int end)
{
	int	h, m;

	if (n != 5 || !isdigit((unsigned char)s[0]) ||
	    !isdigit((unsigned char)s[1]) || s[2] != ':' ||
	    !isdigit((unsigned char)s[3]) || !isdigit((unsigned char)s[4]))
		return -1;
	h = (s[0] - '0') * 10 + (s[1] - '0');
	m = (s[3] - '0') * 10 + (s[4] - '0');
	if (m > 59 || h > 24 || (h == 24 && (m != 0 || !end)))
		return -1;
	return h * 60 + m;
}

static int
bad(char *err, size_t errlen, const char *s, const char *why)
{
	snprintf(err, errlen, "bad window \"%s\": %s; " FORM, s, why);
	return -1;
}

/* DAYS: a comma list of days and day ranges, n characters at s. */
static int
parse_days(const char *s, size_t n, unsigned *days)
{
	const char	*p = s, *e = s + n, *c, *dash;
	int		 a, b;

	*days = 0;
	while (p < e) {
		if ((c = memchr(p, ',', (size_t)(e - p))) == NULL)
			c = e;
		dash = memchr(p, '-', (size_t)(c - p));
		if (dash == NULL) {
			if ((a = day_of(p, (size_t)(c - p))) == -1)
				return -1;
			b = a;
		} else if ((a = day_of(p, (size_t)(dash - p))) == -1 ||
		    (b = day_of(dash + 1, (size_t)(c - dash - 1))) == -1)
			return -1;
		for (;; a = (a + 1) % 7) {
			*days |= 1u << a;
			if (a == b)
				break;
		}
		p = c == e ? e : c + 1;
		if (c != e && p == e)
			return -1;	/* a trailing comma */
	}
	return *days == 0 ? -1 : 0;
}

int
window_parse(const char *s, struct window *w, char *err, size_t errlen)
{
	const char	*p, *sp, *dash, *e;

	memset(w, 0, sizeof *w);
	while (isspace((unsigned char)*s))
		s++;
	e = s + strlen(s);
	while (e > s && isspace((unsigned char)e[-1]))
		e--;
	if (e == s)
		return 0;
	if ((size_t)(e - s) >= sizeof w->text)
		return bad(err, errlen, s, "too long");
	w->days = 0x7f;
	p = s;
	if ((sp = memchr(s, ' ', (size_t)(e - s))) != NULL) {
		if (parse_days(s, (size_t)(sp - s), &w->days) == -1)
			return bad(err, errlen, s, "unknown days (Mon, Tue, "
			    "Wed, Thu, Fri, Sat, Sun; a range Mon-Fri; a list "
			    "Sat,Sun)");
		p = sp;
		while (*p == ' ')
			p++;
	}
	if ((dash = memchr(p, '-', (size_t)(e - p))) == NULL ||
	    (w->start = minutes_of(p, (size_t)(dash - p), 0)) == -1 ||
	    (w->end = minutes_of(dash + 1, (size_t)(e - dash - 1), 1)) == -1)
		return bad(err, errlen, s, "the times must be HH:MM-HH:MM, "
		    "00:00 to 23:59 (the end may be 24:00)");
	if (w->start == w->end)
		return bad(err, errlen, s, "it is empty (for all day, say "
		    "00:00-24:00)");
	memcpy(w->text, s, (size_t)(e - s));
	w->text[e - s] = '\0';
	w->set = 1;
	return 0;
}

int
window_inside_at(const struct window *w, int wday, int minute)
{
	if (!w->set)
		return 1;
	if (w->start < w->end)
		return (w->days >> wday & 1) && minute >= w->start &&
		    minute < w->end;
	/* across midnight: the evening of a day, or the morning after one */
	return ((w->days >> wday & 1) && minute >= w->start) ||
	    ((w->days >> ((wday + 6) % 7) & 1) && minute < w->end);
}

int
window_inside(const struct window *w, time_t t)
{
	struct tm	tm;

	if (!w->set)
		return 1;
	if (localtime_r(&t, &tm) == NULL)
		return 1;	/* no local time: do not hold the run */
	return window_inside_at(w, tm.tm_wday, tm.tm_hour * 60 + tm.tm_min);
}

int
window_next_open(const struct window *w, time_t t, time_t *open)
{
	time_t	u;

	if (window_inside(w, t)) {
		*open = t;
		return 0;
	}
	/* every zone's offset is whole minutes today: step minute by minute */
	for (u = t - (t % 60 + 60) % 60 + 60; u < t + 8 * 86400; u += 60)
		if (window_inside(w, u)) {
			*open = u;
			return 0;
		}
	return -1;
}

void
window_describe(const struct window *w, time_t t, const char *tz,
    char *buf, size_t len)
{
	time_t		open;
	struct tm	tm;
	char		when[64] = "never";

	if (window_next_open(w, t, &open) == 0 &&
	    localtime_r(&open, &tm) != NULL)
		strftime(when, sizeof when, "%a %Y-%m-%d %H:%M %Z", &tm);
	snprintf(buf, len, "outside the window %s (local time%s%s); it opens "
	    "%s", w->text, tz != NULL && *tz ? ", TZ " : "",
	    tz != NULL && *tz ? tz : "", when);
}
