/*
 * test_kube.c -- kube.c's pure Kubernetes readers (include/kube.h):
 * rollout_status() against Deployment objects built here and
 * sts_rollout_status() against StatefulSets (the messages are kubectl's
 * own), kube_target_parse(), deploy_parse(), pods_parse() and kube_describe_error().
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "kube.h"

/*
 * A Deployment "x": spec.replicas, metadata.generation,
 * status.{observedGeneration, replicas, updatedReplicas, availableReplicas};
 * a negative value leaves the field out.
 */
static json_t *
deployment(const char *name, long want, long gen, long ogen, long reps,
    long upd, long avail)
{
	json_t	*d, *meta, *spec, *st;

	meta = json_pack("{s:s, s:s}", "name", name, "namespace",
	    "cms-dials-prod");
	spec = json_pack("{s:{s:{s:s}}}", "selector", "matchLabels", "app",
	    name);
	st = json_object();
	if (gen >= 0)
		json_object_set_new(meta, "generation", json_integer(gen));
	if (want >= 0)
		json_object_set_new(spec, "replicas", json_integer(want));
	if (ogen >= 0)
		json_object_set_new(st, "observedGeneration",
		    json_integer(ogen));
	if (reps >= 0)
		json_object_set_new(st, "replicas", json_integer(reps));
	if (upd >= 0)
		json_object_set_new(st, "updatedReplicas", json_integer(upd));
	if (avail >= 0)
		json_object_set_new(st, "availableReplicas",
		    json_integer(avail));
	d = json_pack("{s:s, s:s, s:o, s:o, s:o}", "apiVersion", "apps/v1",
	    "kind", "Deployment", "metadata", meta, "spec", spec, "status",
	    st);
	assert_non_null(d);
	return d;
}

static void
add_condition(json_t *d, const char *type, const char *status,
    const char *reason)
{
	json_t	*st = json_object_get(d, "status");
	json_t	*conds = json_object_get(st, "conditions");

	if (conds == NULL) {
		conds = json_array();
		json_object_set_new(st, "conditions", conds);
	}
	json_array_append_new(conds, json_pack("{s:s, s:s, s:s, s:s}",
	    "type", type, "status", status, "reason", reason, "message",
	    "some text"));
}

typedef enum rollout_state viewer(json_t *, char *, size_t);

/* viewer(d) is want with exactly message msg; d is released. */
static void
assert_viewer(viewer *fn, json_t *d, enum rollout_state want,
    const char *msg)
{
	char	buf[256];

	memset(buf, 'Z', sizeof buf);
	assert_int_equal(fn(d, buf, sizeof buf), want);
	assert_string_equal(buf, msg);
	/* msg may be NULL: same decision */
	assert_int_equal(fn(d, NULL, 0), want);
	json_decref(d);
}

static void
assert_rollout(json_t *d, enum rollout_state want, const char *msg)
{
	assert_viewer(rollout_status, d, want, msg);
}

static void
test_spec_not_observed(void **state)
{
	json_t	*d;

	(void)state;
	assert_rollout(deployment("x", 1, 3, 2, 1, 1, 1), ROLLOUT_WAITING,
	    "Waiting for deployment spec update to be observed...");
	/* before everything else, even a deadline already exceeded */
	d = deployment("x", 1, 5, 4, 1, 0, 0);
	add_condition(d, "Progressing", "False", "ProgressDeadlineExceeded");
	assert_rollout(d, ROLLOUT_WAITING,
	    "Waiting for deployment spec update to be observed...");
	/* no status.observedGeneration at all */
	assert_rollout(deployment("x", 1, 1, -1, -1, -1, -1), ROLLOUT_WAITING,
	    "Waiting for deployment spec update to be observed...");
}

static void
test_deadline_exceeded(void **state)
{
	json_t	*d;

	(void)state;
	d = deployment("x", 2, 4, 4, 3, 1, 2);
	add_condition(d, "Available", "True", "MinimumReplicasAvailable");
	add_condition(d, "Progressing", "False", "ProgressDeadlineExceeded");
	assert_rollout(d, ROLLOUT_FAILED,
	    "deployment \"x\" exceeded its progress deadline");

	d = deployment("ecal-bulk", 1, 2, 2, 1, 1, 1);
	add_condition(d, "Progressing", "False", "ProgressDeadlineExceeded");
	assert_rollout(d, ROLLOUT_FAILED,
	    "deployment \"ecal-bulk\" exceeded its progress deadline");

	/* other reasons, or the reason on another condition, are not */
	d = deployment("x", 1, 2, 2, 1, 1, 1);
	add_condition(d, "Progressing", "True", "NewReplicaSetAvailable");
	add_condition(d, "Available", "False", "ProgressDeadlineExceeded");
	assert_rollout(d, ROLLOUT_DONE,
	    "deployment \"x\" successfully rolled out");
}

static void
test_updated_lt_replicas(void **state)
{
	(void)state;
	assert_rollout(deployment("x", 3, 2, 2, 3, 1, 3), ROLLOUT_WAITING,
	    "Waiting for deployment \"x\" rollout to finish: 1 out of 3 new "
	    "replicas have been updated...");
	assert_rollout(deployment("x", 1, 2, 2, 1, 0, 1), ROLLOUT_WAITING,
	    "Waiting for deployment \"x\" rollout to finish: 0 out of 1 new "
	    "replicas have been updated...");
	/* spec.replicas unset means 1 */
	assert_rollout(deployment("x", -1, 2, 2, 1, 0, 1), ROLLOUT_WAITING,
	    "Waiting for deployment \"x\" rollout to finish: 0 out of 1 new "
	    "replicas have been updated...");
}

static void
test_old_pending_termination(void **state)
{
	(void)state;
	assert_rollout(deployment("x", 2, 2, 2, 3, 2, 2), ROLLOUT_WAITING,
	    "Waiting for deployment \"x\" rollout to finish: 1 old replicas "
	    "are pending termination...");
	assert_rollout(deployment("x", 1, 2, 2, 3, 1, 1), ROLLOUT_WAITING,
	    "Waiting for deployment \"x\" rollout to finish: 2 old replicas "
	    "are pending termination...");
}

