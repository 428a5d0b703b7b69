/* worker.c -- Celery worker snapshots from JSON; see include/worker.h. */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "worker.h"

const char *
worker_pod(const char *w)
{
	const char	*at = strchr(w, '@');

	return at != NULL && at[1] != '\0' ? at + 1 : NULL;
}

static char *
str_or_repr(json_t *v)
{
	char	*s, *out;

	if (v == NULL || json_is_null(v))
		return NULL;
	if (json_is_string(v))
		return utf8_cap(json_string_value(v), TASK_TEXT_MAX);
	s = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
	out = s != NULL ? utf8_cap(s, TASK_TEXT_MAX) : NULL;
	free(s);
	return out;
}

static int
task_from_json(json_t *t, struct task_ref *out, char *err, size_t errlen)
{
	json_t	*id, *name, *ts;

	if (!json_is_object(t)) {
		snprintf(err, errlen, "task entry is not an object");
		return -1;
	}
	id = json_object_get(t, "id");
	name = json_object_get(t, "name");
	ts = json_object_get(t, "time_start");
	if (!json_is_string(id)) {
		snprintf(err, errlen, "task entry has no string \"id\"");
		return -1;
	}
	if (name != NULL && !json_is_string(name) && !json_is_null(name)) {
		snprintf(err, errlen, "task \"name\" is not a string");
		return -1;
	}
	if (ts != NULL && !json_is_number(ts) && !json_is_null(ts)) {
		snprintf(err, errlen, "task \"time_start\" is not a number");
		return -1;
	}
	out->id = xstrdup(json_string_value(id));
	out->name = utf8_cap(json_is_string(name) ? json_string_value(name) :
	    "?", TASK_TEXT_MAX);
	out->args = str_or_repr(json_object_get(t, "args"));
	out->started = json_is_number(ts) ? json_number_value(ts) : 0;
	return 0;
}

int
tasks_from_json(json_t *arr, int scheduled, struct task_list *tl, char *err,
    size_t errlen)
{
	size_t	 i;
	json_t	*t, *req, *eta;

	memset(tl, 0, sizeof *tl);
	if (arr == NULL || json_is_null(arr))
		return 0;
	if (!json_is_array(arr)) {
		snprintf(err, errlen, "task list is not an array");
		return -1;
	}
	tl->v = xcalloc(json_array_size(arr), sizeof *tl->v);
	json_array_foreach(arr, i, t) {
		req = t;
		eta = NULL;
		if (scheduled) {
			if (!json_is_object(t) || !json_is_object(req =
			    json_object_get(t, "request"))) {
				snprintf(err, errlen, "scheduled entry has no "
				    "\"request\" object");
				task_list_free(tl);
				return -1;
			}
			eta = json_object_get(t, "eta");
		}
		if (task_from_json(req, &tl->v[tl->n], err, errlen) == -1) {
			task_list_free(tl);
			return -1;
		}
		if (json_is_string(eta))
			tl->v[tl->n].eta = utf8_cap(json_string_value(eta),
			    TASK_TEXT_MAX);
		tl->n++;
	}
	return 0;
}

int
worker_from_json(const char *name, json_t *obj, struct worker_snap *s,
    char *err, size_t errlen)
{
	json_t		*q, *ts, *e;
	size_t		 i;
	char		 sub[200];

	memset(s, 0, sizeof *s);
	if (!json_is_object(obj)) {
		snprintf(err, errlen, "worker %s: not an object", name);
		return -1;
	}
	s->name = xstrdup(name);
	ts = json_object_get(obj, "timestamp");
	if (ts != NULL && !json_is_number(ts) && !json_is_null(ts)) {
		snprintf(err, errlen, "worker %s: \"timestamp\" is not a number",
		    name);
		goto fail;
	}
	s->timestamp = json_is_number(ts) ? json_number_value(ts) : 0;
	q = json_object_get(obj, "active_queues");
	if (q != NULL && !json_is_null(q)) {
		if (!json_is_array(q)) {
			snprintf(err, errlen, "worker %s: \"active_queues\" is "
			    "not an array", name);
			goto fail;
		}
		s->have_queues = 1;
		json_array_foreach(q, i, e) {
			json_t *n = json_object_get(e, "name");
			if (!json_is_string(n)) {
				snprintf(err, errlen, "worker %s: queue without "
				    "a \"name\"", name);
				goto fail;
			}
			strv_add(&s->queues, json_string_value(n));
		}
	}
	if (tasks_from_json(json_object_get(obj, "active"), 0, &s->active,
	    sub, sizeof sub) == -1 ||
	    tasks_from_json(json_object_get(obj, "reserved"), 0, &s->reserved,
	    sub, sizeof sub) == -1 ||
	    tasks_from_json(json_object_get(obj, "scheduled"), 1, &s->scheduled,
	    sub, sizeof sub) == -1) {
		snprintf(err, errlen, "worker %s: %s", name, sub);
		goto fail;
	}
	return 0;
fail:
	worker_snap_free(s);
	return -1;
}

/* Parse body as a JSON object of workers; NULL with err otherwise. */
static json_t *
load_workers(const char *body, size_t len, char *err, size_t errlen)
{
	json_t		*root;
	json_error_t	 je;

	root = json_loadb(body, len, JSON_REJECT_DUPLICATES, &je);
	if (root == NULL) {
		snprintf(err, errlen, "malformed JSON (line %d: %s)", je.line,
		    je.text);
		return NULL;
	}
	if (!json_is_object(root)) {
		snprintf(err, errlen, "expected a JSON object of workers");
		json_decref(root);
		return NULL;
	}
	return root;
}

