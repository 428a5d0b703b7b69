/*
 * test_bounds.c -- large inputs (issue 9): a worker holding tens of
 * thousands of tasks is listed in O(n log n) (tasks_describe,
 * strv_unique); names are matched literally in Redis patterns
 * (redis_glob_escape). The sizes would take minutes if the code were
 * quadratic; nothing here is timed, the results are checked.
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

#include "util.h"
#include "worker.h"

#define MANY	50000

static void
fill(struct task_list *tl, size_t n, size_t from, int eta)
{
	size_t	i;
	char	id[64];

	tl->v = xcalloc(n, sizeof *tl->v);
	tl->n = n;
	for (i = 0; i < n; i++) {
		snprintf(id, sizeof id, "%08zx-1111-4222-8333-444455556666",
		    from + i);
		tl->v[i].id = xstrdup(id);
		tl->v[i].name = xstrdup("etl.ingest");
		if (eta)
			tl->v[i].eta = xstrdup("2026-11-26T03:00:00+00:00");
	}
}

static void
test_tasks_describe_many(void **state)
{
	struct task_list	 tl;
	char			*s, *p;
	size_t			 n = 0;

	(void)state;
	fill(&tl, MANY, 0, 1);
	s = tasks_describe(&tl, 0);
	for (p = s; (p = strstr(p, ", ")) != NULL; p += 2)
		n++;
	assert_int_equal(n, MANY - 1);
	p = "00000000-1111-4222-8333-444455556666 etl.ingest "
	    "(eta 2026-11-26T03:00:00+00:00), 00000001-";
	assert_true(strncmp(s, p, strlen(p)) == 0);
	p = strrchr(s, ',');
	assert_string_equal(p, ", 0000c34f-1111-4222-8333-444455556666 "
	    "etl.ingest (eta 2026-11-26T03:00:00+00:00)");
	free(s);
	task_list_free(&tl);
	s = tasks_describe(&tl, 0);	/* none */
	assert_string_equal(s, "");
	free(s);
}

/* What a worker says of its tasks is shown bounded; the id is kept whole. */
static void
test_task_text_capped(void **state)
{
	size_t		 n = 100000;
	char		*big = xmalloc(n + 1), *s;
	json_t		*arr;
	struct task_list tl;
	char		 err[200];

	(void)state;
	memset(big, 'x', n);
	big[n] = '\0';
	arr = json_pack("[{s:s,s:s,s:[s],s:f}]", "id", big, "name", big,
	    "args", big, "time_start", 1.0);
	assert_int_equal(tasks_from_json(arr, 0, &tl, err, sizeof err), 0);
	json_decref(arr);
	assert_int_equal(strlen(tl.v[0].id), n);		/* matched */
	assert_int_equal(strlen(tl.v[0].name), TASK_TEXT_MAX + 3);
	assert_int_equal(strlen(tl.v[0].args), TASK_TEXT_MAX + 3);
	s = tasks_describe(&tl, 2.0);
	assert_true(strlen(s) < 2 * (TASK_TEXT_MAX + 3) + 40);
	assert_memory_equal(s + TASK_TEXT_MAX, "... xxx", 7);
	free(s);
	task_list_free(&tl);
	arr = json_pack("[{s:{s:s,s:s},s:s}]", "request", "id", "t2", "name",
	    "etl.ingest", "eta", big);
	assert_int_equal(tasks_from_json(arr, 1, &tl, err, sizeof err), 0);
	json_decref(arr);
	assert_int_equal(strlen(tl.v[0].eta), TASK_TEXT_MAX + 3);
	task_list_free(&tl);
	free(big);
}

static void
test_strv_unique(void **state)
{
	struct strv	in = { 0 }, skip = { 0 }, out = { 0 };
	const char	*w[] = { "b", "a", "b", "c", "a", "d" };
	size_t		i;

	(void)state;
	for (i = 0; i < 6; i++)
		strv_add(&in, w[i]);
	strv_add(&skip, "c");
	strv_add(&out, "d");
	strv_unique(&out, &in, &skip);
	assert_int_equal(out.n, 3);
	assert_string_equal(out.v[0], "d");
	assert_string_equal(out.v[1], "b");
	assert_string_equal(out.v[2], "a");
	strv_unique(&out, &in, NULL);
	assert_int_equal(out.n, 4);
	assert_string_equal(out.v[3], "c");
	strv_free(&in);
	strv_free(&skip);
	strv_free(&out);
}

static void
test_redis_glob_escape(void **state)
{
	char	*s;

	(void)state;
	s = redis_glob_escape("drain-and-rollout:journal:cms-dials-prod:");
	assert_string_equal(s, "drain-and-rollout:journal:cms-dials-prod:");
	free(s);
	s = redis_glob_escape("a*b?c[d]e\\f");
	assert_string_equal(s, "a\\*b\\?c\\[d\\]e\\\\f");
	free(s);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_tasks_describe_many),
		cmocka_unit_test(test_task_text_capped),
		cmocka_unit_test(test_strv_unique),
		cmocka_unit_test(test_redis_glob_escape),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
