/* kube.c -- Kubernetes API client and pure readers; see include/kube.h. */
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "execcred.h"
#include "http.h"
#include "kube.h"
#include "landed.h"
#include "worker.h"
#include "podworkers.h"

#define KUBE_MAX_BODY	(16u << 20)
#define RESTARTED_AT	"kubectl.kubernetes.io/restartedAt"

static long
jint(json_t *o, const char *path1, const char *path2, long dflt)
{
	json_t	*v = json_object_get(o, path1);

	if (path2 != NULL)
		v = json_object_get(v, path2);
	return json_is_integer(v) ? (long)json_integer_value(v) : dflt;
}

/* The queues the pod spec's containers' Celery command lines name. */
static void
template_queues(json_t *podspec, struct strv *out)
{
	json_t		*c, *v;
	size_t		 i, j;
	const char	**argv = NULL;
	size_t		 n = 0;

	json_array_foreach(json_object_get(podspec, "containers"), i, c) {
		static const char *const part[] = { "command", "args" };
		for (size_t k = 0; k < 2; k++)
			json_array_foreach(json_object_get(c, part[k]), j, v)
				if (json_is_string(v)) {
					argv = xrealloc(argv, (n + 1) *
					    sizeof *argv);
					argv[n++] = json_string_value(v);
				}
		worker_argv_queues(argv, n, out);
		n = 0;
	}
	free(argv);
}

int
deploy_parse(json_t *d, struct deploy_info *di, char *err, size_t errlen)
{
	json_t		*meta, *spec, *ml, *v, *tmpl, *ann;
	const char	*k;
	struct strv	 sel = { 0 };
	char		*kv;

	memset(di, 0, sizeof *di);
	meta = json_object_get(d, "metadata");
	spec = json_object_get(d, "spec");
	if (!json_is_object(d) || !json_is_object(meta) ||
	    !json_is_object(spec) ||
	    !json_is_string(json_object_get(meta, "name"))) {
		snprintf(err, errlen, "not a Deployment object");
		return -1;
	}
	ml = json_object_get(json_object_get(spec, "selector"), "matchLabels");
	if (!json_is_object(ml) || json_object_size(ml) == 0) {
		snprintf(err, errlen, "deployment has no "
		    "spec.selector.matchLabels");
		return -1;
	}
	json_object_foreach(ml, k, v) {
		if (!json_is_string(v)) {
			strv_free(&sel);
			snprintf(err, errlen, "matchLabels value is not a string");
			return -1;
		}
		kv = xasprintf("%s=%s", k, json_string_value(v));
		strv_add(&sel, kv);
		free(kv);
	}
	di->selector = strv_join(&sel, ",");
	strv_free(&sel);
	di->name = xstrdup(json_string_value(json_object_get(meta, "name")));
	di->replicas = jint(spec, "replicas", NULL, 1);
	di->generation = jint(meta, "generation", NULL, 0);
	di->progress_deadline = (double)jint(spec, "progressDeadlineSeconds",
	    NULL, 600);
	tmpl = json_object_get(spec, "template");
	di->grace = (double)jint(json_object_get(tmpl, "spec"),
	    "terminationGracePeriodSeconds", NULL, 30);
	ann = json_object_get(json_object_get(tmpl, "metadata"), "annotations");
	v = json_object_get(ann, RESTARTED_AT);
	if (json_is_string(v))
		di->restarted_at = xstrdup(json_string_value(v));
	di->paused = json_is_true(json_object_get(spec, "paused"));
	template_queues(json_object_get(tmpl, "spec"), &di->queues);
	/* a StatefulSet's; a Deployment has spec.strategy instead */
	v = json_object_get(spec, "updateStrategy");
	if (json_is_object(v)) {
		const char *t = json_string_value(json_object_get(v, "type"));
		di->on_delete = t == NULL || strcmp(t, "RollingUpdate") != 0;
		di->partition = jint(json_object_get(v, "rollingUpdate"),
		    "partition", NULL, 0);
		if (di->partition < 0)
			di->partition = 0;
	}
	return 0;
}

void
deploy_info_free(struct deploy_info *di)
{
	free(di->name);
	free(di->selector);
	free(di->restarted_at);
	strv_free(&di->queues);
	memset(di, 0, sizeof *di);
}

/*
 * kubectl's DeploymentStatusViewer.Status (k8s.io/kubectl/pkg/polymorphichelpers
 * /rollout_status.go), for revision 0.
 */
enum rollout_state
rollout_status(json_t *d, char *msg, size_t msglen)
{
	json_t		*meta = json_object_get(d, "metadata");
	json_t		*spec = json_object_get(d, "spec");
	json_t		*st = json_object_get(d, "status");
	json_t		*conds, *c;
	const char	*name;
	long		 gen, ogen, want, upd, reps, avail;
	size_t		 i;
	char		 dummy[8];

	if (msg == NULL) {
		msg = dummy;
		msglen = sizeof dummy;
	}
	name = json_string_value(json_object_get(meta, "name"));
	if (name == NULL)
		name = "?";
	gen = jint(meta, "generation", NULL, 0);
	ogen = jint(st, "observedGeneration", NULL, 0);
	if (gen > ogen) {
		snprintf(msg, msglen, "Waiting for deployment spec update to be "
		    "observed...");
		return ROLLOUT_WAITING;
	}
	conds = json_object_get(st, "conditions");
	json_array_foreach(conds, i, c) {
		const char *t = json_string_value(json_object_get(c, "type"));
		const char *r = json_string_value(json_object_get(c, "reason"));
		if (t && r && strcmp(t, "Progressing") == 0 &&
		    strcmp(r, "ProgressDeadlineExceeded") == 0) {
			snprintf(msg, msglen, "deployment \"%s\" exceeded its "
			    "progress deadline", name);
			return ROLLOUT_FAILED;
		}
	}
	want = jint(spec, "replicas", NULL, 1);
	upd = jint(st, "updatedReplicas", NULL, 0);
	reps = jint(st, "replicas", NULL, 0);
	avail = jint(st, "availableReplicas", NULL, 0);
	if (upd < want) {
		snprintf(msg, msglen, "Waiting for deployment \"%s\" rollout to "
		    "finish: %ld out of %ld new replicas have been updated...",
		    name, upd, want);
		return ROLLOUT_WAITING;
	}
	if (reps > upd) {
		snprintf(msg, msglen, "Waiting for deployment \"%s\" rollout to "
		    "finish: %ld old replicas are pending termination...", name,
		    reps - upd);
		return ROLLOUT_WAITING;
	}
	if (avail < upd) {
		snprintf(msg, msglen, "Waiting for deployment \"%s\" rollout to "
		    "finish: %ld of %ld updated replicas are available...", name,
		    avail, upd);
		return ROLLOUT_WAITING;
	}
	snprintf(msg, msglen, "deployment \"%s\" successfully rolled out", name);
	return ROLLOUT_DONE;
}

