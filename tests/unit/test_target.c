/*
 * test_target.c -- what a run acts on, in words and as JSON (target.h):
 * endpoints shown as scheme://host:port or host:port, never a user, a
 * password, a path or a query.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "target.h"

static const struct {
	struct target	 t;
	const char	*words;
	const char	*json;	/* compact, sorted keys */
} cases[] = {
	{ { "prod/api:6443/me", "api:6443", "kubeconfig /k/config",
	    "https://api.example:6443", "ns1", "127.0.0.1:6379/0",
	    "http://127.0.0.1:5555" },
	  "context prod/api:6443/me (cluster api:6443, kubeconfig /k/config), "
	  "API https://api.example:6443, namespace ns1, Redis 127.0.0.1:6379 "
	  "db 0, Flower 127.0.0.1:5555",
	  "{\"cluster\":\"api:6443\",\"context\":\"prod/api:6443/me\","
	  "\"flower\":\"127.0.0.1:5555\",\"kubeconfig\":\"kubeconfig /k/config\","
	  "\"namespace\":\"ns1\",\"redis\":\"127.0.0.1:6379\",\"redis_db\":0,"
	  "\"server\":\"https://api.example:6443\"}" },
	/* default ports; a Flower URL's credentials, path and query dropped */
	{ { "c", NULL, NULL, "https://api.example/prefix", "ns",
	    "redis:6380/3", "https://u:secret@flower.example/flower?x=1" },
	  "context c (cluster ?), API https://api.example:443, namespace ns, "
	  "Redis redis:6380 db 3, Flower flower.example:443",
	  "{\"cluster\":null,\"context\":\"c\",\"flower\":\"flower.example:443\","
	  "\"kubeconfig\":null,\"namespace\":\"ns\",\"redis\":\"redis:6380\","
	  "\"redis_db\":3,\"server\":\"https://api.example:443\"}" },
	/* in-cluster, no Flower (--control broker) */
	{ { NULL, NULL, "in-cluster service account",
	    "https://10.0.0.1:443", "ns", "r:6379", NULL },
	  "in-cluster service account, API https://10.0.0.1:443, namespace "
	  "ns, Redis r:6379 db 0, Flower none",
	  "{\"cluster\":null,\"context\":null,\"flower\":null,\"kubeconfig\":"
	  "\"in-cluster service account\",\"namespace\":\"ns\",\"redis\":"
	  "\"r:6379\",\"redis_db\":null,\"server\":\"https://10.0.0.1:443\"}" },
	/* nothing known */
	{ { NULL, NULL, NULL, NULL, NULL, NULL, NULL },
	  "in-cluster service account, API ?, namespace ?, Redis ? db 0, "
	  "Flower none",
	  "{\"cluster\":null,\"context\":null,\"flower\":null,\"kubeconfig\":"
	  "null,\"namespace\":null,\"redis\":null,\"redis_db\":null,"
	  "\"server\":null}" },
};

static void
test_target(void **state)
{
	size_t	 i;
	char	*w, *j;
	json_t	*o;

	(void)state;
	for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		w = target_words(&cases[i].t);
		assert_string_equal(w, cases[i].words);
		assert_null(strstr(w, "secret"));
		free(w);
		o = target_json(&cases[i].t);
		assert_non_null(o);
		j = json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS);
		assert_string_equal(j, cases[i].json);
		free(j);
		json_decref(o);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_target),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
