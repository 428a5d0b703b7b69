/*
 * test_options.c -- the option table and what derives from it
 * (include/options.h): the setter every source goes through, the
 * configuration file, the environment, the command line, the closest
 * name for a typo, and --help.
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
#include "options.h"
#include "util.h"

#include "stub_cmd.h"

static void
assert_has(const char *s, const char *want)
{
	if (strstr(s, want) == NULL)
		fail_msg("\"%s\" lacks \"%s\"", s, want);
}

static void
test_defaults(void **state)
{
	struct optvals	v;

	(void)state;
	opt_defaults(&v);
	assert_true(v.o.drain_timeout == 1800);
	assert_true(v.o.verify_timeout == 120);
	assert_true(v.o.request_timeout == 10);
	assert_true(v.o.poll_interval == 2);
	assert_true(v.o.lease_ttl == 30);
	assert_true(v.o.progress_interval == 10);
	assert_true(v.o.rollout_timeout == 0);
	assert_int_equal(v.o.max_parallel, 4);
	assert_int_equal(v.o.control, CTL_AUTO);
	assert_int_equal(v.o.force, 0);
	assert_int_equal(v.o.json, 0);
	assert_string_equal(v.o.flower_url, "http://127.0.0.1:5555");
	assert_string_equal(v.o.redis_url, "redis://127.0.0.1:6379/0");
	assert_null(v.o.namespace);
	assert_int_equal(v.o.priority_steps.n, 0);
	assert_null(v.command);
	assert_int_equal(opt_cmd_given(&v), 0);
}

/* One setter for every source: each kind, accepted and refused. */
static void
test_set(void **state)
{
	static const struct {
		const char	*name;
		const char	*value;
		enum opt_src	 src;
		const char	*why;	/* NULL: accepted */
	} t[] = {
		{ "drain-timeout", "1h30m", OPT_SRC_ENV, NULL },
		{ "drain-timeout", "30", OPT_SRC_FLAG,
		  "X: \"30\" has no unit: say 30s or 30m" },
		{ "lease-ttl", "1.5", OPT_SRC_FILE, "\"1.5\" has no unit" },
		{ "drain-timeout", "soon", OPT_SRC_FLAG, "invalid duration" },
		{ "drain-timeout", "31d", OPT_SRC_FLAG, "invalid duration" },
		{ "poll-interval", "0s", OPT_SRC_ENV, "invalid duration" },
		{ "lease-ttl", "500ms", OPT_SRC_ENV,
		  "X: 500ms is too short: at least 1.0s" },
		{ "request-timeout", "1s", OPT_SRC_FLAG, NULL },
		{ "max-parallel", "12", OPT_SRC_ENV, NULL },
		{ "max-parallel", "0", OPT_SRC_ENV, "from 1 to 1000" },
		{ "max-parallel", "1001", OPT_SRC_ENV, "from 1 to 1000" },
		{ "max-parallel", "4x", OPT_SRC_ENV, "from 1 to 1000" },
		{ "on-timeout", "force", OPT_SRC_FLAG, NULL },
		{ "on-timeout", "maybe", OPT_SRC_FLAG,
		  "X: expected abort or force, not \"maybe\"" },
		{ "control", "broker", OPT_SRC_ENV, NULL },
		{ "control", "redis", OPT_SRC_ENV,
		  "expected auto, flower or broker" },
		{ "control", "", OPT_SRC_FLAG, "expected auto" },
		{ "output", "json", OPT_SRC_FLAG, NULL },
		{ "output", "yaml", OPT_SRC_FLAG, "expected text or json" },
		{ "no-events", "yes", OPT_SRC_ENV, NULL },
		{ "no-events", "FALSE", OPT_SRC_ENV, NULL },
		{ "no-events", "maybe", OPT_SRC_FILE, "expected 1 or 0" },
		{ "no-events", NULL, OPT_SRC_FLAG, NULL },
		{ "priority-steps", "0,1,2", OPT_SRC_ENV, NULL },
		{ "priority-steps", "3,0", OPT_SRC_ENV, "priority_steps" },
		{ "namespace", "anything", OPT_SRC_FLAG, NULL },
		{ "window", "Mon-Fri 01:00-05:00", OPT_SRC_FILE, NULL },
		{ "window", "", OPT_SRC_FLAG, NULL },
		{ "window", "1:00-5:00", OPT_SRC_ENV, "X: bad window "
		  "\"1:00-5:00\": the times must be HH:MM-HH:MM" },
		{ "completion", "zsh", OPT_SRC_FLAG, NULL },
		{ "completion", "fish", OPT_SRC_FLAG,
		  "X: expected bash or zsh, not \"fish\"" },
	};
	struct optvals	 v;
	char		 err[256];
	size_t		 i;

	(void)state;
	for (i = 0; i < sizeof t / sizeof t[0]; i++) {
		opt_defaults(&v);
		err[0] = '\0';
		if (t[i].why == NULL) {
			if (opt_set(&v, opt_by_name(t[i].name), t[i].value,
			    t[i].src, "X", err, sizeof err) != 0)
				fail_msg("%zu: %s", i, err);
			assert_int_equal(opt_src_of(&v, t[i].name), t[i].src);
			continue;
		}
		assert_int_equal(opt_set(&v, opt_by_name(t[i].name),
		    t[i].value, t[i].src, "X", err, sizeof err), -1);
		assert_has(err, t[i].why);
	}
	/* the values land in their fields */
	opt_defaults(&v);
	assert_int_equal(opt_set(&v, opt_by_name("control"), "broker",
	    OPT_SRC_ENV, "X", err, sizeof err), 0);
	assert_int_equal(v.o.control, CTL_BROKER);
	assert_int_equal(opt_set(&v, opt_by_name("on-timeout"), "force",
	    OPT_SRC_ENV, "X", err, sizeof err), 0);
	assert_int_equal(v.o.force, 1);
	assert_int_equal(opt_set(&v, opt_by_name("drain-timeout"), "1500ms",
	    OPT_SRC_ENV, "X", err, sizeof err), 0);
	assert_true(v.o.drain_timeout == 1.5);
	assert_int_equal(opt_set(&v, opt_by_name("handover"), "0",
	    OPT_SRC_ENV, "X", err, sizeof err), 0);
	assert_int_equal(v.o.handover, 0);
	assert_int_equal(opt_set(&v, opt_by_name("window"), "Sat,Sun "
	    "22:00-02:00", OPT_SRC_ENV, "X", err, sizeof err), 0);
	assert_true(v.o.window.set && v.o.window.days == 0x41 &&
	    v.o.window.start == 1320 && v.o.window.end == 120);
	assert_int_equal(opt_set(&v, opt_by_name("window"), "", OPT_SRC_FLAG,
	    "X", err, sizeof err), 0);
	assert_int_equal(v.o.window.set, 0);
	assert_int_equal(opt_set(&v, opt_by_name("completion"), "bash",
	    OPT_SRC_FLAG, "X", err, sizeof err), 0);
	assert_int_equal(v.action, 'c');
	assert_string_equal(v.action_arg, "bash");
}

