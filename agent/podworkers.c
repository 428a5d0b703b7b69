/*
 * podworkers.c -- pods that run several workers: see podworkers.h.
 */
#include <stdlib.h>
#include <string.h>

#include "podworkers.h"
#include "worker.h"

int
worker_same_name(const char *a, const char *b)
{
	const char	*pa = strchr(a, '@'), *pb = strchr(b, '@');
	size_t		 la = pa ? (size_t)(pa - a) : strlen(a);
	size_t		 lb = pb ? (size_t)(pb - b) : strlen(b);

	return la == lb && strncmp(a, b, la) == 0;
}

static void
say(char **why, char *what)
{
	char	*s;

	if (*why == NULL) {
		*why = what;
		return;
	}
	s = xasprintf("%s; %s", *why, what);
	free(*why);
	free(what);
	*why = s;
}

size_t
verify_new_workers(const struct worker_queues *old, size_t nold,
    const struct worker_queues *nw, size_t nnew, char **why)
{
	size_t		 i, j, k, missing = 0;
	const char	*q, *at;
	int		 paired, found;

	*why = NULL;
	for (i = 0; i < nold; i++) {
		paired = 0;
		for (k = 0; k < nnew; k++)
			paired |= worker_same_name(old[i].name, nw[k].name);
		for (j = 0; j < old[i].queues->n; j++) {
			q = old[i].queues->v[j];
			found = 0;
			for (k = 0; k < nnew && !found; k++)
				if (!paired || worker_same_name(old[i].name, nw[k].name))
					found = strv_has(nw[k].queues, q);
			if (found)
				continue;
			missing++;
			at = strchr(old[i].name, '@');
			if (paired) {
				for (k = 0; !worker_same_name(old[i].name, nw[k].name);
				    k++)
					;
				say(why, xasprintf("new worker %s does not "
				    "consume %s (%s did)", nw[k].name, q,
				    old[i].name));
			} else
				say(why, xasprintf("no new worker consumes %s "
				    "(%s did; no new worker is named %.*s@...)",
				    q, old[i].name, at ? (int)(at -
				    old[i].name) : (int)strlen(old[i].name),
				    old[i].name));
		}
	}
	return missing;
}

/* Whether worker is on pod (its NAME@POD's POD). */
static int
on_pod(const char *worker, const char *pod)
{
	const char	*p = worker != NULL ? worker_pod(worker) : NULL;

	return p != NULL && strcmp(p, pod) == 0;
}

int
pod_workers_done(const char *pod, const struct worker_done *w, size_t n,
    const struct worker_status *ws, size_t nws)
{
	size_t	i, j;
	int	mine = 0;

	if (pod == NULL)
		return 0;
	for (i = 0; i < n; i++) {
		if (!on_pod(w[i].name, pod))
			continue;
		if (!w[i].done)
			return 0;
		mine = 1;
	}
	for (j = 0; mine && j < nws; j++) {
		if (!ws[j].online || !on_pod(ws[j].name, pod))
			continue;
		for (i = 0; i < n; i++)
			if (w[i].name != NULL && strcmp(w[i].name, ws[j].name) == 0)
				break;
		if (i == n)
			return 0;	/* not the run's: never drained */
	}
	return mine;
}

size_t
pods_undrainable(const struct strv *need, const struct worker_status *ws,
    size_t n, struct strv *missing, struct strv *offline)
{
	size_t		 i, j, added = 0;
	const char	*pod;
	int		 online;

	for (i = 0; i < need->n; i++) {
		online = 0;
		for (j = 0; j < n; j++) {
			pod = worker_pod(ws[j].name);
			online |= pod != NULL && ws[j].online &&
			    strcmp(pod, need->v[i]) == 0;
		}
		if (!online) {
			strv_add(missing, need->v[i]);
			added++;
			continue;
		}
		for (j = 0; j < n; j++) {
			pod = worker_pod(ws[j].name);
			if (pod != NULL && !ws[j].online &&
			    strcmp(pod, need->v[i]) == 0) {
				strv_add(offline, ws[j].name);
				added++;
			}
		}
	}
	return added;
}

const char *
worker_container(const char *default_annotation, const char *const *names,
    size_t n)
{
	size_t	i;

	for (i = 0; default_annotation != NULL && i < n; i++)
		if (names[i] != NULL && strcmp(names[i], default_annotation) == 0)
			return names[i];
	return n > 0 ? names[0] : NULL;
}

int
pod_worker_exited(const char *phase, const struct container_state *cs,
    size_t n, const char *worker, long *restarts)
{
	size_t	i, ended = 0;
	int	exited;

	*restarts = 0;
	exited = phase != NULL && (strcmp(phase, "Failed") == 0 ||
	    strcmp(phase, "Succeeded") == 0);
	for (i = 0; i < n; i++) {
		if (worker != NULL && (cs[i].name == NULL ||
		    strcmp(cs[i].name, worker) != 0))
			continue;
		*restarts += cs[i].restarts > 0 ? cs[i].restarts : 0;
		ended += cs[i].terminated != 0;
		if (worker != NULL)
			return exited || cs[i].terminated;
	}
	/* no name: every container is the worker's */
	return exited || (worker == NULL && n > 0 && ended == n);
}

enum resolve_verdict
resolve_verdict(const struct resolve_facts *f)
{
	if (f->pinged && f->pings < RESOLVE_PINGS && (f->missing > 0 ||
	    (f->workers == 0 && f->need > 0)))
		return RESOLVE_PING_AGAIN;
	if (f->workers == 0 && f->need > 0)
		return f->from_selector ? RESOLVE_SKIP : RESOLVE_NO_WORKER;
	if (f->missing > 0)
		return RESOLVE_PODS_WITHOUT;
	if (f->silent > 0 && f->drain)
		return RESOLVE_SILENT;
	if (f->workers == 0 && !f->drain)
		return RESOLVE_NOT_RUNNING;
	if (f->undrain)
		return RESOLVE_UNDRAIN;
	if (f->workers == 0)
		return RESOLVE_NOTHING;
	return RESOLVE_REFRESH;
}
