/*
 * kubeconfig.h -- where the Kubernetes API is and how to authenticate to it.
 *
 * Resolves credentials the way oc/kubectl do:
 *   1. an explicit --kubeconfig path, else $KUBECONFIG (first existing entry
 *      of a ':'-separated list), else ~/.kube/config;
 *   2. if no kubeconfig file exists and KUBERNETES_SERVICE_HOST is set, the
 *      in-cluster service account under /var/run/secrets/kubernetes.io/
 *      serviceaccount/ (token, ca.crt, namespace); the directory can be
 *      overridden for tests with $DRAIN_SERVICEACCOUNT_DIR.
 * In a kubeconfig: current-context (or --context) -> context (cluster, user,
 * namespace) -> cluster (server, certificate-authority[-data],
 * insecure-skip-tls-verify) and user (token, tokenFile, client-certificate
 * [-data], client-key[-data]). Relative file paths are resolved against the
 * kubeconfig's directory. "-data" fields are base64 and are decoded here
 * (OpenSSL's EVP_DecodeBlock, not a hand-written decoder) into PEM bytes.
 *
 * Pure parsing (kubeconfig_parse) is separate from file/env lookup
 * (kubeconfig_load) so it can be unit-tested on strings.
 *
 * Details (agent/kubeconfig.c):
 *   - server must be http:// or https://; the scheme is lowercased and
 *     trailing '/' removed.
 *   - a "-data" field wins over its path twin: only one of ca_file/ca_pem
 *     (cert_file/cert_pem, key_file/key_pem) is ever set.
 *   - token wins over tokenFile; a tokenFile is read by kubeconfig_parse
 *     itself (relative to base_dir), trailing newline trimmed. Tokens with
 *     control characters are refused (they would split the HTTP header).
 *   - a context without a user gives no credentials (anonymous); a user
 *     with only exec/auth-provider (credential plugins) or basic auth is an
 *     error that says to use a token (oc whoami -t).
 *   - insecure-skip-tls-verify takes YAML 1.1 booleans (true/false/yes/no/
 *     on/off, any case).
 *   - files (kubeconfig, tokenFile, service account files) are capped at
 *     1 MiB. Error messages never contain the token or key; names from the
 *     file are quoted, control characters shown as '?'.
 *   - in-cluster: ca_file is set only if DIR/ca.crt exists, namespace only
 *     if DIR/namespace exists; a --context with no kubeconfig is an error.
 */
#ifndef KUBECONFIG_H
#define KUBECONFIG_H

#include <stddef.h>

struct kube_creds {
	char	*server;	/* "https://host:port", no trailing slash */
	char	*namespace;	/* context's namespace, NULL if none */
	char	*context;	/* context name used, NULL in-cluster */
	char	*ca_file;	/* path to CA bundle, or NULL */
	char	*ca_pem;	/* CA bytes (from -data), or NULL */
	size_t	 ca_pem_len;
	int	 insecure;	/* insecure-skip-tls-verify: true */
	char	*token;		/* bearer token (secret: never log it) */
	char	*cert_file;	/* client certificate path, or NULL */
	char	*cert_pem;	/* client certificate bytes, or NULL */
	size_t	 cert_pem_len;
	char	*key_file;	/* client key path, or NULL */
	char	*key_pem;	/* client key bytes (secret), or NULL */
	size_t	 key_pem_len;
	char	*source;	/* "kubeconfig /path" or "in-cluster service account" */
};

/*
 * Parse kubeconfig YAML text. base_dir resolves relative paths (may be NULL).
 * context: the context to use, or NULL for current-context.
 * On success returns 0 and fills *out. On failure returns -1 and writes a
 * one-line reason (naming the field at fault and, for YAML errors, the line)
 * into err (errlen bytes), leaving *out zeroed.
 */
int	kubeconfig_parse(const char *yaml, size_t len, const char *base_dir,
	    const char *context, struct kube_creds *out, char *err, size_t errlen);

/*
 * Find and load credentials as described above. path: explicit
 * --kubeconfig or NULL. Reads token files (tokenFile, in-cluster token) into
 * memory. Same error convention as kubeconfig_parse; errors name the file.
 */
int	kubeconfig_load(const char *path, const char *context,
	    struct kube_creds *out, char *err, size_t errlen);

void	kubeconfig_free(struct kube_creds *);

#endif
