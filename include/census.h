/*
 * census.h -- which pods an action may stop: no worker of the old template
 * is stopped before this run has drained it.
 *
 * The set of workers a run drains is fixed at RESOLVE, but pods come and go
 * meanwhile: an autoscaler (HPA, KEDA) or an operator's `oc scale` adds a
 * replica, a pod that was Pending or crash-looping gets a worker that starts
 * consuming. So just before the action that stops the old pods (the restart
 * PATCH in place, RETIRE with --handover), the driver lists the pods again,
 * asks the broker (or Flower) which workers are online, and census_decide()
 * says whether the action may go ahead.
 *
 * Pure: plain data in, a verdict out; no I/O.
 *
 * A pod's verdict (census_pod()), in this order:
 *   CV_SPARED    the action does not stop it (a pod of the new template,
 *                a StatefulSet's pod below the partition);
 *   CV_LEAVING   being deleted already: its worker is in warm shutdown,
 *                stopping it again changes nothing;
 *   CV_IDLE      no container runs (Pending, ContainerCreating,
 *                CrashLoopBackOff between two starts): it holds no task;
 *   CV_NEWCOMER  it runs an online worker this run never cancelled, or
 *                one whose process restarted since the run cancelled it
 *                (its container restarted in place: the new process
 *                consumes its queues again): cancel and drain that worker
 *                (again) first;
 *   CV_BUSY      a worker of this run there is not drained yet;
 *   CV_DRAINED   every worker this run tracks there is drained (or has
 *                vanished), and no other runs online there;
 *   CV_UNKNOWN   a container runs, but no worker is online there and this
 *                run tracks none: its worker may be starting. Never stopped
 *                on a guess: it is looked at again until it is known.
 *
 * census_decide(): CA_DRAIN if any pod is CV_NEWCOMER (the newcomers are
 * drained first, then the census runs again); else CA_WAIT if any is
 * CV_BUSY or CV_UNKNOWN (look again within the drain's time limit; when it
 * runs out the run aborts and restores, as a drain that times out does);
 * else CA_GO.
 */
#ifndef CENSUS_H
#define CENSUS_H

#include <stddef.h>

#include "flower.h"

struct census_pod {
	const char	*name;
	int		 stopped;	/* the action stops it */
	int		 terminating;	/* deletionTimestamp set */
	int		 running;	/* a container runs */
};

struct census_worker {
	const char	*name;		/* deployment@pod (worker_pod()) */
	int		 online;	/* the broker or Flower says so now */
	int		 tracked;	/* this run cancelled its consumers */
	int		 drained;	/* ... and saw it drained, or vanish */
	int		 restarted;	/* ... but its process is not the one
					   cancelled: census_restarted() */
};

enum census_verdict {
	CV_SPARED,
	CV_LEAVING,
	CV_IDLE,
	CV_NEWCOMER,
	CV_BUSY,
	CV_DRAINED,
	CV_UNKNOWN,
};

enum census_action {
	CA_GO,		/* every pod the action stops holds nothing */
	CA_DRAIN,	/* cancel and drain the newcomers first */
	CA_WAIT,	/* look again */
};

enum census_verdict census_pod(const struct census_pod *,
		    const struct census_worker *, size_t nw);
/* verdicts: np entries filled in, or NULL. */
enum census_action census_decide(const struct census_pod *, size_t np,
		    const struct census_worker *, size_t nw,
		    enum census_verdict *verdicts);
/*
 * After the restart PATCH (in place), until the rollout is complete, the
 * Deployment controller stops the pods of the old template as the new ones
 * become ready, and gives the old ReplicaSet new pods when the Deployment
 * is scaled meanwhile (proportional scaling; or a scale that raced the
 * PATCH). census_rollout() says what the run does about them; pods: the
 * Deployment's pods, stopped = of the old template (its pod-template-hash
 * is not the new ReplicaSet's). Verdicts (out, if not NULL) as census_pod();
 * then, in this order:
 *   CR_DRAIN   a pod is CV_NEWCOMER, or CV_BUSY (a worker of this run not
 *              drained: a newcomer whose drain an interrupted run left to
 *              --recover) unless forced (--on-timeout force: the run
 *              restarts those anyway): hold the rollout (pause the
 *              Deployment), cancel and drain them, then resume it;
 *   CR_GIVEUP  else a pod is CV_UNKNOWN (its container runs, no worker is
 *              online there yet: it may be about to take tasks) and the
 *              run has held the rollout for such pods held seconds, more
 *              than limit (limit <= 0: no limit): the run fails and says so;
 *   CR_HOLD    else a pod is CV_UNKNOWN: hold the rollout, look again;
 *              unless the run was interrupted (its worker holds no task
 *              yet: an interrupted run does not wait for it): CR_ROLL;
 *   CR_ROLL    else (nothing of the old template runs a worker this run
 *              has not drained): the rollout goes on (resumed if held).
 */
