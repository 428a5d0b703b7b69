/* keys.c -- Celery's Redis key names; see include/keys.h. */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "keys.h"
#include "util.h"

static const struct prio_steps default_steps = { { 0, 3, 6, 9 }, 4 };

int
keys_parse_steps(const char *s, struct prio_steps *out, char *err,
    size_t errlen)
{
	const char	*p = s;
	char		*end;
	long		 v;
	int		 bracket = 0;

	memset(out, 0, sizeof *out);
	while (isspace((unsigned char)*p))
		p++;
	if (*p == '[') {
		bracket = 1;
		p++;
	}
	for (;;) {
		while (isspace((unsigned char)*p))
			p++;
		if (!isdigit((unsigned char)*p)) {
			snprintf(err, errlen, "expected a number at \"%s\"", p);
			return -1;
		}
		v = strtol(p, &end, 10);
		if (v > 255) {
			snprintf(err, errlen, "%ld is out of range (0 to 255)",
			    v);
			return -1;
		}
		if (out->n > 0 && v <= out->v[out->n - 1]) {
			snprintf(err, errlen, "steps must be ascending and "
			    "distinct (%ld after %d)", v, out->v[out->n - 1]);
			return -1;
		}
		if (out->n == KEYS_MAX_STEPS) {
			snprintf(err, errlen, "more than %d steps",
			    KEYS_MAX_STEPS);
			return -1;
		}
		out->v[out->n++] = (int)v;
		for (p = end; isspace((unsigned char)*p); p++)
			;
		if (*p == ',') {
			p++;
			continue;
		}
		if (bracket && *p == ']') {
			bracket = 0;
			for (p++; isspace((unsigned char)*p); p++)
				;
		}
		if (*p != '\0' || bracket) {
			snprintf(err, errlen, "unexpected \"%s\"", *p ? p :
			    "end (missing ']')");
			return -1;
		}
		return 0;
	}
}

void
keys_init(struct keys *k, const char *prefix, const struct prio_steps *steps,
    int db)
{
	k->prefix = xstrdup(prefix ? prefix : "");
	k->db = db;
	k->steps = steps != NULL && steps->n > 0 ? *steps : default_steps;
	k->sentinel_fanout = 0;
}

void
keys_free(struct keys *k)
{
	free(k->prefix);
	k->prefix = NULL;
}

char *
keys_name(const struct keys *k, const char *name)
{
	return xasprintf("%s%s", k->prefix, name);
}

/* kombu's Channel._q_for_pri(): step 0 is the queue itself. */
size_t
keys_queue_lists(const struct keys *k, const char *queue, char **out)
{
	size_t	i, n = 0;

	for (i = 0; i < k->steps.n; i++)
		if (k->steps.v[i] == 0)
			out[n++] = xasprintf("%s%s", k->prefix, queue);
		else
			out[n++] = xasprintf("%s%s" KEYS_SEP "%d", k->prefix,
			    queue, k->steps.v[i]);
	return n;
}

char *
keys_fanout(const struct keys *k, const char *exchange)
{
	return xasprintf("%s/%d.%s", k->prefix, k->db, exchange);
}

/* The pattern of exchange's channels; db "{db}": kombu < 5.4's Sentinel. */
static char *
fanout_pattern(const struct keys *k, const char *db, const char *exchange)
{
	size_t	 i, n = 0, len = strlen(k->prefix);
	char	*esc = xmalloc(2 * len + 1), *out;

	for (i = 0; i < len; i++) {
		if (strchr("*?[]\\", k->prefix[i]) != NULL)
			esc[n++] = '\\';
		esc[n++] = k->prefix[i];
	}
	esc[n] = '\0';
	out = xasprintf("%s/%s.%s/*", esc, db, exchange);
	free(esc);
	return out;
}

char *
keys_fanout_pattern(const struct keys *k, const char *exchange)
{
	char	db[16];

	snprintf(db, sizeof db, "%d", k->db);
	return fanout_pattern(k, db, exchange);
}

size_t
keys_fanouts(const struct keys *k, const char *exchange, char **out)
{
	out[0] = keys_fanout(k, exchange);
	if (!k->sentinel_fanout)
		return 1;
	out[1] = xasprintf("%s/{db}.%s", k->prefix, exchange);
	return 2;
}

size_t
keys_fanout_patterns(const struct keys *k, const char *exchange, char **out)
{
	out[0] = keys_fanout_pattern(k, exchange);
	if (!k->sentinel_fanout)
		return 1;
	/* '{' and '}' are not glob characters */
	out[1] = fanout_pattern(k, "{db}", exchange);
	return 2;
}
