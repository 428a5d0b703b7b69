/*
 * kubeconfig.h -- where the Kubernetes API is and how to authenticate to it.
 *
 * Resolves credentials the way oc/kubectl do (client-go's loading rules):
 *   1. an explicit --kubeconfig file, which must exist; else the files of
 *      $KUBECONFIG (':'-separated, empty entries ignored, each once),
 *      those that do not exist skipped, none existing an error (never
 *      ~/.kube/config); else ~/.kube/config ($HOME, else the password
 *      database's home directory);
 *   2. several files are merged (kubeconfig_merge);
 *   3. if no kubeconfig file exists, KUBECONFIG is not set and
 *      KUBERNETES_SERVICE_HOST is, the in-cluster service account under
 *      /var/run/secrets/kubernetes.io/serviceaccount/ (token, ca.crt,
 *      namespace); the directory can be overridden for tests with
 *      $DRAIN_SERVICEACCOUNT_DIR.
 * In a kubeconfig: current-context (or --context) -> context (cluster, user,
 * namespace) -> cluster (server, certificate-authority[-data],
 * insecure-skip-tls-verify, tls-server-name, proxy-url) and user (token,
 * tokenFile, client-certificate[-data], client-key[-data], exec). Relative
 * file paths are resolved against the directory of the file that defined
 * the cluster or user (kubeconfig_resolve). "-data" fields are base64 and
 * are decoded here (OpenSSL's EVP_DecodeBlock, not a hand-written decoder)
 * into PEM bytes.
 *
 * Pure parsing (kubeconfig_doc_parse, kubeconfig_merge, kubeconfig_creds,
 * kubeconfig_parse) is separate from file/env lookup (kubeconfig_load) so
 * it can be unit-tested on strings.
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
 *     with only auth-provider (removed from kubectl 1.26) or basic auth is
 *     an error that says what to use instead.
 *   - exec (a client-go credential plugin, run by execcred.h) is used only
 *     when the user has no token and no client certificate, as kubectl
 *     skips the plugin when a token is set. A command with a '/' is a path
 *     relative to the kubeconfig's directory (as client-go resolves it);
 *     argv[0] stays as written. Validated as kubectl does:
 *     command and apiVersion required, apiVersion
 *     client.authentication.k8s.io/v1 or v1beta1, every env entry has a
 *     name, interactiveMode Never, IfAvailable or Always (v1beta1 defaults
 *     to IfAvailable, v1 requires it), provideClusterInfo a boolean.
 *   - with provideClusterInfo, the cluster's extensions[] entry named
 *     client.authentication.k8s.io/exec is converted to JSON as kubectl
 *     converts a kubeconfig (libyaml's nodes into jansson; plain scalars
 *     resolved as go-yaml v2 does: null, YAML 1.1 booleans, integers with
 *     0x/0o/0b/0 prefixes and '_', floats; quoted ones stay strings;
 *     aliases followed, at most 64 levels and 10000 values; .inf, .nan,
 *     merge keys and null or non-scalar keys refused) and is sent as
 *     spec.cluster.config. An extension malformed so is an error only
 *     with provideClusterInfo; extensions that are not a list of mappings
 *     always are.
 *   - insecure-skip-tls-verify and provideClusterInfo take YAML 1.1
 *     booleans (true/false/yes/no/on/off, any case).
 *     insecure-skip-tls-verify: true together with a certificate-authority
 *     [-data] is refused with kubectl's words ("specifying a root
 *     certificates file with the insecure flag is not allowed").
 *   - tls-server-name: a DNS name or IP address ([A-Za-z0-9.-]); the
 *     server's certificate is verified against it (see kube.h for how).
 *   - proxy-url: http://, https:// or socks5:// with a host, as kubectl
 *     accepts; anything else is refused with kubectl's words.
 *   - files (kubeconfig, tokenFile, service account files) are capped at
 *     1 MiB. Error messages never contain the token or key; names from the
 *     file are quoted, control characters shown as '?'.
 *   - in-cluster: ca_file is set only if DIR/ca.crt exists, namespace only
 *     if DIR/namespace exists; a --context with no kubeconfig is an error.
 *   - a file is refused whole, as kubectl refuses it, when clusters,
 *     contexts or users is not a list of mappings, an entry's body is not a
 *     mapping, a name is not a string or is there twice, or current-context
 *     is not a string; its other entries need not be valid until used.
 */