int
flower_parse_workers(const char *body, size_t len, const char *name,
    struct worker_snap *s, char *err, size_t errlen)
{
	json_t		*root, *w;
	int		 rc;

	memset(s, 0, sizeof *s);
	if ((root = load_workers(body, len, err, errlen)) == NULL)
		return -1;
	if ((w = json_object_get(root, name)) == NULL) {
		snprintf(err, errlen, "worker %s is not in the answer", name);
		json_decref(root);
		return -1;
	}
	rc = worker_from_json(name, w, s, err, errlen);
	json_decref(root);
	return rc;
}

int
flower_parse_status(const char *body, size_t len, struct worker_status **out,
    size_t *np, char *err, size_t errlen)
{
	json_t			*root, *v;
	const char		*k;
	struct worker_status	*ws;
	size_t			 n = 0;

	*out = NULL;
	*np = 0;
	if ((root = load_workers(body, len, err, errlen)) == NULL)
		return -1;
	ws = xcalloc(json_object_size(root), sizeof *ws);
	json_object_foreach(root, k, v) {
		if (!json_is_boolean(v)) {
			snprintf(err, errlen, "worker %s: status is not a "
			    "boolean", k);
			worker_status_free(ws, n);
			json_decref(root);
			return -1;
		}
		ws[n].name = xstrdup(k);
		ws[n].online = json_is_true(v);
		n++;
	}
	json_decref(root);
	*out = ws;
	*np = n;
	return 0;
}

void
worker_status_free(struct worker_status *ws, size_t n)
{
	size_t	i;

	for (i = 0; i < n; i++)
		free(ws[i].name);
	free(ws);
}

int
worker_drained(const struct worker_snap *s)
{
	return s->queues.n == 0 && s->active.n == 0 && s->reserved.n == 0;
}

void
task_list_free(struct task_list *tl)
{
	size_t	i;

	for (i = 0; i < tl->n; i++) {
		free(tl->v[i].id);
		free(tl->v[i].name);
		free(tl->v[i].args);
		free(tl->v[i].eta);
	}
	free(tl->v);
	memset(tl, 0, sizeof *tl);
}

void
worker_snap_free(struct worker_snap *s)
{
	free(s->name);
	strv_free(&s->queues);
	task_list_free(&s->active);
	task_list_free(&s->reserved);
	task_list_free(&s->scheduled);
	memset(s, 0, sizeof *s);
}

void
worker_snap_move(struct worker_snap *dst, struct worker_snap *src)
{
	worker_snap_free(dst);
	*dst = *src;
	memset(src, 0, sizeof *src);
}

char *
tasks_describe(const struct task_list *tl, double now)
{
	char	*out = NULL, d[32];
	size_t	 len = 0, i;
	FILE	*f = open_memstream(&out, &len);	/* O(n): no re-copy */

	if (f == NULL)
		return xstrdup("");
	for (i = 0; i < tl->n; i++) {
		const struct task_ref *t = &tl->v[i];
		size_t n = utf8_prefix(t->id, TASK_TEXT_MAX);
		fprintf(f, "%s%.*s%s %s", i ? ", " : "", (int)n, t->id,
		    t->id[n] != '\0' ? "..." : "", t->name);
		if (t->eta != NULL)
			fprintf(f, " (eta %s)", t->eta);
		else if (t->started > 0)
			fprintf(f, " running for %s",
			    duration_fmt(now - t->started, d, sizeof d));
	}
	if (fclose(f) != 0 || out == NULL) {
		free(out);
		return xstrdup("");
	}
	return out;
}

/* Add each name of a comma-separated list, once. */
static void
queues_add(const char *list, size_t len, struct strv *out)
{
	char	*s = xasprintf("%.*s", (int)len, list), *tok, *save;

	for (tok = strtok_r(s, ",", &save); tok != NULL;
	    tok = strtok_r(NULL, ",", &save))
		if (!strv_has(out, tok))
			strv_add(out, tok);
	free(s);
}

void
worker_argv_queues(const char *const *argv, size_t n, struct strv *out)
{
	static const char	 blank[] = " \t\n";
	const char		*p;
	char			*w, *o;
	size_t			 i, k, len;
	int			 want = 0;	/* the next word is the list */

	for (i = 0; i < n; i++) {
		for (p = argv[i]; *(p += strspn(p, blank)) != '\0'; p += len) {
			len = strcspn(p, blank);
			/* the word as a shell reads it: without its quotes */
			o = w = xasprintf("%.*s", (int)len, p);
			for (k = 0; k < len; k++)
				if (p[k] != '\'' && p[k] != '"')
					*o++ = p[k];
			*o = '\0';
			if (want)
				queues_add(w, strlen(w), out);
			want = strcmp(w, "-Q") == 0 || strcmp(w, "--queues") == 0;
			if (!want && strncmp(w, "-Q", 2) == 0)
				queues_add(w + 2, strlen(w + 2), out);
			else if (!want && strncmp(w, "--queues=", 9) == 0)
				queues_add(w + 9, strlen(w + 9), out);
			free(w);
		}
	}
}

int
worker_left_drained(const struct strv *journal, const struct strv *cmdline,
    const struct strv *siblings, const struct strv *consuming,
    struct strv *its)
{
	const struct strv	*src = journal->n > 0 ? journal :
				    cmdline->n > 0 ? cmdline : siblings;
	size_t			 i;

	for (i = 0; i < src->n; i++)
		if (!strv_has(its, src->v[i]))
			strv_add(its, src->v[i]);
	for (i = 0; i < src->n; i++)
		if (strv_has(consuming, src->v[i]))
			return 0;
	return src->n > 0;
}
