/*
 * test_events.c -- cev_decode() (include/events.h) on the captured event
 * envelopes in ../shared/fixtures/celery/, on a task.multi batch built here
 * (base64 by OpenSSL), and on malformed envelopes.
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
#include <openssl/evp.h>

#include "events.h"

#ifndef FIXTURES
#error "FIXTURES (the shared fixtures directory) must be defined"
#endif
#define CELERY	FIXTURES "/celery/"

#define AAA	"ecal-bulk@pod-aaa"
#define UUID1	"56cf3023-e70a-400e-88b6-baa1adf00929"

/* raw_envelope of a fixture file: the message as it was on the channel. */
static char *
raw_envelope(const char *file)
{
	json_error_t	 je;
	json_t		*root, *v;
	char		*out;

	if ((root = json_load_file(file, 0, &je)) == NULL)
		fail_msg("%s: %s", file, je.text);
	v = json_object_get(root, "raw_envelope");
	if (!json_is_string(v))
		fail_msg("%s: no string raw_envelope", file);
	out = strdup(json_string_value(v));
	json_decref(root);
	assert_non_null(out);
	return out;
}

static char *
b64(const char *s, size_t len)
{
	char	*out = malloc(4 * ((len + 2) / 3) + 1);

	assert_non_null(out);
	EVP_EncodeBlock((unsigned char *)out, (const unsigned char *)s,
	    (int)len);
	return out;
}

/*
 * A kombu envelope around body (encoded as base64 unless raw_body), with
 * properties.body_encoding enc (NULL: "base64"), as a malloc'd string.
 */
static char *
envelope_enc(const char *body, int raw_body, json_t *enc)
{
	char	*eb = raw_body ? strdup(body) : b64(body, strlen(body));
	json_t	*env;
	char	*out;

	env = json_pack("{s:s, s:s, s:s, s:{s:s}, s:{s:i, s:{s:s, s:s}, s:i, "
	    "s:o, s:s}}",
	    "body", eb, "content-encoding", "utf-8",
	    "content-type", "application/json",
	    "headers", "hostname", AAA,
	    "properties", "delivery_mode", 1, "delivery_info", "exchange",
	    "celeryev", "routing_key", "task.multi", "priority", 0,
	    "body_encoding", enc ? enc : json_string("base64"),
	    "delivery_tag", "7ed2e276-447d-408c-894d-0c0b6bd9b657");
	assert_non_null(env);
	out = json_dumps(env, JSON_COMPACT);
	json_decref(env);
	free(eb);
	return out;
}

static char *
envelope(const char *body)
{
	return envelope_enc(body, 0, NULL);
}

static void
test_fixture_task_multi(void **state)
{
	char		*env = raw_envelope(CELERY "event_task_multi.json");
	struct cev_batch b;
	char		 err[256] = "";

	(void)state;
	assert_int_equal(cev_decode(env, strlen(env), &b, err, sizeof err), 0);
	assert_int_equal(b.n, 1);
	assert_int_equal(b.v[0].type, CEV_TASK_RECEIVED);
	assert_string_equal(b.v[0].hostname, AAA);
	assert_non_null(b.v[0].uuid);
	assert_string_equal(b.v[0].uuid, UUID1);
	assert_true(b.v[0].timestamp == 1795633915.2854292);
	assert_int_equal(b.v[0].active, -1);
	assert_false(cev_task_final(b.v[0].type));
	cev_batch_free(&b);
	assert_null(b.v);
	assert_int_equal(b.n, 0);
	free(env);
}

static void
test_fixture_heartbeat(void **state)
{
	char		*env = raw_envelope(CELERY "event_worker_heartbeat.json");
	struct cev_batch b;
	char		 err[256] = "";

	(void)state;
	assert_int_equal(cev_decode(env, strlen(env), &b, err, sizeof err), 0);
	assert_int_equal(b.n, 1);
	assert_int_equal(b.v[0].type, CEV_WORKER_HEARTBEAT);
	assert_string_equal(b.v[0].hostname, AAA);
	assert_null(b.v[0].uuid);
	assert_int_equal(b.v[0].active, 0);
	assert_true(b.v[0].timestamp == 1795633915.1404583);
	cev_batch_free(&b);
	free(env);
}

