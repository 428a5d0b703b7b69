/*
 * recheck.h -- a worker's refresh again after a consumer change (cancel,
 * add-consumer) the last refresh did not show yet (agent/recheck.c; used by
 * CANCEL and RESTORE).
 *
 * A refresh right after a cancel (or an add) may not show it yet: Flower
 * 2.1 answers it from an inspection already in flight, begun before. Look
 * again this many times, this far apart (longer than one inspection:
 * Flower's inspect timeout, 1 s by default), before concluding that the
 * change failed.
 */
#ifndef RECHECK_H
#define RECHECK_H

#include <stddef.h>

#include "flower.h"

#define RECHECKS	4
#define RECHECK_GAP	1.2	/* seconds */

struct run;

/*
 * Refresh worker wi again in RECHECK_GAP seconds if fewer than RECHECKS
 * were made (its wk.rechecks, counted here): 1, and cb(...) later, an
 * operation of the state (dropped if the state is left meanwhile); else 0.
 */
int	refresh_again(struct run *, size_t wi, flower_snap_cb *cb);

#endif