/*
 * kubectl's StatefulSetStatusViewer.Status (the same file): RollingUpdate
 * only; then the generation observed, every replica ready, and with a
 * rollingUpdate (always there once the API server has defaulted it) the
 * pods from the partition up updated, else both revisions the same.
 * replicas and partition absent (nil) skip their checks, as there.
 */
enum rollout_state
sts_rollout_status(json_t *s, char *msg, size_t msglen)
{
	json_t		*meta = json_object_get(s, "metadata");
	json_t		*spec = json_object_get(s, "spec");
	json_t		*st = json_object_get(s, "status");
	json_t		*us = json_object_get(spec, "updateStrategy");
	json_t		*ru = json_object_get(us, "rollingUpdate");
	json_t		*reps = json_object_get(spec, "replicas");
	json_t		*part = json_object_get(ru, "partition");
	const char	*type, *cur, *upd;
	long		 gen, ogen, want = 0, ready, updated;
	char		 dummy[8];

	if (msg == NULL) {
		msg = dummy;
		msglen = sizeof dummy;
	}
	type = json_string_value(json_object_get(us, "type"));
	if (type == NULL || strcmp(type, "RollingUpdate") != 0) {
		snprintf(msg, msglen, "rollout status is only available for "
		    "RollingUpdate strategy type");
		return ROLLOUT_FAILED;
	}
	gen = jint(meta, "generation", NULL, 0);
	ogen = jint(st, "observedGeneration", NULL, 0);
	if (ogen == 0 || gen > ogen) {
		snprintf(msg, msglen, "Waiting for statefulset spec update to be "
		    "observed...");
		return ROLLOUT_WAITING;
	}
	ready = jint(st, "readyReplicas", NULL, 0);
	updated = jint(st, "updatedReplicas", NULL, 0);
	if (json_is_integer(reps)) {
		want = (long)json_integer_value(reps);
		if (ready < want) {
			snprintf(msg, msglen, "Waiting for %ld pods to be "
			    "ready...", want - ready);
			return ROLLOUT_WAITING;
		}
	}
	if (json_is_object(ru)) {
		if (json_is_integer(reps) && json_is_integer(part) &&
		    updated < want - (long)json_integer_value(part)) {
			snprintf(msg, msglen, "Waiting for partitioned roll out "
			    "to finish: %ld out of %ld new pods have been "
			    "updated...", updated,
			    want - (long)json_integer_value(part));
			return ROLLOUT_WAITING;
		}
		snprintf(msg, msglen, "partitioned roll out complete: %ld new "
		    "pods have been updated...", updated);
		return ROLLOUT_DONE;
	}
	cur = json_string_value(json_object_get(st, "currentRevision"));
	upd = json_string_value(json_object_get(st, "updateRevision"));
	if (cur == NULL)
		cur = "";
	if (upd == NULL)
		upd = "";
	if (strcmp(cur, upd) != 0) {
		snprintf(msg, msglen, "waiting for statefulset rolling update to "
		    "complete %ld pods at revision %s...", updated, upd);
		return ROLLOUT_WAITING;
	}
	snprintf(msg, msglen, "statefulset rolling update complete %ld pods at "
	    "revision %s...", jint(st, "currentReplicas", NULL, 0), cur);
	return ROLLOUT_DONE;
}

/* ---- targets --------------------------------------------------------- */

static const struct {
	const char	*type;
	int		 sts;
} target_types[] = {
	{ "deployment", 0 }, { "deployments", 0 }, { "deploy", 0 },
	{ "statefulset", 1 }, { "statefulsets", 1 }, { "sts", 1 },
};

#define STS_PREFIX	"statefulset/"

char *
kube_target_parse(const char *arg, char *err, size_t errlen)
{
	const char	*slash = strchr(arg, '/'), *name = arg;
	size_t		 i;
	int		 sts = 0;

	if (slash != NULL) {
		for (i = 0; i < sizeof target_types / sizeof target_types[0];
		    i++)
			if (strlen(target_types[i].type) == (size_t)(slash -
			    arg) && strncasecmp(arg, target_types[i].type,
			    (size_t)(slash - arg)) == 0)
				break;
		if (i == sizeof target_types / sizeof target_types[0]) {
			snprintf(err, errlen, "\"%s\": unknown type \"%.*s\" "
			    "(give NAME or deployment/NAME for a Deployment, "
			    "statefulset/NAME for a StatefulSet)", arg,
			    (int)utf8_prefix(arg, (size_t)(slash - arg) < 64 ?
			    (size_t)(slash - arg) : 64), arg);
			return NULL;
		}
		sts = target_types[i].sts;
		name = slash + 1;
	}
	if (!dns1123_subdomain(name)) {
		char	*shown = utf8_cap(name, 80);

		snprintf(err, errlen, "\"%s\" is not a valid %s name (a "
		    "DNS-1123 subdomain: lower-case letters, digits, '-' and "
		    "'.', starting and ending with a letter or digit, at most "
		    "253)", shown, sts ? "StatefulSet" : "Deployment");
		free(shown);
		return NULL;
	}
	return sts ? xasprintf(STS_PREFIX "%s", name) : xstrdup(name);
}

int
kube_target_split(const char *target, const char **name)
{
	int	sts = strncmp(target, STS_PREFIX, strlen(STS_PREFIX)) == 0;

	if (name != NULL)
		*name = sts ? target + strlen(STS_PREFIX) : target;
	return sts;
}

long
sts_pod_ordinal(const char *sts, const char *pod)
{
	size_t		 n = strlen(sts);
	const char	*p;
	long		 o = 0;

	if (strncmp(pod, sts, n) != 0 || pod[n] != '-' || pod[n + 1] == '\0')
		return -1;
	for (p = pod + n + 1; *p != '\0'; p++) {
		if (*p < '0' || *p > '9' || o > 100000000 ||
		    (p == pod + n + 1 && *p == '0' && p[1] != '\0'))
			return -1;
		o = o * 10 + (*p - '0');
	}
	return o;
}

