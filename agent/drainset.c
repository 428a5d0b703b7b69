/* drainset.c -- the drain's bookkeeping for one worker; see drainset.h. */
#include <jansson.h>
#include <stddef.h>

#include "drainset.h"

/* Task ids come from JSON already (events, Flower): valid UTF-8. */
static void
set_add(json_t **set, const char *id)
{
	if (*set == NULL)
		*set = json_object();
	json_object_set_new_nocheck(*set, id, json_true());
}

static int
set_has(const json_t *set, const char *id)
{
	return set != NULL && json_object_get(set, id) != NULL;
}

static void
seed_list(struct drainset *d, const struct task_list *l)
{
	size_t	i;

	for (i = 0; i < l->n; i++)
		if (l->v[i].id != NULL && !set_has(d->finished, l->v[i].id))
			set_add(&d->inflight, l->v[i].id);
}

void
drainset_seed(struct drainset *d, const struct worker_snap *s)
{
	if (d->inflight != NULL)
		json_object_clear(d->inflight);
	seed_list(d, &s->active);
	seed_list(d, &s->reserved);
}

enum drainset_change
drainset_event(struct drainset *d, enum cev_type type, const char *uuid)
{
	if (uuid == NULL)
		return DS_NONE;
	if (type == CEV_TASK_RECEIVED || type == CEV_TASK_STARTED) {
		if (set_has(d->finished, uuid))
			return DS_NONE;		/* events arrive out of order */
		set_add(&d->inflight, uuid);
		return DS_WAITING;
	}
	if (!cev_task_final(type))
		return DS_NONE;
	set_add(&d->finished, uuid);
	if (d->inflight != NULL)
		json_object_del(d->inflight, uuid);
	return DS_FINISHED;
}

size_t
drainset_inflight(const struct drainset *d)
{
	return d->inflight != NULL ? json_object_size(d->inflight) : 0;
}

int
drainset_drained(const struct drainset *d)
{
	return drainset_inflight(d) == 0;
}

int
drainset_waits(const struct drainset *d, const char *uuid)
{
	return set_has(d->inflight, uuid);
}

void
drainset_free(struct drainset *d)
{
	json_decref(d->inflight);
	json_decref(d->finished);
	d->inflight = d->finished = NULL;
}
