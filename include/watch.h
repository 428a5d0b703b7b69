/*
 * watch.h -- --status --watch: follow the runs in flight in the namespace
 * (a run is in flight while it holds its lease) until none is.
 *
 * Every WATCH_EVERY seconds, on the one loop (an ev_timer, armed again once
 * a refresh has its answers), the lease keys are listed (SCAN), and for
 * each its value (the holder's token) and the journal's state, holder and
 * start are read. On a terminal (stdout) the block of lines is redrawn in
 * place; elsewhere a line is printed for each change only (a run in a new
 * state, or no longer in flight), never the same line again. A run no
 * longer in flight is read once more: ended, left drained, or interrupted
 * (its journal left for --recover: a run killed, its lease expired). It
 * ends when no run is in flight (at once if none is; once one was, when
 * none has been for WATCH_GRACE seconds), exit 0, or 9 if a run it
 * followed was left interrupted (watch_exit()); SIGINT or SIGTERM end it, exit 8 (interrupted;
 * nothing was changed).
 *
 * The decisions are pure functions of plain data, below.
 */
#ifndef WATCH_H
#define WATCH_H

#include <stddef.h>

#include "util.h"

struct ctx;

#define WATCH_EVERY	2.0	/* seconds between refreshes */
/*
 * Seconds without a run in flight before it ends, once one was: the next
 * run of a batch (-l, --max-parallel) takes its lease a moment after the
 * last one released its own (it resolves first).
 */
#define WATCH_GRACE	10.0

/* What one refresh read of a run. */
struct watch_run {
	const char	*target;	/* "NAME", "statefulset/NAME" */
	const char	*token;		/* the lease's value; NULL: not held */
	const char	*state;		/* the journal's; NULL: none yet */
	const char	*holder;	/* the journal's; NULL: the token's */
	double		 started;	/* the journal's (epoch s); 0: the
					   token's time */
};

/*
 * Pure: the holder ("host:pid") and time of a lease token
 * "host:pid:time:random" into holder (holdlen) and *since (0 if the token
 * does not say). A token of another form is its own holder.
 */
void	watch_token(const char *token, char *holder, size_t holdlen,
	    double *since);
/* Pure: how many of the n runs are in flight (their lease held). */
size_t	watch_in_flight(const struct watch_run *, size_t n);
/*
 * Pure: whether the watch ends after a refresh that found flying runs in
 * flight: never while one is; at once if none was ever (seen 0); else once
 * none has been for quiet seconds (since the first refresh without one)
 * of at least WATCH_GRACE.
 */
int	watch_done(size_t flying, int seen, double quiet);
/*
 * Pure: the run's line without the time elapsed (what a change is told
 * by): "TARGET  STATE  what it waits for (holder H)"; state "lock" when the
 * journal is not written yet. Into buf (len).
 */
void	watch_key(const struct watch_run *, char *buf, size_t len);
/* Pure: the same in two parts, as a terminal's line keeps them (line_fit()):
 * head "TARGET  STATE", body "what it waits for (holder H)". */
void	watch_parts(const struct watch_run *, char *head, size_t hlen,
	    char *body, size_t blen);
/* Pure: the seconds the run has been in flight at now (wall clock);
 * 0 when its start is unknown or in the future. */
double	watch_elapsed(const struct watch_run *, double now);
/*
 * Pure: whether a line must be printed without a terminal: 1 if key is
 * not among the keys printed at the last refresh (shown), else 0.
 */
int	watch_changed(const struct strv *shown, const char *key);
/* Pure: whether target, in flight at the last refresh, no longer is
 * (among none of the n runs in flight now). */
int	watch_gone(const char *target, const struct watch_run *, size_t n);

/*
 * Pure: what became of a run (its lease and journal read at a refresh):
 *   WATCH_FLYING       its lease is held: in flight;
 *   WATCH_ENDED        no lease, no journal: it ended (or never wrote one);
 *   WATCH_DRAINED      no lease, a journal marked "drained": --drain-only
 *                      left it drained on purpose (--undrain undoes it);
 *   WATCH_INTERRUPTED  no lease, a journal in any other state: the run
 *                      was killed, lost its lease, or could not restore;
 *                      --recover finishes it (--status shows it).
 */
enum watch_fate {
	WATCH_FLYING,
	WATCH_ENDED,
	WATCH_DRAINED,
	WATCH_INTERRUPTED
};
enum watch_fate watch_fate(const struct watch_run *);
/*
 * Pure: the targets left interrupted (left, updated): those found
 * WATCH_INTERRUPTED among the n runs read now are added; one of left read
 * now in another fate (its lease held again: a run that lost it a while,
 * Redis frozen, and took it back) is taken out; one not read now stays.
 */
void	watch_left(struct strv *left, const struct watch_run *, size_t n);
/* Pure: the exit code once no run is in flight: 0, or 9 (as a run that
 * may have left a worker without consumers) if interrupted runs that the
 * watch followed are left for --recover. */
int	watch_exit(size_t interrupted);

/*
 * The command: follow the runs (all, or the named targets) on the loop;
 * it ends with cmd_done() (cmd.h) and its exit code. watch_free(), once the
 * loop has ended, frees what it kept.
 */
void	watch_status(struct ctx *, int argc, char **argv);
void	watch_free(void);

#endif