const char *
kube_target_kind(const char *target)
{
	return kube_target_split(target, NULL) ? "statefulset" : "deployment";
}

/*
 * The STATUS column of `kubectl get pods` (printPod in
 * k8s.io/kubernetes/pkg/printers/internalversion/printers.go, without init
 * containers): the pod's reason or phase, overridden by a container that
 * waits or has terminated, "Terminating" once deleted. Also whether one of
 * its containers runs.
 */
static char *
pod_state(json_t *p, int *running)
{
	json_t		*st = json_object_get(p, "status"), *cs, *c, *s, *t;
	json_t		*del;
	const char	*reason, *w;
	char		*out = NULL, *res;
	size_t		 i;
	int		 has_running = 0;

	reason = json_string_value(json_object_get(st, "reason"));
	if (reason == NULL || reason[0] == '\0')
		reason = json_string_value(json_object_get(st, "phase"));
	if (reason == NULL || reason[0] == '\0')
		reason = "Unknown";
	cs = json_object_get(st, "containerStatuses");
	*running = 0;
	for (i = json_array_size(cs); i-- > 0; ) {
		c = json_array_get(cs, i);
		s = json_object_get(c, "state");
		t = json_object_get(s, "terminated");
		w = json_string_value(json_object_get(json_object_get(s,
		    "waiting"), "reason"));
		if (w != NULL && w[0] != '\0') {
			reason = w;
		} else if (json_is_object(t)) {
			w = json_string_value(json_object_get(t, "reason"));
			free(out);
			if (w != NULL && w[0] != '\0')
				out = xstrdup(w);
			else if (json_integer_value(json_object_get(t,
			    "signal")) != 0)
				out = xasprintf("Signal:%lld", (long long)
				    json_integer_value(json_object_get(t,
				    "signal")));
			else
				out = xasprintf("ExitCode:%lld", (long long)
				    json_integer_value(json_object_get(t,
				    "exitCode")));
			reason = out;
		} else if (json_is_object(json_object_get(s, "running"))) {
			*running = 1;
			if (json_is_true(json_object_get(c, "ready")))
				has_running = 1;
		}
	}
	if (strcmp(reason, "Completed") == 0 && has_running)
		reason = "Running";
	del = json_object_get(json_object_get(p, "metadata"),
	    "deletionTimestamp");
	if (del != NULL && !json_is_null(del))
		reason = "Terminating";
	res = utf8_cap(reason, POD_STATE_MAX);
	free(out);
	return res;
}

/* A pod's template label (struct pod_info's tmpl), or NULL. */
static char *
pod_template(json_t *meta)
{
	json_t	*l = json_object_get(meta, "labels");
	json_t	*h = json_object_get(l, "pod-template-hash");

	if (!json_is_string(h))
		h = json_object_get(l, "controller-revision-hash");
	return json_is_string(h) ? xstrdup(json_string_value(h)) : NULL;
}

/*
 * Whether the pod's worker has exited, and its container's restarts
 * (podworkers.h: a sidecar's do not count).
 */
static int
pod_exited(json_t *p, long *restarts)
{
	json_t			*st = json_object_get(p, "status"), *c;
	json_t			*cs = json_object_get(st, "containerStatuses");
	json_t			*spec = json_object_get(json_object_get(p,
				    "spec"), "containers");
	struct container_state	*v = xcalloc(json_array_size(cs) + 1,
				    sizeof *v);
	const char		**names = xcalloc(json_array_size(spec) + 1,
				    sizeof *names);
	const char		*worker;
	size_t			 i;
	int			 exited;

	json_array_foreach(cs, i, c) {
		json_t *rc = json_object_get(c, "restartCount");
		v[i].name = json_string_value(json_object_get(c, "name"));
		v[i].terminated = json_object_get(json_object_get(c, "state"),
		    "terminated") != NULL;
		v[i].restarts = json_is_integer(rc) ?
		    (long)json_integer_value(rc) : 0;
	}
	json_array_foreach(spec, i, c)
		names[i] = json_string_value(json_object_get(c, "name"));
	worker = worker_container(json_string_value(json_object_get(
	    json_object_get(json_object_get(p, "metadata"), "annotations"),
	    "kubectl.kubernetes.io/default-container")), names,
	    json_array_size(spec));
	exited = pod_worker_exited(json_string_value(json_object_get(st,
	    "phase")), v, json_array_size(cs), worker, restarts);
	free(v);
	free(names);
	return exited;
}

int
pods_parse(json_t *pl, struct pod_list *out, char *err, size_t errlen)
{
	json_t		*items = json_object_get(pl, "items"), *p, *meta, *c;
	json_t		*conds, *st;
	const char	*phase;
	size_t		 i, j;

	memset(out, 0, sizeof *out);
	if (!json_is_array(items)) {
		snprintf(err, errlen, "not a PodList (no \"items\" array)");
		return -1;
	}
	out->v = xcalloc(json_array_size(items), sizeof *out->v);
	json_array_foreach(items, i, p) {
		meta = json_object_get(p, "metadata");
		if (!json_is_string(json_object_get(meta, "name"))) {
			snprintf(err, errlen, "pod without metadata.name");
			pod_list_free(out);
			return -1;
		}
		struct pod_info *pi = &out->v[out->n++];
		pi->name = xstrdup(json_string_value(json_object_get(meta,
		    "name")));
		if (json_is_string(json_object_get(meta, "uid")))
			pi->uid = xstrdup(json_string_value(json_object_get(
			    meta, "uid")));
		pi->tmpl = pod_template(meta);
		pi->terminating = json_object_get(meta, "deletionTimestamp") !=
		    NULL && !json_is_null(json_object_get(meta,
		    "deletionTimestamp"));
		st = json_object_get(p, "status");
		phase = json_string_value(json_object_get(st, "phase"));
		pi->state = pod_state(p, &pi->running);
		if (phase != NULL && (strcmp(phase, "Failed") == 0 ||
		    strcmp(phase, "Succeeded") == 0))
			pi->running = 0;
		pi->exited = pod_exited(p, &pi->restarts);
		conds = json_object_get(st, "conditions");
		json_array_foreach(conds, j, c) {
			const char *t = json_string_value(json_object_get(c,
			    "type"));
			const char *s = json_string_value(json_object_get(c,
			    "status"));
			if (t && s && strcmp(t, "Ready") == 0)
				pi->ready = strcmp(s, "True") == 0;
		}
	}
	return 0;
}