static void
test_available_lt_updated(void **state)
{
	(void)state;
	assert_rollout(deployment("x", 2, 2, 2, 2, 2, 1), ROLLOUT_WAITING,
	    "Waiting for deployment \"x\" rollout to finish: 1 of 2 updated "
	    "replicas are available...");
	/* no availableReplicas: 0 */
	assert_rollout(deployment("x", 1, 2, 2, 1, 1, -1), ROLLOUT_WAITING,
	    "Waiting for deployment \"x\" rollout to finish: 0 of 1 updated "
	    "replicas are available...");
}

static void
test_done(void **state)
{
	(void)state;
	assert_rollout(deployment("x", 1, 2, 2, 1, 1, 1), ROLLOUT_DONE,
	    "deployment \"x\" successfully rolled out");
	assert_rollout(deployment("ecal-bulk", 3, 7, 7, 3, 3, 3),
	    ROLLOUT_DONE,
	    "deployment \"ecal-bulk\" successfully rolled out");
	/* observed a newer generation than metadata says: fine */
	assert_rollout(deployment("x", 1, 2, 3, 1, 1, 1), ROLLOUT_DONE,
	    "deployment \"x\" successfully rolled out");
	/* scaled to zero */
	assert_rollout(deployment("x", 0, 2, 2, 0, 0, 0), ROLLOUT_DONE,
	    "deployment \"x\" successfully rolled out");
}

static void
test_message_truncated(void **state)
{
	json_t	*d = deployment("x", 1, 2, 2, 1, 1, 1);
	char	 buf[12];

	(void)state;
	memset(buf, 'Z', sizeof buf);
	assert_int_equal(rollout_status(d, buf, sizeof buf), ROLLOUT_DONE);
	assert_int_equal(strlen(buf), sizeof buf - 1);
	assert_memory_equal(buf, "deployment ", sizeof buf - 1);
	json_decref(d);
}

static void
test_rollout_garbage(void **state)
{
	json_t	*j;
	char	 buf[128];

	(void)state;
	/* not a crash; no name is shown as "?" */
	j = json_pack("{s:{s:i}, s:{s:i}}", "metadata", "generation", 1,
	    "status", "observedGeneration", 1);
	assert_int_equal(rollout_status(j, buf, sizeof buf), ROLLOUT_WAITING);
	assert_non_null(strstr(buf, "\"?\""));
	json_decref(j);
	j = json_string("not a deployment");
	(void)rollout_status(j, buf, sizeof buf);
	json_decref(j);
	(void)rollout_status(NULL, buf, sizeof buf);
}

/* ---- deploy_parse ------------------------------------------------------ */

static const char DEPLOY[] =
	"{\"apiVersion\": \"apps/v1\", \"kind\": \"Deployment\","
	" \"metadata\": {\"name\": \"ecal-bulk\", \"namespace\": \"cms-dials-prod\","
	"   \"generation\": 7, \"labels\": {\"app\": \"ecal-bulk\"}},"
	" \"spec\": {\"replicas\": 3, \"progressDeadlineSeconds\": 900,"
	"   \"selector\": {\"matchLabels\": {\"app\": \"ecal-bulk\","
	"     \"tier\": \"worker\"}},"
	"   \"template\": {\"metadata\": {\"annotations\": {"
	"       \"kubectl.kubernetes.io/restartedAt\": \"2026-11-25T19:14:58Z\"},"
	"       \"labels\": {\"app\": \"ecal-bulk\", \"tier\": \"worker\"}},"
	"     \"spec\": {\"terminationGracePeriodSeconds\": 120,"
	"       \"containers\": [{\"name\": \"w\", \"image\": \"x\"}]}}},"
	" \"status\": {\"observedGeneration\": 7, \"replicas\": 3}}";

static json_t *
load(const char *s)
{
	json_error_t	 je;
	json_t		*j = json_loads(s, 0, &je);

	if (j == NULL)
		fail_msg("test JSON: line %d: %s", je.line, je.text);
	return j;
}

static void
test_deploy_parse(void **state)
{
	json_t			*d = load(DEPLOY);
	struct deploy_info	 di;
	char			 err[256] = "";

	(void)state;
	assert_int_equal(deploy_parse(d, &di, err, sizeof err), 0);
	assert_string_equal(di.name, "ecal-bulk");
	assert_string_equal(di.selector, "app=ecal-bulk,tier=worker");
	assert_int_equal(di.replicas, 3);
	assert_int_equal(di.generation, 7);
	assert_true(di.progress_deadline == 900.0);
	assert_true(di.grace == 120.0);
	assert_non_null(di.restarted_at);
	assert_string_equal(di.restarted_at, "2026-11-25T19:14:58Z");
	deploy_info_free(&di);
	assert_null(di.name);
	assert_null(di.selector);
	assert_null(di.restarted_at);
	json_decref(d);
}

static void
test_deploy_defaults(void **state)
{
	json_t			*d;
	struct deploy_info	 di;
	char			 err[256] = "";

	(void)state;
	d = load("{\"metadata\": {\"name\": \"tracker-priority\"},"
	    " \"spec\": {\"selector\": {\"matchLabels\":"
	    " {\"app\": \"tracker-priority\"}}, \"template\": {}}}");
	assert_int_equal(deploy_parse(d, &di, err, sizeof err), 0);
	assert_string_equal(di.name, "tracker-priority");
	assert_string_equal(di.selector, "app=tracker-priority");
	assert_int_equal(di.replicas, 1);
	assert_true(di.progress_deadline == 600.0);
	assert_true(di.grace == 30.0);	/* Kubernetes' default */
	assert_null(di.restarted_at);
	assert_false(di.paused);
	assert_int_equal(di.queues.n, 0);
	deploy_info_free(&di);
	json_decref(d);

	/* the Celery command line's queues, from every container's command
	 * and args (worker_argv_queues()) */
	d = load("{\"metadata\": {\"name\": \"a\"}, \"spec\": {\"selector\":"
	    " {\"matchLabels\": {\"k\": \"v\"}}, \"template\": {\"spec\":"
	    " {\"containers\": [{\"name\": \"w\", \"command\": [\"celery\"],"
	    " \"args\": [\"-A\", \"etl\", \"worker\", \"--queues=a,b\"]},"
	    " {\"name\": \"side\", \"command\": [\"sh\", \"-c\","
	    " \"celery -A etl worker -Q b,c\"]}, {\"name\": \"none\"}]}}}}");
	assert_int_equal(deploy_parse(d, &di, err, sizeof err), 0);
	assert_int_equal(di.queues.n, 3);
	assert_string_equal(di.queues.v[0], "a");
	assert_string_equal(di.queues.v[1], "b");
	assert_string_equal(di.queues.v[2], "c");
	deploy_info_free(&di);
	assert_int_equal(di.queues.n, 0);
	json_decref(d);

	/* kubectl rollout pause sets spec.paused; resume removes it */
	d = load("{\"metadata\": {\"name\": \"a\"}, \"spec\": {\"paused\": true,"
	    " \"selector\": {\"matchLabels\": {\"k\": \"v\"}}}}");
	assert_int_equal(deploy_parse(d, &di, err, sizeof err), 0);
	assert_true(di.paused);
	deploy_info_free(&di);
	json_decref(d);

	/* replicas 0 is not "unset" */
	d = load("{\"metadata\": {\"name\": \"a\"}, \"spec\": {\"replicas\": 0,"
	    " \"selector\": {\"matchLabels\": {\"k\": \"v\"}}}}");
	assert_int_equal(deploy_parse(d, &di, err, sizeof err), 0);
	assert_int_equal(di.replicas, 0);
	assert_null(di.restarted_at);
	deploy_info_free(&di);
	json_decref(d);
}