#ifndef KUBECONFIG_H
#define KUBECONFIG_H

#include <stddef.h>

struct json_t;

enum kube_exec_mode {
	KUBE_EXEC_NEVER,	/* no terminal: stdin is /dev/null */
	KUBE_EXEC_IFAVAILABLE,	/* stdin is the user's if it is a terminal */
	KUBE_EXEC_ALWAYS,	/* stdin must be a terminal, else an error */
};

/* users[].user.exec: a client-go credential plugin. */
struct kube_exec {
	char	*api_version;	/* client.authentication.k8s.io/v1[beta1] */
	char	*command;	/* run without a shell, looked up in $PATH */
	char	**argv;		/* command, args..., NULL */
	char	**env;		/* "NAME=value" from env[], NULL-terminated */
	char	*install_hint;	/* shown when command is not found, or NULL */
	int	 provide_cluster_info;
	/* with provide_cluster_info: the cluster's extension named
	 * client.authentication.k8s.io/exec as JSON, or NULL */
	struct json_t *cluster_config;
	enum kube_exec_mode mode;
};

/* A credential an exec plugin returned (ExecCredential status). */
struct kube_exec_cred {
	char	*token;		/* secret, or NULL */
	char	*cert_pem;	/* clientCertificateData (PEM), or NULL */
	size_t	 cert_pem_len;
	char	*key_pem;	/* clientKeyData (PEM, secret), or NULL */
	size_t	 key_pem_len;
	double	 expires;	/* expirationTimestamp, epoch s; 0: never */
};

