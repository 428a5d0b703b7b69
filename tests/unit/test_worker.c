/*
 * test_worker.c -- worker.h: the Flower/Celery worker parsers on every
 * captured /api/workers?refresh=1&workername=W answer in
 * ../shared/fixtures/flower/, the stale answer for a worker whose pod is
 * gone, the ?status=true answer, and on malformed input; the task lists;
 * and the readers of a worker's queues: worker_argv_queues() for each of
 * Celery's spellings of -Q, and worker_left_drained() for each source of a
 * worker's queues.
 */
#include <glob.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "worker.h"
#include "slurp.h"

#ifndef FIXTURES
#error "FIXTURES (the shared fixtures directory) must be defined"
#endif
#define FLOWER	FIXTURES "/flower/"

#define BBB	"ecal-bulk@pod-bbb"
#define ACTIVE_ID	"1be85012-6b19-42f6-a83d-31db35a0ca07"
#define ACTIVE_START	1795633968.9537654

static const char *reserved_ids[] = {
	"51e31e48-e006-4cda-8d32-49661bbfaefd",
	"f9116f44-9dbf-4062-8769-19cafdce1fe4",
	"27286059-af6f-4cd6-8a44-c5cc7b0a9653",
	"066f4a72-45b1-492b-9830-c3e368d83b9d",
};

/* A string field inside a fixture file, by a path of object keys. */
static char *
fixture_field(const char *file, const char *k1, const char *k2,
    const char *k3)
{
	json_error_t	 je;
	json_t		*root, *v;
	char		*out;

	root = json_load_file(file, 0, &je);
	if (root == NULL)
		fail_msg("%s: %s", file, je.text);
	v = json_object_get(root, k1);
	if (k2 != NULL)
		v = json_object_get(v, k2);
	if (k3 != NULL)
		v = json_object_get(v, k3);
	if (!json_is_string(v))
		fail_msg("%s: %s.%s.%s is not a string", file, k1, k2, k3);
	out = strdup(json_string_value(v));
	json_decref(root);
	assert_non_null(out);
	return out;
}

/* Checks the parts every well-formed snapshot has. */
static void
check_snap_sane(const struct worker_snap *s, const char *name)
{
	size_t				 i, k;
	const struct task_list		*lists[3];

	assert_string_equal(s->name, name);
	assert_true(s->timestamp > 1.7e9);
	for (i = 0; i < s->queues.n; i++)
		assert_true(s->queues.v[i][0] != '\0');
	lists[0] = &s->active;
	lists[1] = &s->reserved;
	lists[2] = &s->scheduled;
	for (k = 0; k < 3; k++)
		for (i = 0; i < lists[k]->n; i++) {
			assert_non_null(lists[k]->v[i].id);
			assert_int_equal(strlen(lists[k]->v[i].id), 36);
			assert_non_null(lists[k]->v[i].name);
			assert_true(k == 2 || lists[k]->v[i].eta == NULL);
		}
}

static void
check_busy_tasks(const struct worker_snap *s)
{
	size_t	i;

	assert_int_equal(s->active.n, 1);
	assert_string_equal(s->active.v[0].id, ACTIVE_ID);
	assert_string_equal(s->active.v[0].name, "sleep");
	assert_true(s->active.v[0].started == ACTIVE_START);
	assert_null(s->active.v[0].eta);
	/* the running task's args are Celery's repr string, kept as is */
	assert_non_null(s->active.v[0].args);
	assert_string_equal(s->active.v[0].args, "(6, 'f0')");
	assert_int_equal(s->reserved.n, 4);
	for (i = 0; i < 4; i++) {
		assert_string_equal(s->reserved.v[i].id, reserved_ids[i]);
		assert_string_equal(s->reserved.v[i].name, "sleep");
		assert_true(s->reserved.v[i].started == 0);
		assert_null(s->reserved.v[i].eta);
		/* a prefetched task's args are a JSON list: kept as JSON */
		assert_non_null(s->reserved.v[i].args);
		assert_int_equal(s->reserved.v[i].args[0], '[');
	}
	assert_string_equal(s->reserved.v[0].args, "[6,\"f2\"]");
	assert_int_equal(s->scheduled.n, 0);
}

