/*
 * kwatch.c -- watch or poll after a watch ended (include/kwatch.h). Pure.
 */
#include <stddef.h>
#include <string.h>

#include "kwatch.h"

struct kwatch_next
kwatch_decide(const struct kwatch_facts *f)
{
	struct kwatch_next	 n;
	unsigned		 i;
	int			 progress = f->progress || (f->lasted &&
				    f->end == KWATCH_END_CLOSED);

	n.failures = progress ? 0 : f->failures + 1;
	n.wait = 0;
	if (f->end == KWATCH_END_REFUSED) {
		n.act = KWATCH_POLL;
		n.wait = -1;
		return n;
	}
	if (n.failures >= KWATCH_MAX_FAILURES) {
		n.act = KWATCH_POLL;
		n.wait = KWATCH_RETRY_SECS;
		n.failures = 0;
		return n;
	}
	n.act = f->end == KWATCH_END_EXPIRED || !f->have_rv ? KWATCH_RELIST :
	    KWATCH_RESUME;
	if (n.failures > 0 && !(f->end == KWATCH_END_EXPIRED &&
	    n.failures == 1))
		for (n.wait = 0.5, i = 1; i < n.failures; i++)
			n.wait *= 2;
	return n;
}

const char *
kwatch_do_name(enum kwatch_do d)
{
	switch (d) {
	case KWATCH_RESUME:
		return "resume";
	case KWATCH_RELIST:
		return "relist";
	case KWATCH_POLL:
		return "poll";
	}
	return "?";
}

enum kwatch_use
kwatch_object(const struct kwatch_obj *o)
{
	if (o->deleted)
		return KWATCH_USE_REREAD;
	if (o->uid != NULL && o->want_uid != NULL &&
	    strcmp(o->uid, o->want_uid) != 0)
		return KWATCH_USE_REREAD;
	if (o->generation < o->want_gen)
		return KWATCH_USE_IGNORE;
	return KWATCH_USE_DECIDE;
}

enum kwatch_end
kwatch_error(long code, const char *cause)
{
	if (code == 410 || (code == 504 && cause != NULL &&
	    strcmp(cause, "ResourceVersionTooLarge") == 0))
		return KWATCH_END_EXPIRED;
	return KWATCH_END_BROKEN;
}
