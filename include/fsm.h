/*
 * fsm.h -- the drain of one deployment as an explicit state machine.
 *
 *   RESOLVE -> LOCK -> CANCEL -> DRAIN -> RESTART -> ROLLOUT -> VERIFY -> DONE
 *
 * with the abort edges: a failure, timeout or interrupt before the restart
 * goes to RESTORE (re-add the cancelled consumers), which ends in ABORTED;
 * a rollout that fails also goes through RESTORE (old workers that survive
 * get their consumers back) and ends FAILED. Only RESTORE failing leaves a
 * worker drained (OUT_RESTORE_FAILED: run --recover). A run that loses its
 * lease (IN_LOST, from any state) stops at once without acting further:
 * not even RESTORE, since another run may now own the deployment
 * (OUT_LEASE_LOST).
 *
 * --handover (fsm.handover) starts the new workers before the old ones stop:
 *
 *   RESOLVE -> LOCK -> DETACH -> RESTART -> ROLLOUT -> VERIFY -> CANCEL
 *           -> DRAIN -> RETIRE -> HISTORY -> DONE
 *
 * DETACH pauses the Deployment and deletes its ReplicaSets with propagation
 * Orphan, relabelling their pods so that none adopts them; RESTART also
 * resumes it. Until the old workers' consumers are cancelled, a failure,
 * timeout or interrupt goes to GIVEBACK (the ReplicaSets recreated, the pods
 * relabelled back and adopted), which ends in the pending outcome; an
 * interrupt after the restart ends INTERRUPTED at once, the journal kept
 * for --recover (which finishes the handover). After the cancel, failures go
 * to RESTORE as in-place mode does (the old workers consume again, still
 * detached: --recover finishes). RETIRE deletes the drained old pods,
 * HISTORY recreates the deleted ReplicaSets with 0 replicas.
 *
 * A GIVEBACK after the restart finds the Deployment rolling out: resumed,
 * its controller would stop some old pods (RollingUpdate: as many as its
 * maxUnavailable allows; Recreate: all; kube.h giveback_plan()). GIVEBACK
 * recreates the old ReplicaSets without those and leaves them detached; the
 * driver sets fsm.shed = 1 and they are drained as after a handover:
 *
 *   GIVEBACK [-> RESTORE] -> CANCEL -> DRAIN -> RETIRE -> HISTORY -> END
 *
 * (shed = 2 from the CANCEL on), ending in the pending outcome (the
 * failure that led to GIVEBACK), or a worse one; a failure while shedding
 * goes to RESTORE, the outcome kept, those pods left detached: --recover.
 *
 * A PATCH of the run's own (RESTART's, DETACH's pause) may land after the
 * client gave up on it: any way out of RESTART or DETACH but IN_OK goes
 * to INFLIGHT (pending: what RESTORE or GIVEBACK would end in), which
 * cancels it, waits until none of its attempts can land, and reads the
 * Deployment: the restart landed (IN_OK, only once RESTART was entered:
 * fsm.restarting) -> ROLLOUT, or END INTERRUPTED
 * (journal kept) if the run was interrupted (IN_INTERRUPT, or pending
 * OUT_INTERRUPTED); nothing of ours landed or can (IN_FAIL) -> RESTORE,
 * or GIVEBACK with --handover; the restart PATCH (in place) refused
 * with 409 because the workload changed since DRAIN's census read it,
 * and nothing of ours landed (IN_MORE, landed.h patch_again()) -> DRAIN,
 * whose census looks at the pods again before RESTART sends it again
 * (not while held, nor once interrupted: those restore; a refusal found
 * once the run was interrupted, its pending outcome still RESTART's
 * IN_FAIL's, jumps to RESTORE with OUT_INTERRUPTED: fsm_jump());
 * cannot tell (IN_TIMEOUT...) -> END
 * RESTORE_FAILED, the journal kept for --recover. The interrupt handler
 * leaves INFLIGHT alone (fsm_restoring()): its wait is bounded.
 *
 * Workers that appear mid-run: when DRAIN is done, the driver lists the
 * pods again (census.h); a worker of a pod the next action stops that this
 * run has not drained sends the run back to CANCEL (IN_MORE), and DRAIN
 * waits for it too, within the same --drain-timeout:
 *
 *   ... -> CANCEL -> DRAIN [-> CANCEL -> DRAIN ...] -> RESTART | RETIRE
 *
 * In place, the census goes on during ROLLOUT (census_rollout()): the
 * controller stops the old template's pods as new ones become ready, and
 * a Deployment scaled meanwhile gives the old ReplicaSet new pods. A pod of
 * the old template whose worker is not known yet holds the rollout
 * (IN_HOLD: the driver pauses the Deployment, fsm.held); a worker there
 * this run has not drained sends the run back to drain it, the rollout
 * held (IN_MORE: fsm.held, fsm.midroll):
 *
 *   ROLLOUT -> CANCEL -> DRAIN -> ROLLOUT [IN_RESUMED: resumed] -> VERIFY
 *
 * A failure or timeout while held goes to RESTORE, which then only
 * resumes the Deployment (the consumers stay cancelled: the rollout stops
 * those pods) and ends ROLLOUT_FAILED; from ROLLOUT through INFLIGHT
 * first, since its pause PATCH may still land (a resume before it would
 * leave the Deployment paused). An interrupt while held does not
 * cut the drain short (fsm_finishing()): the newcomers' drain ends, the
 * Deployment is resumed, then the run ends INTERRUPTED.
 *
 * fsm_feed() is pure: it takes the current state and the result of the
 * state's work, and returns the next state; it never does I/O. The driver
 * (run.c) does each state's work on entry and feeds back the result.
 */
