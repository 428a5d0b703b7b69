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

/*
 * The runs in ROLLOUT follow their Deployments through one watch of the
 * namespace's Deployments (kube_watch(): the current state first, then
 * every change), as kubectl's informers do, instead of polling each one:
 * each object goes to the run of its name (rollout_feed()). When the watch
 * ends, watch.h decides: resume from the last resourceVersion, relist
 * (410 Gone), or poll (it keeps failing; the account may not watch). It
 * stops once no run is in ROLLOUT.
 * rollout_watch(): start it if it is not running (a run in ROLLOUT wants
 * it). rollout_watched(): whether it runs or is due with nothing missed
 * (else the runs poll). rollout_watch_free(): at the end (ctx_free() calls it as
 * c->rwatch_free, which rollout_watch() sets).
 */
void	rollout_watch(struct ctx *);
int	rollout_watched(const struct ctx *);
void	rollout_watch_free(struct ctx *);

#endif