static void
assert_deploy_rejects(const char *js, const char *needle)
{
	json_t			*d = load(js);
	struct deploy_info	 di;
	char			 err[256] = "";

	assert_int_equal(deploy_parse(d, &di, err, sizeof err), -1);
	assert_true(err[0] != '\0');
	if (needle != NULL && strstr(err, needle) == NULL)
		fail_msg("error \"%s\" does not mention \"%s\"", err, needle);
	assert_null(di.name);
	assert_null(di.selector);
	assert_null(di.restarted_at);
	json_decref(d);
}

static void
test_deploy_errors(void **state)
{
	(void)state;
	assert_deploy_rejects("{\"metadata\": {\"name\": \"a\"}, \"spec\": {}}",
	    "matchLabels");
	assert_deploy_rejects("{\"metadata\": {\"name\": \"a\"}, \"spec\": "
	    "{\"selector\": {\"matchExpressions\": []}}}", "matchLabels");
	assert_deploy_rejects("{\"metadata\": {\"name\": \"a\"}, \"spec\": "
	    "{\"selector\": {\"matchLabels\": {}}}}", "matchLabels");
	/* a second label is bad after the first was added: nothing leaks */
	assert_deploy_rejects("{\"metadata\": {\"name\": \"a\"}, \"spec\": "
	    "{\"selector\": {\"matchLabels\": {\"a\": \"b\", \"c\": 5}}}}",
	    "not a string");
	assert_deploy_rejects("{\"metadata\": {}, \"spec\": {\"selector\": "
	    "{\"matchLabels\": {\"a\": \"b\"}}}}", NULL);
	assert_deploy_rejects("{\"spec\": {}}", NULL);
	assert_deploy_rejects("[]", NULL);
	assert_deploy_rejects("{\"kind\": \"Status\", \"status\": \"Failure\", "
	    "\"message\": \"x\", \"code\": 404}", NULL);
}

/* ---- pods_parse -------------------------------------------------------- */

static void
test_pods_parse(void **state)
{
	json_t		*pl;
	struct pod_list	 l;
	char		 err[256] = "";

	(void)state;
	pl = load("{\"kind\": \"PodList\", \"items\": ["
	    "{\"metadata\": {\"name\": \"ecal-bulk-aaa\"}, \"status\": {"
	    "  \"phase\": \"Running\", \"conditions\": ["
	    "  {\"type\": \"Initialized\", \"status\": \"True\"},"
	    "  {\"type\": \"Ready\", \"status\": \"True\"},"
	    "  {\"type\": \"ContainersReady\", \"status\": \"True\"}]}},"
	    "{\"metadata\": {\"name\": \"ecal-bulk-bbb\","
	    "  \"deletionTimestamp\": \"2026-11-25T19:15:30Z\"},"
	    "  \"status\": {\"conditions\": ["
	    "  {\"type\": \"Ready\", \"status\": \"False\"}]}},"
	    "{\"metadata\": {\"name\": \"ecal-bulk-ccc\","
	    "  \"deletionTimestamp\": null}, \"status\": {\"phase\": \"Pending\"}},"
	    "{\"metadata\": {\"name\": \"ecal-bulk-ddd\","
	    "  \"deletionTimestamp\": \"2026-11-25T19:15:31Z\"},"
	    "  \"status\": {\"conditions\": ["
	    "  {\"type\": \"Ready\", \"status\": \"True\"}]}},"
	    "{\"metadata\": {\"name\": \"ecal-bulk-eee\"}, \"status\": {"
	    "  \"conditions\": [{\"type\": \"Ready\", \"status\": \"Unknown\"}]}}"
	    "]}");
	assert_int_equal(pods_parse(pl, &l, err, sizeof err), 0);
	assert_int_equal(l.n, 5);
	assert_string_equal(l.v[0].name, "ecal-bulk-aaa");
	assert_true(l.v[0].ready);
	assert_false(l.v[0].terminating);
	assert_string_equal(l.v[1].name, "ecal-bulk-bbb");
	assert_false(l.v[1].ready);
	assert_true(l.v[1].terminating);
	assert_string_equal(l.v[2].name, "ecal-bulk-ccc");
	assert_false(l.v[2].ready);
	assert_false(l.v[2].terminating);
	assert_string_equal(l.v[3].name, "ecal-bulk-ddd");
	assert_true(l.v[3].ready);
	assert_true(l.v[3].terminating);
	assert_string_equal(l.v[4].name, "ecal-bulk-eee");
	assert_false(l.v[4].ready);
	pod_list_free(&l);
	assert_null(l.v);
	assert_int_equal(l.n, 0);
	json_decref(pl);

	pl = load("{\"kind\": \"PodList\", \"items\": []}");
	assert_int_equal(pods_parse(pl, &l, err, sizeof err), 0);
	assert_int_equal(l.n, 0);
	pod_list_free(&l);
	json_decref(pl);

	/* the status' reason is shown: bounded */
	{
		char	*big = xmalloc(20001);

		memset(big, 'R', 20000);
		big[20000] = '\0';
		pl = json_pack("{s:[{s:{s:s},s:{s:s}}]}", "items", "metadata",
		    "name", "ecal-bulk-fff", "status", "reason", big);
		assert_int_equal(pods_parse(pl, &l, err, sizeof err), 0);
		assert_int_equal(strlen(l.v[0].state), POD_STATE_MAX + 3);
		assert_string_equal(l.v[0].state + POD_STATE_MAX, "...");
		pod_list_free(&l);
		json_decref(pl);
		free(big);
	}
}

