/*
 * recheck.c -- a worker's refresh again, a moment later, after a consumer
 * change the last refresh did not show yet; see recheck.h.
 */
#include <ev.h>
#include <stdlib.h>

#include "recheck.h"
#include "runpriv.h"

struct again {
	struct op	*op;
	flower_snap_cb	*cb;
};

static void
again_cb(int revents, void *arg)
{
	struct again	*a = arg;
	struct op	*o = a->op;
	flower_snap_cb	*cb = a->cb;

	(void)revents;
	free(a);
	if (o->gen != o->r->gen) {
		op_done(o, NULL, NULL);
		return;
	}
	ctl_refresh(&o->r->ctx->ctl, o->r->w[o->wi].name, o->r->state_deadline,
	    cb, o);
}

int
refresh_again(struct run *r, size_t wi, flower_snap_cb *cb)
{
	struct again	*a;

	if (r->w[wi].rechecks >= RECHECKS)
		return 0;
	r->w[wi].rechecks++;
	a = xcalloc(1, sizeof *a);
	a->op = op_new(r, wi, 0);
	a->cb = cb;
	ev_once(r->ctx->loop, -1, 0, RECHECK_GAP, again_cb, a);
	return 1;
}
