/*
 * kube.h -- the Kubernetes API client (apps/v1 Deployments, v1 Pods) and the
 * pure functions that read its objects.
 *
 * Pure: deploy_parse() extracts what a drain needs from a Deployment
 * (spec.paused included: `kubectl rollout restart` refuses a paused one);
 * rollout_status() is `kubectl rollout status`'s decision as a function of
 * the Deployment object; pods_parse() lists a deployment's pods (being
 * deleted or not, whether a container runs, the STATUS `kubectl get pods`
 * shows) and pod_gone_why() says whether one of them has stopped running
 * its worker.
 * StatefulSets (issue 11) are addressed as "statefulset/NAME" targets (see
 * kube_target_parse()) by the same calls; sts_rollout_status() is kubectl's
 * decision for them.
 * I/O: kube_get_deployment(), kube_list() (pods, deployments,
 * statefulsets, replicasets),
 * kube_restart_images() (the strategic-merge PATCH `oc rollout restart`
 * sends),
 * kube_annotate() (a merge PATCH of the Deployment's own annotations:
 * holds, hold.h).
 *
 * Credentials: the kubeconfig's token or client certificate, or, when the
 * user has an exec plugin, the credential execcred.h gets from it (asked for
 * before each request, so the plugin runs only when it has none fresh). A
 * 401 to a plugin's credential runs the plugin again and retries the
 * request once (an API server checks credentials before anything else, so
 * a refused PATCH was not applied); a second 401 is KUBE_EAUTH with advice
 * to log in again. A plugin that fails makes the request fail with
 * KUBE_EAUTH and the plugin's error.
 * proxy-url is handed to http.h (socks5:// as libcurl's socks5h://, which
 * resolves names at the proxy as kubectl does); tls-server-name as
 * http_tls.server_name (CURLOPT_CONNECT_TO, see http.h).
 *
 * Errors are Kubernetes Status objects; their message is shown, with advice:
 * 401 -> the token may have expired, log in again (oc login);
 * 403 -> which verb on which resource the account lacks;
 * 404 -> the deployment does not exist in that namespace.
 */
#ifndef KUBE_H
#define KUBE_H

#include <stddef.h>

#include "kubeconfig.h"
#include "util.h"

struct execcred;
struct http;
struct json_t;

struct kube {
	struct http		*http;
	struct kube_creds	*creds;
	struct execcred		*exec;	/* creds->exec's runner, or NULL */
	char			*ns;
	double			 timeout;
};

struct deploy_info {
	char		*name;
	char		*selector;	/* "k=v,k2=v2" from matchLabels */
	long		 replicas;
	long		 generation;
	double		 progress_deadline;	/* seconds; 600 if unset */
	double		 grace;			/* terminationGracePeriodSeconds */
	char		*restarted_at;		/* current annotation or NULL */
	int		 paused;		/* spec.paused: a restart would
						   not roll out */
	int		 on_delete;		/* a StatefulSet's
						   spec.updateStrategy.type
						   OnDelete: a restart would
						   not roll out either */
	long		 partition;		/* a StatefulSet's
						   rollingUpdate.partition:
						   ordinals below it are not
						   restarted; 0 if none */
	struct strv	 queues;		/* the pod template's Celery
						   command lines name
						   (worker_argv_queues()) */
};

enum rollout_state {
	ROLLOUT_DONE,
	ROLLOUT_WAITING,	/* message says why */
	ROLLOUT_FAILED,		/* ProgressDeadlineExceeded */
};

#define POD_STATE_MAX	100

struct pod_info {
	char	*name;
	char	*uid;		/* metadata.uid, or NULL */
	int	 ready;
	int	 terminating;	/* deletionTimestamp set */
	int	 exited;	/* phase Failed/Succeeded, or the worker's
				   container terminated (podworkers.h) */
	long	 restarts;	/* the worker's container's restartCount */
	int	 running;	/* a container runs (state.running) */
	char	*tmpl;		/* its template: the pod-template-hash label
				   (a Deployment's pod) or the
				   controller-revision-hash (a StatefulSet's);
				   NULL if none (census_new_template()) */
	char	*state;		/* kubectl get pods' STATUS: Running,
				   Pending, ContainerCreating,
				   CrashLoopBackOff, Error, Terminating...;
				   the status' reason, so cut to
				   POD_STATE_MAX bytes (utf8_cap()) */
};

