/*
 * test_drainset.c -- the drain's bookkeeping for one worker (drainset.h),
 * as pure functions: seeding the in-flight set from a refresh, applying
 * task events (one that overtakes the seeding refresh included), deciding
 * "drained"; and a drain of tens of thousands of tasks, which would take
 * minutes if an event cost a scan of the set (nothing here is timed, the
 * results are checked).
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "drainset.h"
#include "util.h"
#include "worker.h"

#define MANY	40000

static const char *
id(size_t i)
{
	static char	buf[64];

	snprintf(buf, sizeof buf, "%08zx-1111-4222-8333-444455556666", i);
	return buf;
}

/* n tasks with ids from, from+1, ... (the bookkeeping needs only ids). */
static void
fill(struct task_list *tl, size_t n, size_t from)
{
	size_t	i;

	tl->v = xcalloc(n, sizeof *tl->v);
	tl->n = n;
	for (i = 0; i < n; i++)
		tl->v[i].id = xstrdup(id(from + i));
}

/* A snapshot: nact running from 0, nres prefetched after them, nsch ETA. */
static void
snap(struct worker_snap *s, size_t nact, size_t nres, size_t nsch)
{
	memset(s, 0, sizeof *s);
	fill(&s->active, nact, 0);
	fill(&s->reserved, nres, nact);
	fill(&s->scheduled, nsch, nact + nres);
}

static void
test_seed(void **state)
{
	struct drainset		d = { 0 };
	struct worker_snap	s;

	(void)state;
	assert_true(drainset_drained(&d));	/* empty before any seed */
	assert_int_equal(drainset_inflight(&d), 0);
	snap(&s, 2, 3, 4);
	drainset_seed(&d, &s);
	/* running and prefetched are waited for; tasks with an ETA are not */
	assert_int_equal(drainset_inflight(&d), 5);
	assert_false(drainset_drained(&d));
	assert_true(drainset_waits(&d, id(0)));
	assert_true(drainset_waits(&d, id(4)));
	assert_false(drainset_waits(&d, id(5)));	/* scheduled */
	/* a second refresh replaces the set, it does not add to it */
	worker_snap_free(&s);
	snap(&s, 1, 0, 0);
	drainset_seed(&d, &s);
	assert_int_equal(drainset_inflight(&d), 1);
	assert_false(drainset_waits(&d, id(1)));
	/* a refresh with nothing: drained */
	worker_snap_free(&s);
	memset(&s, 0, sizeof s);
	drainset_seed(&d, &s);
	assert_true(drainset_drained(&d));
	drainset_free(&d);
	drainset_free(&d);	/* twice is harmless */
}

static void
test_events(void **state)
{
	struct drainset		d = { 0 };
	struct worker_snap	s;
	const enum cev_type	final[] = { CEV_TASK_SUCCEEDED, CEV_TASK_FAILED,
				    CEV_TASK_REJECTED, CEV_TASK_REVOKED,
				    CEV_TASK_RETRIED };
	size_t			i;

	(void)state;
	snap(&s, 1, 4, 0);
	drainset_seed(&d, &s);
	for (i = 0; i < 5; i++) {
		assert_int_equal(drainset_event(&d, final[i], id(i)),
		    DS_FINISHED);
		assert_int_equal(drainset_inflight(&d), 4 - i);
	}
	assert_true(drainset_drained(&d));
	/* a task received after the cancel is waited for, once */
	assert_int_equal(drainset_event(&d, CEV_TASK_RECEIVED, id(100)),
	    DS_WAITING);
	assert_int_equal(drainset_event(&d, CEV_TASK_STARTED, id(100)),
	    DS_WAITING);
	assert_int_equal(drainset_inflight(&d), 1);
	assert_false(drainset_drained(&d));
	assert_int_equal(drainset_event(&d, CEV_TASK_SUCCEEDED, id(100)),
	    DS_FINISHED);
	assert_true(drainset_drained(&d));
	/* a final event for a task never seen changes nothing waited for */
	assert_int_equal(drainset_event(&d, CEV_TASK_FAILED, id(200)),
	    DS_FINISHED);
	assert_true(drainset_drained(&d));
	/* not task events, or no task id */
	assert_int_equal(drainset_event(&d, CEV_WORKER_HEARTBEAT, id(300)),
	    DS_NONE);
	assert_int_equal(drainset_event(&d, CEV_WORKER_OFFLINE, NULL), DS_NONE);
	assert_int_equal(drainset_event(&d, CEV_OTHER, id(300)), DS_NONE);
	assert_int_equal(drainset_event(&d, CEV_TASK_RECEIVED, NULL), DS_NONE);
	assert_true(drainset_drained(&d));
	worker_snap_free(&s);
	drainset_free(&d);
}

