/*
 * watch.c -- watch or poll after a watch ended (include/watch.h). Pure.
 */
#include <stddef.h>

#include "watch.h"

struct watch_next
watch_decide(const struct watch_facts *f)
{
	struct watch_next	 n;
	unsigned		 i;

	n.failures = f->progress ? 0 : f->failures + 1;
	n.wait = 0;
	if (f->end == WATCH_END_REFUSED) {
		n.act = WATCH_POLL;
		n.wait = -1;
		return n;
	}
	if (n.failures >= WATCH_MAX_FAILURES) {
		n.act = WATCH_POLL;
		n.wait = WATCH_RETRY_SECS;
		n.failures = 0;
		return n;
	}
	n.act = f->end == WATCH_END_EXPIRED || !f->have_rv ? WATCH_RELIST :
	    WATCH_RESUME;
	if (n.failures > 0 && !(f->end == WATCH_END_EXPIRED &&
	    n.failures == 1))
		for (n.wait = 0.5, i = 1; i < n.failures; i++)
			n.wait *= 2;
	return n;
}

const char *
watch_do_name(enum watch_do d)
{
	switch (d) {
	case WATCH_RESUME:
		return "resume";
	case WATCH_RELIST:
		return "relist";
	case WATCH_POLL:
		return "poll";
	}
	return "?";
}
