/*
 * journal.h -- a run's journal in the broker's Redis: what --recover and
 * --status need of a run that may die at any point (agent/journal.c, its
 * one home).
 *
 * Key: drain-and-rollout:journal:NS:TARGET (journal_key(); never with
 * --broker-key-prefix), a HASH, expiring JOURNAL_TTL seconds after its last
 * write. Written only by the lease's holder, in one script with the lease's
 * token check (lease.h); every write sends every field, from the run's
 * memory:
 *   state            the fsm.h name of the state at the write, or
 *                    "drained" once a --drain-only run ended (kept)
 *   holder           host:pid of the run
 *   started, updated wall clock (seconds, %.3f)
 *   workers          JSON [{"name", "queues": the consumers it cancelled}]
 *   old_pods         JSON [pod_identity() of the pods before the restart]
 *   restarted_at     the restartedAt annotation, before the PATCH ("")
 *   handover         --handover's record (JSON; "" none)
 *   request_timeout  the run's --request-timeout
 *   patch_last       by when the last attempt of a PATCH of the workload
 *                    goes out (wall clock; "" none can land)
 *   held             "1" while the run holds the rollout (the Deployment
 *                    paused to drain an old-template newcomer), else "0"
 *   gen              the write's generation, TOKEN/N: each lease renewal
 *                    checks the journal still holds the run's last one
 * A run reads it under the lease (journal_read(), into r->journal: field
 * to string, NULL when there is none).
 */
#ifndef JOURNAL_H
#define JOURNAL_H

#include "fsm.h"
#include "util.h"

struct ctx;
struct run;
struct json_t;

/* Its lifetime in Redis (seconds), refreshed on every write. */
#define JOURNAL_TTL	"604800"

char	*journal_key(struct ctx *, const char *dep);
/*
 * The deployments that have a journal (runs in flight, interrupted,
 * drained), found with SCAN (ctx_redis()), added to out; then done(NULL,
 * arg), or done(why not, arg) if Redis cannot be read (out may hold some).
 */
void	 ctx_journals(struct ctx *, struct strv *out,
	    void (*done)(const char *err, void *arg), void *arg);

/*
 * Write the journal, conditional on holding the lease (one script). With
 * then: write-ahead: then() runs once Redis acknowledged the record; a
 * failed or timed-out write ends the run before it acts. Without: the
 * record only updates --status; a failure is logged. Either way a write
 * that finds the lease gone stops the run or regains the lease
 * (lease_vanished(), lease.h). Through Sentinel, a write-ahead record is
 * acted on once a replica acknowledged it too (ROLE and WAIT on the
 * connection that took it: sentinel_wait_verdict(), sentinel.h): a
 * failover then cannot lose the record the action relies on.
 */
void	 journal_write(struct run *, void (*then)(struct run *));
/*
 * The write itself, with a script taking KEYS lease, journal and ARGV
 * token, lease ttl (ms), field, value... (the lease's regain takes the
 * lease in the same script). Bumps the run's journal generation.
 */
struct redisReply;
void	 journal_send(struct run *, const char *script,
	    void (*cb)(struct redisReply *, const char *, void *), void *arg);
/* The generation of the run's last write, "TOKEN/N" ("" none yet). */
char	*journal_generation(struct run *);
/* Remove the journal unless a run holds the deployment's lease. */
void	 journal_drop_unlocked(struct run *);

/*
 * Read the journal into r->journal (NULL: none), then then(). A failed
 * read fails the run (nothing changed yet: it may name queues a dead run
 * cancelled), and so does a Redis that did not answer at the start.
 */
void	 journal_read(struct run *, void (*then)(struct run *));
/* A field of r->journal ("" if none). */
const char *journal_str(struct run *, const char *field);
/* A JSON field of r->journal, parsed (new reference), or NULL. */
struct json_t *journal_json(struct run *, const char *field);
/*
 * Queues the journal records for worker name (NULL: all workers); like:
 * for every worker of the same NAME (podworkers.h), on whatever pod.
 */
void	 journal_queues(struct run *, const char *name, int like,
	    struct strv *out);

/*
 * What a run's end does with the lease and the journal (pure).
 */
enum journal_end {
	JOURNAL_END_NONE,	/* no lease held: nothing to give back */
	JOURNAL_END_DROP_UNLOCKED, /* --undrain done: the journal goes,
				   unless a run holds the lease */
	JOURNAL_END_AS_IS,	/* the lease given back, no history entry,
				   the journal as it is */
	JOURNAL_END_DEL,	/* history entry, journal removed, lease
				   released (one script) */
	JOURNAL_END_KEEP,	/* the same, the journal kept for --recover */
	JOURNAL_END_DRAINED,	/* the same, the journal marked "drained" */
};

/*
 * The fate of the journal of a run that held the lease and ends with
 * outcome o: DRAINED for --drain-only's; KEEP when workers may be left
 * drained or pods detached (restore failed, lease lost, a refusal after
 * the lease was taken -- OUT_PREFLIGHT --, pods still detached by
 * --handover: ho_pending, or interrupted after the restart: restart_sent);
 * else DEL.
 */
enum journal_end journal_fate(enum fsm_outcome o, int ho_pending,
	    int restart_sent);

struct journal_end_facts {
	enum fsm_outcome outcome;
	int		 token;		/* the run has a lease token */
	int		 held;		/* and holds the lease now */
	int		 undrain;	/* an --undrain run */
	int		 written;	/* it wrote the journal at least once */
	int		 ho_pending;	/* --handover: pods still detached */
	int		 restart_sent;	/* the restart PATCH was applied */
};

/*
 * At the end: no token: DROP_UNLOCKED for an --undrain that ended OK, else
 * NONE; a token not held (never taken, or lost): NONE; nothing to do and
 * nothing written (--recover found no journal, or a drained one): AS_IS;
 * interrupted before its first write (a --recover stopped while it reads
 * the Deployment, a drain in LOCK): KEEP, the history written and the
 * journal, a dead run's if any, left for --recover; else journal_fate().
 */
enum journal_end journal_at_end(const struct journal_end_facts *);
/* The release script's argument: "del", "keep", "drained"; else NULL. */
const char	*journal_end_arg(enum journal_end);

#endif
