/*
 * fuzz_kubeconfig.c -- libFuzzer target for kubeconfig_parse and, for an
 * input with a NUL byte, kubeconfig_merge of the two files it separates.
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

/* Two kubeconfig files, a then b, merged as $KUBECONFIG merges them. */
static void
two(const char *a, size_t alen, const char *b, size_t blen,
    const char *context)
{
	struct kubeconfig_doc *docs[2];
	struct kubeconfig_pick p;
	struct kube_creds c;
	char	err[256];

	docs[0] = kubeconfig_doc_parse(a, alen, "/nonexistent/a/kc", BASE "/a",
	    err, sizeof(err));
	docs[1] = kubeconfig_doc_parse(b, blen, "/nonexistent/b/kc", BASE "/b",
	    err, sizeof(err));
	if (docs[0] != NULL && docs[1] != NULL &&
	    kubeconfig_merge(docs, 2, context, &p, err, sizeof(err)) == 0) {
		if (p.context == NULL || p.cluster == NULL ||
		    p.context_doc > 1 || p.cluster_doc > 1 ||
		    (p.user != NULL && p.user_doc > 1))
			__builtin_trap();
		if (kubeconfig_creds(docs, 2, &p, &c, err, sizeof(err)) == 0)
			kubeconfig_free(&c);
	}
	kubeconfig_doc_free(docs[0]);
	kubeconfig_doc_free(docs[1]);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const uint8_t *nul = memchr(data, '\0', size);

	one(data, size, NULL);
	one(data, size, "c");
	if (nul != NULL) {
		two((const char *)data, (size_t)(nul - data),
		    (const char *)nul + 1, size - (size_t)(nul - data) - 1,
		    NULL);
		two((const char *)data, (size_t)(nul - data),
		    (const char *)nul + 1, size - (size_t)(nul - data) - 1,
		    "c");
	}
	return 0;
}
