/*
 * st-lock.c -- LOCK: the run takes its deployment's lease (lease.h), and,
 * with --pause-triggers, pauses the image triggers under it. A refusal
 * RESOLVE kept for it (r->refusal) is said once the lease is held: if
 * another run holds it, that run is named instead (exit 4).
 */
#include "imgcheck.h"
#include "lease.h"
#include "runpriv.h"

static void
lock_done(struct run *r)
{
	run_next(r, IN_OK);
}

static void
locked(struct run *r, int ok)
{
	if (ok == 1 && r->refusal != NULL)
		run_abort(r, "%s", r->refusal);
	else if (ok == 1)	/* --pause-triggers, the lease held */
		imgcheck_pause(r, lock_done);
	else
		run_next(r, ok == 0 ? IN_LOCKED : IN_FAIL);
}

static void
state_lock(struct run *r)
{
	lease_take(r, locked);
}

const struct state st_lock = {
	.name = "lock",
	.deadline = deadline_request,
	.enter = state_lock,
	.journal_ahead = 1,
};
