/*
 * test_execcred.c -- the exec credential plugin's environment
 * (execcred_env(), include/execcred.h): the agent's without its DRAIN_*
 * settings and KUBERNETES_EXEC_INFO, the kubeconfig's env[] winning, the
 * exec info last; and its time limit (execcred_limit()).
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "execcred.h"

#define INFO	"KUBERNETES_EXEC_INFO={}"

static void
test_env(void **state)
{
	static const struct {
		const char	*environ[6];
		const char	*env[3];
		const char	*want[8];
	} t[] = {
		/* the agent's settings stay home, with their passwords */
		{ { "HOME=/h", "DRAIN_REDIS_URL=redis://:pw@r/0",
		    "DRAIN_FLOWER_URL=http://u:pw@f", "PATH=/bin", NULL },
		  { NULL },
		  { "HOME=/h", "PATH=/bin", INFO, NULL } },
		/* env[] wins over the same name, not over a longer one */
		{ { "A=1", "AB=2", "PLUGIN=old", NULL },
		  { "A=3", "PLUGIN=new", NULL },
		  { "AB=2", "A=3", "PLUGIN=new", INFO, NULL } },
		/* a stale KUBERNETES_EXEC_INFO is replaced */
		{ { "KUBERNETES_EXEC_INFO=stale", "X=1", NULL },
		  { NULL },
		  { "X=1", INFO, NULL } },
		/* the kubeconfig may set a DRAIN_ name for its plugin */
		{ { "DRAIN_X=agent", NULL },
		  { "DRAIN_X=plugin", NULL },
		  { "DRAIN_X=plugin", INFO, NULL } },
		/* DRAIN without the underscore is not ours */
		{ { "DRAINED=1", NULL },
		  { NULL },
		  { "DRAINED=1", INFO, NULL } },
		{ { NULL }, { NULL }, { INFO, NULL } },
	};
	size_t	 i, j;
	char	**v;

	(void)state;
	for (i = 0; i < sizeof t / sizeof t[0]; i++) {
		v = execcred_env((char *const *)t[i].environ,
		    (char *const *)t[i].env, INFO);
		for (j = 0; t[i].want[j] != NULL; j++) {
			if (v[j] == NULL)
				fail_msg("%zu: %zu entries, not more", i, j);
			assert_string_equal(v[j], t[i].want[j]);
		}
		if (v[j] != NULL)
			fail_msg("%zu: more than %zu entries: %s", i, j, v[j]);
		free(v);
	}
}

/* An interactive login gets minutes, a plugin without a terminal the
 * request timeout. */
static void
test_limit(void **state)
{
	static const struct {
		double	 timeout;
		int	 interactive;
		double	 want;
	} t[] = {
		{ 10, 0, 10 },
		{ 10, 1, EXECCRED_INTERACTIVE_LIMIT },
		{ 600, 1, 600 },		/* a longer --request-timeout */
		{ 600, 0, 600 },
		{ 1, 0, 1 },
		{ EXECCRED_INTERACTIVE_LIMIT, 1, EXECCRED_INTERACTIVE_LIMIT },
	};
	size_t	i;

	(void)state;
	for (i = 0; i < sizeof t / sizeof t[0]; i++)
		assert_true(execcred_limit(t[i].timeout, t[i].interactive) ==
		    t[i].want);
}

static void
test_interactive(void **state)
{
	static const struct {
		enum kube_exec_mode	 mode;
		int			 tty, want;
	} t[] = {
		{ KUBE_EXEC_NEVER, 0, 0 },
		{ KUBE_EXEC_NEVER, 1, 0 },
		{ KUBE_EXEC_IFAVAILABLE, 0, 0 },
		{ KUBE_EXEC_IFAVAILABLE, 1, 1 },
		{ KUBE_EXEC_ALWAYS, 0, 0 },	/* refused when it starts */
		{ KUBE_EXEC_ALWAYS, 1, 1 },
	};
	struct kube_exec	e;
	size_t			i;

	(void)state;
	memset(&e, 0, sizeof e);
	for (i = 0; i < sizeof t / sizeof t[0]; i++) {
		e.mode = t[i].mode;
		assert_int_equal(execcred_interactive(&e, t[i].tty),
		    t[i].want);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_env),
		cmocka_unit_test(test_limit),
		cmocka_unit_test(test_interactive),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
