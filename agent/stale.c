/* stale.c -- image staleness and image triggers, pure; see include/stale.h. */
#include <ctype.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "stale.h"
#include "util.h"

/* "sha256:" + 64 lower-case hex */
static int
is_digest(const char *s, size_t len)
{
	size_t	i;

	if (len != DIGEST_LEN - 1 || strncmp(s, "sha256:", 7) != 0)
		return 0;
	for (i = 7; i < len; i++)
		if (!isdigit((unsigned char)s[i]) && (s[i] < 'a' || s[i] > 'f'))
			return 0;
	return 1;
}

int
image_digest(const char *id, char out[DIGEST_LEN])
{
	const char	*at;

	if (id == NULL)
		return -1;
	at = strrchr(id, '@');
	at = at != NULL ? at + 1 : id;
	if (!is_digest(at, strlen(at)))
		return -1;
	memcpy(out, at, DIGEST_LEN);
	return 0;
}

/* The container a fieldPath names: containers[?(@.name=="X")].image, or
 * containers[N].image. 0, or -1: none. */
static int
field_container(const char *fp, char **name, long *idx)
{
	static const char	 pre[] = "spec.template.spec.containers[";
	const char		*p, *q;
	char			*end;

	*name = NULL;
	*idx = -1;
	if (fp == NULL || strncmp(fp, pre, sizeof pre - 1) != 0)
		return -1;
	p = fp + sizeof pre - 1;
	if (strncmp(p, "?(@.name==", 10) == 0) {
		p += 10;
		if (*p != '"' && *p != '\'')
			return -1;
		if ((q = strchr(p + 1, *p)) == NULL || q == p + 1)
			return -1;
		if (strcmp(q + 1, ")].image") != 0)
			return -1;
		*name = xasprintf("%.*s", (int)(q - p - 1), p + 1);
		return 0;
	}
	if (!isdigit((unsigned char)*p))
		return -1;
	*idx = strtol(p, &end, 10);
	return strcmp(end, "].image") == 0 ? 0 : -1;
}

static int
paused_of(json_t *v, int *paused)
{
	if (v == NULL || json_is_null(v))
		*paused = 0;
	else if (json_is_boolean(v))
		*paused = json_is_true(v);
	else if (json_is_string(v) &&
	    strcasecmp(json_string_value(v), "true") == 0)
		*paused = 1;
	else if (json_is_string(v) &&
	    strcasecmp(json_string_value(v), "false") == 0)
		*paused = 0;
	else
		return -1;
	return 0;
}

/* The annotation parsed and checked: the array, or NULL and err. */
static json_t *
triggers_json(const char *text, char *err, size_t errlen)
{
	json_t		*a, *e, *from;
	json_error_t	 je;
	size_t		 i;
	int		 p;

	if ((a = json_loads(text, JSON_DECODE_ANY, &je)) == NULL) {
		errf(err, errlen, "%s is not JSON: %s", TRIGGERS_ANNOTATION,
		    je.text);
		return NULL;
	}
	if (!json_is_array(a)) {
		json_decref(a);
		errf(err, errlen, "%s is not a JSON array", TRIGGERS_ANNOTATION);
		return NULL;
	}
	json_array_foreach(a, i, e) {
		from = json_object_get(e, "from");
		if (!json_is_object(e) || json_string_value(json_object_get(from,
		    "name")) == NULL) {
			json_decref(a);
			errf(err, errlen, "%s: entry %zu has no from.name",
			    TRIGGERS_ANNOTATION, i);
			return NULL;
		}
		if (paused_of(json_object_get(e, "paused"), &p) == -1) {
			json_decref(a);
			errf(err, errlen, "%s: entry %zu: \"paused\" is neither "
			    "true nor false", TRIGGERS_ANNOTATION, i);
			return NULL;
		}
	}
	return a;
}

int
triggers_parse(const char *text, struct image_triggers *t, char *err,
    size_t errlen)
{
	json_t			*a, *e, *from;
	const char		*kind;
	struct image_trigger	 x;
	size_t			 i;

	memset(t, 0, sizeof *t);
	if (text == NULL || *text == '\0')
		return 0;
	if ((a = triggers_json(text, err, errlen)) == NULL)
		return -1;
	json_array_foreach(a, i, e) {
		from = json_object_get(e, "from");
		kind = json_string_value(json_object_get(from, "kind"));
		if (kind == NULL || strcmp(kind, "ImageStreamTag") != 0)
			continue;
		memset(&x, 0, sizeof x);
		if (field_container(json_string_value(json_object_get(e,
		    "fieldPath")), &x.container, &x.index) == -1)
			continue;
		(void)paused_of(json_object_get(e, "paused"), &x.paused);
		x.from = xstrdup(json_string_value(json_object_get(from,
		    "name")));
		if (json_string_value(json_object_get(from, "namespace")) !=
		    NULL && *json_string_value(json_object_get(from,
		    "namespace")) != '\0')
			x.ns = xstrdup(json_string_value(json_object_get(from,
			    "namespace")));
		t->v = xrealloc(t->v, (t->n + 1) * sizeof *t->v);
		t->v[t->n++] = x;
	}
	json_decref(a);
	return 0;
}

