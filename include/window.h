/*
 * window.h -- the maintenance window (--window, DRAIN_WINDOW), as kured's
 * --start-time/--end-time/--reboot-days: no Deployment is started outside
 * it; a run in flight always finishes.
 *
 * Syntax: [DAYS ]HH:MM-HH:MM, local time (TZ respected). DAYS is a comma
 * list of days or day ranges, English, three letters or whole, any case:
 * "Mon-Fri", "Sat,Sun", "Mon-Wed,Fri", "Fri-Mon". Without DAYS: every day.
 * The end may be 24:00; an end before the start crosses midnight, and the
 * days then name the day the window opens ("Fri 22:00-02:00" includes
 * Saturday 01:00). The window is wall-clock time: on the night the clocks
 * go forward the skipped hour is not inside; on the night they go back the
 * repeated hour is inside twice.
 */
#ifndef WINDOW_H
#define WINDOW_H

#include <stddef.h>
#include <time.h>

struct window {
	int		set;		/* 0: no window, always inside */
	unsigned	days;		/* bit tm_wday (0: Sunday) */
	int		start, end;	/* minutes after local midnight; end
					   may be 1440; start != end */
	char		text[64];	/* as given, for messages */
};

/*
 * Parse s into *w. "" is no window (w->set 0). Returns 0, or -1 and err
 * (what is wrong and the expected form). Pure.
 */
int	window_parse(const char *s, struct window *w, char *err, size_t errlen);
/*
 * Whether local wall-clock time (wday: 0 Sunday; minute: after midnight,
 * 0 to 1439) is inside. Always 1 without a window. Pure.
 */
int	window_inside_at(const struct window *w, int wday, int minute);
/* Whether the instant t is inside, in the zone of TZ (localtime_r). */
int	window_inside(const struct window *w, time_t t);
/*
 * The first instant at or after t that is inside (t itself if inside),
 * searched over the next 8 days to the minute, in TZ's zone: a start that
 * does not exist that night (clocks going forward) opens at the first
 * minute after it that is inside, if any. Returns 0 and *open, or -1
 * (none: cannot happen with a valid window).
 */
int	window_next_open(const struct window *w, time_t t, time_t *open);
/*
 * A message saying that t is outside the window and when it opens:
 * "outside the window Mon-Fri 01:00-05:00 (local time, TZ Europe/Zurich);
 * it opens Tue 2026-12-08 01:00 CET". tz: $TZ, or NULL.
 */
void	window_describe(const struct window *w, time_t t, const char *tz,
	    char *buf, size_t len);

#endif
