/*
 * flower.h -- the Flower HTTP API client (thin: requests and error
 * wording; parsing lives in worker.c).
 *
 * Only per-worker calls are used in loops: GET /api/workers?refresh=1&
 * workername=W (25-40 ms) and never the all-workers refresh (2 s).
 * Basic credentials are sent preemptively: Flower's 401 has no challenge.
 *
 * Error texts say what happened and what to do, e.g.
 *   "Flower http://127.0.0.1:5555: connection refused (is the port-forward
 *    running?)"
 *   "Flower ...: HTTP 401: credentials refused; set --flower-user and
 *    --flower-password-file"
 *   "Flower ...: worker ecal-bulk@x did not answer (HTTP 403: ...)"
 * Answers of other Flower versions and set-ups (fixtures/flower/v*):
 *   405 "api is not available when auth is enabled"  Flower 1.x with any
 *       auth: no API at all (FLOWER_ENOAPI);
 *   403 "Read only mode is enabled"  Flower 2.1 --read-only, to cancel and
 *       add-consumer (FLOWER_EREADONLY);
 *   401 "FLOWER_UNAUTHENTICATED_API environment variable is required..."
 *       Flower 2.x without auth and without that variable (FLOWER_EAUTH,
 *       with its own advice: credentials would not help).
 * In --control auto, ctl.c goes on over the broker on ENOAPI and EREADONLY
 * as on EDOWN.
 * A 200 for a worker that Flower lists offline is stale cached data; the
 * caller decides with the status map, never from the refresh alone.
 */
#ifndef FLOWER_H
#define FLOWER_H

#include "worker.h"

struct http;
struct fcall;

/*
 * Requests out to Flower at once, per process. Flower serves its API from
 * one Tornado loop (control calls block it; a refresh runs its eight inspect
 * calls on a few executor threads), so more at once only queue inside
 * Flower, where the request timeout would count the queue; the rest wait
 * here, in order, and their timeout starts when they are sent.
 */
#define FLOWER_INFLIGHT	4

struct flower {
	struct http	*http;
	char		*url;		/* base, no trailing slash; as
					   http_url_shown() gives it, so
					   messages may show it */
	char		*user;
	char		*password;	/* secret */
	double		 timeout;	/* per request, seconds */
	double		 patience;	/* seconds to keep trying to reach
					   Flower (connect, retry) before it
					   counts as down; a reply, once
					   connected, is waited for up to
					   timeout. 0: until the deadline */
	/* private: the requests out, and those waiting their turn */
	int		 inflight;
	struct fcall	*waiting, *waiting_tail;
};

enum flower_err {
	FLOWER_OK = 0,
	FLOWER_EDOWN,		/* unreachable / timeout / 5xx */
	FLOWER_EAUTH,		/* 401 */
	FLOWER_EUNKNOWN,	/* 404: unknown worker */
	FLOWER_ENOREPLY,	/* 403: worker did not reply */
	FLOWER_EBAD,		/* malformed answer, unexpected status */
	FLOWER_ENOAPI,		/* 405: Flower 1.x has no API with auth on */
	FLOWER_EREADONLY,	/* 403: Flower 2.1 --read-only */
};

typedef void flower_status_cb(enum flower_err, struct worker_status *, size_t n,
	    const char *err, void *arg);
typedef void flower_snap_cb(enum flower_err, struct worker_snap *,
	    const char *err, void *arg);
typedef void flower_done_cb(enum flower_err, const char *err, void *arg);

/*
 * Classify an HTTP answer of Flower (pure): FLOWER_OK for a 200, else the
 * class and, in err, what it is and what to do. what: "listing workers",
 * "cancelling consumer of Q on W", ...
 */
enum flower_err flower_classify(const char *url, const char *what, long status,
	    const char *body, size_t len, char *err, size_t errlen);

/* GET /api/workers?status=true. The callee owns the array after the call. */
void	flower_status(struct flower *, double deadline, flower_status_cb *,
	    void *);
/* GET /api/workers?refresh=1&workername=W; snap is the callee's to keep. */
void	flower_refresh(struct flower *, const char *worker, double deadline,
	    flower_snap_cb *, void *);
/* POST /api/worker/queue/{cancel,add}-consumer/W?queue=Q */
void	flower_consumer(struct flower *, int add, const char *worker,
	    const char *queue, double deadline, flower_done_cb *, void *);
/*
 * Flower is taken for down: every request still waiting its turn fails now
 * as FLOWER_EDOWN (its callback runs inside this call), none is sent.
 */
void	flower_drop_waiting(struct flower *);

#endif
