/*
 * kwatch.h -- whether to watch or to poll now: the pure decision that
 * follows the end of a Kubernetes watch (kube_watch()), as client-go's
 * reflector decides it, with a fallback to polling when watching does not
 * work.
 *
 * Facts: how the watch ended (end), whether it made progress (it delivered
 * an event: progress; or it lasted its timeoutSeconds: lasted, which counts
 * only if the server then ended it, KWATCH_END_CLOSED: a stream that stayed
 * silent until the client's own timeout cut it, as behind a proxy that
 * buffers it, is a failure, so that enough of them fall back to polling),
 * whether
 * a resourceVersion to resume from is known (a list's, or the last event's
 * or bookmark's), and the ends in a row without progress before this one
 * (failures).
 *
 * Decision (kwatch_decide()):
 * - KWATCH_END_REFUSED (401, 403, 404, 405: the account may not watch, or
 *   the server does not serve it): poll for good (retry < 0).
 * - progress: failures back to 0; KWATCH_END_EXPIRED (410 Gone, an ERROR
 *   event with a Status of code 410, reason Expired): relist now, i.e.
 *   watch again without a resourceVersion (the current state first); any
 *   other end: watch again from the resourceVersion now, or relist without
 *   one.
 * - no progress: one more failure; below KWATCH_MAX_FAILURES, the same
 *   after a backoff of 0.5 s doubled per failure (an expired
 *   resourceVersion is relisted at once the first time); at
 *   KWATCH_MAX_FAILURES, poll, and try a watch again (relist) after
 *   KWATCH_RETRY_SECS.
 * While the decision is KWATCH_POLL, the followers read the objects
 * themselves (GET); whatever else, a watch or a relist is due after
 * `wait` seconds and nothing is lost meanwhile (resumed from the
 * resourceVersion, or relisted with the current state).
 */
#ifndef KWATCH_H
#define KWATCH_H

#define KWATCH_MAX_FAILURES	3
#define KWATCH_RETRY_SECS	30.0

enum kwatch_end {
	KWATCH_END_CLOSED,	/* the server ended the stream (its
				   timeoutSeconds, a restart, a proxy) */
	KWATCH_END_BROKEN,	/* a transport error, 5xx, a bad event */
	KWATCH_END_EXPIRED,	/* 410 Gone: resourceVersion too old */
	KWATCH_END_REFUSED,	/* 401, 403, 404, 405 */
};

struct kwatch_facts {
	enum kwatch_end	 end;
	int		 progress;	/* an event came */
	int		 lasted;	/* it lasted its timeoutSeconds */
	int		 have_rv;	/* a resourceVersion to resume from */
	unsigned	 failures;	/* ends without progress in a row,
					   before this one */
};

enum kwatch_do {
	KWATCH_RESUME,		/* watch from the resourceVersion */
	KWATCH_RELIST,		/* watch from the current state */
	KWATCH_POLL,		/* poll; relist after `wait` unless < 0 */
};

struct kwatch_next {
	enum kwatch_do	 act;
	double		 wait;		/* seconds before the watch; < 0:
					   never again (KWATCH_POLL) */
	unsigned	 failures;	/* the count to keep */
};

struct kwatch_next kwatch_decide(const struct kwatch_facts *);

/*
 * How an ERROR event ends a watch (kwatch_error()), from its Status' code
 * and the reason of its first details.causes entry (or NULL):
 * KWATCH_END_EXPIRED, i.e. relist, if the server cannot serve that
 * resourceVersion: 410 (Expired, Gone: compacted), or 504 with the cause
 * ResourceVersionTooLarge (a server that never had it: restarted on an
 * etcd restored from a backup; a resume would only wait and fail again,
 * client-go relists); else KWATCH_END_BROKEN.
 */
enum kwatch_end	 kwatch_error(long code, const char *cause);
const char	*kwatch_do_name(enum kwatch_do);

/*
 * What a follower of a rollout does with an object of its workload that a
 * watch delivered (kwatch_object()), given the object it follows: the one
 * its restart PATCH answered, or its own read since (uid and generation;
 * a NULL uid is not known yet, and so is an object's missing uid).
 * - a DELETED event: KWATCH_USE_REREAD (read it again: a 404 ends the run,
 *   another object of that name is followed from then on);
 * - another uid: the workload was deleted and created again meanwhile
 *   (a relist after a watch broke shows only the new one, no DELETED):
 *   KWATCH_USE_REREAD too; its generation says nothing of the restart;
 * - the same object, a generation older than the one followed (an event
 *   from before the restart, replayed or late): KWATCH_USE_IGNORE;
 * - else KWATCH_USE_DECIDE: kubectl's decision on it (which requires
 *   status.observedGeneration >= metadata.generation).
 */
enum kwatch_use {
	KWATCH_USE_IGNORE,
	KWATCH_USE_DECIDE,
	KWATCH_USE_REREAD,
};

struct kwatch_obj {
	int		 deleted;	/* a DELETED event */
	const char	*uid;		/* the event's object */
	long		 generation;
	const char	*want_uid;	/* the object followed */
	long		 want_gen;
};

enum kwatch_use	 kwatch_object(const struct kwatch_obj *);

#endif
