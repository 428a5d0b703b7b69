/*
 * fuzz_sentinel.c -- libFuzzer target for the Sentinel URL list and the
 * round's decisions (include/sentinel.h).
 *
 * Each input is read by sentinel_parse() as --redis-url; a list it takes
 * must be sane (1 to SENTINEL_MAX sentinels, each with a host and a port,
 * a database >= 0), and every round over it (each sentinel failed,
 * unknown or not asked, from each first) must be decided and explained
 * within its buffer. Built by tests/fuzz/run.sh; seeds in
 * tests/fuzz/corpus/sentinel.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "sentinel.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct sentinel_list	 l;
	struct sentinel_round	 r;
	struct sentinel_step	 st;
	char			*url, err[512], buf[300];
	size_t			 i;

	url = malloc(size + 1);
	if (url == NULL)
		return 0;
	memcpy(url, data, size);
	url[size] = '\0';
	err[0] = '\0';
	switch (sentinel_parse(url, &l, err, sizeof err)) {
	case 0:
		break;
	case -1:
		if (err[0] == '\0')
			__builtin_trap();
		break;
	case 1:
		if (l.n == 0 || l.n > SENTINEL_MAX || l.db < 0)
			__builtin_trap();
		for (i = 0; i < l.n; i++)
			if (l.s[i].host[0] == '\0' || l.s[i].port < 1 ||
			    l.s[i].port > 65535 ||
			    strnlen(l.s[i].host, sizeof l.s[i].host) ==
			    sizeof l.s[i].host)
				__builtin_trap();
		memset(&r, 0, sizeof r);
		r.n = l.n;
		r.first = size % l.n;
		for (i = 0; i < l.n; i++) {
			r.said[i] = i < size ? (enum sentinel_said)(data[i] % 4) :
			    SENT_FAILED;
			if (r.said[i] == SENT_MASTER)
				r.said[i] = SENT_FAILED;
			strcpy(r.why[i], "Connection refused");
		}
		st = sentinel_next(&r);
		if (st.move == SENT_USE || (st.move == SENT_ASK &&
		    (st.ask >= l.n || r.said[st.ask] != SENT_NOT_ASKED)))
			__builtin_trap();
		sentinel_explain(&r, &l, url, buf, sizeof buf);
		if (strlen(buf) >= sizeof buf)
			__builtin_trap();
		break;
	default:
		__builtin_trap();
	}
	free(url);
	return 0;
}