#ifndef FSM_H
#define FSM_H

enum fsm_state {
	ST_RESOLVE,	/* find the deployment, its pods and workers */
	ST_LOCK,	/* take the lease, write the journal */
	ST_CANCEL,	/* cancel every consumer of every worker */
	ST_DRAIN,	/* wait until nothing runs or is prefetched */
	ST_RESTART,	/* PATCH restartedAt */
	ST_ROLLOUT,	/* wait for rollout status done */
	ST_VERIFY,	/* a new worker consumes the same queues */
	ST_RESTORE,	/* re-add cancelled consumers */
	ST_DETACH,	/* handover: pause, orphan the ReplicaSets' pods */
	ST_RETIRE,	/* handover: delete the drained old pods */
	ST_HISTORY,	/* handover: recreate the old ReplicaSets at 0 */
	ST_GIVEBACK,	/* handover: give the pods back to their ReplicaSets */
	ST_INFLIGHT,	/* the restart (or pause) PATCH failed or was cut
			   short: until none of it can land, find out */
	ST_END,		/* terminal; see outcome */
};

enum fsm_input {
	IN_OK,
	IN_FAIL,
	IN_TIMEOUT,
	IN_INTERRUPT,
	IN_LOCKED,	/* ST_LOCK: another run holds the lease */
	IN_SKIP,	/* ST_RESOLVE: not a Celery worker deployment (-l) */
	IN_LOST,	/* the lease was lost: stop at once, act no more */
	IN_NOTHING,	/* ST_RESOLVE: nothing to do (--recover finds no run
			   to finish): end changing nothing (OUT_NOTHING);
			   elsewhere as IN_SKIP */
	IN_MORE,	/* ST_DRAIN: before the old pods are stopped, the
			   census (census.h) found workers this run has not
			   drained: back to CANCEL for them; ST_ROLLOUT (in
			   place): workers of the old template to drain, the
			   Deployment paused (fsm.held, fsm.midroll);
			   ST_INFLIGHT (in place, after RESTART, not held
			   nor interrupted): the restart PATCH was
			   refused (409) and did not land: back to DRAIN
			   for its census; elsewhere as IN_FAIL */
	IN_HOLD,	/* ST_ROLLOUT (in place): the driver pauses the
			   Deployment to hold the rollout (fsm.held);
			   elsewhere as IN_FAIL */
	IN_RESUMED,	/* ST_ROLLOUT: the driver resumed it (held no
			   more); elsewhere as IN_FAIL */
	IN_VANISHED,	/* a worker vanished holding tasks before its drain
			   ended: in a drain during the rollout (midroll:
			   a scale-down deletes the old ReplicaSet's pods,
			   paused or not) the run goes on, but ends no
			   better than OUT_ROLLOUT_FAILED (fsm.lost);
			   elsewhere nothing (the vanished worker counts as
			   drained, its tasks named as possibly lost) */
};

/* Outcomes, in increasing severity (the worst decides a batch's exit). */
enum fsm_outcome {
	OUT_NONE = 0,
	OUT_OK,			/* rolled out and verified */
	OUT_DRY_RUN,		/* nothing changed, as asked: the plan
				   printed (dry run), --status */
	OUT_NOTHING,		/* nothing to do (IN_NOTHING: --recover
				   finds no run to finish) */
	OUT_SKIPPED,		/* selected by -l but runs no known worker */
	OUT_DRAINED,		/* --drain-only: left drained on purpose */
	OUT_LOCKED,		/* another run holds the lease */
	OUT_PREFLIGHT,		/* failed before changing anything */
	OUT_INTERRUPTED,	/* signal; workers restored */
	OUT_ABORTED,		/* drain failed/timed out; restored, no restart */
	OUT_VERIFY_FAILED,	/* rolled out, new worker not consuming */
	OUT_ROLLOUT_FAILED,	/* restart sent, rollout failed/timed out */
	OUT_RESTORE_FAILED,	/* a worker may be left without consumers */
	OUT_LEASE_LOST,		/* lease lost: stopped, a worker may be left
				   without consumers */
};

