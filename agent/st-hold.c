/*
 * st-hold.c -- RESOLVE's look at the Deployment's hold (hold.h): a held
 * deployment is skipped when a selector chose it, refused when named
 * (unless --ignore-hold). Only drains look: --undrain, --recover and
 * --status give workers back or change nothing.
 */
#include <stdlib.h>

#include "hold.h"
#include "runpriv.h"

int
run_held(struct run *r, struct json_t *deployment)
{
	struct hold	 h;
	enum hold_state	 st;
	char		*d;
	int		 stop = 0;

	if (r->mode != RUN_DRAIN ||
	    (st = hold_of(deployment, now_wall(), &h)) == HOLD_NONE)
		return 0;
	d = hold_describe(&h);
	if (st == HOLD_EXPIRED)
		log_info("%s: its hold has expired, so it holds no more (%s)",
		    r->name, d);
	else if (r->from_selector) {
		run_fail(r, "%s", d);
		run_next(r, IN_SKIP);
		stop = 1;
	} else if (r->ctx->o->ignore_hold)
		log_warn("%s: %s; draining it anyway (--ignore-hold)", r->name,
		    d);
	else {
		run_abort(r, "deployment %s is %s; release it with --release "
		    "%s, or drain it anyway with --ignore-hold", r->name, d,
		    r->name);
		stop = 1;
	}
	free(d);
	hold_free(&h);
	return stop;
}
