/*
 * fuzz_events.c -- libFuzzer target for cev_decode (include/events.h).
 *
 * Each input is tried twice: as the envelope itself (what arrives on the
 * celeryev channel), and as the event body, base64-encoded here into a
 * well-formed envelope so that mutations reach the event parser instead
 * of dying in the JSON or base64 of the envelope. Built by
 * tests/fuzz/run.sh; seeds in tests/fuzz/corpus/events.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "events.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

#define PRE	"{\"body\": \""
#define POST	"\", \"content-encoding\": \"utf-8\", \"content-type\": " \
		"\"application/json\", \"headers\": {}, \"properties\": " \
		"{\"delivery_mode\": 1, \"body_encoding\": \"base64\"}}"

static void
check(const char *env, size_t len)
{
	struct cev_batch b;
	char		 err[256];
	size_t		 i;

	err[0] = '\0';
	if (cev_decode(env, len, &b, err, sizeof err) == 0) {
		for (i = 0; i < b.n; i++) {
			const struct cev *e = &b.v[i];
			if (e->hostname == NULL)
				__builtin_trap();
			if (e->type >= CEV_TASK_RECEIVED &&
			    e->type <= CEV_TASK_RETRIED && e->uuid == NULL)
				__builtin_trap();
			if (e->type != CEV_WORKER_HEARTBEAT && e->active != -1)
				__builtin_trap();
			if (cev_task_final(e->type) && (e->type <
			    CEV_TASK_SUCCEEDED || e->type > CEV_TASK_RETRIED))
				__builtin_trap();
		}
		cev_batch_free(&b);
	} else {
		/* rejected: one non-empty line, nothing kept */
		if (err[0] == '\0' || b.v != NULL || b.n != 0)
			__builtin_trap();
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char	*env;
	size_t	 n;

	check((const char *)data, size);
	if (size > 1 << 16)
		return 0;
	env = malloc(sizeof PRE + 4 * ((size + 2) / 3) + sizeof POST);
	if (env == NULL)
		return 0;
	memcpy(env, PRE, sizeof PRE - 1);
	n = sizeof PRE - 1;
	n += (size_t)EVP_EncodeBlock((unsigned char *)env + n, data, (int)size);
	memcpy(env + n, POST, sizeof POST);
	n += sizeof POST - 1;
	check(env, n);
	free(env);
	return 0;
}