const struct pod_info *
pod_list_find(const struct pod_list *pl, const char *name)
{
	size_t	i;

	for (i = 0; i < pl->n; i++)
		if (strcmp(pl->v[i].name, name) == 0)
			return &pl->v[i];
	return NULL;
}

const char *
pod_identity(const struct pod_info *p, int sts)
{
	return sts && p->uid != NULL ? p->uid : p->name;
}

const char *
pod_gone_why(const struct pod_info *now, const struct pod_info *before)
{
	if (now == NULL)
		return "its pod no longer exists";
	if (now->terminating)
		return "its pod is being deleted";
	if (now->exited)
		return "its pod's container exited";
	if (before != NULL && before->uid != NULL && now->uid != NULL &&
	    strcmp(before->uid, now->uid) != 0)
		return "its pod was replaced (a new pod of the same name)";
	if (before != NULL && now->restarts > before->restarts)
		return "its pod's container restarted";
	return NULL;
}

void
pod_list_free(struct pod_list *pl)
{
	size_t	i;

	for (i = 0; i < pl->n; i++) {
		free(pl->v[i].name);
		free(pl->v[i].uid);
		free(pl->v[i].tmpl);
		free(pl->v[i].state);
	}
	free(pl->v);
	memset(pl, 0, sizeof *pl);
}

void
kube_describe_error(long status, const char *body, size_t len,
    const char *what, const char *server, char *err, size_t errlen)
{
	json_t		*root = json_loadb(body, len, 0, NULL);
	const char	*m = json_string_value(json_object_get(root, "message"));
	char		 msg[300];
	char		*shown = http_url_shown(server);

	/* cut on a character boundary */
	snprintf(msg, sizeof msg, "%.*s", m ? (int)utf8_prefix(m,
	    sizeof msg - 1) : 0, m ? m : "");
	json_decref(root);
	server = shown;
	switch (status) {
	case 401:
		snprintf(err, errlen, "Kubernetes API %s: %s: HTTP 401 "
		    "Unauthorized: the token may have expired; log in again "
		    "('oc login', then retry) or check the kubeconfig user",
		    server, what);
		break;
	case 403:
		snprintf(err, errlen, "Kubernetes API %s: %s: HTTP 403 "
		    "Forbidden: %s (the account needs get and patch on "
		    "deployments and statefulsets, list on pods, and list on "
		    "deployments for -l and --status, on statefulsets for "
		    "--status)", server, what,
		    msg[0] ? msg : "permission denied");
		break;
	case 404:
		snprintf(err, errlen, "Kubernetes API %s: %s: HTTP 404: %s", server,
		    what, msg[0] ? msg : "not found");
		break;
	default:
		snprintf(err, errlen, "Kubernetes API %s: %s: HTTP %ld%s%s",
		    server, what, status, msg[0] ? ": " : "", msg);
		break;
	}
	free(shown);
}

struct kcall {
	struct kube	*k;
	char		*what;
	kube_cb		*cb;
	void		*arg;
	char		*method, *path, *ctype, *body;
	double		 deadline;
	int		 retry_conflict;
	unsigned long	 gen;		/* of the plugin's credential used */
	int		 reauth;	/* the plugin was run again after a 401 */
	struct kube_write *track;	/* the caller's record of it, or NULL */
	struct http_xfer *xfer;		/* the request, while http has it */
	int		 cancelled;	/* waiting for a credential: drop it */
	/* a watch (kube_watch()): its events, its end, its partial line */
	kube_event_cb	*on_event;
	kube_watch_cb	*on_end;
	long		 watch_secs;
	char		*line;
	size_t		 nline;
	char		 werr[300];	/* why the stream was stopped */
};

static void	kcall_done(const struct http_resp *, void *);
static const char *api_prefix(const char *);
static int	watch_data(const char *, size_t, void *);
static void	watch_done(struct kcall *, const struct http_resp *,
		    const char *server);

static void
kcall_free(struct kcall *c)
{
	free(c->what);
	free(c->method);
	free(c->path);
	free(c->ctype);
	free(c->body);
	free(c->line);
	free(c);
}

/* kubectl's socks5 resolves names at the proxy: libcurl's socks5h. */
static char *
curl_proxy(const char *proxy_url)
{
	if (proxy_url == NULL)
		return NULL;
	if (strncasecmp(proxy_url, "socks5://", 9) == 0)
		return xasprintf("socks5h://%s", proxy_url + 9);
	return xstrdup(proxy_url);
}

/* Send c with the kubeconfig's credentials, or cred from the plugin. */
static void
kcall_send(struct kcall *c, const struct kube_exec_cred *cred)
{
	struct kube		*k = c->k;
	struct kube_creds	*kc = k->creds;
	struct http_req		 req;
	struct http_tls		 tls;
	char			*url = xasprintf("%s%s", kc->server, c->path);
	char			*proxy = curl_proxy(kc->proxy_url);

	memset(&tls, 0, sizeof tls);
	memset(&req, 0, sizeof req);
	tls.ca_file = kc->ca_file;
	tls.ca_pem = kc->ca_pem;
	tls.ca_pem_len = kc->ca_pem_len;
	tls.insecure = kc->insecure;
	tls.server_name = kc->tls_server_name;
	if (cred == NULL) {
		tls.cert_file = kc->cert_file;
		tls.key_file = kc->key_file;
	}
	/* a plugin's certificate and key go to libcurl in memory, no file */
	tls.cert_pem = cred ? cred->cert_pem : kc->cert_pem;
	tls.cert_pem_len = cred ? cred->cert_pem_len : kc->cert_pem_len;
	tls.key_pem = cred ? cred->key_pem : kc->key_pem;
	tls.key_pem_len = cred ? cred->key_pem_len : kc->key_pem_len;
	req.bearer = cred ? cred->token : kc->token;
	req.method = c->method;
	req.url = url;
	req.content_type = c->ctype;
	req.body = c->body;
	req.tls = &tls;
	req.proxy = proxy;
	req.timeout = k->timeout;
	req.deadline = c->deadline;
	req.retry = 1;
	if (c->on_event != NULL) {	/* a watch: the server ends it */
		req.timeout = c->watch_secs + k->timeout;
		req.deadline = 0;
		req.retry = 0;
		req.on_data = watch_data;
	}
	req.retry_conflict = c->retry_conflict;
	req.max_body = KUBE_MAX_BODY;
	if ((c->xfer = http_do(k->http, &req, kcall_done, c)) == NULL) {
		struct http_resp r = { .err = HTTP_EOTHER,
		    .errmsg = "cannot start request", .body = (char *)"" };
		kcall_done(&r, c);
	}
	free(proxy);
	free(url);
}