static void
test_closest(void **state)
{
	static const struct {
		const char	*word;
		int		 vars;
		const char	*want;
	} t[] = {
		{ "DRAIN_DRAIN_TIMEUOT", 1, "DRAIN_DRAIN_TIMEOUT" },
		{ "DRAIN_FLOWER_PASWORD_FILE", 1, "DRAIN_FLOWER_PASSWORD_FILE" },
		{ "DRAIN_NAMESPCE", 1, "DRAIN_NAMESPACE" },
		{ "KUBECONFIG", 1, "KUBECONFIG" },
		{ "KUBE_CONFIG", 1, "KUBECONFIG" },
		{ "DRAIN_WHATEVER", 1, NULL },
		{ "PATH", 1, NULL },
		{ "--drain-timout", 0, "drain-timeout" },
		{ "--dryrun", 0, "dry-run" },
		{ "--namespcae", 0, "namespace" },
		{ "--hodl", 0, "hold" },
		{ "--frobnicate", 0, NULL },
		{ "--x", 0, NULL },
		{ "", 0, NULL },
	};
	size_t		 i;
	const char	*got;

	(void)state;
	for (i = 0; i < sizeof t / sizeof t[0]; i++) {
		got = opt_closest(t[i].word, t[i].vars);
		if (t[i].want == NULL && got != NULL)
			fail_msg("%s: %s, not none", t[i].word, got);
		if (t[i].want != NULL && (got == NULL ||
		    strcmp(got, t[i].want) != 0))
			fail_msg("%s: %s, not %s", t[i].word, got ? got :
			    "none", t[i].want);
	}
}

