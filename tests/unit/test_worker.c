/*
 * test_worker.c -- worker.h's readers of a worker's queues:
 * worker_argv_queues() for each of Celery's spellings of -Q, and
 * worker_left_drained() for each source of a worker's queues.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "worker.h"

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
		cmocka_unit_test(test_argv_queues),
		cmocka_unit_test(test_left_drained),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
