/*
 * events.h -- decoding Celery events as published on the Redis broker.
 *
 * A message on channel "/<db>.celeryev/<routing key>" is a kombu envelope
 * (JSON) whose "body" is base64 ("properties.body_encoding") of the JSON
 * event, or, for "task.multi", of a JSON list of events. Pure: no I/O.
 * Malformed input (not JSON, bad base64, wrong types, missing fields) is
 * rejected with a reason; it never crashes or half-fills the batch.
 */
#ifndef EVENTS_H
#define EVENTS_H

#include <stddef.h>

enum cev_type {
	CEV_OTHER = 0,
	CEV_TASK_RECEIVED,
	CEV_TASK_STARTED,
	CEV_TASK_SUCCEEDED,
	CEV_TASK_FAILED,
	CEV_TASK_REJECTED,
	CEV_TASK_REVOKED,
	CEV_TASK_RETRIED,
	CEV_WORKER_HEARTBEAT,
	CEV_WORKER_ONLINE,
	CEV_WORKER_OFFLINE,
};

struct cev {
	enum cev_type	 type;
	char		*hostname;	/* worker name */
	char		*uuid;		/* task id, task events only */
	double		 timestamp;
	long		 active;	/* heartbeats: running tasks; else -1 */
};

struct cev_batch {
	struct cev	*v;
	size_t		 n;
};

/* The event ends the task's stay on that worker (done, failed, ...). */
int	cev_task_final(enum cev_type);
enum cev_type cev_type_of(const char *);

int	cev_decode(const char *envelope, size_t len, struct cev_batch *,
	    char *err, size_t errlen);
void	cev_batch_free(struct cev_batch *);

#endif
