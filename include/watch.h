/*
 * watch.h -- whether to watch or to poll now: the pure decision that
 * follows the end of a Kubernetes watch (kube_watch()), as client-go's
 * reflector decides it, with a fallback to polling when watching does not
 * work.
 *
 * Facts: how the watch ended (end), whether it made progress (it delivered
 * an event, or lasted until the server's timeoutSeconds ended it), whether
 * a resourceVersion to resume from is known (a list's, or the last event's
 * or bookmark's), and the ends in a row without progress before this one
 * (failures).
 *
 * Decision (watch_decide()):
 * - WATCH_END_REFUSED (401, 403, 404, 405: the account may not watch, or
 *   the server does not serve it): poll for good (retry < 0).
 * - progress: failures back to 0; WATCH_END_EXPIRED (410 Gone, an ERROR
 *   event with a Status of code 410, reason Expired): relist now, i.e.
 *   watch again without a resourceVersion (the current state first); any
 *   other end: watch again from the resourceVersion now, or relist without
 *   one.
 * - no progress: one more failure; below WATCH_MAX_FAILURES, the same
 *   after a backoff of 0.5 s doubled per failure (an expired
 *   resourceVersion is relisted at once the first time); at
 *   WATCH_MAX_FAILURES, poll, and try a watch again (relist) after
 *   WATCH_RETRY_SECS.
 * While the decision is WATCH_POLL, the followers read the objects
 * themselves (GET); whatever else, a watch or a relist is due after
 * `wait` seconds and nothing is lost meanwhile (resumed from the
 * resourceVersion, or relisted with the current state).
 */
#ifndef WATCH_H
#define WATCH_H

#define WATCH_MAX_FAILURES	3
#define WATCH_RETRY_SECS	30.0

enum watch_end {
	WATCH_END_CLOSED,	/* the server ended the stream (its
				   timeoutSeconds, a restart, a proxy) */
	WATCH_END_BROKEN,	/* a transport error, 5xx, a bad event */
	WATCH_END_EXPIRED,	/* 410 Gone: resourceVersion too old */
	WATCH_END_REFUSED,	/* 401, 403, 404, 405 */
};

struct watch_facts {
	enum watch_end	 end;
	int		 progress;	/* an event came, or it lasted its
					   timeout */
	int		 have_rv;	/* a resourceVersion to resume from */
	unsigned	 failures;	/* ends without progress in a row,
					   before this one */
};

enum watch_do {
	WATCH_RESUME,		/* watch from the resourceVersion */
	WATCH_RELIST,		/* watch from the current state */
	WATCH_POLL,		/* poll; relist after `wait` unless < 0 */
};

struct watch_next {
	enum watch_do	 act;
	double		 wait;		/* seconds before the watch; < 0:
					   never again (WATCH_POLL) */
	unsigned	 failures;	/* the count to keep */
};

struct watch_next watch_decide(const struct watch_facts *);
const char	*watch_do_name(enum watch_do);

#endif
