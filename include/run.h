/*
 * run.h -- drains deployments: one struct run per deployment, each driven by
 * its state machine (fsm.h) on the shared libev loop.
 *
 * The driver does each state's I/O through the thin clients (kube, ctl,
 * broker) and feeds the result back to fsm_feed(). All runs of one
 * invocation share one loop, one HTTP multi handle, one broker connection
 * pair and one event subscription; at most opts.max_parallel are active.
 *
 * Keys in the broker's Redis (namespace NS, target D: a Deployment's NAME,
 * as before StatefulSets, or "statefulset/NAME" for a StatefulSet, so the
 * two kinds never share a lease or a journal; kube_target_parse()):
 *   drain-and-rollout:lease:NS:D    lease token (SET NX PX; renewed at ttl/3;
 *                                   released by compare-and-delete)
 *   drain-and-rollout:journal:NS:D  HASH: what --recover and --status need
 *                                   (journal.h: its fields); written only
 *                                   by the lease's holder (one script with
 *                                   the token check)
 *   drain-and-rollout:history       STREAM, capped: one entry per finished run
 * They never get --broker-key-prefix (see keys.h).
 *
 * Errors, one way per layer:
 *   pure parsers (worker.h, kube.h, events.h, kubeconfig.h ...) return 0,
 *     or -1 with the reason in their err buffer;
 *   clients (http, flower, kube, ctl, broker, pidbox, execcred) answer
 *     every call once through its callback: the module's error enum
 *     (flower_err, kube_err; for broker and pidbox, err == NULL on success)
 *     and a message that says what happened and what to do. They never log
 *     a failure as the run's, and never decide what follows;
 *   the driver (runpriv.h) makes a client's failure the run's failure:
 *     run_fail() keeps the first cause in r->err and the state's settled()
 *     feeds IN_FAIL when r->err is set; run_abort() does both at once.
 *     What does not end the state is logged as a warning, never kept.
 *   Commands outside runs (cmd-*.c) log the message and end with the exit
 *     code of the outcome (fsm_exit_code(), EXIT_USAGE: cmd.h).
 *
 * Waiting: nothing here runs the loop. The program's one ev_run() is
 * main.c's (cmd.h); a command's read (ctx_redis()) or its runs
 * (ctx_start()) answer through a callback on that loop.
 */
#ifndef RUN_H
#define RUN_H

#include <stddef.h>

#include "ctl.h"
#include "fsm.h"
#include "keys.h"
#include "kube.h"
#include "target.h"
#include "util.h"
#include "window.h"

struct ev_loop;
struct ev_prepare;
struct broker;
struct http;
struct redisReply;

enum run_mode {
	RUN_DRAIN,	/* the whole drain and rollout */
	RUN_UNDRAIN,	/* give the workers their queues back */
	RUN_RECOVER,	/* finish or undo a run that died */
	RUN_STATUS,	/* resolve and describe; change nothing */
};

struct opts {
	const char	*flower_url;
	const char	*flower_user;
	char		*flower_password;	/* secret, from a file */
	const char	*redis_url;
	const char	*sentinel_master;	/* with a sentinel:// URL */
	char		*redis_password;	/* secret, from a file */
	const char	*kubeconfig;
	const char	*context;
	const char	*namespace;
	int		 insecure;
	double		 drain_timeout;
	double		 rollout_timeout;	/* 0: progressDeadlineSeconds */
	double		 verify_timeout;
	double		 poll_interval;
	double		 progress_interval;
	double		 lease_ttl;
	double		 request_timeout;
	int		 no_events;
	int		 max_parallel;
	int		 dry_run;
	int		 drain_only;
	int		 handover;		/* --handover (fsm.h) */
	int		 only_stale;		/* --only-stale (stale.h) */
	int		 stale_unknown_roll;	/* --stale-unknown roll */
	int		 pause_triggers;	/* --pause-triggers */
	int		 force;			/* --on-timeout force */
	enum ctl_mode	 control;
	const char	*selector;
	struct window	 window;		/* --window: start runs inside */
	int		 json;			/* -o json */
	int		 watch;			/* --status --watch */
	const char	*metrics_file;
	char		*notify_url;		/* secret, from a file */
	int		 notify_on_success;
	const char	*queues;		/* --queues for --undrain */
	int		 ignore_hold;		/* drain held deployments */
	const char	*hold_reason;		/* --hold --reason */
	const char	*hold_until;		/* --hold --until */
	const char	*key_prefix;		/* kombu's global_keyprefix */
	struct prio_steps priority_steps;	/* kombu's priority_steps */
};

