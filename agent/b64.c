/*
 * b64.c -- base64 by OpenSSL's EVP_EncodeBlock and EVP_DecodeBlock.
 *
 * EVP_DecodeBlock alone is too lenient: it treats '=' as a zero digit
 * anywhere, strips trailing '-' (PEM armour) and whitespace, and always
 * returns a multiple of 3. So we strip whitespace ourselves, insist on a
 * length that is a multiple of 4, on at most two '=' and only at the end,
 * and on every other character being a base64 digit; then OpenSSL decodes
 * and the padding tells the real length.
 */
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "b64.h"
#include "util.h"

static int
is_space(unsigned char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' ||
	    c == '\v' || c == '\f';
}

static int
is_digit64(unsigned char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
	    (c >= '0' && c <= '9') || c == '+' || c == '/';
}

/* Copy in without whitespace into a new buffer; *n gets its length. */
static char *
strip_space(const char *in, size_t inlen, size_t *n)
{
	char	*s;
	size_t	 i, j;

	if ((s = malloc(inlen + 1)) == NULL)
		return NULL;
	for (i = j = 0; i < inlen; i++)
		if (!is_space((unsigned char)in[i]))
			s[j++] = in[i];
	s[j] = '\0';
	*n = j;
	return s;
}

/* Number of '=' at the end of s, or -1 if s is not well-formed base64. */
static int
check_syntax(const char *s, size_t n)
{
	size_t	i, body;

	if (n % 4 != 0 || n > INT_MAX)
		return -1;
	body = n;
	while (body > 0 && s[body - 1] == '=')
		body--;
	if (n - body > 2)
		return -1;
	for (i = 0; i < body; i++)
		if (!is_digit64((unsigned char)s[i]))
			return -1;
	return (int)(n - body);
}

char *
b64_decode(const char *in, size_t inlen, size_t *outlen)
{
	char	*s, *out;
	size_t	 n, want;
	int	 pad, got;

	if (in == NULL || (s = strip_space(in, inlen, &n)) == NULL)
		return NULL;
	if ((pad = check_syntax(s, n)) < 0) {
		free(s);
		return NULL;
	}
	want = n / 4 * 3;
	if ((out = malloc(want + 1)) == NULL) {
		free(s);
		return NULL;
	}
	got = EVP_DecodeBlock((unsigned char *)out, (unsigned char *)s,
	    (int)n);
	free(s);
	if (got < 0 || (size_t)got != want) {
		free(out);
		return NULL;
	}
	want -= (size_t)pad;
	out[want] = '\0';
	if (outlen != NULL)
		*outlen = want;
	return out;
}

char *
b64_encode(const char *in, size_t len)
{
	char	*out = xmalloc(4 * ((len + 2) / 3) + 1);

	EVP_EncodeBlock((unsigned char *)out, (const unsigned char *)in,
	    (int)len);
	return out;
}
