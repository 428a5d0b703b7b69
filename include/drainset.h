/*
 * drainset.h -- the drain's bookkeeping for one worker, as pure functions:
 * which of its tasks the drain still waits for. Pure: no I/O, no clock.
 *
 * After the cancel, one refresh seeds the in-flight set (its running and
 * prefetched tasks); Celery's task events then remove the tasks that
 * finish and add the ones the worker still receives. An event may overtake
 * the refresh that still lists its task: a task whose final event came is
 * remembered as finished and never waited for again, whatever a later seed
 * or a late task-received says. An empty in-flight set means "drained as
 * far as the events tell", which the driver confirms with one refresh
 * (worker_drained(), worker.h).
 *
 * Both sets are hash sets (jansson objects keyed by task id): seeding is
 * O(n), an event O(1), so a drain of many thousands of tasks stays linear.
 */
#ifndef DRAINSET_H
#define DRAINSET_H

#include <stddef.h>

#include "events.h"
#include "worker.h"

struct json_t;

struct drainset {
	struct json_t	*inflight;	/* {id: true}: waited for; NULL empty */
	struct json_t	*finished;	/* {id: true}: a final event came */
};

/* What a task event did to the set. */
enum drainset_change {
	DS_NONE,	/* not a task event, or nothing changed */
	DS_WAITING,	/* received or started, not finished: waited for */
	DS_FINISHED,	/* a final event: no longer waited for */
};

/*
 * The in-flight set from a refresh: the snapshot's active and reserved
 * tasks, less those already finished. Tasks with an ETA (scheduled) are
 * not waited for: the worker's warm shutdown puts them back on the queue.
 */
void	drainset_seed(struct drainset *, const struct worker_snap *);

/* Apply one event of the worker (type and task id, cev in events.h). */
enum drainset_change drainset_event(struct drainset *, enum cev_type,
	    const char *uuid);

/* Tasks waited for; 0: drained as far as the events tell. */
size_t	drainset_inflight(const struct drainset *);
int	drainset_drained(const struct drainset *);
/* 1 if the drain waits for that task. */
int	drainset_waits(const struct drainset *, const char *uuid);

void	drainset_free(struct drainset *);

#endif