struct pod_list {
	struct pod_info	*v;
	size_t		 n;
};

int	deploy_parse(struct json_t *, struct deploy_info *, char *err,
	    size_t errlen);
void	deploy_info_free(struct deploy_info *);

/* The decision; msg (may be NULL) receives kubectl's words. */
enum rollout_state rollout_status(struct json_t *deployment, char *msg,
	    size_t msglen);
/*
 * kubectl's StatefulSetStatusViewer: the same for a StatefulSet. OnDelete
 * (any type but RollingUpdate) is ROLLOUT_FAILED with kubectl's error.
 */
enum rollout_state sts_rollout_status(struct json_t *statefulset, char *msg,
	    size_t msglen);

/*
 * Targets: what the commands name, as `oc` takes them. "NAME",
 * "deployment/NAME", "deploy/NAME" and "deployments/NAME" are the
 * Deployment NAME, canonically "NAME" (the keys and leases of a
 * Deployment stay what they were); "statefulset/NAME", "sts/NAME" and
 * "statefulsets/NAME" are the StatefulSet NAME, canonically
 * "statefulset/NAME" (no Kubernetes name holds a '/', so the two never
 * share a key).
 *
 * kube_target_parse: the canonical form (the caller frees it), or NULL
 * and why in err for an unknown type (a usage error); NAME itself is
 * checked (a DNS-1123 label) where a name always was, when the run
 * resolves it. kube_target_split: of a canonical target, whether it is
 * a StatefulSet, and its NAME (a pointer into target).
 * kube_get_deployment(), kube_restart_images() and kube_annotate() take
 * canonical targets and address the StatefulSet's
 * /apis/apps/v1/namespaces/NS/statefulsets/NAME for a StatefulSet.
 */
char	*kube_target_parse(const char *arg, char *err, size_t errlen);
/* The ordinal of StatefulSet sts's pod (NAME-N), or -1. */
long	 sts_pod_ordinal(const char *sts, const char *pod);
int	 kube_target_split(const char *target, const char **name);
/* "deployment" or "statefulset" */
const char *kube_target_kind(const char *target);

int	pods_parse(struct json_t *podlist, struct pod_list *, char *err,
	    size_t errlen);
void	pod_list_free(struct pod_list *);
const struct pod_info *pod_list_find(const struct pod_list *,
	    const char *name);
/*
 * What tells a pod from its replacement: its name for a Deployment's (a
 * new pod gets a new name), its uid for a StatefulSet's (sts nonzero: the
 * replacement of NAME-0 is NAME-0 again). The journal's old_pods holds
 * these.
 */
const char *pod_identity(const struct pod_info *, int sts);
/*
 * Whether a pod still runs the worker it ran when `before` was listed
 * (before may be NULL: unknown). NULL if it does; else why not, in words:
 * the pod is gone (now NULL), being deleted, its container exited, it was
 * replaced (another uid under its name: a StatefulSet's), or it
 * restarted. A Celery worker that does not answer is not gone while this
 * says NULL: its broker or Flower may be what is failing.
 */
const char *pod_gone_why(const struct pod_info *now,
	    const struct pod_info *before);

/*
 * Describe a failed API answer (status code + Status body) in one line,
 * with the advice above. what: "getting deployment ecal-bulk".
 */
void	kube_describe_error(long status, const char *body, size_t len,
	    const char *what, const char *server, char *err, size_t errlen);

enum kube_err {
	KUBE_OK = 0,
	KUBE_EDOWN,	/* unreachable, timeouts, 5xx after retries */
	KUBE_EAUTH,	/* 401 */
	KUBE_EFORBIDDEN,/* 403 */
	KUBE_ENOTFOUND,	/* 404 */
	KUBE_ECONFLICT,	/* 409: a conflict; a create's AlreadyExists */
	KUBE_EBAD,	/* malformed answer, other status */
};

/* obj: the parsed JSON body on success (borrowed; valid during the call). */
typedef void kube_cb(enum kube_err, struct json_t *obj, const char *err,
	    void *arg);

void	kube_get_deployment(struct kube *, const char *name, double deadline,
	    kube_cb *, void *);

