/*
 * states.c -- the driver's table: each state's time limit, entry and
 * settled step (struct state, runpriv.h), by its fsm.h name. The engine
 * (run.c) reaches the states only through it.
 */
#include "runpriv.h"

const struct state *const driver_states[ST_END] = {
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
};