static void
test_config_line(void **state)
{
	static const struct {
		const char	*line;
		int		 rc;
		const char	*key, *value;
	} t[] = {
		{ "DRAIN_X=1", 0, "DRAIN_X", "1" },
		{ "  DRAIN_X = \"a b\"  ", 0, "DRAIN_X", "a b" },
		{ "DRAIN_X='q'\n", 0, "DRAIN_X", "q" },
		{ "DRAIN_X=\"unbalanced", 0, "DRAIN_X", "\"unbalanced" },
		{ "DRAIN_X=a=b", 0, "DRAIN_X", "a=b" },
		{ "DRAIN_X=", 0, "DRAIN_X", "" },
		{ "# DRAIN_X=1", 1, NULL, NULL },
		{ "; x", 1, NULL, NULL },
		{ "   ", 1, NULL, NULL },
		{ "", 1, NULL, NULL },
		{ "DRAIN_X", -1, NULL, NULL },
		{ "=1", -1, NULL, NULL },
	};
	char	 line[128], *k, *val, err[128];
	size_t	 i;

	(void)state;
	for (i = 0; i < sizeof t / sizeof t[0]; i++) {
		snprintf(line, sizeof line, "%s", t[i].line);
		assert_int_equal(opt_config_line(line, &k, &val, err,
		    sizeof err), t[i].rc);
		if (t[i].rc == 0) {
			assert_string_equal(k, t[i].key);
			assert_string_equal(val, t[i].value);
		}
	}
}

/* The file, then the environment over it. */
static void
test_config_and_environ(void **state)
{
	struct optvals	 v;
	char		 text[512], err[512];
	char		*env[] = { "DRAIN_LEASE_TTL=45s", "DRAIN_BIN=/x",
			    "DRAIN_NAMESPACE=", "PATH=/bin", NULL };
	char		*bad_env[] = { "DRAIN_DRAIN_TIMEOUT=30", NULL };
	size_t		 i;
	static const struct {
		const char	*text;
		const char	*why;
	} bad[] = {
		{ "DRAIN_DRAIN_TIMEUOT=1h\n", "f.conf:1: unknown key "
		  "DRAIN_DRAIN_TIMEUOT (did you mean DRAIN_DRAIN_TIMEOUT?)" },
		{ "# c\n\nFOO=1\n", "f.conf:3: unknown key FOO (the keys are" },
		{ "DRAIN_DRAIN_TIMEOUT=30\n", "f.conf:1: DRAIN_DRAIN_TIMEOUT: "
		  "\"30\" has no unit" },
		{ "DRAIN_CONTROL=x\n", "f.conf:1: DRAIN_CONTROL: expected" },
		{ "junk\n", "f.conf:1: expected KEY=VALUE" },
	};

	(void)state;
	opt_defaults(&v);
	snprintf(text, sizeof text, "# settings\nDRAIN_LEASE_TTL=20s\n"
	    "DRAIN_REDIS_URL=redis://:pw@r:6379/0\nDRAIN_DRAIN_TIMEOUT=5m\n"
	    "DRAIN_DRAIN_TIMEOUT=\"10m\"\nKUBECONFIG=/k\n"
	    "DRAIN_NAMESPACE=ns1\nDRAIN_FLOWER_USER=\n");
	assert_int_equal(opt_config_text(&v, "f.conf", text, err, sizeof err),
	    0);
	assert_true(v.o.lease_ttl == 20);
	assert_true(v.o.drain_timeout == 600);		/* the later line */
	assert_string_equal(v.o.redis_url, "redis://:pw@r:6379/0");
	assert_null(v.o.flower_user);			/* empty: not set */
	assert_int_equal(opt_src_of(&v, "redis-url"), OPT_SRC_FILE);
	assert_string_equal(v.file_vals[opt_by_var("KUBECONFIG") - opt_table],
	    "/k");
	/* the file's values are copies: the text may go */
	memset(text, 'x', sizeof text - 1);
	assert_string_equal(v.o.namespace, "ns1");
	assert_int_equal(opt_environ(&v, env, err, sizeof err), 0);
	assert_true(v.o.lease_ttl == 45);		/* the environment wins */
	assert_string_equal(v.o.namespace, "ns1");	/* empty: not set */
	assert_int_equal(opt_src_of(&v, "lease-ttl"), OPT_SRC_ENV);
	assert_int_equal(opt_environ(&v, bad_env, err, sizeof err), -1);
	assert_has(err, "DRAIN_DRAIN_TIMEOUT: \"30\" has no unit");
	opt_free(&v);
	for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		opt_defaults(&v);
		snprintf(text, sizeof text, "%s", bad[i].text);
		assert_int_equal(opt_config_text(&v, "f.conf", text, err,
		    sizeof err), -1);
		assert_has(err, bad[i].why);
		opt_free(&v);
	}
}