struct fsm {
	enum fsm_state	 state;
	enum fsm_outcome outcome;	/* set on entering ST_END */
	enum fsm_outcome pending;	/* what RESTORE ends in */
	int		 dry_run;	/* RESOLVE ends the run */
	int		 drain_only;	/* DRAIN ends the run */
	int		 force;		/* --on-timeout force */
	int		 forced;	/* the drain timed out and was forced */
	int		 handover;	/* --handover: new workers first */
	int		 shed;		/* handover given back: 1 old pods to
					   drain after GIVEBACK, 2 draining */
	int		 restarting;	/* RESTART was entered: INFLIGHT's
					   IN_OK means its PATCH landed (else
					   it is IN_FAIL: no restart sent) */
	int		 held;		/* the run paused the Deployment to
					   hold its rollout: to resume on every
					   way out (RESTORE resumes it) */
	int		 midroll;	/* CANCEL and DRAIN after the restart:
					   old-template workers found during
					   ROLLOUT, which they go back to */
	int		 lost;		/* IN_VANISHED midroll: a worker of
					   the old template went with its
					   tasks; the outcome is at least
					   OUT_ROLLOUT_FAILED */
};

void		 fsm_init(struct fsm *, int dry_run, int drain_only, int force);
enum fsm_state	 fsm_feed(struct fsm *, enum fsm_input);
/*
 * A move no input makes: a recovery (--recover) or an --undrain starts in
 * the state that finishes or undoes a run (RESTORE, ROLLOUT, GIVEBACK,
 * RETIRE), and a state whose action waited for the lease is entered
 * again; pending: the outcome RESTORE (GIVEBACK) ends in.
 */
void		 fsm_jump(struct fsm *, enum fsm_state, enum fsm_outcome pending);
/* A run a signal stopped before it started: END, OUT_INTERRUPTED. */
void		 fsm_unstarted(struct fsm *);
const char	*fsm_state_name(enum fsm_state);
const char	*fsm_outcome_name(enum fsm_outcome);
/* The process exit code for an outcome (see drain-and-rollout(1)). */
int		 fsm_exit_code(enum fsm_outcome);
/* The interrupt handler feeds IN_INTERRUPT to states other than these. */
int		 fsm_restoring(enum fsm_state);
/*
 * An interrupt does not cut this state's work short (the rollout held
 * while old-template workers drain: stopping now would lose their tasks
 * or leave the Deployment paused): IN_INTERRUPT only makes the run end
 * INTERRUPTED once the Deployment is resumed. Not a failure of the run.
 */
int		 fsm_finishing(const struct fsm *);
/*
 * A state whose actions change the workers or the cluster: all but RESOLVE
 * and LOCK (which take only the lease) and END. Entering one ends the
 * clients' first contact (retry.h): from then on they are patient.
 */
int		 fsm_changes(enum fsm_state);
/*
 * The outcome of a run the process abandons where it is (a second signal:
 * exit at once, nothing more sent): an ended run's own; OUT_RESTORE_FAILED
 * where a worker may be left without consumers or the Deployment paused
 * with its pods detached (CANCEL and DRAIN in place, or shedding after a
 * GIVEBACK; RESTART, INFLIGHT, RESTORE, DETACH, GIVEBACK); else
 * OUT_INTERRUPTED (nothing changed yet, or the restart sent: the journal
 * is enough for --recover).
 */
enum fsm_outcome fsm_abandoned(const struct fsm *);
/* A run a second signal abandons where it is: END, fsm_abandoned(). */
void		 fsm_abandon(struct fsm *);

/*
 * What the nth signal (SIGINT, SIGTERM, SIGHUP, SIGQUIT; nth >= 1) does.
 * ended: every run has ended, the summary is made, and only the loop's
 * last operations are left (the webhook, the reply queue's removal), each
 * bounded by its own deadline.
 *   FSM_SIG_INTERRUPT  the first while runs are in flight: restore what
 *                      is not restarted (ctx_interrupt());
 *   FSM_SIG_WAIT       the first once every run ended: nothing to stop,
 *                      the last operations finish;
 *   FSM_SIG_EXIT       a second one (nth > 1): exit at once, with the
 *                      outcome fsm_exit_outcome() gives.
 */
enum fsm_signal {
	FSM_SIG_INTERRUPT,
	FSM_SIG_WAIT,
	FSM_SIG_EXIT
};
enum fsm_signal	 fsm_signal(int nth, int ended);
/*
 * The outcome a process ends with when a second signal ends it at once:
 * worst is the worst of its runs' fsm_abandoned() (OUT_NONE: no run),
 * ended as for fsm_signal(). Every run ended: their worst stands, as when
 * the loop ends (a webhook cut short changes no run); else at least
 * OUT_INTERRUPTED.
 */
enum fsm_outcome fsm_exit_outcome(enum fsm_outcome worst, int ended);

#endif
