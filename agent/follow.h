/*
 * follow.h -- the driver's reads of the broker that are not a state's own
 * step: the Celery event subscription and the backlog (follow.c). Private
 * to the driver, like runpriv.h.
 */
#ifndef FOLLOW_H
#define FOLLOW_H

struct ctx;
struct run;

/*
 * Subscribe to the Celery events of every worker (one pattern for all
 * runs; not with --no-events or --dry-run). Each event goes to every run's
 * state (run_event()); losing the subscription is told to every run's
 * state too (run_events_lost(): DRAIN turns to polling).
 */
void	events_start(struct ctx *);

/*
 * The backlog of the run's queues: r->backlog (LLEN of their lists, summed)
 * and r->unacked (their unacked entries), -1 when unknown; then (may be
 * NULL) runs once both are in, if the run is still in the same state. One
 * round trip; the read is not one the state waits for (op_new_bg()).
 */
void	backlog_read(struct run *, void (*then)(struct run *));

#endif