/* A pod as the API shows it in a given state: one container "worker". */
#define POD(name, extra_meta, phase, cstate, ready)			\
	"{\"metadata\": {\"name\": \"" name "\"" extra_meta "},"		\
	" \"status\": {\"phase\": \"" phase "\", \"containerStatuses\": ["	\
	" {\"name\": \"worker\", \"ready\": " ready ", \"restartCount\": 4,"	\
	"  \"state\": " cstate "}]}}"

/* Whether a container runs, and kubectl get pods' STATUS, per state. */
static void
test_pod_states(void **state)
{
	json_t			*pl;
	struct pod_list		 l;
	const struct pod_info	*p;
	char			 err[256] = "";
	size_t			 i;
	static const struct {
		const char	*name, *state;
		int		 running;
	} want[] = {
		{ "running", "Running", 1 },
		{ "starting", "Running", 1 },
		{ "crashloop", "CrashLoopBackOff", 0 },
		{ "error", "Error", 0 },
		{ "imagepull", "ImagePullBackOff", 0 },
		{ "creating", "ContainerCreating", 0 },
		{ "unscheduled", "Pending", 0 },
		{ "deleting", "Terminating", 1 },
		{ "killed", "Signal:9", 0 },
		{ "exitcode", "ExitCode:3", 0 },
		{ "evicted", "Evicted", 0 },
		{ "sidecar", "Running", 1 },
	};

	(void)state;
	pl = load("{\"kind\": \"PodList\", \"items\": ["
	    POD("running", "", "Running",
	    "{\"running\": {\"startedAt\": \"2026-11-25T19:15:30Z\"}}", "true") ","
	    POD("starting", "", "Running",
	    "{\"running\": {\"startedAt\": \"2026-11-25T19:15:30Z\"}}", "false") ","
	    POD("crashloop", "", "Running",
	    "{\"waiting\": {\"reason\": \"CrashLoopBackOff\", \"message\": "
	    "\"back-off 40s restarting failed container=worker pod=crashloop\"}}",
	    "false") ","
	    POD("error", "", "Running",
	    "{\"terminated\": {\"exitCode\": 1, \"reason\": \"Error\"}}",
	    "false") ","
	    POD("imagepull", "", "Pending",
	    "{\"waiting\": {\"reason\": \"ImagePullBackOff\", \"message\": "
	    "\"Back-off pulling image\"}}", "false") ","
	    POD("creating", "", "Pending",
	    "{\"waiting\": {\"reason\": \"ContainerCreating\"}}", "false") ","
	    "{\"metadata\": {\"name\": \"unscheduled\"}, \"status\": {"
	    "  \"phase\": \"Pending\", \"conditions\": [{\"type\": "
	    "  \"PodScheduled\", \"status\": \"False\", \"reason\": "
	    "  \"Unschedulable\"}]}},"
	    POD("deleting", ", \"deletionTimestamp\": \"2026-11-25T19:15:31Z\","
	    " \"deletionGracePeriodSeconds\": 30", "Running",
	    "{\"running\": {\"startedAt\": \"2026-11-25T19:15:30Z\"}}", "false") ","
	    POD("killed", "", "Running",
	    "{\"terminated\": {\"exitCode\": 137, \"signal\": 9}}", "false") ","
	    POD("exitcode", "", "Running",
	    "{\"terminated\": {\"exitCode\": 3}}", "false") ","
	    "{\"metadata\": {\"name\": \"evicted\"}, \"status\": {"
	    "  \"phase\": \"Failed\", \"reason\": \"Evicted\"}},"
	    "{\"metadata\": {\"name\": \"sidecar\"}, \"status\": {"
	    "  \"phase\": \"Running\", \"containerStatuses\": ["
	    "  {\"name\": \"worker\", \"ready\": true, \"state\": {\"running\": {}}},"
	    "  {\"name\": \"init\", \"ready\": false, \"state\": {\"terminated\":"
	    "   {\"exitCode\": 0, \"reason\": \"Completed\"}}}]}}"
	    "]}");
	assert_int_equal(pods_parse(pl, &l, err, sizeof err), 0);
	assert_int_equal(l.n, sizeof want / sizeof want[0]);
	for (i = 0; i < l.n; i++) {
		p = pod_list_find(&l, want[i].name);
		assert_non_null(p);
		if (strcmp(p->state, want[i].state) != 0 ||
		    p->running != want[i].running)
			fail_msg("pod %s: state %s running %d, want %s %d",
			    p->name, p->state, p->running, want[i].state,
			    want[i].running);
	}
	assert_true(pod_list_find(&l, "deleting")->terminating);
	assert_int_equal(pod_list_find(&l, "crashloop")->restarts, 4);
	pod_list_free(&l);
	json_decref(pl);
}

