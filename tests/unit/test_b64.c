/*
 * test_b64.c -- b64_decode: valid input, whitespace, and everything
 * EVP_DecodeBlock alone would let through.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <openssl/evp.h>

#include "b64.h"

/* Decodes s and checks the result is exactly want (wantlen bytes). */
static void
assert_decodes(const char *s, size_t slen, const char *want, size_t wantlen)
{
	char	*out;
	size_t	 len = (size_t)-1;

	out = b64_decode(s, slen, &len);
	assert_non_null(out);
	assert_int_equal(len, wantlen);
	assert_memory_equal(out, want, wantlen);
	assert_int_equal(out[len], '\0');
	free(out);
}

static void
assert_rejects(const char *s, size_t slen)
{
	size_t	len = 12345;

	assert_null(b64_decode(s, slen, &len));
	assert_int_equal(len, 12345);
}

#define DECODES(s, w)	assert_decodes((s), strlen(s), (w), strlen(w))
#define REJECTS(s)	assert_rejects((s), strlen(s))

static void
test_valid(void **state)
{
	(void)state;
	DECODES("QUJD", "ABC");
	DECODES("QUI=", "AB");
	DECODES("QQ==", "A");
	DECODES("aGVsbG8sIHdvcmxk", "hello, world");
	DECODES("c2hhMjU2fmFiYysvPT0=", "sha256~abc+/==");
	DECODES("+/+/", "\xfb\xff\xbf");
}

static void
test_binary_roundtrip(void **state)
{
	unsigned char	 raw[256], enc[4 * sizeof(raw) / 3 + 8];
	char		*out;
	size_t		 i, n, len;

	(void)state;
	for (i = 0; i < sizeof(raw); i++)
		raw[i] = (unsigned char)(255 - i);
	/* Every length mod 3, so every padding case, including NULs. */
	for (n = 0; n <= sizeof(raw); n += 37) {
		EVP_EncodeBlock(enc, raw, (int)n);
		out = b64_decode((char *)enc, strlen((char *)enc), &len);
		assert_non_null(out);
		assert_int_equal(len, n);
		assert_memory_equal(out, raw, n);
		free(out);
	}
}

static void
test_whitespace(void **state)
{
	(void)state;
	DECODES("QU\nJD", "ABC");
	DECODES(" \tQUJD\r\n", "ABC");
	DECODES("aGVs\nbG8s\r\nIHdv\vcmxk\f", "hello, world");
	DECODES("Q Q = =", "A");
	/* PEM-style wrapped input, as in a .crt file without armour. */
	DECODES("aGVsbG8sIHdv\n"
	    "cmxkIQ==\n", "hello, world!");
}

static void
test_invalid_chars(void **state)
{
	(void)state;
	REJECTS("QUJ*");
	REJECTS("QUJ-");
	REJECTS("QUJ_");	/* URL-safe alphabet is not accepted */
	REJECTS("QUJ\xc3\xa9");
	REJECTS("QUJD.AAA");
	assert_rejects("QU\0D", 4);	/* NUL inside */
	/* EVP_DecodeBlock strips trailing '-' (PEM armour); we do not. */
	REJECTS("QUJD----");
	REJECTS("-----BEGIN CERTIFICATE-----");
}

static void
test_bad_padding(void **state)
{
	(void)state;
	REJECTS("Q===");
	REJECTS("====");
	REJECTS("QQ=A");	/* EVP_DecodeBlock takes '=' as a zero digit */
	REJECTS("A=BC");
	REJECTS("=QUJ");
	REJECTS("QQ==QQ==");	/* padding in the middle */
	REJECTS("QUJD=");
	REJECTS("QUJD==");
	REJECTS("QQ=");
}

static void
test_bad_length(void **state)
{
	(void)state;
	REJECTS("Q");
	REJECTS("QU");
	REJECTS("QUJ");
	REJECTS("QUJDR");
	REJECTS("QUJD QUJ");
}

static void
test_empty(void **state)
{
	char	*out;
	size_t	 len = 99;

	(void)state;
	out = b64_decode("", 0, &len);
	assert_non_null(out);
	assert_int_equal(len, 0);
	assert_string_equal(out, "");
	free(out);
	DECODES(" \n\t", "");
	assert_null(b64_decode(NULL, 0, &len));
}

static void
test_inlen_respected(void **state)
{
	char	*out;

	(void)state;
	/* Only the first inlen bytes count, the rest is not read. */
	assert_decodes("QUJDQUJD", 4, "ABC", 3);
	/* outlen may be NULL. */
	out = b64_decode("QUJD", 4, NULL);
	assert_non_null(out);
	assert_string_equal(out, "ABC");
	free(out);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_valid),
		cmocka_unit_test(test_binary_roundtrip),
		cmocka_unit_test(test_whitespace),
		cmocka_unit_test(test_invalid_chars),
		cmocka_unit_test(test_bad_padding),
		cmocka_unit_test(test_bad_length),
		cmocka_unit_test(test_empty),
		cmocka_unit_test(test_inlen_respected),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