static void
expect_busy(const struct worker_snap *s)
{
	assert_string_equal(s->name, BBB);
	assert_true(s->timestamp == 1795633970.5420067);
	assert_true(s->have_queues);
	assert_int_equal(s->queues.n, 1);
	assert_string_equal(s->queues.v[0], "ecal-bulk");
	check_busy_tasks(s);
	assert_false(worker_drained(s));
}

static void
expect_after_cancel(const struct worker_snap *s)
{
	assert_string_equal(s->name, BBB);
	assert_true(s->timestamp == 1795633970.6051154);
	/* active_queues is there, and empty: cancelled */
	assert_true(s->have_queues);
	assert_int_equal(s->queues.n, 0);
	check_busy_tasks(s);
	assert_false(worker_drained(s));
}

static void
expect_drained(const struct worker_snap *s)
{
	assert_string_equal(s->name, BBB);
	assert_true(s->timestamp == 1795634002.2242367);
	assert_true(s->have_queues);
	assert_int_equal(s->queues.n, 0);
	assert_int_equal(s->active.n, 0);
	assert_int_equal(s->reserved.n, 0);
	assert_int_equal(s->scheduled.n, 0);
	assert_true(worker_drained(s));
}

static void
expect_with_eta(const struct worker_snap *s)
{
	assert_string_equal(s->name, "ecal-bulk@pod-ccc");
	assert_true(s->timestamp == 1795635460.8319159);
	assert_true(s->have_queues);
	assert_int_equal(s->queues.n, 1);
	assert_string_equal(s->queues.v[0], "ecal-bulk");
	assert_int_equal(s->active.n, 0);
	assert_int_equal(s->reserved.n, 0);
	assert_int_equal(s->scheduled.n, 1);
	assert_string_equal(s->scheduled.v[0].id,
	    "88749c02-6019-4001-addf-48f21af07a99");
	assert_string_equal(s->scheduled.v[0].name, "sleep");
	assert_non_null(s->scheduled.v[0].eta);
	assert_string_equal(s->scheduled.v[0].eta,
	    "2026-11-25T20:37:35.561124+00:00");
	assert_true(s->scheduled.v[0].started == 0);
	/* still consuming */
	assert_false(worker_drained(s));
}

static const struct {
	const char	*suffix;
	void		(*expect)(const struct worker_snap *);
} known[] = {
	{ "busy", expect_busy },
	{ "after_cancel", expect_after_cancel },
	{ "drained", expect_drained },
	{ "with_eta_task", expect_with_eta },
};

/* The one worker name at the top of a refresh answer. */
static char *
only_key(const char *body, size_t len)
{
	json_t		*root = json_loadb(body, len, 0, NULL);
	const char	*k;
	json_t		*v;
	char		*name = NULL;

	assert_non_null(root);
	assert_int_equal(json_object_size(root), 1);
	json_object_foreach(root, k, v)
		name = strdup(k);
	json_decref(root);
	assert_non_null(name);
	return name;
}

static void
test_every_refresh_fixture(void **state)
{
	glob_t	 g;
	size_t	 i, j, len;
	int	 seen[sizeof known / sizeof known[0]];

	(void)state;
	memset(seen, 0, sizeof seen);
	assert_int_equal(glob(FLOWER "GET_api_workers_refresh_one_*.json", 0,
	    NULL, &g), 0);
	assert_true(g.gl_pathc >= 4);
	for (i = 0; i < g.gl_pathc; i++) {
		const char		*path = g.gl_pathv[i];
		const char		*suf = strstr(path, "_refresh_one_") +
		    strlen("_refresh_one_");
		struct worker_snap	 s;
		char			 err[256] = "";
		char			*body = slurp(path, &len);
		char			*name = only_key(body, len);
		int			 rc;

		rc = flower_parse_workers(body, len, name, &s, err,
		    sizeof err);
		if (rc != 0)
			fail_msg("%s: %s", path, err);
		check_snap_sane(&s, name);
		for (j = 0; j < sizeof known / sizeof known[0]; j++)
			if (strncmp(suf, known[j].suffix,
			    strlen(known[j].suffix)) == 0 &&
			    strcmp(suf + strlen(known[j].suffix), ".json") ==
			    0) {
				known[j].expect(&s);
				seen[j]++;
			}
		worker_snap_free(&s);
		assert_null(s.name);
		assert_int_equal(s.active.n, 0);

		/* the same answer asked for another worker */
		err[0] = '\0';
		assert_int_equal(flower_parse_workers(body, len,
		    "ecal-bulk@pod-zzz", &s, err, sizeof err), -1);
		assert_non_null(strstr(err, "ecal-bulk@pod-zzz"));
		assert_null(s.name);
		free(name);
		free(body);
	}
	globfree(&g);
	for (j = 0; j < sizeof known / sizeof known[0]; j++)
		if (seen[j] != 1)
			fail_msg("fixture *_%s.json parsed %d times",
			    known[j].suffix, seen[j]);
}

