/*
 * hold.h -- holds: "not this one tonight". A Deployment annotated
 *
 *   drain-and-rollout/hold: '{"reason":"db migration","by":"alice@ops1",
 *                             "since":"2026-11-26T17:00:00Z",
 *                             "until":"2026-11-27T06:00:00Z"}'
 *
 * is skipped by selector runs and refused when named (unless
 * --ignore-hold). "reason" is required; "by", "since" and "until" (RFC 3339)
 * are optional; without "until" the hold lasts until it is released. A
 * hold whose "until" has passed is no hold. Any value that is not such a
 * JSON object (a hand-written `kubectl annotate ... hold="db migration"`)
 * is a hold without end whose reason is the value itself: a hold is never
 * ignored because it is badly written.
 *
 * Pure: parsing, describing and writing the value. The PATCH that sets and
 * removes it is kube_annotate() (kube.h).
 */
#ifndef HOLD_H
#define HOLD_H

#include <stddef.h>

#define HOLD_ANNOTATION	"drain-and-rollout/hold"
/* Anyone who can annotate writes a hold: its reason and by are kept cut
 * to this many bytes (utf8_cap()), wherever they are shown. */
#define HOLD_TEXT_MAX	500

struct json_t;

enum hold_state {
	HOLD_NONE,		/* no annotation */
	HOLD_ACTIVE,
	HOLD_EXPIRED,		/* its "until" has passed: no hold */
};

struct hold {
	char	*reason;	/* never NULL once parsed */
	char	*by;		/* NULL: not said */
	double	 since;		/* 0: not said */
	double	 until;		/* 0: until released */
	char	*bad;		/* what could not be read ("until"), or NULL */
};

/* The hold of a Deployment object; now: the wall clock. Fills h unless
 * HOLD_NONE; free it with hold_free(). hold_parse(NULL) is HOLD_NONE. */
enum hold_state	 hold_of(struct json_t *deployment, double now, struct hold *);
enum hold_state	 hold_parse(const char *value, double now, struct hold *);
void		 hold_free(struct hold *);
/*
 * As -o json shows it: {"reason", "by", "since", "until" (RFC 3339, null:
 * not said; "until" null: until released), "expired" (st is HOLD_EXPIRED),
 * "unreadable" (what could not be read, or null)}; the texts cut to
 * HOLD_TEXT_MAX bytes of valid UTF-8. Pure.
 */
struct json_t	*hold_json(const struct hold *, enum hold_state st);
/* "by alice@ops1 since ..., until ...: db migration" (allocated). */
char		*hold_describe(const struct hold *);
/*
 * A reason or holder that --hold may write: 0 if text is one line of
 * well-formed UTF-8, not empty, of at most HOLD_TEXT_MAX bytes, without
 * control characters; else -1 and err naming what (e.g. "--reason") and
 * why. NULL is refused as empty.
 */
int		 hold_text_check(const char *what, const char *text, char *err,
		    size_t errlen);
/* The annotation's value (allocated JSON); by, since and until optional.
 * NULL if reason or by fails hold_text_check(): never a value that would
 * remove the annotation, nor one cut or changed. */
char		*hold_value(const char *reason, const char *by, double since,
		    double until);
/*
 * --until: a duration from now ("8h") or an RFC 3339 time. Returns 0 and
 * the time, or -1 with err (malformed, or not in the future).
 */
int		 hold_until_parse(const char *, double now, double *until,
		    char *err, size_t errlen);

#endif