static const char MULTI[] =
	"[{\"hostname\": \"ecal-bulk@pod-aaa\", \"uuid\": \"u-started\", "
	"  \"timestamp\": 1795633916.5, \"type\": \"task-started\", "
	"  \"pid\": 3141, \"clock\": 9},"
	" {\"hostname\": \"ecal-bulk@pod-aaa\", \"uuid\": \"u-ok\", "
	"  \"result\": \"None\", \"runtime\": 1.0, "
	"  \"timestamp\": 1795633917.25, \"type\": \"task-succeeded\"},"
	" {\"hostname\": \"ecal-bulk@pod-aaa\", \"uuid\": \"u-failed\", "
	"  \"exception\": \"ValueError()\", \"timestamp\": 1795633918, "
	"  \"type\": \"task-failed\"},"
	" {\"hostname\": \"ecal-bulk@pod-bbb\", \"uuid\": \"u-rejected\", "
	"  \"requeue\": false, \"type\": \"task-rejected\"},"
	" {\"hostname\": \"ecal-bulk@pod-bbb\", \"uuid\": \"u-revoked\", "
	"  \"terminated\": true, \"signum\": 15, \"expired\": false, "
	"  \"timestamp\": 1795633919.0, \"type\": \"task-revoked\"},"
	" {\"hostname\": \"ecal-bulk@pod-bbb\", \"uuid\": \"u-retried\", "
	"  \"timestamp\": 1795633920.0, \"type\": \"task-retried\"},"
	" {\"hostname\": \"ecal-bulk@pod-bbb\", \"active\": 3, "
	"  \"timestamp\": 1795633921.0, \"type\": \"worker-heartbeat\"},"
	" {\"hostname\": \"ecal-bulk@pod-ccc\", \"timestamp\": 1795633922.0, "
	"  \"type\": \"worker-online\", \"active\": \"ignored here\"},"
	" {\"hostname\": \"ecal-bulk@pod-aaa\", \"timestamp\": 1795633923.0, "
	"  \"type\": \"worker-offline\"},"
	" {\"hostname\": \"ecal-bulk@pod-aaa\", \"uuid\": \"u-sent\", "
	"  \"type\": \"task-sent\"},"
	" {\"hostname\": \"ecal-bulk@pod-aaa\", \"type\": \"custom-event\"}]";

static void
test_built_multi(void **state)
{
	static const struct {
		enum cev_type	 type;
		const char	*host, *uuid;
		double		 ts;
		long		 active;
		int		 final;
	} want[] = {
		{ CEV_TASK_STARTED, AAA, "u-started", 1795633916.5, -1, 0 },
		{ CEV_TASK_SUCCEEDED, AAA, "u-ok", 1795633917.25, -1, 1 },
		{ CEV_TASK_FAILED, AAA, "u-failed", 1795633918, -1, 1 },
		{ CEV_TASK_REJECTED, "ecal-bulk@pod-bbb", "u-rejected", 0, -1,
		    1 },
		{ CEV_TASK_REVOKED, "ecal-bulk@pod-bbb", "u-revoked",
		    1795633919.0, -1, 1 },
		{ CEV_TASK_RETRIED, "ecal-bulk@pod-bbb", "u-retried",
		    1795633920.0, -1, 1 },
		{ CEV_WORKER_HEARTBEAT, "ecal-bulk@pod-bbb", NULL,
		    1795633921.0, 3, 0 },
		{ CEV_WORKER_ONLINE, "ecal-bulk@pod-ccc", NULL, 1795633922.0,
		    -1, 0 },
		{ CEV_WORKER_OFFLINE, AAA, NULL, 1795633923.0, -1, 0 },
		{ CEV_OTHER, AAA, "u-sent", 0, -1, 0 },
		{ CEV_OTHER, AAA, NULL, 0, -1, 0 },
	};
	char		*env = envelope(MULTI);
	struct cev_batch b;
	char		 err[256] = "";
	size_t		 i;

	(void)state;
	if (cev_decode(env, strlen(env), &b, err, sizeof err) != 0)
		fail_msg("cev_decode: %s", err);
	assert_int_equal(b.n, sizeof want / sizeof want[0]);
	for (i = 0; i < b.n; i++) {
		assert_int_equal(b.v[i].type, want[i].type);
		assert_string_equal(b.v[i].hostname, want[i].host);
		if (want[i].uuid == NULL)
			assert_null(b.v[i].uuid);
		else
			assert_string_equal(b.v[i].uuid, want[i].uuid);
		assert_true(b.v[i].timestamp == want[i].ts);
		assert_int_equal(b.v[i].active, want[i].active);
		assert_int_equal(cev_task_final(b.v[i].type), want[i].final);
	}
	cev_batch_free(&b);
	free(env);

	/* a single event, not in a list */
	env = envelope("{\"hostname\": \"w@p\", \"uuid\": \"u\", "
	    "\"type\": \"task-succeeded\", \"timestamp\": 5}");
	assert_int_equal(cev_decode(env, strlen(env), &b, err, sizeof err), 0);
	assert_int_equal(b.n, 1);
	assert_int_equal(b.v[0].type, CEV_TASK_SUCCEEDED);
	assert_string_equal(b.v[0].uuid, "u");
	cev_batch_free(&b);
	free(env);

	/* an empty batch */
	env = envelope("[]");
	assert_int_equal(cev_decode(env, strlen(env), &b, err, sizeof err), 0);
	assert_int_equal(b.n, 0);
	cev_batch_free(&b);
	free(env);
}

