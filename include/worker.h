/*
 * worker.h -- what we know of one Celery worker at one moment, and the
 * parsers that build it from the JSON that Flower and Celery's remote
 * control return. Pure: no I/O.
 *
 * The shapes are those of ../shared/fixtures/flower/ (Flower's
 * /api/workers?refresh=1&workername=W, which is the merged answer of the
 * inspect methods active_queues, active, reserved, scheduled, stats ...) and
 * of the pidbox replies in ../shared/fixtures/celery/.
 */
#ifndef WORKER_H
#define WORKER_H

#include <stddef.h>

#include "util.h"

struct json_t;

/*
 * What a worker says of its tasks is shown, never acted on, except the
 * id (matched against the events): name, args and eta are kept cut to
 * TASK_TEXT_MAX bytes (utf8_cap()), and tasks_describe() and the JSON
 * report show at most TASK_TEXT_MAX bytes of an id.
 */
#define TASK_TEXT_MAX	200

struct task_ref {
	char	*id;		/* whole: the drain matches it */
	char	*name;		/* at most TASK_TEXT_MAX bytes + "..." */
	char	*args;		/* repr of args, may be NULL; as name */
	double	 started;	/* time_start, 0 if not started */
	char	*eta;		/* scheduled tasks: ETA text, else NULL; as
				   name */
};

struct task_list {
	struct task_ref	*v;
	size_t		 n;
};

struct worker_snap {
	char		*name;		/* "deployment@pod" */
	double		 timestamp;	/* when the worker answered; 0 unknown */
	int		 have_queues;	/* active_queues was present */
	struct strv	 queues;	/* names from active_queues */
	struct task_list active;	/* running */
	struct task_list reserved;	/* prefetched */
	struct task_list scheduled;	/* holding an ETA */
};

/* The pod part of a worker name ("a@b" -> "b"), or NULL without '@'. */
const char	*worker_pod(const char *worker);

/*
 * Fill snap from one worker's object (the value under the worker's name in
 * Flower's refresh answer). Missing sections stay empty; wrong types fail.
 * Returns 0, or -1 with a reason in err.
 */
int	worker_from_json(const char *name, struct json_t *obj,
	    struct worker_snap *snap, char *err, size_t errlen);

/*
 * Parse Flower's GET /api/workers?refresh=1&workername=W body and extract
 * W. Errors: not JSON, not an object, W missing, wrong types.
 */
int	flower_parse_workers(const char *body, size_t len, const char *name,
	    struct worker_snap *snap, char *err, size_t errlen);

/*
 * Parse a task list as returned by inspect active/reserved/scheduled (for
 * scheduled, entries are {"eta", "priority", "request": {...}}).
 */
int	tasks_from_json(struct json_t *arr, int scheduled, struct task_list *,
	    char *err, size_t errlen);

/*
 * The queues a Celery worker's command line names: the words of a pod's
 * container command and args (argv, n of them; a word may hold a whole
 * shell line, "sh -c 'celery worker -Q a,b'": split on blanks), in
 * Celery's forms -Q a,b, -Qa,b, --queues a,b and --queues=a,b, appended
 * to out once each. Pure. None found: out unchanged (Celery's default
 * queue is not guessed).
 */
void	worker_argv_queues(const char *const *argv, size_t n,
	    struct strv *out);

/*
 * Pure: whether a worker is left drained. Its queues are those of the
 * first source that names any: the journal's record of it, its
 * Deployment's command line (worker_argv_queues()), the queues the other
 * workers of its Deployment consume; copied to its. 1 if it consumes
 * (consuming: its active queues) none of them, else 0 (0 as well when no
 * source names a queue: nothing to give back).
 */
int	worker_left_drained(const struct strv *journal,
	    const struct strv *cmdline, const struct strv *siblings,
	    const struct strv *consuming, struct strv *its);

/* A worker with no consumers and nothing active or reserved. */
int	worker_drained(const struct worker_snap *);

void	task_list_free(struct task_list *);
void	worker_snap_free(struct worker_snap *);
void	worker_snap_move(struct worker_snap *dst, struct worker_snap *src);

/*
 * "id name running for 3m05s, id name (eta ...)" etc., into a malloc'd
 * string; linear in the number of tasks.
 */
char	*tasks_describe(const struct task_list *, double now);
/*
 * Parse GET /api/workers?status=true: {"W": true|false, ...}.
 * Fills names and online flags (parallel arrays). Returns 0 or -1 with err.
 */
struct worker_status {
	char	*name;
	int	 online;
};
int	flower_parse_status(const char *body, size_t len,
	    struct worker_status **out, size_t *n, char *err, size_t errlen);
void	worker_status_free(struct worker_status *, size_t n);

#endif
