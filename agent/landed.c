/* landed.c -- did a write of ours land? See include/landed.h. */
#include <jansson.h>
#include <string.h>

#include "landed.h"

static int	same(const char *, const char *);

enum patch_fate
patch_fate(const char *ours, const char *before, const char *seen, int sent,
    double sent_ago, double window, int undone, double *wait)
{
	int	is_ours = ours != NULL && ours[0] != '\0' && same(ours, seen);
	int	settled = !sent || sent_ago >= window;
	int	as_before = (before == NULL && seen == NULL) ||
		    same(before, seen);

	if (wait != NULL)
		*wait = settled ? 0 : window - sent_ago;
	if (is_ours && (!undone || settled))
		return PATCH_LANDED;
	if (!settled)
		return PATCH_WAIT;
	return as_before ? PATCH_LOST : PATCH_FOREIGN;
}

double
patch_window(double attempt, double server)
{
	return (attempt > 0 ? attempt : 0) + (server > 0 ? server : 0) +
	    PATCH_MARGIN;
}

enum patch_refusal
patch_again(enum patch_fate f, int refused, int refusals, int stopping)
{
	if (!refused || f != PATCH_LOST)
		return REFUSAL_NONE;
	if (stopping)
		return REFUSAL_STOPPED;
	return refusals < PATCH_REFUSALS ? REFUSAL_AGAIN : REFUSAL_GIVE_UP;
}

const char *
patch_fate_name(enum patch_fate f)
{
	switch (f) {
	case PATCH_LANDED:
		return "landed";
	case PATCH_FOREIGN:
		return "foreign";
	case PATCH_LOST:
		return "lost";
	case PATCH_WAIT:
		return "wait";
	}
	return "?";
}

static const char *
label(json_t *obj, const char *key)
{
	return json_string_value(json_object_get(json_object_get(
	    json_object_get(obj, "metadata"), "labels"), key));
}

/* The uid of obj's controller ownerReference, or NULL. */
static const char *
controller_uid(json_t *obj)
{
	json_t	*ref;
	size_t	 i;

	json_array_foreach(json_object_get(json_object_get(obj, "metadata"),
	    "ownerReferences"), i, ref)
		if (json_is_true(json_object_get(ref, "controller")))
			return json_string_value(json_object_get(ref, "uid"));
	return NULL;
}

static int
same(const char *a, const char *b)
{
	return a != NULL && b != NULL && strcmp(a, b) == 0;
}

int
rs_create_ours(json_t *existing, json_t *manifest)
{
	const char	*n1 = json_string_value(json_object_get(json_object_get(
			    existing, "metadata"), "name"));
	const char	*n2 = json_string_value(json_object_get(json_object_get(
			    manifest, "metadata"), "name"));
	json_t		*del = json_object_get(json_object_get(existing,
			    "metadata"), "deletionTimestamp");

	/* being deleted: not what the create made, but what was there */
	if (del != NULL && !json_is_null(del))
		return 0;
	return same(n1, n2) && same(label(existing, "pod-template-hash"),
	    label(manifest, "pod-template-hash")) &&
	    same(controller_uid(existing), controller_uid(manifest));
}