/* What a drain needs to tell a silent worker from a gone one. */
static void
test_pod_gone_why(void **state)
{
	json_t			*pl;
	struct pod_list		 l;
	const struct pod_info	*before, *p;
	char			 err[256] = "";

	(void)state;
	pl = load("{\"kind\": \"PodList\", \"items\": ["
	    "{\"metadata\": {\"name\": \"run\"}, \"status\": {"
	    "  \"phase\": \"Running\", \"containerStatuses\": ["
	    "  {\"name\": \"worker\", \"restartCount\": 2,"
	    "   \"state\": {\"running\": {\"startedAt\": \"2026-11-25T19:15:30Z\"}}},"
	    "  {\"name\": \"side\", \"restartCount\": 1, \"state\": {}}]}},"
	    "{\"metadata\": {\"name\": \"failed\"}, \"status\": {"
	    "  \"phase\": \"Failed\"}},"
	    "{\"metadata\": {\"name\": \"exited\"}, \"status\": {"
	    "  \"phase\": \"Running\", \"containerStatuses\": ["
	    "  {\"restartCount\": 0, \"state\": {\"terminated\": {\"exitCode\": 137}}}]}},"
	    "{\"metadata\": {\"name\": \"deleting\","
	    "  \"deletionTimestamp\": \"2026-11-25T19:15:31Z\"},"
	    "  \"status\": {\"phase\": \"Running\"}},"
	    "{\"metadata\": {\"name\": \"odd\"}, \"status\": {"
	    "  \"containerStatuses\": [{\"restartCount\": \"3\"}, 7]}},"
	    /* a sidecar (statuses sorted by name) exited and restarted */
	    "{\"metadata\": {\"name\": \"sidecar\"}, \"spec\": {\"containers\": ["
	    "  {\"name\": \"worker\"}, {\"name\": \"log-shipper\"}]}, \"status\": {"
	    "  \"phase\": \"Running\", \"containerStatuses\": ["
	    "  {\"name\": \"log-shipper\", \"restartCount\": 5,"
	    "   \"state\": {\"terminated\": {\"exitCode\": 1}}},"
	    "  {\"name\": \"worker\", \"restartCount\": 1,"
	    "   \"state\": {\"running\": {}}}]}},"
	    /* the worker's container named by kubectl's annotation exited */
	    "{\"metadata\": {\"name\": \"annotated\", \"annotations\": {"
	    "  \"kubectl.kubernetes.io/default-container\": \"celery\"}},"
	    "  \"spec\": {\"containers\": [{\"name\": \"istio-proxy\"},"
	    "  {\"name\": \"celery\"}]}, \"status\": {"
	    "  \"phase\": \"Running\", \"containerStatuses\": ["
	    "  {\"name\": \"celery\", \"restartCount\": 0,"
	    "   \"state\": {\"terminated\": {\"exitCode\": 137}}},"
	    "  {\"name\": \"istio-proxy\", \"restartCount\": 2,"
	    "   \"state\": {\"running\": {}}}]}}"
	    "]}");
	assert_int_equal(pods_parse(pl, &l, err, sizeof err), 0);
	assert_int_equal(l.n, 7);
	p = pod_list_find(&l, "sidecar");
	assert_false(p->exited);
	assert_int_equal(p->restarts, 1);
	assert_true(p->running);
	assert_null(pod_gone_why(p, NULL));
	p = pod_list_find(&l, "annotated");
	assert_true(p->exited);
	assert_int_equal(p->restarts, 0);
	assert_non_null(strstr(pod_gone_why(p, NULL), "exited"));
	p = pod_list_find(&l, "run");
	assert_non_null(p);
	assert_int_equal(p->restarts, 3);
	assert_false(p->exited);
	assert_null(pod_gone_why(p, NULL));
	assert_null(pod_gone_why(p, p));
	assert_true(pod_list_find(&l, "failed")->exited);
	assert_true(pod_list_find(&l, "exited")->exited);
	assert_int_equal(pod_list_find(&l, "odd")->restarts, 0);
	assert_null(pod_list_find(&l, "nope"));

	assert_non_null(strstr(pod_gone_why(NULL, NULL), "no longer exists"));
	assert_non_null(strstr(pod_gone_why(pod_list_find(&l, "failed"), NULL),
	    "exited"));
	assert_non_null(strstr(pod_gone_why(pod_list_find(&l, "exited"), NULL),
	    "exited"));
	assert_non_null(strstr(pod_gone_why(pod_list_find(&l, "deleting"),
	    NULL), "being deleted"));
	/* the same pod, listed again after its container restarted */
	before = pod_list_find(&l, "odd");
	assert_non_null(strstr(pod_gone_why(p, before), "restarted"));
	assert_null(pod_gone_why(before, p));
	/* a StatefulSet's pod deleted and created again under its name */
	{
		struct pod_info a = { .name = "sts-0", .uid = "u1", .restarts = 2 };
		struct pod_info b = { .name = "sts-0", .uid = "u2" };
		struct pod_info c = { .name = "sts-0", .uid = NULL, .restarts = 2 };
		assert_non_null(strstr(pod_gone_why(&b, &a), "replaced"));
		assert_null(pod_gone_why(&a, &a));
		assert_null(pod_gone_why(&c, &a));	/* uid not known */
		assert_null(pod_gone_why(&a, &c));
	}
	pod_list_free(&l);
	json_decref(pl);
}

static void
test_pods_errors(void **state)
{
	json_t		*pl;
	struct pod_list	 l;
	char		 err[256];

	(void)state;
	err[0] = '\0';
	pl = load("{\"kind\": \"PodList\"}");
	assert_int_equal(pods_parse(pl, &l, err, sizeof err), -1);
	assert_non_null(strstr(err, "items"));
	assert_null(l.v);
	assert_int_equal(l.n, 0);
	json_decref(pl);

	err[0] = '\0';
	pl = load("{\"items\": {}}");
	assert_int_equal(pods_parse(pl, &l, err, sizeof err), -1);
	assert_true(err[0] != '\0');
	json_decref(pl);

	/* the second pod is bad after the first was copied: nothing leaks */
	err[0] = '\0';
	pl = load("{\"items\": [{\"metadata\": {\"name\": \"a\"}},"
	    " {\"metadata\": {\"name\": 5}}]}");
	assert_int_equal(pods_parse(pl, &l, err, sizeof err), -1);
	assert_non_null(strstr(err, "name"));
	assert_null(l.v);
	assert_int_equal(l.n, 0);
	json_decref(pl);
}

/* ---- kube_describe_error ----------------------------------------------- */

#define SERVER	"https://api.paas.cern.ch:6443"

static void
describe(long status, const char *body, char *err, size_t errlen)
{
	memset(err, 'Z', errlen);
	kube_describe_error(status, body, body ? strlen(body) : 0,
	    "getting deployment ecal-bulk", SERVER, err, errlen);
	assert_non_null(memchr(err, '\0', errlen));
	assert_null(strchr(err, '\n'));
	assert_non_null(strstr(err, SERVER));
	assert_non_null(strstr(err, "getting deployment ecal-bulk"));
}

static void
test_describe_401(void **state)
{
	char	err[700];

	(void)state;
	describe(401, "{\"kind\": \"Status\", \"apiVersion\": \"v1\", "
	    "\"status\": \"Failure\", \"message\": \"Unauthorized\", "
	    "\"reason\": \"Unauthorized\", \"code\": 401}", err, sizeof err);
	assert_non_null(strstr(err, "401"));
	assert_non_null(strstr(err, "oc login"));
	assert_non_null(strstr(err, "log in again"));
	/* the body does not matter */
	describe(401, "", err, sizeof err);
	assert_non_null(strstr(err, "oc login"));
}