struct kube_creds {
	char	*server;	/* "https://host:port", no trailing slash */
	char	*namespace;	/* context's namespace, NULL if none */
	char	*context;	/* context name used, NULL in-cluster */
	char	*cluster;	/* its cluster's name, NULL in-cluster */
	char	*ca_file;	/* path to CA bundle, or NULL */
	char	*ca_pem;	/* CA bytes (from -data), or NULL */
	size_t	 ca_pem_len;
	int	 insecure;	/* insecure-skip-tls-verify: true */
	char	*tls_server_name; /* verify the server as this name, or NULL */
	char	*proxy_url;	/* proxy-url as written, or NULL */
	char	*token;		/* bearer token (secret: never log it) */
	char	*cert_file;	/* client certificate path, or NULL */
	char	*cert_pem;	/* client certificate bytes, or NULL */
	size_t	 cert_pem_len;
	char	*key_file;	/* client key path, or NULL */
	char	*key_pem;	/* client key bytes (secret), or NULL */
	size_t	 key_pem_len;
	struct kube_exec *exec;	/* credential plugin, or NULL */
	char	*user;		/* the kubeconfig user's name, or NULL */
	/* "kubeconfig /path[, /path2...]" (the files that gave the context,
	 * cluster and user) or "in-cluster service account" */
	char	*source;
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

/* One kubeconfig file, parsed (libyaml's document) and its shape checked. */
struct kubeconfig_doc;

/*
 * Parse the YAML text of the kubeconfig file path (NULL: not a file; then
 * errors name no file) whose relative paths resolve against base_dir (may
 * be NULL: left as written). NULL with a one-line reason in err.
 */
struct kubeconfig_doc *kubeconfig_doc_parse(const char *yaml, size_t len,
	    const char *path, const char *base_dir, char *err, size_t errlen);
void	kubeconfig_doc_free(struct kubeconfig_doc *);

/*
 * What the merge of several kubeconfig files gives for the one context
 * used. Strings point into the documents; *_doc index the document.
 */
struct kubeconfig_pick {
	const char *context;	/* the context used */
	const char *cluster;	/* its cluster */
	const char *user;	/* its user, or NULL: anonymous */
	const char *namespace;	/* its namespace, or NULL */
	size_t	 context_doc, cluster_doc, user_doc;
};

/*
 * Merge docs[0..n) (n >= 1, in KUBECONFIG's order) as client-go merges
 * them and pick what context (or, if NULL, the merged current-context)
 * uses: current-context is the first non-empty one; a context, cluster or
 * user is the first document's that has an entry of that name (a later
 * entry of the same name is ignored whole, even its other fields). Fails,
 * with *p zeroed, if no context is named or the context, its cluster or its
 * user is not found (a context not found lists the contexts there are, at
 * most 12), or the context has no cluster or a field that is not a string;
 * errors name the file at fault ("kubeconfig PATH: ", or all the files
 * when it is the merge's: "kubeconfigs A, B: ").
 */
int	kubeconfig_merge(struct kubeconfig_doc *const *docs, size_t n,
	    const char *context, struct kubeconfig_pick *p, char *err,
	    size_t errlen);

/*
 * The credentials p picked: the cluster read from docs[p->cluster_doc],
 * the user from docs[p->user_doc], each with its file's relative paths and
 * its file named in errors (the details above). Same convention as
 * kubeconfig_parse.
 */
int	kubeconfig_creds(struct kubeconfig_doc *const *docs, size_t n,
	    const struct kubeconfig_pick *p, struct kube_creds *out,
	    char *err, size_t errlen);

/*
 * A path written in a kubeconfig, as client-go's ResolvePaths takes it:
 * empty or absolute, or base_dir NULL or empty: as written; else
 * base_dir/p made lexically shortest as Go's filepath.Join does ("." and
 * ".." elements and repeated '/' removed without looking at the file
 * system, so a ".." after a symbolic link goes back up the link's path).
 * malloc'd.
 */
char	*kubeconfig_resolve(const char *base_dir, const char *p);

enum kubeconfig_from {
	KUBECONFIG_FROM_FLAG,	/* --kubeconfig */
	KUBECONFIG_FROM_ENV,	/* $KUBECONFIG */
	KUBECONFIG_FROM_HOME,	/* ~/.kube/config */
};

/*
 * The kubeconfig files to read, in order, as client-go's loading rules
 * choose them: flag (--kubeconfig) alone if not NULL; else, if env
 * ($KUBECONFIG) is not NULL or empty, its ':'-separated entries, empty ones
 * left out, each only the first time; else home/.kube/config (none if home
 * is NULL or empty). *from says which. A NULL-terminated malloc'd list of
 * malloc'd strings (possibly empty).
 */
char	**kubeconfig_paths(const char *flag, const char *env,
	    const char *home, enum kubeconfig_from *from);

/*
 * Find and load credentials as described above. path: explicit
 * --kubeconfig (empty: an error, where kubectl would ignore it) or NULL. Reads token files (tokenFile, in-cluster token) into
 * memory. Same error convention as kubeconfig_parse; errors name the file
 * (the option, for --kubeconfig's file that cannot be read), and, when
 * none is found, KUBECONFIG (when set: "none of its files exists") or
 * whether HOME is set.
 */
int	kubeconfig_load(const char *path, const char *context,
	    struct kube_creds *out, char *err, size_t errlen);

void	kubeconfig_free(struct kube_creds *);

/*
 * KUBERNETES_EXEC_INFO for c's exec plugin, as client-go encodes it: an
 * ExecCredential of the plugin's apiVersion whose spec has "interactive"
 * and, with provideClusterInfo, "cluster" (server, tls-server-name,
 * insecure-skip-tls-verify, certificate-authority-data: the CA's bytes
 * base64-encoded, read from ca_file by the caller into ca/ca_len,
 * proxy-url, and config: the cluster's client.authentication.k8s.io/exec
 * extension, or null). Compact JSON, malloc'd.
 */
char	*kube_exec_info(const struct kube_creds *c, const char *ca,
	    size_t ca_len, int interactive);

/*
 * Read the ExecCredential a plugin wrote on stdout, as client-go checks it:
 * JSON object, kind ExecCredential, the apiVersion the kubeconfig asked for,
 * a status with a token or both clientCertificateData and clientKeyData
 * (PEM text), an RFC 3339 expirationTimestamp if any. Returns 0 and fills
 * *out, or -1 with the reason in err (which never quotes the output: it
 * may hold a secret).
 */
int	kube_exec_parse(const char *out, size_t len, const char *api_version,
	    struct kube_exec_cred *cred, char *err, size_t errlen);
void	kube_exec_cred_free(struct kube_exec_cred *);

#endif