#define OFFLINE_FILE	FLOWER "after_rollout_offline_worker.json"
#define OLD_WORKER	"ecal-bulk@ecal-bulk-w4udks5m3-1f0g4"
#define NEW_WORKER	"ecal-bulk@ecal-bulk-prorfjjtp-41ucx"

/*
 * Flower keeps answering for a worker whose pod is gone with the last
 * thing it heard: the stale answer parses like any other.
 */
static void
test_offline_worker_refresh(void **state)
{
	char			*body = fixture_field(OFFLINE_FILE, "captures",
				    "refresh_offline_worker", "body");
	char			*old = fixture_field(OFFLINE_FILE,
				    "old_worker", NULL, NULL);
	struct worker_snap	 s;
	char			 err[256] = "";

	(void)state;
	assert_string_equal(old, OLD_WORKER);
	assert_int_equal(flower_parse_workers(body, strlen(body), OLD_WORKER,
	    &s, err, sizeof err), 0);
	check_snap_sane(&s, OLD_WORKER);
	assert_true(s.timestamp == 1795634909.3258412);
	assert_true(s.have_queues);
	assert_int_equal(s.queues.n, 1);
	assert_string_equal(s.queues.v[0], "ecal-bulk");
	assert_int_equal(s.active.n, 0);
	assert_int_equal(s.reserved.n, 0);
	assert_int_equal(s.scheduled.n, 0);
	assert_false(worker_drained(&s));
	worker_snap_free(&s);
	free(body);
	free(old);
}

static void
test_status_after_restart(void **state)
{
	char			*body = fixture_field(OFFLINE_FILE, "captures",
				    "status_after_restart", "body");
	struct worker_status	*ws = NULL;
	size_t			 n = 99, i;
	char			 err[256] = "";
	int			 found_old = 0, found_new = 0, online = 0;

	(void)state;
	assert_int_equal(flower_parse_status(body, strlen(body), &ws, &n, err,
	    sizeof err), 0);
	assert_non_null(ws);
	assert_int_equal(n, 4);
	for (i = 0; i < n; i++) {
		assert_non_null(ws[i].name);
		assert_non_null(strchr(ws[i].name, '@'));
		online += ws[i].online;
		if (strcmp(ws[i].name, OLD_WORKER) == 0) {
			found_old++;
			assert_false(ws[i].online);
		} else
			assert_true(ws[i].online);
		if (strcmp(ws[i].name, NEW_WORKER) == 0)
			found_new++;
	}
	assert_int_equal(found_old, 1);
	assert_int_equal(found_new, 1);
	assert_int_equal(online, 3);
	/* in the answer's order */
	assert_string_equal(ws[0].name,
	    "tracker-priority@tracker-priority-9k15fpm47-30rns");
	assert_string_equal(ws[1].name, OLD_WORKER);
	worker_status_free(ws, n);
	free(body);
}