static void
got_cred(const struct kube_exec_cred *cred, unsigned long gen,
    const char *err, void *arg)
{
	struct kcall	*c = arg;
	char		*msg, *server;

	if (c->cancelled) {
		kcall_free(c);
		return;
	}
	if (cred == NULL) {
		if (c->track != NULL)
			c->track->call = NULL;
		server = http_url_shown(c->k->creds->server);
		msg = xasprintf("Kubernetes API %s: %s: %s", server, c->what,
		    err);
		if (c->on_end != NULL)		/* a watch */
			c->on_end(KUBE_EAUTH, 0, msg, c->arg);
		else
			c->cb(KUBE_EAUTH, NULL, msg, c->arg);
		free(msg);
		free(server);
		kcall_free(c);
		return;
	}
	c->gen = gen;
	kcall_send(c, cred);
}

static void
kcall_done(const struct http_resp *r, void *arg)
{
	struct kcall	*c = arg;
	struct kube	*k = c->k;
	char		 err[700] = "", d[256];
	enum kube_err	 e = KUBE_OK;
	json_t		*obj = NULL;
	json_error_t	 je;
	char		*server = http_url_shown(k->creds->server);

	c->xfer = NULL;
	if (c->track != NULL && r->started > c->track->last_sent)
		c->track->last_sent = r->started;
	if (r->err == HTTP_OK && r->status == 401 && k->exec != NULL &&
	    c->gen != 0 && !c->reauth) {
		/* refused: run the plugin again (once) and retry */
		log_info("Kubernetes API %s refused the credential from the "
		    "exec plugin %s (HTTP 401); running it again", server,
		    k->creds->exec->command);
		free(server);
		c->reauth = 1;
		execcred_get(k->exec, c->gen, got_cred, c);
		return;
	}
	if (c->on_event != NULL) {
		watch_done(c, r, server);
		free(server);
		return;
	}
	if (r->err != HTTP_OK) {
		snprintf(err, sizeof err, "Kubernetes API %s: %s: %s%s",
		    server, c->what, http_describe(r, d, sizeof d),
		    r->err == HTTP_ETLS ? " (check the CA in the kubeconfig, "
		    "or --insecure-skip-tls-verify)" : r->err == HTTP_ECONNECT ?
		    " (check the kubeconfig's server, its context, or log in "
		    "again: oc login)" : "");
		e = r->err == HTTP_ETOOBIG ? KUBE_EBAD : KUBE_EDOWN;
	} else if (r->status == 401 && c->gen != 0) {
		snprintf(err, sizeof err, "Kubernetes API %s: %s: HTTP 401 "
		    "Unauthorized, also with a credential the exec plugin %s "
		    "had just returned: log in again (the plugin's own login, "
		    "e.g. 'oc login' or 'kubelogin'), then retry",
		    server, c->what, k->creds->exec->command);
		e = KUBE_EAUTH;
	} else if (r->status < 200 || r->status > 299) {
		kube_describe_error(r->status, r->body, r->len, c->what,
		    k->creds->server, err, sizeof err);
		e = r->status == 401 ? KUBE_EAUTH : r->status == 403 ?
		    KUBE_EFORBIDDEN : r->status == 404 ? KUBE_ENOTFOUND :
		    r->status == 409 ? KUBE_ECONFLICT : r->status >= 500 ?
		    KUBE_EDOWN : KUBE_EBAD;
	} else if ((obj = json_loadb(r->body, r->len, 0, &je)) == NULL ||
	    !json_is_object(obj)) {
		snprintf(err, sizeof err, "Kubernetes API %s: %s: malformed "
		    "JSON answer (line %d: %s)", server, c->what,
		    je.line, obj ? "not an object" : je.text);
		e = KUBE_EBAD;
	}
	free(server);
	if (c->track != NULL)
		c->track->call = NULL;
	c->cb(e, e == KUBE_OK ? obj : NULL, err, c->arg);
	json_decref(obj);
	kcall_free(c);
}

/* ---- watch ----------------------------------------------------------- */

/*
 * One line of a watch: {"type": ..., "object": {...}}, parsed alone with
 * jansson and handed on; -1 (and why in c->werr) stops the stream.
 */
static int
watch_line(struct kcall *c, const char *p, size_t n)
{
	json_t		*ev, *obj;
	json_error_t	 je;
	const char	*type;
	int		 stop;

	while (n > 0 && (p[n - 1] == '\r' || p[n - 1] == ' '))
		n--;
	if (n == 0)
		return 0;
	if ((ev = json_loadb(p, n, 0, &je)) == NULL) {
		snprintf(c->werr, sizeof c->werr, "a malformed watch event "
		    "(%s)", je.text);
		return -1;
	}
	type = json_string_value(json_object_get(ev, "type"));
	obj = json_object_get(ev, "object");
	if (type == NULL || !json_is_object(obj)) {
		snprintf(c->werr, sizeof c->werr, "a watch event without a "
		    "type or an object");
		json_decref(ev);
		return -1;
	}
	stop = c->on_event(type, obj, c->arg);
	json_decref(ev);
	if (stop)
		snprintf(c->werr, sizeof c->werr, "stopped");
	return stop ? -1 : 0;
}

/* http's on_data: split the stream into lines, each one event. */
static int
watch_data(const char *p, size_t n, void *arg)
{
	struct kcall	*c = arg;
	const char	*nl;
	size_t		 k;

	while ((nl = memchr(p, '\n', n)) != NULL) {
		k = (size_t)(nl - p);
		if (c->nline > 0) {
			c->line = xrealloc(c->line, c->nline + k + 1);
			memcpy(c->line + c->nline, p, k);
			k += c->nline;
			c->nline = 0;
			if (watch_line(c, c->line, k) == -1)
				return 1;
		} else if (watch_line(c, p, k) == -1)
			return 1;
		n -= (size_t)(nl - p) + 1;
		p = nl + 1;
	}
	if (n == 0)
		return 0;
	if (c->nline + n > KUBE_MAX_BODY) {
		snprintf(c->werr, sizeof c->werr, "a watch event larger than "
		    "%u bytes", KUBE_MAX_BODY);
		return 1;
	}
	c->line = xrealloc(c->line, c->nline + n + 1);
	memcpy(c->line + c->nline, p, n);
	c->nline += n;
	return 0;
}

