/*
 * test_stale.c -- include/stale.h: the triggers annotation, image
 * references, each resolution path, the tag's digest and the verdict,
 * table-driven.
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

#include "stale.h"

#define H1 "1111111111111111111111111111111111111111111111111111111111111111"
#define H2 "2222222222222222222222222222222222222222222222222222222222222222"
#define D1 "sha256:" H1
#define D2 "sha256:" H2
#define REG STALE_REGISTRY
#define FP(c) "spec.template.spec.containers[?(@.name==\\\"" c "\\\")].image"

static void
test_triggers_parse(void **state)
{
	static const struct {
		const char	*text;
		int		 rc;
		size_t		 n;
		const char	*from, *ns, *container;
		long		 index;
		int		 paused;
	} t[] = {
		{ NULL, 0, 0, NULL, NULL, NULL, -1, 0 },
		{ "", 0, 0, NULL, NULL, NULL, -1, 0 },
		{ "[]", 0, 0, NULL, NULL, NULL, -1, 0 },
		{ "[{\"from\":{\"kind\":\"ImageStreamTag\",\"name\":\"etl:latest\"},"
		  "\"fieldPath\":\"" FP("worker") "\"}]", 0, 1, "etl:latest", NULL,
		  "worker", -1, 0 },
		{ "[{\"from\":{\"kind\":\"ImageStreamTag\",\"name\":\"etl:v2\","
		  "\"namespace\":\"base\"},\"fieldPath\":\"" FP("worker") "\","
		  "\"paused\":true}]", 0, 1, "etl:v2", "base", "worker", -1, 1 },
		{ "[{\"from\":{\"kind\":\"ImageStreamTag\",\"name\":\"etl:v2\","
		  "\"namespace\":\"\"},\"fieldPath\":\"" FP("worker") "\","
		  "\"paused\":\"false\"}]", 0, 1, "etl:v2", NULL, "worker", -1, 0 },
		{ "[{\"from\":{\"kind\":\"ImageStreamTag\",\"name\":\"etl:v2\"},"
		  "\"fieldPath\":\"spec.template.spec.containers[?(@.name=='w')]"
		  ".image\",\"paused\":\"True\"}]", 0, 1, "etl:v2", NULL, "w", -1,
		  1 },
		{ "[{\"from\":{\"kind\":\"ImageStreamTag\",\"name\":\"etl:v2\"},"
		  "\"fieldPath\":\"spec.template.spec.containers[0].image\"}]", 0,
		  1, "etl:v2", NULL, NULL, 0, 0 },
		/* not kept: another kind, an init container, env */
		{ "[{\"from\":{\"kind\":\"DockerImage\",\"name\":\"x:1\"},"
		  "\"fieldPath\":\"" FP("worker") "\"}]", 0, 0, NULL, NULL, NULL,
		  -1, 0 },
		{ "[{\"from\":{\"kind\":\"ImageStreamTag\",\"name\":\"x:1\"},"
		  "\"fieldPath\":\"spec.template.spec.initContainers[0].image\"}]",
		  0, 0, NULL, NULL, NULL, -1, 0 },
		{ "[{\"from\":{\"kind\":\"ImageStreamTag\",\"name\":\"x:1\"},"
		  "\"fieldPath\":\"spec.template.spec.containers[?(@.name==\\\"\\\")]"
		  ".image\"}]", 0, 0, NULL, NULL, NULL, -1, 0 },
		{ "[{\"from\":{\"kind\":\"ImageStreamTag\",\"name\":\"x:1\"},"
		  "\"fieldPath\":\"spec.template.spec.containers[0].env\"}]", 0, 0,
		  NULL, NULL, NULL, -1, 0 },
		/* errors */
		{ "{", -1, 0, NULL, NULL, NULL, -1, 0 },
		{ "{}", -1, 0, NULL, NULL, NULL, -1, 0 },
		{ "[{\"fieldPath\":\"x\"}]", -1, 0, NULL, NULL, NULL, -1, 0 },
		{ "[1]", -1, 0, NULL, NULL, NULL, -1, 0 },
		{ "[{\"from\":{\"kind\":\"ImageStreamTag\",\"name\":\"e:1\"},"
		  "\"fieldPath\":\"" FP("w") "\",\"paused\":\"maybe\"}]", -1, 0,
		  NULL, NULL, NULL, -1, 0 },
		{ "[{\"from\":{\"kind\":\"ImageStreamTag\",\"name\":\"e:1\"},"
		  "\"fieldPath\":\"" FP("w") "\",\"paused\":1}]", -1, 0, NULL,
		  NULL, NULL, -1, 0 },
	};
	struct image_triggers	tr;
	char			err[200];
	size_t			i;

	(void)state;
	for (i = 0; i < sizeof t / sizeof t[0]; i++) {
		err[0] = '\0';
		assert_int_equal(triggers_parse(t[i].text, &tr, err, sizeof err),
		    t[i].rc);
		if (t[i].rc == -1)
			assert_true(err[0] != '\0');
		assert_int_equal(tr.n, t[i].n);
		if (t[i].n == 1) {
			assert_string_equal(tr.v[0].from, t[i].from);
			if (t[i].ns == NULL)
				assert_null(tr.v[0].ns);
			else
				assert_string_equal(tr.v[0].ns, t[i].ns);
			if (t[i].container == NULL)
				assert_null(tr.v[0].container);
			else
				assert_string_equal(tr.v[0].container,
				    t[i].container);
			assert_int_equal(tr.v[0].index, t[i].index);
			assert_int_equal(tr.v[0].paused, t[i].paused);
		}
		triggers_free(&tr);
	}
}

