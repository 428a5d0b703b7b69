/* events.c -- Celery event envelopes; see include/events.h. */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "b64.h"
#include "events.h"
#include "util.h"

static const struct {
	const char	*name;
	enum cev_type	 type;
} cev_names[] = {
	{ "task-received", CEV_TASK_RECEIVED },
	{ "task-started", CEV_TASK_STARTED },
	{ "task-succeeded", CEV_TASK_SUCCEEDED },
	{ "task-failed", CEV_TASK_FAILED },
	{ "task-rejected", CEV_TASK_REJECTED },
	{ "task-revoked", CEV_TASK_REVOKED },
	{ "task-retried", CEV_TASK_RETRIED },
	{ "worker-heartbeat", CEV_WORKER_HEARTBEAT },
	{ "worker-online", CEV_WORKER_ONLINE },
	{ "worker-offline", CEV_WORKER_OFFLINE },
};

enum cev_type
cev_type_of(const char *s)
{
	size_t	i;

	for (i = 0; i < sizeof cev_names / sizeof cev_names[0]; i++)
		if (strcmp(s, cev_names[i].name) == 0)
			return cev_names[i].type;
	return CEV_OTHER;
}

int
cev_task_final(enum cev_type t)
{
	return t == CEV_TASK_SUCCEEDED || t == CEV_TASK_FAILED ||
	    t == CEV_TASK_REJECTED || t == CEV_TASK_REVOKED ||
	    t == CEV_TASK_RETRIED;
}

static int
one_event(json_t *e, struct cev *out, char *err, size_t errlen)
{
	json_t		*type, *host, *uuid, *ts, *act;
	enum cev_type	 t;

	memset(out, 0, sizeof *out);
	out->active = -1;
	if (!json_is_object(e)) {
		snprintf(err, errlen, "event is not an object");
		return -1;
	}
	type = json_object_get(e, "type");
	host = json_object_get(e, "hostname");
	if (!json_is_string(type) || !json_is_string(host)) {
		snprintf(err, errlen, "event without string \"type\" and "
		    "\"hostname\"");
		return -1;
	}
	t = cev_type_of(json_string_value(type));
	uuid = json_object_get(e, "uuid");
	ts = json_object_get(e, "timestamp");
	act = json_object_get(e, "active");
	if (t >= CEV_TASK_RECEIVED && t <= CEV_TASK_RETRIED &&
	    !json_is_string(uuid)) {
		snprintf(err, errlen, "task event without string \"uuid\"");
		return -1;
	}
	if (ts != NULL && !json_is_number(ts)) {
		snprintf(err, errlen, "event \"timestamp\" is not a number");
		return -1;
	}
	if (act != NULL && t == CEV_WORKER_HEARTBEAT && !json_is_integer(act)) {
		snprintf(err, errlen, "heartbeat \"active\" is not an integer");
		return -1;
	}
	out->type = t;
	out->hostname = xstrdup(json_string_value(host));
	out->uuid = json_is_string(uuid) ? xstrdup(json_string_value(uuid))
	    : NULL;
	out->timestamp = ts ? json_number_value(ts) : 0;
	if (t == CEV_WORKER_HEARTBEAT && act != NULL)
		out->active = (long)json_integer_value(act);
	return 0;
}

int
cev_decode(const char *env, size_t len, struct cev_batch *b, char *err,
    size_t errlen)
{
	json_t		*root, *body, *props, *enc, *ev = NULL, *e;
	json_error_t	 je;
	char		*raw = NULL;
	size_t		 rawlen, i;
	int		 rc = -1;

	memset(b, 0, sizeof *b);
	if ((root = json_loadb(env, len, 0, &je)) == NULL) {
		snprintf(err, errlen, "envelope is not JSON (%s)", je.text);
		return -1;
	}
	body = json_object_get(root, "body");
	props = json_object_get(root, "properties");
	enc = json_object_get(props, "body_encoding");
	if (!json_is_object(root) || !json_is_string(body)) {
		snprintf(err, errlen, "envelope has no string \"body\"");
		goto out;
	}
	if (enc != NULL && !(json_is_string(enc) &&
	    strcmp(json_string_value(enc), "base64") == 0)) {
		snprintf(err, errlen, "unsupported body_encoding");
		goto out;
	}
	raw = b64_decode(json_string_value(body), json_string_length(body),
	    &rawlen);
	if (raw == NULL) {
		snprintf(err, errlen, "body is not valid base64");
		goto out;
	}
	if ((ev = json_loadb(raw, rawlen, 0, &je)) == NULL) {
		snprintf(err, errlen, "body is not JSON (%s)", je.text);
		goto out;
	}
	if (json_is_array(ev)) {
		b->v = xcalloc(json_array_size(ev), sizeof *b->v);
		json_array_foreach(ev, i, e) {
			if (one_event(e, &b->v[b->n], err, errlen) == -1) {
				cev_batch_free(b);
				goto out;
			}
			b->n++;
		}
	} else {
		b->v = xcalloc(1, sizeof *b->v);
		if (one_event(ev, &b->v[0], err, errlen) == -1) {
			cev_batch_free(b);
			goto out;
		}
		b->n = 1;
	}
	rc = 0;
out:
	json_decref(ev);
	json_decref(root);
	free(raw);
	return rc;
}

void
cev_batch_free(struct cev_batch *b)
{
	size_t	i;

	for (i = 0; i < b->n; i++) {
		free(b->v[i].hostname);
		free(b->v[i].uuid);
	}
	free(b->v);
	memset(b, 0, sizeof *b);
}
