/*
 * fuzz_kubeconfig.c -- libFuzzer target for kubeconfig_parse.
 *
 *   clang -g -O1 -fsanitize=fuzzer,address,undefined -Iinclude \
 *       $(pkg-config --cflags yaml-0.1) tests/fuzz/fuzz_kubeconfig.c \
 *       agent/kubeconfig.c agent/b64.c \
 *       $(pkg-config --libs yaml-0.1 libcrypto)
 *   ./a.out tests/fuzz/corpus/kubeconfig
 *
 * Relative paths (tokenFile) resolve under a directory that does not
 * exist, so the fuzzer never reads the working directory.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "kubeconfig.h"

#define BASE	"/nonexistent/fuzz-kubeconfig"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static void
one(const uint8_t *data, size_t size, const char *context)
{
	struct kube_creds c;
	char	err[256];

	if (kubeconfig_parse((const char *)data, size, BASE, context, &c, err,
	    sizeof(err)) == 0) {
		if (c.server == NULL || strncmp(c.server, "http", 4) != 0)
			__builtin_trap();
		kubeconfig_free(&c);
	} else if (err[0] == '\0' || strchr(err, '\n') != NULL)
		__builtin_trap();	/* errors are one non-empty line */
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	one(data, size, NULL);
	one(data, size, "c");
	return 0;
}