/*
 * Events overtake the refresh: a task that finished before the refresh
 * that still lists it was seeded is never waited for, and a late
 * task-received or -started after its final event does not bring it back.
 */
static void
test_overtaking(void **state)
{
	struct drainset		d = { 0 };
	struct worker_snap	s;

	(void)state;
	/* during CANCEL, before any seed */
	assert_int_equal(drainset_event(&d, CEV_TASK_SUCCEEDED, id(0)),
	    DS_FINISHED);
	assert_int_equal(drainset_event(&d, CEV_TASK_REVOKED, id(2)),
	    DS_FINISHED);
	snap(&s, 2, 2, 0);		/* still lists 0 and 2 */
	drainset_seed(&d, &s);
	assert_int_equal(drainset_inflight(&d), 2);
	assert_false(drainset_waits(&d, id(0)));
	assert_false(drainset_waits(&d, id(2)));
	assert_true(drainset_waits(&d, id(1)));
	assert_true(drainset_waits(&d, id(3)));
	/* out of order: started after succeeded */
	assert_int_equal(drainset_event(&d, CEV_TASK_STARTED, id(0)), DS_NONE);
	assert_int_equal(drainset_event(&d, CEV_TASK_RECEIVED, id(2)), DS_NONE);
	assert_int_equal(drainset_inflight(&d), 2);
	assert_int_equal(drainset_event(&d, CEV_TASK_SUCCEEDED, id(1)),
	    DS_FINISHED);
	assert_int_equal(drainset_event(&d, CEV_TASK_SUCCEEDED, id(3)),
	    DS_FINISHED);
	assert_true(drainset_drained(&d));
	/* a confirming refresh begun before those events: still drained */
	drainset_seed(&d, &s);
	assert_true(drainset_drained(&d));
	worker_snap_free(&s);
	drainset_free(&d);
}

/* MANY tasks: seeded, a quarter overtaking the seed, finished in reverse. */
static void
test_many(void **state)
{
	struct drainset		d = { 0 };
	struct worker_snap	s;
	size_t			i, left;

	(void)state;
	for (i = 0; i < MANY; i += 4)
		assert_int_equal(drainset_event(&d, CEV_TASK_SUCCEEDED, id(i)),
		    DS_FINISHED);
	snap(&s, 16, MANY - 16, 0);
	drainset_seed(&d, &s);
	left = MANY - MANY / 4;
	assert_int_equal(drainset_inflight(&d), left);
	/* every task is received and started again: nothing is added */
	for (i = 0; i < MANY; i++) {
		drainset_event(&d, CEV_TASK_RECEIVED, id(i));
		drainset_event(&d, CEV_TASK_STARTED, id(i));
	}
	assert_int_equal(drainset_inflight(&d), left);
	for (i = MANY; i-- > 0;) {
		assert_int_equal(drainset_waits(&d, id(i)), i % 4 != 0);
		assert_int_equal(drainset_event(&d, CEV_TASK_SUCCEEDED, id(i)),
		    DS_FINISHED);
		if (i % 4 != 0)
			left--;
		assert_int_equal(drainset_inflight(&d), left);
		assert_int_equal(drainset_drained(&d), left == 0);
	}
	assert_true(drainset_drained(&d));
	drainset_seed(&d, &s);		/* a stale refresh after all that */
	assert_true(drainset_drained(&d));
	worker_snap_free(&s);
	drainset_free(&d);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_seed),
		cmocka_unit_test(test_events),
		cmocka_unit_test(test_overtaking),
		cmocka_unit_test(test_many),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