static void
test_triggers_for(void **state)
{
	struct image_triggers	tr;
	char			err[200];

	(void)state;
	assert_int_equal(triggers_parse("[{\"from\":{\"kind\":\"ImageStreamTag\","
	    "\"name\":\"a:1\"},\"fieldPath\":\"" FP("w") "\"},"
	    "{\"from\":{\"kind\":\"ImageStreamTag\",\"name\":\"b:1\"},"
	    "\"fieldPath\":\"spec.template.spec.containers[1].image\"}]", &tr,
	    err, sizeof err), 0);
	assert_string_equal(triggers_for(&tr, "w", 0)->from, "a:1");
	assert_string_equal(triggers_for(&tr, "side", 1)->from, "b:1");
	assert_null(triggers_for(&tr, "side", 2));
	assert_null(triggers_for(NULL, "w", 0));
	triggers_free(&tr);
}

static void
test_triggers_pause_all(void **state)
{
	static const struct {
		const char	*in, *out;
		size_t		 changed;
	} t[] = {
		{ "[]", "[]", 0 },
		{ "[{\"from\":{\"kind\":\"ImageStreamTag\",\"name\":\"e:1\"},"
		  "\"fieldPath\":\"f\"}]",
		  "[{\"from\":{\"kind\":\"ImageStreamTag\",\"name\":\"e:1\"},"
		  "\"fieldPath\":\"f\",\"paused\":true}]", 1 },
		{ "[{\"from\":{\"name\":\"e:1\"},\"paused\":\"false\"},"
		  "{\"from\":{\"name\":\"f:1\"},\"paused\":true}]",
		  "[{\"from\":{\"name\":\"e:1\"},\"paused\":true},"
		  "{\"from\":{\"name\":\"f:1\"},\"paused\":true}]", 1 },
		{ "[{\"from\":{\"name\":\"e:1\"},\"paused\":\"TRUE\"}]",
		  "[{\"from\":{\"name\":\"e:1\"},\"paused\":true}]", 0 },
		{ "nope", NULL, 0 },
		{ NULL, NULL, 0 },
	};
	char	err[200], *s;
	size_t	i, n;

	(void)state;
	for (i = 0; i < sizeof t / sizeof t[0]; i++) {
		s = triggers_pause_all(t[i].in, &n, err, sizeof err);
		if (t[i].out == NULL) {
			assert_null(s);
			continue;
		}
		assert_non_null(s);
		assert_string_equal(s, t[i].out);
		assert_int_equal(n, t[i].changed);
		free(s);
	}
}