void
triggers_free(struct image_triggers *t)
{
	size_t	i;

	for (i = 0; i < t->n; i++) {
		free(t->v[i].from);
		free(t->v[i].ns);
		free(t->v[i].container);
	}
	free(t->v);
	memset(t, 0, sizeof *t);
}

const struct image_trigger *
triggers_for(const struct image_triggers *t, const char *name, long idx)
{
	size_t	i;

	for (i = 0; t != NULL && i < t->n; i++)
		if ((t->v[i].container != NULL && name != NULL &&
		    strcmp(t->v[i].container, name) == 0) ||
		    (t->v[i].container == NULL && t->v[i].index == idx))
			return &t->v[i];
	return NULL;
}

char *
triggers_pause_all(const char *text, size_t *changed, char *err,
    size_t errlen)
{
	json_t	*a, *e;
	char	*s;
	size_t	 i;
	int	 p;

	*changed = 0;
	if ((a = triggers_json(text != NULL ? text : "", err, errlen)) == NULL)
		return NULL;
	json_array_foreach(a, i, e) {
		(void)paused_of(json_object_get(e, "paused"), &p);
		if (!p)
			(*changed)++;
		json_object_set_new(e, "paused", json_true());
	}
	s = json_dumps(a, JSON_COMPACT | JSON_PRESERVE_ORDER);
	json_decref(a);
	return s;
}

int
image_ref_parse(const char *image, struct image_ref *ref, char *err,
    size_t errlen)
{
	const char	*at, *slash, *colon, *path, *first_end;
	char		 host[256] = "";
	size_t		 n, comps;

	memset(ref, 0, sizeof *ref);
	if (image == NULL || *image == '\0')
		return errf(err, errlen, "no image");
	if ((at = strchr(image, '@')) != NULL) {
		if (!is_digest(at + 1, strlen(at + 1)))
			return errf(err, errlen, "image %s: a digest that is "
			    "not sha256:<64 hex>", image);
		ref->kind = REF_DIGEST;
		memcpy(ref->digest, at + 1, DIGEST_LEN);
		return 0;
	}
	n = strlen(image);
	path = image;
	first_end = strchr(image, '/');
	if (first_end != NULL) {
		size_t k = (size_t)(first_end - image);
		if (memchr(image, '.', k) != NULL || memchr(image, ':', k) !=
		    NULL || (k == 9 && strncmp(image, "localhost", 9) == 0)) {
			snprintf(host, sizeof host, "%.*s", (int)k, image);
			path = first_end + 1;
		}
	}
	slash = strrchr(path, '/');
	colon = strrchr(path, ':');
	if (colon != NULL && (slash == NULL || colon > slash)) {
		if (colon[1] == '\0' || strlen(colon + 1) >= sizeof ref->tag)
			return errf(err, errlen, "image %s: a bad tag", image);
		snprintf(ref->tag, sizeof ref->tag, "%s", colon + 1);
		n = (size_t)(colon - path);
	} else {
		snprintf(ref->tag, sizeof ref->tag, "latest");
		n = strlen(path);
	}
	if (n == 0)
		return errf(err, errlen, "image %s: no name", image);
	for (comps = 1, slash = path; (slash = memchr(slash, '/', n -
	    (size_t)(slash - path))) != NULL; slash++)
		comps++;
	if (strcmp(host, STALE_REGISTRY) == 0 && comps == 2) {
		slash = memchr(path, '/', n);
		if ((size_t)(slash - path) >= sizeof ref->ns ||
		    n - (size_t)(slash - path) - 1 >= sizeof ref->stream)
			return errf(err, errlen, "image %s: too long", image);
		ref->kind = REF_REGISTRY;
		snprintf(ref->ns, sizeof ref->ns, "%.*s", (int)(slash - path),
		    path);
		snprintf(ref->stream, sizeof ref->stream, "%.*s",
		    (int)(n - (size_t)(slash - path) - 1), slash + 1);
		return 0;
	}
	if (host[0] == '\0' && comps == 1 && n < sizeof ref->stream) {
		ref->kind = REF_SHORT;
		snprintf(ref->stream, sizeof ref->stream, "%.*s", (int)n, path);
		return 0;
	}
	ref->kind = REF_EXTERNAL;
	return 0;
}