/* The stream ended: why, to the watcher. */
static void
watch_done(struct kcall *c, const struct http_resp *r, const char *server)
{
	char		 err[700] = "", d[256];
	enum kube_err	 e = KUBE_OK;
	long		 status = r->err == HTTP_OK ? r->status : 0;

	if (c->werr[0] != '\0') {
		if (strcmp(c->werr, "stopped") != 0) {
			snprintf(err, sizeof err, "Kubernetes API %s: %s: %s",
			    server, c->what, c->werr);
			e = KUBE_EBAD;
		}
	} else if (r->err != HTTP_OK) {
		snprintf(err, sizeof err, "Kubernetes API %s: %s: %s", server,
		    c->what, http_describe(r, d, sizeof d));
		e = KUBE_EDOWN;
	} else if (r->status < 200 || r->status > 299) {
		kube_describe_error(r->status, r->body, r->len, c->what,
		    c->k->creds->server, err, sizeof err);
		e = r->status == 401 ? KUBE_EAUTH : r->status == 403 ?
		    KUBE_EFORBIDDEN : r->status == 404 ? KUBE_ENOTFOUND :
		    r->status >= 500 ? KUBE_EDOWN : KUBE_EBAD;
	} else if (c->nline > 0) {
		snprintf(err, sizeof err, "Kubernetes API %s: %s: the stream "
		    "ended inside an event", server, c->what);
		e = KUBE_EDOWN;
	}
	c->on_end(e, status, err, c->arg);
	kcall_free(c);
}

struct kcall *
kube_watch(struct kube *k, const char *resource, const char *field_selector,
    const char *rv, long timeout_secs, kube_event_cb *on_event,
    kube_watch_cb *on_end, void *arg)
{
	struct kcall	*c = xcalloc(1, sizeof *c);
	char		*ns = http_escape(k->ns);
	char		*fs = http_escape(field_selector ? field_selector : "");
	char		*erv = http_escape(rv ? rv : "");

	c->k = k;
	c->what = xasprintf("watching %s in namespace %s", resource, k->ns);
	c->on_event = on_event;
	c->on_end = on_end;
	c->arg = arg;
	c->watch_secs = timeout_secs;
	c->method = xstrdup("GET");
	c->path = xasprintf("%s/namespaces/%s/%s?watch=1&timeoutSeconds=%ld"
	    "%s%s%s%s", api_prefix(resource), ns, resource, timeout_secs,
	    field_selector ? "&fieldSelector=" : "", fs,
	    rv ? "&resourceVersion=" : "", erv);
	free(ns);
	free(fs);
	free(erv);
	if (k->exec != NULL)
		execcred_get(k->exec, 0, got_cred, c);
	else
		kcall_send(c, NULL);
	return c;
}

void
kube_watch_cancel(struct kcall *c)
{
	if (c == NULL)
		return;
	if (c->xfer == NULL) {
		/* waiting for the exec plugin: nothing out; got_cred drops it */
		c->cancelled = 1;
		return;
	}
	http_cancel(c->xfer);
	kcall_free(c);
}

void *
kube_write_cancel(struct kube_write *w)
{
	struct kcall	*c = w->call;
	void		*arg;
	double		 t;

	if (c == NULL)
		return NULL;
	w->call = NULL;
	arg = c->arg;
	c->track = NULL;
	if (c->xfer == NULL) {
		/* waiting for the exec plugin: nothing out; got_cred drops it */
		c->cancelled = 1;
		return arg;
	}
	if ((t = http_last_start(c->xfer)) > w->last_sent)
		w->last_sent = t;
	http_cancel(c->xfer);
	kcall_free(c);
	return arg;
}

static void
kreq_tracked(struct kube *k, const char *method, const char *path,
    const char *ctype, const char *body, double deadline, int retry_conflict,
    char *what, struct kube_write *track, kube_cb *cb, void *arg)
{
	struct kcall	*c = xcalloc(1, sizeof *c);

	c->k = k;
	c->what = what;
	c->cb = cb;
	c->arg = arg;
	c->method = xstrdup(method);
	c->path = xstrdup(path);
	c->ctype = ctype ? xstrdup(ctype) : NULL;
	c->body = body ? xstrdup(body) : NULL;
	c->deadline = deadline;
	c->retry_conflict = retry_conflict;
	c->track = track;
	if (track != NULL)
		track->call = c;
	if (k->exec != NULL)
		execcred_get(k->exec, 0, got_cred, c);
	else
		kcall_send(c, NULL);
}

static void
kreq(struct kube *k, const char *method, const char *path, const char *ctype,
    const char *body, double deadline, int retry_conflict, char *what,
    kube_cb *cb, void *arg)
{
	kreq_tracked(k, method, path, ctype, body, deadline, retry_conflict,
	    what, NULL, cb, arg);
}

/* The object's path (query: appended, may be ""): deployments/ or
 * statefulsets/ by the target. */
static char *
target_path(struct kube *k, const char *target, const char *query)
{
	const char	*name;
	int		 sts = kube_target_split(target, &name);
	char		*n = http_escape(name), *ns = http_escape(k->ns);
	char		*path = xasprintf("/apis/apps/v1/namespaces/%s/%s/%s%s",
	    ns, sts ? "statefulsets" : "deployments", n, query);

	free(n);
	free(ns);
	return path;
}

void
kube_get_deployment(struct kube *k, const char *name, double deadline,
    kube_cb *cb, void *arg)
{
	char		*path = target_path(k, name, "");
	const char	*bare;

	kube_target_split(name, &bare);
	kreq(k, "GET", path, NULL, NULL, deadline, 0,
	    xasprintf("getting %s %s in namespace %s", kube_target_kind(name),
	    bare, k->ns), cb, arg);
	free(path);
}

void
kube_get_imagestreamtag(struct kube *k, const char *ns, const char *name,
    double deadline, kube_cb *cb, void *arg)
{
	const char	*n = ns != NULL ? ns : k->ns;
	char		*en = http_escape(name), *ens = http_escape(n);
	char		*path = xasprintf("/apis/image.openshift.io/v1/namespaces/"
	    "%s/imagestreamtags/%s", ens, en);

	kreq(k, "GET", path, NULL, NULL, deadline, 0, xasprintf("getting "
	    "imagestreamtag %s in namespace %s", name, n), cb, arg);
	free(path);
	free(en);
	free(ens);
}

