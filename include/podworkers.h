/*
 * podworkers.h -- pods that run several Celery workers (a main worker and a
 * side worker, `celery multi`, a worker in a sidecar): the rules that must
 * count every worker of a pod, not "the" worker. Pure: plain data in,
 * decisions out; no I/O.
 *
 * A worker is named NAME@POD (Celery's --hostname=NAME@%h); NAME, the part
 * before the '@', is what a worker keeps across a restart of its pod.
 */
#ifndef PODWORKERS_H
#define PODWORKERS_H

#include <stddef.h>

#include "util.h"

/* Whether workers a and b have the same NAME (the part before the '@'; a
 * name without one is all NAME). */
int	worker_same_name(const char *a, const char *b);

/* One worker and the queues it consumes (borrowed). */
struct worker_queues {
	const char		*name;		/* NAME@POD */
	const struct strv	*queues;
};

/*
 * VERIFY's rule: every queue an old worker consumed is consumed again by a
 * new worker of the same NAME (csc-bulk-2@new-pod for csc-bulk-2@old-pod);
 * when no new worker has that NAME (a renamed worker), by any new worker.
 * An old worker that consumed nothing asks for nothing. Returns how many
 * (old worker, queue) pairs are not consumed again; when some are, *why
 * (malloc'd, else NULL) names each: "new worker csc-bulk-2@p2 does not
 * consume csc-bulk-2 (csc-bulk-2@p1 did)" or "no new worker consumes
 * csc-bulk-2 (csc-bulk-2@p1 did; no new worker is named csc-bulk-2@...)".
 * With no new worker at all every queue is missing.
 */
size_t	verify_new_workers(const struct worker_queues *old, size_t nold,
	    const struct worker_queues *nw, size_t nnew, char **why);

/* What the run knows of one of its workers, for pod_workers_done(). */
struct worker_done {
	const char	*name;		/* NAME@POD */
	int		 done;		/* drained, or vanished with its pod */
};

/*
 * --handover deletes an old pod once it holds nothing: 1 when every worker
 * of the run on that pod is done (drained or gone), the run has at least
 * one there, and no worker online on that pod in ws (nws of them: the
 * workers the broker or Flower lists now) is one the run does not track;
 * 0 while one of them still drains, if the run tracks none on that pod
 * (not its to delete), or if another worker is online there: a worker
 * that came up after RESOLVE (slow to start, never announced before) may
 * hold a task the run never waited for; it is drained before the pod is
 * stopped (census.h). ws NULL (nws 0): not looked yet, only the run's own
 * workers count.
 */
struct worker_status;
int	pod_workers_done(const char *pod, const struct worker_done *,
	    size_t n, const struct worker_status *ws, size_t nws);

/*
 * RESOLVE: which of the pods that run (need) cannot be drained: missing
 * gets each pod on which no worker is online (as before, one worker a
 * pod); offline gets each worker Flower counts offline on a pod where
 * another one is online (a pod runs several workers, and one of them
 * does not answer: what it holds cannot be drained either). Both are
 * appended to, in the order of need, then of ws. Returns how many were
 * added to both.
 */
size_t	pods_undrainable(const struct strv *need,
	    const struct worker_status *ws, size_t n, struct strv *missing,
	    struct strv *offline);

/*
 * RESOLVE's verdict on a deployment's pods and workers, from the counts it
 * gathered (pods_undrainable()):
 *   workers	online workers on the pods that need one
 *   need	pods that need a worker (running, not being deleted)
 *   missing	of them, pods on which no worker is online
 *   silent	workers offline while their pod runs another
 *   from_selector  the deployment was chosen by -l, not named
 *   drain	a drain (not --undrain, --recover, --status)
 *   undrain	an --undrain
 *   pinged	the workers are the answers to a broadcast ping (Celery
 *		remote control on the broker), which collects 1 s: a worker
 *		slow to answer (a loaded node, a busy broker) is not in it
 *   pings	how many pings were made, >= 1
 * In this order: a ping that left a pod that needs a worker without one
 * is made again, RESOLVE_PINGS times in all (the others are taken as
 * they are); then no worker on pods that need one is a skip (from a
 * selector) or a refusal; then a pod without a worker, or (drain) a silent
 * worker, refuses; then no worker at all refuses anything but a drain;
 * --undrain gives the queues back; a drain with no worker restarts
 * (nothing to drain); else every worker is refreshed.
 */
enum resolve_verdict {
	RESOLVE_SKIP,		/* from a selector: no worker known: skipped */
	RESOLVE_NO_WORKER,	/* no online worker on its pods: refused */
	RESOLVE_PODS_WITHOUT,	/* pods run without an online worker: refused */
	RESOLVE_SILENT,		/* a worker is offline while its pod runs
				   another: refused (drain) */
	RESOLVE_NOT_RUNNING,	/* no worker runs (not a drain): refused */
	RESOLVE_UNDRAIN,	/* --undrain: give the queues back */
	RESOLVE_NOTHING,	/* no pod runs a worker: the restart goes on */
	RESOLVE_REFRESH,	/* read every worker's queues */
	RESOLVE_PING_AGAIN,	/* ask again which workers are online */
};

#define RESOLVE_PINGS	3

struct resolve_facts {
	size_t	workers, need, missing, silent;
	int	from_selector, drain, undrain;
	int	pinged, pings;
};

enum resolve_verdict resolve_verdict(const struct resolve_facts *);

/* One entry of a pod's status.containerStatuses. */
struct container_state {
	const char	*name;
	int		 terminated;	/* state.terminated is set */
	long		 restarts;	/* restartCount */
};

/*
 * Which container runs the pod's worker: the one `kubectl logs` and
 * `kubectl exec` pick by default, the pod's annotation
 * kubectl.kubernetes.io/default-container (NULL: none) if it names one of
 * spec.containers (names, n), else the first of them; NULL if there are
 * none. Borrowed.
 */
const char *worker_container(const char *default_annotation,
	    const char *const *names, size_t n);

/*
 * Whether the pod's worker has exited: the pod's phase is Failed or
 * Succeeded, or the worker's container (worker_container()) has
 * terminated. A sidecar that terminated (a log shipper, a proxy) does not
 * stop the worker. *restarts gets the worker container's restartCount (0
 * if it has no status yet): a restarted sidecar has not restarted the
 * worker. worker NULL (unknown): every container is taken for the
 * worker's: exited once all have terminated, the restarts summed.
 */
int	pod_worker_exited(const char *phase, const struct container_state *,
	    size_t n, const char *worker, long *restarts);

#endif
