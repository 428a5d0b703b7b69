/*
 * test_cmd.c -- cmd_find() and cmd_check() (include/cmd.h): each command's
 * argument rules, and the messages a bad command line gets; and the
 * --undrain command line a stopped run prints (undrain_command()).
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "cmd.h"
#include "stub_cmd.h"

static char	*names[] = { "ecal-bulk", "csc-bulk" };

static enum cmd_verdict
check(const struct cmd_entry *e, int argc, const char *selector,
    unsigned given, char *err)
{
	struct cmd_args	a = { argc, names, selector, given };

	err[0] = '\0';
	return cmd_check(e, &a, err, 256);
}

static void
test_find(void **state)
{
	(void)state;
	assert_ptr_equal(cmd_table[0], &cmd_drain_entry);
	assert_ptr_equal(cmd_find("status"), &cmd_status_entry);
	assert_ptr_equal(cmd_find("--recover"), &cmd_recover_entry);
	assert_ptr_equal(cmd_find("undrain"), &cmd_undrain_entry);
	assert_ptr_equal(cmd_find("drain"), &cmd_drain_entry);
	assert_ptr_equal(cmd_find("hold"), &cmd_hold_entry);
	assert_ptr_equal(cmd_find("--release"), &cmd_release_entry);
	assert_null(cmd_find("stat"));
	assert_null(cmd_find("--drain"));
}

static void
test_drain_rules(void **state)
{
	char			err[256];
	struct cmd_args		a = { 1, names, "app=x", 0 };

	(void)state;
	assert_int_equal(check(&cmd_drain_entry, 2, NULL, 0, err), CMD_OK);
	assert_int_equal(check(&cmd_drain_entry, 0, "app=x", CMD_O_SELECTOR,
	    err), CMD_OK);
	/* DRAIN_SELECTOR alone names the deployments */
	assert_int_equal(check(&cmd_drain_entry, 0, "app=x", 0, err), CMD_OK);
	/* nothing named: the whole usage */
	assert_int_equal(check(&cmd_drain_entry, 0, NULL, 0, err), CMD_USAGE);
	assert_int_equal(check(&cmd_drain_entry, 1, "app=x", CMD_O_SELECTOR,
	    err), CMD_ERROR);
	assert_string_equal(err, "give deployments or -l SELECTOR, not both");
	assert_int_equal(check(&cmd_drain_entry, 0, "", CMD_O_SELECTOR, err),
	    CMD_ERROR);
	assert_non_null(strstr(err, "an empty selector"));
	assert_int_equal(check(&cmd_drain_entry, 1, NULL, CMD_O_QUEUES, err),
	    CMD_ERROR_USAGE);
	assert_string_equal(err, "--queues does not apply to drain");
	/* names on the command line win over DRAIN_SELECTOR */
	assert_int_equal(cmd_check(&cmd_drain_entry, &a, err, sizeof err),
	    CMD_OK);
	assert_null(a.selector);
}

static void
test_other_commands(void **state)
{
	char			err[256];
	struct cmd_args		a = { 0, names, "app=x", 0 };

	(void)state;
	assert_int_equal(check(&cmd_status_entry, 0, NULL, 0, err), CMD_OK);
	assert_int_equal(check(&cmd_recover_entry, 2, NULL, 0, err), CMD_OK);
	assert_int_equal(check(&cmd_undrain_entry, 0, NULL, 0, err),
	    CMD_ERROR_USAGE);
	assert_string_equal(err, "--undrain: name at least one deployment");
	assert_int_equal(check(&cmd_undrain_entry, 1, NULL, CMD_O_QUEUES, err),
	    CMD_OK);
	assert_int_equal(check(&cmd_status_entry, 0, "app=x", CMD_O_SELECTOR,
	    err), CMD_ERROR_USAGE);
	assert_string_equal(err, "-l/--selector does not apply to --status");
	/* --hold: one name, --reason and --until its own */
	assert_int_equal(check(&cmd_hold_entry, 1, NULL, CMD_O_REASON |
	    CMD_O_UNTIL, err), CMD_OK);
	assert_int_equal(check(&cmd_hold_entry, 2, NULL, CMD_O_REASON, err),
	    CMD_ERROR_USAGE);
	assert_string_equal(err, "--hold: name at most 1 deployment");
	assert_int_equal(check(&cmd_release_entry, 1, NULL, CMD_O_UNTIL, err),
	    CMD_ERROR_USAGE);
	assert_string_equal(err, "--until does not apply to --release");
	assert_int_equal(check(&cmd_drain_entry, 1, NULL, CMD_O_IGNORE_HOLD,
	    err), CMD_OK);
	assert_int_equal(check(&cmd_drain_entry, 1, NULL, CMD_O_REASON, err),
	    CMD_ERROR_USAGE);
	assert_int_equal(check(&cmd_undrain_entry, 1, NULL, CMD_O_IGNORE_HOLD,
	    err), CMD_ERROR_USAGE);
	/* --watch: --status's only */
	assert_int_equal(check(&cmd_status_entry, 0, NULL, CMD_O_WATCH, err),
	    CMD_OK);
	assert_int_equal(check(&cmd_status_entry, 2, NULL, CMD_O_WATCH, err),
	    CMD_OK);
	assert_int_equal(check(&cmd_drain_entry, 1, NULL, CMD_O_WATCH, err),
	    CMD_ERROR_USAGE);
	assert_string_equal(err, "-w/--watch does not apply to drain");
	assert_int_equal(check(&cmd_recover_entry, 0, NULL, CMD_O_WATCH, err),
	    CMD_ERROR_USAGE);
	/* DRAIN_SELECTOR (not a flag) is dropped by commands without -l */
	assert_int_equal(cmd_check(&cmd_undrain_entry, &a, err, sizeof err),
	    CMD_ERROR_USAGE);
	assert_null(a.selector);
	a.argc = 1;
	a.selector = "app=x";
	assert_int_equal(cmd_check(&cmd_status_entry, &a, err, sizeof err),
	    CMD_OK);
	assert_null(a.selector);
}

