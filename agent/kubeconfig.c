/*
 * kubeconfig.c -- find the Kubernetes API and the credentials for it, from
 * a kubeconfig (as `oc login` writes it) or the pod's service account.
 *
 * The YAML is loaded whole with libyaml's document API; we then walk the
 * few paths we need. Aliases become shared nodes, never expanded, and we
 * only descend a fixed depth, so hostile YAML costs no more than its size.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE	/* asprintf, explicit_bzero, when built by hand */
#endif

#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <yaml.h>

#include "b64.h"
#include "kubeconfig.h"
#include "util.h"

#define MAX_FILE	(1024 * 1024)
#define SA_DIR		"/var/run/secrets/kubernetes.io/serviceaccount"
#define NAME_MAX_SHOWN	96

struct kc {
	yaml_document_t	 doc;
	const char	*base_dir;
	char		*err;
	size_t		 errlen;
	struct kube_creds *c;
};

/*
 * Make s fit on one line of an error message: control characters become
 * '?', '"' and '\' are escaped, long strings are cut with "...".
 */
static const char *
shown(const char *s, char *buf, size_t len)
{
	size_t	i, j;

	for (i = j = 0; s[i] != '\0' && j + 5 < len; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c == '"' || c == '\\')
			buf[j++] = '\\';
		buf[j++] = (c < 0x20 || c == 0x7f) ? '?' : (char)c;
	}
	if (s[i] != '\0') {
		memcpy(buf + j, "...", 3);
		j += 3;
	}
	buf[j] = '\0';
	return buf;
}