/* Where resource's objects are: the core group's pods, else apps/v1's. */
static const char *
api_prefix(const char *resource)
{
	return strcmp(resource, "pods") == 0 ? "/api/v1" : "/apis/apps/v1";
}

void
kube_list(struct kube *k, const char *resource, const char *selector,
    double deadline, kube_cb *cb, void *arg)
{
	char	*s = http_escape(selector ? selector : "");
	char	*ns = http_escape(k->ns);
	char	*path = xasprintf("%s/namespaces/%s/%s%s%s", api_prefix(resource),
	    ns, resource, selector ? "?labelSelector=" : "", s);

	kreq(k, "GET", path, NULL, NULL, deadline, 0,
	    xasprintf("listing %s %s%sin namespace %s", resource, selector ?
	    selector : "", selector ? " " : "", k->ns), cb, arg);
	free(path);
	free(s);
	free(ns);
}

/*
 * The query of a write to a Deployment or StatefulSet: the API server gives
 * up on it (504, not applied) at the request timeout, as kubectl's
 * --request-timeout asks, so that one sent by a run that died lands by
 * then or never (kube.h, --recover).
 */
static char *
write_path(struct kube *k, const char *target)
{
	char	 q[80];

	snprintf(q, sizeof q, "?fieldManager=drain-and-rollout&timeout=%lds",
	    kube_write_timeout(k->timeout));
	return target_path(k, target, q);
}

long
kube_write_timeout(double request_timeout)
{
	return request_timeout < 1 ? 1 : (long)ceil(request_timeout);
}

/* PATCH target with patch (released here). Unconditional (retry_conflict),
 * it is idempotent, so 409 and 5xx are retried: a retried PATCH that had
 * been applied changes nothing. With a resourceVersion precondition, a 409
 * says the object changed since: not retried, the caller reads again. */
static void
kpatch(struct kube *k, const char *target, const char *ctype, json_t *patch,
    const char *verb, double deadline, int retry_conflict,
    struct kube_write *track, kube_cb *cb, void *arg)
{
	char		*path = write_path(k, target);
	char		*body = json_dumps(patch, JSON_COMPACT);
	const char	*bare;

	json_decref(patch);
	kube_target_split(target, &bare);
	kreq_tracked(k, "PATCH", path, ctype, body, deadline, retry_conflict,
	    xasprintf("%s %s %s", verb, kube_target_kind(target), bare), track,
	    cb, arg);
	free(body);
	free(path);
}

void
kube_annotate(struct kube *k, const char *name, const char *key,
    const char *value, double deadline, kube_cb *cb, void *arg)
{
	/* a JSON merge patch (RFC 7386): null removes the key */
	kpatch(k, name, "application/merge-patch+json",
	    json_pack("{s:{s:{s:o}}}", "metadata", "annotations", key,
	    value != NULL ? json_string(value) : json_null()), value != NULL ?
	    "annotating" : "removing an annotation of", deadline, 1, NULL, cb,
	    arg);
}

void
kube_annotate_at(struct kube *k, const char *name, const char *key,
    const char *value, const char *rv, double deadline, kube_cb *cb,
    void *arg)
{
	kpatch(k, name, "application/merge-patch+json", json_pack(
	    "{s:{s:s,s:{s:s}}}", "metadata", "resourceVersion", rv,
	    "annotations", key, value), "annotating", deadline, 0, NULL, cb,
	    arg);
}

void
kube_restart_images(struct kube *k, const char *name, const char *when,
    int resume, json_t *images, const char *rv, double deadline,
    struct kube_write *track, kube_cb *cb, void *arg)
{
	json_t	*patch, *tmpl;

	/* the annotation exactly as kubectl rollout restart sends it */
	patch = json_pack("{s:{s:{s:{s:{s:s}}}}}", "spec", "template",
	    "metadata", "annotations", RESTARTED_AT, when);
	tmpl = json_object_get(json_object_get(patch, "spec"), "template");
	/* the containers merged by name with their image */
	if (images != NULL)
		json_object_set_new(tmpl, "spec", json_pack("{s:O}",
		    "containers", images));
	if (resume)
		json_object_set_new(json_object_get(patch, "spec"), "paused",
		    json_false());
	/* a precondition: applied only to the object as the run saw it */
	if (rv != NULL)
		json_object_set_new(patch, "metadata", json_pack("{s:s}",
		    "resourceVersion", rv));
	kpatch(k, name, "application/strategic-merge-patch+json", patch,
	    resume ? "restarting and resuming" : "restarting", deadline,
	    rv == NULL, track, cb, arg);
}

/* ---- --handover ------------------------------------------------------ */

void
kube_pause(struct kube *k, const char *name, int paused, double deadline,
    struct kube_write *track, kube_cb *cb, void *arg)
{
	char	*path = write_path(k, name), *body;
	json_t	*patch = json_pack("{s:{s:b}}", "spec", "paused", paused);

	body = json_dumps(patch, JSON_COMPACT);
	json_decref(patch);
	/* idempotent: 409 and 5xx are retried */
	kreq_tracked(k, "PATCH", path, "application/merge-patch+json", body,
	    deadline, 1, xasprintf("%s deployment %s", paused ? "pausing" :
	    "resuming", name), track, cb, arg);
	free(body);
	free(path);
}

static char *
object_path(struct kube *k, const char *resource, const char *name)
{
	char	*n = http_escape(name), *ns = http_escape(k->ns), *path;

	path = xasprintf("%s/namespaces/%s/%s/%s", api_prefix(resource), ns,
	    resource, n);
	free(n);
	free(ns);
	return path;
}

void
kube_delete(struct kube *k, const char *resource, const char *name,
    int orphan, double deadline, kube_cb *cb, void *arg)
{
	char	*path = object_path(k, resource, name), *body = NULL;
	json_t	*opts;

	if (orphan) {
		opts = json_pack("{s:s,s:s,s:s}", "kind", "DeleteOptions",
		    "apiVersion", "v1", "propagationPolicy", "Orphan");
		body = json_dumps(opts, JSON_COMPACT);
		json_decref(opts);
	}
	kreq(k, "DELETE", path, body ? "application/json" : NULL, body,
	    deadline, 0, xasprintf("deleting %s %s%s", resource, name, orphan ?
	    " (propagation Orphan)" : ""), cb, arg);
	free(body);
	free(path);
}

