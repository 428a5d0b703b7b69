/*
 * test_pidbox.c -- pidbox_envelope() (include/pidbox.h) against the
 * cancel_consumer request that Celery's own `celery control` sent, captured
 * in ../shared/fixtures/celery/pidbox_cancel_consumer_request.json.
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

#include "b64.h"
#include "pidbox.h"

#ifndef FIXTURES
#error "FIXTURES (the shared fixtures directory) must be defined"
#endif
#define REQUEST	FIXTURES "/celery/pidbox_cancel_consumer_request.json"

#define TICKET	"ef42a9f2-98b4-41b8-bf5a-f0989163105f"
#define REPLY	"95f0a894-b357-3666-bc14-626cb9900f5d"
#define DEST	"ecal-bulk@pod-aaa"
#define TAG	"6fb082c5-845a-4134-87ef-685e38e39299"
#define NOW	1795633916.7574403
#define TIMEOUT	1.0

struct fixture {
	json_t	*file;
	json_t	*env;		/* raw_envelope, parsed */
	json_t	*decoded;	/* decoded_body (borrowed from file) */
};

static int
setup(void **state)
{
	struct fixture	*f = calloc(1, sizeof *f);
	json_error_t	 je;
	json_t		*raw;

	if (f == NULL)
		return -1;
	if ((f->file = json_load_file(REQUEST, 0, &je)) == NULL) {
		fprintf(stderr, "%s: %s\n", REQUEST, je.text);
		free(f);
		return -1;
	}
	raw = json_object_get(f->file, "raw_envelope");
	f->decoded = json_object_get(f->file, "decoded_body");
	if (!json_is_string(raw) || !json_is_object(f->decoded) ||
	    (f->env = json_loads(json_string_value(raw), 0, &je)) == NULL) {
		json_decref(f->file);
		free(f);
		return -1;
	}
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fixture	*f = *state;

	json_decref(f->env);
	json_decref(f->file);
	free(f);
	return 0;
}

/* The JSON of an envelope's base64 body. */
static json_t *
body_of(json_t *env)
{
	json_t		*b = json_object_get(env, "body"), *j;
	char		*raw;
	size_t		 len;
	json_error_t	 je;

	assert_true(json_is_string(b));
	raw = b64_decode(json_string_value(b), json_string_length(b), &len);
	assert_non_null(raw);
	j = json_loadb(raw, len, 0, &je);
	if (j == NULL)
		fail_msg("body is not JSON: %s", je.text);
	free(raw);
	return j;
}

static json_t *
build(const char *method, json_t *args, const char *dest, double now,
    double timeout, unsigned long clock)
{
	char		*s = pidbox_envelope(method, args, dest, TICKET, REPLY,
			    now, timeout, clock, TAG);
	json_t		*j;
	json_error_t	 je;

	assert_non_null(s);
	/* one line: it goes into a PUBLISH argument */
	assert_null(strchr(s, '\n'));
	j = json_loads(s, 0, &je);
	if (j == NULL)
		fail_msg("envelope is not JSON: %s", je.text);
	free(s);
	return j;
}

/* Same key sets (values may differ). */
static void
assert_same_keys(json_t *a, json_t *b, const char *what)
{
	const char	*k;
	json_t		*v;

	assert_true(json_is_object(a));
	assert_true(json_is_object(b));
	json_object_foreach(a, k, v)
		if (json_object_get(b, k) == NULL)
			fail_msg("%s: key \"%s\" is not in the fixture", what,
			    k);
	json_object_foreach(b, k, v)
		if (json_object_get(a, k) == NULL)
			fail_msg("%s: key \"%s\" is missing", what, k);
}

static void
test_body_matches_fixture(void **state)
{
	struct fixture	*f = *state;
	json_t		*env, *body, *fbody;
	static const char *keys[] = { "method", "arguments", "destination",
			    "pattern", "matcher", "ticket", "reply_to" };
	size_t		 i;

	env = build("cancel_consumer", json_pack("{s:s}", "queue",
	    "ecal-bulk"), DEST, NOW, TIMEOUT, 1);
	body = body_of(env);
	fbody = body_of(f->env);
	/* the fixture's own decoded_body is its raw body, decoded */
	assert_true(json_equal(fbody, f->decoded));
	for (i = 0; i < sizeof keys / sizeof keys[0]; i++) {
		json_t *a = json_object_get(body, keys[i]);
		json_t *b = json_object_get(f->decoded, keys[i]);
		assert_non_null(b);
		if (a == NULL || !json_equal(a, b))
			fail_msg("body \"%s\" differs from the fixture's",
			    keys[i]);
	}
	assert_same_keys(body, f->decoded, "body");
	assert_true(json_equal(body, f->decoded));
	assert_string_equal(json_string_value(json_object_get(body,
	    "method")), "cancel_consumer");
	assert_true(json_is_null(json_object_get(body, "pattern")));
	assert_true(json_is_null(json_object_get(body, "matcher")));
	json_decref(fbody);
	json_decref(body);
	json_decref(env);
}