static int
argv_of(struct optvals *v, const char *line, int *first, char *err,
    size_t errlen, char **words)
{
	static char	buf[512];
	int		argc = 0;
	char		*w;

	snprintf(buf, sizeof buf, "drain-and-rollout %s", line);
	for (w = strtok(buf, " "); w != NULL; w = strtok(NULL, " "))
		words[argc++] = w;
	words[argc] = NULL;
	opt_defaults(v);
	return opt_argv(v, argc, words, first, err, errlen) == 0 ? argc : -1;
}

static void
test_argv(void **state)
{
	static const struct {
		const char	*line;
		const char	*why;	/* NULL: accepted */
	} t[] = {
		{ "--drain-timout 5m x", "unknown option --drain-timout (did "
		  "you mean --drain-timeout?)" },
		{ "--drain-timout=5m x", "unknown option --drain-timout (did" },
		{ "--frobnicate x", "unknown or ambiguous option --frobnicate" },
		{ "--d x", "unknown or ambiguous option --d" },
		{ "-x y", "unknown option -x" },
		{ "-v -q x", "-q (--quiet) and -v (--verbose) exclude each other" },
		{ "-qv x", "exclude each other" },
		{ "-n=foo x", "-n=foo: a short option's value follows it without "
		  "'=': -n foo" },
		{ "-o=json x", "-o=json" },
		{ "--dry-run=yes x", "option --dry-run takes no value" },
		{ "x -n", "option -n needs a value" },
		{ "x --drain-timeout", "option --drain-timeout needs a value" },
		{ "--drain-timeout 30 x", "--drain-timeout: \"30\" has no unit: "
		  "say 30s or 30m" },
		{ "--hold --release x", "--hold and --release exclude each other" },
		{ "--status --status", NULL },
		{ "-n ns1 x", NULL },
		{ "-nns1 x", NULL },
		{ "--namespace=ns1 x", NULL },
		{ "x --dry-run", NULL },
		{ "--dry x", NULL },		/* a unique prefix, as getopt */
	};
	struct optvals	 v;
	char		 err[256], *words[32];
	int		 first;
	size_t		 i;

	(void)state;
	for (i = 0; i < sizeof t / sizeof t[0]; i++) {
		err[0] = '\0';
		if (t[i].why == NULL) {
			if (argv_of(&v, t[i].line, &first, err, sizeof err,
			    words) == -1)
				fail_msg("%s: %s", t[i].line, err);
			continue;
		}
		assert_int_equal(argv_of(&v, t[i].line, &first, err,
		    sizeof err, words), -1);
		assert_has(err, t[i].why);
	}
	/* operands after options, the command, what the flags gave */
	assert_int_equal(argv_of(&v, "ecal-bulk --hold --reason why -o json "
	    "--until 8h -n ns1", &first, err, sizeof err, words), 11);
	assert_int_equal(first, 10);
	assert_string_equal(words[first], "ecal-bulk");
	assert_string_equal(v.command, "--hold");
	assert_string_equal(v.o.hold_reason, "why");
	assert_string_equal(v.o.namespace, "ns1");
	assert_int_equal(v.o.json, 1);
	assert_int_equal(opt_cmd_given(&v), CMD_O_REASON | CMD_O_UNTIL);
	assert_int_equal(opt_src_of(&v, "namespace"), OPT_SRC_FLAG);
	assert_int_equal(argv_of(&v, "-l a=b --queues q --ignore-hold", &first,
	    err, sizeof err, words), 6);
	assert_int_equal(opt_cmd_given(&v), CMD_O_SELECTOR | CMD_O_QUEUES |
	    CMD_O_IGNORE_HOLD);
	assert_int_equal(argv_of(&v, "--help", &first, err, sizeof err,
	    words), 2);
	assert_int_equal(v.action, 'h');
	assert_int_equal(argv_of(&v, "--version", &first, err, sizeof err,
	    words), 2);
	assert_int_equal(v.action, 'V');
}