/* the names as canonical targets; a bad type stops at the first */
static void
test_targets(void **state)
{
	char		*good[] = { "csc-bulk", "deploy/csc-bulk", "sts/aw",
			    "statefulsets/aw" };
	char		*bad[] = { "csc-bulk", "daemonset/x", "sts/y" };
	struct cmd_args	 a = { 4, good, NULL, 0 };
	struct strv	 out = { 0 };
	char		 err[256];

	(void)state;
	assert_int_equal(cmd_targets(&a, &out, err, sizeof err), 0);
	assert_int_equal(out.n, 4);
	assert_string_equal(out.v[0], "csc-bulk");
	assert_string_equal(out.v[1], "csc-bulk");
	assert_string_equal(out.v[2], "statefulset/aw");
	assert_string_equal(out.v[3], "statefulset/aw");
	strv_free(&out);
	a.argc = 3;
	a.argv = bad;
	assert_int_equal(cmd_targets(&a, &out, err, sizeof err), -1);
	assert_non_null(strstr(err, "unknown type \"daemonset\""));
	strv_free(&out);
}

static void
test_undrain_command(void **state)
{
	static const struct {
		const char	*target, *context, *ns, *queues, *want;
	} cases[] = {
		{ "ecal-bulk", NULL, "cms-dials-prod", "ecal-bulk",
		  "drain-and-rollout --namespace cms-dials-prod --undrain "
		  "ecal-bulk --queues ecal-bulk" },
		/* the kubeconfig context the run used is named, quoted too */
		{ "ecal-bulk", "cms-dials-prod/api-paas-cern-ch:443/op",
		  "cms-dials-prod", "ecal-bulk",
		  "drain-and-rollout --context cms-dials-prod/api-paas-cern-ch:"
		  "443/op --namespace cms-dials-prod --undrain ecal-bulk "
		  "--queues ecal-bulk" },
		{ "ecal-bulk", "my ctx", "ns", "q",
		  "drain-and-rollout --context 'my ctx' --namespace ns "
		  "--undrain ecal-bulk --queues q" },
		{ "statefulset/etl", NULL, "ns", "a,b.c,d@e",
		  "drain-and-rollout --namespace ns --undrain statefulset/etl "
		  "--queues a,b.c,d@e" },
		/* words a shell would split or expand are quoted */
		{ "ecal-bulk", NULL, "ns", "a b,c$d",
		  "drain-and-rollout --namespace ns --undrain ecal-bulk "
		  "--queues 'a b,c$d'" },
		{ "ecal-bulk", NULL, "ns", "it's",
		  "drain-and-rollout --namespace ns --undrain ecal-bulk "
		  "--queues 'it'\\''s'" },
		{ "ecal-bulk", NULL, "ns", "",
		  "drain-and-rollout --namespace ns --undrain ecal-bulk "
		  "--queues ''" },
	};
	size_t	i;

	(void)state;
	for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		struct strv q = { 0 };
		char *c = strdup(cases[i].queues), *tok, *save, *got;
		for (tok = strtok_r(c, ",", &save); tok != NULL;
		    tok = strtok_r(NULL, ",", &save))
			strv_add(&q, tok);
		got = undrain_command(cases[i].target, cases[i].context,
		    cases[i].ns, &q);
		if (strcmp(got, cases[i].want) != 0)
			fail_msg("case %zu: got %s", i, got);
		free(got);
		free(c);
		strv_free(&q);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_find),
		cmocka_unit_test(test_drain_rules),
		cmocka_unit_test(test_other_commands),
		cmocka_unit_test(test_targets),
		cmocka_unit_test(test_undrain_command),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
