/*
 * test_landed.c -- did a write of ours land (include/landed.h): the
 * restart or pause PATCH's fate, and whether a ReplicaSet found by a
 * create's 409 is the one the run meant.
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

#include "landed.h"

#define OURS	"2026-12-07T02:00:00Z"
#define OLD	"2026-11-30T10:00:00Z"
#define THEIRS	"2026-12-07T02:00:05Z"

static void
test_patch_fate(void **state)
{
	static const struct {
		const char	*what;
		const char	*ours, *before, *seen;
		int		 sent;
		double		 ago, window;
		int		 undone;
		enum patch_fate	 want;
		double		 wait;
	} t[] = {
		{ "restart seen at once: landed, no wait", OURS, OLD, OURS, 1,
		    0.3, 11, 0, PATCH_LANDED, 10.7 },
		{ "restart seen after the window", OURS, OLD, OURS, 1, 12, 11,
		    0, PATCH_LANDED, 0 },
		{ "not seen, within the window: wait the rest", OURS, OLD, OLD,
		    1, 4, 11, 0, PATCH_WAIT, 7 },
		{ "not seen, window just over: lost", OURS, OLD, OLD, 1, 11, 11,
		    0, PATCH_LOST, 0 },
		{ "annotation absent, window over: lost", OURS, NULL, NULL, 1,
		    30, 11, 0, PATCH_LOST, 0 },
		{ "not read yet (NULL), within: wait", OURS, NULL, NULL, 1, 0,
		    11, 0, PATCH_WAIT, 11 },
		{ "never sent: lost at once", OURS, OLD, OLD, 0, 0, 11, 0,
		    PATCH_LOST, 0 },
		{ "never sent yet seen ours: landed", OURS, OLD, OURS, 0, 0, 11,
		    0, PATCH_LANDED, 0 },
		{ "our value unknown: never ours", NULL, OURS, OURS, 1, 30, 11,
		    0, PATCH_LOST, 0 },
		{ "our value empty: never ours", "", "", "", 1, 30, 11, 0,
		    PATCH_LOST, 0 },
		{ "another's restart, window over: foreign", OURS, OLD, THEIRS,
		    1, 11, 11, 0, PATCH_FOREIGN, 0 },
		{ "another's restart, ours may land: wait", OURS, OLD, THEIRS,
		    1, 4, 11, 0, PATCH_WAIT, 7 },
		{ "another's restart, never sent: foreign", OURS, OLD, THEIRS,
		    0, 0, 11, 0, PATCH_FOREIGN, 0 },
		{ "annotation set where there was none: foreign", OURS, NULL,
		    THEIRS, 1, 30, 11, 0, PATCH_FOREIGN, 0 },
		{ "annotation removed by another: foreign", OURS, OLD, NULL, 1,
		    30, 11, 0, PATCH_FOREIGN, 0 },
		{ "caller without the value before (seen): never foreign",
		    OURS, THEIRS, THEIRS, 1, 30, 11, 0, PATCH_LOST, 0 },
		{ "pause seen, undone next, within: wait", "true", "false",
		    "true", 1, 2, 11, 1, PATCH_WAIT, 9 },
		{ "pause seen, undone next, window over: landed", "true",
		    "false", "true", 1, 11.5, 11, 1, PATCH_LANDED, 0 },
		{ "pause not seen, within: wait", "true", "false", "false", 1,
		    2, 11, 1, PATCH_WAIT, 9 },
		{ "pause not seen, window over: lost", "true", "false", "false",
		    1, 20, 11, 1, PATCH_LOST, 0 },
		{ "pause never sent: lost at once", "true", "false", "false", 0,
		    0, 11, 1, PATCH_LOST, 0 },
		{ "a dead run may still send for 5s: wait 5 + window", OURS,
		    OLD, OLD, 1, -5, 11, 0, PATCH_WAIT, 16 },
		{ "a dead run may still send, ours seen: landed", OURS, OLD,
		    OURS, 1, -5, 11, 0, PATCH_LANDED, 16 },
		{ "a pause that may still be sent: wait", "true", "false",
		    "true", 1, -5, 11, 1, PATCH_WAIT, 16 },
	};
	size_t	i;
	double	wait;

	(void)state;
	for (i = 0; i < sizeof t / sizeof t[0]; i++) {
		enum patch_fate f = patch_fate(t[i].ours, t[i].before,
		    t[i].seen, t[i].sent, t[i].ago, t[i].window, t[i].undone,
		    &wait);
		if (f != t[i].want || wait < t[i].wait - 1e-9 ||
		    wait > t[i].wait + 1e-9)
			fail_msg("%s: got %s wait %g, want %s wait %g",
			    t[i].what, patch_fate_name(f), wait,
			    patch_fate_name(t[i].want), t[i].wait);
		/* wait may be NULL */
		assert_int_equal(patch_fate(t[i].ours, t[i].before,
		    t[i].seen, t[i].sent, t[i].ago, t[i].window, t[i].undone,
		    NULL), t[i].want);
	}
	assert_string_equal(patch_fate_name(PATCH_FOREIGN), "foreign");
	assert_string_equal(patch_fate_name((enum patch_fate)9), "?");
}

