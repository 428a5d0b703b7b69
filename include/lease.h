/*
 * lease.h -- the decisions about a run's lease (the lease itself and
 * its timers are agent/lease.c; key names in run.h).
 *
 * A lease can vanish without another run taking it: the broker's Redis
 * restarted without persistence (a pod rescheduled, a failover to a
 * replica that had not the keys), and the journal went with it. A run that
 * finds its lease gone takes it again with the same token and rewrites the
 * journal from its memory before it acts again; only a lease another run
 * holds, or one not regained within --lease-ttl, stops it. A Redis can
 * also come back holding an older copy (a failover to a replica that
 * lagged): the lease with the run's own token, but not the journal it
 * last wrote. The run then writes the journal again, as after a lease
 * that vanished (each write carries a generation each renewal checks).
 *
 * lease_verdict() and lease_resume() are pure: plain data in, a verdict
 * out. The rest is the driver's lease (agent/lease.c), for the states and
 * the journal (journal.h).
 */
#ifndef LEASE_H
#define LEASE_H

#include "fsm.h"

enum lease_verdict {
	LEASE_KEEP,		/* ours, with our last journal: go on */
	LEASE_REGAIN,		/* vanished, no answer yet, or ours with a
				   journal not the last we wrote: take it
				   again (same token) and rewrite the
				   journal; no action meanwhile */
	LEASE_STOP_HELD,	/* another run holds it: stop at once */
	LEASE_STOP_LATE,	/* not regained within --lease-ttl: stop */
};

/*
 * What a run does with what Redis said of its lease.
 *   token:	the run's token (never NULL)
 *   seen:	the lease's value as read: the token it holds, "" no key,
 *		NULL no answer (Redis unreachable, or the lease's time ran
 *		out without a successful renewal)
 *   journal_ok: 1 unless Redis said the lease is ours but the journal is
 *		not the last one the run wrote (missing, or older)
 *   now:	the time now; lost_since: when the run first found it did
 *		not hold the lease (0: it held it until this answer)
 *   ttl:	--lease-ttl, the time allowed to regain it
 * Another token stops the run even when late; our own token with our
 * journal keeps it; a missing or unknown lease, or ours with a journal
 * not ours, is regained unless lost_since + ttl has passed.
 */
enum lease_verdict lease_verdict(const char *token, const char *seen,
	    int journal_ok, double now, double lost_since, double ttl);

enum lease_resume {
	LEASE_RESUME_NONE,	/* nothing waited: go on as before */
	LEASE_RESUME_REDO,	/* enter the state again: its action waited */
	LEASE_RESUME_DRAIN,	/* drain again: confirm every worker anew */
};

/*
 * Once the lease is regained, what the run in that state does. A regained lease means Redis lost its keys, and a Celery worker
 * reconnecting to it may declare again the consumers the run cancelled:
 * until the restart is sent, a worker is drained only once confirmed after
 * the regain. So DRAIN, and a RESTART whose PATCH waited (not sent),
 * drain again; any other state whose action waited (waited: an action
 * found the lease being regained) enters again; a state with nothing
 * waiting goes on (its requests in flight, a PATCH included, are its own).
 */
enum lease_resume lease_resume(enum fsm_state, int waited);

struct run;
struct ctx;

char	*lease_key(struct ctx *, const char *dep);
/* LOCK: take the lease (SET NX); then(r, 1) taken, 0 held by another run
 * (r->err names it), -1 failed. */
void	lease_take(struct run *, void (*then)(struct run *, int ok));
/* At the end: history entry, the journal's fate (journal_at_end(),
 * journal.h) and the lease released, in one script while it is ours. */
void	lease_release(struct run *);
/*
 * Before an action: 1 if the run may act (it holds an unexpired lease, or
 * needs none: --undrain); else 0: the lease is being regained (the state
 * waits, an operation of it, and enters again once the lease and the
 * journal are back: lease_resume()) or the run is stopped (IN_LOST).
 */
int	lease_check(struct run *);
/* The lease is gone for good (holder: who holds it now; NULL: not
 * regained in time); names the command that undrains what the run
 * drained. */
void	lease_lost(struct run *, const char *holder);
/*
 * Redis says the lease is not ours (seen: the holder's token, "" none),
 * or ours with a journal not the last we wrote (journal_ok 0), or did not
 * answer in time (NULL): regain it, or stop (lease_verdict()).
 */
void	lease_vanished(struct run *, const char *seen, int journal_ok,
	    double now);

#endif
