/*
 * test_flower.c -- flower_classify() (include/flower.h) on every captured
 * error answer of Flower 2.0.1, 2.1.0 and 1.2.0, and on the answers that
 * look like them.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "flower.h"
#include "slurp.h"

#ifndef FIXTURES
#error "FIXTURES (the shared fixtures directory) must be defined"
#endif
#define FLOWER	FIXTURES "/flower/"

/*
 * The n-th (from 0) HTTP answer of a capture file: "# comment" lines, then
 * "HTTP/1.1 NNN Reason", headers, a blank line and the body (up to the next
 * comment line, its last newline dropped). The body is malloc'ed.
 */
static char *
capture(const char *file, int nth, long *status, size_t *blen)
{
	size_t	 len;
	char	*text = slurp(file, &len), *p = text, *body, *end, *out;
	int	 i = -1;

	while (p != NULL && *p != '\0') {
		if (strncmp(p, "HTTP/1.1 ", 9) == 0 && ++i == nth)
			break;
		p = strchr(p, '\n');
		if (p != NULL)
			p++;
	}
	if (p == NULL || *p == '\0')
		fail_msg("%s: no answer %d", file, nth);
	*status = strtol(p + 9, NULL, 10);
	body = strstr(p, "\n\n");
	if (body == NULL)
		fail_msg("%s: answer %d has no body separator", file, nth);
	body += 2;
	end = strstr(body, "\n#");
	if (end == NULL)
		end = body + strlen(body);
	while (end > body && end[-1] == '\n')
		end--;
	*blen = (size_t)(end - body);
	out = malloc(*blen + 1);
	assert_non_null(out);
	memcpy(out, body, *blen);
	out[*blen] = '\0';
	free(text);
	return out;
}

static void
assert_class(const char *file, int nth, enum flower_err want,
    const char **words)
{
	long		 status;
	size_t		 len;
	char		*body = capture(file, nth, &status, &len), err[512] = "";
	enum flower_err	 e;

	e = flower_classify("http://f:5555", "cancelling consumer of q1 on "
	    "w1@pod1", status, body, len, err, sizeof err);
	if (e != want)
		fail_msg("%s #%d (HTTP %ld): class %d, want %d: %s", file, nth,
		    status, e, want, err);
	for (; *words != NULL; words++)
		if (strstr(err, *words) == NULL)
			fail_msg("%s #%d: \"%s\" lacks \"%s\"", file, nth, err,
			    *words);
	assert_non_null(strstr(err, "http://f:5555"));
	assert_non_null(strstr(err, "w1@pod1"));
	free(body);
}

static void
test_classify_captured_errors(void **state)
{
	static const char *noapi[] = { "HTTP 405", "api is not available when "
	    "auth is enabled", "Flower 1.x", "upgrade Flower", "--control "
	    "broker", NULL };
	static const char *readonly[] = { "HTTP 403", "Read only mode is "
	    "enabled", "--read-only", "--control broker", NULL };
	static const char *unauth_api[] = { "HTTP 401",
	    "FLOWER_UNAUTHENTICATED_API=true", "no authentication configured",
	    NULL };
	static const char *creds[] = { "HTTP 401", "--flower-user",
	    "--flower-password-file", NULL };
	static const char *unknown[] = { "HTTP 404", "Unknown worker", NULL };
	long		 status;
	size_t		 len;
	char		*body, err[512];

	(void)state;
	assert_class(FLOWER "v1.2.0/api_with_auth_405.txt", 0, FLOWER_ENOAPI,
	    noapi);
	assert_class(FLOWER "v2.1.0/POST_cancel_consumer_read_only_403.txt", 0,
	    FLOWER_EREADONLY, readonly);
	assert_class(FLOWER "v2.1.0/POST_add_consumer_read_only_403.txt", 0,
	    FLOWER_EREADONLY, readonly);
	/* 2.0.1 with basic auth, no credentials: empty body */
	assert_class(FLOWER "auth_401.txt", 0, FLOWER_EAUTH, creds);
	/* 2.0.1 with no auth and no FLOWER_UNAUTHENTICATED_API */
	assert_class(FLOWER "auth_401.txt", 1, FLOWER_EAUTH, unauth_api);
	assert_class(FLOWER "v2.1.0/auth_401.txt", 0, FLOWER_EAUTH, creds);
	/* credentials would not help when Flower has no auth at all */
	body = capture(FLOWER "auth_401.txt", 1, &status, &len);
	flower_classify("u", "w", status, body, len, err, sizeof err);
	assert_null(strstr(err, "check them"));
	free(body);
	/* the 404 capture is a bare body */
	body = slurp(FLOWER "POST_cancel_consumer_404.txt", &len);
	assert_int_equal(flower_classify("http://f:5555", "w1@pod1", 404, body,
	    len, err, sizeof err), FLOWER_EUNKNOWN);
	for (const char **w = unknown; *w != NULL; w++)
		assert_non_null(strstr(err, *w));
	free(body);
}

/* The 200s of 1.2.0 and the look-alikes that are not those answers. */
static void
test_classify_other_answers(void **state)
{
	long		 status;
	size_t		 len;
	char		*body, err[512] = "";
	const char	*offline = "Failed to cancel 'ecal-bulk' consumer from "
			    "'ecal-bulk@x' worker: Unknown reason";

	(void)state;
	body = capture(FLOWER "v1.2.0/POST_cancel_consumer_200.txt", 0,
	    &status, &len);
	assert_int_equal(status, 200);
	assert_int_equal(flower_classify("u", "w", status, body, len, err,
	    sizeof err), FLOWER_OK);
	free(body);
	body = capture(FLOWER "v1.2.0/POST_add_consumer_200.txt", 0, &status,
	    &len);
	assert_int_equal(flower_classify("u", "w", status, body, len, err,
	    sizeof err), FLOWER_OK);
	free(body);
	/* 403 of an offline worker (2.0.1): the worker, not read-only */
	assert_int_equal(flower_classify("u", "w", 403, offline,
	    strlen(offline), err, sizeof err), FLOWER_ENOREPLY);
	assert_non_null(strstr(err, "did not answer"));
	/* a 405 without Flower 1.x's text is just unexpected */
	assert_int_equal(flower_classify("u", "w", 405, "", 0, err,
	    sizeof err), FLOWER_EBAD);
	assert_int_equal(flower_classify("u", "w", 502, "bad gateway", 11, err,
	    sizeof err), FLOWER_EDOWN);
	/* a body without NUL within len is read only up to len */
	assert_int_equal(flower_classify("u", "w", 403, "Read only mode is "
	    "enabledXXXX", 25, err, sizeof err), FLOWER_EREADONLY);
	assert_int_equal(flower_classify("u", "w", 403, "Read only", 9, err,
	    sizeof err), FLOWER_ENOREPLY);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_classify_captured_errors),
		cmocka_unit_test(test_classify_other_answers),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