static void
assert_status_rejects(const char *body, size_t len)
{
	struct worker_status	*ws = (struct worker_status *)&ws;
	size_t			 n = 99;
	char			 err[256] = "";

	assert_int_equal(flower_parse_status(body, len, &ws, &n, err,
	    sizeof err), -1);
	assert_true(err[0] != '\0');
	assert_null(strchr(err, '\n'));
	assert_null(ws);
	assert_int_equal(n, 0);
}

#define STATUS_REJECTS(s)	assert_status_rejects((s), strlen(s))

static void
test_status_malformed(void **state)
{
	struct worker_status	*ws = NULL;
	size_t			 n = 99;
	char			 err[256] = "";

	(void)state;
	STATUS_REJECTS("");
	STATUS_REJECTS("not json");
	STATUS_REJECTS("{\"ecal-bulk@");
	STATUS_REJECTS("[true, false]");
	STATUS_REJECTS("true");
	/* the bad value after a good one was copied: nothing leaks */
	STATUS_REJECTS("{\"a@b\": true, \"c@d\": \"yes\"}");
	STATUS_REJECTS("{\"a@b\": true, \"c@d\": 1}");
	STATUS_REJECTS("{\"a@b\": null}");
	STATUS_REJECTS("{\"a@b\": true, \"a@b\": false}");
	assert_status_rejects("{\"a@b\": true}", 5);

	/* no workers at all is a valid answer */
	assert_int_equal(flower_parse_status("{}", 2, &ws, &n, err,
	    sizeof err), 0);
	assert_int_equal(n, 0);
	worker_status_free(ws, n);
}

static void
assert_workers_rejects(const char *body, size_t len, const char *name,
    const char *needle)
{
	struct worker_snap	s;
	char			err[256] = "";

	memset(&s, 0x5a, sizeof s);
	assert_int_equal(flower_parse_workers(body, len, name, &s, err,
	    sizeof err), -1);
	assert_true(err[0] != '\0');
	assert_null(strchr(err, '\n'));
	if (needle != NULL && strstr(err, needle) == NULL)
		fail_msg("error \"%s\" does not mention \"%s\"", err, needle);
	/* never half-filled */
	assert_null(s.name);
	assert_int_equal(s.have_queues, 0);
	assert_null(s.queues.v);
	assert_int_equal(s.queues.n, 0);
	assert_null(s.active.v);
	assert_int_equal(s.active.n, 0);
	assert_null(s.reserved.v);
	assert_int_equal(s.reserved.n, 0);
	assert_null(s.scheduled.v);
	assert_int_equal(s.scheduled.n, 0);
}

#define REJECTS(body, needle) \
	assert_workers_rejects((body), strlen(body), BBB, (needle))

