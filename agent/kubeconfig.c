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
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>
#include <jansson.h>
#include <yaml.h>

#include "b64.h"
#include "kubeconfig.h"
#include "util.h"

#define MAX_FILE	(1024 * 1024)
#define SA_DIR		"/var/run/secrets/kubernetes.io/serviceaccount"
#define NAME_MAX_SHOWN	96
#define EXEC_EXT	"client.authentication.k8s.io/exec"
#define EXT_MAX_DEPTH	64	/* nesting of the extension's value */
#define EXT_MAX_NODES	10000	/* its nodes, aliases counted each time */

/* One kubeconfig file, parsed. */
struct kubeconfig_doc {
	yaml_document_t	 doc;
	char		*path;		/* the file, or NULL */
	char		*base_dir;	/* resolves its relative paths, or NULL */
};

struct kc {
	yaml_document_t	*doc;		/* the document being read */
	yaml_node_t	*exec_ext;	/* the cluster's exec extension, or NULL */
	yaml_document_t	*ext_doc;	/* the document exec_ext is in */
	const char	*base_dir;	/* doc's */
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

/* The path p made lexically shortest, as Go's filepath.Clean: malloc'd. */
static char *
path_clean(const char *p)
{
	size_t	 n = strlen(p), r = 0, w = 0, dotdot = 0;
	int	 rooted = p[0] == '/';
	char	*out = xmalloc(n + 2);

	if (rooted) {
		out[w++] = '/';
		r = dotdot = 1;
	}
	while (r < n) {
		if (p[r] == '/')
			r++;
		else if (p[r] == '.' && (r + 1 == n || p[r + 1] == '/'))
			r++;
		else if (p[r] == '.' && p[r + 1] == '.' &&
		    (r + 2 == n || p[r + 2] == '/')) {
			r += 2;
			if (w > dotdot) {	/* drop the element before */
				w--;
				while (w > dotdot && out[w] != '/')
					w--;
			} else if (!rooted) {	/* keep a leading .. */
				if (w > 0)
					out[w++] = '/';
				out[w++] = '.';
				out[w++] = '.';
				dotdot = w;
			}
		} else {
			if ((rooted && w != 1) || (!rooted && w != 0))
				out[w++] = '/';
			while (r < n && p[r] != '/')
				out[w++] = p[r++];
		}
	}
	if (w == 0)
		out[w++] = '.';
	out[w] = '\0';
	return out;
}

char *
kubeconfig_resolve(const char *base_dir, const char *p)
{
	char	*joined, *s;

	if (p[0] == '\0' || p[0] == '/' || base_dir == NULL ||
	    base_dir[0] == '\0')
		return xstrdup(p);
	joined = xasprintf("%s/%s", base_dir, p);
	s = path_clean(joined);
	free(joined);
	return s;
}

/* A relative path is taken relative to base_dir (if any): kubeconfig_resolve. */
static char *
resolve_path(const char *base_dir, const char *p)
{
	return kubeconfig_resolve(base_dir, p);
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
	yaml_node_t *n = map_get(k->doc, map, key);

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
 * The entry named name in doc's top-level list `list` (clusters, contexts,
 * users): 1 and its `kind` mapping in *body (NULL when the entry exists
 * but is empty), or 0. load_yaml (check_list) has checked the lists.
 */
static int
entry_named(yaml_document_t *doc, const char *list, const char *kind,
    const char *name, yaml_node_t **body)
{
	yaml_node_t *seq, *item;
	yaml_node_item_t *i;

	seq = map_get(doc, yaml_document_get_root_node(doc), list);
	if (is_null(seq) || seq->type != YAML_SEQUENCE_NODE)
		return 0;
	for (i = seq->data.sequence.items.start;
	    i < seq->data.sequence.items.top; i++) {
		item = yaml_document_get_node(doc, *i);
		if (!scalar_is(map_get(doc, item, "name"), name))
			continue;
		*body = map_get(doc, item, kind);
		if (is_null(*body) || (*body)->type != YAML_MAPPING_NODE)
			*body = NULL;
		return 1;
	}
	return 0;
}

/* entry_named in k's document; an error if there is none. */
static int
find_named(struct kc *k, const char *list, const char *kind,
    const char *name, yaml_node_t **out)
{
	char	 buf[NAME_MAX_SHOWN];

	if (entry_named(k->doc, list, kind, name, out))
		return 0;
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

/* --- the cluster's exec extension, as JSON --------------------------------- */

static int
str_in(const char *v, const char *const *set)
{
	for (; *set != NULL; set++)
		if (strcmp(v, *set) == 0)
			return 1;
	return 0;
}

/*
 * A plain scalar's integer, v without its '_' (as go-yaml v2 reads it for
 * kubectl): Go's strconv.ParseInt base 0, so 0x, 0o, 0b and leading-0
 * octal.
 */
static int
plain_int(const char *v, long long *out)
{
	const char	*d = v + (*v == '+' || *v == '-'), *digits = "0123456789";
	char		*end;
	int		 base = 10;

	if (d[0] == '0' && (d[1] == 'x' || d[1] == 'X'))
		base = 16, d += 2, digits = "0123456789abcdefABCDEF";
	else if (d[0] == '0' && (d[1] == 'o' || d[1] == 'O'))
		base = 8, d += 2, digits = "01234567";
	else if (d[0] == '0' && (d[1] == 'b' || d[1] == 'B'))
		base = 2, d += 2, digits = "01";
	else if (d[0] == '0' && d[1] != '\0')
		base = 8, d += 1, digits = "01234567";
	if (*d == '\0' || strspn(d, digits) != strlen(d))
		return -1;
	errno = 0;
	*out = strtoll(d, &end, base);
	if (errno != 0 || *end != '\0')
		return -1;
	if (*v == '-')
		*out = -*out;
	return 0;
}

/* YAML's float syntax as go-yaml v2 takes it (not .inf, .nan). */
static int
plain_float(const char *v, double *out)
{
	const char	*p = v + (*v == '+' || *v == '-');
	char		*end;
	size_t		 n = strspn(p, "0123456789");

	if (p[n] == '.')
		n += 1 + strspn(p + n + 1, "0123456789");
	if (n == 0 || (n == 1 && *p == '.'))
		return -1;
	if (p[n] == 'e' || p[n] == 'E') {
		n++;
		n += p[n] == '+' || p[n] == '-';
		if (strspn(p + n, "0123456789") == 0)
			return -1;
		n += strspn(p + n, "0123456789");
	}
	if (p[n] != '\0')
		return -1;
	errno = 0;
	*out = strtod(v, &end);
	return errno != 0 || *end != '\0' ? -1 : 0;
}

/*
 * A plain scalar that starts as a number does (a digit, a sign, a '.'),
 * as a number: its '_' removed, an integer, else a float. -1 if it is
 * none; then it is a string.
 */
static int
plain_number(const char *v, json_t **out)
{
	char		 buf[128];
	size_t		 i, j;
	long long	 n;
	double		 d;

	if (strchr("+-.0123456789", *v) == NULL || *v == '\0')
		return -1;
	for (i = j = 0; v[i] != '\0' && j + 1 < sizeof(buf); i++)
		if (v[i] != '_' || *v == '.')
			buf[j++] = v[i];
	if (v[i] != '\0')
		return -1;
	buf[j] = '\0';
	if (*v != '.' && plain_int(buf, &n) == 0)
		*out = json_integer(n);
	else if (plain_float(buf, &d) == 0)
		/* as Go writes a float64: 1.0 is 1 */
		*out = d > -9007199254740992.0 && d < 9007199254740992.0 &&
		    d == (double)(long long)d ? json_integer((long long)d) :
		    json_real(d);
	else
		return -1;
	return 0;
}

/* A string of the extension (libyaml has checked its UTF-8). */
static json_t *
text_json(struct kc *k, const char *v)
{
	json_t	*j = json_string(v);

	if (j == NULL)
		errf(k->err, k->errlen, "the cluster's %s extension has a "
		    "string that is not UTF-8", EXEC_EXT);
	return j;
}

/*
 * A scalar as kubectl's YAML reader (go-yaml v2 for sigs.k8s.io/yaml)
 * resolves it: quoted and block scalars are strings; a plain one is null,
 * a YAML 1.1 boolean, an integer, a float or else a string. NULL with err
 * for what JSON cannot hold (.inf, .nan) and merge keys.
 */
static json_t *
scalar_json(struct kc *k, yaml_node_t *n)
{
	static const char *const nulls[] = { "", "~", "null", "Null", "NULL",
	    NULL };
	static const char *const yes[] = { "y", "Y", "yes", "Yes", "YES",
	    "true", "True", "TRUE", "on", "On", "ON", NULL };
	static const char *const no[] = { "n", "N", "no", "No", "NO", "false",
	    "False", "FALSE", "off", "Off", "OFF", NULL };
	const char	*v = (const char *)n->data.scalar.value;
	json_t		*j;
	char		 buf[NAME_MAX_SHOWN];

	if (strlen(v) != n->data.scalar.length)
		return errf(k->err, k->errlen, "the cluster's %s extension has "
		    "a string with a NUL", EXEC_EXT), NULL;
	if (n->data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
		return text_json(k, v);
	if (str_in(v, nulls))
		return json_null();
	if (str_in(v, yes) || str_in(v, no))
		return json_boolean(str_in(v, yes));
	if (plain_number(v, &j) == 0)
		return j;
	if (strcasecmp(v + (*v == '+' || *v == '-'), ".inf") == 0 ||
	    strcasecmp(v, ".nan") == 0 || strcmp(v, "<<") == 0)
		return errf(k->err, k->errlen, "the cluster's %s extension has "
		    "\"%s\", which JSON cannot hold", EXEC_EXT,
		    shown(v, buf, sizeof(buf))), NULL;
	return text_json(k, v);
}

/* A mapping key: a string, or a scalar written as JSON text (true, 16). */
static char *
key_text(struct kc *k, yaml_node_t *n)
{
	json_t	*j;
	char	*t;

	if (n == NULL || n->type != YAML_SCALAR_NODE)
		return errf(k->err, k->errlen, "the cluster's %s extension has "
		    "a key that is not a scalar", EXEC_EXT), NULL;
	if ((j = scalar_json(k, n)) == NULL)
		return NULL;
	if (json_is_null(j))
		t = (errf(k->err, k->errlen, "the cluster's %s extension has "
		    "a null key", EXEC_EXT), NULL);
	else if (json_is_string(j))
		t = xstrdup(json_string_value(j));
	else
		t = json_dumps(j, JSON_ENCODE_ANY);
	json_decref(j);
	return t;
}

/*
 * The YAML value n (in k->ext_doc) as JSON, as kubectl converts the
 * kubeconfig to JSON; aliases are followed, within EXT_MAX_DEPTH and
 * EXT_MAX_NODES (*budget). NULL with k->err.
 */
static json_t *
node_json(struct kc *k, yaml_node_t *n, int depth, size_t *budget)
{
	yaml_node_pair_t *p;
	yaml_node_item_t *i;
	json_t	*out, *v;
	char	*key;

	if (depth >= EXT_MAX_DEPTH || (*budget)-- == 0)
		return errf(k->err, k->errlen, "the cluster's %s extension is "
		    "nested too deep or too large (at most %d levels, %d "
		    "values)", EXEC_EXT, EXT_MAX_DEPTH, EXT_MAX_NODES), NULL;
	if (n == NULL)
		return json_null();
	switch (n->type) {
	case YAML_SCALAR_NODE:
		return scalar_json(k, n);
	case YAML_SEQUENCE_NODE:
		out = json_array();
		for (i = n->data.sequence.items.start;
		    i < n->data.sequence.items.top; i++) {
			if ((v = node_json(k, yaml_document_get_node(k->ext_doc,
			    *i), depth + 1, budget)) == NULL) {
				json_decref(out);
				return NULL;
			}
			json_array_append_new(out, v);
		}
		return out;
	case YAML_MAPPING_NODE:
		out = json_object();
		for (p = n->data.mapping.pairs.start;
		    p < n->data.mapping.pairs.top; p++) {
			key = key_text(k, yaml_document_get_node(k->ext_doc,
			    p->key));
			v = key == NULL ? NULL : node_json(k,
			    yaml_document_get_node(k->ext_doc, p->value),
			    depth + 1, budget);
			if (v == NULL) {
				free(key);
				json_decref(out);
				return NULL;
			}
			json_object_set_new(out, key, v);	/* last wins */
			free(key);
		}
		return out;
	default:
		return json_null();
	}
}

/*
 * cluster.extensions: remember the value of the one named
 * client.authentication.k8s.io/exec (the last, if several), which an exec
 * plugin with provideClusterInfo gets as spec.cluster.config.
 */
static int
find_exec_extension(struct kc *k, yaml_node_t *cl, const char *what)
{
	yaml_node_t *seq = map_get(k->doc, cl, "extensions"), *item;
	yaml_node_item_t *i;

	k->exec_ext = NULL;
	k->ext_doc = k->doc;
	if (is_null(seq))
		return 0;
	if (seq->type != YAML_SEQUENCE_NODE)
		return errf(k->err, k->errlen, "%s has invalid extensions (not "
		    "a list)", what);
	for (i = seq->data.sequence.items.start;
	    i < seq->data.sequence.items.top; i++) {
		item = yaml_document_get_node(k->doc, *i);
		if (item == NULL || item->type != YAML_MAPPING_NODE)
			return errf(k->err, k->errlen, "%s has invalid "
			    "extensions (an entry is not a mapping)", what);
		if (scalar_is(map_get(k->doc, item, "name"), EXEC_EXT))
			k->exec_ext = map_get(k->doc, item, "extension");
	}
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
load_tls_server_name(struct kc *k, yaml_node_t *cl, const char *what)
{
	const char *v;
	char	 buf[NAME_MAX_SHOWN];

	if (get_str(k, cl, "tls-server-name", what, &v) == -1)
		return -1;
	if (v == NULL)
		return 0;
	if (strspn(v, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
	    "0123456789.-") != strlen(v) || v[0] == '.' || v[0] == '-')
		return errf(k->err, k->errlen, "%s has invalid tls-server-name "
		    "\"%s\" (want a DNS name or IP address)", what,
		    shown(v, buf, sizeof(buf)));
	return set_str(k, &k->c->tls_server_name, v);
}

/*
 * proxy-url as client-go's parseProxyURL accepts it. Errors do not quote
 * the URL: it may hold a password.
 */
static int
load_proxy_url(struct kc *k, yaml_node_t *cl, const char *what)
{
	const char *v;
	char	 buf[NAME_MAX_SHOWN], *scheme = NULL, *host = NULL;
	CURLU	*u;
	int	 rc = 0;

	if (get_str(k, cl, "proxy-url", what, &v) == -1)
		return -1;
	if (v == NULL)
		return 0;
	if ((u = curl_url()) == NULL)
		return errf(k->err, k->errlen, "out of memory");
	if (has_ctrl(v) || curl_url_set(u, CURLUPART_URL, v,
	    CURLU_NON_SUPPORT_SCHEME) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK)
		rc = errf(k->err, k->errlen, "%s has an invalid proxy-url "
		    "(could not parse)", what);
	else if (strcmp(scheme, "http") != 0 && strcmp(scheme, "https") != 0 &&
	    strcmp(scheme, "socks5") != 0)
		rc = errf(k->err, k->errlen, "%s has an invalid proxy-url: "
		    "unsupported scheme \"%s\", must be http, https, or socks5",
		    what, shown(scheme, buf, sizeof(buf)));
	else if (curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK ||
	    host[0] == '\0')
		rc = errf(k->err, k->errlen, "%s has an invalid proxy-url (no "
		    "host)", what);
	else
		rc = set_str(k, &k->c->proxy_url, v);
	curl_free(scheme);
	curl_free(host);
	curl_url_cleanup(u);
	return rc;
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
	if (c->insecure && (c->ca_file != NULL || c->ca_pem != NULL))
		return errf(k->err, k->errlen, "%s: specifying a root "
		    "certificates file with the insecure flag is not allowed",
		    what);
	return load_tls_server_name(k, cl, what) == -1 ||
	    load_proxy_url(k, cl, what) == -1 ||
	    find_exec_extension(k, cl, what) == -1 ? -1 : 0;
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

/* first, then a list of strings (args), into a NULL-terminated *v. */
static int
get_strlist(struct kc *k, yaml_node_t *map, const char *key,
    const char *what, const char *first, char ***v)
{
	const size_t off = 1;
	yaml_node_t *seq = map_get(k->doc, map, key), *item;
	yaml_node_item_t *i;
	size_t	 n = 0;

	if (!is_null(seq) && seq->type != YAML_SEQUENCE_NODE)
		return errf(k->err, k->errlen, "%s has invalid %s (not a list)",
		    what, key);
	if (!is_null(seq))
		n = (size_t)(seq->data.sequence.items.top -
		    seq->data.sequence.items.start);
	*v = xcalloc(off + n + 1, sizeof(**v));
	(*v)[0] = xstrdup(first);
	for (n = off, i = is_null(seq) ? NULL : seq->data.sequence.items.start;
	    i != NULL && i < seq->data.sequence.items.top; i++) {
		item = yaml_document_get_node(k->doc, *i);
		if (item == NULL || item->type != YAML_SCALAR_NODE ||
		    strlen((char *)item->data.scalar.value) !=
		    item->data.scalar.length)
			return errf(k->err, k->errlen, "%s has invalid %s (an "
			    "entry is not a string)", what, key);
		(*v)[n++] = xstrdup((char *)item->data.scalar.value);
	}
	return 0;
}

/* exec.env: a list of {name, value} into "name=value" strings. */
static int
get_env(struct kc *k, yaml_node_t *ex, const char *user, const char *what,
    struct kube_exec *e)
{
	yaml_node_t *seq = map_get(k->doc, ex, "env"), *item;
	yaml_node_item_t *i;
	const char *name, *value;
	size_t	 n = 0;

	if (!is_null(seq) && seq->type != YAML_SEQUENCE_NODE)
		return errf(k->err, k->errlen, "%s has invalid env (not a "
		    "list)", what);
	if (!is_null(seq))
		n = (size_t)(seq->data.sequence.items.top -
		    seq->data.sequence.items.start);
	e->env = xcalloc(n + 1, sizeof(*e->env));
	for (n = 0, i = is_null(seq) ? NULL : seq->data.sequence.items.start;
	    i != NULL && i < seq->data.sequence.items.top; i++) {
		item = yaml_document_get_node(k->doc, *i);
		if (item == NULL || item->type != YAML_MAPPING_NODE)
			return errf(k->err, k->errlen, "%s has invalid env (an "
			    "entry is not a mapping)", what);
		if (get_str(k, item, "name", what, &name) == -1 ||
		    get_str(k, item, "value", what, &value) == -1)
			return -1;
		if (name == NULL)
			return errf(k->err, k->errlen, "env variable name must "
			    "be specified for %s to use exec authentication "
			    "plugin", user);
		if (strchr(name, '=') != NULL)
			return errf(k->err, k->errlen, "%s has invalid env "
			    "name (contains '=')", what);
		e->env[n++] = xasprintf("%s=%s", name, value ? value : "");
	}
	return 0;
}

/*
 * users[].user.exec, checked as client-go's validateAuthInfo and
 * SetDefaults_ExecConfig do. user: `user "u"`.
 */
static int
load_exec(struct kc *k, yaml_node_t *ex, const char *user)
{
	static const char v1[] = "client.authentication.k8s.io/v1";
	static const char v1beta1[] = "client.authentication.k8s.io/v1beta1";
	struct kube_exec *e;
	const char *cmd, *api, *hint, *mode, *pci;
	char	 what[NAME_MAX_SHOWN + 32], buf[NAME_MAX_SHOWN];

	snprintf(what, sizeof(what), "%s exec", user);
	if (ex->type != YAML_MAPPING_NODE)
		return errf(k->err, k->errlen, "%s is not a mapping", what);
	e = k->c->exec = xcalloc(1, sizeof(*e));
	if (get_str(k, ex, "command", what, &cmd) == -1 ||
	    get_str(k, ex, "apiVersion", what, &api) == -1 ||
	    get_str(k, ex, "installHint", what, &hint) == -1 ||
	    get_str(k, ex, "interactiveMode", what, &mode) == -1 ||
	    get_str(k, ex, "provideClusterInfo", what, &pci) == -1)
		return -1;
	if (cmd == NULL)
		return errf(k->err, k->errlen, "command must be specified for "
		    "%s to use exec authentication plugin", user);
	if (api == NULL)
		return errf(k->err, k->errlen, "apiVersion must be specified "
		    "for %s to use exec authentication plugin", user);
	if (strcmp(api, v1) != 0 && strcmp(api, v1beta1) != 0)
		return errf(k->err, k->errlen, "%s: exec plugin: invalid "
		    "apiVersion \"%s\" (want %s or %s)", user,
		    shown(api, buf, sizeof(buf)), v1, v1beta1);
	if (mode == NULL && strcmp(api, v1) == 0)
		return errf(k->err, k->errlen, "interactiveMode must be "
		    "specified for %s to use exec authentication plugin",
		    user);
	if (mode == NULL || strcmp(mode, "IfAvailable") == 0)
		e->mode = KUBE_EXEC_IFAVAILABLE;
	else if (strcmp(mode, "Never") == 0)
		e->mode = KUBE_EXEC_NEVER;
	else if (strcmp(mode, "Always") == 0)
		e->mode = KUBE_EXEC_ALWAYS;
	else
		return errf(k->err, k->errlen, "invalid interactiveMode for %s: "
		    "\"%s\" (want Never, IfAvailable or Always)", user,
		    shown(mode, buf, sizeof(buf)));
	if (pci != NULL && parse_bool(pci, &e->provide_cluster_info) == -1)
		return errf(k->err, k->errlen, "%s has invalid "
		    "provideClusterInfo \"%s\" (want true or false)", what,
		    shown(pci, buf, sizeof(buf)));
	if (e->provide_cluster_info && !is_null(k->exec_ext)) {
		size_t budget = EXT_MAX_NODES;

		if ((e->cluster_config = node_json(k, k->exec_ext, 0,
		    &budget)) == NULL)
			return -1;
	}
	e->api_version = xstrdup(api);
	/* a path (not a name looked up in $PATH) is relative to base_dir */
	if (strchr(cmd, '/') != NULL)
		e->command = resolve_path(k->base_dir, cmd);
	else
		e->command = xstrdup(cmd);
	if (e->command == NULL)
		return errf(k->err, k->errlen, "out of memory");
	e->install_hint = hint ? xstrdup(hint) : NULL;
	/* argv[0] as written, like Go */
	if (get_strlist(k, ex, "args", what, cmd, &e->argv) == -1)
		return -1;
	return get_env(k, ex, user, what, e);
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
	if (set_str(k, &c->user, name) == -1)
		return -1;
	if (c->token != NULL || has_cert)
		return 0;
	if (!is_null(map_get(k->doc, u, "exec")))
		return load_exec(k, map_get(k->doc, u, "exec"), what);
	if (!is_null(map_get(k->doc, u, "auth-provider")))
		return errf(k->err, k->errlen, "%s uses an auth-provider "
		    "credential plugin, which is not supported (kubectl "
		    "dropped it in 1.26); use an exec plugin (e.g. kubelogin) "
		    "or a token (oc login, then oc whoami -t)", what);
	if (!is_null(map_get(k->doc, u, "username")))
		return errf(k->err, k->errlen, "%s uses basic auth (username/password), "
		    "which is not supported; use a token instead", what);
	return 0;
}

/* --- parsed documents ---------------------------------------------------- */

static int
cmp_str(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/*
 * A top-level list (clusters, contexts, users) as kubectl loads it: a list
 * of mappings whose name is a string (absent: ""), whose `kind` is empty or
 * a mapping, and no name twice.
 */
static int
check_list(struct kc *k, const char *list, const char *kind)
{
	yaml_node_t *seq, *item, *body;
	yaml_node_item_t *i;
	const char **names, *name;
	char	 what[32], buf[NAME_MAX_SHOWN];
	size_t	 n = 0, j;
	int	 rc = 0;

	seq = map_get(k->doc, yaml_document_get_root_node(k->doc), list);
	if (is_null(seq))
		return 0;
	if (seq->type != YAML_SEQUENCE_NODE)
		return errf(k->err, k->errlen, "%s is not a list", list);
	names = xcalloc((size_t)(seq->data.sequence.items.top -
	    seq->data.sequence.items.start) + 1, sizeof(*names));
	snprintf(what, sizeof(what), "an entry of %s", list);
	for (i = seq->data.sequence.items.start;
	    rc == 0 && i < seq->data.sequence.items.top; i++) {
		item = yaml_document_get_node(k->doc, *i);
		if (item == NULL || item->type != YAML_MAPPING_NODE) {
			rc = errf(k->err, k->errlen, "%s is not a mapping", what);
			break;
		}
		if ((rc = get_str(k, item, "name", what, &name)) == -1)
			break;
		names[n++] = name ? name : "";
		body = map_get(k->doc, item, kind);
		if (!is_null(body) && body->type != YAML_MAPPING_NODE)
			rc = errf(k->err, k->errlen, "%s \"%s\" is not a mapping",
			    kind, shown(names[n - 1], buf, sizeof(buf)));
	}
	if (rc == 0 && n > 1) {
		qsort(names, n, sizeof(*names), cmp_str);
		for (j = 1; j < n && rc == 0; j++)
			if (strcmp(names[j - 1], names[j]) == 0)
				rc = errf(k->err, k->errlen, "duplicate name "
				    "\"%s\" in %s", shown(names[j], buf,
				    sizeof(buf)), list);
	}
	free(names);
	return rc;
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

/* Parse yaml into k->doc and check its shape as kubectl's loading does. */
static int
load_yaml(struct kc *k, const char *yaml, size_t len)
{
	yaml_parser_t	p;
	yaml_node_t	*root;
	const char	*cur;
	int		rc = 0;

	if (!yaml_parser_initialize(&p))
		return errf(k->err, k->errlen, "out of memory");
	yaml_parser_set_input_string(&p, (const unsigned char *)yaml, len);
	if (!yaml_parser_load(&p, k->doc)) {
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
	root = yaml_document_get_root_node(k->doc);
	if (root != NULL && !is_null(root) && root->type != YAML_MAPPING_NODE)
		rc = errf(k->err, k->errlen, "not a kubeconfig (top level is not a mapping)");
	else if (get_str(k, root, "current-context", "kubeconfig", &cur) ==
	    -1 || check_list(k, "clusters", "cluster") == -1 ||
	    check_list(k, "contexts", "context") == -1 ||
	    check_list(k, "users", "user") == -1)
		rc = -1;
	if (rc == -1)
		yaml_document_delete(k->doc);
	return rc;
}

struct kubeconfig_doc *
kubeconfig_doc_parse(const char *yaml, size_t len, const char *path,
    const char *base_dir, char *err, size_t errlen)
{
	struct kubeconfig_doc *d = xcalloc(1, sizeof(*d));
	struct kc	k;
	char		reason[512];

	memset(&k, 0, sizeof(k));
	k.doc = &d->doc;
	k.err = path ? reason : err;
	k.errlen = path ? sizeof(reason) : errlen;
	if (load_yaml(&k, yaml, len) == -1) {
		if (path != NULL)
			errf(err, errlen, "kubeconfig %s: %s", path, reason);
		free(d);
		return NULL;
	}
	d->path = path ? xstrdup(path) : NULL;
	d->base_dir = base_dir ? xstrdup(base_dir) : NULL;
	return d;
}

void
kubeconfig_doc_free(struct kubeconfig_doc *d)
{
	if (d == NULL)
		return;
	yaml_document_delete(&d->doc);
	free(d->path);
	free(d->base_dir);
	free(d);
}

/* --- the merge ------------------------------------------------------------ */

#define CONTEXTS_SHOWN	12	/* names of contexts an error lists */

/*
 * The first of docs[0..n) with an entry named name in list: its index
 * (n if none) and the entry's body in *body.
 */
static size_t
first_named(struct kubeconfig_doc *const *docs, size_t n, const char *list,
    const char *kind, const char *name, yaml_node_t **body)
{
	size_t	i;

	for (i = 0; i < n; i++)
		if (entry_named(&docs[i]->doc, list, kind, name, body))
			return i;
	return n;
}

/* "(contexts: a, b)" or "(no contexts)": the merged config's, each once. */
static void
contexts_shown(struct kubeconfig_doc *const *docs, size_t n, char *out,
    size_t outlen)
{
	yaml_node_t *seq, *body;
	yaml_node_item_t *it;
	const char *name, *seen[CONTEXTS_SHOWN];
	char	 buf[NAME_MAX_SHOWN];
	size_t	 i, j, nseen = 0, len;
	int	 more = 0;

	snprintf(out, outlen, "(contexts: ");
	for (i = 0; i < n; i++) {
		seq = map_get(&docs[i]->doc,
		    yaml_document_get_root_node(&docs[i]->doc), "contexts");
		if (is_null(seq) || seq->type != YAML_SEQUENCE_NODE)
			continue;
		for (it = seq->data.sequence.items.start;
		    it < seq->data.sequence.items.top; it++) {
			body = map_get(&docs[i]->doc, yaml_document_get_node(
			    &docs[i]->doc, *it), "name");
			if (is_null(body) || body->type != YAML_SCALAR_NODE)
				continue;
			name = (const char *)body->data.scalar.value;
			for (j = 0; j < nseen && strcmp(seen[j], name); j++)
				;
			if (j < nseen)
				continue;
			if (nseen == CONTEXTS_SHOWN) {
				more = 1;
				continue;
			}
			seen[nseen] = name;
			len = strlen(out);
			snprintf(out + len, outlen - len, "%s%s",
			    nseen++ ? ", " : "", shown(name, buf, sizeof(buf)));
		}
	}
	len = strlen(out);
	if (nseen == 0)
		snprintf(out, outlen, "(no contexts)");
	else
		snprintf(out + len, outlen - len, "%s)", more ? ", ..." : "");
}

/* The merge; *which: the document an error is about, n for all. */
static int
merge(struct kubeconfig_doc *const *docs, size_t n, const char *context,
    struct kubeconfig_pick *p, size_t *which, char *err, size_t errlen)
{
	struct kc	 k;
	yaml_node_t	*ctx, *body;
	const char	*cur;
	char		 what[NAME_MAX_SHOWN + 16], buf[NAME_MAX_SHOWN];
	char		 list[CONTEXTS_SHOWN * (NAME_MAX_SHOWN + 2) + 32];
	size_t		 i;

	memset(&k, 0, sizeof(k));
	k.err = err;
	k.errlen = errlen;
	*which = n;
	p->context = context;
	for (i = 0; p->context == NULL && i < n; i++) {
		k.doc = &docs[i]->doc;
		if (get_str(&k, yaml_document_get_root_node(k.doc),
		    "current-context", "kubeconfig", &cur) == -1) {
			*which = i;
			return -1;
		}
		p->context = cur;	/* the first that sets it */
	}
	contexts_shown(docs, n, list, sizeof(list));
	if (p->context == NULL || p->context[0] == '\0')
		return errf(err, errlen, "no current-context set and no "
		    "--context given %s", list);
	if ((p->context_doc = first_named(docs, n, "contexts", "context",
	    p->context, &ctx)) == n)
		return errf(err, errlen, "%s \"%s\" not found %s", context ?
		    "--context" : "current-context", shown(p->context, buf,
		    sizeof(buf)), list);
	*which = p->context_doc;
	k.doc = &docs[p->context_doc]->doc;
	snprintf(what, sizeof(what), "context \"%s\"",
	    shown(p->context, buf, sizeof(buf)));
	if (get_str(&k, ctx, "cluster", what, &p->cluster) == -1 ||
	    get_str(&k, ctx, "user", what, &p->user) == -1 ||
	    get_str(&k, ctx, "namespace", what, &p->namespace) == -1)
		return -1;
	if (p->cluster == NULL)
		return errf(err, errlen, "%s has no cluster", what);
	*which = n;
	if ((p->cluster_doc = first_named(docs, n, "clusters", "cluster",
	    p->cluster, &body)) == n)
		return errf(err, errlen, "cluster \"%s\" not found",
		    shown(p->cluster, buf, sizeof(buf)));
	if (p->user != NULL && (p->user_doc = first_named(docs, n, "users",
	    "user", p->user, &body)) == n)
		return errf(err, errlen, "user \"%s\" not found",
		    shown(p->user, buf, sizeof(buf)));
	return 0;
}

#define FILES_SHOWN	4	/* files an error about the merge names */

/*
 * "kubeconfig PATH: " for docs[which], or for all of them when which is n
 * ("kubeconfigs A, B: ", at most FILES_SHOWN); "" for documents without a
 * path.
 */
static void
where(struct kubeconfig_doc *const *docs, size_t n, size_t which, char *out,
    size_t outlen)
{
	size_t	i, len;

	out[0] = '\0';
	if (which < n || n == 1) {
		if (docs[which < n ? which : 0]->path != NULL)
			snprintf(out, outlen, "kubeconfig %s: ",
			    docs[which < n ? which : 0]->path);
		return;
	}
	for (i = 0; i < n && docs[i]->path != NULL; i++) {
		len = strlen(out);
		snprintf(out + len, outlen - len, "%s%s", i ? ", " :
		    "kubeconfigs ", i < FILES_SHOWN ? docs[i]->path : "...");
		if (i == FILES_SHOWN)
			break;
	}
	len = strlen(out);
	if (len > 0)
		snprintf(out + len, outlen - len, ": ");
}

/* The error in reason, said about docs[which] (see where()). */
static int
err_about(struct kubeconfig_doc *const *docs, size_t n, size_t which,
    const char *reason, char *err, size_t errlen)
{
	char	pre[1024];

	where(docs, n, which, pre, sizeof(pre));
	return errf(err, errlen, "%s%s", pre, reason);
}

int
kubeconfig_merge(struct kubeconfig_doc *const *docs, size_t n,
    const char *context, struct kubeconfig_pick *p, char *err, size_t errlen)
{
	char	reason[2048];
	size_t	which;

	memset(p, 0, sizeof(*p));
	if (n == 0)
		return errf(err, errlen, "no kubeconfig");
	if (merge(docs, n, context, p, &which, reason, sizeof(reason)) == 0)
		return 0;
	memset(p, 0, sizeof(*p));
	return err_about(docs, n, which, reason, err, errlen);
}

/* --- credentials from the merged config -------------------------------- */

/* "kubeconfig A[, B]": the files the context, cluster and user came from. */
static char *
source_of(struct kubeconfig_doc *const *docs, const struct kubeconfig_pick *p)
{
	size_t	 idx[3] = { p->context_doc, p->cluster_doc, p->user_doc };
	size_t	 i, j, nidx = p->user ? 3 : 2;
	char	*s = NULL, *t;

	for (i = 0; i < nidx; i++) {
		for (j = 0; j < i && idx[j] != idx[i]; j++)
			;
		if (j < i || docs[idx[i]]->path == NULL)
			continue;
		t = xasprintf("%s%s%s", s ? s : "kubeconfig ", s ? ", " : "",
		    docs[idx[i]]->path);
		free(s);
		s = t;
	}
	return s;
}

int
kubeconfig_creds(struct kubeconfig_doc *const *docs, size_t n,
    const struct kubeconfig_pick *p, struct kube_creds *out, char *err,
    size_t errlen)
{
	struct kc	k;
	char		reason[1024];
	size_t		which = p->cluster_doc;

	memset(out, 0, sizeof(*out));
	memset(&k, 0, sizeof(k));
	k.err = reason;
	k.errlen = sizeof(reason);
	k.c = out;
	out->context = xstrdup(p->context);
	out->cluster = xstrdup(p->cluster);
	out->namespace = p->namespace ? xstrdup(p->namespace) : NULL;
	k.doc = &docs[which]->doc;
	k.base_dir = docs[which]->base_dir;
	if (load_cluster(&k, p->cluster) == -1)
		goto fail;
	if (p->user != NULL) {
		which = p->user_doc;
		k.doc = &docs[which]->doc;
		k.base_dir = docs[which]->base_dir;
		if (load_user(&k, p->user) == -1)
			goto fail;
	}
	out->source = source_of(docs, p);
	return 0;
fail:
	kubeconfig_free(out);
	return err_about(docs, n, which, reason, err, errlen);
}

int
kubeconfig_parse(const char *yaml, size_t len, const char *base_dir,
    const char *context, struct kube_creds *out, char *err, size_t errlen)
{
	struct kubeconfig_doc	*d;
	struct kubeconfig_pick	 p;
	int			 rc = -1;

	memset(out, 0, sizeof(*out));
	if ((d = kubeconfig_doc_parse(yaml, len, NULL, base_dir, err,
	    errlen)) == NULL)
		return -1;
	if (kubeconfig_merge(&d, 1, context, &p, err, errlen) == 0)
		rc = kubeconfig_creds(&d, 1, &p, out, err, errlen);
	kubeconfig_doc_free(d);
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

static void
strs_free(char **v)
{
	size_t	i;

	for (i = 0; v != NULL && v[i] != NULL; i++)
		free(v[i]);
	free(v);
}

/* --- finding the kubeconfig -------------------------------------------- */

char **
kubeconfig_paths(const char *flag, const char *env, const char *home,
    enum kubeconfig_from *from)
{
	char	**v;
	const char *p, *end;
	size_t	 n = 0, i, len;

	if (flag != NULL) {
		*from = KUBECONFIG_FROM_FLAG;
		v = xcalloc(2, sizeof(*v));
		v[0] = xstrdup(flag);
		return v;
	}
	if (env != NULL && env[0] != '\0') {
		*from = KUBECONFIG_FROM_ENV;
		v = xcalloc(strlen(env) / 2 + 2, sizeof(*v));
		for (p = env; *p != '\0'; p = *end ? end + 1 : end) {
			end = strchrnul(p, ':');
			len = (size_t)(end - p);
			for (i = 0; i < n && (strlen(v[i]) != len ||
			    strncmp(v[i], p, len) != 0); i++)
				;
			if (len > 0 && i == n)	/* empty entries and repeats */
				v[n++] = xasprintf("%.*s", (int)len, p);
		}
		return v;
	}
	*from = KUBECONFIG_FROM_HOME;
	v = xcalloc(2, sizeof(*v));
	if (home != NULL && home[0] != '\0')
		v[0] = xasprintf("%s/.kube/config", home);
	return v;
}

/* The directory of path, absolute (as Go's filepath.Abs(filepath.Dir())). */
static char *
abs_dir_of(const char *path)
{
	const char *slash = strrchr(path, '/');
	char	*dir, *abs, cwd[4096];

	if (slash == NULL)
		dir = xstrdup(".");
	else if (slash == path)
		dir = xstrdup("/");
	else
		dir = xasprintf("%.*s", (int)(slash - path), path);
	if (dir[0] != '/' && getcwd(cwd, sizeof(cwd)) != NULL)
		abs = kubeconfig_resolve(cwd, dir);
	else	/* absolute, or relative to a lost working directory */
		abs = path_clean(dir);
	free(dir);
	return abs;
}

/* Read and parse the kubeconfig at path; what names it in errors. */
static struct kubeconfig_doc *
doc_read(const char *path, const char *what, char *err, size_t errlen)
{
	struct kubeconfig_doc *d;
	char	*yaml, *dir, reason[512];
	size_t	 len;

	if ((yaml = read_file(path, MAX_FILE, &len, reason,
	    sizeof(reason))) == NULL) {
		errf(err, errlen, "%s %s", what, reason);
		return NULL;
	}
	dir = abs_dir_of(path);
	d = kubeconfig_doc_parse(yaml, len, path, dir, err, errlen);
	free(dir);
	free(yaml);
	return d;
}

/* No kubeconfig file: the in-cluster service account, or why not. */
static int
no_kubeconfig(const char *context, const char *home_file, int home_unset,
    struct kube_creds *out, char *err, size_t errlen)
{
	char	buf[NAME_MAX_SHOWN], tried[1024];
	int	rc;

	if (home_unset && home_file != NULL)
		snprintf(tried, sizeof(tried), "KUBECONFIG and HOME are not "
		    "set, and %s (the home directory of the password "
		    "database) does not exist", home_file);
	else if (home_unset)
		snprintf(tried, sizeof(tried), "KUBECONFIG and HOME are not "
		    "set");
	else
		snprintf(tried, sizeof(tried), "KUBECONFIG is not set and %s "
		    "does not exist", home_file);
	if (getenv("KUBERNETES_SERVICE_HOST") == NULL)
		return errf(err, errlen, "no kubeconfig found: %s; not "
		    "running in a pod either; use --kubeconfig, set KUBECONFIG"
		    "%s, or log in with 'oc login'", tried, home_unset ?
		    " (a systemd unit has no HOME without User=)" : "");
	if (context != NULL)
		return errf(err, errlen, "--context \"%s\" given but no "
		    "kubeconfig found: %s", shown(context, buf, sizeof(buf)),
		    tried);
	if ((rc = load_incluster(out, err, errlen)) == -1)
		kubeconfig_free(out);
	return rc;
}

int
kubeconfig_load(const char *path, const char *context,
    struct kube_creds *out, char *err, size_t errlen)
{
	const char *home = getenv("HOME"), *env = getenv("KUBECONFIG");
	struct kubeconfig_doc **docs;
	struct kubeconfig_pick p;
	enum kubeconfig_from from;
	struct passwd *pw;
	struct stat st;
	char	**paths, buf[NAME_MAX_SHOWN * 4];
	size_t	 i, n = 0;
	int	 rc = -1, home_unset = home == NULL || home[0] == '\0';

	memset(out, 0, sizeof(*out));
	if (path != NULL && path[0] == '\0')	/* kubectl would ignore it */
		return errf(err, errlen, "--kubeconfig is empty: name the "
		    "kubeconfig file");
	if (home_unset)
		home = (pw = getpwuid(getuid())) ? pw->pw_dir : NULL;
	paths = kubeconfig_paths(path, env, home, &from);
	for (i = 0; paths[i] != NULL; i++)
		;
	docs = xcalloc(i + 1, sizeof(*docs));
	for (i = 0; paths[i] != NULL; i++) {
		/* a file of $KUBECONFIG or ~ that does not exist is skipped */
		if (from != KUBECONFIG_FROM_FLAG && stat(paths[i], &st) ==
		    -1 && errno == ENOENT)
			continue;
		if ((docs[n] = doc_read(paths[i], from == KUBECONFIG_FROM_FLAG ?
		    "--kubeconfig" : "kubeconfig", err, errlen)) == NULL)
			goto done;
		n++;
	}
	if (n > 0) {
		if (kubeconfig_merge(docs, n, context, &p, err, errlen) == 0)
			rc = kubeconfig_creds(docs, n, &p, out, err, errlen);
	} else if (from == KUBECONFIG_FROM_ENV)
		errf(err, errlen, "KUBECONFIG=%s: none of its files exists; "
		    "fix KUBECONFIG or use --kubeconfig",
		    shown(env, buf, sizeof(buf)));
	else
		rc = no_kubeconfig(context, paths[0], home_unset, out, err,
		    errlen);
done:
	for (i = 0; i < n; i++)
		kubeconfig_doc_free(docs[i]);
	free(docs);
	strs_free(paths);
	return rc;
}

static void
exec_free(struct kube_exec *e)
{
	if (e == NULL)
		return;
	free(e->api_version);
	free(e->command);
	strs_free(e->argv);
	strs_free(e->env);
	free(e->install_hint);
	json_decref(e->cluster_config);
	free(e);
}

void
kubeconfig_free(struct kube_creds *c)
{
	if (c == NULL)
		return;
	exec_free(c->exec);
	free(c->user);
	free(c->tls_server_name);
	free(c->proxy_url);
	free(c->server);
	free(c->namespace);
	free(c->context);
	free(c->cluster);
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

/* --- exec credential plugins: the pure parts ---------------------------- */

char *
kube_exec_info(const struct kube_creds *c, const char *ca, size_t ca_len,
    int interactive)
{
	json_t	*root, *spec, *cl;
	char	*out, *b64;

	spec = json_pack("{s:b}", "interactive", interactive);
	if (c->exec->provide_cluster_info) {
		cl = json_pack("{s:s}", "server", c->server);
		if (c->tls_server_name != NULL)
			json_object_set_new(cl, "tls-server-name",
			    json_string(c->tls_server_name));
		if (c->insecure)
			json_object_set_new(cl, "insecure-skip-tls-verify",
			    json_true());
		if (ca != NULL && ca_len > 0 && !c->insecure) {
			b64 = b64_encode(ca, ca_len);
			json_object_set_new(cl, "certificate-authority-data",
			    json_string(b64));
			free(b64);
		}
		if (c->proxy_url != NULL)
			json_object_set_new(cl, "proxy-url",
			    json_string(c->proxy_url));
		/* the cluster's client.authentication.k8s.io/exec
		 * extension; without one, client-go's empty RawExtension */
		json_object_set(cl, "config", c->exec->cluster_config ?
		    c->exec->cluster_config : json_null());
		json_object_set_new(spec, "cluster", cl);
	}
	root = json_pack("{s:s,s:s,s:o}", "kind", "ExecCredential",
	    "apiVersion", c->exec->api_version, "spec", spec);
	if (root == NULL || (out = json_dumps(root,
	    JSON_COMPACT | JSON_PRESERVE_ORDER)) == NULL) {
		fputs("drain-and-rollout: out of memory\n", stderr);
		abort();
	}
	json_decref(root);
	return out;
}

/* RFC 3339 (Go's time.RFC3339, with optional fraction) to epoch seconds. */
static int
parse_rfc3339(const char *s, double *out)
{
	struct tm tm;
	int	 n = 0, oh, om;
	double	 frac = 0;
	char	*end;
	time_t	 t;

	memset(&tm, 0, sizeof(tm));
	if (sscanf(s, "%4d-%2d-%2d%*1[Tt]%2d:%2d:%2d%n", &tm.tm_year,
	    &tm.tm_mon, &tm.tm_mday, &tm.tm_hour, &tm.tm_min, &tm.tm_sec,
	    &n) != 6 || n != 19)
		return -1;
	s += n;
	if (*s == '.') {
		if (s[1] < '0' || s[1] > '9')
			return -1;
		frac = strtod(s, &end);
		s = end;
	}
	if (tm.tm_mon < 1 || tm.tm_mon > 12 || tm.tm_mday < 1 ||
	    tm.tm_mday > 31 || tm.tm_hour > 23 || tm.tm_min > 59 ||
	    tm.tm_sec > 60)
		return -1;
	tm.tm_year -= 1900;
	tm.tm_mon -= 1;
	if ((t = timegm(&tm)) == (time_t)-1)
		return -1;
	if (*s == 'Z' || *s == 'z')
		s++;
	else if ((*s == '+' || *s == '-') && sscanf(s + 1, "%2d:%2d%n", &oh,
	    &om, &n) == 2 && n == 5 && oh < 24 && om < 60) {
		t -= (*s == '+' ? 1 : -1) * (oh * 3600 + om * 60);
		s += 6;
	} else
		return -1;
	if (*s != '\0')
		return -1;
	*out = (double)t + frac;
	return 0;
}

static int
opt_string(json_t *st, const char *key, const char **out, char *err,
    size_t errlen)
{
	json_t	*v = json_object_get(st, key);

	*out = NULL;
	if (v == NULL || json_is_null(v))
		return 0;
	if (!json_is_string(v))
		return errf(err, errlen, "exec plugin returned an invalid "
		    "ExecCredential: status.%s is not a string", key);
	if (strlen(json_string_value(v)) != json_string_length(v))
		return errf(err, errlen, "exec plugin returned an invalid "
		    "ExecCredential: status.%s contains NUL", key);
	if (json_string_length(v) > 0)
		*out = json_string_value(v);
	return 0;
}

int
kube_exec_parse(const char *out, size_t len, const char *api_version,
    struct kube_exec_cred *cred, char *err, size_t errlen)
{
	json_t		*root, *st, *v;
	json_error_t	 je;
	const char	*kind, *api, *tok, *cert, *key, *exp;
	char		 buf[NAME_MAX_SHOWN];
	int		 rc = -1;

	memset(cred, 0, sizeof(*cred));
	/* je.text can quote the output, which may hold the secret: not shown */
	if ((root = json_loadb(out, len, 0, &je)) == NULL)
		return errf(err, errlen, "exec plugin's output is not an "
		    "ExecCredential: not JSON (line %d, column %d)", je.line,
		    je.column);
	kind = json_string_value(json_object_get(root, "kind"));
	api = json_string_value(json_object_get(root, "apiVersion"));
	st = json_object_get(root, "status");
	if (!json_is_object(root))
		errf(err, errlen, "exec plugin's output is not an "
		    "ExecCredential: not a JSON object");
	else if (kind == NULL || strcmp(kind, "ExecCredential") != 0)
		errf(err, errlen, "exec plugin's output is not an "
		    "ExecCredential: kind is \"%s\"",
		    shown(kind ? kind : "", buf, sizeof(buf)));
	else if (api == NULL || strcmp(api, api_version) != 0)
		errf(err, errlen, "exec plugin is configured to use API version "
		    "%s, plugin returned version \"%s\"", api_version,
		    shown(api ? api : "", buf, sizeof(buf)));
	else if (!json_is_object(st))
		errf(err, errlen, "exec plugin didn't return a status field");
	else if (opt_string(st, "token", &tok, err, errlen) == 0 &&
	    opt_string(st, "clientCertificateData", &cert, err, errlen) == 0 &&
	    opt_string(st, "clientKeyData", &key, err, errlen) == 0 &&
	    opt_string(st, "expirationTimestamp", &exp, err, errlen) == 0) {
		if (tok == NULL && cert == NULL && key == NULL)
			errf(err, errlen, "exec plugin didn't return a token "
			    "or cert/key pair");
		else if ((cert == NULL) != (key == NULL))
			errf(err, errlen, "exec plugin returned only "
			    "certificate or key, not both");
		else if (tok != NULL && has_ctrl(tok))
			errf(err, errlen, "exec plugin returned an invalid "
			    "token (control characters)");
		else if (exp != NULL && parse_rfc3339(exp, &cred->expires) ==
		    -1)
			errf(err, errlen, "exec plugin returned an invalid "
			    "status.expirationTimestamp \"%s\" (want RFC 3339)",
			    shown(exp, buf, sizeof(buf)));
		else {
			cred->token = tok ? xstrdup(tok) : NULL;
			if (cert != NULL) {
				cred->cert_pem = xstrdup(cert);
				cred->cert_pem_len = strlen(cert);
				cred->key_pem = xstrdup(key);
				cred->key_pem_len = strlen(key);
			}
			rc = 0;
		}
	}
	v = json_object_get(st, "token");
	if (json_is_string(v))	/* jansson's copy of the secret */
		explicit_bzero((char *)json_string_value(v),
		    json_string_length(v));
	v = json_object_get(st, "clientKeyData");
	if (json_is_string(v))
		explicit_bzero((char *)json_string_value(v),
		    json_string_length(v));
	json_decref(root);
	return rc;
}

void
kube_exec_cred_free(struct kube_exec_cred *cred)
{
	if (cred->token != NULL) {
		explicit_bzero(cred->token, strlen(cred->token));
		free(cred->token);
	}
	free(cred->cert_pem);
	if (cred->key_pem != NULL) {
		explicit_bzero(cred->key_pem, cred->key_pem_len);
		free(cred->key_pem);
	}
	memset(cred, 0, sizeof(*cred));
}
