/*
 * runpriv.h -- the engine's header (run.c): struct run, the operations in
 * flight, the failure, the jumps, and struct state, the hooks by which the
 * engine drives the states (the table: states.c). The lease (lease.h), the
 * journal (journal.h), the event follower (follow.h) and the helpers the
 * states share sit above it, the states above them. Private to the driver,
 * so it lives beside them in agent/, not in include/ (the modules' public
 * contracts). Not for the command files: they use run.h.
 */
#ifndef RUNPRIV_H
#define RUNPRIV_H

#include <ev.h>
#include <stdarg.h>

#include "drainset.h"
#include "events.h"
#include "kube.h"
#include "pidbox.h"
#include "run.h"
#include "worker.h"

/* One Celery worker of the deployment being drained. */
struct wk {
	char		*name;		/* deployment@pod */
	struct strv	 queues;	/* its queues when resolved */
	struct strv	 cancelled;	/* consumers we cancelled */
	struct drainset	 tasks;		/* what the drain waits for */
	double		 last_task_event;	/* ev_now of its last task event */
	struct worker_snap snap;	/* last refresh */
	int		 gone;		/* vanished (pod gone, offline) */
	int		 confirming;	/* a confirmation refresh is out */
	int		 rechecks;	/* refreshes after a consumer change
					   that did not show it yet */
	int		 asked;		/* RESTORE: add-consumer rounds */
	int		 cancel_asks;	/* CANCEL: cancels it did not answer */
	int		 drained;
	double		 last_event;	/* ev_now of its last event, 0 none */
	int		 suspect;	/* silent: is its pod still there? */
	char		*lost;		/* tasks it held when it vanished */
	char		*undrain;	/* RESTORE could not give its consumers
					   back: the command that does */
	size_t		 nlost;		/* how many */
	struct json_t	*waited;	/* {id: {name, state}} waited for */
	/* its pod when the run cancelled it (RESOLVE's list, or the census
	   that added it): a process restarted since is drained again */
	int		 pod_seen;	/* pod_uid and pod_restarts are set */
	char		*pod_uid;	/* NULL if not known */
	long		 pod_restarts;	/* its container's restartCount */
};