/*
 * A watch (GET ...?watch=1, as kubectl's informers send it) of the
 * namespace's "deployments" (or another kube_list() resource), from
 * resourceVersion rv (NULL: the current state first, as ADDED events, then
 * what follows), field_selector may be NULL; the server ends it after
 * timeout_secs. The stream is read as it arrives, never kept whole: each
 * line, one event, is parsed alone and given to on_event (type "ADDED",
 * "MODIFIED", "DELETED", "BOOKMARK" or "ERROR", whose object is a Status:
 * code 410 when rv is too old), borrowed during the call; on_event returns
 * nonzero to stop the watch. on_end runs once, when the stream has ended:
 * KUBE_OK when the server ended it or on_event stopped it, else the error
 * and the HTTP status (0: none), as kube_cb's. Not retried: the caller
 * decides (watch.h). kube_watch_cancel(): stop it, on_end never runs; not
 * from inside on_event.
 */
typedef int	kube_event_cb(const char *type, struct json_t *obj, void *arg);
struct kcall;
typedef void	kube_watch_cb(enum kube_err, long status,
		    const char *err, void *arg);
struct kcall	*kube_watch(struct kube *, const char *resource,
		    const char *field_selector, const char *rv,
		    long timeout_secs, kube_event_cb *on_event,
		    kube_watch_cb *on_end, void *arg);
void		 kube_watch_cancel(struct kcall *);
/*
 * GET the namespace's "deployments", "statefulsets", "replicasets" or
 * "pods" by label selector; selector NULL: all of them.
 */
void	kube_list(struct kube *, const char *resource, const char *selector,
	    double deadline, kube_cb *, void *);
/*
 * The seconds a PATCH of a Deployment or StatefulSet asks the API server
 * to give up after (its "timeout" query, as kubectl --request-timeout
 * sends it), for a client request timeout: at least 1. A write the
 * server has not applied by then it never applies (504): --recover waits
 * that long for a PATCH a dead run may have left in flight.
 */
long	kube_write_timeout(double request_timeout);
/*
 * A write whose fate the caller may have to find out (the restart PATCH,
 * --handover's pause): given to the call that sends it, kept by the
 * caller, filled by the client. call: the request while it runs (NULL
 * once it called back or was cancelled); last_sent: ev_now() when an
 * attempt of it last went out (only grows; 0: none has), after which the
 * API server may still apply it for kube_write_timeout() seconds.
 * kube_write_cancel(): cancel w's request if it runs (its transfer closed,
 * its callback never runs); returns the callback's arg, for the caller to
 * release, or NULL if none was running.
 */
struct kcall;
struct kube_write {
	struct kcall	*call;
	double		 last_sent;
};
void	*kube_write_cancel(struct kube_write *);

/*
 * GET /apis/image.openshift.io/v1/namespaces/NS/imagestreamtags/NAME
 * (NAME: STREAM:TAG) of namespace ns (NULL: the client's).
 */
void	kube_get_imagestreamtag(struct kube *, const char *ns,
	    const char *name, double deadline, kube_cb *, void *);
/*
 * The restart PATCH, as `kubectl rollout restart` sends it: a strategic
 * merge patch of spec.template.metadata.annotations restartedAt = when;
 * resume: spec.paused false in the same body (--handover); images: the
 * images of the containers named there ([{"name", "image"}], merged by
 * name; NULL: none). rv: NULL, or a precondition: the object's
 * metadata.resourceVersion as the caller last read it. The API server
 * applies the PATCH only to that version; an object changed since is
 * answered 409 Conflict (KUBE_ECONFLICT, not retried). No attempt of it
 * can land after that, since a resourceVersion never comes back. An
 * unconditional PATCH is retried on a 409.
 */
void	kube_restart_images(struct kube *, const char *name, const char *when,
	    int resume, struct json_t *images, const char *rv, double deadline,
	    struct kube_write *, kube_cb *, void *);
/* PATCH (JSON merge patch) metadata.annotations key = value; value NULL
 * removes it. */
void	kube_annotate(struct kube *, const char *name, const char *key,
	    const char *value, double deadline, kube_cb *, void *);

/* The same, only if the object's metadata.resourceVersion is still rv
 * (else KUBE_ECONFLICT, not retried). */
void	kube_annotate_at(struct kube *, const char *name, const char *key,
	    const char *value, const char *rv, double deadline, kube_cb *,
	    void *);