static void
test_image_ref_parse(void **state)
{
	static const struct {
		const char	*image;
		int		 rc;
		enum ref_kind	 kind;
		const char	*ns, *stream, *tag, *digest;
	} t[] = {
		{ REG "/cms-dials-prod/etl:latest", 0, REF_REGISTRY,
		  "cms-dials-prod", "etl", "latest", "" },
		{ REG "/cms-dials-prod/etl", 0, REF_REGISTRY, "cms-dials-prod",
		  "etl", "latest", "" },
		{ REG "/cms-dials-prod/etl:v1.2", 0, REF_REGISTRY,
		  "cms-dials-prod", "etl", "v1.2", "" },
		{ REG "/etl:v1", 0, REF_EXTERNAL, "", "", "v1", "" },
		{ REG "/a/b/etl:v1", 0, REF_EXTERNAL, "", "", "v1", "" },
		{ "etl:latest", 0, REF_SHORT, "", "etl", "latest", "" },
		{ "etl", 0, REF_SHORT, "", "etl", "latest", "" },
		{ "library/etl:1", 0, REF_EXTERNAL, "", "", "1", "" },
		{ "registry.cern.ch/cmsdials/etl-worker:1.4.2", 0, REF_EXTERNAL,
		  "", "", "1.4.2", "" },
		{ "localhost/etl:1", 0, REF_EXTERNAL, "", "", "1", "" },
		{ "localhost:5000/etl", 0, REF_EXTERNAL, "", "", "latest", "" },
		{ "registry.cern.ch/x/etl@" D1, 0, REF_DIGEST, "", "", "", D1 },
		{ REG "/ns/etl:v1@" D2, 0, REF_DIGEST, "", "", "", D2 },
		{ "etl@sha256:abc", -1, 0, "", "", "", "" },
		{ "etl@md5:" H1, -1, 0, "", "", "", "" },
		{ "etl:", -1, 0, "", "", "", "" },
		{ ":v1", -1, 0, "", "", "", "" },
		{ "", -1, 0, "", "", "", "" },
		{ NULL, -1, 0, "", "", "", "" },
	};
	struct image_ref	ref;
	char			err[200];
	size_t			i;

	(void)state;
	for (i = 0; i < sizeof t / sizeof t[0]; i++) {
		assert_int_equal(image_ref_parse(t[i].image, &ref, err,
		    sizeof err), t[i].rc);
		if (t[i].rc == -1)
			continue;
		assert_int_equal(ref.kind, t[i].kind);
		assert_string_equal(ref.ns, t[i].ns);
		assert_string_equal(ref.stream, t[i].stream);
		assert_string_equal(ref.tag, t[i].tag);
		assert_string_equal(ref.digest, t[i].digest);
	}
}

static void
test_image_digest(void **state)
{
	static const struct {
		const char	*id, *d;
	} t[] = {
		{ REG "/ns/etl@" D1, D1 },
		{ "registry.cern.ch/cms-dqmdc/dials-etl@" D2, D2 },
		{ "docker-pullable://etl@" D1, D1 },
		{ D1, D1 },
		{ "", NULL },
		{ NULL, NULL },
		{ "etl@sha256:" "1111", NULL },
		{ "etl@sha256:" "G111111111111111111111111111111111111111111111111111111111111111", NULL },
		{ "etl@sha256:" "A111111111111111111111111111111111111111111111111111111111111111", NULL },
		{ "etl:latest", NULL },
	};
	char	d[DIGEST_LEN];
	size_t	i;

	(void)state;
	for (i = 0; i < sizeof t / sizeof t[0]; i++) {
		if (t[i].d == NULL) {
			assert_int_equal(image_digest(t[i].id, d), -1);
			continue;
		}
		assert_int_equal(image_digest(t[i].id, d), 0);
		assert_string_equal(d, t[i].d);
	}
}