void
kube_pod_labels(struct kube *k, const char *pod, json_t *labels,
    double deadline, kube_cb *cb, void *arg)
{
	char	*path = object_path(k, "pods", pod), *body, *p2;
	json_t	*patch = json_pack("{s:{s:O}}", "metadata", "labels", labels);

	body = json_dumps(patch, JSON_COMPACT);
	json_decref(patch);
	p2 = xasprintf("%s?fieldManager=drain-and-rollout", path);
	kreq(k, "PATCH", p2, "application/merge-patch+json", body, deadline, 1,
	    xasprintf("relabelling pod %s", pod), cb, arg);
	free(p2);
	free(body);
	free(path);
}

/* A create on its way: what it meant, for a 409 AlreadyExists. */
struct kcreate {
	struct kube	*k;
	json_t		*manifest;
	char		*err409;	/* the 409's description */
	kube_cb		*cb;
	void		*arg;
};

static void
kcreate_end(struct kcreate *cr, enum kube_err e, json_t *obj,
    const char *err)
{
	cr->cb(e, obj, err, cr->arg);
	json_decref(cr->manifest);
	free(cr->err409);
	free(cr);
}

static void
created_existing(enum kube_err e, json_t *obj, const char *err, void *arg)
{
	struct kcreate	*cr = arg;

	if (e == KUBE_OK && rs_create_ours(obj, cr->manifest)) {
		/* a retry of a create that had landed: that one is ours */
		log_info("replicaset %s: already created by an earlier attempt "
		    "of this request", json_string_value(json_object_get(
		    json_object_get(obj, "metadata"), "name")));
		kcreate_end(cr, KUBE_OK, obj, "");
		return;
	}
	if (e != KUBE_OK)
		log_debug("%s", err);
	kcreate_end(cr, KUBE_ECONFLICT, NULL, cr->err409);
}

/*
 * Retried on timeouts and 5xx like every call: a retry whose first attempt
 * had landed finds the object there (409). It is the run's own when
 * rs_create_ours() says so (landed.h): read it and answer as the create.
 */
static void
create_answered(enum kube_err e, json_t *obj, const char *err, void *arg)
{
	struct kcreate	*cr = arg;
	const char	*name = json_string_value(json_object_get(
			    json_object_get(cr->manifest, "metadata"), "name"));
	char		*n, *ns, *path;

	if (e != KUBE_ECONFLICT || name == NULL) {
		kcreate_end(cr, e, obj, err);
		return;
	}
	cr->err409 = xstrdup(err);
	n = http_escape(name);
	ns = http_escape(cr->k->ns);
	path = xasprintf("/apis/apps/v1/namespaces/%s/replicasets/%s", ns, n);
	kreq(cr->k, "GET", path, NULL, NULL, 0, 0, xasprintf("getting "
	    "replicaset %s", name), created_existing, cr);
	free(path);
	free(ns);
	free(n);
}

void
kube_create_replicaset(struct kube *k, json_t *manifest, double deadline,
    kube_cb *cb, void *arg)
{
	char	*ns = http_escape(k->ns), *body;
	char	*path = xasprintf("/apis/apps/v1/namespaces/%s/replicasets"
	    "?fieldManager=drain-and-rollout", ns);
	const char *name = json_string_value(json_object_get(json_object_get(
	    manifest, "metadata"), "name"));
	struct kcreate *cr = xcalloc(1, sizeof *cr);

	cr->k = k;
	cr->manifest = json_incref(manifest);
	cr->cb = cb;
	cr->arg = arg;
	body = json_dumps(manifest, JSON_COMPACT);
	kreq(k, "POST", path, "application/json", body, deadline, 0,
	    xasprintf("creating replicaset %s", name ? name : "?"),
	    create_answered, cr);
	free(body);
	free(path);
	free(ns);
}

const char *
replica_failure(json_t *obj)
{
	json_t	*c;
	size_t	 i;

	json_array_foreach(json_object_get(json_object_get(obj, "status"),
	    "conditions"), i, c) {
		const char *t = json_string_value(json_object_get(c, "type"));
		const char *s = json_string_value(json_object_get(c, "status"));
		const char *m = json_string_value(json_object_get(c,
		    "message"));
		if (t != NULL && strcmp(t, "ReplicaFailure") == 0 &&
		    s != NULL && strcmp(s, "True") == 0)
			return m != NULL ? m : "ReplicaFailure";
	}
	return NULL;
}

static int
owned_by(json_t *obj, const char *uid)
{
	json_t	*refs = json_object_get(json_object_get(obj, "metadata"),
	    "ownerReferences"), *ref;
	size_t	 i;

	json_array_foreach(refs, i, ref) {
		const char *u = json_string_value(json_object_get(ref, "uid"));
		if (json_is_true(json_object_get(ref, "controller")) &&
		    u != NULL && strcmp(u, uid) == 0)
			return 1;
	}
	return 0;
}

json_t *
rs_owned(json_t *rslist, const char *uid)
{
	json_t	*out = json_array(), *rs;
	size_t	 i;

	json_array_foreach(json_object_get(rslist, "items"), i, rs)
		if (uid != NULL && owned_by(rs, uid))
			json_array_append(out, rs);
	return out;
}

json_t *
rs_recreate(json_t *rs, long replicas)
{
	json_t		*meta = json_object_get(rs, "metadata"), *m, *spec;
	const char	*keep[] = { "name", "labels", "annotations",
			    "ownerReferences" };
	size_t		 i;

	m = json_object();
	for (i = 0; i < sizeof keep / sizeof *keep; i++)
		if (json_object_get(meta, keep[i]) != NULL)
			json_object_set_new(m, keep[i], json_deep_copy(
			    json_object_get(meta, keep[i])));
	/*
	 * blockOwnerDeletion would need update on deployments/finalizers
	 * (OwnerReferencesPermissionEnforcement, on in OpenShift): left out
	 */
	json_array_foreach(json_object_get(m, "ownerReferences"), i, spec)
		json_object_del(spec, "blockOwnerDeletion");
	spec = json_deep_copy(json_object_get(rs, "spec"));
	if (spec == NULL)
		spec = json_object();
	json_object_set_new(spec, "replicas", json_integer(replicas));
	return json_pack("{s:s,s:s,s:o,s:o}", "apiVersion", "apps/v1", "kind",
	    "ReplicaSet", "metadata", m, "spec", spec);
}
