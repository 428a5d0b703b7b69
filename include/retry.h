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

#endif