static void
test_patch_window(void **state)
{
	static const struct {
		const char	*what;
		double		 attempt, server, want;
	} t[] = {
		{ "an attempt that may reach the server at its own limit",
		    4, 4, 4 + 4 + PATCH_MARGIN },
		{ "bytes out by the send (a dead run's deadline): the server's",
		    0, 4, 4 + PATCH_MARGIN },
		{ "a fraction of a second, rounded up by the server", 0.5, 1,
		    0.5 + 1 + PATCH_MARGIN },
		{ "negative attempt counts as 0", -3, 4, 4 + PATCH_MARGIN },
		{ "negative server timeout counts as 0", 4, -1,
		    4 + PATCH_MARGIN },
		{ "nothing known: the margin", 0, 0, PATCH_MARGIN },
	};
	size_t	i;

	(void)state;
	for (i = 0; i < sizeof t / sizeof t[0]; i++) {
		double w = patch_window(t[i].attempt, t[i].server);
		if (w < t[i].want - 1e-9 || w > t[i].want + 1e-9)
			fail_msg("%s: got %g, want %g", t[i].what, w,
			    t[i].want);
	}
}

static void
test_patch_again(void **state)
{
	static const struct {
		const char		*what;
		enum patch_fate		 f;
		int			 refused, refusals, stopping;
		enum patch_refusal	 want;
	} t[] = {
		{ "refused, nothing landed: look again, send again",
		    PATCH_LOST, 1, 1, 0, REFUSAL_AGAIN },
		{ "refused again, still under the limit", PATCH_LOST, 1,
		    PATCH_REFUSALS - 1, 0, REFUSAL_AGAIN },
		{ "refused PATCH_REFUSALS times: give up, restore",
		    PATCH_LOST, 1, PATCH_REFUSALS, 0, REFUSAL_GIVE_UP },
		{ "refused, but the run was interrupted: restore, the "
		    "signal the cause", PATCH_LOST, 1, 1, 1, REFUSAL_STOPPED },
		{ "refused PATCH_REFUSALS times and interrupted: the signal",
		    PATCH_LOST, 1, PATCH_REFUSALS, 1, REFUSAL_STOPPED },
		{ "refused because an earlier attempt landed: restarted",
		    PATCH_LANDED, 1, 1, 0, REFUSAL_NONE },
		{ "landed, interrupted: as any landed restart",
		    PATCH_LANDED, 1, 1, 1, REFUSAL_NONE },
		{ "refused, someone else restarted it: their rollout",
		    PATCH_FOREIGN, 1, 1, 0, REFUSAL_NONE },
		{ "not refused (a timeout, a 5xx): INFLIGHT as ever",
		    PATCH_LOST, 0, 0, 0, REFUSAL_NONE },
		{ "not refused, interrupted: INFLIGHT as ever",
		    PATCH_LOST, 0, 0, 1, REFUSAL_NONE },
		{ "not refused, landed", PATCH_LANDED, 0, 0, 0, REFUSAL_NONE },
		{ "a wait is never final: not sent again", PATCH_WAIT, 1, 1,
		    0, REFUSAL_NONE },
	};
	size_t	i;
	enum patch_refusal got;

	(void)state;
	for (i = 0; i < sizeof t / sizeof t[0]; i++) {
		got = patch_again(t[i].f, t[i].refused, t[i].refusals,
		    t[i].stopping);
		if (got != t[i].want)
			fail_msg("%s: got %d, want %d", t[i].what, (int)got,
			    (int)t[i].want);
	}
}