static void
test_describe_403(void **state)
{
	char		 err[700];
	const char	*m = "deployments.apps \\\"ecal-bulk\\\" is forbidden: "
	    "User \\\"system:serviceaccount:cms-dials-prod:drainer\\\" cannot "
	    "patch resource \\\"deployments\\\" in API group \\\"apps\\\" in "
	    "the namespace \\\"cms-dials-prod\\\"";
	char		*body;

	(void)state;
	body = NULL;
	if (asprintf(&body, "{\"kind\": \"Status\", \"apiVersion\": \"v1\", "
	    "\"metadata\": {}, \"status\": \"Failure\", \"message\": \"%s\", "
	    "\"reason\": \"Forbidden\", \"details\": {\"name\": \"ecal-bulk\", "
	    "\"group\": \"apps\", \"kind\": \"deployments\"}, \"code\": 403}",
	    m) < 0)
		fail();
	describe(403, body, err, sizeof err);
	free(body);
	assert_non_null(strstr(err, "403"));
	assert_non_null(strstr(err, "deployments.apps \"ecal-bulk\" is "
	    "forbidden: User \"system:serviceaccount:cms-dials-prod:drainer\" "
	    "cannot patch resource \"deployments\""));
	assert_non_null(strstr(err, "patch"));
	/* no Status body: still says what is missing */
	describe(403, "<html>forbidden</html>", err, sizeof err);
	assert_non_null(strstr(err, "403"));
	assert_non_null(strstr(err, "permission denied"));
}

static void
test_describe_404(void **state)
{
	char	err[700];

	(void)state;
	describe(404, "{\"kind\": \"Status\", \"status\": \"Failure\", "
	    "\"message\": \"deployments.apps \\\"ecal-bulkk\\\" not found\", "
	    "\"reason\": \"NotFound\", \"code\": 404}", err, sizeof err);
	assert_non_null(strstr(err, "404"));
	assert_non_null(strstr(err, "deployments.apps \"ecal-bulkk\" not "
	    "found"));
	describe(404, NULL, err, sizeof err);
	assert_non_null(strstr(err, "404"));
	assert_non_null(strstr(err, "not found"));
}

static void
test_describe_other(void **state)
{
	char	err[700], small[24];

	(void)state;
	describe(500, "{\"message\": \"etcdserver: request timed out\"}", err,
	    sizeof err);
	assert_non_null(strstr(err, "HTTP 500"));
	assert_non_null(strstr(err, "etcdserver: request timed out"));
	describe(409, "not json", err, sizeof err);
	assert_non_null(strstr(err, "HTTP 409"));
	assert_null(strstr(err, "not json"));
	/* a short buffer is truncated, NUL-terminated */
	memset(small, 'Z', sizeof small);
	kube_describe_error(401, "", 0, "x", SERVER, small, sizeof small);
	assert_int_equal(strlen(small), sizeof small - 1);
}

/* ---- --handover: rs_owned, rs_recreate, replica_failure -------------- */

static void
test_rs_owned_recreate(void **state)
{
	json_t	*list, *own, *m;

	(void)state;
	list = json_loads("{\"items\":["
	    "{\"metadata\":{\"name\":\"w-a\",\"uid\":\"u1\",\"resourceVersion\":"
	    "\"7\",\"creationTimestamp\":\"2026-01-01T00:00:00Z\","
	    "\"labels\":{\"app\":\"w\",\"pod-template-hash\":\"a\"},"
	    "\"annotations\":{\"deployment.kubernetes.io/revision\":\"3\"},"
	    "\"ownerReferences\":[{\"apiVersion\":\"apps/v1\",\"kind\":"
	    "\"Deployment\",\"name\":\"w\",\"uid\":\"D\",\"controller\":true,"
	    "\"blockOwnerDeletion\":true}]},"
	    "\"spec\":{\"replicas\":2,\"selector\":{\"matchLabels\":{\"app\":"
	    "\"w\"}},\"template\":{\"metadata\":{}}},\"status\":{\"replicas\":2}},"
	    "{\"metadata\":{\"name\":\"w-b\",\"ownerReferences\":[{\"uid\":\"D\","
	    "\"controller\":false}]}},"
	    "{\"metadata\":{\"name\":\"x-c\",\"ownerReferences\":[{\"uid\":\"E\","
	    "\"controller\":true}]}},"
	    "{\"metadata\":{\"name\":\"w-d\"}}]}", 0, NULL);
	assert_non_null(list);
	own = rs_owned(list, "D");
	assert_int_equal(json_array_size(own), 1);
	m = rs_recreate(json_array_get(own, 0), 0);
	assert_string_equal(json_string_value(json_object_get(m, "kind")),
	    "ReplicaSet");
	assert_int_equal(json_integer_value(json_object_get(json_object_get(m,
	    "spec"), "replicas")), 0);
	assert_non_null(json_object_get(json_object_get(m, "spec"),
	    "template"));
	assert_null(json_object_get(m, "status"));
	assert_null(json_object_get(json_object_get(m, "metadata"), "uid"));
	assert_null(json_object_get(json_object_get(m, "metadata"),
	    "resourceVersion"));
	assert_null(json_object_get(json_object_get(m, "metadata"),
	    "creationTimestamp"));
	assert_string_equal(json_string_value(json_object_get(json_object_get(
	    json_object_get(m, "metadata"), "annotations"),
	    "deployment.kubernetes.io/revision")), "3");
	assert_int_equal(json_array_size(json_object_get(json_object_get(m,
	    "metadata"), "ownerReferences")), 1);
	assert_true(json_is_true(json_object_get(json_array_get(json_object_get(
	    json_object_get(m, "metadata"), "ownerReferences"), 0),
	    "controller")));
	assert_null(json_object_get(json_array_get(json_object_get(
	    json_object_get(m, "metadata"), "ownerReferences"), 0),
	    "blockOwnerDeletion"));
	/* the listed object keeps it */
	assert_non_null(json_object_get(json_array_get(json_object_get(
	    json_object_get(json_array_get(own, 0), "metadata"),
	    "ownerReferences"), 0), "blockOwnerDeletion"));
	/* the listed object is not changed */
	assert_int_equal(json_integer_value(json_object_get(json_object_get(
	    json_array_get(own, 0), "spec"), "replicas")), 2);
	json_decref(m);
	json_decref(own);
	own = rs_owned(list, NULL);
	assert_int_equal(json_array_size(own), 0);
	json_decref(own);
	json_decref(list);
}

