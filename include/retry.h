/*
 * retry.h -- whether a client tries a failed request or connection again,
 * and when: the one retry policy of the HTTP client (http.h: the Kubernetes
 * API, Flower, webhooks) and of the broker's connection (broker.h: Redis).
 *
 * A pure function of plain facts; the clients gather them and obey.
 *
 * The policy:
 *   - RETRY_FINAL (an answer that is not retried) and RETRY_TLS (a TLS
 *     handshake or verification failure: retrying cannot fix a wrong CA or
 *     name) give up at once.
 *   - otherwise the wait is a capped exponential backoff with jitter:
 *     0.2 s doubling per attempt up to 5 s, halved then plus jitter times
 *     the other half; a longer Retry-After (429) is waited instead.
 *   - RETRY_UNREACHABLE (connection refused, a DNS failure: nothing
 *     listens at the address, typically a missing port-forward or a wrong
 *     URL) before anything was changed gives up once the next attempt
 *     would start later than RETRY_FIRST_CONTACT seconds after the first:
 *     the operator hears the cause at once, not after the whole deadline.
 *     Once something was changed, it is retried like a transient failure:
 *     patience then protects the work.
 *   - an attempt never starts later than `left` (the caller's deadline or
 *     its patience, if any).
 *   - a retry once something was changed is `loud`: the client makes it
 *     visible (a log line naming the request, the cause and the attempt);
 *     before, the few quick retries are quiet and the failure is reported.
 */
#ifndef RETRY_H
#define RETRY_H

/* Seconds an unreachable server is retried before anything changed. */
#define RETRY_FIRST_CONTACT	3.0

enum retry_class {
	RETRY_UNREACHABLE,	/* connection refused, DNS failure */
	RETRY_TLS,		/* TLS handshake or verification failed */
	RETRY_TRANSIENT,	/* timeout, connection lost mid-request,
				   HTTP 5xx, 429, a retryable 409 */
	RETRY_FINAL,		/* not retried (an answer, a refusal) */
};

struct retry_facts {
	int		 changed;	/* something was changed already */
	enum retry_class cls;		/* of the last failure */
	int		 attempts;	/* made so far, >= 1 */
	double		 spent;		/* seconds since the first attempt */
	double		 left;		/* seconds until no attempt may start
					   (deadline, patience); < 0: none */
	double		 retry_after;	/* the server's Retry-After, 0: none */
	double		 jitter;	/* in [0, 1] */
};

struct retry_decision {
	double		 wait;		/* seconds to the next attempt; < 0:
					   give up now */
	int		 loud;		/* make the retry visible */
	const char	*why;		/* on giving up: why, a phrase */
};

struct retry_decision retry_decide(const struct retry_facts *);

/*
 * The class of a failed connect, from the client library's words (hiredis'
 * errstr: strerror() or getaddrinfo's): RETRY_UNREACHABLE for a refused
 * connection, a name that does not resolve, no route; else
 * RETRY_TRANSIENT.
 */
enum retry_class retry_class_of(const char *cause);

/*
 * RESTORE: a worker's add-consumer failed (no answer from it, an HTTP 5xx,
 * Flower unreachable); Flower's list of workers and the Deployment's pods
 * were then read. What to do about that worker:
 *   - READD_GONE: its pod no longer runs the process the run cancelled
 *     (pod_runs 0: gone, being deleted, exited, restarted: pod_gone_why()):
 *     it has nothing to restore. Only Kubernetes says so: Flower's
 *     "offline" is only missed heartbeats, which a hung worker or Flower's
 *     own broker connection failing (the very cause of an HTTP 500) makes
 *     too; a worker whose pod runs (pod_runs 1), or whose pods could not
 *     be listed (pod_runs -1: a 401, the API down), is asked again
 *     whatever the list says. A list that is the answers to a broadcast
 *     ping (Celery remote control on the broker: `pinged`) says only that
 *     a worker not in it did not answer within a second, as one
 *     reconnecting after a Redis restart or a failover does.
 *   - READD_AGAIN: it may run: ask it again for its consumers after
 *     `wait` seconds (a broadcast lost on the way, e.g. by Flower's broker
 *     connection, stale after a Redis restart, or by a worker whose own
 *     connection is not back yet: the next one usually lands). The wait
 *     is retry_decide()'s for a transient failure once something changed;
 *     at most READD_ASKS add-consumer rounds in all, none that would
 *     start after `left`.
 *   - READD_FAIL: neither the list nor the pods could be read, or the
 *     worker was asked READD_ASKS times or the deadline has come: the run
 *     fails, `why` says which.
 */
#define READD_ASKS	6

enum readd_verdict {
	READD_GONE,
	READD_AGAIN,
	READD_FAIL,
};

struct readd_facts {
	int		 listed;	/* Flower's list of workers was read */
	int		 online;	/* in it: 1 online, 0 offline, -1 absent */
	int		 asked;		/* add-consumer rounds made, >= 1 */
	double		 left;		/* seconds before the state's deadline
					   (0: passed); < 0: none */
	double		 jitter;	/* in [0, 1] */
	int		 pinged;	/* the list is a ping's answers */
	int		 pod_runs;	/* its pod runs the process the run
					   cancelled: 1 yes, 0 no, -1 not
					   known */
};

struct readd_decision {
	enum readd_verdict verdict;
	double		 wait;		/* READD_AGAIN: seconds to wait */
	const char	*why;		/* READD_FAIL: why, a phrase */
};

struct readd_decision retry_readd(const struct readd_facts *);

/*
 * CANCEL: a worker did not answer a cancel-consumer (Flower's 403 "Failed
 * to cancel consumer": a worker just come online whose remote control is
 * not listening yet, a broadcast lost on the way). Cancelling is
 * idempotent, so it is asked again: the wait in seconds before the next
 * attempt, retry_decide()'s for a transient failure once something
 * changed; or -1 (the run fails and restores) once it was asked
 * CANCEL_ASKS times, or if the wait would end after `left` (seconds
 * before the state's deadline; < 0: none). asked >= 1; jitter in [0, 1].
 */
#define CANCEL_ASKS	4

double		retry_cancel(int asked, double left, double jitter);

#endif