/* --help names every option of the table, and its variable. */
static void
test_usage(void **state)
{
	char	*buf = NULL, want[128];
	size_t	 len = 0, i;
	FILE	*f = open_memstream(&buf, &len);

	(void)state;
	opt_usage(f);
	fclose(f);
	for (i = 0; i < opt_count; i++) {
		if (opt_table[i].name == NULL)
			continue;
		snprintf(want, sizeof want, "--%s", opt_table[i].name);
		assert_has(buf, want);
		if (opt_table[i].var != NULL && opt_table[i].help != NULL)
			assert_has(buf, opt_table[i].var);
	}
	for (i = 0; cmd_table[i] != NULL; i++)
		assert_has(buf, cmd_table[i]->usage);
	/* no line wider than 80 columns, but an option too long to wrap */
	for (i = 0; buf[i] != '\0'; i += strcspn(buf + i, "\n") + 1)
		if (strcspn(buf + i, "\n") > 80)
			fail_msg("too wide: %.*s", (int)strcspn(buf + i, "\n"),
			    buf + i);
	free(buf);
}

/* opt_argv_json(): the last -o before "--" says; else the default. */
static void
test_argv_json(void **state)
{
	static const struct {
		const char	*args[6];
		int		 dflt, want;
	} t[] = {
		{ { "x", NULL }, 0, 0 },
		{ { "x", NULL }, 1, 1 },		/* DRAIN_OUTPUT=json */
		{ { "x", "-o", "json", NULL }, 0, 1 },
		{ { "x", "-ojson", NULL }, 0, 1 },
		{ { "x", "--output", "json", NULL }, 0, 1 },
		{ { "x", "--output=json", NULL }, 0, 1 },
		{ { "x", "--drain-timeout", "30", "-o", "json", NULL }, 0, 1 },
		{ { "x", "-o", "json", "-o", "text", NULL }, 0, 0 },
		{ { "x", "-o", "text", NULL }, 1, 0 },
		{ { "x", "--output=yaml", NULL }, 1, 0 },
		{ { "x", "--", "-o", "json", NULL }, 0, 0 },
		{ { "x", "-o", NULL }, 0, 0 },		/* no value */
		{ { "x", "--output", NULL }, 1, 1 },
		{ { "x", "--other", "-o", NULL }, 0, 0 },
	};
	size_t	i;
	int	argc;

	(void)state;
	for (i = 0; i < sizeof t / sizeof t[0]; i++) {
		for (argc = 0; t[i].args[argc] != NULL; argc++)
			;
		if (opt_argv_json(argc, (char **)t[i].args, t[i].dflt) !=
		    t[i].want)
			fail_msg("row %zu: want %d", i, t[i].want);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_set),
		cmocka_unit_test(test_closest),
		cmocka_unit_test(test_config_line),
		cmocka_unit_test(test_config_and_environ),
		cmocka_unit_test(test_argv),
		cmocka_unit_test(test_usage),
		cmocka_unit_test(test_argv_json),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