static void
test_replica_failure(void **state)
{
	json_t	*d;

	(void)state;
	d = json_loads("{\"status\":{\"conditions\":[{\"type\":\"Progressing\","
	    "\"status\":\"True\"},{\"type\":\"ReplicaFailure\",\"status\":"
	    "\"True\",\"message\":\"pods \\\"w-x\\\" is forbidden: exceeded "
	    "quota\"}]}}", 0, NULL);
	assert_non_null(d);
	assert_non_null(replica_failure(d));
	assert_non_null(strstr(replica_failure(d), "exceeded quota"));
	json_decref(d);
	d = json_loads("{\"status\":{\"conditions\":[{\"type\":"
	    "\"ReplicaFailure\",\"status\":\"False\"}]}}", 0, NULL);
	assert_null(replica_failure(d));
	json_decref(d);
	d = json_loads("{}", 0, NULL);
	assert_null(replica_failure(d));
	json_decref(d);
}

/*
 * A StatefulSet "w" as the API server shows it (updateStrategy defaulted):
 * type (NULL: no updateStrategy), partition (negative: no rollingUpdate;
 * -2: rollingUpdate without partition), spec.replicas (negative: nil),
 * metadata.generation, status.{observedGeneration, readyReplicas,
 * updatedReplicas, currentReplicas}, the revisions.
 */
static json_t *
statefulset(const char *type, long part, long want, long gen, long ogen,
    long ready, long upd, long cur, const char *currev, const char *updrev)
{
	json_t	*d = deployment("w", want, gen, ogen, -1, upd, -1);
	json_t	*spec = json_object_get(d, "spec");
	json_t	*st = json_object_get(d, "status");
	json_t	*us;

	json_object_set_new(d, "kind", json_string("StatefulSet"));
	if (type != NULL) {
		us = json_pack("{s:s}", "type", type);
		if (part >= 0)
			json_object_set_new(us, "rollingUpdate",
			    json_pack("{s:I}", "partition", (json_int_t)part));
		else if (part == -2)
			json_object_set_new(us, "rollingUpdate", json_object());
		json_object_set_new(spec, "updateStrategy", us);
	}
	json_object_set_new(st, "readyReplicas", json_integer(ready));
	json_object_set_new(st, "currentReplicas", json_integer(cur));
	json_object_set_new(st, "currentRevision", json_string(currev));
	json_object_set_new(st, "updateRevision", json_string(updrev));
	return d;
}

static void
assert_sts(json_t *d, enum rollout_state want, const char *msg)
{
	assert_viewer(sts_rollout_status, d, want, msg);
}

/* kubectl's StatefulSetStatusViewer, branch by branch, in its order */
static void
test_sts_rollout(void **state)
{
	(void)state;
	/* OnDelete (or no type at all) is refused before anything else */
	assert_sts(statefulset("OnDelete", -1, 2, 2, 1, 0, 0, 0, "w-1", "w-2"),
	    ROLLOUT_FAILED, "rollout status is only available for "
	    "RollingUpdate strategy type");
	assert_sts(statefulset(NULL, -1, 2, 1, 1, 2, 2, 2, "w-1", "w-1"),
	    ROLLOUT_FAILED, "rollout status is only available for "
	    "RollingUpdate strategy type");
	/* the generation: not observed yet, or never (0) */
	assert_sts(statefulset("RollingUpdate", 0, 2, 3, 2, 2, 2, 2, "a", "a"),
	    ROLLOUT_WAITING, "Waiting for statefulset spec update to be "
	    "observed...");
	assert_sts(statefulset("RollingUpdate", 0, 2, 0, 0, 2, 2, 2, "a", "a"),
	    ROLLOUT_WAITING, "Waiting for statefulset spec update to be "
	    "observed...");
	/* readiness before the update count */
	assert_sts(statefulset("RollingUpdate", 0, 2, 2, 2, 1, 2, 0, "a", "b"),
	    ROLLOUT_WAITING, "Waiting for 1 pods to be ready...");
	/* the partition: ordinals from it up must be updated */
	assert_sts(statefulset("RollingUpdate", 0, 2, 2, 2, 2, 1, 1, "a", "b"),
	    ROLLOUT_WAITING, "Waiting for partitioned roll out to finish: 1 "
	    "out of 2 new pods have been updated...");
	assert_sts(statefulset("RollingUpdate", 1, 3, 2, 2, 3, 2, 1, "a", "b"),
	    ROLLOUT_DONE, "partitioned roll out complete: 2 new pods have "
	    "been updated...");
	assert_sts(statefulset("RollingUpdate", 1, 3, 2, 2, 3, 1, 2, "a", "b"),
	    ROLLOUT_WAITING, "Waiting for partitioned roll out to finish: 1 "
	    "out of 2 new pods have been updated...");
	/* with a rollingUpdate the revisions are not compared */
	assert_sts(statefulset("RollingUpdate", 0, 2, 2, 2, 2, 2, 0, "a", "b"),
	    ROLLOUT_DONE, "partitioned roll out complete: 2 new pods have "
	    "been updated...");
	/* rollingUpdate without a partition: no partition check */
	assert_sts(statefulset("RollingUpdate", -2, 2, 2, 2, 2, 0, 2, "a", "a"),
	    ROLLOUT_DONE, "partitioned roll out complete: 0 new pods have "
	    "been updated...");
	/* no rollingUpdate: the revisions decide */
	assert_sts(statefulset("RollingUpdate", -1, 2, 2, 2, 2, 1, 1, "w-a",
	    "w-b"), ROLLOUT_WAITING, "waiting for statefulset rolling update to "
	    "complete 1 pods at revision w-b...");
	assert_sts(statefulset("RollingUpdate", -1, 2, 2, 2, 2, 2, 2, "w-b",
	    "w-b"), ROLLOUT_DONE, "statefulset rolling update complete 2 pods "
	    "at revision w-b...");
	/* spec.replicas nil: no readiness nor partition check */
	assert_sts(statefulset("RollingUpdate", 1, -1, 2, 2, 0, 0, 0, "a", "b"),
	    ROLLOUT_DONE, "partitioned roll out complete: 0 new pods have "
	    "been updated...");
}