static void
test_lookup_of(void **state)
{
	static const struct {
		const char	*name;
		long		 idx;
		const char	*image;
		int		 trig;
		enum stale_via	 via;
		const char	*ns, *ist, *digest;
	} t[] = {
		/* 1: the trigger wins, even over a digest in the field */
		{ "worker", 0, REG "/prod/etl@" D1, 1, VIA_TRIGGER, "prod",
		  "etl:latest", "" },
		{ "side", 1, "registry.cern.ch/x/side:1", 1, VIA_TRIGGER, "base",
		  "tools:latest", "" },
		/* 2: the integrated registry, a short name */
		{ "other", 2, REG "/prod/etl:v3", 1, VIA_REGISTRY, "prod",
		  "etl:v3", "" },
		{ "other", 2, REG "/team/etl", 0, VIA_REGISTRY, "team",
		  "etl:latest", "" },
		{ "other", 2, "etl:v3", 0, VIA_SHORT, "prod", "etl:v3", "" },
		/* 3: a digest */
		{ "other", 2, "registry.cern.ch/x/etl@" D2, 0, VIA_DIGEST, "prod",
		  "", D2 },
		/* nothing */
		{ "other", 2, "registry.cern.ch/x/etl:1.4.2", 0, VIA_NONE, "prod",
		  "", "" },
		{ "other", 2, "", 0, VIA_NONE, "prod", "", "" },
	};
	struct image_triggers	tr;
	struct stale_lookup	l;
	char			err[200];
	size_t			i;

	(void)state;
	assert_int_equal(triggers_parse("[{\"from\":{\"kind\":\"ImageStreamTag\","
	    "\"name\":\"etl\"},\"fieldPath\":\"" FP("worker") "\"},"
	    "{\"from\":{\"kind\":\"ImageStreamTag\",\"name\":\"tools:latest\","
	    "\"namespace\":\"base\"},"
	    "\"fieldPath\":\"spec.template.spec.containers[1].image\"}]", &tr,
	    err, sizeof err), 0);
	for (i = 0; i < sizeof t / sizeof t[0]; i++) {
		stale_lookup_of(t[i].name, t[i].idx, t[i].image, t[i].trig ?
		    &tr : NULL, "prod", &l);
		assert_int_equal(l.via, t[i].via);
		assert_string_equal(l.ns, t[i].ns);
		assert_string_equal(l.ist, t[i].ist);
		assert_string_equal(l.digest, t[i].digest);
		if (t[i].via == VIA_NONE)
			assert_true(l.why[0] != '\0');
	}
	triggers_free(&tr);
}

static void
test_tag_digest(void **state)
{
	static const struct {
		const char	*ist;
		enum stale_via	 via;
		int		 resolve_names, rc;
		const char	*d;
	} t[] = {
		{ "{\"image\":{\"metadata\":{\"name\":\"" D1 "\"}}}", VIA_TRIGGER,
		  0, 0, D1 },
		{ "{\"image\":{\"metadata\":{\"name\":\"" D1 "\"}}}",
		  VIA_REGISTRY, 0, 0, D1 },
		{ "{\"lookupPolicy\":{\"local\":true},\"image\":{\"metadata\":"
		  "{\"name\":\"" D2 "\"}}}", VIA_SHORT, 0, 0, D2 },
		{ "{\"lookupPolicy\":{\"local\":false},\"image\":{\"metadata\":"
		  "{\"name\":\"" D2 "\"}}}", VIA_SHORT, 0, -1, NULL },
		{ "{\"image\":{\"metadata\":{\"name\":\"" D2 "\"}}}", VIA_SHORT,
		  0, -1, NULL },
		{ "{\"lookupPolicy\":{\"local\":false},\"image\":{\"metadata\":"
		  "{\"name\":\"" D2 "\"}}}", VIA_SHORT, 1, 0, D2 },
		{ "{\"image\":null}", VIA_TRIGGER, 0, -1, NULL },
		{ "{}", VIA_REGISTRY, 0, -1, NULL },
		{ "{\"image\":{\"metadata\":{\"name\":\"latest\"}}}", VIA_TRIGGER,
		  0, -1, NULL },
	};
	struct stale_lookup	l;
	json_t			*o;
	char			d[DIGEST_LEN], why[300];
	size_t			i;

	(void)state;
	for (i = 0; i < sizeof t / sizeof t[0]; i++) {
		memset(&l, 0, sizeof l);
		l.via = t[i].via;
		snprintf(l.ist, sizeof l.ist, "etl:latest");
		o = json_loads(t[i].ist, 0, NULL);
		assert_non_null(o);
		why[0] = '\0';
		assert_int_equal(stale_tag_digest(o, &l, t[i].resolve_names, d,
		    why, sizeof why), t[i].rc);
		if (t[i].rc == 0)
			assert_string_equal(d, t[i].d);
		else
			assert_true(strstr(why, "etl:latest") != NULL);
		json_decref(o);
	}
}