struct run {
	struct ctx	*ctx;
	char		*name;
	int		 from_selector;
	enum run_mode	 mode;
	int		 outside_window;	/* not started: --window */
	struct json_t	*journal;	/* a previous run's journal, or NULL */
	struct fsm	 fsm;
	unsigned	 gen;		/* bumped on every state entry */
	int		 pending;	/* current state's ops in flight */
	int		 step;		/* sub-step within a state (0 on entry) */
	int		 bad;		/* RESTORE: a worker was not restored */
	char		*refusal;	/* RESOLVE's refusal (no queue is
					 * consumed), said once LOCK holds the
					 * lease; NULL none */
	unsigned	 settle_gen;	/* gen the settle timer is for */
	ev_timer	 settle;	/* runs the state's settled() */
	char		 err[1024];	/* first cause of failure */
	char		 tmp[64];
	struct deploy_info dep;
	struct strv	 old_pods;	/* pods before the restart */
	struct pod_list	 pods0;		/* the same, as resolved */
	int		 pod_checking;	/* a pod list is out (DRAIN) */
	struct strv	 new_pods;	/* ready pods not in old_pods */
	int		 census;	/* DRAIN's look at the pods before they
					   are stopped (st-drain.c): enum
					   census_step */
	struct pod_list	 census_pods;	/* the pods it listed */
	struct worker_status *census_ws;	/* the workers known then */
	size_t		 census_nws;
	int		 census_failed;	/* a list or status read failed */
	int		 census_listed;	/* RESTORE: the workers were read */
	int		 pings;		/* RESOLVE: lists of the workers asked
					   (resolve_verdict()) */
	int		 census_pods_ok;	/* RESTORE: the pods were read */
	char		*census_rv;	/* DRAIN, in place: the workload's
					   resourceVersion, read before the
					   pods; the restart PATCH's
					   precondition (NULL: none) */
	int		 refused;	/* the conditional restart PATCH was
					   answered 409 (none of it can land) */
	int		 refusals;	/* ... times, in this run */
	struct json_t	*census_rs;	/* ROLLOUT: the ReplicaSets listed */
	struct json_t	*census_dep;	/* ROLLOUT: the Deployment read */
	char		*census_tmpl;	/* ROLLOUT: its new pods' template */
	struct strv	 census_marks;	/* the marks of census_pods
					   (census_facts()) */
	struct strv	 census_known;	/* ROLLOUT: the marks the last
					   answer of the workers online found
					   with nothing to drain (census_ask()) */
	double		 census_asked;	/* ROLLOUT: ev_now of that answer,
					   0 none */
	double		 held_since;	/* ROLLOUT: ev_now since when a pod
					   whose worker is not known holds the
					   rollout; 0 none */
	int		 pause_sent;	/* the hold's pause was answered */
	struct strv	 queues;	/* union of the workers' queues */
	struct wk	*w;
	size_t		 nw;
	char		*new_worker;	/* verified new worker (the first) */
	struct strv	 new_workers;	/* every verified new worker */
	struct worker_snap *verify_snaps; /* VERIFY: the new workers'
					   answers to this poll (name NULL:
					   none yet, or failed) */
	size_t		 nverify_snaps;
	struct json_t	*rolled;	/* the workload when ROLLOUT was done */
	char		*new_tmpl;	/* its new pods' template (census.h) */
	char		*restarted_at;
	char		*lease_token;
	int		 lease_held;	/* SET NX answered OK, not lost since */
	double		 lease_until;	/* ev_now by which it expires unless
					   renewed (from the send time) */
	double		 lease_lost_since;	/* ev_now the lease was found
					   gone: regaining it since; 0 not */
	int		 lease_regaining;	/* a regain attempt is out */
	unsigned	 lease_attempts;	/* regain attempts that failed */
	unsigned long	 journal_gen;	/* journal writes sent (lease.c): each
					   renewal checks the journal holds
					   the last one */
	struct op	*lease_wait_op;	/* an action waits for the regain
					   (counted in the state's ops) */
	int		 restart_sent;	/* the PATCH was applied */
	long		 rollout_gen;	/* ROLLOUT: metadata.generation of the
					   restart PATCH's answer or of its
					   first read; 0 none yet */
	char		*rollout_uid;	/* ROLLOUT: metadata.uid of that
					   object, or NULL */
	struct json_t	*rollout_early;	/* RESTART: the watch's last object of
					   the Deployment while the PATCH was
					   out (rollout_feed()), or NULL */
	struct kube_write patch;	/* the restart or pause PATCH, while
					   it may land (INFLIGHT) */
	int		 patch_pause;	/* it is the pause (else the restart) */
	double		 patch_last;	/* wall clock by which its last attempt
					   goes out (the state's deadline);
					   journalled, 0: none can land */
	int		 polling;	/* drain by polling (no events) */
	int		 said_polling;
	long		 backlog;	/* LLEN sum, -1 unknown */
	long		 unacked;	/* unacked entries for its queues */
	long		 pidbox_bound;	/* the workers' remote-control binding
					   is in this Redis db: 1, 0, -1
					   unknown (backlog_read) */
	double		 started, finished, wall_started;
	double		 t_enter;
	double		 t_state[ST_END + 1];
	int		 reached;	/* 1 + the last state entered before
					   the end (report_state()); 0: none */
	double		 state_len, state_deadline;
	double		 last_progress;
	ev_timer	 timeout;
	ev_timer	 tick;
	ev_timer	 lease_timer;	/* lease.c: renewal; regain retries */
	ev_timer	 lease_expiry;	/* lease.c: at lease_until, regain;
					   regaining, the deadline */
	ev_timer	 wait;		/* --recover: a PATCH the interrupted
					   run may have left in flight */
	struct op	*wait_op;	/* counted while it runs */
	char		 last_line[512];
	char		 lost_why[512];	/* IN_VANISHED's worker, in words:
					   the run's error at its end */
	struct json_t	*ho;		/* --handover's record (st-handover.c) */
	int		 ho_pending;	/* pods detached, not yet given back
					   or retired with the history */
	struct imgcheck	*img;		/* RESOLVE's image facts and the
					   triggers (imgcheck.h), or NULL */
	struct json_t	*ho_seen;	/* RESOLVE: {"uid", "replicasets":
					   owned}; GIVEBACK: {"deployment",
					   "replicasets", "pods"} as listed */
};