/* deploy_parse() of a StatefulSet: OnDelete is what RESOLVE refuses */
static void
test_sts_parse(void **state)
{
	struct deploy_info	 di;
	char			 err[128];
	json_t			*d;

	(void)state;
	d = statefulset("OnDelete", -1, 2, 1, 1, 2, 2, 2, "a", "a");
	assert_int_equal(deploy_parse(d, &di, err, sizeof err), 0);
	assert_true(di.on_delete);
	assert_string_equal(di.selector, "app=w");
	assert_int_equal(di.replicas, 2);
	deploy_info_free(&di);
	json_decref(d);
	d = statefulset("RollingUpdate", 0, 2, 1, 1, 2, 2, 2, "a", "a");
	assert_int_equal(deploy_parse(d, &di, err, sizeof err), 0);
	assert_false(di.on_delete);
	assert_int_equal(di.partition, 0);
	deploy_info_free(&di);
	json_decref(d);
	d = statefulset("RollingUpdate", 1, 2, 1, 1, 2, 2, 2, "a", "a");
	assert_int_equal(deploy_parse(d, &di, err, sizeof err), 0);
	assert_int_equal(di.partition, 1);
	deploy_info_free(&di);
	json_decref(d);
	/* a Deployment has no updateStrategy */
	d = deployment("x", 1, 1, 1, 1, 1, 1);
	assert_int_equal(deploy_parse(d, &di, err, sizeof err), 0);
	assert_false(di.on_delete);
	deploy_info_free(&di);
	json_decref(d);
}

/* a StatefulSet's replacement pod has the old one's name, not its uid */
static void
test_pod_identity(void **state)
{
	struct pod_list	 pl;
	char		 err[128];
	json_t		*l;

	(void)state;
	l = json_loads("{\"items\": [{\"metadata\": {\"name\": \"w-0\", "
	    "\"uid\": \"u-1\"}}, {\"metadata\": {\"name\": \"d-abc\"}}]}",
	    0, NULL);
	assert_int_equal(pods_parse(l, &pl, err, sizeof err), 0);
	assert_string_equal(pod_identity(&pl.v[0], 1), "u-1");
	assert_string_equal(pod_identity(&pl.v[0], 0), "w-0");
	/* no uid: the name */
	assert_string_equal(pod_identity(&pl.v[1], 1), "d-abc");
	pod_list_free(&pl);
	json_decref(l);
}

/* TYPE/NAME as oc takes it; the canonical form keys leases and journals */
static void
test_targets(void **state)
{
	static const struct {
		const char	*arg, *canon;
	} ok[] = {
		{ "csc-bulk", "csc-bulk" },
		{ "deployment/csc-bulk", "csc-bulk" },
		{ "deploy/csc-bulk", "csc-bulk" },
		{ "deployments/csc-bulk", "csc-bulk" },
		{ "Deployment/csc-bulk", "csc-bulk" },
		{ "statefulset/airflow-worker", "statefulset/airflow-worker" },
		{ "statefulsets/airflow-worker", "statefulset/airflow-worker" },
		{ "sts/airflow-worker", "statefulset/airflow-worker" },
		{ "StatefulSet/airflow-worker", "statefulset/airflow-worker" },
		/* a DNS-1123 subdomain, as Kubernetes names them */
		{ "csc.bulk", "csc.bulk" },
		{ "sts/a.b", "statefulset/a.b" },
	};
	/* an unknown type, or a name Kubernetes would refuse (exit 2) */
	static const char *bad[] = {
		"daemonset/x", "pod/x", "/x", "replicaset/x",
		"statefulset.apps/x", "deploymentx/y",
		"sts/X", "deployment/", "Ecal_Bulk", "", "csc..bulk", "-csc",
		"deployment/csc/bulk",
	};
	char		 err[256], *t;
	const char	*name;
	size_t		 i;

	(void)state;
	for (i = 0; i < sizeof ok / sizeof ok[0]; i++) {
		t = kube_target_parse(ok[i].arg, err, sizeof err);
		assert_non_null(t);
		assert_string_equal(t, ok[i].canon);
		free(t);
	}
	for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		err[0] = '\0';
		assert_null(kube_target_parse(bad[i], err, sizeof err));
		assert_true(err[0] != '\0');
	}
	assert_null(kube_target_parse("daemonset/x", err, sizeof err));
	assert_non_null(strstr(err, "unknown type \"daemonset\""));
	assert_null(kube_target_parse("deploy/Ecal_Bulk", err, sizeof err));
	assert_non_null(strstr(err, "\"Ecal_Bulk\" is not a valid Deployment "
	    "name"));
	assert_true(kube_target_split("statefulset/w", &name));
	assert_string_equal(name, "w");
	assert_false(kube_target_split("w", &name));
	assert_string_equal(name, "w");
	assert_string_equal(kube_target_kind("statefulset/w"), "statefulset");
	assert_string_equal(kube_target_kind("w"), "deployment");
	/* a StatefulSet's pods: NAME-N */
	assert_int_equal(sts_pod_ordinal("w", "w-0"), 0);
	assert_int_equal(sts_pod_ordinal("w", "w-12"), 12);
	assert_int_equal(sts_pod_ordinal("w", "w-"), -1);
	assert_int_equal(sts_pod_ordinal("w", "w-01"), -1);
	assert_int_equal(sts_pod_ordinal("w", "w-1a"), -1);
	assert_int_equal(sts_pod_ordinal("w", "wx-1"), -1);
	assert_int_equal(sts_pod_ordinal("w-1", "w-1"), -1);
	assert_int_equal(sts_pod_ordinal("w", "w-99999999999999999999"), -1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_spec_not_observed),
		cmocka_unit_test(test_deadline_exceeded),
		cmocka_unit_test(test_rs_owned_recreate),
		cmocka_unit_test(test_replica_failure),
		cmocka_unit_test(test_updated_lt_replicas),
		cmocka_unit_test(test_old_pending_termination),
		cmocka_unit_test(test_available_lt_updated),
		cmocka_unit_test(test_done),
		cmocka_unit_test(test_message_truncated),
		cmocka_unit_test(test_rollout_garbage),
		cmocka_unit_test(test_deploy_parse),
		cmocka_unit_test(test_deploy_defaults),
		cmocka_unit_test(test_deploy_errors),
		cmocka_unit_test(test_pods_parse),
		cmocka_unit_test(test_pod_gone_why),
		cmocka_unit_test(test_pod_states),
		cmocka_unit_test(test_pods_errors),
		cmocka_unit_test(test_describe_401),
		cmocka_unit_test(test_describe_403),
		cmocka_unit_test(test_describe_404),
		cmocka_unit_test(test_describe_other),
		cmocka_unit_test(test_sts_rollout),
		cmocka_unit_test(test_sts_parse),
		cmocka_unit_test(test_targets),
		cmocka_unit_test(test_pod_identity),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
