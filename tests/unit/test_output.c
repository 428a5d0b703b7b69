/*
 * test_output.c -- what output may show (issue 9): URLs reduced to scheme,
 * host, port and path (http_url_shown), text cut between UTF-8 characters
 * and cleaned of bytes that are not UTF-8 (utf8_prefix, utf8_clean), and
 * Prometheus label values escaped (prom_label_escape).
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

#include "http.h"
#include "util.h"

static void
assert_shown(const char *url, const char *want)
{
	char	*s = http_url_shown(url);

	if (strcmp(s, want) != 0)
		fail_msg("http_url_shown(\"%s\") = \"%s\", want \"%s\"", url, s,
		    want);
	free(s);
}

static void
test_url_shown(void **state)
{
	(void)state;
	assert_shown("http://127.0.0.1:5555", "http://127.0.0.1:5555");
	assert_shown("http://127.0.0.1:5555/", "http://127.0.0.1:5555");
	assert_shown("https://flower.example/flower/",
	    "https://flower.example/flower/");
	assert_shown("http://ops:s3cret@flower:5555/x", "http://flower:5555/x");
	assert_shown("http://ops@flower:5555", "http://flower:5555");
	assert_shown("https://hooks.example/hooks/abc?token=T0K#frag",
	    "https://hooks.example/hooks/abc");
	assert_shown("https://[::1]:6443/k8s/clusters/c-1",
	    "https://[::1]:6443/k8s/clusters/c-1");
	assert_shown("redis://:pw@127.0.0.1:6379/0", "redis://127.0.0.1:6379/0");
	assert_shown("HTTP://Flower:5555", "http://Flower:5555");
	/* what cannot be parsed is not shown at all */
	assert_shown("http://us er:pw@", "(an invalid URL)");
	assert_shown("", "(an invalid URL)");
}

static void
test_utf8_prefix(void **state)
{
	/* U+8B66 is 3 bytes, U+00E9 2, U+1F600 4 */
	const char	*s = "ab\xe8\xad\xa6\xc3\xa9\xf0\x9f\x98\x80";

	(void)state;
	assert_int_equal(utf8_prefix(s, 100), strlen(s));
	assert_int_equal(utf8_prefix(s, 2), 2);
	assert_int_equal(utf8_prefix(s, 3), 2);	/* not inside U+8B66 */
	assert_int_equal(utf8_prefix(s, 4), 2);
	assert_int_equal(utf8_prefix(s, 5), 5);
	assert_int_equal(utf8_prefix(s, 6), 5);
	assert_int_equal(utf8_prefix(s, 7), 7);
	assert_int_equal(utf8_prefix(s, 10), 7);
	assert_int_equal(utf8_prefix(s, 11), 11);
	assert_int_equal(utf8_prefix(s, 0), 0);
	/* a byte that is not UTF-8 is not a cut: it stays (for utf8_clean) */
	assert_int_equal(utf8_prefix("a\xff" "b", 2), 2);
	assert_int_equal(utf8_prefix("a\xe9", 2), 2);	/* Latin-1 e-acute */
}

/* utf8_valid(): where the well-formed UTF-8 ends. */
static void
test_utf8_valid(void **state)
{
	static const struct {
		const char	*s;
		size_t		 want;
	} t[] = {
		{ "", 0 },
		{ "caf\xc3\xa9", 5 },				/* all of it */
		{ "ab\xe8\xad\xa6\xf0\x9f\x98\x80", 9 },
		{ "caf\xe9", 3 },				/* Latin-1 */
		{ "caf\xe9x", 3 },
		{ "\xff", 0 },
		{ "a\xc3", 1 },				/* cut */
		{ "a\xc0\xaf", 1 },				/* overlong */
		{ "a\xed\xa0\x80", 1 },			/* surrogate */
		{ "a\xf4\x90\x80\x80", 1 },		/* > U+10FFFF */
		{ "a\x80", 1 },				/* lone continuation */
	};
	size_t	i;

	(void)state;
	for (i = 0; i < sizeof t / sizeof t[0]; i++)
		assert_int_equal(utf8_valid(t[i].s), t[i].want);
}

static void
assert_clean(const char *in, const char *want)
{
	char	*s = utf8_clean(in);
	json_t	*j = json_string(s);

	if (strcmp(s, want) != 0)
		fail_msg("utf8_clean(\"%s\") = \"%s\", want \"%s\"", in, s, want);
	assert_non_null(j);		/* jansson takes it */
	json_decref(j);
	free(s);
}

