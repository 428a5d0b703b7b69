/* hold.c -- holds on Deployments; see include/hold.h. */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hold.h"
#include "util.h"

void
hold_free(struct hold *h)
{
	free(h->reason);
	free(h->by);
	free(h->bad);
	memset(h, 0, sizeof *h);
}

/* An optional RFC 3339 member: 0 if absent, -1 (and h->bad) if unreadable. */
static int
time_member(json_t *o, const char *k, double *t, struct hold *h)
{
	json_t	*v = json_object_get(o, k);

	*t = 0;
	if (v == NULL || json_is_null(v))
		return 0;
	if (!json_is_string(v) || rfc3339_parse(json_string_value(v), t) == -1) {
		*t = 0;
		if (h->bad == NULL)
			h->bad = xasprintf("\"%s\" is not an RFC 3339 time", k);
		return -1;
	}
	return 0;
}

enum hold_state
hold_parse(const char *value, double now, struct hold *h)
{
	json_t		*o, *reason, *by;
	json_error_t	 je;

	memset(h, 0, sizeof *h);
	if (value == NULL)
		return HOLD_NONE;
	o = json_loads(value, JSON_REJECT_DUPLICATES, &je);
	reason = json_object_get(o, "reason");
	if (!json_is_object(o) || !json_is_string(reason) ||
	    *json_string_value(reason) == '\0') {
		/* written by hand: the whole value is the reason */
		h->reason = utf8_cap(*value != '\0' ? value :
		    "(no reason given)", HOLD_TEXT_MAX);
		json_decref(o);
		return HOLD_ACTIVE;
	}
	h->reason = utf8_cap(json_string_value(reason), HOLD_TEXT_MAX);
	by = json_object_get(o, "by");
	if (json_is_string(by) && *json_string_value(by) != '\0')
		h->by = utf8_cap(json_string_value(by), HOLD_TEXT_MAX);
	time_member(o, "since", &h->since, h);
	/* an unreadable "until" holds until released */
	time_member(o, "until", &h->until, h);
	json_decref(o);
	return h->until > 0 && h->until <= now ? HOLD_EXPIRED : HOLD_ACTIVE;
}

enum hold_state
hold_of(json_t *deployment, double now, struct hold *h)
{
	json_t	*v = json_object_get(json_object_get(json_object_get(deployment,
	    "metadata"), "annotations"), HOLD_ANNOTATION);

	memset(h, 0, sizeof *h);
	if (!json_is_string(v))
		return HOLD_NONE;
	return hold_parse(json_string_value(v), now, h);
}

/* s + the printf'd rest, freeing s. */
static char *
append(char *s, const char *fmt, const char *a)
{
	char	*more = xasprintf(fmt, a), *t = xasprintf("%s%s", s, more);

	free(s);
	free(more);
	return t;
}

/* A text of the annotation, bounded and valid UTF-8; NULL stays NULL. */
static json_t *
hold_text(const char *s)
{
	char	*u;
	json_t	*j;

	if (s == NULL)
		return NULL;
	u = utf8_cap(s, HOLD_TEXT_MAX);
	j = json_string(u);
	free(u);
	return j;
}

json_t *
hold_json(const struct hold *h, enum hold_state st)
{
	char	t[32], u[32];

	return json_pack("{s:o?,s:o?,s:s?,s:s?,s:b,s:o?}", "reason",
	    hold_text(h->reason), "by", hold_text(h->by), "since",
	    h->since > 0 ? rfc3339(h->since, t, sizeof t) : NULL, "until",
	    h->until > 0 ? rfc3339(h->until, u, sizeof u) : NULL, "expired",
	    st == HOLD_EXPIRED, "unreadable", hold_text(h->bad));
}

char *
hold_describe(const struct hold *h)
{
	char	 t[32], *s = xstrdup("held");

	if (h->by != NULL)
		s = append(s, " by %s", h->by);
	if (h->since > 0)
		s = append(s, " since %s", rfc3339(h->since, t, sizeof t));
	if (h->until > 0)
		s = append(s, " until %s", rfc3339(h->until, t, sizeof t));
	else
		s = append(s, "%s", " until released");
	if (h->bad != NULL)
		s = append(s, " (%s)", h->bad);
	return append(s, ": %s", h->reason);
}

int
hold_text_check(const char *what, const char *text, char *err, size_t errlen)
{
	size_t	n = text != NULL ? strlen(text) : 0, ok, i;

	if (n == 0) {
		snprintf(err, errlen, "%s is empty", what);
		return -1;
	}
	if ((ok = utf8_valid(text)) < n) {
		snprintf(err, errlen, "%s is not valid UTF-8 (byte %zu of %zu, "
		    "0x%02x): write it in UTF-8", what, ok + 1, n,
		    (unsigned char)text[ok]);
		return -1;
	}
	if (n > HOLD_TEXT_MAX) {
		snprintf(err, errlen, "%s is %zu bytes long; at most %d: say "
		    "it shorter", what, n, HOLD_TEXT_MAX);
		return -1;
	}
	for (i = 0; i < n; i++)
		if ((unsigned char)text[i] < 0x20 || text[i] == 0x7f) {
			snprintf(err, errlen, "%s holds a control character "
			    "(byte %zu, 0x%02x): write it on one line", what,
			    i + 1, (unsigned char)text[i]);
			return -1;
		}
	return 0;
}

char *
hold_value(const char *reason, const char *by, double since, double until)
{
	json_t	*o;
	char	 t[32], *s, err[128];

	if (hold_text_check("reason", reason, err, sizeof err) == -1 ||
	    (by != NULL && hold_text_check("by", by, err, sizeof err) == -1))
		return NULL;
	o = json_pack("{s:s}", "reason", reason);
	if (by != NULL)
		json_object_set_new(o, "by", json_string(by));
	if (since > 0)
		json_object_set_new(o, "since",
		    json_string(rfc3339(since, t, sizeof t)));
	if (until > 0)
		json_object_set_new(o, "until",
		    json_string(rfc3339(until, t, sizeof t)));
	s = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
	json_decref(o);
	return s;
}

int
hold_until_parse(const char *s, double now, double *until, char *err,
    size_t errlen)
{
	double	d;

	if (duration_parse(s, &d) == 0)
		*until = now + d;
	else if (rfc3339_parse(s, until) == -1) {
		snprintf(err, errlen, "--until: \"%s\" is neither a duration "
		    "(8h, 1h30m) nor an RFC 3339 time (2026-11-27T06:00:00Z)", s);
		return -1;
	} else if (*until <= now) {
		snprintf(err, errlen, "--until: %s has passed", s);
		return -1;
	}
	return 0;
}