static json_t *
rs(const char *name, const char *hash, const char *uid, int controller)
{
	json_t	*o = json_pack("{s:{s:s,s:{s:s}}}", "metadata", "name", name,
		    "labels", "app", "dials");

	if (hash != NULL)
		json_object_set_new(json_object_get(json_object_get(o,
		    "metadata"), "labels"), "pod-template-hash",
		    json_string(hash));
	if (uid != NULL)
		json_object_set_new(json_object_get(o, "metadata"),
		    "ownerReferences", json_pack("[{s:s,s:s,s:s,s:b}]",
		    "kind", "Deployment", "name", "dials", "uid", uid,
		    "controller", controller));
	return o;
}

static void
test_rs_create_ours(void **state)
{
	static const struct {
		const char	*what;
		const char	*name, *hash, *uid;
		int		 controller;
		int		 want;
		const char	*deleting;	/* its deletionTimestamp */
	} t[] = {
		{ "the same: ours", "dials-5d4f", "5d4f", "u-1", 1, 1, NULL },
		{ "another name", "dials-9999", "5d4f", "u-1", 1, 0, NULL },
		{ "another template hash", "dials-5d4f", "6e5a", "u-1", 1, 0,
		    NULL },
		{ "no template hash", "dials-5d4f", NULL, "u-1", 1, 0, NULL },
		{ "owned by another Deployment (uid)", "dials-5d4f", "5d4f",
		    "u-2", 1, 0, NULL },
		{ "no owner", "dials-5d4f", "5d4f", NULL, 1, 0, NULL },
		{ "an owner that is not the controller", "dials-5d4f", "5d4f",
		    "u-1", 0, 0, NULL },
		{ "the same, being deleted (the run's own earlier delete, "
		    "its garbage collection not done): not the one meant",
		    "dials-5d4f", "5d4f", "u-1", 1, 0, "2026-12-07T02:00:00Z" },
	};
	json_t	*meant = rs("dials-5d4f", "5d4f", "u-1", 1), *e;
	size_t	 i;

	(void)state;
	for (i = 0; i < sizeof t / sizeof t[0]; i++) {
		e = rs(t[i].name, t[i].hash, t[i].uid, t[i].controller);
		if (t[i].deleting != NULL)
			json_object_set_new(json_object_get(e, "metadata"),
			    "deletionTimestamp", json_string(t[i].deleting));
		if (rs_create_ours(e, meant) != t[i].want)
			fail_msg("%s: got %d", t[i].what, !t[i].want);
		json_decref(e);
	}
	/* a manifest without hash or owner matches nothing */
	e = rs("dials-5d4f", NULL, NULL, 0);
	assert_false(rs_create_ours(e, e));
	json_decref(e);
	assert_false(rs_create_ours(NULL, meant));
	assert_false(rs_create_ours(meant, NULL));
	json_decref(meant);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_patch_fate),
		cmocka_unit_test(test_patch_window),
		cmocka_unit_test(test_patch_again),
		cmocka_unit_test(test_rs_create_ours),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