static void
test_task_final_and_names(void **state)
{
	(void)state;
	assert_true(cev_task_final(CEV_TASK_SUCCEEDED));
	assert_true(cev_task_final(CEV_TASK_FAILED));
	assert_true(cev_task_final(CEV_TASK_REJECTED));
	assert_true(cev_task_final(CEV_TASK_REVOKED));
	assert_true(cev_task_final(CEV_TASK_RETRIED));
	assert_false(cev_task_final(CEV_TASK_RECEIVED));
	assert_false(cev_task_final(CEV_TASK_STARTED));
	assert_false(cev_task_final(CEV_WORKER_HEARTBEAT));
	assert_false(cev_task_final(CEV_WORKER_ONLINE));
	assert_false(cev_task_final(CEV_WORKER_OFFLINE));
	assert_false(cev_task_final(CEV_OTHER));

	assert_int_equal(cev_type_of("task-received"), CEV_TASK_RECEIVED);
	assert_int_equal(cev_type_of("task-started"), CEV_TASK_STARTED);
	assert_int_equal(cev_type_of("task-succeeded"), CEV_TASK_SUCCEEDED);
	assert_int_equal(cev_type_of("task-failed"), CEV_TASK_FAILED);
	assert_int_equal(cev_type_of("task-rejected"), CEV_TASK_REJECTED);
	assert_int_equal(cev_type_of("task-revoked"), CEV_TASK_REVOKED);
	assert_int_equal(cev_type_of("task-retried"), CEV_TASK_RETRIED);
	assert_int_equal(cev_type_of("worker-heartbeat"), CEV_WORKER_HEARTBEAT);
	assert_int_equal(cev_type_of("worker-online"), CEV_WORKER_ONLINE);
	assert_int_equal(cev_type_of("worker-offline"), CEV_WORKER_OFFLINE);
	assert_int_equal(cev_type_of("task-sent"), CEV_OTHER);
	assert_int_equal(cev_type_of("Task-Received"), CEV_OTHER);
	assert_int_equal(cev_type_of(""), CEV_OTHER);
}

static void
assert_rejects_len(const char *env, size_t len, const char *needle)
{
	struct cev_batch	b;
	char			err[256] = "";

	memset(&b, 0x5a, sizeof b);
	assert_int_equal(cev_decode(env, len, &b, err, sizeof err), -1);
	assert_true(err[0] != '\0');
	assert_null(strchr(err, '\n'));
	if (needle != NULL && strstr(err, needle) == NULL)
		fail_msg("error \"%s\" does not mention \"%s\"", err, needle);
	/* never half-filled */
	assert_null(b.v);
	assert_int_equal(b.n, 0);
}

static void
assert_rejects(const char *env, const char *needle)
{
	assert_rejects_len(env, strlen(env), needle);
}

/* The body is built and base64-encoded here, then rejected. */
static void
assert_body_rejects(const char *body, const char *needle)
{
	char	*env = envelope(body);

	assert_rejects(env, needle);
	free(env);
}