static int
has_ctrl(const char *s)
{
	for (; *s != '\0'; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			return 1;
	return 0;
}

/* A relative path is taken relative to base_dir (if any). */
static char *
resolve_path(const char *base_dir, const char *p)
{
	char	*s;

	if (p[0] == '/' || base_dir == NULL || base_dir[0] == '\0')
		return strdup(p);
	if (asprintf(&s, "%s/%s", base_dir, p) == -1)
		return NULL;
	return s;
}

/* --- YAML helpers ------------------------------------------------------ */

/* YAML's null: an empty scalar, or a plain ~ / null. */
static int
is_null(const yaml_node_t *n)
{
	const char *v;

	if (n == NULL)
		return 1;
	if (n->type != YAML_SCALAR_NODE)
		return 0;
	v = (const char *)n->data.scalar.value;
	if (n->data.scalar.length == 0)
		return 1;
	if (n->data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
		return 0;
	return strcmp(v, "~") == 0 || strcmp(v, "null") == 0 ||
	    strcmp(v, "Null") == 0 || strcmp(v, "NULL") == 0;
}

static int
scalar_is(const yaml_node_t *n, const char *s)
{
	size_t	len = strlen(s);

	return n != NULL && n->type == YAML_SCALAR_NODE &&
	    n->data.scalar.length == len &&
	    memcmp(n->data.scalar.value, s, len) == 0;
}

/* The value for key in a mapping node; NULL if absent or map not a map. */
static yaml_node_t *
map_get(yaml_document_t *doc, yaml_node_t *map, const char *key)
{
	yaml_node_pair_t *p;

	if (map == NULL || map->type != YAML_MAPPING_NODE)
		return NULL;
	for (p = map->data.mapping.pairs.start;
	    p < map->data.mapping.pairs.top; p++)
		if (scalar_is(yaml_document_get_node(doc, p->key), key))
			return yaml_document_get_node(doc, p->value);
	return NULL;
}

/*
 * String field key of map (belonging to what, e.g. `cluster "c"`): *out is
 * NULL if absent, null or empty. Fails if it is not a string.
 */
static int
get_str(struct kc *k, yaml_node_t *map, const char *key, const char *what,
    const char **out)
{
	yaml_node_t *n = map_get(&k->doc, map, key);

	*out = NULL;
	if (is_null(n))
		return 0;
	if (n->type != YAML_SCALAR_NODE)
		return errf(k->err, k->errlen, "%s has invalid %s (not a string)", what, key);
	if (strlen((char *)n->data.scalar.value) != n->data.scalar.length)
		return errf(k->err, k->errlen, "%s has invalid %s (contains NUL)", what, key);
	*out = (const char *)n->data.scalar.value;
	return 0;
}

/*
 * Find the entry named name in the top-level list `list` (clusters,
 * contexts, users) and return its `kind` mapping in *out (NULL when the
 * entry exists but is empty). Fails if there is no such entry.
 */
static int
find_named(struct kc *k, const char *list, const char *kind,
    const char *name, yaml_node_t **out)
{
	yaml_node_t *seq, *item, *body;
	yaml_node_item_t *i;
	char	 buf[NAME_MAX_SHOWN];

	seq = map_get(&k->doc, yaml_document_get_root_node(&k->doc), list);
	if (is_null(seq))
		seq = NULL;
	else if (seq->type != YAML_SEQUENCE_NODE)
		return errf(k->err, k->errlen, "%s is not a list", list);
	for (i = seq ? seq->data.sequence.items.start : NULL;
	    seq != NULL && i < seq->data.sequence.items.top; i++) {
		item = yaml_document_get_node(&k->doc, *i);
		if (!scalar_is(map_get(&k->doc, item, "name"), name))
			continue;
		body = map_get(&k->doc, item, kind);
		if (!is_null(body) && body->type != YAML_MAPPING_NODE)
			return errf(k->err, k->errlen, "%s \"%s\" is not a mapping", kind,
			    shown(name, buf, sizeof(buf)));
		*out = is_null(body) ? NULL : body;
		return 0;
	}
	return errf(k->err, k->errlen, "%s \"%s\" not found", kind,
	    shown(name, buf, sizeof(buf)));
}

/* YAML 1.1 booleans, as kubectl's YAML reader accepts them. */
static int
parse_bool(const char *v, int *out)
{
	static const char *const yes[] = { "true", "yes", "on", "y" };
	static const char *const no[] = { "false", "no", "off", "n" };
	size_t	i;

	for (i = 0; i < sizeof(yes) / sizeof(yes[0]); i++) {
		if (strcasecmp(v, yes[i]) == 0) {
			*out = 1;
			return 0;
		}
		if (strcasecmp(v, no[i]) == 0) {
			*out = 0;
			return 0;
		}
	}
	return -1;
}

static int
set_str(struct kc *k, char **dst, const char *v)
{
	if ((*dst = strdup(v)) == NULL)
		return errf(k->err, k->errlen, "out of memory");
	return 0;
}

static int
set_path(struct kc *k, char **dst, const char *v)
{
	if ((*dst = resolve_path(k->base_dir, v)) == NULL)
		return errf(k->err, k->errlen, "out of memory");
	return 0;
}

/*
 * A file path field and its "-data" twin. The data wins: when it is set
 * the path is left NULL.
 */
static int
get_file_or_data(struct kc *k, yaml_node_t *map, const char *what,
    const char *key, char **path, char **pem, size_t *pemlen)
{
	const char *file, *data;
	char	 datakey[64];

	snprintf(datakey, sizeof(datakey), "%s-data", key);
	if (get_str(k, map, key, what, &file) == -1 ||
	    get_str(k, map, datakey, what, &data) == -1)
		return -1;
	if (data != NULL) {
		if ((*pem = b64_decode(data, strlen(data), pemlen)) == NULL)
			return errf(k->err, k->errlen, "%s has invalid %s (not base64)",
			    what, datakey);
		if (*pemlen == 0)
			return errf(k->err, k->errlen, "%s has empty %s", what, datakey);
		return 0;
	}
	if (file != NULL)
		return set_path(k, path, file);
	return 0;
}

/* --- cluster ----------------------------------------------------------- */

static int
set_server(struct kc *k, const char *what, const char *server)
{
	char	 buf[NAME_MAX_SHOWN];
	size_t	 n, skip;

	if (server == NULL)
		return errf(k->err, k->errlen, "%s has no server", what);
	if (strncasecmp(server, "https://", 8) == 0)
		skip = 8;
	else if (strncasecmp(server, "http://", 7) == 0)
		skip = 7;
	else
		skip = 0;
	if (skip == 0 || server[skip] == '\0' || server[skip] == '/' ||
	    has_ctrl(server) || strpbrk(server, " \"") != NULL)
		return errf(k->err, k->errlen, "server \"%s\" is not an http(s) URL",
		    shown(server, buf, sizeof(buf)));
	if (set_str(k, &k->c->server, server) == -1)
		return -1;
	for (n = 0; n < skip - 3; n++)	/* "HTTPS" -> "https" */
		k->c->server[n] |= 0x20;
	n = strlen(k->c->server);
	while (n > skip && k->c->server[n - 1] == '/')
		k->c->server[--n] = '\0';
	return 0;
}

static int
load_cluster(struct kc *k, const char *name)
{
	yaml_node_t *cl;
	const char *server, *insecure;
	char	 what[NAME_MAX_SHOWN + 16], buf[NAME_MAX_SHOWN];
	struct kube_creds *c = k->c;

	if (find_named(k, "clusters", "cluster", name, &cl) == -1)
		return -1;
	snprintf(what, sizeof(what), "cluster \"%s\"",
	    shown(name, buf, sizeof(buf)));
	if (get_str(k, cl, "server", what, &server) == -1 ||
	    set_server(k, what, server) == -1)
		return -1;
	if (get_file_or_data(k, cl, what, "certificate-authority",
	    &c->ca_file, &c->ca_pem, &c->ca_pem_len) == -1)
		return -1;
	if (get_str(k, cl, "insecure-skip-tls-verify", what, &insecure) == -1)
		return -1;
	if (insecure != NULL && parse_bool(insecure, &c->insecure) == -1)
		return errf(k->err, k->errlen, "%s has invalid insecure-skip-tls-verify \"%s\""
		    " (want true or false)", what,
		    shown(insecure, buf, sizeof(buf)));
	return 0;
}

/* --- user -------------------------------------------------------------- */

static int
check_token(struct kc *k, const char *what, const char *src)
{
	if (k->c->token[0] == '\0')
		return errf(k->err, k->errlen, "%s has an empty %s", what, src);
	if (has_ctrl(k->c->token))
		return errf(k->err, k->errlen, "%s has an invalid %s (control characters)",
		    what, src);
	return 0;
}

static int
read_token_file(struct kc *k, const char *what, const char *file)
{
	char	*path, buf[NAME_MAX_SHOWN], ebuf[256];
	size_t	 len;
	int	 rc;

	if ((path = resolve_path(k->base_dir, file)) == NULL)
		return errf(k->err, k->errlen, "out of memory");
	k->c->token = read_file(path, MAX_FILE, &len, ebuf, sizeof(ebuf));
	if (k->c->token == NULL)
		rc = errf(k->err, k->errlen, "%s: cannot read tokenFile %s",
		    what, ebuf);
	else if (strlen(k->c->token) != len)
		rc = errf(k->err, k->errlen, "%s has an invalid tokenFile %s "
		    "(contains NUL)", what, shown(path, buf, sizeof(buf)));
	else {
		chomp(k->c->token);
		rc = check_token(k, what, "tokenFile");
	}
	free(path);
	return rc;
}

static int
load_token(struct kc *k, yaml_node_t *u, const char *what)
{
	const char *token, *file;

	if (get_str(k, u, "token", what, &token) == -1 ||
	    get_str(k, u, "tokenFile", what, &file) == -1)
		return -1;
	if (token != NULL) {
		if (set_str(k, &k->c->token, token) == -1)
			return -1;
		return check_token(k, what, "token");
	}
	if (file != NULL)
		return read_token_file(k, what, file);
	return 0;
}

static int
load_user(struct kc *k, const char *name)
{
	yaml_node_t *u;
	char	 what[NAME_MAX_SHOWN + 16], buf[NAME_MAX_SHOWN];
	struct kube_creds *c = k->c;
	int	 has_cert, has_key;

	if (find_named(k, "users", "user", name, &u) == -1)
		return -1;
	snprintf(what, sizeof(what), "user \"%s\"",
	    shown(name, buf, sizeof(buf)));
	if (load_token(k, u, what) == -1 ||
	    get_file_or_data(k, u, what, "client-certificate",
	    &c->cert_file, &c->cert_pem, &c->cert_pem_len) == -1 ||
	    get_file_or_data(k, u, what, "client-key",
	    &c->key_file, &c->key_pem, &c->key_pem_len) == -1)
		return -1;
	has_cert = c->cert_file != NULL || c->cert_pem != NULL;
	has_key = c->key_file != NULL || c->key_pem != NULL;
	if (has_cert != has_key)
		return errf(k->err, k->errlen, "%s has a client-%s but no client-%s", what,
		    has_cert ? "certificate" : "key",
		    has_cert ? "key" : "certificate");
	if (c->token != NULL || has_cert)
		return 0;
	if (!is_null(map_get(&k->doc, u, "exec")) ||
	    !is_null(map_get(&k->doc, u, "auth-provider")))
		return errf(k->err, k->errlen, "%s uses a credential plugin (exec or "
		    "auth-provider), which is not supported; use a token "
		    "instead (oc login, then oc whoami -t)", what);
	if (!is_null(map_get(&k->doc, u, "username")))
		return errf(k->err, k->errlen, "%s uses basic auth (username/password), "
		    "which is not supported; use a token instead", what);
	return 0;
}

/* --- context ----------------------------------------------------------- */

static int
pick_context(struct kc *k, const char *context, const char **name)
{
	yaml_node_t *root = yaml_document_get_root_node(&k->doc);

	*name = context;
	if (context == NULL && get_str(k, root, "current-context",
	    "kubeconfig", name) == -1)
		return -1;
	if (*name == NULL || (*name)[0] == '\0')
		return errf(k->err, k->errlen, "no current-context set and no --context "
		    "given");
	return set_str(k, &k->c->context, *name);
}

static int
load_context(struct kc *k, const char *context)
{
	yaml_node_t *ctx;
	const char *name, *cluster, *user, *ns;
	char	 what[NAME_MAX_SHOWN + 16], buf[NAME_MAX_SHOWN];

	if (pick_context(k, context, &name) == -1 ||
	    find_named(k, "contexts", "context", name, &ctx) == -1)
		return -1;
	snprintf(what, sizeof(what), "context \"%s\"",
	    shown(name, buf, sizeof(buf)));
	if (get_str(k, ctx, "cluster", what, &cluster) == -1 ||
	    get_str(k, ctx, "user", what, &user) == -1 ||
	    get_str(k, ctx, "namespace", what, &ns) == -1)
		return -1;
	if (cluster == NULL)
		return errf(k->err, k->errlen, "%s has no cluster", what);
	if (load_cluster(k, cluster) == -1)
		return -1;
	if (user != NULL && load_user(k, user) == -1)
		return -1;
	if (ns != NULL && set_str(k, &k->c->namespace, ns) == -1)
		return -1;
	return 0;
}

/* The 1-based line of a parse error; reader errors only know the offset. */
static size_t
error_line(const yaml_parser_t *p, const char *yaml, size_t len)
{
	size_t	i, line = 1;

	if (p->error != YAML_READER_ERROR)
		return p->problem_mark.line + 1;
	for (i = 0; i < p->problem_offset && i < len; i++)
		if (yaml[i] == '\n')
			line++;
	return line;
}

static int
load_yaml(struct kc *k, const char *yaml, size_t len)
{
	yaml_parser_t	p;
	yaml_node_t	*root;
	int		rc = 0;

	if (!yaml_parser_initialize(&p))
		return errf(k->err, k->errlen, "out of memory");
	yaml_parser_set_input_string(&p, (const unsigned char *)yaml, len);
	if (!yaml_parser_load(&p, &k->doc)) {
		if (p.error == YAML_MEMORY_ERROR)
			rc = errf(k->err, k->errlen, "out of memory");
		else
			rc = errf(k->err, k->errlen, "line %zu: YAML error: %s",
			    error_line(&p, yaml, len),
			    p.problem ? p.problem : "cannot parse");
		yaml_parser_delete(&p);
		return rc;
	}
	yaml_parser_delete(&p);
	root = yaml_document_get_root_node(&k->doc);
	if (root != NULL && !is_null(root) && root->type != YAML_MAPPING_NODE)
		rc = errf(k->err, k->errlen, "not a kubeconfig (top level is not a mapping)");
	if (rc == -1)
		yaml_document_delete(&k->doc);
	return rc;
}

int
kubeconfig_parse(const char *yaml, size_t len, const char *base_dir,
    const char *context, struct kube_creds *out, char *err, size_t errlen)
{
	struct kc	k;
	int		rc;

	memset(out, 0, sizeof(*out));
	memset(&k, 0, sizeof(k));
	k.base_dir = base_dir;
	k.err = err;
	k.errlen = errlen;
	k.c = out;
	if (load_yaml(&k, yaml, len) == -1)
		return -1;
	rc = load_context(&k, context);
	yaml_document_delete(&k.doc);
	if (rc == -1)
		kubeconfig_free(out);
	return rc;
}

/* --- in-cluster -------------------------------------------------------- */

static int
valid_port(const char *p)
{
	long	v;
	char	*end;

	if (p == NULL || *p < '0' || *p > '9')
		return 0;
	errno = 0;
	v = strtol(p, &end, 10);
	return errno == 0 && *end == '\0' && v > 0 && v <= 65535;
}

static int
incluster_server(struct kube_creds *c, char *err, size_t errlen)
{
	const char *host = getenv("KUBERNETES_SERVICE_HOST");
	const char *port = getenv("KUBERNETES_SERVICE_PORT");
	const char *l, *r;
	int	 rc;

	if (host == NULL || host[0] == '\0' || has_ctrl(host) ||
	    strpbrk(host, "/[]@ ") != NULL)
		return errf(err, errlen, "in-cluster service account: "
		    "KUBERNETES_SERVICE_HOST is not a host name");
	if (!valid_port(port))
		return errf(err, errlen, "in-cluster service account: "
		    "KUBERNETES_SERVICE_PORT is not a port number");
	l = strchr(host, ':') ? "[" : "";
	r = strchr(host, ':') ? "]" : "";
	rc = asprintf(&c->server, "https://%s%s%s:%s", l, host, r, port);
	if (rc == -1) {
		c->server = NULL;
		return errf(err, errlen, "out of memory");
	}
	return 0;
}

static int
incluster_file(const char *dir, const char *name, char **out, int required,
    char *err, size_t errlen)
{
	char	*path, ebuf[256];
	size_t	 len;
	int	 rc = 0, nul;

	if (asprintf(&path, "%s/%s", dir, name) == -1)
		return errf(err, errlen, "out of memory");
	if (!required && access(path, F_OK) == -1 && errno == ENOENT)
		goto done;
	if ((*out = read_file(path, MAX_FILE, &len, ebuf, sizeof(ebuf))) ==
	    NULL) {
		rc = errf(err, errlen, "in-cluster service account: "
		    "cannot read %s", ebuf);
		goto done;
	}
	nul = strlen(*out) != len;
	chomp(*out);
	if (nul || **out == '\0' || has_ctrl(*out))
		rc = errf(err, errlen, "in-cluster service account: "
		    "%s is empty or not text", path);
done:
	free(path);
	return rc;
}

static int
load_incluster(struct kube_creds *c, char *err, size_t errlen)
{
	const char *dir = getenv("DRAIN_SERVICEACCOUNT_DIR");
	struct stat st;

	if (dir == NULL || dir[0] == '\0')
		dir = SA_DIR;
	if ((c->source = strdup("in-cluster service account")) == NULL)
		return errf(err, errlen, "out of memory");
	if (incluster_server(c, err, errlen) == -1 ||
	    incluster_file(dir, "token", &c->token, 1, err, errlen) == -1 ||
	    incluster_file(dir, "namespace", &c->namespace, 0, err,
	    errlen) == -1)
		return -1;
	if (asprintf(&c->ca_file, "%s/ca.crt", dir) == -1) {
		c->ca_file = NULL;
		return errf(err, errlen, "out of memory");
	}
	if (stat(c->ca_file, &st) == -1) {
		free(c->ca_file);
		c->ca_file = NULL;
	}
	return 0;
}

/* --- finding the kubeconfig -------------------------------------------- */

static int
exists(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0;
}

/* First existing entry of $KUBECONFIG, else ~/.kube/config, else NULL. */
static char *
find_kubeconfig(void)
{
	const char *env = getenv("KUBECONFIG"), *home;
	char	*list, *p, *save = NULL, *found = NULL;
	struct passwd *pw;

	if (env != NULL && (list = strdup(env)) != NULL) {
		for (p = strtok_r(list, ":", &save); p != NULL && !found;
		    p = strtok_r(NULL, ":", &save))
			if (exists(p))
				found = strdup(p);
		free(list);
		if (found != NULL)
			return found;
	}
	if ((home = getenv("HOME")) == NULL || home[0] == '\0')
		home = (pw = getpwuid(getuid())) ? pw->pw_dir : NULL;
	if (home == NULL || asprintf(&found, "%s/.kube/config", home) == -1)
		return NULL;
	if (exists(found))
		return found;
	free(found);
	return NULL;
}

static char *
dir_of(const char *path)
{
	const char *slash = strrchr(path, '/');

	if (slash == NULL)
		return strdup(".");
	if (slash == path)
		return strdup("/");
	return strndup(path, (size_t)(slash - path));
}

static int
load_file(const char *path, const char *context, struct kube_creds *out,
    char *err, size_t errlen)
{
	char	*yaml = NULL, *dir, reason[512];
	size_t	 len;
	int	 rc = -1;

	if ((yaml = read_file(path, MAX_FILE, &len, reason,
	    sizeof(reason))) == NULL)
		return errf(err, errlen, "kubeconfig %s", reason);
	if ((dir = dir_of(path)) == NULL) {
		free(yaml);
		return errf(err, errlen, "out of memory");
	}
	if (kubeconfig_parse(yaml, len, dir, context, out, reason,
	    sizeof(reason)) == -1)
		errf(err, errlen, "kubeconfig %s: %s", path, reason);
	else if (asprintf(&out->source, "kubeconfig %s", path) == -1) {
		out->source = NULL;
		kubeconfig_free(out);
		errf(err, errlen, "out of memory");
	} else
		rc = 0;
	free(dir);
	free(yaml);
	return rc;
}

int
kubeconfig_load(const char *path, const char *context,
    struct kube_creds *out, char *err, size_t errlen)
{
	char	*found, buf[NAME_MAX_SHOWN];
	int	 rc;

	memset(out, 0, sizeof(*out));
	if (path != NULL)
		return load_file(path, context, out, err, errlen);
	if ((found = find_kubeconfig()) != NULL) {
		rc = load_file(found, context, out, err, errlen);
		free(found);
		return rc;
	}
	if (getenv("KUBERNETES_SERVICE_HOST") == NULL)
		return errf(err, errlen, "no kubeconfig found (tried "
		    "$KUBECONFIG, ~/.kube/config) and not running in a pod; "
		    "use --kubeconfig or log in with 'oc login'");
	if (context != NULL)
		return errf(err, errlen, "--context \"%s\" given but no "
		    "kubeconfig found (tried $KUBECONFIG, ~/.kube/config)",
		    shown(context, buf, sizeof(buf)));
	if ((rc = load_incluster(out, err, errlen)) == -1)
		kubeconfig_free(out);
	return rc;
}

void
kubeconfig_free(struct kube_creds *c)
{
	if (c == NULL)
		return;
	free(c->server);
	free(c->namespace);
	free(c->context);
	free(c->ca_file);
	free(c->ca_pem);
	if (c->token != NULL) {
		explicit_bzero(c->token, strlen(c->token));
		free(c->token);
	}
	free(c->cert_file);
	free(c->cert_pem);
	free(c->key_file);
	if (c->key_pem != NULL) {
		explicit_bzero(c->key_pem, c->key_pem_len);
		free(c->key_pem);
	}
	free(c->source);
	memset(c, 0, sizeof(*c));
}