void
stale_lookup_of(const char *name, long idx, const char *image,
    const struct image_triggers *t, const char *ns, struct stale_lookup *l)
{
	const struct image_trigger	*tr = triggers_for(t, name, idx);
	struct image_ref		 ref;
	char				 err[300];

	memset(l, 0, sizeof *l);
	snprintf(l->ns, sizeof l->ns, "%s", ns);
	if (tr != NULL) {
		l->via = VIA_TRIGGER;
		if (tr->ns != NULL)
			snprintf(l->ns, sizeof l->ns, "%s", tr->ns);
		snprintf(l->ist, sizeof l->ist, "%s%s", tr->from,
		    strchr(tr->from, ':') != NULL ? "" : ":latest");
		return;
	}
	if (image_ref_parse(image, &ref, err, sizeof err) == -1) {
		l->via = VIA_NONE;
		snprintf(l->why, sizeof l->why, "%s", err);
		return;
	}
	switch (ref.kind) {
	case REF_REGISTRY:
		l->via = VIA_REGISTRY;
		snprintf(l->ns, sizeof l->ns, "%s", ref.ns);
		snprintf(l->ist, sizeof l->ist, "%s:%s", ref.stream, ref.tag);
		return;
	case REF_SHORT:
		l->via = VIA_SHORT;
		snprintf(l->ist, sizeof l->ist, "%s:%s", ref.stream, ref.tag);
		return;
	case REF_DIGEST:
		l->via = VIA_DIGEST;
		memcpy(l->digest, ref.digest, DIGEST_LEN);
		return;
	case REF_EXTERNAL:
		break;
	}
	l->via = VIA_NONE;
	snprintf(l->why, sizeof l->why, "%.200s is a tag on an external "
	    "registry, not an ImageStreamTag: what it names now cannot be "
	    "read", image);
}

int
stale_tag_digest(json_t *ist, const struct stale_lookup *l,
    int resolve_names, char out[DIGEST_LEN], char *why, size_t whylen)
{
	const char	*d;

	if (l->via == VIA_SHORT && !resolve_names &&
	    !json_is_true(json_object_get(json_object_get(ist,
	    "lookupPolicy"), "local")))
		return errf(why, whylen, "ImageStream of %s has no "
		    "lookupPolicy.local: the short name is pulled from "
		    "another registry, not resolved to it", l->ist);
	d = json_string_value(json_object_get(json_object_get(json_object_get(
	    ist, "image"), "metadata"), "name"));
	if (d == NULL)
		return errf(why, whylen, "ImageStreamTag %s has no image",
		    l->ist);
	if (!is_digest(d, strlen(d)))
		return errf(why, whylen, "ImageStreamTag %s: its image %.80s "
		    "is not a sha256 digest", l->ist, d);
	memcpy(out, d, DIGEST_LEN);
	return 0;
}

/* 12 hex digits of a digest ("sha256:" left out), or "-". */
static void
short12(const char *d, char out[13])
{
	if (d == NULL || strlen(d) < 7 + 12)
		snprintf(out, 13, "-");
	else
		snprintf(out, 13, "%.12s", d + 7);
}

enum stale_verdict
stale_decide(const struct stale_container *c, size_t nc,
    const struct stale_running *p, size_t np, struct stale_result *res)
{
	const struct stale_container	*unknown = NULL, *seen_c = NULL;
	char				 d[DIGEST_LEN], seen[DIGEST_LEN] = "";
	size_t				 i, j, shown = 0;

	memset(res, 0, sizeof *res);
	for (i = 0; i < nc; i++) {
		if (c[i].current == NULL) {
			if (unknown == NULL)
				unknown = &c[i];
			continue;
		}
		for (j = 0; j < np; j++) {
			if (p[j].container == NULL || strcmp(p[j].container,
			    c[i].name) != 0 || image_digest(p[j].image_id, d) ==
			    -1)
				continue;
			shown++;
			if (strcmp(d, c[i].current) != 0) {
				res->verdict = STALE_STALE;
				short12(d, res->running);
				short12(c[i].current, res->current);
				snprintf(res->why, sizeof res->why, "pod %s "
				    "(container %s) runs %s, its image is now %s",
				    p[j].pod, c[i].name, res->running,
				    res->current);
				return res->verdict;
			}
			if (seen_c == NULL) {
				seen_c = &c[i];
				memcpy(seen, d, DIGEST_LEN);
			}
		}
	}
	if (unknown != NULL) {
		res->verdict = STALE_UNKNOWN;
		short12(NULL, res->running);
		short12(NULL, res->current);
		for (j = 0; j < np; j++)
			if (p[j].container != NULL && strcmp(p[j].container,
			    unknown->name) == 0 && image_digest(p[j].image_id,
			    d) == 0) {
				short12(d, res->running);
				break;
			}
		snprintf(res->why, sizeof res->why, "container %s: %s",
		    unknown->name, unknown->why ? unknown->why : "unknown");
		return res->verdict;
	}
	if (shown == 0) {
		res->verdict = STALE_UNKNOWN;
		short12(NULL, res->running);
		short12(nc > 0 ? c[0].current : NULL, res->current);
		snprintf(res->why, sizeof res->why, "no running pod shows "
		    "the image it runs");
		return res->verdict;
	}
	res->verdict = STALE_UP_TO_DATE;
	short12(seen, res->running);
	short12(seen_c->current, res->current);
	snprintf(res->why, sizeof res->why, "every pod runs the current "
	    "image");
	return res->verdict;
}

int
stale_rolls(enum stale_verdict v, int unknown_roll)
{
	return v == STALE_STALE || (v == STALE_UNKNOWN && unknown_roll);
}

const char *
stale_verdict_name(enum stale_verdict v)
{
	switch (v) {
	case STALE_UP_TO_DATE:
		return "up to date";
	case STALE_STALE:
		return "stale";
	case STALE_UNKNOWN:
		return "unknown";
	}
	return "?";
}