static void
test_malformed_envelope(void **state)
{
	char	*env, *fix;

	(void)state;
	assert_rejects("", "not JSON");
	assert_rejects("not json", "not JSON");
	assert_rejects("{\"body\": \"W3t9XQ==\"", "not JSON");
	assert_rejects("[\"W3t9XQ==\"]", "body");
	assert_rejects("\"W3t9XQ==\"", NULL);	/* a bare string */
	assert_rejects("{\"properties\": {\"body_encoding\": \"base64\"}}",
	    "body");
	assert_rejects("{\"body\": 12345, \"properties\": "
	    "{\"body_encoding\": \"base64\"}}", "body");
	assert_rejects("{\"body\": null}", "body");
	assert_rejects("{\"body\": [\"W3t9XQ==\"]}", "body");
	assert_rejects("{\"body\": \"!!!not base64!!!\", \"properties\": "
	    "{\"body_encoding\": \"base64\"}}", "base64");
	assert_rejects("{\"body\": \"W3t9XQ=\", \"properties\": "
	    "{\"body_encoding\": \"base64\"}}", "base64");

	env = envelope_enc("[{\"hostname\": \"a@b\", \"type\": \"x\"}]", 1,
	    json_string("binary"));
	assert_rejects(env, "body_encoding");
	free(env);
	env = envelope_enc("W3t9XQ==", 1, json_string("utf-8"));
	assert_rejects(env, "body_encoding");
	free(env);
	env = envelope_enc("W3t9XQ==", 1, json_integer(64));
	assert_rejects(env, "body_encoding");
	free(env);

	/* the real envelope cut short */
	fix = raw_envelope(CELERY "event_task_multi.json");
	assert_rejects_len(fix, strlen(fix) / 2, "not JSON");
	assert_rejects_len(fix, 1, "not JSON");
	free(fix);
}

static void
test_malformed_body(void **state)
{
	(void)state;
	assert_body_rejects("not json at all", "not JSON");
	assert_body_rejects("[{\"hostname\": \"a@b\"", "not JSON");
	assert_body_rejects("", "not JSON");
	assert_body_rejects("\"task-received\"", NULL);
	assert_body_rejects("42", NULL);
	assert_body_rejects("null", NULL);
	assert_body_rejects("{\"events\": []}", "hostname");
	/* event without hostname */
	assert_body_rejects("{\"type\": \"worker-heartbeat\", \"active\": 0}",
	    "hostname");
	assert_body_rejects("[{\"type\": \"task-received\", \"uuid\": \"u\", "
	    "\"hostname\": null}]", "hostname");
	assert_body_rejects("[{\"hostname\": \"a@b\"}]", "type");
	assert_body_rejects("[{\"hostname\": \"a@b\", \"type\": 3}]", "type");
	/* task event without uuid, or a uuid that is not a string */
	assert_body_rejects("[{\"hostname\": \"a@b\", "
	    "\"type\": \"task-received\"}]", "uuid");
	assert_body_rejects("[{\"hostname\": \"a@b\", \"uuid\": 7, "
	    "\"type\": \"task-succeeded\"}]", "uuid");
	/* heartbeat "active" not an integer */
	assert_body_rejects("{\"hostname\": \"a@b\", \"active\": \"3\", "
	    "\"type\": \"worker-heartbeat\"}", "active");
	assert_body_rejects("{\"hostname\": \"a@b\", \"active\": 1.5, "
	    "\"type\": \"worker-heartbeat\"}", "active");
	assert_body_rejects("{\"hostname\": \"a@b\", \"active\": null, "
	    "\"type\": \"worker-heartbeat\"}", "active");
	/* timestamp not a number */
	assert_body_rejects("{\"hostname\": \"a@b\", \"timestamp\": \"now\", "
	    "\"type\": \"worker-online\"}", "timestamp");
	/* a bad event after good ones: nothing leaks, nothing half-kept */
	assert_body_rejects("[{\"hostname\": \"a@b\", \"uuid\": \"u1\", "
	    "\"type\": \"task-received\"}, {\"hostname\": \"a@b\", "
	    "\"uuid\": \"u2\", \"type\": \"task-started\"}, "
	    "{\"hostname\": \"a@b\", \"type\": \"task-succeeded\"}]", "uuid");
	assert_body_rejects("[{\"hostname\": \"a@b\", \"uuid\": \"u1\", "
	    "\"type\": \"task-received\"}, 5]", "not an object");
	assert_body_rejects("[{\"hostname\": \"a@b\", \"uuid\": \"u1\", "
	    "\"type\": \"task-received\"}, [{\"hostname\": \"a@b\", "
	    "\"type\": \"worker-online\"}]]", "not an object");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fixture_task_multi),
		cmocka_unit_test(test_fixture_heartbeat),
		cmocka_unit_test(test_built_multi),
		cmocka_unit_test(test_task_final_and_names),
		cmocka_unit_test(test_malformed_envelope),
		cmocka_unit_test(test_malformed_body),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