struct op {
	struct run	*r;
	unsigned	 gen;
	int		 counted;	/* counts in r->pending */
	size_t		 wi, qi;
};

/*
 * One state of the driver, exported by its st-*.c. The engine (run.c)
 * knows no state by name: it reaches each only through these hooks, which
 * the table (states.c) lists by enum fsm_state.
 *
 * On entry the engine arms the state's time limit (deadline(), seconds, 0
 * or NULL for none), has the table record the entry (struct driver's
 * entered: the journal, unless journal_ahead) and calls enter(). Whenever
 * the state's last counted operation completes (r->pending back to 0),
 * settled() runs, on the loop, after the callback that completed it: the
 * one place where a state decides what follows a batch of operations. A
 * state whose enter() starts no operation is settled at once.
 *
 * The other hooks, each optional (NULL: nothing), run only while the run is
 * in that state:
 *   tick         the timer the state armed with run_tick_every() fired;
 *   event        a Celery event from the broker (follow.c, every run);
 *   events_lost  the event subscription was lost (it turns to polling);
 *   object       an object of the run's workload from the Deployments'
 *                watch (follow.h), type its event's (ADDED, MODIFIED,
 *                DELETED);
 *   timed_out    its time limit passed and no cause is kept yet: the
 *                state may keep a better one (run_fail()) than the
 *                engine's "STATE timed out after ...".
 * journal_ahead: the engine does not have the journal written on entry:
 * the state writes its record itself, ahead of its action (CANCEL,
 * RESTART, DETACH), or has no lease to write it under yet (RESOLVE, LOCK).
 */
struct state {
	const char	*name;
	double		(*deadline)(struct run *);
	void		(*enter)(struct run *);
	void		(*settled)(struct run *);
	void		(*tick)(struct run *);
	void		(*event)(struct run *, const struct cev *);
	void		(*events_lost)(struct run *);
	void		(*timed_out)(struct run *);
	void		(*object)(struct run *, const char *type,
			    struct json_t *obj);
	int		 journal_ahead;
};

extern const struct state st_resolve, st_lock, st_cancel, st_drain,
	    st_restart, st_rollout, st_verify, st_restore, st_detach,
	    st_retire, st_history, st_giveback, st_inflight;

/*
 * The table the engine drives (states.c): the states by enum fsm_state,
 * and what the layers above the engine do at the edges of the runs.
 */
struct driver {
	const struct state *states[ST_END];
	/* before the first run starts (the event subscription) */
	void		(*start)(struct ctx *);
	/* a state was entered, before its enter() (its journal record) */
	void		(*entered)(struct run *);
	/* the run ended, before its outcome is reported (the lease and the
	 * journal's fate) */
	void		(*ended)(struct run *);
};
extern const struct driver driver;

/* A Celery event for the run: to its state's event hook (follow.c). */
void		 run_event(struct run *, const struct cev *);
/* The event subscription is lost: to the state's events_lost hook. */
void		 run_events_lost(struct run *);
/* An object of the run's Deployment from the watch: to the object hook. */
void		 run_object(struct run *, const char *type, struct json_t *obj);

/* Seconds before the state's deadline: 0 once passed, -1 if it has none. */
double		 run_time_left(struct run *);

/*
 * A PATCH of the Deployment (the restart; pause: --handover's pause) is
 * about to be sent, retried until the state's deadline: r->patch_last
 * says until when an attempt may go out, for the journal written next
 * (--recover waits for it) and for INFLIGHT.
 */
void		 run_patch_ahead(struct run *, int pause);

/* Time limits shared by several states. */
double		 deadline_request(struct run *);	/* 3 x request, >= 10s */
double		 deadline_minute(struct run *);		/* 60s */

