/*
 * states.c -- the driver's table (struct driver, runpriv.h): each state by
 * its fsm.h name, and what the layers above the engine do at the edges of
 * a run. The engine (run.c) reaches the states, the lease, the journal and
 * the event follower only through it.
 */
#include "follow.h"
#include "handover.h"
#include "journal.h"
#include "lease.h"
#include "runpriv.h"

/* Every entry but a journal_ahead state's is recorded, under the lease. */
static void
entered(struct run *r)
{
	if (!driver.states[r->fsm.state]->journal_ahead && r->lease_held)
		journal_write(r, NULL);
}

/* The cause of a GIVEBACK first; then the lease, the history, the journal. */
static void
ended(struct run *r)
{
	handover_shed_end(r);
	lease_release(r);
}

const struct driver driver = {
	.states = {
		[ST_RESOLVE] = &st_resolve,
		[ST_LOCK] = &st_lock,
		[ST_CANCEL] = &st_cancel,
		[ST_DRAIN] = &st_drain,
		[ST_RESTART] = &st_restart,
		[ST_ROLLOUT] = &st_rollout,
		[ST_VERIFY] = &st_verify,
		[ST_RESTORE] = &st_restore,
		[ST_DETACH] = &st_detach,
		[ST_RETIRE] = &st_retire,
		[ST_HISTORY] = &st_history,
		[ST_GIVEBACK] = &st_giveback,
		[ST_INFLIGHT] = &st_inflight,
	},
	.start = events_start,
	.entered = entered,
	.ended = ended,
};
