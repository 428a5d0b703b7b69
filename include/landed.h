/*
 * landed.h -- did a write of ours land? Pure decisions, no I/O.
 *
 * A write the client gave up on (a signal, a deadline, a 504, a lost
 * answer) may have been applied by the API server, or may still be: a
 * request already handed to it is processed until the "timeout" its query
 * carries (kube_write_timeout()) has passed. The driver asks these
 * functions what the objects it read afterwards say.
 *
 * patch_fate(): the fate of the restart PATCH (or --handover's pause),
 * from plain facts:
 *   ours      the value it sets (the restartedAt annotation; "true" for
 *             the pause); NULL or "": unknown, never matches
 *   before    that field as the run first read it, before its drain
 *             (NULL: absent); a caller that does not know it passes seen
 *   seen      that field in the Deployment as read (NULL: absent, or not
 *             read at all)
 *   sent      0: no attempt was ever sent, so none can land
 *   sent_ago  seconds between the last attempt's send and the read's
 *             send; negative: the last attempt may still go out that
 *             many seconds later (a dead run's, whose journal only knows
 *             when its retries end)
 *   window    seconds after a send by which the server has applied or
 *             dropped it (the query's timeout plus a margin for transit)
 *   undone    1 if what the run does next undoes the write (a pause that
 *             GIVEBACK resumes): a copy still in flight would land after
 *             that undo, so even a write seen applied is only settled
 *             once the window has passed
 * PATCH_LANDED: the Deployment holds our value and nothing in flight can
 * change that (go on as restarted). PATCH_FOREIGN: none of ours can land
 * any more, and the field holds neither ours nor the value before: someone
 * else restarted the Deployment meanwhile (kubectl rollout restart), so
 * its old pods are being replaced: not ours, yet restoring consumers into
 * them would hand tasks to pods being stopped (go on as restarted, naming
 * the restart as another's). PATCH_LOST: it did not land and no attempt
 * can land any more (restore). PATCH_WAIT: an attempt may still land:
 * read again after *wait seconds (wait may be NULL).
 *
 * patch_window(): the "window" above, in seconds after an attempt's
 * send: until then the API server may apply it. The client cannot know
 * when its request reached the server (a retransmitted SYN or segment, a
 * load balancer connecting to a backend), only that its bytes went out by
 * the attempt's own limit (attempt, the client's request timeout); the
 * server's timeout (server, the query's) starts when it receives it; plus
 * PATCH_MARGIN. Negative inputs count as 0.
 *
 * patch_again(): the restart PATCH (in place) carries the workload's
 * resourceVersion as the census read it, before the pods (kube.h
 * kube_restart_images()). refused: it was answered 409 Conflict, so the
 * workload changed since (a scale, a pod's status, another's edit) and
 * none of its attempts can land any more: the fate f of the read that
 * follows is final (patch_fate() with sent 0). refusals: the refusals of
 * this run so far, this one included. stopping: the run was interrupted.
 * What the run does about the refusal: REFUSAL_AGAIN: look at the pods
 * again (DRAIN's census: newcomers drained first) and send the PATCH again
 * with the version read then: a refused PATCH that did not land
 * (PATCH_LOST; an earlier attempt that landed is PATCH_LANDED, the retry
 * refused because of it), the run not stopping, and fewer than
 * PATCH_REFUSALS refusals. REFUSAL_GIVE_UP: the same, but PATCH_REFUSALS
 * refusals (a workload that changes faster than a census is given up on:
 * the run restores, aborted). REFUSAL_STOPPED: the same, but the run was
 * interrupted: it restores, and the signal is why (the refusal failed
 * nothing). REFUSAL_NONE for anything else (not refused, or something
 * landed: INFLIGHT decides as for any failed PATCH).
 *
 * rs_create_ours(): a ReplicaSet create answered 409 AlreadyExists (a
 * retry of a create that had landed): 1 if existing, the object now
 * there, is the one the run meant to create (same name, same
 * pod-template-hash label, and a controller ownerReference with the same
 * uid as the manifest's, and not being deleted), so the create
 * succeeded; 0 for anything else (another object of that name, or the
 * old one still awaiting its garbage collection: the 409 is the error it
 * is).
 */
#ifndef LANDED_H
#define LANDED_H

struct json_t;

enum patch_fate {
	PATCH_LANDED,
	PATCH_FOREIGN,
	PATCH_LOST,
	PATCH_WAIT,
};

/* The margin added to a write's server-side timeout (transit, clocks). */
#define PATCH_MARGIN	1.0

enum patch_fate	 patch_fate(const char *ours, const char *before,
		    const char *seen, int sent, double sent_ago, double window,
		    int undone, double *wait);
const char	*patch_fate_name(enum patch_fate);
double		 patch_window(double attempt, double server);
int		 rs_create_ours(struct json_t *existing, struct json_t *manifest);
/* The refusals after which a run gives up restarting (patch_again()). */
#define PATCH_REFUSALS	5
enum patch_refusal {
	REFUSAL_NONE,
	REFUSAL_AGAIN,
	REFUSAL_GIVE_UP,
	REFUSAL_STOPPED,
};
enum patch_refusal patch_again(enum patch_fate f, int refused, int refusals,
		    int stopping);

#endif