/*
 * --handover (see drain-and-rollout(1)). kube_pause(): a merge PATCH of
 * spec.paused. kube_list() lists the ReplicaSets
 * by label selector. kube_delete(): DELETE of a "replicasets" or "pods" object,
 * with propagationPolicy Orphan if orphan. kube_pod_labels(): a merge PATCH
 * of a pod's metadata.labels (a JSON null value removes the label).
 * kube_create_replicaset(): POST of a manifest (rs_recreate()); retried
 * on timeouts and 5xx, so a 409 AlreadyExists may answer a retry of a
 * create that landed: the object is read and, if rs_create_ours()
 * (landed.h) says it is the one meant, the create succeeds with it;
 * another 409 is KUBE_ECONFLICT.
 */
void	kube_pause(struct kube *, const char *name, int paused,
	    double deadline, struct kube_write *, kube_cb *, void *);
void	kube_delete(struct kube *, const char *resource, const char *name,
	    int orphan, double deadline, kube_cb *, void *);
void	kube_pod_labels(struct kube *, const char *pod, struct json_t *labels,
	    double deadline, kube_cb *, void *);
void	kube_create_replicaset(struct kube *, struct json_t *manifest,
	    double deadline, kube_cb *, void *);

/*
 * Pure, for --handover. rs_owned(): the ReplicaSets of a list whose
 * controller ownerReference is the Deployment uid (a new array). rs_recreate():
 * what POSTing the ReplicaSet again takes: its name, labels, annotations
 * (the revision ones included), ownerReferences (without blockOwnerDeletion,
 * which needs update on deployments/finalizers), spec with replicas set,
 * without what the server sets (uid, resourceVersion, status...); a new
 * object.
 */
/* The message of a Deployment's (or ReplicaSet's) ReplicaFailure condition
 * (pods not created: a quota...), or NULL. Borrowed from the object. */
const char	*replica_failure(struct json_t *obj);
struct json_t	*rs_owned(struct json_t *rslist, const char *deploy_uid);
struct json_t	*rs_recreate(struct json_t *rs, long replicas);

/*
 * Pure (rsplan.c): what the Deployment controller does to old ReplicaSets
 * given back while a rollout is stuck (a failed --handover).
 * deploy_fenceposts(): maxSurge and maxUnavailable resolved as
 * ResolveFenceposts() and MaxUnavailable() do (percentages of
 * spec.replicas, surge rounded up, unavailable down, both 0 -> 1
 * unavailable, 25% when unset; Recreate or 0 replicas: 0, 0); -1 and err
 * for a value that is neither a number nor a percentage.
 * rollout_old_stops(): how many pods of each old ReplicaSet (old[], in
 * creation order: replicas, available pods) the controller stops when the
 * new ReplicaSet (nw) never gets more pods available: RollingUpdate runs
 * reconcileNewReplicaSet and reconcileOldReplicaSets
 * (cleanupUnhealthyReplicas, then scaleDownOldReplicaSetsForRollingUpdate)
 * until nothing changes; Recreate scales every old one to 0. stops[i] per
 * old ReplicaSet, old[] left as the controller leaves them; the total.
 * giveback_plan(): for the Deployment as it is now, the ReplicaSets listed
 * now (rs_now: an array), the journalled old ones and their pods
 * ([{"name", "hash"}]) as listed (pods): {"replicas": {old ReplicaSet:
 * replicas to recreate it with}, "shed": [old pods to drain and delete
 * first, the not ready first], "stops": how many}, so that the controller,
 * once resumed, has no old pod to stop. None when the Deployment's
 * template is an old ReplicaSet's (the restart was not applied). NULL and
 * err for a bad strategy.
 */
struct rs_scale {
	long	replicas;
	long	available;
};
struct pod_list;
int		 deploy_fenceposts(struct json_t *deployment, long *surge,
		    long *unavailable, char *err, size_t errlen);
long		 rollout_old_stops(int recreate, long replicas, long surge,
		    long unavailable, struct rs_scale nw, struct rs_scale *old,
		    size_t nold, long *stops);
struct json_t	*giveback_plan(struct json_t *deployment, struct json_t *rs_now,
		    struct json_t *old_rss, struct json_t *old_pods,
		    const struct pod_list *pods, char *err, size_t errlen);

#endif