static void
test_decide(void **state)
{
	static const struct stale_container
	    cur1[] = { { "worker", D1, NULL } },
	    cur2[] = { { "worker", D2, NULL } },
	    unk[] = { { "worker", NULL, "a 404" } },
	    mixed[] = { { "worker", D1, NULL }, { "side", NULL, "external" } },
	    mixed2[] = { { "side", NULL, "external" }, { "worker", D2, NULL } };
	static const struct stale_running
	    run1[] = { { "p1", "worker", REG "/ns/etl@" D1 },
		       { "p1", "side", "x@" D2 } },
	    run12[] = { { "p1", "worker", "registry.cern.ch/etl@" D1 },
			{ "p2", "worker", REG "/ns/etl@" D2 } },
	    empty[] = { { "p1", "worker", "" } },
	    other[] = { { "p1", "nomatch", REG "/ns/etl@" D2 } };
	static const struct {
		const struct stale_container	*c;
		size_t				 nc;
		const struct stale_running	*p;
		size_t				 np;
		enum stale_verdict		 v;
		const char			*running, *current, *why;
	} t[] = {
		{ cur1, 1, run1, 2, STALE_UP_TO_DATE, "111111111111",
		  "111111111111", "every pod" },
		{ cur2, 1, run1, 2, STALE_STALE, "111111111111", "222222222222",
		  "pod p1 (container worker) runs 111111111111" },
		{ cur2, 1, run12, 2, STALE_STALE, "111111111111",
		  "222222222222", "pod p1" },
		{ cur1, 1, run12, 2, STALE_STALE, "222222222222",
		  "111111111111", "pod p2" },
		{ unk, 1, run1, 2, STALE_UNKNOWN, "111111111111", "-",
		  "container worker: a 404" },
		{ mixed, 2, run1, 2, STALE_UNKNOWN, "222222222222", "-",
		  "container side: external" },
		{ mixed2, 2, run1, 2, STALE_STALE, "111111111111",
		  "222222222222", "pod p1" },
		{ cur1, 1, empty, 1, STALE_UNKNOWN, "-", "111111111111",
		  "no running pod" },
		{ cur1, 1, other, 1, STALE_UNKNOWN, "-", "111111111111",
		  "no running pod" },
		{ cur1, 1, NULL, 0, STALE_UNKNOWN, "-", "111111111111",
		  "no running pod" },
		{ NULL, 0, NULL, 0, STALE_UNKNOWN, "-", "-", "no running pod" },
		{ unk, 1, empty, 1, STALE_UNKNOWN, "-", "-", "a 404" },
	};
	struct stale_result	res;
	size_t			i;

	(void)state;
	for (i = 0; i < sizeof t / sizeof t[0]; i++) {
		assert_int_equal(stale_decide(t[i].c, t[i].nc, t[i].p, t[i].np,
		    &res), t[i].v);
		assert_int_equal(res.verdict, t[i].v);
		assert_string_equal(res.running, t[i].running);
		assert_string_equal(res.current, t[i].current);
		if (strstr(res.why, t[i].why) == NULL)
			fail_msg("case %zu: \"%s\" lacks \"%s\"", i, res.why,
			    t[i].why);
	}
}

static void
test_rolls(void **state)
{
	static const struct {
		enum stale_verdict	v;
		int			unknown_roll, rolls;
		const char		*name;
	} t[] = {
		{ STALE_UP_TO_DATE, 0, 0, "up to date" },
		{ STALE_UP_TO_DATE, 1, 0, "up to date" },
		{ STALE_STALE, 0, 1, "stale" },
		{ STALE_STALE, 1, 1, "stale" },
		{ STALE_UNKNOWN, 0, 0, "unknown" },
		{ STALE_UNKNOWN, 1, 1, "unknown" },
	};
	size_t	i;

	(void)state;
	for (i = 0; i < sizeof t / sizeof t[0]; i++) {
		assert_int_equal(stale_rolls(t[i].v, t[i].unknown_roll),
		    t[i].rolls);
		assert_string_equal(stale_verdict_name(t[i].v), t[i].name);
	}
	assert_string_equal(stale_verdict_name((enum stale_verdict)9), "?");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_triggers_parse),
		cmocka_unit_test(test_triggers_for),
		cmocka_unit_test(test_triggers_pause_all),
		cmocka_unit_test(test_image_ref_parse),
		cmocka_unit_test(test_image_digest),
		cmocka_unit_test(test_lookup_of),
		cmocka_unit_test(test_tag_digest),
		cmocka_unit_test(test_decide),
		cmocka_unit_test(test_rolls),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