struct ctx {
	struct ev_loop	*loop;
	struct opts	*o;
	struct http	*http;
	struct flower	 flower;
	struct ctl	 ctl;
	struct kube	 kube;
	struct kube_creds creds;
	struct target	 target;	/* what the runs act on (target.h) */
	struct broker	*broker;
	struct pidbox	*pidbox;
	struct keys	 keys;		/* Celery's key names (keys.h) */
	int		 events_up;	/* subscription confirmed */
	struct rwatch	*rwatch;	/* the Deployments' watch (follow.h) */
	void		(*rwatch_free)(struct ctx *);	/* set with it */
	struct run	**runs;
	size_t		 nruns;
	size_t		 next;		/* next run to start */
	int		 active;	/* runs started, not ended */
	unsigned	 ops;		/* async operations in flight */
	int		 interrupted;
	int		 begun;		/* the broker answered: runs may start */
	int		 ending;	/* every run ended: the summary made, its
					   webhook and the pidbox's removal are
					   the loop's last operations */
	char		 holder[256];	/* host:pid */
	char		 redis_err[1024];	/* Redis did not answer at the start */
	struct ev_prepare *settler;	/* ctx_start()'s: the runs' end, */
	void		(*ended)(struct ctx *, int rc);	/* then this */
};

int	ctx_init(struct ctx *, struct ev_loop *, struct opts *, char *err,
	    size_t errlen);
void	ctx_free(struct ctx *);

/* Add a deployment; from_selector: skip it quietly if it has no workers. */
void	ctx_add(struct ctx *, const char *deployment, int from_selector,
	    enum run_mode);
/*
 * One broker command outside the runs (a command's read), its words one
 * by one, NULL-terminated ("HGETALL", key, NULL), sent once the broker is
 * up (waited for up to --request-timeout when it is not). Answered once,
 * as broker_command(): cb(reply, NULL, arg), the reply the callback's to
 * read, not to keep (ctx_redis_dup()); or cb(NULL, err, arg).
 */
typedef void ctx_redis_cb(struct redisReply *, const char *err, void *arg);
void	ctx_redis(struct ctx *, ctx_redis_cb *, void *arg, const char *word,
	    ...) __attribute__((sentinel));
/* A copy of a reply to keep past its callback; ctx_redis_free() frees it. */
struct redisReply *ctx_redis_dup(const struct redisReply *);
void	ctx_redis_free(struct redisReply *);
/*
 * Run every added deployment to its end on the loop: once the last ended
 * (and the summary's webhook and the remote-control queue's removal are
 * done), ended(c, the exit code) is called, once.
 */
void	ctx_start(struct ctx *, void (*ended)(struct ctx *, int rc));
/* SIGINT/SIGTERM/SIGHUP/SIGQUIT: restore what is not restarted yet; a
 * run already restarted ends keeping its journal for --recover. */
void	ctx_interrupt(struct ctx *);
/* The worst outcome if the process exited now (fsm_abandoned() of every
 * run; one never started is interrupted). */
enum fsm_outcome ctx_abandoned(const struct ctx *);
/* A second signal: each run not ended is abandoned where it is
 * (fsm_abandon()) and the outcomes are reported (no webhook), unless the
 * summary was made already. Returns the exit code (ctx_abandoned()). */
int	ctx_exit_now(struct ctx *);

#endif