static void
test_envelope_matches_fixture(void **state)
{
	struct fixture	*f = *state;
	json_t		*env, *props, *fprops, *di, *hdr;

	env = build("cancel_consumer", json_pack("{s:s}", "queue",
	    "ecal-bulk"), DEST, NOW, TIMEOUT, 1);
	assert_same_keys(env, f->env, "envelope");
	props = json_object_get(env, "properties");
	fprops = json_object_get(f->env, "properties");
	assert_same_keys(props, fprops, "properties");
	di = json_object_get(props, "delivery_info");
	assert_same_keys(di, json_object_get(fprops, "delivery_info"),
	    "delivery_info");
	assert_true(json_equal(di, json_object_get(fprops, "delivery_info")));
	assert_string_equal(json_string_value(json_object_get(di, "exchange")),
	    "celery.pidbox");
	assert_string_equal(json_string_value(json_object_get(di,
	    "routing_key")), "");
	assert_string_equal(json_string_value(json_object_get(props,
	    "body_encoding")), "base64");
	assert_true(json_is_integer(json_object_get(props, "delivery_mode")));
	assert_int_equal(json_integer_value(json_object_get(props,
	    "delivery_mode")), 2);
	assert_true(json_equal(json_object_get(props, "priority"),
	    json_object_get(fprops, "priority")));
	assert_string_equal(json_string_value(json_object_get(props,
	    "delivery_tag")), TAG);
	assert_true(json_equal(json_object_get(env, "content-type"),
	    json_object_get(f->env, "content-type")));
	assert_true(json_equal(json_object_get(env, "content-encoding"),
	    json_object_get(f->env, "content-encoding")));

	hdr = json_object_get(env, "headers");
	assert_same_keys(hdr, json_object_get(f->env, "headers"), "headers");
	assert_true(json_is_integer(json_object_get(hdr, "clock")));
	assert_int_equal(json_integer_value(json_object_get(hdr, "clock")), 1);
	assert_true(json_is_number(json_object_get(hdr, "expires")));
	/* the fixture's: expires = now + timeout */
	assert_true(json_number_value(json_object_get(hdr, "expires")) ==
	    json_number_value(json_object_get(json_object_get(f->env,
	    "headers"), "expires")));
	json_decref(env);
}

static void
test_clock_expires_ticket(void **state)
{
	json_t	*env, *hdr, *body;

	(void)state;
	env = build("ping", NULL, DEST, 1000.0, 2.5, 4242);
	hdr = json_object_get(env, "headers");
	assert_int_equal(json_integer_value(json_object_get(hdr, "clock")),
	    4242);
	assert_true(json_number_value(json_object_get(hdr, "expires")) ==
	    1002.5);
	body = body_of(env);
	assert_string_equal(json_string_value(json_object_get(body,
	    "ticket")), TICKET);
	assert_string_equal(json_string_value(json_object_get(json_object_get(
	    body, "reply_to"), "routing_key")), REPLY);
	assert_string_equal(json_string_value(json_object_get(json_object_get(
	    body, "reply_to"), "exchange")), "reply.celery.pidbox");
	/* no arguments: an empty object, never null */
	assert_true(json_is_object(json_object_get(body, "arguments")));
	assert_int_equal(json_object_size(json_object_get(body, "arguments")),
	    0);
	json_decref(body);
	json_decref(env);
}

static void
test_broadcast(void **state)
{
	json_t	*env, *body, *dest, *b;
	char	*s, *raw;
	size_t	 len;

	(void)state;
	env = build("active_queues", NULL, NULL, NOW, TIMEOUT, 2);
	body = body_of(env);
	dest = json_object_get(body, "destination");
	assert_non_null(dest);		/* present ... */
	assert_true(json_is_null(dest));	/* ... and null */
	assert_string_equal(json_string_value(json_object_get(body,
	    "method")), "active_queues");
	json_decref(body);
	json_decref(env);

	/* the same, in the text sent: "destination": null */
	s = pidbox_envelope("active_queues", NULL, NULL, TICKET, REPLY, NOW,
	    TIMEOUT, 2, TAG);
	env = json_loads(s, 0, NULL);
	free(s);
	b = json_object_get(env, "body");
	raw = b64_decode(json_string_value(b), json_string_length(b), &len);
	assert_non_null(raw);
	s = strndup(raw, len);
	assert_non_null(strstr(s, "\"destination\":null"));
	free(s);
	free(raw);
	json_decref(env);
}

static void
test_arguments_kept(void **state)
{
	json_t	*env, *body, *args;

	(void)state;
	env = build("add_consumer", json_pack("{s:s,s:s,s:s}", "queue",
	    "ecal-bulk", "exchange", "ecal-bulk", "routing_key", "ecal-bulk"),
	    "tracker-priority@tracker-priority-9k15fpm47-30rns", NOW,
	    TIMEOUT, 3);
	body = body_of(env);
	args = json_object_get(body, "arguments");
	assert_int_equal(json_object_size(args), 3);
	assert_string_equal(json_string_value(json_object_get(args, "queue")),
	    "ecal-bulk");
	assert_string_equal(json_string_value(json_array_get(json_object_get(
	    body, "destination"), 0)),
	    "tracker-priority@tracker-priority-9k15fpm47-30rns");
	assert_int_equal(json_array_size(json_object_get(body, "destination")),
	    1);
	json_decref(body);
	json_decref(env);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_body_matches_fixture),
		cmocka_unit_test(test_envelope_matches_fixture),
		cmocka_unit_test(test_clock_expires_ticket),
		cmocka_unit_test(test_broadcast),
		cmocka_unit_test(test_arguments_kept),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