static void
test_utf8_clean(void **state)
{
	char	 body[600], msg[200], cut[40], *s;
	size_t	 i, n;
	json_t	*j;

	(void)state;
	assert_clean("plain", "plain");
	assert_clean("caf\xc3\xa9 \xe8\xad\xa6", "caf\xc3\xa9 \xe8\xad\xa6");
	assert_clean("\xe9" "chec", "\xef\xbf\xbd" "chec");	/* Latin-1 */
	assert_clean("ab\xe8\xad", "ab\xef\xbf\xbd\xef\xbf\xbd");	/* cut */
	assert_clean("\xc0\xaf", "\xef\xbf\xbd\xef\xbf\xbd");	/* overlong */
	assert_clean("\xed\xa0\x80", "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd");
	assert_clean("\xf4\x90\x80\x80", "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd"
	    "\xef\xbf\xbd");			/* above U+10FFFF */
	assert_clean("\xf0\x9f\x98\x80", "\xf0\x9f\x98\x80");
	assert_clean("", "");

	/* an error body of 3-byte characters, cut at 160 bytes as Flower's is */
	for (i = 0; i + 3 < sizeof body; i += 3)
		memcpy(body + i, "\xe8\xad\xa6", 3);
	body[i] = '\0';
	n = utf8_prefix(body, 160);
	assert_int_equal(n, 159);
	snprintf(msg, sizeof msg, "HTTP 500: %.*s", (int)n, body);
	j = json_string(msg);
	assert_non_null(j);
	json_decref(j);
	/* and cut anywhere, cleaned, jansson takes it */
	for (n = 0; n < 30; n++) {
		memcpy(cut, body, n);
		cut[n] = '\0';
		s = utf8_clean(cut);
		j = json_string(s);
		assert_non_null(j);
		json_decref(j);
		free(s);
	}
}

static void
test_utf8_excerpt(void **state)
{
	char	body[400], *s;
	size_t	i;

	(void)state;
	for (i = 0; i + 3 < sizeof body; i += 3)
		memcpy(body + i, "\xe8\xad\xa6", 3);
	body[i] = '\0';
	s = utf8_excerpt(body, 160);		/* 53 characters, not 53 and 1/3 */
	assert_int_equal(strlen(s), 159);
	assert_string_equal(s + 156, "\xe8\xad\xa6");
	free(s);
	s = utf8_excerpt("\xe9" "chec\r\nline two", 160);	/* Latin-1 */
	assert_string_equal(s, "\xef\xbf\xbd" "chec");
	free(s);
	s = utf8_excerpt("", 160);
	assert_string_equal(s, "");
	free(s);
}

static void
test_utf8_cap(void **state)
{
	char	*big = xmalloc(100001), *s;

	(void)state;
	memset(big, 'a', 100000);
	big[100000] = '\0';
	big[99] = '\xe8';	/* a 3-byte character cut at 100 */
	big[100] = '\xad';
	big[101] = '\xa6';
	s = utf8_cap(big, 100);
	assert_int_equal(strlen(s), 99 + 3);
	assert_string_equal(s + 99, "...");
	free(s);
	s = utf8_cap(big, 102);		/* the character fits */
	assert_int_equal(strlen(s), 102 + 3);
	assert_string_equal(s + 99, "\xe8\xad\xa6...");
	free(s);
	s = utf8_cap("short \xe9t\xe9", 100);	/* Latin-1: cleaned, not cut */
	assert_string_equal(s, "short \xef\xbf\xbdt\xef\xbf\xbd");
	free(s);
	s = utf8_cap("exactly10!", 10);
	assert_string_equal(s, "exactly10!");
	free(s);
	s = utf8_cap("", 0);
	assert_string_equal(s, "");
	free(s);
	free(big);
}

static void
assert_label(const char *in, const char *want)
{
	char	*s = prom_label_escape(in);

	assert_string_equal(s, want);
	free(s);
}

static void
test_prom_label_escape(void **state)
{
	(void)state;
	assert_label("ecal-bulk", "ecal-bulk");
	assert_label("a\"}b", "a\\\"}b");
	assert_label("a\\b", "a\\\\b");
	assert_label("x\"} 1\nevil_metric 2", "x\\\"} 1\\nevil_metric 2");
	assert_label("", "");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_url_shown),
		cmocka_unit_test(test_utf8_prefix),
		cmocka_unit_test(test_utf8_valid),
		cmocka_unit_test(test_utf8_clean),
		cmocka_unit_test(test_utf8_excerpt),
		cmocka_unit_test(test_utf8_cap),
		cmocka_unit_test(test_prom_label_escape),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