static void
test_workers_malformed(void **state)
{
	size_t	 len;
	char	*busy;

	(void)state;
	REJECTS("", "malformed JSON");
	REJECTS("not json", "malformed JSON");
	REJECTS("{\"ecal-bulk@", "malformed JSON");
	REJECTS("[]", NULL);
	REJECTS("\"" BBB "\"", NULL);
	REJECTS("{}", BBB);
	REJECTS("{\"ecal-bulk@pod-aaa\": {}}", BBB);
	REJECTS("{\"" BBB "\": []}", "not an object");
	REJECTS("{\"" BBB "\": null}", NULL);
	REJECTS("{\"" BBB "\": {}, \"" BBB "\": {}}", NULL);
	REJECTS("{\"" BBB "\": {\"active_queues\": \"ecal-bulk\"}}",
	    "active_queues");
	REJECTS("{\"" BBB "\": {\"active_queues\": [{\"name\": \"a\"}, "
	    "{\"routing_key\": \"b\"}]}}", "queue");
	REJECTS("{\"" BBB "\": {\"active_queues\": [\"ecal-bulk\"]}}",
	    "queue");
	REJECTS("{\"" BBB "\": {\"timestamp\": \"1795633970.5\"}}",
	    "timestamp");
	REJECTS("{\"" BBB "\": {\"active\": [{\"id\": 12345, "
	    "\"name\": \"sleep\"}]}}", "id");
	REJECTS("{\"" BBB "\": {\"active\": [{\"name\": \"sleep\"}]}}", "id");
	REJECTS("{\"" BBB "\": {\"active\": [\"a-task-id\"]}}", NULL);
	REJECTS("{\"" BBB "\": {\"active\": {\"id\": \"x\"}}}", "array");
	REJECTS("{\"" BBB "\": {\"active\": [{\"id\": \"x\", \"name\": 7}]}}",
	    "name");
	REJECTS("{\"" BBB "\": {\"active\": [{\"id\": \"x\", "
	    "\"time_start\": \"soon\"}]}}", "time_start");
	/* a bad reserved list after a good active one: nothing leaks */
	REJECTS("{\"" BBB "\": {\"active_queues\": [{\"name\": \"q\"}], "
	    "\"active\": [{\"id\": \"x\", \"name\": \"sleep\", \"args\": [1]}], "
	    "\"reserved\": [{\"id\": \"y\"}, {\"id\": null}]}}", "id");
	/* scheduled entries carry the task under "request" */
	REJECTS("{\"" BBB "\": {\"active\": [{\"id\": \"x\"}], \"scheduled\": "
	    "[{\"eta\": \"2026-11-25T20:37:35+00:00\", \"id\": \"y\"}]}}",
	    "request");
	REJECTS("{\"" BBB "\": {\"scheduled\": [{\"eta\": \"e\", \"request\": "
	    "{\"id\": \"y\"}}, {\"request\": {\"id\": 3}}]}}", "id");
	REJECTS("{\"" BBB "\": {\"scheduled\": [5]}}", "request");

	/* the busy fixture, cut anywhere, is malformed JSON */
	busy = slurp(FLOWER "GET_api_workers_refresh_one_busy.json", &len);
	assert_workers_rejects(busy, len / 2, BBB, "malformed JSON");
	assert_workers_rejects(busy, len - 4, BBB, "malformed JSON");
	assert_workers_rejects(busy, 14, BBB, "malformed JSON");
	free(busy);
}

static void
test_workers_minimal(void **state)
{
	struct worker_snap	s;
	char			err[256] = "";
	const char		*b = "{\"" BBB "\": {\"active\": null}}";

	(void)state;
	/* missing sections stay empty; without active_queues we know less */
	assert_int_equal(flower_parse_workers(b, strlen(b), BBB, &s, err,
	    sizeof err), 0);
	assert_string_equal(s.name, BBB);
	assert_true(s.timestamp == 0);
	assert_false(s.have_queues);
	assert_int_equal(s.queues.n, 0);
	assert_int_equal(s.active.n + s.reserved.n + s.scheduled.n, 0);
	worker_snap_free(&s);

	/* a task without a name is "?"; args not a list are kept as text */
	b = "{\"" BBB "\": {\"active\": [{\"id\": \"t1\", \"name\": null, "
	    "\"args\": \"(1, 2)\", \"time_start\": 100.5}]}}";
	assert_int_equal(flower_parse_workers(b, strlen(b), BBB, &s, err,
	    sizeof err), 0);
	assert_int_equal(s.active.n, 1);
	assert_string_equal(s.active.v[0].id, "t1");
	assert_string_equal(s.active.v[0].name, "?");
	assert_string_equal(s.active.v[0].args, "(1, 2)");
	assert_true(s.active.v[0].started == 100.5);
	worker_snap_free(&s);
}

static void
test_tasks_from_json(void **state)
{
	struct task_list	 tl;
	char			 err[256] = "";
	json_t			*a;

	(void)state;
	assert_int_equal(tasks_from_json(NULL, 0, &tl, err, sizeof err), 0);
	assert_int_equal(tl.n, 0);
	a = json_null();
	assert_int_equal(tasks_from_json(a, 1, &tl, err, sizeof err), 0);
	assert_int_equal(tl.n, 0);
	json_decref(a);

	a = json_pack("[{s:s,s:i,s:{s:s,s:s,s:f}}]", "eta", "E1", "priority", 6,
	    "request", "id", "r1", "name", "n1", "time_start", 5.0);
	assert_int_equal(tasks_from_json(a, 1, &tl, err, sizeof err), 0);
	assert_int_equal(tl.n, 1);
	assert_string_equal(tl.v[0].id, "r1");
	assert_string_equal(tl.v[0].name, "n1");
	assert_string_equal(tl.v[0].eta, "E1");
	assert_true(tl.v[0].started == 5.0);
	task_list_free(&tl);
	assert_null(tl.v);
	/* the same list read as not scheduled: entries have no "id" */
	err[0] = '\0';
	assert_int_equal(tasks_from_json(a, 0, &tl, err, sizeof err), -1);
	assert_true(err[0] != '\0');
	assert_null(tl.v);
	assert_int_equal(tl.n, 0);
	json_decref(a);

	a = json_string("[]");
	err[0] = '\0';
	assert_int_equal(tasks_from_json(a, 0, &tl, err, sizeof err), -1);
	assert_non_null(strstr(err, "array"));
	json_decref(a);
}