struct op	*op_new(struct run *, size_t wi, size_t qi);
/* An op the state does not wait for (progress reads). */
struct op	*op_new_bg(struct run *);
struct run	*op_done(struct op *, size_t *wi, size_t *qi);
/*
 * The run's failure (the driver's one way to report an error, run.h):
 * run_fail() keeps the first cause in r->err, and the state goes on until
 * its settled() feeds IN_FAIL; run_abort() fails and feeds IN_FAIL now.
 */
void		 run_fail(struct run *, const char *, ...)
		    __attribute__((format(printf, 2, 3)));
void		 run_next(struct run *, enum fsm_input);
void		 run_abort(struct run *, const char *, ...)
		    __attribute__((format(printf, 2, 3)));
int		 run_deployment(struct run *, enum kube_err, struct json_t *,
		    const char *err);
void		 run_end(struct run *);
void		 run_tick_every(struct run *, double first, double every);
void		 wk_free(struct wk *);
/* A background broker command's reply (arg: the ctx): counted out of
 * ctx->ops, a failure logged. */
struct redisReply;
void		 run_bg_reply(struct redisReply *, const char *err, void *ctx);
/* The run's worker of that name, or NULL. */
struct wk	*run_worker(struct run *, const char *name);
/* A new worker record, empty but for its name (r->w may move). */
struct wk	*run_add_worker(struct run *, const char *name);
/*
 * The workers as the journal and the handover record keep them:
 * [{"name", "queues": their cancelled consumers, or all their queues}].
 * run_workers_load() reads such a list back: each worker found or added,
 * its queues (and, if cancelled, its cancelled consumers) and the run's
 * queues gaining the ones listed, once each.
 */
struct json_t	*run_workers_json(struct run *, int cancelled);
void		 run_workers_load(struct run *, struct json_t *, int cancelled);
/*
 * Worker wi's refresh (RESOLVE's, the census' for a newcomer): its
 * snapshot kept, its queues added to its own and to the run's, once each;
 * 0. -1 if the refresh failed or names no queues: the run failed
 * (run_fail()).
 */
int		 run_take_queues(struct run *, size_t wi, enum flower_err,
		    struct worker_snap *, const char *err);

/*
 * headcount.c: the census' facts (census.h), for DRAIN and ROLLOUT.
 * census_gather() lists the pods (and, if asked, the ReplicaSets) and,
 * if asked, reads the workers online, as counted ops, into r->census_*;
 * census_ask_workers() reads the workers online alone;
 * census_facts() puts them as census.h takes them (stops: whether the
 * next action stops pod p; the caller frees pods and ws);
 * census_old_pods() adds the pods stopped to r->old_pods (VERIFY takes
 * none for new); census_add() tracks the newcomers (and drains again a
 * worker whose process restarted), reading their queues.
 */
void	census_gather(struct run *, int replicasets, int workers);
/* The workload read alone (a counted op): its resourceVersion into
 * r->census_rv, before the pods are listed; a failure as census_gather's. */
void	census_read_version(struct run *);
void	census_ask_workers(struct run *);
void	census_pods_cb(enum kube_err, struct json_t *, const char *, void *);
void	census_status_cb(enum flower_err, struct worker_status *, size_t,
	    const char *, void *);
void	census_rs_cb(enum kube_err, struct json_t *, const char *, void *);
struct census_pod;
struct census_worker;
void	census_facts(struct run *, int (*stops)(struct run *,
	    const struct pod_info *), struct census_pod **pods,
	    struct census_worker **ws, size_t *nws);
void	census_old_pods(struct run *, const struct census_pod *, size_t np);
void	census_add(struct run *, const struct census_pod *, size_t np,
	    const struct census_worker *, size_t nws);
/*
 * The pod w's process ran in when the run cancelled it: RESOLVE's, or, for
 * a worker the census drained again after its container restarted, the
 * pod as the census saw it then (then holds it): pod_gone_why()'s before.
 */
const struct pod_info *worker_pod_then(struct run *, const struct wk *,
	    struct pod_info *then);

/* states (st-*.c) */
/* undrain_command() for the run's target, its context and namespace. */
char	*run_undrain_command(struct run *, const struct strv *queues);

/* Jump to a state (recover, undrain); RESTORE ends in pending. */
void	run_jump(struct run *, enum fsm_state, enum fsm_outcome pending);

#endif
