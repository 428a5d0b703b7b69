/*
 * fuzz_hold.c -- libFuzzer target for holds (include/hold.h).
 *
 * Each input is tried three ways: as an annotation's value, read by
 * hold_parse() (anyone who can annotate writes it); as --hold's reason and
 * holder, split at the first NUL byte, written by hold_value() (which must
 * refuse, never yield a value that removes or changes the hold, and
 * otherwise round-trip exactly); and as --until, read by hold_until_parse().
 * Built by tests/fuzz/run.sh; seeds in tests/fuzz/corpus/hold.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "hold.h"
#include "util.h"

#define NOW	1794995200.0	/* 2026-11-18T09:46:40Z */

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static void
check_parsed(const struct hold *h)
{
	char	*d;

	if (h->reason == NULL || strlen(h->reason) > 3 * HOLD_TEXT_MAX + 3 ||
	    utf8_valid(h->reason) != strlen(h->reason))
		__builtin_trap();
	if (h->by != NULL && (strlen(h->by) > 3 * HOLD_TEXT_MAX + 3 ||
	    utf8_valid(h->by) != strlen(h->by)))
		__builtin_trap();
	d = hold_describe(h);
	if (d == NULL || utf8_valid(d) != strlen(d))
		__builtin_trap();
	free(d);
}

/* The writer: a value only for text hold_text_check() takes, read back
 * as written. */
static void
check_written(const char *reason, const char *by)
{
	struct hold	 h;
	char		 err[256], *v;
	int		 ok;

	ok = hold_text_check("--reason", reason, err, sizeof err) == 0 &&
	    hold_text_check("by", by, err, sizeof err) == 0;
	v = hold_value(reason, by, NOW, NOW + 3600);
	if ((v != NULL) != ok)
		__builtin_trap();
	if (v == NULL)
		return;
	if (hold_parse(v, NOW, &h) != HOLD_ACTIVE || strcmp(h.reason,
	    reason) != 0 || h.by == NULL || strcmp(h.by, by) != 0 ||
	    h.since != NOW || h.until != NOW + 3600 || h.bad != NULL)
		__builtin_trap();
	hold_free(&h);
	free(v);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct hold	 h;
	char		*s = malloc(size + 1), err[256];
	const char	*by;
	double		 until;
	size_t		 n;
	int		 st;

	if (s == NULL)
		return 0;
	memcpy(s, data, size);
	s[size] = '\0';
	n = strlen(s);

	st = hold_parse(s, NOW, &h);
	if (st != HOLD_ACTIVE && st != HOLD_EXPIRED)
		__builtin_trap();
	check_parsed(&h);
	hold_free(&h);

	by = n < size ? s + n + 1 : "alice@ops1";
	check_written(s, by);

	err[0] = '\0';
	if (hold_until_parse(s, NOW, &until, err, sizeof err) == 0) {
		if (!(until > NOW))
			__builtin_trap();
	} else if (err[0] == '\0')
		__builtin_trap();
	free(s);
	return 0;
}