static void
test_tasks_describe(void **state)
{
	struct worker_snap	 s;
	char			 err[256] = "";
	char			*body, *d;
	size_t			 len;

	(void)state;
	body = slurp(FLOWER "GET_api_workers_refresh_one_busy.json", &len);
	assert_int_equal(flower_parse_workers(body, len, BBB, &s, err,
	    sizeof err), 0);
	free(body);

	d = tasks_describe(&s.active, ACTIVE_START + 185);
	assert_non_null(strstr(d, ACTIVE_ID));
	assert_non_null(strstr(d, "sleep"));
	assert_non_null(strstr(d, "running for"));
	assert_non_null(strstr(d, "3m05s"));
	assert_null(strchr(d, '\n'));
	free(d);

	d = tasks_describe(&s.reserved, ACTIVE_START + 185);
	assert_non_null(strstr(d, reserved_ids[0]));
	assert_non_null(strstr(d, reserved_ids[3]));
	assert_null(strstr(d, "running for"));	/* not started */
	free(d);

	d = tasks_describe(&s.scheduled, 0);
	assert_string_equal(d, "");
	free(d);
	worker_snap_free(&s);

	body = slurp(FLOWER "GET_api_workers_refresh_one_with_eta_task.json",
	    &len);
	assert_int_equal(flower_parse_workers(body, len, "ecal-bulk@pod-ccc",
	    &s, err, sizeof err), 0);
	free(body);
	d = tasks_describe(&s.scheduled, 0);
	assert_non_null(strstr(d, "88749c02-6019-4001-addf-48f21af07a99"));
	assert_non_null(strstr(d, "2026-11-25T20:37:35.561124+00:00"));
	free(d);
	worker_snap_free(&s);
}

static void
test_worker_pod_and_move(void **state)
{
	struct worker_snap	a, b;
	char			err[256] = "";
	const char		*j = "{\"w@p\": {\"active_queues\": "
				    "[{\"name\": \"q\"}]}}";

	(void)state;
	assert_string_equal(worker_pod("ecal-bulk@pod-bbb"), "pod-bbb");
	assert_null(worker_pod("ecal-bulk"));
	assert_null(worker_pod("ecal-bulk@"));

	assert_int_equal(flower_parse_workers(j, strlen(j), "w@p", &a, err,
	    sizeof err), 0);
	assert_int_equal(flower_parse_workers(j, strlen(j), "w@p", &b, err,
	    sizeof err), 0);
	worker_snap_move(&a, &b);	/* a's old contents are freed */
	assert_string_equal(a.name, "w@p");
	assert_int_equal(a.queues.n, 1);
	assert_null(b.name);
	assert_int_equal(b.queues.n, 0);
	assert_true(worker_drained(&b));
	worker_snap_free(&a);
	worker_snap_free(&b);
}

struct argv_case {
	const char	*argv[8];	/* NULL-terminated */
	const char	*want;		/* the queues joined by ',' */
};