enum census_roll {
	CR_ROLL,
	CR_HOLD,
	CR_DRAIN,
	CR_GIVEUP,
};

enum census_roll census_rollout(const struct census_pod *, size_t np,
		    const struct census_worker *, size_t nw, int forced,
		    int interrupted, double held, double limit,
		    enum census_verdict *verdicts);
const char	*census_roll_name(enum census_roll);

/*
 * Whether ROLLOUT's look at the pods must also ask which workers are online
 * (one Flower or broker request each look would be many during a long
 * rollout). Only if a pod the rollout stops runs (not CV_IDLE, not being
 * deleted); then yes if its mark (marks[i] for pods[i]) is not among
 * known, the marks of the pods the last answer found with nothing to drain
 * (CR_ROLL), or if that answer is age seconds old, CENSUS_ASK_EVERY or
 * more (age < 0: none yet): a worker process may start in a container
 * that changes nothing the pod shows. A pod's mark (the driver puts its
 * name, uid, its worker container's restartCount and readiness) changes
 * when a worker may have come up there: a pod added, a container
 * (re)started. A pod without a mark (NULL) is always asked about.
 */
#define CENSUS_ASK_EVERY	5.0

int		 census_ask(const struct census_pod *pods,
		    const char *const *marks, size_t np,
		    const char *const *known, size_t nknown, double age);

/*
 * Whether the worker process the run cancelled on a pod has been replaced
 * by another since: the pod's uid then (uid0) and now differ (a
 * StatefulSet's pod deleted and created again under its name), or the
 * worker container's restartCount grew (restarted in place: a failed
 * liveness probe, an OOM kill). A uid not known on either side is not a
 * difference.
 */
int		 census_restarted(const char *uid0, long restarts0,
		    const char *uid, long restarts);
/* Worker w is a newcomer: online, untracked (or restarted), on a
 * CV_NEWCOMER pod. */
int		 census_newcomer(const struct census_pod *, size_t np,
		    const struct census_worker *w);
const char	*census_verdict_name(enum census_verdict);

/*
 * A newcomer's queues are read (Flower's refresh, or the broker's) before
 * it is cancelled. A worker that has just come online may not answer that
 * yet (FLOWER_EUNKNOWN, FLOWER_ENOREPLY) or the request may time out
 * (FLOWER_EDOWN). census_refresh_again(): 1 if the read that failed with e,
 * attempt tries (1 the first), is made again CENSUS_REFRESH_EVERY seconds
 * later: e is one of those, tries < CENSUS_REFRESH_TRIES, and left, the
 * seconds before the state's deadline (negative: none), is more than
 * CENSUS_REFRESH_EVERY; else the error is final (the run fails, as a
 * worker it cannot read). An error asking again cannot change (401, a
 * malformed answer, an API Flower has not) is final at once.
 */
#define CENSUS_REFRESH_TRIES	5
#define CENSUS_REFRESH_EVERY	1.0

int		 census_refresh_again(enum flower_err e, int tries,
		    double left);

/*
 * The template of the workload's new pods, the only ones VERIFY accepts
 * (a pod merely not among the old ones may be a replica added to an old
 * ReplicaSet): for a Deployment, the pod-template-hash label of the
 * ReplicaSet it controls (ownerReference with controller true, its uid)
 * whose deployment.kubernetes.io/revision annotation is the Deployment's
 * own; for a StatefulSet (kind), its status.updateRevision, which its
 * pods carry as controller-revision-hash. NULL while not known. Borrowed
 * from the objects.
 */
struct json_t;
const char	*census_new_template(struct json_t *workload,
		    struct json_t *rslist);
/*
 * Of the workload, only what census_new_template() reads (kind, uid, the
 * revision annotation, status.updateRevision): a new object, so that a
 * run keeps a few bytes, not the whole Deployment, until VERIFY.
 */
struct json_t	*census_template_facts(struct json_t *workload);

#endif