static void
test_argv_queues(void **state)
{
	static const struct argv_case cases[] = {
		/* DIALS' own command line */
		{ { "celery", "-A", "etl", "worker", "--concurrency=1",
		    "--hostname=ecal-bulk@%h", "--queues=ecal-bulk", NULL },
		  "ecal-bulk" },
		{ { "celery", "worker", "--queues", "a,b", NULL }, "a,b" },
		{ { "celery", "worker", "-Q", "a,b", NULL }, "a,b" },
		{ { "celery", "worker", "-Qa,b", NULL }, "a,b" },
		/* a shell line in one word */
		{ { "sh", "-c", "exec celery -A etl worker -Q x,y -l INFO",
		    NULL }, "x,y" },
		{ { "/bin/sh", "-c", "celery worker --queues='p'", NULL },
		  "p" },
		/* several, each once, in order */
		{ { "-Q", "a,b", "--queues=b,c", "-Qa", NULL }, "a,b,c" },
		/* empty items and a trailing flag name nothing */
		{ { "-Q", ",a,,", "--queues", NULL }, "a" },
		{ { "--queues=", "-Q", NULL }, "" },
		/* not Celery's option */
		{ { "celery", "worker", "--queue=a", "-q", "x", "--Queues=z",
		    NULL }, "" },
		{ { "sleep", "infinity", NULL }, "" },
		{ { NULL }, "" },
	};
	size_t	i, n;

	(void)state;
	for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		struct strv out = { 0 };
		char *got;
		for (n = 0; cases[i].argv[n] != NULL; n++)
			;
		worker_argv_queues(cases[i].argv, n, &out);
		got = strv_join(&out, ",");
		if (strcmp(got, cases[i].want) != 0)
			fail_msg("case %zu: got \"%s\", want \"%s\"", i, got,
			    cases[i].want);
		free(got);
		strv_free(&out);
	}
}

/* "a,b" as a strv ("" empty). */
static struct strv
sv(const char *s)
{
	struct strv	 v = { 0 };
	char		*c = strdup(s), *tok, *save;

	for (tok = strtok_r(c, ",", &save); tok != NULL;
	    tok = strtok_r(NULL, ",", &save))
		strv_add(&v, tok);
	free(c);
	return v;
}

struct left_case {
	const char	*journal, *cmdline, *siblings, *consuming;
	int		 want;
	const char	*its;
};

static void
test_left_drained(void **state)
{
	static const struct left_case cases[] = {
		/* the journal's record wins */
		{ "j", "c", "s", "", 1, "j" },
		{ "j", "c", "s", "c", 1, "j" },
		{ "j,k", "c", "s", "k", 0, "j,k" },
		/* then the command line */
		{ "", "c", "s", "", 1, "c" },
		{ "", "c,d", "s", "d", 0, "c,d" },
		{ "", "c", "s", "s", 1, "c" },
		/* then what the other workers consume */
		{ "", "", "s", "", 1, "s" },
		{ "", "", "s,t", "t", 0, "s,t" },
		/* nobody names a queue: nothing to give back */
		{ "", "", "", "", 0, "" },
		{ "", "", "", "x", 0, "" },
	};
	size_t	i;

	(void)state;
	for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		const struct left_case *c = &cases[i];
		struct strv j = sv(c->journal), cl = sv(c->cmdline);
		struct strv s = sv(c->siblings), q = sv(c->consuming);
		struct strv its = { 0 };
		char *got;
		int r = worker_left_drained(&j, &cl, &s, &q, &its);
		got = strv_join(&its, ",");
		if (r != c->want || strcmp(got, c->its) != 0)
			fail_msg("case %zu: got %d \"%s\", want %d \"%s\"", i,
			    r, got, c->want, c->its);
		free(got);
		strv_free(&j);
		strv_free(&cl);
		strv_free(&s);
		strv_free(&q);
		strv_free(&its);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_every_refresh_fixture),
		cmocka_unit_test(test_offline_worker_refresh),
		cmocka_unit_test(test_status_after_restart),
		cmocka_unit_test(test_status_malformed),
		cmocka_unit_test(test_workers_malformed),
		cmocka_unit_test(test_workers_minimal),
		cmocka_unit_test(test_tasks_from_json),
		cmocka_unit_test(test_tasks_describe),
		cmocka_unit_test(test_worker_pod_and_move),
		cmocka_unit_test(test_argv_queues),
		cmocka_unit_test(test_left_drained),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
